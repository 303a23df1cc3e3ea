//! Facebook Page post comments, replies, reactions and shares, from the
//! Graph API.
//!
//! - `comments`: `GET /{post-id}/comments?filter=toplevel&order=chronological`;
//! - `replies`: `GET /{post-id}/comments?filter=stream&order=chronological`
//!   (every comment, flattened, in time order), keeping those with a
//!   `parent`;
//! - `likes`: `GET /{post-id}/reactions`, every reaction type; the type
//!   (`LIKE`, `LOVE`, …) is the entry's `text`. Reactions carry no time, so
//!   the entries carry the post's `created_time` (the earliest a reaction
//!   can be), read once with `GET /{post-id}?fields=created_time`;
//! - `reposts`: `GET /{post-id}/sharedposts`; a share's own `message` (the
//!   text of a "quote" share) is its `text`.
//!
//! 100 items a page; the cursor is the paging parameters of `paging.next`
//! (`after=…`), never the `next` URL itself (it can echo the access token).
//! The list ends only when `paging.next` is absent: short and empty pages
//! can still have one.
//!
//! Entries: `user_id` = the `from.id` (or reaction `id`), `handle` = `@` +
//! that id (the Graph API gives people no username), `display_name` = the
//! name. Comments without `from` (the token cannot see the author) are left
//! out with a warning: without an id they cannot be told apart. Tags of
//! people and Pages in a message (`message_tags`) are written as `@<id>`
//! mentions in place of the tagged name, so `min_mentions` counts them.
//!
//! The Page access token never reaches the plugin: the host sends it as
//! `Authorization: Bearer …` to `https://graph.facebook.com` (manifest
//! credential `access_token`).

use std::borrow::Cow;

use fairdraw_plugin_sdk::http::{self, Response};
use fairdraw_plugin_sdk::{
    Collection, Entry, Info, Page, PluginError, Post, Source, config, log, time,
};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// The platform name written into every entry.
pub const PLATFORM: &str = "facebook";

/// The Graph API's origin.
pub const GRAPH: &str = "https://graph.facebook.com";

/// The Graph API version used when config `api_version` is unset.
pub const DEFAULT_API_VERSION: &str = "v23.0";

/// Items requested per page (`limit`).
pub const PAGE_SIZE: &str = "100";

/// The comment fields requested.
pub const COMMENT_FIELDS: &str =
    "id,message,created_time,from{id,name},parent{id},message_tags,is_hidden";

/// The reaction fields requested.
pub const REACTION_FIELDS: &str = "id,name,type";

/// The share (Post object) fields requested.
pub const SHARE_FIELDS: &str = "id,created_time,from{id,name},message,message_tags";

/// The query parameters of a `paging.next` URL that position a page: cursor
/// paging (`after`), time paging (`until`, `since`, `__paging_token`) and
/// offset paging. They make up the plugin's cursor.
const PAGING_PARAMS: [&str; 5] = ["after", "until", "since", "__paging_token", "offset"];

/// The longest cursor accepted from the platform or the host, in bytes.
const MAX_CURSOR: usize = 4096;

/// The most `message_tags` of one message turned into mentions.
const MAX_TAGS: usize = 64;

/// The Facebook source.
#[derive(Debug)]
pub struct Facebook;

