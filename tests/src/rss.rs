//! The peak memory of a child process, for tests that bound it (issue 12).
//!
//! The peak resident set size of a process is known exactly only to its
//! parent, once the process has ended (`getrusage(RUSAGE_CHILDREN)`); polling
//! `/proc/PID/status` can miss a peak just before exit. Rust's standard
//! library does not expose `getrusage` and this workspace has no `unsafe`,
//! so a `python3` parent (a tool `make test` already requires) runs the
//! command and reports it. The test process's other children never count.

use std::io;
use std::process::{Command, Output};

/// The line the parent appends to stderr: `fairdraw-peak-rss-kib=N`.
const MARK: &str = "fairdraw-peak-rss-kib=";

const PARENT: &str = "\
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write('\\nfairdraw-peak-rss-kib=%d\\n' % peak)
sys.exit(code if code >= 0 else 128 - code)
";

/// What [`run`] returns: the command's output (the report line removed from
/// stderr) and its peak resident set size.
#[derive(Debug)]
pub struct Measured {
    /// Status, stdout and stderr of the command.
    pub output: Output,
    /// Its peak resident set size, in KiB (Linux `ru_maxrss`).
    pub peak_rss_kib: u64,
}

impl Measured {
    /// The peak resident set size, in MiB.
    pub fn peak_rss_mib(&self) -> u64 {
        self.peak_rss_kib / 1024
    }
}

/// Runs `cmd` (program, arguments, environment and working directory as
/// set on it; stdin is null) to completion under a `python3` parent, and
/// returns its output and peak resident set size.
///
/// Fails when `python3` cannot be run or does not report the peak.
pub fn run(cmd: &Command) -> io::Result<Measured> {
    let mut parent = Command::new("python3");
    parent
        .arg("-c")
        .arg(PARENT)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(std::process::Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => parent.env(k, v),
            None => parent.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        parent.current_dir(dir);
    }
    let mut output = parent.output().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot run python3, which measures the peak memory: {e}"),
        )
    })?;
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    let (rest, peak) = text
        .rsplit_once(MARK)
        .and_then(|(rest, n)| Some((rest, n.trim().parse::<u64>().ok()?)))
        .ok_or_else(|| io::Error::other(format!("python3 did not report the peak: {text}")))?;
    output.stderr = rest.strip_suffix('\n').unwrap_or(rest).as_bytes().to_vec();
    Ok(Measured {
        output,
        peak_rss_kib: peak,
    })
}
