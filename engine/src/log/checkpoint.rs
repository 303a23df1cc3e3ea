//! C2SP `tlog-checkpoint`: the note text of a log's signed tree head.
//!
//! ```text
//! <origin>
//! <tree size, ASCII decimal, no leading zero>
//! <root hash, base64>
//! [<extension line>...]
//! ```

use super::note::{Note, VerifierKey};
use super::{LogError, MAX_LINE_BYTES, b64_decode, b64_encode, parse_decimal};
use crate::encoding::Hash32;

/// A checkpoint: a log's origin, tree size and RFC 6962 root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `log.example/fairdraw`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root of the first `size` leaves.
    pub root: Hash32,
    /// Opaque extension lines, each non-empty (not recommended by C2SP).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines. Fails if the origin is empty,
    /// holds a newline or control character, or is longer than a line may be.
    pub fn new(origin: &str, size: u64, root: Hash32) -> Result<Self, LogError> {
        let c = Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        };
        // One code path decides what is well formed.
        Checkpoint::parse(&c.to_text())?;
        Ok(c)
    }

    /// Parses a note text as a checkpoint, strictly: at least three
    /// non-empty lines, each ending in a newline; a tree size with no sign
    /// or leading zero that fits in 64 bits; a root hash that is canonical
    /// base64 of exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self, LogError> {
        let bad = |m: String| LogError::MalformedCheckpoint(m);
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("the text does not end in a newline".to_owned()))?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(bad(format!(
                "{} line(s), a checkpoint has at least three (origin, size, root hash)",
                lines.len()
            )));
        }
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(bad(format!("line {} is empty", i + 1)));
        }
        if let Some(i) = lines.iter().position(|l| l.len() > MAX_LINE_BYTES) {
            return Err(LogError::LineTooLong {
                line: i + 1,
                len: lines[i].len(),
                max: MAX_LINE_BYTES,
            });
        }
        if let Some(c) = body.chars().find(|&c| c < ' ' && c != '\n') {
            return Err(bad(format!(
                "control character U+{:04X} in the text",
                u32::from(c)
            )));
        }
        let size = parse_decimal(lines[1]).ok_or_else(|| {
            bad(format!(
                "tree size {:?} is not a decimal without sign or leading zero that fits in 64 bits",
                lines[1]
            ))
        })?;
        let root: [u8; 32] = b64_decode(lines[2])
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| {
                bad(format!(
                    "root hash {:?} is not canonical base64 of 32 bytes",
                    lines[2]
                ))
            })?;
        Ok(Checkpoint {
            origin: lines[0].to_owned(),
            size,
            root: Hash32(root),
            extensions: lines[3..].iter().map(|l| (*l).to_owned()).collect(),
        })
    }

    /// The note text: origin, size, root hash and extension lines, each
    /// followed by a newline.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64_encode(&self.root.0)
        );
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }
}

/// Checks that `note` is a checkpoint signed by the log key `log` and
/// returns the checkpoint.
///
/// Signature lines from other keys are ignored (C2SP signed-note); every
/// line from the log key must verify. Fails with
/// [`LogError::LogSignatureMissing`] when no line is from the log key,
/// [`LogError::LogSignatureBad`] when one does not verify, or a
/// [`LogError::MalformedCheckpoint`] when the text is not a checkpoint. The
/// origin is not compared with anything here: see
/// [`crate::log::verify_log_proof`].
pub fn verify_checkpoint(note: &Note, log: &VerifierKey) -> Result<Checkpoint, LogError> {
    let mut found = false;
    for sig in note.signatures().iter().filter(|s| log.matches(s)) {
        log.verify(note.text(), sig)?;
        found = true;
    }
    if !found {
        return Err(LogError::LogSignatureMissing(log.to_vkey()));
    }
    Checkpoint::parse(note.text())
}
