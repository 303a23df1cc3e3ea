//! X API v2 for one giveaway post, per the X notes the x plugin's README
//! carries (`plugins/x/README.md`):
//!
//! - `GET /2/tweets/:id` — post lookup; an unknown id is **200** with an
//!   `errors[]` array and no `data`, as X answers;
//! - `GET /2/tweets/search/recent?query=conversation_id:ID` — the
//!   conversation, newest first, `max_results` 10–100 (default 10), paged by
//!   `meta.next_token` → `next_token`; `expansions=author_id` adds
//!   `includes.users`. Deleted replies are simply absent (so pages come out
//!   short), suspended authors are missing from `includes.users` and listed
//!   in a partial `errors[]` of the 200 answer;
//! - `GET /2/tweets/:id/liking_users`, `/retweeted_by` — users, 1–100 a page
//!   (default 100), `meta.next_token` → `pagination_token`;
//! - `GET /2/tweets/:id/quote_tweets` — quote posts, 10–100 a page;
//! - `GET /2/users/:id/followers` — 1–1000 a page, or 403 `client-forbidden`
//!   when [`Config::followers_available`] is off (access tiers below
//!   Enterprise).
//!
//! Only the fields asked for are sent (`tweet.fields`, `user.fields`), as X
//! does: the defaults are `id`, `text`, `edit_history_tweet_ids` for posts
//! and `id`, `name`, `username` for users. The end of a list is the absence
//! of `meta.next_token`; [`Config::empty_page`] makes one page empty while
//! it still carries a `next_token`.
//!
//! Errors are `application/problem+json`: a missing, wrong or expired token
//! gets 401 `Unauthorized`; an injected rate limit 429 with
//! `x-rate-limit-reset` in **epoch seconds** and no `Retry-After`;
//! [`Config::usage_capped`] the 429 `UsageCapExceeded`; a bad token or
//! `max_results` the 400 `invalid-request`; injected outages 503. Every
//! answer carries `x-rate-limit-limit`, `-remaining` and `-reset`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{Fault, Faults, MockHandle, RequestNo, Shared, bearer_token, decode_query};

/// The origin plugins call in production; map it to [`MockHandle::origin`].
pub const PRODUCTION_ORIGIN: &str = "https://api.x.com";
/// The default giveaway post: a snowflake of 2022-03-01T12:00:00.000Z.
pub const POST_ID: &str = "1498629119800246272";
/// The account that posted the giveaway.
pub const AUTHOR_ID: &str = "1600000000000000001";
/// Its username.
pub const AUTHOR: &str = "fairdrawbrand";
/// The default valid bearer token.
pub const BEARER_TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAFairdrawMockBearerToken0123456789";
/// A user token that has expired (X answers it like any invalid token).
pub const EXPIRED_TOKEN: &str = "fairdraw-mock-oauth2-user-token-expired";

/// Unix milliseconds of the giveaway post.
const POST_MS: i64 = 1_646_136_000_000;
/// X's snowflake epoch (2010-11-04T01:42:54.657Z), milliseconds.
const TWEPOCH_MS: i64 = 1_288_834_974_657;
/// `x-rate-limit-limit` of the mock (recent search, app auth, per 15 min).
const RATE_LIMIT: u64 = 450;
/// Ids of suspended authors start here (they are in no user pool).
const SUSPENDED_BASE: u64 = 1_122_334_455_000_000;

/// What the mock serves and how it misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The one post that exists.
    pub post_id: String,
    /// Posts in the conversation: direct replies and, every fourth, a reply
    /// to the reply before it.
    pub replies: usize,
    /// Accounts that liked the post.
    pub likes: usize,
    /// Accounts that reposted the post.
    pub retweets: usize,
    /// Quote posts of the post.
    pub quotes: usize,
    /// Followers of the author.
    pub followers: usize,
    /// Size of the user pool replies and lists draw from (raised to cover
    /// the lists, which are distinct).
    pub users: usize,
    /// The valid bearer token; any other is 401.
    pub bearer_token: String,
    /// Whether followers are listed (Enterprise); otherwise 403.
    pub followers_available: bool,
    /// Every n-th reply (1-based) has a suspended author.
    pub suspended_every: Option<usize>,
    /// Every n-th reply (1-based) was deleted: absent from search.
    pub deleted_every: Option<usize>,
    /// This page (1-based) of every list is empty but carries a next_token.
    pub empty_page: Option<usize>,
    /// Answer every data request with 429 `UsageCapExceeded`.
    pub usage_capped: bool,
    /// Injected rate limits and 5xx answers.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            post_id: POST_ID.to_owned(),
            replies: 150,
            likes: 120,
            retweets: 40,
            quotes: 15,
            followers: 1500,
            users: 200,
            bearer_token: BEARER_TOKEN.to_owned(),
            followers_available: true,
            suspended_every: Some(29),
            deleted_every: Some(17),
            empty_page: None,
            usage_capped: false,
            faults: Faults::default(),
        }
    }
}