impl Source for Facebook {
    fn describe() -> Info {
        Info::new(PLATFORM)
            .collections([
                Collection::Comments,
                Collection::Replies,
                Collection::Likes,
                Collection::Reposts,
            ])
            .credential("access_token")
            .unsupported(
                "min_followers",
                "the Graph API gives no follower count of the people who comment, react or share",
            )
            .unsupported(
                "min_account_age_days",
                "the Graph API gives no creation date of people's accounts",
            )
            .unsupported(
                "require_in",
                "`followers` cannot be required (the Graph API does not list a Page's followers), \
                 and requiring `reposts` is unfair: /sharedposts lists only the shares the token \
                 can see; `comments`, `replies` and `likes` can be required",
            )
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        let url = url.trim();
        let invalid = |why: &str| {
            PluginError::InvalidInput(format!("{url:?} is not a Facebook Page post: {why}"))
        };
        if let Some((page, post)) = split_post_id(url) {
            return Ok(post_of(page, post));
        }
        let origin = http::parse_origin(url).ok_or_else(|| {
            invalid("expected https://www.facebook.com/{page}/posts/{id}, …/permalink.php?story_fbid=…&id=… or {page-id}_{post-id}")
        })?;
        let host = ["www.", "m.", "web.", "mbasic.", "business."]
            .iter()
            .find_map(|p| origin.host.strip_prefix(p))
            .unwrap_or(&origin.host);
        if host != "facebook.com" {
            return Err(invalid("not a facebook.com URL"));
        }
        let path = origin.rest.split(['?', '#']).next().unwrap_or("");
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            ["permalink.php" | "story.php"] => {
                let story = http::query_param(origin.rest, "story_fbid").unwrap_or_default();
                let page = http::query_param(origin.rest, "id").unwrap_or_default();
                refuse_pfbid(url, &story)?;
                if is_numeric(&story) && is_numeric(&page) {
                    Ok(post_of(&page, &story))
                } else {
                    Err(invalid("story_fbid and id must be numeric ids"))
                }
            }
            [page, "posts", post, ..] => {
                refuse_pfbid(url, post)?;
                if !is_numeric(post) {
                    return Err(invalid("the post id is not numeric"));
                }
                if is_numeric(page) {
                    Ok(post_of(page, post))
                } else if is_username(page) {
                    let page_id = resolve_page(&api_base()?, page)?;
                    Ok(post_of(&page_id, post))
                } else {
                    Err(invalid("the Page name is not a Facebook username"))
                }
            }
            _ => Err(invalid(
                "expected /{page}/posts/{id}, /permalink.php?story_fbid=…&id=… or {page-id}_{post-id}",
            )),
        }
    }

    fn fetch_page(
        post: &Post,
        collection: Collection,
        cursor: Option<&str>,
    ) -> Result<Page, PluginError> {
        if split_post_id(&post.id).is_none() {
            return Err(PluginError::InvalidInput(format!(
                "{:?} is not a Facebook post id ({{page-id}}_{{post-id}})",
                post.id
            )));
        }
        if cursor.is_some_and(|c| c.len() > MAX_CURSOR) {
            return Err(PluginError::InvalidInput(format!(
                "the cursor is longer than {MAX_CURSOR} bytes"
            )));
        }
        let api = api_base()?;
        match collection {
            Collection::Comments => comments(&api, &post.id, cursor, false),
            Collection::Replies => comments(&api, &post.id, cursor, true),
            Collection::Likes => reactions(&api, &post.id, cursor),
            Collection::Reposts => shares(&api, &post.id, cursor),
            Collection::Followers => Err(PluginError::InvalidInput(
                "the Facebook source lists comments, replies, likes and reposts, not followers: \
                 the Graph API does not list a Page's followers"
                    .into(),
            )),
        }
    }
}

fairdraw_plugin_sdk::export_source!(Facebook);

// ----- ids and URLs -----

/// `{page-id}_{post-id}`, both numeric.
fn split_post_id(s: &str) -> Option<(&str, &str)> {
    let (page, post) = s.split_once('_')?;
    (is_numeric(page) && is_numeric(post)).then_some((page, post))
}

fn post_of(page: &str, post: &str) -> Post {
    Post {
        id: format!("{page}_{post}"),
        url: format!("https://www.facebook.com/{page}/posts/{post}"),
    }
}

/// Graph ids are decimal numbers.
fn is_numeric(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Page usernames: letters, digits and periods.
fn is_username(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && !s.ends_with(".php")
}

/// Facebook's obfuscated `pfbid…` post ids cannot be read through the
/// Graph API, which wants `{page-id}_{post-id}`.
fn refuse_pfbid(url: &str, id: &str) -> Result<(), PluginError> {
    if id.starts_with("pfbid") {
        return Err(PluginError::InvalidInput(format!(
            "{url:?} uses an obfuscated pfbid post id, which the Graph API does not accept: give the \
             post's Graph id {{page-id}}_{{post-id}} (GET /{{page-id}}/posts lists them) or its \
             permalink.php?story_fbid=…&id=… URL"
        )));
    }
    Ok(())
}

/// `https://graph.facebook.com/<version>`, the version from config
/// `api_version` (`v23.0` by default).
fn api_base() -> Result<String, PluginError> {
    let version = config::get_or("api_version", DEFAULT_API_VERSION);
    let version = version.trim();
    let valid = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|n| (1..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
        });
    if !valid {
        return Err(PluginError::InvalidInput(format!(
            "config `api_version` = {version:?} is not a Graph API version like {DEFAULT_API_VERSION}"
        )));
    }
    Ok(format!("{GRAPH}/{version}"))
}

