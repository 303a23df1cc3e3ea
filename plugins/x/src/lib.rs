//! X (Twitter) replies, likes, reposts and followers, from the X API v2.
//!
//! - `comments`: direct replies to the post, from recent search
//!   (`GET /2/tweets/search/recent?query=conversation_id:ID`, 100 a page,
//!   newest first, `expansions=author_id`). Recent search covers the **last
//!   7 days only**: older replies are not returned (full-archive search
//!   needs a higher access tier), and the plugin warns when the post is
//!   older than that.
//! - `replies`: the other posts of the conversation (replies to replies),
//!   from the same search.
//! - `likes`: `GET /2/tweets/:id/liking_users`, 100 a page.
//! - `reposts`: `GET /2/tweets/:id/retweeted_by`, then the quote posts,
//!   `GET /2/tweets/:id/quote_tweets` (a quote is a repost with text; the
//!   quote's text is kept).
//! - `followers`: followers of the post's author, `GET /2/users/:id/followers`,
//!   1000 a page, where the access tier allows it; otherwise a clear
//!   "not available on this access tier" error.
//!
//! X gives no time for a like, a repost or a follow: those entries carry the
//! post's own `created_at`, read with `GET /2/tweets/:id` on the first page
//! and kept in the cursor.
//!
//! Entries: `user_id` = user `id`, `handle` = `@` + `username`,
//! `display_name` = `name`, `followers` = `public_metrics.followers_count`,
//! `account_created_at` = the user's `created_at`. Texts have X's HTML
//! escapes (`&amp;`, `&lt;`, `&gt;`) decoded, and count as mentions exactly
//! the accounts in `entities.mentions` (see [`entry_text`]).
//!
//! The bearer token never reaches the plugin: the host adds
//! `Authorization: Bearer …` to requests to `https://api.x.com` (manifest
//! credential `bearer_token`).

use std::borrow::Cow;
use std::collections::HashMap;

use fairdraw_plugin_sdk::http::{self, Response};
use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source, log, time};
use serde::Deserialize;

/// The platform name written into every entry.
pub const PLATFORM: &str = "x";

/// The API's base URL.
pub const API: &str = "https://api.x.com/2";

/// The most posts or users search, liking_users, retweeted_by and
/// quote_tweets return per page.
pub const PAGE_SIZE: &str = "100";

/// The most users followers returns per page.
pub const FOLLOWERS_PAGE_SIZE: &str = "1000";

/// The post fields requested from search and quote_tweets.
pub const TWEET_FIELDS: &str =
    "author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets,entities";

/// The user fields requested everywhere.
pub const USER_FIELDS: &str = "username,name,created_at,public_metrics";

/// How far back recent search reaches.
const RECENT_SEARCH_SECONDS: i64 = 7 * 86_400;

/// The longest cursor or token accepted back from the host.
const MAX_CURSOR: usize = 2048;

/// Inserted where X's text has an `@name` X did not treat as a mention, so
/// that the engine, which reads mentions from text, does not count it
/// either. It is invisible and survives NFKC.
const NOT_A_MENTION: char = '\u{200B}';

/// The X source.
#[derive(Debug)]
pub struct X;

impl Source for X {
    fn describe() -> Info {
        Info::new(PLATFORM)
            .collections(Collection::ALL)
            .credential("bearer_token")
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        let (user, id) = post_ref(url).ok_or_else(|| {
            PluginError::InvalidInput(format!(
                "{url:?} is not an X post URL (https://x.com/USER/status/ID, https://twitter.com/USER/status/ID, or a numeric post id)"
            ))
        })?;
        let url = match user {
            Some(user) => format!("https://x.com/{user}/status/{id}"),
            None => format!("https://x.com/i/web/status/{id}"),
        };
        Ok(Post { id, url })
    }

