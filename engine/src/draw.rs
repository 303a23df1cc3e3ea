//! Locking, executing and re-computing a draw (PROTOCOL.md §5–§9).
//!
//! [`tally`] is the one pipeline every party runs: rules → eligible list →
//! Merkle root → ticket tree. [`lock`] runs it and signs the lock receipt,
//! [`execute`] re-runs it on the lock file, verifies the randomness, draws and
//! signs the execution receipt, and [`crate::verify`] re-runs it to check both.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::value::RawValue;

use crate::bundle::{
    BUNDLE_FORMAT, BuiltBundle, CollectionCommitment, ExecutionPayload, LockPayload, ParsedBundle,
    Pick, Selection, collection_json,
};
use crate::encoding::{FieldHasher, Hash32};
use crate::entry::{Entry, EntryError, OwnedEntry};
use crate::merkle::{RootBuilder, leaf_hash};
use crate::randomness::{Declared, Material, RandomnessError, Realised, drand, rfc3797};
use crate::receipt::{ReceiptError, Sign, Signed};
use crate::rules::{Eligible, Evaluation, Evaluator, Exclusion, RuleError, Rules, check_platforms};
use crate::select::{ChaChaPicker, Picker, SelectError, TicketTree, derive_seed};
use crate::time::Timestamp;
use crate::{OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, protocol_supported};

/// Why a draw could not be locked, executed or re-computed.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    /// The bundle or lock file is not valid JSON of the right shape.
    #[error("bundle is malformed: {0}")]
    Malformed(String),
    /// A bundle format this engine does not read.
    #[error("bundle format {0} is not supported (this engine reads format {BUNDLE_FORMAT})")]
    UnsupportedFormat(u32),
    /// A protocol version this engine does not implement.
    #[error(
        "protocol version {0} is not supported (this engine implements versions {OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION})"
    )]
    UnsupportedProtocol(u32),
    /// An entry is malformed.
    #[error("collection `{collection}`, entry {index}: {source}")]
    Entry {
        /// Collection name.
        collection: String,
        /// 0-based position in the collection.
        index: u64,
        /// What is wrong.
        source: EntryError,
    },
    /// An entry could not be parsed.
    #[error("collection `{collection}`: {message}")]
    EntryJson {
        /// Collection name.
        collection: String,
        /// The parser's message.
        message: String,
    },
    /// The rules are invalid or could not be applied.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// A collection the rules need is missing.
    #[error("the rules need collection `{0}`, but no entries were given for it")]
    MissingCollection(String),
    /// No entrant is eligible, or fewer than winners + alternates.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// The randomness does not verify.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// A receipt could not be signed or verified.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// The draw id is not 1 to 64 characters of `A-Z a-z 0-9 _ -`.
    #[error("draw id {0:?} must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'")]
    DrawId(String),
    /// The title is longer than 200 characters.
    #[error("title is longer than 200 characters")]
    TitleTooLong,
    /// The title contains control or bidirectional-override characters.
    #[error("title contains control or bidirectional-override characters")]
    TitleControls,
    /// Protocol 2: the title is not visible text.
    #[error("title {0}")]
    TitleText(crate::text::TextError),
    /// Protocol 2: an entry is dated after the lock.
    #[error(
        "collection `{collection}`, entry {index}: `{field}` {value:?} is after the lock time {locked_at}; nothing locked can be dated after its lock"
    )]
    EntryAfterLock {
        /// Collection name.
        collection: String,
        /// 0-based position in the collection.
        index: u64,
        /// `created_at` or `account_created_at`.
        field: &'static str,
        /// The time as written.
        value: String,
        /// The lock time.
        locked_at: Timestamp,
    },
    /// Protocol 2: a collection name outside §4.3's grammar.
    #[error(
        "collection name {0:?} must be 1 to 64 characters of a-z, 0-9, '_' or '-' (PROTOCOL.md §4.3)"
    )]
    CollectionName(String),
    /// Protocol 2: a receipt time outside the years the protocol accepts.
    #[error("{field} {value} is outside 1970-01-01T00:00:00Z to 2099-12-31T23:59:59Z")]
    TimeOutOfRange {
        /// `locked_at` or `executed_at`.
        field: &'static str,
        /// The time.
        value: Timestamp,
    },
    /// The bundle already carries an execution receipt.
    #[error("this draw has already been executed")]
    AlreadyExecuted,
    /// The signer given to [`execute`] is not the key that signed the lock.
    #[error("the lock was signed by key {lock_key}, but the signing key given is {given}")]
    WrongSigningKey {
        /// Key id of the lock receipt.
        lock_key: Hash32,
        /// Key id of the signer given.
        given: Hash32,
    },
    /// Execution before the declared randomness can exist.
    #[error(
        "execution time {executed_at} is before {earliest}, when the randomness became available"
    )]
    TooEarly {
        /// The execution time given.
        executed_at: Timestamp,
        /// The earliest allowed (PROTOCOL.md §8).
        earliest: Timestamp,
    },
    /// An entry inside a bundle carries a `collection` field (bundles group
    /// entries by collection, one spelling per bundle).
    #[error(
        "the lock receipt does not match the entries it carries: entry {index} of collection `{collection}` carries a `collection` field; entries inside a bundle must not"
    )]
    CollectionFieldInBundle {
        /// Collection name.
        collection: String,
        /// 0-based position.
        index: u64,
    },
    /// An entry names another collection than the one it is in.
    #[error(
        "the lock receipt does not match the entries it carries: entry {index} of collection `{collection}` says it belongs to `{says}`"
    )]
    WrongCollection {
        /// Collection it is in.
        collection: String,
        /// 0-based position.
        index: u64,
        /// Collection it names.
        says: String,
    },
    /// The lock receipt's commitments differ from what its entries give.
    #[error("the lock receipt does not match the entries it carries: {0}")]
    LockMismatch(String),
    /// A pick names a leaf that no eligible entrant has.
    #[error("the lock receipt does not match the entries it carries: {0}")]
    MissingLeaf(String),
}

