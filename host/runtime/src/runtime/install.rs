//! The data directory and what is in it: loading, installing, listing,
//! inspecting and looking up plugins by id.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use super::import_policy::check_imports;
use super::{LoadError, LoadedPlugin, PluginRuntime, Pre, Shared, chain};
use crate::bindings::v0_1;
use crate::cache::{CacheStatus, component_sha256, create_private_dir};
use crate::http::{Credential, DevOriginMap, HttpClient, HttpPolicy};
use crate::manifest::{MANIFEST_FILE, Manifest, PluginKind, with_component};
use crate::types::{LogLevel, LogRecord, LogSource};

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

impl PluginRuntime {
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

    pub(super) fn get_kind(
        &self,
        id: &str,
        kind: PluginKind,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
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

    pub(super) fn get(&self, id: &str) -> Result<Arc<LoadedPlugin>, LoadError> {
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
        self.check_credential_clash(&manifest)?;
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
            // Its own client, so no connection is shared with another plugin.
            http: Arc::new(HttpClient::new(self.inner.http.dev_map().clone())),
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

impl PluginRuntime {
    /// Refuses a plugin one of whose credentials would be read from the same
    /// variable as a credential of another loaded or installed plugin. The
    /// mapping ([`CredentialSpec::env_var`](crate::manifest::CredentialSpec::env_var))
    /// is injective, so this holds by construction; the check keeps it so
    /// if the mapping ever changes.
    fn check_credential_clash(&self, manifest: &Manifest) -> Result<(), LoadError> {
        let mut others: Vec<Manifest> = self
            .inner
            .loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|p| p.manifest.clone())
            .collect();
        if let Ok(listed) = self.list() {
            others.extend(listed.into_iter().filter_map(|l| l.manifest.ok()));
        }
        for other in others.iter().filter(|o| o.id != manifest.id) {
            for mine in &manifest.credentials {
                let var = mine.env_var(&manifest.id);
                if let Some(theirs) = other
                    .credentials
                    .iter()
                    .find(|c| c.env_var(&other.id) == var)
                {
                    return Err(LoadError::CredentialClash {
                        plugin: manifest.id.clone(),
                        credential: mine.name.clone(),
                        other: other.id.clone(),
                        other_credential: theirs.name.clone(),
                        var,
                    });
                }
            }
        }
        Ok(())
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
}

#[cfg(test)]
mod tests {
    use super::super::{CredentialSource, RuntimeOptions, stderr_log_sink};
    use super::*;
    use crate::http::DevOriginMap;

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
