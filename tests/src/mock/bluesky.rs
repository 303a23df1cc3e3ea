//! A Bluesky AppView (AT Protocol XRPC, `app.bsky.*`) for one giveaway
//! post, in the lexicons' shapes (bluesky-social/atproto @ d6296a1c):
//!
//! - `GET /xrpc/app.bsky.feed.getPostThread?uri&depth&parentHeight` — the
//!   reply tree, `threadViewPost` nodes nested in `replies`, cut at `depth`
//!   (default 6, at most 1000): a post at the cut has its `replyCount` but
//!   no `replies`. Blocked and deleted replies are `blockedPost` and
//!   `notFoundPost` nodes; replies the author hid are listed in the
//!   `threadgate` record's `hiddenReplies`. Not paginated.
//! - `getLikes`, `getRepostedBy`, `getQuotes` (`app.bsky.feed.*`) and
//!   `app.bsky.graph.getFollowers` — `limit` 1–100 (default 50), an opaque
//!   `cursor` (`<sortAt ms>::<cid>`) that is absent at the end. As the
//!   AppView, the cursor is the key of the last record read, before records
//!   by accounts it no longer shows are dropped ([`Config::filtered`]), so
//!   pages can be short or empty and still carry a cursor; with
//!   [`Config::keyset_end`] a list ends with an empty page, as keyset
//!   pagination does.
//! - `com.atproto.identity.resolveHandle?handle` — `{"did"}`.
//!
//! Errors are XRPC bodies `{"error", "message"}`: 400 `InvalidRequest` or
//! `NotFound`, 401 `InvalidToken` / `ExpiredToken` /
//! `AuthenticationRequired`, 429 `RateLimitExceeded` with `RateLimit-Reset`
//! in Unix epoch seconds (no `Retry-After`, as xrpc-server sends none), 502
//! `UpstreamFailure`. Every answer carries the `RateLimit-*` headers.

use std::sync::Arc;

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::{Fault, Faults, MockHandle, RequestNo, Shared, bearer_token, decode_query};

/// The origin plugins call in production; map it to [`MockHandle::origin`].
pub const PRODUCTION_ORIGIN: &str = "https://public.api.bsky.app";
/// The authenticated AppView origin (same API, with a bearer token).
pub const AUTHENTICATED_ORIGIN: &str = "https://api.bsky.app";
/// The giveaway account's DID.
pub const AUTHOR_DID: &str = "did:plc:giveawayfairdraw2test0000";
/// The giveaway account's handle.
pub const AUTHOR_HANDLE: &str = "giveaway.bsky.social";
/// The giveaway post's record key.
pub const POST_RKEY: &str = "3lgiveaway2fd";
/// The default valid access token.
pub const TOKEN: &str = "bsky-mock-access-jwt-0123456789";
/// A token the mock says has expired.
pub const EXPIRED_TOKEN: &str = "bsky-mock-expired-jwt-9876543210";

/// Unix seconds of the giveaway post: 2022-03-01T12:00:00Z.
const POST_UNIX: i64 = 1_646_136_000;
/// `RateLimit-Limit` and the policy window, as the PDS documents.
const RATE_LIMIT: u64 = 3000;
const RATE_WINDOW: i64 = 300;

/// The giveaway post's at-URI.
pub fn post_uri() -> String {
    format!("at://{AUTHOR_DID}/app.bsky.feed.post/{POST_RKEY}")
}

/// The giveaway post's URL on bsky.app.
pub fn post_url() -> String {
    format!("https://bsky.app/profile/{AUTHOR_HANDLE}/post/{POST_RKEY}")
}

/// What the mock serves and how it misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Direct replies to the post.
    pub comments: usize,
    /// Comment `k` has a chain of `k % (max_replies + 1)` replies under it,
    /// each answering the one before.
    pub max_replies: usize,
    /// A chain this long under the first comment, to go past any depth limit.
    pub deep_chain: usize,
    /// Direct replies from accounts that block the viewer (`blockedPost`).
    pub blocked: usize,
    /// Direct replies deleted since (`notFoundPost`).
    pub deleted: usize,
    /// The last this many comments are hidden by the author (threadgate).
    pub hidden: usize,
    /// Accounts that liked the post.
    pub likes: usize,
    /// Accounts that reposted it.
    pub reposts: usize,
    /// Quote posts of it.
    pub quotes: usize,
    /// Accounts that follow the author.
    pub followers: usize,
    /// Size of the account pool everything draws from (raised to cover the
    /// lists, whose accounts are distinct).
    pub accounts: usize,
    /// Accounts (pool indexes) whose handle changed: `fanN-new.bsky.social`.
    pub renamed: Vec<usize>,
    /// Records at positions `start..start + len` of every list are by
    /// accounts the AppView no longer shows: read, then dropped.
    pub filtered: (usize, usize),
    /// The last non-empty page still carries a cursor, and an empty page
    /// without one ends the list.
    pub keyset_end: bool,
    /// The valid bearer token.
    pub token: Option<String>,
    /// A bearer token that has expired.
    pub expired_token: Option<String>,
    /// Refuse requests without a token.
    pub require_auth: bool,
    /// Injected rate limits and 5xx answers.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            comments: 40,
            max_replies: 3,
            deep_chain: 0,
            blocked: 1,
            deleted: 1,
            hidden: 0,
            likes: 120,
            reposts: 30,
            quotes: 5,
            followers: 150,
            accounts: 200,
            renamed: Vec::new(),
            filtered: (0, 0),
            keyset_end: false,
            token: Some(TOKEN.to_owned()),
            expired_token: Some(EXPIRED_TOKEN.to_owned()),
            require_auth: false,
            faults: Faults::default(),
        }
    }
}

