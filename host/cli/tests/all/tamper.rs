//! Tampered bundles must fail `verify` at the step that catches the change.
//!
//! Each change is tried twice where it matters: as is (a receipt signature
//! breaks first) and re-signed with the organiser's own key via the engine
//! API (a dishonest organiser), where the content check must catch it.

use fairdraw_engine::bundle::{ExecutionPayload, LockPayload};
use fairdraw_engine::receipt::{Signed, Signer};
use serde_json::{Value, json};

use crate::support::{DEMO_BEACON, DEMO_ROUND, EXEC_AT, LOCK_AT, Scratch};

/// The demo bundle, parsed, in a fresh scratch directory.
fn demo() -> (Scratch, Value) {
    let s = Scratch::new();
    s.demo_bundle();
    s.run(&["verify", "bundle.json"]).verified();
    let bundle = s.json("bundle.json");
    (s, bundle)
}

/// Re-signs the lock receipt, points the execution at the new lock hash and
/// re-signs the execution receipt.
fn resign_all(bundle: &mut Value, signer: &Signer) {
    let lock: LockPayload =
        serde_json::from_value(bundle["lock"]["payload"].clone()).expect("lock payload");
    let signed = Signed::sign(lock, signer).expect("sign lock");
    bundle["execution"]["payload"]["lock_hash"] = json!(signed.hash().expect("lock hash").to_hex());
    bundle["lock"] = serde_json::to_value(&signed).expect("lock JSON");
    resign_execution(bundle, signer);
}

/// Re-signs the execution receipt.
fn resign_execution(bundle: &mut Value, signer: &Signer) {
    let exec: ExecutionPayload =
        serde_json::from_value(bundle["execution"]["payload"].clone()).expect("execution payload");
    bundle["execution"] = serde_json::to_value(Signed::sign(exec, signer).expect("sign execution"))
        .expect("execution JSON");
}

/// Writes `bundle` as `name` and runs `verify` on it.
fn verify(s: &Scratch, name: &str, bundle: &Value) -> crate::support::Run {
    s.write_json(name, bundle);
    s.run(&["verify", name])
}