/// The numeric id of the Page called `username`.
fn resolve_page(api: &str, username: &str) -> Result<String, PluginError> {
    #[derive(Deserialize)]
    struct Node<'a> {
        #[serde(borrow, default)]
        id: Cow<'a, str>,
    }
    let url = http::url_with_query(&format!("{api}/{username}"), &[("fields", "id")]);
    let response = get(&url)?;
    let node: Node<'_> = parse(&response)?;
    if !is_numeric(&node.id) {
        return Err(PluginError::BadResponse(format!(
            "the Page {username:?} has no numeric id ({:?})",
            node.id
        )));
    }
    Ok(node.id.into_owned())
}

// ----- API shapes (only the fields used; strings borrowed where unescaped) -----

#[derive(Deserialize)]
struct List<'a, T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(borrow)]
    paging: Option<Paging<'a>>,
    summary: Option<Summary>,
}

#[derive(Deserialize)]
struct Paging<'a> {
    #[serde(borrow, default)]
    next: Cow<'a, str>,
    #[serde(borrow)]
    cursors: Option<Cursors<'a>>,
}

#[derive(Deserialize)]
struct Cursors<'a> {
    #[serde(borrow, default)]
    after: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Summary {
    total_count: Option<u64>,
}

#[derive(Deserialize)]
struct Author<'a> {
    #[serde(borrow, default)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
}

/// A comment, or a share (a Post object with the same fields).
#[derive(Deserialize)]
struct Comment<'a> {
    #[serde(borrow, default)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    message: Cow<'a, str>,
    #[serde(borrow, default)]
    created_time: Cow<'a, str>,
    #[serde(borrow)]
    from: Option<Author<'a>>,
    parent: Option<IgnoredAny>,
    #[serde(borrow, default)]
    message_tags: Tags<'a>,
    #[serde(default)]
    is_hidden: bool,
}

#[derive(Deserialize)]
struct Reaction<'a> {
    #[serde(borrow, default)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default, rename = "type")]
    kind: Cow<'a, str>,
}

/// `message_tags`: a list of tags. Other shapes (older Post objects sent a
/// map) are skipped rather than refused. Deserialized by hand: an untagged
/// enum would buffer every message's tags before trying each shape.
#[derive(Default)]
struct Tags<'a>(Vec<Tag<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Tags<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<Tag<'a>>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Tags<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of message tags")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Tags<'a>, A::Error> {
                let mut tags = Vec::new();
                while let Some(tag) = seq.next_element::<Tag<'a>>()? {
                    tags.push(tag);
                }
                Ok(Tags(tags))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Tags<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Tags(Vec::new()))
            }
            fn visit_unit<E>(self) -> Result<Tags<'a>, E> {
                Ok(Tags(Vec::new()))
            }
            fn visit_none<E>(self) -> Result<Tags<'a>, E> {
                Ok(Tags(Vec::new()))
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

impl Tags<'_> {
    fn refs(&self) -> Vec<TagRef<'_>> {
        self.0
            .iter()
            .map(|t| TagRef {
                id: &t.id,
                name: &t.name,
                offset: t.offset,
                length: t.length,
            })
            .collect()
    }
}

/// A tag of a person or Page in a message, at `offset` for `length`
/// (UTF-16 code units).
#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(borrow, default)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    offset: Option<u64>,
    length: Option<u64>,
}

fn parse<'a, T: Deserialize<'a>>(response: &'a Response) -> Result<T, PluginError> {
    serde_json::from_slice(&response.body).map_err(|e| {
        PluginError::BadResponse(format!(
            "the Graph API's {} response is not the JSON expected: {e}",
            response.status
        ))
    })
}

// ----- requests -----

fn get(url: &str) -> Result<Response, PluginError> {
    let response = http::get(url, &[("Accept", "application/json")])?;
    if !response.is_success() {
        return Err(api_error(&response));
    }
    warn_on_high_usage(&response);
    Ok(response)
}

