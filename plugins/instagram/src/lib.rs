//! Instagram comments and replies, from the Instagram Graph API.
//!
//! - `comments`: the top-level comments of a media item, from
//!   `GET /{ig-media-id}/comments` (100 a page).
//! - `replies`: replies to those comments. Each comments page is read with
//!   the nested `replies{…}` field; a comment whose nested replies carry a
//!   `paging.next` has more than the first page inline, and those are
//!   listed from the start with `GET /{ig-comment-id}/replies`, page by page.
//!
//! Pagination follows `paging.cursors.after` (or the `after` of
//! `paging.next` when a page carries no cursors) and ends only when
//! `paging.next` is absent: Meta returns short and even empty pages that
//! still have a next page. The plugin never requests the `next` URL itself,
//! so a token the platform echoes into it never reaches a cursor.
//!
//! A post is a media id (`17895695668004550`) or an instagram.com URL
//! (`/p/SHORTCODE/`, `/reel/SHORTCODE/`, `/tv/…`). The Graph API cannot look
//! a shortcode up directly: the plugin finds it in the media list of the
//! Instagram professional account that posted it (`GET
//! /{ig-user-id}/media?fields=id,shortcode`), which needs config
//! `ig_user_id`; without it a URL is refused, asking for the media id.
//!
//! Entries: `user_id` = `from.id` (the commenter's Instagram-scoped id),
//! `handle` = `@` + username, `text` = the comment as typed (Instagram sends
//! plain text; mentions are the `@handles` in it, which the engine counts:
//! Instagram gives no structured mentions for comments), `created_at` = the
//! `timestamp`, rewritten from `+0000` to RFC 3339. Likes and followers
//! cannot be listed: the API gives only their counts.
//!
//! The access token never reaches the plugin: the host sends it as
//! `Authorization: Bearer …` (manifest credential `access_token`).

use std::borrow::Cow;

use fairdraw_plugin_sdk::http::{self, Response};
use fairdraw_plugin_sdk::{
    Collection, Entry, Info, Page, PluginError, Post, Source, config, log, time,
};
use serde::Deserialize;

/// The platform name written into every entry.
pub const PLATFORM: &str = "instagram";

/// The Graph API host of "Instagram API with Facebook Login" (the default).
pub const FACEBOOK_LOGIN_API: &str = "https://graph.facebook.com";

/// The Graph API host of "Instagram API with Instagram Login".
pub const INSTAGRAM_LOGIN_API: &str = "https://graph.instagram.com";

/// The Graph API version used when config `api_version` is unset.
pub const DEFAULT_API_VERSION: &str = "v23.0";

/// Items requested per page (`limit`).
pub const PAGE_SIZE: &str = "100";

/// Fields of a comment in the `comments` collection.
pub const COMMENT_FIELDS: &str = "id,text,timestamp,username,from{id,username},hidden";

/// Fields of a reply, from `/{ig-comment-id}/replies`.
pub const REPLY_FIELDS: &str = "id,text,timestamp,username,from{id,username},hidden,parent_id";

/// Fields of a comment when walking comments for their replies.
pub const THREAD_FIELDS: &str =
    "id,replies{id,text,timestamp,username,from{id,username},hidden,parent_id}";

/// Fields of a media item when looking a shortcode up.
pub const MEDIA_FIELDS: &str = "id,shortcode";

/// Media-list pages read per call while looking a shortcode up; the call
/// then fetches the first page of the collection too, within the host's
/// default of 5 requests per call.
const LOOKUP_PAGES_PER_CALL: usize = 3;

/// The Instagram source.
#[derive(Debug)]
pub struct Instagram;

