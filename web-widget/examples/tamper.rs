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
//! `[{"name", "step", "pinned_key"}]`, the step `fairdraw verify` must fail at.

#![allow(
    clippy::unwrap_used,
    reason = "a test-data generator: any failure aborts it"
)]

use std::path::PathBuf;

use fairdraw_engine::bundle::{BuiltBundle, ExecutionPayload, LockPayload};
use fairdraw_engine::encoding::parse_hex_exact;
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
}
