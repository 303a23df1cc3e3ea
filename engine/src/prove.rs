//! An entrant's look-up in a bundle: their tickets and Merkle inclusion
//! proof, or the rule that excluded each of their entries (PROTOCOL.md §5,
//! §6).
//!
//! The CLI's `fairdraw prove`, the server's public entrant route and the
//! browser verifier all call [`prove_entrant`] and render its
//! [`EntrantProof`]; none of them re-implements the look-up.
//!
//! ```
//! # fn demo(bundle_bytes: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! use fairdraw_engine::bundle::ParsedBundle;
//! use fairdraw_engine::prove::{EntrantProof, prove_entrant};
//!
//! let bundle = ParsedBundle::parse(bundle_bytes)?;
//! match prove_entrant(&bundle, "@alice")? {
//!     EntrantProof::Eligible(p) => assert!(p.proof_verifies),
//!     EntrantProof::Excluded { excluded, .. } => println!("{} entries excluded", excluded.len()),
//!     EntrantProof::NoEntry { .. } => println!("no entry"),
//!     EntrantProof::Ambiguous { accounts, .. } => println!("{} accounts: ask by platform:user_id", accounts.len()),
//! }
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::bundle::ParsedBundle;
use crate::draw::{DrawError, EntryChecks, eligible_leaf_hash, tally_as};
use crate::encoding::Hash32;
use crate::entry::Entry;
use crate::merkle::{InclusionProof, inclusion_proof, verify_inclusion};
use crate::rules::normalize_handle;

/// The result of looking an entrant up in a bundle (or a lock file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EntrantProof {
    /// At least one of the entrant's entries counted: they hold tickets.
    Eligible(Box<EligibleProof>),
    /// The entrant has entries in the primary collection, but the rules
    /// excluded every one of them.
    Excluded {
        /// What was looked up, as given.
        entrant: String,
        /// The primary collection.
        collection: String,
        /// Each entry and the rule that excluded it.
        excluded: Vec<ExcludedEntry>,
    },
    /// Several accounts match what was looked up (a handle used by one
    /// account on each of two platforms, say): none is chosen. Look up
    /// `platform:user_id` instead.
    Ambiguous {
        /// What was looked up, as given.
        entrant: String,
        /// Every matching account, in canonical order (platform, user id).
        accounts: Vec<Account>,
    },
    /// No entry of the primary collection has that handle or user id.
    NoEntry {
        /// What was looked up, as given.
        entrant: String,
        /// The primary collection.
        collection: String,
    },
}

/// An eligible entrant: their leaf, its audit path and what they won.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EligibleProof {
    /// What was looked up, as given.
    pub entrant: String,
    /// The platform of the counted entry.
    pub platform: String,
    /// The handle as committed.
    pub handle: String,
    /// The platform user id as committed.
    pub user_id: String,
    /// Tickets held.
    pub tickets: u64,
    /// The leaf hash (PROTOCOL.md §6.1).
    pub leaf_hash: Hash32,
    /// The RFC 6962 audit path of the leaf.
    pub proof: InclusionProof,
    /// The lock's Merkle root the proof is checked against.
    pub merkle_root: Hash32,
    /// Whether the audit path leads to the lock's root. `false` means the
    /// bundle is inconsistent; [`crate::verify`] reports it as a failure.
    pub proof_verifies: bool,
    /// `winner N` or `alternate N` (1-based) once executed, else `None`.
    pub result: Option<String>,
    /// The entrant's other entries that did not count, with the rule.
    pub not_counted: Vec<ExcludedEntry>,
}

/// An account: what identifies an entrant (PROTOCOL.md §4.1).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account {
    /// The platform.
    pub platform: String,
    /// The platform's user id.
    pub user_id: String,
    /// The handle of the account's first entry in the primary collection.
    pub handle: String,
}

/// One entry that did not count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedEntry {
    /// 0-based position in the primary collection.
    pub entry: u64,
    /// The rule's field name in the rules JSON, e.g. `min_mentions`.
    pub rule: String,
    /// The reason in words.
    pub reason: String,
}

impl EntrantProof {
    /// Whether the entrant holds tickets.
    pub fn is_eligible(&self) -> bool {
        matches!(self, EntrantProof::Eligible(_))
    }
}

