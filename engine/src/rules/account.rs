//! The accounts `organizer` and `exclude_users` name (PROTOCOL.md §5.1,
//! §5.5 rules 1 and 2).
//!
//! Protocol 1 takes a bare value and matches it on every platform: a handle
//! compared by `handle_key`, and (for `exclude_users`) an exact user id. So
//! `@alex` excluded Alex on YouTube and a different Alex on Instagram.
//! Protocol 2 names the platform: `youtube:@alex` is a handle there,
//! `youtube:UC123` a user id there, and nothing else matches.

use std::collections::HashMap;

use super::normalize::normalize_handle;

/// One `organizer` or `exclude_users` value, as protocol 2 reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountRef<'a> {
    /// `platform:@handle`: the account with that handle (by `handle_key`)
    /// on that platform.
    Handle {
        /// The platform, as entries name it.
        platform: &'a str,
        /// The handle as written, with its `@`.
        handle: &'a str,
    },
    /// `platform:user_id`: the account with that exact user id on that
    /// platform.
    UserId {
        /// The platform, as entries name it.
        platform: &'a str,
        /// The user id, compared as bytes.
        user_id: &'a str,
    },
}

impl<'a> AccountRef<'a> {
    /// Parses `platform:@handle` or `platform:user_id` (split at the first
    /// `:`; the platform matches `[a-z0-9_-]{1,32}` like an entry's, a
    /// handle's `handle_key` is not empty, a user id is not empty and has no
    /// white space). Visibility is checked apart, with the other strings.
    ///
    /// ```
    /// use fairdraw_engine::rules::AccountRef;
    /// assert_eq!(
    ///     AccountRef::parse("youtube:@acme"),
    ///     Ok(AccountRef::Handle { platform: "youtube", handle: "@acme" })
    /// );
    /// assert_eq!(
    ///     AccountRef::parse("bluesky:did:plc:abc"),
    ///     Ok(AccountRef::UserId { platform: "bluesky", user_id: "did:plc:abc" })
    /// );
    /// assert!(AccountRef::parse("@acme").is_err());
    /// ```
    pub fn parse(value: &'a str) -> Result<Self, String> {
        let Some((platform, account)) = value.split_once(':') else {
            return Err(
                "must name a platform and an account: `platform:@handle` or `platform:user_id`"
                    .into(),
            );
        };
        let platform_ok = (1..=32).contains(&platform.len())
            && platform
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'));
        if !platform_ok {
            return Err(format!(
                "names the platform {platform:?}, which does not match [a-z0-9_-]{{1,32}}"
            ));
        }
        if account.starts_with('@') {
            if normalize_handle(account).is_empty() {
                return Err("names an empty handle".into());
            }
            return Ok(AccountRef::Handle {
                platform,
                handle: account,
            });
        }
        if account.is_empty() {
            return Err("names no account after the platform".into());
        }
        if let Some(c) = account.chars().find(|c| c.is_whitespace()) {
            return Err(format!(
                "names a user id holding the white space U+{:04X}",
                u32::from(c)
            ));
        }
        Ok(AccountRef::UserId {
            platform,
            user_id: account,
        })
    }
}

/// A set of named accounts, prepared for lookups: list position by
/// platform, then by normalised handle or exact user id. Protocol 1 values
/// sit under the platform `""` (any platform).
#[derive(Debug, Default)]
pub(super) struct AccountSet {
    handles: HashMap<String, HashMap<String, usize>>,
    user_ids: HashMap<String, HashMap<String, usize>>,
}

impl AccountSet {
    /// The set of `values` (already validated for `protocol`). In protocol
    /// 1 a value names a handle and, when `ids` is set, also a user id.
    pub(super) fn new(values: &[String], protocol: u32, ids: bool) -> Self {
        let mut set = AccountSet::default();
        for (i, v) in values.iter().enumerate() {
            let (platform, handle, user_id) = if protocol < 2 {
                ("", Some(v.as_str()), ids.then_some(v.as_str()))
            } else {
                match AccountRef::parse(v) {
                    Ok(AccountRef::Handle { platform, handle }) => (platform, Some(handle), None),
                    Ok(AccountRef::UserId { platform, user_id }) => (platform, None, Some(user_id)),
                    // Refused by `Rules::validate_for` before this is built.
                    Err(_) => continue,
                }
            };
            if let Some(h) = handle {
                set.handles
                    .entry(platform.to_owned())
                    .or_default()
                    .entry(normalize_handle(h).into_owned())
                    .or_insert(i);
            }
            if let Some(id) = user_id {
                set.user_ids
                    .entry(platform.to_owned())
                    .or_default()
                    .entry(id.to_owned())
                    .or_insert(i);
            }
        }
        set
    }

    /// The first list position naming the account `(platform, handle_key,
    /// user_id)`, if any.
    pub(super) fn find(&self, platform: &str, handle_key: &str, user_id: &str) -> Option<usize> {
        let lookup = |maps: &HashMap<String, HashMap<String, usize>>, key: &str| {
            [platform, ""]
                .into_iter()
                .filter_map(|p| maps.get(p)?.get(key).copied())
                .min()
        };
        [
            lookup(&self.handles, handle_key),
            lookup(&self.user_ids, user_id),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The handle keys whose mentions do not count in an entry from
    /// `platform` (the organizer's, PROTOCOL.md §5.4).
    pub(super) fn handle_on(&self, platform: &str) -> Option<&str> {
        [platform, ""]
            .into_iter()
            .find_map(|p| self.handles.get(p)?.keys().next().map(String::as_str))
    }
}
