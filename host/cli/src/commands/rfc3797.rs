//! `fairdraw rfc3797`: the RFC 3797 selection on its own.

use anyhow::Result;
use fairdraw_engine::randomness::rfc3797;

/// Run the RFC 3797 (NomCom) selection on a pool of N positions.
///
/// Prints `{"key": "...", "selected": [...]}` with 1-based positions in the
/// order drawn.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Size of the pool (positions 1..=N).
    #[arg(long)]
    pool: u64,
    /// How many positions to select.
    #[arg(long)]
    select: u64,
    /// The value each source produced, in the order named (repeat).
    #[arg(long, required = true)]
    source: Vec<String>,
}

pub fn run(args: Args) -> Result<u8> {
    let (key, selected) = rfc3797::select(args.pool, args.select, &args.source)?;
    outln!(
        "{}",
        serde_json::json!({ "key": key, "selected": selected })
    );
    Ok(0)
}
