//! The plugin runtime: third-party WebAssembly components, sandboxed.
//!
//! A plugin is a component implementing one world of the frozen WIT
//! `wit/v0.1/plugin.wit` (`source-plugin`, `filter-plugin` or
//! `beacon-plugin`) plus a `plugin.toml` manifest ([`manifest`]).
//!
//! # API
//!
//! ```ignore
//! use fairdraw_runtime::{PluginRuntime, default_data_dir, pagination::{fetch_all, FetchOptions}};
//!
//! let rt = PluginRuntime::new(default_data_dir().expect("no home"))?;  // reads FAIRDRAW_* env
//! rt.install("plugins/youtube/plugin.toml")?;      // validate, copy to <data_dir>/plugins/youtube/
//! rt.load("path/to/plugin.toml")?;                 // or use one in place (not installed)
//! for p in rt.list()? { /* p.dir, p.manifest, p.precompiled */ }
//! let info = rt.inspect("youtube")?;               // manifest, imports, exports, cache status
//!
//! let yt = rt.source("youtube")?;                  // loaded, else installed
//! let about = yt.describe()?;                      // Result<SourceInfo, Fault>
//! let post = yt.parse_url("https://youtu.be/x")??; // CallResult<Post>
//! let page = yt.fetch_page(&post, Collection::Comments, None)??;
//! let mut entries = Vec::new();                   // any pagination::Sink: a file, a database
//! let done = fetch_all(&yt, &post, Collection::Comments, &FetchOptions::default(), &mut entries, |p| {
//!     eprintln!("{} pages, {} entries", p.pages, p.entries);
//! })?;                                             // each page goes to the sink as it arrives;
//!                                                  // Err carries the counts so far + resume cursor
//!
//! let verdicts = rt.filter("spam-filter")?.check(&entries, "{}")??;
//! let round = rt.beacon("drand")?.fetch("quicknet", Some(1000))??;
//! ```
//!
//! * **Data directory**: [`default_data_dir`] is `$FAIRDRAW_DATA_DIR`, else
//!   `$XDG_DATA_HOME/fairdraw`, else `~/.local/share/fairdraw`. Installed
//!   plugins are `<data_dir>/plugins/<id>/{plugin.toml, <component>}`;
//!   precompiled components are cached in `<data_dir>/cache/components/`.
//! * **Two error layers** ([`CallResult`]): the outer [`Fault`] means the
//!   host stopped the instance or it trapped ([`FaultKind`]: fuel, timeout,
//!   memory limit, stack overflow, panic, other trap, too much data, broken
//!   contract, host failure); the inner [`PluginError`] is the error the
//!   plugin declared (unauthorized, rate-limited, …). Report them
//!   differently: a fault is the plugin's bug or an attack, a plugin error
//!   is about the platform or the input.
//! * **Environment**: credentials come from
//!   `FAIRDRAW_CREDENTIAL_<ID>_<NAME>` (uppercase; `-` → `__` in the id,
//!   `_` in the name, so no two plugins share a variable);
//!   `FAIRDRAW_DEV_ORIGIN_MAP=https://www.googleapis.com=http://127.0.0.1:PORT,…`
//!   sends an allowed origin's traffic to a loopback mock server (warned
//!   about); `FAIRDRAW_LOG=debug` shows plugin logs below `warn`.
//!   [`RuntimeOptions`] sets all three explicitly instead.
//! * **Threads**: the runtime and the plugin handles are `Clone + Send +
//!   Sync`; each call instantiates a fresh instance in its own store, so
//!   calls run concurrently and a trapped instance is never reused.
//!
//! # Sandbox
//!
//! * Imports are checked at load: only the world's `fairdraw:plugin`
//!   interfaces and the WASI that Rust's std needs (clocks, random, and
//!   cli/filesystem/io with no preopens, no environment, closed stdin and
//!   captured stdout/stderr). Anything else, such as `wasi:sockets`, is
//!   refused with a message naming the import. Sockets are not even linked.
//! * Network only through `fairdraw:plugin/http` ([`http`]): manifest-listed
//!   `https://` origins, public addresses only (checked after the host's own
//!   DNS resolution), same-origin redirects, bounded size, count and time;
//!   credentials attached by the host.
//! * CPU: fuel per call and an epoch deadline (a ticker thread) per call.
//!   Memory: a per-store limiter; the pooling allocator recycles slots.
//!   Data copied out of an instance is capped (wasmtime hostcall fuel), and
//!   a page may hold at most [`limits::MAX_PAGE_ENTRIES`] entries.
//!
//! # Low-level: one call, step by step
//!
//! [`PluginRuntime::probe`] gives a [`Probe`] of a loaded or installed plugin, which runs
//! the steps of a call separately with the runtime's own code:
//! [`Probe::instantiate`] creates a call's store and instance,
//! [`Instantiated::call_root_export`] calls a root `func()` export, dropping
//! the [`Instantiated`] ends the call. The benchmarks
//! (`benches/plugins.rs`, `BENCHMARKS.md`) time instantiation and calls
//! with it.
//!
//! # Modules
//!
//! * [`runtime`]: [`PluginRuntime`] and the plugin handles. Inside, one
//!   module per concern: install/list/inspect and the data directory, the
//!   load-time import policy, the engine and linker (what gets linked, the
//!   inert WASI), the per-call store with its limits and the mapping of
//!   traps to [`Fault`]s, the host side of the `http`/`log`/`config`
//!   imports, the typed handles, and [`Probe`].
//! * [`http`]: the `http` import, split into the URL and SSRF policy
//!   (origin allow list, address checks, [`DevOriginMap`], redirects,
//!   credentials) and the client (ureq, the checking resolver, size, count
//!   and time bounds).
//! * [`manifest`]: `plugin.toml`. [`limits`]: per-call limits and the
//!   host's fixed bounds. [`cache`]: precompiled components. [`types`]: the
//!   version-independent values plugins exchange with the host, converted
//!   from each WIT version's generated bindings. [`pagination`]: fetching
//!   every page of a collection.

mod bindings;
pub mod cache;
pub mod http;
pub mod limits;
pub mod manifest;
pub mod pagination;
pub mod runtime;
pub mod types;

// The API surface.
pub use cache::CacheStatus;
pub use http::DevOriginMap;
pub use limits::Limits;
pub use manifest::{Manifest, PluginKind};
pub use runtime::{
    BeaconPlugin, CredentialSource, FilterPlugin, ListedPlugin, LoadError, LogSink, PluginInfo,
    PluginRuntime, RuntimeOptions, SourcePlugin, default_data_dir, stderr_log_sink,
};
// The low-level API: the steps of one call (benchmarks).
pub use runtime::{Instantiated, Probe, RootFunc};
pub use types::{
    BeaconRound, CallResult, Collection, Fault, FaultKind, LogLevel, LogRecord, LogSource, Page,
    PluginError, Post, RateLimit, SourceInfo, Verdict,
};
