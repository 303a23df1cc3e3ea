//! YouTube Data API v3: `commentThreads.list` and `comments.list`, per
//! `shared/platforms/youtube.md`.
//!
//! The video [`Config::video_id`] has [`Config::comments`] top-level
//! comments, generated deterministically (see [`Config::threads`]), listed
//! newest first with `nextPageToken` pagination. Thread `k` has
//! `k % (max_replies + 1)` replies; `commentThreads` inlines at most
//! [`Config::inline_replies`] of them, as the real API does, so a client
//! that wants them all must page `comments.list?parentId=`.
//!
//! Credentials: an API key in `key=` or `x-goog-api-key`, or an OAuth
//! bearer token. A wrong key gets the real 400 `API_KEY_INVALID` body, a
//! wrong token the 401 `UNAUTHENTICATED` one, no credential at all 403.
//! `quota_exceeded` answers the real 403 `quotaExceeded` (no Retry-After,
//! as YouTube sends none); [`Faults`] inject short-term rate limiting
//! (403 or 429 `rateLimitExceeded`) and 503 `backendError`.

use std::sync::Arc;

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::{Fault, Faults, MockHandle, RequestNo, Shared, bearer_token, decode_query};

/// The origin plugins call in production; map it to [`MockHandle::origin`].
pub const PRODUCTION_ORIGIN: &str = "https://www.googleapis.com";
/// The default video id (11 characters, like a real one).
pub const VIDEO_ID: &str = "fDraw7Test0";
/// The default channel that owns the video.
pub const CHANNEL_ID: &str = "UCfairdrawTestChannel0001";
/// The default valid API key.
pub const API_KEY: &str = "AIzaSyFairdrawMockKey-0123456789abcdef";
/// The default valid OAuth access token.
pub const OAUTH_TOKEN: &str = "ya29.fairdraw-mock-oauth-token";

/// Unix time of the newest generated comment: 2022-03-01T18:00:00Z.
const NEWEST_UNIX: i64 = 1_646_157_600;

/// What the mock serves and how it misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The one video that exists; any other `videoId` is 404 `videoNotFound`.
    pub video_id: String,
    /// The channel that owns the video.
    pub channel_id: String,
    /// Number of top-level comments (comment threads).
    pub comments: usize,
    /// Number of distinct authors the comments cycle through; 0 gives every
    /// top-level comment its own author.
    pub authors: usize,
    /// Thread `k` has `k % (max_replies + 1)` replies.
    pub max_replies: usize,
    /// At most this many replies are inlined in `commentThreads` (YouTube: 5).
    pub inline_replies: usize,
    /// The valid API key.
    pub api_key: String,
    /// The valid OAuth token, if OAuth is accepted.
    pub oauth_token: Option<String>,
    /// Answer every data request with 403 `quotaExceeded`.
    pub quota_exceeded: bool,
    /// Answer `commentThreads` for the video with 403 `commentsDisabled`.
    pub comments_disabled: bool,
    /// Status of the injected short-term rate limit: 403 (usual) or 429.
    pub rate_limit_status: u16,
    /// Injected rate limits and 5xx answers.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            video_id: VIDEO_ID.to_owned(),
            channel_id: CHANNEL_ID.to_owned(),
            comments: 250,
            authors: 0,
            max_replies: 7,
            inline_replies: 5,
            api_key: API_KEY.to_owned(),
            oauth_token: Some(OAUTH_TOKEN.to_owned()),
            quota_exceeded: false,
            comments_disabled: false,
            rate_limit_status: 403,
            faults: Faults::default(),
        }
    }
}

/// One generated comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Comment id; a reply's is `<parentId>.<suffix>`.
    pub id: String,
    /// The author's channel id (`UC` + 22 characters): the entrant identity.
    pub author_channel_id: String,
    /// The author's handle, e.g. `@entrant-0007`.
    pub author_display_name: String,
    /// The raw text (`textOriginal`).
    pub text: String,
    /// RFC 3339, seconds precision, `Z`.
    pub published_at: String,
    /// Likes on the comment.
    pub like_count: u64,
    /// The top-level comment a reply answers.
    pub parent_id: Option<String>,
}

