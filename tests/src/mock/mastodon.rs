//! A Mastodon instance's REST API for one giveaway post, per
//! `shared/platforms/mastodon.md`:
//!
//! - `GET /api/v1/statuses/:id` — the post;
//! - `GET /api/v1/statuses/:id/context` — replies as a flat, depth-first
//!   `descendants` list (a tree through `in_reply_to_id`), not paginated;
//!   without a token at most 60 descendants, as real instances cut it;
//! - `GET /api/v1/statuses/:id/favourited_by` and `/reblogged_by` —
//!   accounts, newest first, paged by the `Link` header (`max_id`), with
//!   Mastodon's quirk that a full last page still links to a next, empty one.
//!
//! A wrong token gets 401 `{"error":"The access token is invalid"}`; an
//! injected rate limit 429 with `X-RateLimit-Reset` as an ISO 8601 time with
//! microseconds and no `Retry-After`. Every answer carries the
//! `X-RateLimit-*` headers. Links point at [`Config::public_origin`] (the
//! origin the client believes it talks to) when set.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{Fault, Faults, MockHandle, RequestNo, Shared, bearer_token, decode_query};

/// The origin plugins call in production; map it to [`MockHandle::origin`].
pub const PRODUCTION_ORIGIN: &str = "https://mastodon.social";
/// The default giveaway post: a snowflake id of 2022-03-01T12:00:00.000Z.
pub const STATUS_ID: &str = "107881168896000000";
/// The local account that posted the giveaway.
pub const AUTHOR: &str = "giveaway";
/// The default valid access token.
pub const TOKEN: &str = "mastodon-mock-user-token-0123456789";

/// Unix milliseconds of the giveaway post.
const POST_MS: i64 = 1_646_136_000_000;
/// X-RateLimit-Limit, Mastodon's default per-account limit per 5 minutes.
const RATE_LIMIT: u64 = 300;

/// What the mock serves and how it misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The one status that exists; others are 404 `Record not found`.
    pub status_id: String,
    /// Replies in the post's context.
    pub replies: usize,
    /// Accounts that favourited the post.
    pub favourites: usize,
    /// Accounts that boosted the post.
    pub reblogs: usize,
    /// Size of the account pool replies, favourites and boosts draw from
    /// (raised to cover `favourites` and `reblogs`, which are distinct).
    pub accounts: usize,
    /// The valid bearer token; any other token is 401.
    pub token: Option<String>,
    /// Refuse requests without a token (an instance in secure mode).
    pub require_token: bool,
    /// Origin written into `Link` headers and URLs; `None`: the mock's own.
    pub public_origin: Option<String>,
    /// Descendants served without a token (Mastodon: 60).
    pub unauthenticated_descendants: usize,
    /// Injected rate limits and 5xx answers.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            status_id: STATUS_ID.to_owned(),
            replies: 45,
            favourites: 120,
            reblogs: 50,
            accounts: 150,
            token: Some(TOKEN.to_owned()),
            require_token: false,
            public_origin: None,
            unauthenticated_descendants: 60,
            faults: Faults::default(),
        }
    }
}

/// A generated account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The account id (a string, as Mastodon sends it): the entrant identity.
    pub id: String,
    /// Username without domain.
    pub username: String,
    /// `username` for local accounts, `username@domain` for remote ones.
    pub acct: String,
    /// Display name (may hold non-ASCII).
    pub display_name: String,
    /// Account creation, midnight UTC, `2020-01-05T00:00:00.000Z`.
    pub created_at: String,
    /// Followers.
    pub followers_count: u64,
    /// Marked as a bot.
    pub bot: bool,
    /// The account's domain, `None` when local.
    pub domain: Option<&'static str>,
}

/// A generated reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Status id (snowflake).
    pub id: String,
    /// The status it answers: the post or an earlier reply.
    pub in_reply_to_id: String,
    /// Who wrote it.
    pub account: Account,
    /// `content`: sanitized HTML.
    pub content: String,
    /// `2022-03-01T12:00:53.000Z`.
    pub created_at: String,
}

const REMOTE_DOMAINS: [&str; 3] = ["fosstodon.example", "hachyderm.example", "social.example"];

fn format_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}

/// ISO 8601 with microseconds, as Mastodon's `X-RateLimit-Reset`.
fn format_micros(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    ))
    .unwrap_or_default()
}

fn snowflake(ms: i64, seq: u64) -> String {
    ((u64::try_from(ms).unwrap_or(0) << 16) | (seq & 0xffff)).to_string()
}

