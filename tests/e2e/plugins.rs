//! The plugin commands (`plugin`, `fetch`, `beacon`) of the real `fairdraw`
//! binary, with the first-party plugins, against the mock platforms of
//! `fairdraw_tests::mock`: fetched entries go through `lock`, `execute` and
//! `verify`; a beacon fetched by the drand plugin is accepted by `execute`
//! and a tampered one refused; bad credentials, rate limits, outages and
//! `--resume` behave as documented.
//!
//! The plugins are built from source (`cargo build --manifest-path
//! plugins/Cargo.toml --target wasm32-wasip2 --release`) and installed once
//! per test process into `<target>/<profile>/e2e-plugins/`, whose compile
//! cache survives between runs. `FAIRDRAW_DEV_ORIGIN_MAP` sends each
//! plugin's production origin to the test's own mock server.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use fairdraw_tests::mock::{self, drand, mastodon, youtube};
use serde_json::Value;

use crate::bin::{fairdraw, workspace};

/// The first-party plugins the tests install, by directory under plugins/.
const PLUGINS: [&str; 3] = ["youtube", "mastodon", "drand"];

/// The data directory with the plugins installed (built and installed once).
///
/// Besides the first-party manifests it installs `mastodon-auth`: the same
/// component with an access-token credential, as the mastodon manifest
/// documents, so the invalid-token path can be tested.
pub(crate) fn data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(&cargo);
        build
            .args(["build", "--manifest-path", "plugins/Cargo.toml", "--target", "wasm32-wasip2", "--release", "--target-dir"])
            .arg(root.join("plugins/target"))
            .current_dir(&root);
        for p in PLUGINS {
            build.args(["-p", p]);
        }
        eprintln!("e2e: building the plugins for wasm32-wasip2");
        let status = build.status().unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
        assert!(status.success(), "building the plugins failed ({status}); is the wasm32-wasip2 target installed?");

        let dir = fairdraw().parent().expect("profile directory").join("e2e-plugins");
        let _ = fs::remove_dir_all(dir.join("plugins"));
        for p in PLUGINS {
            let out = run_in(&root, &[("FAIRDRAW_DATA_DIR", dir.display().to_string())], &["plugin", "install", &format!("plugins/{p}")]);
            assert_eq!(out.status.code(), Some(0), "install {p}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let variant = dir.join("variants/mastodon-auth");
        fs::create_dir_all(&variant).expect("variant directory");
        let component = root.join("plugins/target/wasm32-wasip2/release/mastodon.wasm");
        let manifest = fs::read_to_string(root.join("plugins/mastodon/plugin.toml"))
            .expect("mastodon manifest")
            .replace("id = \"mastodon\"", "id = \"mastodon-auth\"")
            .replace("component = \"../target/wasm32-wasip2/release/mastodon.wasm\"", &format!("component = {:?}", component.display().to_string()))
            .replace(
                "[config]",
                "[[credentials]]\nname = \"access_token\"\norigin = \"https://mastodon.social\"\nheader = \"Authorization\"\nformat = \"Bearer {}\"\n\n[config]",
            );
        assert!(manifest.contains("mastodon-auth") && manifest.contains("access_token\""), "the mastodon manifest changed shape:\n{manifest}");
        fs::write(variant.join("plugin.toml"), manifest).expect("write variant manifest");
        let out = run_in(&root, &[("FAIRDRAW_DATA_DIR", dir.display().to_string())], &["plugin", "install", &variant.display().to_string()]);
        assert_eq!(out.status.code(), Some(0), "install mastodon-auth: {}", String::from_utf8_lossy(&out.stderr));
        dir
    })
}

/// Runs `fairdraw ARGS` in `dir` with no inherited `FAIRDRAW_*` variables
/// but `env`.
pub(crate) fn run_in(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut cmd = Command::new(fairdraw());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("FAIRDRAW_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().expect("spawn fairdraw");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "fairdraw {args:?} panicked:\n{stderr}"
    );
    out
}

