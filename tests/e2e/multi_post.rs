//! Issue 8, several posts and platforms: one `fairdraw fetch` reads a
//! YouTube video and a Mastodon status (each plugin against its mock) into
//! one file per collection, which lock, execute (drand beacon through the
//! drand plugin) and verify as one draw; an interruption in the middle
//! resumes without a lost or duplicated entry; and rules the platforms
//! cannot support are refused at lock with the rule and platform named.

use std::collections::BTreeSet;
use std::fs;

use fairdraw_tests::mock::{MockHandle, drand, mastodon, youtube};
use serde_json::Value;

use crate::plugins::{Scene, stderr, stdout};

/// (platform, user_id) of each entry: the entrant's identity.
fn ids(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("platform"), s("user_id"))
        })
        .collect()
}

/// The two mocks, a drand relay, and the scene pointing the plugins at them.
fn mocks() -> (
    MockHandle<youtube::Config>,
    MockHandle<mastodon::Config>,
    MockHandle<drand::Config>,
    Scene,
) {
    let yt = youtube::start_blocking(youtube::Config {
        comments: 130,
        authors: 90,
        ..youtube::Config::default()
    });
    let m = mastodon::start_blocking(mastodon::Config {
        favourites: 100,
        public_origin: Some(mastodon::PRODUCTION_ORIGIN.to_owned()),
        ..mastodon::Config::default()
    });
    let relay = drand::start_blocking(drand::Config::default());
    let s = Scene::new(&[
        (youtube::PRODUCTION_ORIGIN, &yt.origin),
        (mastodon::PRODUCTION_ORIGIN, &m.origin),
        (drand::PRODUCTION_ORIGIN, &relay.origin),
    ]);
    (yt, m, relay, s)
}

fn youtube_url() -> String {
    format!("https://www.youtube.com/watch?v={}", youtube::VIDEO_ID)
}

fn mastodon_url() -> String {
    format!(
        "{}/@{}/{}",
        mastodon::PRODUCTION_ORIGIN,
        mastodon::AUTHOR,
        mastodon::STATUS_ID
    )
}

/// What each file must hold: the YouTube top-level comments, then the
/// Mastodon direct replies (post order); the Mastodon favourites.
fn expected(
    yt: &MockHandle<youtube::Config>,
    m: &MockHandle<mastodon::Config>,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut comments: Vec<_> = yt
        .config()
        .threads()
        .into_iter()
        .map(|t| ("youtube".to_owned(), t.top.author_channel_id))
        .collect();
    comments.extend(
        m.config()
            .descendants()
            .into_iter()
            .filter(|r| r.in_reply_to_id == mastodon::STATUS_ID)
            .map(|r| ("mastodon".to_owned(), r.account.id)),
    );
    let likes = m
        .config()
        .favourited_by()
        .into_iter()
        .map(|a| a.id)
        .collect();
    (comments, likes)
}

