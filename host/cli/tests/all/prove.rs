use crate::support::Scratch;

#[test]
fn a_winner_is_in_the_draw_with_a_proof() {
    let s = Scratch::new();
    s.demo_bundle();
    let bundle = s.json("bundle.json");
    let winner = &bundle["execution"]["payload"]["winners"][0];
    let handle = winner["entry"]["handle"].as_str().expect("winner handle");
    let run = s
        .run(&["prove", "bundle.json", "--entrant", handle])
        .success();
    assert!(run.stdout.contains("proof verifies"), "{}", run.stdout);
    assert!(run.stdout.contains("Result: winner 1"), "{}", run.stdout);

    // Without the `@`, by user id, and as JSON.
    s.run(&[
        "prove",
        "bundle.json",
        "--entrant",
        handle.trim_start_matches('@'),
    ])
    .success();
    let user_id = winner["entry"]["user_id"].as_str().expect("user id");
    let json = s
        .run(&["prove", "bundle.json", "--entrant", user_id, "--json"])
        .success()
        .json();
    assert_eq!(json["status"], "eligible");
    assert_eq!(json["proof_verifies"], true);
    assert_eq!(json["result"], "winner 1");
    assert_eq!(
        json["merkle_root"],
        bundle["lock"]["payload"]["merkle_root"]
    );
    assert_eq!(json["proof"]["leaf_index"], winner["leaf_index"]);
    assert_eq!(json["proof"]["tree_size"], 15);
}

#[test]
fn an_eligible_loser_exits_0() {
    let s = Scratch::new();
    s.demo_bundle();
    let bundle = s.json("bundle.json");
    let payload = &bundle["execution"]["payload"];
    let picked: Vec<&str> = ["winners", "alternates"]
        .iter()
        .flat_map(|k| payload[k].as_array().expect("picks").iter())
        .map(|p| p["entry"]["user_id"].as_str().expect("user id"))
        .collect();
    // Entrants of the fixture who pass every rule; at most 5 of them are picked.
    let loser = [
        "UC1000", "UC1002", "UC1003", "UC1004", "UC1005", "UC1010", "UC1020", "UC1028",
    ]
    .into_iter()
    .find(|u| !picked.contains(u))
    .expect("someone eligible was not picked");
    let json = s
        .run(&["prove", "bundle.json", "--entrant", loser, "--json"])
        .success()
        .json();
    assert_eq!(json["status"], "eligible", "{json:#}");
    assert_eq!(json["result"], serde_json::Value::Null);
}

#[test]
fn excluded_entrant_exits_3_naming_the_rule() {
    let s = Scratch::new();
    s.demo_bundle();
    let run = s
        .run(&["prove", "bundle.json", "--entrant", "@bob"])
        .code(3);
    assert!(
        run.stdout.contains("rule `min_followers`"),
        "{}",
        run.stdout
    );
    let json = s
        .run(&["prove", "bundle.json", "--entrant", "@spammer", "--json"])
        .code(3)
        .json();
    assert_eq!(json["status"], "excluded");
    assert_eq!(json["excluded"][0]["rule"], "exclude_users", "{json:#}");
    let organizer = s
        .run(&["prove", "bundle.json", "--entrant", "@acme", "--json"])
        .code(3)
        .json();
    assert_eq!(
        organizer["excluded"][0]["rule"], "organizer",
        "{organizer:#}"
    );
}

#[test]
fn unknown_entrant_exits_4() {
    let s = Scratch::new();
    s.demo_bundle();
    let run = s
        .run(&["prove", "bundle.json", "--entrant", "@nobody-at-all"])
        .code(4);
    assert!(run.stderr.contains("no entry from"), "{}", run.stderr);
}

#[test]
fn works_on_a_lock_file_before_execution() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.lock_demo("key.json", "secret", crate::support::LOCK_AT, "lock.json")
        .success();
    let run = s
        .run(&["prove", "lock.json", "--entrant", "@alice"])
        .success();
    assert!(run.stdout.contains("proof verifies"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("Result:"),
        "no result before execution:\n{}",
        run.stdout
    );
}

