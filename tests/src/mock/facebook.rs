//! Mock facebook server (being written).
