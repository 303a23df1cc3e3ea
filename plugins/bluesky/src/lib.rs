//! Bluesky replies, likes, reposts and quotes of a post, and the followers
//! of its author, from the AT Protocol AppView (`app.bsky.*` XRPC, public:
//! no credential needed for public posts).
//!
//! - `comments`: direct replies to the post, `app.bsky.feed.getPostThread`
//!   with `depth=1` (one page: the endpoint is not paginated).
//! - `replies`: replies to replies, the same tree with `depth=10`,
//!   flattened depth first. Where the tree is cut at the depth limit (a
//!   post with `replyCount > 0` and no `replies`), the next pages fetch that
//!   subtree with a further `getPostThread` each.
//! - `likes`: `app.bsky.feed.getLikes`, 100 a page.
//! - `reposts`: `app.bsky.feed.getRepostedBy`, then the quote posts,
//!   `app.bsky.feed.getQuotes` (a quote is a repost with text; its text is
//!   kept), 100 a page each.
//! - `followers`: `app.bsky.graph.getFollowers` of the post's author.
//!
//! Every entry's `user_id` is the account's DID, so an entrant who changes
//! handle stays one entrant; a post named by handle is resolved to its DID
//! with `com.atproto.identity.resolveHandle`. Texts are the record's plain
//! `text`, with mentions taken from its `facets` (see [`text_with_mentions`]).
//! Pagination follows the opaque `cursor`, absent on the last page.

use std::borrow::Cow;
use std::collections::BTreeSet;

use fairdraw_plugin_sdk::http::{self, Response};
use fairdraw_plugin_sdk::{
    Collection, Entry, Info, Page, PluginError, Post, Source, config, log, time,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The platform name written into every entry.
pub const PLATFORM: &str = "bluesky";

/// The public AppView: read with no credential.
pub const PUBLIC_APPVIEW: &str = "https://public.api.bsky.app";

/// The most items `getLikes`, `getRepostedBy`, `getQuotes` and
/// `getFollowers` return per page.
pub const PAGE_SIZE: &str = "100";

/// The `depth` of each `getPostThread` of the `replies` collection. Deeper
/// subtrees are fetched by further calls; the JSON nesting of a reply tree
/// this deep stays well under the parser's recursion limit.
pub const THREAD_DEPTH: u32 = 10;

/// Replies deeper than this (levels below the post) are not followed.
pub const MAX_THREAD_DEPTH: u32 = 1000;

const POST_COLLECTION: &str = "app.bsky.feed.post";
const MENTION: &str = "app.bsky.richtext.facet#mention";

/// The Bluesky source.
#[derive(Debug)]
pub struct Bluesky;

impl Source for Bluesky {
    fn describe() -> Info {
        Info::new(PLATFORM)
            .collections(Collection::ALL)
            .unsupported(
                "min_followers",
                "Bluesky's reply, like, repost and follower lists carry no follower counts",
            )
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        let (authority, rkey) = post_ref(url.trim()).ok_or_else(|| {
            PluginError::InvalidInput(format!(
                "{url:?} is not a Bluesky post (https://bsky.app/profile/HANDLE_OR_DID/post/RKEY or at://DID/app.bsky.feed.post/RKEY)"
            ))
        })?;
        Ok(Post {
            id: format!("at://{authority}/{POST_COLLECTION}/{rkey}"),
            url: format!("https://bsky.app/profile/{authority}/post/{rkey}"),
        })
    }

    fn fetch_page(
        post: &Post,
        collection: Collection,
        cursor: Option<&str>,
    ) -> Result<Page, PluginError> {
        let (authority, rkey) = split_post_uri(&post.id).ok_or_else(|| {
            PluginError::InvalidInput(format!("{:?} is not a Bluesky post URI", post.id))
        })?;
        let api = appview()?;
        match collection {
            Collection::Comments => comments(&api, authority, rkey),
            Collection::Replies => replies(&api, authority, rkey, cursor),
            Collection::Likes | Collection::Reposts | Collection::Followers => {
                list(&api, authority, rkey, collection, cursor)
            }
        }
    }
}

fairdraw_plugin_sdk::export_source!(Bluesky);

// ----- identifiers -----

/// `(authority, rkey)` of a post URL or at-URI; the authority is a DID or a
/// handle (lowercased).
fn post_ref(url: &str) -> Option<(String, &str)> {
    if url.starts_with("at://") {
        let (authority, rkey) = split_post_uri(url)?;
        return Some((normal_authority(authority), rkey));
    }
    let origin = http::parse_origin(url)?;
    if origin.scheme != "https" || !matches!(origin.host.as_str(), "bsky.app" | "www.bsky.app") {
        return None;
    }
    if origin.port.is_some_and(|p| p != 443) {
        return None;
    }
    let path = origin.rest.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["profile", authority, "post", rkey] => {
            let authority = http::decode(authority);
            (is_authority(&authority) && is_rkey(rkey))
                .then(|| (normal_authority(&authority), *rkey))
        }
        _ => None,
    }
}