    fn fetch_page(
        post: &Post,
        collection: Collection,
        cursor: Option<&str>,
    ) -> Result<Page, PluginError> {
        if !is_post_id(&post.id) {
            return Err(PluginError::InvalidInput(format!(
                "{:?} is not an X post id",
                post.id
            )));
        }
        if cursor.is_some_and(|c| c.len() > MAX_CURSOR) {
            return Err(PluginError::InvalidInput(
                "the cursor is longer than any this plugin writes".into(),
            ));
        }
        match collection {
            Collection::Comments => conversation(&post.id, cursor, true),
            Collection::Replies => conversation(&post.id, cursor, false),
            Collection::Likes | Collection::Reposts | Collection::Followers => {
                user_lists(&post.id, collection, cursor)
            }
        }
    }
}

fairdraw_plugin_sdk::export_source!(X);

// ----- post URLs -----

/// The username (when the URL has one) and the post id of an X or Twitter
/// post URL, or of a bare id.
fn post_ref(url: &str) -> Option<(Option<String>, String)> {
    let url = url.trim();
    if is_post_id(url) {
        return Some((None, url.to_owned()));
    }
    let origin = http::parse_origin(url)?;
    let host = origin.host.as_str();
    let host = ["www.", "mobile.", "m."]
        .iter()
        .find_map(|p| host.strip_prefix(p))
        .unwrap_or(host);
    if !matches!(host, "x.com" | "twitter.com") {
        return None;
    }
    let path = origin.rest.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (user, id) = match segments.as_slice() {
        ["i", "web", "status", id, ..] | ["i", "status", id, ..] => (None, *id),
        [user, "status" | "statuses", id, ..] if is_username(user) => (Some(*user), *id),
        _ => return None,
    };
    is_post_id(id).then(|| (user.map(str::to_owned), id.to_owned()))
}

/// Post ids are snowflakes: decimal, at most 19 digits (a u64).
fn is_post_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Usernames are 1–15 of `[A-Za-z0-9_]`.
fn is_username(s: &str) -> bool {
    (1..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// User ids are numeric strings.
fn is_user_id(s: &str) -> bool {
    is_post_id(s)
}

// ----- API shapes (only the fields used; strings borrowed from the body) -----

#[derive(Deserialize)]
struct TweetList<'a> {
    #[serde(borrow, default)]
    data: Vec<Tweet<'a>>,
    #[serde(borrow, default)]
    includes: Includes<'a>,
    #[serde(borrow, default)]
    errors: Vec<Problem<'a>>,
    #[serde(borrow, default)]
    meta: Meta<'a>,
}

#[derive(Deserialize)]
struct UserList<'a> {
    #[serde(borrow, default)]
    data: Vec<User<'a>>,
    #[serde(borrow, default)]
    errors: Vec<Problem<'a>>,
    #[serde(borrow, default)]
    meta: Meta<'a>,
}

#[derive(Deserialize)]
struct TweetLookup<'a> {
    #[serde(borrow)]
    data: Option<Tweet<'a>>,
    #[serde(borrow, default)]
    errors: Vec<Problem<'a>>,
}

#[derive(Deserialize)]
struct Tweet<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Cow<'a, str>,
    #[serde(borrow)]
    author_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    in_reply_to_user_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    referenced_tweets: Vec<Reference<'a>>,
    #[serde(borrow, default)]
    entities: Entities<'a>,
}

#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize, Default)]
struct Entities<'a> {
    #[serde(borrow, default)]
    mentions: Vec<Mention<'a>>,
}

/// One of `entities.mentions`: an account the post mentions.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Mention<'a> {
    /// The username, without `@`.
    #[serde(borrow)]
    pub username: Cow<'a, str>,
    /// The user id (X sends it; absent in old payloads).
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Includes<'a> {
    #[serde(borrow, default)]
    users: Vec<User<'a>>,
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    username: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
    public_metrics: Option<PublicMetrics>,
}

#[derive(Deserialize)]
struct PublicMetrics {
    followers_count: Option<u64>,
}

#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(borrow)]
    next_token: Option<Cow<'a, str>>,
}

/// An item of a 200 response's partial `errors[]` (a deleted post, a
/// suspended author).
#[derive(Deserialize)]
struct Problem<'a> {
    #[serde(borrow)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    resource_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    value: Option<Cow<'a, str>>,
}

