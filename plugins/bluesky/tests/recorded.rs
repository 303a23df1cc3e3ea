//! The Bluesky source against recorded AppView responses (no server): the
//! recordings match exact URLs, so these tests also pin the requests.

use bluesky::{Bluesky, NOT_A_MENTION};
use fairdraw_plugin_sdk::http::HttpError;
use fairdraw_plugin_sdk::testing::{self, Recorded};
use fairdraw_plugin_sdk::{Collection, Entry, PluginError, Post, Source};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded");

const XRPC: &str = "https://public.api.bsky.app/xrpc";
const ORG: &str = "did:plc:organizer000000000000000";
const URI: &str = "at://did:plc:organizer000000000000000/app.bsky.feed.post/3kgiveaway000";
const URL: &str = "https://bsky.app/profile/did:plc:organizer000000000000000/post/3kgiveaway000";
const BY_HANDLE: &str = "https://bsky.app/profile/Organizer.bsky.social/post/3kgiveaway000";
const ALICE: &str = "did:plc:alice0000000000000000000";

fn url(nsid: &str, query: &str) -> String {
    format!("{XRPC}/{nsid}?{query}")
}

fn thread(depth: u32) -> String {
    url(
        "app.bsky.feed.getPostThread",
        &format!("uri={URI}&depth={depth}&parentHeight=0"),
    )
}

fn subtree() -> String {
    url(
        "app.bsky.feed.getPostThread",
        "uri=at://did:plc:chain10000000000000000/app.bsky.feed.post/3kchain00010&depth=10&parentHeight=0",
    )
}

fn likes(cursor: Option<&str>) -> String {
    let c = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
    url("app.bsky.feed.getLikes", &format!("uri={URI}&limit=100{c}"))
}

fn reposted_by() -> String {
    url(
        "app.bsky.feed.getRepostedBy",
        &format!("uri={URI}&limit=100"),
    )
}

fn quotes(cursor: Option<&str>) -> String {
    let c = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
    url(
        "app.bsky.feed.getQuotes",
        &format!("uri={URI}&limit=100{c}"),
    )
}

fn followers(cursor: Option<&str>) -> String {
    let c = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
    url(
        "app.bsky.graph.getFollowers",
        &format!("actor={ORG}&limit=100{c}"),
    )
}

fn resolve() -> String {
    url(
        "com.atproto.identity.resolveHandle",
        "handle=organizer.bsky.social",
    )
}

fn recorded() -> Recorded {
    Recorded::new(DIR)
        .get(&thread(0), "thread-depth-0.json")
        .get(&thread(1), "thread-depth-1.json")
        .get(&thread(10), "thread-depth-10.json")
        .get(&subtree(), "thread-subtree.json")
        .get(&likes(None), "likes-1.json")
        .get(
            &likes(Some("1717243500000::bafyreiddddddddd")),
            "likes-2.json",
        )
        .get(
            &likes(Some("1717243400000::bafyreieeeeeeeee")),
            "likes-3.json",
        )
        .get(&reposted_by(), "reposted-by.json")
        .get(&quotes(None), "quotes-1.json")
        .get(&quotes(Some("3kquotecursor")), "quotes-2.json")
        .get(&followers(None), "followers-1.json")
        .get(&followers(Some("3kfollowcursor")), "followers-2.json")
        .get(&resolve(), "resolve-handle.json")
}

fn post() -> Post {
    Bluesky::parse_url(URL).expect("a post URL")
}

/// Pages through a collection as the host does; returns the entries and
/// the entry count of each page.
fn walk_post(post: &Post, collection: Collection) -> Result<(Vec<Entry>, Vec<usize>), PluginError> {
    let (mut entries, mut pages, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let page = Bluesky::fetch_page(post, collection, cursor.as_deref())?;
        pages.push(page.entries.len());
        entries.extend(page.entries);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((entries, pages)),
        }
        assert!(pages.len() < 20, "pagination does not end");
    }
}

fn walk(collection: Collection) -> Result<(Vec<Entry>, Vec<usize>), PluginError> {
    walk_post(&post(), collection)
}

fn handles(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.handle.as_str()).collect()
}