/// A top-level comment and all its replies (oldest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    /// The top-level comment; its id is also the thread id.
    pub top: Comment,
    /// Every reply.
    pub replies: Vec<Comment>,
}

impl Config {
    /// Every comment thread of the video, in the order the API lists them
    /// (newest first). The same config always gives the same threads.
    pub fn threads(&self) -> Vec<Thread> {
        (0..self.comments).map(|k| self.thread(k)).collect()
    }

    fn thread(&self, k: usize) -> Thread {
        let author = if self.authors == 0 {
            k
        } else {
            k % self.authors
        };
        let published = NEWEST_UNIX - 97 * k as i64;
        let id = format!(
            "Ugx{}4AaABAg",
            id_chars(mix(k as u64 ^ 0x7468_7265_6164), 19)
        );
        let top = Comment {
            id: id.clone(),
            author_channel_id: channel_id(author),
            author_display_name: handle(author),
            text: comment_text(k),
            published_at: rfc3339(published),
            like_count: mix(k as u64) % 50,
            parent_id: None,
        };
        let count = k % (self.max_replies + 1);
        let replies = (0..count)
            .map(|j| {
                let author = (author + j + 1) % self.authors.max(self.comments).max(1);
                Comment {
                    id: format!("{id}.{}", id_chars(mix((k as u64) << 8 | j as u64), 22)),
                    author_channel_id: channel_id(author),
                    author_display_name: handle(author),
                    text: format!("reply {j} to comment {k}: good luck!"),
                    published_at: rfc3339(published + 61 * (j as i64 + 1)),
                    like_count: mix(j as u64) % 5,
                    parent_id: Some(id.clone()),
                }
            })
            .collect();
        Thread { top, replies }
    }
}

/// The SplitMix64 finaliser: a fixed, well-spread hash of an index.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `n` characters of YouTube's id alphabet derived from `seed`.
fn id_chars(seed: u64, n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = seed;
    (0..n)
        .map(|i| {
            if i % 10 == 0 {
                s = mix(s ^ i as u64);
            }
            let c = ALPHABET[(s & 63) as usize];
            s >>= 6;
            char::from(c)
        })
        .collect()
}

fn channel_id(author: usize) -> String {
    format!("UC{}", id_chars(mix(author as u64 ^ 0x6175_7468), 22))
}

fn handle(author: usize) -> String {
    format!("@entrant-{author:04}")
}

/// Varied texts: HTML-special characters, a link, an emoji.
fn comment_text(k: usize) -> String {
    match k % 5 {
        0 => format!("Count me in! 🎉 #{k}"),
        1 => format!("I'd love to win this ({k})"),
        2 => format!("<b>not bold</b> & \"quoted\" {k}"),
        3 => format!("see https://example.com/giveaway?id={k} for rules"),
        _ => format!("comment number {k}"),
    }
}

fn rfc3339(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `textDisplay` with `textFormat=html` (the default): HTML-escaped, links
/// wrapped in `<a>`, as YouTube renders it.
fn html_display(text: &str) -> String {
    let mut out = String::new();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let escaped = word
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        if word.starts_with("https://") {
            out.push_str(&format!("<a href=\"{escaped}\">{escaped}</a>"));
        } else {
            out.push_str(&escaped);
        }
    }
    out
}

/// Starts the mock on the current Tokio runtime.
pub async fn start(config: Config) -> MockHandle<Config> {
    super::serve(config, app).await
}

/// Starts the mock on a background thread, for synchronous tests.
pub fn start_blocking(config: Config) -> MockHandle<Config> {
    super::start_blocking(move || start(config))
}

fn app(shared: Arc<Shared<Config>>) -> Router {
    Router::new()
        .route("/youtube/v3/commentThreads", get(comment_threads))
        .route("/youtube/v3/comments", get(comments))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found(req: Request) -> Response {
    let body = format!(
        "<!DOCTYPE html><title>Error 404 (Not Found)!!1</title><p>The requested URL <code>{}</code> was not found on this server.",
        req.uri().path()
    );
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        body,
    )
        .into_response()
}

