//! The `"facebook"` source plugin through the runtime, against the Graph API
//! mock of `fairdraw_tests::mock::facebook`: describe, URL parsing (a Page
//! username resolved through the host), full paginated fetches of every
//! collection across short and empty pages, the Page token sent only to the
//! origin that declares it, throttling answered with Meta's
//! `X-Business-Use-Case-Usage` wait honoured, and refused or expired tokens
//! stopping the fetch at once.

use std::path::PathBuf;
use std::time::Duration;

use fairdraw_tests::mock::{self, MockHandle, facebook};

use crate::plugin::pagination::{FetchErrorKind, FetchOptions, ProgressEvent, RetryPolicy, Stop};
use crate::plugin::{Collection, PluginError, PluginRuntime, Post, SourcePlugin};
use crate::support::{Setup, component, fetch_to_vec, manifest, repo, runtime};

const CREDENTIAL: &str = "FAIRDRAW_CREDENTIAL_FACEBOOK_ACCESS_TOKEN";

/// The plugin's own manifest, after building its component.
fn official_manifest() -> PathBuf {
    component("facebook");
    repo().join("plugins/facebook/plugin.toml")
}

fn options() -> FetchOptions {
    FetchOptions {
        retry: RetryPolicy {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_wait: Duration::from_secs(10),
            max_retries: 3,
        },
        ..FetchOptions::default()
    }
}

/// A runtime with the official manifest, the Graph API mapped to `m`.
fn official(m: &MockHandle<facebook::Config>, token: &str) -> PluginRuntime {
    let dev = format!("{}={}", facebook::PRODUCTION_ORIGIN, m.origin);
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials: &[(CREDENTIAL, token)],
        ..Setup::default()
    });
    rt.load(official_manifest()).expect("facebook loads");
    rt
}

fn giveaway(p: &SourcePlugin) -> Post {
    p.parse_url(facebook::POST_ID)
        .expect("no fault")
        .expect("a post id")
}

#[test]
fn facebook_describes_and_parses_urls() {
    let m = facebook::start_blocking(facebook::Config::default());
    let rt = official(&m, facebook::TOKEN);
    let p = rt.source("facebook").expect("source");
    let info = p.describe().expect("describe");
    assert_eq!(info.platform, "facebook");
    assert_eq!(
        info.collections,
        [
            Collection::Comments,
            Collection::Replies,
            Collection::Likes,
            Collection::Reposts
        ]
    );
    assert_eq!(info.credentials, ["access_token"]);
    let rules: Vec<_> = info.unsupported.iter().map(|u| u.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["min_followers", "min_account_age_days", "require_in"]
    );

    let (page, post) = facebook::POST_ID.split_once('_').expect("page_post");
    let canonical = Post {
        id: facebook::POST_ID.into(),
        url: format!("https://www.facebook.com/{page}/posts/{post}"),
    };
    for url in [
        facebook::POST_ID.to_owned(),
        format!("https://www.facebook.com/{page}/posts/{post}"),
        format!("https://www.facebook.com/permalink.php?story_fbid={post}&id={page}"),
    ] {
        assert_eq!(
            p.parse_url(&url).expect("no fault").as_ref(),
            Ok(&canonical),
            "{url}"
        );
    }
    assert_eq!(m.request_count(), 0, "numeric forms need no request");
    // A Page username is resolved through the host, with the token.
    let by_name = p
        .parse_url(&format!(
            "https://www.facebook.com/{}/posts/{post}",
            facebook::PAGE_USERNAME
        ))
        .expect("no fault")
        .expect("a post");
    assert_eq!(by_name, canonical);
    let requests = m.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].path,
        format!("/v23.0/{}", facebook::PAGE_USERNAME)
    );
    for bad in [
        "https://mastodon.social/@a/1",
        "https://www.facebook.com/acme/posts/pfbid02xyz",
    ] {
        let e = p.parse_url(bad).expect("no fault").expect_err("not a post");
        assert!(matches!(e, PluginError::InvalidInput(_)), "{bad}: {e:?}");
    }
}

