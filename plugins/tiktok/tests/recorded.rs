//! The TikTok source against recorded API responses (no server). Every page
//! is a `POST` to the same URL, so recordings for it are served in order and
//! the tests read the request bodies back to pin the cursor sent.

use fairdraw_plugin_sdk::http::HttpError;
use fairdraw_plugin_sdk::testing::{self, Recorded};
use fairdraw_plugin_sdk::{Collection, Entry, PluginError, Post, Source};
use serde_json::Value;
use tiktok::TikTok;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded");

/// The URL every page is requested from.
const LIST: &str = "https://open.tiktokapis.com/v2/research/video/comment/list/?fields=id,video_id,text,create_time";
/// The video of `comments-*.json`: more than 2^53, so a float would round it.
const VIDEO: u64 = 7_230_000_000_000_000_000;
const JSON: &[(&str, &str)] = &[("Content-Type", "application/json")];

fn post() -> Post {
    TikTok::parse_url(&format!("https://www.tiktok.com/@brand/video/{VIDEO}")).expect("a video URL")
}

/// Answers the list URL with `files` in order, each with its status.
fn recorded(files: &[(u16, &str)]) -> testing::Installed {
    files
        .iter()
        .fold(Recorded::new(DIR), |r, (status, file)| {
            r.on("POST", LIST, *status, JSON, file)
        })
        .install()
}

/// Pages through the comments as the host does; the entries and the entry
/// count of each page.
fn walk() -> Result<(Vec<Entry>, Vec<usize>), PluginError> {
    let post = post();
    let (mut entries, mut pages, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let page = TikTok::fetch_page(&post, Collection::Comments, cursor.as_deref())?;
        pages.push(page.entries.len());
        entries.extend(page.entries);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((entries, pages)),
        }
        assert!(pages.len() < 20, "pagination does not end");
    }
}

/// The JSON bodies of the requests made.
fn bodies(http: &testing::Installed) -> Vec<Value> {
    http.requests()
        .iter()
        .map(|r| {
            assert_eq!(r.method, "POST");
            serde_json::from_slice(r.body.as_deref().expect("a body")).expect("a JSON body")
        })
        .collect()
}

#[test]
fn parse_url_canonicalises() {
    assert_eq!(
        post(),
        Post {
            id: VIDEO.to_string(),
            url: format!("https://www.tiktok.com/@brand/video/{VIDEO}"),
        }
    );
    let bare = TikTok::parse_url("7230000000000000000").expect("a bare id");
    assert_eq!(bare.url, format!("https://www.tiktok.com/@/video/{VIDEO}"));
    for bad in [
        "https://www.youtube.com/watch?v=axepn8QqxRk",
        "https://vm.tiktok.com/ZMeAbCdEf/",
        "https://www.tiktok.com/@brand/video/9223372036854775808",
    ] {
        let err = TikTok::parse_url(bad).expect_err(bad);
        assert_eq!(err.kind(), "invalid-input", "{bad}");
    }
}

#[test]
fn describe_says_what_cannot_be_checked() {
    let info = TikTok::describe();
    assert_eq!(info.platform, "tiktok");
    assert_eq!(info.collections, [Collection::Comments]);
    assert_eq!(info.credentials, ["access_token"]);
    let rules: Vec<_> = info.unsupported.iter().map(|u| u.rule.as_str()).collect();
    assert_eq!(
        rules,
        [
            "entries_per_user",
            "organizer",
            "exclude_users",
            "min_followers",
            "min_account_age_days",
            "require_in"
        ]
    );
    assert!(
        info.unsupported
            .iter()
            .all(|u| u.reason.contains("no author")),
        "{:?}",
        info.unsupported
    );
}

