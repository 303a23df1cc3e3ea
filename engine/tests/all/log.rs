//! The transparency-log core (engine/src/log, issue 14): C2SP signed notes,
//! checkpoints, cosignatures, log proofs, trust policies, and RFC 9162
//! inclusion and consistency proofs.
//!
//! Known answers come from the specifications' own examples (cited at each
//! test); frozen vectors are under `engine/tests/vectors/log/` (README
//! there), rewritten with `BLESS=1`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::log::checkpoint::verify_checkpoint;
use fairdraw_engine::log::cosignature::parse_cosignature_message;
use fairdraw_engine::log::note::key_id;
use fairdraw_engine::log::{
    Checkpoint, LogError, LogProof, MAX_INCLUSION_HASHES, MAX_NOTE_BYTES, MAX_SIGNATURES, Note,
    NoteSignature, SignatureType, TrustPolicy, VerifierKey, consistency_proof, cosign,
    cosignature_message, verify_consistency, verify_inclusion, verify_log_proof,
};
use fairdraw_engine::merkle::{self, leaf_hash, root};
use fairdraw_engine::receipt::{ReceiptError, Sign, Signer};
use proptest::prelude::*;

const LOG_NAME: &str = "log.fairdraw.example/test";
const W1: &str = "witness1.fairdraw.example";
const W2: &str = "witness2.fairdraw.example";
const W3: &str = "witness3.fairdraw.example";
/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600;

fn log_signer() -> Signer {
    Signer::from_secret([0x11; 32])
}
fn witness(i: u8) -> Signer {
    Signer::from_secret([0x20 + i; 32])
}
fn log_key() -> VerifierKey {
    VerifierKey::for_signer(LOG_NAME, SignatureType::Ed25519, &log_signer()).unwrap()
}
fn witness_key(name: &str, i: u8) -> VerifierKey {
    VerifierKey::for_signer(name, SignatureType::CosignatureV1, &witness(i)).unwrap()
}

fn leaves(n: usize) -> Vec<Hash32> {
    (0..n)
        .map(|i| leaf_hash(format!("fairdraw log vector leaf {i}").as_bytes()))
        .collect()
}

/// A checkpoint of `leaves` signed by the log.
fn signed_checkpoint(leaves: &[Hash32]) -> Note {
    let c = Checkpoint::new(LOG_NAME, leaves.len() as u64, root(leaves)).unwrap();
    let mut note = Note::new(&c.to_text()).unwrap();
    note.sign(LOG_NAME, &log_signer()).unwrap();
    note
}

/// The same, cosigned by witnesses 1 (at T0 + 5) and 2 (at T0 + 2).
fn cosigned_checkpoint(leaves: &[Hash32]) -> Note {
    let mut note = signed_checkpoint(leaves);
    cosign(&mut note, W1, T0 + 5, &witness(1)).unwrap();
    cosign(&mut note, W2, T0 + 2, &witness(2)).unwrap();
    note
}

fn policy(quorum: usize) -> TrustPolicy {
    TrustPolicy {
        origin: None,
        log: log_key(),
        witnesses: vec![witness_key(W1, 1), witness_key(W2, 2), witness_key(W3, 3)],
        quorum,
    }
}

fn log_proof(n: usize, index: u64) -> (Hash32, LogProof) {
    let l = leaves(n);
    let path = merkle::inclusion_proof(&l, index).unwrap().path;
    (
        l[index as usize],
        LogProof::new(index, path, cosigned_checkpoint(&l)),
    )
}

// ---------------------------------------------------------------------------
// Known answers from the specifications.

