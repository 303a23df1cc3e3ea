//! The wasmtime engine, loading, and one sandboxed store per call.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasData, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Store,
    Trap,
};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::v0_1;
use super::cache::{CacheStatus, ComponentCache, component_sha256, create_private_dir};
use super::http::{CallBudget, Credential, DevOriginMap, HttpClient, HttpPolicy, HttpRequest};
use super::limits::{
    Limits, MAX_LOG_LINE_BYTES, MAX_LOG_LINES, MAX_PAGE_ENTRIES, MAX_STDIO_BYTES,
    MAX_TRANSFER_BYTES, MemoryLimitExceeded, StoreLimiter,
};
use super::manifest::{MANIFEST_FILE, Manifest, ManifestError, PluginKind, with_component};
use super::types::{
    BeaconRound, CallResult, Collection, Fault, FaultKind, LogLevel, LogRecord, LogSource, Page,
    PluginError, Post, SourceInfo, Verdict,
};

/// Receives every plugin log line (the `log` import, captured stderr and
/// host warnings about a plugin).
pub type LogSink = Arc<dyn Fn(&LogRecord<'_>) + Send + Sync>;

/// The default [`LogSink`]: writes `[plugin <id>] <level>: <message>` to
/// stderr for lines at or above `$FAIRDRAW_LOG` (default `warn`).
pub fn stderr_log_sink() -> LogSink {
    let threshold = std::env::var("FAIRDRAW_LOG")
        .ok()
        .and_then(|l| LogLevel::from_name(&l))
        .unwrap_or(LogLevel::Warn);
    Arc::new(move |r: &LogRecord<'_>| {
        if r.level >= threshold {
            let src = match r.source {
                LogSource::Log => "",
                LogSource::Stderr => " stderr",
                LogSource::Host => " host",
            };
            eprintln!(
                "[plugin {}{src}] {}: {}",
                r.plugin,
                r.level.name(),
                r.message
            );
        }
    })
}

/// Where credential values come from.
#[derive(Clone, Debug, Default)]
pub enum CredentialSource {
    /// `FAIRDRAW_CREDENTIAL_<ID>_<NAME>` environment variables.
    #[default]
    Env,
    /// A fixed map from those variable names to values (tests, embedding).
    Map(BTreeMap<String, String>),
}

impl CredentialSource {
    fn get(&self, var: &str) -> Option<String> {
        match self {
            CredentialSource::Env => std::env::var(var).ok(),
            CredentialSource::Map(m) => m.get(var).cloned(),
        }
    }
}

/// How to build a [`PluginRuntime`].
#[derive(Clone)]
pub struct RuntimeOptions {
    /// The data directory: installed plugins and the compile cache live here.
    pub data_dir: PathBuf,
    /// Test-only redirection of production origins to loopback mock servers.
    pub dev_origin_map: DevOriginMap,
    /// Where credential values come from.
    pub credentials: CredentialSource,
    /// Where plugin logs go.
    pub log: LogSink,
}

impl fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("data_dir", &self.data_dir)
            .field("dev_origin_map", &self.dev_origin_map)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl RuntimeOptions {
    /// Options from the environment: `FAIRDRAW_DEV_ORIGIN_MAP`, credentials
    /// from `FAIRDRAW_CREDENTIAL_*`, logs to stderr (`FAIRDRAW_LOG` level).
    pub fn from_env(data_dir: impl Into<PathBuf>) -> Result<RuntimeOptions, LoadError> {
        Ok(RuntimeOptions {
            data_dir: data_dir.into(),
            dev_origin_map: DevOriginMap::from_env().map_err(LoadError::DevOriginMap)?,
            credentials: CredentialSource::Env,
            log: stderr_log_sink(),
        })
    }
}

/// The default data directory: `$FAIRDRAW_DATA_DIR`, else
/// `$XDG_DATA_HOME/fairdraw`, else `~/.local/share/fairdraw`.
pub fn default_data_dir() -> Option<PathBuf> {
    let non_empty = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    non_empty("FAIRDRAW_DATA_DIR")
        .or_else(|| non_empty("XDG_DATA_HOME").map(|d| d.join("fairdraw")))
        .or_else(|| non_empty("HOME").map(|h| h.join(".local/share/fairdraw")))
}

