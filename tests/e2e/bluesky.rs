//! The `bluesky` plugin through the real `fairdraw` binary, against the
//! AppView mock of `fairdraw_tests::mock::bluesky`: `plugin install`,
//! `fetch` of replies, likes and followers (an entrant who changed handle
//! stays one entrant), a rate limit waited out, a `--resume` after an
//! interruption, a refused token, and a fetched draw that locks, executes
//! and verifies.
//!
//! The plugin (and `drand`, for the beacon) are built from source and
//! installed once per test process into `<target>/<profile>/e2e-plugins-bluesky/`,
//! beside a variant `bluesky-auth` that reads the authenticated AppView
//! with a token, as `plugins/bluesky/plugin.toml` documents.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fairdraw_tests::mock::{self, bluesky, drand};
use serde_json::Value;

use crate::bin::{fairdraw, workspace};
use crate::plugins::{Scene, run_in, stderr, stdout};

const PLUGINS: [&str; 2] = ["bluesky", "drand"];

/// The data directory with `bluesky`, `bluesky-auth` and `drand` installed.
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
            .join("e2e-plugins-bluesky");
        let _ = fs::remove_dir_all(dir.join("plugins"));
        let env = [("FAIRDRAW_DATA_DIR", dir.display().to_string())];
        for p in PLUGINS {
            let out = run_in(&root, &env, &["plugin", "install", &format!("plugins/{p}")]);
            assert_eq!(out.status.code(), Some(0), "install {p}: {}", stderr(&out));
        }
        let variant = dir.join("variants/bluesky-auth");
        fs::create_dir_all(&variant).expect("variant directory");
        let component = root.join("plugins/target/wasm32-wasip2/release/bluesky.wasm");
        let manifest = fs::read_to_string(root.join("plugins/bluesky/plugin.toml"))
            .expect("bluesky manifest")
            .replace("id = \"bluesky\"", "id = \"bluesky-auth\"")
            .replace(
                "component = \"../target/wasm32-wasip2/release/bluesky.wasm\"",
                &format!("component = {:?}", component.display().to_string()),
            )
            .replace(
                "appview = \"https://public.api.bsky.app\"",
                "appview = \"https://api.bsky.app\"",
            );
        assert!(
            manifest.contains("id = \"bluesky-auth\"")
                && manifest.contains("appview = \"https://api.bsky.app\"")
                && manifest.contains("name = \"access_token\""),
            "the bluesky manifest changed shape:\n{manifest}"
        );
        fs::write(variant.join("plugin.toml"), manifest).expect("write variant manifest");
        let out = run_in(
            &root,
            &env,
            &["plugin", "install", &variant.display().to_string()],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "install bluesky-auth: {}",
            stderr(&out)
        );
        dir
    })
}

/// A scene whose plugins are this module's, with the AppView origins (and
/// any others) mapped to mocks.
fn scene(origins: &[(&str, &str)]) -> Scene {
    let mut s = Scene::new(origins);
    s.set_env("FAIRDRAW_DATA_DIR", &data_dir().display().to_string());
    s
}

