//! The `"bluesky"` source plugin through the runtime, against the Bluesky
//! AppView mock of `fairdraw_tests::mock::bluesky`: describe, URL parsing,
//! paginated fetches (likes, replies with subtrees past the depth limit,
//! reposts then quotes), the rate limit's `RateLimit-Reset` honoured, the
//! optional token sent only to the origin that declares it, and refused
//! tokens stopping the fetch at once.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use fairdraw_tests::mock::{self, MockHandle, bluesky};

use crate::plugin::pagination::{FetchErrorKind, FetchOptions, ProgressEvent, RetryPolicy, Stop};
use crate::plugin::{Collection, PluginError, PluginRuntime, Post, SourcePlugin};
use crate::support::{Setup, component, fetch_to_vec, manifest, repo, runtime};

/// The plugin's own manifest, after building its component.
fn official_manifest() -> PathBuf {
    component("bluesky");
    repo().join("plugins/bluesky/plugin.toml")
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_wait: Duration::from_secs(10),
        max_retries: 3,
    }
}

fn options() -> FetchOptions {
    FetchOptions {
        retry: fast_retries(),
        ..FetchOptions::default()
    }
}

/// A runtime with the official manifest, its public AppView mapped to `m`.
fn official(m: &MockHandle<bluesky::Config>, credentials: &[(&str, &str)]) -> PluginRuntime {
    let dev = format!("{}={}", bluesky::PRODUCTION_ORIGIN, m.origin);
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials,
        ..Setup::default()
    });
    rt.load(official_manifest()).expect("bluesky loads");
    rt
}

fn giveaway(p: &SourcePlugin) -> Post {
    p.parse_url(&bluesky::post_url())
        .expect("no fault")
        .expect("a post")
}

#[test]
fn bluesky_describes_and_parses_urls() {
    let m = bluesky::start_blocking(bluesky::Config::default());
    let rt = official(&m, &[]);
    let p = rt.source("bluesky").expect("source");
    let info = p.describe().expect("describe");
    assert_eq!(info.platform, "bluesky");
    assert_eq!(info.collections, Collection::ALL);
    assert!(info.credentials.is_empty(), "{:?}", info.credentials);
    let rules: Vec<_> = info.unsupported.iter().map(|u| u.rule.as_str()).collect();
    assert_eq!(rules, ["min_followers"]);

    let post = giveaway(&p);
    assert_eq!(
        post.id,
        format!(
            "at://{}/app.bsky.feed.post/{}",
            bluesky::AUTHOR_HANDLE,
            bluesky::POST_RKEY
        )
    );
    let by_uri = p
        .parse_url(&bluesky::post_uri())
        .expect("no fault")
        .expect("an at-URI");
    assert_eq!(by_uri.id, bluesky::post_uri());
    let e = p
        .parse_url("https://mastodon.social/@a/1")
        .expect("no fault")
        .expect_err("not Bluesky");
    assert!(matches!(e, PluginError::InvalidInput(_)), "{e:?}");
    assert_eq!(m.request_count(), 0, "parsing makes no request");
}

#[test]
fn bluesky_fetches_every_like_through_the_host() {
    let m = bluesky::start_blocking(bluesky::Config {
        likes: 250,
        filtered: (100, 5),
        ..bluesky::Config::default()
    });
    let rt = official(&m, &[]);
    let p = rt.source("bluesky").expect("source");
    let post = giveaway(&p);
    let fetched = fetch_to_vec(&p, &post, Collection::Likes, &options(), |_| {}).expect("likes");
    assert_eq!((fetched.pages, fetched.stop), (3, Stop::Complete));
    let got: Vec<&str> = fetched.entries.iter().map(|e| e.user_id.as_ref()).collect();
    let expected: Vec<String> = m
        .config()
        .likers()
        .into_iter()
        .map(|r| r.account.did)
        .collect();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 245, "five records the AppView dropped");
    assert!(
        fetched
            .entries
            .iter()
            .all(|e| e.platform == "bluesky" && e.collection_name() == "likes")
    );
    // The handle resolved once; then three pages of 100 (one short).
    let requests = m.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/xrpc/com.atproto.identity.resolveHandle",
            "/xrpc/app.bsky.feed.getLikes",
            "/xrpc/app.bsky.feed.getLikes",
            "/xrpc/app.bsky.feed.getLikes"
        ]
    );
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.query_param("limit") == Some("100")
                && r.query_param("uri") == Some(bluesky::post_uri().as_str()))
    );
    assert!(m.credentials_seen().is_empty(), "public: no token");
}

