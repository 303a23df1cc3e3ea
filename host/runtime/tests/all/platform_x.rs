//! Host tests of the x plugin (being written).