/// The URL of a page of `edge` of `post_id`.
fn edge_url(
    api: &str,
    post_id: &str,
    edge: &str,
    fixed: &[(&str, &str)],
    paging: &[(String, String)],
) -> String {
    let mut params: Vec<(&str, &str)> = fixed.to_vec();
    params.extend(paging.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    http::url_with_query(&format!("{api}/{post_id}/{edge}"), &params)
}

// ----- collections -----

/// Top-level comments (`replies` false) or replies to comments.
fn comments(
    api: &str,
    post_id: &str,
    cursor: Option<&str>,
    replies: bool,
) -> Result<Page, PluginError> {
    let paging = decode_cursor(cursor)?;
    let skip_hidden = config::parse::<bool>("skip_hidden")?.unwrap_or(false);
    let url = edge_url(
        api,
        post_id,
        "comments",
        &[
            ("fields", COMMENT_FIELDS),
            ("filter", if replies { "stream" } else { "toplevel" }),
            ("order", "chronological"),
            ("summary", "true"),
            ("limit", PAGE_SIZE),
        ],
        &paging,
    );
    let response = get(&url)?;
    let list: List<'_, Comment<'_>> = parse(&response)?;
    let mut entries = Vec::with_capacity(list.data.len());
    let mut skipped = Skipped::default();
    for c in &list.data {
        if c.parent.is_some() != replies {
            continue;
        }
        if skip_hidden && c.is_hidden {
            skipped.hidden.push(&c.id);
            continue;
        }
        match author_entry(c, checked_time(&c.created_time)?) {
            Some(entry) => entries.push(entry),
            None => skipped.anonymous.push(&c.id),
        }
    }
    skipped.report(if replies { "replies" } else { "comments" });
    Ok(Page {
        entries,
        next_cursor: next_cursor(list.paging.as_ref(), cursor)?,
        // With filter=stream the total counts top-level comments too.
        total_hint: if replies {
            None
        } else {
            list.summary.and_then(|s| s.total_count)
        },
    })
}

/// Reactions of every type. The cursor is `<post created_time>|<paging>`:
/// the time every entry carries, and the page's position.
fn reactions(api: &str, post_id: &str, cursor: Option<&str>) -> Result<Page, PluginError> {
    let (post_time, paging_cursor) = match cursor {
        Some(c) => {
            let (t, paging) = c
                .split_once('|')
                .filter(|(t, _)| time::parse_rfc3339(t).is_some())
                .ok_or_else(|| {
                    PluginError::InvalidInput(format!(
                        "{c:?} is not a cursor of the likes collection"
                    ))
                })?;
            (t.to_owned(), Some(paging))
        }
        None => (post_created_time(api, post_id)?, None),
    };
    let paging = decode_cursor(paging_cursor)?;
    let url = edge_url(
        api,
        post_id,
        "reactions",
        &[
            ("fields", REACTION_FIELDS),
            ("summary", "total_count"),
            ("limit", PAGE_SIZE),
        ],
        &paging,
    );
    let response = get(&url)?;
    let list: List<'_, Reaction<'_>> = parse(&response)?;
    let mut entries = Vec::with_capacity(list.data.len());
    let mut skipped = Skipped::default();
    for r in &list.data {
        if !is_numeric(&r.id) {
            skipped.anonymous.push(&r.id);
            continue;
        }
        entries.push(Entry {
            platform: PLATFORM.into(),
            user_id: r.id.as_ref().into(),
            handle: format!("@{}", r.id),
            display_name: r.name.as_ref().into(),
            // The reaction type (LIKE, LOVE, CARE, …): the entry's only place for it.
            text: r.kind.as_ref().into(),
            created_at: post_time.clone(),
            followers: None,
            account_created_at: None,
        });
    }
    skipped.report("reactions");
    let next =
        next_cursor(list.paging.as_ref(), paging_cursor)?.map(|n| format!("{post_time}|{n}"));
    Ok(Page {
        entries,
        next_cursor: next,
        total_hint: list.summary.and_then(|s| s.total_count),
    })
}

/// Shares visible to the token; a share's own message is its text.
fn shares(api: &str, post_id: &str, cursor: Option<&str>) -> Result<Page, PluginError> {
    let paging = decode_cursor(cursor)?;
    let url = edge_url(
        api,
        post_id,
        "sharedposts",
        &[("fields", SHARE_FIELDS), ("limit", PAGE_SIZE)],
        &paging,
    );
    let response = get(&url)?;
    let list: List<'_, Comment<'_>> = parse(&response)?;
    let mut entries = Vec::with_capacity(list.data.len());
    let mut skipped = Skipped::default();
    for s in &list.data {
        match author_entry(s, checked_time(&s.created_time)?) {
            Some(entry) => entries.push(entry),
            None => skipped.anonymous.push(&s.id),
        }
    }
    skipped.report("shares");
    Ok(Page::new(
        entries,
        next_cursor(list.paging.as_ref(), cursor)?,
    ))
}

/// The post's `created_time`, RFC 3339.
fn post_created_time(api: &str, post_id: &str) -> Result<String, PluginError> {
    #[derive(Deserialize)]
    struct PostTime<'a> {
        #[serde(borrow, default)]
        created_time: Cow<'a, str>,
    }
    let url = http::url_with_query(&format!("{api}/{post_id}"), &[("fields", "created_time")]);
    let response = get(&url)?;
    let post: PostTime<'_> = parse(&response)?;
    checked_time(&post.created_time)
}