impl Config {
    fn pool(&self) -> usize {
        self.accounts.max(self.favourites).max(self.reblogs).max(1)
    }

    /// Account `i` of the pool.
    pub fn account(&self, i: usize) -> Account {
        let domain = (i % 3 == 1).then(|| REMOTE_DOMAINS[i / 3 % REMOTE_DOMAINS.len()]);
        let username = format!("fan{i}");
        let acct = match domain {
            Some(d) => format!("{username}@{d}"),
            None => username.clone(),
        };
        // Every tenth account is one day old at the post; others older.
        let days_before = if i % 10 == 9 { 1 } else { 30 + 11 * i as i64 };
        let created = (POST_MS / 86_400_000 - days_before) * 86_400_000;
        Account {
            id: if i.is_multiple_of(4) {
                (1000 + 37 * i).to_string()
            } else {
                snowflake(created, i as u64)
            },
            display_name: match i % 5 {
                0 => format!("Zoë {i}"),
                1 => format!("fan {i} 🎲"),
                _ => format!("Fan {i}"),
            },
            username,
            acct,
            created_at: format_ms(created),
            followers_count: if i % 10 == 9 {
                0
            } else {
                (i as u64 * 7919) % 2000
            },
            bot: i % 13 == 12,
            domain,
        }
    }

    /// The post's replies in the order `context` lists them (depth-first).
    pub fn descendants(&self) -> Vec<Reply> {
        let pool = self.pool();
        let mut out: Vec<Reply> = Vec::with_capacity(self.replies);
        for r in 0..self.replies {
            let ms = POST_MS + 53_000 * (r as i64 + 1) + 11;
            let account = self.account(r * 7 % pool);
            // Every fourth reply answers the one before it, so the list is
            // a tree and still depth-first.
            let in_reply_to_id = match out.last() {
                Some(prev) if r % 4 == 3 => prev.id.clone(),
                _ => self.status_id.clone(),
            };
            let content = format!(
                "<p><span class=\"h-card\" translate=\"no\"><a href=\"{}/@{AUTHOR}\" class=\"u-url mention\">@<span>{AUTHOR}</span></a></span> count me in! reply {r} &amp; good luck</p>",
                PRODUCTION_ORIGIN
            );
            out.push(Reply {
                id: snowflake(ms, r as u64),
                in_reply_to_id,
                account,
                content,
                created_at: format_ms(ms),
            });
        }
        out
    }

    /// Accounts that favourited the post, newest favourite first.
    pub fn favourited_by(&self) -> Vec<Account> {
        (0..self.favourites)
            .rev()
            .map(|f| self.account(f))
            .collect()
    }

    /// Accounts that boosted the post, newest boost first.
    pub fn reblogged_by(&self) -> Vec<Account> {
        let pool = self.pool();
        (0..self.reblogs)
            .rev()
            .map(|b| self.account(pool - 1 - b))
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

/// Per-request view: the config, the origin to write, and whether authenticated.
struct Ctx {
    config: Config,
    origin: String,
    authed: bool,
    n: u64,
}

fn app(shared: Arc<Shared<Config>>) -> Router {
    Router::new()
        .route("/api/v1/statuses/{id}", get(status))
        .route("/api/v1/statuses/{id}/context", get(context))
        .route("/api/v1/statuses/{id}/favourited_by", get(favourited_by))
        .route("/api/v1/statuses/{id}/reblogged_by", get(reblogged_by))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found(_req: Request) -> Response {
    error(StatusCode::NOT_FOUND, "Record not found")
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

/// Adds the `X-RateLimit-*` headers every Mastodon answer carries.
fn with_rate_headers(mut r: Response, remaining: u64, reset: OffsetDateTime) -> Response {
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    if let Ok(v) = HeaderValue::from_str(&format_micros(reset)) {
        h.insert("x-ratelimit-reset", v);
    }
    r
}

/// Checks the token and injected faults; on success the request's context.
fn gate(
    shared: &Shared<Config>,
    headers: &HeaderMap,
    n: u64,
    host: Option<&str>,
) -> Result<Ctx, Response> {
    let config = shared.config();
    let now = OffsetDateTime::now_utc();
    let authed = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
    {
        Some(t) if config.token.as_deref() == Some(t) => true,
        Some(_) => {
            let mut r = error(StatusCode::UNAUTHORIZED, "The access token is invalid");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"Doorkeeper\", error=\"invalid_token\", error_description=\"The access token is invalid\""),
            );
            return Err(r);
        }
        None if config.require_token => {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "This API requires an authenticated user",
            ));
        }
        None => false,
    };
    match config.faults.for_request(n) {
        Some(Fault::RateLimited) => {
            let reset = now
                + time::Duration::seconds(
                    i64::try_from(config.faults.rate_limit_reset_secs).unwrap_or(i64::MAX / 2),
                );
            return Err(with_rate_headers(
                error(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
                0,
                reset,
            ));
        }
        Some(Fault::ServerError) => {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Remote data could not be fetched",
            ));
        }
        None => {}
    }
    let origin = match &config.public_origin {
        Some(o) => o.trim_end_matches('/').to_owned(),
        None => format!("http://{}", host.unwrap_or("127.0.0.1")),
    };
    Ok(Ctx {
        config,
        origin,
        authed,
        n,
    })
}

