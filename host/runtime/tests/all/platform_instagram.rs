//! The `"instagram"` source plugin, built from source and loaded through
//! the runtime, against the Instagram Graph API mock
//! (`fairdraw_tests::mock::instagram`): describe, URL parsing, paginated
//! fetches through short and empty pages, the shortcode lookup, the token
//! attached only to its declared origin, Meta's throttling honoured, and
//! bad tokens stopping the fetch at once.

use std::path::PathBuf;
use std::time::Duration;

use fairdraw_tests::mock::{self, MockHandle, instagram};

use crate::plugin::pagination::{FetchErrorKind, FetchOptions, ProgressEvent, RetryPolicy, Stop};
use crate::plugin::{Collection, PluginError, PluginRuntime, Post};
use crate::support::{Setup, component, fetch_to_vec, repo, runtime};

const CREDENTIAL: &str = "FAIRDRAW_CREDENTIAL_INSTAGRAM_ACCESS_TOKEN";

/// The plugin's own manifest, after building its component.
fn manifest() -> PathBuf {
    component("instagram");
    repo().join("plugins/instagram/plugin.toml")
}

/// The plugin's manifest with `config` lines replaced and `allow` as the
/// `http.allow` list, written beside a copy pointing at the built component.
fn variant(config: &[(&str, &str)], allow: &str) -> (tempfile::TempDir, PathBuf) {
    let mut text = std::fs::read_to_string(manifest()).expect("instagram manifest");
    text = text.replace(
        "component = \"../target/wasm32-wasip2/release/instagram.wasm\"",
        &format!(
            "component = {:?}",
            component("instagram").display().to_string()
        ),
    );
    text = text.replace(
        "allow = [\"https://graph.facebook.com\"]",
        &format!("allow = {allow}"),
    );
    for (key, value) in config {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("the manifest has no config `{key}`"))
            .to_owned();
        text = text.replace(&line, &format!("{key} = {value:?}"));
    }
    assert!(text.contains("component = \"/"), "{text}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plugin.toml");
    std::fs::write(&path, text).expect("write manifest");
    (dir, path)
}

/// A runtime whose `graph.facebook.com` is the mock, with `token` set.
fn runtime_for(ig: &MockHandle<instagram::Config>, token: &str) -> PluginRuntime {
    let dev = format!("{}={}", instagram::PRODUCTION_ORIGIN, ig.origin);
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials: &[(CREDENTIAL, token)],
        ..Setup::default()
    });
    rt
}

fn options() -> FetchOptions {
    FetchOptions {
        retry: RetryPolicy {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_wait: Duration::from_secs(5),
            max_retries: 3,
        },
        ..FetchOptions::default()
    }
}

fn media_post() -> Post {
    Post {
        id: instagram::MEDIA_ID.into(),
        url: format!("https://graph.facebook.com/{}", instagram::MEDIA_ID),
    }
}

#[test]
fn instagram_describes_and_parses_urls() {
    let ig = instagram::start_blocking(instagram::Config::default());
    let rt = runtime_for(&ig, instagram::ACCESS_TOKEN);
    rt.load(manifest()).expect("instagram loads");
    let source = rt.source("instagram").expect("source");
    let info = source.describe().expect("describe");
    assert_eq!(info.platform, "instagram");
    assert_eq!(
        info.collections,
        [Collection::Comments, Collection::Replies]
    );
    assert_eq!(info.credentials, ["access_token"]);
    assert!(info.unsupported.iter().any(|u| u.rule == "require_in"));

    let post = source
        .parse_url(instagram::MEDIA_ID)
        .expect("no fault")
        .expect("a media id");
    assert_eq!(post, media_post());
    // The shipped manifest has no ig_user_id: a shortcode URL asks for the id.
    let url = format!("https://www.instagram.com/p/{}/", instagram::SHORTCODE);
    let e = source
        .parse_url(&url)
        .expect("no fault")
        .expect_err("needs ig_user_id");
    let PluginError::InvalidInput(m) = &e else {
        panic!("{e:?}")
    };
    assert!(m.contains("give the media id"), "{m}");
    let e = source
        .parse_url("https://www.youtube.com/watch?v=axepn8QqxRk")
        .expect("no fault")
        .expect_err("not Instagram");
    assert!(matches!(e, PluginError::InvalidInput(_)), "{e:?}");
    // Instagram cannot list likes; no request is made.
    let e = source
        .fetch_page(&post, Collection::Likes, None)
        .expect("no fault")
        .expect_err("no likes");
    assert!(matches!(e, PluginError::InvalidInput(_)), "{e:?}");
    assert_eq!(ig.request_count(), 0);
}