impl Source for Instagram {
    fn describe() -> Info {
        Info::new(PLATFORM)
            .collections([Collection::Comments, Collection::Replies])
            .credential("access_token")
            .unsupported(
                "min_followers",
                "Instagram comments carry no follower count of their author",
            )
            .unsupported(
                "min_account_age_days",
                "Instagram gives no creation date of its accounts",
            )
            .unsupported(
                "require_in",
                "Instagram gives only counts of likes and followers (like_count, followers_count): \
                 it cannot list who liked a post or follows an account, and it has no reposts \
                 (require_in with comments or replies still works)",
            )
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        let settings = Settings::read()?;
        let url = url.trim();
        if is_numeric_id(url) {
            return Ok(Post {
                id: url.to_owned(),
                url: format!("{}/{url}", settings.api),
            });
        }
        let (kind, code) = shortcode(url).ok_or_else(|| {
            PluginError::InvalidInput(format!(
                "{url:?} is not an Instagram post: give https://www.instagram.com/p/SHORTCODE/ \
                 (or /reel/…, /tv/…) or the media id (digits)"
            ))
        })?;
        if settings.ig_user.is_none() {
            return Err(PluginError::InvalidInput(format!(
                "{url:?} names the post by its shortcode {code:?}, which the Instagram Graph API \
                 cannot look up directly: give the media id instead (the `id` of the media in \
                 GET /{{ig-user-id}}/media), or set config `ig_user_id` to the Instagram \
                 professional account that posted it so the plugin can find the shortcode in \
                 that account's media"
            )));
        }
        Ok(Post {
            id: code.to_owned(),
            url: format!("https://www.instagram.com/{kind}/{code}/"),
        })
    }

    fn fetch_page(
        post: &Post,
        collection: Collection,
        cursor: Option<&str>,
    ) -> Result<Page, PluginError> {
        let settings = Settings::read()?;
        if !matches!(collection, Collection::Comments | Collection::Replies) {
            return Err(PluginError::InvalidInput(format!(
                "Instagram lists comments and replies, not {collection}: the Graph API gives \
                 only counts of likes and followers, and has no reposts"
            )));
        }
        let by_media_id = is_numeric_id(&post.id);
        if !by_media_id && !is_shortcode(&post.id) {
            return Err(PluginError::InvalidInput(format!(
                "{:?} is neither an Instagram media id nor a shortcode",
                post.id
            )));
        }
        let state = match cursor {
            None => None,
            Some(c) => Some(Cursor::decode(c)?),
        };
        let state = match state {
            None if by_media_id => Cursor::first(collection, post.id.clone()),
            None | Some(Cursor::Lookup { .. }) if by_media_id => {
                return Err(PluginError::InvalidInput(
                    "a shortcode lookup cursor for a post given by its media id".into(),
                ));
            }
            None => match lookup(&settings, &post.id, None)? {
                Lookup::Found(media) => Cursor::first(collection, media),
                Lookup::Pending(after) => return Ok(Page::new(Vec::new(), Some(after.encode()))),
            },
            Some(Cursor::Lookup { after }) => match lookup(&settings, &post.id, Some(after))? {
                Lookup::Found(media) => Cursor::first(collection, media),
                Lookup::Pending(after) => return Ok(Page::new(Vec::new(), Some(after.encode()))),
            },
            Some(other) => {
                if by_media_id && other.media() != Some(post.id.as_str()) {
                    return Err(PluginError::InvalidInput(format!(
                        "the cursor is for another media than {:?}",
                        post.id
                    )));
                }
                other
            }
        };
        match (collection, state) {
            (Collection::Comments, Cursor::Comments { media, after }) => {
                comments(&settings, media, after)
            }
            (
                Collection::Replies,
                Cursor::Threads {
                    media,
                    after,
                    index,
                },
            ) => threads(&settings, media, after, index),
            (
                Collection::Replies,
                Cursor::Replies {
                    media,
                    after,
                    index,
                    comment,
                    replies_after,
                },
            ) => replies(&settings, media, after, index, comment, replies_after),
            (collection, _) => Err(PluginError::InvalidInput(format!(
                "the cursor is not one of the {collection} collection"
            ))),
        }
    }
}

fairdraw_plugin_sdk::export_source!(Instagram);

// ----- configuration -----

/// The plugin's configuration (manifest `[config]`).
#[derive(Debug)]
struct Settings {
    /// `https://graph.facebook.com` or `https://graph.instagram.com`.
    api: String,
    /// `vNN.N`.
    version: String,
    /// The Instagram professional account whose media a shortcode is
    /// looked up in.
    ig_user: Option<String>,
    /// Leave out comments the media owner hid.
    skip_hidden: bool,
}