#[test]
fn parse_url_accepts_app_urls_and_at_uris() {
    assert_eq!(
        post(),
        Post {
            id: URI.into(),
            url: URL.into()
        }
    );
    assert_eq!(Bluesky::parse_url(URI).expect("an at-URI"), post());
    assert_eq!(
        Bluesky::parse_url(&format!("{URL}?ref=share#x")).expect("query and fragment"),
        post()
    );
    let by_handle = Bluesky::parse_url(BY_HANDLE).expect("a handle URL");
    assert_eq!(
        by_handle,
        Post {
            id: "at://organizer.bsky.social/app.bsky.feed.post/3kgiveaway000".into(),
            url: "https://bsky.app/profile/organizer.bsky.social/post/3kgiveaway000".into()
        }
    );
    assert_eq!(
        Bluesky::parse_url("at://organizer.bsky.social/app.bsky.feed.post/3kgiveaway000")
            .expect("handle at-URI"),
        by_handle
    );
    for bad in [
        "https://mastodon.social/@a/1",
        "https://bsky.app/profile/alice.bsky.social",
        "https://bsky.app/profile/alice/post/3k",
        "https://evil.example/profile/did:plc:a/post/3k",
        "http://bsky.app/profile/did:plc:a/post/3k",
        "at://did:plc:a/app.bsky.feed.like/3k",
        "at://did:plc:a/app.bsky.feed.post/a/b",
        "",
    ] {
        let err = Bluesky::parse_url(bad).expect_err(bad);
        assert_eq!(err.kind(), "invalid-input", "{bad}");
    }
}

#[test]
fn describe_lists_every_collection() {
    let info = Bluesky::describe();
    assert_eq!(info.platform, "bluesky");
    assert_eq!(info.collections, Collection::ALL);
    assert!(info.credentials.is_empty(), "public posts need none");
    let rules: Vec<_> = info.unsupported.iter().map(|u| u.rule.as_str()).collect();
    assert_eq!(rules, ["min_followers"]);
}

#[test]
fn comments_are_the_direct_replies_without_blocked_deleted_or_hidden_ones() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Comments).expect("comments");
    assert_eq!(pages, [2], "one page: alice and frank");
    assert_eq!(http.urls(), [thread(1)]);
    assert_eq!(
        entries[0],
        Entry {
            platform: "bluesky".into(),
            user_id: ALICE.into(),
            handle: "@alice.bsky.social".into(),
            display_name: "Alice".into(),
            text: "Count me in! @bob.bsky.social @eve.test #giveaway".into(),
            created_at: "2024-06-01T12:05:01.000Z".into(),
            followers: None,
            account_created_at: Some("2023-05-01T00:00:00.000Z".into()),
        }
    );
    // Frank backdated his reply: the AppView's indexedAt is used. His
    // "@nobody" has no mention facet, so it is not a mention.
    assert_eq!(entries[1].created_at, "2024-06-01T12:09:00.000Z");
    assert_eq!(
        entries[1].text,
        format!("@{NOT_A_MENTION}nobody here, #giveaway")
    );
    assert_eq!(entries[1].display_name, "Frank 🎲");
    let logs = testing::logs();
    assert!(
        logs.iter()
            .any(|(_, m)| m == "skipped 1 blocked, 1 deleted and 1 hidden replies"),
        "{logs:?}"
    );
}

#[test]
fn hidden_replies_can_be_included() {
    let _http = recorded().install();
    let _config = testing::config(&[("include_hidden_replies", "true")]);
    let (entries, _) = walk(Collection::Comments).expect("comments");
    assert_eq!(
        handles(&entries),
        ["@alice.bsky.social", "@frank.bsky.social", "@eve.test"]
    );
    let _bad = testing::config(&[("include_hidden_replies", "sometimes")]);
    assert_eq!(
        walk(Collection::Comments).expect_err("bad config").kind(),
        "invalid-input"
    );
}

#[test]
fn replies_flatten_the_tree_and_fetch_the_subtrees_cut_at_the_depth_limit() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Replies).expect("replies");
    // Page 1: bob (depth 2) and the chain at depths 2..=10; the node at
    // depth 10 has replies the response cut: page 2 fetches them.
    assert_eq!(pages, [10, 1]);
    assert_eq!(http.urls(), [thread(10), subtree()]);
    let got = handles(&entries);
    assert_eq!(got[0], "@bob.bsky.social");
    let chain: Vec<String> = (2..=11).map(|d| format!("@chain{d}.bsky.social")).collect();
    assert_eq!(
        got[1..],
        chain.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    // Bob's text mentions alice through a facet-less "@alice…": not a mention.
    assert_eq!(
        entries[0].text,
        format!("me too @{NOT_A_MENTION}alice.bsky.social")
    );
}

