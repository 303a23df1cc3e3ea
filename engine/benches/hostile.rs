//! Worst-case bundles at the caps of PROTOCOL.md §9.4: `verify_bundle` on
//! each shape of `examples/hostile_bundles.rs` (every bundle ≤ 10 MB), and
//! the same 10 MB bundle refused for the wrong key.
//!
//! ```text
//! cargo bench -p fairdraw-engine --bench hostile
//! ```
//!
//! The target (issue 10): no bundle of at most 10 MB takes more than 2 s to
//! verify or to reject. Figures are in `engine/BENCHMARKS.md`; peak memory is
//! measured by `scripts/bench-hostile.sh`.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests, benches and examples read files, the clock and the environment; the engine library may not (engine/clippy.toml)"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use fairdraw_engine::receipt::Signer;
use fairdraw_engine::verify::{Expectations, verify_bundle};

#[path = "../examples/hostile_bundles.rs"]
#[allow(dead_code)]
mod hostile;

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("hostile");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    let key = Signer::from_secret(hostile::SIGNING_SECRET).public_key();
    for shape in hostile::SHAPES {
        let bytes = hostile::build(shape);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        let expect = Expectations {
            public_key: Some(key),
            lock_hash: None,
            policy: None,
        };
        let report = verify_bundle(&bytes, &expect);
        assert!(report.verified(), "{shape}: {:?}", report.first_failure());
        g.bench_function(format!("verify/{shape}"), |b| {
            b.iter(|| black_box(verify_bundle(black_box(&bytes), &expect)))
        });
        if shape == "tiny_entries" {
            let wrong = Expectations {
                public_key: Some(Signer::from_secret([0x11; 32]).public_key()),
                lock_hash: None,
                policy: None,
            };
            assert!(!verify_bundle(&bytes, &wrong).verified());
            g.bench_function("reject_wrong_key/tiny_entries", |b| {
                b.iter(|| black_box(verify_bundle(black_box(&bytes), &wrong)))
            });
        }
    }
    g.finish();
}

criterion::criterion_group!(hostile_group, benches);
criterion::criterion_main!(hostile_group);
