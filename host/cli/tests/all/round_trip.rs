use crate::support::{DEMO_BEACON, DEMO_ROUND, EXEC_AT, LOCK_AT, Run, Scratch};

/// The lock hash `lock` prints on its `Lock hash:` line.
fn printed_lock_hash(lock: &Run) -> String {
    let line = lock
        .stdout
        .lines()
        .find(|l| l.starts_with("Lock hash:"))
        .expect("lock prints its hash");
    line.split_whitespace()
        .nth(2)
        .expect("hash after the label")
        .to_owned()
}

/// Names of the winners in a bundle, in draw order.
fn winners(bundle: &serde_json::Value) -> Vec<String> {
    bundle["execution"]["payload"]["winners"]
        .as_array()
        .expect("winners array")
        .iter()
        .map(|w| w["entry"]["handle"].as_str().expect("handle").to_owned())
        .collect()
}

#[test]
fn drand_default_demo_round_trip() {
    let s = Scratch::new();
    s.keygen("key.json");
    let lock = s
        .lock_demo("key.json", DEMO_ROUND, LOCK_AT, "lock.json")
        .success();
    assert!(
        lock.stdout.contains("Eligible:   15 entrants, 40 tickets"),
        "{}",
        lock.stdout
    );
    assert!(
        s.json("lock.json").get("execution").is_none(),
        "a lock file has no execution receipt"
    );
    let exec = s
        .run(&[
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
        .success();
    assert!(exec.stdout.contains("winner   1:"), "{}", exec.stdout);
    let verify = s.run(&["verify", "bundle.json"]).verified();
    assert_eq!(
        verify.stdout.matches("[ok  ]").count(),
        12,
        "every step reported ok:\n{}",
        verify.stdout
    );
    let bundle = s.json("bundle.json");
    assert_eq!(winners(&bundle).len(), 3);
    assert_eq!(
        bundle["execution"]["payload"]["alternates"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        bundle["execution"]["payload"]["randomness"]["round"],
        2634945
    );
}

#[test]
fn verify_with_the_right_and_the_wrong_key() {
    let s = Scratch::new();
    let public = s.demo_bundle();
    let other = s.keygen("other.json");
    let ok = s
        .run(&["verify", "bundle.json", "--key", &public])
        .verified();
    assert!(
        ok.stdout.contains("signed by the expected key"),
        "{}",
        ok.stdout
    );
    s.run(&["verify", "bundle.json", "--key", &other])
        .not_verified_at("signer")
        .step_failed("signer");
}

#[test]
fn verify_with_the_published_lock_hash() {
    let s = Scratch::new();
    s.keygen("key.json");
    let lock = s
        .lock_demo("key.json", DEMO_ROUND, LOCK_AT, "lock.json")
        .success();
    let published = printed_lock_hash(&lock);
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
    .success();
    let ok = s
        .run(&["verify", "bundle.json", "--lock-hash", &published])
        .verified();
    assert!(ok.stdout.contains("(the published lock)"), "{}", ok.stdout);
    let wrong = "00".repeat(32);
    s.run(&["verify", "bundle.json", "--lock-hash", &wrong])
        .not_verified_at("link")
        .step_failed("link");
}

#[test]
fn verify_json_report_parses() {
    let s = Scratch::new();
    let public = s.demo_bundle();
    let report = s
        .run(&["verify", "bundle.json", "--json", "--key", &public])
        .success()
        .json();
    let steps = report["steps"].as_array().expect("steps array");
    let names: Vec<&str> = steps
        .iter()
        .map(|st| st["step"].as_str().expect("step name"))
        .collect();
    assert_eq!(
        names,
        [
            "bundle",
            "lock_signature",
            "execution_signature",
            "signer",
            "link",
            "log",
            "collections",
            "rules",
            "commitment",
            "randomness",
            "seed",
            "winners"
        ]
    );
    assert!(
        steps.iter().all(|st| st["status"] == "passed"),
        "{report:#}"
    );
    assert_eq!(report["draw_id"], "demo");
    assert_eq!(report["title"], "Demo giveaway");
    assert_eq!(report["winners"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["alternates"].as_array().map(Vec::len), Some(2));
    let bundle = s.json("bundle.json");
    assert_eq!(
        report["lock_hash"],
        bundle["execution"]["payload"]["lock_hash"]
    );
    assert_eq!(report["key_id"], bundle["lock"]["key_id"]);

    // A failing report is JSON too, on exit 1.
    let other = s.keygen("other.json");
    let failed = s
        .run(&["verify", "bundle.json", "--json", "--key", &other])
        .not_verified_at("signer")
        .json();
    let signer = failed["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|st| st["step"] == "signer")
        .cloned();
    assert_eq!(signer.map(|st| st["status"].clone()), Some("failed".into()));
}

#[test]
fn same_inputs_give_the_same_draw() {
    // The lock hash (and so the seed) covers the payload, not the key:
    // another organiser key draws the same winners, the same key the same bytes.
    let a = Scratch::new();
    a.demo_bundle();
    let b = Scratch::new();
    b.demo_bundle();
    assert_eq!(
        winners(&a.json("bundle.json")),
        winners(&b.json("bundle.json"))
    );
    assert_eq!(
        a.json("bundle.json")["execution"]["payload"]["selection"],
        b.json("bundle.json")["execution"]["payload"]["selection"]
    );
    std::fs::copy(a.path("key.json"), b.path("key-a.json")).expect("copy key");
    b.lock_demo("key-a.json", DEMO_ROUND, LOCK_AT, "lock-a.json")
        .success();
    b.run(&[
        "execute",
        "lock-a.json",
        "--key",
        "key-a.json",
        "--beacon",
        DEMO_BEACON,
        "--out",
        "bundle-a.json",
        "--at",
        EXEC_AT,
    ])
    .success();
    assert_eq!(
        a.read("bundle.json"),
        b.read("bundle-a.json"),
        "same key and inputs give a byte-identical bundle"
    );
}

#[test]
fn drand_default_next_round_is_chosen_after_the_lock() {
    // 60 s after 13:08:30Z is exactly round 2634945 (13:09:30Z).
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo(
        "key.json",
        "drand:default",
        "2023-01-23T13:08:30Z",
        "lock.json",
    )
    .success();
    let declared = &s.json("lock.json")["lock"]["payload"]["randomness"];
    assert_eq!(declared["chain"], "default");
    assert_eq!(declared["round"], 2634945);
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
    .success();
    s.run(&["verify", "bundle.json"]).verified();
}

#[test]
fn drand_quicknet_round_42_chosen_automatically() {
    // quicknet genesis is 2023-08-23T15:09:27Z with 3 s rounds: round 42 is
    // due at 15:11:30Z, the first round at least 60 s after 15:10:30Z.
    let s = Scratch::new();
    s.keygen("key.json");
    let lock = s
        .lock_demo(
            "key.json",
            "drand:quicknet",
            "2023-08-23T15:10:30Z",
            "lock.json",
        )
        .success();
    assert!(
        lock.stdout.contains("drand quicknet round 42"),
        "{}",
        lock.stdout
    );
    let beacon = s.beacon("quicknet", 42);
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--beacon",
        &beacon,
        "--out",
        "bundle.json",
        "--at",
        "2023-08-23T15:11:30Z",
    ])
    .success();
    let verify = s.run(&["verify", "bundle.json"]).verified();
    assert!(
        verify.stdout.contains("drand quicknet round 42"),
        "{}",
        verify.stdout
    );
    let realised = &s.json("bundle.json")["execution"]["payload"]["randomness"];
    assert_eq!(realised["chain"], "quicknet");
    assert!(
        realised.get("previous_signature").is_none(),
        "quicknet is unchained"
    );
}

#[test]
fn drand_quicknet_round_123_named_explicitly() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo(
        "key.json",
        "drand:quicknet:123",
        "2023-08-23T15:14:00Z",
        "lock.json",
    )
    .success();
    let beacon = s.beacon("quicknet", 123);
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--beacon",
        &beacon,
        "--out",
        "bundle.json",
        "--at",
        "2023-08-23T15:16:00Z",
    ])
    .success();
    s.run(&["verify", "bundle.json"]).verified();
}

