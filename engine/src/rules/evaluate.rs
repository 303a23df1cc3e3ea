//! Streaming evaluation of the rules (PROTOCOL.md §5.5–5.7).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};

use super::account::AccountSet;
use super::mentions::count_mentions;
use super::normalize::{normalize, normalize_handle};
use super::{Bonus, Instant, MAX_TICKETS, RuleError, Rules};
use crate::encoding::Hash32;
use crate::entry::{Entry, EntryError};

/// Why an entry does not count: the first rule it fails.
///
/// Serialised with the rule's JSON field name as tag `rule`, e.g.
/// `{"rule":"min_mentions","found":1,"required":2}`. `Display` is a message
/// for the entrant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Exclusion {
    /// The entrant is the organizer.
    Organizer,
    /// The entrant is on the `exclude_users` list.
    ExcludeUsers {
        /// The `exclude_users` value that matched (the first, in list order).
        value: String,
    },
    /// The entry was posted outside the window.
    Window {
        /// The entry's `created_at`, as given.
        created_at: String,
        /// Which side of the window it fell on.
        edge: WindowEdge,
        /// The bound it missed (`window.from` or `window.until`), as written.
        bound: String,
    },
    /// The text lacks keywords.
    Keywords {
        /// Which list failed.
        requirement: KeywordRequirement,
        /// For `any`: every `any` keyword; for `all`: the `all` keywords
        /// not found. As written in the rules, in rules order.
        missing: Vec<String>,
    },
    /// Too few distinct mentions.
    MinMentions {
        /// Distinct mentions counted.
        found: u64,
        /// `min_mentions`.
        required: u32,
    },
    /// Too few followers, or no follower count.
    MinFollowers {
        /// The entry's follower count; absent when the platform gave none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        found: Option<u64>,
        /// `min_followers`.
        required: u64,
    },
    /// The account was too young when it entered, or its age is unknown.
    MinAccountAgeDays {
        /// Whole days (rounded down) from account creation to the entry;
        /// absent when the platform gave no account creation time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        age_days: Option<i64>,
        /// `min_account_age_days`.
        required: u32,
    },
    /// The account does not appear in a required collection.
    RequireIn {
        /// The first `require_in` collection (in rules order) it is missing from.
        collection: String,
    },
    /// The account already has `entries_per_user` counted entries.
    EntriesPerUser {
        /// `entries_per_user`.
        limit: u32,
    },
}

/// The side of the window an entry fell on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowEdge {
    /// Posted before `window.from`.
    BeforeOpen,
    /// Posted at or after `window.until`.
    AfterClose,
}

/// The keyword list an entry failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeywordRequirement {
    /// `keywords.any`: none was found.
    Any,
    /// `keywords.all`: some were not found.
    All,
}

impl Exclusion {
    /// The rule's field name in the rules JSON, e.g. `min_mentions`.
    pub fn rule(&self) -> &'static str {
        match self {
            Exclusion::Organizer => "organizer",
            Exclusion::ExcludeUsers { .. } => "exclude_users",
            Exclusion::Window { .. } => "window",
            Exclusion::Keywords { .. } => "keywords",
            Exclusion::MinMentions { .. } => "min_mentions",
            Exclusion::MinFollowers { .. } => "min_followers",
            Exclusion::MinAccountAgeDays { .. } => "min_account_age_days",
            Exclusion::RequireIn { .. } => "require_in",
            Exclusion::EntriesPerUser { .. } => "entries_per_user",
        }
    }
}