#[test]
fn bluesky_replies_follow_subtrees_past_the_depth_limit() {
    let m = bluesky::start_blocking(bluesky::Config {
        comments: 30,
        max_replies: 4,
        deep_chain: 25,
        hidden: 2,
        ..bluesky::Config::default()
    });
    let rt = official(&m, &[]);
    let p = rt.source("bluesky").expect("source");
    let post = giveaway(&p);
    let thread = m.config().thread();
    // Hidden comments take their replies with them.
    let hidden_roots: BTreeSet<usize> = thread
        .iter()
        .enumerate()
        .filter(|(_, r)| r.hidden)
        .map(|(i, _)| i)
        .collect();
    let mut under_hidden = BTreeSet::new();
    for &h in &hidden_roots {
        let mut stack = vec![h];
        while let Some(i) = stack.pop() {
            under_hidden.insert(i);
            stack.extend(thread[i].children.iter().copied());
        }
    }
    let expect = |direct: bool| -> Vec<(String, String)> {
        let mut v: Vec<_> = thread
            .iter()
            .enumerate()
            .filter(|(i, r)| (r.depth == 1) == direct && !under_hidden.contains(i))
            .map(|(_, r)| (r.account.did.clone(), r.created_at.clone()))
            .collect();
        v.sort();
        v
    };
    let got = |entries: &[fairdraw_engine::entry::OwnedEntry]| {
        let mut v: Vec<_> = entries
            .iter()
            .map(|e| (e.user_id.to_string(), e.created_at.to_string()))
            .collect();
        v.sort();
        v
    };

    let comments = fetch_to_vec(&p, &post, Collection::Comments, &options(), |_| {}).expect("c");
    assert_eq!(comments.pages, 1);
    assert_eq!(got(&comments.entries), expect(true));
    assert_eq!(comments.total_hint, Some(28));

    m.reset();
    let replies = fetch_to_vec(&p, &post, Collection::Replies, &options(), |_| {}).expect("r");
    assert_eq!(got(&replies.entries), expect(false));
    // The chain of 25 under the first comment goes to depth 26: cut at 10,
    // then at 20: two more getPostThread calls.
    assert_eq!(replies.pages, 3);
    let threads: Vec<_> = m
        .requests()
        .into_iter()
        .filter(|r| r.path == "/xrpc/app.bsky.feed.getPostThread")
        .collect();
    assert_eq!(threads.len(), 3);
    assert_eq!(
        threads[0].query_param("uri"),
        Some(bluesky::post_uri().as_str())
    );
    assert_eq!(threads[1].query_param("uri"), Some(thread[9].uri.as_str()));
    assert!(threads.iter().all(|r| r.query_param("depth") == Some("10")));
}

#[test]
fn bluesky_reposts_are_followed_by_quote_posts_with_their_text() {
    let m = bluesky::start_blocking(bluesky::Config {
        reposts: 130,
        quotes: 4,
        ..bluesky::Config::default()
    });
    let rt = official(&m, &[]);
    let p = rt.source("bluesky").expect("source");
    let post = giveaway(&p);
    let fetched =
        fetch_to_vec(&p, &post, Collection::Reposts, &options(), |_| {}).expect("reposts");
    let c = m.config();
    let mut expected: Vec<String> = c.reposters().into_iter().map(|a| a.did).collect();
    expected.extend(c.quote_posts().into_iter().map(|q| q.account.did));
    let got: Vec<&str> = fetched.entries.iter().map(|e| e.user_id.as_ref()).collect();
    assert_eq!(got, expected);
    let quote = &fetched.entries[130];
    assert!(quote.text.starts_with("quoting: "), "{}", quote.text);
    assert!(fetched.entries[0].text.is_empty());
}

#[test]
fn bluesky_waits_out_a_rate_limit_until_its_reset() {
    let m = bluesky::start_blocking(bluesky::Config {
        followers: 40,
        faults: mock::Faults {
            rate_limit_first: 1,
            rate_limit_reset_secs: 1,
            ..mock::Faults::default()
        },
        ..bluesky::Config::default()
    });
    let rt = official(&m, &[]);
    let p = rt.source("bluesky").expect("source");
    let post = giveaway(&p);
    let mut events = Vec::new();
    let fetched = fetch_to_vec(&p, &post, Collection::Followers, &options(), |e| {
        events.push(e.event.clone())
    })
    .expect("followers");
    assert_eq!(fetched.entries.len(), 40);
    let ProgressEvent::Retrying { delay, error, .. } = &events[0] else {
        panic!("{events:?}")
    };
    let PluginError::RateLimited(limit) = error else {
        panic!("{error:?}")
    };
    // RateLimit-Reset (epoch seconds) minus Date: about one second.
    assert!(
        matches!(limit.retry_after_seconds, Some(0..=2)),
        "{limit:?}"
    );
    assert!(limit.message.contains("RateLimitExceeded"), "{limit:?}");
    assert!(*delay >= Duration::from_secs(limit.retry_after_seconds.unwrap_or(0)));
}