#[test]
fn instagram_fetches_every_comment_through_short_and_empty_pages() {
    let ig = instagram::start_blocking(instagram::Config {
        comments: 420,
        // Page 2 comes short, page 3 empty (still with a next).
        deleted: (150..300).collect(),
        hidden_every: 7,
        ..instagram::Config::default()
    });
    let rt = runtime_for(&ig, instagram::ACCESS_TOKEN);
    rt.load(manifest()).expect("instagram loads");
    let source = rt.source("instagram").expect("source");
    let mut counts = Vec::new();
    let fetched = fetch_to_vec(
        &source,
        &media_post(),
        Collection::Comments,
        &options(),
        |p| counts.push(p.entries),
    )
    .expect("every page");
    assert_eq!((fetched.pages, fetched.stop), (5, Stop::Complete));
    assert_eq!(counts, [100, 150, 150, 250, 270]);
    let threads = ig.config().threads();
    let got: Vec<_> = fetched
        .entries
        .iter()
        .map(|e| {
            (
                e.user_id.to_string(),
                e.handle.to_string(),
                e.created_at.to_string(),
                e.text.to_string(),
            )
        })
        .collect();
    let expected: Vec<_> = threads
        .iter()
        .map(|t| {
            (
                t.top.user_id.clone(),
                format!("@{}", t.top.username),
                t.top.created_at(),
                t.top.text.clone(),
            )
        })
        .collect();
    assert_eq!(got, expected, "hidden comments stay entries by default");
    assert!(fetched.entries.iter().all(|e| e.platform == "instagram"
        && e.collection_name() == "comments"
        && e.validate().is_ok()));
    // The host attached the token, as a Bearer header, to every request.
    let requests = ig.requests();
    assert_eq!(requests.len(), 5);
    for r in &requests {
        assert_eq!(r.path, format!("/v23.0/{}/comments", instagram::MEDIA_ID));
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {}", instagram::ACCESS_TOKEN).as_str())
        );
        assert_eq!(r.query_param("limit"), Some("100"));
    }
}

#[test]
fn instagram_finds_a_shortcode_and_lists_replies() {
    let ig = instagram::start_blocking(instagram::Config {
        comments: 120,
        max_replies: 6,
        inline_replies: 3,
        ..instagram::Config::default()
    });
    let rt = runtime_for(&ig, instagram::ACCESS_TOKEN);
    let (_dir, path) = variant(
        &[("ig_user_id", instagram::IG_USER_ID)],
        "[\"https://graph.facebook.com\"]",
    );
    rt.load(&path).expect("variant loads");
    let source = rt.source("instagram").expect("source");
    let post = source
        .parse_url(&format!(
            "https://www.instagram.com/{}/reel/{}/?igsh=abc",
            instagram::OWNER_USERNAME,
            instagram::SHORTCODE
        ))
        .expect("no fault")
        .expect("a shortcode URL");
    assert_eq!(post.id, instagram::SHORTCODE);
    let fetched =
        fetch_to_vec(&source, &post, Collection::Replies, &options(), |_| {}).expect("every page");
    let expected: Vec<_> = ig
        .config()
        .threads()
        .iter()
        .flat_map(|t| t.replies.clone())
        .map(|r| (r.user_id, r.text))
        .collect();
    let got: Vec<_> = fetched
        .entries
        .iter()
        .map(|e| (e.user_id.to_string(), e.text.to_string()))
        .collect();
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
    let paths: Vec<_> = ig.requests().into_iter().map(|r| r.path).collect();
    // Two media pages (the post is the 131st), then comments and replies.
    assert_eq!(
        paths[..3],
        [
            format!("/v23.0/{}/media", instagram::IG_USER_ID),
            format!("/v23.0/{}/media", instagram::IG_USER_ID),
            format!("/v23.0/{}/comments", instagram::MEDIA_ID),
        ]
    );
    assert!(paths.iter().any(|p| p.ends_with("/replies")));
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("/media")).count(),
        2,
        "the lookup is not repeated"
    );
}

