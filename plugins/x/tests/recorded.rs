//! The X source against recorded API responses (no server): the recordings
//! match exact URLs, so these tests also pin the requests. See
//! `recorded/README.md` for where each body comes from.

use fairdraw_plugin_sdk::http::HttpError;
use fairdraw_plugin_sdk::log::Level;
use fairdraw_plugin_sdk::testing::{self, Recorded};
use fairdraw_plugin_sdk::{Collection, Entry, PluginError, Post, Source};
use x::X;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded");

const POST_ID: &str = "1279944223114900000";
const SEARCH: &str = "https://api.x.com/2/tweets/search/recent?query=conversation_id:1279944223114900000&max_results=100&tweet.fields=author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets,entities&expansions=author_id&user.fields=username,name,created_at,public_metrics";
const TWEET: &str =
    "https://api.x.com/2/tweets/1279944223114900000?tweet.fields=created_at,author_id";
const LIKES: &str = "https://api.x.com/2/tweets/1279944223114900000/liking_users?max_results=100&user.fields=username,name,created_at,public_metrics";
const RETWEETS: &str = "https://api.x.com/2/tweets/1279944223114900000/retweeted_by?max_results=100&user.fields=username,name,created_at,public_metrics";
const QUOTES: &str = "https://api.x.com/2/tweets/1279944223114900000/quote_tweets?max_results=100&tweet.fields=author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets,entities&expansions=author_id&user.fields=username,name,created_at,public_metrics";
const FOLLOWERS: &str = "https://api.x.com/2/users/1102321111/followers?max_results=1000&user.fields=username,name,created_at,public_metrics";

/// The post's own time, which likes, reposts and follows carry.
const POST_TIME: &str = "2020-07-06T01:04:17.000Z";

fn with_token(base: &str, param: &str, token: &str) -> String {
    format!("{base}&{param}={token}")
}

fn post() -> Post {
    X::parse_url("https://x.com/OriginalAuthor/status/1279944223114900000").expect("a post URL")
}

fn recorded() -> Recorded {
    Recorded::new(DIR)
        .on(
            "GET",
            SEARCH,
            200,
            &[
                ("Content-Type", "application/json; charset=utf-8"),
                ("Date", "Tue, 14 Jul 2020 09:00:00 GMT"),
            ],
            "search-1.json",
        )
        .get(
            &with_token(
                SEARCH,
                "next_token",
                "b26v89c19zqg8o3fpdg4f2tyq0vbu3vq4x1l7d3lh7bj1",
            ),
            "search-2.json",
        )
        .get(TWEET, "tweet.json")
        .get(LIKES, "liking_users-1.json")
        .get(
            &with_token(
                LIKES,
                "pagination_token",
                "7140dibdnow9c7btw3z2vwioavpvutgzrzm9icis4ndix",
            ),
            "liking_users-2.json",
        )
        .get(RETWEETS, "retweeted_by-1.json")
        .get(
            &with_token(
                RETWEETS,
                "pagination_token",
                "7140dibdnow9c7btw3w3y5b6jqjnk3k4g5zkmfkvqwa42",
            ),
            "retweeted_by-2.json",
        )
        .get(
            &with_token(
                RETWEETS,
                "pagination_token",
                "7140dibdnow9c7btw3w3y5b6jqjnk3k4g5zkmfkvqwa43",
            ),
            "retweeted_by-3.json",
        )
        .get(QUOTES, "quote_tweets-1.json")
        .get(FOLLOWERS, "followers-1.json")
        .get(
            &with_token(FOLLOWERS, "pagination_token", "DFEDBNRFT3MHCZZZ"),
            "followers-2.json",
        )
}

/// Pages through a collection as the host does; returns the entries and
/// the entry count of each page.
fn walk(collection: Collection) -> Result<(Vec<Entry>, Vec<usize>), PluginError> {
    let post = post();
    let (mut entries, mut pages, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let page = X::fetch_page(&post, collection, cursor.as_deref())?;
        pages.push(page.entries.len());
        entries.extend(page.entries);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((entries, pages)),
        }
        assert!(pages.len() < 20, "pagination does not end");
    }
}

