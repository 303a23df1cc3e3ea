//! YouTube comments and replies, from the YouTube Data API v3.
//!
//! - `comments`: top-level comments, from `commentThreads.list`
//!   (`part=snippet,replies`, 100 a page, newest first).
//! - `replies`: replies to those comments. A thread lists a few replies
//!   inline; when it has more (`totalReplyCount` larger than those included)
//!   they come from `comments.list?parentId=`, page by page.
//!
//! Every call makes one request. The API key never reaches the plugin: the
//! host adds it as the query parameter `key` (manifest credential
//! `api_key`). YouTube cannot list who liked a video, and comments carry no
//! follower count or account age, so `describe` says those rules cannot be
//! checked.

use fairdraw_plugin_sdk::http::{self, Response};
use fairdraw_plugin_sdk::{Collection, Entry, Info, Page, PluginError, Post, Source, log};
use serde::Deserialize;

/// The platform name written into every entry.
pub const PLATFORM: &str = "youtube";

/// The API's base URL.
pub const API: &str = "https://www.googleapis.com/youtube/v3";

/// The most items the API returns per page.
pub const PAGE_SIZE: &str = "100";

/// The YouTube source.
#[derive(Debug)]
pub struct YouTube;

impl Source for YouTube {
    fn describe() -> Info {
        Info::new(PLATFORM)
            .collections([Collection::Comments, Collection::Replies])
            .credential("api_key")
            .unsupported(
                "min_followers",
                "YouTube comments carry no follower count of their author",
            )
            .unsupported(
                "min_account_age_days",
                "YouTube comments carry no creation date of their author's channel",
            )
            .unsupported(
                "require_in",
                "YouTube lists comments and replies only: it cannot list who liked a video",
            )
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        let id = video_id(url).ok_or_else(|| {
            PluginError::InvalidInput(format!(
                "{url:?} is not a YouTube video URL (https://www.youtube.com/watch?v=…, https://youtu.be/…, /shorts/…, /live/…)"
            ))
        })?;
        Ok(Post {
            url: format!("https://www.youtube.com/watch?v={id}"),
            id,
        })
    }

    fn fetch_page(
        post: &Post,
        collection: Collection,
        cursor: Option<&str>,
    ) -> Result<Page, PluginError> {
        if !is_video_id(&post.id) {
            return Err(PluginError::InvalidInput(format!(
                "{:?} is not a YouTube video id",
                post.id
            )));
        }
        match collection {
            Collection::Comments => comments(&post.id, cursor),
            Collection::Replies => replies(&post.id, cursor),
            other => Err(PluginError::InvalidInput(format!(
                "YouTube lists comments and replies, not {other}"
            ))),
        }
    }
}

fairdraw_plugin_sdk::export_source!(YouTube);

/// The video id in a YouTube URL (or a bare id).
fn video_id(url: &str) -> Option<String> {
    let url = url.trim();
    if is_video_id(url) {
        return Some(url.to_owned());
    }
    let origin = http::parse_origin(url)?;
    let host = origin.host.strip_prefix("www.").unwrap_or(&origin.host);
    let path = origin.rest.split(['?', '#']).next().unwrap_or("");
    let candidate = match host {
        "youtu.be" => path.trim_start_matches('/').split('/').next()?.to_owned(),
        "youtube.com" | "m.youtube.com" | "music.youtube.com" | "youtube-nocookie.com" => {
            let mut segments = path.trim_start_matches('/').split('/');
            match segments.next()? {
                "watch" => http::query_param(origin.rest, "v")?,
                "shorts" | "live" | "embed" | "v" => segments.next()?.to_owned(),
                _ => return None,
            }
        }
        _ => return None,
    };
    is_video_id(&candidate).then_some(candidate)
}

