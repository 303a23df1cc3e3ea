//! Writes the worst-case bundles of PROTOCOL.md §9.4: for each shape a
//! hostile organiser can choose, a signed, executed protocol 2 bundle of at
//! most 10 MB at the caps, so that verifying it does all the work.
//!
//! ```text
//! cargo run --release -p fairdraw-engine --example hostile_bundles -- target/bench-data/hostile
//! target/release/examples/hostile_bundles --verify target/bench-data/hostile/require_in.json
//! ```
//!
//! `engine/benches/hostile.rs` includes this file and times `verify_bundle`
//! on each; `scripts/bench-hostile.sh` measures the wall time and peak
//! memory of verifying each file (`--verify`). Shapes ([`SHAPES`]):
//!
//! - `keywords_all`: 64 `keywords.all` keywords `a`, `aa`, …, `a`×63 and `b`,
//!   and texts of `a`s ending in `b`, so that every position of every text
//!   ends 63 keyword matches and the last keyword is found only at the end;
//! - `keywords_any`: 64 `keywords.any` keywords of 100 characters that never
//!   match, over the same texts;
//! - `exclude_users`: 10,000 values of 200 characters, many short entries;
//! - `require_in`: 16 required collections of many entries each;
//! - `rfc3797_picks`: a 1,024-byte RFC 3797 key and as many winners as the
//!   bundle size allows (each pick hashes the key once);
//! - `tiny_entries`: 10 MB of minimal entries (the baseline).
//!
//! Bundles are deterministic: fixed key, fixed commit-reveal secret.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests, benches and examples read files, the clock and the environment; the engine library may not (engine/clippy.toml)"
)]

use std::collections::BTreeMap;

use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::{LockRequest, execute, lock};
use fairdraw_engine::encoding::HexBytes;
use fairdraw_engine::entry::{Entry, OwnedEntry};
use fairdraw_engine::randomness::rfc3797::SourceShape;
use fairdraw_engine::randomness::{Declared, Realised, commit_reveal};
use fairdraw_engine::receipt::Signer;
use fairdraw_engine::rules::Rules;
use fairdraw_engine::time::Timestamp;

/// The organiser's fixed key.
pub const SIGNING_SECRET: [u8; 32] = [0x6b; 32];
/// The commit-reveal secret.
pub const REVEAL_SECRET: [u8; 32] = [0x2a; 32];
/// Bundles stay below this size.
pub const MAX_BYTES: usize = 10_000_000;

/// Every shape, by name.
pub const SHAPES: [&str; 6] = [
    "keywords_all",
    "keywords_any",
    "exclude_users",
    "require_in",
    "rfc3797_picks",
    "tiny_entries",
];

fn entry(platform: &str, user: usize, text: String) -> OwnedEntry {
    Entry {
        platform: platform.to_owned().into(),
        user_id: format!("u{user}").into(),
        handle: format!("@h{user}").into(),
        display_name: "".into(),
        text: text.into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        collection: None,
        followers: None,
        account_created_at: None,
    }
}

/// Entries whose texts add up to about `bytes`, `len` bytes each.
fn texts(bytes: usize, len: usize, f: impl Fn(usize) -> String) -> Vec<OwnedEntry> {
    (0..bytes / (len + 120))
        .map(|i| entry("youtube", i, f(i)))
        .collect()
}

