//! Facebook Graph API for one giveaway post of a Page, per the platform
//! facts in `plugins/facebook/README.md` (Meta's Graph API reference,
//! pagination, error-handling and rate-limiting docs):
//!
//! - `GET /vX.Y/{post-id}/comments` — `filter=toplevel` (the default) or
//!   `stream` (every comment in time order, replies with `parent`),
//!   `summary=true`, `limit` (default 25, at most 100), `after`/`before`;
//! - `GET /vX.Y/{comment-id}/comments` — the replies of one comment;
//! - `GET /vX.Y/{post-id}/reactions` — `{id, name, type}`, `summary=total_count`;
//! - `GET /vX.Y/{post-id}/sharedposts` — Post objects of the shares;
//! - `GET /vX.Y/{post-id}` and `GET /vX.Y/{page-id or username}` — the
//!   objects themselves (`created_time`, `id`).
//!
//! Lists are cursor-paged: `paging.cursors.{before,after}` and
//! `paging.next` / `paging.previous` (full URLs that, like Facebook's, echo
//! the query, `access_token` included). The end of a list is the absence of
//! `next`; [`Config::short_pages`] and [`Config::empty_page_at`] serve
//! short and empty pages that still carry one.
//!
//! Credentials: a Page token as `Authorization: Bearer` or `access_token=`.
//! None is `#104`, a wrong one `#190`, the expired one `#190`/`463`, all
//! HTTP 400 in the Graph error envelope. [`Config::from_visible`] false
//! answers as for a token that may not see people: no `from`, no reactor ids.
//! An injected rate limit is HTTP 400 with throttle code
//! [`Config::throttle_code`] in an ordinary error body, `X-App-Usage` at
//! 100% and `X-Business-Use-Case-Usage` with `estimated_time_to_regain_access`
//! (minutes, rounded up from [`Faults::rate_limit_reset_secs`]); every
//! answer carries both headers. 5xx is the transient `#2`. Deleted comments
//! (and their replies) are absent, and their own edge is `#100`/`33`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde_json::{Value, json};

use super::{Fault, Faults, MockHandle, RequestNo, Shared, bearer_token, decode_query};

/// The origin plugins call in production; map it to [`MockHandle::origin`].
pub const PRODUCTION_ORIGIN: &str = "https://graph.facebook.com";
/// The Page that posted the giveaway.
pub const PAGE_ID: &str = "104857600012345";
/// The Page's username (`facebook.com/acmegiveaways`).
pub const PAGE_USERNAME: &str = "acmegiveaways";
/// The Page's name.
pub const PAGE_NAME: &str = "Acme Giveaways";
/// The default post: `{page-id}_{post-id}`.
pub const POST_ID: &str = "104857600012345_1100000000000001";
/// The default valid Page access token.
pub const TOKEN: &str = "EAAmockPageAccessToken0123456789";
/// The default expired token (`#190`, subcode 463).
pub const EXPIRED_TOKEN: &str = "EAAmockExpiredPageToken0123456789";
/// The post's `created_time`.
pub const POST_TIME: &str = "2022-03-01T12:00:00+0000";

/// Unix time of [`POST_TIME`].
const POST_UNIX: i64 = 1_646_136_000;
/// Reaction types, as the Graph API spells them.
pub const REACTION_TYPES: [&str; 6] = ["LIKE", "LOVE", "WOW", "HAHA", "CARE", "SAD"];

/// What the mock serves and how it misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The one post that exists (`{page-id}_{post-id}`).
    pub post_id: String,
    /// Top-level comments.
    pub comments: usize,
    /// Every n-th top-level comment (n-1, 2n-1, …) has replies; 0: none.
    pub replies_every: usize,
    /// Replies of a comment that has some; the first is the Page's own.
    pub replies_per: usize,
    /// Reactions.
    pub reactions: usize,
    /// Shares.
    pub shares: usize,
    /// People the comments, reactions and shares come from (raised to
    /// cover `reactions` and `shares`, which are distinct people).
    pub people: usize,
    /// Every n-th top-level comment comes without `from` (a person who
    /// restricts it); 0: none.
    pub anonymous_every: usize,
    /// Every n-th top-level comment is hidden by the Page; 0: none.
    pub hidden_every: usize,
    /// Indices of deleted top-level comments: absent, with their replies.
    pub deleted: Vec<usize>,
    /// Every other page holds half the `limit`, still with `next`.
    pub short_pages: bool,
    /// The page with this number (1 = the first) of any list is empty but
    /// has `next`.
    pub empty_page_at: Option<usize>,
    /// The valid Page access token.
    pub token: String,
    /// A token that is refused as expired.
    pub expired_token: Option<String>,
    /// Whether the token may see people (`from`, reactor ids and names).
    pub from_visible: bool,
    /// The throttle code of an injected rate limit: 4, 17, 32, 613 or 80001.
    pub throttle_code: u32,
    /// Origin written into `paging` URLs; `None`: the mock's own.
    pub public_origin: Option<String>,
    /// Injected rate limits and 5xx answers.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            post_id: POST_ID.to_owned(),
            comments: 60,
            replies_every: 3,
            replies_per: 2,
            reactions: 150,
            shares: 12,
            people: 200,
            anonymous_every: 0,
            hidden_every: 0,
            deleted: Vec::new(),
            short_pages: false,
            empty_page_at: None,
            token: TOKEN.to_owned(),
            expired_token: Some(EXPIRED_TOKEN.to_owned()),
            from_visible: true,
            throttle_code: 80001,
            public_origin: None,
            faults: Faults::default(),
        }
    }
}

