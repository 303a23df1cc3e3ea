//! The Facebook source against recorded Graph API responses (no server): the
//! recordings match exact URLs, so these tests also pin the requests.

use facebook::Facebook;
use fairdraw_plugin_sdk::testing::{self, Recorded};
use fairdraw_plugin_sdk::{Collection, Entry, PluginError, Post, Source};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded");

const POST_ID: &str = "111222333_999";
const API: &str = "https://graph.facebook.com/v23.0/111222333_999";
const FIELDS: &str =
    "fields=id,message,created_time,from%7Bid,name%7D,parent%7Bid%7D,message_tags,is_hidden";

fn comments_url(filter: &str, after: Option<&str>) -> String {
    let mut url = format!(
        "{API}/comments?{FIELDS}&filter={filter}&order=chronological&summary=true&limit=100"
    );
    if let Some(after) = after {
        url.push_str("&after=");
        url.push_str(after);
    }
    url
}

fn reactions_url(after: Option<&str>) -> String {
    let mut url = format!("{API}/reactions?fields=id,name,type&summary=total_count&limit=100");
    if let Some(after) = after {
        url.push_str("&after=");
        url.push_str(after);
    }
    url
}

const POST_TIME_URL: &str = "https://graph.facebook.com/v23.0/111222333_999?fields=created_time";
const SHARES_URL: &str = "https://graph.facebook.com/v23.0/111222333_999/sharedposts?fields=id,created_time,from%7Bid,name%7D,message,message_tags&limit=100";

fn post() -> Post {
    Facebook::parse_url(POST_ID).expect("a post id")
}

/// Pages through a collection as the host does; returns the entries and
/// the entry count of each page.
fn walk(collection: Collection) -> Result<(Vec<Entry>, Vec<usize>), PluginError> {
    let post = post();
    let (mut entries, mut pages, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let page = Facebook::fetch_page(&post, collection, cursor.as_deref())?;
        pages.push(page.entries.len());
        entries.extend(page.entries);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((entries, pages)),
        }
        assert!(pages.len() < 20, "pagination does not end");
    }
}

fn comments_recorded() -> Recorded {
    Recorded::new(DIR)
        .get(&comments_url("toplevel", None), "comments-1.json")
        .get(
            &comments_url("toplevel", Some("SYNTHAFTER1")),
            "comments-2.json",
        )
        .get(
            &comments_url("toplevel", Some("SYNTHAFTER2")),
            "comments-3.json",
        )
}

#[test]
fn urls_and_ids_become_page_post_ids() {
    let canonical = Post {
        id: POST_ID.into(),
        url: "https://www.facebook.com/111222333/posts/999".into(),
    };
    for url in [
        POST_ID,
        " 111222333_999 ",
        "https://www.facebook.com/111222333/posts/999",
        "https://m.facebook.com/111222333/posts/999/?app=fbl",
        "https://www.facebook.com/permalink.php?story_fbid=999&id=111222333",
        "https://facebook.com/story.php?id=111222333&story_fbid=999#x",
    ] {
        assert_eq!(Facebook::parse_url(url), Ok(canonical.clone()), "{url}");
    }
    // A Page username is resolved to its id with one request.
    let http = Recorded::new(DIR)
        .get(
            "https://graph.facebook.com/v23.0/acmeshop?fields=id",
            "page-acmeshop.json",
        )
        .install();
    assert_eq!(
        Facebook::parse_url("https://www.facebook.com/acmeshop/posts/999"),
        Ok(canonical)
    );
    assert_eq!(http.urls().len(), 1);
    for url in [
        "https://www.facebook.com/acmeshop/posts/pfbid02abcDEF",
        "https://www.facebook.com/permalink.php?story_fbid=pfbid0xyz&id=111222333",
        "https://www.facebook.com/permalink.php?story_fbid=999",
        "https://www.youtube.com/watch?v=axepn8QqxRk",
        "https://www.facebook.com/groups/1/posts/2",
        "111222333",
        "",
    ] {
        let err = Facebook::parse_url(url).expect_err(url);
        assert_eq!(err.kind(), "invalid-input", "{url}: {err}");
    }
    assert!(
        Facebook::parse_url("https://www.facebook.com/acmeshop/posts/pfbid02abcDEF")
            .expect_err("pfbid")
            .message()
            .contains("pfbid")
    );
}

#[test]
fn describe_says_what_it_lists_and_cannot_check() {
    let info = Facebook::describe();
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
}