impl User<'_> {
    /// The entry of this account's action at `created_at` with `text`.
    fn entry(&self, created_at: String, text: String) -> Entry {
        Entry {
            platform: PLATFORM.into(),
            user_id: self.id.as_ref().into(),
            handle: format!("@{}", self.username),
            display_name: self.name.as_ref().into(),
            text,
            created_at,
            followers: self.public_metrics.as_ref().and_then(|m| m.followers_count),
            // A date the engine would refuse is dropped, not passed on.
            account_created_at: self
                .created_at
                .as_deref()
                .filter(|t| time::parse_rfc3339(t).is_some())
                .map(str::to_owned),
        }
    }

    /// Whether X gave a usable account: an id and a username.
    fn usable(&self) -> bool {
        !self.id.is_empty() && !self.username.is_empty()
    }
}

// ----- requests -----

/// `GET url`; a non-2xx answer becomes the error [`api_error`] gives.
fn get(url: &str, what: &str) -> Result<Response, PluginError> {
    let response = http::get(url, &[("Accept", "application/json")])?;
    if !response.is_success() {
        return Err(api_error(&response, what));
    }
    Ok(response)
}

/// Parses a 2xx body, borrowing its strings.
fn parse<'a, T: Deserialize<'a>>(response: &'a Response) -> Result<T, PluginError> {
    serde_json::from_slice(&response.body).map_err(|e| {
        PluginError::BadResponse(format!(
            "X: the {} response is not the JSON expected: {e}",
            response.status
        ))
    })
}

/// Checks a 200 answer's partial `errors[]`: an error about the post itself
/// (deleted, protected) is `not-found`; the others (suspended or deleted
/// authors, ...) are counted and logged, and the page goes on.
fn partial_errors(errors: &[Problem<'_>], post_id: &str, what: &str) -> Result<(), PluginError> {
    if errors.is_empty() {
        return Ok(());
    }
    let about_post = errors.iter().find(|e| {
        e.resource_type.as_deref().is_none_or(|t| t == "tweet")
            && (e.resource_id.as_deref() == Some(post_id) || e.value.as_deref() == Some(post_id))
    });
    if let Some(e) = about_post {
        let words = e
            .detail
            .as_deref()
            .or(e.title.as_deref())
            .unwrap_or("the post is not available");
        let protected = e
            .kind
            .as_deref()
            .is_some_and(|k| k.ends_with("/not-authorized-for-resource"));
        return Err(PluginError::NotFound(if protected {
            format!("X: {words} (the post is protected or its author blocks this app)")
        } else {
            format!("X: {words}")
        }));
    }
    let first = errors[0]
        .detail
        .as_deref()
        .or(errors[0].title.as_deref())
        .unwrap_or("");
    log::warn(format!(
        "X reported {} partial error(s) on this {what} page (deleted or suspended accounts); their entries are left out. First: {first}",
        errors.len()
    ));
    Ok(())
}

/// A `next_token` to pass on: `None` at the end; an error when X repeats
/// the token it was given (a loop).
fn next_token(meta: &Meta<'_>, current: Option<&str>) -> Result<Option<String>, PluginError> {
    match meta.next_token.as_deref() {
        None | Some("") => Ok(None),
        Some(t) if Some(t) == current => Err(PluginError::BadResponse(format!(
            "X returned the same next_token {t:?} it was given"
        ))),
        Some(t) if t.len() > MAX_CURSOR / 2 => Err(PluginError::BadResponse(
            "X returned an implausibly long next_token".into(),
        )),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

/// A pagination token given back by the host: printable ASCII.
fn checked_token(token: &str) -> Result<&str, PluginError> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PluginError::InvalidInput(format!(
            "{token:?} is not an X pagination token"
        )));
    }
    Ok(token)
}

// ----- comments and replies: recent search on the conversation -----

