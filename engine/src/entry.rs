//! Entries: one action by one account on a platform (PROTOCOL.md §4).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::encoding::{FieldHasher, Hash32};
use crate::time::{parse_instant, parse_instant_strict};

/// The collection an entry belongs to when its source does not say.
pub const DEFAULT_COLLECTION: &str = "comments";

/// One action on a platform: a comment, a like, a repost, a follow.
///
/// Strings borrow from the input where JSON escaping allows, so a bundle of
/// millions of entries is parsed without copying its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry<'a> {
    /// Platform name, e.g. `youtube`.
    #[serde(borrow)]
    pub platform: Cow<'a, str>,
    /// The platform's stable account id; the identity of an entrant.
    #[serde(borrow)]
    pub user_id: Cow<'a, str>,
    /// The account's handle at fetch time, e.g. `@alice`.
    #[serde(borrow)]
    pub handle: Cow<'a, str>,
    /// The account's display name.
    #[serde(borrow, default)]
    pub display_name: Cow<'a, str>,
    /// The text of the action (empty for likes and follows).
    #[serde(borrow, default)]
    pub text: Cow<'a, str>,
    /// When the action happened, RFC 3339.
    #[serde(borrow)]
    pub created_at: Cow<'a, str>,
    /// The collection, e.g. `comments` or `likes`. Inside a bundle entries are
    /// grouped by collection and this field is omitted.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<Cow<'a, str>>,
    /// Follower count, when the platform gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
    /// When the account was created, RFC 3339, when the platform gives it.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub account_created_at: Option<Cow<'a, str>>,
}

/// An owned entry.
pub type OwnedEntry = Entry<'static>;

/// Why an entry is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// A required text field is empty.
    #[error("field `{0}` is empty")]
    EmptyField(&'static str),
    /// A number exceeds what receipts can hold exactly.
    #[error("field `{0}` is larger than 2^53 - 1 (9007199254740991)")]
    TooLarge(&'static str),
    /// Protocol 2: `platform` is not 1 to 32 of `a-z 0-9 _ -`.
    #[error("field `platform` {0:?} must be 1 to 32 characters of a-z, 0-9, '_' or '-'")]
    Platform(String),
    /// Protocol 2: `user_id` holds white space, a control or an invisible
    /// code point, so one account could be written several ways.
    #[error(
        "field `user_id` {value:?} {problem}; user ids are printable, without white space or invisible code points"
    )]
    UserId {
        /// The value given.
        value: String,
        /// What is wrong.
        problem: String,
    },
    /// Protocol 2: a time not in the one form, or out of range.
    #[error("field `{field}`: {problem}")]
    TimeForm {
        /// Which field.
        field: &'static str,
        /// What is wrong, with the value.
        problem: String,
    },
    /// A time field is not RFC 3339.
    #[error("field `{field}` is not an RFC 3339 timestamp: {value:?}")]
    BadTime {
        /// Which field.
        field: &'static str,
        /// The value given.
        value: String,
    },
}

impl Entry<'_> {
    /// The collection this entry names, or `comments`.
    pub fn collection_name(&self) -> &str {
        self.collection.as_deref().unwrap_or(DEFAULT_COLLECTION)
    }

    /// Checks the fields every rule relies on.
    pub fn validate(&self) -> Result<(), EntryError> {
        for (name, value) in [
            ("platform", &self.platform),
            ("user_id", &self.user_id),
            ("handle", &self.handle),
        ] {
            if value.is_empty() {
                return Err(EntryError::EmptyField(name));
            }
        }
        if self
            .followers
            .is_some_and(|n| n > crate::receipt::MAX_SAFE_INTEGER)
        {
            return Err(EntryError::TooLarge("followers"));
        }
        self.created_instant()?;
        self.account_created_instant()?;
        Ok(())
    }

    /// The checks protocol 2 adds to [`validate`](Entry::validate): `platform`
    /// matches `[a-z0-9_-]{1,32}`; `user_id` has no white space, control,
    /// bidirectional control or default-ignorable code point; `created_at`
    /// and `account_created_at` are in the one form of PROTOCOL.md §3 and
    /// within 1970–2099.
    pub fn validate_v2(&self) -> Result<(), EntryError> {
        self.validate()?;
        let platform_ok = (1..=32).contains(&self.platform.len())
            && self
                .platform
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'));
        if !platform_ok {
            return Err(EntryError::Platform(self.platform.to_string()));
        }
        let bad_id = |problem: String| EntryError::UserId {
            value: self.user_id.to_string(),
            problem,
        };
        if let Some(c) = self.user_id.chars().find(|c| c.is_whitespace()) {
            return Err(bad_id(format!(
                "holds the white space U+{:04X}",
                u32::from(c)
            )));
        }
        crate::text::check_visible_code_points(&self.user_id).map_err(|e| bad_id(e.to_string()))?;
        let times = [
            ("created_at", Some(&*self.created_at)),
            ("account_created_at", self.account_created_at.as_deref()),
        ];
        for (field, value) in times {
            if let Some(v) = value {
                parse_instant_strict(v).map_err(|e| EntryError::TimeForm {
                    field,
                    problem: e.to_string(),
                })?;
            }
        }
        Ok(())
    }

    /// `created_at` as `(unix_seconds, nanoseconds)`.
    pub fn created_instant(&self) -> Result<(i64, u32), EntryError> {
        parse_instant(&self.created_at).map_err(|_| EntryError::BadTime {
            field: "created_at",
            value: self.created_at.to_string(),
        })
    }

    /// `account_created_at` as `(unix_seconds, nanoseconds)`, if present.
    pub fn account_created_instant(&self) -> Result<Option<(i64, u32)>, EntryError> {
        self.account_created_at
            .as_deref()
            .map(|s| {
                parse_instant(s).map_err(|_| EntryError::BadTime {
                    field: "account_created_at",
                    value: s.to_owned(),
                })
            })
            .transpose()
    }

    /// The entry hash (PROTOCOL.md §4.2). It covers every field but
    /// `collection`, which the collection hash covers once.
    pub fn hash(&self) -> Hash32 {
        let mut h = FieldHasher::new("fairdraw/v1/entry");
        h.str(&self.platform)
            .str(&self.user_id)
            .str(&self.handle)
            .str(&self.display_name)
            .str(&self.text)
            .str(&self.created_at)
            .opt_u64(self.followers)
            .opt_str(self.account_created_at.as_deref());
        h.finish()
    }

    /// A copy that owns its strings.
    pub fn into_owned(self) -> OwnedEntry {
        Entry {
            platform: Cow::Owned(self.platform.into_owned()),
            user_id: Cow::Owned(self.user_id.into_owned()),
            handle: Cow::Owned(self.handle.into_owned()),
            display_name: Cow::Owned(self.display_name.into_owned()),
            text: Cow::Owned(self.text.into_owned()),
            created_at: Cow::Owned(self.created_at.into_owned()),
            collection: self.collection.map(|c| Cow::Owned(c.into_owned())),
            followers: self.followers,
            account_created_at: self.account_created_at.map(|c| Cow::Owned(c.into_owned())),
        }
    }
}

/// Deserialises an entry that owns its strings (for `#[serde(deserialize_with)]`).
pub fn deserialize_owned<'de, D: serde::Deserializer<'de>>(d: D) -> Result<OwnedEntry, D::Error> {
    Entry::deserialize(d).map(Entry::into_owned)
}
