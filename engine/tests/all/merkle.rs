//! RFC 6962 known-answer vectors (engine/tests/vectors/merkle_rfc6962.json).

use fairdraw_engine::encoding::{Hash32, parse_hex};
use fairdraw_engine::merkle::{inclusion_proof, leaf_hash, root, verify_inclusion};

#[test]
fn rfc6962_known_roots() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../vectors/merkle_rfc6962.json")).unwrap();
    let leaves: Vec<Hash32> = v["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| leaf_hash(&parse_hex(l.as_str().unwrap()).unwrap()))
        .collect();
    for (i, want) in v["roots"].as_array().unwrap().iter().enumerate() {
        let got = root(&leaves[..=i]);
        assert_eq!(
            got.to_hex(),
            want.as_str().unwrap(),
            "root of {} leaves",
            i + 1
        );
        for j in 0..=i as u64 {
            let p = inclusion_proof(&leaves[..=i], j).unwrap();
            assert!(verify_inclusion(&leaves[j as usize], &p, &got));
        }
    }
}