/// Handles are case-insensitive; DIDs are not.
fn normal_authority(authority: &str) -> String {
    if is_did(authority) {
        authority.to_owned()
    } else {
        authority.to_ascii_lowercase()
    }
}

/// `(authority, rkey)` of `at://AUTHORITY/app.bsky.feed.post/RKEY`.
fn split_post_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("at://")?;
    let mut parts = rest.split('/');
    let (authority, collection, rkey) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || collection != POST_COLLECTION {
        return None;
    }
    (is_authority(authority) && is_rkey(rkey)).then_some((authority, rkey))
}

fn is_authority(s: &str) -> bool {
    is_did(s) || is_handle(s)
}

/// `did:METHOD:ID` (atproto DID syntax).
pub fn is_did(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("did:") else {
        return false;
    };
    let Some((method, id)) = rest.split_once(':') else {
        return false;
    };
    s.len() <= 2048
        && !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_lowercase())
        && !id.is_empty()
        && !id.ends_with(':')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:%-".contains(&b))
}

/// A DNS-name handle such as `alice.bsky.social` (atproto handle syntax).
pub fn is_handle(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// A record key: 1–512 of `A-Za-z0-9._:~-`, not `.` or `..`.
fn is_rkey(s: &str) -> bool {
    (1..=512).contains(&s.len())
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:~-".contains(&b))
}

// ----- requests -----

/// The configured AppView origin (config `appview`, default the public one).
fn appview() -> Result<String, PluginError> {
    let configured = config::get_or("appview", PUBLIC_APPVIEW);
    match http::parse_origin(configured.trim()) {
        Some(o) if o.scheme == "https" && o.rest.trim_matches('/').is_empty() => Ok(o.origin()),
        _ => Err(PluginError::InvalidInput(format!(
            "config `appview` = {configured:?} is not an https origin like {PUBLIC_APPVIEW}"
        ))),
    }
}

/// `GET {api}/xrpc/{nsid}?{params}`: the response of a 2xx, or the error.
fn xrpc(api: &str, nsid: &str, params: &[(&str, &str)]) -> Result<Response, PluginError> {
    let url = http::url_with_query(&format!("{api}/xrpc/{nsid}"), params);
    let response = http::get(&url, &[("Accept", "application/json")])?;
    if !response.is_success() {
        return Err(api_error(&response));
    }
    Ok(response)
}

/// Parses a body borrowing from it.
fn parse<'a, T: Deserialize<'a>>(response: &'a Response) -> Result<T, PluginError> {
    serde_json::from_slice(&response.body).map_err(|e| {
        PluginError::BadResponse(format!(
            "the Bluesky response is not the JSON expected: {e}"
        ))
    })
}

/// The DID of a post's authority: itself, or the handle resolved.
fn resolve(api: &str, authority: &str) -> Result<String, PluginError> {
    if is_did(authority) {
        return Ok(authority.to_owned());
    }
    #[derive(Deserialize)]
    struct Resolved {
        did: String,
    }
    let response = xrpc(
        api,
        "com.atproto.identity.resolveHandle",
        &[("handle", authority)],
    )?;
    let resolved: Resolved = parse_owned(&response)?;
    if !is_did(&resolved.did) {
        return Err(PluginError::BadResponse(format!(
            "resolveHandle gave {:?} for {authority}, not a DID",
            resolved.did
        )));
    }
    Ok(resolved.did)
}

fn parse_owned<T: DeserializeOwned>(response: &Response) -> Result<T, PluginError> {
    parse(response)
}

// ----- API shapes (only the fields used) -----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile<'a> {
    #[serde(borrow)]
    did: Cow<'a, str>,
    #[serde(borrow, default)]
    handle: Cow<'a, str>,
    #[serde(borrow)]
    display_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostView<'a> {
    #[serde(borrow)]
    uri: Cow<'a, str>,
    #[serde(borrow)]
    author: Profile<'a>,
    #[serde(borrow)]
    record: PostRecord<'a>,
    #[serde(borrow, default)]
    indexed_at: Cow<'a, str>,
    #[serde(default)]
    reply_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostRecord<'a> {
    #[serde(borrow, default)]
    text: Cow<'a, str>,
    #[serde(borrow, default)]
    created_at: Cow<'a, str>,
    #[serde(borrow, default)]
    facets: Vec<Facet<'a>>,
}

