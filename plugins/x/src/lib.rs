//! The x source plugin (being written).
