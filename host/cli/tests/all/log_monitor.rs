//! `fairdraw log monitor` against a real `fairdraw serve`: the demo draw's
//! log reads clean twice; a second lock entry for the same draw (what an
//! organiser who re-locks after seeing the outcome leaves in the log), a
//! gap in the organisation's draw numbers and a state file that remembers
//! another history are findings, exit 1.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::log::entry::{EntryType, LogEntry};
use fairdraw_engine::merkle::leaf_hash;

use crate::support::{BIN, serve_demo};

fn monitor(base: &str, state: &std::path::Path) -> Output {
    Command::new(BIN)
        .args(["log", "monitor", base, "--state"])
        .arg(state)
        .output()
        .expect("monitor runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn issue_14_log_monitor_reads_the_served_log_and_finds_a_hidden_redraw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = serve_demo(&data, &[]);
    let (base, demo) = (server.base.clone(), server.draw.clone());

    // Both demo receipts sequenced: the monitor sees one key, one draw.
    let state = dir.path().join("monitor.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        let o = monitor(&base, &state);
        if text(&o).contains("1 draw(s) locked, 1 executed") || Instant::now() > deadline {
            break o;
        }
        let _ = std::fs::remove_file(&state);
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("trusted on first use"),
        "{}",
        text(&first)
    );
    let again = monitor(&base, &state);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("(0 new since the last run)"),
        "{}",
        text(&again)
    );

    // A hidden re-draw: a second lock entry for the demo draw under the
    // same key, queued in the server's database as the first one was.
    let key_id = {
        let o = Command::new(BIN)
            .args([
                "verify",
                &format!("{base}/v1/public/draws/{demo}/bundle"),
                "--json",
            ])
            .output()
            .expect("verify runs");
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("report");
        Hash32::from_hex(report["key_id"].as_str().expect("key id")).expect("hex")
    };
    let relock = LogEntry {
        r#type: EntryType::Lock,
        draw_id: demo.clone(),
        key_id,
        hash: Hash32([9; 32]),
        // The demo's lock is draw 1 of its organisation; this one claims 3,
        // so draw 2 was locked and never logged.
        sequence: Some(3),
    };
    let entry = relock.to_bytes();
    let script = format!(
        "import sqlite3,sys\n\
         c=sqlite3.connect(sys.argv[1])\n\
         c.execute(\"INSERT INTO log_entries (entry, leaf_hash, draw_id, kind, created_at) VALUES (?, ?, ?, 'lock', 0)\", (bytes.fromhex('{}'), bytes.fromhex('{}'), '{demo}'))\n\
         c.commit()\n",
        hex::encode(&entry),
        leaf_hash(&entry).to_hex(),
    );
    let ok = Command::new("python3")
        .args(["-c", &script])
        .arg(data.join("fairdraw.sqlite3"))
        .status()
        .expect("python3 runs");
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let found = loop {
        let o = monitor(&base, &state);
        if !o.status.success() || Instant::now() > deadline {
            break o;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(found.status.code(), Some(1), "{}", text(&found));
    assert!(
        text(&found).contains(&format!(
            "FINDING: draw {demo:?} of key {key_id} was locked 2 times"
        )),
        "{}",
        text(&found)
    );
    assert!(
        text(&found).contains(&format!(
            "FINDING: key {key_id} locked draws numbered [2] that are not in the log"
        )),
        "{}",
        text(&found)
    );

    // A state file remembering another history of the same size: a fork.
    let mut remembered: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("json");
    remembered["root"] = serde_json::json!(Hash32([7; 32]).to_hex());
    std::fs::write(&state, remembered.to_string()).expect("state");
    let forked = monitor(&base, &state);
    assert_eq!(forked.status.code(), Some(1), "{}", text(&forked));
    assert!(
        text(&forked).contains("the log forked"),
        "{}",
        text(&forked)
    );
}
