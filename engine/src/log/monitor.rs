//! What a monitor reads in a fairdraw log: the C2SP tlog-tiles entry
//! bundles, and per signing key the draws they show, with the findings that
//! mean an organiser hid something.
//!
//! A lock receipt is logged before the draw's randomness exists, so an
//! organiser who locks, looks at the outcome and locks the same draw again
//! leaves two lock entries for one draw id under one key: a *hidden
//! re-draw*, visible to anyone who reads the whole log. An execution with
//! no lock before it shows a lock that was kept out of the log.
//!
//! ```
//! use fairdraw_engine::encoding::Hash32;
//! use fairdraw_engine::log::entry::{EntryType, LogEntry};
//! use fairdraw_engine::log::monitor::{Finding, analyse};
//!
//! let entry = |t, draw: &str, h: u8| LogEntry {
//!     r#type: t,
//!     draw_id: draw.into(),
//!     key_id: Hash32([1; 32]),
//!     hash: Hash32([h; 32]),
//!     sequence: None,
//! };
//! let report = analyse(&[
//!     entry(EntryType::Lock, "spring", 1),
//!     entry(EntryType::Lock, "spring", 2),
//!     entry(EntryType::Execution, "spring", 3),
//! ]);
//! assert!(matches!(&report.findings[0], Finding::LockedTwice { draw_id, .. } if draw_id == "spring"));
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use super::LogError;
use super::entry::{EntryType, LogEntry};
use crate::encoding::Hash32;

/// Entries in a full tile (C2SP tlog-tiles).
pub const TILE_WIDTH: u64 = 256;

/// The C2SP tlog-tiles encoding of a tile index: groups of three digits,
/// every group but the last prefixed with `x` (`1234067` → `x001/x234/067`).
///
/// ```
/// use fairdraw_engine::log::monitor::tile_index_path;
/// assert_eq!(tile_index_path(1_234_067), "x001/x234/067");
/// assert_eq!(tile_index_path(7), "007");
/// ```
pub fn tile_index_path(n: u64) -> String {
    let digits = n.to_string();
    let pad = (3 - digits.len() % 3) % 3;
    let digits = format!("{}{digits}", "0".repeat(pad));
    let groups: Vec<&str> = digits
        .as_bytes()
        .chunks(3)
        .map(|c| std::str::from_utf8(c).unwrap_or("000"))
        .collect();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                (*g).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// How many entries bundle `n` of a tree of `size` entries holds:
/// [`TILE_WIDTH`] when full, fewer for the last, partial one.
pub fn entry_bundle_width(n: u64, size: u64) -> u64 {
    size.saturating_sub(n * TILE_WIDTH).min(TILE_WIDTH)
}

/// The path of entry bundle `n` of a tree of `size` entries, below the
/// log's prefix: `tile/entries/<N>` when full, `…/<N>.p/<W>` when partial.
pub fn entry_bundle_path(n: u64, size: u64) -> String {
    let width = entry_bundle_width(n, size);
    let base = format!("tile/entries/{}", tile_index_path(n));
    if width == TILE_WIDTH {
        base
    } else {
        format!("{base}.p/{width}")
    }
}

/// Splits an entry bundle (each entry a big-endian `u16` length and its
/// bytes) into its entries; `expected` is the bundle's width.
pub fn parse_entry_bundle(bytes: &[u8], expected: u64) -> Result<Vec<&[u8]>, LogError> {
    let bad = |m: String| LogError::MalformedEntry(format!("entry bundle: {m}"));
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(bad("a length cut short".into()));
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(bad(format!(
                "an entry of {len} bytes with {} left",
                tail.len()
            )));
        }
        out.push(&tail[..len]);
        rest = &tail[len..];
    }
    if out.len() as u64 != expected {
        return Err(bad(format!(
            "{} entries where {expected} were expected",
            out.len()
        )));
    }
    Ok(out)
}

