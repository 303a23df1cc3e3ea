//! `fairdraw admin`: an organisation made on the embedded SQLite database,
//! its quotas set, shown and cleared with `set-quota`; bad values and an
//! unknown organisation are bad input.

use std::process::{Command, Output};

use crate::support::BIN;

fn admin(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["admin", "--dev", "--data-dir"])
        .arg(dir)
        .args(args)
        .env_remove("FAIRDRAW_MASTER_KEY")
        .env_remove("FAIRDRAW_DATA_DIR")
        .env_remove("DATABASE_URL")
        .output()
        .expect("fairdraw admin runs")
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn set_quota_sets_shows_and_clears_quotas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let made = admin(dir.path(), &["create-org", "--name", "ACME"]);
    assert!(made.status.success(), "{}", out(&made));
    let org = out(&made)
        .lines()
        .find_map(|l| l.strip_prefix("Organisation: "))
        .and_then(|r| r.split_whitespace().next())
        .expect("the organisation id")
        .to_owned();

    let set = admin(
        dir.path(),
        &["set-quota", &org, "--draws", "2", "--entries", "1000"],
    );
    assert!(set.status.success(), "{}", out(&set));
    let text = out(&set);
    assert!(text.contains("draws       0 of 2"), "{text}");
    assert!(text.contains("entries     0 of 1000"), "{text}");
    assert!(text.contains("executions  0 (no quota)"), "{text}");

    // Quotas not named stay; `none` clears one.
    let cleared = admin(dir.path(), &["set-quota", &org, "--draws", "none"]);
    let text = out(&cleared);
    assert!(cleared.status.success(), "{text}");
    assert!(text.contains("draws       0 (no quota)"), "{text}");
    assert!(text.contains("entries     0 of 1000"), "{text}");

    let negative = admin(dir.path(), &["set-quota", &org, "--draws", "-1"]);
    assert_eq!(negative.status.code(), Some(2), "{}", out(&negative));
    let unknown = admin(dir.path(), &["set-quota", "org_nobody", "--draws", "1"]);
    assert_ne!(unknown.status.code(), Some(0));
    assert!(out(&unknown).contains("not found"), "{}", out(&unknown));
}
