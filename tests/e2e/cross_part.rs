//! The CLI and the engine library agree: what the binary writes, the engine
//! verifies in-process; what `prove` prints, the engine's Merkle code checks;
//! and the engine, given the CLI's lock file, executes it to the same bytes.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::execute;
use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::merkle::{InclusionProof, verify_inclusion};
use fairdraw_engine::randomness::drand;
use fairdraw_engine::receipt::Signer;
use fairdraw_engine::time::Timestamp;
use fairdraw_engine::verify::{Expectations, Step, verify_bundle};
use serde_json::Value;

use crate::bin::{fairdraw, workspace};

/// Runs `fairdraw ARGS` in `dir`; panics unless it exits with `code`.
fn run(dir: &Path, args: &[&str], code: i32) -> Output {
    let out = Command::new(fairdraw())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("spawn fairdraw");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "fairdraw {args:?}\n--- stdout\n{}--- stderr\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !stderr.contains("panicked"),
        "fairdraw {args:?} panicked:\n{stderr}"
    );
    out
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).expect("read JSON file")).expect("valid JSON")
}

/// A scratch directory with the demo fixture, a key, its lock and its bundle.
fn demo() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let d = dir.path();
    for f in fs::read_dir(workspace().join("tests/fixtures/giveaway")).expect("fixture directory") {
        let f = f.expect("fixture entry");
        fs::copy(f.path(), d.join(f.file_name())).expect("copy fixture");
    }
    run(d, &["keygen", "--out", "key.json"], 0);
    let lock = run(
        d,
        &[
            "lock",
            "--entries",
            "comments.jsonl",
            "likes.csv",
            "--rules",
            "rules.json",
            "--key",
            "key.json",
            "--randomness",
            "drand:default:2634945",
            "--at",
            "2023-01-23T13:00:00Z",
            "--id",
            "e2e",
            "--title",
            "End to end",
            "--out",
            "lock.json",
        ],
        0,
    );
    let stdout = String::from_utf8_lossy(&lock.stdout);
    let lock_hash = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Lock hash:"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("lock prints `Lock hash:`")
        .to_owned();
    run(
        d,
        &[
            "execute",
            "lock.json",
            "--key",
            "key.json",
            "--beacon",
            "beacon-default-2634945.json",
            "--out",
            "bundle.json",
            "--at",
            "2023-01-23T13:10:00Z",
        ],
        0,
    );
    (dir, lock_hash)
}

fn signer(key_file: &Path) -> Signer {
    let secret = json(key_file)["secret_key"]
        .as_str()
        .expect("secret_key")
        .to_owned();
    Signer::from_secret(
        hex::decode(secret)
            .expect("hex")
            .try_into()
            .expect("32 bytes"),
    )
}

#[test]
fn engine_verifies_what_the_cli_wrote() {
    let (dir, lock_hash) = demo();
    let d = dir.path();
    let bytes = fs::read(d.join("bundle.json")).expect("bundle");
    let public_key = signer(&d.join("key.json")).public_key();
    let expect = Expectations {
        public_key: Some(public_key),
        lock_hash: Some(Hash32::from_hex(&lock_hash).expect("hash")),
        policy: None,
    };
    let report = verify_bundle(&bytes, &expect);
    assert!(report.verified(), "{report:#?}");
    assert_eq!(report.draw_id.as_deref(), Some("e2e"));
    assert_eq!(
        report.lock_hash.map(|h| h.to_hex()).as_deref(),
        Some(lock_hash.as_str())
    );

    // The CLI's JSON report says the same as the engine's.
    let cli = run(
        d,
        &[
            "verify",
            "bundle.json",
            "--json",
            "--key",
            &hex::encode(public_key),
            "--lock-hash",
            &lock_hash,
        ],
        0,
    );
    let cli: Value = serde_json::from_slice(&cli.stdout).expect("verify --json");
    assert_eq!(cli, serde_json::to_value(&report).expect("report JSON"));
}

#[test]
fn engine_checks_the_cli_inclusion_proofs() {
    let (dir, _) = demo();
    let d = dir.path();
    let bundle = json(&d.join("bundle.json"));
    let root: Hash32 =
        serde_json::from_value(bundle["lock"]["payload"]["merkle_root"].clone()).expect("root");
    let payload = &bundle["execution"]["payload"];
    let picks = payload["winners"]
        .as_array()
        .expect("winners")
        .iter()
        .chain(payload["alternates"].as_array().expect("alternates"));
    for pick in picks {
        let user_id = pick["entry"]["user_id"].as_str().expect("user id");
        let out = run(
            d,
            &["prove", "bundle.json", "--entrant", user_id, "--json"],
            0,
        );
        let proved: Value = serde_json::from_slice(&out.stdout).expect("prove --json");
        let leaf: Hash32 = serde_json::from_value(proved["leaf_hash"].clone()).expect("leaf hash");
        let proof: InclusionProof = serde_json::from_value(proved["proof"].clone()).expect("proof");
        assert_eq!(
            proof.leaf_index,
            pick["leaf_index"].as_u64().expect("leaf index")
        );
        assert!(
            verify_inclusion(&leaf, &proof, &root),
            "{user_id}: the engine rejects the CLI's proof"
        );
        // A proof for another leaf position must not verify.
        let moved = InclusionProof {
            leaf_index: (proof.leaf_index + 1) % proof.tree_size,
            ..proof
        };
        assert!(
            !verify_inclusion(&leaf, &moved, &root),
            "{user_id}: a moved proof verifies"
        );
    }
}

#[test]
fn engine_executes_the_cli_lock_to_the_same_bundle() {
    let (dir, _) = demo();
    let d = dir.path();
    let lock_bytes = fs::read(d.join("lock.json")).expect("lock");
    let lock = ParsedBundle::parse(&lock_bytes).expect("the CLI's lock parses");
    let default = drand::chain("default").expect("built-in chain");
    let beacon = fs::read(d.join("beacon-default-2634945.json")).expect("beacon");
    let realised = drand::parse_relay_json(&beacon)
        .expect("relay JSON")
        .realise(default)
        .expect("real beacon verifies");
    let at = Timestamp::parse_rfc3339("2023-01-23T13:10:00Z").expect("time");
    let bundle = execute(&lock, realised, at, &signer(&d.join("key.json")))
        .expect("engine executes the lock");
    let cli_bundle = fs::read(d.join("bundle.json")).expect("bundle");
    assert!(
        bundle.to_json() == cli_bundle,
        "the engine and the CLI wrote different bundles"
    );
}

#[test]
fn cli_and_engine_agree_on_a_tampered_bundle() {
    let (dir, _) = demo();
    let d = dir.path();
    let mut bundle = json(&d.join("bundle.json"));
    bundle["collections"]["likes"]
        .as_array_mut()
        .expect("likes")
        .pop();
    let bytes = serde_json::to_vec(&bundle).expect("JSON");
    fs::write(d.join("tampered.json"), &bytes).expect("write");
    let report = verify_bundle(&bytes, &Expectations::default());
    assert_eq!(
        report.first_failure().map(|f| f.step),
        Some(Step::Collections)
    );
    let out = run(d, &["verify", "tampered.json"], 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "NOT VERIFIED: failed at step `collections`"
    );
}