/// A generated account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// `did:plc:` and 24 base32 characters: the entrant identity.
    pub did: String,
    /// `fanN.bsky.social`, or `fanN-new.bsky.social` once renamed.
    pub handle: String,
    /// Display name (may hold non-ASCII, may be empty).
    pub display_name: String,
    /// Account creation, `2020-01-05T00:00:00.000Z`.
    pub created_at: String,
}

/// A mention facet: the byte range of the text and the DID it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mention {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The account mentioned.
    pub did: String,
}

/// A generated reply or quote post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// `at://DID/app.bsky.feed.post/RKEY`.
    pub uri: String,
    /// The post it answers (the giveaway post for a direct reply).
    pub parent: String,
    /// Levels below the giveaway post (1: a direct reply).
    pub depth: usize,
    /// Who wrote it.
    pub account: Account,
    /// The record's `text`.
    pub text: String,
    /// Its mention facets.
    pub mentions: Vec<Mention>,
    /// `createdAt` (= `indexedAt`), `2022-03-01T12:00:53.000Z`.
    pub created_at: String,
    /// Hidden by the author (listed in the threadgate).
    pub hidden: bool,
    /// Indexes of its replies in [`Config::thread`].
    pub children: Vec<usize>,
}

/// A like, repost or follow: the account, and the record's time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The account.
    pub account: Account,
    /// When (likes: the like's `createdAt`; others: generated ordering).
    pub created_at: String,
    /// The AppView no longer shows it ([`Config::filtered`]).
    pub filtered: bool,
}

/// The SplitMix64 finaliser: a fixed, well-spread hash of an index.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `n` base32 (`a-z2-7`) characters derived from `seed`.
fn base32(seed: u64, n: usize) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut s = seed;
    (0..n)
        .map(|i| {
            if i % 12 == 0 {
                s = mix(s ^ i as u64);
            }
            let c = ALPHABET[(s & 31) as usize];
            s >>= 5;
            char::from(c)
        })
        .collect()
}

fn rfc3339_ms(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
    ))
    .unwrap_or_default()
}

/// A record key (TID-like: 13 base32 characters).
fn rkey(kind: u64, i: usize) -> String {
    format!("3l{}", base32(kind << 32 | i as u64, 11))
}

impl Config {
    fn pool(&self) -> usize {
        self.accounts
            .max(self.likes)
            .max(self.reposts)
            .max(self.followers)
            .max(self.quotes)
            .max(2)
    }

    /// Account `i` of the pool.
    pub fn account(&self, i: usize) -> Account {
        let renamed = if self.renamed.contains(&i) {
            "-new"
        } else {
            ""
        };
        let days_before = 30 + 7 * i as i64;
        Account {
            did: format!("did:plc:{}", base32(i as u64 ^ 0xd1d, 24)),
            handle: format!("fan{i}{renamed}.bsky.social"),
            display_name: match i % 4 {
                0 => format!("Zoë {i}"),
                1 => format!("fan {i} 🎲"),
                2 => String::new(),
                _ => format!("Fan {i}"),
            },
            created_at: rfc3339_ms((POST_UNIX / 86_400 - days_before) * 86_400),
        }
    }

    /// Every reply, in the depth-first order of the tree (children after
    /// their parent, in order). Direct replies have depth 1.
    pub fn thread(&self) -> Vec<Reply> {
        let pool = self.pool();
        let root = post_uri();
        let mut out: Vec<Reply> = Vec::new();
        let mut n = 0usize;
        let mut push = |out: &mut Vec<Reply>, parent: Option<usize>, account: usize| -> usize {
            n += 1;
            let account = self.account(account % pool);
            let (text, mentions) = self.reply_text(n, &account);
            let depth = parent.map_or(1, |p| out[p].depth + 1);
            let parent_uri = parent.map_or(root.clone(), |p| out[p].uri.clone());
            out.push(Reply {
                uri: format!("at://{}/app.bsky.feed.post/{}", account.did, rkey(1, n)),
                parent: parent_uri,
                depth,
                account,
                text,
                mentions,
                created_at: rfc3339_ms(POST_UNIX + 53 * n as i64),
                hidden: false,
                children: Vec::new(),
            });
            let i = out.len() - 1;
            if let Some(p) = parent {
                out[p].children.push(i);
            }
            i
        };
        for k in 0..self.comments {
            let top = push(&mut out, None, k * 7);
            out[top].hidden = k + self.hidden >= self.comments;
            let mut parent = top;
            let chain = k % (self.max_replies + 1) + if k == 0 { self.deep_chain } else { 0 };
            for j in 0..chain {
                parent = push(&mut out, Some(parent), k * 7 + j + 1);
            }
        }
        // Depth-first order: a comment's chain follows it already.
        out
    }