#[test]
fn a_post_named_by_handle_is_resolved_to_its_did() {
    let http = recorded().install();
    let post = Bluesky::parse_url(BY_HANDLE).expect("a handle URL");
    let (entries, _) = walk_post(&post, Collection::Likes).expect("likes");
    assert_eq!(entries.len(), 4);
    // Resolved once: later cursors carry the DID.
    assert_eq!(
        http.urls(),
        [
            resolve(),
            likes(None),
            likes(Some("1717243500000::bafyreiddddddddd")),
            likes(Some("1717243400000::bafyreieeeeeeeee"))
        ]
    );
    let _ = walk_post(&post, Collection::Comments).expect("comments");
    assert_eq!(http.urls()[4..], [resolve(), thread(1)]);
}

#[test]
fn an_unknown_handle_is_not_found() {
    let _http = Recorded::new(DIR)
        .on(
            "GET",
            &resolve(),
            400,
            &[],
            "error-unresolved-handle-400.json",
        )
        .install();
    let post = Bluesky::parse_url(BY_HANDLE).expect("a handle URL");
    let err = Bluesky::fetch_page(&post, Collection::Likes, None).expect_err("unknown");
    assert_eq!(
        err,
        PluginError::NotFound("Bluesky: InvalidRequest: Unable to resolve handle".into())
    );
}

#[test]
fn likes_follow_the_cursor_through_short_and_empty_pages() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Likes).expect("likes");
    assert_eq!(
        pages,
        [3, 1, 0],
        "a short page with a cursor, then an empty last one"
    );
    assert_eq!(
        http.urls(),
        [
            likes(None),
            likes(Some("1717243500000::bafyreiddddddddd")),
            likes(Some("1717243400000::bafyreieeeeeeeee"))
        ]
    );
    assert_eq!(entries[0].user_id, ALICE);
    assert_eq!(entries[0].created_at, "2024-06-01T12:10:00.000Z");
    assert_eq!(entries[0].text, "");
    // A handle that no longer verifies: the DID stands in.
    assert_eq!(entries[3].handle, "@did:plc:frank0000000000000000000");
}

#[test]
fn an_entrant_who_changed_handle_stays_one_entrant() {
    let _http = recorded().install();
    let (comments, _) = walk(Collection::Comments).expect("comments");
    let (likes, _) = walk(Collection::Likes).expect("likes");
    let (commented, liked) = (&comments[0], &likes[0]);
    assert_eq!(commented.handle, "@alice.bsky.social");
    assert_eq!(
        liked.handle, "@alice.example.com",
        "renamed between reply and like"
    );
    assert_eq!(commented.user_id, liked.user_id);
}

#[test]
fn reposts_then_quote_posts_with_their_text() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Reposts).expect("reposts");
    assert_eq!(pages, [2, 1, 0]);
    assert_eq!(
        http.urls(),
        [
            thread(0),
            reposted_by(),
            quotes(None),
            quotes(Some("3kquotecursor"))
        ]
    );
    assert_eq!(
        handles(&entries),
        ["@alice.bsky.social", "@eve.test", "@quoter.bsky.social"]
    );
    // Reposts carry no time: the post's (the earliest a repost can be).
    assert_eq!(entries[0].created_at, "2024-06-01T12:00:01.000Z");
    assert_eq!(entries[0].text, "");
    let quote = &entries[2];
    assert_eq!(
        quote.text,
        format!("Look at this @organizer.bsky.social giveaway! @{NOT_A_MENTION}friend.test")
    );
    assert_eq!(quote.created_at, "2024-06-01T12:30:01.000Z");
    assert_eq!(quote.display_name, "Quoter");
}

#[test]
fn followers_of_the_author() {
    let http = recorded().install();
    let (entries, pages) = walk(Collection::Followers).expect("followers");
    assert_eq!(pages, [3, 0]);
    assert_eq!(
        http.urls(),
        [
            thread(0),
            followers(None),
            followers(Some("3kfollowcursor"))
        ]
    );
    assert_eq!(
        handles(&entries),
        ["@alice.bsky.social", "@bob.bsky.social", "@eve.test"]
    );
    assert!(
        entries
            .iter()
            .all(|e| e.created_at == "2024-06-01T12:00:01.000Z")
    );
}

#[test]
fn a_full_page_of_100_likes() {
    let _http = Recorded::new(DIR)
        .get(&likes(None), "likes-100.json")
        .install();
    let page = Bluesky::fetch_page(&post(), Collection::Likes, None).expect("page");
    assert_eq!(page.entries.len(), 100);
    assert!(page.next_cursor.is_some());
    assert_eq!(page.entries[1].display_name, "fan 1 🎲");
    assert_eq!(
        page.entries[99].account_created_at.as_deref(),
        Some("2023-01-01T00:00:00.000Z")
    );
}

