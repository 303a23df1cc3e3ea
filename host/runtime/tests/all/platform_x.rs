//! The `"x"` source plugin (crate `x`) through the runtime, against the X
//! mock of `fairdraw_tests::mock::x`: describe, URL parsing, full paginated
//! fetches, the bearer token attached only to its declared origin, the
//! `x-rate-limit-reset` wait, and a refused token stopping cleanly.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use fairdraw_tests::mock::{self, MockHandle, x as mock_x};

use crate::plugin::pagination::{
    FetchError, FetchErrorKind, FetchOptions, Fetched, ProgressEvent, RetryPolicy, Stop,
};
use crate::plugin::{Collection, PluginError, PluginRuntime, Post, SourcePlugin};
use crate::support::{InMemory, Logs, Setup, component, fetch_to_vec, manifest, repo, runtime};

const CREDENTIAL: &str = "FAIRDRAW_CREDENTIAL_X_BEARER_TOKEN";

/// The plugin's own manifest, after building its component.
fn manifest_path() -> PathBuf {
    component("x");
    repo().join("plugins/x/plugin.toml")
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_wait: Duration::from_secs(10),
        max_retries: 3,
    }
}

/// A runtime with the x plugin loaded, its origin sent to `mock`, and
/// `token` as its credential.
fn x_runtime(mock: &MockHandle<mock_x::Config>, token: &str) -> (PluginRuntime, Logs) {
    let dev = format!("{}={}", mock_x::PRODUCTION_ORIGIN, mock.origin);
    let (rt, logs) = runtime(Setup {
        dev_map: &dev,
        credentials: &[(CREDENTIAL, token)],
        ..Setup::default()
    });
    rt.load(manifest_path()).expect("x loads");
    (rt, logs)
}

fn post(x: &SourcePlugin) -> Post {
    x.parse_url(&format!(
        "https://x.com/{}/status/{}",
        mock_x::AUTHOR,
        mock_x::POST_ID
    ))
    .expect("no fault")
    .expect("a post")
}

#[allow(clippy::result_large_err, reason = "as fetch_all, which it wraps")]
fn fetch(
    x: &SourcePlugin,
    collection: Collection,
) -> Result<InMemory<Fetched>, InMemory<FetchError>> {
    let options = FetchOptions {
        retry: fast_retries(),
        ..FetchOptions::default()
    };
    fetch_to_vec(x, &post(x), collection, &options, |_| {})
}

#[test]
fn x_describes_and_parses_urls() {
    let m = mock_x::start_blocking(mock_x::Config::default());
    let (rt, _) = x_runtime(&m, mock_x::BEARER_TOKEN);
    let x = rt.source("x").expect("source");
    let info = x.describe().expect("describe");
    assert_eq!(info.platform, "x");
    assert_eq!(
        info.collections,
        [
            Collection::Comments,
            Collection::Replies,
            Collection::Likes,
            Collection::Reposts,
            Collection::Followers
        ]
    );
    assert_eq!(info.credentials, ["bearer_token"]);
    for url in [
        format!(
            "https://twitter.com/someone/status/{}?s=20",
            mock_x::POST_ID
        ),
        format!("https://x.com/i/web/status/{}", mock_x::POST_ID),
        mock_x::POST_ID.to_owned(),
    ] {
        let p = x.parse_url(&url).expect("no fault").expect("a post");
        assert_eq!(p.id, mock_x::POST_ID, "{url}");
    }
    assert_eq!(
        post(&x).url,
        format!(
            "https://x.com/{}/status/{}",
            mock_x::AUTHOR,
            mock_x::POST_ID
        )
    );
    let e = x
        .parse_url("https://mastodon.social/@a/1")
        .expect("no fault")
        .expect_err("not X");
    assert!(matches!(e, PluginError::InvalidInput(_)), "{e:?}");
    assert_eq!(
        m.request_count(),
        0,
        "describe and parse_url make no request"
    );
}

#[test]
fn x_fetches_every_page_of_replies_with_the_token_only_on_its_origin() {
    let m = mock_x::start_blocking(mock_x::Config::default());
    let (rt, logs) = x_runtime(&m, mock_x::BEARER_TOKEN);
    let x = rt.source("x").expect("source");
    let fetched = fetch(&x, Collection::Comments).expect("all pages");
    assert_eq!((fetched.pages, fetched.stop), (2, Stop::Complete));
    let conversation = m.config().conversation();
    let expected: Vec<&str> = conversation
        .iter()
        .filter(|t| !t.deleted && !t.suspended && t.is_direct_reply(mock_x::POST_ID))
        .map(|t| t.author.id.as_str())
        .collect();
    let got: Vec<&str> = fetched.entries.iter().map(|e| &*e.user_id).collect();
    assert_eq!(got, expected);
    let e = &fetched.entries[0];
    assert_eq!((&*e.platform, e.collection_name()), ("x", "comments"));
    assert!(
        e.text.contains("#giveaway") && !e.text.contains("&amp;"),
        "{}",
        e.text
    );
    assert!(e.followers.is_some() && e.account_created_at.is_some());
    // Suspended authors were reported by X in errors[] and logged.
    assert!(
        logs.of("x")
            .iter()
            .any(|l| l.message.contains("partial error")),
        "{:?}",
        logs.of("x")
    );
    // The host attached the token it was given, as a bearer header.
    let requests = m.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.path == "/2/tweets/search/recent"));
    assert_eq!(
        m.credentials_seen(),
        BTreeSet::from([
            format!("Bearer {}", mock_x::BEARER_TOKEN),
            mock_x::BEARER_TOKEN.to_owned()
        ])
    );

    // The same component whose credential is declared for another origin:
    // nothing is attached to api.x.com, and X refuses the request.
    m.reset();
    let (_dir, path) = manifest(
        "x-elsewhere",
        "source",
        "x",
        "[http]\nallow = [\"https://api.x.com\", \"https://upload.x.com\"]\n\n[[credentials]]\nname = \"bearer_token\"\norigin = \"https://upload.x.com\"\nheader = \"Authorization\"\nformat = \"Bearer {}\"\n",
    );
    let dev = format!("{}={}", mock_x::PRODUCTION_ORIGIN, m.origin);
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials: &[(
            "FAIRDRAW_CREDENTIAL_X__ELSEWHERE_BEARER_TOKEN",
            mock_x::BEARER_TOKEN,
        )],
        ..Setup::default()
    });
    rt.load(&path).expect("x-elsewhere loads");
    let elsewhere = rt.source("x-elsewhere").expect("source");
    let e = fetch(&elsewhere, Collection::Comments).expect_err("no token on api.x.com");
    assert!(matches!(e.kind, FetchErrorKind::Unauthorized(_)), "{e:?}");
    assert!(
        m.credentials_seen().is_empty(),
        "{:?}",
        m.credentials_seen()
    );
}

