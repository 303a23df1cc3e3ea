//! Issue 8, several posts and platforms: one `fairdraw fetch` reads a
//! YouTube video and a Mastodon status (each plugin against its mock) into
//! one file per collection, which lock, execute (drand beacon through the
//! drand plugin) and verify as one draw; the same for a giveaway posted on
//! Instagram and Facebook at once; an interruption in the middle resumes
//! without a lost or duplicated entry; and rules the platforms cannot
//! support are refused at lock with the rule and platform named.
//!
//! Both Meta plugins call `https://graph.facebook.com` by default, and
//! `FAIRDRAW_DEV_ORIGIN_MAP` maps an origin to one mock. So the Instagram +
//! Facebook draw installs `instagram` as its README documents for
//! "Instagram API with Instagram Login": config `api`, `http.allow` and the
//! credential's origin set to `https://graph.instagram.com` (and
//! `ig_user_id`, so a post URL is looked up). Each origin then goes to its
//! own mock, with its own token.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fairdraw_tests::mock::{MockHandle, drand, facebook, instagram, mastodon, youtube};
use serde_json::Value;

use crate::bin::{fairdraw, workspace};
use crate::plugins::{Scene, run_in, stderr, stdout};

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

/// The Instagram Login host, where the installed `instagram` sends requests.
const INSTAGRAM_LOGIN_ORIGIN: &str = "https://graph.instagram.com";
/// An Instagram Login token (`IGAA…`), which the Instagram mock alone takes.
const INSTAGRAM_TOKEN: &str = "IGAAfairdrawMockInstagramLoginToken0123";

/// A data directory with `facebook` and `drand` as shipped, and `instagram`
/// set up for Instagram Login (`api`, `http.allow` and the credential's
/// origin on graph.instagram.com, as plugins/instagram/README.md says) and
/// with `ig_user_id`, so its post URLs are looked up.
fn meta_data_dir() -> &'static Path {
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
                "instagram",
                "-p",
                "facebook",
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
            .join("e2e-plugins-multi-meta");
        let _ = fs::remove_dir_all(dir.join("plugins"));
        let env = [("FAIRDRAW_DATA_DIR", dir.display().to_string())];
        let install = |path: &str| {
            let out = run_in(&root, &env, &["plugin", "install", path]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "install {path}: {}",
                stderr(&out)
            );
        };
        install("plugins/facebook");
        install("plugins/drand");

        let variant = dir.join("variants/instagram");
        fs::create_dir_all(&variant).expect("variant directory");
        let component = root.join("plugins/target/wasm32-wasip2/release/instagram.wasm");
        let shipped = fs::read_to_string(root.join("plugins/instagram/plugin.toml"))
            .expect("instagram manifest");
        let mut manifest = shipped.clone();
        for (from, to) in [
            (
                "component = \"../target/wasm32-wasip2/release/instagram.wasm\"".to_owned(),
                format!("component = {:?}", component.display().to_string()),
            ),
            (
                "allow = [\"https://graph.facebook.com\"]".to_owned(),
                format!("allow = [\"{INSTAGRAM_LOGIN_ORIGIN}\"]"),
            ),
            (
                "origin = \"https://graph.facebook.com\"".to_owned(),
                format!("origin = \"{INSTAGRAM_LOGIN_ORIGIN}\""),
            ),
            (
                "api = \"https://graph.facebook.com\"".to_owned(),
                format!("api = \"{INSTAGRAM_LOGIN_ORIGIN}\""),
            ),
            (
                "ig_user_id = \"\"".to_owned(),
                format!("ig_user_id = \"{}\"", instagram::IG_USER_ID),
            ),
        ] {
            assert!(
                manifest.contains(&from),
                "the instagram manifest changed shape (no `{from}`):\n{shipped}"
            );
            manifest = manifest.replace(&from, &to);
        }
        fs::write(variant.join("plugin.toml"), manifest).expect("write variant manifest");
        install(&variant.display().to_string());
        dir
    })
}