/// A person (or the Page) as the Graph API names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// App- or page-scoped id, numeric.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A tag in a message, at `offset` for `length` UTF-16 code units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The tagged person's or Page's id.
    pub id: String,
    /// The tagged name, as it appears in the message.
    pub name: String,
    /// `user` or `page`.
    pub kind: &'static str,
    /// Start, UTF-16 code units.
    pub offset: usize,
    /// Length, UTF-16 code units.
    pub length: usize,
}

/// A generated comment or reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// `{post-id}_{comment-id}`.
    pub id: String,
    /// The comment it replies to, for a reply.
    pub parent: Option<String>,
    /// The author; `None` when Facebook leaves `from` out.
    pub from: Option<Person>,
    /// Plain text, as typed.
    pub message: String,
    /// Tags of people and Pages in `message`.
    pub tags: Vec<Tag>,
    /// `2022-03-01T12:01:00+0000`.
    pub created_time: String,
    /// Hidden by the Page.
    pub hidden: bool,
}

/// A generated reaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    /// Who reacted.
    pub person: Person,
    /// `LIKE`, `LOVE`, …
    pub kind: &'static str,
}

/// A generated share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// `{sharer-id}_{post-id}`.
    pub id: String,
    /// Who shared; `None` when not visible to the token.
    pub from: Option<Person>,
    /// The sharer's own text (a "quote"), if any.
    pub message: Option<String>,
    /// Tags in `message`.
    pub tags: Vec<Tag>,
    /// When it was shared.
    pub created_time: String,
}

/// A Graph time (`+0000`) as RFC 3339 (`+00:00`), as the plugin writes it.
pub fn rfc3339(graph_time: &str) -> String {
    match graph_time.strip_suffix("+0000") {
        Some(t) => format!("{t}+00:00"),
        None => graph_time.to_owned(),
    }
}

fn graph_time(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]+0000"
    ))
    .unwrap_or_default()
}

const FIRST_NAMES: [&str; 6] = ["Jane", "Zoë", "山田", "Olúwaseun", "Łukasz", "Ana"];

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Appends `name` to `message` as a tag of `person`.
fn push_tag(message: &mut String, tags: &mut Vec<Tag>, person: &Person, kind: &'static str) {
    tags.push(Tag {
        id: person.id.clone(),
        name: person.name.clone(),
        kind,
        offset: utf16_len(message),
        length: utf16_len(&person.name),
    });
    message.push_str(&person.name);
}

impl Config {
    fn pool(&self) -> usize {
        self.people.max(self.reactions).max(self.shares).max(2)
    }

    /// Person `i` of the pool.
    pub fn person(&self, i: usize) -> Person {
        let i = i % self.pool();
        Person {
            id: (100_000_000_000_000u64 + 7919 * i as u64).to_string(),
            name: format!("{} Fan{i}", FIRST_NAMES[i % FIRST_NAMES.len()]),
        }
    }

    /// The Page as an author and tag target.
    pub fn page(&self) -> Person {
        Person {
            id: self.page_id().to_owned(),
            name: PAGE_NAME.to_owned(),
        }
    }

    fn page_id(&self) -> &str {
        self.post_id.split('_').next().unwrap_or(PAGE_ID)
    }

    fn top_message(&self, i: usize) -> (String, Vec<Tag>) {
        let mut m = String::new();
        let mut tags = Vec::new();
        match i % 4 {
            0 => m.push_str("Count me in! #giveaway"),
            1 => {
                m.push_str("🎉 #giveaway tagging ");
                push_tag(&mut m, &mut tags, &self.person(i + 1), "user");
            }
            2 => m.push_str("Me & my friends <3 #Giveaway"),
            _ => {
                push_tag(&mut m, &mut tags, &self.person(i + 2), "user");
                m.push_str(" and ");
                push_tag(&mut m, &mut tags, &self.person(i + 3), "user");
                m.push_str(", good luck! #giveaway @");
                m.push_str(PAGE_USERNAME);
                m.push(' ');
                push_tag(&mut m, &mut tags, &self.page(), "page");
            }
        }
        (m, tags)
    }