impl Ctx {
    fn ok(&self, body: Value) -> Response {
        let now = OffsetDateTime::now_utc();
        let secs = now.unix_timestamp();
        let reset =
            OffsetDateTime::from_unix_timestamp(secs - secs.rem_euclid(300) + 300).unwrap_or(now);
        with_rate_headers(
            (StatusCode::OK, Json(body)).into_response(),
            RATE_LIMIT.saturating_sub(self.n % RATE_LIMIT),
            reset,
        )
    }

    fn account_json(&self, a: &Account) -> Value {
        let (url, uri) = match a.domain {
            Some(d) => (
                format!("https://{d}/@{}", a.username),
                format!("https://{d}/users/{}", a.username),
            ),
            None => (
                format!("{}/@{}", self.origin, a.username),
                format!("{}/users/{}", self.origin, a.username),
            ),
        };
        let media = |kind: &str| {
            format!(
                "https://files.mastodon.example/accounts/{kind}/{}.png",
                a.id
            )
        };
        json!({
            "id": a.id, "username": a.username, "acct": a.acct, "display_name": a.display_name,
            "locked": false, "bot": a.bot, "discoverable": true, "indexable": true, "group": false,
            "created_at": a.created_at, "note": format!("<p>Hi, I am {}.</p>", a.username),
            "url": url, "uri": uri,
            "avatar": media("avatars"), "avatar_static": media("avatars"),
            "header": media("headers"), "header_static": media("headers"),
            "followers_count": a.followers_count, "following_count": 42, "statuses_count": 7,
            "last_status_at": "2022-02-27",
            "hide_collections": false, "noindex": false,
            "emojis": [], "roles": [], "fields": [],
        })
    }

    fn author(&self) -> Account {
        Account {
            id: "109300000000000001".into(),
            username: AUTHOR.into(),
            acct: AUTHOR.into(),
            display_name: "Giveaway Org".into(),
            created_at: "2022-11-05T00:00:00.000Z".into(),
            followers_count: 5120,
            bot: false,
            domain: None,
        }
    }

    fn status_json(
        &self,
        id: &str,
        account: &Account,
        in_reply_to: Option<(&str, &str)>,
        content: &str,
        created_at: &str,
        counts: (usize, usize, usize),
    ) -> Value {
        let (url, uri) = match account.domain {
            Some(d) => (
                format!("https://{d}/@{}/{id}", account.username),
                format!("https://{d}/users/{}/statuses/{id}", account.username),
            ),
            None => (
                format!("{}/@{}/{id}", self.origin, account.username),
                format!("{}/users/{}/statuses/{id}", self.origin, account.username),
            ),
        };
        let mentions = if in_reply_to.is_some() {
            json!([{ "id": "109300000000000001", "username": AUTHOR, "url": format!("{}/@{AUTHOR}", self.origin), "acct": AUTHOR }])
        } else {
            json!([])
        };
        json!({
            "id": id, "created_at": created_at,
            "in_reply_to_id": in_reply_to.map(|(s, _)| s), "in_reply_to_account_id": in_reply_to.map(|(_, a)| a),
            "sensitive": false, "spoiler_text": "", "visibility": "public", "language": "en",
            "uri": uri, "url": url,
            "replies_count": counts.0, "reblogs_count": counts.1, "favourites_count": counts.2,
            "edited_at": null, "content": content, "reblog": null,
            "account": self.account_json(account),
            "media_attachments": [], "mentions": mentions, "tags": [], "emojis": [],
            "card": null, "poll": null,
        })
    }

