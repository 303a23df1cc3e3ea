//! `fairdraw draw`: lock and execute at once, with a committed secret alone
//! (commit-reveal, offline) or combined with a future drand round.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::execute;
use fairdraw_engine::encoding::HexBytes;
use fairdraw_engine::randomness::spec::Spec;
use fairdraw_engine::randomness::{Realised, drand};

use crate::commands::beacon::fetch_verified;
use crate::commands::execute::print_executed;
use crate::commands::lock::{Inputs, lock_inputs, print_locked};
use crate::commands::plugin::DataDir;
use crate::{files, keyfile};

/// Lock and execute in one step.
///
/// `--randomness secret` (the default) draws offline with commit-reveal:
/// the secret is generated, committed to in the lock receipt and revealed in
/// the execution receipt. The organiser knows it in between and could
/// re-lock until a favoured entrant wins, so verifiers must trust them.
/// `--randomness secret+drand:quicknet` also declares a drand round due a
/// few seconds after the lock, waits for it, fetches it through the beacon
/// plugin and seeds the draw with both: nobody, the organiser included,
/// could know the result when the draw was locked.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    inputs: Inputs,
    /// `secret` (commit-reveal) or `secret+drand:CHAIN` (a secret and a
    /// drand round, e.g. `secret+drand:quicknet`).
    #[arg(long, default_value = "secret")]
    randomness: String,
    #[command(flatten)]
    data: DataDir,
    /// The beacon plugin that fetches the drand round (`secret+drand:` only).
    #[arg(long, default_value = "drand")]
    plugin: String,
    /// Where to write the proof bundle.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<u8> {
    let spec = Spec::parse(&args.randomness).map_err(|e| anyhow::anyhow!("--{e}"))?;
    if !matches!(spec, Spec::Secret | Spec::SecretDrand { .. }) {
        bail!(
            "--randomness {}: `draw` takes `secret` or `secret+drand:CHAIN`; for drand alone or RFC 3797 use `lock` then `execute`",
            args.randomness
        );
    }
    files::ensure_absent(&args.out)?;
    let signer = keyfile::read(&args.inputs.key)?;
    lock_inputs(&args.inputs, &spec, |locked, secret| {
        print_locked(locked)?;
        let secret = secret.context("the lock produced no secret")?;
        let lock_json = locked.bundle.to_json();
        let parsed = ParsedBundle::parse(&lock_json)?;
        let lock = &locked.bundle.lock.payload;
        let (realised, executed_at) = match lock.randomness.drand_round() {
            None => {
                outln!(
                    "Note:       commit-reveal alone asks verifiers to trust you not to have re-drawn; \
                     `--randomness secret+drand:quicknet` adds a drand round nobody can foresee"
                );
                let realised = Realised::CommitReveal {
                    secret: HexBytes(secret.to_vec()),
                };
                (realised, lock.locked_at)
            }
            Some((chain, round)) => {
                let chain = drand::chain(chain).context("the lock names an unknown chain")?;
                let due = chain.round_time(round);
                wait_until(due.unix())?;
                outln!("Beacon:     fetching drand {} round {round}", chain.name);
                let (_, _, beacon) = fetch_verified(&args.data, &args.plugin, chain, Some(round))?;
                let realised = Realised::secret_drand(&secret, beacon)
                    .context("the plugin's beacon is not a drand beacon")?;
                let now = files::now_or(None)?;
                (realised, now.max(due))
            }
        };
        let bundle = execute(&parsed, realised, executed_at, &signer)?;
        files::write(&args.out, &bundle.to_json(), false)?;
        print_executed(&bundle);
        outln!("Wrote {}", args.out.display());
        Ok(())
    })?;
    Ok(0)
}

/// Sleeps until the Unix time `t` (plus a second for the relay to publish).
fn wait_until(t: i64) -> Result<()> {
    let now = files::now_or(None)?.unix();
    let wait = t + 1 - now;
    if wait > 0 {
        outln!("Waiting:    {wait} s for the drand round");
        std::thread::sleep(std::time::Duration::from_secs(wait.unsigned_abs()));
    }
    Ok(())
}
