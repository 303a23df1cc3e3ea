//! Contest rules and their evaluation (PROTOCOL.md §5).
//!
//! A brand writes its rules as JSON ([`Rules`]). [`Evaluator`] streams the
//! entries through them: first every entry of the collections named in
//! `require_in`, then the primary collection one entry at a time. Each entry
//! either passes or gets one [`Exclusion`] naming the first rule it fails;
//! [`Evaluator::finish`] groups the passing entries per account and returns
//! the eligible list in canonical order with each account's tickets.
//!
//! ```
//! use std::collections::BTreeMap;
//! use fairdraw_engine::entry::Entry;
//! use fairdraw_engine::rules::{Rules, evaluate};
//!
//! let rules = Rules::from_json(br##"{"winners": 1, "keywords": {"any": ["#giveaway"]}}"##)?;
//! let entries: Vec<Entry> = serde_json::from_str(r##"[
//!   {"platform": "youtube", "user_id": "u1", "handle": "@ann", "text": "#GIVEAWAY", "created_at": "2026-12-01T10:00:00Z"},
//!   {"platform": "youtube", "user_id": "u2", "handle": "@bob", "text": "nice", "created_at": "2026-12-01T11:00:00Z"}
//! ]"##)?;
//! let collections = BTreeMap::from([("comments".to_owned(), entries)]);
//!
//! let (evaluation, exclusions) = evaluate(&rules, fairdraw_engine::PROTOCOL_VERSION, &collections)?;
//! assert_eq!(evaluation.eligible.len(), 1);
//! assert_eq!(evaluation.eligible[0].handle, "@ann");
//! assert_eq!(exclusions[0].0, 1);
//! assert_eq!(exclusions[0].1.rule(), "keywords");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod account;
mod describe;
mod evaluate;
mod mentions;
mod normalize;
mod platforms;

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize};

pub use account::AccountRef;
pub use evaluate::{
    Eligible, Evaluation, Evaluator, Exclusion, KeywordRequirement, WindowEdge, evaluate,
};
pub use mentions::{Mentions, count_mentions, mentions};
pub use normalize::{LOWERCASE_UNICODE_VERSION, NFKC_UNICODE_VERSION, normalize, normalize_handle};
pub use platforms::check_platforms;

use crate::entry::{DEFAULT_COLLECTION, EntryError};
use crate::time::Timestamp;

/// The largest ticket total a draw may have: 2^53 − 1, the largest integer
/// every JSON implementation represents exactly.
pub const MAX_TICKETS: u64 = (1 << 53) - 1;

/// The pattern a collection name must match.
pub const COLLECTION_NAME_PATTERN: &str = "^[a-z0-9_-]+$";

/// Caps on the rules (PROTOCOL.md §9.4), for every protocol version: they
/// bound the time and memory a verifier spends before it can refuse a
/// hostile bundle. Lengths count code points.
pub mod limits {
    /// Keywords in `keywords.any`, and again in `keywords.all`.
    pub const MAX_KEYWORDS: usize = 64;
    /// Code points of one keyword.
    pub const MAX_KEYWORD_CHARS: usize = 100;
    /// Values in `exclude_users`.
    pub const MAX_EXCLUDE_USERS: usize = 10_000;
    /// Code points of `organizer` and of one `exclude_users` value.
    pub const MAX_ACCOUNT_CHARS: usize = 200;
    /// Collections named in `require_in`.
    pub const MAX_REQUIRE_IN: usize = 16;
    /// Code points of a collection name (bytes: names are ASCII).
    pub const MAX_COLLECTION_NAME_CHARS: usize = 64;
}

/// The pattern of a window bound: the canonical receipt time (PROTOCOL.md §3).
#[cfg(feature = "schema")]
const TIME_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$";

