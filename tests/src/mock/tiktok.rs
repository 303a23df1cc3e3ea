//! TikTok Research API v2: `POST /v2/research/video/comment/list/`, per
//! `shared/platforms/tiktok.md` (the facts are repeated in
//! `plugins/tiktok/README.md`).
//!
//! The video [`Config::video_id`] has [`Config::comments`] comment
//! positions, generated deterministically ([`Config::comment`]). A request
//! body `{"video_id": N, "max_count": M, "cursor": C}` (ids are JSON
//! integers; `max_count` 1–100, default 10) gets the comments at positions
//! `C..C+M`, and `data.cursor` = `C+M` with `data.has_more` while positions
//! remain. As the real API:
//!
//! - **deleted** comments ([`Config::deleted`]) are absent but keep their
//!   position, so a page may be short or even empty and still have more;
//! - **hidden** comments ([`Config::hidden`]) come with `"text": null`
//!   (SYNTHETIC: the Research API documents no flag for them);
//! - the list ends at [`Config::reachable`] (1000 by default: the practical
//!   ceiling public client code reports), whatever the video's count;
//! - comments carry only the `fields` requested (`fields` is required; an
//!   unknown field is `invalid_params`), and **no author**;
//! - ids are int64 JSON numbers above 2^53.
//!
//! Every answer is the v2 envelope `{"data": …, "error": {"code", "message",
//! "log_id"}}` (`code` `ok` on success). Credentials: a client access token
//! as `Authorization: Bearer`; a missing, wrong or expired one gets 401
//! `access_token_invalid` ([`Config::expired_token`],
//! [`Config::expires_after`]), a token without the research scope 401
//! `scope_not_authorized`. Injected [`Faults`]: 429 `rate_limit_exceeded`
//! with **no** reset header (TikTok documents none, so
//! `rate_limit_reset_secs` is ignored) and 500 `internal_error`.
//!
//! The mock records request bodies too ([`MockHandle::bodies`]), since the
//! cursor travels in the body.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};

use super::{Fault, Faults, MockHandle, RequestNo, Shared, bearer_token, decode_query, lock};

/// The origin plugins call in production; map it to [`MockHandle::origin`].
pub const PRODUCTION_ORIGIN: &str = "https://open.tiktokapis.com";
/// The comment list's path.
pub const PATH: &str = "/v2/research/video/comment/list/";
/// The default video: 19 digits, above 2^53 (an f64 would round it).
pub const VIDEO_ID: u64 = 7_345_678_901_234_500_001;
/// The default valid client access token.
pub const TOKEN: &str = "clt.fairdraw-mock-client-token-0123456789";
/// Every field the comment list can return, in the documented order.
pub const FIELDS: [&str; 7] = [
    "id",
    "video_id",
    "text",
    "like_count",
    "reply_count",
    "parent_comment_id",
    "create_time",
];
/// The largest `max_count`.
pub const MAX_COUNT: u64 = 100;
/// `max_count` when the body has none.
pub const DEFAULT_COUNT: u64 = 10;

/// Unix time of the first comment: 2022-03-01T12:00:00Z.
const FIRST_UNIX: i64 = 1_646_136_000;
/// The first comment's id.
const FIRST_ID: u64 = 7_345_678_901_234_567_001;

/// The request bodies a mock received, shared by every copy of its config.
#[derive(Clone, Debug, Default)]
pub struct BodyLog(Arc<Mutex<Vec<String>>>);

impl BodyLog {
    /// Every body so far, in order, as text (invalid UTF-8 replaced).
    pub fn all(&self) -> Vec<String> {
        lock(&self.0).clone()
    }

    fn push(&self, body: &[u8]) {
        lock(&self.0).push(String::from_utf8_lossy(body).into_owned());
    }
}

