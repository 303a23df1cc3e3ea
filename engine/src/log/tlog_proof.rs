//! C2SP `tlog-proof`: an offline-verifiable proof that a leaf is in a log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <leaf index>
//! [<base64 inclusion proof hash, bottom-up>...]
//! <blank line>
//! <the checkpoint signed note, verbatim>
//! ```

use super::note::Note;
use super::{
    LogError, MAX_INCLUSION_HASHES, MAX_LINE_BYTES, MAX_LOG_PROOF_BYTES, b64_decode, b64_encode,
    parse_decimal,
};
use crate::encoding::Hash32;

/// The first line of a log proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A log proof: leaf index, inclusion proof and the checkpoint note (with
/// its cosignatures).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogProof {
    /// Opaque, unauthenticated extra data (the `extra` line), if any.
    pub extra: Option<Vec<u8>>,
    /// 0-based index of the leaf.
    pub index: u64,
    /// The inclusion proof, bottom-up (RFC 6962 §2.1.1).
    pub path: Vec<Hash32>,
    /// The checkpoint, a signed note.
    pub checkpoint: Note,
}

impl LogProof {
    /// A proof without extra data.
    pub fn new(index: u64, path: Vec<Hash32>, checkpoint: Note) -> Self {
        LogProof {
            extra: None,
            index,
            path,
            checkpoint,
        }
    }

    /// Parses a log proof.
    ///
    /// The size ([`MAX_LOG_PROOF_BYTES`]), the line lengths and the number
    /// of proof hashes ([`MAX_INCLUSION_HASHES`]) are checked before any
    /// base64 is decoded. The checkpoint note is parsed but not verified:
    /// see [`crate::log::verify_log_proof`].
    pub fn parse(bytes: &[u8]) -> Result<Self, LogError> {
        if bytes.len() > MAX_LOG_PROOF_BYTES {
            return Err(LogError::TooLarge {
                what: "the log proof",
                size: bytes.len(),
                max: MAX_LOG_PROOF_BYTES,
            });
        }
        let bad = |m: String| LogError::MalformedLogProof(m);
        let s = std::str::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8: {e}")))?;
        let (head, note) = s.split_once("\n\n").ok_or_else(|| {
            bad("no blank line between the inclusion proof and the checkpoint".to_owned())
        })?;
        let lines: Vec<&str> = head.split('\n').collect();
        if let Some(i) = lines.iter().position(|l| l.len() > MAX_LINE_BYTES) {
            return Err(LogError::LineTooLong {
                line: i + 1,
                len: lines[i].len(),
                max: MAX_LINE_BYTES,
            });
        }
        let mut rest = lines.iter();
        if rest.next() != Some(&HEADER) {
            return Err(bad(format!("the first line is not {HEADER}")));
        }
        let mut line = rest.next().copied().unwrap_or_default();
        let extra = match line.strip_prefix("extra ") {
            Some(b64) => {
                let data = b64_decode(b64)
                    .ok_or_else(|| bad("the extra data is not canonical base64".to_owned()))?;
                line = rest.next().copied().unwrap_or_default();
                Some(data)
            }
            None => None,
        };
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or_else(|| {
                bad(format!(
                    "expected `index N` (decimal, no leading zero), found {line:?}"
                ))
            })?;
        let hashes: Vec<&str> = rest.copied().collect();
        if hashes.len() > MAX_INCLUSION_HASHES {
            return Err(LogError::TooMany {
                what: "inclusion proof hashes",
                count: hashes.len(),
                max: MAX_INCLUSION_HASHES,
            });
        }
        let path = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| {
                b64_decode(h)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(Hash32)
                    .ok_or_else(|| {
                        bad(format!(
                            "inclusion proof hash {} is not canonical base64 of 32 bytes",
                            i + 1
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let checkpoint = Note::parse(note.as_bytes())?;
        Ok(LogProof {
            extra,
            index,
            path,
            checkpoint,
        })
    }

    /// The proof's text form.
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", b64_encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.path {
            out.push_str(&b64_encode(&h.0));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint.to_text());
        out
    }
}