#[test]
fn comments_follow_the_cursor_until_has_more_is_false() {
    let http = recorded(&[
        (200, "comments-1.json"),
        (200, "comments-2-empty.json"),
        (200, "comments-3-last.json"),
    ]);
    let (entries, pages) = walk().expect("comments");
    // Page 2 is empty but has more (a window of deleted comments); the
    // deleted comment of page 3 (no id) is skipped, the hidden one kept.
    assert_eq!(pages, [3, 0, 2]);
    let cursors: Vec<_> = bodies(&http)
        .iter()
        .map(|b| b["cursor"].as_u64().expect("a number cursor"))
        .collect();
    assert_eq!(cursors, [0, 3, 103]);
    for body in bodies(&http) {
        // Numbers, not strings, and the id exact.
        assert_eq!(body["video_id"].as_u64(), Some(VIDEO), "{body}");
        assert_eq!(body["max_count"], 100);
    }
    assert_eq!(http.urls(), [LIST, LIST, LIST]);
    assert_eq!(
        entries[0],
        Entry {
            platform: "tiktok".into(),
            user_id: "comment:7234567890123456701".into(),
            handle: "@comment-7234567890123456701".into(),
            display_name: String::new(),
            text: "I want to win! @friend".into(),
            created_at: "2023-05-02T04:00:00Z".into(),
            followers: None,
            account_created_at: None,
        }
    );
    assert_eq!(entries[2].user_id, "comment:7234567890123456703");
    assert_eq!(
        entries[3].text,
        "Zoë says \"yes\" 🎉 #Giveaway @best.friend @pal_2"
    );
    assert_eq!(entries[3].created_at, "2023-05-02T05:00:00Z");
    // The hidden comment: its text withheld (null), the comment kept.
    assert_eq!(
        (entries[4].user_id.as_str(), entries[4].text.as_str()),
        ("comment:7234567890123456790", "")
    );
    let logs = testing::logs();
    assert!(
        logs.iter()
            .any(|(_, m)| m.contains("skipped 1 comments") && m.contains("cursor 103")),
        "{logs:?}"
    );
    assert!(http.unused().is_empty(), "unused: {:?}", http.unused());
}

#[test]
fn a_19_digit_id_round_trips_exactly() {
    // 7234567890123456789 as an f64 is 7234567890123456512.
    assert_ne!(
        7_234_567_890_123_456_789_f64 as u64,
        7_234_567_890_123_456_789
    );
    let _http = recorded(&[(200, "comments-3-last.json")]);
    let page = TikTok::fetch_page(&post(), Collection::Comments, Some("103")).expect("page");
    assert_eq!(page.entries[0].user_id, "comment:7234567890123456789");
    assert_eq!(page.next_cursor, None);
}

#[test]
fn a_full_page_of_100_parses() {
    let _http = recorded(&[(200, "comments-100.json")]);
    let post = Post {
        id: "7345678901234500000".into(),
        url: "https://www.tiktok.com/@/video/7345678901234500000".into(),
    };
    let page = TikTok::fetch_page(&post, Collection::Comments, None).expect("page");
    assert_eq!(page.entries.len(), 100);
    assert_eq!(page.entries[99].user_id, "comment:7345678901333567298");
    assert_eq!(
        page.entries[1].text,
        "Zoë \"1\" wants this\nso much @bestie_1"
    );
    assert!(page.entries[3].text.contains("日本からの応募です @tomo.3"));
}

fn error_for(status: u16, file: &str) -> PluginError {
    let _http = recorded(&[(status, file)]);
    TikTok::fetch_page(&post(), Collection::Comments, None).expect_err("an error response")
}

#[test]
fn an_invalid_or_expired_token_is_unauthorized() {
    let err = error_for(401, "error-access-token-invalid-401.json");
    let PluginError::Unauthorized(m) = &err else {
        panic!("{err:?}")
    };
    assert!(
        m.starts_with(
            "TikTok: The access token is invalid or not found in the request. \
             (access_token_invalid, log_id 202305011200000A0B0C0D0E0F1012)"
        ),
        "{m}"
    );
    assert!(m.contains("valid for 2 hours"), "{m}");
    let scope = error_for(401, "error-scope-not-authorized-401.json");
    assert_eq!(scope.kind(), "unauthorized");
    assert!(scope.message().contains("research.data.basic"), "{scope}");
    // The OAuth endpoint's other shape still names the problem.
    let oauth = error_for(401, "error-oauth-invalid-client-401.json");
    assert_eq!(
        oauth,
        PluginError::Unauthorized(
            "HTTP 401: invalid_client: Client key or secret is incorrect.".into()
        )
    );
}

