//! Mastodon replies, favourites and boosts, from the REST API v1 of one
//! instance.
//!
//! - `comments` and `replies`: `GET /api/v1/statuses/:id/context`, whose
//!   `descendants` (a tree, flattened) are split into direct replies to the
//!   post (`comments`) and replies to those (`replies`). One page: the
//!   endpoint is not paginated (anonymously it shows at most 60 descendants).
//! - `likes` and `reposts`: `favourited_by` and `reblogged_by`, 80 a page,
//!   following the `Link` header's `rel="next"` by its `max_id`. Mastodon
//!   does not say when an account favourited or boosted, so those entries
//!   carry the post's own `created_at` (the earliest the action can be);
//!   the first page reads it with `GET /api/v1/statuses/:id`.
//!
//! Entries: `user_id` = account `id` (ids are per instance), `handle` =
//! `@` + `acct` (`@alice`, or `@bob@other.example` for remote accounts),
//! `display_name`, `followers` = `followers_count`, `account_created_at` =
//! the account's `created_at`; text is the status's HTML `content` as text.
//!
//! Config `instance` (default `https://mastodon.social`) is the one
//! instance this installation reads; a post URL on another instance is
//! invalid input. The instance must be in the manifest's `http.allow`.

use fairdraw_plugin_sdk::{
    Collection, Entry, Info, Page, PluginError, Post, Source, config, http, time,
};
use serde::Deserialize;

/// The platform name written into every entry.
pub const PLATFORM: &str = "mastodon";

/// The instance read when config `instance` is unset.
pub const DEFAULT_INSTANCE: &str = "https://mastodon.social";

/// The most accounts `favourited_by` and `reblogged_by` return per page.
pub const PAGE_SIZE: &str = "80";

/// The Mastodon source.
#[derive(Debug)]
pub struct Mastodon;

impl Source for Mastodon {
    fn describe() -> Info {
        Info::new(PLATFORM).collections([
            Collection::Comments,
            Collection::Replies,
            Collection::Likes,
            Collection::Reposts,
        ])
    }

    fn parse_url(url: &str) -> Result<Post, PluginError> {
        let instance = instance()?;
        let invalid = |why: &str| {
            PluginError::InvalidInput(format!("{url:?} is not a Mastodon post URL: {why}"))
        };
        let origin =
            http::parse_origin(url.trim()).ok_or_else(|| invalid("not an absolute https URL"))?;
        if origin.origin() != instance {
            return Err(PluginError::InvalidInput(format!(
                "the post is on {}, but this plugin reads {instance}: set config `instance` to that \
                 origin and allow it in the manifest's http.allow",
                origin.origin()
            )));
        }
        let path = origin.rest.split(['?', '#']).next().unwrap_or("");
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (user, id) = match segments.as_slice() {
            // /@alice/123, /@bob@other.example/123, /@alice/123/embed
            [user, id, ..] if user.starts_with('@') && user.len() > 1 => (Some(&user[1..]), *id),
            // /users/alice/statuses/123
            ["users", user, "statuses", id, ..] => (Some(*user), *id),
            // /web/statuses/123, /web/@alice/123
            ["web", "statuses", id, ..] => (None, *id),
            ["web", user, id, ..] if user.starts_with('@') && user.len() > 1 => {
                (Some(&user[1..]), *id)
            }
            _ => return Err(invalid("expected https://instance/@user/ID")),
        };
        if !is_status_id(id) {
            return Err(invalid("the status id is not alphanumeric"));
        }
        let url = match user {
            Some(user) => format!("{instance}/@{user}/{id}"),
            None => format!("{instance}/web/statuses/{id}"),
        };
        Ok(Post { id: id.into(), url })
    }

