//! The x plugin through the real `fairdraw` binary, against the X mock
//! (`fairdraw_tests::mock::x`): `plugin install`, `fetch` with a rate limit
//! waited out (X's `x-rate-limit-reset`), entries whose mentions are X's own
//! (`min_mentions` counts them), a draw that locks, executes and verifies,
//! `--resume` after a usage cap interrupted a fetch, and a refused token.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fairdraw_tests::mock::{self, drand, x as mock_x};
use serde_json::Value;

use crate::bin::{fairdraw, workspace};
use crate::plugins::{Scene, data_dir, run_in, stderr, stdout};

/// A data directory with `x` and `drand` installed (once per process).
fn x_data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Builds and installs the first-party plugins (drand among them).
        data_dir();
        let root = workspace();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(&cargo)
            .args([
                "build",
                "--manifest-path",
                "plugins/Cargo.toml",
                "--target",
                "wasm32-wasip2",
                "--release",
                "-p",
                "x",
                "--target-dir",
            ])
            .arg(root.join("plugins/target"))
            .current_dir(&root)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
        assert!(status.success(), "building the x plugin failed ({status})");
        let dir = fairdraw()
            .parent()
            .expect("profile directory")
            .join("e2e-plugins-x");
        let _ = std::fs::remove_dir_all(dir.join("plugins"));
        for p in ["x", "drand"] {
            let out = run_in(
                &root,
                &[("FAIRDRAW_DATA_DIR", dir.display().to_string())],
                &["plugin", "install", &format!("plugins/{p}")],
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "install {p}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        dir
    })
}

/// A scene with the x plugin installed, its origin (and drand's) mapped to
/// the mocks, and the mock's bearer token set.
fn scene(x: &mock::MockHandle<mock_x::Config>, relay: Option<&str>) -> Scene {
    let mut origins = vec![(mock_x::PRODUCTION_ORIGIN, x.origin.as_str())];
    if let Some(relay) = relay {
        origins.push((drand::PRODUCTION_ORIGIN, relay));
    }
    let mut s = Scene::new(&origins);
    s.set_env("FAIRDRAW_DATA_DIR", &x_data_dir().display().to_string());
    s.set_env("FAIRDRAW_CREDENTIAL_X_BEARER_TOKEN", mock_x::BEARER_TOKEN);
    s
}

fn post_url() -> String {
    format!(
        "https://x.com/{}/status/{}",
        mock_x::AUTHOR,
        mock_x::POST_ID
    )
}

fn fetch_args<'a>(url: &'a str, collection: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "fetch",
        "--plugin",
        "x",
        "--post",
        url,
        "--collection",
        collection,
        "--out",
        out,
    ]
}