/// The result of applying the rules to the collections and committing.
#[derive(Debug)]
pub struct Tally<'a> {
    /// Each collection's entry count and hash.
    pub collections: BTreeMap<String, CollectionCommitment>,
    /// The eligible list (canonical order) and ticket totals.
    pub evaluation: Evaluation<'a>,
    /// The Merkle root over the eligible leaves.
    pub merkle_root: Hash32,
    /// The tickets as a Fenwick tree, ready to draw from.
    pub tickets: TicketTree,
    /// How many primary entries each rule excluded, by rule name.
    pub exclusions: BTreeMap<&'static str, u64>,
    /// The entries picked out by the `watch` predicate, with their fate.
    pub watched: Vec<Watched>,
}

/// A primary-collection entry the caller asked to follow through the rules.
#[derive(Debug, Clone)]
pub struct Watched {
    /// 0-based position in the primary collection.
    pub index: u64,
    /// The entry.
    pub entry: OwnedEntry,
    /// Why the rules excluded it, or `None` if it counted.
    pub exclusion: Option<Exclusion>,
}

/// Somewhere entries come from: entries in memory, or a parsed bundle's raw
/// JSON collections (streamed, never materialised as a whole).
pub trait EntrySource<'a> {
    /// The collection names, sorted.
    fn names(&self) -> Vec<String>;
    /// Calls `f` on every entry of a collection, in order.
    fn for_each(
        &self,
        name: &str,
        f: &mut dyn FnMut(Entry<'a>) -> Result<(), DrawError>,
    ) -> Result<(), DrawError>;
}

impl<'a> EntrySource<'a> for BTreeMap<String, Vec<Entry<'a>>> {
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }

    fn for_each(
        &self,
        name: &str,
        f: &mut dyn FnMut(Entry<'a>) -> Result<(), DrawError>,
    ) -> Result<(), DrawError> {
        self.get(name)
            .into_iter()
            .flatten()
            .try_for_each(|e| f(e.clone()))
    }
}

impl<'a> EntrySource<'a> for BTreeMap<String, &'a RawValue> {
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }

    fn for_each(
        &self,
        name: &str,
        f: &mut dyn FnMut(Entry<'a>) -> Result<(), DrawError>,
    ) -> Result<(), DrawError> {
        let Some(raw) = self.get(name) else {
            return Ok(());
        };
        let mut index = 0u64;
        stream_entries(name, raw.get(), &mut |entry| {
            // Bundles group entries by collection; one spelling per bundle.
            if entry.collection.is_some() {
                return Err(DrawError::CollectionFieldInBundle {
                    collection: name.to_owned(),
                    index,
                });
            }
            index += 1;
            f(entry)
        })
    }
}