    fn fetch_page(
        post: &Post,
        collection: Collection,
        cursor: Option<&str>,
    ) -> Result<Page, PluginError> {
        if !is_status_id(&post.id) {
            return Err(PluginError::InvalidInput(format!(
                "{:?} is not a Mastodon status id",
                post.id
            )));
        }
        let origin = http::parse_origin(&post.url)
            .filter(|o| o.scheme == "https")
            .ok_or_else(|| {
                PluginError::InvalidInput(format!("{:?} is not an https post URL", post.url))
            })?
            .origin();
        let api = format!("{origin}/api/v1/statuses/{}", post.id);
        match collection {
            Collection::Comments => context(&api, &post.id, true),
            Collection::Replies => context(&api, &post.id, false),
            Collection::Likes => accounts(&api, "favourited_by", cursor),
            Collection::Reposts => accounts(&api, "reblogged_by", cursor),
            Collection::Followers => Err(PluginError::InvalidInput(
                "the Mastodon source lists comments, replies, likes and reposts, not followers"
                    .into(),
            )),
        }
    }
}

fairdraw_plugin_sdk::export_source!(Mastodon);

/// The configured instance as an origin (`https://host[:port]`).
fn instance() -> Result<String, PluginError> {
    let configured = config::get_or("instance", DEFAULT_INSTANCE);
    match http::parse_origin(configured.trim()) {
        Some(o) if o.scheme == "https" && o.rest.trim_matches('/').is_empty() => Ok(o.origin()),
        _ => Err(PluginError::InvalidInput(format!(
            "config `instance` = {configured:?} is not an https origin like {DEFAULT_INSTANCE}"
        ))),
    }
}

/// Mastodon ids are numeric strings; other servers use alphanumeric ones
/// (with a digit, which tells `/@user/42` from `/@user/followers`).
fn is_status_id(s: &str) -> bool {
    s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
        && s.bytes().any(|b| b.is_ascii_digit())
}

// ----- API shapes (only the fields used) -----

#[derive(Deserialize)]
struct Context {
    #[serde(default)]
    descendants: Vec<Status>,
}

#[derive(Deserialize)]
struct Status {
    created_at: String,
    in_reply_to_id: Option<String>,
    #[serde(default)]
    content: String,
    account: Account,
}

#[derive(Deserialize)]
struct Account {
    id: String,
    acct: String,
    #[serde(default)]
    display_name: String,
    followers_count: Option<u64>,
    created_at: Option<String>,
}

impl Account {
    /// The entry of this account's action at `created_at` with `text`.
    fn entry(self, created_at: String, text: String) -> Entry {
        Entry {
            platform: PLATFORM.into(),
            handle: format!("@{}", self.acct),
            user_id: self.id,
            display_name: self.display_name,
            text,
            created_at,
            followers: self.followers_count,
            // Dates other servers spell differently are dropped rather than
            // passed to the engine, which would refuse the entry.
            account_created_at: self.created_at.filter(|t| time::parse_rfc3339(t).is_some()),
        }
    }
}

fn checked_time(t: String) -> Result<String, PluginError> {
    if time::parse_rfc3339(&t).is_none() {
        return Err(PluginError::BadResponse(format!(
            "created_at {t:?} is not an RFC 3339 time"
        )));
    }
    Ok(t)
}

// ----- collections -----

/// Direct replies to the post (`direct`) or replies to those.
fn context(api: &str, post_id: &str, direct: bool) -> Result<Page, PluginError> {
    let (context, _) =
        http::get_json::<Context>(&format!("{api}/context"), &[("Accept", "application/json")])?;
    let mut entries = Vec::new();
    for status in context.descendants {
        if (status.in_reply_to_id.as_deref() == Some(post_id)) != direct {
            continue;
        }
        let text = html_to_text(&status.content);
        entries.push(status.account.entry(checked_time(status.created_at)?, text));
    }
    let total = entries.len() as u64;
    Ok(Page {
        entries,
        next_cursor: None,
        total_hint: Some(total),
    })
}

