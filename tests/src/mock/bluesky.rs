//! Mock bluesky server (being written).