/// Why a plugin could not be loaded, installed or found.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest is invalid.
    #[error("{path}: {source}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        source: ManifestError,
    },
    /// The component is not a valid WebAssembly component.
    #[error("{path}: not a valid WebAssembly component: {message}")]
    Compile {
        /// The component file.
        path: PathBuf,
        /// wasmtime's error.
        message: String,
    },
    /// The component imports something its world and the sandbox do not grant.
    #[error("plugin `{plugin}` is refused: it imports `{import}`, {reason}")]
    ForbiddenImport {
        /// The plugin id.
        plugin: String,
        /// The import's name, e.g. `wasi:sockets/tcp@0.2.0`.
        import: String,
        /// Why it is not granted.
        reason: String,
    },
    /// The component does not export what its manifest kind requires.
    #[error(
        "plugin `{plugin}` is a {kind} plugin but its component does not export `{expected}` (it exports: {found})"
    )]
    MissingExport {
        /// The plugin id.
        plugin: String,
        /// The manifest kind.
        kind: PluginKind,
        /// The required export.
        expected: String,
        /// What it exports.
        found: String,
    },
    /// Linking failed (an import has the wrong type, for example).
    #[error("plugin `{plugin}` cannot be linked: {message}")]
    Link {
        /// The plugin id.
        plugin: String,
        /// wasmtime's error.
        message: String,
    },
    /// No loaded or installed plugin has this id.
    #[error("no plugin `{0}` is installed (see `fairdraw plugin list`)")]
    NotInstalled(String),
    /// The plugin exists but is of another kind.
    #[error("plugin `{id}` is a {actual} plugin, not a {expected} plugin")]
    WrongKind {
        /// The plugin id.
        id: String,
        /// The kind asked for.
        expected: PluginKind,
        /// The plugin's kind.
        actual: PluginKind,
    },
    /// `FAIRDRAW_DEV_ORIGIN_MAP` is malformed.
    #[error("{0}")]
    DevOriginMap(String),
    /// The wasmtime engine could not be created.
    #[error("cannot start the plugin engine: {0}")]
    Engine(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What `inspect` reports about a plugin.
#[derive(Clone, Debug)]
pub struct PluginInfo {
    /// The manifest.
    pub manifest: Manifest,
    /// The manifest file.
    pub manifest_path: PathBuf,
    /// The component file.
    pub component_path: PathBuf,
    /// SHA-256 of the component, hex.
    pub component_sha256: String,
    /// The component's imports, e.g. `fairdraw:plugin/http@0.1.0`.
    pub imports: Vec<String>,
    /// The component's exports.
    pub exports: Vec<String>,
    /// Whether the precompiled form came from the cache.
    pub cache: CacheStatus,
    /// Environment variables of declared credentials that are not set.
    pub missing_credentials: Vec<String>,
}

/// A plugin found in the data directory by [`PluginRuntime::list`].
#[derive(Debug)]
pub struct ListedPlugin {
    /// The directory `<data_dir>/plugins/<id>`.
    pub dir: PathBuf,
    /// Its manifest, or why it cannot be read.
    pub manifest: Result<Manifest, LoadError>,
    /// Whether a precompiled form is cached (so the first call starts fast).
    pub precompiled: bool,
}

/// The runtime: one wasmtime engine, the compile cache, the HTTP client and
/// the loaded plugins. Cheap to clone and usable from many threads.
#[derive(Clone)]
pub struct PluginRuntime {
    inner: Arc<Inner>,
}

impl fmt::Debug for PluginRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginRuntime")
            .field("data_dir", &self.inner.data_dir)
            .finish_non_exhaustive()
    }
}

struct Inner {
    engine: Engine,
    linkers: Linkers,
    cache: ComponentCache,
    http: Arc<HttpClient>,
    data_dir: PathBuf,
    loaded: RwLock<HashMap<String, Arc<LoadedPlugin>>>,
    log: LogSink,
    credentials: CredentialSource,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

struct Linkers {
    source: Linker<CallState>,
    filter: Linker<CallState>,
    beacon: Linker<CallState>,
}

/// The epoch tick; call deadlines are counted in ticks.
const TICK: Duration = Duration::from_millis(10);

impl PluginRuntime {
    /// A runtime for `data_dir`, configured from the environment (see
    /// [`RuntimeOptions::from_env`]). Fails when `FAIRDRAW_DEV_ORIGIN_MAP` is
    /// malformed or the engine cannot start.
    pub fn new(data_dir: impl Into<PathBuf>) -> Result<PluginRuntime, LoadError> {
        PluginRuntime::with_options(RuntimeOptions::from_env(data_dir)?)
    }

