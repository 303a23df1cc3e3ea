//! `fairdraw execute`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use fairdraw_engine::bundle::{BuiltBundle, ParsedBundle};
use fairdraw_engine::draw::{earliest_execution, execute};
use fairdraw_engine::encoding::HexBytes;
use fairdraw_engine::randomness::{Declared, Realised, drand};
use fairdraw_engine::receipt::Signer;

use crate::commands::print_picks;
use crate::{files, keyfile};

/// Draw the winners of a locked draw from its randomness and write the proof bundle.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("randomness").required(true).multiple(true).args(["beacon", "secret", "source"])))]
pub struct Args {
    /// The lock file written by `fairdraw lock`.
    lock: PathBuf,
    /// The signing key that signed the lock.
    #[arg(long)]
    key: PathBuf,
    /// drand beacon: a relay response (v1 or v2 JSON) for the declared round.
    #[arg(long)]
    beacon: Option<PathBuf>,
    /// Commit-reveal: the secret file written beside the lock file.
    #[arg(long)]
    secret: Option<PathBuf>,
    /// RFC 3797: the value each named source produced, in the order named (repeat).
    #[arg(long)]
    source: Vec<String>,
    /// Where to write the proof bundle.
    #[arg(long)]
    out: PathBuf,
    /// Execution time, RFC 3339 (default: now).
    #[arg(long)]
    at: Option<String>,
}

/// Builds the realised randomness the declaration asks for.
pub fn realise(
    declared: &Declared,
    beacon: Option<&PathBuf>,
    secret: Option<&PathBuf>,
    sources: &[String],
) -> Result<Realised> {
    let read_beacon = |chain: &str, round: u64| -> Result<Realised> {
        let Some(path) = beacon else {
            bail!("this draw declared drand {chain} round {round}: pass --beacon BEACON.json");
        };
        let chain =
            drand::chain(chain).with_context(|| format!("unknown drand chain {chain:?}"))?;
        let beacon = drand::parse_relay_json(&files::read(path)?)
            .with_context(|| format!("{}", path.display()))?;
        if beacon.round != round {
            bail!(
                "{}: beacon is for round {}, but this draw declared round {round}",
                path.display(),
                beacon.round
            );
        }
        beacon
            .realise(chain)
            .with_context(|| format!("{}", path.display()))
    };
    let read_secret = || -> Result<Vec<u8>> {
        let Some(path) = secret else {
            bail!("this draw committed to a secret: pass --secret LOCK.secret");
        };
        let text = String::from_utf8(files::read(path)?)
            .with_context(|| format!("{} is not text", path.display()))?;
        fairdraw_engine::encoding::parse_hex(text.trim())
            .with_context(|| format!("{}", path.display()))
    };
    match declared {
        Declared::Drand { chain, round, .. } => read_beacon(chain, *round),
        Declared::CommitReveal { .. } => Ok(Realised::CommitReveal {
            secret: HexBytes(read_secret()?),
        }),
        Declared::SecretDrand { chain, round, .. } => {
            let secret = read_secret()?;
            Realised::secret_drand(&secret, read_beacon(chain, *round)?)
                .context("the beacon is not a drand beacon")
        }
        declared @ Declared::Rfc3797 { .. } => {
            if sources.is_empty() {
                bail!(
                    "this draw declared {}: pass each source's value, in order, with --source",
                    declared.describe()
                );
            }
            Ok(Realised::Rfc3797 {
                values: sources.to_vec(),
            })
        }
    }
}

/// Executes a parsed lock file and prints the result.
pub fn execute_locked(
    lock: &ParsedBundle<'_>,
    realised: Realised,
    at: Option<&str>,
    signer: &Signer,
) -> Result<BuiltBundle> {
    let executed_at = match at {
        Some(_) => files::now_or(at)?,
        None => {
            let now = files::now_or(None)?;
            let earliest = earliest_execution(&lock.lock.payload);
            if now < earliest {
                bail!("the randomness is not available until {earliest}; try again then");
            }
            now
        }
    };
    let bundle = execute(lock, realised, executed_at, signer)?;
    Ok(bundle)
}

pub fn run(args: Args) -> Result<u8> {
    files::ensure_absent(&args.out)?;
    let signer = keyfile::read(&args.key)?;
    let bytes = files::read(&args.lock)?;
    let lock = ParsedBundle::parse(&bytes)
        .with_context(|| format!("{} is not a fairdraw lock file", args.lock.display()))?;
    let realised = realise(
        &lock.lock.payload.randomness,
        args.beacon.as_ref(),
        args.secret.as_ref(),
        &args.source,
    )?;
    let bundle = execute_locked(&lock, realised, args.at.as_deref(), &signer)?;
    files::write(&args.out, &bundle.to_json(), false)?;
    print_executed(&bundle);
    outln!("Wrote {}", args.out.display());
    Ok(0)
}

/// Prints an executed bundle's result.
pub fn print_executed(bundle: &BuiltBundle) {
    if let Some(exec) = &bundle.execution {
        let lock = &bundle.lock.payload;
        let title = if lock.title.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                fairdraw_engine::text::escape_for_display(&lock.title)
            )
        };
        outln!(
            "Draw {}{title}: {} eligible entrants, {} tickets",
            lock.draw_id,
            lock.eligible,
            lock.total_tickets
        );
        outln!("Randomness: {}", lock.randomness.describe());
        print_picks(&exec.payload.winners, &exec.payload.alternates);
    }
}
