//! A service's published signing keys (`/.well-known/fairdraw-keys.json`)
//! and the choice of the key a bundle must have been signed with.
//!
//! A hosted fairdraw publishes every organisation's Ed25519 keys with their
//! validity periods; a rotated key stays listed, so old bundles still
//! verify. A verifier that pins a key from that document ([`KeysDocument::
//! key_for`]) does not trust the key id the document states: it hashes the
//! public key itself, and it checks that the lock was signed inside the
//! key's validity period.
//!
//! ```
//! use fairdraw_engine::keys::KeysDocument;
//! use fairdraw_engine::receipt::Signer;
//! use fairdraw_engine::time::Timestamp;
//!
//! let signer = Signer::from_secret([7; 32]);
//! let doc = format!(
//!     r#"{{"keys":[{{"organization_id":"org_1","organization":"Acme","key_id":"{}","public_key":"{}","valid_from":"2026-01-01T00:00:00Z","valid_until":null}}]}}"#,
//!     signer.key_id(),
//!     hex::encode(signer.public_key()),
//! );
//! let doc = KeysDocument::parse(doc.as_bytes()).expect("valid document");
//! let at = Timestamp::parse_rfc3339("2026-06-01T12:00:00Z").expect("time");
//! assert_eq!(doc.key_for(&signer.key_id(), at).expect("listed"), signer.public_key());
//! ```

use serde::{Deserialize, Serialize};

use crate::encoding::{Hash32, parse_hex_exact};
use crate::receipt::key_id;
use crate::time::Timestamp;

/// The document at `/.well-known/fairdraw-keys.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysDocument {
    /// Every organisation's signing keys, active and retired.
    pub keys: Vec<PublishedKey>,
}

/// One published signing key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKey {
    /// The organisation's id.
    pub organization_id: String,
    /// The organisation's name.
    pub organization: String,
    /// SHA-256 of the public key, hex (the receipts' `key_id`).
    pub key_id: String,
    /// The Ed25519 public key, 64 hex characters.
    pub public_key: String,
    /// Start of validity, RFC 3339.
    pub valid_from: String,
    /// End of validity (exclusive), RFC 3339, for a retired key.
    #[serde(default)]
    pub valid_until: Option<String>,
}

/// Why no key can be pinned from a keys document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// The document is not JSON of the documented shape.
    #[error("the keys document is malformed: {0}")]
    Malformed(String),
    /// A listed key is malformed.
    #[error("key {index} of the keys document is malformed: {message}")]
    BadKey {
        /// 0-based position in `keys`.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// No listed key has the bundle's key id.
    #[error("the keys document lists no key with id {0}")]
    UnknownKey(Hash32),
    /// The key is listed, but the lock was signed outside its validity.
    #[error(
        "key {key_id} is valid from {valid_from}{until}, but the lock was signed at {signed_at}",
        until = valid_until.as_ref().map(|u| format!(" until {u}")).unwrap_or_default()
    )]
    OutsideValidity {
        /// The key id.
        key_id: Hash32,
        /// Its validity start.
        valid_from: String,
        /// Its validity end.
        valid_until: Option<String>,
        /// The lock's `locked_at`.
        signed_at: Timestamp,
    },
}

impl KeysDocument {
    /// Parses the document's JSON.
    pub fn parse(bytes: &[u8]) -> Result<KeysDocument, KeysError> {
        serde_json::from_slice(bytes).map_err(|e| KeysError::Malformed(e.to_string()))
    }

    /// The public key with id `key_id` that was valid at `signed_at`.
    ///
    /// The key id is recomputed from each listed public key, so a document
    /// that pairs a key id with another key cannot pin it. Fails when no
    /// listed key has that id, or when `signed_at` is before its
    /// `valid_from` or at or after its `valid_until`.
    pub fn key_for(
        &self,
        key_id_wanted: &Hash32,
        signed_at: Timestamp,
    ) -> Result<[u8; 32], KeysError> {
        let mut outside = None;
        for (index, k) in self.keys.iter().enumerate() {
            let bad = |message: String| KeysError::BadKey { index, message };
            let public_key = parse_hex_exact::<32>(&k.public_key)
                .map_err(|e| bad(format!("public_key: {e}")))?;
            if key_id(&public_key) != *key_id_wanted {
                continue;
            }
            let from = Timestamp::parse_rfc3339(&k.valid_from)
                .map_err(|e| bad(format!("valid_from: {e}")))?;
            let until = k
                .valid_until
                .as_deref()
                .map(Timestamp::parse_rfc3339)
                .transpose()
                .map_err(|e| bad(format!("valid_until: {e}")))?;
            if signed_at >= from && until.is_none_or(|u| signed_at < u) {
                return Ok(public_key);
            }
            outside = Some(KeysError::OutsideValidity {
                key_id: *key_id_wanted,
                valid_from: k.valid_from.clone(),
                valid_until: k.valid_until.clone(),
                signed_at,
            });
        }
        Err(outside.unwrap_or(KeysError::UnknownKey(*key_id_wanted)))
    }
}