/// Video ids are 11 characters of the URL-safe base64 alphabet.
fn is_video_id(s: &str) -> bool {
    s.len() == 11
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

// ----- API shapes (only the fields used) -----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThreadList {
    next_page_token: Option<String>,
    #[serde(default)]
    items: Vec<Thread>,
}

#[derive(Deserialize)]
struct Thread {
    id: String,
    snippet: ThreadSnippet,
    replies: Option<InlineReplies>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThreadSnippet {
    top_level_comment: Comment,
    #[serde(default)]
    total_reply_count: u64,
}

#[derive(Deserialize)]
struct InlineReplies {
    #[serde(default)]
    comments: Vec<Comment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentList {
    next_page_token: Option<String>,
    #[serde(default)]
    items: Vec<Comment>,
}

#[derive(Deserialize)]
struct Comment {
    id: String,
    snippet: CommentSnippet,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentSnippet {
    #[serde(default)]
    text_original: String,
    #[serde(default)]
    author_display_name: String,
    author_channel_id: Option<ChannelId>,
    published_at: String,
}

#[derive(Deserialize)]
struct ChannelId {
    value: String,
}

/// The entry for a comment, or `None` for a comment without an author
/// channel (a deleted account), which cannot be an entrant.
fn entry(comment: &Comment) -> Option<Entry> {
    let s = &comment.snippet;
    let user_id = s
        .author_channel_id
        .as_ref()
        .map(|c| c.value.as_str())
        .filter(|v| !v.is_empty());
    let Some(user_id) = user_id else {
        log::warn(format!(
            "skipped comment {}: it has no author channel",
            comment.id
        ));
        return None;
    };
    let handle = if s.author_display_name.is_empty() {
        user_id
    } else {
        &s.author_display_name
    };
    Some(Entry {
        platform: PLATFORM.into(),
        user_id: user_id.into(),
        handle: handle.into(),
        display_name: String::new(),
        text: s.text_original.clone(),
        created_at: s.published_at.clone(),
        followers: None,
        account_created_at: None,
    })
}

// ----- requests -----

fn thread_page(video: &str, page_token: Option<&str>) -> Result<ThreadList, PluginError> {
    let mut params = vec![
        ("part", "snippet,replies"),
        ("videoId", video),
        ("maxResults", PAGE_SIZE),
        ("order", "time"),
        ("textFormat", "plainText"),
    ];
    if let Some(token) = page_token {
        params.push(("pageToken", token));
    }
    get(&http::url_with_query(
        &format!("{API}/commentThreads"),
        &params,
    ))
}

fn reply_page(parent: &str, page_token: Option<&str>) -> Result<CommentList, PluginError> {
    let mut params = vec![
        ("part", "snippet"),
        ("parentId", parent),
        ("maxResults", PAGE_SIZE),
        ("textFormat", "plainText"),
    ];
    if let Some(token) = page_token {
        params.push(("pageToken", token));
    }
    get(&http::url_with_query(&format!("{API}/comments"), &params))
}

fn get<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, PluginError> {
    let response = http::get(url, &[("Accept", "application/json")])?;
    if !response.is_success() {
        return Err(api_error(&response));
    }
    response.json()
}

// ----- collections -----

fn comments(video: &str, cursor: Option<&str>) -> Result<Page, PluginError> {
    let list = thread_page(video, cursor)?;
    let entries = list
        .items
        .iter()
        .filter_map(|t| entry(&t.snippet.top_level_comment))
        .collect();
    Ok(Page::new(entries, list.next_page_token))
}

/// Where the `replies` collection stands: a cursor of its own, since it
/// walks two lists (the threads, and the replies of one thread).
#[derive(Debug, PartialEq, Eq)]
enum ReplyCursor {
    /// Continue on the thread page `page` (`None`: the first) at thread
    /// `index`.
    Threads { page: Option<String>, index: usize },
    /// List the replies of thread `parent` (at `index` on thread page
    /// `page`) from its reply page `replies` (`None`: the first).
    Thread {
        page: Option<String>,
        index: usize,
        parent: String,
        replies: Option<String>,
    },
}

impl ReplyCursor {
    /// `t|<page>|<index>` or `r|<page>|<index>|<parent>|<replies>`, tokens
    /// percent-encoded, an empty token meaning none.
    fn encode(&self) -> String {
        // `http::encode` escapes `|` and `%`, so the fields split cleanly.
        let token = |t: &Option<String>| {
            t.as_deref()
                .map(|t| http::encode(t).into_owned())
                .unwrap_or_default()
        };
        match self {
            ReplyCursor::Threads { page, index } => format!("t|{}|{index}", token(page)),
            ReplyCursor::Thread {
                page,
                index,
                parent,
                replies,
            } => {
                format!(
                    "r|{}|{index}|{}|{}",
                    token(page),
                    http::encode(parent),
                    token(replies)
                )
            }
        }
    }

