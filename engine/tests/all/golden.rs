//! Frozen whole-draw vectors: the same inputs must give byte-identical
//! bundles in every version of protocol v1 (engine/tests/vectors/draw_v1/).
//! `BLESS=1` rewrites the expected file; a mismatch prints the first
//! differing line.

use std::collections::BTreeMap;

use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::{LockRequest, execute, lock};
use fairdraw_engine::encoding::parse_hex_exact;
use fairdraw_engine::entry::Entry;
use fairdraw_engine::randomness::{Declared, drand};
use fairdraw_engine::receipt::Signer;
use fairdraw_engine::rules::Rules;
use fairdraw_engine::time::Timestamp;
use fairdraw_engine::verify::{Expectations, verify_bundle};
use serde::Deserialize;

#[derive(Deserialize)]
struct Input<'a> {
    #[serde(rename = "_note")]
    _note: String,
    signer_secret: String,
    draw_id: String,
    title: String,
    rules: Rules,
    #[serde(borrow)]
    collections: BTreeMap<String, Vec<Entry<'a>>>,
    randomness: Declared,
    locked_at: String,
    beacon: serde_json::Value,
    executed_at: String,
}

fn check_golden(dir: &str) {
    let base = format!("{}/tests/vectors/{dir}", env!("CARGO_MANIFEST_DIR"));
    let input_text = std::fs::read_to_string(format!("{base}/input.json")).unwrap();
    let input: Input<'_> = serde_json::from_str(&input_text).unwrap();
    let signer = Signer::from_secret(parse_hex_exact::<32>(&input.signer_secret).unwrap());
    let request = LockRequest {
        draw_id: input.draw_id.clone(),
        title: input.title.clone(),
        rules: input.rules.clone(),
        collections: input.collections,
        randomness: input.randomness.clone(),
        locked_at: Timestamp::parse_canonical(&input.locked_at).unwrap(),
    };
    let locked = lock(&request, &signer).unwrap();
    let lock_json = locked.bundle.to_json();
    let parsed = ParsedBundle::parse(&lock_json).unwrap();
    let Declared::Drand { chain, .. } = &input.randomness else {
        panic!("drand vector")
    };
    let beacon = drand::parse_relay_json(input.beacon.to_string().as_bytes()).unwrap();
    let realised = beacon.realise(drand::chain(chain).unwrap()).unwrap();
    let executed_at = Timestamp::parse_canonical(&input.executed_at).unwrap();
    let bundle = execute(&parsed, realised, executed_at, &signer)
        .unwrap()
        .to_json();

    let expected_path = format!("{base}/bundle.json");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&expected_path, &bundle).unwrap();
    }
    let expected = std::fs::read(&expected_path).unwrap();
    if expected != bundle {
        let (e, g) = (
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(&bundle),
        );
        let line = e
            .lines()
            .zip(g.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{dir}: bundle differs from the frozen vector at line {}:\n  frozen: {}\n  now:    {}\n(run with BLESS=1 only for a deliberate protocol change, which must bump the version)",
            line + 1,
            e.lines().nth(line).unwrap_or(""),
            g.lines().nth(line).unwrap_or("")
        );
    }
    let report = verify_bundle(
        &expected,
        &Expectations {
            public_key: Some(signer.public_key()),
            lock_hash: None,
        },
    );
    assert!(report.verified(), "{:#?}", report.first_failure());
}

#[test]
fn draw_v1_drand_default() {
    check_golden("draw_v1");
}
