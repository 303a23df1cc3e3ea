//! The typed plugin handles: [`SourcePlugin`], [`FilterPlugin`] and
//! [`BeaconPlugin`], one method per export of their world. Each call runs
//! in a fresh store and instance (`call`), and its result is checked
//! before it is converted to the host's types.

use std::fmt;
use std::sync::Arc;

use crate::bindings::v0_1;
use crate::limits::MAX_PAGE_ENTRIES;
use crate::manifest::{Manifest, PluginKind};
use crate::types::{
    BeaconRound, CallResult, Collection, Fault, FaultKind, Page, PluginError, Post, SourceInfo,
    Verdict,
};

use super::call::clean;
use super::linker::Pre;
use super::{LoadError, LoadedPlugin, PluginRuntime};

impl PluginRuntime {
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
    /// The same plugin with one `[config]` value replaced for its calls
    /// (the server tries each relay of `FAIRDRAW_DRAND_RELAYS` this way).
    /// Nothing else changes: the manifest's HTTP allow list, credentials
    /// and limits still apply, so a relay whose origin the manifest does not
    /// allow is refused at the first request.
    pub fn with_config(&self, key: &str, value: &str) -> BeaconPlugin {
        let p = &self.plugin;
        let mut config = p.shared.config.clone();
        config.insert(key.to_owned(), value.to_owned());
        let shared = Arc::new(super::call::Shared {
            id: p.shared.id.clone(),
            config,
            limits: p.shared.limits,
            policy: p.shared.policy.clone(),
            http: p.shared.http.clone(),
            log: p.shared.log.clone(),
        });
        BeaconPlugin {
            plugin: Arc::new(LoadedPlugin {
                engine: p.engine.clone(),
                manifest: p.manifest.clone(),
                manifest_path: p.manifest_path.clone(),
                component_path: p.component_path.clone(),
                sha256: p.sha256.clone(),
                cache_status: p.cache_status.clone(),
                imports: p.imports.clone(),
                exports: p.exports.clone(),
                pre: p.pre.clone(),
                shared,
            }),
        }
    }

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
    fn handles_are_send_and_sync() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<PluginRuntime>();
        send_sync::<SourcePlugin>();
        send_sync::<FilterPlugin>();
        send_sync::<BeaconPlugin>();
    }
}
