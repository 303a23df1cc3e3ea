use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use fairdraw_engine::entry::OwnedEntry;

use crate::plugin::pagination::{FetchError, FetchOptions, Fetched, Progress, fetch_all};
use crate::plugin::{
    CallResult, Collection, CredentialSource, DevOriginMap, LogLevel, LogRecord, LogSource, Page,
    PluginRuntime, Post, RuntimeOptions, SourcePlugin,
};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("host/runtime/ is two levels down")
        .to_owned()
}

/// Builds every component once per test run (cargo makes it a no-op when
/// nothing changed). When the build fails, for example while the plugins
/// are being edited, the components already built are used and the failure
/// is printed.
fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = repo().join("plugins/Cargo.toml");
        let out = Command::new(cargo)
            .args(["build", "--manifest-path"])
            .arg(&manifest)
            .args(["--target", "wasm32-wasip2", "--release"])
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: building the plugin components failed; using the ones already built:\n{}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("warning: cannot run cargo to build the plugin components: {e}"),
        }
    });
}

/// The built component of a plugin crate, e.g. `hostile-panic`.
pub fn component(crate_name: &str) -> PathBuf {
    ensure_built();
    let path = repo()
        .join("plugins/target/wasm32-wasip2/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")));
    assert!(
        path.is_file(),
        "{} is missing: the plugin build failed (see above)",
        path.display()
    );
    path
}

/// One captured log line.
#[derive(Clone, Debug)]
pub struct Line {
    pub plugin: String,
    pub level: LogLevel,
    pub source: LogSource,
    pub message: String,
}

/// The log lines a runtime produced.
#[derive(Clone, Debug, Default)]
pub struct Logs(Arc<Mutex<Vec<Line>>>);

impl Logs {
    pub fn lines(&self) -> Vec<Line> {
        self.0.lock().expect("logs").clone()
    }

    pub fn of(&self, plugin: &str) -> Vec<Line> {
        self.lines()
            .into_iter()
            .filter(|l| l.plugin == plugin)
            .collect()
    }
}

/// A data directory shared by the tests of this run, so each component is
/// compiled once (the precompiled cache is keyed by content).
pub fn shared_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-tests-data")
}

/// Options for [`runtime`].
#[derive(Default)]
pub struct Setup<'a> {
    pub data_dir: Option<PathBuf>,
    pub dev_map: &'a str,
    pub credentials: &'a [(&'a str, &'a str)],
}

/// A runtime with captured logs.
pub fn runtime(setup: Setup<'_>) -> (PluginRuntime, Logs) {
    let logs = Logs::default();
    let sink = logs.0.clone();
    let rt = PluginRuntime::with_options(RuntimeOptions {
        data_dir: setup.data_dir.unwrap_or_else(shared_data_dir),
        dev_origin_map: DevOriginMap::parse(setup.dev_map).expect("dev map"),
        credentials: CredentialSource::Map(
            setup
                .credentials
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        ),
        log: Arc::new(move |r: &LogRecord<'_>| {
            sink.lock().expect("logs").push(Line {
                plugin: r.plugin.to_owned(),
                level: r.level,
                source: r.source,
                message: r.message.to_owned(),
            });
        }),
    })
    .expect("runtime");
    (rt, logs)
}

/// Writes a `plugin.toml` for a built component into a fresh directory.
pub fn manifest(
    id: &str,
    kind: &str,
    crate_name: &str,
    extra: &str,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plugin.toml");
    let text = format!(
        "id = \"{id}\"\nversion = \"0.0.0\"\nkind = \"{kind}\"\nwit = \"0.1\"\ncomponent = {:?}\ndescription = \"test\"\n{extra}\n",
        component(crate_name).display().to_string()
    );
    std::fs::write(&path, text).expect("write manifest");
    (dir, path)
}

/// Loads a source plugin from a generated manifest.
pub fn source(rt: &PluginRuntime, id: &str, crate_name: &str, extra: &str) -> SourcePlugin {
    let (_dir, path) = manifest(id, "source", crate_name, extra);
    rt.load(&path).expect("loads");
    rt.source(id).expect("source")
}

/// Fetches the first page of a dummy post.
pub fn fetch(p: &SourcePlugin) -> CallResult<Page> {
    let post = Post {
        id: "1".into(),
        url: "https://example.invalid/1".into(),
    };
    p.fetch_page(&post, Collection::Comments, None)
}

/// What a fetch returned, with the entries its sink collected in memory:
/// `fetched.entries` is the entries, other fields are the result's.
#[derive(Debug)]
pub struct InMemory<T> {
    pub entries: Vec<OwnedEntry>,
    pub result: T,
}

impl<T> std::ops::Deref for InMemory<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.result
    }
}

impl std::fmt::Display for InMemory<FetchError> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.result.fmt(f)
    }
}

/// [`fetch_all`] into a `Vec`, for the small collections of the tests.
#[allow(clippy::result_large_err, reason = "as fetch_all, which it wraps")]
pub fn fetch_to_vec(
    p: &SourcePlugin,
    post: &Post,
    collection: Collection,
    options: &FetchOptions,
    progress: impl FnMut(&Progress<'_>),
) -> Result<InMemory<Fetched>, InMemory<FetchError>> {
    let mut entries = Vec::new();
    match fetch_all(p, post, collection, options, &mut entries, progress) {
        Ok(result) => Ok(InMemory { entries, result }),
        Err(result) => Err(InMemory { entries, result }),
    }
}

/// The resident set size of this process, in MiB.
pub fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// A request the mock server received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response the mock server sends.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: body.into(),
        }
    }

    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: body.into(),
        }
    }

    pub fn redirect(location: &str) -> Reply {
        Reply {
            status: 302,
            headers: vec![("Location".into(), location.into())],
            body: vec![],
        }
    }
}

type Handler = dyn Fn(&Received) -> Reply + Send + Sync;

/// A plain-HTTP server on a loopback port, standing in for a platform under
/// `FAIRDRAW_DEV_ORIGIN_MAP`.
pub struct MockServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl MockServer {
    pub fn start(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> MockServer {
        MockServer::start_at("127.0.0.1:0", handler)
    }

    /// As [`MockServer::start`], listening on `bind` (e.g. `[::1]:0`).
    pub fn start_at(
        bind: &str,
        handler: impl Fn(&Received) -> Reply + Send + Sync + 'static,
    ) -> MockServer {
        let listener = TcpListener::bind(bind).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let rec = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (rec, handler) = (rec.clone(), handler.clone());
                std::thread::spawn(move || serve(stream, &rec, &*handler));
            }
        });
        MockServer { addr, received }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }
}

fn serve(stream: TcpStream, received: &Mutex<Vec<Received>>, handler: &Handler) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let req = Received {
        method,
        target,
        headers,
    };
    received.lock().expect("received").push(req.clone());
    let reply = handler(&req);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (n, v) in &reply.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut stream = stream;
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&reply.body);
    let _ = stream.flush();
}