#[test]
fn rate_limit_exceeded_is_a_rate_limit_without_a_reset() {
    let err = error_for(429, "error-rate-limit-429.json");
    let PluginError::RateLimited(limit) = err else {
        panic!("{err:?}")
    };
    assert_eq!(limit.retry_after_seconds, None, "TikTok sends no reset");
    assert!(
        limit
            .message
            .starts_with("TikTok: The API rate limit was exceeded. Please try again later."),
        "{}",
        limit.message
    );
    assert!(limit.message.contains("00:00 UTC"));
    // The code decides even on a 200.
    assert_eq!(
        error_for(200, "error-rate-limit-429.json").kind(),
        "rate-limited"
    );
}

#[test]
fn other_errors_map_by_code() {
    assert_eq!(
        error_for(400, "error-invalid-params-400.json").kind(),
        "invalid-input"
    );
    assert_eq!(
        error_for(500, "error-internal-500.json").kind(),
        "unavailable"
    );
    let _http = Recorded::new(DIR)
        .on_body("POST", LIST, 503, &[], "<html>Service Unavailable</html>")
        .install();
    let err = TikTok::fetch_page(&post(), Collection::Comments, None).expect_err("503");
    assert_eq!(err.kind(), "unavailable");
}

#[test]
fn hostile_pages_are_bad_responses_not_panics_or_loops() {
    for (file, says) in [
        ("hostile-float-id.json", "not an exact integer"),
        ("hostile-stuck-cursor.json", "does not move past"),
        ("hostile-other-video.json", "of video 7230000000000000001"),
    ] {
        let err = error_for(200, file);
        assert_eq!(err.kind(), "bad-response", "{file}: {err:?}");
        assert!(err.message().contains(says), "{file}: {err}");
    }
    let _http = Recorded::new(DIR)
        .on_body(
            "POST",
            LIST,
            200,
            JSON,
            r#"{"data":{"comments":[],"has_more":true}}"#,
        )
        .on_body("POST", LIST, 200, JSON, "[1, 2")
        .install();
    for _ in 0..2 {
        let err = TikTok::fetch_page(&post(), Collection::Comments, None).expect_err("bad");
        assert_eq!(err.kind(), "bad-response", "{err:?}");
    }
}

#[test]
fn host_refusals_pass_through() {
    let _http = Recorded::new(DIR)
        .on_error("POST", LIST, HttpError::Timeout)
        .install();
    let err = TikTok::fetch_page(&post(), Collection::Comments, None).expect_err("timeout");
    assert_eq!(err, PluginError::Http("timeout".into()));
}

#[test]
fn other_collections_bad_cursors_and_bad_posts_are_invalid_input() {
    let http = recorded(&[]);
    for collection in [
        Collection::Replies,
        Collection::Likes,
        Collection::Reposts,
        Collection::Followers,
    ] {
        let err = TikTok::fetch_page(&post(), collection, None).expect_err("comments only");
        assert_eq!(err.kind(), "invalid-input");
    }
    for cursor in ["garbage", "-1", "1.5", ""] {
        let err = TikTok::fetch_page(&post(), Collection::Comments, Some(cursor))
            .expect_err("bad cursor");
        assert_eq!(err.kind(), "invalid-input", "{cursor:?}");
    }
    let bad_post = Post {
        id: "v123".into(),
        url: String::new(),
    };
    let err = TikTok::fetch_page(&bad_post, Collection::Comments, None).expect_err("bad post");
    assert_eq!(err.kind(), "invalid-input");
    assert!(http.requests().is_empty(), "no request for bad input");
}
