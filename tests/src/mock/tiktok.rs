//! Mock tiktok server (being written).
