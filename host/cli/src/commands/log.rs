//! `fairdraw log monitor`: reads a fairdraw transparency log over HTTP
//! (C2SP tlog-tiles), checks it against what it saw last time and lists
//! every organisation key's draws and the findings that mean a hidden
//! draw (a draw locked twice, an execution without its lock).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::log::entry::LogEntry;
use fairdraw_engine::log::monitor::{
    Finding, TILE_WIDTH, analyse, entry_bundle_path, entry_bundle_width, parse_entry_bundle,
};
use fairdraw_engine::log::{Note, VerifierKey, checkpoint::verify_checkpoint};
use fairdraw_engine::merkle;
use serde::{Deserialize, Serialize};

use crate::commands::verify::read_source;
use crate::{exit, files};

/// Read and check a transparency log.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(clap::Subcommand, Debug)]
enum LogCommand {
    /// Fetch the log's checkpoint and every entry, check they match and that
    /// the log only grew since the last run, and list per signing key the
    /// draws and the findings (a draw locked twice, a gap in a key's draw
    /// sequence numbers, an execution without a logged lock). Exits 1 on a
    /// finding, so it can run from cron or CI.
    Monitor(MonitorArgs),
}

#[derive(clap::Args, Debug)]
struct MonitorArgs {
    /// The server's base URL (the log is under `/log/`), e.g.
    /// `https://draws.example.com`.
    url: String,
    /// Where to keep what was seen (log key, size, root) between runs.
    #[arg(long, default_value = "fairdraw-log-monitor.json")]
    state: PathBuf,
    /// The log's verifier key. Without it, the key pinned in the state file;
    /// on a first run without either, the key the log serves at `/log/key`
    /// (trusted on first use, and said so).
    #[arg(long, value_name = "VKEY")]
    log_key: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// What the monitor keeps between runs.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    log_key: String,
    size: u64,
    root: Hash32,
}

pub fn run(args: Args) -> Result<u8> {
    match args.command {
        LogCommand::Monitor(a) => monitor(a),
    }
}

fn monitor(args: MonitorArgs) -> Result<u8> {
    let base = args.url.trim_end_matches('/');
    let previous: Option<State> = if args.state.exists() {
        Some(
            serde_json::from_slice(&files::read(&args.state)?)
                .with_context(|| format!("--state {}", args.state.display()))?,
        )
    } else {
        None
    };
    let (vkey, pinned_now) = match (&args.log_key, &previous) {
        (Some(k), _) => (k.clone(), false),
        (None, Some(p)) => (p.log_key.clone(), false),
        (None, None) => {
            let served = read_source(&format!("{base}/log/key"))?;
            (String::from_utf8_lossy(&served).trim().to_owned(), true)
        }
    };
    let key = VerifierKey::parse(&vkey).context("the log key")?;
    let note = Note::parse(&read_source(&format!("{base}/log/checkpoint"))?)
        .context("the log's checkpoint")?;
    let checkpoint = verify_checkpoint(&note, &key).context("the log's checkpoint")?;

    let mut entries = Vec::with_capacity(usize::try_from(checkpoint.size).unwrap_or(0));
    let mut leaves = Vec::with_capacity(entries.capacity());
    for n in 0..checkpoint.size.div_ceil(TILE_WIDTH) {
        let width = entry_bundle_width(n, checkpoint.size);
        let path = entry_bundle_path(n, checkpoint.size);
        let bytes = read_source(&format!("{base}/log/{path}"))?;
        for raw in parse_entry_bundle(&bytes, width).with_context(|| path.clone())? {
            leaves.push(merkle::leaf_hash(raw));
            entries.push(
                LogEntry::parse(raw).with_context(|| format!("log entry {}", leaves.len() - 1))?,
            );
        }
    }
    let mut problems = Vec::new();
    if merkle::root(&leaves) != checkpoint.root {
        problems.push(format!(
            "the log's entries do not hash to its checkpoint's root {} (size {})",
            checkpoint.root, checkpoint.size
        ));
    }
    if let Some(p) = &previous {
        if p.log_key != vkey {
            bail!(
                "--log-key differs from the key pinned in {}; remove the state file to start over",
                args.state.display()
            );
        }
        if checkpoint.size < p.size {
            problems.push(format!(
                "the log shrank from {} to {} entries since the last run: a rollback",
                p.size, checkpoint.size
            ));
        } else if merkle::root(&leaves[..p.size as usize]) != p.root {
            problems.push(format!(
                "the first {} entries no longer hash to the root seen last run ({}): the log forked",
                p.size, p.root
            ));
        }
    }
    let report = analyse(&entries);
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "origin": checkpoint.origin,
                "size": checkpoint.size,
                "root": checkpoint.root,
                "previous_size": previous.as_ref().map(|p| p.size),
                "log_problems": problems,
                "keys": report.keys,
                "findings": report.findings,
            }))?
        );
    } else {
        if pinned_now {
            outln!(
                "Log key: {vkey} (from {base}/log/key, trusted on first use and pinned in {})",
                args.state.display()
            );
        }
        outln!(
            "Log {}: {} entries, root {}{}",
            checkpoint.origin,
            checkpoint.size,
            checkpoint.root,
            previous
                .as_ref()
                .map(|p| format!(
                    " ({} new since the last run)",
                    checkpoint.size.saturating_sub(p.size)
                ))
                .unwrap_or_default()
        );
        for (key, s) in &report.keys {
            outln!(
                "  key {key}: {} draw(s) locked, {} executed{}",
                s.locked,
                s.executed,
                if s.pending.is_empty() {
                    String::new()
                } else {
                    format!(", not executed yet: {}", s.pending.join(", "))
                }
            );
        }
        for p in &problems {
            outln!("FINDING: {p}");
        }
        for f in &report.findings {
            match f {
                Finding::LockedTwice {
                    key_id,
                    draw_id,
                    indexes,
                } => outln!(
                    "FINDING: draw {draw_id:?} of key {key_id} was locked {} times (log entries {indexes:?}): a hidden re-draw",
                    indexes.len()
                ),
                Finding::SequenceGap { key_id, missing } => outln!(
                    "FINDING: key {key_id} locked draws numbered {missing:?} that are not in the log: draws locked and hidden"
                ),
                Finding::SequenceReused {
                    key_id,
                    sequence,
                    draw_ids,
                } => outln!(
                    "FINDING: key {key_id} gave draw number {sequence} to {} draws: {draw_ids:?}",
                    draw_ids.len()
                ),
                Finding::ExecutedWithoutLoggedLock {
                    key_id,
                    draw_id,
                    index,
                } => outln!(
                    "FINDING: draw {draw_id:?} of key {key_id} was executed (log entry {index}) with no lock in the log before it"
                ),
            }
        }
    }
    // Only a log that matched its checkpoint and grew consistently moves
    // the state on; after a fork or rollback the next run compares with
    // the same, last good view.
    if problems.is_empty() {
        let state = State {
            log_key: vkey,
            size: checkpoint.size,
            root: checkpoint.root,
        };
        files::write(&args.state, &serde_json::to_vec_pretty(&state)?, false)?;
    }
    if problems.is_empty() && report.findings.is_empty() {
        if !args.json {
            outln!("OK: the log grew consistently and shows no hidden draw");
        }
        Ok(0)
    } else {
        Ok(exit::NOT_VERIFIED)
    }
}
