//! Writes tampered copies of a drand proof bundle for the browser tests
//! (tests/browser): each is an attack of the engine's adversarial catalogue
//! (engine/tests/adversarial/CATALOGUE.md) made the way an operator holding
//! the signing key would, receipts re-signed and re-linked, so the verifier
//! must find it at the named step and not at a signature.
//!
//! ```text
//! cargo run -p fairdraw-web --example tamper -- BUNDLE.json KEY.json OUT_DIR
//! ```
//!
//! Writes `OUT_DIR/<name>.json` for each case and `OUT_DIR/cases.json`:
//! `[{"name", "step", "pinned_key"}]`, the step `fairdraw verify` must fail at;
//! and the valid draw logged in a test transparency log (`logged.json`,
//! witnessed before its round; `logged-late.json`, after) with the trust
//! policy `policy.json`.

#![allow(
    clippy::unwrap_used,
    reason = "a test-data generator: any failure aborts it"
)]

use std::path::PathBuf;

use fairdraw_engine::bundle::{BuiltBundle, ExecutionPayload, LockPayload};
use fairdraw_engine::encoding::parse_hex_exact;
use fairdraw_engine::log::entry::LogEntry;
use fairdraw_engine::log::{
    Checkpoint, LogProof, Note, SignatureType, TrustPolicy, VerifierKey, cosign,
};
use fairdraw_engine::merkle;
use fairdraw_engine::randomness::Realised;
use fairdraw_engine::receipt::{Signed, Signer};
use fairdraw_engine::time::Timestamp;
use serde_json::{Value, json};

fn resign_lock(b: &mut BuiltBundle, signer: &Signer, edit: impl FnOnce(&mut LockPayload)) {
    let mut lock = b.lock.payload.clone();
    edit(&mut lock);
    b.lock = Signed::sign(lock, signer).unwrap();
    let lock_hash = b.lock.hash().unwrap();
    if let Some(x) = &b.execution {
        let mut p = x.payload.clone();
        p.lock_hash = lock_hash;
        b.execution = Some(Signed::sign(p, signer).unwrap());
    }
}

fn resign_execution(
    b: &mut BuiltBundle,
    signer: &Signer,
    edit: impl FnOnce(&mut ExecutionPayload),
) {
    let x = b.execution.as_ref().expect("an executed bundle");
    let mut p = x.payload.clone();
    edit(&mut p);
    b.execution = Some(Signed::sign(p, signer).unwrap());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bundle, key, out] = args.as_slice() else {
        eprintln!("usage: tamper BUNDLE.json KEY.json OUT_DIR");
        std::process::exit(2);
    };
    let bytes = std::fs::read(bundle).unwrap();
    let key: Value = serde_json::from_slice(&std::fs::read(key).unwrap()).unwrap();
    let secret = parse_hex_exact::<32>(key["secret_key"].as_str().unwrap()).unwrap();
    let signer = Signer::from_secret(secret);
    let other = Signer::from_secret([0x5a; 32]);
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out).unwrap();
    let fresh = || serde_json::from_slice::<BuiltBundle>(&bytes).unwrap();
    let mut cases = Vec::new();
    let mut write = |name: &str, step: &str, b: &BuiltBundle| {
        std::fs::write(out.join(format!("{name}.json")), b.to_json()).unwrap();
        cases.push(json!({"name": name, "step": step}));
    };

    // Winner 1 and alternate 1 swapped, execution re-signed.
    let mut b = fresh();
    resign_execution(&mut b, &signer, |p| {
        std::mem::swap(&mut p.winners[0], &mut p.alternates[0]);
    });
    write("changed-winner", "winners", &b);

    // One entry removed from the primary collection (an outsider: no key).
    let mut b = fresh();
    let primary = b.lock.payload.rules.primary_collection().to_owned();
    let raw = b.collections.get(&primary).unwrap().get().to_owned();
    let mut entries: Vec<Value> = serde_json::from_str(&raw).unwrap();
    entries.remove(0);
    let raw = serde_json::value::to_raw_value(&entries).unwrap();
    b.collections.insert(primary, raw);
    write("removed-entry", "collections", &b);

    // A rule edited after the lock: lock re-signed, execution re-linked.
    let mut b = fresh();
    resign_lock(&mut b, &signer, |l| {
        l.rules.min_followers = Some(l.rules.min_followers.unwrap_or(0) + 1000);
    });
    write("edited-rule", "rules", &b);

    // Both receipts signed by another key (the verifier pins the real one).
    let mut b = fresh();
    let lock = b.lock.payload.clone();
    b.lock = Signed::sign(lock, &other).unwrap();
    let exec = b.execution.as_ref().unwrap().payload.clone();
    b.execution = Some(Signed::sign(exec, &other).unwrap());
    write("another-key", "signer", &b);

    // One bit of the beacon's BLS signature flipped; execution re-signed.
    let mut b = fresh();
    resign_execution(&mut b, &signer, |p| {
        if let Realised::Drand { signature, .. } = &mut p.randomness {
            signature.0[10] ^= 1;
        }
    });
    write("corrupted-beacon", "randomness", &b);

    // Locked after the beacon existed (13:10:00Z > 13:09:30Z): the lock is
    // re-signed and the execution re-linked.
    let mut b = fresh();
    resign_lock(&mut b, &signer, |l| {
        l.locked_at = Timestamp::parse_rfc3339("2023-01-23T13:10:00Z").unwrap();
    });
    write("beacon-before-lock", "randomness", &b);

    std::fs::write(
        out.join("cases.json"),
        serde_json::to_vec_pretty(&cases).unwrap(),
    )
    .unwrap();

    // The valid draw logged in a test transparency log, cosigned by two
    // witnesses a minute before drand round 2634945 (13:09:30Z) and, in
    // `logged-late.json`, a second after it; `policy.json` trusts that log
    // and both witnesses (quorum 2).
    let parsed = fairdraw_engine::bundle::ParsedBundle::parse(&bytes).unwrap();
    let leaves = vec![
        LogEntry::lock(&parsed.lock).unwrap().leaf_hash(),
        LogEntry::execution(parsed.execution.as_ref().unwrap())
            .unwrap()
            .leaf_hash(),
    ];
    let (log, w1, w2) = (
        Signer::from_secret([0x61; 32]),
        Signer::from_secret([0x62; 32]),
        Signer::from_secret([0x63; 32]),
    );
    let round_time = 1_674_479_370;
    for (name, at) in [("logged", round_time - 60), ("logged-late", round_time + 1)] {
        let cp = Checkpoint::new("log.test/fairdraw", 2, merkle::root(&leaves)).unwrap();
        let mut note = Note::new(&cp.to_text()).unwrap();
        note.sign("log.test/fairdraw", &log).unwrap();
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
        let mut v: Value = serde_json::from_slice(&bytes).unwrap();
        v["log"] = json!({"lock": proof(0), "execution": proof(1)});
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_vec(&v).unwrap(),
        )
        .unwrap();
    }
    let vk = |n: &str, t, s: &Signer| VerifierKey::for_signer(n, t, s).unwrap();
    let policy = TrustPolicy {
        origin: None,
        log: vk("log.test/fairdraw", SignatureType::Ed25519, &log),
        witnesses: vec![
            vk("w1.test", SignatureType::CosignatureV1, &w1),
            vk("w2.test", SignatureType::CosignatureV1, &w2),
        ],
        quorum: 2,
    };
    std::fs::write(
        out.join("policy.json"),
        serde_json::to_vec(&policy).unwrap(),
    )
    .unwrap();
}