    /// Text with mention facets: some mentions resolve (a facet), some do
    /// not (`@ghost…`, no facet), as typed in the app.
    fn reply_text(&self, n: usize, author: &Account) -> (String, Vec<Mention>) {
        let friend = |i: usize| self.account((n + i) % self.pool());
        let mut text = String::new();
        let mut mentions = Vec::new();
        let mut mention = |text: &mut String, a: &Account| {
            let start = text.len();
            text.push('@');
            text.push_str(&a.handle);
            mentions.push(Mention {
                start,
                end: text.len(),
                did: a.did.clone(),
            });
        };
        match n % 4 {
            0 => {
                text.push_str("#giveaway count me in ");
                mention(&mut text, &friend(1));
                text.push(' ');
                mention(&mut text, &friend(2));
            }
            1 => {
                text.push_str("#Giveaway 🎉 ");
                mention(&mut text, &friend(3));
                text.push_str(" and @ghost.example (no such account)");
            }
            2 => text.push_str(&format!("good luck everyone, from {}", author.display_name)),
            _ => {
                text.push_str("#giveaway see https://example.com/@rules & ");
                mention(&mut text, &friend(1));
            }
        }
        (text, mentions)
    }

    /// The records of a list (`likes`, `reposts`, `followers`), newest first.
    fn records(&self, list: &str) -> Vec<Record> {
        let pool = self.pool();
        let (count, account, step) = match list {
            "likes" => (self.likes, 0usize, 41i64),
            "reposts" => (self.reposts, pool - self.reposts.min(pool), 67),
            _ => (self.followers, 1, 89),
        };
        (0..count)
            .map(|i| Record {
                account: self.account((account + i) % pool),
                created_at: rfc3339_ms(POST_UNIX + step * (count - i) as i64),
                filtered: (self.filtered.0..self.filtered.0 + self.filtered.1).contains(&i),
            })
            .collect()
    }

    /// Accounts that liked the post, as listed (newest first), with the
    /// like's time; without the filtered ones.
    pub fn likers(&self) -> Vec<Record> {
        self.records("likes")
            .into_iter()
            .filter(|r| !r.filtered)
            .collect()
    }

    /// Accounts that reposted the post, as listed, without the filtered ones.
    pub fn reposters(&self) -> Vec<Account> {
        visible(self.records("reposts"))
    }

    /// Followers of the author, as listed, without the filtered ones.
    pub fn follower_accounts(&self) -> Vec<Account> {
        visible(self.records("followers"))
    }

    /// Quote posts, newest first, without the filtered ones.
    pub fn quote_posts(&self) -> Vec<Reply> {
        self.all_quotes()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !(self.filtered.0..self.filtered.0 + self.filtered.1).contains(i))
            .map(|(_, q)| q)
            .collect()
    }

    fn all_quotes(&self) -> Vec<Reply> {
        let pool = self.pool();
        (0..self.quotes)
            .map(|i| {
                let account = self.account((pool / 2 + i) % pool);
                let (text, mentions) = self.reply_text(1000 + i, &account);
                Reply {
                    uri: format!("at://{}/app.bsky.feed.post/{}", account.did, rkey(2, i)),
                    parent: String::new(),
                    depth: 0,
                    account,
                    text: format!("quoting: {text}"),
                    mentions: mentions
                        .into_iter()
                        .map(|m| Mention {
                            start: m.start + "quoting: ".len(),
                            end: m.end + "quoting: ".len(),
                            ..m
                        })
                        .collect(),
                    created_at: rfc3339_ms(POST_UNIX + 600 + 97 * (self.quotes - i) as i64),
                    hidden: false,
                    children: Vec::new(),
                }
            })
            .collect()
    }
}

fn visible(records: Vec<Record>) -> Vec<Account> {
    records
        .into_iter()
        .filter(|r| !r.filtered)
        .map(|r| r.account)
        .collect()
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
        .route("/xrpc/app.bsky.feed.getPostThread", get(get_post_thread))
        .route("/xrpc/app.bsky.feed.getLikes", get(get_likes))
        .route("/xrpc/app.bsky.feed.getRepostedBy", get(get_reposted_by))
        .route("/xrpc/app.bsky.feed.getQuotes", get(get_quotes))
        .route("/xrpc/app.bsky.graph.getFollowers", get(get_followers))
        .route(
            "/xrpc/com.atproto.identity.resolveHandle",
            get(resolve_handle),
        )
        .fallback(not_implemented)
        .with_state(shared)
}

async fn not_implemented(_req: Request) -> Response {
    xrpc_error(
        StatusCode::NOT_IMPLEMENTED,
        "MethodNotImplemented",
        "Method Not Implemented",
    )
}

fn xrpc_error(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({ "error": error, "message": message }))).into_response()
}

fn invalid(message: &str) -> Response {
    xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", message)
}

