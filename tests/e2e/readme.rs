//! The README's worked example and its hosted-API walk-through run as
//! written.
//!
//! Each is the fenced ` ```sh ` block of README.md whose first line is its
//! marker: `# worked-example` (the offline CLI) and `# api-walkthrough`
//! (`fairdraw serve` driven with curl, from `admin create-org` to a bundle
//! that `fairdraw verify URL` accepts). Each runs with `bash -euo pipefail`
//! in a fresh temporary directory holding a copy of `tests/fixtures/` (so
//! paths written relative to the repository root, like
//! `tests/fixtures/giveaway/rules.json`, work), with the `fairdraw` binary
//! first on `PATH` and no network needed beyond loopback.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::bin::workspace;
use crate::script::{Outcome, fenced_blocks, run_bash};

/// The comment line that marks the worked example.
const MARKER: &str = "# worked-example";

/// The comment line that marks the hosted-API walk-through.
const API_MARKER: &str = "# api-walkthrough";

/// How long the example may run.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The body of the one fenced shell block whose first line is [`MARKER`].
pub fn worked_example(markdown: &str) -> Result<String, String> {
    marked_block(markdown, MARKER)
}

/// The body of the one fenced shell block whose first line is `marker`.
///
/// Fails, naming the problem, when there is no such block, more than one, or
/// one that is never closed.
pub fn marked_block(markdown: &str, marker: &str) -> Result<String, String> {
    let mut found: Vec<_> = fenced_blocks(markdown)
        .into_iter()
        .filter(|b| {
            matches!(b.info, "sh" | "bash" | "shell")
                && b.body.lines().next().map(str::trim) == Some(marker)
        })
        .collect();
    if let Some(open) = found.iter().find(|b| !b.closed) {
        return Err(format!(
            "the `{marker}` block opened on line {} is never closed",
            open.line
        ));
    }
    match found.len() {
        1 => Ok(found.remove(0).body),
        0 => Err(format!(
            "no fenced ```sh block whose first line is `{marker}`"
        )),
        n => Err(format!(
            "{n} fenced blocks start with `{marker}`; exactly one must"
        )),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.expect("directory entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        }
    }
}

/// Runs README.md's block marked `marker` in a scratch directory holding a
/// copy of `tests/fixtures/`, with `env`, and asserts it succeeded without a
/// panic.
fn run_readme_block(marker: &str, env: &[(&str, std::ffi::OsString)], timeout: Duration) {
    let readme_path = workspace().join("README.md");
    let readme = fs::read_to_string(&readme_path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); it must hold a ```sh block whose first line is `{marker}`",
            readme_path.display()
        )
    });
    let script =
        marked_block(&readme, marker).unwrap_or_else(|e| panic!("{}: {e}", readme_path.display()));

    let dir = tempfile::tempdir().expect("temporary directory");
    copy_dir(
        &workspace().join("tests/fixtures"),
        &dir.path().join("tests/fixtures"),
    );
    let Outcome {
        status,
        report,
        stderr,
    } = run_bash(dir.path(), &script, env, timeout);
    let Some(status) = status else {
        panic!("the README block `{marker}` ran longer than {timeout:?}\n{report}")
    };
    assert!(
        status.success(),
        "the README block `{marker}` failed ({status})\n{report}"
    );
    assert!(
        !stderr.contains("panicked"),
        "fairdraw panicked in the README block `{marker}`\n{report}"
    );
}

#[test]
fn readme_worked_example_runs() {
    run_readme_block(MARKER, &[], TIMEOUT);
}

/// The hosted-API walk-through: `admin create-org`, `fairdraw serve`, curl
/// through create, upload, lock and execute, then `fairdraw verify URL
/// --key-from URL --lock-hash`. It needs curl and jq, as a reader does.
#[test]
fn readme_api_walkthrough_runs() {
    for tool in ["curl", "jq", "openssl"] {
        let found = std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok();
        assert!(
            found,
            "the README's API walk-through needs `{tool}` (make test installs it; on Debian: apt-get install -y {tool})"
        );
    }
    // A free loopback port for the walk-through's server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    run_readme_block(
        API_MARKER,
        &[("PORT", port.to_string().into())],
        Duration::from_secs(180),
    );
}

#[test]
fn extracts_the_marked_block_only() {
    let md = "# T\n\n```sh\necho other\n```\n\n```sh\n# worked-example\nfairdraw keygen --out k.json\n```\n";
    assert_eq!(
        worked_example(md).as_deref(),
        Ok("# worked-example\nfairdraw keygen --out k.json\n")
    );
    assert!(worked_example("```sh\necho hi\n```\n").is_err_and(|e| e.contains("no fenced")));
    assert!(
        worked_example("```sh\n# worked-example\necho hi\n")
            .is_err_and(|e| e.contains("never closed"))
    );
    let twice = "```sh\n# worked-example\n```\n```sh\n# worked-example\n```\n";
    assert!(worked_example(twice).is_err_and(|e| e.contains("2 fenced")));
    // The marker inside a block of another language does not count.
    assert!(worked_example("```text\n# worked-example\n```\n").is_err());
}
