//! Instagram Graph API (Business and Creator accounts): a media item's
//! comments and their replies, and an account's media list, per
//! `plugins/instagram/README.md` (which names Meta's reference pages).
//!
//! The media [`Config::media_id`] (shortcode [`Config::shortcode`]) has
//! [`Config::comments`] top-level comments, generated deterministically
//! (see [`Config::threads`]) and listed newest first:
//!
//! - `GET /{version}/{ig-media-id}/comments?fields=…&limit=…&after=…`:
//!   top-level comments. Without `fields` a comment has only `timestamp`,
//!   `text` and `id`, as Meta documents. The nested `replies{…}` field
//!   inlines at most [`Config::inline_replies`] replies, with a `paging`
//!   whose `next` points at the replies edge when there are more.
//! - `GET /{version}/{ig-comment-id}/replies`: a comment's replies, oldest first.
//! - `GET /{version}/{ig-user-id}/media?fields=id,shortcode,…`: the
//!   account's media, newest first, [`Config::media_before`] newer posts
//!   ahead of the giveaway post: how a client finds a shortcode's media id.
//!
//! Pagination is Meta's: `paging.cursors.{before,after}` (opaque base64
//! that starts `QVFI`, and works only for the list it came from) and a full
//! `paging.next` URL (on [`Config::public_origin`], echoing `access_token`
//! when the request sent it in the query), absent on the last page only.
//! `limit` defaults to 25 and is capped at 100. Comments in
//! [`Config::deleted`] were deleted after the list began: their positions
//! stay, so pages come short, or empty (an empty page has no `cursors`,
//! only `next`). Every [`Config::hidden_every`]-th comment is `hidden`.
//!
//! Credentials: the token as `Authorization: Bearer` or `access_token=`.
//! None is code 104, a wrong one code 190, [`Config::expired_token`] code
//! 190 subcode 463, all HTTP 400 in Meta's error envelope. [`Faults`]
//! inject throttling (code 80002 with HTTP [`Config::rate_limit_status`]
//! and `X-Business-Use-Case-Usage`, whose `estimated_time_to_regain_access`
//! is `rate_limit_reset_secs` in whole minutes, rounded up; Meta sends no
//! `Retry-After`) and 500 code 2 (`is_transient`); [`Config::throttled`]
//! throttles every request. An unknown node is 400 code 100 subcode 33.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::{Fault, Faults, MockHandle, RequestNo, Shared, bearer_token, decode_query};

/// The origin plugins call in production; map it to [`MockHandle::origin`].
pub const PRODUCTION_ORIGIN: &str = "https://graph.facebook.com";
/// The default media id of the giveaway post.
pub const MEDIA_ID: &str = "17895695668004550";
/// The default shortcode of the giveaway post (`/p/SHORTCODE/`).
pub const SHORTCODE: &str = "C4fDrAw7Tst";
/// The default Instagram professional account that posted it.
pub const IG_USER_ID: &str = "17841400008460056";
/// That account's username.
pub const OWNER_USERNAME: &str = "fairdraw_brand";
/// The default valid access token.
pub const ACCESS_TOKEN: &str = "EAAGfairdrawMockToken0123456789abcdef";
/// The default expired access token (code 190, subcode 463).
pub const EXPIRED_TOKEN: &str = "EAAGfairdrawExpiredToken";

/// Unix time of the newest generated comment: 2022-03-01T18:00:00Z.
const NEWEST_UNIX: i64 = 1_646_157_600;

/// What the mock serves and how it misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The giveaway post's media id; another media id is unknown.
    pub media_id: String,
    /// Its shortcode.
    pub shortcode: String,
    /// The account that posted it, whose media list the mock serves.
    pub ig_user_id: String,
    /// Media of the account newer than the giveaway post (listed before it).
    pub media_before: usize,
    /// Top-level comments on the post.
    pub comments: usize,
    /// Distinct commenters the comments cycle through; 0: each its own.
    pub authors: usize,
    /// Comment `k` has `k % (max_replies + 1)` replies.
    pub max_replies: usize,
    /// At most this many replies in the nested `replies` field.
    pub inline_replies: usize,
    /// Positions (newest first, from 0) of comments deleted since: not
    /// listed, their replies neither, but their page positions stay.
    pub deleted: Vec<usize>,
    /// Every n-th comment (k % n == n − 1) is hidden by the owner; 0: none.
    pub hidden_every: usize,
    /// The valid token.
    pub access_token: String,
    /// A token that has expired, if any.
    pub expired_token: Option<String>,
    /// Throttle every request with code 80002.
    pub throttled: bool,
    /// HTTP status of a throttled answer (Meta: 400, 403 also seen).
    pub rate_limit_status: u16,
    /// Origin of the `paging.next` and `previous` URLs.
    pub public_origin: String,
    /// Injected rate limits and 5xx answers.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            media_id: MEDIA_ID.to_owned(),
            shortcode: SHORTCODE.to_owned(),
            ig_user_id: IG_USER_ID.to_owned(),
            media_before: 130,
            comments: 250,
            authors: 0,
            max_replies: 4,
            inline_replies: 3,
            deleted: Vec::new(),
            hidden_every: 0,
            access_token: ACCESS_TOKEN.to_owned(),
            expired_token: Some(EXPIRED_TOKEN.to_owned()),
            throttled: false,
            rate_limit_status: 400,
            public_origin: PRODUCTION_ORIGIN.to_owned(),
            faults: Faults::default(),
        }
    }
}

