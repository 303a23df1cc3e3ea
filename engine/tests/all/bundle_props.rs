//! Property tests of `verify_bundle` on hostile input.
//!
//! - Arbitrary bytes, bytes near a valid bundle, and arbitrary JSON built
//!   from the bundle's own vocabulary never make it panic.
//! - Every single edit of a valid bundle's JSON tree (change one leaf, delete
//!   one key, add an unknown key, duplicate or remove one array element,
//!   replace a node by a value of another type), at a location drawn
//!   uniformly over all nodes of the tree, makes verification fail.
//!
//! Case counts are small so the suite stays fast in a debug build (Ed25519
//! and BLS are slow unoptimised); `PROPTEST_CASES=n` runs `n` cases of each.

// A panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw;
use fairdraw_engine::verify::{Expectations, verify_bundle};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::{Value, json};

use crate::support::*;

/// `n` cases, or `PROPTEST_CASES` when set.
fn config(n: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(n);
    // No regression files: this module owns no directory to write them to.
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Verifies with nothing pinned, and also feeds the bytes to the parser and
/// the tally, as the fuzz target does. Must not panic.
fn exercise(bytes: &[u8]) -> bool {
    if let Ok(b) = ParsedBundle::parse(bytes) {
        let _ = draw::tally(&b.lock.payload.rules, &b.collections, None);
    }
    verify_bundle(bytes, &Expectations::default()).verified()
}

// -------------------------------------------------------- JSON generators

/// Keys a bundle uses, plus a few it does not.
const KEYS: &[&str] = &[
    "fairdraw_bundle",
    "lock",
    "execution",
    "collections",
    "payload",
    "key_id",
    "public_key",
    "signature",
    "protocol",
    "draw_id",
    "title",
    "rules",
    "eligible",
    "total_tickets",
    "merkle_root",
    "winners",
    "alternates",
    "randomness",
    "locked_at",
    "lock_hash",
    "selection",
    "executed_at",
    "kind",
    "chain",
    "chain_hash",
    "round",
    "commitment",
    "secret",
    "values",
    "sources",
    "algorithm",
    "seed",
    "key",
    "leaf_index",
    "tickets",
    "entry",
    "entries",
    "sha256",
    "comments",
    "likes",
    "platform",
    "user_id",
    "handle",
    "created_at",
    "followers",
    "collection",
    "previous_signature",
    "keywords",
    "any",
    "require_in",
    "window",
    "from",
    "until",
    "bonus",
    "unknown",
];

/// Strings a bundle holds, in the shapes its fields expect.
fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "drand",
            "commit_reveal",
            "rfc3797",
            "chacha20",
            "default",
            "quicknet",
            "comments",
            "likes",
            "youtube",
            "@ann",
            "#win",
            "",
            "2023-01-23T13:00:00Z",
            "9319",
        ])
        .prop_map(str::to_owned),
        "[0-9a-f]{64}",
        "[0-9a-f]{0,200}",
        "[0-9A-Fa-f]{64}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](Z|\\+01:00|\\.5Z)",
        any::<String>(),
    ]
}

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..5).prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(2_634_945u64)),
        Just(json!(u32::MAX as u64 + 1)),
    ]
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        arb_string().prop_map(Value::String),
    ]
}

/// Arbitrary JSON whose object keys come from the bundle's vocabulary.
fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

// ------------------------------------------------------ locating and editing

/// A step from a node to one of its children.
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    At(usize),
}

