//! The `facebook` plugin through the real `fairdraw` binary, against the
//! Graph API mock of `fairdraw_tests::mock::facebook`: `plugin install` and
//! `inspect`, `fetch` of comments (short and empty pages that still carry
//! `next`, comments without an author left out, tags as mentions) and
//! reactions, a throttle waited out, a `--resume` after an interruption
//! (a stop at `--max-entries`, then a Business Use Case wait longer than
//! `--max-wait`), a refused token, and a fetched draw that locks, executes
//! and verifies.
//!
//! The plugin (and `drand`, for the beacon) are built from source and
//! installed once per test process into `<target>/<profile>/e2e-plugins-facebook/`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fairdraw_tests::mock::{self, drand, facebook};
use serde_json::Value;

use crate::bin::{fairdraw, workspace};
use crate::plugins::{Scene, run_in, stderr, stdout};

const PLUGINS: [&str; 2] = ["facebook", "drand"];
const CREDENTIAL: &str = "FAIRDRAW_CREDENTIAL_FACEBOOK_ACCESS_TOKEN";

/// The data directory with `facebook` and `drand` installed.
fn data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(&cargo);
        build
            .args([
                "build",
                "--manifest-path",
                "plugins/Cargo.toml",
                "--target",
                "wasm32-wasip2",
                "--release",
                "--target-dir",
            ])
            .arg(root.join("plugins/target"))
            .current_dir(&root);
        for p in PLUGINS {
            build.args(["-p", p]);
        }
        let status = build
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
        assert!(status.success(), "building the plugins failed ({status})");

        let dir = fairdraw()
            .parent()
            .expect("profile directory")
            .join("e2e-plugins-facebook");
        let _ = fs::remove_dir_all(dir.join("plugins"));
        let env = [("FAIRDRAW_DATA_DIR", dir.display().to_string())];
        for p in PLUGINS {
            let out = run_in(&root, &env, &["plugin", "install", &format!("plugins/{p}")]);
            assert_eq!(out.status.code(), Some(0), "install {p}: {}", stderr(&out));
        }
        dir
    })
}

/// A scene with this module's plugins, the Page token set, and `origins`
/// mapped to mocks.
fn scene(origins: &[(&str, &str)]) -> Scene {
    let mut s = Scene::new(origins);
    s.set_env("FAIRDRAW_DATA_DIR", &data_dir().display().to_string());
    s.set_env(CREDENTIAL, facebook::TOKEN);
    s
}

/// The post as a Page-username URL, which the plugin resolves.
fn post_url() -> String {
    let post = facebook::POST_ID.split_once('_').map_or("", |(_, p)| p);
    format!(
        "https://www.facebook.com/{}/posts/{post}",
        facebook::PAGE_USERNAME
    )
}

fn fetch<'a>(url: &'a str, collection: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "fetch",
        "--plugin",
        "facebook",
        "--post",
        url,
        "--collection",
        collection,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// (user_id, created_at) of each entry.
fn ids_and_times(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("user_id"), s("created_at"))
        })
        .collect()
}

/// The top-level comments the plugin must return: those with an author.
fn expected_comments(config: &facebook::Config) -> Vec<(String, String)> {
    config
        .toplevel()
        .into_iter()
        .filter_map(|c| Some((c.from?.id, facebook::rfc3339(&c.created_time))))
        .collect()
}

#[test]
fn facebook_install_and_inspect() {
    let s = scene(&[]);
    let list = stdout(&s.run(&["plugin", "list"], 0));
    assert!(
        list.lines().any(|l| l.starts_with("facebook")),
        "facebook missing:\n{list}"
    );
    let inspect = stdout(&s.run(&["plugin", "inspect", "facebook"], 0));
    assert!(inspect.contains("https://graph.facebook.com"), "{inspect}");
    assert!(
        inspect.contains(&format!("{CREDENTIAL} (set)")),
        "{inspect}"
    );
}