#[test]
fn facebook_fetches_every_collection_through_the_host() {
    let m = facebook::start_blocking(facebook::Config {
        comments: 230,
        anonymous_every: 9,
        deleted: vec![4, 100],
        short_pages: true,
        empty_page_at: Some(2),
        reactions: 240,
        shares: 25,
        public_origin: Some(facebook::PRODUCTION_ORIGIN.into()),
        ..facebook::Config::default()
    });
    let rt = official(&m, facebook::TOKEN);
    let p = rt.source("facebook").expect("source");
    let post = giveaway(&p);
    let config = m.config();

    // comments: pages of 100, an empty page 2 and short even pages, all with `next`.
    let fetched =
        fetch_to_vec(&p, &post, Collection::Comments, &options(), |_| {}).expect("comments");
    assert_eq!(fetched.stop, Stop::Complete);
    assert_eq!(fetched.total_hint, Some(228));
    let expected: Vec<_> = config
        .toplevel()
        .into_iter()
        .filter_map(|c| Some((c.from?.id, facebook::rfc3339(&c.created_time))))
        .collect();
    let got: Vec<_> = fetched
        .entries
        .iter()
        .map(|e| (e.user_id.to_string(), e.created_at.to_string()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 228 - 25, "every 9th comment has no author");
    // 100, the empty page 2, 100, then a short last page of 28.
    assert_eq!(fetched.pages, 4);
    assert!(fetched.entries.iter().all(|e| e.platform == "facebook"
        && e.collection_name() == "comments"
        && e.handle == format!("@{}", e.user_id)));
    // Tags became @id mentions.
    let tagged = config
        .toplevel()
        .into_iter()
        .find(|c| c.tags.len() == 3)
        .expect("a tagged comment");
    let entry = fetched
        .entries
        .iter()
        .find(|e| e.created_at == facebook::rfc3339(&tagged.created_time))
        .expect("its entry");
    for t in &tagged.tags {
        assert!(entry.text.contains(&format!("@{}", t.id)), "{}", entry.text);
    }
    // Every request carried the token as a header, never in the URL.
    for r in m.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {}", facebook::TOKEN).as_str())
        );
        assert_eq!(r.query_param("access_token"), None);
        assert_eq!(r.query_param("limit"), Some("100"));
    }

    // replies: the stream's items with a parent, the Page's own included.
    m.reset();
    let replies =
        fetch_to_vec(&p, &post, Collection::Replies, &options(), |_| {}).expect("replies");
    let expected: Vec<_> = config
        .stream()
        .into_iter()
        .filter(|c| c.parent.is_some())
        .map(|c| c.from.map(|f| f.id).unwrap_or_default())
        .collect();
    let got: Vec<_> = replies
        .entries
        .iter()
        .map(|e| e.user_id.to_string())
        .collect();
    assert_eq!(got, expected);
    assert!(got.contains(&facebook::PAGE_ID.to_owned()));
    assert!(
        m.requests()
            .iter()
            .all(|r| r.query_param("filter") == Some("stream"))
    );

    // likes: every reaction, its type as text, the post's time.
    let likes = fetch_to_vec(&p, &post, Collection::Likes, &options(), |_| {}).expect("likes");
    assert_eq!(likes.entries.len(), 240);
    assert_eq!(likes.total_hint, Some(240));
    let kinds: Vec<_> = likes
        .entries
        .iter()
        .take(3)
        .map(|e| e.text.to_string())
        .collect();
    assert_eq!(kinds, ["LIKE", "LOVE", "WOW"]);
    assert!(
        likes
            .entries
            .iter()
            .all(|e| e.created_at == facebook::rfc3339(facebook::POST_TIME))
    );

    // reposts: the visible shares, a quote's text kept.
    let reposts =
        fetch_to_vec(&p, &post, Collection::Reposts, &options(), |_| {}).expect("reposts");
    let shares = config.shares_list();
    assert_eq!(
        reposts.entries.len(),
        shares.iter().filter(|s| s.from.is_some()).count()
    );
    assert!(
        reposts.entries[0].text.starts_with("Look @"),
        "{}",
        reposts.entries[0].text
    );
}

#[test]
fn facebook_sends_the_token_only_to_the_origin_that_declares_it() {
    let graph = facebook::start_blocking(facebook::Config::default());
    let other = facebook::start_blocking(facebook::Config::default());
    let dev = format!(
        "{}={},https://www.facebook.com={}",
        facebook::PRODUCTION_ORIGIN,
        graph.origin,
        other.origin
    );
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials: &[(
            "FAIRDRAW_CREDENTIAL_FACEBOOK__ELSEWHERE_ACCESS_TOKEN",
            facebook::TOKEN,
        )],
        ..Setup::default()
    });
    // The credential is declared for www.facebook.com, not for the Graph API.
    let (_dir, path) = manifest(
        "facebook-elsewhere",
        "source",
        "facebook",
        "[http]\nallow = [\"https://graph.facebook.com\", \"https://www.facebook.com\"]\n\n\
         [[credentials]]\nname = \"access_token\"\norigin = \"https://www.facebook.com\"\n\
         header = \"Authorization\"\nformat = \"Bearer {}\"\n",
    );
    rt.load(&path).expect("loads");
    let p = rt.source("facebook-elsewhere").expect("source");
    let post = giveaway(&p);
    let e =
        fetch_to_vec(&p, &post, Collection::Comments, &options(), |_| {}).expect_err("no token");
    let FetchErrorKind::Unauthorized(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert!(m.contains("no access token was sent"), "{m}");
    assert!(
        graph.credentials_seen().is_empty(),
        "{:?}",
        graph.credentials_seen()
    );
    assert_eq!(graph.request_count(), 1);
    assert_eq!(other.request_count(), 0);
}

