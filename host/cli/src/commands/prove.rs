//! `fairdraw prove`: an entrant's tickets and inclusion proof.

use std::path::PathBuf;

use anyhow::{Context, Result};
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::{eligible_leaf_hash, tally};
use fairdraw_engine::merkle::{inclusion_proof, verify_inclusion};
use fairdraw_engine::rules::normalize_handle;

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
    let lock = &bundle.lock.payload;
    let wanted = normalize_handle(&args.entrant).into_owned();
    let is_entrant = |e: &fairdraw_engine::entry::Entry<'_>| {
        normalize_handle(&e.handle) == wanted || e.user_id == args.entrant
    };
    let t = tally(&lock.rules, &bundle.collections, Some(&is_entrant))?;
    let collection = lock.rules.primary_collection();
    if t.watched.is_empty() {
        eprintln!(
            "no entry from {:?} in collection `{collection}`",
            args.entrant
        );
        return Ok(exit::NO_ENTRY);
    }
    let leaves: Vec<_> = t
        .evaluation
        .eligible
        .iter()
        .map(eligible_leaf_hash)
        .collect();
    let counted = t.watched.iter().find(|w| w.exclusion.is_none());
    let Some(counted) = counted else {
        let reasons: Vec<serde_json::Value> = t
            .watched
            .iter()
            .map(|w| serde_json::json!({"entry": w.index, "rule": w.exclusion.as_ref().map(|x| x.rule()), "reason": w.exclusion.as_ref().map(|x| x.to_string())}))
            .collect();
        if args.json {
            outln!(
                "{}",
                serde_json::json!({"entrant": args.entrant, "eligible": false, "excluded": reasons})
            );
        } else {
            outln!("{} is not in the draw:", args.entrant);
            for w in &t.watched {
                if let Some(x) = &w.exclusion {
                    outln!("  entry {} excluded by rule `{}`: {x}", w.index, x.rule());
                }
            }
        }
        return Ok(exit::EXCLUDED);
    };
    let (leaf_index, eligible) = t
        .evaluation
        .eligible
        .iter()
        .enumerate()
        .find(|(_, e)| e.platform == counted.entry.platform && e.user_id == counted.entry.user_id)
        .context("the entrant's counted entry has no leaf")?;
    let proof = inclusion_proof(&leaves, leaf_index as u64)?;
    let leaf = leaves[leaf_index];
    let included = verify_inclusion(&leaf, &proof, &lock.merkle_root);
    let won = bundle.execution.as_ref().and_then(|x| {
        let p = &x.payload;
        p.winners
            .iter()
            .position(|w| w.leaf_index == leaf_index as u64)
            .map(|i| format!("winner {}", i + 1))
            .or_else(|| {
                p.alternates
                    .iter()
                    .position(|w| w.leaf_index == leaf_index as u64)
                    .map(|i| format!("alternate {}", i + 1))
            })
    });
    if args.json {
        outln!(
            "{}",
            serde_json::json!({
                "entrant": args.entrant, "eligible": true, "handle": eligible.handle, "user_id": eligible.user_id,
                "tickets": eligible.tickets, "leaf_hash": leaf, "proof": proof, "merkle_root": lock.merkle_root,
                "proof_verifies": included, "result": won,
            })
        );
    } else {
        outln!(
            "{} ({} on {}) is in the draw with {} ticket(s)",
            eligible.handle,
            eligible.user_id,
            eligible.platform,
            eligible.tickets
        );
        outln!(
            "  leaf {} of {}: {}",
            proof.leaf_index,
            proof.tree_size,
            leaf
        );
        for (i, h) in proof.path.iter().enumerate() {
            outln!("  path[{i}]: {h}");
        }
        outln!(
            "  Merkle root {}: {}",
            lock.merkle_root,
            if included {
                "proof verifies"
            } else {
                "PROOF DOES NOT VERIFY"
            }
        );
        for w in t.watched.iter().filter(|w| w.exclusion.is_some()) {
            if let Some(x) = &w.exclusion {
                outln!(
                    "  (entry {} did not count: rule `{}`: {x})",
                    w.index,
                    x.rule()
                );
            }
        }
        if let Some(won) = &won {
            outln!("  Result: {won}");
        }
    }
    if !included {
        anyhow::bail!("the inclusion proof does not verify against the lock's Merkle root");
    }
    Ok(0)
}