impl PartialEq for BodyLog {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for BodyLog {}

/// What the mock serves and how it misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The one video that exists; another `video_id` is 400 `invalid_params`.
    pub video_id: u64,
    /// Comment positions of the video (deleted ones included).
    pub comments: usize,
    /// Positions of deleted comments: never listed.
    pub deleted: Vec<usize>,
    /// Positions of hidden comments: listed with `"text": null`.
    pub hidden: Vec<usize>,
    /// The list ends here even when the video has more (TikTok: about 1000).
    pub reachable: usize,
    /// The valid client access token.
    pub token: String,
    /// A token TikTok issued but that expired: 401 `access_token_invalid`.
    pub expired_token: Option<String>,
    /// A token without `research.data.basic`: 401 `scope_not_authorized`.
    pub unscoped_token: Option<String>,
    /// `token` expires after this request number (its 2 hours run out):
    /// later requests with it are 401 `access_token_invalid`.
    pub expires_after: Option<u64>,
    /// Injected rate limits and 5xx answers.
    pub faults: Faults,
    /// The request bodies received.
    pub bodies: BodyLog,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            video_id: VIDEO_ID,
            comments: 250,
            deleted: Vec::new(),
            hidden: Vec::new(),
            reachable: 1000,
            token: TOKEN.to_owned(),
            expired_token: None,
            unscoped_token: None,
            expires_after: None,
            faults: Faults::default(),
            bodies: BodyLog::default(),
        }
    }
}

/// One generated comment, with every field the API has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Its position in the list.
    pub position: usize,
    /// The comment id (int64).
    pub id: u64,
    /// The text; `None` when hidden.
    pub text: Option<String>,
    /// Unix seconds.
    pub create_time: i64,
    /// Likes on the comment.
    pub like_count: u64,
    /// Replies to it.
    pub reply_count: u64,
}

impl Config {
    /// The comment at `position`, whether or not it is deleted.
    pub fn comment(&self, position: usize) -> Comment {
        let k = position as u64;
        let text = match position % 4 {
            0 => format!("#giveaway count me in @friend{} @pal{} 🎁", k % 7, k % 5),
            1 => format!("Zoë \"{k}\" wants this\nso much @bestie_{}", k % 3),
            2 => "nice video".to_owned(),
            _ => format!("#GIVEAWAY 日本からの応募です @tomo.{}", k % 9),
        };
        Comment {
            position,
            id: FIRST_ID + k * 1_000_003,
            text: (!self.hidden.contains(&position)).then_some(text),
            create_time: FIRST_UNIX + 61 * position as i64,
            like_count: k % 13,
            reply_count: k % 3,
        }
    }

    /// The comments the list can reach, in order: deleted ones left out,
    /// cut at [`Config::reachable`].
    pub fn listed(&self) -> Vec<Comment> {
        (0..self.end())
            .filter(|p| !self.deleted.contains(p))
            .map(|p| self.comment(p))
            .collect()
    }

    fn end(&self) -> usize {
        self.comments.min(self.reachable)
    }

    fn comment_json(&self, c: &Comment, fields: &[String]) -> Value {
        let mut out = Map::new();
        for f in fields {
            let v = match f.as_str() {
                "id" => json!(c.id),
                "video_id" => json!(self.video_id),
                "text" => json!(c.text),
                "like_count" => json!(c.like_count),
                "reply_count" => json!(c.reply_count),
                // Unverified what top-level comments hold; the docs' example
                // puts the video id there.
                "parent_comment_id" => json!(self.video_id),
                "create_time" => json!(c.create_time),
                _ => continue,
            };
            out.insert(f.clone(), v);
        }
        Value::Object(out)
    }
}

impl MockHandle<Config> {
    /// Every request body received, in order, as text.
    pub fn bodies(&self) -> Vec<String> {
        self.config().bodies.all()
    }
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
        .route(PATH, post(comment_list))
        .fallback(not_found)
        .with_state(shared)
}

/// The `log_id` of request `n`: a timestamp and hex, as TikTok's look.
fn log_id(n: u64) -> String {
    format!("20220301120000{n:016X}")
}

fn error(status: StatusCode, code: &str, message: &str, n: u64) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message, "log_id": log_id(n) } })),
    )
        .into_response()
}

