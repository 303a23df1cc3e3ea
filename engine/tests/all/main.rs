//! Engine integration tests.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::unwrap_used,
    reason = "tests, benches and examples read files, the clock and the environment; the engine library may not (engine/clippy.toml)"
)]
mod adversarial;
mod bundle_props;
mod golden;
mod intermediate;
mod log;
mod merkle;
mod platforms;
mod randomness;
mod rules;
mod support;
mod text_tables;