impl Settings {
    fn read() -> Result<Settings, PluginError> {
        let api = config::get_or("api", FACEBOOK_LOGIN_API);
        let api = api.trim().trim_end_matches('/');
        if api != FACEBOOK_LOGIN_API && api != INSTAGRAM_LOGIN_API {
            return Err(PluginError::InvalidInput(format!(
                "config `api` = {api:?} is neither {FACEBOOK_LOGIN_API} (Instagram API with \
                 Facebook Login) nor {INSTAGRAM_LOGIN_API} (Instagram API with Instagram Login)"
            )));
        }
        let version = config::get_or("api_version", DEFAULT_API_VERSION);
        let version = version.trim();
        if !is_api_version(version) {
            return Err(PluginError::InvalidInput(format!(
                "config `api_version` = {version:?} is not a Graph API version like {DEFAULT_API_VERSION}"
            )));
        }
        let ig_user = config::get("ig_user_id")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        if let Some(id) = &ig_user
            && !is_numeric_id(id)
        {
            return Err(PluginError::InvalidInput(format!(
                "config `ig_user_id` = {id:?} is not an Instagram user id (digits)"
            )));
        }
        let skip_hidden = config::parse::<bool>("skip_hidden")?.unwrap_or(false);
        Ok(Settings {
            api: api.to_owned(),
            version: version.to_owned(),
            ig_user,
            skip_hidden,
        })
    }

    /// `GET {api}/{version}/{node}/{edge}?fields=…&limit=100[&after=…]`.
    fn url(&self, node: &str, edge: &str, fields: &str, after: Option<&str>) -> String {
        let mut params = vec![("fields", fields), ("limit", PAGE_SIZE)];
        if let Some(after) = after {
            params.push(("after", after));
        }
        http::url_with_query(
            &format!("{}/{}/{node}/{edge}", self.api, self.version),
            &params,
        )
    }
}