/// A generated account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Numeric id, as a string: the entrant identity.
    pub id: String,
    /// `[A-Za-z0-9_]{1,15}`.
    pub username: String,
    /// Display name (may hold non-ASCII).
    pub name: String,
    /// Account creation, `2020-01-05T00:00:00.000Z`.
    pub created_at: String,
    /// `public_metrics.followers_count`.
    pub followers_count: u64,
}

/// A generated post of the conversation, or a quote post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tweet {
    /// Snowflake id.
    pub id: String,
    /// The author.
    pub author: User,
    /// Whether the author is suspended (absent from `includes.users`).
    pub suspended: bool,
    /// Whether the post was deleted (absent from search).
    pub deleted: bool,
    /// `text` as X sends it: `&`, `<`, `>` escaped.
    pub text: String,
    /// The accounts mentioned, as `entities.mentions` lists them: (username, id).
    pub mentions: Vec<(String, String)>,
    /// The accounts the author tagged themselves (not X's reply prefix).
    pub tagged: Vec<String>,
    /// `2022-03-01T12:00:53.000Z`.
    pub created_at: String,
    /// The post it replies to (`None` for a quote).
    pub replied_to: Option<String>,
    /// The account replied to.
    pub in_reply_to_user_id: Option<String>,
}

impl Tweet {
    /// Whether it replies to the giveaway post itself.
    pub fn is_direct_reply(&self, post_id: &str) -> bool {
        self.replied_to.as_deref() == Some(post_id)
    }
}

fn format_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}

fn snowflake(ms: i64, seq: u64) -> String {
    ((u64::try_from(ms - TWEPOCH_MS).unwrap_or(0) << 22) | (seq & 0x3f_ffff)).to_string()
}

const EMOJI: [&str; 4] = ["🎉", "ça marche", "がんばれ", "<3 & luck"];

impl Config {
    fn pool(&self) -> usize {
        self.users.max(self.likes).max(self.retweets).max(1)
    }

    /// The author of the post.
    pub fn author(&self) -> User {
        User {
            id: AUTHOR_ID.into(),
            username: AUTHOR.into(),
            name: "Fairdraw Brand".into(),
            created_at: "2019-05-01T00:00:00.000Z".into(),
            followers_count: 98_765,
        }
    }

    /// User `i` of the pool.
    pub fn user(&self, i: usize) -> User {
        let created =
            (POST_MS / 86_400_000 - if i % 10 == 9 { 1 } else { 40 + 7 * i as i64 }) * 86_400_000;
        User {
            id: (1_700_000_000_000_000_000u64 + 104_729 * i as u64).to_string(),
            username: format!("fan_{i:04}"),
            name: match i % 4 {
                0 => format!("Zoë {i}"),
                1 => format!("fan {i} 🎲"),
                _ => format!("Fan {i}"),
            },
            created_at: format_ms(created),
            followers_count: if i % 10 == 9 {
                0
            } else {
                (i as u64 * 7919) % 3000
            },
        }
    }