/// Looks an entrant up, matching exactly one account: `platform:user_id`
/// (the account with that platform and user id), a handle (with or without
/// `@`, matched as the rules match handles, `handle_key` of PROTOCOL.md
/// §5.3) or a bare user id. When the handle or user id names several
/// accounts, returns [`EntrantProof::Ambiguous`] listing them.
///
/// Re-runs the rules on the bundle's entries, with the entry checks of the
/// bundle's protocol version, so the answer is what any verifier computes,
/// not what the organiser claims. It does not check the signatures or the
/// pins: call [`crate::verify::verify_bundle`] first and refuse a bundle
/// that fails (`fairdraw prove` does). Fails only when the bundle's entries
/// or rules cannot be evaluated.
pub fn prove_entrant(bundle: &ParsedBundle<'_>, entrant: &str) -> Result<EntrantProof, DrawError> {
    let lock = &bundle.lock.payload;
    let wanted = normalize_handle(entrant).into_owned();
    let qualified = entrant.split_once(':');
    let is_entrant = |e: &Entry<'_>| {
        qualified.is_some_and(|(p, id)| e.platform == p && e.user_id == id)
            || normalize_handle(&e.handle) == wanted
            || e.user_id == entrant
    };
    let mut t = tally_as(
        &lock.rules,
        &bundle.collections,
        Some(&is_entrant),
        EntryChecks::of_lock(lock),
    )?;
    // `platform:user_id` names one account; only when no account has it is
    // the text looked up as a handle or a user id.
    if let Some((p, id)) = qualified
        && t.watched
            .iter()
            .any(|w| w.entry.platform == p && w.entry.user_id == id)
    {
        t.watched
            .retain(|w| w.entry.platform == p && w.entry.user_id == id);
    }
    let mut accounts: Vec<Account> = Vec::new();
    for w in &t.watched {
        let known = accounts
            .iter()
            .any(|a| a.platform == w.entry.platform && a.user_id == w.entry.user_id);
        if !known {
            accounts.push(Account {
                platform: w.entry.platform.to_string(),
                user_id: w.entry.user_id.to_string(),
                handle: w.entry.handle.to_string(),
            });
        }
    }
    if accounts.len() > 1 {
        accounts.sort();
        return Ok(EntrantProof::Ambiguous {
            entrant: entrant.to_owned(),
            accounts,
        });
    }
    let collection = lock.rules.primary_collection().to_owned();
    let excluded = || -> Vec<ExcludedEntry> {
        t.watched
            .iter()
            .filter_map(|w| {
                let x = w.exclusion.as_ref()?;
                Some(ExcludedEntry {
                    entry: w.index,
                    rule: x.rule().to_owned(),
                    reason: x.to_string(),
                })
            })
            .collect()
    };
    if t.watched.is_empty() {
        return Ok(EntrantProof::NoEntry {
            entrant: entrant.to_owned(),
            collection,
        });
    }
    let Some(counted) = t.watched.iter().find(|w| w.exclusion.is_none()) else {
        return Ok(EntrantProof::Excluded {
            entrant: entrant.to_owned(),
            collection,
            excluded: excluded(),
        });
    };
    let eligible = &t.evaluation.eligible;
    let Some((leaf_index, counted_leaf)) = eligible
        .iter()
        .enumerate()
        .find(|(_, e)| e.platform == counted.entry.platform && e.user_id == counted.entry.user_id)
    else {
        return Err(DrawError::MissingLeaf(format!(
            "entry {} of `{collection}` counted but has no leaf",
            counted.index
        )));
    };
    let leaves: Vec<Hash32> = eligible.iter().map(eligible_leaf_hash).collect();
    let leaf_index = leaf_index as u64;
    let proof =
        inclusion_proof(&leaves, leaf_index).map_err(|e| DrawError::MissingLeaf(e.to_string()))?;
    let leaf_hash = eligible_leaf_hash(counted_leaf);
    let proof_verifies = verify_inclusion(&leaf_hash, &proof, &lock.merkle_root);
    let result = bundle.execution.as_ref().and_then(|x| {
        let p = &x.payload;
        let place =
            |picks: &[crate::bundle::Pick]| picks.iter().position(|w| w.leaf_index == leaf_index);
        place(&p.winners)
            .map(|i| format!("winner {}", i + 1))
            .or_else(|| place(&p.alternates).map(|i| format!("alternate {}", i + 1)))
    });
    Ok(EntrantProof::Eligible(Box::new(EligibleProof {
        entrant: entrant.to_owned(),
        platform: counted_leaf.platform.to_string(),
        handle: counted_leaf.handle.to_string(),
        user_id: counted_leaf.user_id.to_string(),
        tickets: counted_leaf.tickets,
        leaf_hash,
        proof,
        merkle_root: lock.merkle_root,
        proof_verifies,
        result,
        not_counted: excluded(),
    })))
}
