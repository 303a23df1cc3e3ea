//! Plugin-runtime benchmarks: instantiation, an empty call, the whole
//! per-call cost, a filter's throughput and a source against a mock server.
//! Figures and how to read them: `host/runtime/BENCHMARKS.md`.
//!
//! ```text
//! cargo bench -p fairdraw-runtime --bench plugins                 # everything (~3 min)
//! cargo bench -p fairdraw-runtime --bench plugins -- instantiate  # one group
//! ```
//!
//! The components are built first (`cargo build` of `plugins/`, a no-op
//! when nothing changed), as the host's tests do.
//!
//! Two kinds of measurement:
//!
//! * **Through the runtime** (`per_call/runtime`, `filter/*`, `source/*`):
//!   the public API exactly as the CLI uses it, `PluginRuntime::filter(id)?
//!   .check(..)` and `SourcePlugin::fetch_page`.
//! * **Below the runtime** (`instantiate/*`, `call/empty`,
//!   `per_call/replica`): the runtime keeps its `InstancePre` and store type
//!   private, so these use a replica of what `LoadedPlugin::call` does per
//!   call, with the runtime's own engine (`runtime::new_engine`) and the
//!   same WASI and store limits. Comparing
//!   `per_call/replica` with `per_call/runtime` checks the replica: they
//!   differ only by the runtime's bookkeeping (stdio capture, fault
//!   mapping).
//!
//! For the latency benchmarks every iteration is timed on its own and the
//! p50/p99 over the measurement are printed after criterion's line.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fairdraw_engine::entry::{Entry, OwnedEntry};
use fairdraw_tests::mock::youtube;
use wasmtime::component::{Component, InstancePre, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use fairdraw_runtime as plugin;

use plugin::limits::{Limits, MAX_TRANSFER_BYTES, StoreLimiter};
use plugin::{
    Collection, CredentialSource, DevOriginMap, LogRecord, PluginRuntime, Post, RuntimeOptions,
};

// ---------------------------------------------------------------------------
// Setup

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("host/runtime/ is two levels down")
        .to_owned()
}

/// Builds the plugin components (as `host/runtime/tests/all/support.rs` does)
/// and returns the path of one, e.g. `bench-empty`.
fn component(crate_name: &str) -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "--manifest-path"])
            .arg(repo().join("plugins/Cargo.toml"))
            .args(["--target", "wasm32-wasip2", "--release"])
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "warning: building the plugin components failed; using the ones already built"
            );
        }
    });
    let path = repo()
        .join("plugins/target/wasm32-wasip2/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")));
    assert!(
        path.is_file(),
        "{} is missing: run `bash plugins/build.sh`",
        path.display()
    );
    path
}

/// The manifest of a plugin crate, e.g. `bench/empty`.
fn manifest(dir: &str) -> PathBuf {
    repo().join("plugins").join(dir).join("plugin.toml")
}

/// A runtime whose compile cache persists across runs (so loading is not
/// measured), with warnings on stderr and the given dev origin map.
fn runtime(dev_map: &str, credentials: &[(&str, &str)]) -> PluginRuntime {
    let data_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-bench-data");
    PluginRuntime::with_options(RuntimeOptions {
        data_dir,
        dev_origin_map: DevOriginMap::parse(dev_map).expect("dev map"),
        credentials: CredentialSource::Map(
            credentials
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        ),
        // Only warnings and errors: the dev-map warning is expected.
        log: Arc::new(|r: &LogRecord<'_>| {
            if r.level >= plugin::LogLevel::Error {
                eprintln!("[plugin {}] {}", r.plugin, r.message);
            }
        }),
    })
    .expect("runtime")
}

// ---------------------------------------------------------------------------
// The replica of one call's store (see the crate docs)

/// The runtime's own engine configuration: fuel, epochs, 1 MiB stack,
/// pooling with dirtied memory kept resident where PAGEMAP_SCAN is available.
fn replica_engine() -> Engine {
    plugin::runtime::new_engine().expect("engine")
}