#[test]
fn an_instagram_and_a_facebook_post_in_one_fetch_make_one_verified_draw() {
    let ig = instagram::start_blocking(instagram::Config {
        comments: 120,
        authors: 80,
        hidden_every: 11,
        access_token: INSTAGRAM_TOKEN.to_owned(),
        expired_token: None,
        public_origin: INSTAGRAM_LOGIN_ORIGIN.to_owned(),
        ..instagram::Config::default()
    });
    let fb = facebook::start_blocking(facebook::Config {
        comments: 90,
        people: 60,
        anonymous_every: 10,
        public_origin: Some(facebook::PRODUCTION_ORIGIN.to_owned()),
        ..facebook::Config::default()
    });
    let relay = drand::start_blocking(drand::Config::default());
    let mut s = Scene::new(&[
        (INSTAGRAM_LOGIN_ORIGIN, &ig.origin),
        (facebook::PRODUCTION_ORIGIN, &fb.origin),
        (drand::PRODUCTION_ORIGIN, &relay.origin),
    ]);
    s.set_env("FAIRDRAW_DATA_DIR", &meta_data_dir().display().to_string());
    s.set_env(
        "FAIRDRAW_CREDENTIAL_INSTAGRAM_ACCESS_TOKEN",
        INSTAGRAM_TOKEN,
    );
    s.set_env("FAIRDRAW_CREDENTIAL_FACEBOOK_ACCESS_TOKEN", facebook::TOKEN);

    let ig_post = format!(
        "instagram=https://www.instagram.com/p/{}/",
        instagram::SHORTCODE
    );
    let fb_post = format!(
        "facebook=https://www.facebook.com/{}/posts/{}",
        facebook::PAGE_USERNAME,
        facebook::POST_ID.split_once('_').map_or("", |(_, p)| p)
    );
    let out = s.run(
        &[
            "fetch",
            "--post",
            &ig_post,
            "--post",
            &fb_post,
            "--collection",
            "comments",
            "--collection",
            "replies",
            "--out-dir",
            "entries",
        ],
        0,
    );
    let (err, said) = (stderr(&out), stdout(&out));
    assert!(err.contains("instagram comments (post 1 of 2)"), "{err}");
    assert!(err.contains("facebook comments (post 2 of 2)"), "{err}");

    // The comments file: the Instagram top-level comments, then the Facebook
    // ones that have an author, each platform's entrants its own.
    let ig_tops: Vec<_> = ig.config().threads().into_iter().map(|t| t.top).collect();
    let fb_tops: Vec<_> = fb
        .config()
        .toplevel()
        .into_iter()
        .filter_map(|c| Some((c.from?.id, c.message)))
        .collect();
    let mut want: Vec<_> = ig_tops
        .iter()
        .map(|c| ("instagram".to_owned(), c.user_id.clone()))
        .collect();
    want.extend(
        fb_tops
            .iter()
            .map(|(id, _)| ("facebook".to_owned(), id.clone())),
    );
    let comments = s.jsonl("entries/comments.jsonl");
    assert_eq!(ids(&comments), want);
    assert!(comments.iter().all(|e| e["collection"] == "comments"));
    assert!(
        said.contains(&format!("({} comments from 2 posts)", want.len())),
        "{said}"
    );
    let replies = s.jsonl("entries/replies.jsonl");
    let reply_platforms: BTreeSet<_> = ids(&replies).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        reply_platforms,
        BTreeSet::from(["facebook".to_owned(), "instagram".to_owned()])
    );

    // Each plugin went to its own mock, with its own token only.
    assert!(ig.request_count() > 0 && fb.request_count() > 0);
    assert_eq!(
        ig.credentials_seen(),
        BTreeSet::from([
            format!("Bearer {INSTAGRAM_TOKEN}"),
            INSTAGRAM_TOKEN.to_owned()
        ])
    );
    assert_eq!(
        fb.credentials_seen(),
        BTreeSet::from([
            format!("Bearer {}", facebook::TOKEN),
            facebook::TOKEN.to_owned()
        ])
    );

    // #giveaway (any case), one entry per person; people are per platform.
    let tagged = |t: &str| t.to_lowercase().contains("#giveaway");
    let ig_eligible: BTreeSet<_> = ig_tops
        .iter()
        .filter(|c| tagged(&c.text))
        .map(|c| c.user_id.clone())
        .collect();
    let fb_eligible: BTreeSet<_> = fb_tops
        .iter()
        .filter(|(_, m)| tagged(m))
        .map(|(id, _)| id.clone())
        .collect();
    assert!(ig_eligible.len() >= 4 && fb_eligible.len() >= 4);
    assert!(
        ig_tops.len() > ig_eligible.len(),
        "some Instagram comments lack the keyword or repeat an entrant"
    );
    let lock_hash = s.lock(
        &["entries/comments.jsonl", "entries/replies.jsonl"],
        r##"{"winners": 3, "alternates": 1, "collection": "comments",
            "keywords": {"any": ["#giveaway"]}, "entries_per_user": 1}"##,
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
    let committed = bundle["collections"]["comments"]
        .as_array()
        .expect("comments");
    let platforms: BTreeSet<_> = committed
        .iter()
        .map(|e| e["platform"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        platforms,
        BTreeSet::from(["facebook".to_owned(), "instagram".to_owned()])
    );
    assert_eq!(committed.len(), want.len());
    assert_eq!(
        bundle["lock"]["payload"]["eligible"],
        (ig_eligible.len() + fb_eligible.len()) as u64,
        "one entrant per platform account"
    );

    // An Instagram entrant (by handle) and a Facebook one (by user id) each
    // prove they are in the draw.
    let ig_in = ig_tops
        .iter()
        .find(|c| ig_eligible.contains(&c.user_id))
        .expect("an eligible Instagram commenter");
    let proved = stdout(&s.run(
        &[
            "prove",
            "bundle.json",
            "--entrant",
            &format!("@{}", ig_in.username),
        ],
        0,
    ));
    assert!(
        proved.contains(&format!("({} on instagram) is in the draw", ig_in.user_id)),
        "{proved}"
    );
    let fb_in = fb_eligible.first().expect("an eligible Facebook commenter");
    let proved = stdout(&s.run(&["prove", "bundle.json", "--entrant", fb_in], 0));
    assert!(
        proved.contains(&format!("({fb_in} on facebook) is in the draw")),
        "{proved}"
    );
}