#[test]
fn x_lists_likes_reposts_with_quotes_and_followers() {
    let m = mock_x::start_blocking(mock_x::Config {
        empty_page: Some(2),
        ..mock_x::Config::default()
    });
    let (rt, _) = x_runtime(&m, mock_x::BEARER_TOKEN);
    let x = rt.source("x").expect("source");
    let config = m.config();

    let likes = fetch(&x, Collection::Likes).expect("likes");
    let ids: Vec<&str> = likes.entries.iter().map(|e| &*e.user_id).collect();
    let expected: Vec<String> = config.liking_users().into_iter().map(|u| u.id).collect();
    assert_eq!(ids, expected);
    // Page 2 is empty but carries a next_token: the walk goes on.
    assert_eq!(likes.pages, 3);
    assert!(
        likes
            .entries
            .iter()
            .all(|e| e.created_at == "2022-03-01T12:00:00.000Z")
    );

    let reposts = fetch(&x, Collection::Reposts).expect("reposts");
    let retweets = config.retweeted_by();
    let quotes = config.quote_tweets();
    assert_eq!(reposts.entries.len(), retweets.len() + quotes.len());
    let quote = &reposts.entries[retweets.len()];
    assert_eq!(&*quote.user_id, quotes[0].author.id);
    assert_eq!(&*quote.text, quotes[0].text);
    assert_eq!(&*quote.created_at, quotes[0].created_at);

    let followers = fetch(&x, Collection::Followers).expect("followers");
    assert_eq!(followers.entries.len(), config.followers);
    let paths: Vec<String> = m.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&format!("/2/users/{}/followers", mock_x::AUTHOR_ID)),
        "{paths:?}"
    );
}

#[test]
fn x_waits_out_a_rate_limit_until_x_rate_limit_reset() {
    let m = mock_x::start_blocking(mock_x::Config {
        faults: mock::Faults {
            rate_limit_first: 1,
            rate_limit_reset_secs: 2,
            ..mock::Faults::default()
        },
        ..mock_x::Config::default()
    });
    let (rt, _) = x_runtime(&m, mock_x::BEARER_TOKEN);
    let x = rt.source("x").expect("source");
    let options = FetchOptions {
        retry: fast_retries(),
        ..FetchOptions::default()
    };
    let mut events = Vec::new();
    let fetched = fetch_to_vec(&x, &post(&x), Collection::Likes, &options, |p| {
        events.push(p.event.clone())
    })
    .expect("all pages after the wait");
    assert_eq!(fetched.stop, Stop::Complete);
    assert_eq!(fetched.entries.len(), m.config().likes);
    let ProgressEvent::Retrying {
        attempt: 1,
        delay,
        error: PluginError::RateLimited(limit),
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    // The wait comes from x-rate-limit-reset (epoch seconds) against Date,
    // not from the 5 ms backoff.
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(3)).contains(delay),
        "{delay:?}"
    );
    assert!(
        limit
            .retry_after_seconds
            .is_some_and(|s| (1..=3).contains(&s)),
        "{limit:?}"
    );
}

#[test]
fn x_stops_cleanly_on_a_refused_token_and_a_missing_tier() {
    let m = mock_x::start_blocking(mock_x::Config::default());
    let (rt, _) = x_runtime(&m, mock_x::EXPIRED_TOKEN);
    let x = rt.source("x").expect("source");
    let e = fetch(&x, Collection::Comments).expect_err("refused");
    let FetchErrorKind::Unauthorized(message) = &e.kind else {
        panic!("{e:?}")
    };
    assert!(message.starts_with("X: Unauthorized"), "{message}");
    assert_eq!((e.pages, e.resume_cursor.as_deref()), (0, None));
    assert_eq!(m.request_count(), 1, "not retried");

    m.configure(|c| c.followers_available = false);
    m.reset();
    let (rt, _) = x_runtime(&m, mock_x::BEARER_TOKEN);
    let x = rt.source("x").expect("source");
    let e = fetch(&x, Collection::Followers).expect_err("tier");
    let FetchErrorKind::Unauthorized(message) = &e.kind else {
        panic!("{e:?}")
    };
    assert!(
        message.contains("not available on this access tier"),
        "{message}"
    );
    assert_eq!(m.request_count(), 2, "the post lookup, then followers once");
}
