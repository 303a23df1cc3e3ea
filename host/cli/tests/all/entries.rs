use serde_json::Value;

use crate::support::{DEMO_ROUND, LOCK_AT, Scratch};

const FIELDS: [&str; 9] = [
    "platform",
    "user_id",
    "handle",
    "display_name",
    "text",
    "created_at",
    "collection",
    "followers",
    "account_created_at",
];

/// The fixture's comments as parsed JSON objects.
fn comments(s: &Scratch) -> Vec<Value> {
    s.read("comments.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

/// One CSV field, always quoted.
fn csv_field(v: &Value) -> String {
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The comments as CSV without a `collection` column (so they default to `comments`).
fn comments_csv(entries: &[Value]) -> String {
    let columns: Vec<&str> = FIELDS.into_iter().filter(|f| *f != "collection").collect();
    let mut out = columns.join(",") + "\n";
    for e in entries {
        let row: Vec<String> = columns.iter().map(|c| csv_field(&e[*c])).collect();
        out += &(row.join(",") + "\n");
    }
    out
}

/// Locks `entries` (plus the likes) with fixed inputs and returns the lock payload.
fn lock_payload(s: &Scratch, entries: &str, out: &str) -> Value {
    s.run(&[
        "lock",
        "--entries",
        entries,
        "likes.csv",
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--randomness",
        DEMO_ROUND,
        "--at",
        LOCK_AT,
        "--id",
        "formats",
        "--out",
        out,
    ])
    .success();
    s.json(out)["lock"]["payload"].clone()
}

#[test]
fn jsonl_json_array_and_csv_commit_to_the_same_entries() {
    let s = Scratch::new();
    s.keygen("key.json");
    let entries = comments(&s);
    s.write_json("comments.json", &Value::Array(entries.clone()));
    // No extension: the format is detected from the first byte.
    s.write(
        "comments-array.txt",
        serde_json::to_string(&entries).expect("JSON"),
    );
    s.write("comments-lines.txt", s.read("comments.jsonl"));
    s.write("comments.csv", comments_csv(&entries));

    let jsonl = lock_payload(&s, "comments.jsonl", "lock-jsonl.json");
    assert_eq!(jsonl["collections"]["comments"]["entries"], 40);
    assert_eq!(
        jsonl["collections"]["likes"]["entries"], 27,
        "likes.csv names its collection in a column"
    );
    for (file, out) in [
        ("comments.json", "lock-json.json"),
        ("comments-array.txt", "lock-array.json"),
        ("comments-lines.txt", "lock-lines.json"),
        ("comments.csv", "lock-csv.json"),
    ] {
        assert_eq!(
            lock_payload(&s, file, out),
            jsonl,
            "{file} commits to other entries than comments.jsonl"
        );
    }
}

#[test]
fn crlf_bom_and_blank_lines_are_accepted() {
    let s = Scratch::new();
    s.keygen("key.json");
    let jsonl = lock_payload(&s, "comments.jsonl", "lock-plain.json");
    let windows = format!(
        "\u{feff}{}\r\n\r\n",
        s.read("comments.jsonl").replace('\n', "\r\n\r\n")
    );
    s.write("windows.jsonl", windows);
    assert_eq!(
        lock_payload(&s, "windows.jsonl", "lock-windows.json"),
        jsonl
    );
}

#[test]
fn malformed_jsonl_names_the_line() {
    let s = Scratch::new();
    s.keygen("key.json");
    let mut text = s.read("comments.jsonl");
    text += "{\"platform\": \"youtube\", oops}\n";
    s.write("bad.jsonl", text);
    lock_bad(&s, "bad.jsonl").error(&["bad.jsonl", "line 41"]);
}

#[test]
fn unknown_entry_field_is_named() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write("extra.jsonl", "{\"platform\":\"youtube\",\"user_id\":\"u1\",\"handle\":\"@a\",\"created_at\":\"2023-01-15T00:00:00Z\",\"likes\":3}\n");
    lock_bad(&s, "extra.jsonl").error(&["extra.jsonl", "line 1", "unknown field `likes`"]);
}

#[test]
fn malformed_json_array_names_the_line() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write(
        "bad.json",
        "[\n{\"platform\":\"youtube\",\"user_id\":\"u1\",\"handle\":\"@a\",\"created_at\":\"2023-01-15T00:00:00Z\"},\n{\"platform\": oops}\n]",
    );
    lock_bad(&s, "bad.json").error(&["bad.json", "line 3"]);
}

#[test]
fn ragged_csv_names_the_line() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write(
        "bad.csv",
        "platform,user_id,handle,created_at\nyoutube,u1,@a,2023-01-15T00:00:00Z\nyoutube,u2\n",
    );
    lock_bad(&s, "bad.csv").error(&["bad.csv", "line 3"]);
}

#[test]
fn csv_bad_number_names_the_line_and_field() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write(
        "bad.csv",
        "platform,user_id,handle,created_at,followers\nyoutube,u1,@a,2023-01-15T00:00:00Z,5\nyoutube,u2,@b,2023-01-15T00:00:00Z,lots\n",
    );
    lock_bad(&s, "bad.csv").error(&["bad.csv", "line 3", "followers", "lots"]);
}

#[test]
fn csv_header_problems_are_named() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write("unknown.csv", "platform,user_id,handle,created_at,likes\n");
    lock_bad(&s, "unknown.csv").error(&["unknown.csv", "unknown CSV column \"likes\""]);
    s.write(
        "missing.csv",
        "platform,user_id,created_at\nyoutube,u1,2023-01-15T00:00:00Z\n",
    );
    lock_bad(&s, "missing.csv").error(&["missing.csv", "\"handle\""]);
}

#[test]
fn invalid_entry_values_are_named() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write("time.jsonl", "{\"platform\":\"youtube\",\"user_id\":\"u1\",\"handle\":\"@a\",\"created_at\":\"last tuesday\"}\n");
    lock_bad(&s, "time.jsonl").error(&["time.jsonl", "created_at", "last tuesday"]);
    s.write("empty.jsonl", "{\"platform\":\"youtube\",\"user_id\":\"\",\"handle\":\"@a\",\"created_at\":\"2023-01-15T00:00:00Z\"}\n");
    lock_bad(&s, "empty.jsonl").error(&["empty.jsonl", "user_id"]);
}

#[test]
fn binary_and_missing_files_are_errors() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write("binary.jsonl", [0xff, 0xfe, 0x00, 0x01]);
    lock_bad(&s, "binary.jsonl").error(&["binary.jsonl", "UTF-8"]);
    lock_bad(&s, "absent.jsonl").error(&["absent.jsonl"]);
}

#[test]
fn missing_required_collection_is_named() {
    let s = Scratch::new();
    s.keygen("key.json");
    // The rules require `likes`, which is not given.
    s.run(&[
        "lock",
        "--entries",
        "comments.jsonl",
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--randomness",
        "secret",
        "--out",
        "lock.json",
    ])
    .error(&["likes"]);
}

fn lock_bad(s: &Scratch, entries: &str) -> crate::support::Run {
    s.write("one-winner.json", r#"{"winners": 1}"#);
    let run = s.run(&[
        "lock",
        "--entries",
        entries,
        "--rules",
        "one-winner.json",
        "--key",
        "key.json",
        "--randomness",
        "secret",
        "--out",
        "lock.json",
    ]);
    assert!(!s.exists("lock.json"), "no lock file after a failed lock");
    assert!(
        !s.exists("lock.secret"),
        "no secret file after a failed lock"
    );
    run
}