/// Adds the `RateLimit-*` headers of xrpc-server.
fn with_rate_headers(mut r: Response, remaining: u64, reset: i64) -> Response {
    let h = r.headers_mut();
    h.insert("ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    h.insert("ratelimit-remaining", HeaderValue::from(remaining));
    h.insert("ratelimit-reset", HeaderValue::from(reset));
    if let Ok(v) = HeaderValue::from_str(&format!("{RATE_LIMIT};w={RATE_WINDOW}")) {
        h.insert("ratelimit-policy", v);
    }
    r
}

/// The request's parameters and number, once past the gate.
struct Ctx {
    config: Config,
    query: Vec<(String, String)>,
    n: u64,
}

impl Ctx {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn ok(&self, body: Value) -> Response {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        with_rate_headers(
            (StatusCode::OK, Json(body)).into_response(),
            RATE_LIMIT.saturating_sub(self.n % RATE_LIMIT),
            now - now.rem_euclid(RATE_WINDOW) + RATE_WINDOW,
        )
    }

    /// `limit`: 1–100, default 50.
    fn limit(&self) -> Result<usize, Response> {
        match self.param("limit") {
            None => Ok(50),
            Some(l) => match l.parse::<usize>() {
                Ok(l @ 1..=100) => Ok(l),
                Ok(0) => Err(invalid("limit can not be less than 1")),
                Ok(_) => Err(invalid("limit can not be greater than 100")),
                Err(_) => Err(invalid("limit must be an integer")),
            },
        }
    }

    /// The post named by `uri` must be the giveaway post (by DID or handle).
    fn giveaway_uri(&self) -> Result<(), Response> {
        let Some(uri) = self.param("uri") else {
            return Err(invalid("Params must have the property \"uri\""));
        };
        let by_handle = format!("at://{AUTHOR_HANDLE}/app.bsky.feed.post/{POST_RKEY}");
        if uri == post_uri() || uri == by_handle {
            Ok(())
        } else {
            Err(xrpc_error(
                StatusCode::BAD_REQUEST,
                "NotFound",
                &format!("Post not found: {uri}"),
            ))
        }
    }
}

/// Checks the token and injected faults.
fn gate(
    shared: &Shared<Config>,
    headers: &HeaderMap,
    n: u64,
    raw: Option<&str>,
) -> Result<Ctx, Response> {
    let config = shared.config();
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
    {
        Some(t) if config.token.as_deref() == Some(t) => {}
        Some(t) if config.expired_token.as_deref() == Some(t) => {
            return Err(xrpc_error(
                StatusCode::UNAUTHORIZED,
                "ExpiredToken",
                "Token has expired",
            ));
        }
        Some(_) => {
            return Err(xrpc_error(
                StatusCode::UNAUTHORIZED,
                "InvalidToken",
                "Malformed token",
            ));
        }
        None if config.require_auth => {
            return Err(xrpc_error(
                StatusCode::UNAUTHORIZED,
                "AuthenticationRequired",
                "Authentication Required",
            ));
        }
        None => {}
    }
    match config.faults.for_request(n) {
        Some(Fault::RateLimited) => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let reset =
                now + i64::try_from(config.faults.rate_limit_reset_secs).unwrap_or(i64::MAX / 4);
            return Err(with_rate_headers(
                xrpc_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RateLimitExceeded",
                    "Rate Limit Exceeded",
                ),
                0,
                reset,
            ));
        }
        Some(Fault::ServerError) => {
            return Err(xrpc_error(
                StatusCode::BAD_GATEWAY,
                "UpstreamFailure",
                "Upstream Failure",
            ));
        }
        None => {}
    }
    Ok(Ctx {
        config,
        query: raw.map(decode_query).unwrap_or_default(),
        n,
    })
}

// ----- views -----

fn profile_basic(a: &Account) -> Value {
    let mut v = json!({
        "did": a.did, "handle": a.handle,
        "avatar": format!("https://cdn.bsky.app/img/avatar/plain/{}/bafkreiavatar@jpeg", a.did),
        "associated": { "chat": { "allowIncoming": "following" } },
        "viewer": { "muted": false, "blockedBy": false },
        "labels": [], "createdAt": a.created_at,
    });
    if !a.display_name.is_empty() {
        v["displayName"] = json!(a.display_name);
    }
    v
}

/// `profileView`: profileViewBasic plus `description` and `indexedAt`.
fn profile_view(a: &Account) -> Value {
    let mut v = profile_basic(a);
    v["description"] = json!(format!("Hi, I am {} & I like giveaways.", a.handle));
    v["indexedAt"] = json!(a.created_at);
    v
}

fn author_account() -> Account {
    Account {
        did: AUTHOR_DID.into(),
        handle: AUTHOR_HANDLE.into(),
        display_name: "Giveaway Org".into(),
        created_at: "2023-05-01T00:00:00.000Z".into(),
    }
}

fn strong_ref(uri: &str) -> Value {
    json!({ "uri": uri, "cid": format!("bafyrei{}", base32(mix(uri.len() as u64 ^ uri.bytes().map(u64::from).sum::<u64>()), 52)) })
}

fn post_view(
    uri: &str,
    author: &Account,
    text: &str,
    mentions: &[Mention],
    created_at: &str,
    reply_to: Option<&str>,
    counts: (usize, usize, usize, usize),
) -> Value {
    let mut record = json!({ "$type": "app.bsky.feed.post", "text": text, "langs": ["en"], "createdAt": created_at });
    if let Some(parent) = reply_to {
        record["reply"] = json!({ "root": strong_ref(&post_uri()), "parent": strong_ref(parent) });
    }
    if !mentions.is_empty() {
        record["facets"] = mentions
            .iter()
            .map(|m| {
                json!({
                    "$type": "app.bsky.richtext.facet",
                    "index": { "byteStart": m.start, "byteEnd": m.end },
                    "features": [{ "$type": "app.bsky.richtext.facet#mention", "did": m.did }],
                })
            })
            .collect();
    }
    let cid = strong_ref(uri)["cid"].clone();
    json!({
        "uri": uri, "cid": cid, "author": profile_basic(author), "record": record,
        "replyCount": counts.0, "repostCount": counts.1, "likeCount": counts.2, "quoteCount": counts.3,
        "bookmarkCount": 0, "indexedAt": created_at,
        "viewer": { "bookmarked": false, "threadMuted": false, "embeddingDisabled": false },
        "labels": [],
    })
}

