//! `fairdraw verify`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use fairdraw_engine::encoding::{Hash32, parse_hex_exact};
use fairdraw_engine::verify::{Expectations, Status, verify_bundle};

use crate::commands::print_picks;
use crate::{exit, files};

/// Re-do every step of a proof bundle and report each one.
///
/// Exits 0 only when every step holds; otherwise exits 1 and names the
/// first step that failed.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The proof bundle.
    bundle: PathBuf,
    /// The organiser's published public key (64 hex characters).
    #[arg(long)]
    key: Option<String>,
    /// The lock hash the organiser published before the randomness existed.
    #[arg(long)]
    lock_hash: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let expect = Expectations {
        public_key: args
            .key
            .as_deref()
            .map(parse_hex_exact::<32>)
            .transpose()
            .context("--key")?,
        lock_hash: args
            .lock_hash
            .as_deref()
            .map(Hash32::from_hex)
            .transpose()
            .context("--lock-hash")?,
    };
    let bytes = files::read(&args.bundle)?;
    let report = verify_bundle(&bytes, &expect);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match (&report.draw_id, report.title.as_deref()) {
            (Some(id), Some("") | None) => outln!("Draw {id}"),
            (Some(id), Some(title)) => outln!("Draw {id}: {title}"),
            _ => {}
        }
        for s in &report.steps {
            let mark = match s.status {
                Status::Passed => "ok  ",
                Status::Failed => "FAIL",
                Status::Skipped => "skip",
            };
            outln!("  [{mark}] {:<20} {}", s.step.name(), s.detail);
        }
        if report.verified() {
            print_picks(&report.winners, &report.alternates);
        }
    }
    match report.first_failure() {
        None if report.verified() => {
            if !args.json {
                outln!("VERIFIED: every step holds");
            }
            Ok(0)
        }
        failure => {
            let step = failure.map(|f| f.step.name()).unwrap_or("bundle");
            eprintln!("NOT VERIFIED: failed at step `{step}`");
            Ok(exit::NOT_VERIFIED)
        }
    }
}