    /// A runtime with explicit options.
    pub fn with_options(options: RuntimeOptions) -> Result<PluginRuntime, LoadError> {
        let engine = new_engine()?;
        let linkers = Linkers {
            source: new_linker(&engine, PluginKind::Source)?,
            filter: new_linker(&engine, PluginKind::Filter)?,
            beacon: new_linker(&engine, PluginKind::Beacon)?,
        };
        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            // The epoch ticker: the deadline of every call is counted in
            // ticks of this thread, so a spinning plugin is interrupted even
            // though no host code runs on its thread.
            let weak = engine.weak();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("fairdraw-plugin-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        match weak.upgrade() {
                            Some(e) => e.increment_epoch(),
                            None => break,
                        }
                    }
                })
                .map_err(|e| LoadError::Engine(format!("cannot start the epoch thread: {e}")))?;
        }
        if options.dev_origin_map.is_active() {
            (options.log)(&LogRecord {
                plugin: "host",
                level: LogLevel::Warn,
                source: LogSource::Host,
                message: &format!(
                    "{} is set: plugin requests go to local test servers ({})",
                    DevOriginMap::ENV,
                    options.dev_origin_map.describe()
                ),
            });
        }
        let cache = ComponentCache::new(options.data_dir.join("cache").join("components"), &engine);
        Ok(PluginRuntime {
            inner: Arc::new(Inner {
                cache,
                http: Arc::new(HttpClient::new(options.dev_origin_map)),
                data_dir: options.data_dir,
                loaded: RwLock::new(HashMap::new()),
                log: options.log,
                credentials: options.credentials,
                ticker_stop,
                linkers,
                engine,
            }),
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// `<data_dir>/plugins`, where installed plugins live (one directory per id).
    pub fn plugins_dir(&self) -> PathBuf {
        self.inner.data_dir.join("plugins")
    }

    /// Loads the plugin described by a `plugin.toml` (or a directory holding
    /// one) and registers it under its id, replacing an earlier one.
    ///
    /// Validates the manifest, compiles the component (or loads it from the
    /// cache), refuses imports outside the plugin's world and the granted
    /// WASI, checks the export its kind requires, and links it once so each
    /// call only instantiates.
    pub fn load(&self, manifest_path: impl AsRef<Path>) -> Result<PluginInfo, LoadError> {
        let loaded = self.load_unregistered(manifest_path.as_ref())?;
        let info = loaded.info();
        self.inner
            .loaded
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(loaded.manifest.id.clone(), Arc::new(loaded));
        Ok(info)
    }

    /// Validates a plugin and copies it into `<data_dir>/plugins/<id>/`
    /// (`plugin.toml` and the component, the manifest's `component` rewritten
    /// to the copied file), replacing an installed plugin with the same id.
    /// Returns what `inspect` returns for the installed copy.
    pub fn install(&self, path: impl AsRef<Path>) -> Result<PluginInfo, LoadError> {
        let manifest_path = manifest_file(path.as_ref());
        let loaded = self.load_unregistered(&manifest_path)?;
        let id = loaded.manifest.id.clone();
        let text = fs::read_to_string(&manifest_path).map_err(io_err(&manifest_path))?;
        let file_name = loaded
            .component_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n != MANIFEST_FILE)
            .unwrap_or_else(|| format!("{id}.wasm"));
        let text = with_component(&text, &file_name).map_err(|source| LoadError::Manifest {
            path: manifest_path.clone(),
            source,
        })?;
        let bytes = fs::read(&loaded.component_path).map_err(io_err(&loaded.component_path))?;

        let plugins = self.plugins_dir();
        create_private_dir(&plugins).map_err(io_err(&plugins))?;
        let staging = plugins.join(format!(".{id}.installing-{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        create_private_dir(&staging).map_err(io_err(&staging))?;
        fs::write(staging.join(&file_name), &bytes).map_err(io_err(&staging))?;
        fs::write(staging.join(MANIFEST_FILE), text).map_err(io_err(&staging))?;
        let dest = plugins.join(&id);
        if dest.exists() {
            fs::remove_dir_all(&dest).map_err(io_err(&dest))?;
        }
        fs::rename(&staging, &dest).map_err(io_err(&dest))?;
        self.load(dest.join(MANIFEST_FILE))
    }

    /// Removes an installed plugin. Returns whether it was installed.
    pub fn uninstall(&self, id: &str) -> Result<bool, LoadError> {
        self.inner
            .loaded
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        let dir = self.plugins_dir().join(id);
        if !valid_id(id) || !dir.is_dir() {
            return Ok(false);
        }
        fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(true)
    }

    /// The installed plugins, sorted by id, each with its manifest or the
    /// reason it cannot be read. Does not compile anything.
    pub fn list(&self) -> Result<Vec<ListedPlugin>, LoadError> {
        let dir = self.plugins_dir();
        let read = match fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(LoadError::Io {
                    path: dir,
                    source: e,
                });
            }
        };
        let mut out = Vec::new();
        for entry in read {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            let path = entry.path().join(MANIFEST_FILE);
            let manifest = read_manifest(&path);
            let precompiled = manifest
                .as_ref()
                .ok()
                .and_then(|m| fs::read(m.component_path(&entry.path())).ok())
                .is_some_and(|b| self.inner.cache.contains(&component_sha256(&b)));
            out.push(ListedPlugin {
                dir: entry.path(),
                manifest,
                precompiled,
            });
        }
        out.sort_by(|a, b| a.dir.cmp(&b.dir));
        Ok(out)
    }

    /// Manifest, imports, exports and cache status of a loaded or installed
    /// plugin (loading it if needed).
    pub fn inspect(&self, id: &str) -> Result<PluginInfo, LoadError> {
        Ok(self.get(id)?.info())
    }

    /// A source plugin by id: a loaded one, else the installed one.
    pub fn source(&self, id: &str) -> Result<SourcePlugin, LoadError> {
        self.get_kind(id, PluginKind::Source)
            .map(|plugin| SourcePlugin { plugin })
    }

    /// A filter plugin by id.
    pub fn filter(&self, id: &str) -> Result<FilterPlugin, LoadError> {
        self.get_kind(id, PluginKind::Filter)
            .map(|plugin| FilterPlugin { plugin })
    }

    /// A beacon plugin by id.
    pub fn beacon(&self, id: &str) -> Result<BeaconPlugin, LoadError> {
        self.get_kind(id, PluginKind::Beacon)
            .map(|plugin| BeaconPlugin { plugin })
    }

    fn get_kind(&self, id: &str, kind: PluginKind) -> Result<Arc<LoadedPlugin>, LoadError> {
        let p = self.get(id)?;
        if p.manifest.kind != kind {
            return Err(LoadError::WrongKind {
                id: id.to_owned(),
                expected: kind,
                actual: p.manifest.kind,
            });
        }
        Ok(p)
    }

    fn get(&self, id: &str) -> Result<Arc<LoadedPlugin>, LoadError> {
        if let Some(p) = self
            .inner
            .loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
        {
            return Ok(p.clone());
        }
        let path = self.plugins_dir().join(id).join(MANIFEST_FILE);
        if !valid_id(id) || !path.is_file() {
            return Err(LoadError::NotInstalled(id.to_owned()));
        }
        self.load(&path)?;
        self.inner
            .loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| LoadError::NotInstalled(id.to_owned()))
    }

    fn load_unregistered(&self, path: &Path) -> Result<LoadedPlugin, LoadError> {
        let manifest_path = manifest_file(path);
        let manifest = read_manifest(&manifest_path)?;
        let dir = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let component_path = manifest.component_path(&dir);
        let bytes = fs::read(&component_path).map_err(io_err(&component_path))?;
        let sha256 = component_sha256(&bytes);
        let engine = &self.inner.engine;
        let (component, cache_status) =
            self.inner
                .cache
                .load(engine, &bytes, &sha256)
                .map_err(|e| LoadError::Compile {
                    path: component_path.clone(),
                    message: chain(&e),
                })?;
        drop(bytes);

        let imports = check_imports(&manifest, &component, engine)?;
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
        let expected = format!("{}/{}@{}", v0_1::PACKAGE, manifest.kind, v0_1::VERSION);
        if !exports.contains(&expected) {
            return Err(LoadError::MissingExport {
                plugin: manifest.id.clone(),
                kind: manifest.kind,
                expected,
                found: if exports.is_empty() {
                    "nothing".to_owned()
                } else {
                    exports.join(", ")
                },
            });
        }

        let link = |e: wasmtime::Error| LoadError::Link {
            plugin: manifest.id.clone(),
            message: chain(&e),
        };
        let linkers = &self.inner.linkers;
        let pre = match manifest.kind {
            PluginKind::Source => Pre::Source(
                v0_1::source::SourcePluginPre::new(
                    linkers.source.instantiate_pre(&component).map_err(link)?,
                )
                .map_err(link)?,
            ),
            PluginKind::Filter => Pre::Filter(
                v0_1::filter::FilterPluginPre::new(
                    linkers.filter.instantiate_pre(&component).map_err(link)?,
                )
                .map_err(link)?,
            ),
            PluginKind::Beacon => Pre::Beacon(
                v0_1::beacon::BeaconPluginPre::new(
                    linkers.beacon.instantiate_pre(&component).map_err(link)?,
                )
                .map_err(link)?,
            ),
        };

        let credentials: Vec<Credential> = manifest
            .credentials
            .iter()
            .map(|spec| {
                Credential::new(
                    spec.clone(),
                    self.inner.credentials.get(&spec.env_var(&manifest.id)),
                )
            })
            .collect();
        let dev = self.inner.http.dev_map();
        if dev.is_active() {
            (self.inner.log)(&LogRecord {
                plugin: &manifest.id,
                level: LogLevel::Warn,
                source: LogSource::Host,
                message: &format!("{} is active for this plugin's requests", DevOriginMap::ENV),
            });
        }
        let shared = Arc::new(Shared {
            id: manifest.id.clone(),
            config: manifest.config.clone(),
            limits: manifest.limits,
            policy: HttpPolicy {
                allow: manifest.allow.clone(),
                credentials,
            },
            http: self.inner.http.clone(),
            log: self.inner.log.clone(),
        });
        Ok(LoadedPlugin {
            engine: engine.clone(),
            manifest,
            manifest_path,
            component_path,
            sha256,
            cache_status,
            imports,
            exports,
            pre,
            shared,
        })
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn manifest_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(MANIFEST_FILE)
    } else {
        path.to_owned()
    }
}

