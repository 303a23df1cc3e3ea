//! Issue 12: no credential ever reaches a plugin, and every call is bounded
//! in time, pages, entries, bytes and memory. Each case runs a hostile
//! plugin built from source.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use fairdraw_engine::entry::OwnedEntry;

use crate::plugin::pagination::{FetchErrorKind, FetchOptions, Sink, fetch_all};
use crate::plugin::{Collection, Fault, FaultKind, PluginError, PluginRuntime, Post, SourcePlugin};
use crate::support::{MockServer, Received, Reply, Setup, fetch, fetch_to_vec, runtime, source};

/// A credential value as `user:pass`, and what a server may turn it into.
const SECRET: &str = "user:p@ss";
const SECRET_FORMS: [&str; 4] = ["user:p@ss", "user%3Ap%40ss", "dXNlcjpwQHNz", "p@ss"];

/// `https://echo.example`, which reflects the request in every way a real
/// server might, and `https://collector.example`, which records.
struct Servers {
    echo: MockServer,
    collector: MockServer,
    dev: String,
}

fn servers() -> Servers {
    let echo = MockServer::start(|r: &Received| {
        let path = r.target.split('?').next().unwrap_or_default();
        let query = r.target.split_once('?').map_or("", |(_, q)| q);
        match path {
            // The query and headers in the body and in a header.
            "/echo" => Reply {
                status: 200,
                headers: vec![("X-Echo".into(), r.target.clone())],
                body: format!(
                    "{} auth={}",
                    r.target,
                    r.header("authorization").unwrap_or("-")
                )
                .into_bytes(),
            },
            // The key decoded, then base64-encoded, as in HTTP Basic.
            "/basic" => Reply::ok(if query.contains("user%3Ap%40ss") {
                "Basic dXNlcjpwQHNz"
            } else {
                "no key"
            }),
            // A compressed reflection, which the host could not scrub.
            "/gzip" => Reply {
                status: 200,
                headers: vec![("Content-Encoding".into(), "gzip".into())],
                body: format!("{} {:?}", r.target, r.header("accept-encoding")).into_bytes(),
            },
            // A redirect to an invalid URL that quotes the query.
            "/bad-location" => Reply::redirect(&format!("http://[::1/?{query}")),
            _ => Reply::status(404, "no such page"),
        }
    });
    let collector = MockServer::start(|_| Reply::ok("thanks"));
    let dev = format!(
        "https://echo.example={},https://collector.example={}",
        echo.origin(),
        collector.origin()
    );
    Servers {
        echo,
        collector,
        dev,
    }
}

/// `hostile-steal-credential` as plugin `id`, reading the credential back
/// from `echo_path` and sending what it got to the collector.
fn stealer(rt: &PluginRuntime, id: &str, echo_path: &str) -> SourcePlugin {
    let toml = format!(
        "[http]\nallow = [\"https://echo.example\", \"https://collector.example\"]\n\
         [[credentials]]\nname = \"key\"\norigin = \"https://echo.example\"\nquery = \"key\"\n\
         [config]\necho = \"https://echo.example{echo_path}\"\ncollect = \"https://collector.example/collect\"\n"
    );
    source(rt, id, "hostile-steal-credential", &toml)
}

/// What the plugin collected (its page's text).
fn loot(p: &SourcePlugin) -> String {
    let page = fetch(p).expect("no fault").expect("no plugin error");
    page.entries[0].text.to_string()
}

