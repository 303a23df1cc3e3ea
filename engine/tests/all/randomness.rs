//! Randomness: drand beacons, commit-reveal and RFC 3797 against fixture files
//! (engine/tests/vectors/{drand_beacons,rfc3797,commit_reveal}.json).

// A panic is how a test fails.
#![allow(clippy::unwrap_used)]

use fairdraw_engine::encoding::{Hash32, HexBytes, parse_hex, sha256};
use fairdraw_engine::randomness::drand::{self, Beacon};
use fairdraw_engine::randomness::rfc3797::{self, Rfc3797Picker, SourceShape};
use fairdraw_engine::randomness::{Declared, Material, RandomnessError, Realised, commit_reveal};
use fairdraw_engine::time::Timestamp;
use serde_json::{Value, json};

const DRAND: &str = include_str!("../vectors/drand_beacons.json");
const RFC3797: &str = include_str!("../vectors/rfc3797.json");
const COMMIT_REVEAL: &str = include_str!("../vectors/commit_reveal.json");

fn json_file(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|n| n.as_u64().expect("u64"))
        .collect()
}

fn hex(v: &Value) -> Vec<u8> {
    parse_hex(v.as_str().expect("hex string")).expect("lowercase hex")
}

// ---------------------------------------------------------------- RFC 3797

#[test]
fn rfc3797_section_6_example() {
    let v = json_file(RFC3797);
    let sources = strings(&v["sources_as_given"]);
    let key = rfc3797::key_string(&sources).unwrap();
    assert_eq!(key, v["key_string"].as_str().unwrap());

    let pool = v["pool_size"].as_u64().unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 16);
    let mut picker = Rfc3797Picker::new(&key);
    for (i, row) in rows.iter().enumerate() {
        let value = picker.next_value().unwrap();
        assert_eq!(
            format!("{value:032X}"),
            row["md5"].as_str().unwrap(),
            "row {}",
            i + 1
        );
        assert_eq!(row["div"].as_u64().unwrap(), pool - i as u64);
    }

    let (key2, all) = rfc3797::select(pool, 16, &sources).unwrap();
    assert_eq!(key2, key);
    let expected: Vec<u64> = rows
        .iter()
        .map(|r| r["selected"].as_u64().unwrap())
        .collect();
    assert_eq!(all, expected);

    // The first ten and the 11th alternate, as the RFC lists them; a shorter
    // selection is a prefix of a longer one.
    let (_, eleven) = rfc3797::select(pool, 11, &sources).unwrap();
    assert_eq!(eleven[..10], u64s(&v["selected_first_10"])[..]);
    assert_eq!(eleven[10], v["alternate_11th"].as_u64().unwrap());

    let names = strings(&v["names"]);
    for row in rows {
        let pos = row["selected"].as_u64().unwrap() as usize;
        assert_eq!(names[pos - 1], row["name"].as_str().unwrap());
    }
}

#[test]
fn rfc3797_nomcom_2012() {
    let v = &json_file(RFC3797)["second_vector_nomcom_2012"];
    let sources = strings(&v["sources_as_given"]);
    let (key, selected) = rfc3797::select(v["pool_size"].as_u64().unwrap(), 12, &sources).unwrap();
    assert_eq!(key, v["key_string"].as_str().unwrap());
    assert_eq!(selected, u64s(&v["selected"]));
    let first = Rfc3797Picker::new(&key).next_value().unwrap();
    assert_eq!(format!("{first:032X}"), v["first_md5"].as_str().unwrap());
}

#[test]
fn rfc3797_key_canonicalisation() {
    let key = |v: &[&str]| rfc3797::key_string(v);
    // Leading zeros go, zero stays, duplicates stay, extra white space is ignored.
    assert_eq!(key(&[" 007  10\t0 00 7 "]).unwrap(), "0.0.7.7.10./");
    // Numbers far beyond u128 sort by value.
    let big = "123456789012345678901234567890123456789012345678901234567890";
    assert_eq!(
        key(&[&format!("{big} 99 {big}1")]).unwrap(),
        format!("99.{big}.{big}1./")
    );
    // Text: accents, white space and punctuation removed, letters upper-cased.
    assert_eq!(
        key(&["W 4-1", "Café au lait!", "12"]).unwrap(),
        "W41./CAFEAULAIT./12./"
    );
    assert_eq!(key(&["élan – vital"]).unwrap(), "ELANVITAL./");
}

