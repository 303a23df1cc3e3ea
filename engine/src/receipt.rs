//! Signed receipts: RFC 8785 (JCS) canonical JSON signed with Ed25519
//! (PROTOCOL.md §9).
//!
//! The signed message is `context || 0x00 || JCS(payload)`, where the context
//! names the receipt type, so a lock receipt's signature can never pass as an
//! execution receipt's. A receipt's hash is SHA-256 of that same message.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::encoding::{Hash32, HexBytes, sha256};

/// A receipt payload type and the context string its signatures use.
pub trait Payload: Serialize {
    /// Domain-separation context, e.g. `fairdraw/v1/lock`.
    const CONTEXT: &'static str;
}

/// An Ed25519 signing key. The engine never makes one: the caller brings
/// the 32 secret bytes (from the OS, a file or a KMS).
#[derive(Clone)]
pub struct Signer(SigningKey);

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer(key_id {})", self.key_id())
    }
}

impl Signer {
    /// The key whose secret scalar seed is `secret`.
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Signer(SigningKey::from_bytes(&secret))
    }

    /// The 32 secret bytes.
    pub fn secret(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// The key id: SHA-256 of the public key.
    pub fn key_id(&self) -> Hash32 {
        key_id(&self.public_key())
    }
}

/// Something that signs receipts: a [`Signer`] holding the secret in
/// memory, or a key kept elsewhere (encrypted at rest, a KMS, an HSM).
///
/// Signing comes in two steps, as with any remote signer: the engine builds
/// the exact message ([`signed_message`]), the implementation returns an
/// Ed25519 signature over it. [`Signed::sign`] checks that signature with
/// `verify_strict` before it returns a receipt, so a misconfigured signer
/// cannot produce a receipt that fails verification later.
pub trait Sign {
    /// The 32-byte Ed25519 public key.
    fn public_key(&self) -> [u8; 32];

    /// The 64-byte Ed25519 signature of `message`, or why there is none.
    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], ReceiptError>;

    /// The key id: SHA-256 of the public key.
    fn key_id(&self) -> Hash32 {
        key_id(&self.public_key())
    }
}

impl Sign for Signer {
    fn public_key(&self) -> [u8; 32] {
        Signer::public_key(self)
    }

    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], ReceiptError> {
        Ok(self.0.sign(message).to_bytes())
    }
}

/// A key id: SHA-256 of the 32-byte public key.
pub fn key_id(public_key: &[u8]) -> Hash32 {
    sha256(public_key)
}

/// A payload with its Ed25519 signature.
///
/// Deserialising refuses a payload that is not written exactly as fairdraw
/// writes it (a `null` for an absent field, an omitted default, a duplicate
/// key): the signature covers the canonical form, so accepting other
/// spellings would let two verifiers disagree about the same file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Signed<T> {
    /// What was signed.
    pub payload: T,
    /// The signer's key id (SHA-256 of `public_key`).
    pub key_id: Hash32,
    /// The signer's 32-byte Ed25519 public key.
    pub public_key: HexBytes,
    /// The 64-byte Ed25519 signature over `context || 0x00 || JCS(payload)`.
    pub signature: HexBytes,
}

impl<'de, T: Payload + DeserializeOwned> Deserialize<'de> for Signed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            payload: Box<RawValue>,
            key_id: Hash32,
            public_key: HexBytes,
            signature: HexBytes,
        }
        let wire = Wire::deserialize(d)?;
        let text = wire.payload.get();
        let payload: T = serde_json::from_str(text).map_err(D::Error::custom)?;
        let as_written: serde_json::Value = serde_json::from_str(text).map_err(D::Error::custom)?;
        check_numbers(&as_written).map_err(D::Error::custom)?;
        let canonical = serde_jcs::to_vec(&payload).map_err(D::Error::custom)?;
        if serde_jcs::to_vec(&as_written).map_err(D::Error::custom)? != canonical {
            return Err(D::Error::custom(format!(
                "the {} receipt payload is not in canonical form (a null, an omitted default or a duplicated key)",
                T::CONTEXT
            )));
        }
        Ok(Signed {
            payload,
            key_id: wire.key_id,
            public_key: wire.public_key,
            signature: wire.signature,
        })
    }
}