/// `v` + digits + `.` + digits.
fn is_api_version(s: &str) -> bool {
    let Some((major, minor)) = s.strip_prefix('v').and_then(|r| r.split_once('.')) else {
        return false;
    };
    let digits = |p: &str| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

/// Graph ids of media, comments and users are decimal strings.
fn is_numeric_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Shortcodes are URL-safe base64 (11 characters for public posts, longer
/// for some private ones); all digits is read as a media id.
fn is_shortcode(s: &str) -> bool {
    (5..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !s.bytes().all(|b| b.is_ascii_digit())
}

/// The kind (`p` or `reel`) and shortcode of an instagram.com post URL:
/// `/p/SC/`, `/reel/SC/`, `/reels/SC/`, `/tv/SC/`, or the same after a
/// username (`/USER/p/SC/`), with any query or fragment.
fn shortcode(url: &str) -> Option<(&'static str, &str)> {
    let origin = http::parse_origin(url)?;
    let host = origin.host.strip_prefix("www.").unwrap_or(&origin.host);
    if !matches!(host, "instagram.com" | "m.instagram.com" | "instagr.am") {
        return None;
    }
    let path = origin.rest.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let kind_of = |k: &str| match k {
        "p" | "tv" => Some("p"),
        "reel" | "reels" => Some("reel"),
        _ => None,
    };
    // `/KIND/CODE[/…]`, or `/USER/KIND/CODE[/…]`; nothing more after CODE
    // than one segment (`/p/CODE/embed`).
    let (kind, code) = match segments.as_slice() {
        [k, code] | [k, code, _] if kind_of(k).is_some() => (kind_of(k)?, *code),
        [_, k, code] | [_, k, code, _] => (kind_of(k)?, *code),
        _ => return None,
    };
    is_shortcode(code).then_some((kind, code))
}

// ----- cursors -----

/// Where a collection stands. Fields are percent-encoded and joined by `|`
/// (which `http::encode` escapes); an empty field means "none".
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cursor {
    /// Still looking the shortcode up: the media list continues `after`.
    Lookup { after: String },
    /// `comments`: the page of comments of `media` after `after`.
    Comments {
        media: String,
        after: Option<String>,
    },
    /// `replies`: the comments page after `after`, from comment `index`.
    Threads {
        media: String,
        after: Option<String>,
        index: usize,
    },
    /// `replies`: the replies of comment `comment` (at `index` of the
    /// comments page after `after`) from `replies_after`.
    Replies {
        media: String,
        after: Option<String>,
        index: usize,
        comment: String,
        replies_after: Option<String>,
    },
}

impl Cursor {
    /// The first page of `collection` of `media`.
    fn first(collection: Collection, media: String) -> Cursor {
        match collection {
            Collection::Replies => Cursor::Threads {
                media,
                after: None,
                index: 0,
            },
            _ => Cursor::Comments { media, after: None },
        }
    }

    fn media(&self) -> Option<&str> {
        match self {
            Cursor::Lookup { .. } => None,
            Cursor::Comments { media, .. }
            | Cursor::Threads { media, .. }
            | Cursor::Replies { media, .. } => Some(media),
        }
    }

    fn encode(&self) -> String {
        let opt = |t: &Option<String>| {
            t.as_deref()
                .map(|t| http::encode(t).into_owned())
                .unwrap_or_default()
        };
        match self {
            Cursor::Lookup { after } => format!("m|{}", http::encode(after)),
            Cursor::Comments { media, after } => format!("c|{media}|{}", opt(after)),
            Cursor::Threads {
                media,
                after,
                index,
            } => format!("t|{media}|{}|{index}", opt(after)),
            Cursor::Replies {
                media,
                after,
                index,
                comment,
                replies_after,
            } => format!(
                "r|{media}|{}|{index}|{comment}|{}",
                opt(after),
                opt(replies_after)
            ),
        }
    }

    fn decode(cursor: &str) -> Result<Cursor, PluginError> {
        let bad = || PluginError::InvalidInput(format!("{cursor:?} is not an Instagram cursor"));
        if cursor.len() > 8192 {
            return Err(bad());
        }
        let parts: Vec<&str> = cursor.split('|').collect();
        let opt = |t: &str| (!t.is_empty()).then(|| http::decode(t).into_owned());
        let id = |t: &str| is_numeric_id(t).then(|| t.to_owned()).ok_or_else(bad);
        let index = |i: &str| i.parse::<usize>().map_err(|_| bad());
        match parts.as_slice() {
            ["m", after] if !after.is_empty() => Ok(Cursor::Lookup {
                after: http::decode(after).into_owned(),
            }),
            ["c", media, after] => Ok(Cursor::Comments {
                media: id(media)?,
                after: opt(after),
            }),
            ["t", media, after, i] => Ok(Cursor::Threads {
                media: id(media)?,
                after: opt(after),
                index: index(i)?,
            }),
            ["r", media, after, i, comment, replies_after] => Ok(Cursor::Replies {
                media: id(media)?,
                after: opt(after),
                index: index(i)?,
                comment: id(comment)?,
                replies_after: opt(replies_after),
            }),
            _ => Err(bad()),
        }
    }
}

// ----- API shapes (only the fields used; strings borrowed where unescaped) -----

/// A JSON string, borrowed from the response when it has no escapes.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

impl Str<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }

    fn into_string(self) -> String {
        self.0.into_owned()
    }
}

#[derive(Debug, Deserialize)]
struct Paging<'a> {
    #[serde(borrow)]
    cursors: Option<Cursors<'a>>,
    #[serde(borrow)]
    next: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
struct Cursors<'a> {
    #[serde(borrow)]
    after: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
struct CommentList<'a> {
    #[serde(borrow, default)]
    data: Vec<Comment<'a>>,
    #[serde(borrow)]
    paging: Option<Paging<'a>>,
}

#[derive(Debug, Deserialize)]
struct Comment<'a> {
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow)]
    text: Option<Str<'a>>,
    #[serde(borrow)]
    timestamp: Option<Str<'a>>,
    #[serde(borrow)]
    username: Option<Str<'a>>,
    #[serde(borrow)]
    from: Option<Author<'a>>,
    #[serde(default)]
    hidden: bool,
    #[serde(borrow)]
    replies: Option<CommentList<'a>>,
}

#[derive(Debug, Deserialize)]
struct Author<'a> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    username: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
struct MediaList<'a> {
    #[serde(borrow, default)]
    data: Vec<Media<'a>>,
    #[serde(borrow)]
    paging: Option<Paging<'a>>,
}

