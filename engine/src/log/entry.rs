//! What a fairdraw log holds: one small entry per signed receipt.
//!
//! A lock's entry carries the organisation's draw sequence number when the
//! lock has one, so a monitor sees a gap (a draw locked and never logged).
//!
//! An entry names the receipt by its hash ([`Signed::hash`]) with the draw id
//! and the signing key's id, so a monitor reading the log sees every draw of
//! every organisation (two locks for one draw id, a lock never executed)
//! without fetching bundles, and a verifier recomputes the entry of a
//! bundle's receipt from the bundle alone. Entries are the JCS bytes of a
//! [`LogEntry`], a few hundred bytes, well inside the 64 KiB a C2SP
//! tlog-tiles entry bundle allows (a whole receipt may not be).

use serde::{Deserialize, Serialize};

use super::LogError;
use crate::bundle::{ExecutionPayload, LockPayload};
use crate::encoding::Hash32;
use crate::merkle::leaf_hash;
use crate::receipt::{ReceiptError, Signed};

/// Largest entry accepted when parsing, in bytes.
pub const MAX_ENTRY_BYTES: usize = 1024;

/// Which kind of receipt an entry logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    /// A lock receipt.
    Lock,
    /// An execution receipt.
    Execution,
}

/// One log entry. Its bytes are its JCS serialisation, and its leaf hash
/// the RFC 6962 leaf hash of those bytes.
///
/// ```
/// use fairdraw_engine::encoding::Hash32;
/// use fairdraw_engine::log::entry::{EntryType, LogEntry};
///
/// let e = LogEntry {
///     r#type: EntryType::Lock,
///     draw_id: "acme-launch".into(),
///     key_id: Hash32([1; 32]),
///     hash: Hash32([2; 32]),
///     sequence: Some(7),
/// };
/// let bytes = e.to_bytes();
/// assert!(bytes.starts_with(br#"{"draw_id":"acme-launch","hash":"0202"#));
/// assert_eq!(LogEntry::parse(&bytes).unwrap(), e);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// The receipt's kind.
    pub r#type: EntryType,
    /// The draw id of the receipt.
    pub draw_id: String,
    /// The signing key's id (SHA-256 of the public key).
    pub key_id: Hash32,
    /// The receipt hash.
    pub hash: Hash32,
    /// A lock receipt's draw sequence number, when it has one
    /// ([`LockPayload::sequence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}

impl LogEntry {
    /// The entry of a lock receipt.
    pub fn lock(receipt: &Signed<LockPayload>) -> Result<LogEntry, ReceiptError> {
        Ok(LogEntry {
            r#type: EntryType::Lock,
            draw_id: receipt.payload.draw_id.clone(),
            key_id: receipt.key_id,
            hash: receipt.hash()?,
            sequence: receipt.payload.sequence,
        })
    }

    /// The entry of an execution receipt.
    pub fn execution(receipt: &Signed<ExecutionPayload>) -> Result<LogEntry, ReceiptError> {
        Ok(LogEntry {
            r#type: EntryType::Execution,
            draw_id: receipt.payload.draw_id.clone(),
            key_id: receipt.key_id,
            hash: receipt.hash()?,
            sequence: None,
        })
    }

    /// The entry's bytes: JCS (RFC 8785) of its JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings and hex digests only: JCS cannot fail on them.
        serde_jcs::to_vec(self).unwrap_or_default()
    }

    /// The RFC 6962 leaf hash of [`to_bytes`](LogEntry::to_bytes).
    pub fn leaf_hash(&self) -> Hash32 {
        leaf_hash(&self.to_bytes())
    }

    /// Parses entry bytes, refusing any spelling other than the canonical
    /// one (so one entry has one leaf hash).
    pub fn parse(bytes: &[u8]) -> Result<LogEntry, LogError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(LogError::TooLarge {
                what: "log entry",
                size: bytes.len(),
                max: MAX_ENTRY_BYTES,
            });
        }
        let entry: LogEntry =
            serde_json::from_slice(bytes).map_err(|e| LogError::MalformedEntry(e.to_string()))?;
        if entry.to_bytes() != bytes {
            return Err(LogError::MalformedEntry(
                "not in canonical form (JCS, RFC 8785)".into(),
            ));
        }
        Ok(entry)
    }
}
