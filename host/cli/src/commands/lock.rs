//! `fairdraw lock`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fairdraw_engine::draw::{LockRequest, Locked, lock};
use fairdraw_engine::randomness::Declared;
use fairdraw_engine::randomness::spec::Spec;
use fairdraw_engine::receipt::Signer;
use fairdraw_engine::rules::Rules;
use fairdraw_engine::time::Timestamp;

use crate::{entries, files, keyfile};

/// The inputs `lock` and `draw` share.
#[derive(clap::Args, Debug)]
pub struct Inputs {
    /// Entry files: JSON Lines, a JSON array or CSV with a header row.
    #[arg(long, num_args = 1.., required = true)]
    pub entries: Vec<PathBuf>,
    /// The contest rules (JSON; schema in engine/rules.schema.json).
    #[arg(long)]
    pub rules: PathBuf,
    /// The signing key written by `fairdraw keygen`.
    #[arg(long)]
    pub key: PathBuf,
    /// Human title of the draw.
    #[arg(long, default_value = "")]
    pub title: String,
    /// Draw id (default: random).
    #[arg(long)]
    pub id: Option<String>,
    /// Lock time, RFC 3339 (default: now).
    #[arg(long)]
    pub at: Option<String>,
}

/// Apply the rules to the entries, commit to the eligible list and sign the lock receipt.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub inputs: Inputs,
    /// `drand:quicknet`, `drand:default` (first round at least 60 s after the
    /// lock; `drand:CHAIN:ROUND` names one), `secret` (commit-reveal; the
    /// secret is written beside the lock file), `secret+drand:CHAIN` (both: a
    /// secret and a drand round a few seconds after the lock) or
    /// `rfc3797:"DESCRIPTION;NAME=COUNTxMIN-MAX;…"` (the public sources
    /// described, then each one's count of numbers and range, e.g.
    /// `rfc3797:"EuroMillions of 2026-12-08;main=5x1-50;stars=2x1-12"`).
    #[arg(long)]
    pub randomness: String,
    /// Where to write the lock file.
    #[arg(long)]
    pub out: PathBuf,
}

/// The declared randomness, plus the fresh secret for commit-reveal.
pub fn declare(spec: &Spec, locked_at: Timestamp) -> Result<(Declared, Option<[u8; 32]>)> {
    let secret = if spec.needs_secret() {
        Some(files::random_bytes::<32>()?)
    } else {
        None
    };
    Ok((spec.declare(locked_at, secret.as_ref())?, secret))
}

/// Reads the key, the rules and the lock time.
pub fn read_inputs(inputs: &Inputs) -> Result<(Signer, Rules, Timestamp)> {
    let signer = keyfile::read(&inputs.key)?;
    let rules_bytes = files::read(&inputs.rules)?;
    let rules =
        Rules::from_json(&rules_bytes).with_context(|| format!("{}", inputs.rules.display()))?;
    let at = files::now_or(inputs.at.as_deref())?;
    Ok((signer, rules, at))
}

/// Prints what the lock committed to.
pub fn print_locked(locked: &Locked<'_>) -> Result<()> {
    let lock = &locked.bundle.lock.payload;
    let counts: Vec<String> = lock
        .collections
        .iter()
        .map(|(n, c)| format!("{n}: {}", c.entries))
        .collect();
    let total: u64 = lock.collections.values().map(|c| c.entries).sum();
    outln!("Entries:    {total} ({})", counts.join(", "));
    let excluded: Vec<String> = locked
        .tally
        .exclusions
        .iter()
        .map(|(r, n)| format!("{r}: {n}"))
        .collect();
    outln!(
        "Eligible:   {} entrants, {} tickets{}",
        lock.eligible,
        lock.total_tickets,
        if excluded.is_empty() {
            String::new()
        } else {
            format!(" (excluded {})", excluded.join(", "))
        }
    );
    outln!("Root:       {}", lock.merkle_root);
    outln!("Protocol:   version {}", lock.protocol);
    outln!("Randomness: {}", lock.randomness.describe());
    outln!(
        "Draw:       {} winner(s), {} alternate(s); draw id {}",
        lock.winners,
        lock.alternates,
        lock.draw_id
    );
    // The same sentences the hosted API's public summary shows.
    for (i, line) in lock.rules.describe().iter().enumerate() {
        outln!("{:<12}{line}", if i == 0 { "Rules:" } else { "" });
    }
    outln!(
        "Lock hash:  {} (publish this before the randomness exists)",
        locked.bundle.lock.hash()?
    );
    Ok(())
}

/// Locks a draw from the shared inputs and a randomness spec.
pub fn lock_inputs(
    inputs: &Inputs,
    spec: &Spec,
    f: impl FnOnce(&Locked<'_>, Option<[u8; 32]>) -> Result<()>,
) -> Result<()> {
    let (signer, rules, locked_at) = read_inputs(inputs)?;
    let collections = entries::load(&inputs.entries)?;
    let (randomness, secret) = declare(spec, locked_at)?;
    let draw_id = match &inputs.id {
        Some(id) => id.clone(),
        None => format!("fd-{}", hex::encode(files::random_bytes::<8>()?)),
    };
    let request = LockRequest {
        draw_id,
        title: inputs.title.clone(),
        rules,
        collections,
        randomness,
        locked_at,
        sequence: None,
    };
    let locked = lock(&request, &signer)?;
    f(&locked, secret)
}

/// The file the commit-reveal secret is written to: `LOCK.secret` beside `LOCK.json`.
pub fn secret_path(lock_path: &Path) -> PathBuf {
    lock_path.with_extension("secret")
}

pub fn run(args: Args) -> Result<u8> {
    let spec = Spec::parse(&args.randomness).map_err(|e| anyhow::anyhow!("--{e}"))?;
    files::ensure_absent(&args.out)?;
    lock_inputs(&args.inputs, &spec, |locked, secret| {
        if let Some(secret) = secret {
            let path = secret_path(&args.out);
            files::ensure_absent(&path)?;
            files::write(&path, format!("{}\n", hex::encode(secret)).as_bytes(), true)?;
            outln!(
                "Secret:     written to {} (mode 0600; reveal it with `fairdraw execute --secret`)",
                path.display()
            );
        }
        files::write(&args.out, &locked.bundle.to_json(), false)?;
        print_locked(locked)?;
        if matches!(spec, Spec::Secret) {
            outln!(
                "Note:       commit-reveal alone asks verifiers to trust you not to have re-drawn; \
                 `--randomness secret+drand:quicknet` adds a drand round nobody can foresee"
            );
        }
        outln!("Wrote {}", args.out.display());
        Ok(())
    })?;
    Ok(0)
}