/// A Google JSON error envelope.
fn google_error(code: u16, status: Option<&str>, message: &str, error: Value) -> Response {
    let mut e = error;
    e["message"] = json!(message);
    let mut body = json!({ "error": { "code": code, "message": message, "errors": [e] } });
    if let Some(s) = status {
        body["error"]["status"] = json!(s);
    }
    json_response(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    r
}

/// The real body for an invalid API key (captured live; see the examples file).
fn invalid_key() -> Response {
    let msg = "API key not valid. Please pass a valid API key.";
    json_response(
        StatusCode::BAD_REQUEST,
        json!({ "error": {
            "code": 400, "message": msg,
            "errors": [{ "message": msg, "domain": "global", "reason": "badRequest" }],
            "status": "INVALID_ARGUMENT",
            "details": [
                { "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com", "metadata": { "service": "youtube.googleapis.com" } },
                { "@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": msg }
            ]
        }}),
    )
}

fn invalid_token() -> Response {
    // Here the envelope's `errors[].message` differs from the top-level one.
    let msg = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
    let mut r = json_response(
        StatusCode::UNAUTHORIZED,
        json!({ "error": {
            "code": 401, "message": msg,
            "errors": [{ "message": "Invalid Credentials", "domain": "global", "reason": "authError", "location": "Authorization", "locationType": "header" }],
            "status": "UNAUTHENTICATED"
        }}),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
        ),
    );
    r
}

/// Checks credentials, then the injected faults and quota. `None`: go on.
fn gate(
    config: &Config,
    headers: &HeaderMap,
    query: &[(String, String)],
    n: u64,
) -> Option<Response> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let key = param("key").or_else(|| headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()));
    if let Some(token) = bearer {
        if config.oauth_token.as_deref() != Some(token) {
            return Some(invalid_token());
        }
    } else if let Some(key) = key {
        if key != config.api_key {
            return Some(invalid_key());
        }
    } else {
        return Some(google_error(
            403,
            Some("PERMISSION_DENIED"),
            "The request is missing a valid API key.",
            json!({ "domain": "global", "reason": "forbidden" }),
        ));
    }
    match config.faults.for_request(n) {
        Some(Fault::RateLimited) => {
            let code = config.rate_limit_status;
            let status = (code == 429).then_some("RESOURCE_EXHAUSTED");
            return Some(google_error(
                code,
                status,
                "Rate Limit Exceeded",
                json!({ "domain": "usageLimits", "reason": "rateLimitExceeded" }),
            ));
        }
        Some(Fault::ServerError) => {
            return Some(google_error(
                503,
                Some("UNAVAILABLE"),
                "The service is currently unavailable.",
                json!({ "domain": "global", "reason": "backendError" }),
            ));
        }
        None => {}
    }
    if config.quota_exceeded {
        let msg = "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.";
        return Some(google_error(
            403,
            None,
            msg,
            json!({ "domain": "youtube.quota", "reason": "quotaExceeded" }),
        ));
    }
    None
}

fn missing_part() -> Response {
    google_error(
        400,
        Some("INVALID_ARGUMENT"),
        "'part' is required",
        json!({ "domain": "global", "reason": "required", "location": "part", "locationType": "parameter" }),
    )
}

/// `maxResults`: 1–100, default 20.
fn max_results(param: Option<&str>) -> Result<usize, Response> {
    let Some(v) = param else { return Ok(20) };
    match v.parse::<usize>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(google_error(
            400,
            Some("INVALID_ARGUMENT"),
            &format!("Invalid value '{v}'. Values must be within the range: [1, 100]"),
            json!({ "domain": "global", "reason": "invalidParameter", "location": "maxResults", "locationType": "parameter" }),
        )),
    }
}