/// Every node but the root, as a path from the root, in document order.
fn nodes(v: &Value) -> Vec<Vec<Seg>> {
    fn walk(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
        let children: Vec<(Seg, &Value)> = match v {
            Value::Object(m) => m.iter().map(|(k, c)| (Seg::Key(k.clone()), c)).collect(),
            Value::Array(a) => a.iter().enumerate().map(|(i, c)| (Seg::At(i), c)).collect(),
            _ => Vec::new(),
        };
        for (seg, child) in children {
            path.push(seg);
            out.push(path.clone());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn get_mut<'v>(v: &'v mut Value, path: &[Seg]) -> &'v mut Value {
    path.iter().fold(v, |v, seg| match seg {
        Seg::Key(k) => &mut v[k.as_str()],
        Seg::At(i) => &mut v[*i],
    })
}

/// One edit of one node.
#[derive(Clone, Debug)]
enum Edit {
    /// Replace a leaf by another value of its type.
    ChangeLeaf,
    /// Replace the node by a value of another type.
    Retype,
    /// Delete the node from its parent object.
    DeleteKey,
    /// Add an unknown key to the node (an object).
    AddUnknownKey,
    /// Insert a copy of the node next to it in its parent array.
    Duplicate,
    /// Remove the node from its parent array.
    Remove,
}

/// The edits that apply to the node at `path`.
fn edits_for(root: &Value, path: &[Seg]) -> Vec<Edit> {
    let mut root = root.clone();
    let node = get_mut(&mut root, path).clone();
    let mut edits = vec![Edit::Retype];
    match node {
        Value::Object(_) => edits.push(Edit::AddUnknownKey),
        Value::Array(_) => {}
        _ => edits.push(Edit::ChangeLeaf),
    }
    match path.last() {
        Some(Seg::Key(_)) => edits.push(Edit::DeleteKey),
        Some(Seg::At(_)) => edits.extend([Edit::Duplicate, Edit::Remove]),
        None => {}
    }
    edits
}

/// A leaf different from `old`, of the same JSON type.
fn different_leaf(old: &Value, pick: u64, text: &str) -> Value {
    match old {
        Value::Bool(b) => Value::Bool(!b),
        Value::Null => json!(pick),
        Value::Number(n) => {
            let n = n.as_u64().unwrap_or(0);
            let candidates = [
                n.wrapping_add(1),
                n.wrapping_sub(1),
                0,
                pick,
                n ^ (1 << (pick % 64)),
                u64::MAX,
            ];
            let new = candidates
                .into_iter()
                .cycle()
                .skip((pick % 6) as usize)
                .find(|&c| c != n)
                .unwrap();
            json!(new)
        }
        Value::String(s) => {
            let mut candidates = vec![
                format!("{s}{text}"),
                s.chars().rev().collect(),
                s.to_uppercase(),
                text.to_owned(),
                String::new(),
            ];
            // One character changed in place.
            if let Some(c) = s.chars().nth(pick as usize % s.len().max(1)) {
                let i = s
                    .char_indices()
                    .nth(pick as usize % s.chars().count())
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                let repl = if c == '0' { '1' } else { '0' };
                candidates.push(format!("{}{repl}{}", &s[..i], &s[i + c.len_utf8()..]));
            }
            let n = candidates.len();
            let new = candidates
                .into_iter()
                .cycle()
                .skip(pick as usize % n)
                .find(|c| c != s)
                .unwrap_or_else(|| format!("{s}x"));
            Value::String(new)
        }
        Value::Array(_) | Value::Object(_) => unreachable!("not a leaf"),
    }
}

/// A value of another JSON type than `old`.
fn retyped(old: &Value, pick: u64) -> Value {
    let options = [
        Value::Null,
        json!(true),
        json!(pick),
        json!("x"),
        json!([]),
        json!({}),
    ];
    let same = |v: &Value| std::mem::discriminant(v) == std::mem::discriminant(old);
    options
        .into_iter()
        .cycle()
        .skip((pick % 6) as usize)
        .find(|v| !same(v))
        .unwrap()
}

/// Applies `edit` at `path` and returns a description of what was done.
fn apply(root: &mut Value, path: &[Seg], edit: &Edit, pick: u64, text: &str) -> String {
    let (parent_path, last) = path.split_at(path.len() - 1);
    match edit {
        Edit::ChangeLeaf => {
            let node = get_mut(root, path);
            let new = different_leaf(node, pick, text);
            let what = format!("{node} -> {new}");
            *node = new;
            what
        }
        Edit::Retype => {
            let node = get_mut(root, path);
            let new = retyped(node, pick);
            *node = new.clone();
            format!("retyped to {new}")
        }
        Edit::AddUnknownKey => {
            let key = format!("unknown_{}", pick % 1000);
            get_mut(root, path)
                .as_object_mut()
                .unwrap()
                .insert(key.clone(), json!(pick));
            format!("added key {key:?}")
        }
        Edit::DeleteKey => {
            let Seg::Key(k) = &last[0] else {
                unreachable!()
            };
            get_mut(root, parent_path)
                .as_object_mut()
                .unwrap()
                .remove(k);
            "deleted".into()
        }
        Edit::Duplicate => {
            let Seg::At(i) = last[0] else { unreachable!() };
            let a = get_mut(root, parent_path).as_array_mut().unwrap();
            a.insert(i, a[i].clone());
            "duplicated".into()
        }
        Edit::Remove => {
            let Seg::At(i) = last[0] else { unreachable!() };
            get_mut(root, parent_path).as_array_mut().unwrap().remove(i);
            "removed".into()
        }
    }
}

/// One edit at a uniformly drawn node of `bundle` must break verification.
fn single_edit_fails(
    bundle: &[u8],
    at: Index,
    which: Index,
    pick: u64,
    text: &str,
) -> Result<(), TestCaseError> {
    let mut v = to_value(bundle);
    let all = nodes(&v);
    let path = &all[at.index(all.len())];
    let edits = edits_for(&v, path);
    let edit = &edits[which.index(edits.len())];
    let what = apply(&mut v, path, edit, pick, text);
    let bytes = to_bytes(&v);
    let report = verify(&bytes);
    prop_assert!(
        !report.verified(),
        "{edit:?} at {path:?} ({what}) still verifies"
    );
    Ok(())
}

// ------------------------------------------------------------------ tests

#[test]
fn every_node_is_reachable() {
    // The tree is what the uniform draw ranges over: receipts and entries.
    let v = to_value(&commit_reveal_bundle());
    let all = nodes(&v);
    assert!(all.len() > 200, "{} nodes", all.len());
    assert!(
        all.iter()
            .any(|p| matches!(p.as_slice(), [Seg::Key(c), ..] if c == "collections"))
    );
    assert!(all.iter().any(|p| p.len() >= 5));
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        prop_assert!(!exercise(&bytes));
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        exercise(&serde_json::to_vec(&v).unwrap());
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Bytes of a valid bundle with a few bytes overwritten, inserted or cut.
    #[test]
    fn damaged_bytes_never_panic(
        edits in prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut b = commit_reveal_bundle();
        for (at, byte, op) in edits {
            let i = at.index(b.len().max(1));
            match op {
                0 if !b.is_empty() => b[i] = byte,
                1 => b.insert(i, byte),
                _ if !b.is_empty() => { b.remove(i); }
                _ => {}
            }
        }
        exercise(&b);
    }

    /// A valid bundle with one subtree replaced by arbitrary JSON.
    #[test]
    fn grafted_json_never_panics(at in any::<Index>(), graft in arb_json()) {
        let mut v = to_value(&rfc3797_bundle());
        let all = nodes(&v);
        *get_mut(&mut v, &all[at.index(all.len())]) = graft;
        exercise(&to_bytes(&v));
    }
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn any_single_edit_breaks_a_commit_reveal_bundle(
        at in any::<Index>(), which in any::<Index>(), pick in any::<u64>(), text in "[a-z0-9]{1,4}",
    ) {
        single_edit_fails(&commit_reveal_bundle(), at, which, pick, &text)?;
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn any_single_edit_breaks_an_rfc3797_bundle(
        at in any::<Index>(), which in any::<Index>(), pick in any::<u64>(), text in "[a-z0-9]{1,4}",
    ) {
        single_edit_fails(&rfc3797_bundle(), at, which, pick, &text)?;
    }
}

proptest! {
    // Each case checks a BLS signature: few cases.
    #![proptest_config(config(16))]

    #[test]
    fn any_single_edit_breaks_a_drand_bundle(
        at in any::<Index>(), which in any::<Index>(), pick in any::<u64>(), text in "[a-z0-9]{1,4}",
    ) {
        single_edit_fails(&drand_bundle(), at, which, pick, &text)?;
    }
}

/// The valid bundles themselves pass: the properties above are not
/// vacuous.
#[test]
fn unedited_bundles_verify() {
    for b in [commit_reveal_bundle(), rfc3797_bundle()] {
        assert!(exercise(&b));
    }
}

/// Writes the three valid bundles as the fuzzer's seed corpus
/// (`engine/fuzz/corpus/verify_bundle/seed-*.json`). Run it after changing
/// the bundle format:
/// `cargo test -p fairdraw-engine --test all write_fuzz_seed_corpus -- --ignored`.
#[test]
#[ignore = "writes files; run by hand to refresh the fuzz seed corpus"]
fn write_fuzz_seed_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/verify_bundle");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in [
        ("drand", drand_bundle()),
        ("commit_reveal", commit_reveal_bundle()),
        ("rfc3797", rfc3797_bundle()),
    ] {
        std::fs::write(dir.join(format!("seed-{name}.json")), bytes).unwrap();
    }
}
