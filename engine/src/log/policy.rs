//! A trust policy, and the check of a log proof against it.
//!
//! The policy is a small JSON document:
//!
//! ```json
//! {
//!   "log": "log.example/fairdraw+8f2b4c1d+AUFB...",
//!   "witnesses": ["witness.example/w1+0a1b2c3d+BEJC...", "..."],
//!   "quorum": 1
//! }
//! ```
//!
//! `log` is the log's Ed25519 verifier key (type `0x01`), `witnesses` the
//! trusted witnesses' cosignature keys (type `0x04`) and `quorum` how many
//! distinct trusted witnesses must have cosigned. `origin` may name the
//! checkpoint origin when it is not the log key's name.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::checkpoint::verify_checkpoint;
use super::note::{SignatureType, VerifierKey};
use super::proof::verify_inclusion;
use super::tlog_proof::LogProof;
use super::{LogError, MAX_POLICY_BYTES, MAX_WITNESSES};
use crate::encoding::Hash32;
use crate::time::Timestamp;

/// Which log and witnesses a verifier trusts, and how many witnesses must
/// agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    /// The checkpoint origin expected; the log key's name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The log's Ed25519 verifier key (signature type `0x01`).
    pub log: VerifierKey,
    /// The trusted witnesses' cosignature keys (signature type `0x04`).
    pub witnesses: Vec<VerifierKey>,
    /// Distinct trusted witnesses that must have cosigned.
    pub quorum: usize,
}

impl TrustPolicy {
    /// Parses and checks a policy (see [`TrustPolicy::check`]).
    pub fn from_json(bytes: &[u8]) -> Result<Self, LogError> {
        if bytes.len() > MAX_POLICY_BYTES {
            return Err(LogError::TooLarge {
                what: "the trust policy",
                size: bytes.len(),
                max: MAX_POLICY_BYTES,
            });
        }
        let policy: TrustPolicy =
            serde_json::from_slice(bytes).map_err(|e| LogError::MalformedPolicy(e.to_string()))?;
        policy.check()?;
        Ok(policy)
    }

    /// The policy as pretty JSON.
    pub fn to_json(&self) -> String {
        // A struct of strings and a number always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks that the policy can be met: the log key is of type `0x01`,
    /// every witness key of type `0x04`, no witness listed twice (by name
    /// and key id), at most [`MAX_WITNESSES`] witnesses, and a quorum no
    /// larger than the number of witnesses.
    pub fn check(&self) -> Result<(), LogError> {
        let bad = |m: String| Err(LogError::MalformedPolicy(m));
        if self.log.signature_type() != SignatureType::Ed25519 {
            return bad(format!(
                "the log key {} is not an Ed25519 (type 0x01) key",
                self.log
            ));
        }
        if self.witnesses.len() > MAX_WITNESSES {
            return Err(LogError::TooMany {
                what: "witnesses in the trust policy",
                count: self.witnesses.len(),
                max: MAX_WITNESSES,
            });
        }
        let mut seen = BTreeSet::new();
        for w in &self.witnesses {
            if w.signature_type() != SignatureType::CosignatureV1 {
                return bad(format!(
                    "witness key {w} is not a cosignature (type 0x04) key"
                ));
            }
            if !seen.insert((w.name(), w.id())) {
                return bad(format!("witness key {w} is listed twice"));
            }
        }
        if self.quorum > self.witnesses.len() {
            return bad(format!(
                "the quorum {} is larger than the {} witness(es) listed",
                self.quorum,
                self.witnesses.len()
            ));
        }
        if self.origin.as_deref().is_some_and(str::is_empty) {
            return bad("the origin is empty".to_owned());
        }
        Ok(())
    }

    /// The checkpoint origin this policy expects.
    pub fn expected_origin(&self) -> &str {
        self.origin.as_deref().unwrap_or(self.log.name())
    }
}

/// What a verified log proof establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvidence {
    /// The log's origin.
    pub origin: String,
    /// The leaf's index in the log.
    pub index: u64,
    /// The size of the checkpointed tree.
    pub tree_size: u64,
    /// Its root hash.
    pub root: Hash32,
    /// The earliest cosignature time among the trusted witnesses that
    /// cosigned: the leaf existed no later than this. `None` only when no
    /// trusted witness cosigned (possible with a quorum of 0).
    pub witnessed_at: Option<Timestamp>,
    /// The time by which at least `quorum` trusted witnesses had cosigned:
    /// the `quorum`-th earliest of their cosignature times (each witness
    /// counted once, at its earliest line). Unlike
    /// [`LogEvidence::witnessed_at`], one dishonest witness cannot move it
    /// earlier. `None` when the quorum is 0.
    pub quorum_witnessed_at: Option<Timestamp>,
    /// The names of the trusted witnesses whose cosignature verified, in
    /// policy order.
    pub witnesses: Vec<String>,
}