#[test]
fn rfc3797_key_refuses_bad_sources() {
    let bad = |v: &[&str], source: usize| match rfc3797::key_string(v) {
        Err(RandomnessError::BadSource { source_number, .. }) => assert_eq!(source_number, source),
        other => panic!("{v:?}: expected BadSource, got {other:?}"),
    };
    assert_eq!(
        rfc3797::key_string(&[] as &[&str]),
        Err(RandomnessError::NoSources)
    );
    bad(&["1", ""], 2);
    bad(&["  \t "], 1);
    bad(&["3.14"], 1);
    bad(&["-5"], 1);
    bad(&["1,234"], 1);
    bad(&["---"], 1);
    bad(&["12", "Москва"], 2);
    let msg = rfc3797::key_string(&["1", "3.14"]).unwrap_err().to_string();
    assert!(
        msg.contains("#2") && msg.contains("3.14") && msg.contains("whole numbers"),
        "{msg}"
    );
}

#[test]
fn rfc3797_picker_limits() {
    let mut p = Rfc3797Picker::new("1./");
    assert!(matches!(
        p.pick(0),
        Err(RandomnessError::BadSelection { .. })
    ));
    // pick(0) used no index: the first value is still index 0.
    let mut fresh = Rfc3797Picker::new("1./");
    assert_eq!(p.next_value().unwrap(), fresh.next_value().unwrap());
    for _ in 1..65536 {
        p.next_value().unwrap();
    }
    assert_eq!(p.next_value(), Err(RandomnessError::IndexExhausted));
    assert_eq!(p.pick(5), Err(RandomnessError::IndexExhausted));
}

#[test]
fn rfc3797_select_errors() {
    let src = ["1 2 3"];
    for (pool, count) in [(0, 0), (3, 4), (100_000, 65_537)] {
        assert!(
            matches!(
                rfc3797::select(pool, count, &src),
                Err(RandomnessError::BadSelection { .. })
            ),
            "{pool} {count}"
        );
    }
    assert_eq!(rfc3797::select(3, 0, &src).unwrap().1, Vec::<u64>::new());
    let (_, all) = rfc3797::select(5, 5, &src).unwrap();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, [1, 2, 3, 4, 5]);
    // A huge pool needs no memory per position.
    let (_, picked) = rfc3797::select(u64::MAX, 3, &src).unwrap();
    assert_eq!(picked.len(), 3);
}

// ---------------------------------------------------------------- drand

/// One beacon of the fixture.
struct FixtureBeacon {
    chain: &'static drand::Chain,
    round: u64,
    signature: Vec<u8>,
    previous_signature: Option<Vec<u8>>,
    randomness: Hash32,
}

/// Every beacon in the fixture.
fn beacons() -> Vec<FixtureBeacon> {
    let v = json_file(DRAND);
    let mut out = Vec::new();
    for name in ["default", "quicknet"] {
        let chain = drand::chain(name).unwrap();
        for b in v["chains"][name]["beacons"].as_array().unwrap() {
            let prev = match &b["previous_signature"] {
                Value::Null => None,
                p => Some(hex(p)),
            };
            let randomness = Hash32::from_hex(b["randomness"].as_str().unwrap()).unwrap();
            out.push(FixtureBeacon {
                chain,
                round: b["round"].as_u64().unwrap(),
                signature: hex(&b["signature"]),
                previous_signature: prev,
                randomness,
            });
        }
    }
    assert_eq!(out.len(), 6);
    out
}

fn beacon(chain: &str, round: u64) -> (Vec<u8>, Option<Vec<u8>>, Hash32) {
    let b = beacons()
        .into_iter()
        .find(|b| b.chain.name == chain && b.round == round)
        .expect("beacon in fixture");
    (b.signature, b.previous_signature, b.randomness)
}

#[test]
fn built_in_chains_match_the_fixture() {
    let v = json_file(DRAND);
    assert_eq!(drand::chains().len(), 2);
    for name in ["default", "quicknet"] {
        let info = &v["chains"][name]["info_v1"];
        let c = drand::chain(name).unwrap();
        assert_eq!(c.name, info["metadata"]["beaconID"].as_str().unwrap());
        assert_eq!(c.public_key, hex(&info["public_key"]).as_slice());
        assert_eq!(c.chain_hash.to_hex(), info["hash"].as_str().unwrap());
        assert_eq!(c.group_hash.to_hex(), info["groupHash"].as_str().unwrap());
        assert_eq!(c.scheme, info["schemeID"].as_str().unwrap());
        assert_eq!(c.period, info["period"].as_u64().unwrap());
        assert_eq!(c.genesis_time, info["genesis_time"].as_i64().unwrap());
    }
    assert!(drand::chain("fastnet").is_none());
}

