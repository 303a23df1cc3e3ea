//! C2SP `signed-note`: a text signed by one or more keys.
//!
//! ```text
//! <text, ending in a newline>
//! <blank line>
//! — <key name> base64(4-byte key id || signature)
//! ```
//!
//! A key is named by its name and its 4-byte id, the first four bytes of
//! `SHA-256(name || 0x0A || type || public key)`. Verifier keys are written
//! as `name+hex(id)+base64(type || public key)`. Two signature types are
//! implemented: `0x01`, Ed25519 over the note text, and `0x04`, the
//! timestamped Ed25519 witness cosignatures of C2SP `tlog-cosignature`
//! ([`crate::log::cosignature`]). Every signature is checked with
//! `verify_strict`, which refuses small-order keys and non-canonical
//! signatures.

use std::fmt;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use super::{LogError, MAX_LINE_BYTES, MAX_NOTE_BYTES, MAX_SIGNATURES, b64_decode, b64_encode};
use crate::receipt::Sign;
use crate::time::Timestamp;

/// The signature types this engine implements (C2SP signed-note, "Signature
/// types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text (a log's checkpoint signature).
    Ed25519,
    /// `0x04`: a timestamped Ed25519 cosignature (C2SP tlog-cosignature v1).
    CosignatureV1,
}

impl SignatureType {
    /// The type's identifier byte.
    pub const fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::CosignatureV1 => 0x04,
        }
    }

    /// The type of identifier byte `b`, if this engine implements it.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(SignatureType::Ed25519),
            0x04 => Some(SignatureType::CosignatureV1),
            _ => None,
        }
    }
}

/// Whether `name` is a valid key name: non-empty, no Unicode space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < ' ')
}