    fn root_json(&self) -> Value {
        let c = &self.config;
        self.status_json(
            &c.status_id,
            &self.author(),
            None,
            "<p>🎁 Giveaway! Reply, favourite or boost to enter. Winners drawn with fairdraw.</p>",
            &format_ms(POST_MS),
            (c.replies, c.reblogs, c.favourites),
        )
    }
}

fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

async fn status(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ctx = match gate(&shared, &headers, n, host(&headers)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if id != ctx.config.status_id {
        return error(StatusCode::NOT_FOUND, "Record not found");
    }
    ctx.ok(ctx.root_json())
}

async fn context(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ctx = match gate(&shared, &headers, n, host(&headers)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if id != ctx.config.status_id {
        return error(StatusCode::NOT_FOUND, "Record not found");
    }
    let mut replies = ctx.config.descendants();
    if !ctx.authed {
        replies.truncate(ctx.config.unauthenticated_descendants);
    }
    let author_id = ctx.author().id;
    let descendants: Vec<Value> = replies
        .iter()
        .map(|r| {
            let to_account = if r.in_reply_to_id == ctx.config.status_id {
                author_id.clone()
            } else {
                replies
                    .iter()
                    .find(|p| p.id == r.in_reply_to_id)
                    .map(|p| p.account.id.clone())
                    .unwrap_or_default()
            };
            ctx.status_json(
                &r.id,
                &r.account,
                Some((&r.in_reply_to_id, &to_account)),
                &r.content,
                &r.created_at,
                (0, 0, 0),
            )
        })
        .collect();
    ctx.ok(json!({ "ancestors": [], "descendants": descendants }))
}

/// A favourite or boost record: its own id (what `max_id` pages by) and the account.
type Record = (u64, Account);

async fn favourited_by(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    accounts_page(
        &shared,
        n,
        &id,
        &headers,
        raw.as_deref(),
        "favourited_by",
        |c| {
            c.favourited_by()
                .into_iter()
                .enumerate()
                .map(|(i, a)| (90_000_000 + 17 * (c.favourites - i) as u64, a))
                .collect()
        },
    )
}

async fn reblogged_by(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    accounts_page(
        &shared,
        n,
        &id,
        &headers,
        raw.as_deref(),
        "reblogged_by",
        |c| {
            c.reblogged_by()
                .into_iter()
                .enumerate()
                .map(|(i, a)| ((POST_MS as u64 + 7_000 * (c.reblogs - i) as u64) << 16, a))
                .collect()
        },
    )
}

/// One page of a `Link`-paginated account list. `records` lists newest first.
fn accounts_page(
    shared: &Shared<Config>,
    n: u64,
    id: &str,
    headers: &HeaderMap,
    raw: Option<&str>,
    endpoint: &str,
    records: impl FnOnce(&Config) -> Vec<Record>,
) -> Response {
    let ctx = match gate(shared, headers, n, host(headers)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if id != ctx.config.status_id {
        return error(StatusCode::NOT_FOUND, "Record not found");
    }
    let query = raw.map(decode_query).unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // Mastodon: `[params[:limit].to_i.abs, DEFAULT * 2].min`, default 40.
    let limit_given = param("limit");
    let limit = limit_given.map_or(40, |l| {
        l.trim().parse::<i64>().unwrap_or(0).unsigned_abs().min(80) as usize
    });
    let id_param = |name: &str| param(name).and_then(|v| v.parse::<u64>().ok());
    let all = records(&ctx.config);
    let page: Vec<&Record> = if let Some(min) = id_param("min_id") {
        // The records just above min_id, still returned newest first.
        let mut above: Vec<&Record> = all.iter().filter(|(rid, _)| *rid > min).collect();
        let keep = above.len().saturating_sub(limit);
        above.drain(..keep);
        above
    } else {
        all.iter()
            .filter(|(rid, _)| id_param("max_id").is_none_or(|m| *rid < m))
            .filter(|(rid, _)| id_param("since_id").is_none_or(|s| *rid > s))
            .take(limit)
            .collect()
    };
    let body: Vec<Value> = page.iter().map(|(_, a)| ctx.account_json(a)).collect();
    let mut r = ctx.ok(json!(body));
    let base = format!("{}/api/v1/statuses/{id}/{endpoint}", ctx.origin);
    let limit_part = limit_given
        .map(|l| format!("limit={}&", super::percent_encode(l)))
        .unwrap_or_default();
    let mut links = Vec::new();
    // Mastodon links a next page whenever this one is full, so a list whose
    // length is a multiple of the limit ends with an empty page.
    if let (Some(last), true) = (page.last(), page.len() == limit && limit > 0) {
        links.push(format!(
            "<{base}?{limit_part}max_id={}>; rel=\"next\"",
            last.0
        ));
    }
    if let Some(first) = page.first() {
        links.push(format!(
            "<{base}?{limit_part}since_id={}>; rel=\"prev\"",
            first.0
        ));
    }
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        r.headers_mut().insert(header::LINK, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::http;

    /// The `rel="next"` URL of a Link header.
    fn next_link(link: Option<&str>) -> Option<String> {
        link?
            .split(", ")
            .find(|l| l.ends_with("rel=\"next\""))
            .map(|l| l[1..l.find('>').unwrap_or(1)].to_owned())
    }

    #[test]
    fn favourites_page_by_link_header_and_end_on_an_empty_page() {
        let m = start_blocking(Config {
            favourites: 80,
            ..Config::default()
        });
        let auth = format!("Bearer {TOKEN}");
        let mut url = format!(
            "{}/api/v1/statuses/{STATUS_ID}/favourited_by?limit=40",
            m.origin
        );
        let mut ids = Vec::new();
        let mut sizes = Vec::new();
        loop {
            let r = http::get(&url, &[("Authorization", &auth)]).expect("request");
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.header("x-ratelimit-limit"), Some("300"));
            assert!(
                r.header("x-ratelimit-reset")
                    .is_some_and(|v| v.ends_with('Z') && v.len() == 27),
                "{:?}",
                r.header("x-ratelimit-reset")
            );
            let page = r.json().expect("json");
            let page = page.as_array().expect("array of accounts");
            sizes.push(page.len());
            ids.extend(
                page.iter()
                    .map(|a| a["id"].as_str().expect("string id").to_owned()),
            );
            match next_link(r.header("link")) {
                Some(next) => {
                    assert!(
                        next.starts_with(&format!(
                            "{}/api/v1/statuses/{STATUS_ID}/favourited_by?limit=40&max_id=",
                            m.origin
                        )),
                        "{next}"
                    );
                    url = next;
                }
                None => {
                    assert!(
                        page.is_empty()
                            || r.header("link").is_some_and(|l| l.contains("rel=\"prev\""))
                    );
                    break;
                }
            }
        }
        // 80 = 2 × 40: the second page is full, so a third, empty one ends the list.
        assert_eq!(sizes, [40, 40, 0]);
        let expected: Vec<_> = m
            .config()
            .favourited_by()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, expected);
        assert_eq!(
            m.credentials_seen().into_iter().collect::<Vec<_>>(),
            [auth.clone(), TOKEN.to_owned()]
        );
    }

    #[test]
    fn reblogs_default_limit_and_public_origin_in_links() {
        let m = start_blocking(Config {
            reblogs: 50,
            public_origin: Some(PRODUCTION_ORIGIN.into()),
            ..Config::default()
        });
        let r = http::get(
            &format!("{}/api/v1/statuses/{STATUS_ID}/reblogged_by", m.origin),
            &[],
        )
        .expect("request");
        assert_eq!(r.status, 200);
        assert_eq!(r.json().expect("json").as_array().map(Vec::len), Some(40));
        let next = next_link(r.header("link")).expect("next link");
        let prefix =
            format!("{PRODUCTION_ORIGIN}/api/v1/statuses/{STATUS_ID}/reblogged_by?max_id=");
        assert!(next.starts_with(&prefix), "{next}");
        let local = next.replace(PRODUCTION_ORIGIN, &m.origin);
        let r2 = http::get(&local, &[]).expect("request");
        let page2 = r2.json().expect("json");
        assert_eq!(page2.as_array().map(Vec::len), Some(10));
        assert_eq!(next_link(r2.header("link")), None);
        let expected = m.config().reblogged_by();
        assert_eq!(page2[9]["id"], json!(expected[49].id));
        // limit is capped at 80.
        let r = http::get(
            &format!(
                "{}/api/v1/statuses/{STATUS_ID}/reblogged_by?limit=500",
                m.origin
            ),
            &[],
        )
        .expect("request");
        assert_eq!(r.json().expect("json").as_array().map(Vec::len), Some(50));
    }

    #[test]
    fn context_is_a_depth_first_tree_cut_at_60_without_a_token() {
        let m = start_blocking(Config {
            replies: 70,
            ..Config::default()
        });
        let url = format!("{}/api/v1/statuses/{STATUS_ID}/context", m.origin);
        let anon = http::get(&url, &[]).expect("request").json().expect("json");
        assert_eq!(anon["ancestors"], json!([]));
        assert_eq!(anon["descendants"].as_array().map(Vec::len), Some(60));
        let authed = http::get(&url, &[("Authorization", &format!("Bearer {TOKEN}"))])
            .expect("request")
            .json()
            .expect("json");
        let d = authed["descendants"].as_array().expect("descendants");
        assert_eq!(d.len(), 70);
        assert_eq!(d[0]["in_reply_to_id"], STATUS_ID);
        assert_eq!(d[0]["in_reply_to_account_id"], "109300000000000001");
        assert_eq!(d[3]["in_reply_to_id"], d[2]["id"]);
        assert_eq!(d[3]["in_reply_to_account_id"], d[2]["account"]["id"]);
        assert!(
            d[0]["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("<p>") && c.contains("&amp;"))
        );
        assert_eq!(d[1]["account"]["acct"], "fan7@social.example");
        assert_eq!(d[0]["created_at"], "2022-03-01T12:00:53.011Z");
        for key in [
            "id",
            "created_at",
            "visibility",
            "url",
            "uri",
            "account",
            "mentions",
            "tags",
            "replies_count",
        ] {
            assert!(d[0].get(key).is_some(), "status lacks {key}");
        }
        // Account ids are strings; creation dates let rules check account age.
        let a = &d[0]["account"];
        assert!(a["id"].is_string());
        assert!(
            a["created_at"]
                .as_str()
                .is_some_and(|c| c.ends_with("T00:00:00.000Z"))
        );
    }

    #[test]
    fn invalid_token_rate_limit_and_missing_status() {
        let m = start_blocking(Config::default());
        let url = format!("{}/api/v1/statuses/{STATUS_ID}/favourited_by", m.origin);
        let r = http::get(&url, &[("Authorization", "Bearer revoked")]).expect("request");
        assert_eq!(r.status, 401);
        assert_eq!(
            r.json().expect("json"),
            json!({ "error": "The access token is invalid" })
        );

        m.configure(|c| {
            c.faults = Faults {
                rate_limit_first: 2,
                rate_limit_reset_secs: 90,
                ..Faults::default()
            }
        });
        m.reset();
        let before = OffsetDateTime::now_utc();
        let r = http::get(&url, &[]).expect("request");
        assert_eq!(r.status, 429);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("retry-after"), None);
        assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
        let reset = r.header("x-ratelimit-reset").expect("reset header");
        let reset = OffsetDateTime::parse(reset, &time::format_description::well_known::Rfc3339)
            .expect("ISO 8601");
        let wait = (reset - before).whole_seconds();
        assert!((89..=91).contains(&wait), "{wait}");
        assert_eq!(
            r.json().expect("json"),
            json!({ "error": "Too many requests" })
        );
        assert_eq!(http::get(&url, &[]).expect("request").status, 429);
        assert_eq!(http::get(&url, &[]).expect("request").status, 200);

        m.configure(|c| {
            c.faults = Faults {
                fail_every: Some(2),
                ..Faults::default()
            }
        });
        m.reset();
        assert_eq!(http::get(&url, &[]).expect("request").status, 200);
        assert_eq!(http::get(&url, &[]).expect("request").status, 503);

        let r =
            http::get(&format!("{}/api/v1/statuses/1/context", m.origin), &[]).expect("request");
        assert_eq!(r.status, 404);
        assert_eq!(
            r.json().expect("json"),
            json!({ "error": "Record not found" })
        );

        m.configure(|c| c.require_token = true);
        let r = http::get(&url, &[]).expect("request");
        assert_eq!(
            (r.status, r.json().expect("json")),
            (
                401,
                json!({ "error": "This API requires an authenticated user" })
            )
        );
    }

    #[test]
    fn pools_overlap_but_lists_are_distinct() {
        let c = Config::default();
        let favs: std::collections::BTreeSet<_> =
            c.favourited_by().into_iter().map(|a| a.id).collect();
        assert_eq!(favs.len(), c.favourites);
        let boosts: std::collections::BTreeSet<_> =
            c.reblogged_by().into_iter().map(|a| a.id).collect();
        assert_eq!(boosts.len(), c.reblogs);
        let repliers: std::collections::BTreeSet<_> =
            c.descendants().into_iter().map(|r| r.account.id).collect();
        assert!(!favs.is_disjoint(&boosts) && !favs.is_disjoint(&repliers));
    }
}
