//! The Instagram source against recorded Graph API responses (no server):
//! the recordings match exact URLs, so these tests also pin the requests.

use fairdraw_plugin_sdk::testing::{self, Recorded};
use fairdraw_plugin_sdk::{Collection, Entry, PluginError, Post, Source};
use instagram::Instagram;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded");

const MEDIA: &str = "17895695668004550";
const IG_USER: &str = "17841400008460056";
const SHORTCODE_URL: &str = "https://www.instagram.com/p/C4fDrAw7Tst/?igsh=MWZ1";

const BASE: &str = "https://graph.facebook.com/v23.0";
const COMMENT_FIELDS: &str = "fields=id,text,timestamp,username,from%7Bid,username%7D,hidden";
const THREAD_FIELDS: &str =
    "fields=id,replies%7Bid,text,timestamp,username,from%7Bid,username%7D,hidden,parent_id%7D";
const REPLY_FIELDS: &str =
    "fields=id,text,timestamp,username,from%7Bid,username%7D,hidden,parent_id";

fn comments_url(after: Option<&str>) -> String {
    let after = after.map(|a| format!("&after={a}")).unwrap_or_default();
    format!("{BASE}/{MEDIA}/comments?{COMMENT_FIELDS}&limit=100{after}")
}

fn threads_url() -> String {
    format!("{BASE}/{MEDIA}/comments?{THREAD_FIELDS}&limit=100")
}

fn replies_url(after: Option<&str>) -> String {
    let after = after.map(|a| format!("&after={a}")).unwrap_or_default();
    format!("{BASE}/17870913679156914/replies?{REPLY_FIELDS}&limit=100{after}")
}

fn media_url(after: Option<&str>) -> String {
    let after = after.map(|a| format!("&after={a}")).unwrap_or_default();
    format!("{BASE}/{IG_USER}/media?fields=id,shortcode&limit=100{after}")
}

fn post() -> Post {
    Instagram::parse_url(MEDIA).expect("a media id")
}

fn recorded_comments() -> Recorded {
    Recorded::new(DIR)
        .get(&comments_url(None), "comments-1.json")
        .get(&comments_url(Some("QVFIUlNYNTHAFTER")), "comments-2.json")
        .get(&comments_url(Some("QVFIUlNYNTHAFTER2")), "comments-3.json")
        .get(&comments_url(Some("QVFIUlNYNTHAFTER3")), "comments-4.json")
}

/// The entries of a walk, the entry count of each page, the cursors given.
type Walked = (Vec<Entry>, Vec<usize>, Vec<String>);

/// Pages through a collection as the host does.
fn walk(post: &Post, collection: Collection) -> Result<Walked, PluginError> {
    let (mut entries, mut pages, mut cursors) = (Vec::new(), Vec::new(), Vec::new());
    let mut cursor = None::<String>;
    loop {
        let page = Instagram::fetch_page(post, collection, cursor.as_deref())?;
        pages.push(page.entries.len());
        entries.extend(page.entries);
        match page.next_cursor {
            Some(next) => {
                cursors.push(next.clone());
                cursor = Some(next);
            }
            None => return Ok((entries, pages, cursors)),
        }
        assert!(pages.len() < 20, "pagination does not end");
    }
}

fn summary(entries: &[Entry]) -> Vec<(&str, &str, &str, &str)> {
    entries
        .iter()
        .map(|e| {
            (
                e.user_id.as_str(),
                e.handle.as_str(),
                e.created_at.as_str(),
                e.text.as_str(),
            )
        })
        .collect()
}

#[test]
fn describe_offers_only_what_instagram_can_list() {
    let info = Instagram::describe();
    assert_eq!(info.platform, "instagram");
    assert_eq!(
        info.collections,
        [Collection::Comments, Collection::Replies]
    );
    assert_eq!(info.credentials, ["access_token"]);
    let rules: Vec<_> = info.unsupported.iter().map(|u| u.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["min_followers", "min_account_age_days", "require_in"]
    );
    assert!(info.unsupported[2].reason.contains("only counts"));
}