/// Everything the collector received, as one string.
fn collected(s: &Servers) -> String {
    s.collector
        .received()
        .iter()
        .map(|r| format!("{} {:?}", r.target, r.headers))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_no_secret(what: &str, text: &str, forms: &[&str]) {
    for f in forms {
        assert!(!text.contains(f), "{what} contains {f:?}: {text}");
    }
}

#[test]
fn issue_12_a_plugin_id_cannot_pick_up_another_plugins_credential() {
    // `youtube-api` + `key` used to read `FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY`,
    // youtube's `api_key`.
    let s = servers();
    let (rt, _) = runtime(Setup {
        dev_map: &s.dev,
        credentials: &[("FAIRDRAW_CREDENTIAL_YOUTUBE_API_KEY", "youtube-secret")],
        ..Setup::default()
    });
    let p = stealer(&rt, "youtube-api", "/echo");
    assert_eq!(
        rt.inspect("youtube-api")
            .expect("inspect")
            .missing_credentials,
        ["FAIRDRAW_CREDENTIAL_YOUTUBE__API_KEY"]
    );
    let text = loot(&p);
    assert_no_secret("the plugin's loot", &text, &["youtube-secret"]);
    let echo: Vec<String> = s.echo.received().into_iter().map(|r| r.target).collect();
    assert_eq!(echo, ["/echo"], "no key was attached");
    assert_no_secret("the collector", &collected(&s), &["youtube-secret"]);
}

#[test]
fn issue_12_a_reflected_credential_is_redacted_in_every_form() {
    let s = servers();
    let (rt, _) = runtime(Setup {
        dev_map: &s.dev,
        credentials: &[("FAIRDRAW_CREDENTIAL_STEALER_KEY", SECRET)],
        ..Setup::default()
    });
    for (path, expect) in [
        // Query in the body and in a header, percent-encoded.
        (
            "/echo",
            "x-echo: /echo?key=[redacted] | /echo?key=[redacted]",
        ),
        // Base64 of `user:pass`.
        ("/basic", "Basic [redacted]"),
        // Compressed bodies are refused (the host asks for identity).
        (
            "/gzip",
            "error: transport: the response is compressed (content-encoding: gzip)",
        ),
        // The "redirect to an invalid URL" error quoted the Location.
        (
            "/bad-location",
            "error: denied: redirect to an invalid URL \"http://[::1/?key=[redacted]\"",
        ),
    ] {
        let p = stealer(&rt, "stealer", path);
        let text = loot(&p);
        assert!(text.contains(expect), "{path}: {text}");
        assert_no_secret(path, &text, &SECRET_FORMS);
    }
    // The echo server did get the credential each time; the collector never.
    let echo = s.echo.received();
    assert_eq!(echo.len(), 4);
    assert!(
        echo.iter()
            .all(|r| r.header("accept-encoding") == Some("identity")),
        "{echo:?}"
    );
    assert!(
        echo.iter().all(|r| r.target.contains("key=user%3Ap%40ss")),
        "{echo:?}"
    );
    assert_eq!(s.collector.received().len(), 4);
    assert_no_secret("the collector", &collected(&s), &SECRET_FORMS);
}

#[test]
fn issue_12_two_plugins_on_one_origin_each_get_only_their_credential() {
    let s = servers();
    let (rt, _) = runtime(Setup {
        dev_map: &s.dev,
        credentials: &[
            ("FAIRDRAW_CREDENTIAL_ALPHA_KEY", "alpha-secret"),
            ("FAIRDRAW_CREDENTIAL_BETA_KEY", "beta-secret"),
        ],
        ..Setup::default()
    });
    let alpha = stealer(&rt, "alpha", "/echo");
    let beta = stealer(&rt, "beta", "/echo");
    for _ in 0..2 {
        let a = loot(&alpha);
        let b = loot(&beta);
        assert_no_secret("alpha's loot", &a, &["alpha-secret", "beta-secret"]);
        assert_no_secret("beta's loot", &b, &["alpha-secret", "beta-secret"]);
    }
    let echo: Vec<String> = s.echo.received().into_iter().map(|r| r.target).collect();
    assert_eq!(
        echo,
        [
            "/echo?key=alpha-secret",
            "/echo?key=beta-secret",
            "/echo?key=alpha-secret",
            "/echo?key=beta-secret"
        ]
    );
    assert_no_secret(
        "the collector",
        &collected(&s),
        &["alpha-secret", "beta-secret"],
    );
}

#[test]
fn issue_12_a_sleep_ends_at_the_call_deadline() {
    // A 20 s `std::thread::sleep` under a 1 s limit used to take 20 s; a
    // sleep that would outlive the deadline now ends the call at once.
    let (rt, _) = runtime(Setup::default());
    let p = source(
        &rt,
        "sleeper",
        "hostile-sleeper",
        "[limits]\ntimeout_ms = 1000\n[config]\nms = \"20000\"",
    );
    let start = Instant::now();
    let f = match fetch(&p) {
        Err(f) => f,
        Ok(r) => panic!("expected a fault, got {r:?}"),
    };
    let took = start.elapsed();
    assert_eq!(f.kind, FaultKind::Timeout { timeout_ms: 1000 });
    assert!(took < Duration::from_millis(1500), "took {took:?}");

    // Many short sleeps are stopped the same way.
    let p = source(
        &rt,
        "sleeper-many",
        "hostile-sleeper",
        "[limits]\ntimeout_ms = 500\n[config]\nms = \"50\"\ntimes = \"1000\"",
    );
    let start = Instant::now();
    assert!(matches!(
        fetch(&p),
        Err(Fault {
            kind: FaultKind::Timeout { timeout_ms: 500 },
            ..
        })
    ));
    assert!(start.elapsed() < Duration::from_millis(1000));

    // A sleep within the limit is untouched.
    let p = source(
        &rt,
        "sleeper-short",
        "hostile-sleeper",
        "[limits]\ntimeout_ms = 2000\n[config]\nms = \"100\"",
    );
    assert!(fetch(&p).expect("no fault").is_ok());
}

fn runaway(rt: &PluginRuntime, id: &str, mode: &str) -> String {
    let p = source(
        rt,
        id,
        "hostile-cursor-cycle",
        &format!("[config]\nmode = {mode:?}"),
    );
    let post = Post {
        id: "1".into(),
        url: "https://example.invalid/1".into(),
    };
    let options = FetchOptions {
        max_entries: Some(10),
        ..FetchOptions::default()
    };
    let e = fetch_to_vec(&p, &post, Collection::Comments, &options, |_| {}).expect_err("stops");
    let FetchErrorKind::Fault(Fault {
        plugin,
        kind: FaultKind::BadResult { .. },
    }) = &e.kind
    else {
        panic!("{e:?}")
    };
    assert_eq!(plugin, id);
    e.to_string()
}

#[test]
fn issue_12_a_fetch_stops_on_cursor_loops_and_empty_pages() {
    // Cursors A, B, A, … ran 338,242 pages in 15 s.
    let (rt, _) = runtime(Setup::default());
    assert_eq!(
        runaway(&rt, "cycle", "cycle"),
        "plugin `cycle` broke the plugin contract: its cursor \"A\" repeats an earlier one, so the pages would loop forever — stopped after 3 pages (0 entries); resume from cursor \"A\""
    );
    let m = runaway(&rt, "same", "same");
    assert!(m.contains("the next cursor equals the current one"), "{m}");
    let m = runaway(&rt, "count", "count");
    assert!(
        m.starts_with("plugin `count` broke the plugin contract: it returned 20 empty pages in a row, each with a next cursor — stopped after 20 pages"),
        "{m}"
    );
}

#[test]
fn issue_12_the_dev_map_exception_is_keyed_by_the_mapped_origin() {
    // `https://allowed.example` is mapped to `http://localhost:P`; a plugin
    // that declares `https://localhost:P` itself must not reach it.
    let server = MockServer::start(|_| Reply::ok("mock"));
    let port = server
        .origin()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let dev = format!("https://allowed.example=http://localhost:{port}");
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        ..Setup::default()
    });
    let toml = format!(
        "[http]\nallow = [\"https://allowed.example\", \"https://localhost:{port}\"]\n\
         [config]\ntarget = \"url\"\nurl = \"https://localhost:{port}/\""
    );
    let p = source(&rt, "dev-bypass", "hostile-bad-hosts", &toml);
    match fetch(&p).expect("no fault") {
        Err(PluginError::Http(m)) => assert!(
            m.starts_with("denied: localhost resolves to a loopback address"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(server.received().is_empty());
    // The mapped origin still works.
    let toml = "[http]\nallow = [\"https://allowed.example\"]\n[config]\ntarget = \"allowed\"";
    let p = source(&rt, "dev-mapped", "hostile-bad-hosts", toml);
    let page = fetch(&p).expect("no fault").expect("allowed");
    assert_eq!(page.entries[0].text, "status 200: mock");
}

#[test]
fn issue_12_an_ipv6_loopback_dev_target_works() {
    let server = MockServer::start_at("[::1]:0", |_| Reply::ok("v6"));
    let dev = format!("https://allowed.example={}", server.origin());
    assert!(dev.contains("[::1]"), "{dev}");
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        ..Setup::default()
    });
    let toml = "[http]\nallow = [\"https://allowed.example\"]\n[config]\ntarget = \"allowed\"";
    let p = source(&rt, "dev-v6", "hostile-bad-hosts", toml);
    let page = fetch(&p).expect("no fault").expect("reaches [::1]");
    assert_eq!(page.entries[0].text, "status 200: v6");
}