/// An `app.bsky.richtext.facet`: a UTF-8 byte range and what it is.
#[derive(Clone, Debug, Deserialize)]
pub struct Facet<'a> {
    /// The byte range of the text.
    pub index: ByteSlice,
    /// Mentions, links, tags.
    #[serde(borrow, default)]
    pub features: Vec<Feature<'a>>,
}

/// A facet's `index`: bytes `byteStart..byteEnd` of the UTF-8 text.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByteSlice {
    /// First byte.
    pub byte_start: u64,
    /// One past the last byte.
    pub byte_end: u64,
}

/// One feature of a facet; only its `$type` matters here.
#[derive(Clone, Debug, Deserialize)]
pub struct Feature<'a> {
    /// E.g. `app.bsky.richtext.facet#mention`.
    #[serde(rename = "$type", borrow, default)]
    pub kind: Cow<'a, str>,
}

/// A thread node: `threadViewPost`, `notFoundPost` or `blockedPost`, read
/// as one shape (no buffering of the subtree, as a tagged enum would).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node<'a> {
    #[serde(rename = "$type", borrow, default)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    post: Option<PostView<'a>>,
    #[serde(borrow)]
    replies: Option<Vec<Node<'a>>>,
}

#[derive(Deserialize)]
struct Thread<'a> {
    #[serde(borrow)]
    thread: Node<'a>,
    #[serde(borrow)]
    threadgate: Option<Threadgate<'a>>,
}

#[derive(Deserialize)]
struct Threadgate<'a> {
    #[serde(borrow)]
    record: Option<ThreadgateRecord<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThreadgateRecord<'a> {
    #[serde(borrow, default)]
    hidden_replies: Vec<Cow<'a, str>>,
}

// ----- entries -----

/// The later of a record's `createdAt` (set by the client, so it can be
/// backdated) and the AppView's `indexedAt`; whichever parses when only one
/// does.
fn action_time(created_at: &str, indexed_at: &str) -> Option<String> {
    match (
        time::parse_rfc3339(created_at),
        time::parse_rfc3339(indexed_at),
    ) {
        (Some(c), Some(i)) => Some(if i > c { indexed_at } else { created_at }.to_owned()),
        (Some(_), None) => Some(created_at.to_owned()),
        (None, Some(_)) => Some(indexed_at.to_owned()),
        (None, None) => None,
    }
}

impl Profile<'_> {
    /// The entry of this account's action, or `None` (logged) when the
    /// account has no DID.
    fn entry(self, text: String, created_at: String) -> Option<Entry> {
        if !is_did(&self.did) {
            log::warn(format!(
                "skipped an entry whose account {:?} has no DID",
                self.did
            ));
            return None;
        }
        // `handle.invalid` marks a handle that no longer verifies: the DID
        // names the account instead.
        let handle = if self.handle.is_empty() || self.handle == "handle.invalid" {
            format!("@{}", self.did)
        } else {
            format!("@{}", self.handle)
        };
        Some(Entry {
            platform: PLATFORM.into(),
            user_id: self.did.into_owned(),
            handle,
            display_name: self.display_name.map(Cow::into_owned).unwrap_or_default(),
            text,
            created_at,
            followers: None,
            // Dropped when not RFC 3339 rather than passed to the engine,
            // which would refuse the entry.
            account_created_at: self
                .created_at
                .filter(|t| time::parse_rfc3339(t).is_some())
                .map(Cow::into_owned),
        })
    }
}

impl PostView<'_> {
    /// The entry of this post (a reply or a quote), or `None` (logged).
    fn entry(self) -> Option<Entry> {
        let Some(at) = action_time(&self.record.created_at, &self.indexed_at) else {
            log::warn(format!("skipped post {}: it has no valid time", self.uri));
            return None;
        };
        let text = text_with_mentions(&self.record.text, &self.record.facets);
        self.author.entry(text, at)
    }
}

/// Whether `c` is an engine "word" code point (fairdraw PROTOCOL §5.4).
fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `@` and the forms NFKC maps to it.
fn is_at(c: char) -> bool {
    matches!(c, '@' | '\u{FF20}' | '\u{FE6B}')
}