    /// Every comment and reply in time order (the `stream` order), deleted
    /// ones included.
    fn all_comments(&self) -> Vec<(usize, Comment)> {
        let mut out = Vec::new();
        let every = |n: usize, i: usize| n > 0 && i % n == n - 1;
        for i in 0..self.comments {
            let t = POST_UNIX + 60 * (i as i64 + 1);
            let id = format!("{}_{}", self.post_id, 2_000_000_000u64 + i as u64);
            let (message, tags) = self.top_message(i);
            out.push((
                i,
                Comment {
                    id: id.clone(),
                    parent: None,
                    from: (!every(self.anonymous_every, i)).then(|| self.person(i)),
                    message,
                    tags,
                    created_time: graph_time(t),
                    hidden: every(self.hidden_every, i),
                },
            ));
            if every(self.replies_every, i) {
                for j in 0..self.replies_per {
                    let from = if j == 0 {
                        self.page()
                    } else {
                        self.person(i + 7 * j)
                    };
                    let mut message = String::new();
                    let mut tags = Vec::new();
                    if j == 0 {
                        message.push_str("Good luck ");
                        if let Some(author) = out.last().and_then(|(_, c)| c.from.clone()) {
                            push_tag(&mut message, &mut tags, &author, "user");
                        }
                        message.push('!');
                    } else {
                        message.push_str(&format!("reply {j} #giveaway"));
                    }
                    out.push((
                        i,
                        Comment {
                            id: format!(
                                "{}_{}",
                                self.post_id,
                                3_000_000_000u64 + (i * 100 + j) as u64
                            ),
                            parent: Some(id.clone()),
                            from: Some(from),
                            message,
                            tags,
                            created_time: graph_time(t + 10 * (j as i64 + 1)),
                            hidden: false,
                        },
                    ));
                }
            }
        }
        out
    }

    /// Top-level comments as `filter=toplevel` lists them (deleted ones gone).
    pub fn toplevel(&self) -> Vec<Comment> {
        self.stream()
            .into_iter()
            .filter(|c| c.parent.is_none())
            .collect()
    }

    /// Every comment as `filter=stream` lists them (deleted ones and their
    /// replies gone).
    pub fn stream(&self) -> Vec<Comment> {
        self.all_comments()
            .into_iter()
            .filter(|(i, _)| !self.deleted.contains(i))
            .map(|(_, c)| c)
            .collect()
    }

    /// The replies of comment `id`, or `None` when it does not exist or was deleted.
    pub fn replies_of(&self, id: &str) -> Option<Vec<Comment>> {
        let all = self.all_comments();
        let (i, _) = all.iter().find(|(_, c)| c.id == id)?;
        if self.deleted.contains(i) {
            return None;
        }
        Some(
            all.iter()
                .filter(|(_, c)| c.parent.as_deref() == Some(id))
                .map(|(_, c)| c.clone())
                .collect(),
        )
    }

    /// The reactions, newest first.
    pub fn reactions_list(&self) -> Vec<Reaction> {
        (0..self.reactions)
            .map(|k| Reaction {
                person: self.person(k),
                kind: REACTION_TYPES[k % REACTION_TYPES.len()],
            })
            .collect()
    }

    /// The shares, newest first; every fifth sharer is not visible, every
    /// third share is a quote with a tag.
    pub fn shares_list(&self) -> Vec<Share> {
        let pool = self.pool();
        (0..self.shares)
            .map(|k| {
                let person = self.person(pool - 1 - k);
                let (message, tags) = if k % 3 == 0 {
                    let mut m = String::from("Look ");
                    let mut tags = Vec::new();
                    push_tag(&mut m, &mut tags, &self.person(k + 1), "user");
                    m.push_str(", a giveaway!");
                    (Some(m), tags)
                } else {
                    (None, Vec::new())
                };
                Share {
                    id: format!("{}_{}", person.id, 4_000_000_000u64 + k as u64),
                    from: (k % 5 != 4).then_some(person),
                    message,
                    tags,
                    created_time: graph_time(POST_UNIX + 3600 * 24 - 120 * k as i64),
                }
            })
            .collect()
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
        .route("/{version}/{object}", get(object))
        .route("/{version}/{object}/{edge}", get(edge))
        .fallback(unknown_path)
        .with_state(shared)
}

/// The Graph error envelope with `status`.
fn graph_error(
    status: StatusCode,
    code: u32,
    subcode: Option<u32>,
    kind: &str,
    message: &str,
) -> Response {
    let mut error = json!({
        "message": message, "type": kind, "code": code, "fbtrace_id": "AmockTrace0123456789",
    });
    if let Some(s) = subcode {
        error["error_subcode"] = json!(s);
    }
    if code == 2 {
        error["is_transient"] = json!(true);
    }
    (status, Json(json!({ "error": error }))).into_response()
}

async fn unknown_path(_req: Request) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        2500,
        None,
        "OAuthException",
        "Unknown path components",
    )
}

fn not_found(id: &str) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        Some(33),
        "GraphMethodException",
        &format!(
            "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
    )
}

/// Per-request view after the gate.
struct Ctx {
    config: Config,
    origin: String,
    query: Vec<(String, String)>,
    version: String,
    n: u64,
}

