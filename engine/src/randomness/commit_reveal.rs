//! Commit-reveal (PROTOCOL.md §7.3).
//!
//! The organiser draws a 32-byte secret, puts its commitment in the lock
//! receipt and reveals the secret in the execution receipt. This is only as
//! fair as the organiser is honest about not trying secrets until one wins;
//! prefer drand where possible.

use super::{Declared, RandomnessError};
use crate::encoding::{FieldHasher, Hash32};

/// Length of a commit-reveal secret in bytes.
pub const SECRET_LEN: usize = 32;

/// Domain string of the commitment hash.
pub const DOMAIN: &str = "fairdraw/v1/commit-reveal";

/// The commitment to `secret`:
/// `SHA-256(lp("fairdraw/v1/commit-reveal") || lp(secret))`, where
/// `lp(x) = u32_be(len(x)) || x`.
///
/// Any length is hashed; [`declare`] and verification insist on 32 bytes.
pub fn commitment(secret: &[u8]) -> Hash32 {
    let mut h = FieldHasher::new(DOMAIN);
    h.bytes(secret);
    h.finish()
}

/// The lock-receipt declaration for `secret`.
///
/// Fails with [`RandomnessError::SecretLength`] unless the secret is exactly
/// [`SECRET_LEN`] bytes.
pub fn declare(secret: &[u8]) -> Result<Declared, RandomnessError> {
    if secret.len() != SECRET_LEN {
        return Err(RandomnessError::SecretLength(secret.len()));
    }
    Ok(Declared::CommitReveal {
        commitment: commitment(secret),
    })
}