#[test]
fn media_ids_and_urls() {
    assert_eq!(
        post(),
        Post {
            id: MEDIA.into(),
            url: format!("https://graph.facebook.com/{MEDIA}"),
        }
    );
    // A shortcode URL needs the account to look it up in.
    let err = Instagram::parse_url(SHORTCODE_URL).expect_err("no ig_user_id");
    assert_eq!(err.kind(), "invalid-input");
    assert!(err.message().contains("give the media id"), "{err}");
    assert!(err.message().contains("ig_user_id"), "{err}");
    let _config = testing::config(&[("ig_user_id", IG_USER)]);
    assert_eq!(
        Instagram::parse_url(SHORTCODE_URL).expect("with ig_user_id"),
        Post {
            id: "C4fDrAw7Tst".into(),
            url: "https://www.instagram.com/p/C4fDrAw7Tst/".into(),
        }
    );
    assert_eq!(
        Instagram::parse_url("https://www.instagram.com/fairdraw_brand/reels/C4fDrAw7Tst")
            .expect("a reel")
            .url,
        "https://www.instagram.com/reel/C4fDrAw7Tst/"
    );
    for bad in [
        "https://www.instagram.com/fairdraw_brand/",
        "https://www.youtube.com/watch?v=axepn8QqxRk",
        "17895695668004550x",
        "",
    ] {
        let err = Instagram::parse_url(bad).expect_err(bad);
        assert_eq!(err.kind(), "invalid-input", "{bad}");
    }
}

#[test]
fn configuration_is_checked() {
    for (key, value) in [
        ("api", "https://graph.evil.example"),
        ("api_version", "latest"),
        ("ig_user_id", "brand"),
        ("skip_hidden", "maybe"),
    ] {
        let _config = testing::config(&[(key, value)]);
        let err = Instagram::parse_url(MEDIA).expect_err(key);
        assert_eq!(err.kind(), "invalid-input", "{key}");
        assert!(err.message().contains(key), "{err}");
    }
    // Instagram Login: the other host, the same paths.
    let _config = testing::config(&[
        ("api", "https://graph.instagram.com/"),
        ("api_version", "v22.0"),
    ]);
    let http = Recorded::new(DIR)
        .get(
            &comments_url(None).replace(BASE, "https://graph.instagram.com/v22.0"),
            "comments-4.json",
        )
        .install();
    let page = Instagram::fetch_page(&post(), Collection::Comments, None).expect("page");
    assert_eq!(page.entries.len(), 1);
    assert!(http.unused().is_empty());
}

#[test]
fn comments_follow_cursors_through_short_and_empty_pages_until_next_is_absent() {
    let http = recorded_comments().install();
    let (entries, pages, cursors) = walk(&post(), Collection::Comments).expect("comments");
    // A short page (one of its two comments has no author), an empty page
    // that still has `next` (and no cursors), then the last page.
    assert_eq!(pages, [3, 1, 0, 1]);
    assert_eq!(
        http.urls(),
        [
            comments_url(None),
            comments_url(Some("QVFIUlNYNTHAFTER")),
            comments_url(Some("QVFIUlNYNTHAFTER2")),
            comments_url(Some("QVFIUlNYNTHAFTER3")),
        ]
    );
    assert_eq!(
        summary(&entries),
        [
            (
                "17841400000000001",
                "@alice_ig",
                "2024-03-01T18:10:30Z",
                "I love this! @friend1"
            ),
            (
                "17841400000000002",
                "@bob.photos",
                "2024-03-01T19:16:02Z",
                "Count me in"
            ),
            (
                "17841400000000003",
                "@dan_d",
                "2024-03-01T19:20:45Z",
                "🙌 @carol"
            ),
            // Hidden by the owner, still an entry by default; the text as typed.
            (
                "17841400000000004",
                "@erin.e",
                "2024-03-01T19:30:00Z",
                "Pick me \"please\"!\n@bob.photos @dan_d #giveaway"
            ),
            // Plain text: nothing is decoded or stripped.
            (
                "17841400000000005",
                "@frank_99",
                "2024-03-02T08:00:00Z",
                "Last one &amp; <b>not</b> HTML @Frank_99."
            ),
        ]
    );
    assert!(entries.iter().all(|e| e.platform == "instagram"
        && e.display_name.is_empty()
        && e.followers.is_none()
        && e.account_created_at.is_none()));
    // The token the platform echoes into `paging.next` never reaches a cursor.
    assert!(cursors.iter().all(|c| !c.contains("EAAG")), "{cursors:?}");
    let logs = testing::logs();
    assert!(
        logs.iter()
            .any(|(_, m)| m.contains("17870913679157002") && m.contains("no author")),
        "{logs:?}"
    );
}