/// The invisible character put after an `@` that is not a mention.
pub const NOT_A_MENTION: char = '\u{2060}';

/// A post's text as the engine should read it: mentions are those of the
/// record's `app.bsky.richtext.facet#mention` facets, not whatever follows
/// an `@`.
///
/// - The text of each mention facet (UTF-8 byte range) is kept, with an `@`
///   put before it when it has none, and a space where a letter touches it,
///   so the engine counts it as one mention.
/// - Outside them, an `@` that the engine would read as a mention (an
///   unresolved `@name`, `example.com/@user` in a link) gets U+2060 WORD
///   JOINER (invisible) after it, so it is not counted.
///
/// Facets whose range is empty, out of the text, not on character
/// boundaries or overlapping an earlier one are ignored.
pub fn text_with_mentions(text: &str, facets: &[Facet<'_>]) -> String {
    let mut spans: Vec<(usize, usize)> = facets
        .iter()
        .filter(|f| f.features.iter().any(|x| x.kind == MENTION))
        .filter_map(|f| {
            let start = usize::try_from(f.index.byte_start).ok()?;
            let end = usize::try_from(f.index.byte_end).ok()?;
            (start < end
                && end <= text.len()
                && text.is_char_boundary(start)
                && text.is_char_boundary(end))
            .then_some((start, end))
        })
        .collect();
    spans.sort_unstable();
    let mut kept: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for span in spans {
        if kept.last().is_none_or(|last| span.0 >= last.1) {
            kept.push(span);
        }
    }
    if kept.is_empty() && !text.contains(['@', '\u{FF20}', '\u{FE6B}']) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut pos = 0;
    for (start, end) in kept {
        defuse(&text[pos..start], &mut out);
        let mention = &text[start..end];
        if out.chars().next_back().is_some_and(is_word) {
            out.push(' ');
        }
        if !mention.starts_with(is_at) {
            out.push('@');
        }
        out.push_str(mention);
        if text[end..].chars().next().is_some_and(is_word) {
            out.push(' ');
        }
        pos = end;
    }
    defuse(&text[pos..], &mut out);
    out
}

/// Copies `segment`, putting [`NOT_A_MENTION`] after each `@` that would
/// start a mention.
fn defuse(segment: &str, out: &mut String) {
    let mut chars = segment.chars().peekable();
    while let Some(c) = chars.next() {
        let starts = is_at(c)
            && !out.chars().next_back().is_some_and(is_word)
            && chars
                .peek()
                .is_some_and(|&n| is_word(n) || n == '.' || n == '-');
        out.push(c);
        if starts {
            out.push(NOT_A_MENTION);
        }
    }
}

// ----- comments and replies -----

/// What a walk of a thread found.
#[derive(Default)]
struct Walk {
    entries: Vec<Entry>,
    /// Subtrees cut at the depth limit: (depth of the post, its URI).
    truncated: Vec<(u32, String)>,
    blocked: usize,
    not_found: usize,
    hidden: usize,
}

/// Flattens the tree under `root` (at `root_depth` below the giveaway
/// post), depth first, keeping posts at depth 1 (`direct`) or deeper.
fn walk(root: Node<'_>, root_depth: u32, hidden: &BTreeSet<&str>, direct: bool) -> Walk {
    let mut found = Walk::default();
    let mut stack: Vec<(u32, Node<'_>)> = root
        .replies
        .unwrap_or_default()
        .into_iter()
        .rev()
        .map(|n| (root_depth + 1, n))
        .collect();
    while let Some((depth, node)) = stack.pop() {
        let Some(post) = node.post else {
            match node.kind.as_ref() {
                "app.bsky.feed.defs#blockedPost" => found.blocked += 1,
                "app.bsky.feed.defs#notFoundPost" => found.not_found += 1,
                other => log::debug(format!("skipped a thread node of type {other:?}")),
            }
            continue;
        };
        if hidden.contains(post.uri.as_ref()) {
            // The author hid it, and with it the replies under it.
            found.hidden += 1;
            continue;
        }
        match node.replies {
            Some(replies) => stack.extend(replies.into_iter().rev().map(|n| (depth + 1, n))),
            None if post.reply_count > 0 && !direct => {
                if depth < MAX_THREAD_DEPTH && split_post_uri(&post.uri).is_some() {
                    found.truncated.push((depth, post.uri.to_string()));
                } else {
                    log::warn(format!(
                        "replies under {} (depth {depth}) are not followed",
                        post.uri
                    ));
                }
            }
            None => {}
        }
        if (depth == 1) == direct
            && let Some(entry) = post.entry()
        {
            found.entries.push(entry);
        }
    }
    if found.blocked + found.not_found + found.hidden > 0 {
        log::info(format!(
            "skipped {} blocked, {} deleted and {} hidden replies",
            found.blocked, found.not_found, found.hidden
        ));
    }
    found
}

/// `getPostThread` of `uri` to `depth` below it, without parents; the
/// thread must be a post.
fn thread(api: &str, uri: &str, depth: u32) -> Result<Response, PluginError> {
    xrpc(
        api,
        "app.bsky.feed.getPostThread",
        &[
            ("uri", uri),
            ("depth", &depth.to_string()),
            ("parentHeight", "0"),
        ],
    )
}

/// The replies the author hid (threadgate `hiddenReplies`), unless config
/// `include_hidden_replies` is `true`.
fn hidden_replies<'a>(
    threadgate: Option<&'a Threadgate<'_>>,
) -> Result<BTreeSet<&'a str>, PluginError> {
    if config::parse::<bool>("include_hidden_replies")?.unwrap_or(false) {
        return Ok(BTreeSet::new());
    }
    Ok(threadgate
        .iter()
        .filter_map(|g| g.record.as_ref())
        .flat_map(|r| r.hidden_replies.iter().map(AsRef::as_ref))
        .collect())
}