/// Parses a JSON array of entries one element at a time.
fn stream_entries<'a>(
    collection: &str,
    json: &'a str,
    f: &mut dyn FnMut(Entry<'a>) -> Result<(), DrawError>,
) -> Result<(), DrawError> {
    use serde::de::{Deserializer as _, SeqAccess, Visitor};

    struct Each<'f, 'a> {
        f: &'f mut dyn FnMut(Entry<'a>) -> Result<(), DrawError>,
        failed: &'f mut Option<DrawError>,
    }
    impl<'de> Visitor<'de> for Each<'_, 'de> {
        type Value = ();
        fn expecting(&self, fmt: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            fmt.write_str("an array of entries")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(entry) = seq.next_element::<Entry<'de>>()? {
                if let Err(e) = (self.f)(entry) {
                    *self.failed = Some(e);
                    return Err(serde::de::Error::custom("stopped"));
                }
            }
            Ok(())
        }
    }

    let mut failed = None;
    let mut de = serde_json::Deserializer::from_str(json);
    let result = (&mut de).deserialize_seq(Each {
        f,
        failed: &mut failed,
    });
    if let Some(e) = failed {
        return Err(e);
    }
    result
        .and_then(|()| de.end())
        .map_err(|e| DrawError::EntryJson {
            collection: collection.to_owned(),
            message: e.to_string(),
        })
}

/// The leaf hash of an eligible entrant (PROTOCOL.md §6.1):
/// `SHA-256(0x00 || lp("fairdraw/v1/leaf") || lp(platform) || lp(user_id) || lp(handle) || u64(tickets))`.
pub fn eligible_leaf_hash(e: &Eligible<'_>) -> Hash32 {
    let mut data = Vec::with_capacity(64 + e.user_id.len() + e.handle.len());
    for field in ["fairdraw/v1/leaf", &e.platform, &e.user_id, &e.handle] {
        data.extend_from_slice(&(field.len() as u32).to_be_bytes());
        data.extend_from_slice(field.as_bytes());
    }
    data.extend_from_slice(&e.tickets.to_be_bytes());
    leaf_hash(&data)
}

/// What a tally checks of every entry besides the rules: the entry checks
/// of a protocol version, and (protocol 2) that no entry is dated after the
/// lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryChecks {
    /// The protocol version whose entry checks, and whose reading of the
    /// rules (`organizer` and `exclude_users`, PROTOCOL.md §5.5), apply.
    pub protocol: u32,
    /// The lock time, when known: protocol 2 refuses entries dated after it.
    pub locked_at: Option<Timestamp>,
}

impl EntryChecks {
    /// The checks of the newest protocol version, without a lock time.
    pub const NEWEST: EntryChecks = EntryChecks {
        protocol: PROTOCOL_VERSION,
        locked_at: None,
    };

    /// The checks a lock payload's entries must pass: its version's, with
    /// its lock time.
    pub fn of_lock(lock: &LockPayload) -> EntryChecks {
        EntryChecks {
            protocol: lock.protocol,
            locked_at: Some(lock.locked_at),
        }
    }
}

/// Applies the rules to every collection and commits to the result, with
/// the entry checks of the newest protocol version ([`tally_as`]).
///
/// `watch` picks primary entries whose fate is reported in
/// [`Tally::watched`] (for `fairdraw prove`). Fails on a malformed entry, a
/// missing required collection or invalid rules.
pub fn tally<'a>(
    rules: &Rules,
    source: &impl EntrySource<'a>,
    watch: Option<&dyn Fn(&Entry<'_>) -> bool>,
) -> Result<Tally<'a>, DrawError> {
    tally_as(rules, source, watch, EntryChecks::NEWEST)
}

