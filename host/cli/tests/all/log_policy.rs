//! `verify --policy`: a bundle whose lock is in a transparency log,
//! cosigned by the policy's witnesses before the drand round, is logged; one
//! witnessed after the round, or without a log proof, fails at step `log`.

use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::log::entry::LogEntry;
use fairdraw_engine::log::{
    Checkpoint, LogProof, Note, SignatureType, TrustPolicy, VerifierKey, cosign,
};
use fairdraw_engine::merkle;
use fairdraw_engine::receipt::Signer;
use serde_json::{Value, json};

use crate::support::Scratch;

const ORIGIN: &str = "log.example/fairdraw";

/// drand default round 2634945, which the demo draw declares.
const ROUND_TIME: u64 = 1_674_479_370;

fn log_key() -> Signer {
    Signer::from_secret([7; 32])
}

fn witness(i: u8) -> Signer {
    Signer::from_secret([40 + i; 32])
}

fn policy() -> Value {
    let vk =
        |name: &str, ty, s: &Signer| VerifierKey::for_signer(name, ty, s).expect("verifier key");
    serde_json::to_value(TrustPolicy {
        origin: None,
        log: vk(ORIGIN, SignatureType::Ed25519, &log_key()),
        witnesses: (1..=2)
            .map(|i| {
                vk(
                    &format!("w{i}.example"),
                    SignatureType::CosignatureV1,
                    &witness(i),
                )
            })
            .collect(),
        quorum: 2,
    })
    .expect("policy JSON")
}

/// Logs the bundle's lock and execution receipts (after one other entry)
/// and writes the proofs into it, cosigned by both witnesses at `at`.
fn log_bundle(s: &Scratch, name: &str, at: u64) {
    let text = s.read(name);
    let parsed = ParsedBundle::parse(text.as_bytes()).expect("bundle");
    let leaves = vec![
        merkle::leaf_hash(b"another draw"),
        LogEntry::lock(&parsed.lock).expect("entry").leaf_hash(),
        LogEntry::execution(parsed.execution.as_ref().expect("executed"))
            .expect("entry")
            .leaf_hash(),
    ];
    let checkpoint = Checkpoint::new(ORIGIN, 3, merkle::root(&leaves)).expect("checkpoint");
    let mut note = Note::new(&checkpoint.to_text()).expect("note");
    note.sign(ORIGIN, &log_key()).expect("log signs");
    for i in 1..=2 {
        cosign(&mut note, &format!("w{i}.example"), at, &witness(i)).expect("cosigns");
    }
    let proof = |i: u64| {
        let path = merkle::inclusion_proof(&leaves, i).expect("in range").path;
        LogProof::new(i, path, note.clone()).to_text()
    };
    let mut bundle: Value = serde_json::from_str(&text).expect("JSON");
    bundle["log"] = json!({"lock": proof(1), "execution": proof(2)});
    s.write_json(name, &bundle);
}

#[test]
fn policy_makes_a_logged_draw_and_catches_a_late_lock() {
    let s = Scratch::new();
    let public = s.demo_bundle();
    s.write_json("policy.json", &policy());
    let verify = |file: &str| s.run(&["verify", file, "--key", &public, "--policy", "policy.json"]);

    // No log proof: the policy asks for one.
    verify("bundle.json").not_verified_at("log");

    // Witnessed a minute before the round: logged.
    std::fs::copy(s.path("bundle.json"), s.path("early.json")).expect("copy");
    log_bundle(&s, "early.json", ROUND_TIME - 60);
    let run = verify("early.json").verified();
    assert!(
        run.stdout
            .contains("Logged:   the lock was witnessed by 2023-01-23T13:08:30Z"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Established: attributed (signed by the pinned key); logged"),
        "{}",
        run.stdout
    );
    let json = s
        .run(&[
            "verify",
            "early.json",
            "--key",
            &public,
            "--policy",
            "policy.json",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(json["assurance"], json!(["attributed", "logged"]));

    // Without the policy the proof is only checked against itself.
    let run = s.run(&["verify", "early.json"]).verified();
    assert!(
        run.stdout.contains("Established: self-consistent only"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no trust policy was given"),
        "{}",
        run.stdout
    );

    // Witnessed only after the round: the lock may postdate the beacon.
    std::fs::copy(s.path("bundle.json"), s.path("late.json")).expect("copy");
    log_bundle(&s, "late.json", ROUND_TIME + 10);
    verify("late.json").not_verified_at("log");

    // A policy that does not parse is bad input, named.
    s.write("bad-policy.json", "{\"log\": 1}");
    s.run(&["verify", "early.json", "--policy", "bad-policy.json"])
        .error(&["--policy bad-policy.json"]);
}
