//! The proof bundle file format (PROTOCOL.md §10).
//!
//! A bundle is one JSON object holding the signed lock receipt, the signed
//! execution receipt (absent in a lock file) and the raw entries of every
//! collection. Collections stay as raw JSON text until they are streamed
//! through the rules, so a bundle of millions of entries is never held twice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::encoding::Hash32;
use crate::entry::Entry;
use crate::randomness::{Declared, Realised};
use crate::receipt::{Payload, Signed};
use crate::rules::Rules;
use crate::time::Timestamp;

/// The bundle format version this engine reads and writes.
pub const BUNDLE_FORMAT: u32 = 1;

/// The most collections a bundle, and a lock receipt, may hold
/// (PROTOCOL.md §9.4, every protocol version).
pub const MAX_COLLECTIONS: usize = 32;

/// A proof bundle, generic over how its collections are held: `&RawValue`
/// when parsed from bytes, `Box<RawValue>` when built.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle<C> {
    /// Format version, [`BUNDLE_FORMAT`].
    pub fairdraw_bundle: u32,
    /// The signed lock receipt.
    pub lock: Signed<LockPayload>,
    /// The signed execution receipt; absent until the draw is executed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<Signed<ExecutionPayload>>,
    /// Protocol 2: proofs that the receipts are in a transparency log
    /// (PROTOCOL.md §14); absent when the draw was not logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogProofs>,
    /// Raw entries per collection name: a JSON array of entries without
    /// their `collection` field.
    #[serde(
        deserialize_with = "unique_keys",
        bound(deserialize = "C: Deserialize<'de>")
    )]
    pub collections: BTreeMap<String, C>,
}

/// The log proofs a bundle carries (PROTOCOL.md §14): each a C2SP
/// `tlog-proof` text ([`crate::log::LogProof`]) for the receipt's
/// [`crate::log::entry::LogEntry`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogProofs {
    /// The lock receipt's log proof.
    pub lock: String,
    /// The execution receipt's log proof, once it is logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

/// A bundle parsed from bytes, borrowing its collections.
pub type ParsedBundle<'a> = Bundle<&'a RawValue>;

/// A bundle built in memory.
pub type BuiltBundle = Bundle<Box<RawValue>>;

/// What the lock receipt commits to (PROTOCOL.md §9.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockPayload {
    /// Protocol version.
    pub protocol: u32,
    /// The draw's id.
    pub draw_id: String,
    /// Human title of the draw.
    pub title: String,
    /// The contest rules as applied.
    pub rules: Rules,
    /// Per collection: its entry count and hash.
    #[serde(deserialize_with = "unique_keys")]
    pub collections: BTreeMap<String, CollectionCommitment>,
    /// Number of eligible entrants (leaves).
    pub eligible: u64,
    /// Sum of all tickets.
    pub total_tickets: u64,
    /// RFC 6962 root over the eligible leaves.
    pub merkle_root: Hash32,
    /// Number of winners.
    pub winners: u32,
    /// Number of ordered alternates.
    pub alternates: u32,
    /// The randomness, declared before it exists.
    pub randomness: Declared,
    /// When the entries were locked.
    pub locked_at: Timestamp,
    /// Protocol 2, optional: the signing organisation's draw number, gap-free
    /// from 1, set by a service that keeps one counter per organisation (the
    /// hosted API). In a transparency log, draw n+1 of a key without draw n
    /// shows a draw that was locked and hidden (PROTOCOL.md §9.1, §14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}

impl Payload for LockPayload {
    const CONTEXT: &'static str = "fairdraw/v1/lock";
}

/// A collection's entry count and hash (PROTOCOL.md §4.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionCommitment {
    /// Number of raw entries.
    pub entries: u64,
    /// The collection hash.
    pub sha256: Hash32,
}

/// What the execution receipt records (PROTOCOL.md §9.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionPayload {
    /// Protocol version.
    pub protocol: u32,
    /// The draw's id, as in the lock.
    pub draw_id: String,
    /// Hash of the lock receipt this execution follows.
    pub lock_hash: Hash32,
    /// The realised randomness (the beacon itself, the revealed secret or
    /// the RFC 3797 values).
    pub randomness: Realised,
    /// How ticket numbers were made.
    pub selection: Selection,
    /// Winners in draw order.
    pub winners: Vec<Pick>,
    /// Alternates in order.
    pub alternates: Vec<Pick>,
    /// When the draw was executed.
    pub executed_at: Timestamp,
}

impl Payload for ExecutionPayload {
    const CONTEXT: &'static str = "fairdraw/v1/execution";
}

/// The selection algorithm and its input (PROTOCOL.md §8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case", deny_unknown_fields)]
pub enum Selection {
    /// ChaCha20 keystream keyed by the seed.
    Chacha20 {
        /// The derived seed.
        seed: Hash32,
    },
    /// RFC 3797's MD5 over the key string.
    Rfc3797 {
        /// The canonical RFC 3797 key string.
        key: String,
    },
}

/// One selected entrant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pick {
    /// Index of the entrant's leaf in the eligible list.
    pub leaf_index: u64,
    /// The entrant's tickets.
    pub tickets: u64,
    /// The entrant's first counted entry, as in the raw collection.
    #[serde(deserialize_with = "crate::entry::deserialize_owned")]
    pub entry: Entry<'static>,
}

/// Deserialises a map, refusing a repeated key instead of keeping the last
/// one: a reader that kept the first would see a different bundle.
fn unique_keys<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Unique<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object with unique keys")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, V>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!("duplicate key {k:?}")));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique(std::marker::PhantomData))
}

impl<'a> ParsedBundle<'a> {
    /// Parses a bundle (or a lock file) without parsing its entries yet.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

impl<C: Serialize> Bundle<C> {
    /// The bundle as JSON: receipts indented, one entry per line.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("bundle fields serialise infallibly")
    }
}

/// Writes entries as a JSON array, one entry per line, without their
/// `collection` field (the bundle groups entries by collection).
pub fn collection_json(entries: &[Entry<'_>]) -> Box<RawValue> {
    let mut out = String::from("[");
    for (i, e) in entries.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        let e = Entry {
            collection: None,
            ..e.clone()
        };
        out.push_str(&serde_json::to_string(&e).expect("entries are strings and integers"));
    }
    out.push_str("\n]");
    RawValue::from_string(out).expect("serde_json output is valid JSON")
}
