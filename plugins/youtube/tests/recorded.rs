//! The YouTube source against recorded API responses (no server): the
//! recordings match exact URLs, so these tests also pin the requests.

use fairdraw_plugin_sdk::testing::Recorded;
use fairdraw_plugin_sdk::{Collection, Entry, PluginError, Post, Source};
use youtube::YouTube;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded");

const VIDEO: &str = "axepn8QqxRk";
const THREADS_1: &str = "https://www.googleapis.com/youtube/v3/commentThreads?part=snippet,replies&videoId=axepn8QqxRk&maxResults=100&order=time&textFormat=plainText";
const THREADS_2: &str = "https://www.googleapis.com/youtube/v3/commentThreads?part=snippet,replies&videoId=axepn8QqxRk&maxResults=100&order=time&textFormat=plainText&pageToken=Z2V0X25ld2VzdF9maXJzdC0tQ2dnSWdBUVZGN2ZST0JJRkNJa2dHQUFTQlFpSUlCZ0FFZ1VJaHlBWUFCSUZDS2dnR0FBU0JRaWRJQmdCR0FBaURnb01DUFRYOGJVR0VNajE3Y0FE";
const REPLIES_1: &str = "https://www.googleapis.com/youtube/v3/comments?part=snippet&parentId=UgxD7msptSaPXG9Xqt14AaABAg&maxResults=100&textFormat=plainText";
const REPLIES_2: &str = "https://www.googleapis.com/youtube/v3/comments?part=snippet&parentId=UgxD7msptSaPXG9Xqt14AaABAg&maxResults=100&textFormat=plainText&pageToken=SYNTH-next";

fn post() -> Post {
    YouTube::parse_url(&format!("https://youtu.be/{VIDEO}")).expect("a video URL")
}

fn recorded() -> Recorded {
    Recorded::new(DIR)
        .get(THREADS_1, "threads-1.json")
        .get(THREADS_2, "threads-2.json")
        .get(REPLIES_1, "replies-UgxD7-1.json")
        .get(REPLIES_2, "replies-UgxD7-2.json")
}

/// Pages through a collection as the host does; returns the entries and
/// the entry count of each page.
fn walk(collection: Collection) -> Result<(Vec<Entry>, Vec<usize>), PluginError> {
    let post = post();
    let (mut entries, mut pages, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let page = YouTube::fetch_page(&post, collection, cursor.as_deref())?;
        pages.push(page.entries.len());
        entries.extend(page.entries);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((entries, pages)),
        }
        assert!(pages.len() < 20, "pagination does not end");
    }
}

#[test]
fn parse_url_canonicalises() {
    assert_eq!(
        post(),
        Post {
            id: VIDEO.into(),
            url: "https://www.youtube.com/watch?v=axepn8QqxRk".into()
        }
    );
    let err = YouTube::parse_url("https://mastodon.social/@a/1").expect_err("not YouTube");
    assert_eq!(err.kind(), "invalid-input");
}

#[test]
fn describe_says_what_cannot_be_checked() {
    let info = YouTube::describe();
    assert_eq!(info.platform, "youtube");
    assert_eq!(
        info.collections,
        [Collection::Comments, Collection::Replies]
    );
    assert_eq!(info.credentials, ["api_key"]);
    let rules: Vec<_> = info.unsupported.iter().map(|u| u.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["min_followers", "min_account_age_days", "require_in"]
    );
}

#[test]
fn comments_follow_page_tokens() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Comments).expect("comments");
    assert_eq!(pages, [3, 1], "the deleted channel's comment is skipped");
    assert_eq!(http.urls(), [THREADS_1, THREADS_2]);
    assert_eq!(
        entries[0],
        Entry {
            platform: "youtube".into(),
            user_id: "UCzAn-hBNSTjX-QMnHASZFfA".into(),
            handle: "@DarshanRavalDZ".into(),
            display_name: String::new(),
            text: "Tu Meri Ban Jaa 💙🎶🎵 Soni soni".into(),
            created_at: "2024-05-24T10:36:55Z".into(),
            followers: None,
            account_created_at: None,
        }
    );
    // textOriginal, not the HTML textDisplay (`crash&#39;s`).
    assert!(entries[2].text.contains("national crash's place"));
    assert_eq!(entries[3].handle, "@entrant");
}

