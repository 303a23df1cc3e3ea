//! Issue 8: `lock` (and `draw`) refuse rules the entries' platforms cannot
//! support, with one `error:` line naming the rule and the platforms, and
//! write nothing. A lock-time refusal, not a verification step.

use serde_json::{Value, json};

use crate::support::{LOCK_AT, Run, Scratch};

/// Writes `entries` as JSON Lines into `name`.
fn write_entries<'n>(s: &Scratch, name: &'n str, entries: &[Value]) -> &'n str {
    let lines: Vec<String> = entries.iter().map(Value::to_string).collect();
    s.write(name, lines.join("\n") + "\n")
}

/// Three TikTok comments that meet the demo rules' keyword, mention, window
/// and age rules; `followers` only when `with_followers`.
fn tiktok_comments(s: &Scratch, with_followers: bool) -> &'static str {
    let entries: Vec<Value> = (1..=3)
        .map(|i| {
            let mut e = json!({
                "platform": "tiktok", "user_id": format!("71000{i}"), "handle": format!("@tok{i}"),
                "text": "#giveaway @friend", "created_at": "2023-01-15T10:00:00Z",
                "account_created_at": "2020-01-01T00:00:00Z", "collection": "comments",
            });
            if with_followers {
                e["followers"] = json!(500);
            }
            e
        })
        .collect();
    write_entries(s, "tiktok.jsonl", &entries)
}

/// The demo rules, changed by `f`.
fn rules(s: &Scratch, f: impl FnOnce(&mut Value)) -> &'static str {
    let mut r = s.json("rules.json");
    f(&mut r);
    s.write_json("platform-rules.json", &r)
}

fn lock(s: &Scratch, entries: &[&str], rules: &str) -> Run {
    let mut args = vec!["lock", "--entries"];
    args.extend_from_slice(entries);
    args.extend_from_slice(&[
        "--rules",
        rules,
        "--key",
        "key.json",
        "--randomness",
        "drand:default:2634945",
        "--at",
        LOCK_AT,
        "--out",
        "lock.json",
    ]);
    let run = s.run(&args);
    assert!(!s.exists("lock.json"), "no lock file after a refusal");
    run
}

#[test]
fn require_in_across_platforms_is_refused_at_lock_and_by_draw() {
    let s = Scratch::new();
    s.keygen("key.json");
    let tiktok = tiktok_comments(&s, true);
    // likes.csv holds YouTube likes only: no TikTok entrant could be in it.
    lock(&s, &["comments.jsonl", tiktok, "likes.csv"], "rules.json").error(&[
        "rule `require_in` cannot be met across platforms",
        "collection `comments` has entries from tiktok",
        "`likes` has none from tiktok (only from youtube)",
    ]);
    let run = s.run(&[
        "draw",
        "--entries",
        "comments.jsonl",
        tiktok,
        "likes.csv",
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--out",
        "quick.json",
    ]);
    run.error(&["rule `require_in`", "tiktok"]);
    assert!(!s.exists("quick.json"));

    // With TikTok likes too, the same rules lock.
    let likes = write_entries(
        &s,
        "tiktok-likes.jsonl",
        &[
            json!({"platform": "tiktok", "user_id": "710001", "handle": "@tok1",
                 "created_at": "2023-01-16T00:00:00Z", "collection": "likes"}),
        ],
    );
    let run = s.run(&[
        "lock",
        "--entries",
        "comments.jsonl",
        tiktok,
        "likes.csv",
        likes,
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--randomness",
        "drand:default:2634945",
        "--at",
        LOCK_AT,
        "--out",
        "lock.json",
    ]);
    run.success();
}

#[test]
fn a_required_collection_with_no_entries_is_refused_naming_the_rule() {
    let s = Scratch::new();
    s.keygen("key.json");
    lock(&s, &["comments.jsonl"], "rules.json").error(&[
        "rule `require_in` needs collection `likes`, but no entries were given for it",
        "every entrant of `comments` (from youtube) would be excluded",
    ]);
}

#[test]
fn min_followers_on_a_platform_without_follower_counts_is_refused() {
    let s = Scratch::new();
    s.keygen("key.json");
    let tiktok = tiktok_comments(&s, false);
    let no_require_in = rules(&s, |r| {
        r.as_object_mut()
            .expect("rules object")
            .remove("require_in");
    });
    lock(&s, &["comments.jsonl", tiktok], no_require_in).error(&[
        "rule `min_followers` cannot be applied on tiktok",
        "none of the tiktok entries of collection `comments` carries `followers`",
    ]);
}

#[test]
fn min_account_age_on_a_platform_without_creation_times_is_refused() {
    let s = Scratch::new();
    s.keygen("key.json");
    let x = write_entries(
        &s,
        "x.jsonl",
        &[
            json!({"platform": "x", "user_id": "1500", "handle": "@ex", "followers": 90,
                 "text": "#giveaway @friend", "created_at": "2023-01-15T10:00:00Z"}),
        ],
    );
    let age_only = rules(&s, |r| {
        let r = r.as_object_mut().expect("rules object");
        r.remove("require_in");
        r.remove("min_followers");
    });
    lock(&s, &["comments.jsonl", x], age_only).error(&[
        "rule `min_account_age_days` cannot be applied on x",
        "carries `account_created_at`",
    ]);
}