/// The key id `SHA-256(name || 0x0A || type || public_key)[:4]`, big-endian.
pub fn key_id(name: &str, ty: SignatureType, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ty.byte()]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// An Ed25519 verifier key with its name: what a client is configured with.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    ty: SignatureType,
    public_key: [u8; 32],
    id: u32,
    key: VerifyingKey,
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({})", self.to_vkey())
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl VerifierKey {
    /// The key `public_key` of type `ty` under `name`.
    ///
    /// Fails if the name is not a valid key name, or the public key is not
    /// a valid Ed25519 point or is of small order (no signature by such a
    /// key passes `verify_strict`).
    pub fn new(name: &str, ty: SignatureType, public_key: [u8; 32]) -> Result<Self, LogError> {
        if !is_valid_key_name(name) {
            return Err(LogError::MalformedKey(format!(
                "key name {name:?} is empty or holds a space, a control character or '+'"
            )));
        }
        if name.len() > MAX_LINE_BYTES / 2 {
            return Err(LogError::MalformedKey(format!(
                "key name is {} bytes, more than {}",
                name.len(),
                MAX_LINE_BYTES / 2
            )));
        }
        let key = VerifyingKey::from_bytes(&public_key).map_err(|_| {
            LogError::MalformedKey("the public key is not an Ed25519 point".to_owned())
        })?;
        if key.is_weak() {
            return Err(LogError::MalformedKey(
                "the public key is of small order".to_owned(),
            ));
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            ty,
            id: key_id(name, ty, &public_key),
            public_key,
            key,
        })
    }

    /// The verifier key of a signer's public key.
    pub fn for_signer(name: &str, ty: SignatureType, signer: &dyn Sign) -> Result<Self, LogError> {
        Self::new(name, ty, signer.public_key())
    }

    /// Parses the `name+hex(id)+base64(type || public key)` form.
    ///
    /// The id must be eight lowercase hex digits and equal the id computed
    /// from the name, type and key; the type must be `0x01` or `0x04`.
    pub fn parse(vkey: &str) -> Result<Self, LogError> {
        if vkey.len() > MAX_LINE_BYTES {
            return Err(LogError::MalformedKey(format!(
                "{} bytes, more than {MAX_LINE_BYTES}",
                vkey.len()
            )));
        }
        let bad = |m: &str| LogError::MalformedKey(m.to_owned());
        // The name and the hex id hold no '+'; the base64 key may.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name+hex(key id)+base64(type||public key)"));
        };
        let id = crate::encoding::parse_hex_exact::<4>(id_hex)
            .map(u32::from_be_bytes)
            .map_err(|_| bad("the key id is not 8 lowercase hex digits"))?;
        let raw = b64_decode(key_b64).ok_or_else(|| bad("the key is not canonical base64"))?;
        let (&ty_byte, pk) = raw.split_first().ok_or_else(|| bad("the key is empty"))?;
        let ty = SignatureType::from_byte(ty_byte)
            .ok_or_else(|| bad(&format!("signature type 0x{ty_byte:02x} is not supported")))?;
        let pk: [u8; 32] = pk.try_into().map_err(|_| {
            bad(&format!(
                "an Ed25519 key is 32 bytes, this one is {}",
                pk.len()
            ))
        })?;
        let key = Self::new(name, ty, pk)?;
        if key.id != id {
            return Err(LogError::MalformedKey(format!(
                "key id {id:08x} is not the id of that name and key ({:08x})",
                key.id
            )));
        }
        Ok(key)
    }

    /// The `name+hex(id)+base64(type || public key)` form.
    pub fn to_vkey(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.ty.byte());
        raw.extend_from_slice(&self.public_key);
        format!("{}+{:08x}+{}", self.name, self.id, b64_encode(&raw))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn signature_type(&self) -> SignatureType {
        self.ty
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// Whether a signature line claims to be from this key (same name and
    /// id). Lines that do not are to be ignored, not counted as failures.
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.id
    }

    /// Checks a signature line of this key over `text` (the note text).
    ///
    /// For an Ed25519 key, the signature is over the text itself and the
    /// result is `None`; for a cosignature key it is over the
    /// `cosignature/v1` message and the result is the cosignature's time.
    /// Fails with [`LogError::MalformedCosignature`] for a cosignature of the
    /// wrong length or a time past `2^63 − 1`, and with
    /// [`LogError::LogSignatureBad`] (Ed25519) or
    /// [`LogError::WitnessSignatureBad`] (cosignature) when the line is not
    /// from this key or does not verify.
    pub fn verify(&self, text: &str, sig: &NoteSignature) -> Result<Option<Timestamp>, LogError> {
        match self.ty {
            SignatureType::Ed25519 => {
                let bad = || LogError::LogSignatureBad(self.name.clone());
                if !self.matches(sig) {
                    return Err(bad());
                }
                self.check(text.as_bytes(), &sig.signature)
                    .ok_or_else(bad)?;
                Ok(None)
            }
            SignatureType::CosignatureV1 => {
                let bad = || LogError::WitnessSignatureBad(self.name.clone());
                if !self.matches(sig) {
                    return Err(bad());
                }
                let (time, signature) = super::cosignature::split(&self.name, &sig.signature)?;
                let msg = super::cosignature::cosignature_message(text, time);
                self.check(&msg, signature).ok_or_else(bad)?;
                let secs = i64::try_from(time).map_err(|_| LogError::MalformedCosignature {
                    name: self.name.clone(),
                    message: "timestamp above 2^63 - 1".to_owned(),
                })?;
                Ok(Some(Timestamp::from_unix(secs)))
            }
        }
    }

    /// Strict Ed25519 check of `signature` over `msg`.
    fn check(&self, msg: &[u8], signature: &[u8]) -> Option<()> {
        let sig: [u8; 64] = signature.try_into().ok()?;
        self.key
            .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .ok()
    }
}

impl Serialize for VerifierKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_vkey())
    }
}

