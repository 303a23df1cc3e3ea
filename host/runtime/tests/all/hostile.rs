use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::plugin::{FaultKind, LoadError, LogSource, PluginError};
use crate::support::{Setup, fetch, manifest, rss_mib, runtime, source};

/// The fault of a call that must fail with one.
macro_rules! fault {
    ($call:expr) => {
        match $call {
            Err(fault) => fault,
            Ok(r) => panic!("expected a fault, got {r:?}"),
        }
    };
}

#[test]
fn infinite_loop_is_stopped_by_the_deadline() {
    let (rt, _) = runtime(Setup::default());
    let p = source(
        &rt,
        "loop-deadline",
        "hostile-infinite-loop",
        "[limits]\ntimeout_ms = 300\nfuel = 100000000000",
    );
    let f = fault!(fetch(&p));
    assert_eq!(f.kind, FaultKind::Timeout { timeout_ms: 300 });
    assert_eq!(
        f.to_string(),
        "plugin `loop-deadline` was stopped: the call took longer than 300 ms (`limits.timeout_ms`)"
    );
}

#[test]
fn infinite_loop_is_stopped_by_fuel() {
    let (rt, _) = runtime(Setup::default());
    let p = source(
        &rt,
        "loop-fuel",
        "hostile-infinite-loop",
        "[limits]\nfuel = 5000000\ntimeout_ms = 60000",
    );
    let f = fault!(fetch(&p));
    assert_eq!(f.kind, FaultKind::FuelExhausted { fuel: 5_000_000 });
    assert!(
        f.to_string()
            .contains("used all of its CPU budget (5000000 fuel"),
        "{f}"
    );
}

#[test]
fn host_stays_responsive_while_plugins_spin() {
    let (rt, _) = runtime(Setup::default());
    let spinner = source(
        &rt,
        "spinner",
        "hostile-infinite-loop",
        "[limits]\ntimeout_ms = 4000\nfuel = 100000000000",
    );
    let busy = source(
        &rt,
        "busy-spinner",
        "hostile-busy-imports",
        "[limits]\ntimeout_ms = 4000\nmax_requests_per_call = 0",
    );
    let quick = source(&rt, "quick", "hostile-panic", "");
    let done = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = [spinner.clone(), spinner, busy]
        .into_iter()
        .map(|p| {
            let done = done.clone();
            std::thread::spawn(move || {
                let r = fetch(&p);
                done.store(true, Ordering::SeqCst);
                r
            })
        })
        .collect();
    // While three calls spin on other threads (this machine has two cores),
    // calls of another plugin keep completing.
    let mut completed_meanwhile = 0;
    for _ in 0..20 {
        let info = quick.describe().expect("describe answers");
        assert_eq!(info.platform, "hostile");
        if !done.load(Ordering::SeqCst) {
            completed_meanwhile += 1;
        }
    }
    assert!(
        completed_meanwhile > 0,
        "no call completed while the spinners ran"
    );
    for s in spinners {
        let f = fault!(s.join().expect("thread"));
        assert_eq!(f.kind, FaultKind::Timeout { timeout_ms: 4000 });
    }
}

#[test]
fn busy_imports_are_stopped_and_their_logs_bounded() {
    let (rt, logs) = runtime(Setup::default());
    let p = source(
        &rt,
        "busy",
        "hostile-busy-imports",
        "[limits]\ntimeout_ms = 500\nmax_requests_per_call = 0",
    );
    let f = fault!(fetch(&p));
    assert!(
        matches!(
            f.kind,
            FaultKind::Timeout { .. } | FaultKind::FuelExhausted { .. }
        ),
        "{f}"
    );
    let lines = logs.of("busy");
    let from_plugin = lines.iter().filter(|l| l.source == LogSource::Log).count();
    assert!(
        from_plugin > 0 && from_plugin < crate::plugin::limits::MAX_LOG_LINES,
        "{from_plugin} lines"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.message.contains("log limit reached"))
    );
}

#[test]
fn memory_bomb_hits_the_memory_limit_and_memory_stays_bounded() {
    let (rt, _) = runtime(Setup::default());
    let p = source(
        &rt,
        "bomb",
        "hostile-memory-bomb",
        "[limits]\nmemory_mb = 64",
    );
    let before = rss_mib();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || (0..3).map(|_| fault!(fetch(&p))).collect::<Vec<_>>())
        })
        .collect();
    for t in threads {
        for f in t.join().expect("thread") {
            assert_eq!(f.kind, FaultKind::MemoryLimit { memory_mb: 64 });
            assert_eq!(
                f.to_string(),
                "plugin `bomb` was stopped: it tried to use more than 64 MiB of memory (`limits.memory_mb`)"
            );
        }
    }
    // Nine 64 MiB instances ran, three at a time; their memory is returned.
    let after = rss_mib();
    assert!(
        after < before + 3 * 64 + 64,
        "RSS grew from {before} MiB to {after} MiB"
    );
}