/// One generated comment or reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// The comment id (digits).
    pub id: String,
    /// `from.id`: the commenter's Instagram-scoped id, the entrant identity.
    pub user_id: String,
    /// The commenter's username, without `@`.
    pub username: String,
    /// The text as typed.
    pub text: String,
    /// As the API writes it: `2022-03-01T18:00:00+0000`.
    pub timestamp: String,
    /// Hidden by the media owner.
    pub hidden: bool,
    /// The comment a reply answers.
    pub parent_id: Option<String>,
    /// Likes on the comment.
    pub like_count: u64,
}

impl Comment {
    /// The timestamp in RFC 3339 (`2022-03-01T18:00:00Z`), as an entry has it.
    pub fn created_at(&self) -> String {
        self.timestamp.replace("+0000", "Z")
    }
}

/// A top-level comment and its replies (oldest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    /// The top-level comment.
    pub top: Comment,
    /// Its replies.
    pub replies: Vec<Comment>,
}

impl Config {
    /// The threads the API lists, newest first: every comment but the
    /// deleted ones. The same config always gives the same threads.
    pub fn threads(&self) -> Vec<Thread> {
        (0..self.comments)
            .filter(|k| !self.deleted.contains(k))
            .map(|k| self.thread(k))
            .collect()
    }

    fn thread(&self, k: usize) -> Thread {
        let author = if self.authors == 0 {
            k
        } else {
            k % self.authors
        };
        let unix = NEWEST_UNIX - 89 * k as i64;
        let id = (17_850_000_000_000_000_u64 + 7 * k as u64).to_string();
        let top = Comment {
            id: id.clone(),
            user_id: user_id(author),
            username: username(author),
            text: comment_text(k),
            timestamp: graph_time(unix),
            hidden: self.hidden_every > 0 && k % self.hidden_every == self.hidden_every - 1,
            parent_id: None,
            like_count: k as u64 % 13,
        };
        let everyone = self.authors.max(self.comments).max(1);
        let replies = (0..k % (self.max_replies + 1))
            .map(|j| {
                let author = (author + j + 1) % everyone;
                Comment {
                    id: (17_950_000_000_000_000_u64 + 1000 * k as u64 + j as u64).to_string(),
                    user_id: user_id(author),
                    username: username(author),
                    text: format!("@{} good luck! reply {j} to {k}", top.username),
                    timestamp: graph_time(unix + 37 * (j as i64 + 1)),
                    hidden: false,
                    parent_id: Some(id.clone()),
                    like_count: 0,
                }
            })
            .collect();
        Thread { top, replies }
    }

    /// The account's media list: `(id, shortcode)`, newest first.
    pub fn media(&self) -> Vec<(String, String)> {
        let other = |i: usize| {
            (
                (17_900_000_000_000_000_u64 + i as u64).to_string(),
                format!("C{:010}", i * 7_919),
            )
        };
        let mut list: Vec<_> = (0..self.media_before).map(other).collect();
        list.push((self.media_id.clone(), self.shortcode.clone()));
        list.extend((self.media_before + 1..self.media_before + 6).map(other));
        list
    }
}

fn user_id(author: usize) -> String {
    (17_841_400_000_100_000_u64 + 31 * author as u64).to_string()
}

fn username(author: usize) -> String {
    format!("entrant.{author:04}")
}