fn root_post(thread: &Thread<'_>, uri: &str) -> Result<(), PluginError> {
    match (thread.thread.post.as_ref(), thread.thread.kind.as_ref()) {
        (Some(_), _) => Ok(()),
        (None, "app.bsky.feed.defs#blockedPost") => Err(PluginError::NotFound(format!(
            "Bluesky: {uri} is blocked for this viewer"
        ))),
        (None, _) => Err(PluginError::NotFound(format!(
            "Bluesky: Post not found: {uri}"
        ))),
    }
}

fn comments(api: &str, authority: &str, rkey: &str) -> Result<Page, PluginError> {
    let uri = format!("at://{}/{POST_COLLECTION}/{rkey}", resolve(api, authority)?);
    let response = thread(api, &uri, 1)?;
    let parsed: Thread<'_> = parse(&response)?;
    root_post(&parsed, &uri)?;
    let Thread { thread, threadgate } = parsed;
    let hidden = hidden_replies(threadgate.as_ref())?;
    let found = walk(thread, 0, &hidden, true);
    let total = found.entries.len() as u64;
    Ok(Page {
        entries: found.entries,
        next_cursor: None,
        total_hint: Some(total),
    })
}

/// The subtrees still to fetch: `t:` and `DEPTH@URI` items, space-separated.
fn encode_queue(queue: &[(u32, String)]) -> Option<String> {
    if queue.is_empty() {
        return None;
    }
    let items: Vec<String> = queue.iter().map(|(d, u)| format!("{d}@{u}")).collect();
    Some(format!("t:{}", items.join(" ")))
}

fn decode_queue(cursor: &str) -> Result<Vec<(u32, String)>, PluginError> {
    let bad = || {
        PluginError::InvalidInput(format!(
            "{cursor:?} is not a cursor of the replies collection"
        ))
    };
    let items = cursor.strip_prefix("t:").ok_or_else(bad)?;
    items
        .split(' ')
        .map(|item| {
            let (depth, uri) = item.split_once('@').ok_or_else(bad)?;
            let depth = depth.parse::<u32>().map_err(|_| bad())?;
            match split_post_uri(uri) {
                Some((authority, _))
                    if is_did(authority) && (1..MAX_THREAD_DEPTH).contains(&depth) =>
                {
                    Ok((depth, uri.to_owned()))
                }
                _ => Err(bad()),
            }
        })
        .collect()
}

fn replies(
    api: &str,
    authority: &str,
    rkey: &str,
    cursor: Option<&str>,
) -> Result<Page, PluginError> {
    let (mut queue, uri, depth) = match cursor {
        None => {
            let did = resolve(api, authority)?;
            (
                Vec::new(),
                format!("at://{did}/{POST_COLLECTION}/{rkey}"),
                0,
            )
        }
        Some(cursor) => {
            let mut queue = decode_queue(cursor)?;
            let (depth, uri) = queue.remove(0);
            (queue, uri, depth)
        }
    };
    let response = thread(api, &uri, THREAD_DEPTH)?;
    let parsed: Thread<'_> = parse(&response)?;
    if depth == 0 {
        root_post(&parsed, &uri)?;
    } else if parsed.thread.post.is_none() {
        // The subtree went away (deleted or blocked) since it was seen.
        log::info(format!("the replies under {uri} are no longer visible"));
        return Ok(Page::new(Vec::new(), encode_queue(&queue)));
    }
    let Thread { thread, threadgate } = parsed;
    let hidden = hidden_replies(threadgate.as_ref())?;
    let found = walk(thread, depth, &hidden, false);
    queue.extend(found.truncated);
    Ok(Page::new(found.entries, encode_queue(&queue)))
}

