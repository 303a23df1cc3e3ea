//! File helpers: reading with the path in every error, and atomic writes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use fairdraw_engine::time::Timestamp;

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Writes a file atomically (temporary file, then rename), so a crash never
/// leaves half a bundle behind. `private` makes it readable by the owner only.
pub fn write(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    atomically(path, private, |f| f.write_all(bytes))
}

/// Copies `from` to `to` atomically, as [`write`] does, streaming: a large
/// file is never held in memory.
pub fn copy(from: &Path, to: &Path) -> Result<()> {
    let mut src =
        fs::File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    atomically(to, false, |f| std::io::copy(&mut src, f).map(drop))
}

/// Fills a temporary file beside `path` with `fill`, syncs it and renames it
/// to `path`; removes it on failure.
fn atomically(
    path: &Path,
    private: bool,
    fill: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp: PathBuf = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let written = options.open(&tmp).and_then(|mut f| {
        fill(&mut f)?;
        f.sync_all()
    });
    let result = written.and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Refuses to overwrite an existing file.
pub fn ensure_absent(path: &Path) -> Result<()> {
    if path.exists() {
        anyhow::bail!(
            "{} already exists; refusing to overwrite it",
            path.display()
        );
    }
    Ok(())
}

/// `--at` if given, else the system clock truncated to the second.
pub fn now_or(at: Option<&str>) -> Result<Timestamp> {
    match at {
        Some(s) => Timestamp::parse_rfc3339(s).with_context(|| format!("--at {s:?}")),
        None => {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .context("system clock is before 1970")?;
            Ok(Timestamp::from_unix(secs.as_secs() as i64))
        }
    }
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("OS random generator failed: {e}"))?;
    Ok(b)
}