fn handles(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.handle.as_str()).collect()
}

#[test]
fn parse_url_accepts_x_twitter_and_bare_ids() {
    assert_eq!(
        post(),
        Post {
            id: POST_ID.into(),
            url: "https://x.com/OriginalAuthor/status/1279944223114900000".into()
        }
    );
    let twitter =
        X::parse_url("https://twitter.com/OriginalAuthor/status/1279944223114900000?s=20")
            .expect("twitter.com");
    assert_eq!(twitter, post());
    let bare = X::parse_url(POST_ID).expect("bare id");
    assert_eq!(bare.id, POST_ID);
    assert_eq!(bare.url, "https://x.com/i/web/status/1279944223114900000");
    for bad in [
        "https://x.com/OriginalAuthor",
        "https://mastodon.social/@a/1",
        "12a",
    ] {
        assert_eq!(X::parse_url(bad).expect_err(bad).kind(), "invalid-input");
    }
}

#[test]
fn describe_lists_the_five_collections_and_the_token() {
    let info = X::describe();
    assert_eq!(info.platform, "x");
    assert_eq!(info.collections, Collection::ALL);
    assert_eq!(info.credentials, ["bearer_token"]);
    assert!(info.unsupported.is_empty(), "{:?}", info.unsupported);
}

#[test]
fn comments_are_direct_replies_with_entity_mentions() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Comments).expect("comments");
    // Page 1: one of three is a reply to a reply. Page 2: the suspended
    // author's reply is left out (X lists it in errors[]).
    assert_eq!(pages, [2, 1]);
    assert_eq!(
        http.urls(),
        [
            SEARCH.to_owned(),
            with_token(
                SEARCH,
                "next_token",
                "b26v89c19zqg8o3fpdg4f2tyq0vbu3vq4x1l7d3lh7bj1"
            )
        ]
    );
    assert_eq!(
        entries[0],
        Entry {
            platform: "x".into(),
            user_id: "1102323333".into(),
            handle: "@SecondPerson".into(),
            display_name: "Second Person".into(),
            // The handle X prepends to a reply is not counted.
            text: "@\u{200B}OriginalAuthor me too #giveaway @ThirdPers @XDevelopers".into(),
            created_at: "2020-07-06T15:02:44.000Z".into(),
            followers: Some(45),
            account_created_at: Some("2019-03-03T09:30:00.000Z".into()),
        }
    );
    assert_eq!(entries[1].handle, "@XDevelopers");
    assert_eq!(entries[1].text, "@\u{200B}OriginalAuthor 🎉");
    // Escapes decoded; `@ghost_account_x` is no account X recognised, and
    // the e-mail address is not a mention.
    assert_eq!(
        entries[2].text,
        "@\u{200B}OriginalAuthor giveaway & more: tagging @ThirdPers and @\u{200B}ghost_account_x, mail me at fan@example.com <3"
    );
    assert_eq!(entries[2].display_name, "Alice ✨");
    let logs = testing::logs();
    assert!(
        logs.iter().any(|(level, m)| *level == Level::Warn
            && m.contains("Could not find user with id: [1122334455667788]")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|(_, m)| m.contains("more than 7 days ago") && m.contains("2020-07-06T01:04:17Z")),
        "the first page's Date is 8 days after the post: {logs:?}"
    );
}

#[test]
fn replies_are_the_rest_of_the_conversation() {
    let _http = recorded().install();
    let (entries, pages) = walk(Collection::Replies).expect("replies");
    assert_eq!(pages, [1, 0]);
    assert_eq!(handles(&entries), ["@ThirdPers"]);
    assert_eq!(
        entries[0].text,
        "@\u{200B}SecondPerson @OriginalAuthor count me in!"
    );
}