async fn not_found(_req: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "The requested resource does not exist.",
        0,
    )
}

fn invalid(message: &str, n: u64) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_params", message, n)
}

/// Checks the token and the injected faults.
fn gate(config: &Config, headers: &HeaderMap, n: u64) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let invalid_token = || {
        error(
            StatusCode::UNAUTHORIZED,
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
            n,
        )
    };
    match token {
        Some(t) if t == config.token => {
            if config.expires_after.is_some_and(|last| n > last) {
                return Err(invalid_token());
            }
        }
        Some(t) if config.unscoped_token.as_deref() == Some(t) => {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "scope_not_authorized",
                "The user did not authorize the scope required for completing this request.",
                n,
            ));
        }
        _ => return Err(invalid_token()),
    }
    match config.faults.for_request(n) {
        Some(Fault::RateLimited) => Err(error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "The API rate limit was exceeded. Please try again later.",
            n,
        )),
        Some(Fault::ServerError) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong. Please try again later.",
            n,
        )),
        None => Ok(()),
    }
}

/// A non-negative JSON integer member of the body; `default` when absent.
fn integer(
    body: &Map<String, Value>,
    name: &str,
    default: Option<u64>,
    n: u64,
) -> Result<u64, Response> {
    match body.get(name) {
        None | Some(Value::Null) => {
            default.ok_or_else(|| invalid(&format!("Invalid parameters: {name} is required."), n))
        }
        Some(v) => v.as_u64().ok_or_else(|| {
            invalid(
                &format!("Invalid parameters: {name} must be a non-negative integer, not {v}."),
                n,
            )
        }),
    }
}

async fn comment_list(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let config = shared.config();
    config.bodies.push(&body);
    match answer(&config, raw.as_deref(), &headers, &body, n) {
        Ok(r) | Err(r) => r,
    }
}

