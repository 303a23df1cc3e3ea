use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fairdraw_engine::entry::OwnedEntry;

use crate::plugin::pagination::{FetchErrorKind, FetchOptions, ProgressEvent, RetryPolicy, Stop};
use crate::plugin::{Collection, PluginError, PluginRuntime, Verdict};
use crate::support::{MockServer, Reply, Setup, component, fetch_to_vec, repo, runtime};

/// A first-party plugin's own manifest, after building its component.
fn manifest_of(dir: &str, crate_name: &str) -> PathBuf {
    component(crate_name);
    repo().join("plugins").join(dir).join("plugin.toml")
}

fn recorded(plugin: &str, file: &str) -> Vec<u8> {
    std::fs::read(
        repo()
            .join("plugins")
            .join(plugin)
            .join("tests/recorded")
            .join(file),
    )
    .expect("recorded response")
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_wait: Duration::from_secs(5),
        max_retries: 3,
    }
}

fn youtube(server: &MockServer) -> PluginRuntime {
    let dev = format!("https://www.googleapis.com={}", server.origin());
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        credentials: &[("FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY", "test-key")],
        ..Setup::default()
    });
    rt.load(manifest_of("youtube", "youtube"))
        .expect("youtube loads");
    rt
}

#[test]
fn youtube_describes_and_parses_urls() {
    let server = MockServer::start(|_| Reply::status(500, ""));
    let yt = youtube(&server).source("youtube").expect("source");
    let info = yt.describe().expect("describe");
    assert_eq!(info.platform, "youtube");
    assert_eq!(
        info.collections,
        [Collection::Comments, Collection::Replies]
    );
    assert_eq!(info.credentials, ["api_key"]);
    let post = yt
        .parse_url("https://youtu.be/axepn8QqxRk")
        .expect("no fault")
        .expect("a video");
    assert_eq!(post.id, "axepn8QqxRk");
    let e = yt
        .parse_url("https://mastodon.social/@a/1")
        .expect("no fault")
        .expect_err("not YouTube");
    assert!(matches!(e, PluginError::InvalidInput(_)), "{e:?}");
}

#[test]
fn youtube_fetches_all_comments_through_the_host() {
    let calls = AtomicUsize::new(0);
    let server = MockServer::start(move |r| {
        // The first answer is a rate limit, which the host retries.
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Reply::status(429, recorded("youtube", "error-rate-limit-429.json"));
        }
        if r.target.contains("pageToken=") {
            Reply::ok(recorded("youtube", "threads-2.json"))
        } else {
            Reply::ok(recorded("youtube", "threads-1.json"))
        }
    });
    let rt = youtube(&server);
    let yt = rt.source("youtube").expect("source");
    let post = yt
        .parse_url("https://youtu.be/axepn8QqxRk")
        .expect("no fault")
        .expect("a video");
    let options = FetchOptions {
        retry: fast_retries(),
        ..FetchOptions::default()
    };
    let mut events = Vec::new();
    let fetched = fetch_to_vec(&yt, &post, Collection::Comments, &options, |p| {
        events.push(p.event.clone())
    })
    .expect("all pages");
    assert_eq!((fetched.pages, fetched.stop), (2, Stop::Complete));
    assert!(!fetched.entries.is_empty());
    assert!(
        fetched
            .entries
            .iter()
            .all(|e| e.platform == "youtube" && e.collection_name() == "comments")
    );
    assert!(matches!(
        events[0],
        ProgressEvent::Retrying {
            attempt: 1,
            error: PluginError::RateLimited(_),
            ..
        }
    ));
    assert_eq!(events[1..], [ProgressEvent::Page, ProgressEvent::Page]);
    // Every request went to the production path with the host's key.
    let received = server.received();
    assert_eq!(received.len(), 3);
    for r in &received {
        assert!(
            r.target.starts_with("/youtube/v3/commentThreads?"),
            "{}",
            r.target
        );
        assert!(r.target.contains("key=test-key"), "{}", r.target);
    }
}

#[test]
fn youtube_stops_on_a_refused_key_with_its_message() {
    let server = MockServer::start(|_| {
        Reply::status(400, recorded("youtube", "error-api-key-invalid-400.json"))
    });
    let rt = youtube(&server);
    let yt = rt.source("youtube").expect("source");
    let post = yt
        .parse_url("https://youtu.be/axepn8QqxRk")
        .expect("no fault")
        .expect("a video");
    let e = fetch_to_vec(
        &yt,
        &post,
        Collection::Comments,
        &FetchOptions::default(),
        |_| {},
    )
    .expect_err("refused");
    let FetchErrorKind::Unauthorized(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert!(m.starts_with("YouTube: "), "{m}");
    assert_eq!(e.resume_cursor, None);
    assert_eq!(server.received().len(), 1, "not retried");
}

#[test]
fn drand_fetches_a_round_from_its_relay() {
    let server = MockServer::start(|r| {
        if r.target
            == "/52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971/public/123"
        {
            Reply::ok(recorded("drand", "v1-quicknet-123.json"))
        } else {
            Reply::status(404, "not found")
        }
    });
    let dev = format!("https://api.drand.sh={}", server.origin());
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        ..Setup::default()
    });
    rt.load(manifest_of("drand", "drand")).expect("drand loads");
    let round = rt
        .beacon("drand")
        .expect("beacon")
        .fetch("quicknet", Some(123))
        .expect("no fault")
        .expect("round");
    assert_eq!((round.chain.as_str(), round.round), ("quicknet", 123));
    assert!(round.signature.starts_with("b75c69d0"));
    let e = rt
        .beacon("drand")
        .expect("beacon")
        .fetch("quicknet", Some(124))
        .expect("no fault")
        .expect_err("404");
    assert!(matches!(e, PluginError::NotFound(_)), "{e:?}");
}

