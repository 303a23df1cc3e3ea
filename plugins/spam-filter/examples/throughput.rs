//! Entries per second of the spam filter's `check`, natively or (built for
//! wasm32-wasip2 and run by a WASI runtime) inside wasm:
//!
//! ```sh
//! cargo run --release --manifest-path plugins/Cargo.toml -p spam-filter --example throughput
//! ```
//!
//! 2 million entries in batches of 10,000: a tenth are spam-ring copies,
//! a twentieth emoji-only, every account's creation time known, all three
//! rules on. Prints one line; it asserts nothing (timings vary by machine).

use std::time::Instant;

use fairdraw_plugin_sdk::{Entry, EntryRef};
use spam_filter::{Config, check};

const TOTAL: usize = 2_000_000;
const BATCH: usize = 10_000;

fn main() {
    let texts = [
        "Great giveaway, count me in! @friend1 @friend2",
        "🔥🔥🔥",
        "Would love to win this for my sister 💙",
    ];
    let entries: Vec<Entry> = (0..BATCH)
        .map(|i| Entry {
            platform: "youtube".into(),
            user_id: format!("UC{i:022}"),
            handle: format!("@user{i}"),
            display_name: String::new(),
            text: match i % 20 {
                0 => texts[1].into(),
                1 | 2 => texts[0].into(),
                _ => format!("{} #{i}", texts[2]),
            },
            // One day of comments, from accounts created over ten years.
            created_at: format!(
                "2024-05-24T{:02}:{:02}:{:02}Z",
                i / 3600 % 24,
                i / 60 % 60,
                i % 60
            ),
            followers: None,
            account_created_at: Some(format!(
                "20{:02}-{:02}-{:02}T08:00:00Z",
                14 + i % 10,
                1 + i % 12,
                1 + i % 28
            )),
        })
        .collect();
    let config = Config {
        duplicate_text_accounts: 3,
        min_account_age_days: 7,
        emoji_only: true,
    };
    let refs: Vec<EntryRef<'_>> = entries.iter().map(Into::into).collect();
    let start = Instant::now();
    let mut excluded = 0;
    for _ in 0..TOTAL / BATCH {
        let verdicts = check(std::hint::black_box(&refs), &config);
        excluded += verdicts
            .iter()
            .filter(|v| !matches!(v, fairdraw_plugin_sdk::Verdict::Keep))
            .count();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{TOTAL} entries in {secs:.3} s: {:.2} M entries/s ({excluded} excluded)",
        TOTAL as f64 / secs / 1e6
    );
}