fn error_for(status: u16, headers: &[(&str, &str)], file: &str) -> PluginError {
    let _http = Recorded::new(DIR)
        .on("GET", &likes(None), status, headers, file)
        .install();
    Bluesky::fetch_page(&post(), Collection::Likes, None).expect_err("an error response")
}

#[test]
fn a_missing_post_is_not_found() {
    let err = error_for(400, &[], "error-not-found-400.json");
    assert_eq!(
        err,
        PluginError::NotFound(
            "Bluesky: NotFound: Post not found: at://did:plc:organizer000000000000000/app.bsky.feed.post/3kmissing0000".into()
        )
    );
}

#[test]
fn invalid_and_expired_tokens_are_unauthorized() {
    assert_eq!(
        error_for(401, &[], "error-invalid-token-401.json"),
        PluginError::Unauthorized("Bluesky: InvalidToken: Malformed token".into())
    );
    assert_eq!(
        error_for(401, &[], "error-expired-token-401.json"),
        PluginError::Unauthorized("Bluesky: ExpiredToken: Token has expired".into())
    );
    // A PDS says so with 400.
    assert_eq!(
        error_for(400, &[], "error-expired-token-401.json").kind(),
        "unauthorized"
    );
}

#[test]
fn a_rate_limit_waits_until_ratelimit_reset() {
    let headers = [
        ("Date", "Sat, 01 Jun 2024 12:00:00 GMT"),
        ("RateLimit-Limit", "3000"),
        ("RateLimit-Remaining", "0"),
        ("RateLimit-Reset", "1717243800"),
        ("RateLimit-Policy", "3000;w=300"),
    ];
    assert_eq!(
        error_for(429, &headers, "error-rate-limited-429.json"),
        PluginError::rate_limited(Some(600), "Bluesky: RateLimitExceeded: Rate Limit Exceeded")
    );
}

#[test]
fn outages_bad_bodies_and_host_refusals() {
    let _http = Recorded::new(DIR)
        .on_body(
            "GET",
            &likes(None),
            502,
            &[],
            r#"{"error":"UpstreamFailure","message":"Upstream Failure"}"#,
        )
        .on_body("GET", &likes(None), 200, &[], "<html>not json</html>")
        .on_body(
            "GET",
            &likes(None),
            200,
            &[],
            r#"{"likes": [{"actor": 7}]}"#,
        )
        .on_error("GET", &likes(None), HttpError::TooLarge(8 << 20))
        .install();
    let call = || Bluesky::fetch_page(&post(), Collection::Likes, None).expect_err("fails");
    assert_eq!(call().kind(), "unavailable");
    assert_eq!(call().kind(), "bad-response");
    assert_eq!(call().kind(), "bad-response");
    assert_eq!(
        call(),
        PluginError::Http("too large: the response exceeds 8388608 bytes".into())
    );
}

#[test]
fn a_hostile_thread_nested_too_deep_is_a_bad_response() {
    let mut body = String::new();
    for _ in 0..200 {
        body.push_str(r#"{"$type":"app.bsky.feed.defs#threadViewPost","replies":["#);
    }
    for _ in 0..200 {
        body.push_str("]}");
    }
    let _http = Recorded::new(DIR)
        .on_body(
            "GET",
            &thread(1),
            200,
            &[],
            format!(r#"{{"thread":{body}}}"#),
        )
        .install();
    let err = Bluesky::fetch_page(&post(), Collection::Comments, None).expect_err("too deep");
    assert_eq!(err.kind(), "bad-response");
}

#[test]
fn bad_cursors_and_foreign_cursors_are_invalid_input() {
    let _http = recorded().install();
    for (collection, cursor) in [
        (Collection::Replies, "garbage"),
        (Collection::Likes, "garbage"),
        (
            Collection::Reposts,
            "did:plc:organizer000000000000000 - l x",
        ),
        (
            Collection::Followers,
            "did:plc:someoneelse 2024-06-01T12:00:01.000Z f x",
        ),
    ] {
        let err = Bluesky::fetch_page(&post(), collection, Some(cursor)).expect_err(cursor);
        assert_eq!(err.kind(), "invalid-input", "{collection} {cursor}");
    }
    let bad_post = Post {
        id: "not a uri".into(),
        url: URL.into(),
    };
    assert_eq!(
        Bluesky::fetch_page(&bad_post, Collection::Likes, None)
            .expect_err("bad id")
            .kind(),
        "invalid-input"
    );
}
