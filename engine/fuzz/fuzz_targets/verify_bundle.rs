//! Feeds arbitrary bytes to `verify_bundle`, and to `ParsedBundle::parse`
//! followed by `draw::tally` (the pipeline `draw::execute` and the CLI run on
//! a lock file).
//!
//! Besides "never panics", it checks the report's shape: every step exactly
//! once, in order, and `verified()` only when no step failed or was skipped.

#![no_main]

use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw;
use fairdraw_engine::verify::{Expectations, Status, Step, verify_bundle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let report = verify_bundle(data, &Expectations::default());
    let steps: Vec<Step> = report.steps.iter().map(|s| s.step).collect();
    assert_eq!(steps, Step::ALL, "every step once, in order");
    let all_passed = report.steps.iter().all(|s| s.status == Status::Passed);
    assert_eq!(report.verified(), all_passed);
    if report.verified() {
        assert!(report.first_failure().is_none());
    }

    if let Ok(bundle) = ParsedBundle::parse(data) {
        let _ = draw::tally(&bundle.lock.payload.rules, &bundle.collections, None);
        let _ = draw::check_lock(&bundle);
    }
});
