//! End-to-end tests of the facebook plugin (being written).