impl Ctx {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// 200 with the usage headers.
    fn ok(&self, body: Value) -> Response {
        let pct = (self.n * 3 % 60) as u32;
        let mut r = (StatusCode::OK, Json(body)).into_response();
        usage_headers(&mut r, &self.config, pct, 0);
        r
    }

    fn fields(&self) -> Vec<&str> {
        self.param("fields")
            .map(|f| top_level_fields(f))
            .unwrap_or_default()
    }
}

/// The top-level names of a `fields` value: `a,b{c,d},e` → a, b, e.
fn top_level_fields(f: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in f.char_indices() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push(&f[start..i]);
                }
                depth += 1;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                start = i + 1;
            }
            ',' if depth == 0 => {
                if start < i {
                    out.push(&f[start..i]);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < f.len() && depth == 0 {
        out.push(&f[start..]);
    }
    out.into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn usage_headers(r: &mut Response, config: &Config, pct: u32, regain_minutes: u64) {
    let app = json!({ "call_count": pct, "total_time": pct / 2, "total_cputime": pct / 3 });
    let buc = json!({ config.page_id(): [{
        "type": "pages", "call_count": pct, "total_cputime": pct / 3, "total_time": pct / 2,
        "estimated_time_to_regain_access": regain_minutes,
    }]});
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&app.to_string()) {
        h.insert("x-app-usage", v);
    }
    if let Ok(v) = HeaderValue::from_str(&buc.to_string()) {
        h.insert("x-business-use-case-usage", v);
    }
}

/// Checks the version, the token and injected faults.
fn gate(
    shared: &Shared<Config>,
    headers: &HeaderMap,
    n: u64,
    version: &str,
    raw: Option<&str>,
) -> Result<Ctx, Response> {
    let config = shared.config();
    let query = raw.map(decode_query).unwrap_or_default();
    let valid_version = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && (a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit())
        });
    if !valid_version {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            2635,
            None,
            "OAuthException",
            &format!("Unknown API version {version:?}"),
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(str::to_owned)
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.clone())
        });
    match token {
        None => {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                104,
                None,
                "OAuthException",
                "An access token is required to request this resource.",
            ));
        }
        Some(t) if config.expired_token.as_deref() == Some(t.as_str()) => {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                190,
                Some(463),
                "OAuthException",
                "Error validating access token: Session has expired on Thursday, 05-Feb-26 15:00:00 PST. The current time is Thursday, 05-Feb-26 15:25:03 PST.",
            ));
        }
        Some(t) if t != config.token => {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                190,
                None,
                "OAuthException",
                "Invalid OAuth access token - Cannot parse access token",
            ));
        }
        Some(_) => {}
    }
    match config.faults.for_request(n) {
        Some(Fault::RateLimited) => {
            let code = config.throttle_code;
            let message = match code {
                4 => "(#4) Application request limit reached".to_owned(),
                17 => "(#17) User request limit reached".to_owned(),
                32 => "(#32) Page request limit reached".to_owned(),
                613 => "(#613) Calls to this api have exceeded the rate limit.".to_owned(),
                _ => format!(
                    "(#{code}) There have been too many calls to this Page account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
                ),
            };
            let mut r = graph_error(
                StatusCode::BAD_REQUEST,
                code,
                None,
                "OAuthException",
                &message,
            );
            let minutes = config.faults.rate_limit_reset_secs.div_ceil(60);
            usage_headers(&mut r, &config, 100, minutes);
            return Err(r);
        }
        Some(Fault::ServerError) => {
            return Err(graph_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                2,
                None,
                "OAuthException",
                "An unexpected error has occurred. Please retry your request later.",
            ));
        }
        None => {}
    }
    let origin = match &config.public_origin {
        Some(o) => o.trim_end_matches('/').to_owned(),
        None => format!(
            "http://{}",
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("127.0.0.1")
        ),
    };
    Ok(Ctx {
        config,
        origin,
        query,
        version: version.to_owned(),
        n,
    })
}

/// A page cursor: the position and the page number, base64 as Facebook's
/// opaque `QVFI…` cursors are.
fn encode_cursor(pos: usize, page: usize) -> String {
    STANDARD_NO_PAD.encode(format!("fbmock:{pos}:{page}"))
}