// ----- likes, reposts (and quotes), followers -----

/// Where a list collection stands: `DID TIME PHASE CURSOR`, with the post's
/// author DID (resolved once), the post's time (`-` for likes), the phase
/// (`l` likes, `r` reposts, `q` quotes, `f` followers) and the platform's
/// opaque cursor (possibly empty: the first page of that phase).
#[derive(Debug, PartialEq, Eq)]
struct ListCursor {
    did: String,
    time: Option<String>,
    phase: char,
    cursor: Option<String>,
}

impl ListCursor {
    fn encode(&self) -> String {
        format!(
            "{} {} {} {}",
            self.did,
            self.time.as_deref().unwrap_or("-"),
            self.phase,
            self.cursor.as_deref().unwrap_or("")
        )
    }

    fn decode(s: &str, collection: Collection) -> Result<Self, PluginError> {
        let bad = || {
            PluginError::InvalidInput(format!(
                "{s:?} is not a cursor of the {collection} collection"
            ))
        };
        let mut parts = s.splitn(4, ' ');
        let (did, t, phase, cursor) = (
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
        );
        let phase = match (collection, phase) {
            (Collection::Likes, "l") => 'l',
            (Collection::Reposts, "r") => 'r',
            (Collection::Reposts, "q") => 'q',
            (Collection::Followers, "f") => 'f',
            _ => return Err(bad()),
        };
        let time = match t {
            "-" if phase == 'l' => None,
            t if phase != 'l' && time::parse_rfc3339(t).is_some() => Some(t.to_owned()),
            _ => return Err(bad()),
        };
        if !is_did(did) {
            return Err(bad());
        }
        Ok(ListCursor {
            did: did.to_owned(),
            time,
            phase,
            cursor: (!cursor.is_empty()).then(|| cursor.to_owned()),
        })
    }
}

/// The post's time: the later of its `createdAt` and `indexedAt`.
fn post_time(api: &str, uri: &str) -> Result<String, PluginError> {
    let response = thread(api, uri, 0)?;
    let parsed: Thread<'_> = parse(&response)?;
    root_post(&parsed, uri)?;
    let post = parsed.thread.post.as_ref();
    post.and_then(|p| action_time(&p.record.created_at, &p.indexed_at))
        .ok_or_else(|| PluginError::BadResponse(format!("the post {uri} has no valid time")))
}