    /// Every post of the conversation, newest first as search lists them,
    /// deleted ones included (marked).
    pub fn conversation(&self) -> Vec<Tweet> {
        let pool = self.pool();
        let mut oldest_first: Vec<Tweet> = Vec::with_capacity(self.replies);
        for k in 0..self.replies {
            let ms = POST_MS + 45_000 * (k as i64 + 1) + 7;
            let suspended = self
                .suspended_every
                .is_some_and(|n| n > 0 && (k + 1) % n == 0);
            let author = if suspended {
                User {
                    id: (SUSPENDED_BASE + k as u64).to_string(),
                    username: format!("gone_{k}"),
                    name: "Suspended".into(),
                    created_at: "2020-01-01T00:00:00.000Z".into(),
                    followers_count: 0,
                }
            } else {
                self.user(k * 7 % pool)
            };
            let parent = oldest_first.last().filter(|_| k % 4 == 3);
            let (replied_to, reply_user, prefix) = match parent {
                Some(p) => (
                    p.id.clone(),
                    p.author.id.clone(),
                    vec![
                        (p.author.username.clone(), p.author.id.clone()),
                        (AUTHOR.to_owned(), AUTHOR_ID.to_owned()),
                    ],
                ),
                None => (
                    self.post_id.clone(),
                    AUTHOR_ID.to_owned(),
                    vec![(AUTHOR.to_owned(), AUTHOR_ID.to_owned())],
                ),
            };
            let friends: Vec<User> = (0..k % 3)
                .map(|f| self.user((k * 7 + 11 * (f + 1)) % pool))
                .collect();
            let mut text: String = prefix.iter().map(|(u, _)| format!("@{u} ")).collect();
            text.push_str(&format!("#giveaway count me in! reply {k}"));
            for f in &friends {
                text.push_str(&format!(" @{}", f.username));
            }
            // An @word that is no account, and an escaped ampersand.
            text.push_str(&format!(" @nobody_{k} &amp; {}", escape(EMOJI[k % 4])));
            let mut mentions = prefix;
            mentions.extend(friends.iter().map(|f| (f.username.clone(), f.id.clone())));
            oldest_first.push(Tweet {
                id: snowflake(ms, k as u64),
                author,
                suspended,
                deleted: self
                    .deleted_every
                    .is_some_and(|n| n > 0 && (k + 1) % n == 0),
                text,
                mentions,
                tagged: friends.into_iter().map(|f| f.username).collect(),
                created_at: format_ms(ms),
                replied_to: Some(replied_to),
                in_reply_to_user_id: Some(reply_user),
            });
        }
        oldest_first.reverse();
        oldest_first
    }

    /// Accounts that liked the post, most recent first.
    pub fn liking_users(&self) -> Vec<User> {
        (0..self.likes).rev().map(|i| self.user(i)).collect()
    }

    /// Accounts that reposted the post, most recent first.
    pub fn retweeted_by(&self) -> Vec<User> {
        let pool = self.pool();
        (0..self.retweets)
            .rev()
            .map(|b| self.user(pool - 1 - b))
            .collect()
    }

    /// Quote posts, newest first.
    pub fn quote_tweets(&self) -> Vec<Tweet> {
        let pool = self.pool();
        (0..self.quotes)
            .rev()
            .map(|q| {
                let ms = POST_MS + 90_000 * (q as i64 + 1) + 3;
                let friend = self.user((q * 13 + 5) % pool);
                Tweet {
                    id: snowflake(ms, 1000 + q as u64),
                    author: self.user((q * 5 + 3) % pool),
                    suspended: false,
                    deleted: false,
                    text: format!("Quoting the giveaway #giveaway @{} ({q})", friend.username),
                    mentions: vec![(friend.username.clone(), friend.id.clone())],
                    tagged: vec![friend.username],
                    created_at: format_ms(ms),
                    replied_to: None,
                    in_reply_to_user_id: None,
                }
            })
            .collect()
    }

    /// Followers of the author, most recent first.
    pub fn followers_of_author(&self) -> Vec<User> {
        (0..self.followers).map(|i| self.user(i)).collect()
    }
}

/// X's escaping of post text.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
        .route("/2/tweets/search/recent", get(search))
        .route("/2/tweets/{id}", get(lookup))
        .route("/2/tweets/{id}/liking_users", get(liking_users))
        .route("/2/tweets/{id}/retweeted_by", get(retweeted_by))
        .route("/2/tweets/{id}/quote_tweets", get(quote_tweets))
        .route("/2/users/{id}/followers", get(followers))
        .fallback(not_found)
        .with_state(shared)
}

/// A problem+json answer.
fn problem(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

async fn not_found(_req: Request) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        json!({"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"}),
    )
}

fn unauthorized() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}),
    )
}

fn invalid_request(param: &str, value: &str, message: String) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        json!({
            "errors": [{"parameters": {param: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request"
        }),
    )
}

/// The 200 `errors[]` item for a resource that does not exist.
fn not_found_item(resource_type: &str, id: &str) -> Value {
    json!({
        "value": id,
        "detail": format!("Could not find {resource_type} with id: [{id}]."),
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": "id",
        "resource_id": id,
        "type": "https://api.twitter.com/2/problems/resource-not-found"
    })
}

/// Adds the `x-rate-limit-*` headers X sends on every answer.
fn with_rate_headers(mut r: Response, remaining: u64, reset_epoch: i64) -> Response {
    let h = r.headers_mut();
    h.insert("x-rate-limit-limit", HeaderValue::from(RATE_LIMIT));
    h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
    h.insert("x-rate-limit-reset", HeaderValue::from(reset_epoch));
    r
}

/// The request's query parameters.
struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A comma-separated list parameter.
    fn list(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .map(|v| v.split(',').map(str::trim).collect())
            .unwrap_or_default()
    }

    /// `max_results` within `range`, or X's 400.
    fn max_results(
        &self,
        range: std::ops::RangeInclusive<usize>,
        default: usize,
    ) -> Result<usize, Response> {
        match self.get("max_results") {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(invalid_request(
                    "max_results",
                    v,
                    format!(
                        "The `max_results` query parameter value [{v}] is not between {} and {}",
                        range.start(),
                        range.end()
                    ),
                )),
            },
        }
    }
}