/// Varied texts: mentions, a hashtag, quotes and HTML-looking characters
/// (Instagram text is plain), emoji, a line break.
fn comment_text(k: usize) -> String {
    match k % 5 {
        0 => format!("Count me in! 🎉 #giveaway @entrant.{:04}", k + 1),
        1 => format!(
            "I'd love to win this ({k}) @entrant.{:04} @friend_{k}",
            k + 2
        ),
        2 => format!("<b>not bold</b> & \"quoted\" {k}\n#Giveaway"),
        3 => format!("@{OWNER_USERNAME} pick me {k} 🙌"),
        _ => format!("comment number {k}"),
    }
}

/// `2022-03-01T18:00:00+0000`, the Graph API's form.
fn graph_time(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
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
        .route("/{version}/{node}/{edge}", get(edge))
        .fallback(unknown_path)
        .with_state(shared)
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    h.insert("x-fb-trace-id", HeaderValue::from_static("AbCdEfGhIjK"));
    r
}

/// Meta's error envelope.
fn graph_error(
    status: u16,
    code: u32,
    subcode: Option<u32>,
    kind: &str,
    message: &str,
) -> Response {
    let mut error = json!({ "message": message, "type": kind, "code": code, "fbtrace_id": "AmFGcW_3hwDB7qFbl_QdebZ" });
    if let Some(s) = subcode {
        error["error_subcode"] = json!(s);
    }
    if code == 1 || code == 2 {
        error["is_transient"] = json!(true);
    }
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({ "error": error }),
    )
}

async fn unknown_path(req: Request) -> Response {
    graph_error(
        400,
        2500,
        None,
        "OAuthException",
        &format!("Unknown path components: {}", req.uri().path()),
    )
}

fn no_such_object(id: &str) -> Response {
    graph_error(
        400,
        100,
        Some(33),
        "GraphMethodException",
        &format!(
            "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
    )
}

/// `X-Business-Use-Case-Usage` for the account: `call_count` in percent,
/// and the minutes until access is regained (0 when not throttled).
fn usage_header(config: &Config, call_count: u64, minutes: u64) -> HeaderValue {
    let mut value = Map::new();
    value.insert(
        config.ig_user_id.clone(),
        json!([{
            "type": "instagram", "call_count": call_count, "total_cputime": 25, "total_time": 25,
            "estimated_time_to_regain_access": minutes
        }]),
    );
    let value = Value::Object(value);
    HeaderValue::from_str(&value.to_string()).unwrap_or(HeaderValue::from_static("{}"))
}

fn throttled(config: &Config) -> Response {
    let minutes = config.faults.rate_limit_reset_secs.div_ceil(60);
    let mut r = graph_error(
        config.rate_limit_status,
        80002,
        None,
        "OAuthException",
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    );
    r.headers_mut().insert(
        "x-business-use-case-usage",
        usage_header(config, 100, minutes),
    );
    r
}

/// Checks the token, then the injected faults and throttling. `Err`: the
/// answer; `Ok`: the token, and whether it came in the query.
fn gate(
    config: &Config,
    headers: &HeaderMap,
    query: &[(String, String)],
    n: u64,
) -> Result<bool, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let in_query = query
        .iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.as_str());
    let Some(token) = in_query.or(bearer) else {
        return Err(graph_error(
            400,
            104,
            None,
            "OAuthException",
            "An access token is required to request this resource.",
        ));
    };
    if config.expired_token.as_deref() == Some(token) {
        return Err(graph_error(
            400,
            190,
            Some(463),
            "OAuthException",
            "Error validating access token: Session has expired on Thursday, 05-Feb-26 15:00:00 PST. The current time is Thursday, 05-Feb-26 15:25:03 PST.",
        ));
    }
    if token != config.access_token {
        return Err(graph_error(
            400,
            190,
            None,
            "OAuthException",
            "Invalid OAuth access token - Cannot parse access token",
        ));
    }
    match config.faults.for_request(n) {
        Some(Fault::RateLimited) => return Err(throttled(config)),
        Some(Fault::ServerError) => {
            return Err(graph_error(
                500,
                2,
                None,
                "OAuthException",
                "An unexpected error has occurred. Please retry your request later.",
            ));
        }
        None => {}
    }
    if config.throttled {
        return Err(throttled(config));
    }
    Ok(in_query.is_some())
}

/// A requested field: its name and, for `name{a,b}`, the subfields.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Field {
    name: String,
    sub: Vec<Field>,
}