impl<'de> Deserialize<'de> for VerifierKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        VerifierKey::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One signature line: `— <name> base64(key id || signature)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The 4-byte key id.
    pub key_id: u32,
    /// The signature bytes after the key id (64 for Ed25519, 72 for a
    /// timestamped cosignature).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Parses one signature line, without its newline.
    fn parse(line: &str) -> Result<Self, LogError> {
        let bad = |m: &str| LogError::MalformedNote(m.to_owned());
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| bad("a signature line does not start with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| bad("a signature line has no space between name and signature"))?;
        if !is_valid_key_name(name) {
            return Err(bad(
                "a signature line's key name is empty or holds a space or '+'",
            ));
        }
        let raw = b64_decode(b64)
            .ok_or_else(|| bad("a signature line's signature is not canonical base64"))?;
        if raw.len() < 5 {
            return Err(bad(
                "a signature line holds fewer than 5 bytes (key id and signature)",
            ));
        }
        let (id, signature) = raw.split_at(4);
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            signature: signature.to_vec(),
        })
    }

    /// The line, without its newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}", self.name, b64_encode(&raw))
    }
}

/// A signed note: its text and its signature lines, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks the note-wide rules on a text: no control character but newline,
/// and no line longer than [`MAX_LINE_BYTES`].
fn check_chars_and_lines(s: &str) -> Result<(), LogError> {
    if let Some(c) = s.chars().find(|&c| c < ' ' && c != '\n') {
        return Err(LogError::MalformedNote(format!(
            "control character U+{:04X} (only newline is allowed)",
            u32::from(c)
        )));
    }
    for (i, line) in s.split('\n').enumerate() {
        if line.len() > MAX_LINE_BYTES {
            return Err(LogError::LineTooLong {
                line: i + 1,
                len: line.len(),
                max: MAX_LINE_BYTES,
            });
        }
    }
    Ok(())
}

impl Note {
    /// An unsigned note with `text`, which must end in a newline, hold no
    /// control character but newlines, and fit the caps.
    pub fn new(text: &str) -> Result<Self, LogError> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(LogError::TooLarge {
                what: "the note text",
                size: text.len(),
                max: MAX_NOTE_BYTES,
            });
        }
        if !text.ends_with('\n') {
            return Err(LogError::MalformedNote(
                "the text does not end in a newline".to_owned(),
            ));
        }
        check_chars_and_lines(text)?;
        Ok(Note {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note.
    ///
    /// The size ([`MAX_NOTE_BYTES`]), the characters, the line lengths
    /// ([`MAX_LINE_BYTES`]) and the number of signature lines
    /// ([`MAX_SIGNATURES`]) are checked before any base64 is decoded. No
    /// signature is verified here: see [`VerifierKey::verify`].
    pub fn parse(bytes: &[u8]) -> Result<Self, LogError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(LogError::TooLarge {
                what: "the signed note",
                size: bytes.len(),
                max: MAX_NOTE_BYTES,
            });
        }
        let s = std::str::from_utf8(bytes)
            .map_err(|e| LogError::MalformedNote(format!("not UTF-8: {e}")))?;
        check_chars_and_lines(s)?;
        let (text, sigs) = s.rsplit_once("\n\n").ok_or_else(|| {
            LogError::MalformedNote("no blank line before the signature lines".to_owned())
        })?;
        if sigs.is_empty() {
            return Err(LogError::MalformedNote(
                "the note has no signature line".to_owned(),
            ));
        }
        let sigs = sigs.strip_suffix('\n').ok_or_else(|| {
            LogError::MalformedNote("the last signature line does not end in a newline".to_owned())
        })?;
        let count = sigs.split('\n').count();
        if count > MAX_SIGNATURES {
            return Err(LogError::TooMany {
                what: "signature lines",
                count,
                max: MAX_SIGNATURES,
            });
        }
        let signatures = sigs
            .split('\n')
            .map(NoteSignature::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            text: format!("{text}\n"),
            signatures,
        })
    }

    /// The note text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line. Fails past [`MAX_SIGNATURES`] lines, or
    /// if the signed note would exceed [`MAX_NOTE_BYTES`].
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), LogError> {
        if !is_valid_key_name(&sig.name) {
            return Err(LogError::MalformedNote(format!(
                "key name {:?} is empty or holds a space or '+'",
                sig.name
            )));
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(LogError::TooMany {
                what: "signature lines",
                count: self.signatures.len() + 1,
                max: MAX_SIGNATURES,
            });
        }
        let line = sig.to_line();
        if line.len() > MAX_LINE_BYTES {
            return Err(LogError::LineTooLong {
                line: self.text.split('\n').count() + self.signatures.len() + 1,
                len: line.len(),
                max: MAX_LINE_BYTES,
            });
        }
        let size = self.to_bytes().len() + line.len() + 1 + usize::from(self.signatures.is_empty());
        if size > MAX_NOTE_BYTES {
            return Err(LogError::TooLarge {
                what: "the signed note",
                size,
                max: MAX_NOTE_BYTES,
            });
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Signs the note text with Ed25519 (type `0x01`) under `name` and
    /// appends the signature line.
    ///
    /// The signature is checked with `verify_strict` before it is added, so
    /// a misconfigured [`Sign`] cannot produce a note that fails later.
    pub fn sign(&mut self, name: &str, signer: &dyn Sign) -> Result<(), LogError> {
        let key = VerifierKey::for_signer(name, SignatureType::Ed25519, signer)?;
        let signature = signer
            .sign_message(self.text.as_bytes())
            .map_err(|e| LogError::Signer(e.to_string()))?;
        let sig = NoteSignature {
            name: name.to_owned(),
            key_id: key.id(),
            signature: signature.to_vec(),
        };
        key.verify(&self.text, &sig)
            .map_err(|_| LogError::Signer("the signature returned does not verify".to_owned()))?;
        self.add_signature(sig)
    }

    /// The serialised note: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_text().into_bytes()
    }

    /// The serialised note as a string.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
            out.push('\n');
        }
        out
    }
}