#[test]
fn facebook_honours_the_business_use_case_wait() {
    // 80001 with estimated_time_to_regain_access = 2 minutes: more than the
    // 10 s the policy allows, so the host gives up instead of hammering.
    let m = facebook::start_blocking(facebook::Config {
        faults: mock::Faults {
            rate_limit_first: 1,
            rate_limit_reset_secs: 120,
            ..mock::Faults::default()
        },
        ..facebook::Config::default()
    });
    let rt = official(&m, facebook::TOKEN);
    let p = rt.source("facebook").expect("source");
    let post = giveaway(&p);
    let e = fetch_to_vec(&p, &post, Collection::Comments, &options(), |_| {}).expect_err("gave up");
    let FetchErrorKind::GaveUp { error, why, .. } = &e.kind else {
        panic!("{e:?}")
    };
    let PluginError::RateLimited(limit) = error else {
        panic!("{error:?}")
    };
    assert_eq!(limit.retry_after_seconds, Some(120));
    assert!(limit.message.contains("(#80001)"), "{}", limit.message);
    assert!(why.contains("waiting 120 s"), "{why}");
    assert_eq!(m.request_count(), 1);

    // Throttled twice with no wait given (#4, only X-App-Usage at 100%):
    // the host backs off, retries, and the fetch completes.
    m.configure(|c| {
        c.throttle_code = 4;
        c.faults = mock::Faults {
            rate_limit_first: 2,
            rate_limit_reset_secs: 0,
            ..mock::Faults::default()
        };
    });
    m.reset();
    let mut events = Vec::new();
    let fetched = fetch_to_vec(&p, &post, Collection::Comments, &options(), |p| {
        events.push(p.event.clone())
    })
    .expect("comments");
    assert_eq!(fetched.stop, Stop::Complete);
    assert_eq!(fetched.entries.len(), 60);
    let retries: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Retrying {
                error: PluginError::RateLimited(r),
                ..
            } => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2);
    assert!(
        retries.iter().all(|r| r.retry_after_seconds.is_none()
            && r.message.contains("x-app-usage: call_count 100%"))
    );
}

#[test]
fn facebook_stops_on_refused_and_expired_tokens() {
    let m = facebook::start_blocking(facebook::Config {
        comments: 150,
        ..facebook::Config::default()
    });
    for (token, says) in [
        ("EAAwrong", "Cannot parse access token"),
        (facebook::EXPIRED_TOKEN, "the access token has expired"),
    ] {
        m.reset();
        let rt = official(&m, token);
        let p = rt.source("facebook").expect("source");
        let post = giveaway(&p);
        let e =
            fetch_to_vec(&p, &post, Collection::Comments, &options(), |_| {}).expect_err("refused");
        let FetchErrorKind::Unauthorized(msg) = &e.kind else {
            panic!("{e:?}")
        };
        assert!(msg.contains(says), "{msg}");
        assert_eq!(e.resume_cursor, None);
        assert_eq!(m.request_count(), 1, "not retried");
    }

    // Revoked after the first page: what was fetched is kept with the
    // cursor to resume from, and resuming with a good token completes.
    m.reset();
    let rt = official(&m, facebook::TOKEN);
    let p = rt.source("facebook").expect("source");
    let post = giveaway(&p);
    let first = p
        .fetch_page(&post, Collection::Comments, None)
        .expect("no fault")
        .expect("page 1");
    m.configure(|c| c.token = "rotated".into());
    let e = fetch_to_vec(
        &p,
        &post,
        Collection::Comments,
        &FetchOptions {
            cursor: first.next_cursor.clone(),
            ..options()
        },
        |_| {},
    )
    .expect_err("revoked");
    assert!(matches!(e.kind, FetchErrorKind::Unauthorized(_)), "{e:?}");
    assert_eq!(e.resume_cursor, first.next_cursor);
    m.configure(|c| c.token = facebook::TOKEN.into());
    let rest = fetch_to_vec(
        &p,
        &post,
        Collection::Comments,
        &FetchOptions {
            cursor: e.resume_cursor.clone(),
            ..options()
        },
        |_| {},
    )
    .expect("the rest");
    assert_eq!(first.entries.len() + rest.entries.len(), 150);
}