/// The rules of one contest, as the brand wrote them.
///
/// Every field but `winners` is optional; `null` is not a value. Absent
/// fields stay absent when the rules are serialised, so the rules in a signed receipt read like the rules
/// the brand wrote; empty lists are dropped. [`Rules::from_json`] parses and
/// validates; a `Rules` from anywhere else (a receipt) should be checked
/// with [`Rules::validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(
    feature = "schema",
    schemars(
        title = "fairdraw contest rules",
        description = "The rules of one fairdraw contest (PROTOCOL.md §5). Every field but \
                   `winners` is optional; leave a field out rather than writing null."
    )
)]
pub struct Rules {
    /// Number of winners to draw; at least 1.
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub winners: u32,
    /// Number of ordered alternates drawn after the winners. Default 0.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "u32"))]
    pub alternates: Option<u32>,
    /// The collection whose entries are the entries of the contest
    /// (`[a-z0-9_-]+`). Default `comments`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(pattern(COLLECTION_NAME_PATTERN)))]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub collection: Option<String>,
    /// How many entries of one account count, in collection order; later
    /// qualifying entries are excluded. At least 1; default 1.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    #[cfg_attr(feature = "schema", schemars(with = "u32"))]
    pub entries_per_user: Option<u32>,
    /// Minimum number of distinct accounts an entry's text must mention with
    /// `@`, not counting the entrant and the organizer. Default 0.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "u32"))]
    pub min_mentions: Option<u32>,
    /// Keywords the entry's text must contain (case- and
    /// width-insensitive substring match).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Keywords"))]
    pub keywords: Option<Keywords>,
    /// Accounts that may not enter. Protocol 2: `platform:@handle` (compared
    /// normalised) or `platform:user_id` (exact), on that platform only.
    /// Protocol 1: a handle (with or without `@`, compared normalised) or an
    /// exact user id, on every platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(inner(length(min = 1))))]
    pub exclude_users: Vec<String>,
    /// The organizer's account: it may not enter, and (named by handle)
    /// mentioning it does not count toward `min_mentions`. Protocol 2:
    /// `platform:@handle` or `platform:user_id`, on that platform only.
    /// Protocol 1: a handle, on every platform.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub organizer: Option<String>,
    /// When entries must be posted: `from` ≤ created_at < `until`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Window"))]
    pub window: Option<Window>,
    /// Minimum follower count of the entrant's account. An entry without a
    /// follower count is excluded.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "u64"))]
    pub min_followers: Option<u64>,
    /// Minimum age in days (of 86 400 s) of the entrant's account when the
    /// entry was posted. An entry without an account creation time is
    /// excluded.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "u32"))]
    pub min_account_age_days: Option<u32>,
    /// Other collections (e.g. `likes`) the entrant's account must appear
    /// in, each at least once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(inner(pattern(COLLECTION_NAME_PATTERN))))]
    pub require_in: Vec<String>,
    /// Extra tickets for mentioning more accounts than `min_mentions`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Bonus"))]
    pub bonus: Option<Bonus>,
}

/// Keyword requirements. An empty list requires nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Keywords {
    /// The text must contain at least one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(inner(length(min = 1))))]
    pub any: Vec<String>,
    /// The text must contain every one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(inner(length(min = 1))))]
    pub all: Vec<String>,
}

/// The entry window; at least one bound is set. Bounds are UTC times of the
/// form `YYYY-MM-DDTHH:MM:SSZ`, the one spelling receipts allow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Entries posted before this instant are excluded.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time"), pattern(TIME_PATTERN)))]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub from: Option<String>,
    /// Entries posted at or after this instant are excluded.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time"), pattern(TIME_PATTERN)))]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub until: Option<String>,
}

/// Bonus tickets: `per_extra_mention` for each distinct mention beyond
/// `min_mentions`, summed over an account's counted entries and capped at
/// `max` per account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Bonus {
    /// Tickets per extra mention; 1 to 2^53 − 1.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_TICKETS)))]
    pub per_extra_mention: u64,
    /// Most bonus tickets one account can get; 1 to 2^53 − 1.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_TICKETS)))]
    pub max: u64,
}

