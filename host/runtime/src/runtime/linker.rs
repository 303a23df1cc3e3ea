//! The engine configuration and what gets linked: the world's
//! `fairdraw:plugin` imports (implemented in `host_imports`) and the WASI
//! that Rust's std needs, inert (see `import_policy` for what is granted).

use wasmtime::component::{HasData, HasSelf, InstancePre, Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};
use wasmtime_wasi::WasiView;

use super::call::CallState;
use super::{LoadError, chain};
use crate::bindings::v0_1;
use crate::limits::Limits;
use crate::manifest::PluginKind;

/// Linear memory kept mapped per pool slot between calls (see [`new_engine`]).
const KEEP_RESIDENT_BYTES: usize = 16 << 20;

/// The engine all plugins run on: fuel metering and epoch interruption
/// (the per-call limits are set on each store), a 1 MiB wasm stack, and the
/// pooling allocator, or on-demand allocation where the pool's address
/// space is refused.
pub(super) fn new_engine() -> Result<Engine, LoadError> {
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

/// One linker per world, made once per runtime.
pub(super) struct Linkers {
    pub(super) source: Linker<CallState>,
    pub(super) filter: Linker<CallState>,
    pub(super) beacon: Linker<CallState>,
}

/// A plugin's component, linked for its world: each call only instantiates.
#[derive(Clone)]
pub(super) enum Pre {
    Source(v0_1::source::SourcePluginPre<CallState>),
    Filter(v0_1::filter::FilterPluginPre<CallState>),
    Beacon(v0_1::beacon::BeaconPluginPre<CallState>),
}

impl Pre {
    /// The untyped `InstancePre` that the typed one instantiates.
    pub(super) fn instance_pre(&self) -> &InstancePre<CallState> {
        match self {
            Pre::Source(p) => p.instance_pre(),
            Pre::Filter(p) => p.instance_pre(),
            Pre::Beacon(p) => p.instance_pre(),
        }
    }
}

struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// `wasi:clocks/monotonic-clock` where no subscription outlives the call's
/// deadline. A sleep is a `wasi:io/poll` on such a subscription: host code,
/// which the epoch deadline does not interrupt, so a 20 s sleep held the
/// host thread for 20 s whatever `timeout_ms` said. Here a subscription
/// that would end after the deadline stops the call at once with the
/// timeout trap (the call could not finish in time anyway); shorter ones
/// are untouched.
struct BoundedClock;

impl HasData for BoundedClock {
    type Data<'a> = BoundedClockView<'a>;
}

struct BoundedClockView<'a> {
    inner: wasmtime_wasi::clocks::WasiClocksCtxView<'a>,
    deadline: std::time::Instant,
}

impl wasmtime_wasi::p2::bindings::clocks::monotonic_clock::Host for BoundedClockView<'_> {
    fn now(&mut self) -> wasmtime::Result<u64> {
        self.inner.now()
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        self.inner.resolution()
    }

    fn subscribe_instant(
        &mut self,
        when: u64,
    ) -> wasmtime::Result<wasmtime::component::Resource<wasmtime_wasi::p2::DynPollable>> {
        let now = self.inner.now()?;
        self.subscribe_duration(when.saturating_sub(now))
    }

    fn subscribe_duration(
        &mut self,
        duration: u64,
    ) -> wasmtime::Result<wasmtime::component::Resource<wasmtime_wasi::p2::DynPollable>> {
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        if u128::from(duration) > left.as_nanos() {
            return Err(wasmtime::Trap::Interrupt.into());
        }
        self.inner.subscribe_duration(duration)
    }
}

/// A linker for one world: the plugin imports plus the granted WASI.
pub(super) fn new_linker(
    engine: &Engine,
    kind: PluginKind,
) -> Result<Linker<CallState>, LoadError> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
    use wasmtime_wasi::p2::bindings as wasi;
    use wasmtime_wasi::random::{WasiRandom, WasiRandomView};

    let mut l: Linker<CallState> = Linker::new(engine);
    let r = (|| -> wasmtime::Result<()> {
        let l = &mut l;
        wasi::clocks::wall_clock::add_to_linker::<CallState, WasiClocks>(l, CallState::clocks)?;
        wasi::clocks::monotonic_clock::add_to_linker::<CallState, BoundedClock>(
            l,
            |s: &mut CallState| BoundedClockView {
                deadline: s.budget.deadline,
                inner: s.clocks(),
            },
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