#[derive(Debug, Deserialize)]
struct Media<'a> {
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow)]
    shortcode: Option<Str<'a>>,
}

/// The cursor of the page after the one requested with `current`, or
/// `None` on the last page: the one without `paging.next`, however short
/// the pages before it were. The cursor is `paging.cursors.after`, or the
/// `after` of the `next` URL when the page has no cursors (an empty page).
fn next_after(
    paging: Option<&Paging<'_>>,
    current: Option<&str>,
) -> Result<Option<String>, PluginError> {
    let Some(next) = paging.and_then(|p| p.next.as_ref()) else {
        return Ok(None);
    };
    let after = paging
        .and_then(|p| p.cursors.as_ref())
        .and_then(|c| c.after.as_ref())
        .map(|a| a.as_str().to_owned())
        .filter(|a| !a.is_empty())
        .or_else(|| http::query_param(next.as_str(), "after").filter(|a| !a.is_empty()));
    match after {
        None => Err(PluginError::BadResponse(format!(
            "the page has a paging.next but no after cursor: {:?}",
            next.as_str()
        ))),
        // The same cursor again would loop for ever.
        Some(a) if Some(a.as_str()) == current => Err(PluginError::BadResponse(format!(
            "the platform gave the cursor {a:?} of the page just read as the next one"
        ))),
        Some(a) => Ok(Some(a)),
    }
}

/// Parses a 2xx body.
fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, PluginError> {
    serde_json::from_slice(body).map_err(|e| {
        PluginError::BadResponse(format!(
            "the Graph API answer is not the JSON expected: {e}"
        ))
    })
}

/// `2017-08-31T18:10:30+0000` (Graph API) as RFC 3339:
/// `2017-08-31T18:10:30Z`, other offsets with a colon. `None` when it is
/// not a valid time either way.
pub fn rfc3339(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let fixed = match b.len().checked_sub(5).map(|i| (i, &b[i..])) {
        Some((i, [sign @ (b'+' | b'-'), rest @ ..])) if rest.iter().all(u8::is_ascii_digit) => {
            let (head, offset) = t.split_at(i);
            if offset == "+0000" || offset == "-0000" {
                format!("{head}Z")
            } else {
                format!(
                    "{head}{}{}:{}",
                    char::from(*sign),
                    &offset[1..3],
                    &offset[3..]
                )
            }
        }
        _ => t.to_owned(),
    };
    time::parse_rfc3339(&fixed).map(|_| fixed)
}

/// The entry of a comment, or `None` for one that cannot be an entrant:
/// no author id (an account gone since), or hidden when `skip_hidden`.
fn entry(comment: Comment<'_>, settings: &Settings) -> Result<Option<Entry>, PluginError> {
    let Some(author) = comment
        .from
        .filter(|f| f.id.as_ref().is_some_and(|id| !id.as_str().is_empty()))
    else {
        log::warn(format!(
            "skipped comment {}: it has no author (from.id)",
            comment.id.as_str()
        ));
        return Ok(None);
    };
    if comment.hidden && settings.skip_hidden {
        log::debug(format!(
            "skipped comment {}: hidden by the media owner",
            comment.id.as_str()
        ));
        return Ok(None);
    }
    let user_id = author.id.map(Str::into_string).unwrap_or_default();
    let username = author
        .username
        .or(comment.username)
        .filter(|u| !u.as_str().is_empty());
    let handle = match username {
        Some(u) => {
            let u = u.as_str();
            let mut h = String::with_capacity(u.len() + 1);
            h.push('@');
            h.push_str(u.strip_prefix('@').unwrap_or(u));
            h
        }
        None => user_id.clone(),
    };
    let timestamp = comment.timestamp.as_ref().map_or("", Str::as_str);
    let created_at = rfc3339(timestamp).ok_or_else(|| {
        PluginError::BadResponse(format!(
            "comment {}: timestamp {timestamp:?} is not a time",
            comment.id.as_str()
        ))
    })?;
    Ok(Some(Entry {
        platform: PLATFORM.into(),
        user_id,
        handle,
        display_name: String::new(),
        text: comment.text.map(Str::into_string).unwrap_or_default(),
        created_at,
        followers: None,
        account_created_at: None,
    }))
}