fn quoted_list(f: &mut fmt::Formatter<'_>, words: &[String]) -> fmt::Result {
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "\"{w}\"")?;
    }
    Ok(())
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclusion::Organizer => f.write_str("the organizer's own account cannot enter"),
            Exclusion::ExcludeUsers { value } => {
                write!(f, "the account is excluded from this contest (\"{value}\")")
            }
            Exclusion::Window {
                created_at,
                edge: WindowEdge::BeforeOpen,
                bound,
            } => {
                write!(
                    f,
                    "posted {created_at}, before the window opened at {bound}"
                )
            }
            Exclusion::Window {
                created_at,
                edge: WindowEdge::AfterClose,
                bound,
            } => {
                write!(f, "posted {created_at}, after the window closed at {bound}")
            }
            Exclusion::Keywords {
                requirement: KeywordRequirement::Any,
                missing,
            } => {
                f.write_str("the text contains none of the keywords ")?;
                quoted_list(f, missing)
            }
            Exclusion::Keywords {
                requirement: KeywordRequirement::All,
                missing,
            } => {
                write!(
                    f,
                    "the text lacks the required keyword{} ",
                    plural(missing.len() as u64)
                )?;
                quoted_list(f, missing)
            }
            Exclusion::MinMentions { found, required } => write!(
                f,
                "mentions {found} other account{}, at least {required} required",
                plural(*found)
            ),
            Exclusion::MinFollowers {
                found: Some(n),
                required,
            } => {
                write!(
                    f,
                    "the account has {n} follower{}, at least {required} required",
                    plural(*n)
                )
            }
            Exclusion::MinFollowers {
                found: None,
                required,
            } => {
                write!(
                    f,
                    "the account's follower count is unknown, at least {required} required"
                )
            }
            Exclusion::MinAccountAgeDays {
                age_days: Some(d),
                required,
            } => write!(
                f,
                "the account was {d} day{} old when it entered, at least {required} required",
                plural(d.unsigned_abs())
            ),
            Exclusion::MinAccountAgeDays {
                age_days: None,
                required,
            } => write!(
                f,
                "the account's creation date is unknown, an age of at least {required} days required"
            ),
            Exclusion::RequireIn { collection } => {
                write!(
                    f,
                    "the account has no entry in \"{collection}\", which is required"
                )
            }
            Exclusion::EntriesPerUser { limit } => write!(
                f,
                "only the account's first {limit} qualifying entr{} count",
                if *limit == 1 { "y" } else { "ies" }
            ),
        }
    }
}

/// One eligible account: a leaf of the eligible list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eligible<'a> {
    /// The platform.
    #[serde(borrow)]
    pub platform: Cow<'a, str>,
    /// The account's user id.
    #[serde(borrow)]
    pub user_id: Cow<'a, str>,
    /// The handle of its first counted entry.
    #[serde(borrow)]
    pub handle: Cow<'a, str>,
    /// Tickets: counted entries plus bonus.
    pub tickets: u64,
    /// Primary-collection index of its first counted entry.
    pub entry_index: u64,
    /// Entry hash of its first counted entry.
    pub entry_hash: Hash32,
}

/// The outcome of applying the rules to a primary collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation<'a> {
    /// Eligible accounts, ordered by platform then user id (UTF-8 bytes).
    pub eligible: Vec<Eligible<'a>>,
    /// Sum of the eligible accounts' tickets; at most [`MAX_TICKETS`].
    pub total_tickets: u64,
    /// Entries that passed every rule but came after their account's
    /// `entries_per_user` counted entries, by entry index, ascending.
    pub over_limit: Vec<(u64, Exclusion)>,
    /// Number of primary entries pushed.
    pub entries: u64,
}

/// The rules, prepared for checking entries: normalised once, bounds parsed.
#[derive(Debug)]
struct Compiled {
    /// The organizer's account (empty without an `organizer`).
    organizer: AccountSet,
    /// `exclude_users` as written, for exclusions.
    exclude_users: Vec<String>,
    /// The accounts `exclude_users` names.
    excluded: AccountSet,
    from: Option<(Instant, String)>,
    until: Option<(Instant, String)>,
    /// `keywords.any` as written.
    any: Vec<String>,
    /// Finds any normalised `keywords.any` keyword (`None` when the list is empty).
    any_matcher: Option<AhoCorasick>,
    /// `keywords.all` as written.
    all: Vec<String>,
    /// One searcher per normalised `keywords.all` keyword, in list order.
    all_finders: Vec<memchr::memmem::Finder<'static>>,
    min_mentions: u32,
    /// Mentions are needed (`min_mentions` or `bonus`).
    count_mentions: bool,
    min_followers: Option<u64>,
    min_account_age_days: Option<u32>,
    required: Vec<String>,
    entries_per_user: u32,
    bonus: Option<Bonus>,
}

