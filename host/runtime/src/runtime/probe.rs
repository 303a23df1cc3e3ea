//! The steps of one plugin call, taken one at a time: a low-level API for
//! benchmarks and profiling.
//!
//! Every call through a handle ([`SourcePlugin`](super::SourcePlugin) and
//! the others) creates a store with the plugin's limits, instantiates the
//! plugin's linked component in it, calls one export and drops the store.
//! A [`Probe`] runs the same steps, with the same code, but separately, so
//! that each can be timed on its own.

use std::fmt;
use std::sync::Arc;

use wasmtime::component::{Instance, TypedFunc};

use crate::types::Fault;

use super::call::CallStore;
use super::{LoadError, LoadedPlugin, PluginRuntime};

impl PluginRuntime {
    /// A [`Probe`] of a plugin of any kind: a loaded one, else the installed
    /// one (loading it if needed). Fails as [`PluginRuntime::inspect`] does.
    pub fn probe(&self, id: &str) -> Result<Probe, LoadError> {
        self.get(id).map(|plugin| Probe { plugin })
    }
}

/// A loaded plugin, for taking the steps of a call one at a time.
///
/// ```no_run
/// # use fairdraw_runtime::PluginRuntime;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let rt = PluginRuntime::new("/tmp/fairdraw-data")?;
/// rt.load("plugins/bench/empty/plugin.toml")?;
/// let probe = rt.probe("bench-empty")?;
/// let mut instance = probe.instantiate()?; // a call's store, an instance in it
/// let empty = instance.root_func("empty")?; // the root export `empty: func()`
/// instance.call(empty)?;
/// drop(instance); // ends the call: logs its stdio, frees its pool slot
/// # Ok(())
/// # }
/// ```
///
/// Cheap to clone. A real call does a little more than these steps: it
/// looks up its world's typed export, converts its arguments and checks
/// and converts its result.
#[derive(Clone)]
pub struct Probe {
    plugin: Arc<LoadedPlugin>,
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("id", &self.plugin.manifest.id)
            .finish_non_exhaustive()
    }
}

impl Probe {
    /// The plugin's id.
    pub fn id(&self) -> &str {
        &self.plugin.manifest.id
    }

    /// Creates the store of a call, exactly as every call creates it (the
    /// plugin's fuel, time and memory limits, captured stdio, no sockets),
    /// and instantiates the plugin in it from the `InstancePre` that calls
    /// use.
    ///
    /// Fails with the [`Fault`] a call would report when instantiation
    /// traps or runs out of a limit (a component whose start-up panics, for
    /// example).
    pub fn instantiate(&self) -> Result<Instantiated<'_>, Fault> {
        let plugin = &*self.plugin;
        let mut call = plugin.new_call_store();
        let result = call
            .store
            .set_fuel(plugin.shared.limits.fuel)
            .and_then(|()| plugin.pre.instance_pre().instantiate(&mut call.store));
        match result {
            Ok(instance) => Ok(Instantiated {
                plugin,
                call,
                instance,
            }),
            Err(e) => plugin.end_call(call, Err(e)),
        }
    }
}

/// An instance in the store of one call, made by [`Probe::instantiate`].
///
/// The store keeps the limits of one call: all calls made on it share its
/// fuel and its deadline (the plugin's `timeout_ms` from instantiation).
/// Dropping it ends the call as a real call ends: what the plugin wrote to
/// stdout and stderr is logged and the store's pool slot is freed. After a
/// fault, drop it: a trapped instance cannot be entered again.
pub struct Instantiated<'p> {
    plugin: &'p LoadedPlugin,
    call: CallStore,
    instance: Instance,
}

impl fmt::Debug for Instantiated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instantiated")
            .field("id", &self.plugin.manifest.id)
            .finish_non_exhaustive()
    }
}

impl Drop for Instantiated<'_> {
    fn drop(&mut self) {
        self.plugin.log_stdio(&self.call);
    }
}

impl Instantiated<'_> {
    /// Looks up a root export `name: func()` (one outside any interface,
    /// such as `plugins/bench/empty`'s `empty`), for [`Instantiated::call`].
    ///
    /// Fails with a [`FaultKind::Host`](crate::FaultKind::Host) fault when
    /// the component has no such export or it has another type.
    pub fn root_func(&mut self, name: &str) -> Result<RootFunc, Fault> {
        self.instance
            .get_typed_func::<(), ()>(&mut self.call.store, name)
            .map(RootFunc)
            .map_err(|e| self.plugin.fault_in(&self.call, &e))
    }

    /// Calls a root export found by [`Instantiated::root_func`] on this
    /// instance. Fails with the fault a call would report (a trap, fuel,
    /// time or memory running out).
    pub fn call(&mut self, func: RootFunc) -> Result<(), Fault> {
        func.0
            .call(&mut self.call.store, ())
            .map_err(|e| self.plugin.fault_in(&self.call, &e))
    }

    /// [`Instantiated::root_func`] and [`Instantiated::call`] in one step.
    pub fn call_root_export(&mut self, name: &str) -> Result<(), Fault> {
        let func = self.root_func(name)?;
        self.call(func)
    }
}

/// A root export `func()` of one [`Instantiated`] instance. It belongs to
/// that instance's store: calling it on another panics.
#[derive(Clone, Copy)]
pub struct RootFunc(TypedFunc<(), ()>);

impl fmt::Debug for RootFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootFunc").finish_non_exhaustive()
    }
}
