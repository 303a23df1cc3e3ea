//! Writes a realistic, signed and executed proof bundle of N comment entries,
//! for benchmarks and load tests.
//!
//! ```text
//! cargo run --release -p fairdraw-engine --example synth_bundle -- --entries 1000000 --out target/bench-data/synth-1M.json
//! ```
//!
//! The bundle is deterministic (same N, same bytes): entries come from a
//! fixed-seed generator, the signing key and the commit-reveal secret are
//! fixed, so no beacon or clock is needed. It exercises every rule:
//!
//! - `comments` (primary): N entries by about 0.8·N accounts (some comment
//!   more than once), 60–120 characters of text with `#giveaway` in various
//!   spellings (including full-width), 0–4 `@mentions`, and non-ASCII text
//!   (accents, CJK, emoji) in about a quarter of them;
//! - `likes` (`require_in`): about 85 % of the commenting accounts;
//! - rules with `keywords`, `min_mentions`, `window`, `organizer`,
//!   `exclude_users`, `min_followers`, `min_account_age_days`,
//!   `entries_per_user` and `bonus`, each excluding a few percent.
//!
//! `engine/benches/engine.rs` includes this file as a module and calls
//! [`generate`].

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests, benches and examples read files, the clock and the environment; the engine library may not (engine/clippy.toml)"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use fairdraw_engine::PROTOCOL_VERSION;
use fairdraw_engine::bundle::{BUNDLE_FORMAT, Bundle, LockPayload, ParsedBundle};
use fairdraw_engine::draw::{execute, tally};
use fairdraw_engine::encoding::HexBytes;
use fairdraw_engine::entry::Entry;
use fairdraw_engine::randomness::{Realised, commit_reveal};
use fairdraw_engine::receipt::{Signed, Signer};
use fairdraw_engine::rules::Rules;
use fairdraw_engine::time::Timestamp;
use serde_json::value::RawValue;

/// The fixed Ed25519 secret of the synthetic organiser.
pub const SIGNING_SECRET: [u8; 32] = [0x5e; 32];
/// The fixed commit-reveal secret.
pub const REVEAL_SECRET: [u8; 32] = [0xc3; 32];

/// The contest rules of every synthetic bundle.
pub const RULES: &str = r##"{
  "winners": 3,
  "alternates": 2,
  "collection": "comments",
  "entries_per_user": 2,
  "min_mentions": 1,
  "keywords": { "any": ["#giveaway"] },
  "exclude_users": ["youtube:@spammer", "youtube:UCspam0000000000000000000"],
  "organizer": "youtube:@acme",
  "window": { "from": "2026-12-01T00:00:00Z", "until": "2026-12-15T00:00:00Z" },
  "min_followers": 10,
  "min_account_age_days": 7,
  "require_in": ["likes"],
  "bonus": { "per_extra_mention": 1, "max": 3 }
}"##;

const WINDOW_FROM: i64 = 1_796_083_200; // 2026-12-01T00:00:00Z
const DAY: i64 = 86_400;
const LOCKED_AT: i64 = WINDOW_FROM + 15 * DAY; // after every entry (protocol 2 refuses entries after the lock)

