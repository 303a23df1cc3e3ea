//! The wasmtime engine, loading, and one sandboxed store per call.
//!
//! [`PluginRuntime`] owns the engine, one linker per world, the compile
//! cache, the HTTP client and the loaded plugins. The work is split by
//! concern:
//!
//! * `install`: the data directory, loading, installing, listing and
//!   inspecting plugins, looking them up by id;
//! * `import_policy`: the load-time check that refuses imports outside the
//!   plugin's world and the granted WASI;
//! * `linker`: the engine configuration and what gets linked (the
//!   `fairdraw:plugin` imports and the inert WASI);
//! * `call`: the per-call store (fuel, epoch deadline, memory limiter,
//!   captured stdio) and the mapping of traps and errors to
//!   [`Fault`](crate::Fault)s;
//! * `host_imports`: the host side of the `http`, `log` and `config`
//!   imports;
//! * `handles`: [`SourcePlugin`], [`FilterPlugin`] and [`BeaconPlugin`],
//!   the typed calls;
//! * `probe`: [`Probe`], the steps of one call taken one at a time, for
//!   benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use wasmtime::Engine;

use super::cache::{CacheStatus, ComponentCache};
use super::http::{DevOriginMap, HttpClient};
use super::manifest::{Manifest, ManifestError, PluginKind};
use super::types::{LogLevel, LogRecord, LogSource};

mod call;
mod handles;
mod host_imports;
mod import_policy;
mod install;
mod linker;
mod probe;

pub(crate) use call::clean;
pub use handles::{BeaconPlugin, FilterPlugin, SourcePlugin};
pub use install::{ListedPlugin, PluginInfo, default_data_dir};
pub use probe::{Instantiated, Probe, RootFunc};

use call::Shared;
use linker::{Linkers, Pre, new_engine, new_linker};

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
    /// `FAIRDRAW_CREDENTIAL_<ID>_<NAME>` environment variables (see
    /// [`CredentialSpec::env_var`](crate::manifest::CredentialSpec::env_var)).
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
    /// A credential would be read from the same variable as another
    /// plugin's, so one plugin could receive the other's secret.
    #[error(
        "plugin `{plugin}` is refused: its credential `{credential}` would be read from {var}, which holds credential `{other_credential}` of plugin `{other}`"
    )]
    CredentialClash {
        /// The plugin refused.
        plugin: String,
        /// Its credential.
        credential: String,
        /// The installed plugin it clashes with.
        other: String,
        /// That plugin's credential.
        other_credential: String,
        /// The variable both map to.
        var: String,
    },
    /// `FAIRDRAW_DEV_ORIGIN_MAP` is malformed.
    #[error("{0}")]
    DevOriginMap(String),
    /// The wasmtime engine could not be created.
    #[error("cannot start the plugin engine: {0}")]
    Engine(String),
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