/// Something in the log that an honest organiser never leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// Two or more lock receipts for one draw id under one key: the draw
    /// was locked again (after its outcome could be seen).
    LockedTwice {
        /// The signing key's id.
        key_id: Hash32,
        /// The draw.
        draw_id: String,
        /// The log indexes of its lock entries.
        indexes: Vec<u64>,
    },
    /// A key's lock sequence numbers skip some: those draws were locked
    /// (their numbers were taken) and kept out of the log.
    SequenceGap {
        /// The signing key's id.
        key_id: Hash32,
        /// The missing numbers, ascending (at most 100 listed).
        missing: Vec<u64>,
    },
    /// One sequence number on the locks of two different draws of a key.
    SequenceReused {
        /// The signing key's id.
        key_id: Hash32,
        /// The number.
        sequence: u64,
        /// The draws that carry it.
        draw_ids: Vec<String>,
    },
    /// An execution receipt whose draw has no lock earlier in the log.
    ExecutedWithoutLoggedLock {
        /// The signing key's id.
        key_id: Hash32,
        /// The draw.
        draw_id: String,
        /// The execution's log index.
        index: u64,
    },
}

/// One signing key's draws, as the log shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    /// Draw ids with a lock entry.
    pub locked: u64,
    /// Draw ids with an execution entry.
    pub executed: u64,
    /// Draw ids locked and not (yet) executed.
    pub pending: Vec<String>,
}

/// What [`analyse`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MonitorReport {
    /// Per signing key id (hex), its draws.
    pub keys: BTreeMap<String, KeySummary>,
    /// The findings, in log order.
    pub findings: Vec<Finding>,
}

/// Reads every entry of a log, in index order.
pub fn analyse(entries: &[LogEntry]) -> MonitorReport {
    let mut locks: BTreeMap<(Hash32, &str), Vec<u64>> = BTreeMap::new();
    let mut executed: BTreeMap<(Hash32, &str), u64> = BTreeMap::new();
    let mut report = MonitorReport::default();
    for (i, e) in (0u64..).zip(entries) {
        let key = (e.key_id, e.draw_id.as_str());
        match e.r#type {
            EntryType::Lock => {
                let seen = locks.entry(key).or_default();
                seen.push(i);
                if seen.len() == 2 {
                    report.findings.push(Finding::LockedTwice {
                        key_id: e.key_id,
                        draw_id: e.draw_id.clone(),
                        indexes: seen.clone(),
                    });
                } else if let Some(Finding::LockedTwice { indexes, .. }) =
                    report.findings.iter_mut().find(|f| {
                        matches!(f, Finding::LockedTwice { key_id, draw_id, .. }
                            if *key_id == e.key_id && *draw_id == e.draw_id)
                    })
                {
                    indexes.push(i);
                }
            }
            EntryType::Execution => {
                if !locks.contains_key(&key) {
                    report.findings.push(Finding::ExecutedWithoutLoggedLock {
                        key_id: e.key_id,
                        draw_id: e.draw_id.clone(),
                        index: i,
                    });
                }
                executed.entry(key).or_insert(i);
            }
        }
    }
    // Sequence numbers per key: every number from 1 to the highest seen
    // is a lock that should be in the log.
    let mut numbers: BTreeMap<Hash32, BTreeMap<u64, Vec<&str>>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.r#type == EntryType::Lock) {
        if let Some(n) = e.sequence {
            let draws = numbers.entry(e.key_id).or_default().entry(n).or_default();
            if !draws.contains(&e.draw_id.as_str()) {
                draws.push(&e.draw_id);
            }
        }
    }
    for (key_id, seen) in &numbers {
        let highest = seen.keys().next_back().copied().unwrap_or(0);
        let missing: Vec<u64> = (1..=highest)
            .filter(|n| !seen.contains_key(n))
            .take(100)
            .collect();
        if !missing.is_empty() {
            report.findings.push(Finding::SequenceGap {
                key_id: *key_id,
                missing,
            });
        }
        for (n, draws) in seen.iter().filter(|(_, d)| d.len() > 1) {
            report.findings.push(Finding::SequenceReused {
                key_id: *key_id,
                sequence: *n,
                draw_ids: draws.iter().map(|d| (*d).to_owned()).collect(),
            });
        }
    }
    for (key_id, draw_id) in locks.keys() {
        let s = report.keys.entry(key_id.to_string()).or_default();
        s.locked += 1;
        if !executed.contains_key(&(*key_id, *draw_id)) {
            s.pending.push((*draw_id).to_owned());
        }
    }
    for (key_id, _) in executed.keys() {
        report.keys.entry(key_id.to_string()).or_default().executed += 1;
    }
    report
}