/// Parses `id,text,from{id,username},replies{id,text}` (commas inside
/// braces belong to the subfields). `None` when the braces do not match.
fn parse_fields(s: &str) -> Option<Vec<Field>> {
    fn list(
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
        nested: bool,
    ) -> Option<Vec<Field>> {
        let mut out = Vec::new();
        let mut name = String::new();
        loop {
            match chars.next() {
                None if nested => return None,
                None => break,
                Some('}') if nested => break,
                Some('}') => return None,
                Some(',') => {
                    if !name.trim().is_empty() {
                        out.push(Field {
                            name: name.trim().to_owned(),
                            sub: Vec::new(),
                        });
                    }
                    name.clear();
                }
                Some('{') => {
                    let sub = list(chars, true)?;
                    out.push(Field {
                        name: name.trim().to_owned(),
                        sub,
                    });
                    name.clear();
                    if chars.peek() == Some(&',') {
                        chars.next();
                    }
                }
                Some(c) => name.push(c),
            }
        }
        if !name.trim().is_empty() {
            out.push(Field {
                name: name.trim().to_owned(),
                sub: Vec::new(),
            });
        }
        Some(out)
    }
    list(&mut s.chars().peekable(), false)
}

fn find<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.name == name)
}

/// Opaque cursors: base64 of `AQH<scope>:<position>` (so they start `QVFI`).
fn encode_cursor(scope: &str, position: usize) -> String {
    STANDARD.encode(format!("AQH{scope}:{position}"))
}

fn decode_cursor(cursor: &str, scope: &str) -> Option<usize> {
    let raw = String::from_utf8(STANDARD.decode(cursor).ok()?).ok()?;
    let (s, position) = raw.strip_prefix("AQH")?.rsplit_once(':')?;
    (s == scope).then(|| position.parse().ok()).flatten()
}

/// One page of a list of `total` positions from `offset`: the page's
/// items (`None` for a deleted position) become `data`, and `paging` gets
/// cursors (when there is data) and `next` (when positions remain).
struct Pager<'a> {
    config: &'a Config,
    version: &'a str,
    path: String,
    scope: String,
    token_in_query: bool,
    query: &'a [(String, String)],
}

impl Pager<'_> {
    fn page(&self, total: usize, offset: usize, limit: usize, data: Vec<Value>) -> Value {
        let end = (offset + limit).min(total);
        let mut paging = Map::new();
        if !data.is_empty() {
            paging.insert(
                "cursors".into(),
                json!({ "before": encode_cursor(&self.scope, offset), "after": encode_cursor(&self.scope, end) }),
            );
        }
        let link = |cursor_name: &str, position: usize| {
            let mut params: Vec<(String, String)> = Vec::new();
            if self.token_in_query {
                params.push(("access_token".into(), self.config.access_token.clone()));
            }
            for (k, v) in self.query {
                if !matches!(k.as_str(), "access_token" | "after" | "before" | "limit") {
                    params.push((k.clone(), v.clone()));
                }
            }
            params.push(("limit".into(), limit.to_string()));
            params.push((cursor_name.into(), encode_cursor(&self.scope, position)));
            let query: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{k}={}", super::percent_encode(v)))
                .collect();
            format!(
                "{}/{}{}?{}",
                self.config.public_origin,
                self.version,
                self.path,
                query.join("&")
            )
        };
        if end < total {
            paging.insert("next".into(), json!(link("after", end)));
        }
        if offset > 0 {
            paging.insert("previous".into(), json!(link("before", offset)));
        }
        let mut body = json!({ "data": data });
        if !paging.is_empty() {
            body["paging"] = Value::Object(paging);
        }
        body
    }
}

