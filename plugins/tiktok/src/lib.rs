//! TikTok video comments, from the TikTok Research API v2.
//!
//! - `comments`: `POST /v2/research/video/comment/list/` with the video's
//!   id, 100 comments a call (the API's maximum), following `data.cursor`
//!   while `data.has_more` is true. One request per call.
//!
//! The Research API is the only TikTok API that lists comments, and its
//! comments carry **no author**: no user id, no username, no follower count.
//! So each comment is its own entrant: `user_id` is `comment:<comment id>`
//! and `handle` is `@comment-<comment id>` (a `-` never occurs in a TikTok
//! username, so this handle cannot be anyone's). The draw's winner is a
//! comment, which the organiser finds on the video by its id. `describe`
//! lists the rules this makes impossible: one person may comment many times
//! and get as many entries (`entries_per_user`), the organiser's own comments
//! cannot be told apart (`organizer`), and followers, account age and
//! cross-collection checks need an account.
//!
//! TikTok ids are int64 JSON **numbers** larger than 2^53; they are read as
//! `u64` (never through `f64`), so a 19-digit id round-trips exactly, and a
//! fractional or exponent id is refused rather than rounded.
//!
//! The client access token never reaches the plugin: the host sends it as
//! `Authorization: Bearer …` to `https://open.tiktokapis.com` (manifest
//! credential `access_token`).

use std::borrow::Cow;
use std::fmt;

use fairdraw_plugin_sdk::http::{self, Header, Request, Response};
use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source, log, time};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// The platform name written into every entry.
pub const PLATFORM: &str = "tiktok";

/// The Research API's comment list endpoint.
pub const COMMENT_LIST: &str = "https://open.tiktokapis.com/v2/research/video/comment/list/";

/// The fields requested (`fields` is required): only those the entries use.
pub const FIELDS: &str = "id,video_id,text,create_time";

/// The most comments the API returns per request.
pub const PAGE_SIZE: u32 = 100;

/// The largest `create_time` accepted: 9999-12-31T23:59:59Z, the last
/// instant an RFC 3339 timestamp (four-digit year) can name.
const MAX_TIME: i64 = 253_402_300_799;

/// The TikTok source.
#[derive(Debug)]
pub struct TikTok;

impl Source for TikTok {
    fn describe() -> Info {
        const NO_AUTHOR: &str = "TikTok's Research API gives no author of a comment";
        Info::new(PLATFORM)
            .collections([Collection::Comments])
            .credential("access_token")
            .unsupported(
                "entries_per_user",
                format!(
                    "{NO_AUTHOR}: each comment is its own entrant (user_id comment:<id>), so one \
                     account commenting several times gets several entries"
                ),
            )
            .unsupported(
                "organizer",
                format!("{NO_AUTHOR}: the organiser's own comments cannot be recognised"),
            )
            .unsupported(
                "exclude_users",
                format!(
                    "{NO_AUTHOR}: accounts cannot be excluded, only single comments (by \
                     comment:<id> or @comment-<id>)"
                ),
            )
            .unsupported(
                "min_followers",
                format!("{NO_AUTHOR}, so no follower count"),
            )
            .unsupported(
                "min_account_age_days",
                format!("{NO_AUTHOR}, so no account creation date"),
            )
            .unsupported(
                "require_in",
                format!(
                    "{NO_AUTHOR}, and no list of who liked, shared or follows: an entry cannot be \
                     matched with any other collection"
                ),
            )
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        let (user, id) = video_ref(url).ok_or_else(|| {
            PluginError::InvalidInput(format!(
                "{url:?} is not a TikTok video URL (https://www.tiktok.com/@user/video/ID) or a \
                 numeric video id; open a short vm.tiktok.com link in a browser and use the URL it \
                 leads to"
            ))
        })?;
        Ok(Post {
            id: id.to_string(),
            url: format!("https://www.tiktok.com/@{user}/video/{id}"),
        })
    }