fn entries(list: Vec<Comment<'_>>, settings: &Settings) -> Result<Vec<Entry>, PluginError> {
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        if let Some(e) = entry(c, settings)? {
            out.push(e);
        }
    }
    Ok(out)
}

// ----- requests -----

/// GETs `url`; a non-2xx answer becomes the error its Graph API body names.
fn get(url: &str) -> Result<Response, PluginError> {
    let response = http::get(url, &[("Accept", "application/json")])?;
    if !response.is_success() {
        return Err(api_error(&response));
    }
    Ok(response)
}

/// How a shortcode lookup stands.
enum Lookup {
    /// The media id.
    Found(String),
    /// Not found yet; the media list continues at this cursor.
    Pending(Cursor),
}

/// Looks `code` up in the media of config `ig_user_id`, from the media
/// page after `after`, reading at most [`LOOKUP_PAGES_PER_CALL`] pages.
fn lookup(
    settings: &Settings,
    code: &str,
    mut after: Option<String>,
) -> Result<Lookup, PluginError> {
    let Some(user) = settings.ig_user.as_deref() else {
        return Err(PluginError::InvalidInput(format!(
            "the post is given by its shortcode {code:?}: set config `ig_user_id` so the plugin \
             can find it in that account's media, or give the media id"
        )));
    };
    for _ in 0..LOOKUP_PAGES_PER_CALL {
        let response = get(&settings.url(user, "media", MEDIA_FIELDS, after.as_deref()))?;
        let list: MediaList<'_> = parse(&response.body)?;
        if let Some(media) = list
            .data
            .iter()
            .find(|m| m.shortcode.as_ref().is_some_and(|s| s.as_str() == code))
        {
            let id = media.id.as_str();
            if !is_numeric_id(id) {
                return Err(PluginError::BadResponse(format!(
                    "the media id {id:?} of shortcode {code:?} is not a Graph id"
                )));
            }
            log::info(format!("shortcode {code} is media {id}"));
            return Ok(Lookup::Found(id.to_owned()));
        }
        match next_after(list.paging.as_ref(), after.as_deref())? {
            Some(next) => after = Some(next),
            None => {
                return Err(PluginError::NotFound(format!(
                    "no media with shortcode {code:?} among the media of Instagram account \
                     {user} (config `ig_user_id`): is the post that account's?"
                )));
            }
        }
    }
    Ok(Lookup::Pending(Cursor::Lookup {
        after: after.unwrap_or_default(),
    }))
}

// ----- collections -----

fn comments(
    settings: &Settings,
    media: String,
    after: Option<String>,
) -> Result<Page, PluginError> {
    let response = get(&settings.url(&media, "comments", COMMENT_FIELDS, after.as_deref()))?;
    let list: CommentList<'_> = parse(&response.body)?;
    let next = next_after(list.paging.as_ref(), after.as_deref())?;
    let entries = entries(list.data, settings)?;
    Ok(Page::new(
        entries,
        next.map(|after| {
            Cursor::Comments {
                media,
                after: Some(after),
            }
            .encode()
        }),
    ))
}

/// The inline replies of the comments on one page, from comment `index`,
/// up to the first comment with more replies than inline.
fn threads(
    settings: &Settings,
    media: String,
    after: Option<String>,
    index: usize,
) -> Result<Page, PluginError> {
    let response = get(&settings.url(&media, "comments", THREAD_FIELDS, after.as_deref()))?;
    let list: CommentList<'_> = parse(&response.body)?;
    let next = next_after(list.paging.as_ref(), after.as_deref())?;
    let mut out = Vec::new();
    for (i, comment) in list.data.into_iter().enumerate().skip(index) {
        let Some(replies) = comment.replies else {
            continue;
        };
        if replies.paging.as_ref().is_some_and(|p| p.next.is_some()) {
            // More than the inline page: list them all from the replies
            // edge, from the next call on.
            let id = comment.id.as_str();
            if !is_numeric_id(id) {
                return Err(PluginError::BadResponse(format!(
                    "the comment id {id:?} is not a Graph id"
                )));
            }
            let cursor = Cursor::Replies {
                media,
                after,
                index: i,
                comment: id.to_owned(),
                replies_after: None,
            };
            return Ok(Page::new(out, Some(cursor.encode())));
        }
        out.extend(entries(replies.data, settings)?);
    }
    let next = next.map(|after| Cursor::Threads {
        media,
        after: Some(after),
        index: 0,
    });
    Ok(Page::new(out, next.map(|c| c.encode())))
}

