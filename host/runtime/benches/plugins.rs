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
//! Two kinds of measurement, both on the runtime's own code:
//!
//! * **Through the handles** (`per_call/runtime`, `filter/*`, `source/*`):
//!   the public API exactly as the CLI uses it, `PluginRuntime::filter(id)?
//!   .check(..)` and `SourcePlugin::fetch_page`.
//! * **Step by step** (`instantiate/*`, `call/empty`, `per_call/probe`):
//!   `PluginRuntime::probe(id)` gives a `Probe`, whose `instantiate` creates
//!   the store every call creates (same limits, captured stdio, fault
//!   mapping) and instantiates the same `InstancePre`; the resulting
//!   `Instantiated` calls bench-empty's root `empty` export. Comparing
//!   `per_call/probe` with `per_call/runtime` shows what a typed call adds
//!   (its export lookup, the argument and result conversions).
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

use fairdraw_runtime as plugin;

use plugin::{
    Collection, CredentialSource, DevOriginMap, LogRecord, PluginRuntime, Post, Probe,
    RuntimeOptions,
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

/// The plugins of the step-by-step benchmarks.
const PROBED: [&str; 3] = ["bench-empty", "spam-filter", "youtube"];

/// A runtime with bench-empty, spam-filter and youtube loaded, made on
/// first use (so a filter that skips every benchmark using it skips the
/// loading).
fn loaded_runtime() -> &'static PluginRuntime {
    static RT: OnceLock<PluginRuntime> = OnceLock::new();
    RT.get_or_init(|| {
        component("bench-empty");
        let rt = runtime("", &[]);
        rt.load(manifest("bench/empty")).expect("bench-empty loads");
        rt.load(manifest("spam-filter")).expect("spam-filter loads");
        rt.load(manifest("youtube")).expect("youtube loads");
        rt
    })
}

/// A probe of one of [`PROBED`].
fn probe(id: &str) -> Probe {
    loaded_runtime().probe(id).expect("a loaded plugin")
}

/// A fresh call store + instantiation from the plugin's `InstancePre`
/// (+ dropping it, which logs the call's stdio and returns the pool slot),
/// per component.
fn instantiate(c: &mut Criterion) {
    let mut g = c.benchmark_group("instantiate");
    for name in PROBED {
        let samples = Mutex::new(Vec::new());
        g.bench_function(name, |b| {
            let probe = probe(name);
            b.iter_custom(|iters| {
                timed(&samples, iters, || {
                    let instance = probe.instantiate().expect("instantiate");
                    black_box(instance);
                })
            });
        });
        report(&format!("instantiate/{name}"), &samples);
    }
    g.finish();
}

/// A call of the root `empty` export of an instance that already exists.
/// Each sample gets an instance of its own: a call's store keeps the
/// limits of one call, so one store must not outlive the plugin's timeout.
fn call(c: &mut Criterion) {
    let mut g = c.benchmark_group("call");
    g.bench_function("empty", |b| {
        let probe = probe("bench-empty");
        b.iter_custom(|iters| {
            let mut instance = probe.instantiate().expect("instantiate");
            let empty = instance.root_func("empty").expect("the `empty` export");
            let start = Instant::now();
            for _ in 0..iters {
                instance.call(empty).expect("call");
            }
            start.elapsed()
        });
    });
    g.finish();
}

/// The whole cost of one call: new store, instantiate, call, drop. Through
/// the runtime's handle (a filter `check` of zero entries on `bench-empty`)
/// and step by step through a probe (its `empty` export).
fn per_call(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_call");
    let samples = Mutex::new(Vec::new());
    g.bench_function("runtime", |b| {
        let filter = loaded_runtime().filter("bench-empty").expect("filter");
        b.iter_custom(|iters| {
            timed(&samples, iters, || {
                let v = filter.check(&[], "").expect("no fault").expect("no error");
                black_box(v);
            })
        });
    });
    report("per_call/runtime", &samples);
    g.bench_function("probe", |b| {
        let probe = probe("bench-empty");
        b.iter_custom(|iters| {
            timed(&samples, iters, || {
                let mut instance = probe.instantiate().expect("instantiate");
                instance.call_root_export("empty").expect("call");
            })
        });
    });
    report("per_call/probe", &samples);
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
            let f = loaded_runtime().filter(id).expect("filter");
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

// ---------------------------------------------------------------------------
// Parsing: each platform plugin on its recorded 100-item page

/// A loopback HTTP/1.1 server that answers every request, keep-alive, with
/// one recorded body: the plugin under test parses the same page each call.
fn replay_server(body: Vec<u8>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let body = Arc::new(body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let body = Arc::clone(&body);
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut writer = stream.try_clone().expect("clone");
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" {
                            break;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut request_body = vec![0; length];
                    if reader.read_exact(&mut request_body).is_err() {
                        return;
                    }
                    // One write per response, no Nagle: a split write
                    // would wait for the client's delayed ACK (~40 ms).
                    let mut response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    response.extend_from_slice(&body);
                    if writer.write_all(&response).is_err() {
                        return;
                    }
                }
            });
        }
    });
    origin
}

