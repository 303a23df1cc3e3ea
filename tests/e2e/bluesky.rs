//! End-to-end tests of the bluesky plugin (being written).