/// Per required collection: platform → user ids seen.
type Members = HashMap<Box<str>, HashSet<Box<str>>>;

/// Applies rules to a stream of entries, in two steps: first
/// [`add_membership`](Evaluator::add_membership) for every entry of the
/// [`required_collections`](Evaluator::required_collections), then
/// [`push`](Evaluator::push) for every entry of the primary collection in
/// order, then [`finish`](Evaluator::finish).
///
/// Memory: the evaluator keeps one [`Eligible`] record (120 bytes on 64-bit
/// targets, its strings moved out of the entry, so borrowed strings are not
/// copied) per entry that passes, plus the membership sets. Records are
/// grouped per account by sorting them in place at `finish`, without a map
/// of accounts.
#[derive(Debug)]
pub struct Evaluator<'a> {
    rules: Compiled,
    members: Vec<Members>,
    /// Entries that passed, one record each; `tickets` holds the entry's
    /// bonus until `finish`.
    passed: Vec<Eligible<'a>>,
    entries: u64,
    /// A required collection fed after the first push.
    late_membership: Option<String>,
}

/// What checking one entry can end in besides passing.
enum Reject {
    Excluded(Exclusion),
    Malformed(EntryError),
}

impl From<Exclusion> for Reject {
    fn from(e: Exclusion) -> Self {
        Reject::Excluded(e)
    }
}

impl From<EntryError> for Reject {
    fn from(e: EntryError) -> Self {
        Reject::Malformed(e)
    }
}

fn nanos((secs, nanos): Instant) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(nanos)
}

const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;

impl Compiled {
    fn new(rules: &Rules, protocol: u32) -> Result<Self, RuleError> {
        rules.validate_for(protocol)?;
        let (from, until) = match &rules.window {
            Some(w) => w.bounds()?,
            None => (None, None),
        };
        let window = rules.window.clone().unwrap_or_default();
        let keywords = rules.keywords.clone().unwrap_or_default();
        // One automaton per list: matching is linear in the text whatever
        // the keywords (PROTOCOL.md §5.5 rule 4 defines the result as
        // substring containment; Aho-Corasick finds exactly that).
        let matcher = |words: &[String]| -> Result<Option<AhoCorasick>, RuleError> {
            if words.is_empty() {
                return Ok(None);
            }
            let normalised: Vec<String> = words.iter().map(|w| normalize(w).into_owned()).collect();
            AhoCorasick::new(&normalised).map(Some).map_err(|e| {
                super::invalid("keywords", format!("cannot be prepared for matching: {e}"))
            })
        };
        Ok(Compiled {
            organizer: AccountSet::new(rules.organizer.as_slice(), protocol, false),
            exclude_users: rules.exclude_users.clone(),
            excluded: AccountSet::new(&rules.exclude_users, protocol, true),
            from: from.zip(window.from),
            until: until.zip(window.until),
            any_matcher: matcher(&keywords.any)?,
            all_finders: keywords
                .all
                .iter()
                .map(|w| memchr::memmem::Finder::new(normalize(w).as_bytes()).into_owned())
                .collect(),
            any: keywords.any,
            all: keywords.all,
            min_mentions: rules.min_mentions.unwrap_or(0),
            count_mentions: rules.min_mentions.is_some_and(|m| m > 0) || rules.bonus.is_some(),
            min_followers: rules.min_followers,
            min_account_age_days: rules.min_account_age_days,
            required: rules.require_in.clone(),
            entries_per_user: rules.entries_per_user(),
            bonus: rules.bonus,
        })
    }

