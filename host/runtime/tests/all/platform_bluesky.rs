//! Host tests of the bluesky plugin (being written).