/// One platform plugin's parsing case: its recorded full page, the origin
/// it calls, the credential it is given, the post and the collection.
struct ParseCase {
    plugin: &'static str,
    page: &'static str,
    origin: &'static str,
    credential: &'static str,
    post: &'static str,
    collection: Collection,
    /// Where the page's items are: emptied for the baseline page.
    items: &'static [&'static str],
}

const PARSE_CASES: [ParseCase; 5] = [
    ParseCase {
        plugin: "instagram",
        page: "comments-100.json",
        origin: "https://graph.facebook.com",
        credential: "FAIRDRAW_CREDENTIAL_INSTAGRAM_ACCESS_TOKEN",
        post: "17895695668004550",
        collection: Collection::Comments,
        items: &["data"],
    },
    ParseCase {
        plugin: "facebook",
        page: "comments-100.json",
        origin: "https://graph.facebook.com",
        credential: "FAIRDRAW_CREDENTIAL_FACEBOOK_ACCESS_TOKEN",
        post: "111222333_999",
        collection: Collection::Comments,
        items: &["data"],
    },
    ParseCase {
        plugin: "x",
        page: "search-100.json",
        origin: "https://api.x.com",
        credential: "FAIRDRAW_CREDENTIAL_X_BEARER_TOKEN",
        post: "https://x.com/OriginalAuthor/status/1279944223114900000",
        collection: Collection::Comments,
        items: &["data"],
    },
    ParseCase {
        plugin: "tiktok",
        page: "comments-100.json",
        origin: "https://open.tiktokapis.com",
        credential: "FAIRDRAW_CREDENTIAL_TIKTOK_ACCESS_TOKEN",
        post: "https://www.tiktok.com/@brand/video/7345678901234500000",
        collection: Collection::Comments,
        items: &["data", "comments"],
    },
    ParseCase {
        plugin: "bluesky",
        page: "likes-100.json",
        origin: "https://public.api.bsky.app",
        credential: "FAIRDRAW_CREDENTIAL_BLUESKY_ACCESS_TOKEN",
        post: "https://bsky.app/profile/did:plc:organizer000000000000000/post/3kgiveaway000",
        collection: Collection::Likes,
        items: &["likes"],
    },
];

/// The recorded page with its items removed: the same call, HTTP round trip
/// and envelope, without the per-entry work.
fn emptied(page: &[u8], items: &[&str]) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(page).expect("JSON page");
    let mut at = &mut value;
    for key in items {
        at = at.get_mut(*key).expect("the items' path");
    }
    *at = serde_json::Value::Array(Vec::new());
    serde_json::to_vec(&value).expect("JSON")
}

/// Entries per second of each platform plugin through the runtime: one
/// `fetch_page` of its recorded 100-item page, served from loopback (so a
/// call is the HTTP round trip, the plugin's JSON parsing and the host's
/// conversion into engine entries), and the same page with its items
/// removed. Parsing throughput is entries / (full − empty); the issue's
/// target is 100k entries/s per plugin. `BENCHMARKS.md` has the figures.
fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    for case in &PARSE_CASES {
        let full = std::fs::read(
            repo()
                .join("plugins")
                .join(case.plugin)
                .join("tests/recorded")
                .join(case.page),
        )
        .expect("recorded page");
        component(case.plugin);
        for (name, body) in [
            ("full", full.clone()),
            ("empty", emptied(&full, case.items)),
        ] {
            let origin = replay_server(body);
            let rt = runtime(
                &format!("{}={origin}", case.origin),
                &[(case.credential, "bench-token")],
            );
            rt.load(manifest(case.plugin)).expect("plugin loads");
            let source = rt.source(case.plugin).expect("source");
            let post = source
                .parse_url(case.post)
                .expect("no fault")
                .expect("the post parses");
            let fetch = || {
                source
                    .fetch_page(&post, case.collection, None)
                    .expect("no fault")
                    .expect("a page")
                    .entries
                    .len()
            };
            let entries = fetch();
            if name == "full" {
                assert!(entries >= 90, "{}: {entries} entries", case.plugin);
                g.throughput(Throughput::Elements(entries as u64));
            } else {
                assert_eq!(entries, 0, "{}: the emptied page has entries", case.plugin);
            }
            g.bench_function(format!("{}/{name}", case.plugin), |b| b.iter(fetch));
        }
    }
    g.finish();
}

criterion_group!(benches, instantiate, call, per_call, filter, source, parse);
criterion_main!(benches);