#[test]
fn commit_reveal_round_trip() {
    let s = Scratch::new();
    s.keygen("key.json");
    let lock = s
        .lock_demo("key.json", "secret", LOCK_AT, "lock.json")
        .success();
    assert!(
        s.exists("lock.secret"),
        "lock writes LOCK.secret beside LOCK.json:\n{}",
        lock.stdout
    );
    let secret = s.read("lock.secret");
    assert_eq!(secret.trim_end().len(), 64, "{secret:?}");
    assert!(
        secret.trim_end().bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path("lock.secret"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the secret is private");
    }
    let declared = &s.json("lock.json")["lock"]["payload"]["randomness"];
    assert_eq!(declared["kind"], "commit_reveal");
    assert!(
        !s.read("lock.json").contains(secret.trim_end()),
        "the lock must not reveal the secret"
    );

    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--secret",
        "lock.secret",
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .success();
    s.run(&["verify", "bundle.json"]).verified();
    assert_eq!(
        s.json("bundle.json")["execution"]["payload"]["randomness"]["secret"],
        secret.trim_end()
    );
}

#[test]
fn lock_refuses_to_overwrite_an_existing_secret() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write("lock.secret", "keep me\n");
    s.lock_demo("key.json", "secret", LOCK_AT, "lock.json")
        .error(&["lock.secret", "already exists"]);
    assert_eq!(s.read("lock.secret"), "keep me\n");
    assert!(!s.exists("lock.json"));
}