/// A comment with the requested fields (Meta's default: id, text, timestamp).
fn comment_json(
    c: &Comment,
    fields: Option<&[Field]>,
    replies: Option<(&[Comment], &Pager<'_>)>,
    config: &Config,
) -> Value {
    let Some(fields) = fields else {
        return json!({ "timestamp": c.timestamp, "text": c.text, "id": c.id });
    };
    let mut out = Map::new();
    for f in fields {
        let v = match f.name.as_str() {
            "id" => json!(c.id),
            "text" => json!(c.text),
            "timestamp" => json!(c.timestamp),
            "username" => json!(c.username),
            "like_count" => json!(c.like_count),
            "hidden" => json!(c.hidden),
            "parent_id" => match &c.parent_id {
                Some(p) => json!(p),
                None => continue,
            },
            "from" => {
                let all = f.sub.is_empty();
                let mut from = Map::new();
                if all || find(&f.sub, "id").is_some() {
                    from.insert("id".into(), json!(c.user_id));
                }
                if all || find(&f.sub, "username").is_some() {
                    from.insert("username".into(), json!(c.username));
                }
                Value::Object(from)
            }
            "media" => json!({ "id": config.media_id }),
            "replies" => match replies {
                Some((list, pager)) if !list.is_empty() => {
                    let sub = (!f.sub.is_empty()).then_some(&f.sub[..]);
                    let shown = list.len().min(config.inline_replies);
                    let data = list[..shown]
                        .iter()
                        .map(|r| comment_json(r, sub, None, config))
                        .collect();
                    pager.page(list.len(), 0, config.inline_replies.max(1), data)
                }
                _ => continue,
            },
            _ => continue,
        };
        out.insert(f.name.clone(), v);
    }
    Value::Object(out)
}

fn invalid_cursor() -> Response {
    graph_error(
        400,
        100,
        None,
        "OAuthException",
        "(#100) The after cursor is invalid",
    )
}

/// `limit` (default 25, at most 100) and the offset `after` names.
fn window(query: &[(String, String)], scope: &str) -> Result<(usize, usize), Response> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let limit = match param("limit") {
        None => 25,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n.min(100),
            _ => {
                return Err(graph_error(
                    400,
                    100,
                    None,
                    "OAuthException",
                    &format!("(#100) Param limit must be a positive integer, got {v:?}"),
                ));
            }
        },
    };
    let offset = match param("after") {
        None => 0,
        Some(a) => decode_cursor(a, scope).ok_or_else(invalid_cursor)?,
    };
    Ok((limit, offset))
}