/// Opaque-looking pagination tokens that carry the offset and page number.
const TOKEN_PREFIX: &str = "7140dibdnow9c7btw";

fn token(offset: usize, page: usize) -> String {
    format!("{TOKEN_PREFIX}{offset:x}z{page:x}")
}

/// (offset, page) of a token, or X's 400 naming `param`.
fn parse_token(q: &Query, param: &str) -> Result<(usize, usize), Response> {
    let Some(t) = q.get(param) else {
        return Ok((0, 1));
    };
    t.strip_prefix(TOKEN_PREFIX)
        .and_then(|rest| rest.split_once('z'))
        .and_then(|(o, p)| {
            Some((
                usize::from_str_radix(o, 16).ok()?,
                usize::from_str_radix(p, 16).ok()?,
            ))
        })
        .ok_or_else(|| {
            invalid_request(
                param,
                t,
                format!("The `{param}` query parameter value [{t}] is not valid"),
            )
        })
}

/// Per-request view after the gate.
struct Ctx {
    config: Config,
    query: Query,
    n: u64,
}

/// Checks the token, the usage cap and the injected faults.
fn gate(
    shared: &Shared<Config>,
    headers: &HeaderMap,
    n: u64,
    raw: Option<&str>,
) -> Result<Ctx, Response> {
    let config = shared.config();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    if token != Some(config.bearer_token.as_str()) {
        // Missing, wrong and expired tokens all get the same answer.
        return Err(unauthorized());
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    match config.faults.for_request(n) {
        Some(Fault::RateLimited) => {
            let reset =
                now + i64::try_from(config.faults.rate_limit_reset_secs).unwrap_or(i64::MAX / 4);
            return Err(with_rate_headers(
                problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}),
                ),
                0,
                reset,
            ));
        }
        Some(Fault::ServerError) => {
            return Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank", "status": 503}),
            ));
        }
        None => {}
    }
    if config.usage_capped {
        return Err(problem(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap", "type": "https://api.twitter.com/2/problems/usage-capped", "period": "Monthly", "scope": "Product"}),
        ));
    }
    Ok(Ctx {
        config,
        query: Query(raw.map(decode_query).unwrap_or_default()),
        n,
    })
}

