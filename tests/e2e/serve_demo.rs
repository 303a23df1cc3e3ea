//! `fairdraw serve --dev --demo`, as `make run` starts it: the real binary on
//! a fresh SQLite data directory and port 0. The test reads the printed
//! address and URLs, fetches the printed bundle URL and verifies it with the
//! engine (pinned to the key in the printed keys document and the printed
//! lock hash), stops the server with SIGTERM and checks a clean exit, then
//! starts it again and finds the same demo draw.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fairdraw_engine::encoding::{Hash32, parse_hex_exact};
use fairdraw_engine::verify::{Expectations, verify_bundle};
use serde_json::Value;

use crate::bin::fairdraw;

/// What a start printed.
struct Started {
    child: Child,
    lines: Vec<String>,
}

impl Started {
    /// The value after `label` on the first line that has it.
    fn after(&self, label: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .map(|v| v.split_whitespace().next().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no `{label}` line in:\n{}", self.lines.join("\n")))
    }
}

/// Starts the server and reads its stdout up to the last demo line (the
/// `Try:` hint), within a minute.
fn start(data_dir: &Path) -> Started {
    let mut child = Command::new(fairdraw())
        .args([
            "serve",
            "--dev",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("FAIRDRAW_MASTER_KEY")
        .env_remove("DATABASE_URL")
        .env_remove("FAIRDRAW_LISTEN")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fairdraw serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.starts_with("Try:");
                lines.push(line);
                if done {
                    break;
                }
            }
            Err(e) => {
                let _ = child.kill();
                panic!(
                    "fairdraw serve printed no demo ({e}):\n{}",
                    lines.join("\n")
                );
            }
        }
    }
    Started { child, lines }
}

/// A plain HTTP/1.1 GET; returns the status and the body.
fn get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    (status, raw[split + 4..].to_vec())
}

/// SIGTERM, then the exit status within 30 s.
fn terminate(mut child: Child) -> ExitStatus {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fairdraw serve did not exit within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_demo_prints_urls_whose_bundle_verifies_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let first = start(&data);
    let text = first.lines.join("\n");
    let base = first.after("fairdraw serve listening on ");
    assert!(base.starts_with("http://127.0.0.1:"), "{text}");
    assert!(!base.ends_with(":0"), "the real port is printed: {text}");
    assert!(first.after("API key:").starts_with("fdk_"), "{text}");
    let lock_hash = first.after("Lock hash:");
    let draw = first.after("Demo draw:");
    let bundle_url = first.after("bundle:");
    let keys_url = first.after("keys:");
    assert_eq!(bundle_url, format!("{base}/v1/public/draws/{draw}/bundle"));

    // Every printed URL answers 200.
    for label in ["summary:", "lock receipt:", "bundle:", "entrant:", "keys:"] {
        let url = first.after(label);
        let (status, body) = get(&url);
        assert_eq!(
            status,
            200,
            "{label} {url}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (_, summary) = get(&first.after("summary:"));
    let summary: Value = serde_json::from_slice(&summary).expect("summary JSON");
    assert_eq!(summary["state"], "executed");
    assert!(
        summary["rules_in_words"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
    );

    // The printed bundle verifies, pinned to the published key and lock hash.
    let (_, keys) = get(&keys_url);
    let keys: Value = serde_json::from_slice(&keys).expect("keys JSON");
    let key = keys["keys"][0]["public_key"]
        .as_str()
        .expect("a published key");
    let (_, bundle) = get(&bundle_url);
    let report = verify_bundle(
        &bundle,
        &Expectations {
            public_key: Some(parse_hex_exact::<32>(key).expect("key hex")),
            lock_hash: Some(Hash32::from_hex(&lock_hash).expect("lock hash")),
            policy: None,
        },
    );
    assert!(report.verified(), "{:?}", report.first_failure());

    let status = terminate(first.child);
    assert!(status.success(), "exit after SIGTERM: {status}");

    // A restart finds the same draw and prints a fresh key.
    let second = start(&data);
    assert_eq!(second.after("Demo draw:"), draw);
    assert_eq!(second.after("Lock hash:"), lock_hash);
    assert!(
        second.lines.join("\n").contains("from an earlier start"),
        "{}",
        second.lines.join("\n")
    );
    let status = terminate(second.child);
    assert!(status.success(), "exit after SIGTERM: {status}");
}