#[test]
fn two_platforms_in_one_fetch_make_one_verified_draw() {
    let (yt, m, _relay, s) = mocks();
    let (yt_url, m_url) = (youtube_url(), mastodon_url());
    let m_post = format!("mastodon={m_url}");
    // A bare URL goes to --plugin; the Mastodon post names its plugin.
    let out = s.run(
        &[
            "fetch",
            "--plugin",
            "youtube",
            "--post",
            &yt_url,
            "--post",
            &m_post,
            "--collection",
            "comments",
            "--collection",
            "likes",
            "--out-dir",
            "entries",
        ],
        0,
    );
    let (err, said) = (stderr(&out), stdout(&out));
    assert!(
        err.contains("youtube comments (post 1 of 2): page 2, 130 entries"),
        "{err}"
    );
    assert!(
        err.contains("mastodon comments (post 2 of 2): page 1"),
        "{err}"
    );
    assert!(
        err.contains("note: plugin `youtube` (youtube) cannot list likes"),
        "{err}"
    );
    assert!(said.contains("Fetched 130 comments from"), "{said}");
    assert!(said.contains("Fetched 100 likes from"), "{said}");
    let (comments, likes) = expected(&yt, &m);
    assert!(
        said.contains(&format!("({} comments from 2 posts)", comments.len())),
        "{said}"
    );
    let fetched = s.jsonl("entries/comments.jsonl");
    assert_eq!(ids(&fetched), comments);
    assert!(fetched.iter().all(|e| e["collection"] == "comments"));
    let fetched_likes = s.jsonl("entries/likes.jsonl");
    assert_eq!(
        fetched_likes
            .iter()
            .map(|e| e["user_id"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>(),
        likes
    );
    assert!(
        fetched_likes
            .iter()
            .all(|e| e["platform"] == "mastodon" && e["collection"] == "likes")
    );
    assert!(!s.path("entries/comments.jsonl.resume.json").exists());

    // One draw over both platforms: lock before quicknet round 123, fetch
    // the beacon through the drand plugin, execute and verify.
    let lock_hash = s.lock(
        &["entries/comments.jsonl", "entries/likes.jsonl"],
        r#"{"winners": 3, "alternates": 1, "collection": "comments"}"#,
        "drand:quicknet:123",
        "2023-08-23T15:00:00Z",
    );
    s.run(
        &[
            "beacon",
            "--plugin",
            "drand",
            "--chain",
            "quicknet",
            "--round",
            "123",
            "--out",
            "beacon.json",
        ],
        0,
    );
    s.execute_and_verify("beacon.json", &lock_hash);
    let bundle: Value =
        serde_json::from_slice(&fs::read(s.path("bundle.json")).expect("bundle")).expect("JSON");
    let platforms: BTreeSet<_> = bundle["collections"]["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|e| e["platform"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        platforms,
        BTreeSet::from(["mastodon".to_owned(), "youtube".to_owned()])
    );
    let distinct: BTreeSet<_> = comments.iter().collect();
    assert_eq!(
        bundle["lock"]["payload"]["eligible"],
        distinct.len() as u64,
        "one entrant per platform account"
    );
}

#[test]
fn an_interrupted_multi_post_fetch_resumes_without_losing_or_repeating_entries() {
    let (yt, m, _relay, s) = mocks();
    let (yt_post, m_post) = (
        format!("youtube={}", youtube_url()),
        format!("mastodon={}", mastodon_url()),
    );
    let fetch = |extra: &[&str], code| {
        let mut args = vec![
            "fetch",
            "--post",
            &m_post,
            "--post",
            &yt_post,
            "--collection",
            "comments",
            "--collection",
            "likes",
            "--out-dir",
            "entries",
        ];
        args.extend_from_slice(extra);
        s.run(&args, code)
    };

    // YouTube's quota is out: the Mastodon comments (post 1) are fetched,
    // YouTube (post 2) gives up, likes are not started.
    yt.configure(|c| c.quota_exceeded = true);
    let out = fetch(&["--max-wait", "2"], 2);
    let err = stderr(&out);
    assert!(err.contains("gave up") && err.contains("quota"), "{err}");
    assert!(
        err.contains("comments of https://www.youtube.com/watch"),
        "{err}"
    );
    assert!(err.contains("--resume"), "{err}");
    let direct = s.jsonl("entries/comments.jsonl.partial").len();
    assert!(direct > 0);
    assert!(!s.path("entries/comments.jsonl").exists());
    assert!(!s.path("entries/likes.jsonl").exists());
    let state: Value = serde_json::from_slice(
        &fs::read(s.path("entries/comments.jsonl.resume.json")).expect("resume state"),
    )
    .expect("JSON");
    assert_eq!(state["posts"][0]["done"], true, "{state}");
    assert_eq!(state["posts"][1]["done"], false, "{state}");
    // A fresh start is refused while the stopped fetch is there.
    let again = fetch(&[], 2);
    assert!(stderr(&again).contains("--resume"), "{}", stderr(&again));
    // Resuming with the posts in another order is refused.
    let other = s.run(
        &[
            "fetch",
            "--post",
            &yt_post,
            "--post",
            &m_post,
            "--collection",
            "comments",
            "--collection",
            "likes",
            "--out-dir",
            "entries",
            "--resume",
        ],
        2,
    );
    assert!(
        stderr(&other).contains("resume it with the same arguments"),
        "{}",
        stderr(&other)
    );

    // The quota is back: the Mastodon post is not fetched again, YouTube
    // completes, and likes are fetched.
    yt.configure(|c| c.quota_exceeded = false);
    let context_before = context_requests(&m);
    let out = fetch(&["--resume"], 0);
    assert!(
        stderr(&out).contains(&format!("Resuming after {direct} entries")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        context_requests(&m),
        context_before,
        "a finished post is not fetched again"
    );
    let (comments, likes) = expected(&yt, &m);
    let mut want = comments[130..].to_vec();
    want.extend_from_slice(&comments[..130]);
    assert_eq!(ids(&s.jsonl("entries/comments.jsonl")), want);
    assert_eq!(s.jsonl("entries/likes.jsonl").len(), likes.len());
    for f in ["comments", "likes"] {
        assert!(!s.path(&format!("entries/{f}.jsonl.resume.json")).exists());
        assert!(!s.path(&format!("entries/{f}.jsonl.partial")).exists());
    }
    let nothing = fetch(&["--resume"], 2);
    assert!(
        stderr(&nothing).contains("nothing to resume"),
        "{}",
        stderr(&nothing)
    );
}

/// Requests the Mastodon mock got for the status's replies.
fn context_requests(m: &MockHandle<mastodon::Config>) -> usize {
    m.requests()
        .iter()
        .filter(|r| r.path.ends_with("/context"))
        .count()
}

#[test]
fn rules_the_platforms_cannot_support_are_refused_at_lock() {
    let (_yt, _m, _relay, s) = mocks();
    let (yt_post, m_post) = (
        format!("youtube={}", youtube_url()),
        format!("mastodon={}", mastodon_url()),
    );
    s.run(
        &[
            "fetch",
            "--post",
            &yt_post,
            "--post",
            &m_post,
            "--collection",
            "comments",
            "--collection",
            "likes",
            "--out-dir",
            "entries",
        ],
        0,
    );
    s.run(&["keygen", "--out", "key.json"], 0);
    let lock = |rules: &str| {
        s.write("rules.json", rules);
        let out = s.run(
            &[
                "lock",
                "--entries",
                "entries/comments.jsonl",
                "entries/likes.jsonl",
                "--rules",
                "rules.json",
                "--key",
                "key.json",
                "--randomness",
                "drand:quicknet:123",
                "--at",
                "2023-08-23T15:00:00Z",
                "--out",
                "lock.json",
            ],
            2,
        );
        assert!(!s.path("lock.json").exists());
        stderr(&out)
    };
    // YouTube entries carry no follower count (the API gives none).
    let err = lock(r#"{"winners": 1, "min_followers": 5}"#);
    assert!(
        err.contains("rule `min_followers` cannot be applied on youtube")
            && err.contains(
                "none of the youtube entries of collection `comments` carries `followers`"
            ),
        "{err}"
    );
    // YouTube cannot list likes: no YouTube entrant could be in `likes`.
    let err = lock(r#"{"winners": 1, "require_in": ["likes"]}"#);
    assert!(
        err.contains("rule `require_in` cannot be met across platforms")
            && err.contains("`likes` has none from youtube (only from mastodon)"),
        "{err}"
    );
    // Reposts were not fetched at all.
    let err = lock(r#"{"winners": 1, "require_in": ["reposts"]}"#);
    assert!(
        err.contains("rule `require_in` needs collection `reposts`")
            && err.contains("(from mastodon and youtube)"),
        "{err}"
    );
}