fn read_manifest(path: &Path) -> Result<Manifest, LoadError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    Manifest::parse(&text).map_err(|source| LoadError::Manifest {
        path: path.to_owned(),
        source,
    })
}

/// An error and its causes on one line.
fn chain(e: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// Linear memory kept mapped per pool slot between calls (see [`new_engine`]).
const KEEP_RESIDENT_BYTES: usize = 16 << 20;

#[doc(hidden)]
pub fn new_engine() -> Result<Engine, LoadError> {
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(1 << 20)
        .cranelift_opt_level(OptLevel::Speed);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(128)
        .total_memories(128)
        .total_tables(1_000)
        .total_core_instances(1_000)
        .max_memory_size(usize::try_from(Limits::MAX.memory_mb << 20).unwrap_or(usize::MAX));
    // Every call runs in a fresh instance in a recycled pool slot. By default
    // the slot's memory goes back to the kernel (madvise) after each call and
    // the next call faults it in again, page by page: a 10,000-entry filter
    // batch took ~1,000 page faults. With PAGEMAP_SCAN (Linux 6.7+) wasmtime
    // instead zeroes just the pages the call dirtied, up to this many bytes
    // per slot, and they stay mapped (host/runtime/BENCHMARKS.md). Without the scan it
    // would memset the whole low range of every slot on every call, which
    // costs more than the faults, so it stays off.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .pagemap_scan(Enabled::Yes);
    }
    let mut pooled = config.clone();
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // The pooling allocator reserves address space up front; where that is
    // refused (a small `ulimit -v`), fall back to on-demand allocation. The
    // per-store limiter bounds memory either way.
    Engine::new(&pooled)
        .or_else(|_| Engine::new(&config))
        .map_err(|e| LoadError::Engine(chain(&e)))
}

/// WASI interfaces granted to plugins: what Rust's std needs on
/// wasm32-wasip2. There are no preopened directories, no environment, no
/// arguments, stdin is closed and stdout/stderr are captured, so filesystem
/// and cli give no authority; sockets and HTTP are never linked.
const WASI_GRANTED: &[(&str, &[&str])] = &[
    (
        "cli",
        &[
            "environment",
            "exit",
            "stdin",
            "stdout",
            "stderr",
            "terminal-input",
            "terminal-output",
            "terminal-stdin",
            "terminal-stdout",
            "terminal-stderr",
        ],
    ),
    ("io", &["error", "poll", "streams"]),
    ("clocks", &["wall-clock", "monotonic-clock"]),
    ("filesystem", &["types", "preopens"]),
    ("random", &["random", "insecure", "insecure-seed"]),
];