/// The signed, executed bundle of one shape.
pub fn build(shape: &str) -> Vec<u8> {
    let budget = MAX_BYTES - 200_000;
    let mut collections = BTreeMap::new();
    let mut rules = serde_json::json!({"winners": 1});
    let mut randomness = commit_reveal::declare(&REVEAL_SECRET).expect("32 bytes");
    let mut realised = Realised::CommitReveal {
        secret: HexBytes(REVEAL_SECRET.to_vec()),
    };
    match shape {
        "keywords_all" => {
            let mut all: Vec<String> = (1..=63).map(|k| "a".repeat(k)).collect();
            all.push("b".into());
            rules["keywords"] = serde_json::json!({ "all": all });
            let text = format!("{}b", "a".repeat(9_999));
            collections.insert("comments", texts(budget, text.len(), |_| text.clone()));
        }
        "keywords_any" => {
            let any: Vec<String> = (0..64)
                .map(|k| format!("{k:02}{}", "z".repeat(98)))
                .collect();
            rules["keywords"] = serde_json::json!({ "any": any, "all": ["b"] });
            let text = format!("{}b", "a".repeat(9_999));
            let mut entries = texts(budget, text.len(), |_| text.clone());
            // One entry qualifies, so the draw can be made.
            entries[0].text = format!("{} b", any[0]).into();
            collections.insert("comments", entries);
        }
        "exclude_users" => {
            let excluded: Vec<String> = (0..10_000).map(|i| format!("@{i:0>199}")).collect();
            rules["exclude_users"] = serde_json::json!(excluded);
            collections.insert("comments", texts(budget - 2_100_000, 10, |_| "hi".into()));
        }
        "require_in" => {
            let names: Vec<String> = (0..16).map(|i| format!("c{i:02}")).collect();
            rules["require_in"] = serde_json::json!(names);
            let per = (budget / 17) / 130;
            collections.insert(
                "comments",
                (0..per).map(|i| entry("youtube", i, "hi".into())).collect(),
            );
            for n in &names {
                let leaked: &'static str = Box::leak(n.clone().into_boxed_str());
                collections.insert(
                    leaked,
                    (0..per)
                        .map(|i| entry("youtube", i, String::new()))
                        .collect(),
                );
            }
        }
        "rfc3797_picks" => {
            // Each pick lists its entry in the execution receipt (~330 bytes)
            // beside the entry itself: ~440 bytes in all.
            let winners = budget / 460;
            rules["winners"] = serde_json::json!(winners);
            collections.insert(
                "comments",
                (0..winners)
                    .map(|i| entry("youtube", i, String::new()))
                    .collect(),
            );
            // Sixteen sources of twelve four-digit numbers: a key of 976
            // bytes, just under the cap, hashed once per pick.
            let value = (1000..1012)
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            randomness = Declared::Rfc3797 {
                sources: "sixteen public sources named in advance".into(),
                shapes: (0..16)
                    .map(|i| SourceShape {
                        name: format!("source {i}"),
                        count: 12,
                        min: 1000,
                        max: 9999,
                    })
                    .collect(),
            };
            realised = Realised::Rfc3797 {
                values: (0..16).map(|_| value.clone()).collect(),
            };
        }
        "tiny_entries" => {
            collections.insert(
                "comments",
                (0..budget / 120)
                    .map(|i| entry("x", i, String::new()))
                    .collect(),
            );
        }
        other => panic!("unknown shape {other}"),
    }
    let rules = Rules::from_json(rules.to_string().as_bytes()).expect("rules within the caps");
    let signer = Signer::from_secret(SIGNING_SECRET);
    let request = LockRequest {
        draw_id: format!("hostile-{}", shape.replace('_', "-")),
        title: format!("Worst case: {shape}"),
        rules,
        collections: collections
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        randomness,
        locked_at: Timestamp::from_unix(1_767_312_000),
        sequence: None,
    };
    let locked = lock(&request, &signer).expect("lock");
    let lock_json = locked.bundle.to_json();
    let parsed = ParsedBundle::parse(&lock_json).expect("lock file");
    let bundle = execute(&parsed, realised, request.locked_at, &signer)
        .expect("execute")
        .to_json();
    assert!(
        bundle.len() <= MAX_BYTES,
        "{shape}: {} bytes, over {MAX_BYTES}",
        bundle.len()
    );
    bundle
}

/// `hostile_bundles [DIR]` writes every shape to `DIR/<shape>.json`;
/// `hostile_bundles --verify FILE [--wrong-key]` verifies one (pinned to the
/// organiser's key, or to another key) and prints the verdict and the time,
/// so that `/usr/bin/time` can take the peak memory of verification alone.
#[allow(dead_code)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--verify") {
        let path = args.get(1).expect("--verify FILE");
        let bytes = std::fs::read(path).expect("read bundle");
        let secret = if args.iter().any(|a| a == "--wrong-key") {
            [0x11; 32]
        } else {
            SIGNING_SECRET
        };
        let expect = fairdraw_engine::verify::Expectations {
            public_key: Some(Signer::from_secret(secret).public_key()),
            lock_hash: None,
            policy: None,
        };
        let start = std::time::Instant::now();
        let report = fairdraw_engine::verify::verify_bundle(&bytes, &expect);
        let secs = start.elapsed().as_secs_f64();
        let verdict = match report.first_failure() {
            None if report.verified() => "verified".to_owned(),
            f => format!("refused at {}", f.map_or("bundle", |f| f.step.name())),
        };
        println!("{path} {} bytes {verdict} {secs:.3} s", bytes.len());
        return;
    }
    let dir = std::path::PathBuf::from(
        args.first()
            .cloned()
            .unwrap_or_else(|| "target/bench-data/hostile".into()),
    );
    std::fs::create_dir_all(&dir).expect("output directory");
    for shape in SHAPES {
        let bytes = build(shape);
        let path = dir.join(format!("{shape}.json"));
        std::fs::write(&path, &bytes).expect("write");
        println!("{} {} bytes", path.display(), bytes.len());
    }
}