#[test]
fn hidden_comments_can_be_left_out() {
    let _config = testing::config(&[("skip_hidden", "true")]);
    let _http = recorded_comments().install();
    let (entries, pages, _) = walk(&post(), Collection::Comments).expect("comments");
    assert_eq!(pages, [3, 0, 0, 1]);
    assert!(entries.iter().all(|e| e.handle != "@erin.e"));
}

#[test]
fn replies_come_inline_and_from_the_replies_edge() {
    let http = Recorded::new(DIR)
        .get(&threads_url(), "threads-1.json")
        .get(&replies_url(None), "replies-17870913679156914-1.json")
        .get(
            &replies_url(Some("QVFIUlJFUExZQUZURVI%3D")),
            "replies-17870913679156914-2.json",
        )
        .install();
    let (entries, pages, cursors) = walk(&post(), Collection::Replies).expect("replies");
    // Inline replies of the first comment; the second has more than its
    // inline page, so all of them come from /replies (two pages); then the
    // rest of the comments page.
    assert_eq!(pages, [1, 2, 1, 1]);
    assert_eq!(
        http.urls(),
        [
            threads_url(),
            replies_url(None),
            replies_url(Some("QVFIUlJFUExZQUZURVI%3D")),
            threads_url(),
        ]
    );
    let handles: Vec<_> = entries.iter().map(|e| e.handle.as_str()).collect();
    assert_eq!(
        handles,
        [
            "@brand_account",
            "@carol.c",
            "@dan_d",
            "@erin.e",
            "@alice_ig"
        ]
    );
    assert_eq!(entries[2].text, "me too @carol.c @erin.e");
    assert!(cursors.iter().all(|c| !c.contains("EAAG")), "{cursors:?}");
    // A replies cursor is refused for comments, and the reverse.
    let err = Instagram::fetch_page(&post(), Collection::Comments, Some(&cursors[0]))
        .expect_err("wrong collection");
    assert_eq!(err.kind(), "invalid-input");
}

#[test]
fn a_shortcode_is_looked_up_in_the_accounts_media() {
    let _config = testing::config(&[("ig_user_id", IG_USER)]);
    let http = Recorded::new(DIR)
        .get(&media_url(None), "media-1.json")
        .get(&media_url(Some("QVFIUk1FRElBQUZURVI%3D")), "media-2.json")
        .get(&comments_url(None), "comments-1.json")
        .get(&comments_url(Some("QVFIUlNYNTHAFTER")), "comments-4.json")
        .install();
    let post = Instagram::parse_url(SHORTCODE_URL).expect("post");
    let (entries, pages, cursors) = walk(&post, Collection::Comments).expect("comments");
    assert_eq!(pages, [3, 1]);
    assert_eq!(entries[0].handle, "@alice_ig");
    assert_eq!(
        http.urls(),
        [
            media_url(None),
            media_url(Some("QVFIUk1FRElBQUZURVI%3D")),
            comments_url(None),
            comments_url(Some("QVFIUlNYNTHAFTER")),
        ]
    );
    // Later pages carry the media id: no lookup again.
    assert!(cursors[0].contains(MEDIA), "{cursors:?}");
}

