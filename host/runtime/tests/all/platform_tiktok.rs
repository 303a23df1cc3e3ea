//! The `"tiktok"` source plugin, built from source and loaded by the runtime
//! with its own manifest, against the TikTok Research API mock
//! (`fairdraw_tests::mock::tiktok`) behind `FAIRDRAW_DEV_ORIGIN_MAP`.

use std::path::PathBuf;
use std::time::Duration;

use fairdraw_tests::mock::tiktok::{self, Config, PATH, PRODUCTION_ORIGIN, TOKEN, VIDEO_ID};
use fairdraw_tests::mock::{Faults, MockHandle};
use serde_json::Value;

use crate::plugin::pagination::{FetchErrorKind, FetchOptions, ProgressEvent, RetryPolicy, Stop};
use crate::plugin::{Collection, PluginError, PluginRuntime, Post};
use crate::support::{Setup, component, fetch_to_vec, repo, runtime, source};

/// The plugin's own manifest, after building its component.
fn manifest() -> PathBuf {
    component("tiktok");
    repo().join("plugins/tiktok/plugin.toml")
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_wait: Duration::from_secs(5),
        max_retries: 3,
    }
}

/// A runtime whose `open.tiktokapis.com` is the mock, with `token` as the
/// plugin's `access_token` credential.
fn tiktok_runtime(mock: &MockHandle<Config>, token: &str) -> PluginRuntime {
    let dev = format!("{PRODUCTION_ORIGIN}={}", mock.origin);
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials: &[("FAIRDRAW_CREDENTIAL_TIKTOK_ACCESS_TOKEN", token)],
        ..Setup::default()
    });
    rt.load(manifest()).expect("tiktok loads");
    rt
}

fn video() -> Post {
    Post {
        id: VIDEO_ID.to_string(),
        url: format!("https://www.tiktok.com/@brand/video/{VIDEO_ID}"),
    }
}

/// The `cursor` of each request body the mock received.
fn cursors(mock: &MockHandle<Config>) -> Vec<u64> {
    mock.bodies()
        .iter()
        .map(|b| {
            let body: Value = serde_json::from_str(b).expect("a JSON body");
            assert_eq!(body["video_id"].as_u64(), Some(VIDEO_ID), "{b}");
            body["cursor"].as_u64().expect("an integer cursor")
        })
        .collect()
}

#[test]
fn tiktok_describes_itself_and_parses_urls() {
    let mock = tiktok::start_blocking(Config::default());
    let rt = tiktok_runtime(&mock, TOKEN);
    let tt = rt.source("tiktok").expect("source");
    let info = tt.describe().expect("describe");
    assert_eq!(info.platform, "tiktok");
    assert_eq!(info.collections, [Collection::Comments]);
    assert_eq!(info.credentials, ["access_token"]);
    let rules: Vec<_> = info.unsupported.iter().map(|u| u.rule.as_str()).collect();
    for rule in [
        "entries_per_user",
        "organizer",
        "min_followers",
        "min_account_age_days",
        "require_in",
    ] {
        assert!(rules.contains(&rule), "{rule} missing from {rules:?}");
    }
    let post = tt
        .parse_url("https://www.tiktok.com/@brand/video/7345678901234500001?lang=en")
        .expect("no fault")
        .expect("a video");
    assert_eq!(post, video(), "the 19-digit id is exact");
    let e = tt
        .parse_url("https://www.youtube.com/watch?v=axepn8QqxRk")
        .expect("no fault")
        .expect_err("not TikTok");
    assert!(matches!(e, PluginError::InvalidInput(_)), "{e:?}");
    let e = tt
        .fetch_page(&video(), Collection::Likes, None)
        .expect("no fault")
        .expect_err("comments only");
    assert!(matches!(e, PluginError::InvalidInput(_)), "{e:?}");
    assert_eq!(mock.request_count(), 0);
}