fn list(
    api: &str,
    authority: &str,
    rkey: &str,
    collection: Collection,
    cursor: Option<&str>,
) -> Result<Page, PluginError> {
    let state = match cursor {
        Some(c) => {
            let state = ListCursor::decode(c, collection)?;
            if is_did(authority) && state.did != authority {
                return Err(PluginError::InvalidInput(format!(
                    "{c:?} is a cursor of another post"
                )));
            }
            state
        }
        None => {
            let did = resolve(api, authority)?;
            let (time, phase) = match collection {
                Collection::Likes => (None, 'l'),
                Collection::Reposts => (
                    Some(post_time(
                        api,
                        &format!("at://{did}/{POST_COLLECTION}/{rkey}"),
                    )?),
                    'r',
                ),
                _ => (
                    Some(post_time(
                        api,
                        &format!("at://{did}/{POST_COLLECTION}/{rkey}"),
                    )?),
                    'f',
                ),
            };
            ListCursor {
                did,
                time,
                phase,
                cursor: None,
            }
        }
    };
    let uri = format!("at://{}/{POST_COLLECTION}/{rkey}", state.did);
    let mut params = vec![("limit", PAGE_SIZE)];
    if let Some(c) = state.cursor.as_deref() {
        params.push(("cursor", c));
    }
    let post_time = state.time.clone().unwrap_or_default();
    let (entries, next) = match state.phase {
        'l' => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Like<'a> {
                #[serde(borrow, default)]
                created_at: Cow<'a, str>,
                #[serde(borrow, default)]
                indexed_at: Cow<'a, str>,
                #[serde(borrow)]
                actor: Profile<'a>,
            }
            #[derive(Deserialize)]
            struct Likes<'a> {
                #[serde(borrow)]
                cursor: Option<Cow<'a, str>>,
                #[serde(borrow, default)]
                likes: Vec<Like<'a>>,
            }
            params.insert(0, ("uri", &uri));
            let response = xrpc(api, "app.bsky.feed.getLikes", &params)?;
            let page: Likes<'_> = parse(&response)?;
            let entries = page
                .likes
                .into_iter()
                .filter_map(|l| {
                    let at = action_time(&l.created_at, &l.indexed_at);
                    if at.is_none() {
                        log::warn(format!(
                            "skipped a like by {}: it has no valid time",
                            l.actor.did
                        ));
                    }
                    l.actor.entry(String::new(), at?)
                })
                .collect();
            (entries, page.cursor.map(Cow::into_owned))
        }
        'r' | 'f' => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Accounts<'a> {
                #[serde(borrow)]
                cursor: Option<Cow<'a, str>>,
                #[serde(borrow, default, alias = "followers")]
                reposted_by: Vec<Profile<'a>>,
            }
            let nsid = if state.phase == 'r' {
                params.insert(0, ("uri", &uri));
                "app.bsky.feed.getRepostedBy"
            } else {
                params.insert(0, ("actor", &state.did));
                "app.bsky.graph.getFollowers"
            };
            let response = xrpc(api, nsid, &params)?;
            let page: Accounts<'_> = parse(&response)?;
            let entries = page
                .reposted_by
                .into_iter()
                .filter_map(|p| p.entry(String::new(), post_time.clone()))
                .collect();
            (entries, page.cursor.map(Cow::into_owned))
        }
        _ => {
            #[derive(Deserialize)]
            struct Quotes<'a> {
                #[serde(borrow)]
                cursor: Option<Cow<'a, str>>,
                #[serde(borrow, default)]
                posts: Vec<PostView<'a>>,
            }
            params.insert(0, ("uri", &uri));
            let response = xrpc(api, "app.bsky.feed.getQuotes", &params)?;
            let page: Quotes<'_> = parse(&response)?;
            let entries = page.posts.into_iter().filter_map(PostView::entry).collect();
            (entries, page.cursor.map(Cow::into_owned))
        }
    };
    let next = match (next.filter(|c| !c.is_empty()), state.phase) {
        (Some(c), phase) => Some(ListCursor {
            cursor: Some(c),
            phase,
            ..state
        }),
        // Reposts go on with the quote posts.
        (None, 'r') => Some(ListCursor {
            cursor: None,
            phase: 'q',
            ..state
        }),
        (None, _) => None,
    };
    Ok(Page::new(entries, next.map(|n| n.encode())))
}

// ----- errors -----