#[test]
fn every_real_beacon_verifies() {
    for FixtureBeacon {
        chain,
        round,
        signature: sig,
        previous_signature: prev,
        randomness,
    } in beacons()
    {
        assert_eq!(sha256(&sig), randomness, "{} {round}", chain.name);
        if chain.name == "default" && prev.is_none() {
            // Round 1337: the source gives no previous_signature, so only
            // randomness == sha256(signature) can be checked.
            assert_eq!(round, 1337);
            assert_eq!(
                chain.verify_beacon(round, &sig, None),
                Err(RandomnessError::PreviousSignatureMissing {
                    chain: "default",
                    round
                })
            );
            continue;
        }
        assert_eq!(
            chain.verify_beacon(round, &sig, prev.as_deref()),
            Ok(randomness)
        );

        // The same beacon as a v1 relay response, and as a v2 one (no randomness).
        let mut v1 = json!({
            "round": round,
            "randomness": randomness.to_hex(),
            "signature": hex::encode(&sig),
        });
        if let Some(p) = &prev {
            v1["previous_signature"] = json!(hex::encode(p));
        }
        let mut v2 = v1.clone();
        v2.as_object_mut().unwrap().remove("randomness");
        for body in [v1, v2] {
            let b = drand::parse_relay_json(body.to_string().as_bytes()).unwrap();
            let realised = b.realise(chain).unwrap();
            let declared = chain.declare(round);
            let locked_at = chain.round_time(round - 1);
            assert_eq!(
                declared.verify(&realised, locked_at),
                Ok(Material::Seed(randomness.0.to_vec()))
            );
        }
    }
}

#[test]
fn quicknet_v2_relay_response() {
    // Verbatim shape of `GET /v2/beacons/quicknet/rounds/42`.
    let body = br#"{"round":42,"signature":"95a9f9f5b231b7714de1553105d8ffdf3dcda24cfdb1e689319bccf79a9c8ce430a91b811fbfaf763900bc998b5d686a"}"#;
    let b = drand::parse_relay_json(body).unwrap();
    assert_eq!(
        (b.round, b.randomness, b.previous_signature.clone()),
        (42, None, None)
    );
    let quicknet = drand::chain("quicknet").unwrap();
    let Realised::Drand {
        randomness,
        previous_signature,
        ..
    } = b.realise(quicknet).unwrap()
    else {
        panic!("drand")
    };
    assert_eq!(
        randomness.to_hex(),
        "8ada64bae5c6c0f5540a6a13af56e663240edfbd2c76ac6a8f27671eb7259ce3"
    );
    assert_eq!(previous_signature, None);
}