#[test]
fn issue_12_a_planted_reply_does_not_reach_another_plugin() {
    // A keep-alive server answers `/plant` with a short Content-Length
    // followed by a second, planted response; the next request on that
    // connection would read the planted one.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut stream = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                    }
                    let reply: &[u8] = if line.contains("/plant") {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\
                          HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nplanted"
                    } else {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal"
                    };
                    if stream.write_all(reply).is_err() {
                        return;
                    }
                    let _ = stream.flush();
                    let _ = reader.get_mut().read(&mut []);
                }
            });
        }
    });
    let dev = format!("https://allowed.example=http://{addr}");
    let (rt, _) = runtime(Setup {
        dev_map: &dev,
        ..Setup::default()
    });
    let load = |id: &str, path: &str| {
        let toml = format!(
            "[http]\nallow = [\"https://allowed.example\"]\n[config]\ntarget = \"url\"\nurl = \"https://allowed.example{path}\""
        );
        source(&rt, id, "hostile-bad-hosts", &toml)
    };
    let planter = load("planter", "/plant");
    let victim = load("victim", "/real");
    let text = |p: &SourcePlugin| {
        fetch(p).expect("no fault").expect("response").entries[0]
            .text
            .to_string()
    };
    assert_eq!(text(&planter), "status 200: ok");
    assert_eq!(text(&victim), "status 200: real");
}