/// The accounts that favourited or boosted the post, one page.
///
/// The cursor is `<max_id>|<post created_at>`: the page's position and the
/// time every entry carries, so later pages need one request each.
fn accounts(api: &str, list: &str, cursor: Option<&str>) -> Result<Page, PluginError> {
    let (max_id, post_time) = match cursor {
        Some(cursor) => {
            let bad = || {
                PluginError::InvalidInput(format!("{cursor:?} is not a cursor of this collection"))
            };
            let (max_id, post_time) = cursor.split_once('|').ok_or_else(bad)?;
            if !is_status_id(max_id) || time::parse_rfc3339(post_time).is_none() {
                return Err(bad());
            }
            (Some(max_id), post_time.to_owned())
        }
        None => {
            #[derive(Deserialize)]
            struct PostTime {
                created_at: String,
            }
            let (post, _) = http::get_json::<PostTime>(api, &[("Accept", "application/json")])?;
            (None, checked_time(post.created_at)?)
        }
    };
    let mut params = vec![("limit", PAGE_SIZE)];
    if let Some(max_id) = max_id {
        params.push(("max_id", max_id));
    }
    let url = http::url_with_query(&format!("{api}/{list}"), &params);
    let (accounts, response) =
        http::get_json::<Vec<Account>>(&url, &[("Accept", "application/json")])?;
    let next = match response.next_link() {
        None => None,
        Some(link) => {
            let next_max = http::query_param(link, "max_id")
                .filter(|id| is_status_id(id))
                .ok_or_else(|| {
                    PluginError::BadResponse(format!(
                        "the Link rel=\"next\" {link:?} has no max_id"
                    ))
                })?;
            Some(format!("{next_max}|{post_time}"))
        }
    };
    let entries = accounts
        .into_iter()
        .map(|a| a.entry(post_time.clone(), String::new()))
        .collect();
    Ok(Page::new(entries, next))
}

// ----- HTML -----

/// The text of Mastodon's sanitized status HTML: tags dropped, `<br>` a
/// line break, paragraphs separated by a blank line, entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else {
                out.push_str(rest);
                rest = "";
                break;
            };
            let tag = rest[1..end]
                .trim()
                .trim_end_matches('/')
                .trim()
                .to_ascii_lowercase();
            let name = tag.split_ascii_whitespace().next().unwrap_or("");
            match name {
                "br" => out.push('\n'),
                "/p" => out.push_str("\n\n"),
                _ => {}
            }
            rest = &rest[end + 1..];
        } else {
            let (decoded, used) = entity(rest);
            out.push_str(decoded.as_deref().unwrap_or("&"));
            rest = &rest[used..];
        }
    }
    out.push_str(rest);
    out.trim_end().to_owned()
}

/// Decodes the entity at the start of `s` (which starts with `&`): the
/// text and the bytes used, or `None` and 1 when it is not one.
fn entity(s: &str) -> (Option<String>, usize) {
    let Some(end) = s[1..].find(';').map(|i| i + 1).filter(|&e| e <= 10) else {
        return (None, 1);
    };
    let name = &s[1..end];
    let text = match name {
        "amp" => Some("&".to_owned()),
        "lt" => Some("<".to_owned()),
        "gt" => Some(">".to_owned()),
        "quot" => Some("\"".to_owned()),
        "apos" => Some("'".to_owned()),
        "nbsp" => Some("\u{a0}".to_owned()),
        _ => {
            let code = match name.strip_prefix('#') {
                Some(hex) if hex.starts_with(['x', 'X']) => u32::from_str_radix(&hex[1..], 16).ok(),
                Some(dec) => dec.parse::<u32>().ok(),
                None => None,
            };
            code.and_then(char::from_u32).map(String::from)
        }
    };
    match text {
        Some(t) => (Some(t), end + 1),
        None => (None, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text() {
        assert_eq!(
            html_to_text(
                "<p><span class=\"h-card\"><a href=\"https://mastodon.example/@org\" class=\"u-url mention\">@<span>org</span></a></span> count me in!</p>"
            ),
            "@org count me in!"
        );
        assert_eq!(
            html_to_text("<p>a<br>b<br />c</p><p>d &amp; e &lt;3 &#39;x&#x27; &bogus; &</p>"),
            "a\nb\nc\n\nd & e <3 'x' &bogus; &"
        );
        assert_eq!(
            html_to_text(
                "<p><a href=\"https://example.com/a/b\"><span class=\"invisible\">https://</span><span class=\"ellipsis\">example.com/a</span><span class=\"invisible\">/b</span></a></p>"
            ),
            "https://example.com/a/b"
        );
        assert_eq!(html_to_text("no tags"), "no tags");
        assert_eq!(html_to_text("broken <tag"), "broken <tag");
    }
}
