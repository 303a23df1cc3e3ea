//! C2SP `tlog-cosignature` v1: a witness's timestamped Ed25519 cosignature
//! of a checkpoint.
//!
//! The key id uses signature type `0x04`. The signature line holds
//! `key id || u64_be(timestamp) || Ed25519 signature` and the signed message
//! is
//!
//! ```text
//! cosignature/v1
//! time <timestamp, ASCII decimal>
//! <the checkpoint note text>
//! ```
//!
//! A cosignature says that, at that time, this was the largest tree of the
//! log the witness had seen consistent with its history: the time is an
//! upper bound, set by a party other than the log, on when the tree (and so
//! every leaf in it) existed.

use super::checkpoint::Checkpoint;
use super::note::{Note, NoteSignature, SignatureType, VerifierKey};
use super::{LogError, parse_decimal};
use crate::receipt::Sign;

/// The largest cosignature time allowed, `2^63 − 1`.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The exact bytes a v1 cosignature of a note with text `text` at `time`
/// covers: `cosignature/v1\ntime <time>\n` followed by the text.
pub fn cosignature_message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

/// Splits a cosignature's bytes (after the key id) into its time and its
/// 64-byte Ed25519 signature.
pub(crate) fn split<'a>(name: &str, raw: &'a [u8]) -> Result<(u64, &'a [u8]), LogError> {
    if raw.len() != 8 + 64 {
        return Err(LogError::MalformedCosignature {
            name: name.to_owned(),
            message: format!(
                "a timestamped Ed25519 signature is 72 bytes, this one is {}",
                raw.len()
            ),
        });
    }
    let (t, sig) = raw.split_at(8);
    let mut be = [0u8; 8];
    be.copy_from_slice(t);
    let time = u64::from_be_bytes(be);
    if time > MAX_TIMESTAMP {
        return Err(LogError::MalformedCosignature {
            name: name.to_owned(),
            message: format!("timestamp {time} is above 2^63 - 1"),
        });
    }
    Ok((time, sig))
}

/// Cosigns a checkpoint note as witness `name` at `time` (Unix seconds,
/// given by the caller: the engine reads no clock), appending the
/// cosignature line.
///
/// The note text must be a well-formed checkpoint. The cosignature is
/// checked with `verify_strict` before it is added. A witness calls this
/// only after it has checked the log's signature and the consistency proof
/// from the last checkpoint it cosigned (C2SP tlog-witness).
pub fn cosign(note: &mut Note, name: &str, time: u64, signer: &dyn Sign) -> Result<(), LogError> {
    Checkpoint::parse(note.text())?;
    if time > MAX_TIMESTAMP {
        return Err(LogError::MalformedCosignature {
            name: name.to_owned(),
            message: format!("timestamp {time} is above 2^63 - 1"),
        });
    }
    let key = VerifierKey::for_signer(name, SignatureType::CosignatureV1, signer)?;
    let signature = signer
        .sign_message(&cosignature_message(note.text(), time))
        .map_err(|e| LogError::Signer(e.to_string()))?;
    let mut raw = Vec::with_capacity(72);
    raw.extend_from_slice(&time.to_be_bytes());
    raw.extend_from_slice(&signature);
    let sig = NoteSignature {
        name: name.to_owned(),
        key_id: key.id(),
        signature: raw,
    };
    key.verify(note.text(), &sig)
        .map_err(|_| LogError::Signer("the cosignature returned does not verify".to_owned()))?;
    note.add_signature(sig)
}

/// Reads the time line of a `cosignature/v1` message (for tools that
/// receive the message itself rather than a note), strictly: no leading
/// zero, no sign, at most `2^63 − 1`. Returns the time and the note text.
pub fn parse_cosignature_message(msg: &str) -> Result<(u64, &str), LogError> {
    let bad = |m: &str| LogError::MalformedCosignature {
        name: String::new(),
        message: m.to_owned(),
    };
    let rest = msg
        .strip_prefix("cosignature/v1\ntime ")
        .ok_or_else(|| bad("the message does not start with cosignature/v1 and a time line"))?;
    let (t, text) = rest
        .split_once('\n')
        .ok_or_else(|| bad("the time line does not end in a newline"))?;
    let time = parse_decimal(t)
        .filter(|&t| t <= MAX_TIMESTAMP)
        .ok_or_else(|| bad("the time is not a decimal of at most 2^63 - 1 without leading zero"))?;
    Ok((time, text))
}
