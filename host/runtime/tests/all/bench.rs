//! The benchmark plugin `plugins/bench/empty` (used by host/runtime/benches/plugins.rs)
//! loads as a filter, keeps every entry, and exports the root `empty`
//! function the call benchmark times.

use std::borrow::Cow;

use fairdraw_engine::entry::OwnedEntry;

use crate::plugin::Verdict;
use crate::support::{Setup, component, repo, runtime};

#[test]
fn bench_empty_loads_keeps_everything_and_exports_empty() {
    component("bench-empty");
    let (rt, logs) = runtime(Setup::default());
    let info = rt
        .load(repo().join("plugins/bench/empty/plugin.toml"))
        .expect("bench-empty loads");
    assert!(
        info.exports.iter().any(|e| e == "empty"),
        "{:?}",
        info.exports
    );
    assert!(
        info.exports
            .iter()
            .any(|e| e == "fairdraw:plugin/filter@0.1.0"),
        "{:?}",
        info.exports
    );
    let f = rt.filter("bench-empty").expect("filter");
    assert_eq!(f.check(&[], "").expect("no fault").expect("ok"), []);
    let entry = OwnedEntry {
        platform: Cow::Borrowed("youtube"),
        user_id: Cow::Borrowed("u"),
        handle: Cow::Borrowed("@u"),
        display_name: Cow::Borrowed(""),
        text: Cow::Borrowed("🔥🔥🔥"),
        created_at: Cow::Borrowed("2025-01-01T00:00:00Z"),
        collection: None,
        followers: None,
        account_created_at: None,
    };
    let verdicts = f
        .check(&[entry.clone(), entry], "not even JSON")
        .expect("no fault")
        .expect("ok");
    assert_eq!(verdicts, [Verdict::Keep, Verdict::Keep]);
    assert!(logs.of("bench-empty").is_empty(), "{:?}", logs.lines());
}