/// The entry of a comment or share, or `None` when the platform left out
/// its author.
fn author_entry(c: &Comment<'_>, created_at: String) -> Option<Entry> {
    let author = c.from.as_ref().filter(|a| is_numeric(&a.id))?;
    Some(Entry {
        platform: PLATFORM.into(),
        user_id: author.id.as_ref().into(),
        handle: format!("@{}", author.id),
        display_name: author.name.as_ref().into(),
        text: with_mentions(&c.message, &c.message_tags.refs()),
        created_at,
        followers: None,
        account_created_at: None,
    })
}

/// Items of one page left out, reported in one log line each.
#[derive(Default)]
struct Skipped<'a> {
    anonymous: Vec<&'a str>,
    hidden: Vec<&'a str>,
}

impl Skipped<'_> {
    fn report(&self, what: &str) {
        let ids = |ids: &[&str]| {
            let mut shown: Vec<&str> = ids
                .iter()
                .take(5)
                .map(|id| if id.is_empty() { "(no id)" } else { id })
                .collect();
            if ids.len() > 5 {
                shown.push("…");
            }
            shown.join(", ")
        };
        if !self.anonymous.is_empty() {
            log::warn(format!(
                "left out {} {what} without an author id ({}): Facebook returns `from` only to a \
                 Page access token of the Page that owns the post, and not for people who restrict \
                 it; an entry without an identity cannot be told apart from others",
                self.anonymous.len(),
                ids(&self.anonymous)
            ));
        }
        if !self.hidden.is_empty() {
            log::info(format!(
                "left out {} hidden {what} (config skip_hidden): {}",
                self.hidden.len(),
                ids(&self.hidden)
            ));
        }
    }
}

// ----- cursors -----

/// The paging parameters of a cursor `after=…[&…]`; none for `None`.
fn decode_cursor(cursor: Option<&str>) -> Result<Vec<(String, String)>, PluginError> {
    let Some(cursor) = cursor else {
        return Ok(Vec::new());
    };
    let bad = || PluginError::InvalidInput(format!("{cursor:?} is not a cursor of this plugin"));
    let mut params = Vec::new();
    for pair in cursor.split('&') {
        let (name, value) = pair.split_once('=').ok_or_else(bad)?;
        if !PAGING_PARAMS.contains(&name) || value.is_empty() {
            return Err(bad());
        }
        params.push((name.to_owned(), http::decode(value).into_owned()));
    }
    Ok(params)
}

