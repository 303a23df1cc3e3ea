//! Every kind of bad input: exit 2 and one `error:` line naming the
//! problem (verify failures exit 1). `Run` checks for panics on every run.

use serde_json::json;

use crate::support::{DEMO_BEACON, DEMO_ROUND, EXEC_AT, LOCK_AT, Run, Scratch};

fn lock_with_rules(s: &Scratch, rules: &serde_json::Value) -> Run {
    s.write_json("bad-rules.json", rules);
    s.run(&[
        "lock",
        "--entries",
        "comments.jsonl",
        "likes.csv",
        "--rules",
        "bad-rules.json",
        "--key",
        "key.json",
        "--randomness",
        "secret",
        "--out",
        "lock.json",
    ])
}

/// The demo lock (`key.json`, `lock.json`), ready to execute.
fn demo_lock() -> Scratch {
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo("key.json", DEMO_ROUND, LOCK_AT, "lock.json")
        .success();
    s
}

fn execute_with_beacon(s: &Scratch, beacon: &str) -> Run {
    let run = s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--beacon",
        beacon,
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ]);
    assert!(!s.exists("bundle.json"), "no bundle after a failed execute");
    run
}

#[test]
fn unknown_rule_field() {
    let s = Scratch::new();
    s.keygen("key.json");
    lock_with_rules(&s, &json!({"winners": 1, "max_winners": 2}))
        .error(&["bad-rules.json", "unknown field `max_winners`"]);
}

#[test]
fn zero_winners() {
    let s = Scratch::new();
    s.keygen("key.json");
    lock_with_rules(&s, &json!({"winners": 0})).error(&["winners", "at least 1"]);
}

#[test]
fn more_winners_than_eligible() {
    let s = Scratch::new();
    s.keygen("key.json");
    let mut rules = s.json("rules.json");
    rules["winners"] = json!(14);
    // 14 winners + 2 alternates from 15 eligible entrants.
    lock_with_rules(&s, &rules).error(&["16", "15 eligible"]);
}

#[test]
fn rules_that_are_not_json() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write("bad-rules.json", "winners: 3\n");
    s.run(&[
        "lock",
        "--entries",
        "comments.jsonl",
        "likes.csv",
        "--rules",
        "bad-rules.json",
        "--key",
        "key.json",
        "--randomness",
        "secret",
        "--out",
        "lock.json",
    ])
    .error(&["bad-rules.json"]);
}

#[test]
fn bad_hex_in_verify_key() {
    let s = Scratch::new();
    s.demo_bundle();
    s.run(&["verify", "bundle.json", "--key", "not-hex"])
        .error(&["--key", "hex"]);
    s.run(&["verify", "bundle.json", "--key", "abcd"])
        .error(&["--key", "32 bytes"]);
    s.run(&["verify", "bundle.json", "--lock-hash", "xyz"])
        .error(&["--lock-hash", "hex"]);
}

#[test]
fn beacon_for_another_round() {
    let s = demo_lock();
    let other = s.beacon("default", 72785);
    execute_with_beacon(&s, &other).error(&["round 72785", "round 2634945"]);
}

#[test]
fn beacon_from_the_other_chain() {
    // A real default-chain beacon of round 1 for a quicknet draw of round 1.
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo(
        "key.json",
        "drand:quicknet:1",
        "2023-08-23T15:00:00Z",
        "lock.json",
    )
    .success();
    let default_1 = s.beacon("default", 1);
    let run = s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--beacon",
        &default_1,
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ]);
    run.error(&["quicknet", "default chain"]);

    // A quicknet beacon relabelled with the demo's default-chain round.
    let s = demo_lock();
    let mut quicknet = crate::support::beacon("quicknet", 42);
    quicknet["round"] = json!(2634945);
    s.write_json("relabelled.json", &quicknet);
    execute_with_beacon(&s, "relabelled.json").error(&["relabelled.json", "quicknet"]);
}