    /// Checks one entry against every entry-local rule in protocol order.
    /// Returns the entry's bonus (per_extra_mention × extra mentions, capped
    /// at `bonus.max`) when it passes.
    fn check(&self, e: &Entry<'_>, members: &[Members]) -> Result<u64, Reject> {
        let handle = normalize_handle(&e.handle);
        if self
            .organizer
            .find(&e.platform, &handle, &e.user_id)
            .is_some()
        {
            return Err(Exclusion::Organizer.into());
        }
        if let Some(i) = self.excluded.find(&e.platform, &handle, &e.user_id) {
            return Err(Exclusion::ExcludeUsers {
                value: self.exclude_users[i].clone(),
            }
            .into());
        }
        let created =
            if self.from.is_some() || self.until.is_some() || self.min_account_age_days.is_some() {
                Some(e.created_instant()?)
            } else {
                None
            };
        if let Some(created) = created {
            self.check_window(e, created)?;
        }
        let text = if self.any.is_empty() && self.all.is_empty() && !self.count_mentions {
            Cow::Borrowed("")
        } else {
            normalize(&e.text)
        };
        if let Some(any) = &self.any_matcher
            && !any.is_match(&*text)
        {
            return Err(Exclusion::Keywords {
                requirement: KeywordRequirement::Any,
                missing: self.any.clone(),
            }
            .into());
        }
        let missing = self.missing_all(&text);
        if !missing.is_empty() {
            return Err(Exclusion::Keywords {
                requirement: KeywordRequirement::All,
                missing,
            }
            .into());
        }
        let mentions = if self.count_mentions {
            count_mentions(&text, &handle, self.organizer.handle_on(&e.platform))
        } else {
            0
        };
        if mentions < u64::from(self.min_mentions) {
            return Err(Exclusion::MinMentions {
                found: mentions,
                required: self.min_mentions,
            }
            .into());
        }
        if let Some(required) = self.min_followers
            && e.followers.is_none_or(|n| n < required)
        {
            return Err(Exclusion::MinFollowers {
                found: e.followers,
                required,
            }
            .into());
        }
        if let (Some(required), Some(created)) = (self.min_account_age_days, created) {
            let age = e
                .account_created_instant()?
                .map(|a| nanos(created) - nanos(a));
            if age.is_none_or(|age| age < i128::from(required) * NANOS_PER_DAY) {
                // |age| < 2^94 ns (years 0..=9999), so days fit an i64.
                let age_days = age.map(|a| a.div_euclid(NANOS_PER_DAY) as i64);
                return Err(Exclusion::MinAccountAgeDays { age_days, required }.into());
            }
        }
        for (name, set) in self.required.iter().zip(members) {
            if !set
                .get(&*e.platform)
                .is_some_and(|ids| ids.contains(&*e.user_id))
            {
                return Err(Exclusion::RequireIn {
                    collection: name.clone(),
                }
                .into());
            }
        }
        let bonus = match self.bonus {
            Some(b) => (mentions - u64::from(self.min_mentions))
                .saturating_mul(b.per_extra_mention)
                .min(b.max),
            None => 0,
        };
        Ok(bonus)
    }

    /// The `keywords.all` keywords whose normalised form is not a substring
    /// of `text` (already normalised), as written, in list order: one
    /// linear substring search (Two-Way with a SIMD prefilter) per keyword,
    /// so at most [`super::limits::MAX_KEYWORDS`] passes over the text. (An
    /// overlapping Aho-Corasick search reports every match, and nested
    /// keywords `a`, `aa`, `aaa`, … make that quadratic.)
    fn missing_all(&self, text: &str) -> Vec<String> {
        self.all
            .iter()
            .zip(&self.all_finders)
            .filter(|(_, f)| f.find(text.as_bytes()).is_none())
            .map(|(w, _)| w.clone())
            .collect()
    }

    /// The window rule.
    fn check_window(&self, e: &Entry<'_>, created: Instant) -> Result<(), Reject> {
        if let Some((from, bound)) = &self.from
            && created < *from
        {
            return Err(window(e, WindowEdge::BeforeOpen, bound));
        }
        if let Some((until, bound)) = &self.until
            && created >= *until
        {
            return Err(window(e, WindowEdge::AfterClose, bound));
        }
        Ok(())
    }
}

