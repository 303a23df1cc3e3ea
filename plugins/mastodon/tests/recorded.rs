//! The Mastodon source against recorded API responses (no server): the
//! recordings match exact URLs, so these tests also pin the requests.

use fairdraw_plugin_sdk::testing::{self, ConfigGuard, Recorded};
use fairdraw_plugin_sdk::{Collection, Entry, Page, PluginError, Post, Source};
use mastodon::Mastodon;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded");
const API: &str = "https://mastodon.example/api/v1/statuses";
const JSON: (&str, &str) = ("Content-Type", "application/json; charset=utf-8");

const FAV_LINK: &str = "<https://mastodon.example/api/v1/statuses/109419880690343548/favourited_by?limit=3&max_id=53286827>; rel=\"next\", <https://mastodon.example/api/v1/statuses/109419880690343548/favourited_by?limit=3&since_id=53286829>; rel=\"prev\"";
const REBLOG_LINK: &str = "<https://mastodon.example/api/v1/statuses/109404970108594430/reblogged_by?limit=2&max_id=109406336446186031>; rel=\"next\", <https://mastodon.example/api/v1/statuses/109404970108594430/reblogged_by?limit=2&since_id=109408462939099398>; rel=\"prev\"";

fn example_instance() -> ConfigGuard {
    testing::config(&[("instance", "https://mastodon.example")])
}

fn post(id: &str) -> Post {
    Mastodon::parse_url(&format!("https://mastodon.example/@org/{id}")).expect("a post URL")
}

fn walk(post: &Post, collection: Collection) -> Result<Vec<Page>, PluginError> {
    let (mut pages, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page = Mastodon::fetch_page(post, collection, cursor.as_deref())?;
        cursor = page.next_cursor.clone();
        pages.push(page);
        if cursor.is_none() || pages.len() > 10 {
            return Ok(pages);
        }
    }
}

#[test]
fn post_urls_of_the_configured_instance() {
    // Default instance: mastodon.social.
    let p = Mastodon::parse_url("https://mastodon.social/@Gargron/109404970108594430")
        .expect("default");
    assert_eq!(
        p,
        Post {
            id: "109404970108594430".into(),
            url: "https://mastodon.social/@Gargron/109404970108594430".into()
        }
    );
    let other =
        Mastodon::parse_url("https://mastodon.example/@org/1").expect_err("another instance");
    assert_eq!(other.kind(), "invalid-input");
    assert!(other.message().contains("set config `instance`"), "{other}");

    let _config = example_instance();
    for (url, canonical) in [
        (
            "https://mastodon.example/@org/42",
            "https://mastodon.example/@org/42",
        ),
        (
            "https://Mastodon.Example:443/@bob@other.example/42/embed?x=1",
            "https://mastodon.example/@bob@other.example/42",
        ),
        (
            "https://mastodon.example/users/org/statuses/42",
            "https://mastodon.example/@org/42",
        ),
        (
            "https://mastodon.example/web/statuses/42",
            "https://mastodon.example/web/statuses/42",
        ),
    ] {
        assert_eq!(
            Mastodon::parse_url(url),
            Ok(Post {
                id: "42".into(),
                url: canonical.into()
            }),
            "{url}"
        );
    }
    for url in [
        "https://mastodon.example/@org",
        "https://mastodon.example/@org/followers",
        "https://mastodon.example/about",
        "https://mastodon.example/@org/4-2",
        "mastodon.example/@org/42",
    ] {
        assert_eq!(
            Mastodon::parse_url(url).map_err(|e| e.kind()),
            Err("invalid-input"),
            "{url}"
        );
    }
    let _bad = testing::config(&[("instance", "http://mastodon.example")]);
    assert_eq!(
        Mastodon::parse_url("http://mastodon.example/@org/42").map_err(|e| e.kind()),
        Err("invalid-input")
    );
}

#[test]
fn context_splits_into_comments_and_replies() {
    let _config = example_instance();
    let context = format!("{API}/103188938570975982/context");
    let http = Recorded::new(DIR).get(&context, "context.json").install();
    let post = post("103188938570975982");

    let comments = walk(&post, Collection::Comments).expect("comments");
    assert_eq!(comments.len(), 1, "the context is one page");
    assert_eq!(comments[0].total_hint, Some(2));
    assert_eq!(
        comments[0].entries[0],
        Entry {
            platform: "mastodon".into(),
            user_id: "14715".into(),
            handle: "@alice".into(),
            display_name: "Alice".into(),
            text: "@org count me in!".into(),
            created_at: "2019-11-23T20:06:36.011Z".into(),
            followers: None,
            account_created_at: None,
        }
    );
    assert_eq!(comments[0].entries[1].handle, "@noiob@awoo.space");

    let replies = walk(&post, Collection::Replies).expect("replies");
    let handles: Vec<_> = replies[0]
        .entries
        .iter()
        .map(|e| e.handle.as_str())
        .collect();
    assert_eq!(handles, ["@Norman_Doors@witches.live"]);
    assert_eq!(replies[0].entries[0].text, "good luck");
    assert_eq!(http.urls(), [context.clone(), context]);
}