#[test]
fn instagram_token_goes_only_to_its_declared_origin() {
    // Instagram Login's host is allowed, but the credential is declared for
    // graph.facebook.com only: requests to graph.instagram.com carry none.
    let ig = instagram::start_blocking(instagram::Config::default());
    let dev = format!("https://graph.instagram.com={}", ig.origin);
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials: &[(CREDENTIAL, instagram::ACCESS_TOKEN)],
        ..Setup::default()
    });
    let (_dir, path) = variant(
        &[("api", "https://graph.instagram.com")],
        "[\"https://graph.facebook.com\", \"https://graph.instagram.com\"]",
    );
    rt.load(&path).expect("variant loads");
    let source = rt.source("instagram").expect("source");
    let e = fetch_to_vec(
        &source,
        &media_post(),
        Collection::Comments,
        &options(),
        |_| {},
    )
    .expect_err("no token");
    let FetchErrorKind::Unauthorized(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert!(m.contains("code 104"), "{m}");
    assert_eq!(ig.request_count(), 1);
    assert!(
        ig.credentials_seen().is_empty(),
        "{:?}",
        ig.credentials_seen()
    );
}

#[test]
fn instagram_throttling_is_waited_out_or_honoured() {
    // Throttled twice with no wait given (0 minutes): the host backs off
    // and retries, then every page arrives.
    let ig = instagram::start_blocking(instagram::Config {
        comments: 150,
        faults: mock::Faults {
            rate_limit_first: 2,
            rate_limit_reset_secs: 0,
            fail_first: 1,
            ..mock::Faults::default()
        },
        ..instagram::Config::default()
    });
    let rt = runtime_for(&ig, instagram::ACCESS_TOKEN);
    rt.load(manifest()).expect("instagram loads");
    let source = rt.source("instagram").expect("source");
    let mut events = Vec::new();
    let fetched = fetch_to_vec(
        &source,
        &media_post(),
        Collection::Comments,
        &options(),
        |p| events.push(p.event.clone()),
    )
    .expect("waited out");
    assert_eq!(fetched.entries.len(), 150);
    let retries: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Retrying { error, .. } => Some(error.clone()),
            ProgressEvent::Page => None,
        })
        .collect();
    assert_eq!(retries.len(), 3);
    assert!(
        matches!(&retries[0], PluginError::RateLimited(r) if r.retry_after_seconds.is_none() && r.message.contains("80002")),
        "{retries:?}"
    );
    assert!(
        matches!(&retries[2], PluginError::Unavailable(_)),
        "{retries:?}"
    );
    assert_eq!(ig.request_count(), 5);

    // Throttled for 90 s: Meta says 2 minutes, which is more than the
    // 5 s max wait, so the host stops at once rather than hammering.
    ig.configure(|c| {
        c.throttled = true;
        c.faults.rate_limit_reset_secs = 90;
    });
    ig.reset();
    let e = fetch_to_vec(
        &source,
        &media_post(),
        Collection::Comments,
        &options(),
        |_| {},
    )
    .expect_err("gives up");
    let FetchErrorKind::GaveUp { error, why, .. } = &e.kind else {
        panic!("{e:?}")
    };
    assert!(
        matches!(error, PluginError::RateLimited(r) if r.retry_after_seconds == Some(120)),
        "{error:?}"
    );
    assert!(why.contains("120 s"), "{why}");
    assert_eq!(ig.request_count(), 1);
    assert_eq!(e.resume_cursor, None);
}

#[test]
fn instagram_bad_tokens_stop_cleanly() {
    let ig = instagram::start_blocking(instagram::Config::default());
    for (token, words) in [
        ("EAAGnot-the-token", "Cannot parse access token"),
        (instagram::EXPIRED_TOKEN, "has expired"),
    ] {
        ig.reset();
        let rt = runtime_for(&ig, token);
        rt.load(manifest()).expect("instagram loads");
        let source = rt.source("instagram").expect("source");
        let e = fetch_to_vec(
            &source,
            &media_post(),
            Collection::Comments,
            &FetchOptions::default(),
            |_| {},
        )
        .expect_err("refused");
        let FetchErrorKind::Unauthorized(m) = &e.kind else {
            panic!("{e:?}")
        };
        assert!(m.contains(words), "{m}");
        assert!(m.starts_with("Instagram: "), "{m}");
        assert!(!m.contains(token), "the token is not echoed: {m}");
        assert_eq!(ig.request_count(), 1, "not retried");
        assert!(ig.credentials_seen().contains(token));
    }
}