#[test]
fn a_long_lookup_continues_over_calls_and_a_missing_shortcode_is_not_found() {
    let _config = testing::config(&[("ig_user_id", IG_USER)]);
    let page = |n: u32, shortcode: &str, next: bool| {
        let paging = if next {
            format!(
                r#"{{"cursors":{{"after":"M{n}"}},"next":"https://graph.facebook.com/v23.0/{IG_USER}/media?after=M{n}"}}"#
            )
        } else {
            r#"{"cursors":{"after":"MLAST"}}"#.to_owned()
        };
        format!(
            r#"{{"data":[{{"id":"1790000000000{n}","shortcode":"{shortcode}"}}],"paging":{paging}}}"#
        )
    };
    let json = [("Content-Type", "application/json")];
    let mut recorded = Recorded::new(DIR).on_body(
        "GET",
        &media_url(None),
        200,
        &json,
        page(0, "Cxxxxxxxxx0", true),
    );
    for n in 0..3 {
        let last = n == 2;
        recorded = recorded.on_body(
            "GET",
            &media_url(Some(&format!("M{n}"))),
            200,
            &json,
            page(
                n + 1,
                if last { "C4fDrAw7Tst" } else { "Cxxxxxxxxxx" },
                !last,
            ),
        );
    }
    let http = recorded
        .get(&comments_url(None), "comments-4.json")
        .install();
    let post = Instagram::parse_url(SHORTCODE_URL).expect("post");
    let first = Instagram::fetch_page(&post, Collection::Replies, None).expect("first call");
    assert!(first.entries.is_empty());
    assert_eq!(first.next_cursor.as_deref(), Some("m|M2"));
    assert_eq!(http.urls().len(), 3, "three media pages a call");
    let err = Instagram::fetch_page(&post, Collection::Comments, Some("m|M2"))
        .expect_err("the found media 17900000000003 is not recorded for comments");
    assert_eq!(err.kind(), "http", "{err}");
    drop(http);

    let _http = Recorded::new(DIR)
        .get(&media_url(None), "media-1.json")
        .get(&media_url(Some("QVFIUk1FRElBQUZURVI%3D")), "media-2.json")
        .install();
    let other = Instagram::parse_url("https://www.instagram.com/p/C4missing00/").expect("post");
    let err = Instagram::fetch_page(&other, Collection::Comments, None).expect_err("missing");
    assert_eq!(err.kind(), "not-found");
    assert!(err.message().contains(IG_USER), "{err}");
}

#[test]
fn token_errors_stop_with_the_platforms_words() {
    for (file, words) in [
        (
            "error-token-unparsable-400.json",
            "Cannot parse access token",
        ),
        (
            "error-token-expired-400.json",
            "has expired: make a new one",
        ),
        ("error-permission-10.json", "lacks a permission"),
    ] {
        let _http = Recorded::new(DIR)
            .on("GET", &comments_url(None), 400, &[], file)
            .install();
        let err = Instagram::fetch_page(&post(), Collection::Comments, None).expect_err(file);
        assert_eq!(err.kind(), "unauthorized", "{file}: {err}");
        assert!(err.message().contains(words), "{file}: {err}");
        assert!(err.message().starts_with("Instagram: "), "{err}");
    }
    let _http = Recorded::new(DIR)
        .on(
            "GET",
            &comments_url(None),
            400,
            &[],
            "error-token-expired-400.json",
        )
        .install();
    let err = Instagram::fetch_page(&post(), Collection::Comments, None).expect_err("expired");
    assert!(err.message().contains("code 190, subcode 463"), "{err}");
}

#[test]
fn throttling_is_a_rate_limit_with_metas_reset_time() {
    // HTTP 400 with code 80002: a rate limit, not invalid input; the wait
    // is X-Business-Use-Case-Usage's estimated_time_to_regain_access (minutes).
    let usage = r#"{"17841400008460056":[{"type":"instagram","call_count":100,"total_cputime":25,"total_time":25,"estimated_time_to_regain_access":19}]}"#;
    let _http = Recorded::new(DIR)
        .on(
            "GET",
            &comments_url(None),
            400,
            &[("X-Business-Use-Case-Usage", usage)],
            "error-throttled-80002.json",
        )
        .install();
    let err = Instagram::fetch_page(&post(), Collection::Comments, None).expect_err("throttled");
    let PluginError::RateLimited(limit) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(limit.retry_after_seconds, Some(19 * 60));
    assert!(limit.message.contains("code 80002"), "{err}");
    drop(_http);

    // No usage header (or 0 minutes): no wait given, the host backs off.
    for (status, file) in [
        (403, "error-throttled-80002.json"),
        (400, "error-app-limit-4.json"),
    ] {
        let _http = Recorded::new(DIR)
            .on("GET", &comments_url(None), status, &[], file)
            .install();
        let err = Instagram::fetch_page(&post(), Collection::Comments, None).expect_err(file);
        assert_eq!(
            err,
            PluginError::rate_limited(None, err.message()),
            "{file}"
        );
    }
}