/// Direct replies to the post (`direct`) or the rest of the conversation,
/// one search page.
fn conversation(post_id: &str, cursor: Option<&str>, direct: bool) -> Result<Page, PluginError> {
    let token = cursor.map(checked_token).transpose()?;
    let query = format!("conversation_id:{post_id}");
    let mut params = vec![
        ("query", query.as_str()),
        ("max_results", PAGE_SIZE),
        ("tweet.fields", TWEET_FIELDS),
        ("expansions", "author_id"),
        ("user.fields", USER_FIELDS),
    ];
    if let Some(token) = token {
        params.push(("next_token", token));
    }
    let url = http::url_with_query(&format!("{API}/tweets/search/recent"), &params);
    let response = get(&url, "search")?;
    if cursor.is_none() {
        warn_if_older_than_search_window(post_id, &response);
    }
    let list: TweetList<'_> = parse(&response)?;
    partial_errors(&list.errors, post_id, "search")?;
    let users = index_users(&list.includes.users);
    let mut entries = Vec::with_capacity(list.data.len());
    let mut skipped = 0usize;
    for tweet in &list.data {
        let Some(parent) = tweet
            .referenced_tweets
            .iter()
            .find(|r| r.kind == "replied_to")
        else {
            continue; // the post itself, or not a reply
        };
        if tweet.id == post_id || (parent.id == post_id) != direct {
            continue;
        }
        match tweet_entry(tweet, &users)? {
            Some(entry) => entries.push(entry),
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        log::warn(format!(
            "skipped {skipped} post(s) whose author X did not return (deleted or suspended accounts)"
        ));
    }
    Ok(Page::new(entries, next_token(&list.meta, token)?))
}

/// The users of `includes.users` by id.
fn index_users<'b, 'a>(users: &'b [User<'a>]) -> HashMap<&'b str, &'b User<'a>> {
    users
        .iter()
        .filter(|u| u.usable())
        .map(|u| (u.id.as_ref(), u))
        .collect()
}

/// The entry of a post (a reply or a quote) by its author, `None` when X
/// did not include the author (deleted or suspended).
fn tweet_entry(
    tweet: &Tweet<'_>,
    users: &HashMap<&str, &User<'_>>,
) -> Result<Option<Entry>, PluginError> {
    let Some(author) = tweet.author_id.as_deref().and_then(|id| users.get(id)) else {
        return Ok(None);
    };
    let created_at = tweet
        .created_at
        .as_deref()
        .filter(|t| time::parse_rfc3339(t).is_some())
        .ok_or_else(|| {
            PluginError::BadResponse(format!(
                "X: post {} has no RFC 3339 created_at (was tweet.fields sent?)",
                tweet.id
            ))
        })?;
    let text = entry_text(
        &tweet.text,
        &tweet.entities.mentions,
        tweet.in_reply_to_user_id.as_deref(),
    );
    Ok(Some(author.entry(created_at.to_owned(), text)))
}

/// Logs a warning when the post is older than recent search's 7 days,
/// judged from the id (a snowflake holds its time) and the answer's `Date`.
fn warn_if_older_than_search_window(post_id: &str, response: &Response) {
    let Some(posted) = snowflake_unix_seconds(post_id) else {
        return;
    };
    let Some(now) = response.header("date").and_then(time::parse_http_date) else {
        return;
    };
    if now - posted > RECENT_SEARCH_SECONDS {
        log::warn(format!(
            "the post is from {}, more than 7 days ago: X's recent search returns only replies of the last 7 days, so older replies are missing",
            time::format_rfc3339(posted)
        ));
    }
}

/// The creation time of a snowflake id (posts since November 2010).
fn snowflake_unix_seconds(id: &str) -> Option<i64> {
    let id: u64 = id.parse().ok()?;
    if id < 1 << 40 {
        return None; // a pre-snowflake sequential id
    }
    let ms = (id >> 22) + 1_288_834_974_657;
    i64::try_from(ms / 1000).ok()
}

// ----- likes, reposts, followers -----

/// Which list a user-list cursor walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// `liking_users`.
    Likes,
    /// `retweeted_by`, then quotes.
    Retweets,
    /// `quote_tweets`.
    Quotes,
    /// `users/:author/followers`.
    Followers,
}

impl Phase {
    fn tag(self) -> &'static str {
        match self {
            Phase::Likes => "l",
            Phase::Retweets => "r",
            Phase::Quotes => "q",
            Phase::Followers => "f",
        }
    }

    fn of(collection: Collection) -> Phase {
        match collection {
            Collection::Reposts => Phase::Retweets,
            Collection::Followers => Phase::Followers,
            _ => Phase::Likes,
        }
    }

    fn belongs_to(self, collection: Collection) -> bool {
        matches!(
            (self, collection),
            (Phase::Likes, Collection::Likes)
                | (Phase::Retweets | Phase::Quotes, Collection::Reposts)
                | (Phase::Followers, Collection::Followers)
        )
    }
}