    fn decode(cursor: &str) -> Result<Self, PluginError> {
        let bad = || {
            PluginError::InvalidInput(format!(
                "{cursor:?} is not a cursor of the replies collection"
            ))
        };
        let parts: Vec<&str> = cursor.split('|').collect();
        let token = |t: &str| (!t.is_empty()).then(|| http::decode(t).into_owned());
        let index = |i: &str| i.parse::<usize>().map_err(|_| bad());
        match parts.as_slice() {
            ["t", page, i] => Ok(ReplyCursor::Threads {
                page: token(page),
                index: index(i)?,
            }),
            ["r", page, i, parent, replies] if !parent.is_empty() => Ok(ReplyCursor::Thread {
                page: token(page),
                index: index(i)?,
                parent: http::decode(parent).into_owned(),
                replies: token(replies),
            }),
            _ => Err(bad()),
        }
    }
}

fn replies(video: &str, cursor: Option<&str>) -> Result<Page, PluginError> {
    let state = match cursor {
        None => ReplyCursor::Threads {
            page: None,
            index: 0,
        },
        Some(c) => ReplyCursor::decode(c)?,
    };
    match state {
        ReplyCursor::Thread {
            page,
            index,
            parent,
            replies,
        } => {
            let list = reply_page(&parent, replies.as_deref())?;
            let entries = list.items.iter().filter_map(entry).collect();
            let next = match list.next_page_token {
                Some(token) => ReplyCursor::Thread {
                    page,
                    index,
                    parent,
                    replies: Some(token),
                },
                None => ReplyCursor::Threads {
                    page,
                    index: index + 1,
                },
            };
            Ok(Page::new(entries, Some(next.encode())))
        }
        ReplyCursor::Threads { page, index } => {
            let list = thread_page(video, page.as_deref())?;
            let mut entries = Vec::new();
            for (i, thread) in list.items.iter().enumerate().skip(index) {
                let total = thread.snippet.total_reply_count;
                let inline = thread.replies.as_ref().map_or(&[][..], |r| &r.comments[..]);
                if total == 0 {
                    continue;
                }
                if inline.len() as u64 >= total {
                    entries.extend(inline.iter().filter_map(entry));
                    continue;
                }
                // More replies than included: list them all with
                // comments.list, from the next call on.
                let next = ReplyCursor::Thread {
                    page,
                    index: i,
                    parent: thread.id.clone(),
                    replies: None,
                };
                return Ok(Page::new(entries, Some(next.encode())));
            }
            let next = list.next_page_token.map(|token| ReplyCursor::Threads {
                page: Some(token),
                index: 0,
            });
            Ok(Page::new(entries, next.map(|n| n.encode())))
        }
    }
}

// ----- errors -----

#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<Reason>,
    #[serde(default)]
    details: Vec<Reason>,
}

#[derive(Deserialize)]
struct Reason {
    #[serde(default)]
    reason: String,
}

/// The error for a non-2xx YouTube response (docs/errors): the reasons in
/// `errors[]` and `details[]` decide, then the status.
fn api_error(response: &Response) -> PluginError {
    let Ok(body) = response.json::<ErrorBody>() else {
        return http::status_error(response);
    };
    let error = body.error;
    let message = format!("YouTube: {}", strip_tags(&error.message));
    let has = |names: &[&str]| {
        error
            .errors
            .iter()
            .chain(&error.details)
            .any(|r| names.contains(&r.reason.as_str()))
    };
    if has(&["quotaExceeded", "dailyLimitExceeded"]) {
        // No Retry-After: the quota resets at midnight Pacific Time.
        return PluginError::rate_limited(
            response.retry_after_seconds(),
            format!("{message} (the daily quota resets at midnight Pacific Time)"),
        );
    }
    if has(&["rateLimitExceeded", "userRateLimitExceeded"]) || response.status == 429 {
        return PluginError::rate_limited(response.retry_after_seconds(), message);
    }
    if has(&[
        "API_KEY_INVALID",
        "API_KEY_EXPIRED",
        "keyInvalid",
        "keyExpired",
        "authError",
    ]) || response.status == 401
    {
        return PluginError::Unauthorized(message);
    }
    if has(&["commentsDisabled"]) {
        return PluginError::NotFound(format!("{message} (comments are disabled on this video)"));
    }
    if has(&[
        "videoNotFound",
        "commentThreadNotFound",
        "commentNotFound",
        "channelNotFound",
    ]) || response.status == 404
    {
        return PluginError::NotFound(message);
    }
    match response.status {
        400 => PluginError::InvalidInput(message),
        403 => PluginError::Unauthorized(message),
        500..=599 => PluginError::Unavailable(message),
        _ => http::status_error(response),
    }
}

/// Google's messages carry HTML (`<a href=…>quota</a>`): keeps the text.
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_urls() {
        for url in [
            "https://www.youtube.com/watch?v=axepn8QqxRk",
            "https://youtube.com/watch?feature=share&v=axepn8QqxRk#t=1",
            "https://m.youtube.com/watch?v=axepn8QqxRk",
            "https://youtu.be/axepn8QqxRk?si=abc",
            "https://www.youtube.com/shorts/axepn8QqxRk",
            "https://www.youtube.com/live/axepn8QqxRk?feature=share",
            "https://www.youtube.com/embed/axepn8QqxRk",
            "axepn8QqxRk",
        ] {
            assert_eq!(video_id(url).as_deref(), Some("axepn8QqxRk"), "{url}");
        }
        for url in [
            "https://www.youtube.com/watch?v=short",
            "https://www.youtube.com/@DarshanRavalDZ",
            "https://vimeo.com/axepn8QqxRk",
            "https://user@youtu.be/axepn8QqxRk",
            "",
        ] {
            assert_eq!(video_id(url), None, "{url}");
        }
    }

    #[test]
    fn reply_cursors_round_trip() {
        for cursor in [
            ReplyCursor::Threads {
                page: None,
                index: 0,
            },
            ReplyCursor::Threads {
                page: Some("Z2V0|X25+ld/2=".into()),
                index: 7,
            },
            ReplyCursor::Thread {
                page: None,
                index: 3,
                parent: "Ugx.A_b-c".into(),
                replies: None,
            },
            ReplyCursor::Thread {
                page: Some("a%b".into()),
                index: 0,
                parent: "p".into(),
                replies: Some("r+|".into()),
            },
        ] {
            assert_eq!(ReplyCursor::decode(&cursor.encode()), Ok(cursor));
        }
        assert!(ReplyCursor::decode("Z2V0X25ld2VzdF9maXJzdC0t").is_err());
        assert!(ReplyCursor::decode("r|p|1||").is_err());
    }

    #[test]
    fn tags_are_stripped() {
        assert_eq!(
            strip_tags("exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>."),
            "exceeded your quota."
        );
    }
}
