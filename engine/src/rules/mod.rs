//! Rules (PROTOCOL.md §5).