#[test]
fn comments_follow_next_through_an_empty_page_and_stop_when_it_is_absent() {
    let http = comments_recorded().install();
    let (entries, pages) = walk(Collection::Comments).expect("comments");
    // Page 1: the comment without `from` is left out; page 2 is empty but has
    // `next`; page 3 has `cursors.after` but no `next`: the end.
    assert_eq!(pages, [2, 0, 2]);
    assert_eq!(
        http.urls(),
        [
            comments_url("toplevel", None),
            comments_url("toplevel", Some("SYNTHAFTER1")),
            comments_url("toplevel", Some("SYNTHAFTER2")),
        ]
    );
    assert_eq!(
        entries[0],
        Entry {
            platform: "facebook".into(),
            user_id: "1234567890".into(),
            handle: "@1234567890".into(),
            display_name: "Jane Doe".into(),
            text: "Count me in! #giveaway".into(),
            created_at: "2024-01-01T10:00:00+00:00".into(),
            followers: None,
            account_created_at: None,
        }
    );
    // Tags become @id mentions; the text is otherwise as typed (Facebook
    // sends plain text, so `&amp;` and `<b>` are what the person wrote).
    assert_eq!(entries[1].text, "Me too @1234567890 é @1234567892");
    assert_eq!(entries[2].display_name, "Zoë Åström");
    assert_eq!(
        entries[2].text,
        "🎉 @111222333 please pick me &amp; <b>not</b> html"
    );
    // A hidden comment is kept by default.
    assert_eq!(entries[3].user_id, "1234567894");
    let logs = testing::logs();
    assert!(
        logs.iter()
            .any(|(_, m)| m
                .contains("left out 1 comments without an author id (111222333_444555668)")),
        "{logs:?}"
    );
}

#[test]
fn the_first_page_gives_the_total_and_skip_hidden_leaves_hidden_comments_out() {
    let _http = comments_recorded().install();
    let _config = testing::config(&[("skip_hidden", "true")]);
    let first = Facebook::fetch_page(&post(), Collection::Comments, None).expect("page 1");
    assert_eq!(first.total_hint, Some(5));
    assert_eq!(first.next_cursor.as_deref(), Some("after=SYNTHAFTER1"));
    let (entries, _) = walk(Collection::Comments).expect("comments");
    assert!(entries.iter().all(|e| e.user_id != "1234567894"));
    assert_eq!(entries.len(), 3);
}

#[test]
fn replies_are_the_stream_items_with_a_parent() {
    let http = Recorded::new(DIR)
        .get(&comments_url("stream", None), "stream-1.json")
        .install();
    let (entries, pages) = walk(Collection::Replies).expect("replies");
    assert_eq!(pages, [2]);
    assert_eq!(http.urls(), [comments_url("stream", None)]);
    let got: Vec<_> = entries
        .iter()
        .map(|e| (e.handle.as_str(), e.text.as_str()))
        .collect();
    // The Page's own reply is an entry like any other (the organizer rule
    // excludes it); the reply without `from` is left out.
    assert_eq!(
        got,
        [
            ("@111222333", "Good luck @1234567890!"),
            ("@1234567892", "@john yes")
        ]
    );
    let page = Facebook::fetch_page(&post(), Collection::Replies, None).expect("page");
    assert_eq!(
        page.total_hint, None,
        "the stream total counts comments too"
    );
}

#[test]
fn reactions_keep_their_type_and_carry_the_post_time() {
    let http = Recorded::new(DIR)
        .get(POST_TIME_URL, "post.json")
        .get(&reactions_url(None), "reactions-1.json")
        .get(&reactions_url(Some("SYNTHAFTER")), "reactions-2.json")
        .install();
    let first = Facebook::fetch_page(&post(), Collection::Likes, None).expect("page 1");
    assert_eq!(first.total_hint, Some(566));
    assert_eq!(
        first.next_cursor.as_deref(),
        Some("2024-01-01T09:00:00+00:00|after=SYNTHAFTER")
    );
    let (entries, pages) = walk(Collection::Likes).expect("likes");
    assert_eq!(pages, [3, 1], "the reaction without an id is left out");
    let got: Vec<_> = entries
        .iter()
        .map(|e| (e.user_id.as_str(), e.text.as_str(), e.created_at.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("1234567890", "LIKE", "2024-01-01T09:00:00+00:00"),
            ("1234567891", "LOVE", "2024-01-01T09:00:00+00:00"),
            ("1234567892", "CARE", "2024-01-01T09:00:00+00:00"),
            ("1234567893", "WOW", "2024-01-01T09:00:00+00:00"),
        ]
    );
    // The post time is read once per fetch: later pages take it from the cursor.
    let urls = http.urls();
    assert_eq!(urls.iter().filter(|u| *u == POST_TIME_URL).count(), 2);
    assert!(urls.ends_with(&[reactions_url(Some("SYNTHAFTER"))]));
    for bad in [
        "after=SYNTHAFTER",
        "yesterday|after=X",
        "2024-01-01T09:00:00Z|junk",
    ] {
        let err = Facebook::fetch_page(&post(), Collection::Likes, Some(bad)).expect_err(bad);
        assert_eq!(err.kind(), "invalid-input", "{bad}");
    }
}