/// Page tokens: base64 of a prefix (as real tokens start) and an inner
/// base64url `scope|offset`, so a token only works for the list it came from.
fn encode_token(prefix: &str, scope: &str, offset: usize) -> String {
    STANDARD_NO_PAD.encode(format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(format!("{scope}|{offset}"))
    ))
}

fn decode_token(token: &str, scope: &str) -> Option<usize> {
    let outer =
        String::from_utf8(STANDARD_NO_PAD.decode(token.trim_end_matches('=')).ok()?).ok()?;
    let inner = outer.rsplit("--").next()?;
    let inner = String::from_utf8(URL_SAFE_NO_PAD.decode(inner).ok()?).ok()?;
    let (s, offset) = inner.rsplit_once('|')?;
    (s == scope).then(|| offset.parse().ok()).flatten()
}

fn invalid_page_token() -> Response {
    google_error(
        400,
        Some("INVALID_ARGUMENT"),
        "The request specifies an invalid page token.",
        json!({ "domain": "youtube.parameter", "reason": "invalidPageToken", "location": "pageToken", "locationType": "parameter" }),
    )
}

fn etag(seed: &str) -> String {
    let h = seed
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| mix(h ^ u64::from(b)));
    id_chars(h, 27)
}

fn comment_json(c: &Comment, config: &Config, html: bool) -> Value {
    let mut snippet = json!({
        "channelId": config.channel_id,
        "videoId": config.video_id,
        "textDisplay": if html { html_display(&c.text) } else { c.text.clone() },
        "textOriginal": c.text,
        "authorDisplayName": c.author_display_name,
        "authorProfileImageUrl": format!("https://yt3.ggpht.com/ytc/{}=s48-c-k-c0x00ffffff-no-rj", &c.author_channel_id[2..]),
        "authorChannelUrl": format!("http://www.youtube.com/{}", c.author_display_name),
        "authorChannelId": { "value": c.author_channel_id },
        "canRate": true,
        "viewerRating": "none",
        "likeCount": c.like_count,
        "publishedAt": c.published_at,
        "updatedAt": c.published_at,
    });
    if let Some(p) = &c.parent_id {
        snippet["parentId"] = json!(p);
    }
    json!({ "kind": "youtube#comment", "etag": etag(&c.id), "id": c.id, "snippet": snippet })
}

fn wants(part: &str, name: &str) -> bool {
    part.split(',').any(|p| p.trim() == name)
}

async fn comment_threads(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let config = shared.config();
    let query = raw.as_deref().map(decode_query).unwrap_or_default();
    if let Some(r) = gate(&config, &headers, &query, n) {
        return r;
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(part) = param("part") else {
        return missing_part();
    };
    let Some(video_id) = param("videoId") else {
        return google_error(
            400,
            Some("INVALID_ARGUMENT"),
            "No filter selected. Expected one of: allThreadsRelatedToChannelId, videoId, id, channelId",
            json!({ "domain": "youtube.parameter", "reason": "missingRequiredParameter", "location": "parameters.", "locationType": "other" }),
        );
    };
    if video_id != config.video_id {
        return google_error(
            404,
            Some("NOT_FOUND"),
            "The video identified by the <code><a href=\"/youtube/v3/docs/commentThreads/list#videoId\">videoId</a></code> parameter could not be found.",
            json!({ "domain": "youtube.commentThread", "reason": "videoNotFound", "location": "videoId", "locationType": "parameter" }),
        );
    }
    if config.comments_disabled {
        return google_error(
            403,
            Some("PERMISSION_DENIED"),
            "The video identified by the <code><a href=\"/youtube/v3/docs/commentThreads/list#videoId\">videoId</a></code> parameter has disabled comments.",
            json!({ "domain": "youtube.commentThread", "reason": "commentsDisabled", "location": "videoId", "locationType": "parameter" }),
        );
    }
    let max = match max_results(param("maxResults")) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let prefix = if param("order") == Some("time") {
        "get_newest_first--"
    } else {
        "get_ranked_streams--"
    };
    let offset = match param("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match decode_token(t, video_id) {
            Some(o) if o <= config.comments => o,
            _ => return invalid_page_token(),
        },
    };
    let html = param("textFormat") != Some("plainText");
    let end = (offset + max).min(config.comments);
    let items: Vec<Value> = (offset..end)
        .map(|k| {
            let t = config.thread(k);
            let mut item = json!({ "kind": "youtube#commentThread", "etag": etag(&format!("t{}", t.top.id)), "id": t.top.id });
            if wants(part, "snippet") {
                item["snippet"] = json!({
                    "channelId": config.channel_id,
                    "videoId": config.video_id,
                    "topLevelComment": comment_json(&t.top, &config, html),
                    "canReply": true,
                    "totalReplyCount": t.replies.len(),
                    "isPublic": true,
                });
            }
            if wants(part, "replies") && !t.replies.is_empty() {
                let inline: Vec<Value> =
                    t.replies.iter().take(config.inline_replies).map(|c| comment_json(c, &config, html)).collect();
                item["replies"] = json!({ "comments": inline });
            }
            item
        })
        .collect();
    let mut body = json!({
        "kind": "youtube#commentThreadListResponse",
        "etag": etag(&format!("{video_id}{offset}{max}")),
    });
    if end < config.comments {
        body["nextPageToken"] = json!(encode_token(prefix, video_id, end));
    }
    body["pageInfo"] = json!({ "totalResults": items.len(), "resultsPerPage": max });
    body["items"] = json!(items);
    json_response(StatusCode::OK, body)
}

