//! Lock-time refusals: rules that the entries' platforms cannot support
//! (PROTOCOL.md §5.9).
//!
//! An entrant is an account on one platform (`platform` + `user_id`,
//! §5.2), so a rule that needs data a platform's entries do not carry, or a
//! `require_in` collection with no entries of the entrant's platform,
//! excludes every entrant of that platform. The rules would still evaluate;
//! the draw would just be empty or one-sided without anyone saying so.
//! [`check_platforms`] refuses such rules before a lock is made. It is not a
//! verification step: a bundle that was locked anyway still verifies.

use std::collections::{BTreeMap, BTreeSet};

use super::{RuleError, Rules};
use crate::entry::Entry;

/// Checks that every rule can be met by the entrants of every platform in
/// the primary collection, given the entries by collection name.
///
/// Fails, in this order, with:
/// - [`RuleError::RequiredCollectionMissing`] when a `require_in`
///   collection has no entries at all;
/// - [`RuleError::RequireInAcrossPlatforms`] when a `require_in`
///   collection has no entry of a platform the primary collection has
///   entries of;
/// - [`RuleError::UnsupportedByPlatform`] for `min_followers` (or
///   `min_account_age_days`) when no primary entry of some platform carries
///   `followers` (or `account_created_at`).
///
/// Platforms are listed sorted by their bytes. Passes when the primary
/// collection is absent or empty (the draw fails later for that reason).
/// Pure and linear in the number of entries.
pub fn check_platforms(
    rules: &Rules,
    collections: &BTreeMap<String, Vec<Entry<'_>>>,
) -> Result<(), RuleError> {
    let primary = rules.primary_collection();
    let primary_entries = collections.get(primary).map(Vec::as_slice).unwrap_or(&[]);
    // Each primary platform, and whether any of its entries carries a
    // follower count and an account creation time.
    let mut platforms: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for e in primary_entries {
        let seen = platforms.entry(&e.platform).or_default();
        seen.0 |= e.followers.is_some();
        seen.1 |= e.account_created_at.is_some();
    }
    let names = |it: &mut dyn Iterator<Item = &str>| it.map(str::to_owned).collect::<Vec<_>>();

    for required in &rules.require_in {
        let entries = collections.get(required).map(Vec::as_slice).unwrap_or(&[]);
        if entries.is_empty() {
            return Err(RuleError::RequiredCollectionMissing {
                collection: required.clone(),
                primary: primary.to_owned(),
                platforms: names(&mut platforms.keys().copied()),
            });
        }
        if platforms.is_empty() {
            continue;
        }
        let found: BTreeSet<&str> = entries.iter().map(|e| &*e.platform).collect();
        let missing = names(&mut platforms.keys().copied().filter(|p| !found.contains(p)));
        if !missing.is_empty() {
            return Err(RuleError::RequireInAcrossPlatforms {
                collection: required.clone(),
                primary: primary.to_owned(),
                platforms: missing,
                found: names(&mut found.into_iter()),
            });
        }
    }

    let lacking = |has: fn(&(bool, bool)) -> bool| {
        names(
            &mut platforms
                .iter()
                .filter(|(_, seen)| !has(seen))
                .map(|(p, _)| *p),
        )
    };
    for (rule, field, set, has) in [
        (
            "min_followers",
            "followers",
            rules.min_followers.is_some(),
            (|s: &(bool, bool)| s.0) as fn(&(bool, bool)) -> bool,
        ),
        (
            "min_account_age_days",
            "account_created_at",
            rules.min_account_age_days.is_some(),
            |s: &(bool, bool)| s.1,
        ),
    ] {
        let platforms = if set { lacking(has) } else { Vec::new() };
        if !platforms.is_empty() {
            return Err(RuleError::UnsupportedByPlatform {
                rule,
                field,
                collection: primary.to_owned(),
                platforms,
            });
        }
    }
    Ok(())
}

/// `youtube`, `youtube and x`, `bluesky, x and youtube`.
pub(super) fn and_list(items: &[String]) -> String {
    match items {
        [] => "no platform".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