#[test]
fn an_empty_search_is_one_empty_last_page() {
    let _http = Recorded::new(DIR)
        .get(SEARCH, "search-empty.json")
        .install();
    let page = X::fetch_page(&post(), Collection::Comments, None).expect("empty");
    assert_eq!((page.entries.len(), page.next_cursor), (0, None));
}

#[test]
fn likes_carry_the_post_time_and_follow_pagination_tokens() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Likes).expect("likes");
    assert_eq!(pages, [2, 1]);
    assert_eq!(handles(&entries), ["@TwitterSupport", "@Twitter", "@alice"]);
    assert!(
        entries
            .iter()
            .all(|e| e.created_at == POST_TIME && e.text.is_empty())
    );
    assert_eq!(
        entries[0].account_created_at.as_deref(),
        Some("2008-12-04T18:51:57.000Z")
    );
    assert_eq!(
        entries[0].followers, None,
        "the docs example has no public_metrics"
    );
    assert_eq!(entries[2].followers, Some(12));
    // One lookup of the post, then the list; later pages need one request.
    assert_eq!(
        http.urls(),
        [
            TWEET.to_owned(),
            LIKES.to_owned(),
            with_token(
                LIKES,
                "pagination_token",
                "7140dibdnow9c7btw3z2vwioavpvutgzrzm9icis4ndix"
            )
        ]
    );
}

#[test]
fn reposts_are_retweets_then_quotes_with_their_text() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Reposts).expect("reposts");
    // An empty page that still carries a next_token is not the end.
    assert_eq!(pages, [3, 0, 1, 1]);
    assert_eq!(
        handles(&entries),
        [
            "@TwitterSpaces",
            "@Twitter",
            "@TwitterData",
            "@ThirdPers",
            "@SecondPerson"
        ]
    );
    assert!(
        entries[..4]
            .iter()
            .all(|e| e.created_at == POST_TIME && e.text.is_empty())
    );
    let quote = &entries[4];
    assert_eq!(quote.created_at, "2020-07-06T18:00:00.000Z");
    assert_eq!(
        quote.text,
        "Entering this one #giveaway @alice @ThirdPers https://t.co/abcDEF1234"
    );
    assert_eq!(http.urls().last().map(String::as_str), Some(QUOTES));
    assert!(
        http.unused()
            .iter()
            .all(|u| !u.contains("retweeted_by") && !u.contains("quote"))
    );
}

#[test]
fn followers_of_the_author_use_pages_of_1000() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Followers).expect("followers");
    assert_eq!(pages, [3, 1]);
    assert_eq!(handles(&entries), ["@alice", "@bob", "@carol", "@dave"]);
    assert_eq!(
        http.urls()[1..],
        [
            FOLLOWERS.to_owned(),
            with_token(FOLLOWERS, "pagination_token", "DFEDBNRFT3MHCZZZ")
        ]
    );
}

#[test]
fn followers_on_a_lower_tier_say_so() {
    let _http = Recorded::new(DIR)
        .get(TWEET, "tweet.json")
        .on(
            "GET",
            FOLLOWERS,
            403,
            &[("Content-Type", "application/problem+json")],
            "error-403-client-forbidden.json",
        )
        .install();
    let err = X::fetch_page(&post(), Collection::Followers, None).expect_err("403");
    let PluginError::Unauthorized(m) = &err else {
        panic!("{err:?}")
    };
    assert!(m.contains("not available on this access tier"), "{m}");
    assert!(m.contains("followers"), "{m}");
}

#[test]
fn a_deleted_post_is_not_found() {
    let _http = Recorded::new(DIR)
        .get(TWEET, "tweet-deleted.json")
        .install();
    let err = X::fetch_page(&post(), Collection::Likes, None).expect_err("deleted");
    assert_eq!(
        err,
        PluginError::NotFound("X: Could not find tweet with id: [1279944223114900000].".into())
    );
}

fn error_for(status: u16, headers: &[(&str, &str)], file: &str) -> PluginError {
    let _http = Recorded::new(DIR)
        .on("GET", SEARCH, status, headers, file)
        .install();
    X::fetch_page(&post(), Collection::Comments, None).expect_err("an error response")
}

