//! End-to-end tests of the instagram plugin (being written).