/// A scratch directory, and the environment pointing the plugins at mocks.
pub(crate) struct Scene {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Scene {
    /// `origins`: (production origin, mock) pairs for FAIRDRAW_DEV_ORIGIN_MAP.
    pub(crate) fn new(origins: &[(&str, &str)]) -> Scene {
        let map: Vec<String> = origins
            .iter()
            .map(|(prod, mock)| format!("{prod}={mock}"))
            .collect();
        let env = vec![
            ("FAIRDRAW_DATA_DIR", data_dir().display().to_string()),
            ("FAIRDRAW_DEV_ORIGIN_MAP", map.join(",")),
            (
                "FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY",
                youtube::API_KEY.to_owned(),
            ),
            (
                "FAIRDRAW_CREDENTIAL_MASTODON__AUTH_ACCESS_TOKEN",
                mastodon::TOKEN.to_owned(),
            ),
        ];
        Scene {
            dir: tempfile::tempdir().expect("temporary directory"),
            env,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn set_env(&mut self, key: &'static str, value: &str) {
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.to_owned()));
    }

    /// Runs `fairdraw ARGS`; panics unless it exits with `code`.
    pub(crate) fn run(&self, args: &[&str], code: i32) -> Output {
        let out = run_in(self.dir.path(), &self.env, args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "fairdraw {args:?}\n--- stdout\n{}--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The JSON Lines file `name`, one value per line.
    pub(crate) fn jsonl(&self, name: &str) -> Vec<Value> {
        fs::read_to_string(self.path(name))
            .unwrap_or_else(|e| panic!("read {name}: {e}"))
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    pub(crate) fn write(&self, name: &str, text: &str) {
        fs::write(self.path(name), text).expect("write file");
    }

    /// keygen, lock ENTRIES with RULES and RANDOMNESS at AT; returns the lock hash.
    pub(crate) fn lock(&self, entries: &[&str], rules: &str, randomness: &str, at: &str) -> String {
        if !self.path("key.json").exists() {
            self.run(&["keygen", "--out", "key.json"], 0);
        }
        self.write("rules.json", rules);
        let mut args = vec!["lock", "--entries"];
        args.extend_from_slice(entries);
        args.extend_from_slice(&[
            "--rules",
            "rules.json",
            "--key",
            "key.json",
            "--randomness",
            randomness,
            "--at",
            at,
            "--id",
            "e2e-plugins",
            "--out",
            "lock.json",
        ]);
        let out = self.run(&args, 0);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("Lock hash:"))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("lock prints its hash")
            .to_owned()
    }

    /// execute with BEACON, then verify pinned to the lock hash.
    pub(crate) fn execute_and_verify(&self, beacon: &str, lock_hash: &str) {
        self.run(
            &[
                "execute",
                "lock.json",
                "--key",
                "key.json",
                "--beacon",
                beacon,
                "--out",
                "bundle.json",
            ],
            0,
        );
        self.run(&["verify", "bundle.json", "--lock-hash", lock_hash], 0);
    }
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (user_id, created_at, text) of each fetched entry.
fn summary(entries: &[Value]) -> Vec<(String, String, String)> {
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("user_id"), s("created_at"), s("text"))
        })
        .collect()
}

const QUICKNET_RULES: &str = r#"{"winners": 3, "alternates": 1, "collection": "comments"}"#;

#[test]
fn plugin_list_and_inspect_show_the_installed_plugins() {
    let s = Scene::new(&[]);
    let list = stdout(&s.run(&["plugin", "list"], 0));
    for p in ["youtube", "mastodon", "drand", "mastodon-auth"] {
        assert!(
            list.lines().any(|l| l.starts_with(p)),
            "{p} missing from:\n{list}"
        );
    }
    let inspect = stdout(&s.run(
        &[
            "plugin",
            "inspect",
            "youtube",
            "--data-dir",
            &data_dir().display().to_string(),
        ],
        0,
    ));
    assert!(
        inspect.contains("FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY (set)"),
        "{inspect}"
    );
    assert!(inspect.contains("https://www.googleapis.com"), "{inspect}");
    assert!(
        inspect.contains("fairdraw:plugin/source@0.1.0"),
        "{inspect}"
    );
    let missing = s.run(&["plugin", "inspect", "nope"], 2);
    assert!(
        stderr(&missing).contains("no plugin `nope` is installed"),
        "{}",
        stderr(&missing)
    );
    let empty = tempfile::tempdir().expect("temporary directory");
    let none = stdout(&s.run(
        &[
            "plugin",
            "list",
            "--data-dir",
            &empty.path().display().to_string(),
        ],
        0,
    ));
    assert!(none.contains("No plugins installed"), "{none}");
}

#[test]
fn youtube_comments_fetched_through_the_plugin_make_a_verified_draw() {
    let yt = youtube::start_blocking(youtube::Config {
        comments: 230,
        authors: 150,
        ..youtube::Config::default()
    });
    let relay = drand::start_blocking(drand::Config::default());
    let mut s = Scene::new(&[
        (youtube::PRODUCTION_ORIGIN, &yt.origin),
        (drand::PRODUCTION_ORIGIN, &relay.origin),
    ]);
    let url = format!("https://www.youtube.com/watch?v={}", youtube::VIDEO_ID);
    s.set_env("FAIRDRAW_LOG", "trace");
    let out = s.run(
        &[
            "fetch",
            "--plugin",
            "youtube",
            "--post",
            &url,
            "--collection",
            "comments",
            "--out",
            "comments.jsonl",
        ],
        0,
    );
    let entries = s.jsonl("comments.jsonl");
    let threads = yt.config().threads();
    let expected: Vec<_> = threads
        .iter()
        .map(|t| {
            (
                t.top.author_channel_id.clone(),
                t.top.published_at.clone(),
                t.top.text.clone(),
            )
        })
        .collect();
    assert_eq!(summary(&entries), expected);
    assert!(
        entries
            .iter()
            .all(|e| e["collection"] == "comments" && e["platform"] == "youtube")
    );
    assert_eq!(
        entries[0]["handle"],
        threads[0].top.author_display_name.as_str()
    );
    assert!(
        stdout(&out).contains("Fetched 230 comments"),
        "{}",
        stdout(&out)
    );

    // Three pages of 100, each carrying the key the host injected, and the
    // key appears nowhere the plugin could have written it.
    let requests = yt.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| r.query_param("key") == Some(youtube::API_KEY)),
        "{requests:#?}"
    );
    assert_eq!(
        yt.credentials_seen(),
        BTreeSet::from([youtube::API_KEY.to_owned()])
    );
    let err = stderr(&out);
    assert!(
        !err.contains(youtube::API_KEY),
        "the key leaked into the output:\n{err}"
    );
    assert!(
        !fs::read_to_string(s.path("comments.jsonl"))
            .expect("entries")
            .contains(youtube::API_KEY)
    );
    // Progress, as plain lines when stderr is not a terminal.
    assert!(
        err.contains("youtube comments: page 1, 100 entries"),
        "{err}"
    );
    assert!(
        err.contains("youtube comments: page 3, 230 entries"),
        "{err}"
    );

    // Replies: inline ones and, past five, comments.list.
    yt.reset();
    s.run(
        &[
            "fetch",
            "--plugin",
            "youtube",
            "--post",
            &url,
            "--collection",
            "replies",
            "--out",
            "replies.jsonl",
        ],
        0,
    );
    let replies = s.jsonl("replies.jsonl");
    let expected: Vec<_> = threads
        .iter()
        .flat_map(|t| &t.replies)
        .map(|c| {
            (
                c.author_channel_id.clone(),
                c.published_at.clone(),
                c.text.clone(),
            )
        })
        .collect();
    assert_eq!(summary(&replies), expected);
    assert!(
        yt.requests()
            .iter()
            .any(|r| r.path == "/youtube/v3/comments"),
        "replies past the inline five need comments.list"
    );

    // Lock before quicknet round 123 (2023-08-23T15:15:33Z), fetch that
    // round through the drand plugin, execute and verify.
    let lock_hash = s.lock(
        &["comments.jsonl", "replies.jsonl"],
        QUICKNET_RULES,
        "drand:quicknet:123",
        "2023-08-23T15:00:00Z",
    );
    let beacon = s.run(
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
    assert!(
        stdout(&beacon).contains("signature verified"),
        "{}",
        stdout(&beacon)
    );
    let served = drand::beacon("quicknet", 123).expect("round 123");
    let written: Value =
        serde_json::from_slice(&fs::read(s.path("beacon.json")).expect("beacon")).expect("JSON");
    assert_eq!(
        written,
        serde_json::json!({ "round": 123, "randomness": served.randomness, "signature": served.signature })
    );
    s.execute_and_verify("beacon.json", &lock_hash);
}