/// As `runtime.rs`'s `CallState`, minus the HTTP budget and log counter.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: StoreLimiter,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A linked component: wasmtime-wasi's synchronous WASI 0.2 (a superset of
/// what the runtime links; these components import only what it grants),
/// the `fairdraw:plugin` imports stubbed (the benchmarked exports never
/// call them).
struct Replica {
    engine: Engine,
    pre: InstancePre<State>,
}

impl Replica {
    fn new(engine: &Engine, wasm: &Path) -> Replica {
        let component = Component::from_file(engine, wasm).expect("component");
        let mut linker: Linker<State> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
        linker
            .define_unknown_imports_as_traps(&component)
            .expect("stubs");
        Replica {
            engine: engine.clone(),
            pre: linker.instantiate_pre(&component).expect("instantiate_pre"),
        }
    }

    /// A store set up as `LoadedPlugin::call` sets one up.
    fn store(&self) -> Store<State> {
        let limits = Limits::DEFAULT;
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(wasmtime_wasi::p2::pipe::SinkOutputStream)
            .stderr(wasmtime_wasi::p2::pipe::SinkOutputStream)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let state = State {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: StoreLimiter::new(limits.memory_mb),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(MAX_TRANSFER_BYTES);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(limits.timeout_ms.div_ceil(10) + 1);
        store.set_fuel(limits.fuel).expect("fuel");
        store
    }
}

// ---------------------------------------------------------------------------
// Per-iteration latencies

/// Times every iteration of `f` separately for criterion's `iter_custom`
/// and keeps the durations for [`report`].
fn timed(samples: &Mutex<Vec<Duration>>, iters: u64, mut f: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut local = Vec::with_capacity(usize::try_from(iters).unwrap_or(0));
    for _ in 0..iters {
        let start = Instant::now();
        f();
        let d = start.elapsed();
        total += d;
        local.push(d);
    }
    samples.lock().expect("samples").extend(local);
    total
}

/// Prints p50/p90/p99 of the recorded iterations, skipping the first fifth
/// (criterion's warm-up). Nothing when the benchmark was filtered out.
fn report(name: &str, samples: &Mutex<Vec<Duration>>) {
    let mut all = std::mem::take(&mut *samples.lock().expect("samples"));
    if all.is_empty() {
        return;
    }
    let mut v = all.split_off(all.len() / 5);
    v.sort_unstable();
    let p = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<40} per-iteration p50 {:>9.2?}  p90 {:>9.2?}  p99 {:>9.2?}  ({} iterations)",
        p(0.5),
        p(0.9),
        p(0.99),
        v.len()
    );
}

// ---------------------------------------------------------------------------
// Benchmarks

/// The replicas, compiled on first use (so a filter that skips them skips
/// the compilation): bench-empty, spam-filter, youtube.
fn replicas() -> &'static [(&'static str, Replica)] {
    static REPLICAS: OnceLock<Vec<(&'static str, Replica)>> = OnceLock::new();
    REPLICAS.get_or_init(|| {
        let engine = replica_engine();
        ["bench-empty", "spam-filter", "youtube"]
            .map(|n| (n, Replica::new(&engine, &component(n))))
            .into()
    })
}

fn replica(name: &str) -> &'static Replica {
    &replicas()
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a replica")
        .1
}

/// A runtime with bench-empty and spam-filter loaded, made on first use.
fn filter_runtime() -> &'static PluginRuntime {
    static RT: OnceLock<PluginRuntime> = OnceLock::new();
    RT.get_or_init(|| {
        component("bench-empty");
        let rt = runtime("", &[]);
        rt.load(manifest("bench/empty")).expect("bench-empty loads");
        rt.load(manifest("spam-filter")).expect("spam-filter loads");
        rt
    })
}