/// [`tally`] with the entry checks of a given protocol version and lock
/// time: what [`crate::verify`], [`check_lock`] and [`crate::prove`] run on
/// a bundle, with [`EntryChecks::of_lock`].
pub fn tally_as<'a>(
    rules: &Rules,
    source: &impl EntrySource<'a>,
    watch: Option<&dyn Fn(&Entry<'_>) -> bool>,
    checks: EntryChecks,
) -> Result<Tally<'a>, DrawError> {
    let mut evaluator = Evaluator::new(rules, checks.protocol)?;
    let names = source.names();
    if checks.protocol >= 2
        && let Some(bad) = names.iter().find(|n| !is_collection_name(n))
    {
        return Err(DrawError::CollectionName(bad.clone()));
    }
    let primary = rules.primary_collection().to_owned();
    if !names.contains(&primary) {
        return Err(DrawError::MissingCollection(primary));
    }
    let required: BTreeSet<String> = evaluator.required_collections().iter().cloned().collect();
    if let Some(missing) = required.iter().find(|r| !names.contains(r)) {
        return Err(DrawError::MissingCollection(missing.clone()));
    }

    let mut collections = BTreeMap::new();
    // Secondary collections first, so `require_in` is known for the primary.
    for name in names.iter().filter(|n| **n != primary) {
        let is_required = required.contains(name);
        let mut hasher = CollectionHasher::new(name, checks);
        source.for_each(name, &mut |entry| {
            hasher.add(&entry)?;
            if is_required {
                evaluator.add_membership(name, &entry);
            }
            Ok(())
        })?;
        collections.insert(name.clone(), hasher.finish());
    }

    let mut hasher = CollectionHasher::new(&primary, checks);
    let mut exclusions: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut watched = Vec::new();
    source.for_each(&primary, &mut |entry| {
        let index = hasher.count;
        let entry_hash = hasher.add(&entry)?;
        let watched_entry = watch
            .filter(|w| w(&entry))
            .map(|_| entry.clone().into_owned());
        let exclusion = evaluator.push(entry, entry_hash)?;
        if let Some(x) = &exclusion {
            *exclusions.entry(x.rule()).or_default() += 1;
        }
        if let Some(entry) = watched_entry {
            watched.push(Watched {
                index,
                entry,
                exclusion,
            });
        }
        Ok(())
    })?;
    collections.insert(primary.clone(), hasher.finish());

    let evaluation = evaluator.finish()?;
    for (index, x) in &evaluation.over_limit {
        *exclusions.entry(x.rule()).or_default() += 1;
        if let Some(w) = watched.iter_mut().find(|w| w.index == *index) {
            w.exclusion = Some(x.clone());
        }
    }
    let mut root = RootBuilder::new();
    evaluation
        .eligible
        .iter()
        .for_each(|e| root.push(eligible_leaf_hash(e)));
    let tickets = TicketTree::new(evaluation.eligible.iter().map(|e| e.tickets))?;
    Ok(Tally {
        collections,
        merkle_root: root.root(),
        tickets,
        evaluation,
        exclusions,
        watched,
    })
}

/// Streams a collection's hash (PROTOCOL.md §4.3) and validates entries.
struct CollectionHasher<'n> {
    name: &'n str,
    hasher: FieldHasher,
    count: u64,
    checks: EntryChecks,
}