/// Why rules could not be parsed or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The rules are not JSON of the rules' shape (syntax, unknown or
    /// missing field, wrong type).
    #[error("rules: {0}")]
    Parse(String),
    /// A field has a value the rules cannot use.
    #[error("rules: `{field}` {problem}")]
    Invalid {
        /// The field, e.g. `keywords.any[1]`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A collection the rules read is not among the entries.
    #[error("collection `{0}` is required by the rules but is not among the entries")]
    MissingCollection(String),
    /// An entry of a required collection was added after primary entries
    /// were pushed, so earlier entries were checked without it.
    #[error(
        "an entry of required collection `{0}` came after primary entries; \
         required collections must be fed first"
    )]
    MembershipAfterPush(String),
    /// A primary-collection entry is malformed.
    #[error("entry {index} of the primary collection: {source}")]
    BadEntry {
        /// The entry's 0-based index in the primary collection.
        index: u64,
        /// What is wrong with it.
        source: EntryError,
    },
    /// The tickets add up to more than [`MAX_TICKETS`].
    #[error("the tickets add up to more than 2^53 - 1")]
    TooManyTickets,
    /// Lock-time refusal ([`check_platforms`]): a `require_in` collection
    /// has no entries, so every entrant would be excluded.
    #[error(
        "rule `require_in` needs collection `{collection}`, but no entries were given for it{}; \
         give the `{collection}` entries, or remove `{collection}` from `require_in`",
        platforms_note(.primary, .platforms)
    )]
    RequiredCollectionMissing {
        /// The required collection.
        collection: String,
        /// The primary collection.
        primary: String,
        /// The platforms of the primary collection's entries, sorted.
        platforms: Vec<String>,
    },
    /// Lock-time refusal ([`check_platforms`]): a `require_in` collection
    /// has no entry of some platform the primary collection has entries of.
    /// An entrant is an account on one platform, so every entrant of those
    /// platforms would be excluded.
    #[error(
        "rule `require_in` cannot be met across platforms: collection `{primary}` has entries \
         from {}, but `{collection}` has none from {} (only from {}); an entrant is an account \
         on one platform, so every such entrant would be excluded. Give `{collection}` entries \
         from the same platforms, remove `{collection}` from `require_in`, or draw each platform \
         separately",
        platforms::and_list(.platforms),
        platforms::and_list(.platforms),
        platforms::and_list(.found)
    )]
    RequireInAcrossPlatforms {
        /// The required collection.
        collection: String,
        /// The primary collection.
        primary: String,
        /// The primary collection's platforms that have no entry in
        /// `collection`, sorted.
        platforms: Vec<String>,
        /// The platforms `collection` has entries from, sorted.
        found: Vec<String>,
    },
    /// Lock-time refusal ([`check_platforms`]): a rule needs a field that
    /// no primary entry of some platform carries (the platform or its
    /// plugin does not give it), so every entrant of that platform would be
    /// excluded.
    #[error(
        "rule `{rule}` cannot be applied on {}: none of the {} entries of collection \
         `{collection}` carries `{field}`, so every one would be excluded. Remove `{rule}` \
         from the rules, or give entries that carry `{field}`",
        platforms::and_list(.platforms),
        platforms::and_list(.platforms)
    )]
    UnsupportedByPlatform {
        /// The rule, e.g. `min_followers`.
        rule: &'static str,
        /// The entry field it needs, e.g. `followers`.
        field: &'static str,
        /// The primary collection.
        collection: String,
        /// The platforms none of whose primary entries carry `field`, sorted.
        platforms: Vec<String>,
    },
}

/// `: every entrant of `comments` (from youtube) would be excluded`, or
/// nothing when the primary collection has no entries.
fn platforms_note(primary: &str, platforms: &[String]) -> String {
    if platforms.is_empty() {
        return String::new();
    }
    format!(
        ": every entrant of `{primary}` (from {}) would be excluded",
        platforms::and_list(platforms)
    )
}

/// Deserialises a present optional field, refusing `null`: leaving a field
/// out is the one way to leave it unset, so rules have one spelling.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

/// serde_json puts the position last ("unknown field `x`, expected one of …
/// at line 1 column 12"); say where before listing what was expected.
fn parse_error(e: &serde_json::Error) -> RuleError {
    let message = e.to_string();
    if e.line() == 0 {
        return RuleError::Parse(message);
    }
    let position = format!(" at line {} column {}", e.line(), e.column());
    let core = message.strip_suffix(&position).unwrap_or(&message);
    RuleError::Parse(match core.rsplit_once(", expected") {
        Some((what, expected)) => format!("{what}{position}, expected{expected}"),
        None => format!("{core}{position}"),
    })
}

fn check_collection_name(field: String, name: &str) -> Result<(), RuleError> {
    let valid = (1..=limits::MAX_COLLECTION_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!(
                "{name:?} is not a collection name (1 to {} of a-z, 0-9, '_', '-')",
                limits::MAX_COLLECTION_NAME_CHARS
            ),
        ))
    }
}

fn check_handle(field: String, value: &str) -> Result<(), RuleError> {
    if normalize_handle(value).is_empty() {
        return Err(invalid(
            field,
            "must name an account, not be empty or a lone `@`",
        ));
    }
    Ok(())
}