#[test]
fn a_bad_token_is_unauthorized() {
    let err = error_for(
        401,
        &[("Content-Type", "application/problem+json")],
        "error-401.json",
    );
    assert_eq!(
        err,
        PluginError::Unauthorized(
            "X: Unauthorized (the bearer token is missing, invalid, expired or revoked)".into()
        )
    );
}

#[test]
fn a_rate_limit_waits_until_x_rate_limit_reset() {
    let headers = [
        ("Content-Type", "application/problem+json"),
        ("Date", "Sat, 01 Jun 2024 12:00:00 GMT"),
        ("x-rate-limit-limit", "450"),
        ("x-rate-limit-remaining", "0"),
        ("x-rate-limit-reset", "1717243290"),
    ];
    let err = error_for(429, &headers, "error-429.json");
    assert_eq!(
        err,
        PluginError::rate_limited(Some(90), "X: Too Many Requests")
    );
    let cap = error_for(429, &headers[..2], "error-429-usage-cap.json");
    let PluginError::RateLimited(limit) = cap else {
        panic!("{cap:?}")
    };
    assert_eq!(limit.retry_after_seconds, None);
    assert!(
        limit.message.contains("Monthly product cap"),
        "{}",
        limit.message
    );
}

#[test]
fn a_bad_pagination_token_is_invalid_input() {
    let err = error_for(400, &[], "error-400-invalid-token.json");
    assert_eq!(err.kind(), "invalid-input");
    assert!(err.message().contains("[garbage] is not valid"), "{err}");
}

#[test]
fn outages_and_host_refusals() {
    let _http = Recorded::new(DIR)
        .on_body(
            "GET",
            SEARCH,
            503,
            &[],
            r#"{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}"#,
        )
        .install();
    let err = X::fetch_page(&post(), Collection::Comments, None).expect_err("503");
    assert_eq!(
        err,
        PluginError::Unavailable("X: Service Unavailable".into())
    );
    drop(_http);
    let _http = Recorded::new(DIR)
        .on_error("GET", SEARCH, HttpError::Timeout)
        .install();
    let err = X::fetch_page(&post(), Collection::Comments, None).expect_err("timeout");
    assert_eq!(err, PluginError::Http("timeout".into()));
}

#[test]
fn hostile_answers_are_errors_not_panics() {
    let _http = Recorded::new(DIR)
        .on_body("GET", SEARCH, 200, &[], "not json")
        .on_body(
            "GET",
            &with_token(SEARCH, "next_token", "loop"),
            200,
            &[],
            r#"{"data":[],"meta":{"next_token":"loop"}}"#,
        )
        .install();
    let err = X::fetch_page(&post(), Collection::Comments, None).expect_err("not JSON");
    assert_eq!(err.kind(), "bad-response");
    let err = X::fetch_page(&post(), Collection::Comments, Some("loop")).expect_err("a loop");
    assert_eq!(err.kind(), "bad-response");
    for (collection, cursor) in [
        (Collection::Likes, "garbage"),
        (Collection::Likes, "f|2020-07-06T01:04:17.000Z|1102321111|"),
        (Collection::Comments, "a b"),
    ] {
        let err = X::fetch_page(&post(), collection, Some(cursor)).expect_err(cursor);
        assert_eq!(err.kind(), "invalid-input", "{cursor}");
    }
}

#[test]
fn a_full_page_of_100_parses() {
    let _http = Recorded::new(DIR).get(SEARCH, "search-100.json").install();
    let page = X::fetch_page(&post(), Collection::Comments, None).expect("page");
    assert_eq!(page.entries.len(), 100);
    assert!(page.next_cursor.is_some());
    let e = &page.entries[3];
    assert_eq!(e.handle, "@fan003");
    assert_eq!(
        e.text,
        "@\u{200B}OriginalAuthor #giveaway count me in @fan004 & good luck !"
    );
}