/// Whether `name` is a collection name of §4.3: 1 to 64 of `a-z 0-9 _ -`.
pub fn is_collection_name(name: &str) -> bool {
    (1..=crate::rules::limits::MAX_COLLECTION_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

impl<'n> CollectionHasher<'n> {
    fn new(name: &'n str, checks: EntryChecks) -> Self {
        let mut hasher = FieldHasher::new("fairdraw/v1/collection");
        hasher.str(name);
        CollectionHasher {
            name,
            hasher,
            count: 0,
            checks,
        }
    }

    /// Validates the entry, folds its hash in and returns the hash.
    fn add(&mut self, entry: &Entry<'_>) -> Result<Hash32, DrawError> {
        let index = self.count;
        let err = |source| DrawError::Entry {
            collection: self.name.to_owned(),
            index,
            source,
        };
        if self.checks.protocol >= 2 {
            entry.validate_v2().map_err(err)?;
            if let Some(locked_at) = self.checks.locked_at {
                self.not_after_lock(entry, index, locked_at)?;
            }
        } else {
            entry.validate().map_err(err)?;
        }
        if entry.collection.as_deref().is_some_and(|c| c != self.name) {
            return Err(DrawError::WrongCollection {
                collection: self.name.to_owned(),
                index,
                says: entry.collection_name().to_owned(),
            });
        }
        let h = entry.hash();
        self.hasher.digest(&h);
        self.count += 1;
        Ok(h)
    }

    /// Protocol 2: the entry's times are not after the lock.
    fn not_after_lock(
        &self,
        entry: &Entry<'_>,
        index: u64,
        locked_at: Timestamp,
    ) -> Result<(), DrawError> {
        let lock = (locked_at.unix(), 0);
        let times = [
            ("created_at", Some(&*entry.created_at)),
            ("account_created_at", entry.account_created_at.as_deref()),
        ];
        for (field, value) in times {
            let Some(value) = value else { continue };
            // Validated above, so it parses.
            let t = crate::time::parse_instant(value).unwrap_or(lock);
            if t > lock {
                return Err(DrawError::EntryAfterLock {
                    collection: self.name.to_owned(),
                    index,
                    field,
                    value: value.to_owned(),
                    locked_at,
                });
            }
        }
        Ok(())
    }

    fn finish(mut self) -> CollectionCommitment {
        self.hasher.u64(self.count);
        CollectionCommitment {
            entries: self.count,
            sha256: self.hasher.finish(),
        }
    }
}

/// Everything `lock` needs.
#[derive(Debug)]
pub struct LockRequest<'a> {
    /// The draw's id: 1 to 64 characters of `A-Z a-z 0-9 _ -`.
    pub draw_id: String,
    /// Human title, at most 200 characters.
    pub title: String,
    /// The contest rules.
    pub rules: Rules,
    /// Entries by collection name.
    pub collections: BTreeMap<String, Vec<Entry<'a>>>,
    /// The randomness to declare.
    pub randomness: Declared,
    /// The lock time (the caller reads the clock).
    pub locked_at: Timestamp,
    /// The organisation's draw number, when the caller keeps one (protocol
    /// 2; [`LockPayload::sequence`]).
    pub sequence: Option<u64>,
}

/// A locked draw: the lock file and what the rules made of the entries.
#[derive(Debug)]
pub struct Locked<'a> {
    /// The lock file: a bundle without an execution receipt.
    pub bundle: BuiltBundle,
    /// The tally the lock commits to.
    pub tally: Tally<'a>,
}

/// Applies the rules, commits and signs the lock receipt.
///
/// Fails when the rules or entries are invalid, when a rule cannot be met
/// by the entrants of some platform ([`check_platforms`]: a lock-time
/// refusal, not a verification step), when fewer entrants are eligible than
/// winners + alternates, or when the draw id or title is out of range.
pub fn lock<'a>(req: &'a LockRequest<'a>, signer: &dyn Sign) -> Result<Locked<'a>, DrawError> {
    lock_as(req, signer, PROTOCOL_VERSION)
}