/// A manifest reading through `appview` with the token on the
/// authenticated origin, as plugin.toml documents.
fn with_appview(id: &str, appview: &str) -> (tempfile::TempDir, PathBuf) {
    manifest(
        id,
        "source",
        "bluesky",
        &format!(
            "[http]\nallow = [\"{public}\", \"{auth}\"]\n\n[[credentials]]\nname = \"access_token\"\norigin = \"{auth}\"\nheader = \"Authorization\"\nformat = \"Bearer {{}}\"\n\n[config]\nappview = \"{appview}\"\n",
            public = bluesky::PRODUCTION_ORIGIN,
            auth = bluesky::AUTHENTICATED_ORIGIN,
        ),
    )
}

#[test]
fn bluesky_sends_the_token_only_to_the_declared_origin() {
    let public = bluesky::start_blocking(bluesky::Config::default());
    let authed = bluesky::start_blocking(bluesky::Config {
        require_auth: true,
        ..bluesky::Config::default()
    });
    let dev = format!(
        "{}={},{}={}",
        bluesky::PRODUCTION_ORIGIN,
        public.origin,
        bluesky::AUTHENTICATED_ORIGIN,
        authed.origin
    );
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials: &[
            ("FAIRDRAW_CREDENTIAL_BLUESKY_ACCESS_TOKEN", bluesky::TOKEN),
            (
                "FAIRDRAW_CREDENTIAL_BLUESKY__AUTH_ACCESS_TOKEN",
                bluesky::TOKEN,
            ),
        ],
        ..Setup::default()
    });
    rt.load(official_manifest()).expect("bluesky loads");
    let (_dir, path) = with_appview("bluesky-auth", bluesky::AUTHENTICATED_ORIGIN);
    rt.load(&path).expect("bluesky-auth loads");

    // The official manifest reads the public AppView: the token is set but
    // never sent there.
    let p = rt.source("bluesky").expect("source");
    let post = giveaway(&p);
    let fetched = fetch_to_vec(&p, &post, Collection::Likes, &options(), |_| {}).expect("likes");
    assert_eq!(fetched.entries.len(), 120);
    assert!(public.request_count() > 0);
    assert!(
        public.credentials_seen().is_empty(),
        "{:?}",
        public.credentials_seen()
    );
    assert_eq!(authed.request_count(), 0);

    // Reading the authenticated AppView, every request carries it.
    let p = rt.source("bluesky-auth").expect("source");
    let fetched = fetch_to_vec(&p, &post, Collection::Likes, &options(), |_| {}).expect("likes");
    assert_eq!(fetched.entries.len(), 120);
    assert!(authed.requests().iter().all(|r| {
        r.header("authorization") == Some(format!("Bearer {}", bluesky::TOKEN).as_str())
    }));
    assert_eq!(
        authed.credentials_seen(),
        BTreeSet::from([
            format!("Bearer {}", bluesky::TOKEN),
            bluesky::TOKEN.to_owned()
        ])
    );
}

#[test]
fn bluesky_stops_at_once_on_an_invalid_or_expired_token() {
    let m = bluesky::start_blocking(bluesky::Config::default());
    for (token, error) in [
        ("revoked", "InvalidToken: Malformed token"),
        (bluesky::EXPIRED_TOKEN, "ExpiredToken: Token has expired"),
    ] {
        m.reset();
        let dev = format!("{}={}", bluesky::AUTHENTICATED_ORIGIN, m.origin);
        let (rt, _) = runtime(Setup {
            dev_map: &dev,
            credentials: &[("FAIRDRAW_CREDENTIAL_BLUESKY__AUTH_ACCESS_TOKEN", token)],
            ..Setup::default()
        });
        let (_dir, path) = with_appview("bluesky-auth", bluesky::AUTHENTICATED_ORIGIN);
        rt.load(&path).expect("loads");
        let p = rt.source("bluesky-auth").expect("source");
        let post = p
            .parse_url(&bluesky::post_uri())
            .expect("no fault")
            .expect("post");
        let e =
            fetch_to_vec(&p, &post, Collection::Comments, &options(), |_| {}).expect_err("refused");
        let FetchErrorKind::Unauthorized(m2) = &e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(m2, &format!("Bluesky: {error}"));
        assert_eq!(e.resume_cursor, None);
        assert_eq!(m.request_count(), 1, "not retried");
    }
}