#[test]
fn beacon_with_a_flipped_signature_bit() {
    let s = demo_lock();
    let mut beacon = s.json(DEMO_BEACON);
    // Flip the last bit of the signature and keep `randomness` consistent
    // with it, so only the BLS check can refuse the beacon.
    let signature = beacon["signature"].as_str().expect("signature").to_owned();
    let mut bytes = hex::decode(&signature).expect("hex");
    bytes[95] ^= 1;
    beacon["signature"] = json!(hex::encode(&bytes));
    beacon["randomness"] = json!(sha256_hex(&bytes));
    s.write_json("flipped.json", &beacon);
    execute_with_beacon(&s, "flipped.json").error(&["flipped.json", "BLS signature", "invalid"]);
}

#[test]
fn beacon_with_another_rounds_signature() {
    // A valid curve point, but signed for round 72785: only the pairing check catches it.
    let s = demo_lock();
    let mut beacon = s.json(DEMO_BEACON);
    let other = crate::support::beacon("default", 72785);
    beacon["signature"] = other["signature"].clone();
    beacon["randomness"] = other["randomness"].clone();
    s.write_json("swapped.json", &beacon);
    execute_with_beacon(&s, "swapped.json").error(&["swapped.json", "BLS signature", "invalid"]);
}

#[test]
fn beacon_whose_randomness_is_not_its_signature_hash() {
    let s = demo_lock();
    let mut beacon = s.json(DEMO_BEACON);
    beacon["randomness"] = json!("00".repeat(32));
    s.write_json("lying.json", &beacon);
    execute_with_beacon(&s, "lying.json").error(&["lying.json", "SHA-256"]);
}

#[test]
fn beacon_file_that_is_not_a_beacon() {
    let s = demo_lock();
    execute_with_beacon(&s, "rules.json").error(&["rules.json", "not a drand beacon"]);
    execute_with_beacon(&s, "absent.json").error(&["absent.json"]);
}

#[test]
fn declared_round_not_after_the_lock() {
    let s = Scratch::new();
    s.keygen("key.json");
    // Round 2634945 is due at 13:09:30Z: locking then or later is refused.
    s.lock_demo("key.json", DEMO_ROUND, "2023-01-23T13:09:30Z", "lock.json")
        .error(&["2634945", "not after the lock"]);
    s.lock_demo("key.json", DEMO_ROUND, "2023-01-23T14:00:00Z", "lock.json")
        .error(&["2634945", "not after the lock"]);
    assert!(!s.exists("lock.json"));
}

#[test]
fn missing_key_file() {
    let s = Scratch::new();
    s.lock_demo("absent-key.json", DEMO_ROUND, LOCK_AT, "lock.json")
        .error(&["absent-key.json"]);
    let s = demo_lock();
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "absent-key.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["absent-key.json"]);
}

#[test]
fn malformed_key_files() {
    let s = Scratch::new();
    let good = {
        s.keygen("key.json");
        s.json("key.json")
    };
    let mut cases = vec![
        ("not-json.json", json!(null)),
        ("truncated.json", json!({"fairdraw_key": 1})),
    ];
    let mut wrong_public = good.clone();
    wrong_public["public_key"] = json!("11".repeat(32));
    cases.push(("wrong-public.json", wrong_public));
    let mut short_secret = good.clone();
    short_secret["secret_key"] = json!("abcd");
    cases.push(("short-secret.json", short_secret));
    let mut other_algorithm = good;
    other_algorithm["algorithm"] = json!("rsa");
    cases.push(("rsa.json", other_algorithm));
    for (name, value) in cases {
        if value.is_null() {
            s.write(name, "this is not a key\n");
        } else {
            s.write_json(name, &value);
        }
        s.lock_demo(name, DEMO_ROUND, LOCK_AT, "lock.json")
            .error(&[name]);
    }
    assert!(!s.exists("lock.json"));
}

#[test]
fn execute_before_the_randomness_exists_without_at() {
    // Locked (per --at) far in the future: now is before the earliest execution.
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo("key.json", "secret", "2099-01-01T00:00:00Z", "lock.json")
        .success();
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--secret",
        "lock.secret",
        "--out",
        "bundle.json",
    ])
    .error(&["not available until 2099-01-01T00:00:00Z"]);
    assert!(!s.exists("bundle.json"));
}

