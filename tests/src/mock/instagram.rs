//! Mock instagram server (being written).