fn user_ids(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["user_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn x_replies_and_likes_fetched_through_the_plugin_make_a_verified_draw() {
    let m = mock_x::start_blocking(mock_x::Config {
        faults: mock::Faults {
            rate_limit_first: 1,
            rate_limit_reset_secs: 1,
            ..mock::Faults::default()
        },
        ..mock_x::Config::default()
    });
    let relay = drand::start_blocking(drand::Config::default());
    let s = scene(&m, Some(&relay.origin));
    let url = post_url();

    let inspect = stdout(&s.run(&["plugin", "inspect", "x"], 0));
    assert!(
        inspect.contains("FAIRDRAW_CREDENTIAL_X_BEARER_TOKEN (set)"),
        "{inspect}"
    );

    // The first request is rate-limited; the host waits for x-rate-limit-reset.
    let out = s.run(&fetch_args(&url, "comments", "comments.jsonl"), 0);
    let err = stderr(&out);
    assert!(
        err.contains("rate limited") && err.contains("waiting"),
        "{err}"
    );
    let comments = s.jsonl("comments.jsonl");
    let config = m.config();
    let direct: Vec<mock_x::Tweet> = config
        .conversation()
        .into_iter()
        .filter(|t| !t.deleted && !t.suspended && t.is_direct_reply(mock_x::POST_ID))
        .collect();
    let expected: Vec<String> = direct.iter().map(|t| t.author.id.clone()).collect();
    assert_eq!(user_ids(&comments), expected);
    assert!(
        comments
            .iter()
            .all(|e| e["platform"] == "x" && e["collection"] == "comments")
    );
    assert_eq!(comments[0]["created_at"], direct[0].created_at.as_str());
    assert_eq!(
        comments[0]["handle"],
        format!("@{}", direct[0].author.username)
    );
    assert!(
        comments
            .iter()
            .all(|e| !e["text"].as_str().unwrap_or_default().contains("&amp;"))
    );

    let out = s.run(&fetch_args(&url, "likes", "likes.jsonl"), 0);
    let likes = s.jsonl("likes.jsonl");
    let liker_ids: BTreeSet<String> = config.liking_users().into_iter().map(|u| u.id).collect();
    assert_eq!(
        user_ids(&likes).into_iter().collect::<BTreeSet<_>>(),
        liker_ids
    );
    assert!(
        stdout(&out).contains(&format!("Fetched {} likes", liker_ids.len())),
        "{}",
        stdout(&out)
    );

    // The token went only where the manifest says, and nowhere else.
    assert_eq!(
        m.credentials_seen(),
        BTreeSet::from([
            format!("Bearer {}", mock_x::BEARER_TOKEN),
            mock_x::BEARER_TOKEN.to_owned()
        ])
    );
    for file in ["comments.jsonl", "likes.jsonl"] {
        let text = std::fs::read_to_string(s.path(file)).expect("entries");
        assert!(!text.contains(mock_x::BEARER_TOKEN));
    }

    // min_mentions counts X's mentions only: the `@nobody_N` in every reply
    // is no account, and the organizer's handle X prepends does not count.
    let no_tags = direct.iter().filter(|t| t.tagged.is_empty()).count();
    let not_liked = direct
        .iter()
        .filter(|t| !t.tagged.is_empty() && !liker_ids.contains(&t.author.id))
        .count();
    assert!(no_tags > 0 && not_liked > 0);
    let rules = r##"{"winners": 2, "alternates": 1, "collection": "comments", "organizer": "x:@fairdrawbrand",
        "keywords": {"any": ["#giveaway"]}, "min_mentions": 1, "require_in": ["likes"]}"##;
    s.run(&["keygen", "--out", "key.json"], 0);
    std::fs::write(s.path("rules.json"), rules).expect("rules");
    let out = s.run(
        &[
            "lock",
            "--entries",
            "comments.jsonl",
            "likes.jsonl",
            "--rules",
            "rules.json",
            "--key",
            "key.json",
            "--randomness",
            "drand:default:2634945",
            "--at",
            "2023-01-23T13:00:00Z",
            "--id",
            "e2e-x",
            "--out",
            "lock.json",
        ],
        0,
    );
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!("min_mentions: {no_tags}")),
        "{no_tags} replies tag nobody:\n{printed}"
    );
    assert!(
        printed.contains(&format!("require_in: {not_liked}")),
        "{not_liked} taggers did not like:\n{printed}"
    );
    let lock_hash = printed
        .lines()
        .find_map(|l| l.strip_prefix("Lock hash:"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("lock prints its hash")
        .to_owned();
    s.run(
        &[
            "beacon",
            "--plugin",
            "drand",
            "--chain",
            "default",
            "--round",
            "2634945",
            "--out",
            "beacon.json",
        ],
        0,
    );
    s.execute_and_verify("beacon.json", &lock_hash);
}

#[test]
fn x_fetch_interrupted_by_the_usage_cap_resumes_and_a_bad_token_stops() {
    let m = mock_x::start_blocking(mock_x::Config {
        quotes: 130,
        empty_page: Some(2),
        ..mock_x::Config::default()
    });
    let mut s = scene(&m, None);
    let url = post_url();
    let fetch = |extra: &[&str], code| {
        let mut args = fetch_args(&url, "reposts", "r.jsonl");
        args.extend_from_slice(extra);
        s.run(&args, code)
    };

    // Stop after the first page, then the monthly cap interrupts the rest.
    fetch(&["--max-entries", "10"], 0);
    let first = s.jsonl("r.jsonl").len();
    assert_eq!(first, 40, "the retweeters' page");
    m.configure(|c| c.usage_capped = true);
    let out = fetch(&["--resume", "--max-wait", "2"], 2);
    let err = stderr(&out);
    assert!(
        err.contains("Usage cap exceeded") && err.contains("gave up"),
        "{err}"
    );
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(s.jsonl("r.jsonl.partial").len(), first);

    m.configure(|c| c.usage_capped = false);
    let out = fetch(&["--resume"], 0);
    assert!(
        stderr(&out).contains(&format!("Resuming after {first} entries")),
        "{}",
        stderr(&out)
    );
    let all = s.jsonl("r.jsonl");
    let config = m.config();
    let expected: Vec<String> = config
        .retweeted_by()
        .into_iter()
        .map(|u| u.id)
        .chain(config.quote_tweets().into_iter().map(|q| q.author.id))
        .collect();
    assert_eq!(user_ids(&all), expected);
    let quotes = &all[config.retweets..];
    assert_eq!(
        quotes[0]["text"].as_str(),
        Some(config.quote_tweets()[0].text.as_str())
    );
    assert!(!s.path("r.jsonl.resume.json").exists() && !s.path("r.jsonl.partial").exists());

    // A refused token stops at once, naming the variable, and is not retried.
    m.reset();
    s.set_env("FAIRDRAW_CREDENTIAL_X_BEARER_TOKEN", mock_x::EXPIRED_TOKEN);
    let out = s.run(&fetch_args(&url, "comments", "c.jsonl"), 2);
    let err = stderr(&out);
    assert!(err.contains("FAIRDRAW_CREDENTIAL_X_BEARER_TOKEN"), "{err}");
    assert!(err.contains("Unauthorized"), "{err}");
    assert!(!s.path("c.jsonl").exists());
    assert_eq!(m.request_count(), 1);
}
