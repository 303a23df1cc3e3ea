//! The Unicode tables the protocol depends on, frozen as vectors
//! (engine/tests/vectors/unicode_tables.json, PROTOCOL.md §5.3, §5.4, §7.4,
//! §9.4), so that an implementation in another language can check its own
//! tables against the engine's, property by property, without Rust.
//!
//! Each table is written as lines `XXXX..YYYY` (inclusive code point
//! ranges, uppercase hex, at least four digits) or, for mappings,
//! `XXXX;YYYY ZZZZ` (a code point and the code points it maps to), in code
//! point order, each line ending in `\n`; the vector holds the lines and
//! their SHA-256. `BLESS=1` rewrites the vector (only when a pinned Unicode
//! version deliberately changes, with a protocol version bump).

use fairdraw_engine::text::{is_bidi_control, is_default_ignorable};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization as _;

fn ranges(p: impl Fn(char) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut start: Option<u32> = None;
    for cp in 0..=0x11_0000u32 {
        let inside = char::from_u32(cp).is_some_and(&p);
        match (inside, start) {
            (true, None) => start = Some(cp),
            (false, Some(s)) => {
                out.push(format!("{s:04X}..{:04X}", cp - 1));
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn mapping(f: impl Fn(char) -> String) -> Vec<String> {
    (0..0x11_0000u32)
        .filter_map(char::from_u32)
        .filter_map(|c| {
            let m = f(c);
            (m != c.to_string()).then(|| {
                let to: Vec<String> = m.chars().map(|x| format!("{:04X}", u32::from(x))).collect();
                format!("{:04X};{}", u32::from(c), to.join(" "))
            })
        })
        .collect()
}

fn table(lines: Vec<String>, keep_lines: bool) -> Value {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    if keep_lines {
        json!({ "sha256": sha, "lines": lines })
    } else {
        json!({ "sha256": sha, "count": lines.len() })
    }
}

fn tables() -> Value {
    json!({
        "_note": "The Unicode tables of fairdraw protocol 2 (PROTOCOL.md §5.3, §5.4, §7.4, §9.4), derived from the engine by engine/tests/all/text_tables.rs. Each table is lines `XXXX..YYYY` (inclusive code point ranges) or `XXXX;YYYY ZZZZ` (a code point and what it maps to), in code point order, each ending in a newline; sha256 is over those lines. nfkc_single and lowercase list only code points that change.",
        "default_ignorable": table(ranges(is_default_ignorable), true),
        "bidi_control": table(ranges(is_bidi_control), true),
        "control_cc": table(ranges(char::is_control), true),
        "white_space": table(ranges(char::is_whitespace), true),
        "alphanumeric": table(ranges(char::is_alphanumeric), false),
        "combining_mark": table(ranges(unicode_normalization::char::is_combining_mark), false),
        "lowercase": table(mapping(|c| c.to_lowercase().collect()), false),
        "nfkc_single": table(mapping(|c| c.to_string().nfkc().collect()), false),
    })
}

#[test]
fn unicode_tables_match_the_vector() {
    let path = format!(
        "{}/tests/vectors/unicode_tables.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let now = tables();
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let frozen: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (name, t) in now.as_object().unwrap() {
        assert_eq!(&frozen[name], t, "table {name} differs from the vector");
    }
}
