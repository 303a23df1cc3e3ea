//! Finding the `fairdraw` binary from another package's test.
//!
//! Cargo gives `CARGO_BIN_EXE_*` only to the tests of the package that owns
//! the binary, so this crate looks where Cargo puts it: the test executable is
//! `<target>/<profile>/deps/e2e-<hash>`, the binary `<target>/<profile>/fairdraw`.
//! If it is missing, or older than a source file under `host/*/src`,
//! `host/store/migrations` or `engine/src`,
//! it is built first with `cargo build -p fairdraw-cli --bin fairdraw` into
//! the same target directory and profile.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// The up-to-date `fairdraw` binary; builds it once per test process if needed.
pub fn fairdraw() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(locate_or_build)
}

fn locate_or_build() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    let profile_dir = exe
        .parent()
        .filter(|deps| deps.file_name().is_some_and(|n| n == "deps"))
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} is not inside <target>/<profile>/deps", exe.display()))
        .to_owned();
    let bin = profile_dir.join(format!("fairdraw{}", std::env::consts::EXE_SUFFIX));
    if let Some(why) = rebuild_reason(&bin) {
        build(&profile_dir, &why);
    }
    assert!(
        bin.is_file(),
        "`cargo build -p fairdraw-cli --bin fairdraw` did not produce {}",
        bin.display()
    );
    bin
}

/// Why the binary must be (re)built, if it must.
fn rebuild_reason(bin: &Path) -> Option<String> {
    let built = match bin.metadata().and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(_) => return Some(format!("{} is missing", bin.display())),
    };
    // Only sources: Cargo rebuilds when one of them is touched, so a newer
    // one always means a stale binary (a manifest change may not).
    let root = workspace();
    let mut sources = Vec::new();
    for dir in [
        "host/cli/src",
        "host/runtime/src",
        "host/server/src",
        "host/store/src",
        "host/store/migrations",
        "engine/src",
    ] {
        collect_files(&root.join(dir), &mut sources);
    }
    let newer = sources
        .into_iter()
        .find(|p| modified(p).is_some_and(|t| t > built))?;
    Some(format!(
        "{} is newer than {}",
        newer.display(),
        bin.display()
    ))
}

fn modified(p: &Path) -> Option<SystemTime> {
    p.metadata().and_then(|m| m.modified()).ok()
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Builds the binary into `<target>/<profile>`, where `profile_dir` is.
fn build(profile_dir: &Path, why: &str) {
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("profile directory name");
    let profile = match profile {
        "debug" => "dev",
        other => other,
    };
    let target_dir = profile_dir.parent().expect("target directory");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("e2e: {why}; running cargo build -p fairdraw-cli --bin fairdraw --profile {profile}");
    let status = Command::new(&cargo)
        .args([
            "build",
            "-p",
            "fairdraw-cli",
            "--bin",
            "fairdraw",
            "--profile",
            profile,
            "--target-dir",
        ])
        .arg(target_dir)
        .current_dir(workspace())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?} to build the fairdraw binary: {e}"));
    assert!(
        status.success(),
        "cargo build -p fairdraw-cli --bin fairdraw failed ({status})"
    );
}
