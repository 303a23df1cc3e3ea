//! The WIT records as plain Rust types.
//!
//! They mirror `fairdraw:plugin@0.1.0` field for field. The SDK converts them
//! to and from the generated bindings at the component boundary, so a
//! plugin's logic compiles and runs natively (in `cargo test`) too.

use std::fmt;

/// One action by one account on a platform: a comment, a like, a repost, a
/// follow (WIT `entry`). The host adds the collection name.
///
/// `Default` gives empty strings and `None`s, for struct-update syntax:
///
/// ```
/// use fairdraw_plugin_sdk::Entry;
/// let like = Entry {
///     platform: "mastodon".into(),
///     user_id: "14715".into(),
///     handle: "@alice".into(),
///     created_at: "2019-11-23T20:06:36.011Z".into(),
///     ..Entry::default()
/// };
/// assert_eq!(like.text, "");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Platform name, e.g. `youtube`.
    pub platform: String,
    /// The platform's stable account id: the identity of an entrant.
    pub user_id: String,
    /// The account's handle at fetch time, e.g. `@alice`. Never empty.
    pub handle: String,
    /// The account's display name (may be empty).
    pub display_name: String,
    /// The text of the action (empty for likes and follows).
    pub text: String,
    /// When the action happened, RFC 3339.
    pub created_at: String,
    /// Follower count, if the platform gives one.
    pub followers: Option<u64>,
    /// When the account was created, RFC 3339, if the platform gives it.
    pub account_created_at: Option<String>,
}

/// An [`Entry`] borrowed from the batch a filter receives (WIT
/// `packed-entry`): the same fields as `&str`, so deciding a batch copies
/// no string. `From<&Entry>` makes one from an owned entry (in tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// Platform name, e.g. `youtube`.
    pub platform: &'a str,
    /// The platform's stable account id: the identity of an entrant.
    pub user_id: &'a str,
    /// The account's handle at fetch time, e.g. `@alice`.
    pub handle: &'a str,
    /// The account's display name (may be empty).
    pub display_name: &'a str,
    /// The text of the action (empty for likes and follows).
    pub text: &'a str,
    /// When the action happened, RFC 3339.
    pub created_at: &'a str,
    /// Follower count, if the platform gives one.
    pub followers: Option<u64>,
    /// When the account was created, RFC 3339, if the platform gives it.
    pub account_created_at: Option<&'a str>,
}

impl<'a> From<&'a Entry> for EntryRef<'a> {
    fn from(e: &'a Entry) -> Self {
        EntryRef {
            platform: &e.platform,
            user_id: &e.user_id,
            handle: &e.handle,
            display_name: &e.display_name,
            text: &e.text,
            created_at: &e.created_at,
            followers: e.followers,
            account_created_at: e.account_created_at.as_deref(),
        }
    }
}

/// The collections a source may list for a post (WIT `collection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Collection {
    /// Top-level comments.
    Comments,
    /// Replies to comments.
    Replies,
    /// Accounts that liked (favourited) the post.
    Likes,
    /// Accounts that reposted (shared, boosted) the post.
    Reposts,
    /// Accounts that follow the post's author.
    Followers,
}

impl Collection {
    /// Every collection, in WIT order.
    pub const ALL: [Collection; 5] = [
        Collection::Comments,
        Collection::Replies,
        Collection::Likes,
        Collection::Reposts,
        Collection::Followers,
    ];

    /// The collection's name as the engine writes it: `comments`, `replies`,
    /// `likes`, `reposts` or `followers`.
    pub fn as_str(self) -> &'static str {
        match self {
            Collection::Comments => "comments",
            Collection::Replies => "replies",
            Collection::Likes => "likes",
            Collection::Reposts => "reposts",
            Collection::Followers => "followers",
        }
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule the platform cannot check, and why (WIT `unsupported-check`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsupportedCheck {
    /// The rule's field name, e.g. `min_account_age_days`.
    pub rule: String,
    /// Why, e.g. "the API does not expose account creation dates".
    pub reason: String,
}

/// What a source is (WIT `info`). Build it with [`Info::new`] and the
/// chaining methods:
///
/// ```
/// use fairdraw_plugin_sdk::{Collection, Info};
/// let info = Info::new("youtube")
///     .collections([Collection::Comments, Collection::Replies])
///     .credential("api_key")
///     .unsupported("min_followers", "comments carry no follower count");
/// assert_eq!(info.credentials, ["api_key"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// Platform name written into every entry, e.g. `youtube`.
    pub platform: String,
    /// The collections `fetch_page` can list.
    pub collections: Vec<Collection>,
    /// Names of the credentials the manifest must provide.
    pub credentials: Vec<String>,
    /// Rules that cannot be checked on this platform's data.
    pub unsupported: Vec<UnsupportedCheck>,
}

impl Info {
    /// A source for `platform` that lists only comments, needs no
    /// credential and can check every rule.
    pub fn new(platform: impl Into<String>) -> Self {
        Info {
            platform: platform.into(),
            collections: vec![Collection::Comments],
            credentials: Vec::new(),
            unsupported: Vec::new(),
        }
    }

    /// Replaces the collections `fetch_page` can list.
    pub fn collections(mut self, collections: impl IntoIterator<Item = Collection>) -> Self {
        self.collections = collections.into_iter().collect();
        self
    }

    /// Adds a credential the manifest must provide (its `[[credentials]]`
    /// `name`).
    pub fn credential(mut self, name: impl Into<String>) -> Self {
        self.credentials.push(name.into());
        self
    }

    /// Adds a rule the platform cannot check, with the reason users see.
    pub fn unsupported(mut self, rule: impl Into<String>, reason: impl Into<String>) -> Self {
        self.unsupported.push(UnsupportedCheck {
            rule: rule.into(),
            reason: reason.into(),
        });
        self
    }
}

/// A post, as the platform identifies it (WIT `post`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// The platform's id for the post.
    pub id: String,
    /// Canonical URL of the post.
    pub url: String,
}

/// One page of a collection (WIT `page`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The entries on this page.
    pub entries: Vec<Entry>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Total entries in the collection, when the platform says.
    pub total_hint: Option<u64>,
}

impl Page {
    /// A page followed by the page at `next_cursor` (the last page when
    /// `None`), with no total.
    pub fn new(entries: Vec<Entry>, next_cursor: Option<String>) -> Self {
        Page {
            entries,
            next_cursor,
            total_hint: None,
        }
    }

    /// The last page.
    pub fn last(entries: Vec<Entry>) -> Self {
        Page::new(entries, None)
    }
}

/// The decision on one entry (WIT `verdict`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The entry stays eligible.
    Keep,
    /// The entry is excluded, with the reason an entrant is shown.
    Exclude(String),
}

/// One beacon round as published, not yet verified (WIT `beacon-round`):
/// the engine checks the signature, so a beacon plugin cannot forge
/// randomness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeaconRound {
    /// The beacon's chain, e.g. `quicknet`.
    pub chain: String,
    /// The round number.
    pub round: u64,
    /// The signature, lowercase hex.
    pub signature: String,
    /// The previous round's signature (chained schemes), lowercase hex.
    pub previous_signature: Option<String>,
}
