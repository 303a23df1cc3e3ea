//! The tiktok source plugin (being written).
