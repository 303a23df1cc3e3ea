//! Encryption at rest of signing keys and commit-reveal secrets, and the
//! random ids and API key secrets.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::StoreError;

/// Format byte in front of every ciphertext, so the scheme can change later.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;

/// The 32-byte key every secret at rest is encrypted under
/// (`FAIRDRAW_MASTER_KEY`). XChaCha20-Poly1305 with a random 192-bit nonce
/// per ciphertext, so nonces never need a counter across replicas.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    /// Parses 64 hex characters (surrounding white space ignored).
    ///
    /// Fails with [`StoreError::MasterKey`] on anything else.
    pub fn from_hex(s: &str) -> Result<Self, StoreError> {
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(s.trim(), key.as_mut_slice()).map_err(|_| {
            StoreError::MasterKey(
                "FAIRDRAW_MASTER_KEY must be 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`".into(),
            )
        })?;
        Ok(MasterKey(key))
    }

    /// The fixed, public key of `--dev` mode. Anything encrypted under it is
    /// as good as plain text.
    pub fn insecure_dev() -> Self {
        let digest =
            Sha256::digest(b"fairdraw --dev master key: NOT SECRET, NEVER USE IN PRODUCTION");
        MasterKey(Zeroizing::new(digest.into()))
    }

    /// Encrypts `plain`, binding it to `context` (for example the key id), so
    /// a ciphertext copied to another row does not decrypt.
    pub(crate) fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let nonce: [u8; NONCE_LEN] = random_bytes()?;
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Crypto("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts what [`MasterKey::seal`] wrote for the same `context`.
    ///
    /// Fails when the master key is not the one it was sealed under, or the
    /// ciphertext or its context was changed.
    pub(crate) fn open(
        &self,
        context: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let wrong = || {
            StoreError::Crypto(format!(
                "cannot decrypt {context}: FAIRDRAW_MASTER_KEY is not the key it was encrypted under, or the data was altered"
            ))
        };
        let (format, rest) = sealed.split_first().ok_or_else(wrong)?;
        if *format != FORMAT_V1 || rest.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| wrong())
    }
}

/// `N` bytes from the operating system's random generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|e| StoreError::Crypto(format!("OS random generator: {e}")))?;
    Ok(out)
}

/// A random id with a readable prefix, e.g. `org_3f9c…` (16 random bytes).
pub(crate) fn new_id(prefix: &str) -> Result<String, StoreError> {
    Ok(format!("{prefix}_{}", hex::encode(random_bytes::<16>()?)))
}

/// SHA-256 of an API key secret, as stored.
pub(crate) fn key_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}