/// Set in the child process of the flood test: the manifest lines its
/// `hostile-flood` runs under. The test runs its own binary again, so the
/// child's peak memory is measured apart from the other tests'.
const FLOOD_CHILD: &str = "FAIRDRAW_TEST_FLOOD_MANIFEST";
/// Set (to anything) for the control run: the child keeps every entry, as
/// the host did before issue 12.
const FLOOD_KEEP: &str = "FAIRDRAW_TEST_FLOOD_KEEP";

/// The flood the test runs: pages of 2,000 entries of 1,000 bytes of text
/// (~2 MB; the plugin's default pages are 50,000 entries of 600 bytes, but
/// the debug build moves about 7 MB/s through the component boundary, and
/// the page size does not matter to what is measured: the host holds one
/// page at a time). 50,000 entries (~55 MB as JSON Lines) kept in memory
/// take the child past the RSS bound; streamed, it stays near its ~40 MiB
/// baseline.
const FLOOD_CONFIG: &str = "[config]\nentries = \"2000\"\ntext_bytes = \"1000\"";
const FLOOD_ENTRIES: u64 = 50_000;
const FLOOD_BYTES: u64 = 10_000_000;
/// The peak resident set size the fetch must stay under.
const FLOOD_MAX_RSS_MIB: u64 = 80;