fn root_view(c: &Config) -> Value {
    post_view(
        &post_uri(),
        &author_account(),
        "🎁 Giveaway! Reply, like or repost to enter. Winners drawn with fairdraw.",
        &[],
        &rfc3339_ms(POST_UNIX),
        None,
        (
            c.comments + c.blocked + c.deleted,
            c.reposts,
            c.likes,
            c.quotes,
        ),
    )
}

fn reply_view(r: &Reply) -> Value {
    post_view(
        &r.uri,
        &r.account,
        &r.text,
        &r.mentions,
        &r.created_at,
        Some(&r.parent),
        (r.children.len(), 0, 0, 0),
    )
}

/// A `threadViewPost` of reply `i` with `depth` levels of replies below it.
fn thread_node(thread: &[Reply], i: usize, depth: usize) -> Value {
    let r = &thread[i];
    let mut node = json!({ "$type": "app.bsky.feed.defs#threadViewPost", "post": reply_view(r) });
    if depth > 0 {
        node["replies"] = r
            .children
            .iter()
            .map(|&c| thread_node(thread, c, depth - 1))
            .collect();
    }
    node
}

async fn get_post_thread(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match gate(&shared, &headers, n, raw.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let depth = match ctx.param("depth").map(str::parse::<usize>) {
        None => 6,
        Some(Ok(d @ 0..=1000)) => d,
        Some(_) => return invalid("depth can not be greater than 1000"),
    };
    let Some(uri) = ctx.param("uri").map(str::to_owned) else {
        return invalid("Params must have the property \"uri\"");
    };
    let c = &ctx.config;
    let thread = c.thread();
    let node = if ctx.giveaway_uri().is_ok() {
        let mut node =
            json!({ "$type": "app.bsky.feed.defs#threadViewPost", "post": root_view(c) });
        if depth > 0 {
            let mut replies: Vec<Value> = thread
                .iter()
                .enumerate()
                .filter(|(_, r)| r.depth == 1)
                .map(|(i, _)| thread_node(&thread, i, depth - 1))
                .collect();
            for b in 0..c.blocked {
                let did = format!("did:plc:{}", base32(0xb10c + b as u64, 24));
                replies.insert(
                    (3 * b + 1).min(replies.len()),
                    json!({
                        "$type": "app.bsky.feed.defs#blockedPost",
                        "uri": format!("at://{did}/app.bsky.feed.post/{}", rkey(3, b)),
                        "blocked": true,
                        "author": { "did": did, "viewer": { "blockedBy": true } },
                    }),
                );
            }
            for d in 0..c.deleted {
                let did = format!("did:plc:{}", base32(0xde1 + d as u64, 24));
                replies.insert(
                    (5 * d + 2).min(replies.len()),
                    json!({
                        "$type": "app.bsky.feed.defs#notFoundPost",
                        "uri": format!("at://{did}/app.bsky.feed.post/{}", rkey(4, d)),
                        "notFound": true,
                    }),
                );
            }
            node["replies"] = json!(replies);
        }
        node
    } else if let Some(i) = thread.iter().position(|r| r.uri == uri) {
        thread_node(&thread, i, depth)
    } else {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "NotFound",
            &format!("Post not found: {uri}"),
        );
    };
    let mut body = json!({ "thread": node });
    let hidden: Vec<&str> = thread
        .iter()
        .filter(|r| r.hidden)
        .map(|r| r.uri.as_str())
        .collect();
    if !hidden.is_empty() {
        let gate_uri = format!("at://{AUTHOR_DID}/app.bsky.feed.threadgate/{POST_RKEY}");
        body["threadgate"] = json!({
            "uri": gate_uri, "cid": strong_ref(&gate_uri)["cid"],
            "record": {
                "$type": "app.bsky.feed.threadgate", "post": post_uri(),
                "createdAt": rfc3339_ms(POST_UNIX), "hiddenReplies": hidden,
            },
            "lists": [],
        });
    }
    ctx.ok(body)
}

/// The cursor of record `i` of a list: `<sortAt ms>::<cid>`.
fn cursor_of(list: &str, i: usize) -> String {
    let ms = (POST_UNIX + 86_400) * 1000 - 1000 * i as i64;
    format!(
        "{ms}::bafyrei{}",
        base32(mix(i as u64) ^ list.len() as u64, 20)
    )
}

/// The window of a list a page reads: `(start, end, next cursor)`, or the
/// 400 for a cursor this list never gave.
fn window(ctx: &Ctx, list: &str, len: usize) -> Result<(usize, usize, Option<String>), Response> {
    let limit = ctx.limit()?;
    let start = match ctx.param("cursor") {
        None | Some("") => 0,
        Some(c) => match (0..len).find(|&i| cursor_of(list, i) == c) {
            Some(i) => i + 1,
            None => return Err(invalid("Malformed cursor")),
        },
    };
    let end = (start + limit).min(len);
    let next = if end > start && (end < len || ctx.config.keyset_end) {
        Some(cursor_of(list, end - 1))
    } else {
        None
    };
    Ok((start, end, next))
}