#[test]
fn favourites_follow_the_link_header_by_max_id() {
    let _config = example_instance();
    let status = format!("{API}/109419880690343548");
    let page1 = format!("{API}/109419880690343548/favourited_by?limit=80");
    let page2 = format!("{API}/109419880690343548/favourited_by?limit=80&max_id=53286827");
    let http = Recorded::new(DIR)
        .get(&status, "status-109419880690343548.json")
        .on(
            "GET",
            &page1,
            200,
            &[JSON, ("Link", FAV_LINK)],
            "favourited_by-1.json",
        )
        .on("GET", &page2, 200, &[JSON], "favourited_by-2.json")
        .install();
    let pages = walk(&post("109419880690343548"), Collection::Likes).expect("likes");
    assert_eq!(
        http.urls(),
        [status, page1, page2],
        "the post's time is read once"
    );
    assert_eq!(
        pages.iter().map(|p| p.entries.len()).collect::<Vec<_>>(),
        [3, 1]
    );
    assert_eq!(
        pages[0].next_cursor.as_deref(),
        Some("53286827|2022-11-28T16:00:00.000Z")
    );
    let first = &pages[0].entries[0];
    assert_eq!(
        *first,
        Entry {
            platform: "mastodon".into(),
            user_id: "828600".into(),
            handle: "@fructose_dealer@radical.town".into(),
            display_name: "fructose".into(),
            text: String::new(),
            created_at: "2022-11-28T16:00:00.000Z".into(),
            followers: Some(10),
            account_created_at: Some("2019-01-01T00:00:00.000Z".into()),
        }
    );
    assert!(
        pages
            .iter()
            .flat_map(|p| &p.entries)
            .all(|e| e.created_at == "2022-11-28T16:00:00.000Z")
    );
}

#[test]
fn boosts_use_reblogged_by() {
    let _config = example_instance();
    let status = format!("{API}/109404970108594430");
    let page1 = format!("{API}/109404970108594430/reblogged_by?limit=80");
    let page2 = format!("{API}/109404970108594430/reblogged_by?limit=80&max_id=109406336446186031");
    let http = Recorded::new(DIR)
        .get(&status, "status-109404970108594430.json")
        .on(
            "GET",
            &page1,
            200,
            &[JSON, ("Link", REBLOG_LINK)],
            "reblogged_by-1.json",
        )
        .on_body("GET", &page2, 200, &[JSON], "[]")
        .install();
    let pages = walk(&post("109404970108594430"), Collection::Reposts).expect("reposts");
    assert_eq!(http.urls(), [status, page1, page2]);
    let handles: Vec<_> = pages
        .iter()
        .flat_map(|p| &p.entries)
        .map(|e| e.handle.as_str())
        .collect();
    assert_eq!(handles, ["@Norman_Doors@witches.live", "@alice"]);
    assert_eq!(
        pages[1].next_cursor, None,
        "an empty page without rel=next ends the list"
    );
}

#[test]
fn errors_map_to_plugin_errors() {
    let _config = example_instance();
    let context = format!("{API}/1/context");
    let post = post("1");
    let fetch = |status: u16, headers: &[(&str, &str)], file: &str| {
        let _http = Recorded::new(DIR)
            .on("GET", &context, status, headers, file)
            .install();
        Mastodon::fetch_page(&post, Collection::Comments, None).expect_err("an error")
    };
    assert_eq!(
        fetch(401, &[JSON], "error-401.json"),
        PluginError::Unauthorized("HTTP 401: The access token is invalid".into())
    );
    assert_eq!(
        fetch(404, &[JSON], "error-404.json"),
        PluginError::NotFound("HTTP 404: Record not found".into())
    );
    let limited = fetch(
        429,
        &[
            JSON,
            ("Date", "Sat, 01 Jun 2024 12:00:00 GMT"),
            ("X-RateLimit-Limit", "300"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "2024-06-01T12:05:00.000000Z"),
        ],
        "error-429.json",
    );
    assert_eq!(
        limited,
        PluginError::rate_limited(Some(300), "HTTP 429: Too many requests")
    );
    let _http = Recorded::new(DIR)
        .on_body(
            "GET",
            &context,
            503,
            &[JSON],
            r#"{"error":"Remote data could not be fetched"}"#,
        )
        .install();
    assert_eq!(
        Mastodon::fetch_page(&post, Collection::Comments, None).map_err(|e| e.kind()),
        Err("unavailable")
    );
}

#[test]
fn bad_cursors_and_collections_are_invalid_input() {
    let _config = example_instance();
    let _http = Recorded::new(DIR).install();
    let post = post("1");
    for cursor in ["garbage", "1|yesterday", "1/2|2022-11-28T16:00:00Z"] {
        let err = Mastodon::fetch_page(&post, Collection::Likes, Some(cursor)).expect_err(cursor);
        assert_eq!(err.kind(), "invalid-input", "{cursor}");
    }
    assert_eq!(
        Mastodon::fetch_page(&post, Collection::Followers, None).map_err(|e| e.kind()),
        Err("invalid-input")
    );
}
