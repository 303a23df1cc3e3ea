//! Host tests of the facebook plugin (being written).
