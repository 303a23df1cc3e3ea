//! Frozen whole-draw vectors: the same inputs must give byte-identical
//! bundles in every later engine, for each protocol version it writes or
//! verifies (engine/tests/vectors/draw_v1/, draw_v2/).
//! `BLESS=1` rewrites the expected file; a mismatch prints the first
//! differing line.

use std::collections::BTreeMap;

use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::{LockRequest, execute, lock_as};
use fairdraw_engine::encoding::parse_hex_exact;
use fairdraw_engine::entry::Entry;
use fairdraw_engine::randomness::{Declared, Realised, drand};
use fairdraw_engine::receipt::Signer;
use fairdraw_engine::rules::Rules;
use fairdraw_engine::time::Timestamp;
use fairdraw_engine::verify::{Expectations, Report, verify_bundle, verify_bundle_at_least};
use serde::Deserialize;

#[derive(Deserialize)]
struct Input<'a> {
    #[serde(rename = "_note")]
    _note: String,
    signer_secret: String,
    /// The commit-reveal secret of a `secret_drand` draw.
    #[serde(default)]
    secret: Option<String>,
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

fn check_golden(dir: &str, protocol: u32) -> Report {
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
        sequence: None,
    };
    let locked = lock_as(&request, &signer, protocol).unwrap();
    let lock_json = locked.bundle.to_json();
    let parsed = ParsedBundle::parse(&lock_json).unwrap();
    let Some((chain, _)) = input.randomness.drand_round() else {
        panic!("a drand or secret+drand vector")
    };
    let beacon = drand::parse_relay_json(input.beacon.to_string().as_bytes()).unwrap();
    let realised = beacon.realise(drand::chain(chain).unwrap()).unwrap();
    let realised = match &input.randomness {
        Declared::SecretDrand { .. } => {
            let secret = parse_hex_exact::<32>(input.secret.as_deref().unwrap()).unwrap();
            Realised::secret_drand(&secret, realised).unwrap()
        }
        _ => realised,
    };
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
    let expect = Expectations {
        public_key: Some(signer.public_key()),
        lock_hash: None,
        policy: None,
    };
    let report = verify_bundle(&expected, &expect);
    assert!(report.verified(), "{:#?}", report.first_failure());
    assert_eq!(report.protocol, Some(protocol));
    let strict = verify_bundle_at_least(&expected, &expect, fairdraw_engine::PROTOCOL_VERSION);
    assert_eq!(
        strict.verified(),
        protocol == fairdraw_engine::PROTOCOL_VERSION
    );
    report
}

#[test]
fn draw_v1_drand_default() {
    let report = check_golden("draw_v1", 1);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("protocol 1 bundle") && w.contains("lacks the checks")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn draw_v2_drand_default() {
    let report = check_golden("draw_v2", 2);
    assert!(
        !report
            .warnings
            .iter()
            .any(|w| w.contains("lacks the checks"))
    );
    // Same entries and rules as draw_v1: the same leaves and root.
    let root = |dir: &str| {
        let path = format!(
            "{}/tests/vectors/{dir}/bundle.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        v["lock"]["payload"]["merkle_root"].clone()
    };
    assert_eq!(root("draw_v1"), root("draw_v2"));
}

#[test]
fn draw_v2_secret_drand() {
    let report = check_golden("draw_v2_secret_drand", 2);
    assert_eq!(
        report.randomness_trust,
        Some(fairdraw_engine::randomness::Trust::NoOrganiserTrust)
    );
}
