//! The byte encodings every hash in the protocol is built from (PROTOCOL.md §2).
//!
//! Each hashed message starts with a length-prefixed ASCII domain string, and
//! every variable-length field is length-prefixed, so that no two different
//! field sequences can produce the same bytes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest, shown and serialised as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// Parses exactly 64 lowercase hex characters.
    ///
    /// Uppercase is refused so that one digest has exactly one spelling in
    /// signed JSON.
    pub fn from_hex(s: &str) -> Result<Self, HexError> {
        let bytes = parse_hex(s)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| HexError::Length {
            expected: 32,
            found: b.len(),
        })?;
        Ok(Hash32(arr))
    }

    /// The 64-character lowercase hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hash32::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// Bytes of any length, serialised as lowercase hex (signatures, keys, secrets).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct HexBytes(pub Vec<u8>);

impl fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HexBytes({})", hex::encode(&self.0))
    }
}

impl Serialize for HexBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_hex(&s)
            .map(HexBytes)
            .map_err(serde::de::Error::custom)
    }
}

/// Why a hex string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// A character other than `0-9a-f`.
    #[error(
        "invalid hex: character {found:?} at position {position} (only lowercase 0-9a-f is allowed)"
    )]
    Character {
        /// The offending character.
        found: char,
        /// Its 0-based character position.
        position: usize,
    },
    /// An odd number of hex digits.
    #[error("invalid hex: odd number of digits ({0})")]
    OddLength(usize),
    /// The decoded value has the wrong size.
    #[error("invalid hex: expected {expected} bytes, found {found}")]
    Length {
        /// Bytes required.
        expected: usize,
        /// Bytes given.
        found: usize,
    },
}

/// Strict lowercase hex decoding.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, HexError> {
    if let Some((position, found)) = s
        .chars()
        .enumerate()
        .find(|(_, c)| !matches!(c, '0'..='9' | 'a'..='f'))
    {
        return Err(HexError::Character { found, position });
    }
    if !s.len().is_multiple_of(2) {
        return Err(HexError::OddLength(s.len()));
    }
    // Cannot fail: every character was checked above and the length is even.
    hex::decode(s).map_err(|_| HexError::OddLength(s.len()))
}

/// Parses lowercase hex of an exact byte length.
pub fn parse_hex_exact<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let bytes = parse_hex(s)?;
    bytes.try_into().map_err(|b: Vec<u8>| HexError::Length {
        expected: N,
        found: b.len(),
    })
}

/// SHA-256 of a byte string.
pub fn sha256(bytes: &[u8]) -> Hash32 {
    Hash32(Sha256::digest(bytes).into())
}

/// A SHA-256 hasher that writes the protocol's length-prefixed fields.
///
/// `lp(x)` is `u32_be(len(x)) || x`; a message always starts with `lp(domain)`.
#[derive(Clone, Debug)]
pub struct FieldHasher(Sha256);

impl FieldHasher {
    /// Starts a message with its domain string, e.g. `fairdraw/v1/entry`.
    pub fn new(domain: &str) -> Self {
        let mut h = FieldHasher(Sha256::new());
        h.bytes(domain.as_bytes());
        h
    }

    /// Appends `lp(bytes)`.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.0.update(len.to_be_bytes());
        self.0.update(bytes);
        self
    }

    /// Appends `lp(utf8(s))`.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// Appends a fixed 8-byte big-endian integer.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.update(v.to_be_bytes());
        self
    }

    /// Appends 32 raw bytes (a digest), without a length prefix.
    pub fn digest(&mut self, d: &Hash32) -> &mut Self {
        self.0.update(d.0);
        self
    }

    /// Appends `0x00` for `None` or `0x01 || lp(s)` for `Some(s)`.
    pub fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.0.update([0u8]),
            Some(s) => {
                self.0.update([1u8]);
                self.str(s);
            }
        }
        self
    }

    /// Appends `0x00` for `None` or `0x01 || u64_be(v)` for `Some(v)`.
    pub fn opt_u64(&mut self, v: Option<u64>) -> &mut Self {
        match v {
            None => self.0.update([0u8]),
            Some(v) => {
                self.0.update([1u8]);
                self.u64(v);
            }
        }
        self
    }

    /// The digest of everything written.
    pub fn finish(self) -> Hash32 {
        Hash32(self.0.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_strict_lowercase() {
        assert!(parse_hex("00ff").is_ok());
        assert!(matches!(
            parse_hex("00FF"),
            Err(HexError::Character {
                found: 'F',
                position: 2
            })
        ));
        assert!(matches!(parse_hex("0"), Err(HexError::OddLength(1))));
        assert!(Hash32::from_hex(&"ab".repeat(31)).is_err());
    }

    #[test]
    fn fields_are_length_prefixed() {
        let mut a = FieldHasher::new("d");
        a.str("ab").str("c");
        let mut b = FieldHasher::new("d");
        b.str("a").str("bc");
        assert_ne!(a.finish(), b.finish());
    }
}