#[test]
fn facebook_comments_and_reactions_make_a_verified_draw() {
    let m = facebook::start_blocking(facebook::Config {
        comments: 180,
        anonymous_every: 10,
        hidden_every: 7,
        short_pages: true,
        empty_page_at: Some(2),
        reactions: 140,
        public_origin: Some(facebook::PRODUCTION_ORIGIN.to_owned()),
        ..facebook::Config::default()
    });
    let relay = drand::start_blocking(drand::Config::default());
    let s = scene(&[
        (facebook::PRODUCTION_ORIGIN, &m.origin),
        (drand::PRODUCTION_ORIGIN, &relay.origin),
    ]);
    let url = post_url();
    let config = m.config();

    let out = s.run(&fetch(&url, "comments", "comments.jsonl", &[]), 0);
    let comments = s.jsonl("comments.jsonl");
    assert_eq!(ids_and_times(&comments), expected_comments(&config));
    assert_eq!(comments.len(), 180 - 18, "every 10th comment has no author");
    assert!(comments.iter().all(|e| e["platform"] == "facebook"
        && e["collection"] == "comments"
        && e["handle"] == format!("@{}", e["user_id"].as_str().unwrap_or_default())));
    // Hidden comments are kept (config skip_hidden is false).
    let hidden = config
        .toplevel()
        .into_iter()
        .find(|c| c.hidden)
        .expect("a hidden comment");
    assert!(
        comments
            .iter()
            .any(|e| e["created_at"] == facebook::rfc3339(&hidden.created_time))
    );
    // Tags are @id mentions; the text is otherwise as typed.
    let tagged = comments
        .iter()
        .filter_map(|e| e["text"].as_str())
        .find(|t| t.contains(&format!("@{}", facebook::PAGE_ID)))
        .expect("a comment tagging the Page");
    assert!(
        tagged.ends_with(&format!(
            "@{} @{}",
            facebook::PAGE_USERNAME,
            facebook::PAGE_ID
        )),
        "{tagged}"
    );
    assert!(
        comments
            .iter()
            .any(|e| e["text"] == "Me & my friends <3 #Giveaway")
    );
    // The left-out comments are named in the log the user sees.
    assert!(
        stderr(&out).contains("without an author id"),
        "{}",
        stderr(&out)
    );
    // 100, the empty page 2, 80: three pages; the username was resolved once.
    let requests = m.requests();
    let comment_pages = requests
        .iter()
        .filter(|r| r.path.ends_with("/comments"))
        .count();
    assert_eq!(comment_pages, 3);
    assert!(
        requests
            .iter()
            .all(|r| r.query_param("access_token").is_none())
    );
    assert_eq!(
        m.credentials_seen(),
        BTreeSet::from([
            format!("Bearer {}", facebook::TOKEN),
            facebook::TOKEN.to_owned()
        ])
    );

    s.run(&fetch(&url, "likes", "likes.jsonl", &[]), 0);
    let likes = s.jsonl("likes.jsonl");
    let expected: Vec<_> = config
        .reactions_list()
        .into_iter()
        .map(|r| (r.person.id, r.kind.to_owned()))
        .collect();
    let got: Vec<_> = likes
        .iter()
        .map(|e| {
            (
                e["user_id"].as_str().unwrap_or_default().to_owned(),
                e["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert!(
        likes.iter().all(|e| e["collection"] == "likes"
            && e["created_at"] == facebook::rfc3339(facebook::POST_TIME))
    );

    // The Page is the organizer (by its user id on facebook); a
    // #giveaway comment, and a reaction, are required.
    let rules = format!(
        r##"{{"winners": 3, "alternates": 1, "collection": "comments", "organizer": "facebook:{}",
            "keywords": {{"any": ["#giveaway"]}}, "require_in": ["likes"], "entries_per_user": 1}}"##,
        facebook::PAGE_ID
    );
    let lock_hash = s.lock(
        &["comments.jsonl", "likes.jsonl"],
        &rules,
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
}

#[test]
fn facebook_waits_out_a_throttle_and_resumes_after_an_interruption() {
    let m = facebook::start_blocking(facebook::Config {
        comments: 250,
        throttle_code: 4,
        faults: mock::Faults {
            rate_limit_first: 1,
            rate_limit_reset_secs: 0,
            ..mock::Faults::default()
        },
        ..facebook::Config::default()
    });
    let s = scene(&[(facebook::PRODUCTION_ORIGIN, &m.origin)]);
    let url = facebook::POST_ID;

    // #4 with no wait given: the host backs off and retries.
    let out = s.run(&fetch(url, "comments", "all.jsonl", &[]), 0);
    let err = stderr(&out);
    assert!(
        err.contains("rate limited") && err.contains("waiting"),
        "{err}"
    );
    assert!(
        err.contains("(#4) Application request limit reached"),
        "{err}"
    );
    let expected = expected_comments(&m.config());
    assert_eq!(ids_and_times(&s.jsonl("all.jsonl")), expected);

    // Interrupted at --max-entries after whole pages.
    m.configure(|c| c.faults = mock::Faults::default());
    m.reset();
    let out = s.run(
        &fetch(url, "comments", "c.jsonl", &["--max-entries", "100"]),
        0,
    );
    assert!(stdout(&out).contains("--resume"), "{}", stdout(&out));
    assert_eq!(s.jsonl("c.jsonl").len(), 100);

    // Then throttled by the Page's business use case for 2 minutes, more
    // than --max-wait allows: the host gives up and keeps the pages so far.
    m.configure(|c| {
        c.throttle_code = 80001;
        c.faults = mock::Faults {
            rate_limit_first: 1000,
            rate_limit_reset_secs: 120,
            ..mock::Faults::default()
        };
    });
    m.reset();
    let out = s.run(
        &fetch(url, "comments", "c.jsonl", &["--resume", "--max-wait", "5"]),
        2,
    );
    let err = stderr(&out);
    assert!(err.contains("gave up") && err.contains("(#80001)"), "{err}");
    assert!(
        err.contains("120 s"),
        "the Business Use Case wait is honoured: {err}"
    );
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(m.request_count(), 1, "not retried before the wait");
    assert_eq!(s.jsonl("c.jsonl.partial").len(), 100);

    m.configure(|c| c.faults = mock::Faults::default());
    let out = s.run(&fetch(url, "comments", "c.jsonl", &["--resume"]), 0);
    assert!(
        stderr(&out).contains("Resuming after 100 entries"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ids_and_times(&s.jsonl("c.jsonl")), expected);
    assert!(!s.path("c.jsonl.resume.json").exists() && !s.path("c.jsonl.partial").exists());
}

#[test]
fn facebook_refused_and_expired_tokens_stop_naming_the_variable() {
    let m = facebook::start_blocking(facebook::Config::default());
    let mut s = scene(&[(facebook::PRODUCTION_ORIGIN, &m.origin)]);
    for (token, says) in [
        ("EAAnot-the-token", "Cannot parse access token"),
        (facebook::EXPIRED_TOKEN, "has expired"),
    ] {
        m.reset();
        s.set_env(CREDENTIAL, token);
        let out = s.run(&fetch(facebook::POST_ID, "comments", "c.jsonl", &[]), 2);
        let err = stderr(&out);
        assert!(err.contains(CREDENTIAL), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!s.path("c.jsonl").exists() && !s.path("c.jsonl.partial").exists());
        assert_eq!(m.request_count(), 1, "a refused token is not retried");
    }
    // A post URL that is not Facebook's is refused before any request.
    m.reset();
    let out = s.run(
        &fetch("https://mastodon.social/@a/1", "comments", "c.jsonl", &[]),
        2,
    );
    assert!(
        stderr(&out).contains("does not accept the post"),
        "{}",
        stderr(&out)
    );
    let out = s.run(&fetch(facebook::POST_ID, "followers", "f.jsonl", &[]), 2);
    assert!(
        stderr(&out).contains("cannot list followers"),
        "{}",
        stderr(&out)
    );
    assert_eq!(m.request_count(), 0);
}