/// The `fairdraw:plugin` interfaces each world imports.
fn world_imports(kind: PluginKind) -> &'static [&'static str] {
    match kind {
        PluginKind::Source | PluginKind::Beacon => &["types", "http", "log", "config"],
        PluginKind::Filter => &["types", "log", "config"],
    }
}

/// Refuses any import outside the plugin's world and the granted WASI,
/// naming it. Returns the imports.
fn check_imports(
    manifest: &Manifest,
    component: &Component,
    engine: &Engine,
) -> Result<Vec<String>, LoadError> {
    let mut imports = Vec::new();
    for (name, _) in component.component_type().imports(engine) {
        if let Some(reason) = import_refusal(manifest.kind, name) {
            return Err(LoadError::ForbiddenImport {
                plugin: manifest.id.clone(),
                import: name.to_owned(),
                reason,
            });
        }
        imports.push(name.to_owned());
    }
    Ok(imports)
}

/// Why an import is refused, or `None` when it is granted.
fn import_refusal(kind: PluginKind, name: &str) -> Option<String> {
    let (path, version) = name.split_once('@').unwrap_or((name, ""));
    let Some((package, interface)) = path.rsplit_once('/') else {
        return Some("which is not an interface the host provides".to_owned());
    };
    if package == v0_1::PACKAGE {
        if version != v0_1::VERSION {
            return Some(format!(
                "but this host provides {}@{} for WIT 0.1 plugins",
                v0_1::PACKAGE,
                v0_1::VERSION
            ));
        }
        if world_imports(kind).contains(&interface) {
            return None;
        }
        return Some(format!("which the {kind}-plugin world does not include"));
    }
    if let Some(wasi_pkg) = package.strip_prefix("wasi:") {
        let granted = WASI_GRANTED
            .iter()
            .any(|(p, ifaces)| *p == wasi_pkg && ifaces.contains(&interface));
        if granted && version.starts_with("0.2.") {
            return None;
        }
        if granted {
            return Some(format!("but only WASI 0.2.x is provided (not {version})"));
        }
        return Some(
            "which is not granted: plugins get only clocks, random and the inert stdio/filesystem \
             interfaces Rust's std needs (no sockets, no files, no environment); \
             network access goes through fairdraw:plugin/http"
                .to_owned(),
        );
    }
    Some("which is not an interface the host provides".to_owned())
}

struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// A linker for one world: the plugin imports plus the granted WASI.
fn new_linker(engine: &Engine, kind: PluginKind) -> Result<Linker<CallState>, LoadError> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
    use wasmtime_wasi::p2::bindings as wasi;
    use wasmtime_wasi::random::{WasiRandom, WasiRandomView};

    let mut l: Linker<CallState> = Linker::new(engine);
    let r = (|| -> wasmtime::Result<()> {
        let l = &mut l;
        wasi::clocks::wall_clock::add_to_linker::<CallState, WasiClocks>(l, CallState::clocks)?;
        wasi::clocks::monotonic_clock::add_to_linker::<CallState, WasiClocks>(
            l,
            CallState::clocks,
        )?;
        wasi::filesystem::preopens::add_to_linker::<CallState, WasiFilesystem>(
            l,
            CallState::filesystem,
        )?;
        wasi::sync::filesystem::types::add_to_linker::<CallState, WasiFilesystem>(
            l,
            CallState::filesystem,
        )?;
        wasi::random::random::add_to_linker::<CallState, WasiRandom>(l, CallState::random)?;
        wasi::random::insecure::add_to_linker::<CallState, WasiRandom>(l, CallState::random)?;
        wasi::random::insecure_seed::add_to_linker::<CallState, WasiRandom>(l, CallState::random)?;
        wasi::cli::exit::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::cli::environment::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::cli::stdin::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::cli::stdout::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::cli::stderr::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::cli::terminal_input::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::cli::terminal_output::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::cli::terminal_stdin::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::cli::terminal_stdout::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::cli::terminal_stderr::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
        wasi::io::error::add_to_linker::<CallState, HasIo>(l, |t| t.ctx().table)?;
        wasi::sync::io::poll::add_to_linker::<CallState, HasIo>(l, |t| t.ctx().table)?;
        wasi::sync::io::streams::add_to_linker::<CallState, HasIo>(l, |t| t.ctx().table)?;
        match kind {
            PluginKind::Source => v0_1::source::SourcePlugin::add_to_linker::<
                CallState,
                HasSelf<CallState>,
            >(l, |s| s)?,
            PluginKind::Filter => v0_1::filter::FilterPlugin::add_to_linker::<
                CallState,
                HasSelf<CallState>,
            >(l, |s| s)?,
            PluginKind::Beacon => v0_1::beacon::BeaconPlugin::add_to_linker::<
                CallState,
                HasSelf<CallState>,
            >(l, |s| s)?,
        }
        Ok(())
    })();
    r.map_err(|e| LoadError::Engine(chain(&e)))?;
    Ok(l)
}

/// What every call of one plugin shares.
struct Shared {
    id: String,
    config: BTreeMap<String, String>,
    limits: Limits,
    policy: HttpPolicy,
    http: Arc<HttpClient>,
    log: LogSink,
}

impl Shared {
    fn log(&self, level: LogLevel, source: LogSource, message: &str) {
        (self.log)(&LogRecord {
            plugin: &self.id,
            level,
            source,
            message,
        });
    }
}

