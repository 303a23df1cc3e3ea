//! `fairdraw draw`: lock and execute at once, with commit-reveal randomness.

use std::path::PathBuf;

use anyhow::{Context, Result};
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::execute;
use fairdraw_engine::encoding::HexBytes;
use fairdraw_engine::randomness::Realised;

use crate::commands::execute::print_executed;
use fairdraw_engine::randomness::spec::Spec;

use crate::commands::lock::{Inputs, lock_inputs, print_locked};
use crate::{files, keyfile};

/// Lock and execute in one step, with commit-reveal randomness.
///
/// The secret is generated, committed to in the lock receipt and revealed in
/// the execution receipt. The organiser knows it in between, so use drand
/// (`lock` then `execute`) for draws where the organiser must not be trusted.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    inputs: Inputs,
    /// Where to write the proof bundle.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<u8> {
    files::ensure_absent(&args.out)?;
    let signer = keyfile::read(&args.inputs.key)?;
    lock_inputs(&args.inputs, &Spec::Secret, |locked, secret| {
        print_locked(locked)?;
        let secret = secret.context("commit-reveal lock produced no secret")?;
        let lock_json = locked.bundle.to_json();
        let parsed = ParsedBundle::parse(&lock_json)?;
        let executed_at = locked.bundle.lock.payload.locked_at;
        let bundle = execute(
            &parsed,
            Realised::CommitReveal {
                secret: HexBytes(secret.to_vec()),
            },
            executed_at,
            &signer,
        )?;
        files::write(&args.out, &bundle.to_json(), false)?;
        print_executed(&bundle);
        outln!("Wrote {}", args.out.display());
        Ok(())
    })?;
    Ok(0)
}
