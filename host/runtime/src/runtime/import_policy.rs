//! The load-time import check: a component may import only its world's
//! `fairdraw:plugin` interfaces and the WASI that Rust's std needs. Anything
//! else is refused before the plugin is linked, with a message naming the
//! import.

use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;
use crate::bindings::v0_1;
use crate::manifest::{Manifest, PluginKind};

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
pub(super) fn check_imports(
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
}