/// Why a receipt is not validly signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The payload cannot be written as canonical JSON.
    #[error("receipt payload is not canonical JSON: {0}")]
    Canonical(String),
    /// The public key is malformed.
    #[error("public key is not a valid Ed25519 key ({0} bytes)")]
    BadPublicKey(usize),
    /// The key id does not match the public key.
    #[error("key id {key_id} is not the hash of the public key ({expected})")]
    KeyIdMismatch {
        /// The key id written.
        key_id: Hash32,
        /// SHA-256 of the public key.
        expected: Hash32,
    },
    /// The signature has the wrong length.
    #[error("signature is {0} bytes, Ed25519 signatures are 64")]
    BadSignatureLength(usize),
    /// The signature does not verify.
    #[error("Ed25519 signature does not verify for key {0}")]
    BadSignature(Hash32),
    /// The signer could not sign (a [`Sign`] implementation's own failure).
    #[error("the signer failed: {0}")]
    Signer(String),
}

/// The largest integer a receipt may hold, `2^53 − 1`: JCS writes numbers as
/// IEEE doubles, so a larger one would be signed rounded.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Refuses any JSON number that is not an integer in `0 ..= 2^53 − 1`.
fn check_numbers(value: &serde_json::Value) -> Result<(), ReceiptError> {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.as_u64().is_none_or(|n| n > MAX_SAFE_INTEGER) => {
            Err(ReceiptError::Canonical(format!(
                "number {n} is not an integer between 0 and 2^53 - 1"
            )))
        }
        Value::Array(items) => items.iter().try_for_each(check_numbers),
        Value::Object(members) => members.values().try_for_each(check_numbers),
        _ => Ok(()),
    }
}

/// The exact bytes a signature covers.
///
/// Fails if the payload holds a number that JCS cannot write exactly.
pub fn signed_message<T: Payload>(payload: &T) -> Result<Vec<u8>, ReceiptError> {
    let value =
        serde_json::to_value(payload).map_err(|e| ReceiptError::Canonical(e.to_string()))?;
    check_numbers(&value)?;
    let jcs = serde_jcs::to_vec(&value).map_err(|e| ReceiptError::Canonical(e.to_string()))?;
    let mut msg = Vec::with_capacity(T::CONTEXT.len() + 1 + jcs.len());
    msg.extend_from_slice(T::CONTEXT.as_bytes());
    msg.push(0);
    msg.extend_from_slice(&jcs);
    Ok(msg)
}

impl<T: Payload> Signed<T> {
    /// Signs a payload with any [`Sign`] implementation.
    ///
    /// Fails if the payload is not canonical JSON, if the signer fails, or
    /// if the signature it returns does not verify strictly for its public
    /// key ([`ReceiptError::BadSignature`]).
    pub fn sign(payload: T, signer: &dyn Sign) -> Result<Self, ReceiptError> {
        let msg = signed_message(&payload)?;
        let signature = signer.sign_message(&msg)?;
        let signed = Signed {
            payload,
            key_id: signer.key_id(),
            public_key: HexBytes(signer.public_key().to_vec()),
            signature: HexBytes(signature.to_vec()),
        };
        signed.verify()?;
        Ok(signed)
    }

    /// Checks the key id and the signature, with `verify_strict` (which
    /// refuses small-order keys and non-canonical signatures, so a receipt
    /// has exactly one valid signature per key).
    pub fn verify(&self) -> Result<(), ReceiptError> {
        let pk: [u8; 32] = self
            .public_key
            .0
            .as_slice()
            .try_into()
            .map_err(|_| ReceiptError::BadPublicKey(self.public_key.0.len()))?;
        let expected = key_id(&pk);
        if expected != self.key_id {
            return Err(ReceiptError::KeyIdMismatch {
                key_id: self.key_id,
                expected,
            });
        }
        let vk = VerifyingKey::from_bytes(&pk).map_err(|_| ReceiptError::BadPublicKey(32))?;
        let sig: [u8; 64] = self
            .signature
            .0
            .as_slice()
            .try_into()
            .map_err(|_| ReceiptError::BadSignatureLength(self.signature.0.len()))?;
        let msg = signed_message(&self.payload)?;
        vk.verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| ReceiptError::BadSignature(self.key_id))
    }

    /// The receipt hash: SHA-256 of the signed message.
    pub fn hash(&self) -> Result<Hash32, ReceiptError> {
        Ok(sha256(&signed_message(&self.payload)?))
    }
}
