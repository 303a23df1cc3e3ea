//! Engine benchmarks: rules, commitment, selection and bundle verification
//! at 1k, 100k, 1M and 10M entries.
//!
//! ```text
//! cargo bench -p fairdraw-engine --bench engine                      # everything (~45 min)
//! cargo bench -p fairdraw-engine --bench engine -- selection         # one group
//! cargo bench -p fairdraw-engine --bench engine -- '/(1k|100k|1M)$'  # skip 10M
//! FAIRDRAW_BENCH_SIZES=1k,100k cargo bench -p fairdraw-engine --bench engine
//! ```
//!
//! Inputs are made lazily, only for benchmarks the filter selects:
//! bundles come from `target/bench-data/synth-<size>.json` when present
//! (`scripts/bench-verify.sh` writes the 1M and 10M ones), otherwise they are
//! generated in memory by `examples/synth_bundle.rs` (about 4 minutes at
//! 10M). Delete `target/bench-data/` after changing the generator.
//!
//! The 1M and 10M cases use 10 samples of one iteration each.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests, benches and examples read files, the clock and the environment; the engine library may not (engine/clippy.toml)"
)]

use std::cell::OnceCell;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, measurement::WallTime,
};
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::{eligible_leaf_hash, tally};
use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::entry::Entry;
use fairdraw_engine::merkle::RootBuilder;
use fairdraw_engine::rules::{Eligible, Evaluator};
use fairdraw_engine::select::{ChaChaPicker, TicketTree};
use fairdraw_engine::verify::{Expectations, verify_bundle};
use serde_json::value::RawValue;

#[path = "../examples/synth_bundle.rs"]
#[allow(dead_code)]
mod synth;

/// Sizes, by label.
const SIZES: [(&str, u64); 4] = [
    ("1k", 1_000),
    ("100k", 100_000),
    ("1M", 1_000_000),
    ("10M", 10_000_000),
];

/// Winners + alternates drawn by the selection benchmark.
const DRAWN: u64 = 100;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

/// The synthetic executed bundle of `n` comments (read from disk or generated).
fn load_bundle(label: &str, n: u64) -> Vec<u8> {
    let path = target_dir()
        .join("bench-data")
        .join(format!("synth-{label}.json"));
    match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(_) => {
            eprintln!(
                "generating a {label}-entry bundle in memory ({} not found)",
                path.display()
            );
            synth::generate(n)
        }
    }
}

/// The bundle's collections, parsed into entries once (borrowing `bytes`),
/// so the rules benchmark measures the rules and not JSON parsing.
struct Parsed<'a> {
    likes: Vec<Entry<'a>>,
    comments: Vec<Entry<'a>>,
}

fn parse_entries(bytes: &[u8]) -> Parsed<'_> {
    let bundle = ParsedBundle::parse(bytes).expect("synthetic bundle parses");
    let get = |name: &str| -> Vec<Entry<'_>> {
        let raw: &RawValue = bundle.collections[name];
        serde_json::from_str(raw.get()).expect("entries parse")
    };
    Parsed {
        likes: get("likes"),
        comments: get("comments"),
    }
}

/// `n` eligible leaves as the rules produce them: sorted platform/user id,
/// 1 to 4 tickets. Strings borrow from one leaked arena.
fn synthetic_eligible(n: u64) -> Vec<Eligible<'static>> {
    let mut arena = String::with_capacity(n as usize * 40);
    for i in 0..n {
        // 24-character channel id, then the handle; ids sort like `i`.
        arena.push_str(&format!("UC{i:022}@user{i:<13}")); // 42 bytes
    }
    let arena: &'static str = Box::leak(arena.into_boxed_str());
    (0..n as usize)
        .map(|i| {
            let at = i * 42;
            Eligible {
                platform: "youtube".into(),
                user_id: arena[at..at + 24].into(),
                handle: arena[at + 24..at + 42].trim_end().into(),
                tickets: 1 + (i as u64 * 7 % 4),
                entry_index: i as u64,
                entry_hash: Hash32([i as u8; 32]),
            }
        })
        .collect()
}

/// Few samples of one iteration each for the big sizes.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, n: u64) {
    if n >= 1_000_000 {
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(1));
        group.measurement_time(Duration::from_secs(1));
    } else {
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(5));
    }
}

