use fairdraw_engine::log::consistency_proof;
use fairdraw_engine::merkle::{leaf_hash, root};

use super::*;

const ORIGIN: &str = "log.test/fairdraw";

struct Fixture {
    _dir: tempfile::TempDir,
    config: Config,
    log: Signer,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Signer::from_secret([7; 32]);
    let key = VerifierKey::for_signer(ORIGIN, SignatureType::Ed25519, &log).expect("vkey");
    let config = Config {
        name: "witness.test/w1".into(),
        key_file: dir.path().join("w1.key"),
        state_file: dir.path().join("w1.json"),
        logs: vec![LogConfig {
            key: key.to_vkey(),
            origin: None,
        }],
    };
    Fixture {
        _dir: dir,
        config,
        log,
    }
}

fn leaves(n: u64, salt: &str) -> Vec<Hash32> {
    (0..n)
        .map(|i| leaf_hash(format!("{salt}{i}").as_bytes()))
        .collect()
}

fn note(signer: &Signer, leaves: &[Hash32]) -> String {
    let cp = Checkpoint::new(ORIGIN, leaves.len() as u64, root(leaves)).expect("cp");
    let mut n = Note::new(&cp.to_text()).expect("note");
    n.sign(ORIGIN, signer).expect("sign");
    n.to_text()
}

fn body(old: u64, proof: &[Hash32], note: &str) -> Vec<u8> {
    use base64::Engine as _;
    let mut b = format!("old {old}\n");
    for h in proof {
        b.push_str(&base64::engine::general_purpose::STANDARD.encode(h.0));
        b.push('\n');
    }
    b.push('\n');
    b.push_str(note);
    b.into_bytes()
}

#[tokio::test]
async fn cosigns_consistent_checkpoints_and_refuses_forks_rollbacks_and_bad_proofs() {
    let f = fixture();
    let w = Witness::open(&f.config).expect("open");
    let a = leaves(10, "a");
    // First checkpoint: old 0, no proof.
    let out = w
        .add_checkpoint(&body(0, &[], &note(&f.log, &a[..5])))
        .await;
    let Outcome::Cosigned(line) = out else {
        panic!("{out:?}")
    };
    // The line is a cosignature that verifies on the checkpoint.
    let with = Note::parse(format!("{}{line}", note(&f.log, &a[..5])).as_bytes()).expect("note");
    let sig = with
        .signatures()
        .iter()
        .find(|s| w.vkey().matches(s))
        .expect("cosig");
    assert!(
        w.vkey()
            .verify(with.text(), sig)
            .expect("verifies")
            .is_some()
    );
    // Growing with a good proof.
    let proof = consistency_proof(&a, 5).expect("proof");
    assert!(matches!(
        w.add_checkpoint(&body(5, &proof, &note(&f.log, &a))).await,
        Outcome::Cosigned(_)
    ));
    // A fork: another tree of size 10.
    let b = leaves(10, "b");
    assert_eq!(
        w.add_checkpoint(&body(10, &[], &note(&f.log, &b))).await,
        Outcome::Conflict(10)
    );
    // The same checkpoint again is fine (same size, same root).
    assert!(matches!(
        w.add_checkpoint(&body(10, &[], &note(&f.log, &a))).await,
        Outcome::Cosigned(_)
    ));
    // A rollback: a smaller tree, from an old size it no longer has.
    assert_eq!(
        w.add_checkpoint(&body(5, &[], &note(&f.log, &a[..5])))
            .await,
        Outcome::Conflict(10)
    );
    assert_eq!(
        w.add_checkpoint(&body(0, &[], &note(&f.log, &a[..3])))
            .await,
        Outcome::Conflict(10)
    );
    // old above the checkpoint size: 400.
    assert!(matches!(
        w.add_checkpoint(&body(10, &[], &note(&f.log, &a[..3])))
            .await,
        Outcome::BadRequest(_)
    ));
    // A bad consistency proof: from a forked 10 to a real-looking 12.
    let c = leaves(12, "b");
    let bad = consistency_proof(&c, 10).expect("proof");
    assert!(matches!(
        w.add_checkpoint(&body(10, &bad, &note(&f.log, &c))).await,
        Outcome::Unprocessable(_)
    ));
    // Another key's signature: 403; another origin: 404.
    let other = Signer::from_secret([9; 32]);
    assert!(matches!(
        w.add_checkpoint(&body(10, &[], &note(&other, &a))).await,
        Outcome::Forbidden(_)
    ));
    let cp = Checkpoint::new("other.test/log", 1, root(&a[..1])).expect("cp");
    let mut n = Note::new(&cp.to_text()).expect("note");
    n.sign("other.test/log", &f.log).expect("sign");
    assert!(matches!(
        w.add_checkpoint(&body(0, &[], &n.to_text())).await,
        Outcome::UnknownLog(_)
    ));
    // A restart keeps the state and the key.
    let vkey = w.vkey().clone();
    drop(w);
    let w = Witness::open(&f.config).expect("reopen");
    assert_eq!(w.vkey(), &vkey);
    assert_eq!(w.cosigned(ORIGIN).await.map(|c| c.size), Some(10));
    assert_eq!(
        w.add_checkpoint(&body(0, &[], &note(&f.log, &a[..3])))
            .await,
        Outcome::Conflict(10)
    );
}

#[test]
fn malformed_requests_are_400() {
    let f = fixture();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let w = Witness::open(&f.config).expect("open");
    let n = note(&f.log, &leaves(2, "a"));
    for bad in [
        format!("old 01\n\n{n}"),
        format!("old -1\n\n{n}"),
        format!("old 0\nAAAA\n\n{n}"),
        format!("new 0\n\n{n}"),
        format!("old 0\n{n}"),
        "old 0\n\nnot a note\n".to_owned(),
    ] {
        let out = rt.block_on(w.add_checkpoint(bad.as_bytes()));
        assert!(matches!(out, Outcome::BadRequest(_)), "{bad:?}: {out:?}");
    }
}
