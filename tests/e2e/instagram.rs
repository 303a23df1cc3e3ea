//! The instagram plugin through the real `fairdraw` binary, against the
//! Instagram Graph API mock (`fairdraw_tests::mock::instagram`): `plugin
//! install`, `fetch` of comments and replies (through short and empty
//! pages, a shortcode lookup, throttling waited out, a throttle that outlasts
//! `--max-wait` and a `--resume`), bad tokens, and a fetched draw that locks,
//! executes and verifies.
//!
//! The plugins are built from source and installed once per test process
//! into `<target>/<profile>/e2e-plugins-instagram/`: the shipped manifest
//! (`instagram`, which takes media ids) and `instagram-brand`, the same
//! component with config `ig_user_id` set, as the README documents, so
//! post URLs can be looked up; `drand` fetches the beacon.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use fairdraw_tests::mock::{self, drand, instagram};
use serde_json::Value;

use crate::bin::{fairdraw, workspace};

use crate::plugins::run_in;

const TOKEN_VAR: &str = "FAIRDRAW_CREDENTIAL_INSTAGRAM_ACCESS_TOKEN";
const BRAND_TOKEN_VAR: &str = "FAIRDRAW_CREDENTIAL_INSTAGRAM__BRAND_ACCESS_TOKEN";