/// SplitMix64: a tiny, fixed, well-mixed generator (no dependency, so the
/// output never changes under us).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.below(from.len() as u64) as usize]
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const FIRST_NAMES: &[&str] = &[
    "Alice",
    "Bob",
    "Chen",
    "Dana",
    "Émile",
    "Fatima",
    "Goran",
    "Hana",
    "Ines",
    "José",
    "Kenji",
    "Léa",
    "Mateo",
    "Nora",
    "Øystein",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tomás",
    "Uma",
    "Víctor",
    "Wei",
    "Yara",
    "Zoë",
    "Łukasz",
    "Ayşe",
    "Björn",
    "山田",
    "김민준",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "García", "Müller", "Rossi", "Nguyen", "Kowalski", "Silva", "Dubois", "Tanaka",
    "Okafor", "Haddad", "Novák", "Jensen", "O'Brien", "Petrov",
];
const HANDLE_STEMS: &[&str] = &[
    "alice", "bob", "chen", "dana", "emile", "fatima", "goran", "hana", "ines", "jose", "kenji",
    "lea", "mateo", "nora", "oystein", "priya", "quinn", "rosa", "sven", "tomas", "uma", "victor",
    "wei", "yara", "zoe", "lukasz", "ayse", "bjorn", "yamada", "minjun",
];
/// ASCII-only text, most comments.
const PHRASES: &[&str] = &[
    "I'd love this!",
    "Count me in",
    "Amazing prize, thanks for the chance",
    "This is awesome",
    "Good luck everyone",
    "Been waiting for this one",
    "My kids would love it",
    "Sharing with my friends",
    "Best channel on the platform",
    "Hope I win this time",
    "Let's go!!",
];
/// Text with accents, CJK and emoji: one of these in a quarter of comments.
const INTL_PHRASES: &[&str] = &[
    "Fingers crossed 🤞",
    "¡Qué bueno, participo!",
    "Trop bien, je participe",
    "Das wäre wirklich toll",
    "応募します！よろしく",
    "Let's go 🎉🎉",
    "Ｔｈａｎｋ ｙｏｕ",
];
const KEYWORDS: &[&str] = &[
    "#giveaway",
    "#giveaway",
    "#giveaway",
    "#giveaway",
    "#giveaway",
    "#GIVEAWAY",
    "#GiveAway",
    "#Giveaway",
];
const INTL_KEYWORDS: &[&str] = &[
    "#giveaway",
    "#GIVEAWAY",
    "＃ｇｉｖｅａｗａｙ",
    "＃ＧＩＶＥＡＷＡＹ",
];
const USER_ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Everything about one account, derived from its number alone.
struct Account {
    user_id: String,
    handle: String,
    display_name: String,
    followers: u64,
    /// Unix seconds.
    created: i64,
}

fn account(u: u64) -> Account {
    let mut r = Rng(mix(u ^ 0xACC0_0000));
    let mut user_id = String::with_capacity(24);
    user_id.push_str("UC");
    for _ in 0..22 {
        user_id.push(USER_ID_CHARS[r.below(64) as usize] as char);
    }
    let stem = HANDLE_STEMS[(u % HANDLE_STEMS.len() as u64) as usize];
    let mut handle = format!("@{stem}{u}");
    if r.below(20) == 0 {
        handle.make_ascii_uppercase(); // handles are compared normalised
    }
    let display_name = format!(
        "{} {}",
        FIRST_NAMES[(u % FIRST_NAMES.len() as u64) as usize],
        r.pick(LAST_NAMES)
    );
    let followers = match r.below(100) {
        0..=4 => r.below(10), // below min_followers
        5..=79 => 10 + r.below(2_000),
        _ => 2_000 + r.below(500_000),
    };
    // 3 % of accounts were created during the window (many too young).
    let created = if r.below(100) < 3 {
        WINDOW_FROM + r.below(14 * DAY as u64) as i64
    } else {
        WINDOW_FROM - DAY * (8 + r.below(12 * 365) as i64) - r.below(DAY as u64) as i64
    };
    Account {
        user_id,
        handle,
        display_name,
        followers,
        created,
    }
}

fn push_entry(out: &mut String, first: &mut bool, entry: &Entry<'_>) {
    out.push_str(if *first { "\n" } else { ",\n" });
    *first = false;
    // Same layout as `bundle::collection_json`: one compact entry per line.
    let json = serde_json::to_string(entry).expect("entries serialise");
    out.push_str(&json);
}

