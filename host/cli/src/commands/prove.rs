//! `fairdraw prove`: an entrant's tickets and inclusion proof.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::check_lock;
use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::prove::{EntrantProof, prove_entrant};
use fairdraw_engine::text::escape_for_display as esc;
use fairdraw_engine::verify::{Expectations, verify_bundle};

use crate::commands::verify::parse_public_key;
use crate::{exit, files};

/// Show an entrant's tickets and Merkle inclusion proof, or why they were excluded.
///
/// The bundle is verified first (signatures, collection hashes, rules,
/// randomness and winners; a lock file: its signature and commitments) and
/// refused if it fails. Exits 0 when the entrant is in the draw, 1 when the
/// bundle does not verify, 3 when the rules excluded every entry of theirs,
/// 4 when there is no entry from them, 5 when several accounts match.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The proof bundle (or lock file).
    bundle: PathBuf,
    /// The entrant: `platform:user_id` (exactly one account), or a handle
    /// (with or without `@`) or user id that only one account has.
    #[arg(long)]
    entrant: String,
    /// The organiser's published public key (64 hex characters).
    #[arg(long)]
    key: Option<String>,
    /// The lock hash the organiser published before the randomness existed.
    #[arg(long)]
    lock_hash: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Checks the bundle before anything it says is believed: a full
/// verification for an executed bundle, the lock's signature and
/// commitments for a lock file. Returns the caveats to print.
fn check_bundle(bytes: &[u8], bundle: &ParsedBundle<'_>, args: &Args) -> Result<Vec<String>> {
    let expect = Expectations {
        public_key: args
            .key
            .as_deref()
            .map(|k| parse_public_key(k, bytes))
            .transpose()?,
        lock_hash: args
            .lock_hash
            .as_deref()
            .map(Hash32::from_hex)
            .transpose()
            .context("--lock-hash")?,
        policy: None,
    };
    if bundle.execution.is_some() {
        let report = verify_bundle(bytes, &expect);
        if let Some(f) = report.first_failure().filter(|_| !report.verified()) {
            bail!(
                "the bundle does not verify (step `{}`: {}); run `fairdraw verify` for the full report",
                f.step,
                esc(&f.detail)
            );
        }
        return Ok(report.warnings);
    }
    check_lock(bundle).context("the lock file does not check out")?;
    if let Some(key) = expect.public_key
        && key.as_slice() != bundle.lock.public_key.0.as_slice()
    {
        bail!(
            "the lock file is signed by key {}, not by the expected key",
            bundle.lock.key_id
        );
    }
    let lock_hash = bundle.lock.hash()?;
    if let Some(published) = expect.lock_hash.filter(|h| *h != lock_hash) {
        bail!("the lock hashes to {lock_hash}, not to the published lock hash {published}");
    }
    let mut warnings = Vec::new();
    if expect.public_key.is_none() {
        warnings
            .push("no --key given: the lock is signed, but by a key anyone could have made".into());
    }
    if expect.lock_hash.is_none() {
        warnings.push("no --lock-hash given: cannot tell when the draw was locked".into());
    }
    Ok(warnings)
}

pub fn run(args: Args) -> Result<u8> {
    let bytes = files::read(&args.bundle)?;
    let bundle = ParsedBundle::parse(&bytes)
        .with_context(|| format!("{} is not a fairdraw bundle", args.bundle.display()))?;
    let warnings = match check_bundle(&bytes, &bundle, &args) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(exit::NOT_VERIFIED);
        }
    };
    let proof = prove_entrant(&bundle, &args.entrant)?;
    if args.json {
        outln!("{}", serde_json::to_string(&proof)?);
    }
    for w in &warnings {
        eprintln!("warning: {}", esc(w));
    }
    let entrant = esc(&args.entrant);
    match &proof {
        EntrantProof::NoEntry { collection, .. } => {
            eprintln!(
                "no entry from {entrant:?} in collection `{}`",
                esc(collection)
            );
            Ok(exit::NO_ENTRY)
        }
        EntrantProof::Ambiguous { accounts, .. } => {
            eprintln!(
                "{entrant:?} matches {} accounts; name one as --entrant platform:user_id:",
                accounts.len()
            );
            for a in accounts {
                eprintln!(
                    "  {}:{} ({})",
                    esc(&a.platform),
                    esc(&a.user_id),
                    esc(&a.handle)
                );
            }
            Ok(exit::AMBIGUOUS)
        }
        EntrantProof::Excluded { excluded, .. } => {
            if !args.json {
                outln!("{entrant} is not in the draw:");
                for x in excluded {
                    outln!(
                        "  entry {} excluded by rule `{}`: {}",
                        x.entry,
                        x.rule,
                        esc(&x.reason)
                    );
                }
            }
            Ok(exit::EXCLUDED)
        }
        EntrantProof::Eligible(p) => {
            if !args.json {
                outln!(
                    "{} ({} on {}) is in the draw with {} ticket(s)",
                    esc(&p.handle),
                    esc(&p.user_id),
                    esc(&p.platform),
                    p.tickets
                );
                outln!(
                    "  leaf {} of {}: {}",
                    p.proof.leaf_index,
                    p.proof.tree_size,
                    p.leaf_hash
                );
                for (i, h) in p.proof.path.iter().enumerate() {
                    outln!("  path[{i}]: {h}");
                }
                outln!(
                    "  Merkle root {}: {}",
                    p.merkle_root,
                    if p.proof_verifies {
                        "proof verifies"
                    } else {
                        "PROOF DOES NOT VERIFY"
                    }
                );
                for x in &p.not_counted {
                    outln!(
                        "  (entry {} did not count: rule `{}`: {})",
                        x.entry,
                        x.rule,
                        esc(&x.reason)
                    );
                }
                if let Some(won) = &p.result {
                    outln!("  Result: {won}");
                }
            }
            if !p.proof_verifies {
                anyhow::bail!("the inclusion proof does not verify against the lock's Merkle root");
            }
            Ok(0)
        }
    }
}
