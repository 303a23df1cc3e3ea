//! The pure verification core of fairdraw's transparency log (issue 14).
//!
//! A fairdraw log speaks the C2SP formats, so tools that fairdraw did not
//! write can read and witness it:
//!
//! - [`note`]: C2SP `signed-note` notes, Ed25519 verifier keys (`vkey`s),
//!   signing and strict verification;
//! - [`checkpoint`]: C2SP `tlog-checkpoint` note bodies;
//! - [`cosignature`]: C2SP `tlog-cosignature` v1 (timestamped Ed25519)
//!   witness cosignatures;
//! - [`proof`]: RFC 6962 / RFC 9162 inclusion and consistency proofs, made
//!   from a list of leaf hashes and checked against roots;
//! - [`tlog_proof`]: C2SP `tlog-proof` log proofs (leaf index, inclusion
//!   proof, cosigned checkpoint);
//! - [`entry`]: what the log holds, one small entry per signed receipt;
//! - [`policy`]: a trust policy (log key, witness keys, quorum) and
//!   [`verify_log_proof`], which says whether a leaf is in a checkpoint
//!   signed by the log and cosigned by enough trusted witnesses, and from
//!   when the earliest of them vouches for it.
//!
//! Everything here is a function of its arguments: no clock (cosignature
//! times come in as arguments), no I/O, no randomness. Hostile input is
//! bounded before any work is done: see the `MAX_*` constants.
//!
//! # Example: a log proof from end to end
//!
//! ```
//! use fairdraw_engine::log::{
//!     Checkpoint, LogProof, Note, SignatureType, TrustPolicy, VerifierKey, cosign,
//!     verify_log_proof,
//! };
//! use fairdraw_engine::merkle::{inclusion_proof, leaf_hash, root};
//! use fairdraw_engine::receipt::Signer;
//!
//! // The log holds three receipts.
//! let leaves: Vec<_> = [b"r0", b"r1", b"r2"].iter().map(|r| leaf_hash(*r)).collect();
//! let log = Signer::from_secret([1; 32]);
//! let witness = Signer::from_secret([2; 32]);
//!
//! // The log signs a checkpoint; a witness cosigns it at 1767225600.
//! let checkpoint = Checkpoint::new("log.example/fairdraw", 3, root(&leaves))?;
//! let mut note = Note::new(&checkpoint.to_text())?;
//! note.sign("log.example/fairdraw", &log)?;
//! cosign(&mut note, "witness.example/w1", 1_767_225_600, &witness)?;
//!
//! // The log hands out a proof for leaf 1.
//! let path = inclusion_proof(&leaves, 1).expect("index in range").path;
//! let text = LogProof::new(1, path, note).to_text();
//!
//! // A verifier with a trust policy checks it.
//! let policy = TrustPolicy {
//!     origin: None,
//!     log: VerifierKey::for_signer("log.example/fairdraw", SignatureType::Ed25519, &log)?,
//!     witnesses: vec![VerifierKey::for_signer(
//!         "witness.example/w1",
//!         SignatureType::CosignatureV1,
//!         &witness,
//!     )?],
//!     quorum: 1,
//! };
//! let evidence = verify_log_proof(&policy, &leaves[1], &LogProof::parse(text.as_bytes())?)?;
//! assert_eq!((evidence.index, evidence.tree_size), (1, 3));
//! assert_eq!(evidence.witnessed_at.map(|t| t.unix()), Some(1_767_225_600));
//! # Ok::<(), fairdraw_engine::log::LogError>(())
//! ```

pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod monitor;
pub mod note;
pub mod policy;
pub mod proof;
pub mod tlog_proof;

pub use checkpoint::Checkpoint;
pub use cosignature::{cosign, cosignature_message};
pub use note::{Note, NoteSignature, SignatureType, VerifierKey};
pub use policy::{LogEvidence, TrustPolicy, verify_log_proof};
pub use proof::{consistency_proof, verify_consistency, verify_inclusion};
pub use tlog_proof::LogProof;

/// The largest signed note accepted, in bytes (text and signature lines).
///
/// A checkpoint with a dozen cosignatures is under 2 KiB.
pub const MAX_NOTE_BYTES: usize = 16 * 1024;

/// The most signature lines a note may carry. C2SP signed-note asks
/// verifiers to accept at least 16.
pub const MAX_SIGNATURES: usize = 64;

/// The longest line accepted in a note or a log proof, in bytes (without
/// its newline).
pub const MAX_LINE_BYTES: usize = 1024;

