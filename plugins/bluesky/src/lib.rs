//! The bluesky source plugin (being written).