/// The two collections' JSON arrays.
fn collections(entries: u64) -> (String, String) {
    let accounts = (entries * 4 / 5).max(1);
    let mut r = Rng(0x00F0_0D5E_ED00_0001 ^ entries);
    let mut comments = String::with_capacity(entries as usize * 280 + 16);
    comments.push('[');
    let mut first = true;
    let mut text = String::with_capacity(160);
    for _ in 0..entries {
        let u = r.below(accounts);
        let a = account(u);
        text.clear();
        let intl = r.below(4) == 0;
        if r.below(100) < 88 {
            text.push_str(r.pick(if intl { INTL_KEYWORDS } else { KEYWORDS }));
            text.push(' ');
        }
        let target = 60 + r.below(61) as usize;
        // 0 to 4 mentions, most entrants tagging one or two friends.
        let mentions = [0, 1, 1, 1, 2, 2, 2, 3, 3, 4][r.below(10) as usize];
        for _ in 0..mentions {
            let other = match r.below(30) {
                0 => "@acme".to_owned(), // the organizer does not count
                1 => a.handle.clone(),   // nor does the entrant
                _ => {
                    let o = r.below(accounts);
                    format!(
                        "@{}{o}",
                        HANDLE_STEMS[(o % HANDLE_STEMS.len() as u64) as usize]
                    )
                }
            };
            text.push_str(&other);
            text.push(' ');
        }
        if intl {
            text.push_str(r.pick(INTL_PHRASES));
            text.push(' ');
        }
        while text.chars().count() < target {
            text.push_str(r.pick(PHRASES));
            text.push(' ');
        }
        let text_trimmed = text.trim_end();
        // ~7 % outside the window (before it opens or after it closes).
        let created_at = WINDOW_FROM - DAY / 2 + r.below((15 * DAY) as u64) as i64;
        let created_at = created_at.max(a.created + 60);
        let (handle, user_id) = match r.below(2_000) {
            0 => ("@spammer".to_owned(), a.user_id.clone()),
            1 => ("@acme".to_owned(), a.user_id.clone()),
            _ => (a.handle.clone(), a.user_id.clone()),
        };
        let created_at = Timestamp::from_unix(created_at).to_string();
        let account_created_at = Timestamp::from_unix(a.created).to_string();
        let entry = Entry {
            platform: "youtube".into(),
            user_id: user_id.into(),
            handle: handle.into(),
            display_name: a.display_name.into(),
            text: text_trimmed.into(),
            created_at: created_at.into(),
            collection: None,
            followers: Some(a.followers),
            account_created_at: Some(account_created_at.into()),
        };
        push_entry(&mut comments, &mut first, &entry);
    }
    comments.push_str("\n]");

    let mut likes = String::with_capacity(accounts as usize * 140 + 16);
    likes.push('[');
    let mut first = true;
    let mut like_time = String::new();
    for u in 0..accounts {
        if mix(u ^ 0x11CE) % 100 >= 85 {
            continue;
        }
        let a = account(u);
        like_time.clear();
        let _ = write!(
            like_time,
            "{}",
            Timestamp::from_unix(WINDOW_FROM + (mix(u) % (14 * DAY) as u64) as i64)
        );
        let entry = Entry {
            platform: "youtube".into(),
            user_id: a.user_id.into(),
            handle: a.handle.into(),
            display_name: "".into(),
            text: "".into(),
            created_at: like_time.as_str().into(),
            collection: None,
            followers: None,
            account_created_at: None,
        };
        push_entry(&mut likes, &mut first, &entry);
    }
    likes.push_str("\n]");
    (comments, likes)
}