#[test]
fn replies_expand_threads_with_more_replies_than_included() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Replies).expect("replies");
    // Thread 1 of page 1 has 750 replies and none inline: comments.list,
    // two pages; then the rest of page 1 (no replies); then page 2, whose
    // thread includes both its replies.
    assert_eq!(pages, [0, 1, 1, 0, 2]);
    assert_eq!(
        http.urls(),
        [THREADS_1, REPLIES_1, REPLIES_2, THREADS_1, THREADS_2]
    );
    let handles: Vec<_> = entries.iter().map(|e| e.handle.as_str()).collect();
    assert_eq!(
        handles,
        ["@replier1", "@replier2", "@replierA", "@replierB"]
    );
    assert_eq!(entries[0].user_id, "UCaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(entries[3].text, "me too 🙋");
    assert!(http.unused().is_empty(), "unused: {:?}", http.unused());
}

fn error_for(status: u16, file: &str) -> PluginError {
    let _http = Recorded::new(DIR)
        .on(
            "GET",
            THREADS_1,
            status,
            &[("Content-Type", "application/json")],
            file,
        )
        .install();
    YouTube::fetch_page(&post(), Collection::Comments, None).expect_err("an error response")
}

#[test]
fn invalid_api_key_is_unauthorized() {
    let err = error_for(400, "error-api-key-invalid-400.json");
    assert_eq!(
        err,
        PluginError::Unauthorized(
            "YouTube: API key not valid. Please pass a valid API key.".into()
        )
    );
}

#[test]
fn invalid_oauth_token_is_unauthorized() {
    assert_eq!(
        error_for(401, "error-oauth-invalid-401.json").kind(),
        "unauthorized"
    );
}

#[test]
fn quota_exceeded_is_a_rate_limit() {
    let err = error_for(403, "error-quota-exceeded-403.json");
    let PluginError::RateLimited(limit) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        limit.retry_after_seconds, None,
        "YouTube sends no Retry-After"
    );
    assert!(limit.message.starts_with(
        "YouTube: The request cannot be completed because you have exceeded your quota."
    ));
    assert!(limit.message.contains("midnight Pacific"));
}

#[test]
fn short_term_rate_limit_is_a_rate_limit() {
    assert_eq!(
        error_for(429, "error-rate-limit-429.json").kind(),
        "rate-limited"
    );
}

#[test]
fn disabled_comments_and_missing_videos_are_not_found() {
    let err = error_for(403, "error-comments-disabled-403.json");
    assert_eq!(err.kind(), "not-found");
    assert!(err.message().contains("comments are disabled"), "{err}");
    assert_eq!(
        error_for(404, "error-video-not-found-404.json").kind(),
        "not-found"
    );
}

#[test]
fn server_errors_are_unavailable() {
    let _http = Recorded::new(DIR)
        .on_body("GET", THREADS_1, 503, &[], "Service Unavailable")
        .install();
    let err = YouTube::fetch_page(&post(), Collection::Comments, None).expect_err("503");
    assert_eq!(err.kind(), "unavailable");
}

#[test]
fn host_refusals_pass_through() {
    let _http = Recorded::new(DIR)
        .on_error(
            "GET",
            THREADS_1,
            fairdraw_plugin_sdk::http::HttpError::Timeout,
        )
        .install();
    let err = YouTube::fetch_page(&post(), Collection::Comments, None).expect_err("timeout");
    assert_eq!(err, PluginError::Http("timeout".into()));
}

#[test]
fn other_collections_and_bad_cursors_are_invalid_input() {
    let _http = recorded().install();
    let likes = YouTube::fetch_page(&post(), Collection::Likes, None).expect_err("no likes");
    assert_eq!(likes.kind(), "invalid-input");
    let cursor =
        YouTube::fetch_page(&post(), Collection::Replies, Some("garbage")).expect_err("bad cursor");
    assert_eq!(cursor.kind(), "invalid-input");
}
