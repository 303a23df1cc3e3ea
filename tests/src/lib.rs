//! End-to-end tests across fairdraw's parts.