/// Where a likes, reposts or followers walk stands:
/// `<phase>|<post created_at>|<author id>|<token>`, the token
/// percent-encoded and empty for a phase's first page.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ListCursor {
    phase: Phase,
    post_time: String,
    author_id: String,
    token: Option<String>,
}

impl ListCursor {
    fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.phase.tag(),
            self.post_time,
            self.author_id,
            self.token
                .as_deref()
                .map(|t| http::encode(t).into_owned())
                .unwrap_or_default()
        )
    }

    fn decode(cursor: &str, collection: Collection) -> Result<Self, PluginError> {
        let bad = || {
            PluginError::InvalidInput(format!(
                "{cursor:?} is not a cursor of the {collection} collection"
            ))
        };
        let mut parts = cursor.split('|');
        let (Some(tag), Some(time_), Some(author), Some(token), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let phase = [
            Phase::Likes,
            Phase::Retweets,
            Phase::Quotes,
            Phase::Followers,
        ]
        .into_iter()
        .find(|p| p.tag() == tag)
        .filter(|p| p.belongs_to(collection))
        .ok_or_else(bad)?;
        if time::parse_rfc3339(time_).is_none() || !is_user_id(author) {
            return Err(bad());
        }
        let token = if token.is_empty() {
            None
        } else {
            let decoded = http::decode(token).into_owned();
            checked_token(&decoded).map_err(|_| bad())?;
            Some(decoded)
        };
        Ok(ListCursor {
            phase,
            post_time: time_.to_owned(),
            author_id: author.to_owned(),
            token,
        })
    }
}

/// The post's `created_at` and `author_id`, from `GET /2/tweets/:id`.
fn post_facts(post_id: &str) -> Result<(String, String), PluginError> {
    let url = http::url_with_query(
        &format!("{API}/tweets/{post_id}"),
        &[("tweet.fields", "created_at,author_id")],
    );
    let response = get(&url, "post lookup")?;
    let lookup: TweetLookup<'_> = parse(&response)?;
    let Some(tweet) = lookup.data else {
        partial_errors(&lookup.errors, post_id, "post lookup")?;
        return Err(PluginError::NotFound(format!(
            "X returned no post {post_id}"
        )));
    };
    let created_at = tweet
        .created_at
        .as_deref()
        .filter(|t| time::parse_rfc3339(t).is_some())
        .ok_or_else(|| {
            PluginError::BadResponse(format!("X: post {post_id} has no RFC 3339 created_at"))
        })?;
    let author = tweet
        .author_id
        .as_deref()
        .filter(|a| is_user_id(a))
        .ok_or_else(|| PluginError::BadResponse(format!("X: post {post_id} has no author_id")))?;
    Ok((created_at.to_owned(), author.to_owned()))
}

/// One page of likes, reposts (retweets, then quotes) or followers.
fn user_lists(
    post_id: &str,
    collection: Collection,
    cursor: Option<&str>,
) -> Result<Page, PluginError> {
    let state = match cursor {
        Some(c) => ListCursor::decode(c, collection)?,
        None => {
            let (post_time, author_id) = post_facts(post_id)?;
            ListCursor {
                phase: Phase::of(collection),
                post_time,
                author_id,
                token: None,
            }
        }
    };
    let token = state.token.as_deref();
    let (entries, next) = match state.phase {
        Phase::Likes => users_page(
            &format!("{API}/tweets/{post_id}/liking_users"),
            PAGE_SIZE,
            token,
            post_id,
            "liking_users",
            &state.post_time,
        )?,
        Phase::Retweets => users_page(
            &format!("{API}/tweets/{post_id}/retweeted_by"),
            PAGE_SIZE,
            token,
            post_id,
            "retweeted_by",
            &state.post_time,
        )?,
        Phase::Followers => users_page(
            &format!("{API}/users/{}/followers", state.author_id),
            FOLLOWERS_PAGE_SIZE,
            token,
            post_id,
            "followers",
            &state.post_time,
        )?,
        Phase::Quotes => quotes_page(post_id, token)?,
    };
    let next = match (next, state.phase) {
        (Some(token), phase) => Some(ListCursor {
            phase,
            token: Some(token),
            ..state
        }),
        // Retweets done: the quotes follow, from their first page.
        (None, Phase::Retweets) => Some(ListCursor {
            phase: Phase::Quotes,
            token: None,
            ..state
        }),
        (None, _) => None,
    };
    Ok(Page::new(entries, next.map(|c| c.encode())))
}

