//! Host tests of the instagram plugin (being written).
