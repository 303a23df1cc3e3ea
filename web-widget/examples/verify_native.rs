//! Times the wasm export's function natively: `verify_json` on a bundle file
//! (what the browser runs, compiled for this machine). scripts/bench-widget.sh
//! compares it, and `fairdraw verify` where a release CLI is built, with the
//! same call in Chromium.
//!
//! ```text
//! cargo run --release -p fairdraw-web --example verify_native -- BUNDLE.json [RUNS]
//! ```
//!
//! Prints the median milliseconds of the verification call (file already in
//! memory) and whether it verified.

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "a measurement tool: reads a file, reads the clock"
)]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: verify_native BUNDLE.json [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
    let bytes = std::fs::read(path).unwrap();
    let mut times = Vec::new();
    let mut verified = false;
    for _ in 0..runs {
        let t = std::time::Instant::now();
        let answer = fairdraw_web::verify_json(&bytes, "{}");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        verified = answer.contains("\"verified\":true");
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"verify_ms\": {:.0}, \"verified\": {verified}, \"runs\": {runs}}}",
        times[times.len() / 2]
    );
}
