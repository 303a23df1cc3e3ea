//! Randomness (PROTOCOL.md §7).