enum Pre {
    Source(v0_1::source::SourcePluginPre<CallState>),
    Filter(v0_1::filter::FilterPluginPre<CallState>),
    Beacon(v0_1::beacon::BeaconPluginPre<CallState>),
}

/// A loaded plugin: its manifest and its linked component.
struct LoadedPlugin {
    engine: Engine,
    manifest: Manifest,
    manifest_path: PathBuf,
    component_path: PathBuf,
    sha256: String,
    cache_status: CacheStatus,
    imports: Vec<String>,
    exports: Vec<String>,
    pre: Pre,
    shared: Arc<Shared>,
}

impl LoadedPlugin {
    fn info(&self) -> PluginInfo {
        PluginInfo {
            manifest: self.manifest.clone(),
            manifest_path: self.manifest_path.clone(),
            component_path: self.component_path.clone(),
            component_sha256: self.sha256.clone(),
            imports: self.imports.clone(),
            exports: self.exports.clone(),
            cache: self.cache_status.clone(),
            missing_credentials: self
                .shared
                .policy
                .credentials
                .iter()
                .filter(|c| !c.is_set())
                .map(|c| c.spec.env_var(&self.manifest.id))
                .collect(),
        }
    }

    /// Runs `f` in a fresh store and instance: the instance never outlives
    /// the call, so a trapped instance is never reused.
    fn call<R>(
        &self,
        f: impl FnOnce(&mut Store<CallState>, &Pre) -> wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        let limits = self.shared.limits;
        let capture = StdioCapture::default();
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(capture.clone())
            .stderr(capture.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let state = CallState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: StoreLimiter::new(limits.memory_mb),
            budget: CallBudget {
                requests: 0,
                max_requests: limits.max_requests_per_call,
                deadline: Instant::now() + Duration::from_millis(limits.timeout_ms),
                max_response_bytes: limits.max_response_bytes,
            },
            log_lines: 0,
            shared: self.shared.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(MAX_TRANSFER_BYTES);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(limits.timeout_ms.div_ceil(TICK.as_millis() as u64) + 1);
        let result = store
            .set_fuel(limits.fuel)
            .and_then(|()| f(&mut store, &self.pre));
        let stdio = capture.take();
        for line in stdio.lines().filter(|l| !l.trim().is_empty()) {
            self.shared.log(
                LogLevel::Info,
                LogSource::Stderr,
                &clean(line, MAX_LOG_LINE_BYTES),
            );
        }
        let memory_hit = store.data().limiter.memory_limit_hit;
        drop(store);
        result.map_err(|e| self.fault(&e, memory_hit, &stdio))
    }

    fn fault(&self, e: &wasmtime::Error, memory_hit: bool, stdio: &str) -> Fault {
        let limits = self.shared.limits;
        let kind = if memory_hit || e.downcast_ref::<MemoryLimitExceeded>().is_some() {
            FaultKind::MemoryLimit {
                memory_mb: limits.memory_mb,
            }
        } else if let Some(trap) = e.downcast_ref::<Trap>() {
            match *trap {
                Trap::OutOfFuel => FaultKind::FuelExhausted { fuel: limits.fuel },
                Trap::Interrupt => FaultKind::Timeout {
                    timeout_ms: limits.timeout_ms,
                },
                Trap::StackOverflow => FaultKind::StackOverflow,
                Trap::UnreachableCodeReached => match panic_message(stdio) {
                    Some(message) => FaultKind::Panic { message },
                    None => FaultKind::Trap {
                        message: trap.to_string(),
                    },
                },
                other => FaultKind::Trap {
                    message: other.to_string(),
                },
            }
        } else {
            let message = chain(e);
            if message.contains("too much data is being copied between the host and the guest") {
                FaultKind::TooMuchData {
                    what: format!(
                        "it passed more than {} MiB of data in one call",
                        MAX_TRANSFER_BYTES >> 20
                    ),
                }
            } else if let Some(m) = panic_message(stdio) {
                FaultKind::Panic { message: m }
            } else {
                FaultKind::Host { message }
            }
        };
        Fault {
            plugin: self.manifest.id.clone(),
            kind,
        }
    }

    fn bad_result(&self, message: String) -> Fault {
        Fault {
            plugin: self.manifest.id.clone(),
            kind: FaultKind::BadResult { message },
        }
    }
}

/// The panic message in a Rust guest's stderr (`panicked at file:line:col:\nmessage`).
fn panic_message(stdio: &str) -> Option<String> {
    let start = stdio.find("panicked at ")? + "panicked at ".len();
    let rest = &stdio[start..];
    let (location, after) = match rest.split_once(":\n") {
        Some((loc, after)) => (loc.trim(), after),
        None => ("", rest),
    };
    let message: Vec<&str> = after
        .lines()
        .take_while(|l| !l.starts_with("note:"))
        .collect();
    let message = clean(message.join(" ").trim(), 1_000);
    Some(if location.is_empty() {
        message
    } else {
        format!("{message} (at {location})")
    })
}

/// Cuts `s` to `max` bytes and replaces control characters, so plugin text
/// cannot forge terminal escapes or extra log lines.
pub(crate) fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for c in s.chars() {
        if out.len() + c.len_utf8() > max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() && c != '\t' {
            '\u{fffd}'
        } else {
            c
        });
    }
    out
}

/// The data of one call's store.
struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: StoreLimiter,
    budget: CallBudget,
    log_lines: usize,
    shared: Arc<Shared>,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl v0_1::types::Host for CallState {}