/// Generates the executed bundle of `entries` comments, byte for byte as
/// `fairdraw execute` writes it.
pub fn generate(entries: u64) -> Vec<u8> {
    let mut out = Vec::new();
    generate_into(entries, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// Writes the executed bundle of `entries` comments to `out`.
///
/// Memory: about twice the bundle's size at the peak (the collections, and
/// the copy `execute` makes of them); the output is streamed.
pub fn generate_into(entries: u64, out: impl std::io::Write) -> std::io::Result<()> {
    let rules = Rules::from_json(RULES.as_bytes()).expect("the synthetic rules are valid");
    let (comments, likes) = collections(entries);
    let comments = RawValue::from_string(comments).expect("generated JSON is valid");
    let likes = RawValue::from_string(likes).expect("generated JSON is valid");
    let raw: BTreeMap<String, &RawValue> = BTreeMap::from([
        ("comments".to_owned(), &*comments),
        ("likes".to_owned(), &*likes),
    ]);
    let signer = Signer::from_secret(SIGNING_SECRET);

    // Lock: what `draw::lock` does, but over the raw JSON we already have
    // rather than a `Vec<Entry>` (which would need ~3x the memory at 10M).
    let lock = {
        let t = tally(&rules, &raw, None).expect("the synthetic entries are valid");
        let payload = LockPayload {
            protocol: PROTOCOL_VERSION,
            draw_id: format!("synth-{entries}"),
            title: format!("Synthetic giveaway, {entries} comments"),
            rules: rules.clone(),
            collections: t.collections.clone(),
            eligible: t.evaluation.eligible.len() as u64,
            total_tickets: t.evaluation.total_tickets,
            merkle_root: t.merkle_root,
            winners: rules.winners,
            alternates: rules.alternates(),
            randomness: commit_reveal::declare(&REVEAL_SECRET).expect("32-byte secret"),
            locked_at: Timestamp::from_unix(LOCKED_AT),
            sequence: None,
        };
        Signed::sign(payload, &signer).expect("payload is canonical JSON")
    };
    let locked: ParsedBundle<'_> = Bundle {
        fairdraw_bundle: BUNDLE_FORMAT,
        lock,
        execution: None,
        log: None,
        collections: raw,
    };
    let realised = Realised::CommitReveal {
        secret: HexBytes(REVEAL_SECRET.to_vec()),
    };
    let executed = execute(&locked, realised, Timestamp::from_unix(LOCKED_AT), &signer)
        .expect("the synthetic draw executes");
    // Serialise with the borrowed collections, not `executed`'s copy.
    let bundle = Bundle {
        fairdraw_bundle: BUNDLE_FORMAT,
        lock: locked.lock,
        execution: executed.execution,
        log: None,
        collections: locked.collections,
    };
    // `to_writer_pretty` writes exactly the bytes of `Bundle::to_json`.
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    serde_json::to_writer_pretty(&mut out, &bundle)?;
    out.flush()
}

/// `1000`, `1_000_000`, `100k`, `1M` or `10M`.
pub fn parse_count(s: &str) -> Option<u64> {
    let s = s.replace('_', "");
    let (digits, scale) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1_000),
        (i, 'm' | 'M') => (&s[..i], 1_000_000),
        _ => (&s[..], 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const USAGE: &str = "usage: synth_bundle --entries N --out FILE";
    let mut entries = None;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--entries" => entries = args.next().as_deref().and_then(parse_count),
            "--out" => out = args.next().map(PathBuf::from),
            _ => return Err(format!("unknown argument {a:?}\n{USAGE}").into()),
        }
    }
    let (Some(entries), Some(out)) = (entries, out) else {
        return Err(USAGE.into());
    };
    if entries < 10 {
        return Err(
            "--entries must be at least 10 (3 winners + 2 alternates must be eligible)".into(),
        );
    }
    let started = std::time::Instant::now();
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Write to a temporary name, then rename, so an interrupted run never
    // leaves a truncated bundle that the bench script would reuse.
    let tmp = out.with_extension("json.tmp");
    generate_into(entries, std::fs::File::create(&tmp)?)?;
    std::fs::rename(&tmp, &out)?;
    eprintln!(
        "wrote {} ({entries} comments, {:.1} MB) in {:.1?}",
        out.display(),
        std::fs::metadata(&out)?.len() as f64 / 1e6,
        started.elapsed()
    );
    Ok(())
}