#[test]
fn mastodon_comments_and_likes_make_a_verified_draw_on_the_default_chain() {
    let m = mastodon::start_blocking(mastodon::Config {
        favourites: 100,
        public_origin: Some(mastodon::PRODUCTION_ORIGIN.to_owned()),
        ..mastodon::Config::default()
    });
    let relay = drand::start_blocking(drand::Config::default());
    let s = Scene::new(&[
        (mastodon::PRODUCTION_ORIGIN, &m.origin),
        (drand::PRODUCTION_ORIGIN, &relay.origin),
    ]);
    let url = format!(
        "{}/@{}/{}",
        mastodon::PRODUCTION_ORIGIN,
        mastodon::AUTHOR,
        mastodon::STATUS_ID
    );

    s.run(
        &[
            "fetch",
            "--plugin",
            "mastodon",
            "--post",
            &url,
            "--collection",
            "comments",
            "--out",
            "comments.jsonl",
        ],
        0,
    );
    let comments = s.jsonl("comments.jsonl");
    let direct: Vec<_> = m
        .config()
        .descendants()
        .into_iter()
        .filter(|r| r.in_reply_to_id == mastodon::STATUS_ID)
        .collect();
    assert_eq!(
        comments
            .iter()
            .map(|e| e["user_id"].clone())
            .collect::<Vec<_>>(),
        direct
            .iter()
            .map(|r| Value::from(r.account.id.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        comments[1]["handle"],
        format!("@{}", direct[1].account.acct)
    );

    let out = s.run(
        &[
            "fetch",
            "--plugin",
            "mastodon",
            "--post",
            &url,
            "--collection",
            "likes",
            "--out",
            "likes.jsonl",
        ],
        0,
    );
    let likes = s.jsonl("likes.jsonl");
    let expected: Vec<_> = m
        .config()
        .favourited_by()
        .into_iter()
        .map(|a| Value::from(a.id))
        .collect();
    assert_eq!(
        likes
            .iter()
            .map(|e| e["user_id"].clone())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(likes.iter().all(|e| e["collection"] == "likes"));
    let pages: Vec<_> = m
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/favourited_by"))
        .collect();
    assert_eq!(pages.len(), 2, "{pages:#?}");
    assert!(pages[1].query_param("max_id").is_some());
    assert!(
        stderr(&out).contains("mastodon likes: page 2, 100 entries"),
        "{}",
        stderr(&out)
    );
    // The public manifest has no credential: nothing was sent.
    assert!(
        m.credentials_seen().is_empty(),
        "{:?}",
        m.credentials_seen()
    );

    let rules = r#"{"winners": 2, "collection": "comments", "require_in": ["likes"], "min_account_age_days": 7}"#;
    let lock_hash = s.lock(
        &["comments.jsonl", "likes.jsonl"],
        rules,
        "drand:default:2634945",
        "2023-01-23T13:00:00Z",
    );
    s.run(
        &[
            "beacon",
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
fn a_tampered_beacon_is_refused_by_beacon_and_by_execute() {
    let relay = drand::start_blocking(drand::Config {
        tamper: true,
        ..drand::Config::default()
    });
    let s = Scene::new(&[(drand::PRODUCTION_ORIGIN, &relay.origin)]);
    let out = s.run(
        &[
            "beacon",
            "--chain",
            "quicknet",
            "--round",
            "123",
            "--out",
            "beacon.json",
        ],
        2,
    );
    assert!(
        stderr(&out).contains("refusing the beacon from plugin `drand`"),
        "{}",
        stderr(&out)
    );
    assert!(
        !s.path("beacon.json").exists(),
        "a refused beacon must not be written"
    );

    // The same tampered relay answer, saved by hand, is refused by execute.
    let entries: Vec<String> = (0..5)
        .map(|i| format!(r#"{{"platform":"youtube","user_id":"u{i}","handle":"@u{i}","created_at":"2023-08-01T00:00:00Z","collection":"comments"}}"#))
        .collect();
    s.write("entries.jsonl", &entries.join("\n"));
    s.lock(
        &["entries.jsonl"],
        QUICKNET_RULES,
        "drand:quicknet:123",
        "2023-08-23T15:00:00Z",
    );
    let tampered = mock::http::get(
        &format!("{}/{}/public/123", relay.origin, drand::QUICKNET_HASH),
        &[],
    )
    .expect("relay");
    fs::write(s.path("tampered.json"), &tampered.body).expect("write");
    let out = s.run(
        &[
            "execute",
            "lock.json",
            "--key",
            "key.json",
            "--beacon",
            "tampered.json",
            "--out",
            "bundle.json",
        ],
        2,
    );
    assert!(!s.path("bundle.json").exists());
    assert!(
        stderr(&out).to_lowercase().contains("signature"),
        "{}",
        stderr(&out)
    );

    // Untampered, the latest round is served and accepted.
    relay.configure(|c| c.tamper = false);
    let out = s.run(
        &["beacon", "--chain", "quicknet", "--out", "latest.json"],
        0,
    );
    assert!(
        stdout(&out).contains("quicknet round 123"),
        "{}",
        stdout(&out)
    );
    // A round the relay has not published yet is reported as such.
    let out = s.run(
        &[
            "beacon",
            "--chain",
            "quicknet",
            "--round",
            "124",
            "--out",
            "future.json",
        ],
        2,
    );
    assert!(
        stderr(&out).contains("not yet published"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn invalid_credentials_stop_at_once_naming_the_variable() {
    let yt = youtube::start_blocking(youtube::Config::default());
    let m = mastodon::start_blocking(mastodon::Config::default());
    let mut s = Scene::new(&[
        (youtube::PRODUCTION_ORIGIN, &yt.origin),
        (mastodon::PRODUCTION_ORIGIN, &m.origin),
    ]);
    s.set_env("FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY", "not-the-key");
    s.set_env("FAIRDRAW_CREDENTIAL_MASTODON__AUTH_ACCESS_TOKEN", "revoked");

    let url = format!("https://youtu.be/{}", youtube::VIDEO_ID);
    let out = s.run(
        &[
            "fetch",
            "--plugin",
            "youtube",
            "--post",
            &url,
            "--collection",
            "comments",
            "--out",
            "c.jsonl",
        ],
        2,
    );
    let err = stderr(&out);
    assert!(err.contains("FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY"), "{err}");
    assert!(err.contains("API key not valid"), "{err}");
    assert!(!s.path("c.jsonl").exists());
    assert!(
        !s.path("c.jsonl.partial").exists(),
        "nothing fetched, nothing to resume"
    );
    assert_eq!(yt.request_count(), 1, "an invalid key is not retried");
    assert_eq!(
        yt.credentials_seen(),
        BTreeSet::from(["not-the-key".to_owned()])
    );

    let url = format!(
        "{}/@{}/{}",
        mastodon::PRODUCTION_ORIGIN,
        mastodon::AUTHOR,
        mastodon::STATUS_ID
    );
    let out = s.run(
        &[
            "fetch",
            "--plugin",
            "mastodon-auth",
            "--post",
            &url,
            "--collection",
            "likes",
            "--out",
            "l.jsonl",
        ],
        2,
    );
    let err = stderr(&out);
    assert!(
        err.contains("FAIRDRAW_CREDENTIAL_MASTODON__AUTH_ACCESS_TOKEN"),
        "{err}"
    );
    assert!(err.contains("The access token is invalid"), "{err}");
    assert!(
        m.credentials_seen().contains("Bearer revoked"),
        "{:?}",
        m.credentials_seen()
    );

    // With the right token the same plugin reads the whole context (more than
    // the 60 replies an anonymous request gets).
    s.set_env(
        "FAIRDRAW_CREDENTIAL_MASTODON__AUTH_ACCESS_TOKEN",
        mastodon::TOKEN,
    );
    m.configure(|c| c.replies = 90);
    s.run(
        &[
            "fetch",
            "--plugin",
            "mastodon-auth",
            "--post",
            &url,
            "--collection",
            "comments",
            "--out",
            "c2.jsonl",
        ],
        0,
    );
    let direct = m
        .config()
        .descendants()
        .into_iter()
        .filter(|r| r.in_reply_to_id == mastodon::STATUS_ID)
        .count();
    assert_eq!(s.jsonl("c2.jsonl").len(), direct);
}

#[test]
fn rate_limits_and_outages_are_waited_out_and_shown() {
    let m = mastodon::start_blocking(mastodon::Config {
        favourites: 100,
        faults: mock::Faults {
            rate_limit_first: 2,
            rate_limit_reset_secs: 1,
            ..mock::Faults::default()
        },
        ..mastodon::Config::default()
    });
    let yt = youtube::start_blocking(youtube::Config {
        comments: 250,
        faults: mock::Faults {
            rate_limit_first: 1,
            fail_every: Some(3),
            ..mock::Faults::default()
        },
        ..youtube::Config::default()
    });
    let s = Scene::new(&[
        (mastodon::PRODUCTION_ORIGIN, &m.origin),
        (youtube::PRODUCTION_ORIGIN, &yt.origin),
    ]);

    let url = format!(
        "{}/@{}/{}",
        mastodon::PRODUCTION_ORIGIN,
        mastodon::AUTHOR,
        mastodon::STATUS_ID
    );
    let out = s.run(
        &[
            "fetch",
            "--plugin",
            "mastodon",
            "--post",
            &url,
            "--collection",
            "likes",
            "--out",
            "likes.jsonl",
        ],
        0,
    );
    let err = stderr(&out);
    assert!(
        err.contains("rate limited") && err.contains("waiting") && err.contains("before retry 2"),
        "{err}"
    );
    assert_eq!(s.jsonl("likes.jsonl").len(), 100);

    let url = format!("https://www.youtube.com/watch?v={}", youtube::VIDEO_ID);
    let out = s.run(
        &[
            "fetch",
            "--plugin",
            "youtube",
            "--post",
            &url,
            "--collection",
            "comments",
            "--out",
            "c.jsonl",
        ],
        0,
    );
    let err = stderr(&out);
    assert!(err.contains("rate limited"), "{err}");
    assert!(err.contains("unavailable"), "{err}");
    assert_eq!(s.jsonl("c.jsonl").len(), 250);
    assert!(yt.request_count() > 3);
}

#[test]
fn an_exhausted_quota_gives_up_keeps_the_pages_and_resume_completes() {
    let yt = youtube::start_blocking(youtube::Config {
        comments: 250,
        ..youtube::Config::default()
    });
    let s = Scene::new(&[(youtube::PRODUCTION_ORIGIN, &yt.origin)]);
    let url = format!("https://www.youtube.com/watch?v={}", youtube::VIDEO_ID);
    let fetch = |extra: &[&str], code| {
        let mut args = vec![
            "fetch",
            "--plugin",
            "youtube",
            "--post",
            &url,
            "--collection",
            "comments",
            "--out",
            "c.jsonl",
        ];
        args.extend_from_slice(extra);
        s.run(&args, code)
    };

    // --max-entries stops after whole pages; --resume continues.
    let out = fetch(&["--max-entries", "150"], 0);
    assert!(stdout(&out).contains("--resume"), "{}", stdout(&out));
    assert_eq!(s.jsonl("c.jsonl").len(), 200);
    assert!(s.path("c.jsonl.resume.json").exists());
    let again = fetch(&[], 2);
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    // The quota runs out: retried until --max-wait, then the pages so far are kept.
    yt.configure(|c| c.quota_exceeded = true);
    let out = fetch(&["--resume", "--max-wait", "2"], 2);
    let err = stderr(&out);
    assert!(err.contains("quota") && err.contains("gave up"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(s.jsonl("c.jsonl.partial").len(), 200);

    yt.configure(|c| c.quota_exceeded = false);
    let out = fetch(&["--resume"], 0);
    assert!(
        stderr(&out).contains("Resuming after 200 entries"),
        "{}",
        stderr(&out)
    );
    let all = s.jsonl("c.jsonl");
    let expected: Vec<_> = yt
        .config()
        .threads()
        .into_iter()
        .map(|t| (t.top.author_channel_id, t.top.published_at, t.top.text))
        .collect();
    assert_eq!(summary(&all), expected);
    assert!(!s.path("c.jsonl.resume.json").exists() && !s.path("c.jsonl.partial").exists());
    let nothing = fetch(&["--resume"], 2);
    assert!(
        stderr(&nothing).contains("nothing to resume"),
        "{}",
        stderr(&nothing)
    );
}

#[test]
fn a_collection_the_platform_cannot_list_is_refused_before_any_request() {
    let yt = youtube::start_blocking(youtube::Config::default());
    let s = Scene::new(&[(youtube::PRODUCTION_ORIGIN, &yt.origin)]);
    let url = format!("https://www.youtube.com/watch?v={}", youtube::VIDEO_ID);
    let out = s.run(
        &[
            "fetch",
            "--plugin",
            "youtube",
            "--post",
            &url,
            "--collection",
            "likes",
            "--out",
            "l.jsonl",
        ],
        2,
    );
    assert!(
        stderr(&out).contains("cannot list likes"),
        "{}",
        stderr(&out)
    );
    let out = s.run(
        &[
            "fetch",
            "--plugin",
            "youtube",
            "--post",
            "https://example.com/x",
            "--collection",
            "comments",
            "--out",
            "l.jsonl",
        ],
        2,
    );
    assert!(
        stderr(&out).contains("does not accept the post"),
        "{}",
        stderr(&out)
    );
    assert_eq!(yt.request_count(), 0);
}

/// `draw --randomness secret+drand:quicknet` locks with a commitment and the
/// first quicknet round due 6 s after the lock (round 123 for a lock at
/// 15:15:27Z), fetches that round through the drand plugin (the mock relay),
/// executes with the secret and the beacon, and the bundle verifies with no
/// organiser trust; plain `draw` (commit-reveal) recommends the combined mode
/// and verifies as organiser-trusted.
#[test]
fn secret_drand_draw_fetches_the_round_and_needs_no_organiser_trust() {
    let relay = drand::start_blocking(drand::Config::default());
    let s = Scene::new(&[(drand::PRODUCTION_ORIGIN, &relay.origin)]);
    let entries: Vec<String> = (0..8)
        .map(|i| format!(r#"{{"platform":"youtube","user_id":"u{i}","handle":"@u{i}","created_at":"2023-08-01T00:00:00Z","collection":"comments"}}"#))
        .collect();
    s.write("entries.jsonl", &entries.join("\n"));
    s.write("rules.json", QUICKNET_RULES);
    s.run(&["keygen", "--out", "key.json"], 0);
    let common = [
        "draw",
        "--entries",
        "entries.jsonl",
        "--rules",
        "rules.json",
        "--key",
        "key.json",
        "--at",
        "2023-08-23T15:15:27Z",
    ];
    let mut combined = common.to_vec();
    combined.extend_from_slice(&[
        "--randomness",
        "secret+drand:quicknet",
        "--out",
        "combined.json",
    ]);
    let out = stdout(&s.run(&combined, 0));
    assert!(out.contains("quicknet round 123"), "{out}");
    let bundle: Value =
        serde_json::from_slice(&fs::read(s.path("combined.json")).expect("bundle")).expect("JSON");
    let realised = &bundle["execution"]["payload"]["randomness"];
    assert_eq!(realised["kind"], "secret_drand");
    assert_eq!(realised["round"], 123);
    assert_eq!(bundle["lock"]["payload"]["protocol"], 2);
    let report: Value = serde_json::from_slice(
        &s.run(
            &["verify", "combined.json", "--min-protocol", "2", "--json"],
            0,
        )
        .stdout,
    )
    .expect("JSON report");
    assert_eq!(report["randomness_trust"], "no_organiser_trust");
    assert_eq!(report["protocol"], 2);

    let mut plain = common.to_vec();
    plain.extend_from_slice(&["--out", "plain.json"]);
    let out = stdout(&s.run(&plain, 0));
    assert!(out.contains("secret+drand:quicknet"), "{out}");
    let out = stdout(&s.run(&["verify", "plain.json"], 0));
    assert!(out.contains("organiser-trusted"), "{out}");
}
