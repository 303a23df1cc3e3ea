//! `fairdraw witness`: a C2SP tlog-witness (a thin wrapper over
//! `fairdraw-witness`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

/// Run a transparency-log witness (C2SP tlog-witness `POST /add-checkpoint`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The witness's TOML configuration: its name, key file, state file and
    /// the logs it accepts (see the README).
    #[arg(long, env = "FAIRDRAW_WITNESS_CONFIG")]
    config: PathBuf,
    /// Address to listen on.
    #[arg(
        long,
        env = "FAIRDRAW_WITNESS_LISTEN",
        default_value = "127.0.0.1:7380"
    )]
    listen: std::net::SocketAddr,
}

pub fn run(args: Args) -> Result<u8> {
    fairdraw_server::init_tracing();
    let config = fairdraw_witness::Config::load(&args.config)?;
    let witness = Arc::new(fairdraw_witness::Witness::open(&config)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let shutdown = fairdraw_server::shutdown_signal();
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        outln!("fairdraw witness listening on http://{addr}");
        outln!("verifier key: {}", witness.vkey());
        axum::serve(listener, fairdraw_witness::app(witness))
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving")?;
        Ok(0)
    })
}