impl v0_1::log::Host for CallState {
    fn log(&mut self, level: v0_1::log::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let level = LogLevel::from(level);
        if self.log_lines == MAX_LOG_LINES {
            self.shared.log(
                LogLevel::Warn,
                LogSource::Host,
                "log limit reached; further lines of this call are dropped",
            );
            return;
        }
        self.shared
            .log(level, LogSource::Log, &clean(&message, MAX_LOG_LINE_BYTES));
    }
}

impl v0_1::config::Host for CallState {
    fn get(&mut self, key: String) -> Option<String> {
        self.shared.config.get(&key).cloned()
    }
}

impl v0_1::http::Host for CallState {
    fn send(
        &mut self,
        request: v0_1::http::Request,
    ) -> Result<v0_1::http::Response, v0_1::http::HttpError> {
        let req = HttpRequest {
            method: request.method,
            url: request.url,
            headers: request
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: request.body,
        };
        let shared = self.shared.clone();
        match shared.http.send(&shared.policy, &mut self.budget, req) {
            Ok(r) => Ok(v0_1::http::Response {
                status: r.status,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(name, value)| v0_1::http::Header { name, value })
                    .collect(),
                body: r.body,
            }),
            Err(e) => {
                shared.log(LogLevel::Debug, LogSource::Host, &format!("HTTP {e}"));
                Err(e.into())
            }
        }
    }
}

/// Captured stdout and stderr of one call, bounded; writes past the bound
/// succeed but are dropped, so a chatty plugin does not fail.
#[derive(Clone, Default)]
struct StdioCapture(Arc<Mutex<Vec<u8>>>);