/// The most hashes an inclusion proof may hold: a tree of at most `2^63`
/// leaves needs at most 63.
pub const MAX_INCLUSION_HASHES: usize = 63;

/// The most hashes a consistency proof may hold: at most 64 for a tree of
/// fewer than `2^64` leaves.
pub const MAX_CONSISTENCY_HASHES: usize = 64;

/// The most witnesses a trust policy may list.
pub const MAX_WITNESSES: usize = 64;

/// The largest log proof accepted, in bytes: a note of [`MAX_NOTE_BYTES`]
/// plus the header lines and [`MAX_INCLUSION_HASHES`] hashes.
pub const MAX_LOG_PROOF_BYTES: usize = MAX_NOTE_BYTES + 2 * MAX_LINE_BYTES + 64 * 45;

/// The largest trust policy accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// Why a note, checkpoint, cosignature, proof or policy was refused.
///
/// Each message names the problem in the terms of the C2SP specifications.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// An input is larger than the cap for its kind.
    #[error("{what} is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Too many items (signature lines, proof hashes, witnesses).
    #[error("{what}: {count} is more than the {max} accepted")]
    TooMany {
        /// What there were too many of.
        what: &'static str,
        /// How many there were (or the first count past the cap).
        count: usize,
        /// The cap.
        max: usize,
    },
    /// A line is longer than [`MAX_LINE_BYTES`].
    #[error("line {line} is {len} bytes, more than the {max} accepted")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The bytes are not a well-formed signed note.
    #[error("malformed signed note: {0}")]
    MalformedNote(String),
    /// A verifier key (`name+hex(id)+base64(type||key)`) is malformed.
    #[error("malformed verifier key: {0}")]
    MalformedKey(String),
    /// The note text is not a well-formed checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// A cosignature line is not a well-formed timestamped signature.
    #[error("malformed cosignature from {name}: {message}")]
    MalformedCosignature {
        /// The cosigner's key name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The bytes are not a well-formed C2SP tlog-proof.
    #[error("malformed log proof: {0}")]
    MalformedLogProof(String),
    /// A log entry that does not parse or is not canonical.
    #[error("malformed log entry: {0}")]
    MalformedEntry(String),
    /// The trust policy is not of the documented shape, or cannot be met.
    #[error("malformed trust policy: {0}")]
    MalformedPolicy(String),
    /// No signature line of the note is from the log's key.
    #[error("the checkpoint carries no signature from the log key {0}")]
    LogSignatureMissing(String),
    /// The log key's signature line does not verify.
    #[error("the log signature of {0} on the checkpoint does not verify")]
    LogSignatureBad(String),
    /// A trusted witness's cosignature does not verify.
    #[error("the cosignature of trusted witness {0} does not verify")]
    WitnessSignatureBad(String),
    /// The checkpoint's origin is not the log's.
    #[error("the checkpoint's origin is {found:?}, the trust policy expects {expected:?}")]
    OriginMismatch {
        /// Origin in the checkpoint.
        found: String,
        /// Origin the policy expects.
        expected: String,
    },
    /// Fewer trusted witnesses cosigned than the policy's quorum.
    #[error(
        "{have} trusted witness(es) cosigned the checkpoint, the policy needs {need} (signatures from keys not in the policy are ignored)"
    )]
    QuorumNotMet {
        /// Distinct trusted witnesses whose cosignature verified.
        have: usize,
        /// The quorum.
        need: usize,
    },
    /// The leaf index is not below the checkpoint's tree size.
    #[error("leaf index {index} is outside the checkpoint's tree of {size} leaves")]
    IndexOutOfRange {
        /// Leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// The inclusion proof does not lead from the leaf to the root.
    #[error(
        "the inclusion proof does not lead from leaf {index} to the root of the checkpoint of size {size}"
    )]
    InclusionProofWrong {
        /// Leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// The consistency proof does not link the two trees.
    #[error("the consistency proof from size {old_size} to size {new_size} is wrong: {reason}")]
    ConsistencyProofWrong {
        /// Size of the older tree.
        old_size: u64,
        /// Size of the newer tree.
        new_size: u64,
        /// What failed.
        reason: &'static str,
    },
    /// A signer returned a signature that does not verify, or failed.
    #[error("the signer failed: {0}")]
    Signer(String),
}

/// Strict RFC 4648 §4 base64 (padding and trailing bits canonical).
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// RFC 4648 §4 base64 with padding.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Parses an ASCII decimal with no sign and no leading zero (except `0`).
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}