/// Checks that `leaf` (an RFC 6962 leaf hash) is in a checkpoint signed by
/// the policy's log and cosigned by at least `quorum` of its witnesses.
///
/// In order, it fails with:
/// - [`LogError::MalformedPolicy`] for a policy that cannot be met;
/// - [`LogError::LogSignatureMissing`] / [`LogError::LogSignatureBad`]
///   when no line is from the log key, or one does not verify;
/// - [`LogError::MalformedCheckpoint`] for a note text that is not a
///   checkpoint, [`LogError::OriginMismatch`] for another log's origin;
/// - [`LogError::MalformedCosignature`] / [`LogError::WitnessSignatureBad`]
///   when a cosignature line from a trusted witness is malformed or does
///   not verify (lines from keys not in the policy are ignored, and not
///   counted);
/// - [`LogError::QuorumNotMet`] when fewer distinct trusted witnesses
///   cosigned than the quorum;
/// - [`LogError::TooMany`], [`LogError::IndexOutOfRange`] or
///   [`LogError::InclusionProofWrong`] for an inclusion proof that does
///   not lead from the leaf to the checkpoint's root.
///
/// A failure of any trusted signature rejects the whole proof, as C2SP
/// signed-note recommends: a log or witness key that signs garbage is a
/// finding, not noise.
pub fn verify_log_proof(
    policy: &TrustPolicy,
    leaf: &Hash32,
    proof: &LogProof,
) -> Result<LogEvidence, LogError> {
    policy.check()?;
    let note = &proof.checkpoint;
    let checkpoint = verify_checkpoint(note, &policy.log)?;
    let expected = policy.expected_origin();
    if checkpoint.origin != expected {
        return Err(LogError::OriginMismatch {
            found: checkpoint.origin,
            expected: expected.to_owned(),
        });
    }
    let mut times = Vec::new();
    let mut witnesses = Vec::new();
    for w in &policy.witnesses {
        let mut earliest: Option<Timestamp> = None;
        for sig in note.signatures().iter().filter(|s| w.matches(s)) {
            if let Some(t) = w.verify(note.text(), sig)? {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        }
        if let Some(t) = earliest {
            times.push(t);
            witnesses.push(w.name().to_owned());
        }
    }
    times.sort_unstable();
    if witnesses.len() < policy.quorum {
        return Err(LogError::QuorumNotMet {
            have: witnesses.len(),
            need: policy.quorum,
        });
    }
    verify_inclusion(
        leaf,
        proof.index,
        checkpoint.size,
        &proof.path,
        &checkpoint.root,
    )?;
    Ok(LogEvidence {
        origin: checkpoint.origin,
        index: proof.index,
        tree_size: checkpoint.size,
        root: checkpoint.root,
        witnessed_at: times.first().copied(),
        quorum_witnessed_at: policy
            .quorum
            .checked_sub(1)
            .and_then(|i| times.get(i).copied()),
        witnesses,
    })
}