/// One page of the replies of one comment.
fn replies(
    settings: &Settings,
    media: String,
    after: Option<String>,
    index: usize,
    comment: String,
    replies_after: Option<String>,
) -> Result<Page, PluginError> {
    let response = get(&settings.url(&comment, "replies", REPLY_FIELDS, replies_after.as_deref()))?;
    let list: CommentList<'_> = parse(&response.body)?;
    let next = match next_after(list.paging.as_ref(), replies_after.as_deref())? {
        Some(r) => Cursor::Replies {
            media,
            after,
            index,
            comment,
            replies_after: Some(r),
        },
        None => Cursor::Threads {
            media,
            after,
            index: index + 1,
        },
    };
    Ok(Page::new(
        entries(list.data, settings)?,
        Some(next.encode()),
    ))
}

// ----- errors -----

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    kind: String,
    code: Option<i64>,
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: bool,
}

/// The error for a non-2xx Graph API answer ("Handling Errors"): the
/// envelope's `code` and `error_subcode` decide, then the status.
///
/// - 190 (and 102, 104: no or bad session): the token is invalid, expired
///   (subcode 463) or revoked: `unauthorized`;
/// - 4, 17, 32, 613 and the business use case codes 80000–80099 (80002 for
///   Instagram): throttled: `rate-limited`, with the wait from
///   `X-Business-Use-Case-Usage`'s `estimated_time_to_regain_access`;
/// - 10 and 200–299: a permission is missing: `unauthorized`;
/// - 100 with subcode 33: no such object (or not visible): `not-found`;
/// - 1, 2 or `is_transient`: `unavailable`.
pub fn api_error(response: &Response) -> PluginError {
    let Ok(ErrorBody { error }) = response.json::<ErrorBody>() else {
        return http::status_error(response);
    };
    let code = error.code.unwrap_or(0);
    let subcode = error
        .error_subcode
        .map(|s| format!(", subcode {s}"))
        .unwrap_or_default();
    let kind = if error.kind.is_empty() {
        "error"
    } else {
        &error.kind
    };
    let message = format!(
        "Instagram: {} ({kind} code {code}{subcode})",
        http::error_message(error.message.as_bytes())
    );
    match code {
        190 | 102 | 104 => {
            let why = match error.error_subcode {
                Some(463) => "the access token has expired: make a new one",
                Some(460) => "the password changed since the token was made: make a new one",
                Some(458) => "the app is not installed for this user",
                Some(459) => "the user must log in at facebook.com to pass a checkpoint",
                Some(464) => "the user is not confirmed",
                Some(467) => "the access token is invalid or was revoked",
                _ => "the access token is missing, invalid or expired",
            };
            PluginError::Unauthorized(format!("{message}: {why}"))
        }
        4 | 17 | 32 | 613 | 80000..=80099 => {
            PluginError::rate_limited(response.retry_after_seconds(), message)
        }
        10 | 200..=299 => PluginError::Unauthorized(format!(
            "{message}: the token lacks a permission (instagram_basic and \
             instagram_manage_comments with Facebook Login, instagram_business_basic and \
             instagram_business_manage_comments with Instagram Login)"
        )),
        100 if error.error_subcode == Some(33) => PluginError::NotFound(message),
        1 | 2 => PluginError::Unavailable(message),
        _ if error.is_transient => PluginError::Unavailable(message),
        _ => match response.status {
            401 | 403 => PluginError::Unauthorized(message),
            404 | 410 => PluginError::NotFound(message),
            429 => PluginError::rate_limited(response.retry_after_seconds(), message),
            500..=599 => PluginError::Unavailable(message),
            _ => PluginError::InvalidInput(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_urls() {
        for (url, kind, code) in [
            (
                "https://www.instagram.com/p/C4fDrAw7Tst/",
                "p",
                "C4fDrAw7Tst",
            ),
            ("https://instagram.com/p/C4fDrAw7Tst", "p", "C4fDrAw7Tst"),
            (
                "https://www.instagram.com/p/C4fDrAw7Tst/?igsh=MWZ1&img_index=2",
                "p",
                "C4fDrAw7Tst",
            ),
            (
                "https://www.instagram.com/reel/C4fDrAw7Tst/",
                "reel",
                "C4fDrAw7Tst",
            ),
            (
                "https://www.instagram.com/reels/C4fDrAw7Tst/",
                "reel",
                "C4fDrAw7Tst",
            ),
            (
                "https://www.instagram.com/tv/C4fDrAw7Tst/",
                "p",
                "C4fDrAw7Tst",
            ),
            (
                "https://www.instagram.com/fairdraw_brand/p/C4fDrAw7Tst/",
                "p",
                "C4fDrAw7Tst",
            ),
            (
                "https://www.instagram.com/fairdraw_brand/reel/C4f-_w7Tst/",
                "reel",
                "C4f-_w7Tst",
            ),
            (
                "https://m.instagram.com/p/C4fDrAw7Tst/#x",
                "p",
                "C4fDrAw7Tst",
            ),
        ] {
            assert_eq!(shortcode(url), Some((kind, code)), "{url}");
        }
        for url in [
            "https://www.instagram.com/fairdraw_brand/",
            "https://www.instagram.com/explore/tags/giveaway/",
            "https://www.instagram.com/p/",
            "https://www.instagram.com/p/abc/",
            "https://www.instagram.com/p/C4fD%20w7Tst/",
            "https://www.instagram.com/stories/fairdraw_brand/3300000000000000000/",
            "https://user@www.instagram.com/p/C4fDrAw7Tst/",
            "https://www.facebook.com/p/C4fDrAw7Tst/",
            "https://instagram.com.evil.example/p/C4fDrAw7Tst/",
            "",
        ] {
            assert_eq!(shortcode(url), None, "{url}");
        }
    }

    #[test]
    fn cursors_round_trip() {
        for cursor in [
            Cursor::Lookup {
                after: "QVFIUm+/=|x".into(),
            },
            Cursor::Comments {
                media: "17895695668004550".into(),
                after: None,
            },
            Cursor::Comments {
                media: "1".into(),
                after: Some("QVFIU%7C|+/=".into()),
            },
            Cursor::Threads {
                media: "17895695668004550".into(),
                after: Some("a".into()),
                index: 17,
            },
            Cursor::Replies {
                media: "17895695668004550".into(),
                after: None,
                index: 0,
                comment: "17873440459141021".into(),
                replies_after: Some("b|c".into()),
            },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        }
        for bad in [
            "",
            "m|",
            "c|abc|",
            "c|1",
            "t|1||x",
            "r|1||0|notanid|",
            "QVFIUlNYNTHAFTER",
            &"c|1|".repeat(3000),
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_become_rfc3339() {
        assert_eq!(
            rfc3339("2017-08-31T18:10:30+0000").as_deref(),
            Some("2017-08-31T18:10:30Z")
        );
        assert_eq!(
            rfc3339("2024-03-01T18:10:30-0730").as_deref(),
            Some("2024-03-01T18:10:30-07:30")
        );
        assert_eq!(
            rfc3339("2024-03-01T18:10:30+00:00").as_deref(),
            Some("2024-03-01T18:10:30+00:00")
        );
        assert_eq!(
            rfc3339("2024-03-01T18:10:30Z").as_deref(),
            Some("2024-03-01T18:10:30Z")
        );
        for bad in [
            "",
            "+0000",
            "2024-02-30T18:10:30+0000",
            "yesterday",
            "2024-03-01T18:10:30+2500",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn versions_and_ids() {
        assert!(is_api_version("v23.0") && is_api_version("v19.10"));
        assert!(!is_api_version("23.0") && !is_api_version("v23") && !is_api_version("v.1"));
        assert!(is_numeric_id("17895695668004550") && !is_numeric_id("") && !is_numeric_id("1a"));
        assert!(is_shortcode("C4fDrAw7Tst") && !is_shortcode("12345678901") && !is_shortcode("ab"));
    }
}