#[test]
fn deep_recursion_traps() {
    let (rt, _) = runtime(Setup::default());
    let p = source(&rt, "recursion", "hostile-deep-recursion", "");
    let f = fault!(fetch(&p));
    match &f.kind {
        FaultKind::StackOverflow => assert!(f.to_string().contains("call stack overflow")),
        FaultKind::Trap { message } => assert!(message.contains("out of bounds"), "{f}"),
        other => panic!("unexpected {other:?}"),
    }
    // The host survives and the plugin can be called again.
    assert!(p.describe().is_ok());
}

#[test]
fn panics_are_reported_with_their_message() {
    let (rt, logs) = runtime(Setup::default());
    let p = source(&rt, "panicky", "hostile-panic", "");
    let f = fault!(fetch(&p));
    let FaultKind::Panic { message } = &f.kind else {
        panic!("{f:?}")
    };
    assert!(
        message.starts_with("hostile-panic: deliberate panic in fetch-page (at "),
        "{message}"
    );
    assert!(
        f.to_string()
            .starts_with("plugin `panicky` panicked: hostile-panic")
    );
    // The captured stderr reached the logs, tagged with the plugin id.
    assert!(
        logs.of("panicky")
            .iter()
            .any(|l| l.source == LogSource::Stderr && l.message.contains("panicked at"))
    );

    let p = source(
        &rt,
        "panicky-describe",
        "hostile-panic",
        "[config]\nwhere = \"describe\"",
    );
    assert!(matches!(fault!(p.describe()).kind, FaultKind::Panic { .. }));
    assert_eq!(
        p.parse_url("x").expect("no fault").expect("no error").id,
        "1"
    );
}

#[test]
fn a_trapped_instance_is_never_reused() {
    let (rt, _) = runtime(Setup::default());
    let p = source(&rt, "trap-then-ok", "hostile-trap-then-ok", "");
    for _ in 0..3 {
        let f = fault!(fetch(&p));
        assert!(matches!(f.kind, FaultKind::Panic { .. }), "{f}");
    }
}

#[test]
fn a_huge_page_is_refused_without_being_lifted() {
    let (rt, _) = runtime(Setup::default());
    // 10 million entries: the guest runs out of its memory building them.
    let p = source(&rt, "huge-default", "hostile-huge-page", "");
    assert_eq!(
        fault!(fetch(&p)).kind,
        FaultKind::MemoryLimit { memory_mb: 128 }
    );

    // With room in the guest, 1 million entries exceed what the host copies
    // out of an instance in one call: refused before they are lifted.
    let p = source(
        &rt,
        "huge-1m",
        "hostile-huge-page",
        "[limits]\nmemory_mb = 1024\n[config]\ncount = \"1000000\"",
    );
    let f = fault!(fetch(&p));
    assert!(matches!(f.kind, FaultKind::TooMuchData { .. }), "{f}");
    assert!(
        f.to_string()
            .contains("more than 64 MiB of data in one call"),
        "{f}"
    );

    // 200 000 entries fit the copy limit but not the page limit.
    let p = source(
        &rt,
        "huge-200k",
        "hostile-huge-page",
        "[limits]\nmemory_mb = 1024\n[config]\ncount = \"200000\"",
    );
    let f = fault!(fetch(&p));
    assert_eq!(
        f.to_string(),
        "plugin `huge-200k` broke the plugin contract: a page of 200000 entries exceeds the limit of 100000"
    );

    // A small page is fine.
    let p = source(
        &rt,
        "huge-10",
        "hostile-huge-page",
        "[config]\ncount = \"10\"",
    );
    let page = fetch(&p).expect("no fault").expect("no error");
    assert_eq!(page.entries.len(), 10);
    assert_eq!(page.entries[0].collection.as_deref(), Some("comments"));
}

#[test]
fn forbidden_wasi_is_refused_at_load_naming_the_import() {
    let (rt, _) = runtime(Setup::default());
    let (_dir, path) = manifest("forbidden", "source", "hostile-forbidden-wasi", "");
    let e = rt.load(&path).expect_err("refused");
    let LoadError::ForbiddenImport { plugin, import, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(plugin, "forbidden");
    assert!(import.starts_with("wasi:sockets/"), "{import}");
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "plugin `forbidden` is refused: it imports `{import}`, which is not granted"
        )),
        "{msg}"
    );
    assert!(matches!(
        rt.source("forbidden"),
        Err(LoadError::NotInstalled(_))
    ));
}

#[test]
fn a_filter_may_not_import_http() {
    // A source component that uses `http`, declared as a filter: the import
    // check runs before the export check, and the filter world has no `http`.
    let (rt, _) = runtime(Setup::default());
    let (_dir, path) = manifest("not-a-filter", "filter", "hostile-bad-hosts", "");
    let e = rt.load(&path).expect_err("refused").to_string();
    assert!(
        e.contains("it imports `fairdraw:plugin/http@0.1.0`, which the filter-plugin world does not include"),
        "{e}"
    );
}

#[test]
fn plugin_errors_and_faults_are_different_layers() {
    let (rt, _) = runtime(Setup::default());
    let p = source(
        &rt,
        "layers",
        "hostile-bad-hosts",
        "[config]\ntarget = \"nonsense\"",
    );
    let inner = fetch(&p).expect("not a fault").expect_err("a plugin error");
    assert_eq!(
        inner,
        PluginError::InvalidInput("unknown target \"nonsense\"".into())
    );
}