/// The cursor of the next page: the paging parameters of `paging.next`
/// (or `paging.cursors.after`), `None` when there is no `next`.
///
/// Fails when `next` carries no position, when the cursor is too long, or
/// when it repeats `previous` (the list would never end).
fn next_cursor(
    paging: Option<&Paging<'_>>,
    previous: Option<&str>,
) -> Result<Option<String>, PluginError> {
    let Some(paging) = paging.filter(|p| !p.next.is_empty()) else {
        return Ok(None);
    };
    let mut params: Vec<(&str, String)> = PAGING_PARAMS
        .iter()
        .filter_map(|name| Some((*name, http::query_param(&paging.next, name)?)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if params.is_empty()
        && let Some(after) = paging.cursors.as_ref().filter(|c| !c.after.is_empty())
    {
        params.push(("after", after.after.clone().into_owned()));
    }
    if params.is_empty() {
        return Err(PluginError::BadResponse(format!(
            "paging.next {:?} carries no cursor",
            paging.next
        )));
    }
    let cursor = params
        .iter()
        .map(|(k, v)| format!("{k}={}", http::encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    if cursor.len() > MAX_CURSOR {
        return Err(PluginError::BadResponse(format!(
            "the next page's cursor is longer than {MAX_CURSOR} bytes"
        )));
    }
    if previous == Some(cursor.as_str()) {
        return Err(PluginError::BadResponse(
            "the Graph API returned the same cursor again: the list would not end".into(),
        ));
    }
    Ok(Some(cursor))
}

// ----- text -----

/// Graph times are `2024-01-01T10:00:00+0000`; RFC 3339 wants `+00:00`.
pub fn rfc3339(t: &str) -> Option<String> {
    if let Some(head) = t.strip_suffix("+0000") {
        let fixed = format!("{head}+00:00");
        return time::parse_rfc3339(&fixed).map(|_| fixed);
    }
    if time::parse_rfc3339(t).is_some() {
        return Some(t.to_owned());
    }
    let b = t.as_bytes();
    let n = b.len();
    if n < 5 || !matches!(b[n - 5], b'+' | b'-') || !b[n - 4..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let fixed = format!("{}:{}", &t[..n - 2], &t[n - 2..]);
    time::parse_rfc3339(&fixed).map(|_| fixed)
}

fn checked_time(t: &str) -> Result<String, PluginError> {
    rfc3339(t).ok_or_else(|| {
        PluginError::BadResponse(format!("created_time {t:?} is not an ISO 8601 time"))
    })
}

/// The message with each tagged person or Page written as `@<id>` in place
/// of the tagged name, so the engine counts tags as mentions.
///
/// Facebook's `message` is plain text (no HTML): nothing else changes. A tag
/// is found at its `offset`/`length` in UTF-16 code units, else in code
/// points, else by its name; one that is nowhere in the text is appended.
pub fn with_mentions(message: &str, tags: &[TagRef<'_>]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = Vec::new();
    let mut unplaced: Vec<&str> = Vec::new();
    for tag in tags.iter().take(MAX_TAGS) {
        if !is_numeric(tag.id) {
            continue;
        }
        match locate(message, tag) {
            Some((start, end)) => spans.push((start, end, tag.id)),
            None => unplaced.push(tag.id),
        }
    }
    if spans.is_empty() && unplaced.is_empty() {
        return message.to_owned();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(message.len() + 8 * (spans.len() + unplaced.len()));
    let mut at = 0;
    for (start, end, id) in spans {
        if start < at {
            unplaced.push(id);
            continue;
        }
        out.push_str(&message[at..start]);
        if out.chars().next_back().is_some_and(is_word) {
            out.push(' ');
        }
        out.push('@');
        out.push_str(id);
        let rest = &message[end..];
        let mut next = rest.chars();
        let gap = match next.next() {
            Some(c) if is_word(c) => true,
            Some('.' | '-') => next.next().is_some_and(is_word),
            _ => false,
        };
        if gap {
            out.push(' ');
        }
        at = end;
    }
    out.push_str(&message[at..]);
    for id in unplaced {
        if !out.is_empty() && !out.ends_with(char::is_whitespace) {
            out.push(' ');
        }
        out.push('@');
        out.push_str(id);
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A tag as [`with_mentions`] reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TagRef<'a> {
    /// The tagged account's id.
    pub id: &'a str,
    /// The tagged name as it appears in the message.
    pub name: &'a str,
    /// Where the name starts (UTF-16 code units), if given.
    pub offset: Option<u64>,
    /// The name's length (UTF-16 code units), if given.
    pub length: Option<u64>,
}

/// The byte range of a tag in `message`.
fn locate(message: &str, tag: &TagRef<'_>) -> Option<(usize, usize)> {
    let matches = |(s, e): (usize, usize)| tag.name.is_empty() || message[s..e] == *tag.name;
    if let (Some(offset), Some(length)) = (tag.offset, tag.length)
        && length > 0
    {
        let (offset, length) = (usize::try_from(offset).ok()?, usize::try_from(length).ok()?);
        let end = offset.checked_add(length)?;
        let utf16 = byte_range(message, offset, end, char::len_utf16);
        if let Some(r) = utf16.filter(|r| matches(*r)) {
            return Some(r);
        }
        let chars = byte_range(message, offset, end, |_| 1);
        if let Some(r) = chars.filter(|r| matches(*r)) {
            return Some(r);
        }
    }
    if tag.name.is_empty() {
        return None;
    }
    message.find(tag.name).map(|s| (s, s + tag.name.len()))
}

/// The byte range of units `start..end`, counting each char as `units(c)`;
/// `None` when a bound is not on a char boundary or past the end.
fn byte_range(
    message: &str,
    start: usize,
    end: usize,
    units: impl Fn(char) -> usize,
) -> Option<(usize, usize)> {
    let (mut at, mut s, mut e) = (0usize, None, None);
    for (i, c) in message.char_indices() {
        if at == start {
            s = Some(i);
        }
        if at == end {
            e = Some(i);
            break;
        }
        if at > end {
            return None;
        }
        at += units(c);
    }
    if at == start && s.is_none() {
        s = Some(message.len());
    }
    if at == end && e.is_none() {
        e = Some(message.len());
    }
    Some((s?, e?))
}

// ----- errors -----

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(borrow)]
    error: GraphError<'a>,
}

#[derive(Deserialize)]
struct GraphError<'a> {
    #[serde(borrow, default)]
    message: Cow<'a, str>,
    code: Option<i64>,
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: bool,
}

/// The error for a non-2xx Graph API response: the envelope's `code` and
/// `error_subcode` decide (Meta sends throttling and bad tokens with
/// ordinary 4xx statuses), then the status.
pub fn api_error(response: &Response) -> PluginError {
    let Ok(body) = serde_json::from_slice::<ErrorBody<'_>>(&response.body) else {
        return http::status_error(response);
    };
    let e = body.error;
    let code = e.code.unwrap_or(0);
    let mut message = format!(
        "Facebook: {}",
        e.message.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    match (e.code, e.error_subcode) {
        (Some(c), Some(s)) => message.push_str(&format!(" (code {c}, subcode {s})")),
        (Some(c), None) => message.push_str(&format!(" (code {c})")),
        _ => {}
    }
    let token_hint = "use a Page access token of the Page that owns the post, with \
                      pages_read_engagement and pages_read_user_content";
    match code {
        190 | 102 => {
            let why = match e.error_subcode {
                Some(463) => "the access token has expired",
                Some(460) => "the access token was invalidated by a password change",
                Some(458) => "the app is not installed for this user",
                Some(459 | 464) => "the user must log in to Facebook to fix their account",
                Some(467) => "the access token is invalid",
                _ => "the access token is invalid",
            };
            PluginError::Unauthorized(format!("{message}: {why}; {token_hint}"))
        }
        104 => {
            PluginError::Unauthorized(format!("{message}: no access token was sent; {token_hint}"))
        }
        10 | 200..=299 => {
            PluginError::Unauthorized(format!("{message}: missing permission; {token_hint}"))
        }
        4 | 17 | 32 | 613 | 80001..=80014 => {
            if let Some(usage) = usage_summary(response) {
                message.push_str(&format!("; {usage}"));
            }
            PluginError::rate_limited(http::retry_after_seconds(&response.headers), message)
        }
        100 if e.error_subcode == Some(33) => PluginError::NotFound(message),
        803 => PluginError::NotFound(message),
        1 | 2 => PluginError::Unavailable(message),
        _ if e.is_transient => PluginError::Unavailable(message),
        100 => PluginError::InvalidInput(message),
        _ => match response.status {
            401 => PluginError::Unauthorized(message),
            404 | 410 => PluginError::NotFound(message),
            429 => PluginError::rate_limited(http::retry_after_seconds(&response.headers), message),
            500..=599 => PluginError::Unavailable(message),
            _ => PluginError::Other(message),
        },
    }
}

/// `X-App-Usage` / `X-Page-Usage`: percentages of a rolling one-hour
/// window, e.g. `{"call_count":28,"total_time":25,"total_cputime":25}`.
#[derive(Debug, Default, Deserialize, PartialEq)]
struct Usage {
    #[serde(default)]
    call_count: f64,
    #[serde(default)]
    total_time: f64,
    #[serde(default)]
    total_cputime: f64,
}

impl Usage {
    fn max(&self) -> f64 {
        self.call_count.max(self.total_time).max(self.total_cputime)
    }
}

const USAGE_HEADERS: [&str; 2] = ["x-app-usage", "x-page-usage"];

/// The usage headers' highest figures, e.g. `X-App-Usage call_count 100%`.
fn usage_summary(response: &Response) -> Option<String> {
    let parts: Vec<String> = USAGE_HEADERS
        .iter()
        .filter_map(|name| {
            let usage: Usage = serde_json::from_str(response.header(name)?).ok()?;
            Some(format!(
                "{name}: call_count {}%, total_time {}%, total_cputime {}% of the hourly limit",
                usage.call_count, usage.total_time, usage.total_cputime
            ))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Meta throttles when a usage header reaches 100%; a warning from 90%.
fn warn_on_high_usage(response: &Response) {
    for name in USAGE_HEADERS {
        let Some(usage) = response
            .header(name)
            .and_then(|v| serde_json::from_str::<Usage>(v).ok())
        else {
            continue;
        };
        if usage.max() >= 90.0 {
            log::warn(format!(
                "{name} is at {}% of the Graph API's hourly limit: requests will soon be throttled",
                usage.max()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag<'a>(id: &'a str, name: &'a str, offset: u64, length: u64) -> TagRef<'a> {
        TagRef {
            id,
            name,
            offset: Some(offset),
            length: Some(length),
        }
    }

    #[test]
    fn times_become_rfc3339() {
        assert_eq!(
            rfc3339("2024-01-01T10:00:00+0000").as_deref(),
            Some("2024-01-01T10:00:00+00:00")
        );
        assert_eq!(
            rfc3339("2024-01-01T10:00:00-0530").as_deref(),
            Some("2024-01-01T10:00:00-05:30")
        );
        assert_eq!(
            rfc3339("2024-01-01T10:00:00Z").as_deref(),
            Some("2024-01-01T10:00:00Z")
        );
        assert_eq!(rfc3339("2024-01-01T10:00:00+00"), None);
        assert_eq!(rfc3339("2024-13-01T10:00:00+0000"), None);
        assert_eq!(rfc3339(""), None);
    }

    #[test]
    fn tags_become_mentions() {
        // UTF-16 offsets: the emoji counts two units.
        let msg = "🎉 Jane Doe and Acme Shop, count us in";
        assert_eq!(
            with_mentions(
                msg,
                &[tag("111", "Jane Doe", 3, 8), tag("222", "Acme Shop", 16, 9)]
            ),
            "🎉 @111 and @222, count us in"
        );
        // Code-point offsets are accepted too, and a tag without offsets is
        // found by name.
        assert_eq!(
            with_mentions(msg, &[tag("111", "Jane Doe", 2, 8)]),
            "🎉 @111 and Acme Shop, count us in"
        );
        let by_name = TagRef {
            id: "222",
            name: "Acme Shop",
            ..TagRef::default()
        };
        assert_eq!(
            with_mentions(msg, &[by_name]),
            "🎉 Jane Doe and @222, count us in"
        );
        // A tag that is nowhere in the text is appended; one without a
        // numeric id is ignored; a name glued to a word gets a space.
        assert_eq!(
            with_mentions("hi", &[tag("333", "Zed", 40, 3), tag("x", "hi", 0, 2)]),
            "hi @333"
        );
        assert_eq!(
            with_mentions("xJane's", &[tag("9", "Jane", 1, 4)]),
            "x @9's"
        );
        assert_eq!(with_mentions("plain &amp; text", &[]), "plain &amp; text");
        // Overlapping tags: the second is appended.
        assert_eq!(
            with_mentions(
                "Jane Doe",
                &[tag("1", "Jane Doe", 0, 8), tag("2", "Doe", 5, 3)]
            ),
            "@1 @2"
        );
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let paging = Paging {
            next: "https://graph.facebook.com/v23.0/1_2/comments?access_token=SECRET&limit=100&after=QVFI%2Bx%3D%3D".into(),
            cursors: None,
        };
        let c = next_cursor(Some(&paging), None)
            .expect("ok")
            .expect("a cursor");
        assert_eq!(c, "after=QVFI%2Bx%3D%3D");
        assert!(!c.contains("SECRET"));
        assert_eq!(
            decode_cursor(Some(&c)).expect("decodes"),
            [("after".to_owned(), "QVFI+x==".to_owned())]
        );
        assert!(
            next_cursor(Some(&paging), Some(&c)).is_err(),
            "a repeated cursor"
        );
        let time_paged = Paging {
            next: "https://graph.facebook.com/v23.0/1_2/sharedposts?until=1700000000&__paging_token=enc_AdB".into(),
            cursors: None,
        };
        assert_eq!(
            next_cursor(Some(&time_paged), None).expect("ok").as_deref(),
            Some("until=1700000000&__paging_token=enc_AdB")
        );
        let no_next = Paging {
            next: "".into(),
            cursors: Some(Cursors { after: "X".into() }),
        };
        assert_eq!(next_cursor(Some(&no_next), None).expect("ok"), None);
        let bare = Paging {
            next: "https://graph.facebook.com/v23.0/1_2/comments".into(),
            cursors: None,
        };
        assert!(next_cursor(Some(&bare), None).is_err());
        for junk in ["", "after", "access_token=x", "after=", "a=1"] {
            assert!(decode_cursor(Some(junk)).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn message_tags_of_other_shapes_are_ignored() {
        for tags in ["null", r#"{"0":[{"id":"1"}]}"#, "[]"] {
            let json = format!(r#"{{"message":"hi","message_tags":{tags}}}"#);
            let c: Comment<'_> = serde_json::from_str(&json).expect("a comment");
            assert!(c.message_tags.0.is_empty(), "{tags}");
        }
        let c: Comment<'_> = serde_json::from_str(
            r#"{"message_tags":[{"id":"1","name":"A","offset":0,"length":1}]}"#,
        )
        .expect("a list");
        assert_eq!(c.message_tags.0.len(), 1);
        assert!(serde_json::from_str::<Comment<'_>>(r#"{"message_tags":7}"#).is_err());
    }

    #[test]
    fn ids_and_usernames() {
        assert_eq!(split_post_id("111_222"), Some(("111", "222")));
        assert_eq!(split_post_id("111_"), None);
        assert_eq!(split_post_id("a_1"), None);
        assert!(is_username("acme.shop") && is_username("Acme2"));
        assert!(!is_username("123") && !is_username("permalink.php") && !is_username("a-b"));
    }
}