/// One page of a user list (`liking_users`, `retweeted_by`, `followers`).
fn users_page(
    base: &str,
    page_size: &str,
    token: Option<&str>,
    post_id: &str,
    what: &str,
    post_time: &str,
) -> Result<(Vec<Entry>, Option<String>), PluginError> {
    let mut params = vec![("max_results", page_size), ("user.fields", USER_FIELDS)];
    if let Some(token) = token {
        params.push(("pagination_token", token));
    }
    let response = get(&http::url_with_query(base, &params), what)?;
    let list: UserList<'_> = parse(&response)?;
    partial_errors(&list.errors, post_id, what)?;
    let entries = list
        .data
        .iter()
        .filter(|u| u.usable())
        .map(|u| u.entry(post_time.to_owned(), String::new()))
        .collect();
    Ok((entries, next_token(&list.meta, token)?))
}

/// One page of quote posts: reposts with text.
fn quotes_page(
    post_id: &str,
    token: Option<&str>,
) -> Result<(Vec<Entry>, Option<String>), PluginError> {
    let mut params = vec![
        ("max_results", PAGE_SIZE),
        ("tweet.fields", TWEET_FIELDS),
        ("expansions", "author_id"),
        ("user.fields", USER_FIELDS),
    ];
    if let Some(token) = token {
        params.push(("pagination_token", token));
    }
    let url = http::url_with_query(&format!("{API}/tweets/{post_id}/quote_tweets"), &params);
    let response = get(&url, "quote_tweets")?;
    let list: TweetList<'_> = parse(&response)?;
    partial_errors(&list.errors, post_id, "quote_tweets")?;
    let users = index_users(&list.includes.users);
    let mut entries = Vec::with_capacity(list.data.len());
    for tweet in &list.data {
        if let Some(entry) = tweet_entry(tweet, &users)? {
            entries.push(entry);
        }
    }
    Ok((entries, next_token(&list.meta, token)?))
}

// ----- text -----

/// Whether `c` is a word code point in the engine's mention rule
/// (PROTOCOL.md §5.4): `_` or alphanumeric.
fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Whether `c` may continue a name in the engine's mention rule.
fn is_name(c: char) -> bool {
    is_word(c) || c == '.' || c == '-'
}