fn decode_cursor(c: &str) -> Option<(usize, usize)> {
    let bytes = STANDARD_NO_PAD.decode(c.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("fbmock:")?;
    let (pos, page) = rest.split_once(':')?;
    Some((pos.parse().ok()?, page.parse().ok()?))
}

/// One page of `items` at the request's cursor, with `paging` as Facebook
/// writes it; `extra` members are added to the body (e.g. `summary`).
fn paged(ctx: &Ctx, path: &str, items: Vec<Value>, extra: Option<(&str, Value)>) -> Response {
    let limit = match ctx.param("limit") {
        None => 25,
        Some(l) => match l.parse::<usize>() {
            Ok(l) => l.clamp(1, 100),
            Err(_) => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    None,
                    "OAuthException",
                    "(#100) The parameter limit must be an integer",
                );
            }
        },
    };
    let (pos, page) = match ctx.param("after") {
        None => (0, 1),
        Some(c) => match decode_cursor(c) {
            Some((pos, page)) if pos <= items.len() => (pos, page + 1),
            _ => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    None,
                    "OAuthException",
                    "(#100) The after cursor is not valid",
                );
            }
        },
    };
    let take = if ctx.config.empty_page_at == Some(page) {
        0
    } else if ctx.config.short_pages && page % 2 == 0 {
        (limit / 2).max(1)
    } else {
        limit
    };
    let end = (pos + take).min(items.len());
    let data: Vec<Value> = items[pos..end].to_vec();
    let mut body = json!({ "data": data });
    if !items.is_empty() {
        let link = |cursor_name: &str, cursor: &str| {
            let mut q: Vec<String> = ctx
                .query
                .iter()
                .filter(|(k, _)| k != "after" && k != "before")
                .map(|(k, v)| format!("{}={}", super::percent_encode(k), super::percent_encode(v)))
                .collect();
            q.push(format!("{cursor_name}={}", super::percent_encode(cursor)));
            format!("{}/{}/{path}?{}", ctx.origin, ctx.version, q.join("&"))
        };
        let before = encode_cursor(pos, page);
        let after = encode_cursor(end, page);
        let mut paging = json!({ "cursors": { "before": before, "after": after } });
        if end < items.len() {
            paging["next"] = json!(link("after", &after));
        }
        if pos > 0 {
            paging["previous"] = json!(link("before", &before));
        }
        body["paging"] = paging;
    }
    if let Some((k, v)) = extra {
        body[k] = v;
    }
    ctx.ok(body)
}

fn tags_json(tags: &[Tag]) -> Value {
    json!(tags
        .iter()
        .map(|t| json!({ "id": t.id, "name": t.name, "type": t.kind, "offset": t.offset, "length": t.length }))
        .collect::<Vec<_>>())
}

/// A comment with the requested fields (all when `fields` is absent, as
/// far as the defaults go: `created_time`, `from`, `message`, `id`).
fn comment_json(ctx: &Ctx, c: &Comment) -> Value {
    let fields = ctx.fields();
    let want = |f: &str| {
        fields.is_empty() && matches!(f, "id" | "message" | "created_time" | "from")
            || fields.contains(&f)
    };
    let mut v = json!({});
    if want("created_time") {
        v["created_time"] = json!(c.created_time);
    }
    if want("from")
        && ctx.config.from_visible
        && let Some(p) = &c.from
    {
        v["from"] = json!({ "name": p.name, "id": p.id });
    }
    if want("message") {
        v["message"] = json!(c.message);
    }
    if want("message_tags") && !c.tags.is_empty() {
        v["message_tags"] = tags_json(&c.tags);
    }
    if want("parent")
        && let Some(p) = &c.parent
    {
        v["parent"] = json!({ "id": p });
    }
    if want("is_hidden") {
        v["is_hidden"] = json!(c.hidden);
    }
    if want("like_count") {
        v["like_count"] = json!(0);
    }
    if want("comment_count") {
        v["comment_count"] = json!(if c.parent.is_none() {
            ctx.config.replies_of(&c.id).map_or(0, |r| r.len())
        } else {
            0
        });
    }
    if want("id") {
        v["id"] = json!(c.id);
    }
    v
}

fn comments_summary(total: usize) -> Value {
    json!({ "order": "chronological", "total_count": total, "can_comment": true })
}