#[test]
fn not_a_bundle_is_an_error() {
    let s = Scratch::new();
    s.run(&["prove", "rules.json", "--entrant", "@alice"])
        .error(&["rules.json", "not a fairdraw bundle"]);
    s.run(&["prove", "missing.json", "--entrant", "@alice"])
        .error(&["missing.json"]);
}

/// Issue 10: `prove` verifies the bundle first. An edited, unsigned
/// execution receipt naming another winner is refused (exit 1), not
/// answered with "Result: winner 1".
#[test]
fn prove_refuses_a_bundle_that_does_not_verify() {
    let s = Scratch::new();
    s.demo_bundle();
    let mut bundle = s.json("bundle.json");
    let exec = &mut bundle["execution"]["payload"];
    let alternate = exec["alternates"][0].clone();
    let handle = alternate["entry"]["handle"]
        .as_str()
        .expect("handle")
        .to_owned();
    exec["winners"][0] = alternate;
    s.write_json("edited.json", &bundle);
    let run = s
        .run(&["prove", "edited.json", "--entrant", &handle])
        .code(1);
    assert!(!run.stdout.contains("Result: winner"), "{}", run.stdout);
    assert!(run.stderr.contains("does not verify"), "{}", run.stderr);
}

/// `platform:user_id` names exactly one account; a handle two accounts
/// share (one on each of two platforms) is ambiguous: both are listed and
/// `prove` exits 5.
#[test]
fn entrant_is_one_account() {
    let s = Scratch::new();
    s.keygen("key.json");
    let entries = [
        r#"{"platform":"youtube","user_id":"y1","handle":"@sam","created_at":"2023-01-15T10:00:00Z"}"#,
        r#"{"platform":"x","user_id":"x1","handle":"@sam","created_at":"2023-01-15T10:00:00Z"}"#,
        r#"{"platform":"x","user_id":"x2","handle":"@kim","created_at":"2023-01-15T10:00:00Z"}"#,
        r#"{"platform":"x","user_id":"x3","handle":"@e\u001b[2Jvil","created_at":"2023-01-15T10:00:00Z"}"#,
    ];
    s.write("entries.jsonl", entries.join("\n"));
    s.write("rules.json", r#"{"winners": 1}"#);
    s.run(&[
        "draw",
        "--entries",
        "entries.jsonl",
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--at",
        "2023-01-20T00:00:00Z",
        "--out",
        "bundle.json",
    ])
    .success();
    let run = s
        .run(&["prove", "bundle.json", "--entrant", "@sam"])
        .code(5);
    assert!(run.stderr.contains("x:x1 (@sam)"), "{}", run.stderr);
    assert!(run.stderr.contains("youtube:y1 (@sam)"), "{}", run.stderr);
    let json = s
        .run(&["prove", "bundle.json", "--entrant", "x:x1", "--json"])
        .success()
        .json();
    assert_eq!(json["status"], "eligible");
    assert_eq!(json["platform"], "x");
    assert_eq!(json["user_id"], "x1");
    s.run(&["prove", "bundle.json", "--entrant", "@kim"])
        .success();
    // A handle with an escape sequence is shown escaped, never raw.
    let run = s
        .run(&["prove", "bundle.json", "--entrant", "x:x3"])
        .success();
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert!(run.stdout.contains("@e\\u{001B}[2Jvil"), "{}", run.stdout);
}

/// The key id is 64 hex digits too; passing it as `--key` says so.
#[test]
fn key_id_given_as_key_is_named() {
    let s = Scratch::new();
    s.demo_bundle();
    let key_id = s.json("bundle.json")["lock"]["key_id"]
        .as_str()
        .expect("key id")
        .to_owned();
    let run = s.run(&["verify", "bundle.json", "--key", &key_id]).code(2);
    assert!(
        run.stderr.contains("is the bundle's key id"),
        "{}",
        run.stderr
    );
    let run = s
        .run(&[
            "prove",
            "bundle.json",
            "--entrant",
            "@alice",
            "--key",
            &key_id,
        ])
        .code(1);
    assert!(
        run.stderr.contains("is the bundle's key id"),
        "{}",
        run.stderr
    );
}
