//! Engine integration tests.
mod merkle;
mod randomness;
mod rules;
mod support;
mod adversarial;
mod bundle_props;
mod golden;
