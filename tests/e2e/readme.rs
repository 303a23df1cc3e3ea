//! The README's worked example runs as written.
//!
//! The example is the fenced ` ```sh ` block of README.md whose first line is
//! `# worked-example`. It runs with `bash -euo pipefail` in a fresh temporary
//! directory holding a copy of `tests/fixtures/` (so paths written relative to
//! the repository root, like `tests/fixtures/giveaway/rules.json`, work), with
//! the `fairdraw` binary first on `PATH` and no network needed.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::bin::workspace;
use crate::script::{Outcome, fenced_blocks, run_bash};

/// The comment line that marks the worked example.
const MARKER: &str = "# worked-example";

/// How long the example may run.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The body of the one fenced shell block whose first line is [`MARKER`].
///
/// Fails, naming the problem, when there is no such block, more than one, or
/// one that is never closed.
pub fn worked_example(markdown: &str) -> Result<String, String> {
    let mut found: Vec<_> = fenced_blocks(markdown)
        .into_iter()
        .filter(|b| {
            matches!(b.info, "sh" | "bash" | "shell")
                && b.body.lines().next().map(str::trim) == Some(MARKER)
        })
        .collect();
    if let Some(open) = found.iter().find(|b| !b.closed) {
        return Err(format!(
            "the `{MARKER}` block opened on line {} is never closed",
            open.line
        ));
    }
    match found.len() {
        1 => Ok(found.remove(0).body),
        0 => Err(format!(
            "no fenced ```sh block whose first line is `{MARKER}`"
        )),
        n => Err(format!(
            "{n} fenced blocks start with `{MARKER}`; exactly one must"
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

#[test]
fn readme_worked_example_runs() {
    let readme_path = workspace().join("README.md");
    let readme = fs::read_to_string(&readme_path).unwrap_or_else(|e| {
        panic!("cannot read {} ({e}); it must hold the worked example: a ```sh block whose first line is `{MARKER}`", readme_path.display())
    });
    let script =
        worked_example(&readme).unwrap_or_else(|e| panic!("{}: {e}", readme_path.display()));

    let dir = tempfile::tempdir().expect("temporary directory");
    copy_dir(
        &workspace().join("tests/fixtures"),
        &dir.path().join("tests/fixtures"),
    );
    let Outcome {
        status,
        report,
        stderr,
    } = run_bash(dir.path(), &script, &[], TIMEOUT);
    let Some(status) = status else {
        panic!("the worked example ran longer than {TIMEOUT:?}\n{report}")
    };
    assert!(
        status.success(),
        "the README worked example failed ({status})\n{report}"
    );
    assert!(
        !stderr.contains("panicked"),
        "fairdraw panicked in the worked example\n{report}"
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
