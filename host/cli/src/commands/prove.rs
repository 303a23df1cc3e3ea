//! `fairdraw prove`: an entrant's tickets and inclusion proof.

use std::path::PathBuf;

use anyhow::{Context, Result};
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::prove::{EntrantProof, prove_entrant};

use crate::{exit, files};

/// Show an entrant's tickets and Merkle inclusion proof, or why they were excluded.
///
/// Exits 0 when the entrant is in the draw, 3 when the rules excluded every
/// entry of theirs, 4 when there is no entry from them.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The proof bundle (or lock file).
    bundle: PathBuf,
    /// The entrant's handle (with or without `@`) or platform user id.
    #[arg(long)]
    entrant: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let bytes = files::read(&args.bundle)?;
    let bundle = ParsedBundle::parse(&bytes)
        .with_context(|| format!("{} is not a fairdraw bundle", args.bundle.display()))?;
    let proof = prove_entrant(&bundle, &args.entrant)?;
    if args.json {
        outln!("{}", serde_json::to_string(&proof)?);
    }
    match &proof {
        EntrantProof::NoEntry { collection, .. } => {
            eprintln!(
                "no entry from {:?} in collection `{collection}`",
                args.entrant
            );
            Ok(exit::NO_ENTRY)
        }
        EntrantProof::Excluded { excluded, .. } => {
            if !args.json {
                outln!("{} is not in the draw:", args.entrant);
                for x in excluded {
                    outln!(
                        "  entry {} excluded by rule `{}`: {}",
                        x.entry,
                        x.rule,
                        x.reason
                    );
                }
            }
            Ok(exit::EXCLUDED)
        }
        EntrantProof::Eligible(p) => {
            if !args.json {
                outln!(
                    "{} ({} on {}) is in the draw with {} ticket(s)",
                    p.handle,
                    p.user_id,
                    p.platform,
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
                        x.reason
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