fn benches(c: &mut Criterion) {
    let wanted: Option<Vec<String>> = std::env::var("FAIRDRAW_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
    let rules =
        fairdraw_engine::rules::Rules::from_json(synth::RULES.as_bytes()).expect("valid rules");

    // Sizes in the outer loop, so each size's inputs are freed before the next.
    for (label, n) in SIZES {
        if wanted
            .as_ref()
            .is_some_and(|w| !w.iter().any(|x| x == label))
        {
            continue;
        }
        let bundle: OnceCell<Vec<u8>> = OnceCell::new();
        let bundle = || bundle.get_or_init(|| load_bundle(label, n));

        // Rules alone: the evaluator over pre-parsed entries (likes
        // membership, then every comment), and the tally, which adds JSON
        // parsing, validation, entry hashing and the commitment.
        {
            let mut g = c.benchmark_group("rules");
            configure(&mut g, n);
            g.throughput(Throughput::Elements(n));
            let parsed: OnceCell<Parsed<'_>> = OnceCell::new();
            g.bench_function(BenchmarkId::new("evaluate", label), |b| {
                let p = parsed.get_or_init(|| parse_entries(bundle()));
                b.iter(|| {
                    let mut ev = Evaluator::new(&rules, fairdraw_engine::PROTOCOL_VERSION)
                        .expect("valid rules");
                    p.likes.iter().for_each(|e| ev.add_membership("likes", e));
                    for e in &p.comments {
                        black_box(ev.push(e.clone(), Hash32::default()).expect("valid entry"));
                    }
                    black_box(ev.finish().expect("evaluates"))
                })
            });
            drop(parsed);
            g.bench_function(BenchmarkId::new("tally", label), |b| {
                let parsed = ParsedBundle::parse(bundle()).expect("synthetic bundle parses");
                b.iter(|| black_box(tally(&rules, &parsed.collections, None).expect("tallies")))
            });
        }

        // Commitment: leaf hashes, the RFC 6962 root and the ticket tree
        // over `n` eligible leaves (every entry eligible: the worst case).
        {
            let mut g = c.benchmark_group("commitment");
            configure(&mut g, n);
            g.throughput(Throughput::Elements(n));
            let eligible = OnceCell::new();
            g.bench_function(BenchmarkId::from_parameter(label), |b| {
                let eligible = eligible.get_or_init(|| synthetic_eligible(n));
                b.iter(|| {
                    let mut root = RootBuilder::new();
                    eligible
                        .iter()
                        .for_each(|e| root.push(eligible_leaf_hash(e)));
                    let tickets =
                        TicketTree::new(eligible.iter().map(|e| e.tickets)).expect("valid tickets");
                    black_box((root.root(), tickets))
                })
            });
        }

        // Selection: 100 winners from a ticket tree of `n` leaves built
        // beforehand (as at commitment).
        {
            let mut g = c.benchmark_group("selection");
            g.sample_size(50).measurement_time(Duration::from_secs(3));
            let tree = OnceCell::new();
            g.bench_function(BenchmarkId::new("draw_100", label), |b| {
                let tree = tree.get_or_init(|| {
                    TicketTree::new((0..n).map(|i| 1 + i * 7 % 4)).expect("valid tickets")
                });
                let mut seed = 0u8;
                b.iter(|| {
                    seed = seed.wrapping_add(1);
                    let mut picker = ChaChaPicker::new(&Hash32([seed; 32]));
                    black_box(tree.draw(DRAWN, &mut picker).expect("draws"))
                })
            });
        }

        // The whole verifier on in-memory bytes.
        {
            let mut g = c.benchmark_group("verify_bundle");
            configure(&mut g, n);
            let mut checked = false;
            g.bench_function(BenchmarkId::from_parameter(label), |b| {
                let bytes = bundle();
                if !checked {
                    let report = verify_bundle(bytes, &Expectations::default());
                    assert!(
                        report.verified(),
                        "synthetic bundle does not verify: {:?}",
                        report.first_failure()
                    );
                    checked = true;
                }
                b.iter(|| black_box(verify_bundle(bytes, &Expectations::default())))
            });
        }
    }
}

criterion::criterion_group!(engine, benches);
criterion::criterion_main!(engine);
