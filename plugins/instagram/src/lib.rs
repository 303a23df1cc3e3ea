//! The instagram source plugin (being written).
