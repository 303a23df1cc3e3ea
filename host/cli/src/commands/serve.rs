//! `fairdraw serve`: the hosted API (a thin wrapper over `fairdraw-server`).

use anyhow::{Context, Result};

/// Serve the fairdraw HTTP API.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    config: fairdraw_server::Config,
}

pub fn run(args: Args) -> Result<u8> {
    fairdraw_server::init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(fairdraw_server::serve(args.config))?;
    Ok(0)
}
