//! Regression tests for bugs this suite found, named after what broke.

use std::process::{Command, Stdio};

use crate::support::{BIN, Scratch};

/// `fairdraw verify --json bundle.json | head -1` must not panic when the
/// reader goes away: `println!` panics on EPIPE ("failed printing to stdout:
/// Broken pipe"). Every command prints with `println!`, so all are affected.
#[test]
fn closed_stdout_pipe_does_not_panic() {
    let s = Scratch::new();
    s.demo_bundle();
    for args in [
        &["verify", "bundle.json", "--json"][..],
        &["verify", "bundle.json"][..],
        &["prove", "bundle.json", "--entrant", "@alice"][..],
        &[
            "rfc3797", "--pool", "25", "--select", "10", "--source", "9319",
        ][..],
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new(BIN)
            .args(args)
            .current_dir(s.path(""))
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("spawn fairdraw");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "fairdraw {args:?} panicked on a closed pipe:\n{stderr}"
        );
        assert_ne!(out.status.code(), Some(101), "fairdraw {args:?}: {stderr}");
    }
}

/// A quoted CSV field may span lines; the error must name the line the bad
/// record is on (4 here), not `row + 2` (3).
#[test]
fn csv_line_numbers_count_multiline_fields() {
    let s = Scratch::new();
    s.keygen("key.json");
    s.write("one-winner.json", r#"{"winners": 1}"#);
    s.write(
        "multiline.csv",
        "platform,user_id,handle,created_at,text,followers\n\
         youtube,u1,@a,2023-01-15T00:00:00Z,\"two\nlines\",5\n\
         youtube,u2,@b,2023-01-15T00:00:00Z,ok,lots\n",
    );
    s.run(&[
        "lock",
        "--entries",
        "multiline.csv",
        "--rules",
        "one-winner.json",
        "--key",
        "key.json",
        "--randomness",
        "secret",
        "--out",
        "lock.json",
    ])
    .error(&["multiline.csv", "line 4", "followers"]);
}
