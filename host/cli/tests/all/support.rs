//! Running the real `fairdraw` binary in a scratch directory.
//!
//! Every test gets its own [`Scratch`]: a temporary directory holding a copy
//! of the demo fixture (`tests/fixtures/giveaway/`), in which the binary runs.
//! File arguments are therefore short relative names. [`Run`] holds what a
//! command did and asserts on it; every assertion also checks that the
//! binary did not panic.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fairdraw_engine::receipt::Signer;
use serde_json::Value;

/// The binary under test, built by Cargo for this test target.
pub const BIN: &str = env!("CARGO_BIN_EXE_fairdraw");

/// The demo fixture: entries, rules and the beacon of drand default round 2634945.
pub fn giveaway_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/giveaway")
}

/// Lock time of the demo draw: 9.5 minutes before drand default round 2634945.
pub const LOCK_AT: &str = "2023-01-23T13:00:00Z";
/// Execution time of the demo draw: after round 2634945 (13:09:30Z).
pub const EXEC_AT: &str = "2023-01-23T13:10:00Z";
/// The demo's declared randomness.
pub const DEMO_ROUND: &str = "drand:default:2634945";
/// The fixture beacon file for [`DEMO_ROUND`].
pub const DEMO_BEACON: &str = "beacon-default-2634945.json";

/// A scratch directory with the demo fixture copied in.
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A fresh directory holding `comments.jsonl`, `likes.csv`, `rules.json`
    /// and `beacon-default-2634945.json`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        for f in fs::read_dir(giveaway_dir()).expect("read the giveaway fixture") {
            let f = f.expect("fixture entry");
            fs::copy(f.path(), dir.path().join(f.file_name())).expect("copy a fixture file");
        }
        Scratch { dir }
    }

    /// A path inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file into the scratch directory and returns its name.
    pub fn write<'n>(&self, name: &'n str, contents: impl AsRef<[u8]>) -> &'n str {
        fs::write(self.path(name), contents).expect("write a scratch file");
        name
    }

    /// Writes a JSON value into the scratch directory and returns its name.
    pub fn write_json<'n>(&self, name: &'n str, value: &Value) -> &'n str {
        self.write(
            name,
            serde_json::to_vec_pretty(value).expect("serialise JSON"),
        )
    }

    /// Reads a scratch file as text.
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    /// Reads a scratch file as JSON.
    pub fn json(&self, name: &str) -> Value {
        serde_json::from_str(&self.read(name)).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
    }

    /// Whether a scratch file exists.
    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// Runs `fairdraw ARGS...` in the scratch directory.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = Command::new(BIN)
            .args(args)
            .current_dir(self.dir.path())
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .output()
            .expect("spawn the fairdraw binary");
        Run::new(args, output)
    }

    /// `fairdraw keygen --out NAME`; returns the key's public key hex.
    pub fn keygen(&self, name: &str) -> String {
        self.run(&["keygen", "--out", name]).success();
        self.json(name)["public_key"]
            .as_str()
            .expect("public_key is a string")
            .to_owned()
    }

    /// Locks the demo entries and rules with `randomness` at `at`, draw id `demo`.
    pub fn lock_demo(&self, key: &str, randomness: &str, at: &str, out: &str) -> Run {
        self.run(&[
            "lock",
            "--entries",
            "comments.jsonl",
            "likes.csv",
            "--rules",
            "rules.json",
            "--key",
            key,
            "--randomness",
            randomness,
            "--at",
            at,
            "--id",
            "demo",
            "--title",
            "Demo giveaway",
            "--out",
            out,
        ])
    }

    /// The demo draw end to end: key `key.json`, lock `lock.json`, bundle
    /// `bundle.json`, declared drand default round 2634945 and the fixture
    /// beacon. Returns the public key hex.
    pub fn demo_bundle(&self) -> String {
        let public = self.keygen("key.json");
        self.lock_demo("key.json", DEMO_ROUND, LOCK_AT, "lock.json")
            .success();
        self.run(&[
            "execute",
            "lock.json",
            "--key",
            "key.json",
            "--beacon",
            DEMO_BEACON,
            "--out",
            "bundle.json",
            "--at",
            EXEC_AT,
        ])
        .success();
        public
    }

    /// Writes the real beacon of `chain` round `round` (from the engine's
    /// test vectors) as a relay v1 response and returns the file name.
    pub fn beacon(&self, chain: &str, round: u64) -> String {
        let name = format!("beacon-{chain}-{round}.json");
        self.write_json(&name, &beacon(chain, round));
        name
    }

    /// The signer of a key file written by `fairdraw keygen`.
    pub fn signer(&self, key: &str) -> Signer {
        let secret = self.json(key)["secret_key"]
            .as_str()
            .expect("secret_key")
            .to_owned();
        let bytes: [u8; 32] = hex::decode(secret)
            .expect("hex secret")
            .try_into()
            .expect("32 bytes");
        Signer::from_secret(bytes)
    }
}