async fn comments(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let config = shared.config();
    let query = raw.as_deref().map(decode_query).unwrap_or_default();
    if let Some(r) = gate(&config, &headers, &query, n) {
        return r;
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("part").is_none() {
        return missing_part();
    }
    let Some(parent) = param("parentId") else {
        return google_error(
            400,
            Some("INVALID_ARGUMENT"),
            "No filter selected. Expected one of: parentId, id",
            json!({ "domain": "youtube.parameter", "reason": "missingRequiredParameter", "location": "parameters.", "locationType": "other" }),
        );
    };
    let Some(thread) = (0..config.comments)
        .map(|k| config.thread(k))
        .find(|t| t.top.id == parent)
    else {
        return google_error(
            404,
            Some("NOT_FOUND"),
            "The comment identified by the <code>parentId</code> parameter could not be found.",
            json!({ "domain": "youtube.comment", "reason": "commentNotFound", "location": "parentId", "locationType": "parameter" }),
        );
    };
    let max = match max_results(param("maxResults")) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let total = thread.replies.len();
    let offset = match param("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match decode_token(t, parent) {
            Some(o) if o <= total => o,
            _ => return invalid_page_token(),
        },
    };
    let html = param("textFormat") != Some("plainText");
    let end = (offset + max).min(total);
    let items: Vec<Value> = thread.replies[offset..end]
        .iter()
        .map(|c| comment_json(c, &config, html))
        .collect();
    let mut body = json!({ "kind": "youtube#commentListResponse", "etag": etag(&format!("{parent}{offset}{max}")) });
    if end < total {
        body["nextPageToken"] = json!(encode_token("get_replies--", parent, end));
    }
    body["pageInfo"] = json!({ "totalResults": items.len(), "resultsPerPage": max });
    body["items"] = json!(items);
    json_response(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::http;

    fn threads_url(origin: &str, extra: &str) -> String {
        format!(
            "{origin}/youtube/v3/commentThreads?part=snippet,replies&videoId={VIDEO_ID}&maxResults=100&order=time&key={API_KEY}{extra}"
        )
    }

    #[test]
    fn pages_through_all_threads_with_next_page_token() {
        let yt = start_blocking(Config {
            comments: 230,
            ..Config::default()
        });
        let expected = yt.config().threads();
        let mut ids = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let extra = if token.is_empty() {
                String::new()
            } else {
                format!("&pageToken={}", super::super::percent_encode(&token))
            };
            let r = http::get(&threads_url(&yt.origin, &extra), &[]).expect("request");
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(
                r.header("content-type"),
                Some("application/json; charset=UTF-8")
            );
            let body = r.json().expect("json");
            assert_eq!(body["kind"], "youtube#commentThreadListResponse");
            let items = body["items"].as_array().expect("items");
            assert_eq!(body["pageInfo"]["totalResults"], items.len());
            assert_eq!(body["pageInfo"]["resultsPerPage"], 100);
            for item in items {
                assert_eq!(item["kind"], "youtube#commentThread");
                let top = &item["snippet"]["topLevelComment"];
                assert_eq!(top["kind"], "youtube#comment");
                assert_eq!(item["id"], top["id"]);
                ids.push(top["id"].as_str().expect("id").to_owned());
            }
            pages += 1;
            match body.get("nextPageToken") {
                Some(t) => {
                    let t = t.as_str().expect("token");
                    assert!(t.starts_with("Z2V0X25ld2VzdF9maXJzdC0t"), "{t}");
                    token = t.to_owned();
                }
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(
            ids,
            expected
                .iter()
                .map(|t| t.top.id.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(yt.request_count(), 3);
        assert_eq!(
            yt.credentials_seen().into_iter().collect::<Vec<_>>(),
            [API_KEY]
        );
    }

    #[test]
    fn comment_shape_matches_the_real_api() {
        let yt = start_blocking(Config {
            comments: 10,
            ..Config::default()
        });
        let r = http::get(&threads_url(&yt.origin, "&maxResults=5"), &[]).expect("request");
        let body = r.json().expect("json");
        // Fields of the real sample, no more, no fewer.
        let thread = &body["items"][3];
        let mut keys: Vec<_> = thread["snippet"]
            .as_object()
            .expect("snippet")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "canReply",
                "channelId",
                "isPublic",
                "topLevelComment",
                "totalReplyCount",
                "videoId"
            ]
        );
        let c = &thread["snippet"]["topLevelComment"]["snippet"];
        let mut keys: Vec<_> = c
            .as_object()
            .expect("comment snippet")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "authorChannelId",
                "authorChannelUrl",
                "authorDisplayName",
                "authorProfileImageUrl",
                "canRate",
                "channelId",
                "likeCount",
                "publishedAt",
                "textDisplay",
                "textOriginal",
                "updatedAt",
                "videoId",
                "viewerRating"
            ]
        );
        assert!(
            c["authorChannelId"]["value"]
                .as_str()
                .expect("channel")
                .starts_with("UC")
        );
        assert_eq!(c["publishedAt"], "2022-03-01T17:55:09Z");
        // Thread 3 has 3 replies, all inlined; thread 0 has none and no `replies` key.
        assert_eq!(thread["snippet"]["totalReplyCount"], 3);
        assert_eq!(
            thread["replies"]["comments"].as_array().map(Vec::len),
            Some(3)
        );
        assert_eq!(
            thread["replies"]["comments"][0]["snippet"]["parentId"],
            thread["id"]
        );
        assert!(body["items"][0].get("replies").is_none());
        // HTML by default; raw text stays in textOriginal.
        let t2 = &body["items"][2]["snippet"]["topLevelComment"]["snippet"];
        assert_eq!(t2["textOriginal"], "<b>not bold</b> & \"quoted\" 2");
        assert_eq!(
            t2["textDisplay"],
            "&lt;b&gt;not bold&lt;/b&gt; &amp; &quot;quoted&quot; 2"
        );
        let plain = http::get(&threads_url(&yt.origin, "&textFormat=plainText"), &[])
            .expect("request")
            .json()
            .expect("json");
        assert_eq!(
            plain["items"][2]["snippet"]["topLevelComment"]["snippet"]["textDisplay"],
            "<b>not bold</b> & \"quoted\" 2"
        );
        // Fewer than a page: no nextPageToken at all.
        assert!(plain.get("nextPageToken").is_none());
    }

    #[test]
    fn replies_beyond_the_inline_five_come_from_comments_list() {
        let yt = start_blocking(Config {
            comments: 8,
            ..Config::default()
        });
        let thread = &yt.config().threads()[7];
        assert_eq!(thread.replies.len(), 7);
        let r = http::get(&threads_url(&yt.origin, ""), &[])
            .expect("request")
            .json()
            .expect("json");
        assert_eq!(
            r["items"][7]["replies"]["comments"]
                .as_array()
                .map(Vec::len),
            Some(5)
        );
        assert_eq!(r["items"][7]["snippet"]["totalReplyCount"], 7);

        let url = |extra: &str| {
            format!(
                "{}/youtube/v3/comments?part=snippet&parentId={}&maxResults=4&key={API_KEY}{extra}",
                yt.origin, thread.top.id
            )
        };
        let p1 = http::get(&url(""), &[])
            .expect("request")
            .json()
            .expect("json");
        assert_eq!(p1["kind"], "youtube#commentListResponse");
        assert_eq!(p1["items"].as_array().map(Vec::len), Some(4));
        let token = p1["nextPageToken"].as_str().expect("next page");
        let p2 = http::get(
            &url(&format!(
                "&pageToken={}",
                super::super::percent_encode(token)
            )),
            &[],
        )
        .expect("request")
        .json()
        .expect("json");
        assert_eq!(p2["items"].as_array().map(Vec::len), Some(3));
        assert!(p2.get("nextPageToken").is_none());
        let ids: Vec<_> = p1["items"]
            .as_array()
            .into_iter()
            .chain(p2["items"].as_array())
            .flatten()
            .map(|c| c["id"].clone())
            .collect();
        assert_eq!(
            ids,
            thread
                .replies
                .iter()
                .map(|c| json!(c.id))
                .collect::<Vec<_>>()
        );
        assert!(ids.iter().all(|id| {
            id.as_str()
                .is_some_and(|s| s.starts_with(&format!("{}.", thread.top.id)))
        }));
        // A token of another list is refused.
        let wrong = http::get(
            &threads_url(
                &yt.origin,
                &format!("&pageToken={}", super::super::percent_encode(token)),
            ),
            &[],
        )
        .expect("request");
        assert_eq!(wrong.status, 400);
        assert_eq!(
            wrong.json().expect("json")["error"]["errors"][0]["reason"],
            "invalidPageToken"
        );
    }

    #[test]
    fn credentials_errors_have_the_real_bodies() {
        let yt = start_blocking(Config::default());
        let base = format!(
            "{}/youtube/v3/commentThreads?part=snippet&videoId={VIDEO_ID}",
            yt.origin
        );

        let r = http::get(&format!("{base}&key=wrong"), &[]).expect("request");
        assert_eq!(r.status, 400);
        let e = r.json().expect("json");
        assert_eq!(e["error"]["status"], "INVALID_ARGUMENT");
        assert_eq!(e["error"]["details"][0]["reason"], "API_KEY_INVALID");

        let r = http::get(&base, &[("x-goog-api-key", API_KEY)]).expect("request");
        assert_eq!(r.status, 200);

        let r = http::get(&base, &[("Authorization", "Bearer expired")]).expect("request");
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"")
        );
        assert_eq!(
            r.json().expect("json")["error"]["errors"][0]["message"],
            "Invalid Credentials"
        );

        let r = http::get(&base, &[]).expect("request");
        assert_eq!(r.status, 403);
        assert_eq!(
            r.json().expect("json")["error"]["errors"][0]["reason"],
            "forbidden"
        );

        let seen = yt.credentials_seen();
        assert!(
            seen.contains("wrong")
                && seen.contains(API_KEY)
                && seen.contains("expired")
                && seen.contains("Bearer expired")
        );
        assert_eq!(yt.request_count(), 4);
    }

    #[test]
    fn quota_rate_limits_and_server_errors() {
        let yt = start_blocking(Config {
            faults: Faults {
                rate_limit_first: 2,
                fail_first: 1,
                ..Faults::default()
            },
            ..Config::default()
        });
        let url = threads_url(&yt.origin, "");
        for _ in 0..2 {
            let r = http::get(&url, &[]).expect("request");
            assert_eq!(r.status, 403);
            assert_eq!(r.header("retry-after"), None);
            assert_eq!(
                r.json().expect("json")["error"]["errors"][0]["reason"],
                "rateLimitExceeded"
            );
        }
        let r = http::get(&url, &[]).expect("request");
        assert_eq!(r.status, 503);
        assert_eq!(
            r.json().expect("json")["error"]["errors"][0]["reason"],
            "backendError"
        );
        assert_eq!(http::get(&url, &[]).expect("request").status, 200);

        yt.configure(|c| c.quota_exceeded = true);
        let r = http::get(&url, &[]).expect("request");
        assert_eq!(r.status, 403);
        let e = r.json().expect("json");
        assert_eq!(e["error"]["errors"][0]["reason"], "quotaExceeded");
        assert_eq!(e["error"]["errors"][0]["domain"], "youtube.quota");
        assert!(e["error"].get("status").is_none());

        yt.configure(|c| {
            c.quota_exceeded = false;
            c.rate_limit_status = 429;
        });
        yt.reset();
        assert_eq!(http::get(&url, &[]).expect("request").status, 429);
        assert_eq!(yt.request_count(), 1);
    }

    #[test]
    fn bad_parameters() {
        let yt = start_blocking(Config::default());
        let get = |q: &str| {
            http::get(
                &format!("{}/youtube/v3/commentThreads?key={API_KEY}{q}", yt.origin),
                &[],
            )
            .expect("request")
        };
        let reason = |r: http::Response| {
            (
                r.status,
                r.json().expect("json")["error"]["errors"][0]["reason"].clone(),
            )
        };
        assert_eq!(
            reason(get(&format!("&videoId={VIDEO_ID}"))),
            (400, json!("required"))
        );
        assert_eq!(
            reason(get("&part=snippet")),
            (400, json!("missingRequiredParameter"))
        );
        assert_eq!(
            reason(get("&part=snippet&videoId=nope")),
            (404, json!("videoNotFound"))
        );
        assert_eq!(
            reason(get(&format!(
                "&part=snippet&videoId={VIDEO_ID}&maxResults=101"
            ))),
            (400, json!("invalidParameter"))
        );
        assert_eq!(
            reason(get(&format!(
                "&part=snippet&videoId={VIDEO_ID}&pageToken=garbage"
            ))),
            (400, json!("invalidPageToken"))
        );
        yt.configure(|c| c.comments_disabled = true);
        assert_eq!(
            reason(get(&format!("&part=snippet&videoId={VIDEO_ID}"))),
            (403, json!("commentsDisabled"))
        );
        assert_eq!(
            http::get(&format!("{}/youtube/v3/videos", yt.origin), &[])
                .expect("request")
                .status,
            404
        );
    }

    #[test]
    fn generation_is_deterministic_and_authors_repeat_on_request() {
        let a = Config {
            comments: 50,
            authors: 10,
            ..Config::default()
        }
        .threads();
        assert_eq!(
            a,
            Config {
                comments: 50,
                authors: 10,
                ..Config::default()
            }
            .threads()
        );
        let authors: std::collections::BTreeSet<_> =
            a.iter().map(|t| t.top.author_channel_id.clone()).collect();
        assert_eq!(authors.len(), 10);
        let ids: std::collections::BTreeSet<_> = a.iter().map(|t| t.top.id.clone()).collect();
        assert_eq!(ids.len(), 50);
        assert!(
            a.windows(2)
                .all(|w| w[0].top.published_at > w[1].top.published_at)
        );
    }

    #[tokio::test]
    async fn async_start_serves_on_the_callers_runtime() {
        let yt = start(Config {
            comments: 1,
            ..Config::default()
        })
        .await;
        let url = threads_url(&yt.origin, "");
        let r = tokio::task::spawn_blocking(move || http::get(&url, &[]))
            .await
            .expect("join")
            .expect("request");
        assert_eq!(r.status, 200);
        assert_eq!(yt.request_count(), 1);
    }
}
