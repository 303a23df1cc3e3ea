//! The frozen draws' intermediate values (engine/tests/vectors/draw_v1/
//! intermediate.json), computed by the independent Python reference
//! (scripts/reference/fairdraw_ref.py, written from PROTOCOL.md), checked
//! here against the engine step by step: entry hashes, collection hashes,
//! rule verdicts, leaves, Merkle root, lock payload bytes and hash, seed,
//! stream words and picks. `make test` runs the reference script against
//! the same file, so the golden bundle is no longer the engine's word about
//! itself.

use std::collections::BTreeMap;

use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::eligible_leaf_hash;
use fairdraw_engine::entry::Entry;
use fairdraw_engine::merkle;
use fairdraw_engine::receipt::signed_message;
use fairdraw_engine::rules::Rules;
use fairdraw_engine::rules::evaluate;
use fairdraw_engine::select::{ChaChaPicker, derive_seed};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
struct Input<'a> {
    rules: Rules,
    #[serde(borrow)]
    collections: BTreeMap<String, Vec<Entry<'a>>>,
}

#[derive(Deserialize)]
struct Leaf {
    platform: String,
    user_id: String,
    handle: String,
    tickets: u64,
    leaf_hash: String,
}

#[derive(Deserialize)]
struct Pick {
    leaf_index: u64,
}

#[derive(Deserialize)]
struct Intermediate {
    entries: BTreeMap<String, Vec<String>>,
    collections: BTreeMap<String, serde_json::Value>,
    verdicts: Vec<String>,
    leaves: Vec<Leaf>,
    merkle_root: String,
    lock_payload_jcs: String,
    lock_hash: String,
    seed: String,
    stream_words: Vec<String>,
    picks: Vec<Pick>,
    execution_payload_jcs: String,
    execution_hash: String,
}

fn read(dir: &str, file: &str) -> String {
    let path = format!("{}/tests/vectors/{dir}/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `context || 00 || JCS(payload)` without its context, as UTF-8.
fn payload_jcs(message: &[u8], context: &str) -> String {
    let rest = message
        .strip_prefix(context.as_bytes())
        .and_then(|m| m.strip_prefix(&[0u8]))
        .expect("message starts with its context");
    String::from_utf8(rest.to_vec()).unwrap()
}

fn check_intermediate(dir: &str) {
    let input_text = read(dir, "input.json");
    let input: Input<'_> = serde_json::from_str(&input_text).unwrap();
    let want: Intermediate = serde_json::from_str(&read(dir, "intermediate.json")).unwrap();
    let bundle_text = read(dir, "bundle.json");
    let bundle = ParsedBundle::parse(bundle_text.as_bytes()).unwrap();

    // §4.2, §4.3: entry and collection hashes.
    for (name, entries) in &input.collections {
        let hashes: Vec<String> = entries.iter().map(|e| e.hash().to_string()).collect();
        assert_eq!(hashes, want.entries[name], "{dir}: entry hashes of {name}");
    }
    let committed = serde_json::to_value(&bundle.lock.payload.collections).unwrap();
    assert_eq!(
        committed,
        serde_json::to_value(&want.collections).unwrap(),
        "{dir}: collection commitments"
    );

    // §5.5–5.6: the verdict of every primary entry, and the eligible leaves.
    let (evaluation, exclusions) = evaluate(
        &input.rules,
        bundle.lock.payload.protocol,
        &input.collections,
    )
    .unwrap();
    let mut verdicts = vec!["counted".to_owned(); want.verdicts.len()];
    for (index, x) in &exclusions {
        verdicts[*index as usize] = x.rule().to_owned();
    }
    assert_eq!(verdicts, want.verdicts, "{dir}: rule verdicts");
    assert_eq!(
        evaluation.eligible.len(),
        want.leaves.len(),
        "{dir}: leaves"
    );
    let mut leaves = Vec::new();
    for (got, want) in evaluation.eligible.iter().zip(&want.leaves) {
        assert_eq!(
            (&*got.platform, &*got.user_id, &*got.handle, got.tickets),
            (&*want.platform, &*want.user_id, &*want.handle, want.tickets),
            "{dir}: eligible record"
        );
        let hash = eligible_leaf_hash(got);
        assert_eq!(
            hash.to_string(),
            want.leaf_hash,
            "{dir}: leaf hash of {}",
            want.user_id
        );
        leaves.push(hash);
    }
    assert_eq!(
        merkle::root(&leaves).to_string(),
        want.merkle_root,
        "{dir}: Merkle root"
    );

    // §9.3: the exact payload bytes and the receipt hashes.
    let lock_message = signed_message(&bundle.lock.payload).unwrap();
    assert_eq!(
        payload_jcs(&lock_message, "fairdraw/v1/lock"),
        want.lock_payload_jcs,
        "{dir}: lock payload"
    );
    let lock_hash = bundle.lock.hash().unwrap();
    assert_eq!(lock_hash.to_string(), want.lock_hash, "{dir}: lock hash");
    assert_eq!(hex::encode(Sha256::digest(&lock_message)), want.lock_hash);
    let execution = bundle.execution.as_ref().expect("an executed draw");
    let execution_message = signed_message(&execution.payload).unwrap();
    assert_eq!(
        payload_jcs(&execution_message, "fairdraw/v1/execution"),
        want.execution_payload_jcs,
        "{dir}: execution payload"
    );
    assert_eq!(
        execution.hash().unwrap().to_string(),
        want.execution_hash,
        "{dir}: execution hash"
    );

    // §8.1, §8.2: the seed from the material (the beacon's randomness, after
    // the secret for secret_drand), and the stream's words.
    let randomness = serde_json::to_value(&execution.payload.randomness).unwrap();
    let kind = randomness["kind"].as_str().unwrap();
    let mut material = Vec::new();
    if let Some(secret) = randomness.get("secret") {
        material = hex::decode(secret.as_str().unwrap()).unwrap();
    }
    material.extend(hex::decode(randomness["randomness"].as_str().unwrap()).unwrap());
    let seed = derive_seed(&lock_hash, kind, &material);
    assert_eq!(seed.to_string(), want.seed, "{dir}: seed");
    let mut stream = ChaChaPicker::new(&seed);
    let words: Vec<String> = want
        .stream_words
        .iter()
        .map(|_| stream.next_u64().to_string())
        .collect();
    assert_eq!(words, want.stream_words, "{dir}: stream words");

    // §8.3: the picks, in draw order.
    let picks: Vec<u64> = execution
        .payload
        .winners
        .iter()
        .chain(&execution.payload.alternates)
        .map(|p| p.leaf_index)
        .collect();
    let want_picks: Vec<u64> = want.picks.iter().map(|p| p.leaf_index).collect();
    assert_eq!(picks, want_picks, "{dir}: picks");
}

#[test]
fn draw_v1_intermediate_values_match_the_reference() {
    check_intermediate("draw_v1");
}

#[test]
fn draw_v2_intermediate_values_match_the_reference() {
    check_intermediate("draw_v2");
}

#[test]
fn draw_v2_secret_drand_intermediate_values_match_the_reference() {
    check_intermediate("draw_v2_secret_drand");
}