/// A real League of Entropy beacon from `engine/tests/vectors/drand_beacons.json`,
/// as a relay would return it (source notes and null fields dropped).
pub fn beacon(chain: &str, round: u64) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../engine/tests/vectors/drand_beacons.json");
    let vectors: Value = serde_json::from_slice(&fs::read(&path).expect("read the drand vectors"))
        .expect("vectors are JSON");
    let found = vectors["chains"][chain]["beacons"]
        .as_array()
        .expect("beacons array")
        .iter()
        .find(|b| b["round"] == round)
        .unwrap_or_else(|| panic!("no {chain} beacon for round {round} in the vectors"));
    let fields = found
        .as_object()
        .expect("beacon object")
        .iter()
        .filter(|(k, v)| !k.starts_with('_') && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(fields)
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The command line, for failure messages.
    pub command: String,
    /// Exit code (`-1` if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn new(args: &[&str], output: Output) -> Self {
        let run = Run {
            command: format!("fairdraw {}", args.join(" ")),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            !run.stderr.contains("panicked"),
            "{} panicked:\n{}",
            run.command,
            run.stderr
        );
        run
    }

    fn context(&self) -> String {
        format!(
            "`{}` exited {}\n--- stdout\n{}--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts exit code 0.
    pub fn success(self) -> Self {
        self.code(0)
    }

    /// Asserts the exit code.
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "{}", self.context());
        self
    }

    /// Asserts a bad-input failure: exit 2 and exactly one stderr line
    /// `error: ...` that contains every one of `needles`.
    pub fn error(self, needles: &[&str]) -> Self {
        let run = self.code(2);
        let line = run.error_line();
        for needle in needles {
            assert!(
                line.contains(needle),
                "the error should mention {needle:?}\n{}",
                run.context()
            );
        }
        run
    }

    /// The one `error: ...` line on stderr.
    pub fn error_line(&self) -> &str {
        let stderr = self.stderr.trim_end();
        assert_eq!(
            stderr.lines().count(),
            1,
            "stderr should be one line\n{}",
            self.context()
        );
        assert!(
            stderr.starts_with("error: "),
            "stderr should start with `error: `\n{}",
            self.context()
        );
        stderr
    }

    /// Asserts `verify` failed (exit 1), first at `step`.
    pub fn not_verified_at(self, step: &str) -> Self {
        let run = self.code(1);
        assert_eq!(
            run.stderr.trim_end(),
            format!("NOT VERIFIED: failed at step `{step}`"),
            "{}",
            run.context()
        );
        run
    }

    /// Asserts `verify` passed every step.
    pub fn verified(self) -> Self {
        let run = self.success();
        assert!(
            run.stdout.contains("VERIFIED: every step holds"),
            "{}",
            run.context()
        );
        assert!(!run.stdout.contains("[FAIL]"), "{}", run.context());
        run
    }

    /// Asserts that the text report marks `step` as skipped.
    pub fn step_skipped(self, step: &str) -> Self {
        let marked = self.stdout.lines().any(|l| {
            l.trim_start()
                .strip_prefix("[skip]")
                .is_some_and(|rest| rest.split_whitespace().next() == Some(step))
        });
        assert!(
            marked,
            "step `{step}` should be marked skip\n{}",
            self.context()
        );
        self
    }

    /// Asserts that the text report marks `step` as failed.
    pub fn step_failed(self, step: &str) -> Self {
        let marked = self.stdout.lines().any(|l| {
            l.trim_start()
                .strip_prefix("[FAIL]")
                .is_some_and(|rest| rest.split_whitespace().next() == Some(step))
        });
        assert!(
            marked,
            "step `{step}` should be marked FAIL\n{}",
            self.context()
        );
        self
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.context()))
    }
}

/// A child process, killed and reaped when dropped.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `fairdraw serve --dev --demo` on the embedded SQLite database.
pub struct DemoServer {
    /// The process, held so that dropping the server kills it.
    _process: Proc,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The demo organisation's admin API key, as printed.
    pub api_key: String,
    /// The demo draw's id, as printed.
    pub draw: String,
}

/// Starts `fairdraw serve --dev --demo` with its data in `data_dir`, the log
/// origin `fairdraw.test/log` and `envs`, and waits for the demo's API key
/// and draw id on its stdout. The stdout is drained for the server's whole
/// life: a closed pipe would make its next line kill it.
pub fn serve_demo(data_dir: &Path, envs: &[(&str, &str)]) -> DemoServer {
    use std::io::{BufRead, BufReader};
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "--dev", "--demo", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("FAIRDRAW_DATA_DIR", data_dir)
        .env("FAIRDRAW_LOG_ORIGIN", "fairdraw.test/log")
        .envs(envs.iter().copied())
        .env_remove("FAIRDRAW_MASTER_KEY")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("stdout");
    let proc = Proc(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            for label in ["API key:", "Demo draw:"] {
                if let Some(rest) = line.strip_prefix(label) {
                    let value = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send((label, value));
                }
            }
        }
    });
    let (mut api_key, mut draw) = (None, None);
    while api_key.is_none() || draw.is_none() {
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(("API key:", v)) => api_key = Some(v),
            Ok((_, v)) => draw = Some(v),
            Err(e) => panic!("the demo server printed no API key and draw id: {e}"),
        }
    }
    DemoServer {
        _process: proc,
        base: format!("http://127.0.0.1:{port}"),
        api_key: api_key.unwrap_or_default(),
        draw: draw.unwrap_or_default(),
    }
}