#[test]
fn shares_are_reposts_and_keep_a_quote_text() {
    let _http = Recorded::new(DIR)
        .get(SHARES_URL, "sharedposts-1.json")
        .install();
    let (entries, pages) = walk(Collection::Reposts).expect("reposts");
    assert_eq!(pages, [2], "the share without `from` is left out");
    assert_eq!(entries[0].text, "Look @1234567892, a giveaway!");
    assert_eq!(entries[0].created_at, "2024-01-01T11:00:00+00:00");
    assert_eq!(entries[1].text, "", "a plain share has no text");
    let err = Facebook::fetch_page(&post(), Collection::Followers, None).expect_err("followers");
    assert_eq!(err.kind(), "invalid-input");
}

fn error_for(status: u16, headers: &[(&str, &str)], file: &str) -> PluginError {
    let url = comments_url("toplevel", None);
    let _http = Recorded::new(DIR)
        .on("GET", &url, status, headers, file)
        .install();
    Facebook::fetch_page(&post(), Collection::Comments, None).expect_err(file)
}

#[test]
fn bad_and_expired_tokens_are_unauthorized() {
    let e = error_for(400, &[], "error-invalid-token-400.json");
    assert_eq!(e.kind(), "unauthorized", "{e}");
    assert!(e.message().contains("Cannot parse access token"), "{e}");
    let e = error_for(400, &[], "error-expired-token-400.json");
    assert_eq!(e.kind(), "unauthorized", "{e}");
    assert!(
        e.message().contains("has expired") && e.message().contains("subcode 463"),
        "{e}"
    );
    let e = error_for(403, &[], "error-permission-10.json");
    assert_eq!(e.kind(), "unauthorized", "{e}");
    assert!(e.message().contains("pages_read_engagement"), "{e}");
}

#[test]
fn throttling_codes_in_ordinary_error_bodies_are_rate_limits() {
    // 80001 with the business use case header: minutes until access returns.
    let buc = r#"{"111222333":[{"type":"pages","call_count":100,"total_cputime":12,"total_time":20,"estimated_time_to_regain_access":3}]}"#;
    let e = error_for(
        400,
        &[("X-Business-Use-Case-Usage", buc)],
        "error-buc-80001.json",
    );
    let PluginError::RateLimited(limit) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(limit.retry_after_seconds, Some(180));
    assert!(limit.message.contains("(#80001)"), "{e}");

    // #4 with only X-App-Usage: no reset time, the usage is in the message.
    let e = error_for(
        400,
        &[(
            "X-App-Usage",
            r#"{"call_count":100,"total_time":25,"total_cputime":25}"#,
        )],
        "error-app-rate-limit-4.json",
    );
    let PluginError::RateLimited(limit) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(limit.retry_after_seconds, None);
    assert!(
        limit.message.contains("x-app-usage: call_count 100%"),
        "{e}"
    );

    // #32 with no usage header at all, on a 403.
    let e = error_for(403, &[], "error-page-rate-limit-32.json");
    assert_eq!(
        e,
        PluginError::rate_limited(None, "Facebook: (#32) Page request limit reached (code 32)")
    );
}

#[test]
fn other_errors() {
    let e = error_for(404, &[], "error-not-found-100-33.json");
    assert_eq!(e.kind(), "not-found", "{e}");
    let url = comments_url("toplevel", None);
    let _http = Recorded::new(DIR)
        .on_body("GET", &url, 502, &[], b"<html>Bad Gateway</html>".to_vec())
        .install();
    let e = Facebook::fetch_page(&post(), Collection::Comments, None).expect_err("502");
    assert_eq!(e.kind(), "unavailable", "{e}");
    drop(_http);
    let _http = Recorded::new(DIR)
        .on_body("GET", &url, 200, &[], b"{\"data\": 7}".to_vec())
        .install();
    let e = Facebook::fetch_page(&post(), Collection::Comments, None).expect_err("bad body");
    assert_eq!(e.kind(), "bad-response", "{e}");
}

#[test]
fn high_usage_on_a_success_is_logged() {
    let url = comments_url("toplevel", None);
    let _http = Recorded::new(DIR)
        .on(
            "GET",
            &url,
            200,
            &[(
                "X-App-Usage",
                r#"{"call_count":95,"total_time":10,"total_cputime":10}"#,
            )],
            "comments-3.json",
        )
        .install();
    Facebook::fetch_page(&post(), Collection::Comments, None).expect("page");
    assert!(
        testing::logs()
            .iter()
            .any(|(_, m)| m.contains("x-app-usage is at 95%")),
        "{:?}",
        testing::logs()
    );
}

/// The 100-item page the benchmark replays: every item parsed, tags placed.
#[test]
fn a_full_page_of_one_hundred() {
    let url = comments_url("toplevel", None);
    let _http = Recorded::new(DIR).get(&url, "comments-100.json").install();
    let page = Facebook::fetch_page(&post(), Collection::Comments, None).expect("page");
    assert_eq!(page.entries.len(), 100);
    assert_eq!(
        page.next_cursor.as_deref(),
        Some("after=QVFIUlNYNTHAFTER100")
    );
    assert_eq!(page.entries[1].text, "🎉 pick me @1234567892");
    assert_eq!(page.entries[3].text, "#Giveaway entering with @111222333");
    assert_eq!(page.entries[2].display_name, "山田 太郎 2");
}
