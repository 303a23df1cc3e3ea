//! fairdraw-web's native tests: the JSON the wasm exports return, on the
//! engine's frozen v1 draw vector. The same functions run in the browser
//! (tests/browser checks wasm against `fairdraw verify --json`).

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "tests read the frozen vector from disk"
)]

use fairdraw_engine::verify::{Expectations, verify_bundle};
use fairdraw_web::{inspect_json, prove_json, verify_json};
use serde_json::{Value, json};

const KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
const KEY_ID: &str = "fe812c12f3ab4ce6ac5db69ac352f906cb1b11ef43fb33e252ef7ff552263889";

fn bundle() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../engine/tests/vectors/draw_v1/bundle.json"
    ))
    .unwrap()
}

fn verify(options: Value) -> Value {
    serde_json::from_str(&verify_json(&bundle(), &options.to_string())).unwrap()
}

fn failed_step(v: &Value) -> Option<&str> {
    v["report"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "failed")
        .and_then(|s| s["step"].as_str())
}

fn keys_doc(valid_from: &str) -> String {
    json!({"keys": [{"organization_id": "org_1", "organization": "Acme", "key_id": KEY_ID,
        "public_key": KEY, "valid_from": valid_from, "valid_until": null}]})
    .to_string()
}

#[test]
fn the_report_is_the_engines_report() {
    let v = verify(json!({}));
    let engine = serde_json::to_value(verify_bundle(&bundle(), &Expectations::default())).unwrap();
    assert_eq!(v["report"], engine);
    assert_eq!(v["verified"], true);
    assert_eq!(v["trust"]["source"], "none");
    assert_eq!(v["trust"]["public_key"], Value::Null);
}

#[test]
fn a_pinned_key_is_trusted_and_a_wrong_one_fails_at_signer() {
    let v = verify(json!({"public_key": KEY}));
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["trust"]["source"], "pinned");
    assert_eq!(v["trust"]["key_id"], KEY_ID);

    let v = verify(json!({"public_key": "11".repeat(32)}));
    assert_eq!(v["verified"], false);
    assert_eq!(failed_step(&v), Some("signer"));
}

#[test]
fn a_malformed_pinned_key_is_never_verified() {
    let v = verify(json!({"public_key": "not hex"}));
    assert_eq!(v["verified"], false);
    assert!(
        v["trust"]["error"].as_str().unwrap().contains("pinned key"),
        "{v}"
    );
}

#[test]
fn the_hosts_keys_document_pins_the_key_valid_at_lock_time() {
    let v = verify(
        json!({"keys_document": keys_doc("2023-01-01T00:00:00Z"), "keys_source": "https://host/.well-known/fairdraw-keys.json"}),
    );
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["trust"]["source"], "host");
    assert_eq!(
        v["trust"]["from"],
        "https://host/.well-known/fairdraw-keys.json"
    );
    assert_eq!(v["trust"]["public_key"], KEY);

    // Valid only from after the lock: not trusted, never verified.
    let v = verify(json!({"keys_document": keys_doc("2024-01-01T00:00:00Z")}));
    assert_eq!(v["verified"], false);
    assert!(
        v["trust"]["error"].as_str().unwrap().contains("valid from"),
        "{v}"
    );

    // A document that does not list the key, or is not a keys document.
    let v = verify(json!({"keys_document": "{\"keys\": []}"}));
    assert_eq!(v["verified"], false);
    assert!(
        v["trust"]["error"]
            .as_str()
            .unwrap()
            .contains("lists no key"),
        "{v}"
    );
    let v = verify(json!({"keys_document": "{\"error\": 1}"}));
    assert_eq!(v["verified"], false);
    let v =
        verify(json!({"keys_error": "https://host/.well-known/fairdraw-keys.json answered 500"}));
    assert_eq!(v["verified"], false);
    assert_eq!(v["trust"]["source"], "host");
    assert!(
        v["trust"]["error"]
            .as_str()
            .unwrap()
            .contains("answered 500"),
        "{v}"
    );
}

#[test]
fn a_published_lock_hash_is_checked() {
    let v = verify(json!({"lock_hash": "00".repeat(32)}));
    assert_eq!(failed_step(&v), Some("link"));
    let v = verify(json!({"lock_hash": "zz"}));
    assert_eq!(v["verified"], false);
}

#[test]
fn malformed_options_or_bytes_are_never_verified() {
    let v: Value = serde_json::from_str(&verify_json(&bundle(), "{\"public_key\": 5")).unwrap();
    assert_eq!(v["verified"], false);
    let v: Value = serde_json::from_str(&verify_json(&bundle(), "{\"unknown\": 1}")).unwrap();
    assert_eq!(v["verified"], false);
    let v: Value = serde_json::from_str(&verify_json(b"{\"fairdraw_bundle\": 1}", "{}")).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(failed_step(&v), Some("bundle"));
    let v: Value = serde_json::from_str(&verify_json(&[0xff, 0x00, 0x7b], "{}")).unwrap();
    assert_eq!(failed_step(&v), Some("bundle"));
}