impl Rules {
    /// Parses rules from JSON and [validates](Rules::validate) them.
    ///
    /// Fails with [`RuleError::Parse`] on malformed JSON, unknown fields and
    /// wrong types, and with [`RuleError::Invalid`] naming the field when a
    /// value is unusable.
    pub fn from_json(bytes: &[u8]) -> Result<Rules, RuleError> {
        let rules: Rules = serde_json::from_slice(bytes).map_err(|e| parse_error(&e))?;
        rules.validate_for(crate::PROTOCOL_VERSION)?;
        Ok(rules)
    }

    /// Checks the sizes of PROTOCOL.md §9.4 ([`limits`]) before anything
    /// else looks at the rules, so a hostile rules object costs no more
    /// than reading it.
    pub fn check_limits(&self) -> Result<(), RuleError> {
        use limits::*;
        let too_long = |field: String, value: &str, max: usize| {
            if value.chars().count() > max {
                Err(invalid(field, format!("is longer than {max} characters")))
            } else {
                Ok(())
            }
        };
        if let Some(k) = &self.keywords {
            for (list, words) in [("any", &k.any), ("all", &k.all)] {
                if words.len() > MAX_KEYWORDS {
                    return Err(invalid(
                        format!("keywords.{list}"),
                        format!(
                            "has {} keywords, at most {MAX_KEYWORDS} are allowed",
                            words.len()
                        ),
                    ));
                }
                for (i, w) in words.iter().enumerate() {
                    too_long(format!("keywords.{list}[{i}]"), w, MAX_KEYWORD_CHARS)?;
                }
            }
        }
        if self.exclude_users.len() > MAX_EXCLUDE_USERS {
            return Err(invalid(
                "exclude_users",
                format!(
                    "has {} values, at most {MAX_EXCLUDE_USERS} are allowed",
                    self.exclude_users.len()
                ),
            ));
        }
        for (i, u) in self.exclude_users.iter().enumerate() {
            too_long(format!("exclude_users[{i}]"), u, MAX_ACCOUNT_CHARS)?;
        }
        if let Some(o) = &self.organizer {
            too_long("organizer".into(), o, MAX_ACCOUNT_CHARS)?;
        }
        if self.require_in.len() > MAX_REQUIRE_IN {
            return Err(invalid(
                "require_in",
                format!(
                    "names {} collections, at most {MAX_REQUIRE_IN} are allowed",
                    self.require_in.len()
                ),
            ));
        }
        Ok(())
    }

    /// [`validate`](Rules::validate), and the checks protocol `protocol`
    /// adds. Protocol 2 takes `organizer` and `exclude_users` values as
    /// `platform:@handle` or `platform:user_id` ([`AccountRef`]), and
    /// refuses, in keywords, `organizer` and `exclude_users`, strings that
    /// are not visible
    /// ([`crate::text::check_visible`]: NFKC, no control, bidirectional
    /// control or default-ignorable code point), and keywords with a word
    /// that mixes scripts ([`crate::text::check_single_script`]).
    pub fn validate_for(&self, protocol: u32) -> Result<(), RuleError> {
        self.validate()?;
        if protocol < 2 {
            return Ok(());
        }
        let visible = |field: String, value: &str| {
            crate::text::check_visible(value).map_err(|e| invalid(field, format!("{value:?} {e}")))
        };
        if let Some(k) = &self.keywords {
            for (list, words) in [("any", &k.any), ("all", &k.all)] {
                for (i, w) in words.iter().enumerate() {
                    let field = format!("keywords.{list}[{i}]");
                    visible(field.clone(), w)?;
                    crate::text::check_single_script(w)
                        .map_err(|e| invalid(field, format!("{w:?} {e}")))?;
                }
            }
        }
        let account = |field: String, value: &str| {
            visible(field.clone(), value)?;
            AccountRef::parse(value)
                .map(drop)
                .map_err(|problem| invalid(field, format!("{value:?} {problem}")))
        };
        for (i, u) in self.exclude_users.iter().enumerate() {
            account(format!("exclude_users[{i}]"), u)?;
        }
        if let Some(o) = &self.organizer {
            account("organizer".into(), o)?;
        }
        Ok(())
    }