async fn object(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path((version, object)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match gate(&shared, &headers, n, &version, raw.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let fields = ctx.fields();
    if object == ctx.config.post_id {
        let mut v = json!({ "id": object, "created_time": POST_TIME });
        if fields.contains(&"message") {
            v["message"] = json!("🎁 GIVEAWAY! Comment, react and share to enter. #giveaway");
        }
        if fields.contains(&"shares") {
            v["shares"] = json!({ "count": ctx.config.shares });
        }
        return ctx.ok(v);
    }
    if object == ctx.config.page_id() || object.eq_ignore_ascii_case(PAGE_USERNAME) {
        return ctx.ok(json!({ "id": ctx.config.page_id(), "name": PAGE_NAME }));
    }
    if object.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return not_found(&object);
    }
    graph_error(
        StatusCode::NOT_FOUND,
        803,
        None,
        "OAuthException",
        &format!("(#803) Some of the aliases you requested do not exist: {object}"),
    )
}

async fn edge(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path((version, object, edge)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match gate(&shared, &headers, n, &version, raw.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let path = format!("{object}/{edge}");
    let is_post = object == ctx.config.post_id;
    match edge.as_str() {
        "comments" if is_post => {
            let list = match ctx.param("filter") {
                None | Some("toplevel") => ctx.config.toplevel(),
                Some("stream") => ctx.config.stream(),
                Some(other) => {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        100,
                        None,
                        "OAuthException",
                        &format!(
                            "(#100) filter must be one of the following values: toplevel, stream (got {other})"
                        ),
                    );
                }
            };
            let total = list.len();
            let items = list.iter().map(|c| comment_json(&ctx, c)).collect();
            let summary = (ctx.param("summary") == Some("true"))
                .then(|| ("summary", comments_summary(total)));
            paged(&ctx, &path, items, summary)
        }
        "comments" => match ctx.config.replies_of(&object) {
            Some(list) => {
                let total = list.len();
                let items = list.iter().map(|c| comment_json(&ctx, c)).collect();
                let summary = (ctx.param("summary") == Some("true"))
                    .then(|| ("summary", comments_summary(total)));
                paged(&ctx, &path, items, summary)
            }
            None => not_found(&object),
        },
        "reactions" if is_post => {
            let list = ctx.config.reactions_list();
            let total = list.len();
            let wanted = ctx.param("type");
            let items = list
                .iter()
                .filter(|r| wanted.is_none_or(|t| t.eq_ignore_ascii_case(r.kind)))
                .map(|r| {
                    if ctx.config.from_visible {
                        json!({ "id": r.person.id, "name": r.person.name, "type": r.kind })
                    } else {
                        json!({ "type": r.kind })
                    }
                })
                .collect();
            let summary = ctx
                .param("summary")
                .is_some_and(|s| s.contains("total_count") || s == "true")
                .then(|| {
                    (
                        "summary",
                        json!({ "total_count": total, "viewer_reaction": "NONE" }),
                    )
                });
            paged(&ctx, &path, items, summary)
        }
        "sharedposts" if is_post => {
            let items = ctx
                .config
                .shares_list()
                .iter()
                .map(|s| {
                    let mut v = json!({ "id": s.id, "created_time": s.created_time });
                    if ctx.config.from_visible
                        && let Some(p) = &s.from
                    {
                        v["from"] = json!({ "name": p.name, "id": p.id });
                        v["story"] = json!(format!("{} shared a post.", p.name));
                    }
                    if let Some(m) = &s.message {
                        v["message"] = json!(m);
                        if !s.tags.is_empty() {
                            v["message_tags"] = tags_json(&s.tags);
                        }
                    }
                    v
                })
                .collect();
            paged(&ctx, &path, items, None)
        }
        _ if is_post => graph_error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            "OAuthException",
            &format!("(#100) Tried accessing nonexisting field ({edge}) on node type (Post)"),
        ),
        _ => not_found(&object),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::http;

    fn auth() -> String {
        format!("Bearer {TOKEN}")
    }

    /// Follows `paging.next` (rewritten to the mock) until it is absent;
    /// returns the pages.
    fn walk(m: &MockHandle<Config>, first: &str) -> Vec<Value> {
        let mut url = format!("{}{first}", m.origin);
        let mut pages = Vec::new();
        loop {
            let r = http::get(&url, &[("Authorization", &auth())]).expect("request");
            assert_eq!(r.status, 200, "{}", r.text());
            assert!(r.header("x-app-usage").is_some());
            let page = r.json().expect("json");
            let next = page["paging"]["next"].as_str().map(str::to_owned);
            pages.push(page);
            match next {
                Some(next) => url = next.replace(PRODUCTION_ORIGIN, &m.origin),
                None => return pages,
            }
            assert!(pages.len() < 100, "pagination does not end");
        }
    }

    fn ids(pages: &[Value]) -> Vec<String> {
        pages
            .iter()
            .flat_map(|p| p["data"].as_array().cloned().unwrap_or_default())
            .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn comments_page_by_cursor_until_next_is_absent_with_short_and_empty_pages() {
        let m = start_blocking(Config {
            comments: 50,
            short_pages: true,
            empty_page_at: Some(3),
            public_origin: Some(PRODUCTION_ORIGIN.into()),
            ..Config::default()
        });
        let pages = walk(
            &m,
            &format!(
                "/v23.0/{POST_ID}/comments?fields=id,message,from{{id,name}},created_time&limit=20&summary=true"
            ),
        );
        let sizes: Vec<usize> = pages
            .iter()
            .map(|p| p["data"].as_array().map_or(0, Vec::len))
            .collect();
        // 20, short 10 (even pages), the empty page 3, short 10, the last 10.
        assert_eq!(sizes, [20, 10, 0, 10, 10]);
        assert!(
            pages[2]["paging"]["next"].is_string(),
            "an empty page still has next"
        );
        let last = &pages[4]["paging"];
        assert!(last["next"].is_null() && last["cursors"]["after"].is_string());
        assert_eq!(pages[0]["summary"]["total_count"], 50);
        let expected: Vec<_> = m.config().toplevel().into_iter().map(|c| c.id).collect();
        assert_eq!(ids(&pages), expected);
        let next = pages[0]["paging"]["next"].as_str().expect("next");
        assert!(
            next.starts_with(&format!(
                "{PRODUCTION_ORIGIN}/v23.0/{POST_ID}/comments?fields="
            )),
            "{next}"
        );
        // The first comment has the documented shape, times with +0000.
        let c = &pages[0]["data"][0];
        assert_eq!(c["created_time"], "2022-03-01T12:01:00+0000");
        assert!(c["from"]["id"].is_string() && c["from"]["name"].is_string());
        assert!(
            c["id"]
                .as_str()
                .is_some_and(|id| id.starts_with(&format!("{POST_ID}_")))
        );
        assert!(c.get("parent").is_none() && c.get("message_tags").is_none());
    }

    #[test]
    fn stream_interleaves_replies_with_parent_and_tags_are_utf16() {
        let m = start_blocking(Config {
            comments: 8,
            ..Config::default()
        });
        let pages = walk(
            &m,
            &format!(
                "/v23.0/{POST_ID}/comments?filter=stream&fields=id,message,from%7Bid,name%7D,parent%7Bid%7D,message_tags&limit=100"
            ),
        );
        let data = pages[0]["data"].as_array().expect("data");
        // 8 comments; the 3rd and 6th have 2 replies each.
        assert_eq!(data.len(), 12);
        assert_eq!(data[3]["parent"]["id"], data[2]["id"]);
        assert_eq!(data[3]["from"]["id"], PAGE_ID, "the Page answers first");
        // Comment 1 tags a person after an emoji: offsets count UTF-16 units.
        let c1 = &data[1];
        let msg = c1["message"].as_str().expect("message");
        let tag = &c1["message_tags"][0];
        let units: Vec<u16> = msg.encode_utf16().collect();
        let (o, l) = (
            tag["offset"].as_u64().unwrap_or(0) as usize,
            tag["length"].as_u64().unwrap_or(0) as usize,
        );
        assert_eq!(
            String::from_utf16_lossy(&units[o..o + l]),
            tag["name"].as_str().expect("name")
        );
        assert!(msg.starts_with("🎉"));
        // The replies of one comment, by the nested edge.
        let id = data[2]["id"].as_str().expect("id");
        let replies = walk(&m, &format!("/v23.0/{id}/comments"));
        assert_eq!(
            ids(&replies),
            [
                data[3]["id"].as_str().unwrap_or(""),
                data[4]["id"].as_str().unwrap_or("")
            ]
        );
    }

    #[test]
    fn deleted_hidden_and_anonymous_comments() {
        let m = start_blocking(Config {
            comments: 9,
            deleted: vec![2],
            hidden_every: 4,
            anonymous_every: 5,
            ..Config::default()
        });
        let top = m.config().toplevel();
        assert_eq!(top.len(), 8);
        let pages = walk(
            &m,
            &format!("/v23.0/{POST_ID}/comments?fields=id,from,is_hidden&limit=100"),
        );
        let data = pages[0]["data"].as_array().expect("data");
        assert_eq!(data.len(), 8);
        // Index 3 (hidden) and 4 (no from) after the deleted index 2.
        assert_eq!(data[2]["is_hidden"], true);
        assert!(data[3].get("from").is_none());
        assert!(data[0].get("from").is_some());
        // The deleted comment's replies are gone from the stream, and its edge is #100/33.
        let stream = m.config().stream();
        assert!(stream.iter().all(|c| {
            !c.parent
                .as_deref()
                .is_some_and(|p| p.ends_with("2000000002"))
        }));
        let r = http::get(
            &format!("{}/v23.0/{POST_ID}_2000000002/comments", m.origin),
            &[("Authorization", &auth())],
        )
        .expect("request");
        assert_eq!(r.status, 400);
        assert_eq!(r.json().expect("json")["error"]["error_subcode"], 33);
    }

    #[test]
    fn reactions_shares_and_objects() {
        let m = start_blocking(Config {
            reactions: 130,
            ..Config::default()
        });
        let pages = walk(
            &m,
            &format!(
                "/v23.0/{POST_ID}/reactions?fields=id,name,type&summary=total_count&limit=100"
            ),
        );
        assert_eq!(pages.len(), 2);
        assert_eq!(
            pages[0]["summary"],
            json!({ "total_count": 130, "viewer_reaction": "NONE" })
        );
        let kinds: Vec<_> = pages[0]["data"]
            .as_array()
            .expect("data")
            .iter()
            .take(3)
            .map(|r| r["type"].clone())
            .collect();
        assert_eq!(kinds, [json!("LIKE"), json!("LOVE"), json!("WOW")]);
        let shares = walk(&m, &format!("/v23.0/{POST_ID}/sharedposts?limit=100"));
        let data = shares[0]["data"].as_array().expect("data");
        assert_eq!(data.len(), 12);
        assert!(data[0]["message"].is_string() && data[0]["message_tags"].is_array());
        assert!(data[4].get("from").is_none(), "an invisible sharer");
        let r = http::get(
            &format!("{}/v23.0/{POST_ID}?fields=created_time", m.origin),
            &[("Authorization", &auth())],
        )
        .expect("request");
        assert_eq!(
            r.json().expect("json"),
            json!({ "id": POST_ID, "created_time": POST_TIME })
        );
        let r = http::get(
            &format!("{}/v23.0/{PAGE_USERNAME}?fields=id", m.origin),
            &[("Authorization", &auth())],
        )
        .expect("request");
        assert_eq!(r.json().expect("json")["id"], PAGE_ID);
        let r = http::get(
            &format!("{}/v23.0/nosuchpage?fields=id", m.origin),
            &[("Authorization", &auth())],
        )
        .expect("request");
        assert_eq!(r.json().expect("json")["error"]["code"], 803);
        // A token that may not see people: no from, no reactor ids.
        m.configure(|c| c.from_visible = false);
        let r = http::get(
            &format!("{}/v23.0/{POST_ID}/reactions?limit=1", m.origin),
            &[("Authorization", &auth())],
        )
        .expect("request");
        assert_eq!(r.json().expect("json")["data"], json!([{ "type": "LIKE" }]));
    }

    #[test]
    fn tokens_throttling_and_server_errors_have_the_graph_bodies() {
        let m = start_blocking(Config::default());
        let url = format!("{}/v23.0/{POST_ID}/comments", m.origin);
        let code = |r: &http::Response| {
            (
                r.status,
                r.json().expect("json")["error"]["code"].clone(),
                r.json().expect("json")["error"]["error_subcode"].clone(),
            )
        };
        let r = http::get(&url, &[]).expect("request");
        assert_eq!(code(&r), (400, json!(104), Value::Null));
        let r = http::get(&url, &[("Authorization", "Bearer nope")]).expect("request");
        assert_eq!(code(&r), (400, json!(190), Value::Null));
        let r = http::get(&format!("{url}?access_token={EXPIRED_TOKEN}"), &[]).expect("request");
        assert_eq!(code(&r), (400, json!(190), json!(463)));
        let r = http::get(&format!("{url}?access_token={TOKEN}"), &[]).expect("request");
        assert_eq!(r.status, 200, "a token in the query works too");
        let next = r.json().expect("json")["paging"]["next"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            next.contains(&format!("access_token={TOKEN}")),
            "next echoes the query: {next}"
        );

        m.configure(|c| {
            c.throttle_code = 32;
            c.faults = Faults {
                rate_limit_first: 1,
                rate_limit_reset_secs: 90,
                ..Faults::default()
            };
        });
        m.reset();
        let r = http::get(&url, &[("Authorization", &auth())]).expect("request");
        assert_eq!(code(&r), (400, json!(32), Value::Null));
        assert_eq!(
            r.json().expect("json")["error"]["message"],
            "(#32) Page request limit reached"
        );
        assert_eq!(r.header("retry-after"), None);
        let buc: Value = serde_json::from_str(r.header("x-business-use-case-usage").expect("BUC"))
            .expect("json");
        assert_eq!(buc[PAGE_ID][0]["estimated_time_to_regain_access"], 2);
        let app: Value =
            serde_json::from_str(r.header("x-app-usage").expect("app usage")).expect("json");
        assert_eq!(app["call_count"], 100);
        assert_eq!(
            http::get(&url, &[("Authorization", &auth())])
                .expect("request")
                .status,
            200
        );

        m.configure(|c| {
            c.faults = Faults {
                fail_first: 1,
                ..Faults::default()
            }
        });
        m.reset();
        let r = http::get(&url, &[("Authorization", &auth())]).expect("request");
        assert_eq!(code(&r), (500, json!(2), Value::Null));
        assert_eq!(r.json().expect("json")["error"]["is_transient"], true);
        let r = http::get(
            &format!("{}/v23.0/{POST_ID}/comments?after=garbage", m.origin),
            &[("Authorization", &auth())],
        )
        .expect("request");
        assert_eq!(code(&r), (400, json!(100), Value::Null));
        let r = http::get(
            &format!("{}/v23.0/1_2/comments", m.origin),
            &[("Authorization", &auth())],
        )
        .expect("request");
        assert_eq!(code(&r), (400, json!(100), json!(33)));
        let r = http::get(
            &format!("{}/latest/{POST_ID}", m.origin),
            &[("Authorization", &auth())],
        )
        .expect("request");
        assert_eq!(r.status, 400);
    }

    #[test]
    fn fields_parse_and_generation_is_deterministic() {
        assert_eq!(
            top_level_fields("id,from{id,name},parent{id},message"),
            ["id", "from", "parent", "message"]
        );
        assert_eq!(Config::default().stream(), Config::default().stream());
        assert_eq!(
            rfc3339("2022-03-01T12:00:00+0000"),
            "2022-03-01T12:00:00+00:00"
        );
        let c = Config::default();
        let reactors: std::collections::BTreeSet<_> = c
            .reactions_list()
            .into_iter()
            .map(|r| r.person.id)
            .collect();
        assert_eq!(reactors.len(), c.reactions);
        assert_eq!(decode_cursor(&encode_cursor(7, 3)), Some((7, 3)));
    }
}