/// Fetches from `hostile-flood` under `manifest`, encoding each page as
/// JSON Lines to nowhere (or keeping every entry, under [`FLOOD_KEEP`]),
/// and prints how the fetch ended.
fn flood_child(manifest: &str) {
    /// A sink that encodes each entry, as a file or a database would, and
    /// keeps nothing.
    struct Discard;
    impl Sink for Discard {
        fn page(&mut self, entries: Vec<OwnedEntry>, _: Option<&str>) -> Result<(), String> {
            for e in &entries {
                serde_json::to_writer(std::io::sink(), e).map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    }
    let (rt, _) = runtime(Setup::default());
    let p = source(&rt, "flood", "hostile-flood", manifest);
    let post = Post {
        id: "1".into(),
        url: "https://example.invalid/1".into(),
    };
    let options = FetchOptions::default();
    let e = if std::env::var_os(FLOOD_KEEP).is_some() {
        let mut kept = Vec::new();
        let e = fetch_all(&p, &post, Collection::Comments, &options, &mut kept, |_| {});
        println!("\nkept {} entries", kept.len());
        e
    } else {
        fetch_all(
            &p,
            &post,
            Collection::Comments,
            &options,
            &mut Discard,
            |_| {},
        )
    };
    println!("\nflood: {}", e.expect_err("a flood never completes"));
}

/// Runs the flood test's child under `manifest`; returns its stdout and
/// peak RSS in MiB.
fn flood(manifest: &str, keep: bool) -> (String, u64) {
    const NAME: &str =
        "sandbox::issue_12_a_flood_streams_in_flat_memory_and_stops_at_the_entry_and_byte_bounds";
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"));
    child
        .args(["--exact", NAME, "--nocapture", "--test-threads", "1"])
        .env(FLOOD_CHILD, manifest);
    if keep {
        child.env(FLOOD_KEEP, "1");
    }
    let m = fairdraw_tests::rss::run(&child).expect("the child runs");
    let stdout = String::from_utf8_lossy(&m.output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&m.output.stderr);
    assert!(m.output.status.success(), "{stdout}\n{stderr}");
    eprintln!(
        "flood under {manifest:?} (keep: {keep}): peak RSS {} MiB",
        m.peak_rss_mib()
    );
    (stdout, m.peak_rss_mib())
}

#[test]
fn issue_12_a_flood_streams_in_flat_memory_and_stops_at_the_entry_and_byte_bounds() {
    // Cursors 1, 2, 3, … with 50,000 entries of 600 bytes a page took the
    // host to 3 GB in 11 s: every entry was kept until the end.
    if let Ok(manifest) = std::env::var(FLOOD_CHILD) {
        flood_child(&manifest);
        return;
    }
    // Compile the component into the shared cache first, so the child's
    // peak is the fetch's, not the compiler's.
    let (rt, _) = runtime(Setup::default());
    source(&rt, "flood", "hostile-flood", "");
    let by_entries = format!("[limits]\nmax_entries_per_fetch = {FLOOD_ENTRIES}\n{FLOOD_CONFIG}");

    // The control: kept in memory, the same flood passes the bound, so the
    // bound can fail this test.
    let (out, peak) = flood(&by_entries, true);
    assert!(
        out.contains(&format!("kept {FLOOD_ENTRIES} entries")),
        "{out}"
    );
    assert!(
        peak > FLOOD_MAX_RSS_MIB,
        "kept in memory, the flood took only {peak} MiB"
    );

    let (out, peak) = flood(&by_entries, false);
    assert!(
        out.contains(&format!(
            "flood: plugin `flood` returned more than {FLOOD_ENTRIES} entries, the most one fetch takes (`limits.max_entries_per_fetch`) — stopped after 25 pages ({FLOOD_ENTRIES} entries); resume from cursor \"25\""
        )),
        "{out}"
    );
    assert!(
        peak < FLOOD_MAX_RSS_MIB,
        "streamed, the fetch's peak RSS was {peak} MiB"
    );

    let by_bytes = format!("[limits]\nmax_bytes_per_fetch = {FLOOD_BYTES}\n{FLOOD_CONFIG}");
    let (out, peak) = flood(&by_bytes, false);
    assert!(
        out.contains(&format!(
            "flood: plugin `flood` returned more than {FLOOD_BYTES} bytes of entries, the most one fetch takes (`limits.max_bytes_per_fetch`) — stopped after 4 pages (8000 entries)"
        )),
        "{out}"
    );
    assert!(
        peak < FLOOD_MAX_RSS_MIB,
        "streamed, the fetch's peak RSS was {peak} MiB"
    );
}