#[test]
fn rfc3797_round_trip() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo(
        "key.json",
        "rfc3797:EuroMillions of 2023-01-24;main numbers=5x1-50;stars=2x1-12",
        LOCK_AT,
        "lock.json",
    )
    .success();
    let declared = &s.json("lock.json")["lock"]["payload"]["randomness"];
    assert_eq!(declared["kind"], "rfc3797");
    assert_eq!(
        declared["shapes"][1],
        serde_json::json!({"name": "stars", "count": 2, "min": 1, "max": 12})
    );
    // The stars folded into the main numbers: another spelling of the same
    // result, refused because the lock fixed five numbers and two stars.
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--source",
        "7 13 27 40 44 3 9",
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["the lock fixed 2 RFC 3797 sources, 1 values were given"]);
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--source",
        "7 13 27 40 44",
        "--source",
        "3 9 12",
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .error(&["stars: the lock fixed 2 numbers, the value has 3"]);
    s.run(&[
        "execute",
        "lock.json",
        "--key",
        "key.json",
        "--source",
        "7 13 27 40 44",
        "--source",
        "3 9",
        "--out",
        "bundle.json",
        "--at",
        EXEC_AT,
    ])
    .success();
    let verify = s.run(&["verify", "bundle.json"]).verified();
    assert!(verify.stdout.contains("check by hand"), "{}", verify.stdout);
    let selection = &s.json("bundle.json")["execution"]["payload"]["selection"];
    assert_eq!(selection["algorithm"], "rfc3797");
    assert_eq!(selection["key"], "7.13.27.40.44./3.9./");
}

#[test]
fn draw_then_verify() {
    let s = Scratch::new();
    let public = s.keygen("key.json");
    let draw = s
        .run(&[
            "draw",
            "--entries",
            "comments.jsonl",
            "likes.csv",
            "--rules",
            "rules.json",
            "--key",
            "key.json",
            "--title",
            "One step",
            "--out",
            "bundle.json",
        ])
        .success();
    assert!(draw.stdout.contains("winner   1:"), "{}", draw.stdout);
    s.run(&["verify", "bundle.json", "--key", &public])
        .verified();
    let bundle = s.json("bundle.json");
    assert_eq!(
        bundle["lock"]["payload"]["randomness"]["kind"],
        "commit_reveal"
    );
    assert_eq!(
        bundle["execution"]["payload"]["randomness"]["kind"],
        "commit_reveal"
    );
    s.run(&[
        "draw",
        "--entries",
        "comments.jsonl",
        "likes.csv",
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--out",
        "bundle.json",
    ])
    .error(&["bundle.json", "already exists"]);
}