    /// Checks the sizes ([`Rules::check_limits`]) and what the types cannot
    /// (the checks of every protocol version): `winners` and `entries_per_user` are at
    /// least 1, the bonus values 1 to 2^53 − 1; collection names match `[a-z0-9_-]+`,
    /// `require_in` names each collection once and not the primary one;
    /// keywords, handles and user ids are not empty; the window has a bound,
    /// its bounds are `YYYY-MM-DDTHH:MM:SSZ` and `from` < `until`.
    pub fn validate(&self) -> Result<(), RuleError> {
        self.check_limits()?;
        if self.winners == 0 {
            return Err(invalid("winners", "must be at least 1"));
        }
        if self.entries_per_user == Some(0) {
            return Err(invalid("entries_per_user", "must be at least 1"));
        }
        // Receipts hold integers up to 2^53 - 1 only (PROTOCOL.md §2).
        if self
            .min_followers
            .is_some_and(|n| n > crate::receipt::MAX_SAFE_INTEGER)
        {
            return Err(invalid(
                "min_followers",
                "must be at most 2^53 - 1 (9007199254740991)",
            ));
        }
        if let Some(c) = &self.collection {
            check_collection_name("collection".into(), c)?;
        }
        let mut seen = BTreeSet::new();
        for (i, c) in self.require_in.iter().enumerate() {
            let field = format!("require_in[{i}]");
            check_collection_name(field.clone(), c)?;
            if c == self.primary_collection() {
                return Err(invalid(
                    field,
                    format!("names the primary collection {c:?}"),
                ));
            }
            if !seen.insert(c) {
                return Err(invalid(field, format!("names {c:?} twice")));
            }
        }
        if let Some(k) = &self.keywords {
            for (list, words) in [("any", &k.any), ("all", &k.all)] {
                if let Some(i) = words.iter().position(String::is_empty) {
                    return Err(invalid(
                        format!("keywords.{list}[{i}]"),
                        "must not be empty",
                    ));
                }
            }
        }
        for (i, u) in self.exclude_users.iter().enumerate() {
            check_handle(format!("exclude_users[{i}]"), u)?;
        }
        if let Some(o) = &self.organizer {
            check_handle("organizer".into(), o)?;
        }
        if let Some(w) = &self.window {
            w.bounds()?;
        }
        if let Some(b) = &self.bonus {
            for (field, value) in [
                ("bonus.per_extra_mention", b.per_extra_mention),
                ("bonus.max", b.max),
            ] {
                if !(1..=MAX_TICKETS).contains(&value) {
                    return Err(invalid(field, "must be between 1 and 2^53 - 1"));
                }
            }
        }
        Ok(())
    }

    /// The primary collection: `collection`, or `comments`.
    pub fn primary_collection(&self) -> &str {
        self.collection.as_deref().unwrap_or(DEFAULT_COLLECTION)
    }

    /// How many entries per account count: `entries_per_user`, or 1.
    pub fn entries_per_user(&self) -> u32 {
        self.entries_per_user.unwrap_or(1)
    }

    /// Number of alternates: `alternates`, or 0.
    pub fn alternates(&self) -> u32 {
        self.alternates.unwrap_or(0)
    }

    /// The JSON Schema (draft 2020-12) of the rules; `engine/rules.schema.json`
    /// is this value, pretty-printed. Needs the `schema` feature.
    #[cfg(feature = "schema")]
    pub fn json_schema() -> serde_json::Value {
        schemars::schema_for!(Rules).to_value()
    }
}

/// An instant as `(unix_seconds, nanoseconds)`; tuples order like instants.
pub(crate) type Instant = (i64, u32);

impl Window {
    /// The parsed bounds, after checking that one is set, both are in the
    /// canonical receipt form `YYYY-MM-DDTHH:MM:SSZ` (PROTOCOL.md §3) and
    /// `from` < `until`.
    pub(crate) fn bounds(&self) -> Result<(Option<Instant>, Option<Instant>), RuleError> {
        let parse = |field: &str, value: &Option<String>| -> Result<Option<Instant>, RuleError> {
            let Some(s) = value else { return Ok(None) };
            let t = Timestamp::parse_canonical(s).map_err(|_| {
                let problem = format!("{s:?} is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ");
                invalid(format!("window.{field}"), problem)
            })?;
            Ok(Some((t.unix(), 0)))
        };
        let from = parse("from", &self.from)?;
        let until = parse("until", &self.until)?;
        match (from, until) {
            (None, None) => Err(invalid("window", "must set `from`, `until` or both")),
            (Some(f), Some(u)) if f >= u => Err(invalid("window", "`from` must be before `until`")),
            bounds => Ok(bounds),
        }
    }
}