#[test]
fn tiktok_fetches_every_page_waiting_out_a_rate_limit() {
    let mock = tiktok::start_blocking(Config {
        comments: 250,
        deleted: (100..200).chain([7]).collect(),
        hidden: vec![3],
        faults: Faults {
            rate_limit_first: 1,
            ..Faults::default()
        },
        ..Config::default()
    });
    let rt = tiktok_runtime(&mock, TOKEN);
    let tt = rt.source("tiktok").expect("source");
    let options = FetchOptions {
        retry: fast_retries(),
        ..FetchOptions::default()
    };
    let mut events = Vec::new();
    let fetched = fetch_to_vec(&tt, &video(), Collection::Comments, &options, |p| {
        events.push(p.event.clone())
    })
    .expect("all pages");

    // The 429 has no reset: the plugin reports a rate limit without one and
    // the host backs off on its own schedule.
    let ProgressEvent::Retrying {
        attempt: 1,
        error: PluginError::RateLimited(limit),
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(limit.retry_after_seconds, None);
    assert!(limit.message.contains("rate_limit_exceeded"), "{limit:?}");
    // Three pages, the second empty (all deleted) but with more to come.
    assert_eq!(events[1..], [const { ProgressEvent::Page }; 3]);
    assert_eq!((fetched.pages, fetched.stop), (3, Stop::Complete));
    assert_eq!(cursors(&mock), [0, 0, 100, 200]);

    let listed = mock.config().listed();
    assert_eq!(fetched.entries.len(), listed.len());
    assert_eq!(listed.len(), 149);
    for (e, c) in fetched.entries.iter().zip(&listed) {
        assert_eq!(e.platform, "tiktok");
        assert_eq!(e.collection_name(), "comments");
        assert_eq!(e.user_id, format!("comment:{}", c.id));
        assert_eq!(e.handle, format!("@comment-{}", c.id));
        assert_eq!(e.text, c.text.clone().unwrap_or_default());
        assert_eq!((e.followers, e.account_created_at.as_deref()), (None, None));
    }
    assert_eq!(fetched.entries[0].created_at, "2022-03-01T12:00:00Z");
    assert_eq!(fetched.entries[3].text, "", "hidden");
    assert_eq!(
        fetched.entries[1].user_id, "comment:7345678901235567004",
        "a 19-digit id above 2^53, exact through the component"
    );

    // Every request: POST to the production path, the fields, the token the
    // host attached (the plugin never sees it), as `Authorization: Bearer`.
    let requests = mock.requests();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", PATH));
        assert_eq!(
            r.query_param("fields"),
            Some("id,video_id,text,create_time")
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        let auth: Vec<_> = r
            .headers
            .iter()
            .filter(|(k, _)| k == "authorization")
            .collect();
        assert_eq!(auth.len(), 1, "{:?}", r.headers);
    }
    assert_eq!(
        mock.credentials_seen().into_iter().collect::<Vec<_>>(),
        [format!("Bearer {TOKEN}"), TOKEN.to_owned()]
    );
}

#[test]
fn tiktok_sends_the_token_only_to_its_declared_origin() {
    // The same component, its credential declared for another (allowed)
    // origin: the requests to open.tiktokapis.com carry no token, so TikTok
    // refuses them, and the plugin says so.
    let mock = tiktok::start_blocking(Config::default());
    let dev = format!("{PRODUCTION_ORIGIN}={}", mock.origin);
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials: &[(
            "FAIRDRAW_CREDENTIAL_TIKTOK__ELSEWHERE_ACCESS_TOKEN",
            "leak-me",
        )],
        ..Setup::default()
    });
    let tt = source(
        &rt,
        "tiktok-elsewhere",
        "tiktok",
        &format!(
            "[http]\nallow = [\"{PRODUCTION_ORIGIN}\", \"https://auth.tiktok.example\"]\n\n\
             [[credentials]]\nname = \"access_token\"\norigin = \"https://auth.tiktok.example\"\n\
             header = \"Authorization\"\nformat = \"Bearer {{}}\"\n"
        ),
    );
    let e = tt
        .fetch_page(&video(), Collection::Comments, None)
        .expect("no fault")
        .expect_err("no token, refused");
    assert!(matches!(e, PluginError::Unauthorized(_)), "{e:?}");
    assert_eq!(mock.request_count(), 1);
    assert!(
        mock.credentials_seen().is_empty(),
        "{:?}",
        mock.credentials_seen()
    );
}

