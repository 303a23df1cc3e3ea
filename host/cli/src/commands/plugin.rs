//! `fairdraw plugin list|inspect|install`, and the `--data-dir` option the
//! plugin-using commands share.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::plugin::{CacheStatus, Manifest, PluginInfo, PluginRuntime, default_data_dir};

/// Where plugins are installed.
#[derive(clap::Args, Debug, Clone)]
pub struct DataDir {
    /// Data directory holding installed plugins
    /// [default: $XDG_DATA_HOME/fairdraw, else ~/.local/share/fairdraw].
    #[arg(long, env = "FAIRDRAW_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDir {
    /// The directory: `--data-dir`, else the default.
    pub fn path(&self) -> Result<PathBuf> {
        match &self.data_dir {
            Some(d) if !d.as_os_str().is_empty() => Ok(d.clone()),
            _ => default_data_dir().context(
                "no data directory: pass --data-dir or set FAIRDRAW_DATA_DIR (HOME is not set)",
            ),
        }
    }

    /// A plugin runtime for the directory, configured from the environment.
    pub fn runtime(&self) -> Result<PluginRuntime> {
        let dir = self.path()?;
        PluginRuntime::new(&dir)
            .with_context(|| format!("cannot start the plugin runtime for {}", dir.display()))
    }
}

/// List, inspect and install plugins.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    data: DataDir,
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// List the installed plugins.
    List,
    /// Show a plugin's manifest, permissions, credentials and component.
    Inspect {
        /// The plugin id, e.g. `youtube`.
        id: String,
    },
    /// Validate a plugin and copy it into the data directory.
    Install {
        /// A plugin directory holding plugin.toml, or the plugin.toml itself.
        path: PathBuf,
    },
}

pub fn run(args: Args) -> Result<u8> {
    let rt = args.data.runtime()?;
    match args.action {
        Action::List => list(&rt),
        Action::Inspect { id } => {
            let info = rt.inspect(&id)?;
            print_info(&info);
            Ok(0)
        }
        Action::Install { path } => {
            let info = rt.install(&path)?;
            let m = &info.manifest;
            outln!(
                "Installed {} {} ({} plugin) into {}",
                m.id,
                m.version,
                m.kind,
                info.manifest_path
                    .parent()
                    .unwrap_or(rt.data_dir())
                    .display()
            );
            print_missing_credentials(&info);
            Ok(0)
        }
    }
}

fn list(rt: &PluginRuntime) -> Result<u8> {
    let plugins = rt.list()?;
    if plugins.is_empty() {
        outln!("No plugins installed in {}.", rt.plugins_dir().display());
        outln!("Install one with `fairdraw plugin install PATH`.");
        return Ok(0);
    }
    for p in &plugins {
        let dir_name = p
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match &p.manifest {
            Ok(m) => {
                let cached = if p.precompiled {
                    ""
                } else {
                    "  (not yet compiled)"
                };
                outln!(
                    "{:<16} {:<8} {:<7} {}{cached}",
                    m.id,
                    m.version,
                    m.kind.name(),
                    m.description
                );
            }
            Err(e) => outln!("{dir_name:<16} {:<8} {:<7} unreadable: {e}", "?", "?"),
        }
    }
    Ok(0)
}

/// Environment variables of a manifest's credentials, with whether each is set.
pub fn credential_vars(m: &Manifest) -> Vec<(String, String, bool)> {
    m.credentials
        .iter()
        .map(|c| {
            let var = c.env_var(&m.id);
            let set = std::env::var_os(&var).is_some_and(|v| !v.is_empty());
            (c.name.clone(), var, set)
        })
        .collect()
}

fn print_info(info: &PluginInfo) {
    let m = &info.manifest;
    outln!("{} {} ({} plugin, WIT {})", m.id, m.version, m.kind, m.wit);
    outln!("  {}", m.description);
    outln!("manifest:  {}", info.manifest_path.display());
    outln!(
        "component: {} (sha256 {})",
        info.component_path.display(),
        info.component_sha256
    );
    let cache = match &info.cache {
        CacheStatus::Hit => "precompiled (from the cache)".to_owned(),
        CacheStatus::Compiled => "compiled now and cached".to_owned(),
        CacheStatus::Uncached(why) => format!("compiled now, not cached: {why}"),
    };
    outln!("compiled:  {cache}");
    if m.allow.is_empty() {
        outln!("network:   none");
    } else {
        outln!(
            "network:   {}",
            m.allow
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if m.credentials.is_empty() {
        outln!("credentials: none");
    } else {
        outln!(
            "credentials (attached by the host to their origin only; redacted from what the plugin gets back):"
        );
        for (c, (name, var, set)) in m.credentials.iter().zip(credential_vars(m)) {
            let state = if set { "set" } else { "NOT SET" };
            outln!("  {name}: sent to {} from ${var} ({state})", c.origin);
        }
    }
    let l = &m.limits;
    outln!(
        "limits:    {} requests/call, {} KiB/response, {} ms/call, {} MiB memory, {} fuel; {} entries/fetch, {} bytes/fetch",
        l.max_requests_per_call,
        l.max_response_bytes >> 10,
        l.timeout_ms,
        l.memory_mb,
        l.fuel,
        l.max_entries_per_fetch,
        l.max_bytes_per_fetch
    );
    if !m.config.is_empty() {
        outln!("config:");
        for (k, v) in &m.config {
            outln!("  {k} = {v:?}");
        }
    }
    outln!("imports:   {}", info.imports.join(", "));
    outln!("exports:   {}", info.exports.join(", "));
}

fn print_missing_credentials(info: &PluginInfo) {
    if !info.missing_credentials.is_empty() {
        outln!("Before use, set {}.", info.missing_credentials.join(", "));
    }
}