#[test]
fn prove_answers_eligible_excluded_no_entry_and_errors() {
    let b = bundle();
    let p: Value = serde_json::from_str(&prove_json(&b, "@bea")).unwrap();
    assert_eq!(p["status"], "eligible", "{p}");
    assert_eq!(p["proof_verifies"], true);
    assert_eq!(p["result"], "winner 2");
    let p: Value = serde_json::from_str(&prove_json(&b, "alice")).unwrap();
    assert!(
        p["status"] == "eligible" || p["status"] == "excluded",
        "{p}"
    );
    let p: Value = serde_json::from_str(&prove_json(&b, "@spammer")).unwrap();
    assert_eq!(p["status"], "excluded", "{p}");
    assert_eq!(p["excluded"][0]["rule"], "exclude_users");
    let p: Value = serde_json::from_str(&prove_json(&b, "@nobody-here")).unwrap();
    assert_eq!(p["status"], "no_entry");
    let p: Value = serde_json::from_str(&prove_json(&b, "  ")).unwrap();
    assert_eq!(p["status"], "error");
    let p: Value = serde_json::from_str(&prove_json(b"[]", "@bea")).unwrap();
    assert_eq!(p["status"], "error");
}

#[test]
fn inspect_shows_what_the_bundle_claims() {
    let i: Value = serde_json::from_str(&inspect_json(&bundle())).unwrap();
    assert_eq!(i["draw_id"], "acme-2023");
    assert_eq!(i["key_id"], KEY_ID);
    assert_eq!(i["drand"]["round"], 2634945);
    assert_eq!(i["sha256"].as_str().unwrap().len(), 64);
    assert!(i["rules_in_words"].as_array().unwrap().len() > 5);
    assert_eq!(i["execution"]["winners"].as_array().unwrap().len(), 3);
    let i: Value = serde_json::from_str(&inspect_json(b"nope")).unwrap();
    assert!(
        i["error"]
            .as_str()
            .unwrap()
            .starts_with("not a fairdraw bundle")
    );
}

/// A trust policy (`policy` option): the v2 vector's receipts, logged here
/// in a test log cosigned by two witnesses, verify as *logged* when the
/// witnesses saw the lock before the round, and fail at `log` otherwise.
#[test]
fn a_trust_policy_makes_a_logged_draw_and_refuses_a_late_lock() {
    use fairdraw_engine::bundle::ParsedBundle;
    use fairdraw_engine::log::entry::LogEntry;
    use fairdraw_engine::log::{
        Checkpoint, LogProof, Note, SignatureType, TrustPolicy, VerifierKey, cosign,
    };
    use fairdraw_engine::merkle;
    use fairdraw_engine::receipt::Signer;

    let text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../engine/tests/vectors/draw_v2/bundle.json"
    ))
    .unwrap();
    let parsed = ParsedBundle::parse(&text).unwrap();
    let (log, w1, w2) = (
        Signer::from_secret([3; 32]),
        Signer::from_secret([4; 32]),
        Signer::from_secret([5; 32]),
    );
    let leaves = vec![
        LogEntry::lock(&parsed.lock).unwrap().leaf_hash(),
        LogEntry::execution(parsed.execution.as_ref().unwrap())
            .unwrap()
            .leaf_hash(),
    ];
    let logged = |at: u64| {
        let cp = Checkpoint::new("log.test", 2, merkle::root(&leaves)).unwrap();
        let mut note = Note::new(&cp.to_text()).unwrap();
        note.sign("log.test", &log).unwrap();
        cosign(&mut note, "w1.test", at, &w1).unwrap();
        cosign(&mut note, "w2.test", at, &w2).unwrap();
        let proof = |i: u64| {
            LogProof::new(
                i,
                merkle::inclusion_proof(&leaves, i).unwrap().path,
                note.clone(),
            )
            .to_text()
        };
        let mut v: Value = serde_json::from_slice(&text).unwrap();
        v["log"] = json!({"lock": proof(0), "execution": proof(1)});
        serde_json::to_vec(&v).unwrap()
    };
    let vk = |n: &str, t, s: &Signer| VerifierKey::for_signer(n, t, s).unwrap();
    let policy = serde_json::to_string(&TrustPolicy {
        origin: None,
        log: vk("log.test", SignatureType::Ed25519, &log),
        witnesses: vec![
            vk("w1.test", SignatureType::CosignatureV1, &w1),
            vk("w2.test", SignatureType::CosignatureV1, &w2),
        ],
        quorum: 2,
    })
    .unwrap();
    // drand default round 2634945: 2023-01-23T13:09:30Z.
    let round = 1_674_479_370;
    let check = |bundle: &[u8], options: Value| -> Value {
        serde_json::from_str(&verify_json(bundle, &options.to_string())).unwrap()
    };
    let v = check(
        &logged(round - 60),
        json!({"public_key": KEY, "policy": policy}),
    );
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["report"]["assurance"], json!(["attributed", "logged"]));
    assert_eq!(v["report"]["lock_witnessed_at"], "2023-01-23T13:08:30Z");
    let late = check(&logged(round + 1), json!({"policy": policy}));
    assert_eq!(late["verified"], false);
    assert_eq!(failed_step(&late), Some("log"));
    let bad = check(&logged(round - 60), json!({"policy": "{}"}));
    assert_eq!(bad["verified"], false);
    assert!(
        bad["trust"]["error"]
            .as_str()
            .unwrap()
            .contains("trust policy is malformed"),
        "{bad}"
    );
    let unread = check(&logged(round - 60), json!({"policy_error": "404"}));
    assert_eq!(unread["verified"], false);
}