#[test]
fn other_errors() {
    let cases = [
        (400, "error-object-not-found-100-33.json", "not-found"),
        (500, "error-transient-500.json", "unavailable"),
    ];
    for (status, file, kind) in cases {
        let _http = Recorded::new(DIR)
            .on("GET", &comments_url(None), status, &[], file)
            .install();
        let err = Instagram::fetch_page(&post(), Collection::Comments, None).expect_err(file);
        assert_eq!(err.kind(), kind, "{file}: {err}");
    }
    // Not JSON at all: the status decides.
    let _http = Recorded::new(DIR)
        .on_body(
            "GET",
            &comments_url(None),
            502,
            &[],
            "<html>Bad Gateway</html>",
        )
        .install();
    let err = Instagram::fetch_page(&post(), Collection::Comments, None).expect_err("502");
    assert_eq!(err.kind(), "unavailable");
}

#[test]
fn hostile_pages_are_refused_not_followed() {
    let json = [("Content-Type", "application/json")];
    for (body, words) in [
        ("not json", "not the JSON expected"),
        (
            r#"{"data":[{"id":"1","text":"x","timestamp":"yesterday","from":{"id":"2","username":"u"}}]}"#,
            "is not a time",
        ),
        (
            r#"{"data":[],"paging":{"next":"https://graph.facebook.com/v23.0/x/comments"}}"#,
            "no after cursor",
        ),
        (r#"{"data":{"id":"1"}}"#, "not the JSON expected"),
    ] {
        let _http = Recorded::new(DIR)
            .on_body("GET", &comments_url(None), 200, &json, body)
            .install();
        let err = Instagram::fetch_page(&post(), Collection::Comments, None).expect_err(body);
        assert_eq!(err.kind(), "bad-response", "{body}");
        assert!(err.message().contains(words), "{body}: {err}");
    }
    // A next page with the cursor just used would loop for ever.
    let same = r#"{"data":[],"paging":{"cursors":{"after":"A"},"next":"https://x/?after=A"}}"#;
    let _http = Recorded::new(DIR)
        .on_body("GET", &comments_url(Some("A")), 200, &json, same)
        .install();
    let err = Instagram::fetch_page(&post(), Collection::Comments, Some(&format!("c|{MEDIA}|A")))
        .expect_err("loop");
    assert_eq!(err.kind(), "bad-response");
}

#[test]
fn lists_instagram_cannot_give_are_refused_before_any_request() {
    let http = Recorded::new(DIR).install();
    for c in [
        Collection::Likes,
        Collection::Reposts,
        Collection::Followers,
    ] {
        let err = Instagram::fetch_page(&post(), c, None).expect_err("unsupported");
        assert_eq!(err.kind(), "invalid-input");
    }
    for bad in ["garbage", "c|notanid|", "t|1||x"] {
        let err = Instagram::fetch_page(&post(), Collection::Comments, Some(bad)).expect_err(bad);
        assert_eq!(err.kind(), "invalid-input", "{bad}");
    }
    let err = Instagram::fetch_page(&post(), Collection::Comments, Some("c|42|"))
        .expect_err("another media's cursor");
    assert_eq!(err.kind(), "invalid-input");
    assert!(http.urls().is_empty());
}

/// The benchmark page: 100 comments (the page size requested), the last
/// page of its list.
#[test]
fn a_full_page_of_one_hundred() {
    let _http = Recorded::new(DIR)
        .get(&comments_url(None), "comments-100.json")
        .install();
    let page = Instagram::fetch_page(&post(), Collection::Comments, None).expect("page");
    assert_eq!(page.entries.len(), 100);
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.entries[0].handle, "@entrant.000");
    assert_eq!(page.entries[0].created_at, "2024-03-01T18:00:00Z");
    assert_eq!(
        page.entries[2].text,
        "\"quoted\" & <not html> 2\nsecond line"
    );
    let ids: std::collections::BTreeSet<_> = page.entries.iter().map(|e| &e.user_id).collect();
    assert_eq!(ids.len(), 100);
}
