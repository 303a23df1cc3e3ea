//! The `tiktok` plugin through the real `fairdraw` binary against the TikTok
//! Research API mock (`fairdraw_tests::mock::tiktok`): `plugin install`,
//! `fetch` waiting out a rate limit, a token that expires mid-fetch and
//! `--resume` with a new one, then `lock`, `execute`, `verify` and `prove`
//! on the comments fetched.
//!
//! The plugin is built from source and installed once per test process into
//! `<target>/<profile>/e2e-plugins-tiktok/` (its own data directory, so it
//! does not race the other plugin tests).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use fairdraw_tests::mock::{Faults, drand, tiktok};
use serde_json::Value;

use crate::bin::{fairdraw, workspace};

use crate::plugins::run_in;

const TOKEN_VAR: &str = "FAIRDRAW_CREDENTIAL_TIKTOK_ACCESS_TOKEN";

/// The data directory with the tiktok plugin installed.
fn data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
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
                "tiktok",
                "--target-dir",
            ])
            .arg(root.join("plugins/target"))
            .current_dir(&root)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
        assert!(
            status.success(),
            "building the tiktok plugin failed ({status})"
        );
        let dir = fairdraw()
            .parent()
            .expect("profile directory")
            .join("e2e-plugins-tiktok");
        let _ = fs::remove_dir_all(dir.join("plugins"));
        let out = run_in(
            &root,
            &[("FAIRDRAW_DATA_DIR", dir.display().to_string())],
            &["plugin", "install", "plugins/tiktok"],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "install tiktok: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// A scratch directory and the environment pointing the plugin at a mock.
struct Scene {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Scene {
    fn new(mock: &str, token: &str) -> Scene {
        Scene {
            dir: tempfile::tempdir().expect("temporary directory"),
            env: vec![
                ("FAIRDRAW_DATA_DIR", data_dir().display().to_string()),
                (
                    "FAIRDRAW_DEV_ORIGIN_MAP",
                    format!("{}={mock}", tiktok::PRODUCTION_ORIGIN),
                ),
                (TOKEN_VAR, token.to_owned()),
            ],
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set_token(&mut self, token: &str) {
        self.env.retain(|(k, _)| *k != TOKEN_VAR);
        self.env.push((TOKEN_VAR, token.to_owned()));
    }

    /// Runs `fairdraw ARGS`; panics unless it exits with `code`.
    fn run(&self, args: &[&str], code: i32) -> Output {
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

    /// `fairdraw fetch` of the mock video's comments into `out`.
    fn fetch(&self, out: &str, extra: &[&str], code: i32) -> Output {
        let url = format!("https://www.tiktok.com/@brand/video/{}", tiktok::VIDEO_ID);
        let mut args = vec![
            "fetch",
            "--plugin",
            "tiktok",
            "--post",
            &url,
            "--collection",
            "comments",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        self.run(&args, code)
    }

    fn jsonl(&self, name: &str) -> Vec<Value> {
        fs::read_to_string(self.path(name))
            .unwrap_or_else(|e| panic!("read {name}: {e}"))
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// (user_id, text) of every comment the mock lists, as the plugin maps them.
fn expected(mock: &tiktok::Config) -> Vec<(String, String)> {
    mock.listed()
        .into_iter()
        .map(|c| (format!("comment:{}", c.id), c.text.unwrap_or_default()))
        .collect()
}

fn summary(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("user_id"), s("text"))
        })
        .collect()
}

#[test]
fn tiktok_comments_fetched_through_a_rate_limit_make_a_verified_draw() {
    let mock = tiktok::start_blocking(tiktok::Config {
        comments: 230,
        deleted: (100..200).collect(),
        hidden: vec![5],
        faults: Faults {
            rate_limit_first: 1,
            ..Faults::default()
        },
        ..tiktok::Config::default()
    });
    let s = Scene::new(&mock.origin, tiktok::TOKEN);
    let inspect =
        String::from_utf8_lossy(&s.run(&["plugin", "inspect", "tiktok"], 0).stdout).into_owned();
    assert!(inspect.contains(&format!("{TOKEN_VAR} (set)")), "{inspect}");
    assert!(inspect.contains(tiktok::PRODUCTION_ORIGIN), "{inspect}");

    let out = s.fetch("comments.jsonl", &[], 0);
    let err = stderr(&out);
    // No reset signal from TikTok: the host's own backoff (1 s) is waited out.
    assert!(
        err.contains("rate limited") && err.contains("rate_limit_exceeded"),
        "{err}"
    );
    assert!(err.contains("waiting 1 s before retry 1"), "{err}");
    assert!(
        err.contains("tiktok comments: page 2, 100 entries"),
        "{err}"
    );
    let comments = s.jsonl("comments.jsonl");
    assert_eq!(summary(&comments), expected(&mock.config()));
    assert_eq!(comments.len(), 130);
    assert!(comments.iter().all(|e| {
        e["platform"] == "tiktok"
            && e["collection"] == "comments"
            && e["handle"]
                .as_str()
                .is_some_and(|h| h.starts_with("@comment-"))
    }));
    assert_eq!(mock.request_count(), 4, "a 429, then pages 0, 100, 200");
    assert_eq!(
        mock.credentials_seen(),
        [
            format!("Bearer {}", tiktok::TOKEN),
            tiktok::TOKEN.to_owned()
        ]
        .into_iter()
        .collect::<BTreeSet<_>>()
    );

    // Lock before quicknet round 123 (2023-08-23T15:15:33Z) with keyword and
    // mention rules, which work on TikTok's plain text; execute with the
    // real round, verify pinned to the lock hash.
    fs::write(
        s.path("rules.json"),
        r##"{"winners": 3, "alternates": 1, "collection": "comments", "keywords": {"any": ["#giveaway"]}, "min_mentions": 1}"##,
    )
    .expect("rules");
    s.run(&["keygen", "--out", "key.json"], 0);
    let lock = s.run(
        &[
            "lock",
            "--entries",
            "comments.jsonl",
            "--rules",
            "rules.json",
            "--key",
            "key.json",
            "--randomness",
            "drand:quicknet:123",
            "--at",
            "2023-08-23T15:00:00Z",
            "--id",
            "e2e-tiktok",
            "--out",
            "lock.json",
        ],
        0,
    );
    let lock_hash = String::from_utf8_lossy(&lock.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Lock hash:"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("lock prints its hash")
        .to_owned();
    let round = drand::beacon("quicknet", 123).expect("round 123");
    fs::write(
        s.path("beacon.json"),
        serde_json::json!({ "round": 123, "randomness": round.randomness, "signature": round.signature })
            .to_string(),
    )
    .expect("beacon");
    s.run(
        &[
            "execute",
            "lock.json",
            "--key",
            "key.json",
            "--beacon",
            "beacon.json",
            "--out",
            "bundle.json",
        ],
        0,
    );
    s.run(&["verify", "bundle.json", "--lock-hash", &lock_hash], 0);

    // An entrant is a comment: `prove` finds it by its comment handle.
    // Comment 0 has the keyword and two mentions; comment 2 ("nice video")
    // is excluded by the keyword rule.
    let listed = mock.config().listed();
    let first = format!("@comment-{}", listed[0].id);
    s.run(&["prove", "bundle.json", "--entrant", &first], 0);
    let nice = format!("@comment-{}", listed[2].id);
    let out = s.run(&["prove", "bundle.json", "--entrant", &nice], 3);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("keywords")
            || stderr(&out).contains("keywords"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

#[test]
fn tiktok_token_expiring_mid_fetch_stops_cleanly_and_resume_completes() {
    let mock = tiktok::start_blocking(tiktok::Config {
        comments: 250,
        expires_after: Some(2),
        ..tiktok::Config::default()
    });
    let mut s = Scene::new(&mock.origin, tiktok::TOKEN);

    // Two pages, then the 2-hour token runs out: the fetch stops at once,
    // naming the variable, and keeps the 200 comments fetched.
    let out = s.fetch("c.jsonl", &[], 2);
    let err = stderr(&out);
    assert!(err.contains(TOKEN_VAR), "{err}");
    assert!(err.contains("access_token_invalid"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(!s.path("c.jsonl").exists());
    assert_eq!(s.jsonl("c.jsonl.partial").len(), 200);
    assert_eq!(mock.request_count(), 3, "a refused token is not retried");

    // Resuming with the same (expired) token fails the same way, at once.
    s.fetch("c.jsonl", &["--resume"], 2);
    assert_eq!(mock.request_count(), 4);

    // With a new token, --resume continues at cursor 200.
    mock.configure(|c| {
        c.token = "clt.renewed-token".into();
        c.expires_after = None;
    });
    s.set_token("clt.renewed-token");
    let out = s.fetch("c.jsonl", &["--resume"], 0);
    assert!(
        stderr(&out).contains("Resuming after 200 entries (2 pages)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(summary(&s.jsonl("c.jsonl")), expected(&mock.config()));
    assert!(!s.path("c.jsonl.partial").exists() && !s.path("c.jsonl.resume.json").exists());
    let cursors: Vec<u64> = mock
        .bodies()
        .iter()
        .map(|b| {
            serde_json::from_str::<Value>(b).expect("JSON body")["cursor"]
                .as_u64()
                .expect("cursor")
        })
        .collect();
    assert_eq!(cursors, [0, 100, 200, 200, 200]);
}