/// [`lock`], writing the lock receipt of protocol version `protocol`.
///
/// Writers (the CLI, the server) call [`lock`], which writes the newest
/// version; this exists so that the frozen vectors of earlier versions can
/// be reproduced byte for byte (`engine/tests/vectors/draw_v1/`). Fails
/// with [`DrawError::UnsupportedProtocol`] for a version this engine does
/// not implement, and as [`lock`] does, with the checks of that version.
pub fn lock_as<'a>(
    req: &'a LockRequest<'a>,
    signer: &dyn Sign,
    protocol: u32,
) -> Result<Locked<'a>, DrawError> {
    if !protocol_supported(protocol) {
        return Err(DrawError::UnsupportedProtocol(protocol));
    }
    check_identity_for(protocol, &req.draw_id, &req.title)?;
    check_time(protocol, "locked_at", req.locked_at)?;
    req.rules.validate_for(protocol)?;
    check_window_before_lock(protocol, &req.rules, req.locked_at)?;
    check_platforms(&req.rules, &req.collections)?;
    let checks = EntryChecks {
        protocol,
        locked_at: Some(req.locked_at),
    };
    let tally = tally_as(&req.rules, &req.collections, None, checks)?;
    let wanted = u64::from(req.rules.winners) + u64::from(req.rules.alternates());
    let eligible = tally.evaluation.eligible.len() as u64;
    if eligible < wanted {
        return Err(SelectError::NotEnoughEligible { wanted, eligible }.into());
    }
    req.randomness.check_limits()?;
    req.randomness.check_for(protocol)?;
    if req.randomness.since_protocol() > protocol {
        return Err(RandomnessError::KindNeedsProtocol {
            kind: req.randomness.describe(),
            protocol: req.randomness.since_protocol(),
        }
        .into());
    }
    if let Some((chain, round)) = req.randomness.drand_round() {
        let c =
            drand::chain(chain).ok_or_else(|| RandomnessError::UnknownChain(chain.to_owned()))?;
        let round_time = c.round_time(round);
        if round_time <= req.locked_at {
            return Err(RandomnessError::RoundNotAfterLock {
                round,
                round_time,
                locked_at: req.locked_at,
            }
            .into());
        }
    }
    let payload = LockPayload {
        protocol,
        draw_id: req.draw_id.clone(),
        title: req.title.clone(),
        rules: req.rules.clone(),
        collections: tally.collections.clone(),
        eligible,
        total_tickets: tally.evaluation.total_tickets,
        merkle_root: tally.merkle_root,
        winners: req.rules.winners,
        alternates: req.rules.alternates(),
        randomness: req.randomness.clone(),
        locked_at: req.locked_at,
        sequence: req.sequence,
    };
    let bundle = BuiltBundle {
        fairdraw_bundle: BUNDLE_FORMAT,
        lock: Signed::sign(payload, signer)?,
        execution: None,
        log: None,
        collections: req
            .collections
            .iter()
            .map(|(k, v)| (k.clone(), collection_json(v)))
            .collect(),
    };
    Ok(Locked { bundle, tally })
}

/// Checks a draw id (1 to 64 of `A-Z a-z 0-9 _ -`) and title (at most 200
/// characters, no control characters).
pub fn check_identity(id: &str, title: &str) -> Result<(), DrawError> {
    let id_ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !id_ok {
        return Err(DrawError::DrawId(id.to_owned()));
    }
    if title.chars().count() > 200 {
        return Err(DrawError::TitleTooLong);
    }
    if title
        .chars()
        .any(|c| c.is_control() || crate::text::is_bidi_control(c))
    {
        return Err(DrawError::TitleControls);
    }
    Ok(())
}

/// [`check_identity`], and the checks protocol `protocol` adds: protocol 2
/// refuses a title that is not visible text ([`crate::text::check_visible`]:
/// NFKC, no default-ignorable code point).
pub fn check_identity_for(protocol: u32, id: &str, title: &str) -> Result<(), DrawError> {
    check_identity(id, title)?;
    if protocol >= 2 {
        crate::text::check_visible(title).map_err(DrawError::TitleText)?;
    }
    Ok(())
}

/// Protocol 2: a receipt time lies within 1970–2099 (PROTOCOL.md §3).
pub fn check_time(protocol: u32, field: &'static str, t: Timestamp) -> Result<(), DrawError> {
    let sane = crate::time::SANE_FROM..crate::time::SANE_UNTIL;
    if protocol >= 2 && !sane.contains(&t.unix()) {
        return Err(DrawError::TimeOutOfRange { field, value: t });
    }
    Ok(())
}

/// Protocol 2: the window's bounds are not after the lock (a lock cannot
/// know about entries of a window still open).
pub fn check_window_before_lock(
    protocol: u32,
    rules: &Rules,
    locked_at: Timestamp,
) -> Result<(), RuleError> {
    let Some(w) = rules.window.as_ref().filter(|_| protocol >= 2) else {
        return Ok(());
    };
    for (field, bound) in [("window.from", &w.from), ("window.until", &w.until)] {
        if let Some(b) = bound
            && Timestamp::parse_canonical(b).is_ok_and(|t| t > locked_at)
        {
            return Err(RuleError::Invalid {
                field: field.into(),
                problem: format!(
                    "{b} is after the lock time {locked_at}; lock once the entry window has closed"
                ),
            });
        }
    }
    Ok(())
}

