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
    rt.block_on(async {
        let server = fairdraw_server::prepare(&args.config).await?;
        let base = server.base_url();
        outln!("fairdraw serve listening on {base}");
        if let Some(demo) = &server.demo {
            let made = if demo.created {
                "created now"
            } else {
                "from an earlier start"
            };
            outln!("Demo organisation: {} ({})", demo.org.name, demo.org.id);
            outln!(
                "API key:           {} (scope admin; a fresh key each start, the earlier ones are revoked)",
                demo.api_key
            );
            outln!("Demo draw:         {} ({made}), executed", demo.draw_id);
            outln!("Lock hash:         {}", demo.lock_hash);
            for (label, url) in demo.urls(&base) {
                outln!("  {:<14} {url}", format!("{label}:"));
            }
            outln!(
                "Results page:      {base}/d/{}  (open it to watch the draw verify in your browser)",
                demo.draw_id
            );
            outln!(
                "Try: curl -H 'Authorization: Bearer {}' {base}/v1/draws",
                demo.api_key
            );
        }
        server.run().await?;
        anyhow::Ok(0)
    })
}