    fn fetch_page(
        post: &Post,
        collection: Collection,
        cursor: Option<&str>,
    ) -> Result<Page, PluginError> {
        let video = parse_id(&post.id).ok_or_else(|| {
            PluginError::InvalidInput(format!("{:?} is not a TikTok video id", post.id))
        })?;
        if collection != Collection::Comments {
            return Err(PluginError::InvalidInput(format!(
                "TikTok's Research API lists comments only, not {collection}"
            )));
        }
        let start = match cursor {
            None => 0,
            Some(c) => c.parse::<u64>().map_err(|_| {
                PluginError::InvalidInput(format!("{c:?} is not a cursor of TikTok comments"))
            })?,
        };
        comments(video, start)
    }
}

fairdraw_plugin_sdk::export_source!(TikTok);

// ----- post URLs -----

/// A video id: 1 to 19 digits, at most `i64::MAX` (TikTok ids are int64).
fn parse_id(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>()
        .ok()
        .filter(|&id| id > 0 && i64::try_from(id).is_ok())
}

/// A TikTok username: 1 to 24 letters, digits, `_` and `.`.
fn is_username(s: &str) -> bool {
    (1..=24).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// The username (empty when unknown) and video id of a TikTok video URL
/// or a bare id.
fn video_ref(url: &str) -> Option<(&str, u64)> {
    let url = url.trim();
    if let Some(id) = parse_id(url) {
        return Some(("", id));
    }
    let origin = http::parse_origin(url)?;
    if origin.scheme != "https" || origin.port.is_some_and(|p| p != 443) {
        return None;
    }
    if !matches!(
        origin.host.as_str(),
        "www.tiktok.com" | "tiktok.com" | "m.tiktok.com"
    ) {
        return None;
    }
    let path = origin.rest.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        // /@user/video/ID, /@user/photo/ID (photo posts have comments too)
        [user, "video" | "photo", id] => {
            let user = user.strip_prefix('@')?;
            if !user.is_empty() && !is_username(user) {
                return None;
            }
            Some((user, parse_id(id)?))
        }
        // /embed/ID, /embed/v2/ID, /v/ID.html
        ["embed", id] | ["embed", "v2", id] => Some(("", parse_id(id)?)),
        ["v", id] => Some(("", parse_id(id.strip_suffix(".html").unwrap_or(id))?)),
        _ => None,
    }
}

// ----- API shapes (only the fields used) -----