fn fetch<'a>(collection: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    static URL: OnceLock<String> = OnceLock::new();
    let url = URL.get_or_init(bluesky::post_url);
    let mut args = vec![
        "fetch",
        "--plugin",
        "bluesky",
        "--post",
        url.as_str(),
        "--collection",
        collection,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

fn user_ids(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["user_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn bluesky_install_and_inspect() {
    let s = scene(&[]);
    let list = stdout(&s.run(&["plugin", "list"], 0));
    for p in ["bluesky", "bluesky-auth", "drand"] {
        assert!(
            list.lines().any(|l| l.starts_with(p)),
            "{p} missing:\n{list}"
        );
    }
    let inspect = stdout(&s.run(&["plugin", "inspect", "bluesky"], 0));
    assert!(inspect.contains("https://public.api.bsky.app"), "{inspect}");
    assert!(
        inspect.contains("FAIRDRAW_CREDENTIAL_BLUESKY_ACCESS_TOKEN"),
        "{inspect}"
    );
}

#[test]
fn bluesky_replies_and_likes_make_a_verified_draw_across_a_handle_change() {
    let m = bluesky::start_blocking(bluesky::Config {
        comments: 60,
        max_replies: 3,
        deep_chain: 12,
        likes: 150,
        ..bluesky::Config::default()
    });
    let relay = drand::start_blocking(drand::Config::default());
    let s = scene(&[
        (bluesky::PRODUCTION_ORIGIN, &m.origin),
        (drand::PRODUCTION_ORIGIN, &relay.origin),
    ]);
    let c = m.config();
    let thread = c.thread();

    s.run(&fetch("comments", "comments.jsonl", &[]), 0);
    let comments = s.jsonl("comments.jsonl");
    let direct: Vec<_> = thread.iter().filter(|r| r.depth == 1).collect();
    assert_eq!(
        user_ids(&comments),
        direct
            .iter()
            .map(|r| r.account.did.clone())
            .collect::<Vec<_>>()
    );
    assert!(
        comments
            .iter()
            .all(|e| e["platform"] == "bluesky" && e["collection"] == "comments")
    );
    // Mentions are the facets': an unresolved `@ghost.example` is defused.
    let ghost = comments
        .iter()
        .find_map(|e| e["text"].as_str().filter(|t| t.contains("ghost")))
        .expect("a reply with @ghost");
    assert!(ghost.contains("@\u{2060}ghost.example"), "{ghost}");
    assert!(ghost.contains(" @fan"), "{ghost}");

    s.run(&fetch("replies", "replies.jsonl", &[]), 0);
    let mut got = user_ids(&s.jsonl("replies.jsonl"));
    let mut expected: Vec<_> = thread
        .iter()
        .filter(|r| r.depth > 1)
        .map(|r| r.account.did.clone())
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "the deep chain is followed past depth 10");

    // An entrant who replied changes handle before liking: the like has the
    // new handle, the same DID, and so counts for `require_in`.
    let pool = c.accounts.max(c.likes);
    let (index, entrant) = direct
        .iter()
        .find_map(|r| {
            let i = (0..pool).find(|&i| c.account(i).did == r.account.did)?;
            let good = i < c.likes
                && r.text.to_lowercase().contains("#giveaway")
                && r.mentions.iter().any(|m| m.did != r.account.did);
            good.then(|| (i, r.account.clone()))
        })
        .expect("a commenter who also likes");
    m.configure(|c| c.renamed = vec![index]);
    s.run(&fetch("likes", "likes.jsonl", &[]), 0);
    let likes = s.jsonl("likes.jsonl");
    assert_eq!(likes.len(), 150);
    let like = likes
        .iter()
        .find(|e| e["user_id"] == entrant.did.as_str())
        .expect("the entrant's like");
    let renamed = format!(
        "@{}",
        entrant.handle.replace(".bsky.social", "-new.bsky.social")
    );
    assert_eq!(like["handle"], renamed.as_str());

    let rules = r##"{"winners": 3, "alternates": 1, "collection": "comments", "require_in": ["likes"], "min_mentions": 1, "keywords": {"any": ["#giveaway"]}}"##;
    let lock_hash = s.lock(
        &["comments.jsonl", "replies.jsonl", "likes.jsonl"],
        rules,
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
    // Eligible under the old handle, thanks to the like under the new one.
    let old = format!("@{}", entrant.handle);
    let out = s.run(&["prove", "bundle.json", "--entrant", &old], 0);
    assert!(!stdout(&out).is_empty());
}

#[test]
fn bluesky_rate_limits_are_waited_out_and_an_interrupted_fetch_resumes() {
    let m = bluesky::start_blocking(bluesky::Config {
        followers: 250,
        faults: mock::Faults {
            rate_limit_first: 1,
            rate_limit_reset_secs: 1,
            ..mock::Faults::default()
        },
        ..bluesky::Config::default()
    });
    let s = scene(&[(bluesky::PRODUCTION_ORIGIN, &m.origin)]);
    let expected: Vec<String> = m
        .config()
        .follower_accounts()
        .into_iter()
        .map(|a| a.did)
        .collect();

    let out = s.run(&fetch("followers", "all.jsonl", &[]), 0);
    let err = stderr(&out);
    assert!(
        err.contains("rate limited") && err.contains("waiting"),
        "{err}"
    );
    assert_eq!(user_ids(&s.jsonl("all.jsonl")), expected);

    // Interrupted after the first page; then the AppView rate-limits for
    // longer than --max-wait: the pages so far are kept; then it recovers.
    m.configure(|c| c.faults = mock::Faults::default());
    m.reset();
    let out = s.run(&fetch("followers", "f.jsonl", &["--max-entries", "100"]), 0);
    assert!(stdout(&out).contains("--resume"), "{}", stdout(&out));
    assert_eq!(s.jsonl("f.jsonl").len(), 100);
    m.configure(|c| {
        c.faults = mock::Faults {
            rate_limit_first: 50,
            rate_limit_reset_secs: 120,
            ..mock::Faults::default()
        }
    });
    m.reset();
    let out = s.run(
        &fetch("followers", "f.jsonl", &["--resume", "--max-wait", "2"]),
        2,
    );
    let err = stderr(&out);
    assert!(
        err.contains("gave up") && err.contains("RateLimitExceeded"),
        "{err}"
    );
    assert_eq!(s.jsonl("f.jsonl.partial").len(), 100);

    m.configure(|c| c.faults = mock::Faults::default());
    m.reset();
    let out = s.run(&fetch("followers", "f.jsonl", &["--resume"]), 0);
    assert!(
        stderr(&out).contains("Resuming after 100 entries"),
        "{}",
        stderr(&out)
    );
    assert_eq!(user_ids(&s.jsonl("f.jsonl")), expected);
    // The cursor carried the resolved DID and the post's time: the resumed
    // fetch asked only for followers.
    assert!(
        m.requests()
            .iter()
            .all(|r| r.path == "/xrpc/app.bsky.graph.getFollowers"),
        "{:#?}",
        m.requests()
    );
    assert!(!s.path("f.jsonl.resume.json").exists());
}

#[test]
fn bluesky_refused_tokens_stop_at_once_naming_the_variable() {
    let m = bluesky::start_blocking(bluesky::Config::default());
    let mut s = scene(&[(bluesky::AUTHENTICATED_ORIGIN, &m.origin)]);
    let url = bluesky::post_url();
    let args = |out: &'static str| {
        vec![
            "fetch".to_owned(),
            "--plugin".into(),
            "bluesky-auth".into(),
            "--post".into(),
            url.clone(),
            "--collection".into(),
            "reposts".into(),
            "--out".into(),
            out.into(),
        ]
    };
    for (token, said) in [
        (bluesky::EXPIRED_TOKEN, "ExpiredToken: Token has expired"),
        ("not-a-jwt", "InvalidToken: Malformed token"),
    ] {
        m.reset();
        s.set_env("FAIRDRAW_CREDENTIAL_BLUESKY__AUTH_ACCESS_TOKEN", token);
        let a = args("r.jsonl");
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = s.run(&a, 2);
        let err = stderr(&out);
        assert!(err.contains(said), "{err}");
        assert!(
            err.contains("FAIRDRAW_CREDENTIAL_BLUESKY__AUTH_ACCESS_TOKEN"),
            "{err}"
        );
        assert_eq!(m.request_count(), 1, "not retried");
        assert_eq!(
            m.credentials_seen(),
            BTreeSet::from([format!("Bearer {token}"), token.to_owned()])
        );
        assert!(!s.path("r.jsonl").exists() && !s.path("r.jsonl.partial").exists());
    }
    s.set_env(
        "FAIRDRAW_CREDENTIAL_BLUESKY__AUTH_ACCESS_TOKEN",
        bluesky::TOKEN,
    );
    m.configure(|c| c.require_auth = true);
    let a = args("r.jsonl");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    s.run(&a, 0);
    let c = m.config();
    assert_eq!(s.jsonl("r.jsonl").len(), c.reposts + c.quotes);
}