/// The data directory with `instagram`, `instagram-brand` and `drand`.
fn data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        eprintln!("e2e: building the instagram and drand plugins for wasm32-wasip2");
        let status = Command::new(&cargo)
            .args([
                "build",
                "--manifest-path",
                "plugins/Cargo.toml",
                "--target",
                "wasm32-wasip2",
                "--release",
                "-p",
                "instagram",
                "-p",
                "drand",
                "--target-dir",
            ])
            .arg(root.join("plugins/target"))
            .current_dir(&root)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
        assert!(status.success(), "building the plugins failed ({status})");

        let dir = fairdraw()
            .parent()
            .expect("profile directory")
            .join("e2e-plugins-instagram");
        let _ = fs::remove_dir_all(dir.join("plugins"));
        let env = [("FAIRDRAW_DATA_DIR", dir.display().to_string())];
        for p in ["plugins/instagram", "plugins/drand"] {
            let out = run_in(&root, &env, &["plugin", "install", p]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "install {p}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let variant = dir.join("variants/instagram-brand");
        fs::create_dir_all(&variant).expect("variant directory");
        let component = root.join("plugins/target/wasm32-wasip2/release/instagram.wasm");
        let manifest = fs::read_to_string(root.join("plugins/instagram/plugin.toml"))
            .expect("instagram manifest")
            .replace("id = \"instagram\"", "id = \"instagram-brand\"")
            .replace(
                "component = \"../target/wasm32-wasip2/release/instagram.wasm\"",
                &format!("component = {:?}", component.display().to_string()),
            )
            .replace(
                "ig_user_id = \"\"",
                &format!("ig_user_id = \"{}\"", instagram::IG_USER_ID),
            );
        assert!(
            manifest.contains("instagram-brand") && manifest.contains(instagram::IG_USER_ID),
            "the instagram manifest changed shape:\n{manifest}"
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
            "install instagram-brand: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// A scratch directory and the environment pointing the plugins at mocks.
struct Scene {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Scene {
    fn new(origins: &[(&str, &str)]) -> Scene {
        let map: Vec<String> = origins.iter().map(|(p, m)| format!("{p}={m}")).collect();
        Scene {
            dir: tempfile::tempdir().expect("temporary directory"),
            env: vec![
                ("FAIRDRAW_DATA_DIR", data_dir().display().to_string()),
                ("FAIRDRAW_DEV_ORIGIN_MAP", map.join(",")),
                (TOKEN_VAR, instagram::ACCESS_TOKEN.to_owned()),
                (BRAND_TOKEN_VAR, instagram::ACCESS_TOKEN.to_owned()),
            ],
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set_env(&mut self, key: &'static str, value: &str) {
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.to_owned()));
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

    /// `fairdraw fetch --plugin PLUGIN --post POST --collection C --out OUT EXTRA…`.
    fn fetch(
        &self,
        plugin: &str,
        post: &str,
        collection: &str,
        out: &str,
        extra: &[&str],
        code: i32,
    ) -> Output {
        let mut args = vec![
            "fetch",
            "--plugin",
            plugin,
            "--post",
            post,
            "--collection",
            collection,
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

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (user_id, handle, created_at, text) of each fetched entry.
fn summary(entries: &[Value]) -> Vec<(String, String, String, String)> {
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("user_id"), s("handle"), s("created_at"), s("text"))
        })
        .collect()
}

fn expected(comments: &[instagram::Comment]) -> Vec<(String, String, String, String)> {
    comments
        .iter()
        .map(|c| {
            (
                c.user_id.clone(),
                format!("@{}", c.username),
                c.created_at(),
                c.text.clone(),
            )
        })
        .collect()
}

fn post_url() -> String {
    format!("https://www.instagram.com/p/{}/", instagram::SHORTCODE)
}

#[test]
fn instagram_comments_and_replies_make_a_verified_draw() {
    let ig = instagram::start_blocking(instagram::Config {
        comments: 230,
        authors: 150,
        // A short page, then an empty one that still has a next.
        deleted: (60..200).collect(),
        hidden_every: 9,
        ..instagram::Config::default()
    });
    let relay = drand::start_blocking(drand::Config::default());
    let s = Scene::new(&[
        (instagram::PRODUCTION_ORIGIN, &ig.origin),
        (drand::PRODUCTION_ORIGIN, &relay.origin),
    ]);
    let inspect = stdout(&s.run(&["plugin", "inspect", "instagram-brand"], 0));
    assert!(
        inspect.contains(&format!("{BRAND_TOKEN_VAR} (set)")),
        "{inspect}"
    );
    assert!(inspect.contains("https://graph.facebook.com"), "{inspect}");

    let out = s.fetch(
        "instagram-brand",
        &post_url(),
        "comments",
        "comments.jsonl",
        &[],
        0,
    );
    let threads = ig.config().threads();
    let comments = s.jsonl("comments.jsonl");
    let tops: Vec<_> = threads.iter().map(|t| t.top.clone()).collect();
    assert_eq!(summary(&comments), expected(&tops));
    assert!(
        comments
            .iter()
            .all(|e| e["collection"] == "comments" && e["platform"] == "instagram")
    );
    assert!(
        stdout(&out).contains(&format!("Fetched {} comments", tops.len())),
        "{}",
        stdout(&out)
    );
    // The lookup (two media pages), then three comment pages: 60, 0, 30.
    let paths: Vec<_> = ig.requests().into_iter().map(|r| r.path).collect();
    let media = format!("/v23.0/{}/media", instagram::IG_USER_ID);
    let list = format!("/v23.0/{}/comments", instagram::MEDIA_ID);
    assert_eq!(
        paths,
        [&media, &media, &list, &list, &list].map(String::clone)
    );
    let err = stderr(&out);
    assert!(
        err.contains("instagram comments: page 2, 60 entries"),
        "{err}"
    );
    assert!(
        err.contains("instagram comments: page 3, 90 entries"),
        "{err}"
    );
    // The token went to the mock as a header and nowhere else.
    assert_eq!(
        ig.credentials_seen(),
        BTreeSet::from([
            format!("Bearer {}", instagram::ACCESS_TOKEN),
            instagram::ACCESS_TOKEN.to_owned()
        ])
    );
    assert!(!err.contains(instagram::ACCESS_TOKEN), "{err}");
    let written = fs::read_to_string(s.path("comments.jsonl")).expect("entries");
    assert!(!written.contains(instagram::ACCESS_TOKEN));

    // Replies: inline ones and, past three, the replies edge.
    ig.reset();
    s.fetch(
        "instagram-brand",
        &post_url(),
        "replies",
        "replies.jsonl",
        &[],
        0,
    );
    let replies: Vec<_> = threads.iter().flat_map(|t| t.replies.clone()).collect();
    assert_eq!(summary(&s.jsonl("replies.jsonl")), expected(&replies));
    assert!(ig.requests().iter().any(|r| r.path.ends_with("/replies")));

    // #giveaway and one mention of someone else: the comments k % 5 == 0.
    let eligible: BTreeSet<_> = tops
        .iter()
        .filter(|c| c.text.contains("#giveaway"))
        .map(|c| c.user_id.clone())
        .collect();
    assert!(eligible.len() >= 4);
    let rules = r##"{"winners": 3, "alternates": 1, "collection": "comments", "organizer": "instagram:@fairdraw_brand", "keywords": {"any": ["#giveaway"]}, "min_mentions": 1}"##;
    fs::write(s.path("rules.json"), rules).expect("rules");
    s.run(&["keygen", "--out", "key.json"], 0);
    let out = s.run(
        &[
            "lock",
            "--entries",
            "comments.jsonl",
            "replies.jsonl",
            "--rules",
            "rules.json",
            "--key",
            "key.json",
            "--randomness",
            "drand:quicknet:123",
            "--at",
            "2023-08-23T15:00:00Z",
            "--id",
            "e2e-instagram",
            "--out",
            "lock.json",
        ],
        0,
    );
    let lock = stdout(&out);
    assert!(
        lock.contains(&format!("Eligible:   {} entrants", eligible.len())),
        "{lock}"
    );
    let lock_hash = lock
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
            "quicknet",
            "--round",
            "123",
            "--out",
            "beacon.json",
        ],
        0,
    );
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
    // An eligible commenter proves their entry; one without the keyword is
    // told which rule excluded them (exit 3).
    let included = tops
        .iter()
        .find(|c| eligible.contains(&c.user_id))
        .expect("an eligible commenter");
    s.run(
        &[
            "prove",
            "bundle.json",
            "--entrant",
            &format!("@{}", included.username),
        ],
        0,
    );
    let excluded = tops
        .iter()
        .find(|c| c.text.starts_with("comment number") && !eligible.contains(&c.user_id))
        .expect("a commenter without the keyword");
    s.run(
        &[
            "prove",
            "bundle.json",
            "--entrant",
            &format!("@{}", excluded.username),
        ],
        3,
    );
}

#[test]
fn instagram_throttling_is_waited_out_and_an_interrupted_fetch_resumes() {
    let ig = instagram::start_blocking(instagram::Config {
        comments: 250,
        faults: mock::Faults {
            rate_limit_first: 1,
            rate_limit_reset_secs: 0,
            ..mock::Faults::default()
        },
        ..instagram::Config::default()
    });
    let s = Scene::new(&[(instagram::PRODUCTION_ORIGIN, &ig.origin)]);
    let all: Vec<_> = ig.config().threads().into_iter().map(|t| t.top).collect();

    // Throttled once (no wait given): backed off, retried, complete.
    let out = s.fetch(
        "instagram",
        instagram::MEDIA_ID,
        "comments",
        "c.jsonl",
        &[],
        0,
    );
    let err = stderr(&out);
    assert!(
        err.contains("rate limited") && err.contains("80002"),
        "{err}"
    );
    assert_eq!(summary(&s.jsonl("c.jsonl")), expected(&all));
    assert_eq!(ig.request_count(), 4);

    // Interrupted after two pages by a throttle Meta says lasts 2 minutes,
    // longer than --max-wait: the pages so far are kept; --resume completes.
    ig.reset();
    ig.configure(|c| {
        c.faults = mock::Faults {
            rate_limit_first: 0,
            rate_limit_reset_secs: 90,
            fail_every: None,
            fail_first: 0,
        };
    });
    s.fetch(
        "instagram",
        instagram::MEDIA_ID,
        "comments",
        "r.jsonl",
        &["--max-entries", "150"],
        0,
    );
    assert_eq!(s.jsonl("r.jsonl").len(), 200);
    ig.configure(|c| c.throttled = true);
    let out = s.fetch(
        "instagram",
        instagram::MEDIA_ID,
        "comments",
        "r.jsonl",
        &["--resume", "--max-wait", "2"],
        2,
    );
    let err = stderr(&out);
    assert!(err.contains("gave up") && err.contains("120 s"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(s.jsonl("r.jsonl.partial").len(), 200);
    let resumed_from = ig
        .requests()
        .last()
        .and_then(|r| r.query_param("after").map(str::to_owned))
        .expect("the throttled request continued from a cursor");

    ig.configure(|c| c.throttled = false);
    let out = s.fetch(
        "instagram",
        instagram::MEDIA_ID,
        "comments",
        "r.jsonl",
        &["--resume"],
        0,
    );
    assert!(
        stderr(&out).contains("Resuming after 200 entries"),
        "{}",
        stderr(&out)
    );
    assert_eq!(summary(&s.jsonl("r.jsonl")), expected(&all));
    assert_eq!(
        ig.requests().last().and_then(|r| r.query_param("after")),
        Some(resumed_from.as_str()),
        "the resume asked for the page that was throttled"
    );
    assert!(!s.path("r.jsonl.resume.json").exists() && !s.path("r.jsonl.partial").exists());
}

#[test]
fn instagram_refuses_bad_tokens_lists_it_cannot_give_and_bare_shortcodes() {
    let ig = instagram::start_blocking(instagram::Config::default());
    let mut s = Scene::new(&[(instagram::PRODUCTION_ORIGIN, &ig.origin)]);

    s.set_env(TOKEN_VAR, instagram::EXPIRED_TOKEN);
    let out = s.fetch(
        "instagram",
        instagram::MEDIA_ID,
        "comments",
        "c.jsonl",
        &[],
        2,
    );
    let err = stderr(&out);
    assert!(err.contains(TOKEN_VAR), "{err}");
    assert!(err.contains("has expired"), "{err}");
    assert!(!s.path("c.jsonl").exists() && !s.path("c.jsonl.partial").exists());
    assert_eq!(ig.request_count(), 1, "a refused token is not retried");

    s.set_env(TOKEN_VAR, "EAAGwrong");
    let err = stderr(&s.fetch(
        "instagram",
        instagram::MEDIA_ID,
        "replies",
        "c.jsonl",
        &[],
        2,
    ));
    assert!(err.contains("Cannot parse access token"), "{err}");

    ig.reset();
    let err = stderr(&s.fetch("instagram", instagram::MEDIA_ID, "likes", "l.jsonl", &[], 2));
    assert!(err.contains("cannot list likes"), "{err}");
    let err = stderr(&s.fetch("instagram", &post_url(), "comments", "l.jsonl", &[], 2));
    assert!(err.contains("does not accept the post"), "{err}");
    assert!(err.contains("give the media id"), "{err}");
    assert_eq!(ig.request_count(), 0);
}
