//! The README's worked example runs as written.
//!
//! The example is the fenced ` ```sh ` block of README.md whose first line is
//! `# worked-example`. It runs with `bash -euo pipefail` in a fresh temporary
//! directory holding a copy of `tests/fixtures/` (so paths written relative to
//! the repository root, like `tests/fixtures/giveaway/rules.json`, work), with
//! the `fairdraw` binary first on `PATH` and no network needed.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bin::{fairdraw, workspace};

/// The comment line that marks the worked example.
const MARKER: &str = "# worked-example";

/// How long the example may run.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The body of the one fenced shell block whose first line is [`MARKER`].
///
/// Fails, naming the problem, when there is no such block, more than one, or
/// one that is never closed.
pub fn worked_example(markdown: &str) -> Result<String, String> {
    let mut found = Vec::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let is_shell = matches!(info.trim(), "sh" | "bash" | "shell");
        let mut body = Vec::new();
        let mut closed = false;
        for (_, l) in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                closed = true;
                break;
            }
            body.push(l);
        }
        if is_shell && body.first().map(|l| l.trim()) == Some(MARKER) {
            if !closed {
                return Err(format!(
                    "the `{MARKER}` block opened on line {} is never closed",
                    n + 1
                ));
            }
            found.push(body.join("\n") + "\n");
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
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
    let script_path = dir.path().join("worked-example.sh");
    fs::write(&script_path, &script).expect("write the script");
    let (stdout_path, stderr_path) = (dir.path().join(".stdout"), dir.path().join(".stderr"));

    let bin_dir = fairdraw().parent().expect("binary directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_owned()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail"])
        .arg(&script_path)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("run bash");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bash") {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    let report = format!("--- script\n{script}--- stdout\n{stdout}--- stderr\n{stderr}");
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
