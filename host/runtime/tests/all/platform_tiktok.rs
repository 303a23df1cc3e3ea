//! Host tests of the tiktok plugin (being written).