/// The signed note of the documentation of Go's golang.org/x/mod/sumdb/note
/// (the origin of C2SP signed-note), also in the docs of the `signed_note`
/// 0.2.0 crate (cloudflare/azul): the key `PeterNeumann`, its secret key
/// `PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz`
/// and the exact signed note. Ed25519 is deterministic, so signing the same
/// text must give the same bytes.
#[test]
fn kat_go_sumdb_note_peter_neumann() {
    let secret = STANDARD
        .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
        .unwrap();
    assert_eq!(secret[0], 0x01, "Ed25519 type byte");
    let signer = Signer::from_secret(secret[1..].try_into().unwrap());
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let key = VerifierKey::parse(vkey).unwrap();
    assert_eq!(key.to_vkey(), vkey);
    assert_eq!(key.id(), 0xc74f_20a3);
    assert_eq!(key.public_key(), signer.public_key());
    assert_eq!(
        VerifierKey::for_signer("PeterNeumann", SignatureType::Ed25519, &signer)
            .unwrap()
            .to_vkey(),
        vkey
    );

    let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    let want = format!(
        "{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    );
    let mut note = Note::new(text).unwrap();
    note.sign("PeterNeumann", &signer).unwrap();
    assert_eq!(note.to_text(), want);

    let parsed = Note::parse(want.as_bytes()).unwrap();
    assert_eq!(parsed, note);
    assert_eq!(parsed.text(), text);
    assert_eq!(key.verify(parsed.text(), &parsed.signatures()[0]), Ok(None));
}

/// The example of C2SP tlog-cosignature (and tlog-checkpoint): a checkpoint
/// of `example.com/behind-the-sofa` with a log signature and a cosignature
/// by `witness.example.com/w1`, whose signed message the spec spells out
/// with `time 1679315147`. The spec gives no keys, so the signatures cannot
/// be verified; the structure, the timestamp and the message can.
#[test]
fn kat_c2sp_tlog_cosignature_example() {
    let text =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let note = format!(
        "{text}\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
    );
    let parsed = Note::parse(note.as_bytes()).unwrap();
    assert_eq!(parsed.to_text(), note, "round trip");
    let c = Checkpoint::parse(parsed.text()).unwrap();
    assert_eq!(c.origin, "example.com/behind-the-sofa");
    assert_eq!(c.size, 20_852_163);
    assert!(c.extensions.is_empty());
    assert_eq!(c.to_text(), text);

    let [log, w] = parsed.signatures() else {
        panic!("two lines")
    };
    assert_eq!(log.signature.len(), 64, "Ed25519");
    assert_eq!(w.name, "witness.example.com/w1");
    assert_eq!(w.signature.len(), 72, "timestamp || Ed25519");
    let time = u64::from_be_bytes(w.signature[..8].try_into().unwrap());
    assert_eq!(time, 1_679_315_147);

    let msg = cosignature_message(text, time);
    assert_eq!(
        String::from_utf8(msg.clone()).unwrap(),
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    assert_eq!(
        parse_cosignature_message(std::str::from_utf8(&msg).unwrap()).unwrap(),
        (time, text)
    );

    // With an unrelated log key, the log signature is missing.
    let other = log_key();
    assert!(matches!(
        verify_checkpoint(&parsed, &other),
        Err(LogError::LogSignatureMissing(_))
    ));
}

/// The example of C2SP signed-note (a poem by Quasimodo): its text holds an
/// empty line, and the text ends at the *last* blank line.
#[test]
fn kat_c2sp_signed_note_example() {
    let note = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let parsed = Note::parse(note.as_bytes()).unwrap();
    assert_eq!(
        parsed.text(),
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    );
    assert_eq!(parsed.signatures()[0].name, "quasimodo.example/salvatore");
    assert_eq!(parsed.signatures()[0].signature.len(), 64);
    assert_eq!(parsed.to_text(), note);
    assert!(matches!(
        Checkpoint::parse(parsed.text()),
        Err(LogError::MalformedCheckpoint(_))
    ));
}

/// The header of the example of C2SP tlog-proof (`extra`, `index 73894`,
/// five proof hashes), followed by a checkpoint note of ours (the spec's
/// note has elided signatures).
#[test]
fn kat_c2sp_tlog_proof_example_header() {
    let head = "c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\nindex 73894\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\nB95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\nEKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\nRoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\nAHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n";
    let note = signed_checkpoint(&leaves(3));
    let text = format!("{head}\n{}", note.to_text());
    let p = LogProof::parse(text.as_bytes()).unwrap();
    assert_eq!(
        p.extra.as_deref(),
        Some(&b"age-v1.2.1-darwin-arm64.tar.gz"[..])
    );
    assert_eq!(p.index, 73_894);
    assert_eq!(p.path.len(), 5);
    assert_eq!(p.checkpoint, note);
    assert_eq!(p.to_text(), text);
}

// ---------------------------------------------------------------------------
// Round trips and the happy path.

#[test]
fn key_ids_follow_the_spec_formula() {
    let pk = witness(1).public_key();
    let mut msg = W1.as_bytes().to_vec();
    msg.extend([b'\n', 0x04]);
    msg.extend(pk);
    let d = fairdraw_engine::encoding::sha256(&msg);
    let want = u32::from_be_bytes(d.0[..4].try_into().unwrap());
    assert_eq!(key_id(W1, SignatureType::CosignatureV1, &pk), want);
    assert_eq!(witness_key(W1, 1).id(), want);
    // The same key under type 0x01 has another id.
    assert_ne!(key_id(W1, SignatureType::Ed25519, &pk), want);
    let vkey = witness_key(W1, 1).to_vkey();
    let key_b64 = vkey.splitn(3, '+').nth(2).unwrap();
    assert_eq!(STANDARD.decode(key_b64).unwrap()[0], 0x04, "{vkey}");
    // Regression: base64 holds '+', so a vkey splits at its first two '+'
    // only (this key's base64 has one).
    assert!(key_b64.contains('+'), "{vkey}");
    assert_eq!(VerifierKey::parse(&vkey).unwrap(), witness_key(W1, 1));
}

#[test]
fn checkpoint_with_extensions_round_trips() {
    let mut c = Checkpoint::new(LOG_NAME, 0, merkle::empty_root()).unwrap();
    c.extensions = vec!["ext one".into(), "— two".into()];
    let back = Checkpoint::parse(&c.to_text()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn log_proof_verifies_and_round_trips() {
    for n in [1usize, 2, 3, 7, 8, 9, 33] {
        for index in [0, n as u64 / 2, n as u64 - 1] {
            let (leaf, p) = log_proof(n, index);
            let text = p.to_text();
            let back = LogProof::parse(text.as_bytes()).unwrap();
            assert_eq!(back, p);
            let ev = verify_log_proof(&policy(2), &leaf, &back).unwrap();
            assert_eq!(ev.index, index);
            assert_eq!(ev.tree_size, n as u64);
            assert_eq!(ev.root, root(&leaves(n)));
            assert_eq!(ev.origin, LOG_NAME);
            assert_eq!(ev.witnessed_at.unwrap().unix(), (T0 + 2) as i64);
            assert_eq!(ev.quorum_witnessed_at.unwrap().unix(), (T0 + 5) as i64);
            assert_eq!(ev.witnesses, vec![W1.to_owned(), W2.to_owned()]);
        }
    }
}

#[test]
fn policy_json_round_trips() {
    let p = policy(2);
    let json = p.to_json();
    assert_eq!(TrustPolicy::from_json(json.as_bytes()).unwrap(), p);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["log"], log_key().to_vkey());
    assert_eq!(v["quorum"], 2);
}

#[test]
fn quorum_zero_needs_no_witness() {
    let l = leaves(4);
    let path = merkle::inclusion_proof(&l, 2).unwrap().path;
    let p = LogProof::new(2, path, signed_checkpoint(&l));
    let ev = verify_log_proof(&policy(0), &l[2], &p).unwrap();
    assert_eq!(ev.witnessed_at, None);
    assert_eq!(ev.quorum_witnessed_at, None);
    assert!(ev.witnesses.is_empty());
}

#[test]
fn explicit_origin_is_checked() {
    let (leaf, p) = log_proof(5, 1);
    let mut pol = policy(1);
    pol.origin = Some("other.example/log".into());
    assert_eq!(
        verify_log_proof(&pol, &leaf, &p),
        Err(LogError::OriginMismatch {
            found: LOG_NAME.into(),
            expected: "other.example/log".into()
        })
    );
    pol.origin = Some(LOG_NAME.into());
    assert!(verify_log_proof(&pol, &leaf, &p).is_ok());
}

// ---------------------------------------------------------------------------
// Every error path of verify_log_proof.

#[test]
fn log_signature_missing() {
    let (leaf, mut p) = log_proof(5, 1);
    let mut note = Note::new(p.checkpoint.text()).unwrap();
    for s in p.checkpoint.signatures().iter().skip(1) {
        note.add_signature(s.clone()).unwrap();
    }
    p.checkpoint = note;
    assert!(matches!(
        verify_log_proof(&policy(1), &leaf, &p),
        Err(LogError::LogSignatureMissing(_))
    ));
}

/// Rebuilds the proof's checkpoint note with its signature lines edited.
fn edit_signatures(p: &mut LogProof, edit: impl FnOnce(&mut Vec<NoteSignature>)) {
    let mut sigs = p.checkpoint.signatures().to_vec();
    edit(&mut sigs);
    let mut note = Note::new(p.checkpoint.text()).unwrap();
    sigs.into_iter()
        .for_each(|s| note.add_signature(s).unwrap());
    p.checkpoint = note;
}

#[test]
fn log_signature_bad() {
    let (leaf, mut p) = log_proof(5, 1);
    edit_signatures(&mut p, |s| s[0].signature[10] ^= 1);
    assert_eq!(
        verify_log_proof(&policy(1), &leaf, &p),
        Err(LogError::LogSignatureBad(LOG_NAME.into()))
    );
}

#[test]
fn a_checkpoint_changed_after_signing_fails() {
    let l = leaves(6);
    let (leaf, p) = log_proof(5, 1);
    // Same signatures over another tree: the log's signature fails first.
    let other = Checkpoint::new(LOG_NAME, 6, root(&l)).unwrap();
    let mut note = Note::new(&other.to_text()).unwrap();
    p.checkpoint
        .signatures()
        .iter()
        .for_each(|s| note.add_signature(s.clone()).unwrap());
    let forged = LogProof::new(1, p.path.clone(), note);
    assert_eq!(
        verify_log_proof(&policy(1), &leaf, &forged),
        Err(LogError::LogSignatureBad(LOG_NAME.into()))
    );
}

#[test]
fn witness_signature_bad() {
    let (leaf, mut p) = log_proof(5, 1);
    // The timestamp is covered by the signature: moving it earlier breaks it.
    edit_signatures(&mut p, |s| s[1].signature[7] ^= 1);
    assert_eq!(
        verify_log_proof(&policy(1), &leaf, &p),
        Err(LogError::WitnessSignatureBad(W1.into()))
    );
}

#[test]
fn malformed_cosignature_from_a_trusted_witness() {
    let (leaf, mut p) = log_proof(5, 1);
    edit_signatures(&mut p, |s| s[1].signature.truncate(64));
    assert!(matches!(
        verify_log_proof(&policy(1), &leaf, &p),
        Err(LogError::MalformedCosignature { name, .. }) if name == W1
    ));
}

#[test]
fn cosignature_time_above_i64_is_refused() {
    let (leaf, mut p) = log_proof(5, 1);
    edit_signatures(&mut p, |s| s[1].signature[0] = 0x80);
    assert!(matches!(
        verify_log_proof(&policy(1), &leaf, &p),
        Err(LogError::MalformedCosignature { .. })
    ));
    let mut n = signed_checkpoint(&leaves(2));
    assert!(matches!(
        cosign(&mut n, W1, u64::MAX, &witness(1)),
        Err(LogError::MalformedCosignature { .. })
    ));
}

#[test]
fn witnesses_not_in_the_policy_are_ignored_not_counted() {
    let l = leaves(5);
    let mut note = signed_checkpoint(&l);
    // An outsider, and an outsider using a trusted witness's *name*.
    cosign(&mut note, "stranger.example", T0 - 100, &witness(9)).unwrap();
    cosign(&mut note, W3, T0 - 50, &witness(9)).unwrap();
    cosign(&mut note, W1, T0, &witness(1)).unwrap();
    let p = LogProof::new(0, merkle::inclusion_proof(&l, 0).unwrap().path, note);
    let ev = verify_log_proof(&policy(1), &l[0], &p).unwrap();
    assert_eq!(ev.witnesses, vec![W1.to_owned()]);
    assert_eq!(
        ev.witnessed_at.unwrap().unix(),
        T0 as i64,
        "outsiders' earlier times ignored"
    );
    assert_eq!(
        verify_log_proof(&policy(2), &l[0], &p),
        Err(LogError::QuorumNotMet { have: 1, need: 2 })
    );
}

#[test]
fn one_witness_signing_twice_counts_once() {
    let l = leaves(5);
    let mut note = signed_checkpoint(&l);
    cosign(&mut note, W1, T0 + 10, &witness(1)).unwrap();
    cosign(&mut note, W1, T0 + 1, &witness(1)).unwrap();
    let p = LogProof::new(0, merkle::inclusion_proof(&l, 0).unwrap().path, note);
    assert_eq!(
        verify_log_proof(&policy(2), &l[0], &p),
        Err(LogError::QuorumNotMet { have: 1, need: 2 })
    );
    let ev = verify_log_proof(&policy(1), &l[0], &p).unwrap();
    assert_eq!(ev.witnessed_at.unwrap().unix(), (T0 + 1) as i64);
}

#[test]
fn quorum_not_met() {
    let (leaf, p) = log_proof(5, 1);
    assert_eq!(
        verify_log_proof(&policy(3), &leaf, &p),
        Err(LogError::QuorumNotMet { have: 2, need: 3 })
    );
}

#[test]
fn inclusion_proof_wrong() {
    let (leaf, p) = log_proof(9, 4);
    // Another receipt's leaf.
    assert_eq!(
        verify_log_proof(&policy(1), &leaf_hash(b"another receipt"), &p),
        Err(LogError::InclusionProofWrong { index: 4, size: 9 })
    );
    // Another index.
    let mut q = p.clone();
    q.index = 5;
    assert_eq!(
        verify_log_proof(&policy(1), &leaf, &q),
        Err(LogError::InclusionProofWrong { index: 5, size: 9 })
    );
    // A hash dropped, or one too many.
    let mut q = p.clone();
    q.path.pop();
    assert!(verify_log_proof(&policy(1), &leaf, &q).is_err());
    let mut q = p.clone();
    q.path.push(leaf);
    assert!(verify_log_proof(&policy(1), &leaf, &q).is_err());
    // Index past the tree.
    let mut q = p;
    q.index = 9;
    assert_eq!(
        verify_log_proof(&policy(1), &leaf, &q),
        Err(LogError::IndexOutOfRange { index: 9, size: 9 })
    );
}

#[test]
fn too_long_inclusion_proof_is_refused_before_work() {
    let (leaf, mut p) = log_proof(5, 1);
    p.path = vec![leaf; MAX_INCLUSION_HASHES + 1];
    assert!(matches!(
        verify_log_proof(&policy(1), &leaf, &p),
        Err(LogError::TooMany {
            count: 64,
            max: 63,
            ..
        })
    ));
    let text = p.to_text();
    assert!(matches!(
        LogProof::parse(text.as_bytes()),
        Err(LogError::TooMany { .. })
    ));
    assert!(matches!(
        verify_inclusion(&leaf, 0, 1, &p.path, &leaf),
        Err(LogError::TooMany { .. })
    ));
}

#[test]
fn malformed_checkpoint_signed_by_the_log() {
    let mut note = Note::new("log.fairdraw.example/test\n012\nAAAA\n").unwrap();
    note.sign(LOG_NAME, &log_signer()).unwrap();
    let p = LogProof::new(0, vec![], note);
    assert!(matches!(
        verify_log_proof(&policy(0), &leaf_hash(b""), &p),
        Err(LogError::MalformedCheckpoint(_))
    ));
}

#[test]
fn bad_policies() {
    let p = policy(4);
    assert!(matches!(p.check(), Err(LogError::MalformedPolicy(_))));
    let (leaf, proof) = log_proof(3, 0);
    assert!(matches!(
        verify_log_proof(&p, &leaf, &proof),
        Err(LogError::MalformedPolicy(_))
    ));
    let mut p = policy(1);
    p.witnesses.push(witness_key(W1, 1));
    assert!(matches!(p.check(), Err(LogError::MalformedPolicy(m)) if m.contains("twice")));
    let mut p = policy(1);
    p.log = witness_key(LOG_NAME, 1);
    assert!(matches!(p.check(), Err(LogError::MalformedPolicy(_))));
    let mut p = policy(1);
    p.witnesses[0] = log_key();
    assert!(matches!(p.check(), Err(LogError::MalformedPolicy(_))));
    let mut p = policy(1);
    p.origin = Some(String::new());
    assert!(matches!(p.check(), Err(LogError::MalformedPolicy(_))));
    let mut p = policy(0);
    p.witnesses = (0..65).map(|i| witness_key(&format!("w{i}"), 1)).collect();
    assert!(matches!(p.check(), Err(LogError::TooMany { .. })));

    for json in [
        "not json".to_owned(),
        r#"{"log":"x","witnesses":[],"quorum":0}"#.to_owned(),
        format!(
            r#"{{"log":"{}","witnesses":[],"quorum":0,"extra":1}}"#,
            log_key()
        ),
        format!(r#"{{"log":"{}","witnesses":[],"quorum":-1}}"#, log_key()),
        format!(r#"{{"log":"{}","witnesses":[],"quorum":1}}"#, log_key()),
    ] {
        assert!(
            matches!(
                TrustPolicy::from_json(json.as_bytes()),
                Err(LogError::MalformedPolicy(_))
            ),
            "{json}"
        );
    }
    let big = vec![b' '; 64 * 1024 + 1];
    assert!(matches!(
        TrustPolicy::from_json(&big),
        Err(LogError::TooLarge { .. })
    ));
}

// ---------------------------------------------------------------------------
// Parsing errors.

fn note_err(bytes: &[u8]) -> LogError {
    Note::parse(bytes).unwrap_err()
}

#[test]
fn malformed_notes() {
    let good = signed_checkpoint(&leaves(3)).to_text();
    let sig_line = good.lines().last().unwrap().to_owned();
    let cases: Vec<(String, &str)> = vec![
        ("no blank line\n".into(), "no blank line"),
        ("text\n\n".into(), "no signature line"),
        (format!("text\n\n{sig_line}"), "does not end in a newline"),
        ("text\n\n- name AAAAAAA=\n".into(), "em dash"),
        ("text\n\n\u{2014} nameonly\n".into(), "no space"),
        ("text\n\n\u{2014} a+b AAAAAAA=\n".into(), "key name"),
        ("text\n\n\u{2014}  AAAAAAA=\n".into(), "key name"),
        ("text\n\n\u{2014} name !!!!\n".into(), "base64"),
        ("text\n\n\u{2014} name AAAAAAB=\n".into(), "base64"),
        ("text\n\n\u{2014} name AAAAAAA\n".into(), "base64"),
        ("text\n\n\u{2014} name AAAA\n".into(), "fewer than 5"),
        (format!("te\rxt\n\n{sig_line}\n"), "control character"),
    ];
    // The text may end in an empty line: the last blank line separates.
    let n = Note::parse(format!("text\n\n\n{sig_line}\n").as_bytes()).unwrap();
    assert_eq!(n.text(), "text\n\n");
    for (note, want) in cases {
        match note_err(note.as_bytes()) {
            LogError::MalformedNote(m) => assert!(m.contains(want), "{note:?}: {m}"),
            e => panic!("{note:?}: {e}"),
        }
    }
    assert!(matches!(
        note_err(b"\xff\n\n"),
        LogError::MalformedNote(m) if m.contains("UTF-8")
    ));
}

#[test]
fn note_caps_are_checked_before_work() {
    let big = vec![b'a'; MAX_NOTE_BYTES + 1];
    assert!(matches!(note_err(&big), LogError::TooLarge { .. }));
    let long = format!("{}\n\n\u{2014} a AAAAAAA=\n", "x".repeat(1025));
    assert!(matches!(
        note_err(long.as_bytes()),
        LogError::LineTooLong {
            line: 1,
            len: 1025,
            ..
        }
    ));
    // 65 lines that are not even valid signatures: refused by count.
    let many = format!("text\n\n{}", "\u{2014} a !\n".repeat(MAX_SIGNATURES + 1));
    assert!(matches!(
        note_err(many.as_bytes()),
        LogError::TooMany { count: 65, .. }
    ));
    // Adding past the cap is refused too.
    let mut note = Note::new("text\n").unwrap();
    for _ in 0..MAX_SIGNATURES {
        note.sign("a", &log_signer()).unwrap();
    }
    assert!(matches!(
        note.sign("a", &log_signer()),
        Err(LogError::TooMany { .. })
    ));
    assert_eq!(Note::parse(&note.to_bytes()).unwrap(), note);
    assert!(matches!(
        Note::new(&"x\n".repeat(MAX_NOTE_BYTES / 2 + 1)),
        Err(LogError::TooLarge { .. })
    ));
    assert!(matches!(
        Note::new("no newline"),
        Err(LogError::MalformedNote(_))
    ));
    assert!(matches!(
        note.add_signature(NoteSignature {
            name: "bad name".into(),
            key_id: 0,
            signature: vec![0; 64]
        }),
        Err(LogError::MalformedNote(_))
    ));
}

#[test]
fn malformed_checkpoints() {
    let root = STANDARD.encode([7u8; 32]);
    for (text, want) in [
        ("origin\n1\n".to_owned(), "at least three"),
        (format!("origin\n1\n{root}"), "newline"),
        (format!("\n1\n{root}\n"), "line 1 is empty"),
        (format!("origin\n1\n{root}\n\next\n"), "line 4 is empty"),
        (format!("origin\n01\n{root}\n"), "tree size"),
        (format!("origin\n+1\n{root}\n"), "tree size"),
        (format!("origin\n-1\n{root}\n"), "tree size"),
        (format!("origin\n 1\n{root}\n"), "tree size"),
        (
            format!("origin\n18446744073709551616\n{root}\n"),
            "tree size",
        ),
        ("origin\n1\nAAAA\n".to_owned(), "root hash"),
        (
            format!("origin\n1\n{}\n", &root[..root.len() - 1]),
            "root hash",
        ),
        (format!("origin\n1\n{root}\x01\n"), "control character"),
    ] {
        match Checkpoint::parse(&text) {
            Err(LogError::MalformedCheckpoint(m)) => assert!(m.contains(want), "{text:?}: {m}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    assert!(Checkpoint::parse(&format!("origin\n18446744073709551615\n{root}\n")).is_ok());
    assert!(Checkpoint::new("", 0, Hash32::default()).is_err());
    assert!(Checkpoint::new("a\nb", 0, Hash32::default()).is_err());
}

#[test]
fn malformed_verifier_keys() {
    let good = log_key().to_vkey();
    let mut parts = good.splitn(3, '+');
    let (name, id, key) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let raw = STANDARD.decode(key).unwrap();
    let with = |ty: u8, pk: &[u8]| {
        let mut r = vec![ty];
        r.extend_from_slice(pk);
        STANDARD.encode(r)
    };
    let cases = [
        format!("{name}+{id}"),
        format!("{name}+{id}+{key}+x"),
        format!("{name}+{}+{key}", id.to_uppercase()),
        format!("{name}+{}+{key}", &id[..7]),
        format!("{name}+00000000+{key}"),
        format!("{name}+{id}+{}", &key[1..]),
        format!("{name}+{id}+"),
        format!("{name}+{id}+{}", with(0x02, &raw[1..])),
        format!("{name}+{id}+{}", with(0x01, &raw[1..31])),
        format!("bad name+{id}+{key}"),
        format!("+{id}+{key}"),
        "x".repeat(2000),
    ];
    for vkey in cases {
        assert!(
            matches!(VerifierKey::parse(&vkey), Err(LogError::MalformedKey(_))),
            "{vkey}"
        );
    }
    // Small-order keys are refused: the identity point.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        VerifierKey::new("x", SignatureType::Ed25519, identity),
        Err(LogError::MalformedKey(m)) if m.contains("small order")
    ));
    // Serde uses the vkey form and refuses a bad one.
    let json = serde_json::to_string(&log_key()).unwrap();
    assert_eq!(json, format!("\"{good}\""));
    assert!(serde_json::from_str::<VerifierKey>("\"nope\"").is_err());
}

#[test]
fn malformed_log_proofs() {
    let note = signed_checkpoint(&leaves(3)).to_text();
    let h = STANDARD.encode([1u8; 32]);
    for (text, want) in [
        (
            format!("c2sp.org/tlog-proof@v2\nindex 0\n\n{note}"),
            "first line",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 01\n\n{note}"),
            "index",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex -1\n\n{note}"),
            "index",
        ),
        (format!("c2sp.org/tlog-proof@v1\n\n{note}"), "index"),
        (
            format!("c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\n{note}"),
            "extra",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\n{note}"),
            "hash 1",
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\n{h}\n{h}x\n\n{note}"),
            "hash 2",
        ),
        ("c2sp.org/tlog-proof@v1\nindex 0\n".to_owned(), "blank line"),
    ] {
        match LogProof::parse(text.as_bytes()) {
            Err(LogError::MalformedLogProof(m)) => assert!(m.contains(want), "{text:?}: {m}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    // The embedded note is parsed with the note rules.
    assert!(matches!(
        LogProof::parse(b"c2sp.org/tlog-proof@v1\nindex 0\n\nnot a note\n"),
        Err(LogError::MalformedNote(_))
    ));
    let big = vec![b'a'; fairdraw_engine::log::MAX_LOG_PROOF_BYTES + 1];
    assert!(matches!(
        LogProof::parse(&big),
        Err(LogError::TooLarge { .. })
    ));
    let long = format!(
        "c2sp.org/tlog-proof@v1\nextra {}\nindex 0\n\n{note}",
        "A".repeat(2000)
    );
    assert!(matches!(
        LogProof::parse(long.as_bytes()),
        Err(LogError::LineTooLong { line: 2, .. })
    ));
}

// ---------------------------------------------------------------------------
// Signers.

/// A signer that returns a wrong signature (a misconfigured KMS).
struct Broken;
impl Sign for Broken {
    fn public_key(&self) -> [u8; 32] {
        log_signer().public_key()
    }
    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], ReceiptError> {
        witness(1).sign_message(message)
    }
}

/// A signer that fails.
struct Down;
impl Sign for Down {
    fn public_key(&self) -> [u8; 32] {
        log_signer().public_key()
    }
    fn sign_message(&self, _: &[u8]) -> Result<[u8; 64], ReceiptError> {
        Err(ReceiptError::Signer("KMS unreachable".into()))
    }
}

#[test]
fn signers_that_misbehave_are_caught() {
    let mut note = signed_checkpoint(&leaves(2));
    assert!(matches!(note.sign("x", &Broken), Err(LogError::Signer(_))));
    assert!(matches!(
        cosign(&mut note, W1, T0, &Broken),
        Err(LogError::Signer(_))
    ));
    assert!(matches!(note.sign("x", &Down), Err(LogError::Signer(m)) if m.contains("KMS")));
    assert!(matches!(
        cosign(&mut note, W1, T0, &Down),
        Err(LogError::Signer(_))
    ));
    // Nothing was appended.
    assert_eq!(note, signed_checkpoint(&leaves(2)));
    // A witness cosigns only checkpoints.
    let mut poem = Note::new("not\na checkpoint\n").unwrap();
    assert!(matches!(
        cosign(&mut poem, W1, T0, &witness(1)),
        Err(LogError::MalformedCheckpoint(_))
    ));
    assert!(matches!(
        note.sign("bad name", &log_signer()),
        Err(LogError::MalformedKey(_))
    ));
}

#[test]
fn non_canonical_signature_is_refused() {
    // S + L, the other encoding of the same scalar: `verify_strict` (and
    // dalek's `verify`) refuse a non-canonical S.
    let note = signed_checkpoint(&leaves(2));
    let mut sig = note.signatures()[0].clone();
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (s, l) in sig.signature[32..].iter_mut().zip(L) {
        let v = u16::from(*s) + u16::from(l) + carry;
        *s = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    assert_eq!(
        log_key().verify(note.text(), &sig),
        Err(LogError::LogSignatureBad(LOG_NAME.into()))
    );
}

// ---------------------------------------------------------------------------
// Consistency proofs.

#[test]
fn consistency_every_pair_up_to_40() {
    for n in 1..=40usize {
        let l = leaves(n);
        let new_root = root(&l);
        for m in 0..=n {
            let p = consistency_proof(&l, m as u64).unwrap();
            let old_root = root(&l[..m]);
            verify_consistency(m as u64, n as u64, &old_root, &new_root, &p)
                .unwrap_or_else(|e| panic!("m={m} n={n}: {e}"));
            if 0 < m && m < n {
                // Any change to the proof, either root or either size fails.
                for i in 0..p.len() {
                    let mut bad = p.clone();
                    bad[i].0[0] ^= 1;
                    assert!(
                        verify_consistency(m as u64, n as u64, &old_root, &new_root, &bad).is_err()
                    );
                }
                let mut short = p.clone();
                short.pop();
                assert!(
                    verify_consistency(m as u64, n as u64, &old_root, &new_root, &short).is_err()
                );
                let mut long = p.clone();
                long.push(new_root);
                assert!(
                    verify_consistency(m as u64, n as u64, &old_root, &new_root, &long).is_err()
                );
                assert!(verify_consistency(m as u64, n as u64, &new_root, &new_root, &p).is_err());
                assert!(verify_consistency(m as u64, n as u64, &old_root, &old_root, &p).is_err());
                assert!(
                    verify_consistency(m as u64 + 1, n as u64, &old_root, &new_root, &p).is_err()
                );
            }
        }
    }
}

#[test]
fn consistency_edge_cases() {
    let l = leaves(5);
    let r = root(&l);
    let r3 = root(&l[..3]);
    let err = |res: Result<(), LogError>, want: &str| match res {
        Err(LogError::ConsistencyProofWrong { reason, .. }) => {
            assert!(reason.contains(want), "{reason}")
        }
        other => panic!("{other:?}"),
    };
    // Rollback, fork, non-empty proofs where none is due, empty where one is.
    err(verify_consistency(5, 3, &r, &r3, &[]), "rollback");
    err(verify_consistency(5, 5, &r, &r3, &[]), "fork");
    err(verify_consistency(5, 5, &r, &r, &[r]), "must be empty");
    err(
        verify_consistency(0, 5, &merkle::empty_root(), &r, &[r]),
        "must be empty",
    );
    err(verify_consistency(0, 5, &r3, &r, &[]), "empty tree");
    err(verify_consistency(3, 5, &r3, &r, &[]), "empty");
    assert!(verify_consistency(0, 5, &merkle::empty_root(), &r, &[]).is_ok());
    assert!(verify_consistency(5, 5, &r, &r, &[]).is_ok());
    assert!(matches!(
        verify_consistency(3, 5, &r3, &r, &vec![r; 65]),
        Err(LogError::TooMany { .. })
    ));
    assert!(matches!(
        consistency_proof(&l, 6),
        Err(LogError::IndexOutOfRange { index: 6, size: 5 })
    ));
    assert_eq!(consistency_proof(&l, 0).unwrap(), vec![]);
    assert_eq!(consistency_proof(&l, 5).unwrap(), vec![]);
}

/// RFC 9162 §2.1.4.3 example: the tree of 7 leaves `d0..d6`; the proofs
/// between sizes 3 and 7, 4 and 7, 6 and 7 are spelled out as nodes.
#[test]
fn consistency_rfc9162_example_shapes() {
    let d = leaves(7);
    let (a, b, c) = (d[0], d[1], d[2]);
    let g = merkle::node_hash(&a, &b);
    let h = merkle::node_hash(&c, &d[3]);
    let i = merkle::node_hash(&d[4], &d[5]);
    let j = d[6];
    let k = merkle::node_hash(&g, &h);
    let l = merkle::node_hash(&i, &j);
    // PROOF(3, D[7]) = [c, d, g, l]
    assert_eq!(consistency_proof(&d, 3).unwrap(), vec![c, d[3], g, l]);
    // PROOF(4, D[7]) = [l]
    assert_eq!(consistency_proof(&d, 4).unwrap(), vec![l]);
    // PROOF(6, D[7]) = [i, j, k]
    assert_eq!(consistency_proof(&d, 6).unwrap(), vec![i, j, k]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Proofs made from a leaf list verify against `merkle::root` of both
    /// trees, for trees far past the exhaustive range.
    #[test]
    fn consistency_and_inclusion_against_merkle_root(n in 1usize..600, m_frac in 0.0f64..=1.0, i_frac in 0.0f64..1.0) {
        let l = leaves(n);
        let m = ((n as f64) * m_frac) as usize;
        let new_root = root(&l);
        let old_root = root(&l[..m]);
        let p = consistency_proof(&l, m as u64).unwrap();
        prop_assert!(p.len() <= fairdraw_engine::log::MAX_CONSISTENCY_HASHES);
        prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &p).is_ok());
        if 0 < m && m < n {
            prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &root(&l[..n - 1]), &p).is_err());
        }
        let i = ((n as f64) * i_frac) as u64;
        let path = merkle::inclusion_proof(&l, i).unwrap().path;
        prop_assert!(verify_inclusion(&l[i as usize], i, n as u64, &path, &new_root).is_ok());
        prop_assert!(verify_inclusion(&leaf_hash(b"x"), i, n as u64, &path, &new_root).is_err());
    }

    /// Arbitrary bytes never panic the parsers.
    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Note::parse(&bytes);
        let _ = LogProof::parse(&bytes);
        let _ = TrustPolicy::from_json(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = Checkpoint::parse(s);
            let _ = VerifierKey::parse(s);
            let _ = parse_cosignature_message(s);
        }
    }

    /// A valid log proof with a few bytes changed never panics, and is
    /// either refused or still says the same thing.
    #[test]
    fn damaged_log_proof(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let (leaf, p) = log_proof(9, 4);
        let mut bytes = p.to_text().into_bytes();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(q) = LogProof::parse(&bytes)
            && let Ok(ev) = verify_log_proof(&policy(2), &leaf, &q)
        {
            prop_assert_eq!(ev.index, 4);
            prop_assert_eq!(ev.tree_size, 9);
        }
    }
}

// ---------------------------------------------------------------------------
// Frozen vectors (engine/tests/vectors/log/README.md).

fn check_frozen(name: &str, got: &str) {
    let path = format!("{}/tests/vectors/log/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap();
    if want != got {
        let line = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{name} differs from the frozen vector at line {}:\n  frozen: {}\n  now:    {}\n(BLESS=1 only for a deliberate format change)",
            line + 1,
            want.lines().nth(line).unwrap_or(""),
            got.lines().nth(line).unwrap_or("")
        );
    }
}

#[test]
fn frozen_vectors() {
    let l = leaves(7);
    let signed = signed_checkpoint(&l);
    let cosigned = cosigned_checkpoint(&l);
    let path = merkle::inclusion_proof(&l, 3).unwrap().path;
    let proof = LogProof::new(3, path, cosigned.clone());
    check_frozen("checkpoint.signed.note", &signed.to_text());
    check_frozen("checkpoint.cosigned.note", &cosigned.to_text());
    check_frozen("leaf3.tlog-proof", &proof.to_text());
    check_frozen("policy.json", &format!("{}\n", policy(2).to_json()));

    // And they verify as read from disk, independently of how they were made.
    let dir = format!("{}/tests/vectors/log", env!("CARGO_MANIFEST_DIR"));
    let pol =
        TrustPolicy::from_json(&std::fs::read(format!("{dir}/policy.json")).unwrap()).unwrap();
    let p = LogProof::parse(&std::fs::read(format!("{dir}/leaf3.tlog-proof")).unwrap()).unwrap();
    let ev = verify_log_proof(&pol, &leaf_hash(b"fairdraw log vector leaf 3"), &p).unwrap();
    assert_eq!((ev.index, ev.tree_size), (3, 7));
    assert_eq!(ev.witnessed_at.unwrap().unix(), (T0 + 2) as i64);
    let n = Note::parse(&std::fs::read(format!("{dir}/checkpoint.signed.note")).unwrap()).unwrap();
    let c = verify_checkpoint(&n, &pol.log).unwrap();
    assert_eq!(c.root, root(&l));
}

/// Entry bundles (C2SP tlog-tiles): lengths, a cut-short bundle, a wrong
/// count; tile paths, full and partial.
#[test]
fn monitor_reads_entry_bundles_and_tile_paths() {
    use fairdraw_engine::log::monitor::{entry_bundle_path, parse_entry_bundle};
    let bundle = [&[0u8, 2, b'h', b'i'][..], &[0, 0], &[0, 1, b'x']].concat();
    assert_eq!(
        parse_entry_bundle(&bundle, 3).unwrap(),
        [&b"hi"[..], b"", b"x"]
    );
    for (bytes, expected, needle) in [
        (&bundle[..], 2, "3 entries where 2 were expected"),
        (&bundle[..5], 3, "a length cut short"),
        (&bundle[..3], 1, "an entry of 2 bytes with 1 left"),
    ] {
        let err = parse_entry_bundle(bytes, expected).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
    assert_eq!(entry_bundle_path(0, 256), "tile/entries/000");
    assert_eq!(entry_bundle_path(0, 10), "tile/entries/000.p/10");
    assert_eq!(
        entry_bundle_path(1000, 256_001 + 255),
        "tile/entries/x001/000"
    );
    assert_eq!(
        entry_bundle_path(1000, 256_010),
        "tile/entries/x001/000.p/10"
    );
}

/// Draw sequence numbers in the log: a number never logged is a gap, one
/// number on two draws is reused; entries without numbers are not judged.
#[test]
fn monitor_finds_sequence_gaps_and_reuse() {
    use fairdraw_engine::log::entry::{EntryType, LogEntry};
    use fairdraw_engine::log::monitor::{Finding, analyse};
    let lock = |key: u8, draw: &str, n: Option<u64>| LogEntry {
        r#type: EntryType::Lock,
        draw_id: draw.into(),
        key_id: Hash32([key; 32]),
        hash: Hash32([n.unwrap_or(0) as u8; 32]),
        sequence: n,
    };
    let report = analyse(&[
        lock(1, "a", Some(1)),
        lock(1, "b", Some(2)),
        lock(1, "e", Some(5)),
        lock(1, "f", Some(5)),
        lock(2, "x", Some(1)),
        lock(2, "old", None),
    ]);
    assert_eq!(
        report.findings,
        [
            Finding::SequenceGap {
                key_id: Hash32([1; 32]),
                missing: vec![3, 4]
            },
            Finding::SequenceReused {
                key_id: Hash32([1; 32]),
                sequence: 5,
                draw_ids: vec!["e".into(), "f".into()]
            },
        ]
    );
    // The number is in the entry's bytes (and so in its leaf hash).
    let bytes = lock(1, "a", Some(1)).to_bytes();
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .contains(r#""sequence":1"#)
    );
}