fn window(e: &Entry<'_>, edge: WindowEdge, bound: &str) -> Reject {
    Exclusion::Window {
        created_at: e.created_at.to_string(),
        edge,
        bound: bound.to_owned(),
    }
    .into()
}

impl<'a> Evaluator<'a> {
    /// Prepares the rules for protocol version `protocol` (which decides
    /// how `organizer` and `exclude_users` name accounts, §5.5), after
    /// [validating](Rules::validate_for) them for it.
    pub fn new(rules: &Rules, protocol: u32) -> Result<Self, RuleError> {
        let rules = Compiled::new(rules, protocol)?;
        let members = vec![Members::new(); rules.required.len()];
        Ok(Evaluator {
            rules,
            members,
            passed: Vec::new(),
            entries: 0,
            late_membership: None,
        })
    }

    /// The `require_in` collections, in rules order. Feed every entry of
    /// each through [`add_membership`](Evaluator::add_membership) before the
    /// first [`push`](Evaluator::push).
    pub fn required_collections(&self) -> &[String] {
        &self.rules.required
    }

    /// Reserves room for `additional` more passing entries, sparing the
    /// reallocations of a growing list when the caller knows the size.
    pub fn reserve(&mut self, additional: usize) {
        self.passed.reserve_exact(additional);
    }

    /// Records that the entry's account `(platform, user_id)` appears in
    /// `collection`. Entries of collections the rules do not require are
    /// ignored. Calling this after the first `push` makes
    /// [`finish`](Evaluator::finish) fail with
    /// [`RuleError::MembershipAfterPush`].
    pub fn add_membership(&mut self, collection: &str, entry: &Entry<'_>) {
        let Some(i) = self.rules.required.iter().position(|c| c == collection) else {
            return;
        };
        if self.entries > 0 && self.late_membership.is_none() {
            self.late_membership = Some(collection.to_owned());
        }
        let set = &mut self.members[i];
        let ids = match set.get_mut(&*entry.platform) {
            Some(ids) => ids,
            None => set.entry(entry.platform.as_ref().into()).or_default(),
        };
        if !ids.contains(&*entry.user_id) {
            ids.insert(entry.user_id.as_ref().into());
        }
    }

    /// Checks the next entry of the primary collection (index 0, 1, … in
    /// push order) against every entry-local rule.
    ///
    /// Returns the [`Exclusion`] of the first rule it fails, or `None` when
    /// it passes; a passing entry may still be cut by `entries_per_user` at
    /// [`finish`](Evaluator::finish). Fails with [`RuleError::BadEntry`]
    /// when the entry is malformed (empty platform, user id or handle, or a
    /// time that is not RFC 3339); the evaluation cannot continue then.
    pub fn push(
        &mut self,
        entry: Entry<'a>,
        entry_hash: Hash32,
    ) -> Result<Option<Exclusion>, RuleError> {
        let index = self.entries;
        self.entries += 1;
        let bad = |source| RuleError::BadEntry { index, source };
        entry.validate().map_err(bad)?;
        match self.rules.check(&entry, &self.members) {
            Ok(bonus) => {
                self.passed.push(Eligible {
                    platform: entry.platform,
                    user_id: entry.user_id,
                    handle: entry.handle,
                    tickets: bonus,
                    entry_index: index,
                    entry_hash,
                });
                Ok(None)
            }
            Err(Reject::Excluded(x)) => Ok(Some(x)),
            Err(Reject::Malformed(source)) => Err(bad(source)),
        }
    }