/// A fresh store + instantiate from `InstancePre` (+ dropping the store,
/// which returns the pool slot), per component.
fn instantiate(c: &mut Criterion) {
    let mut g = c.benchmark_group("instantiate");
    for name in ["bench-empty", "spam-filter", "youtube"] {
        let samples = Mutex::new(Vec::new());
        g.bench_function(name, |b| {
            let replica = replica(name);
            b.iter_custom(|iters| {
                timed(&samples, iters, || {
                    let mut store = replica.store();
                    let instance = replica.pre.instantiate(&mut store).expect("instantiate");
                    black_box(instance);
                })
            });
        });
        report(&format!("instantiate/{name}"), &samples);
    }
    g.finish();
}

/// A call of the root `empty` export of an instance that already exists.
fn call(c: &mut Criterion) {
    let mut g = c.benchmark_group("call");
    let mut instance = None;
    g.bench_function("empty", |b| {
        let (store, empty) = instance.get_or_insert_with(|| {
            let replica = replica("bench-empty");
            let mut store = replica.store();
            // Millions of calls share this store, where the runtime gives
            // each call a store of its own; the fuel amount does not change
            // the cost of a call.
            store.set_fuel(u64::MAX).expect("fuel");
            let instance = replica.pre.instantiate(&mut store).expect("instantiate");
            let empty = instance
                .get_typed_func::<(), ()>(&mut store, "empty")
                .expect("the `empty` export");
            (store, empty)
        });
        b.iter(|| empty.call(&mut *store, ()).expect("call"));
    });
    g.finish();
}

/// The whole cost of one call as the runtime makes it: new store,
/// instantiate, call, drop. Through the runtime (a filter `check` of zero
/// entries on `bench-empty`) and through the replica (the `empty` export).
fn per_call(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_call");
    let samples = Mutex::new(Vec::new());
    g.bench_function("runtime", |b| {
        let filter = filter_runtime().filter("bench-empty").expect("filter");
        b.iter_custom(|iters| {
            timed(&samples, iters, || {
                let v = filter.check(&[], "").expect("no fault").expect("no error");
                black_box(v);
            })
        });
    });
    report("per_call/runtime", &samples);
    g.bench_function("replica", |b| {
        let replica = replica("bench-empty");
        b.iter_custom(|iters| {
            timed(&samples, iters, || {
                let mut store = replica.store();
                let instance = replica.pre.instantiate(&mut store).expect("instantiate");
                let empty = instance
                    .get_typed_func::<(), ()>(&mut store, "empty")
                    .expect("export");
                empty.call(&mut store, ()).expect("call");
            })
        });
    });
    report("per_call/replica", &samples);
    g.finish();
}

/// `BATCH` entries like those of the spam filter's throughput example: a
/// tenth copy-paste, a twentieth emoji-only, all account ages known.
fn filter_entries() -> Vec<OwnedEntry> {
    let texts = [
        "Great giveaway, count me in! @friend1 @friend2",
        "🔥🔥🔥",
        "Would love to win this for my sister 💙",
    ];
    (0..BATCH)
        .map(|i| Entry {
            platform: "youtube".into(),
            user_id: format!("UC{i:022}").into(),
            handle: format!("@user{i}").into(),
            display_name: "".into(),
            text: match i % 20 {
                0 => texts[1].into(),
                1 | 2 => texts[0].into(),
                _ => format!("{} #{i}", texts[2]).into(),
            },
            created_at: format!(
                "2024-05-24T{:02}:{:02}:{:02}Z",
                i / 3600 % 24,
                i / 60 % 60,
                i % 60
            )
            .into(),
            collection: None,
            followers: None,
            account_created_at: Some(
                format!(
                    "20{:02}-{:02}-{:02}T08:00:00Z",
                    14 + i % 10,
                    1 + i % 12,
                    1 + i % 28
                )
                .into(),
            ),
        })
        .collect()
}

const BATCH: usize = 10_000;

/// `runtime.filter(id)?.check(..)` on 10k-entry batches: spam-filter, and
/// bench-empty (which only receives the entries and keeps them all: the
/// runtime's share of the cost).
fn filter(c: &mut Criterion) {
    let entries = std::cell::OnceCell::new();
    let config = r#"{"duplicate_text_accounts": 3, "min_account_age_days": 7, "emoji_only": true}"#;
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(30);
    for id in ["spam-filter", "bench-empty"] {
        g.bench_function(format!("{id}/10k"), |b| {
            let f = filter_runtime().filter(id).expect("filter");
            let entries = entries.get_or_init(filter_entries);
            b.iter(|| {
                let v = f
                    .check(black_box(entries), config)
                    .expect("no fault")
                    .expect("no error");
                assert_eq!(v.len(), BATCH);
                v
            });
        });
    }
    g.finish();
}