#[test]
fn tiktok_stops_at_once_on_a_refused_token() {
    let mock = tiktok::start_blocking(Config {
        expired_token: Some("clt.expired".into()),
        ..Config::default()
    });
    let rt = tiktok_runtime(&mock, "clt.expired");
    let tt = rt.source("tiktok").expect("source");
    let e = fetch_to_vec(
        &tt,
        &video(),
        Collection::Comments,
        &FetchOptions::default(),
        |_| {},
    )
    .expect_err("refused");
    let FetchErrorKind::Unauthorized(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert!(m.starts_with("TikTok: The access token is invalid"), "{m}");
    assert!(m.contains("access_token_invalid"), "{m}");
    assert_eq!((e.pages, e.resume_cursor.as_deref()), (0, None));
    assert_eq!(mock.request_count(), 1, "not retried");
}

#[test]
fn tiktok_token_expiring_mid_fetch_resumes_with_a_new_one() {
    let mock = tiktok::start_blocking(Config {
        comments: 250,
        expires_after: Some(2),
        ..Config::default()
    });
    let rt = tiktok_runtime(&mock, TOKEN);
    let tt = rt.source("tiktok").expect("source");
    let e = fetch_to_vec(
        &tt,
        &video(),
        Collection::Comments,
        &FetchOptions::default(),
        |_| {},
    )
    .expect_err("expired");
    assert!(matches!(e.kind, FetchErrorKind::Unauthorized(_)), "{e:?}");
    assert_eq!((e.pages, e.entries.len()), (2, 200));
    assert_eq!(e.resume_cursor.as_deref(), Some("200"));

    // A new token (the old one ran out): resume where it stopped.
    mock.configure(|c| {
        c.token = "clt.renewed".into();
        c.expires_after = None;
    });
    let rt = tiktok_runtime(&mock, "clt.renewed");
    let tt = rt.source("tiktok").expect("source");
    let rest = fetch_to_vec(
        &tt,
        &video(),
        Collection::Comments,
        &FetchOptions {
            cursor: e.resume_cursor.clone(),
            ..FetchOptions::default()
        },
        |_| {},
    )
    .expect("the rest");
    assert_eq!((rest.pages, rest.entries.len()), (1, 50));
    let ids: Vec<_> = e
        .entries
        .iter()
        .chain(&rest.entries)
        .map(|x| x.user_id.to_string())
        .collect();
    let expected: Vec<_> = mock
        .config()
        .listed()
        .iter()
        .map(|c| format!("comment:{}", c.id))
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(cursors(&mock), [0, 100, 200, 200]);
}

#[test]
fn tiktok_gives_up_on_a_rate_limit_that_lasts() {
    let mock = tiktok::start_blocking(Config {
        faults: Faults {
            rate_limit_first: 100,
            ..Faults::default()
        },
        ..Config::default()
    });
    let rt = tiktok_runtime(&mock, TOKEN);
    let tt = rt.source("tiktok").expect("source");
    let e = fetch_to_vec(
        &tt,
        &video(),
        Collection::Comments,
        &FetchOptions {
            retry: fast_retries(),
            ..FetchOptions::default()
        },
        |_| {},
    )
    .expect_err("gave up");
    let FetchErrorKind::GaveUp { error, retries, .. } = &e.kind else {
        panic!("{e:?}")
    };
    assert!(matches!(error, PluginError::RateLimited(_)), "{error:?}");
    assert_eq!(*retries, 3);
    assert_eq!(mock.request_count(), 4);
}
