//! End-to-end tests of the tiktok plugin (being written).