#[test]
fn execute_with_at_before_the_round() {
    let s = demo_lock();
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "bundle.json",
        "--at",
        "2023-01-23T13:09:00Z",
    ])
    .error(&["before 2023-01-23T13:09:30Z"]);
}

#[test]
fn execute_with_the_wrong_key() {
    let s = demo_lock();
    s.keygen("other.json");
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "other.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["the lock was signed by key"]);
}

#[test]
fn execute_with_the_wrong_kind_of_randomness() {
    let s = demo_lock();
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--source",
        "1 2 3",
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["--beacon"]);
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo("key.json", "secret", LOCK_AT, "lock.json")
        .success();
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["--secret"]);
}

#[test]
fn execute_with_a_secret_that_does_not_match() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo("key.json", "secret", LOCK_AT, "lock.json")
        .success();
    s.write("zero.secret", format!("{}\n", "00".repeat(32)));
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--secret",
        "zero.secret",
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["does not match the commitment"]);
    s.write("short.secret", "abcd\n");
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--secret",
        "short.secret",
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["32 bytes"]);
}

#[test]
fn execute_an_executed_bundle_or_a_non_lock() {
    let s = Scratch::new();
    s.demo_bundle();
    s.run(&[
        "execute",
        "bundle.json",
        "--key",
        "key.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "again.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["already been executed"]);
    s.run(&[
        "execute",
        "rules.json",
        "--key",
        "key.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "again.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["rules.json", "not a fairdraw lock file"]);
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["bundle.json", "already exists"]);
}

#[test]
fn unknown_randomness_specs() {
    let s = Scratch::new();
    s.keygen("key.json");
    for (spec, needle) in [
        ("coinflip", "coinflip"),
        ("drand:mainnet", "unknown drand chain \"mainnet\""),
        ("drand:default:0", "round \"0\""),
        ("drand:default:soon", "round \"soon\""),
        ("rfc3797:", "description"),
        (
            "rfc3797:EuroMillions of 2026-12-08",
            "each source's count of numbers and range",
        ),
        (
            "rfc3797:EuroMillions;main=5x50-1",
            "minimum 50 is above the maximum 1",
        ),
        ("rfc3797:EuroMillions;main", "NAME=COUNTxMIN-MAX"),
        ("", "is not one of"),
    ] {
        s.lock_demo("key.json", spec, LOCK_AT, "lock.json")
            .error(&[needle]);
    }
    assert!(!s.exists("lock.json"));
}

#[test]
fn bad_times_and_ids() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo("key.json", "secret", "yesterday", "lock.json")
        .error(&["--at", "yesterday"]);
    s.run(&[
        "lock",
        "--entries",
        "comments.jsonl",
        "likes.csv",
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--randomness",
        "secret",
        "--id",
        "no spaces please",
        "--out",
        "lock.json",
    ])
    .error(&["draw id"]);
    let long_title = "t".repeat(201);
    s.run(&[
        "lock",
        "--entries",
        "comments.jsonl",
        "likes.csv",
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--randomness",
        "secret",
        "--title",
        &long_title,
        "--out",
        "lock.json",
    ])
    .error(&["title"]);
}

#[test]
fn verify_bad_files() {
    let s = Scratch::new();
    s.run(&["verify", "absent.json"]).error(&["absent.json"]);
    // Not a bundle, a lock file and garbage fail the `bundle` step.
    s.run(&["verify", "rules.json"]).not_verified_at("bundle");
    s.write("garbage.json", [0u8, 159, 146, 150]);
    s.run(&["verify", "garbage.json"]).not_verified_at("bundle");
    s.keygen("key.json");
    s.lock_demo("key.json", DEMO_ROUND, LOCK_AT, "lock.json")
        .success();
    s.run(&["verify", "lock.json"]).not_verified_at("bundle");
}

fn sha256_hex(bytes: &[u8]) -> String {
    fairdraw_engine::encoding::sha256(bytes).to_hex()
}