fn answer(
    config: &Config,
    raw: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    n: u64,
) -> Result<Response, Response> {
    gate(config, headers, n)?;
    let query = raw.map(decode_query).unwrap_or_default();
    let fields: Vec<String> = query
        .iter()
        .find(|(k, _)| k == "fields")
        .map(|(_, v)| v.split(',').map(|f| f.trim().to_owned()).collect())
        .unwrap_or_default();
    if fields.is_empty() || fields.iter().all(String::is_empty) {
        return Err(invalid("Invalid parameters: fields is required.", n));
    }
    if let Some(bad) = fields.iter().find(|f| !FIELDS.contains(&f.as_str())) {
        return Err(invalid(
            &format!("Invalid parameters: unknown field {bad:?}."),
            n,
        ));
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid(
            "Invalid parameters: the body must be a JSON object.",
            n,
        ));
    };
    let video_id = integer(&body, "video_id", None, n)?;
    let max_count = integer(&body, "max_count", Some(DEFAULT_COUNT), n)?;
    let cursor = integer(&body, "cursor", Some(0), n)?;
    if !(1..=MAX_COUNT).contains(&max_count) {
        return Err(invalid(
            "Invalid parameters: max_count must be between 1 and 100.",
            n,
        ));
    }
    if video_id != config.video_id {
        return Err(invalid(
            &format!("Invalid parameters: video {video_id} does not exist or is not public."),
            n,
        ));
    }
    let end = config.end() as u64;
    let from = cursor.min(end);
    let to = cursor.saturating_add(max_count).min(end);
    let comments: Vec<Value> = (from..to)
        .map(|p| p as usize)
        .filter(|p| !config.deleted.contains(p))
        .map(|p| config.comment_json(&config.comment(p), &fields))
        .collect();
    Ok((
        StatusCode::OK,
        Json(json!({
            "data": { "comments": comments, "has_more": to < end, "cursor": cursor.saturating_add(max_count) },
            "error": { "code": "ok", "message": "", "log_id": log_id(n) },
        })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;

    const ALL_FIELDS: &str =
        "id,video_id,text,like_count,reply_count,parent_comment_id,create_time";

    /// `POST PATH?fields=…` with `body` and an optional bearer token: the
    /// status, the headers (lowercase names) and the JSON body.
    fn post(
        m: &MockHandle<Config>,
        fields: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, Vec<(String, String)>, Value) {
        let mut stream = TcpStream::connect(m.addr).expect("connect");
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let target = if fields.is_empty() {
            PATH.to_owned()
        } else {
            format!("{PATH}?fields={fields}")
        };
        write!(
            stream,
            "POST {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            m.addr,
            body.len()
        )
        .expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read");
        let text = String::from_utf8(raw).expect("UTF-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        (
            status,
            headers,
            serde_json::from_str(body).expect("a JSON body"),
        )
    }

    fn page_body(cursor: u64, count: u64) -> String {
        format!(r#"{{"video_id":{VIDEO_ID},"max_count":{count},"cursor":{cursor}}}"#)
    }

    #[test]
    fn pages_follow_the_cursor_with_exact_ids_until_has_more_is_false() {
        let m = start_blocking(Config::default());
        let (mut cursor, mut ids, mut sizes) = (0u64, Vec::new(), Vec::new());
        loop {
            let (status, _, page) = post(&m, ALL_FIELDS, Some(TOKEN), &page_body(cursor, 100));
            assert_eq!(status, 200, "{page}");
            assert_eq!(page["error"]["code"], "ok");
            assert!(
                page["error"]["log_id"]
                    .as_str()
                    .is_some_and(|l| l.len() == 30)
            );
            let data = &page["data"];
            let comments = data["comments"].as_array().expect("comments");
            sizes.push(comments.len());
            for c in comments {
                // Integers, exact, all seven fields, no author.
                ids.push(c["id"].as_u64().expect("an integer id"));
                assert_eq!(c["video_id"].as_u64(), Some(VIDEO_ID));
                assert!(c["create_time"].is_i64());
                assert_eq!(c.as_object().map(Map::len), Some(7), "{c}");
            }
            cursor = data["cursor"].as_u64().expect("a cursor");
            if data["has_more"] == json!(false) {
                break;
            }
        }
        assert_eq!(sizes, [100, 100, 50]);
        let expected: Vec<u64> = m.config().listed().iter().map(|c| c.id).collect();
        assert_eq!(ids, expected);
        assert_eq!(ids[1], 7_345_678_901_235_567_004, "19 digits, above 2^53");
        assert_eq!(m.bodies().len(), 3);
        assert_eq!(m.bodies()[2], page_body(200, 100));
        assert_eq!(
            m.credentials_seen().into_iter().collect::<Vec<_>>(),
            [format!("Bearer {TOKEN}"), TOKEN.to_owned()]
        );
    }

    #[test]
    fn deleted_comments_leave_short_and_empty_pages_hidden_ones_have_no_text() {
        let m = start_blocking(Config {
            comments: 30,
            deleted: (10..20).chain([3]).collect(),
            hidden: vec![4],
            ..Config::default()
        });
        let (_, _, p1) = post(&m, "id,text", Some(TOKEN), &page_body(0, 10));
        let c = p1["data"]["comments"].as_array().expect("comments");
        assert_eq!(c.len(), 9, "position 3 is deleted");
        assert_eq!(
            c[3],
            json!({ "id": FIRST_ID + 4 * 1_000_003, "text": null })
        );
        assert_eq!(
            (p1["data"]["cursor"].as_u64(), &p1["data"]["has_more"]),
            (Some(10), &json!(true))
        );
        let (_, _, p2) = post(&m, "id,text", Some(TOKEN), &page_body(10, 10));
        assert_eq!(p2["data"]["comments"], json!([]));
        assert_eq!(
            (p2["data"]["cursor"].as_u64(), &p2["data"]["has_more"]),
            (Some(20), &json!(true))
        );
        let (_, _, p3) = post(&m, "id,text", Some(TOKEN), &page_body(20, 10));
        assert_eq!(p3["data"]["comments"].as_array().map(Vec::len), Some(10));
        assert_eq!(p3["data"]["has_more"], json!(false));
        assert_eq!(m.config().listed().len(), 19);
    }

    #[test]
    fn the_list_ends_at_the_reachable_ceiling_and_max_count_defaults_to_10() {
        let m = start_blocking(Config {
            comments: 5000,
            ..Config::default()
        });
        let (_, _, p) = post(&m, "id", Some(TOKEN), &page_body(900, 100));
        assert_eq!(p["data"]["has_more"], json!(false));
        assert_eq!(p["data"]["cursor"].as_u64(), Some(1000));
        let (_, _, p) = post(
            &m,
            "id",
            Some(TOKEN),
            &format!(r#"{{"video_id":{VIDEO_ID}}}"#),
        );
        assert_eq!(p["data"]["comments"].as_array().map(Vec::len), Some(10));
        assert_eq!(p["data"]["cursor"].as_u64(), Some(10));
    }

    #[test]
    fn bad_parameters_are_invalid_params() {
        let m = start_blocking(Config::default());
        for (fields, body) in [
            ("", page_body(0, 10)),
            ("id,username", page_body(0, 10)),
            ("id", page_body(0, 101)),
            ("id", page_body(0, 0)),
            (
                "id",
                format!(r#"{{"video_id":"{VIDEO_ID}","max_count":10}}"#),
            ),
            ("id", format!(r#"{{"video_id":{}.0}}"#, VIDEO_ID)),
            ("id", r#"{"video_id":1}"#.to_owned()),
            ("id", "[]".to_owned()),
        ] {
            let (status, _, e) = post(&m, fields, Some(TOKEN), &body);
            assert_eq!(status, 400, "{fields} {body}: {e}");
            assert_eq!(e["error"]["code"], "invalid_params", "{e}");
            assert!(e.get("data").is_none());
        }
    }

    #[test]
    fn tokens_expire_and_rate_limits_carry_no_reset() {
        let m = start_blocking(Config {
            expired_token: Some("clt.expired".into()),
            unscoped_token: Some("clt.display-api-only".into()),
            expires_after: Some(2),
            ..Config::default()
        });
        let body = page_body(0, 10);
        assert_eq!(post(&m, "id", Some(TOKEN), &body).0, 200);
        assert_eq!(post(&m, "id", Some(TOKEN), &body).0, 200);
        for token in [Some(TOKEN), Some("clt.expired"), Some("wrong"), None] {
            let (status, _, e) = post(&m, "id", token, &body);
            assert_eq!(status, 401, "{token:?}");
            assert_eq!(e["error"]["code"], "access_token_invalid");
            assert_eq!(
                e["error"]["message"],
                "The access token is invalid or not found in the request."
            );
        }
        let (status, _, e) = post(&m, "id", Some("clt.display-api-only"), &body);
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (401, Some("scope_not_authorized"))
        );

        m.configure(|c| {
            c.expires_after = None;
            c.faults = Faults {
                rate_limit_first: 1,
                rate_limit_reset_secs: 60,
                fail_first: 1,
                ..Faults::default()
            };
        });
        m.reset();
        let (status, headers, e) = post(&m, "id", Some(TOKEN), &body);
        assert_eq!(status, 429);
        assert_eq!(e["error"]["code"], "rate_limit_exceeded");
        assert!(
            headers.iter().all(|(k, _)| k != "retry-after"
                && !k.contains("ratelimit")
                && !k.contains("rate-limit")),
            "TikTok documents no reset header: {headers:?}"
        );
        let (status, _, e) = post(&m, "id", Some(TOKEN), &body);
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (500, Some("internal_error"))
        );
        assert_eq!(post(&m, "id", Some(TOKEN), &body).0, 200);
    }

    #[test]
    fn other_paths_are_404_in_the_envelope() {
        let m = start_blocking(Config::default());
        let r = crate::mock::http::get(&format!("{}/v2/video/list/", m.origin), &[]).expect("get");
        assert_eq!(r.status, 404);
        assert_eq!(r.json().expect("json")["error"]["code"], "not_found");
    }
}
