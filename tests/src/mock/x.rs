//! Mock x server (being written).
