//! End-to-end tests of the x plugin (being written).