fn entry(user: &str, text: &str) -> OwnedEntry {
    OwnedEntry {
        platform: Cow::Borrowed("youtube"),
        user_id: Cow::Owned(user.to_owned()),
        handle: Cow::Owned(format!("@{user}")),
        display_name: Cow::Borrowed(""),
        text: Cow::Owned(text.to_owned()),
        created_at: Cow::Borrowed("2025-01-01T00:00:00Z"),
        collection: Some(Cow::Borrowed("comments")),
        followers: None,
        account_created_at: None,
    }
}

#[test]
fn spam_filter_checks_a_batch() {
    let (rt, _) = runtime(Setup::default());
    rt.load(manifest_of("spam-filter", "spam-filter"))
        .expect("spam-filter loads");
    let f = rt.filter("spam-filter").expect("filter");
    let entries = [
        entry("a", "Great video, thanks!"),
        entry("b", "free giveaway here"),
        entry("c", "free giveaway here"),
        entry("d", "free giveaway here"),
        entry("e", "🎉🎉🎉"),
    ];
    let verdicts = f
        .check(
            &entries,
            r#"{"duplicate_text_accounts": 3, "emoji_only": true}"#,
        )
        .expect("no fault")
        .expect("ok");
    assert_eq!(verdicts.len(), 5);
    assert_eq!(verdicts[0], Verdict::Keep);
    assert!(
        verdicts[1..]
            .iter()
            .all(|v| matches!(v, Verdict::Exclude(_))),
        "{verdicts:?}"
    );
    let e = f
        .check(&entries, r#"{"colour": 1}"#)
        .expect("no fault")
        .expect_err("bad config");
    assert!(matches!(e, PluginError::InvalidInput(_)), "{e:?}");
    // A filter is not a source.
    assert!(rt.source("spam-filter").is_err());
}

/// The `entry-batch` layout end to end: every field of every entry reaches
/// the plugin as sent (`testing/echo` excludes each entry with the entry,
/// as the SDK decoded it, as the reason).
#[test]
fn filters_receive_every_field_of_every_entry() {
    let (rt, _) = runtime(Setup::default());
    rt.load(repo().join("plugins/testing/echo/plugin.toml"))
        .expect("testing-echo loads");
    let f = rt.filter("testing-echo").expect("filter");
    let mut entries = [
        entry("a", "Great video, thanks!"),
        entry("", ""),
        entry("日本", "🎉 e\u{301} ﬁ \"quoted\"\n"),
    ];
    entries[0].followers = Some(u64::MAX);
    entries[0].account_created_at = Some(Cow::Borrowed("2020-02-29T12:00:00+01:00"));
    entries[1].platform = Cow::Borrowed("mastodon");
    entries[1].followers = Some(0);
    entries[2].display_name = Cow::Borrowed("Ünïcödé 👩‍👩‍👧");
    entries[2].account_created_at = Some(Cow::Borrowed(""));
    // Batches of 0, 1 and 3 entries, and one large enough to need memory growth.
    let many: Vec<OwnedEntry> = (0..5_000)
        .map(|i| entry(&format!("u{i}"), &"x".repeat(i % 300)))
        .collect();
    for batch in [&entries[..0], &entries[..1], &entries[..], &many[..]] {
        let verdicts = f.check(batch, "").expect("no fault").expect("ok");
        let expected: Vec<Verdict> = batch
            .iter()
            .map(|e| {
                Verdict::Exclude(format!(
                    "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                    e.platform,
                    e.user_id,
                    e.handle,
                    e.display_name,
                    e.text,
                    e.created_at,
                    e.followers,
                    e.account_created_at.as_deref()
                ))
            })
            .collect();
        assert_eq!(verdicts, expected);
    }
}

#[test]
fn mastodon_describes_and_parses_urls() {
    let (rt, _) = runtime(Setup::default());
    rt.load(manifest_of("mastodon", "mastodon"))
        .expect("mastodon loads");
    let m = rt.source("mastodon").expect("source");
    assert_eq!(m.describe().expect("describe").platform, "mastodon");
    let post = m
        .parse_url("https://mastodon.social/@Gargron/109348424446209588")
        .expect("no fault")
        .expect("post");
    assert_eq!(post.id, "109348424446209588");
}