/// An int64 id as TikTok sends it: a JSON integer, read exactly. A decimal
/// string is accepted too; a float (`7.2e18`, `1.0`) is refused, since it
/// may already have been rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Id(u64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer id")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                u64::try_from(v)
                    .map(Id)
                    .map_err(|_| E::custom(format!("negative id {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Id, E> {
                Err(E::custom(format!(
                    "id {v} is not an exact integer (beyond 64 bits, or written with a fraction \
                     or exponent)"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                if !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()) {
                    v.parse().map(Id).map_err(E::custom)
                } else {
                    Err(E::custom(format!("id {v:?} is not a decimal integer")))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The v2 envelope: `data` on success, `error` always (`code` `ok` on
/// success).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: Option<Data<'a>>,
    #[serde(borrow)]
    error: Option<ApiError<'a>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow, default)]
    comments: Vec<Comment<'a>>,
    #[serde(default)]
    has_more: bool,
    cursor: Option<Id>,
}

#[derive(Deserialize)]
struct Comment<'a> {
    id: Option<Id>,
    video_id: Option<Id>,
    #[serde(borrow, default, deserialize_with = "text")]
    text: Cow<'a, str>,
    create_time: Option<i64>,
}

/// A comment's text, borrowed from the body when it has no escapes; `null`
/// (a text TikTok withholds) is empty.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(""))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(""))
        }
    }
    d.deserialize_any(V)
}

/// `{"code": "...", "message": "...", "log_id": "..."}`.
#[derive(Deserialize)]
struct ApiError<'a> {
    #[serde(borrow, default)]
    code: Cow<'a, str>,
    #[serde(borrow, default)]
    message: Cow<'a, str>,
    #[serde(borrow, default)]
    log_id: Cow<'a, str>,
}

// ----- the comment list -----

/// The request body: ids as JSON numbers, as the API requires.
fn request_body(video: u64, cursor: u64) -> Vec<u8> {
    format!("{{\"video_id\":{video},\"max_count\":{PAGE_SIZE},\"cursor\":{cursor}}}").into_bytes()
}

fn comments(video: u64, cursor: u64) -> Result<Page, PluginError> {
    let request = Request {
        method: "POST".into(),
        url: http::url_with_query(COMMENT_LIST, &[("fields", FIELDS)]),
        headers: vec![
            Header::new("Content-Type", "application/json"),
            Header::new("Accept", "application/json"),
        ],
        body: Some(request_body(video, cursor)),
    };
    let response = http::send(&request)?;
    parse_page(&response, video, cursor)
}

/// The page in a response to the request for `video` at `cursor`.
///
/// Fails with the error the body's `error.code` (or else the status) names,
/// and with [`PluginError::BadResponse`] for a body that is not the
/// documented shape, a comment of another video, or `has_more` with a
/// cursor that does not move forward (which would never end).
fn parse_page(response: &Response, video: u64, cursor: u64) -> Result<Page, PluginError> {
    let envelope: Envelope<'_> = match serde_json::from_slice(&response.body) {
        Ok(e) => e,
        Err(e) if response.is_success() => {
            return Err(PluginError::BadResponse(format!(
                "the TikTok comment list is not the JSON expected: {e}"
            )));
        }
        // An error in another shape (the OAuth one, a proxy's HTML page).
        Err(_) => return Err(http::status_error(response)),
    };
    if let Some(error) = &envelope.error
        && error.code != "ok"
    {
        return Err(api_error(response, error));
    }
    if !response.is_success() {
        return Err(http::status_error(response));
    }
    let data = envelope
        .data
        .ok_or_else(|| PluginError::BadResponse("the TikTok comment list has no `data`".into()))?;

    let mut entries = Vec::with_capacity(data.comments.len());
    let mut skipped = 0usize;
    for comment in data.comments {
        if let Some(Id(other)) = comment.video_id
            && other != video
        {
            return Err(PluginError::BadResponse(format!(
                "TikTok answered with a comment of video {other} for video {video}"
            )));
        }
        match entry(comment) {
            Some(e) => entries.push(e),
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        log::warn(format!(
            "skipped {skipped} comments of video {video} at cursor {cursor}: no id or no valid \
             create_time (deleted)"
        ));
    }

    let next = if data.has_more {
        match data.cursor {
            Some(Id(next)) if next > cursor => Some(next.to_string()),
            Some(Id(next)) => {
                return Err(PluginError::BadResponse(format!(
                    "TikTok says more comments follow, but its cursor {next} does not move past \
                     {cursor}"
                )));
            }
            None => {
                return Err(PluginError::BadResponse(
                    "TikTok says more comments follow, but gives no cursor".into(),
                ));
            }
        }
    } else {
        None
    };
    Ok(Page::new(entries, next))
}

/// The entry of a comment: the comment is the entrant (see the crate doc).
/// `None` for a comment without an id or a usable `create_time`.
fn entry(comment: Comment<'_>) -> Option<Entry> {
    let Id(id) = comment.id?;
    let at = comment.create_time.filter(|t| (0..=MAX_TIME).contains(t))?;
    Some(Entry {
        platform: PLATFORM.into(),
        user_id: format!("comment:{id}"),
        handle: format!("@comment-{id}"),
        display_name: String::new(),
        // Plain text as typed, mentions included as `@username`.
        text: comment.text.into_owned(),
        created_at: time::format_rfc3339(at),
        followers: None,
        account_created_at: None,
    })
}

// ----- errors -----

/// The error for a TikTok error object (tiktok-api-v2-error-handling): the
/// code decides, then the status.
fn api_error(response: &Response, error: &ApiError<'_>) -> PluginError {
    let mut message = format!("TikTok: {} ({}", error.message.trim(), error.code);
    if !error.log_id.is_empty() {
        message.push_str(", log_id ");
        message.push_str(&error.log_id);
    }
    message.push(')');
    match error.code.as_ref() {
        "access_token_invalid" => PluginError::Unauthorized(format!(
            "{message}; a client access token is valid for 2 hours: get a new one with \
             POST /v2/oauth/token/ (grant_type=client_credentials)"
        )),
        "scope_not_authorized" | "scope_permission_missed" => PluginError::Unauthorized(format!(
            "{message}; the token needs the research.data.basic scope (Research API access)"
        )),
        // No reset header: the host backs off. The daily quota resets at
        // 00:00 UTC, the per-minute window sooner.
        "rate_limit_exceeded" => PluginError::rate_limited(
            response.retry_after_seconds(),
            format!("{message}; the Research API's daily quota resets at 00:00 UTC"),
        ),
        "invalid_params" => PluginError::InvalidInput(message),
        "internal_error" => PluginError::Unavailable(message),
        _ => match response.status {
            401 | 403 => PluginError::Unauthorized(message),
            429 => PluginError::rate_limited(response.retry_after_seconds(), message),
            404 | 410 => PluginError::NotFound(message),
            400 | 422 => PluginError::InvalidInput(message),
            408 | 500..=599 => PluginError::Unavailable(message),
            _ => PluginError::BadResponse(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_urls() {
        for (url, user) in [
            (
                "https://www.tiktok.com/@scout2015/video/6718335390845095173",
                "scout2015",
            ),
            (
                "https://tiktok.com/@scout2015/video/6718335390845095173?is_from_webapp=1&lang=en",
                "scout2015",
            ),
            (
                "https://m.tiktok.com/@scout2015/video/6718335390845095173/#c",
                "scout2015",
            ),
            (
                "https://www.tiktok.com/@a.b_c/photo/6718335390845095173",
                "a.b_c",
            ),
            ("https://www.tiktok.com/@/video/6718335390845095173", ""),
            ("https://www.tiktok.com/embed/v2/6718335390845095173", ""),
            ("https://www.tiktok.com/embed/6718335390845095173", ""),
            ("https://m.tiktok.com/v/6718335390845095173.html", ""),
            (" 6718335390845095173 ", ""),
        ] {
            assert_eq!(
                video_ref(url),
                Some((user, 6_718_335_390_845_095_173)),
                "{url}"
            );
        }
        for url in [
            "https://vm.tiktok.com/ZMeAbCdEf/",
            "https://www.tiktok.com/@scout2015",
            "https://www.tiktok.com/@bad-name/video/6718335390845095173",
            "https://www.tiktok.com/@scout2015/video/abc",
            "https://www.tiktok.com/@scout2015/video/99999999999999999999",
            "https://www.tiktok.com/@scout2015/video/9223372036854775808",
            "http://www.tiktok.com/@scout2015/video/6718335390845095173",
            "https://evil.example/@scout2015/video/6718335390845095173",
            "https://user@www.tiktok.com/@scout2015/video/6718335390845095173",
            "0",
            "-5",
            "",
        ] {
            assert_eq!(video_ref(url), None, "{url}");
        }
        assert_eq!(parse_id("9223372036854775807"), Some(i64::MAX as u64));
    }

    #[test]
    fn ids_are_exact_integers() {
        let id = |json: &str| serde_json::from_str::<Id>(json).map(|Id(v)| v);
        assert_eq!(
            id("7234567890123456701").ok(),
            Some(7_234_567_890_123_456_701)
        );
        assert_eq!(
            id("\"7234567890123456701\"").ok(),
            Some(7_234_567_890_123_456_701)
        );
        assert_eq!(id("18446744073709551615").ok(), Some(u64::MAX));
        for bad in [
            "7.234567890123457e18",
            "1.0",
            "18446744073709551616",
            "-1",
            "\"12a\"",
            "null",
            "\"\"",
        ] {
            assert!(id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_bodies_carry_numbers() {
        assert_eq!(
            String::from_utf8(request_body(7_230_000_000_000_000_001, 300))
                .ok()
                .as_deref(),
            Some(r#"{"video_id":7230000000000000001,"max_count":100,"cursor":300}"#)
        );
    }
}
