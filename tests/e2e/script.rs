//! Shell scripts taken from Markdown docs, run as a reader would run them.

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::bin::fairdraw;

/// A fenced code block of a Markdown file.
#[derive(Debug)]
pub struct Block<'a> {
    /// The info string after the opening fence, e.g. `sh` or `rust,ignore`.
    pub info: &'a str,
    /// The lines inside the fences, each ending in `\n`.
    pub body: String,
    /// The prose between the previous block (or the start) and this one.
    pub before: String,
    /// The 1-based line of the opening fence.
    pub line: usize,
    /// Whether a closing fence was found.
    pub closed: bool,
}

/// Every fenced (```) block of `markdown`, in order.
pub fn fenced_blocks(markdown: &str) -> Vec<Block<'_>> {
    let mut blocks = Vec::new();
    let mut before = String::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            before.push_str(line);
            before.push('\n');
            continue;
        };
        let mut body = String::new();
        let mut closed = false;
        for (_, l) in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                closed = true;
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        blocks.push(Block {
            info: info.trim(),
            body,
            before: std::mem::take(&mut before),
            line: n + 1,
            closed,
        });
    }
    blocks
}

/// How a script ended.
#[derive(Debug)]
pub struct Outcome {
    /// `None` when it ran past its time limit and was killed.
    pub status: Option<ExitStatus>,
    /// The script, its stdout and its stderr, for failure messages.
    pub report: String,
    /// Its standard error.
    pub stderr: String,
}

/// Runs `script` with `bash -euo pipefail` in `dir`, with the `fairdraw`
/// binary first on `PATH`, no standard input, `env` added, and `timeout`.
pub fn run_bash(dir: &Path, script: &str, env: &[(&str, OsString)], timeout: Duration) -> Outcome {
    let script_path = dir.join(".script.sh");
    fs::write(&script_path, script).expect("write the script");
    let (stdout_path, stderr_path) = (dir.join(".stdout"), dir.join(".stderr"));
    let bin_dir = fairdraw().parent().expect("binary directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_owned()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail"])
        .arg(&script_path)
        .current_dir(dir)
        .env("PATH", path)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(fs::File::create(&stderr_path).expect("stderr file"));
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("run bash");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bash") {
            break Some(status);
        }
        if started.elapsed() > timeout {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    Outcome {
        status,
        report: format!("--- script\n{script}--- stdout\n{stdout}--- stderr\n{stderr}"),
        stderr,
    }
}
