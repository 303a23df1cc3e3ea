//! The facebook source plugin (being written).