/// The randomness kind's name as written in JSON (`drand`, `commit_reveal`, `rfc3797`).
pub fn realised_kind(r: &Realised) -> &'static str {
    match r {
        Realised::Drand { .. } => "drand",
        Realised::CommitReveal { .. } => "commit_reveal",
        Realised::Rfc3797 { .. } => "rfc3797",
        Realised::SecretDrand { .. } => "secret_drand",
    }
}

/// Verifies the realised randomness against the lock and draws
/// `winners + alternates` leaf indices, in order.
pub fn draw_indices(
    lock_hash: &Hash32,
    lock: &LockPayload,
    realised: &Realised,
    tickets: &TicketTree,
) -> Result<(Selection, Vec<u64>), DrawError> {
    let count = u64::from(lock.winners) + u64::from(lock.alternates);
    match lock.randomness.verify(realised, lock.locked_at)? {
        Material::Seed(material) => {
            let seed = derive_seed(lock_hash, realised_kind(realised), &material);
            let indices = tickets.draw(count, &mut ChaChaPicker::new(&seed))?;
            Ok((Selection::Chacha20 { seed }, indices))
        }
        Material::Rfc3797Key(key) => {
            let mut picker = Rfc3797Tickets(rfc3797::Rfc3797Picker::new(&key));
            let indices = tickets.draw(count, &mut picker)?;
            Ok((Selection::Rfc3797 { key }, indices))
        }
    }
}

/// RFC 3797 numbers as ticket numbers: `MD5(...) mod remaining`.
struct Rfc3797Tickets(rfc3797::Rfc3797Picker);

impl Picker for Rfc3797Tickets {
    fn pick(&mut self, remaining: u64) -> Result<u64, SelectError> {
        self.0
            .pick(remaining)
            .map_err(|e| SelectError::Exhausted(e.to_string()))
    }
}

/// The earliest instant an execution may claim: the lock time, or for drand
/// the time the declared round is published.
pub fn earliest_execution(lock: &LockPayload) -> Timestamp {
    match lock.randomness.drand_round() {
        Some((chain, round)) => drand::chain(chain)
            .map(|c| c.round_time(round).max(lock.locked_at))
            .unwrap_or(lock.locked_at),
        None => lock.locked_at,
    }
}

/// Checks a parsed lock file's receipt against its own entries and returns the tally.
pub fn check_lock<'a>(bundle: &ParsedBundle<'a>) -> Result<Tally<'a>, DrawError> {
    if bundle.fairdraw_bundle != BUNDLE_FORMAT {
        return Err(DrawError::UnsupportedFormat(bundle.fairdraw_bundle));
    }
    let lock = &bundle.lock.payload;
    if !protocol_supported(lock.protocol) {
        return Err(DrawError::UnsupportedProtocol(lock.protocol));
    }
    bundle.lock.verify()?;
    lock.rules.validate_for(lock.protocol)?;
    let tally = tally_as(
        &lock.rules,
        &bundle.collections,
        None,
        EntryChecks::of_lock(lock),
    )?;
    if let Some(p) = compare_lock(lock, &tally) {
        return Err(DrawError::LockMismatch(p));
    }
    Ok(tally)
}

/// How a bundle's collections disagree with the committed ones, if they do.
pub fn collection_mismatch(
    committed: &BTreeMap<String, CollectionCommitment>,
    found: &BTreeMap<String, CollectionCommitment>,
) -> Option<String> {
    let names = |m: &BTreeMap<String, CollectionCommitment>| m.keys().cloned().collect::<Vec<_>>();
    if names(committed) != names(found) {
        return Some(format!(
            "the lock commits to collections {:?} but the bundle has {:?}",
            names(committed),
            names(found)
        ));
    }
    committed.iter().find_map(|(name, c)| {
        let t = found.get(name).filter(|t| *t != c)?;
        Some(format!(
            "collection `{name}`: the lock commits to {} entries with hash {}, the bundle has {} entries with hash {}",
            c.entries, c.sha256, t.entries, t.sha256
        ))
    })
}

