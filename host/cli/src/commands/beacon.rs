//! `fairdraw beacon`: fetch a drand round through a beacon plugin, verify it
//! with the engine, and write it as relay v1 JSON for `fairdraw execute --beacon`.
//!
//! The plugin only carries bytes: the engine checks the BLS signature
//! against the chain's built-in public key before anything is written, so a
//! plugin (or a relay behind it) that lies is refused here, not at execution.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use fairdraw_engine::encoding::parse_hex;
use fairdraw_engine::randomness::{Realised, drand};
use serde::Serialize;

use crate::commands::plugin::DataDir;
use crate::files;

/// Fetch a drand beacon through a plugin, verify it and write it for `execute`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    data: DataDir,
    /// The beacon plugin.
    #[arg(long, default_value = "drand")]
    plugin: String,
    /// The drand chain: quicknet or default.
    #[arg(long, default_value = "quicknet")]
    chain: String,
    /// The round (default: the latest).
    #[arg(long)]
    round: Option<u64>,
    /// Where to write the beacon (relay v1 JSON).
    #[arg(long)]
    out: PathBuf,
}

/// The relay v1 shape, fields in the relay's order.
#[derive(Serialize)]
struct RelayV1<'a> {
    round: u64,
    randomness: String,
    signature: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_signature: Option<&'a str>,
}

/// Fetches `round` (or the latest) of `chain` through the beacon plugin
/// `plugin_id` and verifies it with the engine. Returns the plugin's
/// signature and previous signature (as fetched) and the verified
/// realisation; refuses anything that does not verify.
pub fn fetch_verified(
    data: &DataDir,
    plugin_id: &str,
    chain: &'static drand::Chain,
    round: Option<u64>,
) -> Result<(String, Option<String>, Realised)> {
    if round == Some(0) {
        bail!("--round must be 1 or more (drand has no round 0)");
    }
    let rt = data.runtime()?;
    let plugin = rt.beacon(plugin_id)?;
    let wanted = round.map_or_else(|| "the latest round".to_owned(), |r| format!("round {r}"));
    let got = match plugin
        .fetch(chain.name, round)
        .with_context(|| format!("plugin `{plugin_id}` failed"))?
    {
        Ok(r) => r,
        Err(e) => bail!(
            "plugin `{plugin_id}` could not fetch {wanted} of {}: {e}",
            chain.name
        ),
    };
    if got.chain != chain.name {
        bail!(
            "plugin `{plugin_id}` returned a beacon of chain {:?}, not {:?}; refused",
            got.chain,
            chain.name
        );
    }
    if let Some(r) = round
        && got.round != r
    {
        bail!(
            "plugin `{plugin_id}` returned round {}, not round {r}; refused",
            got.round
        );
    }
    // Verify with the engine, exactly as `execute` will read it.
    let refuse = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "refusing the beacon from plugin `{plugin_id}` ({} round {}): {e}; nothing written",
            chain.name,
            got.round
        )
    };
    let signature = parse_hex(&got.signature).map_err(|e| refuse(&format!("signature: {e}")))?;
    let previous = got.previous_signature.clone().filter(|p| !p.is_empty());
    let beacon = drand::Beacon {
        round: got.round,
        signature,
        previous_signature: previous
            .as_deref()
            .map(parse_hex)
            .transpose()
            .map_err(|e| refuse(&format!("previous signature: {e}")))?,
        randomness: None,
    };
    let realised = beacon.realise(chain).map_err(|e| refuse(&e))?;
    Ok((got.signature, previous, realised))
}

pub fn run(args: Args) -> Result<u8> {
    files::ensure_absent(&args.out)?;
    let Some(chain) = drand::chain(&args.chain) else {
        let known: Vec<_> = drand::chains().iter().map(|c| c.name).collect();
        bail!(
            "unknown drand chain {:?} (known: {})",
            args.chain,
            known.join(", ")
        );
    };
    let (signature, previous, realised) =
        fetch_verified(&args.data, &args.plugin, chain, args.round)?;
    let Realised::Drand {
        round, randomness, ..
    } = &realised
    else {
        bail!("internal error: a drand beacon realised as {realised:?}");
    };
    let (round, randomness) = (*round, *randomness);
    let refuse = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "refusing the beacon from plugin `{}` ({} round {round}): {e}; nothing written",
            args.plugin,
            chain.name
        )
    };
    let doc = RelayV1 {
        round,
        randomness: randomness.to_hex(),
        signature: &signature,
        previous_signature: previous.as_deref(),
    };
    let mut bytes = serde_json::to_vec(&doc).context("cannot encode the beacon")?;
    drand::parse_relay_json(&bytes)
        .and_then(|b| b.realise(chain))
        .map_err(|e| refuse(&e))?;
    bytes.push(b'\n');
    files::write(&args.out, &bytes, false)?;
    outln!(
        "drand {} round {round} (due {}): signature verified",
        chain.name,
        chain.round_time(round)
    );
    outln!("Randomness: {}", randomness.to_hex());
    outln!("Wrote {}", args.out.display());
    Ok(0)
}
