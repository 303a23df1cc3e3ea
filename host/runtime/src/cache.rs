//! The on-disk cache of precompiled components.
//!
//! Compiling a component with Cranelift takes seconds; loading its
//! precompiled form takes milliseconds. The cache file is
//! `<data_dir>/cache/components/<engine>-<component>.cwasm`, where `<engine>`
//! hashes wasmtime's `precompile_compatibility_hash` (wasmtime version,
//! target and the settings that change code) and `<component>` is the
//! SHA-256 of the component's bytes. A different engine or a changed
//! component therefore never meets a stale file. The directory is created
//! owner-only and files are written atomically (temporary file, rename).

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// How a component was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// Loaded from the precompiled cache.
    Hit,
    /// Compiled now and written to the cache.
    Compiled,
    /// Compiled now; the cache could not be written (the reason).
    Uncached(String),
}

/// A [`Hasher`] that feeds SHA-256, so the compatibility hash is stable
/// across runs (std's `DefaultHasher` promises no stability).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        let d = self.0.clone().finalize();
        u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The engine part of cache keys: hex of a SHA-256 over the engine's
/// precompile compatibility hash.
pub(crate) fn engine_key(engine: &Engine) -> String {
    let mut h = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(&h.0.finalize()[..16])
}

/// The SHA-256 of a component, lowercase hex.
pub(crate) fn component_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The precompiled-component cache of one runtime.
#[derive(Debug)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_key: String,
}

impl ComponentCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> ComponentCache {
        ComponentCache {
            dir,
            engine_key: engine_key(engine),
        }
    }

    /// The cache file for a component with this SHA-256.
    pub(crate) fn path_for(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{}-{sha256}.cwasm", self.engine_key))
    }

    /// Loads a component: from the cache when present and valid, otherwise
    /// compiled from `bytes` and written to the cache.
    ///
    /// Fails only when the component itself does not compile; a cache that
    /// cannot be read or written falls back to compiling.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<(Component, CacheStatus)> {
        let path = self.path_for(sha256);
        if path.is_file() {
            if let Ok(c) = deserialize_cached(engine, &path) {
                return Ok((c, CacheStatus::Hit));
            }
            // Corrupt or from an incompatible build: replace it.
            let _ = fs::remove_file(&path);
        }
        let component = Component::new(engine, bytes)?;
        let status = match component
            .serialize()
            .map_err(|e| e.to_string())
            .and_then(|b| self.write(&path, &b))
        {
            Ok(()) => CacheStatus::Compiled,
            Err(e) => CacheStatus::Uncached(e),
        };
        Ok((component, status))
    }

    /// Whether a precompiled form is cached for this component.
    pub(crate) fn contains(&self, sha256: &str) -> bool {
        self.path_for(sha256).is_file()
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), String> {
        create_private_dir(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let tmp = path.with_extension(format!("tmp{}-{}", std::process::id(), unique()));
        let result = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Creates a directory (and parents) readable by the owner only.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Loads a precompiled component from the cache.
#[allow(unsafe_code)]
fn deserialize_cached(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize_file` trusts its input to be machine
    // code that wasmtime produced, since it maps and runs it. This file was
    // written only by `ComponentCache::write` above, from
    // `Component::serialize` of a component this process compiled: the cache
    // directory is created owner-only, files are renamed into place
    // atomically (never partially written), and the name is keyed by the
    // engine's `precompile_compatibility_hash` and the SHA-256 of the source
    // component, so a file is only ever loaded by a compatible engine for the
    // component it was compiled from. wasmtime additionally checks the
    // header and compatibility before use and we fall back to compiling when
    // it refuses. Nothing else in fairdraw writes to this directory.
    unsafe { Component::deserialize_file(engine, path) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAT: &str = r#"(component (core module (func (export "f"))))"#;

    #[test]
    fn compiles_then_hits() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = ComponentCache::new(dir.path().join("c"), &engine);
        let bytes = WAT.as_bytes();
        let sha = component_sha256(bytes);
        assert!(!cache.contains(&sha));
        let (_, s) = cache.load(&engine, bytes, &sha).expect("compiles");
        assert_eq!(s, CacheStatus::Compiled);
        assert!(cache.contains(&sha));
        let (_, s) = cache.load(&engine, bytes, &sha).expect("loads");
        assert_eq!(s, CacheStatus::Hit);
        // A corrupted cache file is replaced, not trusted.
        fs::write(cache.path_for(&sha), b"garbage").expect("write");
        let (_, s) = cache.load(&engine, bytes, &sha).expect("recompiles");
        assert_eq!(s, CacheStatus::Compiled);
    }

    #[test]
    fn engine_key_is_stable_and_config_dependent() {
        let a = engine_key(&Engine::default());
        assert_eq!(a, engine_key(&Engine::default()));
        let mut c = wasmtime::Config::new();
        c.consume_fuel(true);
        let b = engine_key(&Engine::new(&c).expect("engine"));
        assert_ne!(a, b);
    }
}