#[test]
fn relay_json_parsing() {
    let sig = "95a9f9f5b231b7714de1553105d8ffdf3dcda24cfdb1e689319bccf79a9c8ce430a91b811fbfaf763900bc998b5d686a";
    let parse = |s: String| drand::parse_relay_json(s.as_bytes());
    // Unknown fields are ignored; null or empty previous_signature is absent.
    let b = parse(format!(
        r#"{{"round":42,"signature":"{sig}","metadata":{{"x":1}},"previous_signature":null}}"#
    ))
    .unwrap();
    assert_eq!(b.previous_signature, None);
    let b = parse(format!(
        r#"{{"round":42,"signature":"{sig}","previous_signature":""}}"#
    ))
    .unwrap();
    assert_eq!(b.previous_signature, None);
    for bad in [
        format!(r#"{{"round":0,"signature":"{sig}"}}"#),
        format!(r#"{{"round":42,"signature":"{}"}}"#, sig.to_uppercase()),
        format!(r#"{{"round":42,"signature":"{sig}","round":43}}"#),
        format!(r#"{{"round":42,"randomness":"abcd","signature":"{sig}"}}"#),
        format!(r#"{{"round":-1,"signature":"{sig}"}}"#),
        r#"{"round":42}"#.to_owned(),
        "Requested future beacon".to_owned(),
    ] {
        assert!(parse(bad.clone()).is_err(), "{bad}");
    }
    assert_eq!(
        parse(format!(r#"{{"round":0,"signature":"{sig}"}}"#)),
        Err(RandomnessError::RoundZero)
    );
}

#[test]
fn tampered_beacons_are_refused() {
    let default = drand::chain("default").unwrap();
    let quicknet = drand::chain("quicknet").unwrap();
    let (sig, prev, randomness) = beacon("default", 72785);
    let prev = prev.unwrap();
    let (qsig, _, _) = beacon("quicknet", 123);
    let bad_sig = |r: Result<Hash32, RandomnessError>| {
        assert!(
            matches!(r, Err(RandomnessError::BadSignature { .. })),
            "{r:?}"
        )
    };

    // A flipped bit, in the signature or the previous signature.
    for i in [0usize, 5, 47, 95] {
        let mut s = sig.clone();
        s[i] ^= 0x01;
        bad_sig(default.verify_beacon(72785, &s, Some(&prev)));
        let mut p = prev.clone();
        p[i] ^= 0x80;
        bad_sig(default.verify_beacon(72785, &sig, Some(&p)));
    }
    for i in [0usize, 20, 47] {
        let mut s = qsig.clone();
        s[i] ^= 0x01;
        bad_sig(quicknet.verify_beacon(123, &s, None));
    }
    // The wrong round.
    bad_sig(default.verify_beacon(72786, &sig, Some(&prev)));
    bad_sig(quicknet.verify_beacon(124, &qsig, None));
    // Another beacon's previous signature.
    let (_, other_prev, _) = beacon("default", 2634945);
    bad_sig(default.verify_beacon(72785, &sig, other_prev.as_deref()));
    // A beacon of the other chain.
    let e = quicknet.verify_beacon(72785, &sig, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "beacon signature is 96 bytes but quicknet signatures are 48 bytes (is this a beacon from the default chain?)"
    );
    assert!(matches!(
        default.verify_beacon(123, &qsig, Some(&prev)),
        Err(RandomnessError::SignatureLength {
            found: 48,
            expected: 96,
            ..
        })
    ));
    assert_eq!(
        quicknet.verify_beacon(123, &qsig, Some(&prev)),
        Err(RandomnessError::PreviousSignatureUnexpected { chain: "quicknet" })
    );
    assert!(matches!(
        default.verify_beacon(72785, &sig, Some(&prev[..32])),
        Err(RandomnessError::PreviousSignatureLength {
            found: 32,
            expected: 96,
            ..
        })
    ));
    assert_eq!(
        default.verify_beacon(0, &sig, Some(&prev)),
        Err(RandomnessError::RoundZero)
    );
    // A relay stating randomness that is not sha256(signature).
    let mut wrong = randomness;
    wrong.0[31] ^= 1;
    let b = Beacon {
        round: 72785,
        signature: sig.clone(),
        previous_signature: Some(prev.clone()),
        randomness: Some(wrong),
    };
    assert_eq!(
        b.realise(default),
        Err(RandomnessError::RandomnessMismatch {
            expected: randomness,
            found: wrong
        })
    );
}

#[test]
fn round_times() {
    let quicknet = drand::chain("quicknet").unwrap();
    let default = drand::chain("default").unwrap();
    assert_eq!(quicknet.round_time(1).unix(), 1_692_803_367);
    assert_eq!(quicknet.round_time(123).to_string(), "2023-08-23T15:15:33Z");
    assert_eq!(default.round_time(1).to_string(), "2020-07-22T15:17:30Z");
    assert_eq!(default.round_time(72785).unix(), 1_595_431_050 + 72784 * 30);
    assert_eq!(quicknet.round_time(u64::MAX).unix(), i64::MAX);

    let g = quicknet.genesis_time;
    let at = |t: i64| quicknet.first_round_at_or_after(Timestamp::from_unix(t));
    assert_eq!(
        [at(0), at(g - 1), at(g), at(g + 1), at(g + 3), at(g + 4)],
        [1, 1, 1, 2, 2, 3]
    );
    assert_eq!(at(quicknet.round_time(123).unix()), 123);
    assert_eq!(quicknet.first_round_after(quicknet.round_time(123)), 124);
    assert_eq!(quicknet.first_round_after(Timestamp::from_unix(g + 2)), 2);
    let dt = |t: i64| default.first_round_at_or_after(Timestamp::from_unix(t));
    let t = default.round_time(2_634_945).unix();
    assert_eq!(
        [dt(t - 30), dt(t - 29), dt(t), dt(t + 1)],
        [2_634_944, 2_634_945, 2_634_945, 2_634_946]
    );
}

#[test]
fn declared_drand_verify_paths() {
    let quicknet = drand::chain("quicknet").unwrap();
    let default = drand::chain("default").unwrap();
    let (qsig, _, qrand) = beacon("quicknet", 123);
    let realised = Realised::Drand {
        chain: "quicknet".into(),
        round: 123,
        signature: HexBytes(qsig.clone()),
        previous_signature: None,
        randomness: qrand,
    };
    let declared = quicknet.declare(123);
    let round_time = quicknet.round_time(123);
    let just_before = Timestamp::from_unix(round_time.unix() - 1);
    assert_eq!(
        declared.verify(&realised, just_before),
        Ok(Material::Seed(qrand.0.to_vec()))
    );
    assert_eq!(
        declared.describe(),
        "drand quicknet round 123 (at 2023-08-23T15:15:33Z)"
    );

    // The round was due at (or before) the lock.
    for locked_at in [round_time, Timestamp::from_unix(round_time.unix() + 3600)] {
        assert_eq!(
            declared.verify(&realised, locked_at),
            Err(RandomnessError::RoundNotAfterLock {
                round: 123,
                round_time,
                locked_at
            })
        );
    }
    let other = |d: Declared| d.verify(&realised, just_before).unwrap_err();
    assert!(matches!(
        other(default.declare(123)),
        RandomnessError::ChainMismatch { .. }
    ));
    assert!(matches!(
        other(quicknet.declare(122)),
        RandomnessError::RoundMismatch {
            declared: 122,
            realised: 123
        }
    ));
    assert_eq!(other(quicknet.declare(0)), RandomnessError::RoundZero);
    let Declared::Drand { chain_hash, .. } = default.declare(1) else {
        panic!()
    };
    assert!(matches!(
        other(Declared::Drand {
            chain: "quicknet".into(),
            chain_hash,
            round: 123
        }),
        RandomnessError::ChainHashMismatch { .. }
    ));
    assert_eq!(
        other(Declared::Drand {
            chain: "fastnet".into(),
            chain_hash,
            round: 123
        }),
        RandomnessError::UnknownChain("fastnet".into())
    );
    assert!(matches!(
        other(commit_reveal::declare(&[0; 32]).unwrap()),
        RandomnessError::KindMismatch {
            declared: "commit_reveal",
            realised: "drand"
        }
    ));

    // A receipt whose randomness field was edited.
    let Realised::Drand {
        chain,
        round,
        signature,
        previous_signature,
        mut randomness,
    } = realised.clone()
    else {
        panic!()
    };
    randomness.0[0] ^= 1;
    let edited = Realised::Drand {
        chain,
        round,
        signature,
        previous_signature,
        randomness,
    };
    assert!(matches!(
        declared.verify(&edited, just_before),
        Err(RandomnessError::RandomnessMismatch { .. })
    ));

    // A receipt whose signature was edited.
    let mut sig = qsig.clone();
    sig[10] ^= 4;
    let edited = Realised::Drand {
        chain: "quicknet".into(),
        round: 123,
        signature: HexBytes(sig),
        previous_signature: None,
        randomness: qrand,
    };
    assert!(matches!(
        declared.verify(&edited, just_before),
        Err(RandomnessError::BadSignature { .. })
    ));
}

// ---------------------------------------------------------------- commit-reveal

#[test]
fn commit_reveal_frozen_vectors() {
    let v = json_file(COMMIT_REVEAL);
    assert_eq!(v["domain"], commit_reveal::DOMAIN);
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let secret = hex(&case["secret"]);
        assert_eq!(
            commit_reveal::commitment(&secret).to_hex(),
            case["commitment"].as_str().unwrap()
        );
    }
}

#[test]
fn commit_reveal_paths() {
    let secret = [0x42u8; 32];
    let declared = commit_reveal::declare(&secret).unwrap();
    let reveal = |s: &[u8]| Realised::CommitReveal {
        secret: HexBytes(s.to_vec()),
    };
    let t = Timestamp::from_unix(0);
    assert_eq!(
        declared.verify(&reveal(&secret), t),
        Ok(Material::Seed(secret.to_vec()))
    );
    assert!(matches!(
        declared.verify(&reveal(&[0x43; 32]), t),
        Err(RandomnessError::CommitmentMismatch { .. })
    ));
    assert_eq!(
        declared.verify(&reveal(&secret[..31]), t),
        Err(RandomnessError::SecretLength(31))
    );
    assert_eq!(
        commit_reveal::declare(&[0; 33]),
        Err(RandomnessError::SecretLength(33))
    );
    assert!(matches!(
        declared.verify(
            &Realised::Rfc3797 {
                values: vec!["1".into()]
            },
            t
        ),
        Err(RandomnessError::KindMismatch {
            declared: "commit_reveal",
            realised: "rfc3797"
        })
    ));
    assert!(
        declared
            .describe()
            .starts_with("commit-reveal (commitment ")
    );
}

#[test]
fn rfc3797_declared_verify() {
    let declared = Declared::Rfc3797 {
        sources: "Euromillions of 2026-12-04, all balls".into(),
        shapes: Vec::new(),
    };
    let values = |v: &[&str]| Realised::Rfc3797 {
        values: v.iter().map(|s| s.to_string()).collect(),
    };
    let t = Timestamp::from_unix(0);
    assert_eq!(
        declared.verify(&values(&["9319", "2 5 12 8 10", "9 18 26 34 41 45"]), t),
        Ok(Material::Rfc3797Key(
            "9319./2.5.8.10.12./9.18.26.34.41.45./".into()
        ))
    );
    assert_eq!(
        declared.verify(&values(&[]), t),
        Err(RandomnessError::NoSources)
    );
    assert!(matches!(
        declared.verify(&values(&["1.5"]), t),
        Err(RandomnessError::BadSource { .. })
    ));
    assert_eq!(
        declared.describe(),
        "RFC 3797 public sources: Euromillions of 2026-12-04, all balls"
    );
}

/// Protocol 2: the lock fixes each source's count and range, so one
/// spelling of a lottery result is valid; protocol 1 declarations have none.
#[test]
fn rfc3797_shapes_fix_one_spelling() {
    let shapes: Vec<SourceShape> = ["EuroMillions 2026-12-08 main=5x1-50", "stars=2x1-12"]
        .iter()
        .map(|s| SourceShape::parse(s).unwrap())
        .collect();
    let declared = Declared::Rfc3797 {
        sources: "EuroMillions of 2026-12-08".into(),
        shapes: shapes.clone(),
    };
    let values = |v: &[&str]| Realised::Rfc3797 {
        values: v.iter().map(|s| s.to_string()).collect(),
    };
    let t = Timestamp::from_unix(0);
    assert!(
        declared
            .verify(&values(&["3 14 27 38 50", "2 11"]), t)
            .is_ok()
    );
    // Leading zeros and order are spelling the canonical key removes.
    assert_eq!(
        declared.verify(&values(&["50 38 27 14 03", "11 02"]), t),
        declared.verify(&values(&["3 14 27 38 50", "2 11"]), t)
    );
    for (bad, needle) in [
        (
            &["3 14 27 38 50 2 11"][..],
            "the lock fixed 2 RFC 3797 sources, 1 values",
        ),
        (
            &["3 14 27 38 50 7", "2 11"],
            "the lock fixed 5 numbers, the value has 6",
        ),
        (
            &["3 14 27 38 51", "2 11"],
            "51 is outside the fixed range 1 to 50",
        ),
        (
            &["3 14 27 38 50", "2 eleven"],
            "\"eleven\" is not a whole number",
        ),
        (
            &["3 14 27 38 50", "2 99999999999999999999"],
            "outside the fixed range 1 to 12",
        ),
    ] {
        let err = declared.verify(&values(bad), t).unwrap_err().to_string();
        assert!(err.contains(needle), "{bad:?}: {err}");
    }
    declared.check_for(2).unwrap();
    assert!(
        declared
            .check_for(1)
            .unwrap_err()
            .to_string()
            .contains("need protocol 2")
    );
    let free_form = Declared::Rfc3797 {
        sources: "EuroMillions of 2026-12-08".into(),
        shapes: Vec::new(),
    };
    free_form.check_for(1).unwrap();
    assert!(
        free_form
            .check_for(2)
            .unwrap_err()
            .to_string()
            .contains("exactly one spelling")
    );
    for (spec, needle) in [
        ("main", "NAME=COUNTxMIN-MAX"),
        ("main=0x1-5", "1 to 100 numbers, not 0"),
        ("main=2x9-5", "minimum 9 is above the maximum 5"),
        ("main=2x1-9007199254740992", "at most 2^53 - 1"),
        ("=2x1-5", "needs a name"),
        ("m\u{200B}ain=2x1-5", "U+200B"),
    ] {
        let err = SourceShape::parse(spec).unwrap_err();
        assert!(err.contains(needle), "{spec}: {err}");
    }
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_shape_and_round_trip() {
    let quicknet = drand::chain("quicknet").unwrap();
    let declared = quicknet.declare(123);
    assert_eq!(
        serde_json::to_value(&declared).unwrap(),
        json!({"kind": "drand", "chain": "quicknet", "chain_hash": quicknet.chain_hash.to_hex(), "round": 123})
    );
    let (qsig, _, qrand) = beacon("quicknet", 123);
    let (sig, prev, rand) = beacon("default", 72785);
    let realised_q = Realised::Drand {
        chain: "quicknet".into(),
        round: 123,
        signature: HexBytes(qsig),
        previous_signature: None,
        randomness: qrand,
    };
    let j = serde_json::to_value(&realised_q).unwrap();
    assert!(
        j.get("previous_signature").is_none(),
        "omitted when absent: {j}"
    );
    let realised_d = Realised::Drand {
        chain: "default".into(),
        round: 72785,
        signature: HexBytes(sig),
        previous_signature: prev.map(HexBytes),
        randomness: rand,
    };

    let declared_all = [
        declared,
        drand::chain("default").unwrap().declare(5),
        commit_reveal::declare(&[1; 32]).unwrap(),
        Declared::Rfc3797 {
            sources: "x".into(),
            shapes: Vec::new(),
        },
        Declared::Rfc3797 {
            sources: "y".into(),
            shapes: vec![SourceShape::parse("y=2x1-9").unwrap()],
        },
    ];
    for d in &declared_all {
        let s = serde_json::to_string(d).unwrap();
        assert_eq!(&serde_json::from_str::<Declared>(&s).unwrap(), d, "{s}");
    }
    assert_eq!(
        serde_json::to_value(&declared_all[2]).unwrap()["kind"],
        "commit_reveal"
    );
    assert_eq!(
        serde_json::to_value(&declared_all[3]).unwrap()["kind"],
        "rfc3797"
    );
    let realised_all = [
        realised_q,
        realised_d,
        Realised::CommitReveal {
            secret: HexBytes(vec![1; 32]),
        },
        Realised::Rfc3797 {
            values: vec!["1 2".into(), "W".into()],
        },
    ];
    for r in &realised_all {
        let s = serde_json::to_string(r).unwrap();
        assert_eq!(&serde_json::from_str::<Realised>(&s).unwrap(), r, "{s}");
    }
}

#[test]
fn json_refuses_unknown_fields_and_kinds() {
    let declared = [
        json!({"kind": "drand", "chain": "quicknet", "chain_hash": "00".repeat(32), "round": 1}),
        json!({"kind": "commit_reveal", "commitment": "00".repeat(32)}),
        json!({"kind": "rfc3797", "sources": "x"}),
    ];
    for d in declared {
        serde_json::from_value::<Declared>(d.clone()).unwrap();
        let mut extra = d.clone();
        extra["public_key"] = json!("00");
        let e = serde_json::from_value::<Declared>(extra)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
    }
    let realised = [
        json!({"kind": "drand", "chain": "quicknet", "round": 1, "signature": "00", "randomness": "00".repeat(32)}),
        json!({"kind": "drand", "chain": "default", "round": 1, "signature": "00", "previous_signature": "00", "randomness": "00".repeat(32)}),
        json!({"kind": "commit_reveal", "secret": "00"}),
        json!({"kind": "rfc3797", "values": ["1"]}),
    ];
    for r in realised {
        serde_json::from_value::<Realised>(r.clone()).unwrap();
        let mut extra = r.clone();
        extra["note"] = json!("hi");
        let e = serde_json::from_value::<Realised>(extra)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
    }
    for bad in [
        json!({"kind": "coin_flip"}),
        json!({"chain": "quicknet", "chain_hash": "00".repeat(32), "round": 1}),
        json!({"kind": "Drand", "chain": "quicknet", "chain_hash": "00".repeat(32), "round": 1}),
        json!({"kind": "commit_reveal", "commitment": "AB".repeat(32)}),
    ] {
        assert!(
            serde_json::from_value::<Declared>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}