/// Pages per iteration of the source benchmark.
const PAGES: usize = 20;

/// `PAGES` pages of YouTube comments (100 threads each, up to 5 inline
/// replies) from the mock: through the runtime and the youtube plugin, and
/// the same requests with a plain keep-alive HTTP client (ureq).
fn source(c: &mut Criterion) {
    // Set up on first use, so a filter that skips this group skips the mock.
    let setup = std::cell::OnceCell::new();
    let setup = || setup.get_or_init(SourceSetup::new);
    let mut g = c.benchmark_group("source");
    g.throughput(Throughput::Elements(PAGES as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(15));
    g.bench_function(format!("runtime/{PAGES}_pages"), |b| {
        let s = setup();
        b.iter(|| {
            s.mock.reset();
            s.fetch_all()
        });
    });
    g.bench_function(format!("plain_http/{PAGES}_pages"), |b| {
        let s = setup();
        b.iter(|| {
            s.mock.reset();
            let mut bytes = 0;
            for url in &s.urls {
                let body = s
                    .agent
                    .get(url)
                    .call()
                    .expect("GET")
                    .body_mut()
                    .read_to_vec()
                    .expect("body");
                bytes += body.len();
            }
            bytes
        });
    });
    g.finish();
}

/// The mock, the runtime with the youtube plugin, and the URLs it requests.
struct SourceSetup {
    mock: fairdraw_tests::mock::MockHandle<youtube::Config>,
    _rt: PluginRuntime,
    yt: plugin::SourcePlugin,
    post: Post,
    urls: Vec<String>,
    agent: ureq::Agent,
}

impl SourceSetup {
    fn new() -> SourceSetup {
        let mock = youtube::start_blocking(youtube::Config {
            comments: PAGES * 100,
            ..youtube::Config::default()
        });
        let dev = format!("{}={}", youtube::PRODUCTION_ORIGIN, mock.origin);
        let rt = runtime(
            &dev,
            &[("FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY", youtube::API_KEY)],
        );
        rt.load(manifest("youtube")).expect("youtube loads");
        let yt = rt.source("youtube").expect("source");
        let post = Post {
            id: youtube::VIDEO_ID.into(),
            url: format!("https://www.youtube.com/watch?v={}", youtube::VIDEO_ID),
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(true)
            .build()
            .into();
        let mut s = SourceSetup {
            mock,
            _rt: rt,
            yt,
            post,
            urls: Vec::new(),
            agent,
        };
        // The URLs the plugin requested, for the plain client to replay.
        s.mock.reset();
        let (pages, entries) = s.fetch_all();
        s.urls = s
            .mock
            .requests()
            .iter()
            .map(|r| {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&r.query)
                    .finish();
                format!("{}{}?{query}", s.mock.origin, r.path)
            })
            .collect();
        assert_eq!(
            (pages, s.urls.len()),
            (PAGES, PAGES),
            "one mock request per page"
        );
        println!("source: {PAGES} pages, {entries} entries per iteration");
        s
    }

    /// Every page of the video's comments through the runtime: (pages, entries).
    fn fetch_all(&self) -> (usize, usize) {
        let (mut cursor, mut pages, mut entries) = (None::<String>, 0, 0);
        loop {
            let page = self
                .yt
                .fetch_page(&self.post, Collection::Comments, cursor.as_deref())
                .expect("no fault")
                .expect("a page");
            pages += 1;
            entries += page.entries.len();
            cursor = page.next_cursor;
            if cursor.is_none() {
                return (pages, entries);
            }
        }
    }
}

criterion_group!(benches, instantiate, call, per_call, filter, source);
criterion_main!(benches);