fn with_cursor(mut body: Value, next: Option<String>) -> Value {
    if let Some(c) = next {
        body["cursor"] = json!(c);
    }
    body
}

async fn get_likes(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match gate(&shared, &headers, n, raw.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = ctx.giveaway_uri() {
        return r;
    }
    let records = ctx.config.records("likes");
    let (start, end, next) = match window(&ctx, "likes", records.len()) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let likes: Vec<Value> = records[start..end]
        .iter()
        .filter(|r| !r.filtered)
        .map(|r| {
            json!({ "indexedAt": r.created_at, "createdAt": r.created_at, "actor": profile_view(&r.account) })
        })
        .collect();
    let uri = ctx.param("uri").unwrap_or_default();
    ctx.ok(with_cursor(json!({ "uri": uri, "likes": likes }), next))
}

async fn get_reposted_by(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match gate(&shared, &headers, n, raw.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = ctx.giveaway_uri() {
        return r;
    }
    let records = ctx.config.records("reposts");
    let (start, end, next) = match window(&ctx, "reposts", records.len()) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let accounts: Vec<Value> = records[start..end]
        .iter()
        .filter(|r| !r.filtered)
        .map(|r| profile_view(&r.account))
        .collect();
    let uri = ctx.param("uri").unwrap_or_default();
    ctx.ok(with_cursor(
        json!({ "uri": uri, "repostedBy": accounts }),
        next,
    ))
}

async fn get_quotes(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match gate(&shared, &headers, n, raw.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = ctx.giveaway_uri() {
        return r;
    }
    let c = &ctx.config;
    let quotes = c.all_quotes();
    let (start, end, next) = match window(&ctx, "quotes", quotes.len()) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let root = root_view(c);
    let posts: Vec<Value> = quotes[start..end]
        .iter()
        .enumerate()
        .filter(|(i, _)| !(c.filtered.0..c.filtered.0 + c.filtered.1).contains(&(start + i)))
        .map(|(_, q)| {
            let mut v = post_view(
                &q.uri,
                &q.account,
                &q.text,
                &q.mentions,
                &q.created_at,
                None,
                (0, 0, 0, 0),
            );
            v["record"]["embed"] =
                json!({ "$type": "app.bsky.embed.record", "record": strong_ref(&post_uri()) });
            v["embed"] = json!({
                "$type": "app.bsky.embed.record#view",
                "record": {
                    "$type": "app.bsky.embed.record#viewRecord", "uri": root["uri"], "cid": root["cid"],
                    "author": root["author"], "value": root["record"], "indexedAt": root["indexedAt"],
                },
            });
            v
        })
        .collect();
    let uri = ctx.param("uri").unwrap_or_default();
    ctx.ok(with_cursor(json!({ "uri": uri, "posts": posts }), next))
}

async fn get_followers(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match gate(&shared, &headers, n, raw.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match ctx.param("actor") {
        Some(AUTHOR_DID | AUTHOR_HANDLE) => {}
        Some(_) => return invalid("Profile not found"),
        None => return invalid("Params must have the property \"actor\""),
    }
    let records = ctx.config.records("followers");
    let (start, end, next) = match window(&ctx, "followers", records.len()) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let followers: Vec<Value> = records[start..end]
        .iter()
        .filter(|r| !r.filtered)
        .map(|r| profile_view(&r.account))
        .collect();
    ctx.ok(with_cursor(
        json!({ "subject": profile_view(&author_account()), "followers": followers }),
        next,
    ))
}

async fn resolve_handle(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match gate(&shared, &headers, n, raw.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(handle) = ctx.param("handle").map(str::to_ascii_lowercase) else {
        return invalid("Params must have the property \"handle\"");
    };
    if handle == AUTHOR_HANDLE {
        return ctx.ok(json!({ "did": AUTHOR_DID }));
    }
    match (0..ctx.config.pool())
        .map(|i| ctx.config.account(i))
        .find(|a| a.handle == handle)
    {
        Some(a) => ctx.ok(json!({ "did": a.did })),
        None => invalid("Unable to resolve handle"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::http;

    fn xrpc(m: &MockHandle<Config>, nsid: &str, query: &str) -> http::Response {
        http::get(&format!("{}/xrpc/{nsid}?{query}", m.origin), &[]).expect("request")
    }

    /// Pages through a list; returns the page sizes and the items.
    fn pages(
        m: &MockHandle<Config>,
        nsid: &str,
        query: &str,
        key: &str,
    ) -> (Vec<usize>, Vec<Value>) {
        let (mut sizes, mut items, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
        loop {
            let q = match &cursor {
                Some(c) => format!("{query}&cursor={}", super::super::percent_encode(c)),
                None => query.to_owned(),
            };
            let r = xrpc(m, nsid, &q);
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.header("ratelimit-limit"), Some("3000"));
            assert_eq!(r.header("ratelimit-policy"), Some("3000;w=300"));
            let body = r.json().expect("json");
            let page = body[key].as_array().expect("list").clone();
            sizes.push(page.len());
            items.extend(page);
            match body.get("cursor") {
                Some(c) => cursor = Some(c.as_str().expect("string cursor").to_owned()),
                None => return (sizes, items),
            }
            assert!(sizes.len() < 50, "no end");
        }
    }

    #[test]
    fn likes_page_by_cursor_which_is_absent_at_the_end() {
        let m = start_blocking(Config {
            likes: 120,
            ..Config::default()
        });
        let uri = post_uri();
        let (sizes, likes) = pages(
            &m,
            "app.bsky.feed.getLikes",
            &format!("uri={uri}&limit=50"),
            "likes",
        );
        assert_eq!(sizes, [50, 50, 20]);
        let dids: Vec<_> = likes.iter().map(|l| l["actor"]["did"].clone()).collect();
        let expected: Vec<_> = m
            .config()
            .likers()
            .into_iter()
            .map(|r| json!(r.account.did))
            .collect();
        assert_eq!(dids, expected);
        assert_eq!(likes[0]["createdAt"], likes[0]["indexedAt"]);
        assert!(
            likes[0]["actor"]["handle"]
                .as_str()
                .is_some_and(|h| h.ends_with(".bsky.social"))
        );
        // The default limit is 50; more than 100 is refused.
        let (sizes, _) = pages(&m, "app.bsky.feed.getLikes", &format!("uri={uri}"), "likes");
        assert_eq!(sizes, [50, 50, 20]);
        let r = xrpc(
            &m,
            "app.bsky.feed.getLikes",
            &format!("uri={uri}&limit=101"),
        );
        assert_eq!(r.status, 400);
        assert_eq!(r.json().expect("json")["error"], "InvalidRequest");
        let r = xrpc(
            &m,
            "app.bsky.feed.getLikes",
            &format!("uri={uri}&cursor=bogus"),
        );
        assert_eq!(r.status, 400);
    }

    #[test]
    fn filtered_records_make_short_and_empty_pages_that_keep_a_cursor() {
        let m = start_blocking(Config {
            likes: 30,
            filtered: (10, 12),
            keyset_end: true,
            ..Config::default()
        });
        let q = format!("uri={}&limit=10", post_uri());
        let (sizes, likes) = pages(&m, "app.bsky.feed.getLikes", &q, "likes");
        // Records 10..22 are dropped: page 2 is empty, page 3 short, and
        // the last full page still has a cursor to an empty one.
        assert_eq!(sizes, [10, 0, 8, 0]);
        assert_eq!(likes.len(), m.config().likers().len());
        let (sizes, _) = pages(
            &m,
            "app.bsky.feed.getRepostedBy",
            &format!("uri={}&limit=100", post_uri()),
            "repostedBy",
        );
        assert_eq!(sizes, [18, 0]);
    }

    #[test]
    fn the_thread_is_a_tree_cut_at_depth_with_blocked_deleted_and_hidden_replies() {
        let m = start_blocking(Config {
            comments: 8,
            max_replies: 3,
            deep_chain: 5,
            hidden: 1,
            ..Config::default()
        });
        let c = m.config();
        let thread = c.thread();
        let q = |depth: u32| format!("uri={}&depth={depth}&parentHeight=0", post_uri());
        let body = xrpc(&m, "app.bsky.feed.getPostThread", &q(1))
            .json()
            .expect("json");
        let root = &body["thread"];
        assert_eq!(root["$type"], "app.bsky.feed.defs#threadViewPost");
        assert_eq!(root["post"]["uri"], post_uri());
        let replies = root["replies"].as_array().expect("replies");
        assert_eq!(replies.len(), 8 + 1 + 1);
        assert_eq!(replies[1]["$type"], "app.bsky.feed.defs#blockedPost");
        assert_eq!(replies[1]["blocked"], true);
        assert_eq!(replies[2]["$type"], "app.bsky.feed.defs#notFoundPost");
        // At the cut: the count, no `replies`.
        let first = &replies[0];
        assert!(first.get("replies").is_none());
        assert_eq!(first["post"]["replyCount"], 1);
        assert_eq!(
            body["threadgate"]["record"]["hiddenReplies"],
            json!([thread
                .iter()
                .rev()
                .find(|r| r.depth == 1)
                .map(|r| r.uri.clone())])
        );
        // Facets index the UTF-8 bytes of the mention in the text.
        let with_facets = thread
            .iter()
            .find(|r| r.text.contains('🎉'))
            .expect("a 🎉 reply");
        let m0 = &with_facets.mentions[0];
        assert!(with_facets.text[m0.start..m0.end].starts_with("@fan"));
        // Deeper: the chain of 5 under the first comment.
        let body = xrpc(&m, "app.bsky.feed.getPostThread", &q(1000))
            .json()
            .expect("json");
        let mut node = &body["thread"]["replies"][0];
        let mut depth = 1;
        while let Some(next) = node["replies"].as_array().and_then(|r| r.first()) {
            node = next;
            depth += 1;
        }
        assert_eq!(depth, 6);
        assert_eq!(
            node["replies"],
            json!([]),
            "a leaf within the depth has an empty list"
        );
        // A subtree by its URI.
        let deep = &thread[3];
        assert_eq!(deep.depth, 4);
        let sub = xrpc(
            &m,
            "app.bsky.feed.getPostThread",
            &format!("uri={}&depth=1", deep.uri),
        )
        .json()
        .expect("json");
        assert_eq!(sub["thread"]["post"]["uri"], json!(deep.uri));
        assert_eq!(
            sub["thread"]["replies"][0]["post"]["uri"],
            json!(thread[4].uri)
        );
        let r = xrpc(
            &m,
            "app.bsky.feed.getPostThread",
            "uri=at://did:plc:x/app.bsky.feed.post/nope",
        );
        assert_eq!(r.status, 400);
        assert_eq!(r.json().expect("json")["error"], "NotFound");
    }

    #[test]
    fn quotes_followers_and_handles() {
        let m = start_blocking(Config {
            quotes: 3,
            followers: 5,
            renamed: vec![1],
            ..Config::default()
        });
        let body = xrpc(
            &m,
            "app.bsky.feed.getQuotes",
            &format!("uri={}", post_uri()),
        )
        .json()
        .expect("json");
        let posts = body["posts"].as_array().expect("posts");
        assert_eq!(posts.len(), 3);
        assert!(body.get("cursor").is_none());
        assert_eq!(posts[0]["embed"]["record"]["uri"], post_uri());
        assert!(
            posts[0]["record"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("quoting: "))
        );
        let body = xrpc(
            &m,
            "app.bsky.graph.getFollowers",
            &format!("actor={AUTHOR_HANDLE}"),
        )
        .json()
        .expect("json");
        assert_eq!(body["subject"]["did"], AUTHOR_DID);
        assert_eq!(body["followers"][0]["handle"], "fan1-new.bsky.social");
        assert_eq!(
            xrpc(&m, "app.bsky.graph.getFollowers", "actor=nobody.test").status,
            400
        );
        let r = xrpc(
            &m,
            "com.atproto.identity.resolveHandle",
            &format!("handle={AUTHOR_HANDLE}"),
        );
        assert_eq!(r.json().expect("json"), json!({ "did": AUTHOR_DID }));
        let r = xrpc(
            &m,
            "com.atproto.identity.resolveHandle",
            "handle=fan1-new.bsky.social",
        );
        assert_eq!(
            r.json().expect("json")["did"],
            json!(m.config().account(1).did)
        );
        let r = xrpc(
            &m,
            "com.atproto.identity.resolveHandle",
            "handle=ghost.example",
        );
        assert_eq!(
            (r.status, r.json().expect("json")),
            (
                400,
                json!({ "error": "InvalidRequest", "message": "Unable to resolve handle" })
            )
        );
    }

    #[test]
    fn tokens_rate_limits_and_outages() {
        let m = start_blocking(Config::default());
        let url = format!(
            "{}/xrpc/app.bsky.feed.getLikes?uri={}",
            m.origin,
            post_uri()
        );
        let r = http::get(&url, &[("Authorization", "Bearer nope")]).expect("request");
        assert_eq!(
            (r.status, r.json().expect("json")),
            (
                401,
                json!({ "error": "InvalidToken", "message": "Malformed token" })
            )
        );
        let r = http::get(
            &url,
            &[("Authorization", &format!("Bearer {EXPIRED_TOKEN}"))],
        )
        .expect("request");
        assert_eq!(r.json().expect("json")["error"], "ExpiredToken");
        let r = http::get(&url, &[("Authorization", &format!("Bearer {TOKEN}"))]).expect("request");
        assert_eq!(r.status, 200);
        assert!(m.credentials_seen().contains(TOKEN));
        m.configure(|c| c.require_auth = true);
        let r = http::get(&url, &[]).expect("request");
        assert_eq!(r.json().expect("json")["error"], "AuthenticationRequired");
        m.configure(|c| {
            c.require_auth = false;
            c.faults = Faults {
                rate_limit_first: 1,
                rate_limit_reset_secs: 120,
                fail_first: 1,
                ..Faults::default()
            };
        });
        m.reset();
        let before = time::OffsetDateTime::now_utc().unix_timestamp();
        let r = http::get(&url, &[]).expect("request");
        assert_eq!(r.status, 429);
        assert_eq!(
            r.json().expect("json"),
            json!({ "error": "RateLimitExceeded", "message": "Rate Limit Exceeded" })
        );
        assert_eq!(r.header("retry-after"), None);
        assert_eq!(r.header("ratelimit-remaining"), Some("0"));
        assert!(
            r.header("date").is_some(),
            "the reset is measured against Date"
        );
        let reset: i64 = r
            .header("ratelimit-reset")
            .expect("reset")
            .parse()
            .expect("epoch seconds");
        assert!(
            (119..=121).contains(&(reset - before)),
            "{}",
            reset - before
        );
        let r = http::get(&url, &[]).expect("request");
        assert_eq!(
            (r.status, r.json().expect("json")["error"].clone()),
            (502, json!("UpstreamFailure"))
        );
        assert_eq!(http::get(&url, &[]).expect("request").status, 200);
    }

    #[test]
    fn lists_are_distinct_accounts_and_the_thread_is_deterministic() {
        let c = Config::default();
        let likers: std::collections::BTreeSet<_> =
            c.likers().into_iter().map(|r| r.account.did).collect();
        assert_eq!(likers.len(), c.likes);
        let followers: std::collections::BTreeSet<_> =
            c.follower_accounts().into_iter().map(|a| a.did).collect();
        assert_eq!(followers.len(), c.followers);
        assert_eq!(c.thread(), c.thread());
        let commenters: std::collections::BTreeSet<_> = c
            .thread()
            .into_iter()
            .filter(|r| r.depth == 1)
            .map(|r| r.account.did)
            .collect();
        assert!(!commenters.is_disjoint(&likers));
    }
}