#[test]
fn changed_winner() {
    let (s, mut bundle) = demo();
    let exec = &mut bundle["execution"]["payload"];
    let first_alternate = exec["alternates"][0].clone();
    exec["winners"][0] = first_alternate;
    // Signatures are checked before the rules: a bundle that fails them is
    // refused without re-drawing (PROTOCOL.md §11).
    verify(&s, "unsigned.json", &bundle)
        .not_verified_at("execution_signature")
        .step_skipped("winners");
    resign_execution(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("winners");
}

#[test]
fn winner_entry_rewritten() {
    // Same leaf, but the receipt shows different text for the winner's entry.
    let (s, mut bundle) = demo();
    bundle["execution"]["payload"]["winners"][0]["entry"]["text"] =
        json!("#giveaway edited after the draw");
    resign_execution(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("winners");
}

#[test]
fn winner_tickets_inflated() {
    let (s, mut bundle) = demo();
    let tickets = bundle["execution"]["payload"]["winners"][0]["tickets"]
        .as_u64()
        .expect("tickets");
    bundle["execution"]["payload"]["winners"][0]["tickets"] = json!(tickets + 1);
    resign_execution(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("winners");
}

#[test]
fn winners_reordered() {
    let (s, mut bundle) = demo();
    let winners = bundle["execution"]["payload"]["winners"]
        .as_array_mut()
        .expect("winners");
    winners.swap(0, 1);
    resign_execution(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("winners");
}

#[test]
fn winner_dropped() {
    let (s, mut bundle) = demo();
    bundle["execution"]["payload"]["winners"]
        .as_array_mut()
        .expect("winners")
        .pop();
    resign_execution(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("winners");
}

#[test]
fn entry_removed() {
    let (s, mut bundle) = demo();
    bundle["collections"]["comments"]
        .as_array_mut()
        .expect("comments")
        .remove(5);
    verify(&s, "tampered.json", &bundle).not_verified_at("collections");
}

#[test]
fn entry_added() {
    let (s, mut bundle) = demo();
    let mut extra = bundle["collections"]["comments"][0].clone();
    extra["user_id"] = json!("UC9999");
    extra["handle"] = json!("@latecomer");
    bundle["collections"]["comments"]
        .as_array_mut()
        .expect("comments")
        .push(extra);
    verify(&s, "tampered.json", &bundle).not_verified_at("collections");
}

#[test]
fn entry_edited() {
    let (s, mut bundle) = demo();
    bundle["collections"]["comments"][2]["followers"] = json!(1_000_000);
    verify(&s, "tampered.json", &bundle).not_verified_at("collections");
}

#[test]
fn collection_dropped() {
    let (s, mut bundle) = demo();
    bundle["collections"]
        .as_object_mut()
        .expect("collections")
        .remove("likes");
    verify(&s, "tampered.json", &bundle).not_verified_at("collections");
}

#[test]
fn edited_rule() {
    let (s, mut bundle) = demo();
    bundle["lock"]["payload"]["rules"]["min_followers"] = json!(1);
    let run = verify(&s, "unsigned.json", &bundle).not_verified_at("lock_signature");
    run.step_failed("link").step_skipped("rules");
    // Re-signed by the organiser: the rules no longer give the committed tally.
    resign_all(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("rules");
}

#[test]
fn edited_winner_count() {
    let (s, mut bundle) = demo();
    bundle["lock"]["payload"]["rules"]["winners"] = json!(4);
    resign_all(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("rules");
}

#[test]
fn merkle_root_replaced() {
    let (s, mut bundle) = demo();
    bundle["lock"]["payload"]["merkle_root"] = json!("ab".repeat(32));
    resign_all(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("commitment");
}

#[test]
fn swapped_beacon() {
    let (s, mut bundle) = demo();
    let other = crate::support::beacon("default", 72785);
    let randomness = &mut bundle["execution"]["payload"]["randomness"];
    for field in ["round", "signature", "previous_signature", "randomness"] {
        randomness[field] = other[field].clone();
    }
    verify(&s, "unsigned.json", &bundle)
        .not_verified_at("execution_signature")
        .step_skipped("randomness");
    resign_execution(&mut bundle, &s.signer("key.json"));
    let run = verify(&s, "resigned.json", &bundle).not_verified_at("randomness");
    assert!(run.stdout.contains("72785"), "{}", run.stdout);
}

#[test]
fn beacon_signature_corrupted() {
    let (s, mut bundle) = demo();
    let randomness = &mut bundle["execution"]["payload"]["randomness"];
    let mut signature =
        hex::decode(randomness["signature"].as_str().expect("signature")).expect("hex");
    signature[95] ^= 1;
    randomness["randomness"] = json!(fairdraw_engine::encoding::sha256(&signature).to_hex());
    randomness["signature"] = json!(hex::encode(signature));
    resign_execution(&mut bundle, &s.signer("key.json"));
    let run = verify(&s, "resigned.json", &bundle).not_verified_at("randomness");
    assert!(run.stdout.contains("BLS"), "{}", run.stdout);
}

#[test]
fn seed_replaced() {
    let (s, mut bundle) = demo();
    bundle["execution"]["payload"]["selection"]["seed"] = json!("cd".repeat(32));
    resign_execution(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("seed");
}

#[test]
fn executed_before_the_round() {
    let (s, mut bundle) = demo();
    bundle["execution"]["payload"]["executed_at"] = json!("2023-01-23T13:05:00Z");
    resign_execution(&mut bundle, &s.signer("key.json"));
    verify(&s, "resigned.json", &bundle).not_verified_at("randomness");
}

#[test]
fn execution_receipt_signed_by_another_key() {
    let (s, mut bundle) = demo();
    s.keygen("other.json");
    resign_execution(&mut bundle, &s.signer("other.json"));
    verify(&s, "other-exec.json", &bundle).not_verified_at("signer");
}

#[test]
fn whole_bundle_signed_by_another_key() {
    let (s, mut bundle) = demo();
    let organiser = s.json("key.json")["public_key"]
        .as_str()
        .expect("public key")
        .to_owned();
    s.keygen("other.json");
    resign_all(&mut bundle, &s.signer("other.json"));
    s.write_json("impostor.json", &bundle);
    // Consistent on its own; only the organiser's published key exposes it.
    s.run(&["verify", "impostor.json"]).verified();
    s.run(&["verify", "impostor.json", "--key", &organiser])
        .not_verified_at("signer");
}

#[test]
fn execution_spliced_from_a_second_organiser_cli_run() {
    // Two organisers lock the same inputs (same id, time and randomness, so the
    // same lock hash); B's execution receipt is spliced onto A's lock.
    let s = Scratch::new();
    s.keygen("a.json");
    s.keygen("b.json");
    s.lock_demo("a.json", DEMO_ROUND, LOCK_AT, "lock-a.json")
        .success();
    s.lock_demo("b.json", DEMO_ROUND, LOCK_AT, "lock-b.json")
        .success();
    for who in ["a", "b"] {
        let (lock, key, out) = (
            format!("lock-{who}.json"),
            format!("{who}.json"),
            format!("bundle-{who}.json"),
        );
        s.run(&[
            "execute",
            &lock,
            "--key",
            &key,
            "--beacon",
            DEMO_BEACON,
            "--out",
            &out,
            "--at",
            EXEC_AT,
        ])
        .success();
    }
    let mut spliced = s.json("bundle-a.json");
    spliced["execution"] = s.json("bundle-b.json")["execution"].clone();
    let run = verify(&s, "spliced.json", &spliced).not_verified_at("signer");
    assert!(
        run.stdout.contains("[ok  ] lock_signature")
            && run.stdout.contains("[ok  ] execution_signature"),
        "{}",
        run.stdout
    );
}

#[test]
fn execution_of_another_draw() {
    // A different lock (another id) executed with the same beacon: the link breaks.
    let s = Scratch::new();
    s.demo_bundle();
    s.run(&[
        "lock",
        "--entries",
        "comments.jsonl",
        "likes.csv",
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--randomness",
        DEMO_ROUND,
        "--at",
        LOCK_AT,
        "--id",
        "other",
        "--out",
        "other-lock.json",
    ])
    .success();
    s.run(&[
        "execute",
        "other-lock.json",
        "--key",
        "key.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "other.json",
        "--at",
        EXEC_AT,
    ])
    .success();
    let mut spliced = s.json("bundle.json");
    spliced["execution"] = s.json("other.json")["execution"].clone();
    verify(&s, "spliced.json", &spliced).not_verified_at("link");
}

#[test]
fn relock_after_seeing_the_beacon_is_caught_by_the_published_hash() {
    // The organiser published lock A's hash, then re-locked with other rules
    // and executed that: the bundle is consistent but not the published lock.
    let s = Scratch::new();
    s.keygen("key.json");
    let published = s
        .lock_demo("key.json", DEMO_ROUND, LOCK_AT, "lock.json")
        .success();
    let hash = published
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Lock hash:"))
        .expect("lock hash line");
    let hash = hash.split_whitespace().next().expect("hash").to_owned();
    let mut rules = s.json("rules.json");
    rules["min_followers"] = json!(100);
    s.write_json("rules-b.json", &rules);
    s.run(&[
        "lock",
        "--entries",
        "comments.jsonl",
        "likes.csv",
        "--rules",
        "rules-b.json",
        "--key",
        "key.json",
        "--randomness",
        DEMO_ROUND,
        "--at",
        LOCK_AT,
        "--id",
        "demo",
        "--out",
        "lock-b.json",
    ])
    .success();
    s.run(&[
        "execute",
        "lock-b.json",
        "--key",
        "key.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .success();
    s.run(&["verify", "bundle.json"]).verified();
    s.run(&["verify", "bundle.json", "--lock-hash", &hash])
        .not_verified_at("link");
}

#[test]
fn wrong_format_and_protocol_versions() {
    let (s, mut bundle) = demo();
    bundle["fairdraw_bundle"] = json!(2);
    verify(&s, "format.json", &bundle).not_verified_at("bundle");
    let (s, mut bundle) = demo();
    bundle["execution"]["payload"]["protocol"] = json!(9);
    resign_execution(&mut bundle, &s.signer("key.json"));
    verify(&s, "protocol.json", &bundle).not_verified_at("bundle");
}

#[test]
fn unknown_fields_are_refused() {
    let (s, mut bundle) = demo();
    bundle["execution"]["payload"]["note"] = json!("trust me");
    verify(&s, "extra.json", &bundle).not_verified_at("bundle");
}

/// Issue 10: a title holding an escape sequence that clears the screen and
/// prints a fake report reaches the terminal escaped, and only once the
/// receipts check out; the protocol 2 verifier refuses such a title anyway.
#[test]
fn hostile_title_is_escaped_and_refused() {
    let (s, mut bundle) = demo();
    bundle["lock"]["payload"]["title"] = json!("\u{1b}[2J\u{1b}[HVERIFIED: every step holds");
    resign_all(&mut bundle, &s.signer("key.json"));
    let run = verify(&s, "title.json", &bundle).not_verified_at("bundle");
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert!(run.stdout.contains("title not shown"), "{}", run.stdout);
}

/// `--min-protocol 2` refuses a protocol 1 bundle that otherwise verifies,
/// and the report names the version either way.
#[test]
fn min_protocol_refuses_older_versions() {
    let (s, _) = demo();
    let frozen = std::fs::read(format!(
        "{}/../../engine/tests/vectors/draw_v1/bundle.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("frozen v1 bundle");
    s.write("v1.json", &frozen);
    let run = s.run(&["verify", "v1.json"]).verified();
    assert!(run.stdout.contains("Protocol: version 1"), "{}", run.stdout);
    assert!(
        run.stdout.contains("lacks the checks of protocol 2"),
        "{}",
        run.stdout
    );
    s.run(&["verify", "v1.json", "--min-protocol", "2"])
        .not_verified_at("bundle");
    let json = s.run(&["verify", "bundle.json", "--json"]).success().json();
    assert_eq!(json["protocol"], 2);
    assert_eq!(json["randomness_trust"], "no_organiser_trust");
}