impl Ctx {
    fn ok(&self, body: Value) -> Response {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let reset = now - now.rem_euclid(900) + 900;
        let mut r = (StatusCode::OK, body.to_string()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        with_rate_headers(r, RATE_LIMIT.saturating_sub(self.n % RATE_LIMIT), reset)
    }

    /// A user with the default fields and those asked for.
    fn user_json(&self, u: &User) -> Value {
        let fields = self.query.list("user.fields");
        let mut o = Map::new();
        o.insert("id".into(), json!(u.id));
        o.insert("name".into(), json!(u.name));
        o.insert("username".into(), json!(u.username));
        if fields.contains(&"created_at") {
            o.insert("created_at".into(), json!(u.created_at));
        }
        if fields.contains(&"public_metrics") {
            o.insert(
                "public_metrics".into(),
                json!({"followers_count": u.followers_count, "following_count": 321, "tweet_count": 1234, "listed_count": 3, "like_count": 456}),
            );
        }
        if fields.contains(&"verified") {
            o.insert("verified".into(), json!(false));
        }
        Value::Object(o)
    }

    /// A post with the default fields and those asked for.
    fn tweet_json(&self, t: &Tweet, quoted: Option<&str>) -> Value {
        let fields = self.query.list("tweet.fields");
        let mut o = Map::new();
        o.insert("id".into(), json!(t.id));
        o.insert("text".into(), json!(t.text));
        o.insert("edit_history_tweet_ids".into(), json!([t.id]));
        let has = |f: &str| fields.contains(&f);
        if has("author_id") {
            o.insert("author_id".into(), json!(t.author.id));
        }
        if has("created_at") {
            o.insert("created_at".into(), json!(t.created_at));
        }
        if has("conversation_id") {
            let conversation = if t.replied_to.is_some() {
                self.config.post_id.as_str()
            } else {
                t.id.as_str()
            };
            o.insert("conversation_id".into(), json!(conversation));
        }
        if has("in_reply_to_user_id")
            && let Some(u) = &t.in_reply_to_user_id
        {
            o.insert("in_reply_to_user_id".into(), json!(u));
        }
        if has("referenced_tweets") {
            let refs = match (&t.replied_to, quoted) {
                (Some(parent), _) => json!([{"type": "replied_to", "id": parent}]),
                (None, Some(q)) => json!([{"type": "quoted", "id": q}]),
                (None, None) => Value::Null,
            };
            if !refs.is_null() {
                o.insert("referenced_tweets".into(), refs);
            }
        }
        if has("entities") && !t.mentions.is_empty() {
            // Indices in code points of the text as sent.
            let chars: Vec<char> = t.text.chars().collect();
            let mut from = 0;
            let mentions: Vec<Value> = t
                .mentions
                .iter()
                .filter_map(|(username, id)| {
                    let needle: Vec<char> = format!("@{username}").chars().collect();
                    let start = (from..chars.len().saturating_sub(needle.len() - 1))
                        .find(|&i| chars[i..i + needle.len()] == needle[..])?;
                    from = start + needle.len();
                    Some(json!({"start": start, "end": start + needle.len(), "username": username, "id": id}))
                })
                .collect();
            o.insert("entities".into(), json!({ "mentions": mentions }));
        }
        Value::Object(o)
    }

    /// `data`, `includes.users` (with `expansions=author_id`), partial
    /// `errors[]` for suspended authors, and `meta`.
    fn tweets_body(&self, page: &[&Tweet], quoted: Option<&str>, meta: Value) -> Value {
        let mut body = Map::new();
        if !page.is_empty() {
            body.insert(
                "data".into(),
                page.iter().map(|t| self.tweet_json(t, quoted)).collect(),
            );
        }
        if self.query.list("expansions").contains(&"author_id") {
            let mut users: Vec<&User> = Vec::new();
            for t in page.iter().filter(|t| !t.suspended) {
                if !users.iter().any(|u| u.id == t.author.id) {
                    users.push(&t.author);
                }
            }
            if !users.is_empty() {
                body.insert(
                    "includes".into(),
                    json!({ "users": users.iter().map(|u| self.user_json(u)).collect::<Vec<_>>() }),
                );
            }
            let errors: Vec<Value> = page
                .iter()
                .filter(|t| t.suspended)
                .map(|t| {
                    json!({
                        "value": t.author.id,
                        "detail": format!("User has been suspended: [{}].", t.author.id),
                        "title": "Forbidden",
                        "resource_type": "user",
                        "parameter": "author_id",
                        "resource_id": t.author.id,
                        "type": "https://api.twitter.com/2/problems/resource-not-found"
                    })
                })
                .collect();
            if !errors.is_empty() {
                body.insert("errors".into(), Value::Array(errors));
            }
        }
        body.insert("meta".into(), meta);
        Value::Object(body)
    }
}

/// Cuts `items` at the token's offset: (page items, meta). The configured
/// empty page carries no items but a next_token to the same offset.
fn paginate<T>(
    ctx: &Ctx,
    items: &[T],
    param: &str,
    range: std::ops::RangeInclusive<usize>,
    default: usize,
) -> Result<(std::ops::Range<usize>, Option<String>, usize), Response> {
    let limit = ctx.query.max_results(range, default)?;
    let (offset, page) = parse_token(&ctx.query, param)?;
    let offset = offset.min(items.len());
    if ctx.config.empty_page == Some(page) && offset < items.len() {
        return Ok((offset..offset, Some(token(offset, page + 1)), page));
    }
    let end = (offset + limit).min(items.len());
    let next = (end < items.len()).then(|| token(end, page + 1));
    Ok((offset..end, next, page))
}

fn meta(count: usize, next: Option<String>, page: usize, first: usize) -> Value {
    let mut m = Map::new();
    m.insert("result_count".into(), json!(count));
    if let Some(n) = next {
        m.insert("next_token".into(), json!(n));
    }
    if page > 1 {
        m.insert("previous_token".into(), json!(token(first, page - 1)));
    }
    Value::Object(m)
}

type Handler = Result<Response, Response>;

fn respond(r: Handler) -> Response {
    r.unwrap_or_else(|e| e)
}

async fn search(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    respond((|| {
        let ctx = gate(&shared, &headers, n, raw.as_deref())?;
        let query = ctx.query.get("query").unwrap_or_default().to_owned();
        let Some(conversation) = query.strip_prefix("conversation_id:") else {
            return Err(invalid_request(
                "query",
                &query,
                "This mock answers conversation_id:ID queries only".into(),
            ));
        };
        let all = ctx.config.conversation();
        let all: Vec<&Tweet> = if conversation.trim() == ctx.config.post_id {
            all.iter().collect()
        } else {
            Vec::new()
        };
        // Pages cut the whole conversation; deleted posts leave holes, so
        // pages come out short, as X's do.
        let (range, next, _page) = paginate(&ctx, &all, "next_token", 10..=100, 10)?;
        let shown: Vec<&Tweet> = all[range].iter().copied().filter(|t| !t.deleted).collect();
        let mut m = Map::new();
        if let (Some(first), Some(last)) = (shown.first(), shown.last()) {
            m.insert("newest_id".into(), json!(first.id));
            m.insert("oldest_id".into(), json!(last.id));
        }
        m.insert("result_count".into(), json!(shown.len()));
        if let Some(next) = next {
            m.insert("next_token".into(), json!(next));
        }
        Ok(ctx.ok(ctx.tweets_body(&shown, None, Value::Object(m))))
    })())
}

async fn lookup(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    respond((|| {
        let ctx = gate(&shared, &headers, n, raw.as_deref())?;
        if id != ctx.config.post_id {
            return Ok(ctx.ok(json!({ "errors": [not_found_item("tweet", &id)] })));
        }
        let post = Tweet {
            id: id.clone(),
            author: ctx.config.author(),
            suspended: false,
            deleted: false,
            text:
                "GIVEAWAY: reply with #giveaway and tag two friends &amp; like + repost to enter!"
                    .into(),
            mentions: Vec::new(),
            tagged: Vec::new(),
            created_at: format_ms(POST_MS),
            replied_to: None,
            in_reply_to_user_id: None,
        };
        Ok(ctx.ok(json!({ "data": ctx.tweet_json(&post, None) })))
    })())
}

/// A user list of the post (`liking_users`, `retweeted_by`).
fn post_users(
    shared: &Shared<Config>,
    n: u64,
    id: &str,
    headers: &HeaderMap,
    raw: Option<&str>,
    list: impl FnOnce(&Config) -> Vec<User>,
) -> Response {
    respond((|| {
        let ctx = gate(shared, headers, n, raw)?;
        if id != ctx.config.post_id {
            return Ok(ctx.ok(json!({ "errors": [not_found_item("tweet", id)] })));
        }
        users_page(&ctx, &list(&ctx.config), 1..=100, 100)
    })())
}

fn users_page(
    ctx: &Ctx,
    users: &[User],
    range: std::ops::RangeInclusive<usize>,
    default: usize,
) -> Handler {
    let (r, next, page) = paginate(ctx, users, "pagination_token", range, default)?;
    let start = r.start;
    let data: Vec<Value> = users[r].iter().map(|u| ctx.user_json(u)).collect();
    let mut body = Map::new();
    let count = data.len();
    if !data.is_empty() {
        body.insert("data".into(), Value::Array(data));
    }
    body.insert("meta".into(), meta(count, next, page, start));
    Ok(ctx.ok(Value::Object(body)))
}

async fn liking_users(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    post_users(
        &shared,
        n,
        &id,
        &headers,
        raw.as_deref(),
        Config::liking_users,
    )
}

async fn retweeted_by(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    post_users(
        &shared,
        n,
        &id,
        &headers,
        raw.as_deref(),
        Config::retweeted_by,
    )
}

async fn quote_tweets(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    respond((|| {
        let ctx = gate(&shared, &headers, n, raw.as_deref())?;
        if id != ctx.config.post_id {
            return Ok(ctx.ok(json!({ "errors": [not_found_item("tweet", &id)] })));
        }
        let all = ctx.config.quote_tweets();
        let (r, next, page) = paginate(&ctx, &all, "pagination_token", 10..=100, 10)?;
        let start = r.start;
        let shown: Vec<&Tweet> = all[r].iter().collect();
        let m = meta(shown.len(), next, page, start);
        Ok(ctx.ok(ctx.tweets_body(&shown, Some(&id), m)))
    })())
}

async fn followers(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    respond((|| {
        let ctx = gate(&shared, &headers, n, raw.as_deref())?;
        if !ctx.config.followers_available {
            return Err(problem(
                StatusCode::FORBIDDEN,
                json!({
                    "client_id": "29441234",
                    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.",
                    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
                    "title": "Client Forbidden",
                    "required_enrollment": "Appropriate Level of API Access",
                    "reason": "client-not-enrolled",
                    "type": "https://api.twitter.com/2/problems/client-forbidden"
                }),
            ));
        }
        if id != AUTHOR_ID {
            return Ok(ctx.ok(json!({ "errors": [not_found_item("user", &id)] })));
        }
        users_page(&ctx, &ctx.config.followers_of_author(), 1..=1000, 100)
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::http;

    fn auth() -> String {
        format!("Bearer {BEARER_TOKEN}")
    }

    fn get(m: &MockHandle<Config>, path_and_query: &str) -> http::Response {
        http::get(
            &format!("{}{path_and_query}", m.origin),
            &[("Authorization", &auth())],
        )
        .expect("request")
    }

    const SEARCH: &str = "/2/tweets/search/recent?query=conversation_id:1498629119800246272&max_results=100&tweet.fields=author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets,entities&expansions=author_id&user.fields=username,name,created_at,public_metrics";

    #[test]
    fn search_pages_end_without_next_token_and_leave_out_deleted_posts() {
        let m = start_blocking(Config::default());
        let config = m.config();
        let mut url = SEARCH.to_owned();
        let (mut ids, mut sizes, mut suspended_errors) = (Vec::new(), Vec::new(), 0);
        loop {
            let r = get(&m, &url);
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.header("x-rate-limit-limit"), Some("450"));
            assert!(r.header("date").is_some(), "X answers carry a Date");
            let body = r.json().expect("json");
            let data = body["data"].as_array().cloned().unwrap_or_default();
            sizes.push(data.len());
            for t in &data {
                ids.push(t["id"].as_str().expect("string id").to_owned());
                assert!(t["created_at"].is_string() && t["author_id"].is_string());
                assert_eq!(t["conversation_id"], POST_ID);
            }
            let users = body["includes"]["users"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(
                users
                    .iter()
                    .all(|u| u["public_metrics"]["followers_count"].is_u64())
            );
            suspended_errors += body["errors"].as_array().map_or(0, Vec::len);
            assert_eq!(body["meta"]["result_count"], json!(data.len()));
            match body["meta"]["next_token"].as_str() {
                Some(t) => url = format!("{SEARCH}&next_token={t}"),
                None => break,
            }
        }
        // 150 posts, 100 a page; 8 deleted (every 17th: 6 of them among the
        // newest 100) leave short pages.
        assert_eq!(sizes, [100 - 6, 50 - 2]);
        let expected: Vec<String> = config
            .conversation()
            .into_iter()
            .filter(|t| !t.deleted)
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, expected);
        let suspended = config
            .conversation()
            .iter()
            .filter(|t| t.suspended && !t.deleted)
            .count();
        assert_eq!(suspended_errors, suspended);
        assert!(suspended > 0);
    }

    #[test]
    fn only_requested_fields_are_sent_and_mentions_index_the_text() {
        let m = start_blocking(Config {
            replies: 12,
            ..Config::default()
        });
        let bare = get(
            &m,
            &format!("/2/tweets/search/recent?query=conversation_id:{POST_ID}"),
        )
        .json()
        .expect("json");
        let first = &bare["data"][0];
        let keys: Vec<&String> = first.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["edit_history_tweet_ids", "id", "text"]);
        assert!(bare.get("includes").is_none());
        assert_eq!(
            bare["data"].as_array().map(Vec::len),
            Some(10),
            "default 10"
        );

        let full = get(&m, SEARCH).json().expect("json");
        for t in full["data"].as_array().expect("data") {
            let text: Vec<char> = t["text"].as_str().expect("text").chars().collect();
            for mention in t["entities"]["mentions"].as_array().expect("mentions") {
                let (s, e) = (
                    mention["start"].as_u64().expect("start") as usize,
                    mention["end"].as_u64().expect("end") as usize,
                );
                let word: String = text[s..e].iter().collect();
                assert_eq!(
                    word,
                    format!("@{}", mention["username"].as_str().expect("username"))
                );
            }
            assert!(t["text"].as_str().is_some_and(|s| s.contains("&amp;")));
        }
        // Every fourth post answers the one before it.
        let conversation = m.config().conversation();
        let nested = conversation
            .iter()
            .filter(|t| !t.is_direct_reply(POST_ID))
            .count();
        assert_eq!(nested, 3);
    }

    #[test]
    fn user_lists_page_by_pagination_token_with_an_empty_page_on_the_way() {
        let m = start_blocking(Config {
            likes: 250,
            empty_page: Some(2),
            ..Config::default()
        });
        let base = format!(
            "/2/tweets/{POST_ID}/liking_users?max_results=100&user.fields=username,name,created_at,public_metrics"
        );
        let (mut url, mut sizes, mut ids) = (base.clone(), Vec::new(), Vec::new());
        loop {
            let body = get(&m, &url).json().expect("json");
            let data = body["data"].as_array().cloned().unwrap_or_default();
            sizes.push(data.len());
            ids.extend(
                data.iter()
                    .map(|u| u["id"].as_str().expect("id").to_owned()),
            );
            match body["meta"]["next_token"].as_str() {
                Some(t) => url = format!("{base}&pagination_token={t}"),
                None => {
                    assert!(body["meta"]["previous_token"].is_string());
                    break;
                }
            }
        }
        assert_eq!(sizes, [100, 0, 100, 50]);
        let expected: Vec<String> = m
            .config()
            .liking_users()
            .into_iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(ids, expected);
        // Bad tokens and page sizes are X's 400 invalid-request.
        let r = get(&m, &format!("{base}&pagination_token=garbage"));
        assert_eq!(r.status, 400);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(
            r.json().expect("json")["errors"][0]["message"],
            "The `pagination_token` query parameter value [garbage] is not valid"
        );
        let r = get(
            &m,
            &format!("/2/tweets/{POST_ID}/retweeted_by?max_results=101"),
        );
        assert_eq!(r.status, 400);
    }

    #[test]
    fn unknown_posts_are_200_with_errors_and_followers_need_the_tier() {
        let m = start_blocking(Config::default());
        let r = get(&m, "/2/tweets/1/liking_users");
        assert_eq!(r.status, 200);
        let body = r.json().expect("json");
        assert!(body.get("data").is_none());
        assert_eq!(body["errors"][0]["resource_id"], "1");
        assert_eq!(body["errors"][0]["resource_type"], "tweet");
        let post = get(
            &m,
            &format!("/2/tweets/{POST_ID}?tweet.fields=created_at,author_id"),
        )
        .json()
        .expect("json");
        assert_eq!(post["data"]["author_id"], AUTHOR_ID);
        assert_eq!(post["data"]["created_at"], "2022-03-01T12:00:00.000Z");

        let f = get(
            &m,
            &format!("/2/users/{AUTHOR_ID}/followers?max_results=1000"),
        )
        .json()
        .expect("json");
        assert_eq!(f["data"].as_array().map(Vec::len), Some(1000));
        assert!(f["meta"]["next_token"].is_string());
        m.configure(|c| c.followers_available = false);
        let r = get(&m, &format!("/2/users/{AUTHOR_ID}/followers"));
        assert_eq!(r.status, 403);
        assert_eq!(r.json().expect("json")["reason"], "client-not-enrolled");
    }

    #[test]
    fn tokens_rate_limits_usage_caps_and_outages() {
        let m = start_blocking(Config::default());
        let url = format!("{}/2/tweets/{POST_ID}/quote_tweets", m.origin);
        for auth in [
            None,
            Some("Bearer wrong"),
            Some(&*format!("Bearer {EXPIRED_TOKEN}")),
        ] {
            let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
            let r = http::get(&url, &headers).expect("request");
            assert_eq!(r.status, 401);
            assert_eq!(r.header("content-type"), Some("application/problem+json"));
            assert_eq!(
                r.json().expect("json"),
                json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
            );
        }

        m.configure(|c| {
            c.faults = Faults {
                rate_limit_first: 1,
                rate_limit_reset_secs: 60,
                fail_first: 1,
                ..Faults::default()
            }
        });
        m.reset();
        let before = OffsetDateTime::now_utc().unix_timestamp();
        let r = get(&m, &format!("/2/tweets/{POST_ID}/quote_tweets"));
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), None, "X sends no Retry-After");
        assert_eq!(r.header("x-rate-limit-remaining"), Some("0"));
        let reset: i64 = r
            .header("x-rate-limit-reset")
            .and_then(|v| v.parse().ok())
            .expect("epoch seconds");
        assert!((before + 59..=before + 61).contains(&reset), "{reset}");
        assert_eq!(r.json().expect("json")["title"], "Too Many Requests");
        let r = get(&m, &format!("/2/tweets/{POST_ID}/quote_tweets"));
        assert_eq!(r.status, 503);
        let r = get(&m, &format!("/2/tweets/{POST_ID}/quote_tweets"));
        assert_eq!(r.status, 200);
        assert_eq!(
            r.json().expect("json")["data"].as_array().map(Vec::len),
            Some(10)
        );

        m.configure(|c| c.usage_capped = true);
        let r = get(&m, &format!("/2/tweets/{POST_ID}/quote_tweets"));
        assert_eq!(r.status, 429);
        assert_eq!(r.json().expect("json")["title"], "UsageCapExceeded");
        assert_eq!(
            m.credentials_seen(),
            [auth(), BEARER_TOKEN.to_owned()].into_iter().collect()
        );
    }
}