/// The first way the lock payload disagrees with a re-computed tally.
pub fn compare_lock(lock: &LockPayload, tally: &Tally<'_>) -> Option<String> {
    if let Some(p) = collection_mismatch(&lock.collections, &tally.collections) {
        return Some(p);
    }
    let eligible = tally.evaluation.eligible.len() as u64;
    if lock.eligible != eligible || lock.total_tickets != tally.evaluation.total_tickets {
        return Some(format!(
            "the lock says {} eligible entrants with {} tickets; re-running the rules gives {eligible} with {}",
            lock.eligible, lock.total_tickets, tally.evaluation.total_tickets
        ));
    }
    if lock.merkle_root != tally.merkle_root {
        return Some(format!(
            "the lock commits to Merkle root {}, the eligible list gives {}",
            lock.merkle_root, tally.merkle_root
        ));
    }
    None
}

/// Executes a locked draw: verifies the lock against its entries, verifies
/// the randomness, draws and signs the execution receipt.
///
/// Fails if the bundle is already executed, the lock is not signed by
/// `signer`, the lock does not match its entries, the randomness does not
/// verify, or `executed_at` is before the randomness could exist.
pub fn execute(
    bundle: &ParsedBundle<'_>,
    realised: Realised,
    executed_at: Timestamp,
    signer: &dyn Sign,
) -> Result<BuiltBundle, DrawError> {
    if bundle.execution.is_some() {
        return Err(DrawError::AlreadyExecuted);
    }
    if bundle.lock.key_id != signer.key_id() {
        return Err(DrawError::WrongSigningKey {
            lock_key: bundle.lock.key_id,
            given: signer.key_id(),
        });
    }
    let tally = check_lock(bundle)?;
    let lock = &bundle.lock.payload;
    check_time(lock.protocol, "executed_at", executed_at)?;
    let earliest = earliest_execution(lock);
    if executed_at < earliest {
        return Err(DrawError::TooEarly {
            executed_at,
            earliest,
        });
    }
    let lock_hash = bundle.lock.hash()?;
    let (selection, indices) = draw_indices(&lock_hash, lock, &realised, &tally.tickets)?;
    let mut picks = picks_for(bundle, &tally, &indices)?;
    let alternates = picks.split_off(lock.winners as usize);
    // The execution is of the lock's version: a lock made before an upgrade
    // is executed under the rules it was locked with.
    let payload = ExecutionPayload {
        protocol: lock.protocol,
        draw_id: lock.draw_id.clone(),
        lock_hash,
        randomness: realised,
        selection,
        winners: picks,
        alternates,
        executed_at,
    };
    Ok(BuiltBundle {
        fairdraw_bundle: BUNDLE_FORMAT,
        lock: bundle.lock.clone(),
        execution: Some(Signed::sign(payload, signer)?),
        // The lock's log proof, if the lock file has one, stays valid.
        log: bundle.log.as_ref().map(|l| crate::bundle::LogProofs {
            lock: l.lock.clone(),
            execution: None,
        }),
        collections: bundle
            .collections
            .iter()
            .map(|(k, v)| (k.clone(), (*v).to_owned()))
            .collect(),
    })
}

/// The picks for drawn leaf indices, with each entrant's first counted entry.
fn picks_for(
    bundle: &ParsedBundle<'_>,
    tally: &Tally<'_>,
    indices: &[u64],
) -> Result<Vec<Pick>, DrawError> {
    let eligible = &tally.evaluation.eligible;
    let wanted: BTreeMap<u64, usize> = indices
        .iter()
        .enumerate()
        .map(|(rank, &leaf)| (eligible[leaf as usize].entry_index, rank))
        .collect();
    let mut entries: Vec<Option<OwnedEntry>> = vec![None; indices.len()];
    let mut position = 0u64;
    bundle
        .collections
        .for_each(bundle.lock.payload.rules.primary_collection(), &mut |e| {
            if let Some(&rank) = wanted.get(&position) {
                entries[rank] = Some(e.into_owned());
            }
            position += 1;
            Ok(())
        })?;
    indices
        .iter()
        .zip(entries)
        .map(|(&leaf, entry)| {
            let entry = entry
                .ok_or_else(|| DrawError::MissingLeaf("a winner's entry is missing".into()))?;
            Ok(Pick {
                leaf_index: leaf,
                tickets: eligible[leaf as usize].tickets,
                entry,
            })
        })
        .collect()
}