    /// Groups the passing entries per account `(platform, user_id)`: the
    /// first `entries_per_user` in collection order count, later ones go to
    /// `over_limit`. Each account gets `counted + min(bonus.max, Σ bonus)`
    /// tickets; the list is sorted by platform, then user id.
    ///
    /// Fails with [`RuleError::TooManyTickets`] when the total exceeds
    /// [`MAX_TICKETS`], and with [`RuleError::MembershipAfterPush`] when the
    /// two steps were interleaved.
    pub fn finish(self) -> Result<Evaluation<'a>, RuleError> {
        if let Some(collection) = self.late_membership {
            return Err(RuleError::MembershipAfterPush(collection));
        }
        let limit = self.rules.entries_per_user;
        let max_bonus = self.rules.bonus.map_or(0, |b| b.max);
        let mut records = self.passed;
        // Entry indices are unique, so the order is total and the unstable
        // sort deterministic.
        records.sort_unstable_by(|a, b| {
            (&*a.platform, &*a.user_id, a.entry_index).cmp(&(
                &*b.platform,
                &*b.user_id,
                b.entry_index,
            ))
        });
        let mut over_limit = Vec::new();
        let mut total: u64 = 0;
        let (mut write, mut read) = (0, 0);
        while read < records.len() {
            let first = &records[read];
            let len = records[read..]
                .iter()
                .position(|r| r.user_id != first.user_id || r.platform != first.platform)
                .unwrap_or(records.len() - read);
            let counted = len.min(limit as usize);
            let bonus = records[read..read + counted]
                .iter()
                .fold(0u64, |sum, r| sum.saturating_add(r.tickets))
                .min(max_bonus);
            over_limit.extend(
                records[read + counted..read + len]
                    .iter()
                    .map(|r| (r.entry_index, Exclusion::EntriesPerUser { limit })),
            );
            let tickets = (counted as u64)
                .checked_add(bonus)
                .ok_or(RuleError::TooManyTickets)?;
            total = total
                .checked_add(tickets)
                .filter(|t| *t <= MAX_TICKETS)
                .ok_or(RuleError::TooManyTickets)?;
            records.swap(write, read);
            records[write].tickets = tickets;
            write += 1;
            read += len;
        }
        records.truncate(write);
        records.shrink_to_fit();
        over_limit.sort_unstable_by_key(|(i, _)| *i);
        Ok(Evaluation {
            eligible: records,
            total_tickets: total,
            over_limit,
            entries: self.entries,
        })
    }
}

/// An entry borrowing every string of `e`.
fn borrowed<'a>(e: &'a Entry<'_>) -> Entry<'a> {
    Entry {
        platform: Cow::Borrowed(&e.platform),
        user_id: Cow::Borrowed(&e.user_id),
        handle: Cow::Borrowed(&e.handle),
        display_name: Cow::Borrowed(&e.display_name),
        text: Cow::Borrowed(&e.text),
        created_at: Cow::Borrowed(&e.created_at),
        collection: e.collection.as_deref().map(Cow::Borrowed),
        followers: e.followers,
        account_created_at: e.account_created_at.as_deref().map(Cow::Borrowed),
    }
}

/// Evaluates in-memory collections: feeds the `require_in` collections, then
/// the primary one with each entry's hash, and finishes.
///
/// Returns the evaluation and every exclusion (entry-local and over-limit)
/// by primary entry index, ascending. Fails with
/// [`RuleError::MissingCollection`] when the primary or a required
/// collection is not in `collections`, and as [`Evaluator`] does.
pub fn evaluate<'a>(
    rules: &Rules,
    protocol: u32,
    collections: &'a BTreeMap<String, Vec<Entry<'a>>>,
) -> Result<(Evaluation<'a>, Vec<(u64, Exclusion)>), RuleError> {
    let get = |name: &str| {
        collections
            .get(name)
            .ok_or_else(|| RuleError::MissingCollection(name.to_owned()))
    };
    let mut evaluator = Evaluator::new(rules, protocol)?;
    for name in &rules.require_in {
        for e in get(name)? {
            evaluator.add_membership(name, e);
        }
    }
    let primary = get(rules.primary_collection())?;
    let mut exclusions = Vec::new();
    for (index, e) in (0u64..).zip(primary) {
        if let Some(x) = evaluator.push(borrowed(e), e.hash())? {
            exclusions.push((index, x));
        }
    }
    let evaluation = evaluator.finish()?;
    exclusions.extend(evaluation.over_limit.iter().cloned());
    exclusions.sort_unstable_by_key(|(i, _)| *i);
    Ok((evaluation, exclusions))
}