/// The text of a post as its author typed it, with its mentions exactly
/// those X recorded in `entities.mentions`.
///
/// X escapes `&`, `<` and `>` in `text` as `&amp;`, `&lt;` and `&gt;`; they
/// are decoded. The engine counts mentions from the text (`@name` after a
/// non-word character), while X decides them itself: an `@name` that is no
/// account, or `@name.more` (X's usernames stop at `.`), reads differently.
/// So every `@` that does not start one of `mentions` gets an invisible
/// U+200B after it, and one is put between a mention and a `.`/`-` that
/// would lengthen it. In the leading run of mentions X adds to a reply, the
/// handle of the account replied to (`in_reply_to`) is not counted either:
/// X wrote it, not the entrant.
pub fn entry_text(raw: &str, mentions: &[Mention<'_>], in_reply_to: Option<&str>) -> String {
    let text = decode_entities(raw);
    if !text.contains(['@', '＠']) {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut prev_word = false;
    let mut in_prefix = true;
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let after_at = i + c.len_utf8();
        if (c == '@' || c == '＠') && !prev_word {
            let rest = &text[after_at..];
            let name_len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let name = &rest[..name_len];
            let mention = mentions
                .iter()
                .find(|m| !name.is_empty() && m.username.eq_ignore_ascii_case(name));
            out.push(c);
            match mention {
                Some(m) => {
                    let auto_prefix =
                        in_prefix && in_reply_to.is_some() && m.id.as_deref() == in_reply_to;
                    if auto_prefix {
                        out.push(NOT_A_MENTION);
                    }
                    out.push_str(name);
                    // The engine would read `@name.more` or `@name-x` as one
                    // longer name: end it where X did.
                    let after = &rest[name_len..];
                    let follow_len = after
                        .char_indices()
                        .find(|(_, ch)| !is_name(*ch))
                        .map_or(after.len(), |(k, _)| k);
                    let lengthens = !after[..follow_len].trim_end_matches(['.', '-']).is_empty();
                    if lengthens {
                        out.push(NOT_A_MENTION);
                    }
                    i = after_at + name_len;
                    prev_word = true;
                    continue;
                }
                None => {
                    out.push(NOT_A_MENTION);
                    in_prefix = false;
                    i = after_at;
                    prev_word = false;
                    continue;
                }
            }
        }
        if !c.is_whitespace() {
            in_prefix = false;
        }
        out.push(c);
        prev_word = is_word(c);
        i = after_at;
    }
    out
}

/// Decodes the three escapes X applies to post text: `&amp;`, `&lt;`,
/// `&gt;` (it escapes nothing else, so `&quot;` stays as typed).
fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (text, used) = if rest.starts_with("&amp;") {
            ("&", 5)
        } else if rest.starts_with("&lt;") {
            ("<", 4)
        } else if rest.starts_with("&gt;") {
            (">", 4)
        } else {
            ("&", 1)
        };
        out.push_str(text);
        rest = &rest[used..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

// ----- errors -----

/// An X error body: problem+json (`title`, `detail`, `type`, …), with
/// `errors[]` on 400s, or the v1.1 shape `{"errors":[{"code","message"}]}`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    title: Option<String>,
    detail: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    message: Option<String>,
}

/// The error for a non-2xx X answer (`what` names the request, for the
/// access-tier message).
fn api_error(response: &Response, what: &str) -> PluginError {
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let kind = body.kind.as_deref().unwrap_or("");
    let first_error = body.errors.iter().find_map(|e| e.message.as_deref());
    let words = body
        .detail
        .as_deref()
        .or(body.title.as_deref())
        .or(first_error)
        .map(|w| w.chars().take(300).collect::<String>())
        .unwrap_or_else(|| http::error_message(&response.body));
    let message = format!("X: {words}");
    match response.status {
        401 => PluginError::Unauthorized(format!(
            "{message} (the bearer token is missing, invalid, expired or revoked)"
        )),
        403 if kind.ends_with("/client-forbidden")
            || body.reason.as_deref() == Some("client-not-enrolled") =>
        {
            let endpoint = if what == "followers" {
                "listing the followers of the post's author (GET /2/users/:id/followers)"
            } else {
                what
            };
            PluginError::Unauthorized(format!(
                "X: {endpoint} is not available on this access tier: {words}"
            ))
        }
        403 => match http::status_error(response) {
            e @ PluginError::RateLimited(_) => e,
            _ => PluginError::Unauthorized(message),
        },
        429 if kind.ends_with("/usage-capped") => PluginError::rate_limited(
            response.retry_after_seconds(),
            format!("{message} (X's usage cap for the period is used up)"),
        ),
        429 => PluginError::rate_limited(response.retry_after_seconds(), message),
        400 => PluginError::InvalidInput(match first_error {
            Some(e) if !words.contains(e) => format!("{message}: {e}"),
            _ => message,
        }),
        404 | 410 => PluginError::NotFound(message),
        500..=599 => PluginError::Unavailable(message),
        _ => http::status_error(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(username: &str, id: &str) -> Mention<'static> {
        Mention {
            username: Cow::Owned(username.into()),
            id: Some(Cow::Owned(id.into())),
        }
    }

    #[test]
    fn post_urls() {
        for (url, user) in [
            (
                "https://x.com/XDevelopers/status/1279944223114900000",
                Some("XDevelopers"),
            ),
            (
                "https://twitter.com/XDevelopers/status/1279944223114900000?s=20&t=abc",
                Some("XDevelopers"),
            ),
            (
                "https://www.twitter.com/XDevelopers/status/1279944223114900000/photo/1",
                Some("XDevelopers"),
            ),
            (
                "https://mobile.twitter.com/XDevelopers/statuses/1279944223114900000",
                Some("XDevelopers"),
            ),
            ("https://x.com/i/web/status/1279944223114900000", None),
            ("https://x.com/i/status/1279944223114900000#m", None),
            (" 1279944223114900000 ", None),
        ] {
            assert_eq!(
                post_ref(url),
                Some((user.map(str::to_owned), "1279944223114900000".to_owned())),
                "{url}"
            );
        }
        for url in [
            "https://x.com/XDevelopers",
            "https://x.com/XDevelopers/status/12a",
            "https://x.com/way_too_long_username_here/status/1",
            "https://x.com/XDevelopers/status/12345678901234567890",
            "https://example.com/XDevelopers/status/1",
            "https://user@x.com/a/status/1",
            "",
        ] {
            assert_eq!(post_ref(url), None, "{url}");
        }
    }

    #[test]
    fn html_escapes_are_decoded() {
        assert_eq!(
            decode_entities("a &amp; b &lt;3 &gt; &quot;x&quot; &amp;lt;"),
            "a & b <3 > &quot;x&quot; &lt;"
        );
        assert_eq!(decode_entities("no escapes"), "no escapes");
        assert_eq!(decode_entities("&"), "&");
    }

    #[test]
    fn mentions_are_the_entities_only() {
        let mentions = [m("alice", "1"), m("Bob_2", "2")];
        // Entities kept as typed; an @word that is not one is neutralised.
        assert_eq!(
            entry_text(
                "#giveaway @alice @bob_2 @nobody &amp; me@example.com",
                &mentions,
                None
            ),
            "#giveaway @alice @bob_2 @\u{200B}nobody & me@example.com"
        );
        // X's usernames stop at `.` and `-`; the engine's names would not.
        assert_eq!(
            entry_text("@alice.bob @alice-x @alice.", &mentions, None),
            "@alice\u{200B}.bob @alice\u{200B}-x @alice."
        );
        // The handle X prepends to a reply is not the entrant's mention,
        // but the same account named later in the text is.
        assert_eq!(
            entry_text("@alice @Bob_2 count me in @alice", &mentions, Some("1")),
            "@\u{200B}alice @Bob_2 count me in @alice"
        );
        assert_eq!(
            entry_text("no mentions", &mentions, Some("1")),
            "no mentions"
        );
        assert_eq!(
            entry_text("＠alice x@alice @", &mentions, None),
            "＠alice x@alice @\u{200B}"
        );
    }

    #[test]
    fn list_cursors_round_trip() {
        let c = ListCursor {
            phase: Phase::Quotes,
            post_time: "2026-03-01T12:00:00.000Z".into(),
            author_id: "2244994945".into(),
            token: Some("a|b%c".into()),
        };
        assert_eq!(
            ListCursor::decode(&c.encode(), Collection::Reposts),
            Ok(c.clone())
        );
        assert!(ListCursor::decode(&c.encode(), Collection::Likes).is_err());
        let first = ListCursor {
            token: None,
            phase: Phase::Likes,
            ..c
        };
        assert_eq!(
            ListCursor::decode(&first.encode(), Collection::Likes),
            Ok(first)
        );
        for bad in [
            "",
            "l|x|1|",
            "l|2026-03-01T12:00:00Z|abc|",
            "l|2026-03-01T12:00:00Z|1|t|extra",
            "l|2026-03-01T12:00:00Z|1|a%20b",
        ] {
            assert!(ListCursor::decode(bad, Collection::Likes).is_err(), "{bad}");
        }
    }

    #[test]
    fn snowflakes_hold_their_time() {
        // 1279944223114900000 is 2020-07-06T01:16:57Z-ish.
        let t = snowflake_unix_seconds("1279944223114900000").expect("snowflake");
        assert_eq!(time::format_rfc3339(t).get(..10), Some("2020-07-06"));
        assert_eq!(snowflake_unix_seconds("783214"), None);
    }
}
