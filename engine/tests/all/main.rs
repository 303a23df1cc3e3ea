//! Engine integration tests.
mod adversarial;
mod bundle_props;
mod golden;
mod merkle;
mod platforms;
mod randomness;
mod rules;
mod support;
