//! Engine integration tests.
mod merkle;
mod randomness;
mod rules;