impl StdioCapture {
    fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl wasmtime_wasi::cli::IsTerminal for StdioCapture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for StdioCapture {
    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASIp3 uses this, and p3 is not linked.
        wasmtime_wasi::cli::StdoutStream::async_stream(&wasmtime_wasi::p2::pipe::SinkOutputStream)
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for StdioCapture {
    async fn ready(&mut self) {}
}

impl wasmtime_wasi::p2::OutputStream for StdioCapture {
    fn write(&mut self, bytes: bytes::Bytes) -> wasmtime_wasi::p2::StreamResult<()> {
        let mut buf = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let room = MAX_STDIO_BYTES.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        Ok(())
    }

    fn flush(&mut self) -> wasmtime_wasi::p2::StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> wasmtime_wasi::p2::StreamResult<usize> {
        Ok(64 << 10)
    }
}

/// A source plugin (a social platform). Cheap to clone; each call runs in
/// a fresh sandboxed instance, so calls may run on many threads at once.
#[derive(Clone)]
pub struct SourcePlugin {
    plugin: Arc<LoadedPlugin>,
}

/// A filter plugin (eligibility). See [`SourcePlugin`] for the call model.
#[derive(Clone)]
pub struct FilterPlugin {
    plugin: Arc<LoadedPlugin>,
}

/// A beacon plugin (randomness). See [`SourcePlugin`] for the call model.
#[derive(Clone)]
pub struct BeaconPlugin {
    plugin: Arc<LoadedPlugin>,
}

macro_rules! handle_common {
    ($t:ty) => {
        impl $t {
            /// The plugin's id.
            pub fn id(&self) -> &str {
                &self.plugin.manifest.id
            }

            /// The plugin's manifest.
            pub fn manifest(&self) -> &Manifest {
                &self.plugin.manifest
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("id", &self.plugin.manifest.id)
                    .finish_non_exhaustive()
            }
        }
    };
}

handle_common!(SourcePlugin);
handle_common!(FilterPlugin);
handle_common!(BeaconPlugin);

fn unexpected_kind() -> wasmtime::Error {
    wasmtime::format_err!("internal error: plugin handle of the wrong kind")
}

impl SourcePlugin {
    /// What the source is: platform, collections, credentials, unsupported rules.
    pub fn describe(&self) -> Result<SourceInfo, Fault> {
        self.plugin
            .call(|store, pre| {
                let Pre::Source(pre) = pre else {
                    return Err(unexpected_kind());
                };
                let b = pre.instantiate(&mut *store)?;
                b.fairdraw_plugin_source().call_describe(&mut *store)
            })
            .map(|info| {
                let mut info = SourceInfo::from(info);
                info.platform = clean(&info.platform, 200);
                info
            })
    }

    /// Parses a post URL into the platform's post id.
    pub fn parse_url(&self, url: &str) -> CallResult<Post> {
        self.plugin
            .call(|store, pre| {
                let Pre::Source(pre) = pre else {
                    return Err(unexpected_kind());
                };
                let b = pre.instantiate(&mut *store)?;
                b.fairdraw_plugin_source().call_parse_url(&mut *store, url)
            })
            .map(|r| r.map(Post::from).map_err(PluginError::from))
    }

    /// Fetches one page of a collection (`cursor` is `None` for the first).
    /// Entries come back as engine entries with `collection` set. A page of
    /// more than [`MAX_PAGE_ENTRIES`](super::limits::MAX_PAGE_ENTRIES)
    /// entries, or more data than the host copies in one call, is a fault.
    pub fn fetch_page(
        &self,
        post: &Post,
        collection: Collection,
        cursor: Option<&str>,
    ) -> CallResult<Page> {
        let wit_post = v0_1::source_api::Post::from(post);
        let result = self.plugin.call(|store, pre| {
            let Pre::Source(pre) = pre else {
                return Err(unexpected_kind());
            };
            let b = pre.instantiate(&mut *store)?;
            b.fairdraw_plugin_source().call_fetch_page(
                &mut *store,
                &wit_post,
                collection.into(),
                cursor,
            )
        })?;
        let page = match result {
            Ok(p) => p,
            Err(e) => return Ok(Err(e.into())),
        };
        if page.entries.len() > MAX_PAGE_ENTRIES {
            return Err(self.plugin.bad_result(format!(
                "a page of {} entries exceeds the limit of {MAX_PAGE_ENTRIES}",
                page.entries.len()
            )));
        }
        if cursor.is_some() && page.next_cursor.as_deref() == cursor {
            return Err(self
                .plugin
                .bad_result("the next cursor equals the current one (endless pagination)".into()));
        }
        Ok(Ok(Page {
            entries: page
                .entries
                .into_iter()
                .map(|e| v0_1::entry_to_engine(e, collection))
                .collect(),
            next_cursor: page.next_cursor,
            total_hint: page.total_hint,
        }))
    }
}

impl FilterPlugin {
    /// Decides a batch of entries with the filter's JSON `config`; returns
    /// one verdict per entry, in order (a different count is a fault).
    pub fn check(
        &self,
        entries: &[fairdraw_engine::entry::OwnedEntry],
        config_json: &str,
    ) -> CallResult<Vec<Verdict>> {
        let Some(batch) = v0_1::entry_batch(entries) else {
            return Err(Fault {
                plugin: self.plugin.manifest.id.clone(),
                kind: FaultKind::Host {
                    message: format!(
                        "a batch of {} entries holds more than 4 GiB of text: split it",
                        entries.len()
                    ),
                },
            });
        };
        let result = self.plugin.call(|store, pre| {
            let Pre::Filter(pre) = pre else {
                return Err(unexpected_kind());
            };
            let b = pre.instantiate(&mut *store)?;
            b.fairdraw_plugin_filter()
                .call_check(&mut *store, &batch, config_json)
        })?;
        match result {
            Err(e) => Ok(Err(e.into())),
            Ok(v) if v.len() != entries.len() => Err(self.plugin.bad_result(format!(
                "it returned {} verdicts for {} entries",
                v.len(),
                entries.len()
            ))),
            Ok(v) => Ok(Ok(v.into_iter().map(Verdict::from).collect())),
        }
    }
}

impl BeaconPlugin {
    /// Fetches `round` of `chain` (the latest when `None`), unverified: the
    /// engine verifies the signature.
    pub fn fetch(&self, chain: &str, round: Option<u64>) -> CallResult<BeaconRound> {
        self.plugin
            .call(|store, pre| {
                let Pre::Beacon(pre) = pre else {
                    return Err(unexpected_kind());
                };
                let b = pre.instantiate(&mut *store)?;
                b.fairdraw_plugin_beacon()
                    .call_fetch(&mut *store, chain, round)
            })
            .map(|r| r.map(BeaconRound::from).map_err(PluginError::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_outside_the_world_are_refused() {
        assert_eq!(
            import_refusal(PluginKind::Source, "fairdraw:plugin/http@0.1.0"),
            None
        );
        assert_eq!(
            import_refusal(PluginKind::Source, "wasi:cli/stderr@0.2.6"),
            None
        );
        assert_eq!(
            import_refusal(PluginKind::Filter, "fairdraw:plugin/log@0.1.0"),
            None
        );
        let r = import_refusal(PluginKind::Filter, "fairdraw:plugin/http@0.1.0").expect("refused");
        assert!(r.contains("filter-plugin world does not include"), "{r}");
        let r = import_refusal(PluginKind::Source, "wasi:sockets/tcp@0.2.0").expect("refused");
        assert!(r.contains("not granted"), "{r}");
        let r = import_refusal(PluginKind::Source, "wasi:http/outgoing-handler@0.2.0")
            .expect("refused");
        assert!(r.contains("not granted"), "{r}");
        assert!(import_refusal(PluginKind::Source, "wasi:cli/stderr@0.3.0").is_some());
        assert!(import_refusal(PluginKind::Source, "fairdraw:plugin/http@0.2.0").is_some());
        assert!(import_refusal(PluginKind::Source, "evil:pkg/iface").is_some());
        assert!(import_refusal(PluginKind::Source, "bare-function").is_some());
    }

    #[test]
    fn panic_messages_are_extracted() {
        let s = "thread '<unnamed>' panicked at src/lib.rs:12:5:\nboom \u{1b}[31m\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(s).as_deref(),
            Some("boom \u{fffd}[31m (at src/lib.rs:12:5)")
        );
        assert_eq!(panic_message("nothing"), None);
    }

    #[test]
    fn clean_cuts_and_neutralises() {
        assert_eq!(clean("a\nb\x1bc", 100), "a\u{fffd}b\u{fffd}c");
        assert_eq!(clean("abcdef", 3), "abc…");
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<PluginRuntime>();
        send_sync::<SourcePlugin>();
        send_sync::<FilterPlugin>();
        send_sync::<BeaconPlugin>();
    }

    #[test]
    fn runtime_starts_and_lists_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = PluginRuntime::with_options(RuntimeOptions {
            data_dir: dir.path().to_owned(),
            dev_origin_map: DevOriginMap::default(),
            credentials: CredentialSource::default(),
            log: stderr_log_sink(),
        })
        .expect("runtime");
        assert!(rt.list().expect("list").is_empty());
        assert!(matches!(rt.source("nope"), Err(LoadError::NotInstalled(_))));
        assert!(matches!(
            rt.source("../etc"),
            Err(LoadError::NotInstalled(_))
        ));
    }
}