/// The error for a non-2xx XRPC response, from its `{"error", "message"}`
/// body and status.
fn api_error(response: &Response) -> PluginError {
    #[derive(Deserialize, Default)]
    struct Body {
        #[serde(default)]
        error: String,
        #[serde(default)]
        message: String,
    }
    let body: Body = response.json().unwrap_or_default();
    if body.error.is_empty() {
        return http::status_error(response);
    }
    let message = if body.message.is_empty() {
        format!("Bluesky: {}", body.error)
    } else {
        format!("Bluesky: {}: {}", body.error, body.message)
    };
    let lower = body.message.to_ascii_lowercase();
    match (response.status, body.error.as_str()) {
        (429, _) | (_, "RateLimitExceeded") => {
            PluginError::rate_limited(response.retry_after_seconds(), message)
        }
        (401, _)
        | (_, "InvalidToken" | "ExpiredToken" | "AuthenticationRequired" | "AuthMissing") => {
            PluginError::Unauthorized(message)
        }
        (403, _) => PluginError::Unauthorized(message),
        (_, "NotFound" | "ProfileNotFound" | "ActorNotFound") => PluginError::NotFound(message),
        (400, _) if lower.contains("not found") || lower.contains("unable to resolve") => {
            PluginError::NotFound(message)
        }
        (400, _) => PluginError::InvalidInput(message),
        (500..=599, _) => PluginError::Unavailable(message),
        _ => http::status_error(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facet(start: u64, end: u64, kind: &str) -> Facet<'static> {
        Facet {
            index: ByteSlice {
                byte_start: start,
                byte_end: end,
            },
            features: vec![Feature {
                kind: Cow::Owned(kind.to_owned()),
            }],
        }
    }

    #[test]
    fn identifiers() {
        assert!(is_did("did:plc:z72i7hdynmk6r22z27h6tvur"));
        assert!(is_did("did:web:example.com"));
        assert!(!is_did("did:plc:"));
        assert!(!is_did("did:PLC:abc"));
        assert!(!is_did("alice.bsky.social"));
        assert!(is_handle("alice.bsky.social"));
        assert!(is_handle("xn--ls8h.test"));
        assert!(!is_handle("alice"));
        assert!(!is_handle("-a.bsky.social"));
        assert!(!is_handle("a.123"));
        assert!(is_rkey("3kgiveaway000"));
        assert!(!is_rkey(".."));
        assert!(!is_rkey("a/b"));
        assert_eq!(
            split_post_uri("at://did:plc:abc/app.bsky.feed.post/3k"),
            Some(("did:plc:abc", "3k"))
        );
        assert_eq!(
            split_post_uri("at://did:plc:abc/app.bsky.feed.like/3k"),
            None
        );
        assert_eq!(
            split_post_uri("at://did:plc:abc/app.bsky.feed.post/3k/x"),
            None
        );
    }

    #[test]
    fn mentions_come_from_facets() {
        // "hi @bob.test and @nobody, see example.com/@carol"
        let text = "hi @bob.test and @nobody, see example.com/@carol";
        let out = text_with_mentions(text, &[facet(3, 12, MENTION)]);
        assert_eq!(
            out,
            "hi @bob.test and @\u{2060}nobody, see example.com/@\u{2060}carol"
        );
        // A facet without an `@`, touching a letter; a link facet is not a
        // mention; emails are left alone.
        let text = "xBob me@example.com";
        let out = text_with_mentions(
            text,
            &[
                facet(1, 4, MENTION),
                facet(5, 19, "app.bsky.richtext.facet#link"),
            ],
        );
        assert_eq!(out, "x @Bob me@example.com");
        // Bad ranges are ignored without panicking.
        let text = "é@a";
        for f in [
            facet(1, 3, MENTION),
            facet(0, 99, MENTION),
            facet(2, 2, MENTION),
        ] {
            assert_eq!(text_with_mentions(text, &[f]), "é@a");
        }
        assert_eq!(text_with_mentions("@a @b", &[]), "@\u{2060}a @\u{2060}b");
        assert_eq!(text_with_mentions("no mentions", &[]), "no mentions");
        // Overlapping facets: the first wins.
        assert_eq!(
            text_with_mentions("@ab.test", &[facet(0, 8, MENTION), facet(1, 3, MENTION)]),
            "@ab.test"
        );
    }

    #[test]
    fn action_time_is_the_later() {
        assert_eq!(
            action_time("2024-06-01T12:00:00.000Z", "2024-06-01T12:00:01.000Z").as_deref(),
            Some("2024-06-01T12:00:01.000Z")
        );
        assert_eq!(
            action_time("2024-06-02T00:00:00Z", "2024-06-01T12:00:01.000Z").as_deref(),
            Some("2024-06-02T00:00:00Z")
        );
        assert_eq!(
            action_time("yesterday", "2024-06-01T12:00:01.000Z").as_deref(),
            Some("2024-06-01T12:00:01.000Z")
        );
        assert_eq!(action_time("", ""), None);
    }

    #[test]
    fn cursors_round_trip() {
        let c = ListCursor {
            did: "did:plc:abc".into(),
            time: Some("2024-06-01T12:00:00.000Z".into()),
            phase: 'r',
            cursor: Some("1717243500000::bafy with space".into()),
        };
        assert_eq!(ListCursor::decode(&c.encode(), Collection::Reposts), Ok(c));
        let l = ListCursor {
            did: "did:plc:abc".into(),
            time: None,
            phase: 'l',
            cursor: None,
        };
        assert_eq!(ListCursor::decode(&l.encode(), Collection::Likes), Ok(l));
        for bad in [
            "",
            "did:plc:abc - l",
            "did:plc:abc - f x",
            "alice - l x",
            "did:plc:abc x l c",
        ] {
            assert!(ListCursor::decode(bad, Collection::Likes).is_err(), "{bad}");
        }
        let q = vec![(3, "at://did:plc:a/app.bsky.feed.post/3k".to_owned())];
        assert_eq!(decode_queue(&encode_queue(&q).expect("queue")), Ok(q));
        assert!(decode_queue("t:0@at://did:plc:a/app.bsky.feed.post/3k").is_err());
        assert!(decode_queue("t:2@at://alice.test/app.bsky.feed.post/3k").is_err());
        assert!(decode_queue("garbage").is_err());
    }
}