async fn edge(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path((version, node, edge)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let config = shared.config();
    let query = raw.as_deref().map(decode_query).unwrap_or_default();
    let valid_version = version
        .strip_prefix('v')
        .and_then(|r| r.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && (a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit())
        });
    if !valid_version {
        return graph_error(
            400,
            2500,
            None,
            "OAuthException",
            &format!("Unknown path components: /{version}/{node}/{edge}"),
        );
    }
    let token_in_query = match gate(&config, &headers, &query, n) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let fields = match query.iter().find(|(k, _)| k == "fields") {
        None => None,
        Some((_, f)) => match parse_fields(f) {
            Some(f) => Some(f),
            None => {
                return graph_error(
                    400,
                    100,
                    None,
                    "OAuthException",
                    &format!(
                        "Syntax error \"Expected end of string instead of \"}}\".\" at character 0: {f}"
                    ),
                );
            }
        },
    };
    let scope = format!("{node}/{edge}");
    let (limit, offset) = match window(&query, &scope) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let pager = |path: String, scope: String, query| Pager {
        config: &config,
        version: &version,
        path,
        scope,
        token_in_query,
        query,
    };
    let no_query: &[(String, String)] = &[];
    let mut body = match edge.as_str() {
        "comments" if node == config.media_id => {
            let total = config.comments;
            let list = pager(format!("/{node}/comments"), scope.clone(), query.as_slice());
            let data = (offset..(offset + limit).min(total))
                .filter(|k| !config.deleted.contains(k))
                .map(|k| {
                    let t = config.thread(k);
                    // The nested next URL is the replies edge's own.
                    let nested = pager(
                        format!("/{}/replies", t.top.id),
                        format!("{}/replies", t.top.id),
                        no_query,
                    );
                    comment_json(
                        &t.top,
                        fields.as_deref(),
                        Some((&t.replies, &nested)),
                        &config,
                    )
                })
                .collect();
            list.page(total, offset, limit, data)
        }
        "replies" => {
            let Some(thread) = (0..config.comments)
                .filter(|k| !config.deleted.contains(k))
                .map(|k| config.thread(k))
                .find(|t| t.top.id == node)
            else {
                return no_such_object(&node);
            };
            let total = thread.replies.len();
            let data = thread.replies[offset.min(total)..(offset + limit).min(total)]
                .iter()
                .map(|r| comment_json(r, fields.as_deref(), None, &config))
                .collect();
            pager(format!("/{node}/replies"), scope.clone(), &query)
                .page(total, offset, limit, data)
        }
        "media" if node == config.ig_user_id => {
            let media = config.media();
            let total = media.len();
            let data = media[offset.min(total)..(offset + limit).min(total)]
                .iter()
                .map(|(id, code)| {
                    let mut m = Map::new();
                    m.insert("id".into(), json!(id));
                    for f in fields.iter().flatten() {
                        let v = match f.name.as_str() {
                            "shortcode" => json!(code),
                            "permalink" => json!(format!("https://www.instagram.com/p/{code}/")),
                            "media_type" => json!("IMAGE"),
                            "media_product_type" => json!("FEED"),
                            "username" => json!(OWNER_USERNAME),
                            _ => continue,
                        };
                        m.insert(f.name.clone(), v);
                    }
                    Value::Object(m)
                })
                .collect();
            pager(format!("/{node}/media"), scope.clone(), &query).page(total, offset, limit, data)
        }
        "comments" | "media" => return no_such_object(&node),
        _ => {
            return graph_error(
                400,
                2500,
                None,
                "OAuthException",
                &format!("Unknown path components: /{edge}"),
            );
        }
    };
    if body.get("data").is_none() {
        body = json!({ "data": [] });
    }
    let mut r = json_response(StatusCode::OK, body);
    let calls = n.min(99);
    r.headers_mut()
        .insert("x-business-use-case-usage", usage_header(&config, calls, 0));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::http;

    const FIELDS: &str = "id,text,timestamp,username,from{id,username},hidden";

    fn comments_url(origin: &str, extra: &str) -> String {
        format!(
            "{origin}/v23.0/{MEDIA_ID}/comments?fields={}&limit=100{extra}",
            crate::mock::percent_encode(FIELDS)
        )
    }

    fn bearer() -> String {
        format!("Bearer {ACCESS_TOKEN}")
    }

    fn get(url: &str) -> http::Response {
        http::get(url, &[("Authorization", &bearer())]).expect("request")
    }

    /// Follows `paging.cursors.after` until `next` is absent; returns the
    /// ids of every page.
    fn walk(origin: &str, path: &str, fields: &str, limit: usize) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let extra = after
                .as_deref()
                .map(|a| format!("&after={}", crate::mock::percent_encode(a)))
                .unwrap_or_default();
            let r = get(&format!(
                "{origin}/v23.0/{path}?fields={}&limit={limit}{extra}",
                crate::mock::percent_encode(fields)
            ));
            assert_eq!(r.status, 200, "{}", r.text());
            let body = r.json().expect("json");
            let ids = body["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_owned())
                .collect();
            pages.push(ids);
            let Some(next) = body["paging"]["next"].as_str() else {
                break;
            };
            let from_cursors = body["paging"]["cursors"]["after"]
                .as_str()
                .map(str::to_owned);
            let from_next = next
                .split("after=")
                .nth(1)
                .map(|a| decode_query(&format!("a={a}"))[0].1.clone());
            after = from_cursors.or(from_next);
            assert!(pages.len() < 100, "pagination does not end");
        }
        pages
    }

    #[test]
    fn pages_through_every_comment_until_next_is_absent() {
        let ig = start_blocking(Config {
            comments: 230,
            ..Config::default()
        });
        let pages = walk(&ig.origin, &format!("{MEDIA_ID}/comments"), FIELDS, 100);
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            [100, 100, 30]
        );
        let expected: Vec<_> = ig
            .config()
            .threads()
            .into_iter()
            .map(|t| t.top.id)
            .collect();
        assert_eq!(pages.concat(), expected);
        assert_eq!(ig.request_count(), 3);
        assert_eq!(
            ig.credentials_seen().into_iter().collect::<Vec<_>>(),
            [bearer(), ACCESS_TOKEN.to_owned()]
        );
        // Default page size 25.
        let r = get(&format!("{}/v23.0/{MEDIA_ID}/comments", ig.origin));
        assert_eq!(
            r.json().expect("json")["data"].as_array().map(Vec::len),
            Some(25)
        );
    }

    #[test]
    fn comment_shapes_are_metas() {
        let ig = start_blocking(Config {
            comments: 10,
            hidden_every: 4,
            ..Config::default()
        });
        // No fields: timestamp, text and id only.
        let r = get(&format!("{}/v23.0/{MEDIA_ID}/comments", ig.origin));
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=UTF-8")
        );
        let usage: Value =
            serde_json::from_str(r.header("x-business-use-case-usage").expect("usage"))
                .expect("json");
        assert_eq!(usage[IG_USER_ID][0]["estimated_time_to_regain_access"], 0);
        let body = r.json().expect("json");
        let mut keys: Vec<_> = body["data"][0]
            .as_object()
            .expect("comment")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(keys, ["id", "text", "timestamp"]);
        assert_eq!(body["data"][0]["timestamp"], "2022-03-01T18:00:00+0000");
        assert!(
            body["paging"].get("next").is_none(),
            "fewer than a page: no next"
        );
        assert!(
            body["paging"]["cursors"]["after"]
                .as_str()
                .expect("after")
                .starts_with("QVFI")
        );

        let body = get(&comments_url(&ig.origin, "")).json().expect("json");
        let c = &body["data"][3];
        let mut keys: Vec<_> = c.as_object().expect("comment").keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["from", "hidden", "id", "text", "timestamp", "username"]
        );
        assert_eq!(c["hidden"], true, "every fourth comment is hidden");
        assert_eq!(body["data"][2]["hidden"], false);
        let t = &ig.config().threads()[3];
        assert_eq!(
            c["from"],
            json!({ "id": t.top.user_id, "username": t.top.username })
        );
        assert_eq!(t.top.created_at(), "2022-03-01T17:55:33Z");
        assert_eq!(
            body["data"][2]["text"],
            "<b>not bold</b> & \"quoted\" 2\n#Giveaway"
        );
    }

    #[test]
    fn short_and_empty_pages_still_carry_next() {
        let ig = start_blocking(Config {
            comments: 250,
            deleted: (95..210).collect(),
            ..Config::default()
        });
        let pages = walk(&ig.origin, &format!("{MEDIA_ID}/comments"), FIELDS, 100);
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [95, 0, 40]);
        assert_eq!(pages.concat().len(), ig.config().threads().len());
        let empty = get(&comments_url(
            &ig.origin,
            &format!(
                "&after={}",
                crate::mock::percent_encode(&encode_cursor(&format!("{MEDIA_ID}/comments"), 100))
            ),
        ))
        .json()
        .expect("json");
        assert_eq!(empty["data"], json!([]));
        assert!(empty["paging"].get("cursors").is_none());
        assert!(
            empty["paging"]["next"]
                .as_str()
                .expect("next")
                .contains("after=")
        );
    }

    #[test]
    fn nested_replies_and_the_replies_edge() {
        let ig = start_blocking(Config {
            comments: 10,
            max_replies: 6,
            inline_replies: 3,
            ..Config::default()
        });
        let fields = "id,replies{id,text,username,from{id,username},parent_id}";
        let url = format!(
            "{}/v23.0/{MEDIA_ID}/comments?fields={}&limit=100&access_token={ACCESS_TOKEN}",
            ig.origin,
            crate::mock::percent_encode(fields)
        );
        let body = http::get(&url, &[]).expect("request").json().expect("json");
        let threads = ig.config().threads();
        // Comment 2 has 2 replies, all inline; 5 has 5, 3 inline and a next.
        assert_eq!(
            body["data"][2]["replies"]["data"].as_array().map(Vec::len),
            Some(2)
        );
        assert!(
            body["data"][2]["replies"]
                .get("paging")
                .is_some_and(|p| p.get("next").is_none())
        );
        assert!(
            body["data"][0].get("replies").is_none(),
            "no replies, no field"
        );
        let nested = &body["data"][5]["replies"];
        assert_eq!(nested["data"].as_array().map(Vec::len), Some(3));
        assert_eq!(nested["data"][0]["parent_id"], json!(threads[5].top.id));
        assert!(
            nested["data"][0].get("timestamp").is_none(),
            "only the subfields asked for"
        );
        let next = nested["paging"]["next"].as_str().expect("next");
        assert!(
            next.starts_with(&format!(
                "https://graph.facebook.com/v23.0/{}/replies?",
                threads[5].top.id
            )),
            "{next}"
        );
        assert!(
            next.contains(&format!("access_token={ACCESS_TOKEN}")),
            "echoed: {next}"
        );

        let pages = walk(
            &ig.origin,
            &format!("{}/replies", threads[5].top.id),
            "id,text,timestamp",
            2,
        );
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        assert_eq!(
            pages.concat(),
            threads[5]
                .replies
                .iter()
                .map(|r| r.id.clone())
                .collect::<Vec<_>>()
        );
        // A cursor of another list is refused.
        let cursor = encode_cursor(&format!("{MEDIA_ID}/comments"), 1);
        let r = get(&format!(
            "{}/v23.0/{}/replies?after={}",
            ig.origin,
            threads[5].top.id,
            crate::mock::percent_encode(&cursor)
        ));
        assert_eq!(r.status, 400);
        assert_eq!(r.json().expect("json")["error"]["code"], 100);
    }

    #[test]
    fn the_media_list_finds_a_shortcode() {
        let ig = start_blocking(Config::default());
        let pages = walk(
            &ig.origin,
            &format!("{IG_USER_ID}/media"),
            "id,shortcode",
            100,
        );
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [100, 36]);
        let r = get(&format!(
            "{}/v23.0/{IG_USER_ID}/media?fields=id,shortcode,permalink&limit=100&after={}",
            ig.origin,
            crate::mock::percent_encode(&encode_cursor(&format!("{IG_USER_ID}/media"), 100))
        ));
        let body = r.json().expect("json");
        assert_eq!(
            body["data"][30],
            json!({ "id": MEDIA_ID, "shortcode": SHORTCODE, "permalink": format!("https://www.instagram.com/p/{SHORTCODE}/") })
        );
    }

    #[test]
    fn token_errors_have_metas_bodies() {
        let ig = start_blocking(Config::default());
        let url = comments_url(&ig.origin, "");
        let error = |r: http::Response| {
            let e = r.json().expect("json")["error"].clone();
            (
                r.status,
                e["code"].clone(),
                e.get("error_subcode").cloned(),
                e["type"].clone(),
            )
        };
        assert_eq!(
            error(http::get(&url, &[]).expect("request")),
            (400, json!(104), None, json!("OAuthException"))
        );
        assert_eq!(
            error(http::get(&url, &[("Authorization", "Bearer nope")]).expect("request")),
            (400, json!(190), None, json!("OAuthException"))
        );
        let expired =
            http::get(&format!("{url}&access_token={EXPIRED_TOKEN}"), &[]).expect("request");
        assert_eq!(
            error(expired),
            (400, json!(190), Some(json!(463)), json!("OAuthException"))
        );
        let r = get(&format!("{}/v23.0/17895695668004551/comments", ig.origin));
        assert_eq!(
            error(r),
            (
                400,
                json!(100),
                Some(json!(33)),
                json!("GraphMethodException")
            )
        );
        let r = get(&format!("{}/latest/{MEDIA_ID}/comments", ig.origin));
        assert_eq!(r.json().expect("json")["error"]["code"], 2500);
        assert!(ig.credentials_seen().contains("nope"));
    }

    #[test]
    fn throttling_says_when_access_returns_and_outages_are_transient() {
        let ig = start_blocking(Config {
            faults: Faults {
                rate_limit_first: 2,
                rate_limit_reset_secs: 90,
                fail_first: 1,
                ..Faults::default()
            },
            ..Config::default()
        });
        let url = comments_url(&ig.origin, "");
        for _ in 0..2 {
            let r = get(&url);
            assert_eq!(r.status, 400);
            assert_eq!(r.header("retry-after"), None, "Meta sends no Retry-After");
            let usage: Value =
                serde_json::from_str(r.header("x-business-use-case-usage").expect("usage"))
                    .expect("json");
            assert_eq!(usage[IG_USER_ID][0]["estimated_time_to_regain_access"], 2);
            assert_eq!(usage[IG_USER_ID][0]["call_count"], 100);
            let e = r.json().expect("json");
            assert_eq!(e["error"]["code"], 80002);
            assert!(
                e["error"]["message"]
                    .as_str()
                    .expect("message")
                    .starts_with("(#80002)")
            );
        }
        let r = get(&url);
        assert_eq!(r.status, 500);
        assert_eq!(r.json().expect("json")["error"]["is_transient"], true);
        assert_eq!(get(&url).status, 200);

        ig.configure(|c| {
            c.throttled = true;
            c.rate_limit_status = 403;
        });
        assert_eq!(get(&url).status, 403);
        assert_eq!(ig.request_count(), 5);
    }

    #[test]
    fn field_lists_parse() {
        let f = parse_fields("id,from{id,username},replies{id,from{id}},text").expect("fields");
        let names: Vec<_> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "from", "replies", "text"]);
        assert_eq!(f[2].sub[1].sub[0].name, "id");
        assert_eq!(parse_fields("id,from{id"), None);
        assert_eq!(parse_fields("id}"), None);
        assert_eq!(decode_cursor(&encode_cursor("a/b", 7), "a/b"), Some(7));
        assert_eq!(decode_cursor(&encode_cursor("a/b", 7), "a/c"), None);
        assert_eq!(decode_cursor("garbage", "a/b"), None);
    }

    #[tokio::test]
    async fn async_start_serves_on_the_callers_runtime() {
        let ig = start(Config {
            comments: 1,
            ..Config::default()
        })
        .await;
        let url = comments_url(&ig.origin, "");
        let r = tokio::task::spawn_blocking(move || get(&url))
            .await
            .expect("join");
        assert_eq!(r.status, 200);
        assert_eq!(ig.request_count(), 1);
    }
}
