//! # fairdraw-engine
//!
//! The pure core of fairdraw. It applies a contest's rules to the entries,
//! commits to the eligible list with an RFC 6962 Merkle tree, verifies public
//! randomness (drand BLS beacons, commit-reveal, RFC 3797 sources), draws the
//! winners and signs and verifies the receipts of a proof bundle.
//!
//! The engine does no I/O, reads no clock and takes no OS randomness: time,
//! keys and bytes come in as arguments, so the same code runs natively and in
//! the browser (wasm32). The byte-level protocol is in `PROTOCOL.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bundle;
pub mod draw;
pub mod encoding;
pub mod entry;
pub mod entry_file;
pub mod keys;
pub mod log;
pub mod merkle;
pub mod prove;
pub mod randomness;
pub mod receipt;
pub mod rules;
pub mod select;
pub mod text;
pub mod time;
pub mod verify;

/// The protocol version this engine writes (PROTOCOL.md §1).
pub const PROTOCOL_VERSION: u32 = 2;

/// The oldest protocol version this engine still verifies (PROTOCOL.md §1).
/// Every version from this one to [`PROTOCOL_VERSION`] is implemented.
pub const OLDEST_PROTOCOL_VERSION: u32 = 1;

/// Whether this engine implements protocol version `v`.
pub fn protocol_supported(v: u32) -> bool {
    (OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&v)
}
