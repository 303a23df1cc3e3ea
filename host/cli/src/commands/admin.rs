//! `fairdraw admin`: operator tasks on the server's database (a thin
//! wrapper over `fairdraw-store`).

use anyhow::{Context, Result};
use fairdraw_server::config::StoreConfig;
use fairdraw_store::Store;

/// Manage organisations and keys directly in the database.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    store: StoreConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Create an organisation; prints its id and an admin API key (shown once).
    CreateOrg {
        /// The organisation's name.
        #[arg(long)]
        name: String,
    },
    /// Revoke an API key by id (`key_…`), at once on every replica.
    RevokeKey {
        /// The key id.
        key_id: String,
    },
    /// Rotate an organisation's signing key; the old key stays published.
    RotateKey {
        /// The organisation id (`org_…`).
        #[arg(long)]
        org: String,
    },
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub fn run(args: Args) -> Result<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let store = Store::open(&args.store.store_options()?)
            .await
            .context("opening the database")?;
        match args.command {
            Command::CreateOrg { name } => {
                let (org, key) = store.create_org(&name, now_ms()).await?;
                let signer = store.active_signer(&org.id).await?;
                outln!("Organisation: {} ({})", org.id, org.name);
                outln!("API key:      {} (scope admin; shown once, store it now)", key.secret);
                outln!("Key id:       {}", key.key.id);
                outln!("Signing key:  {}", signer.info().public_key);
            }
            Command::RevokeKey { key_id } => {
                let key = store.revoke_api_key(None, &key_id, now_ms()).await?;
                outln!("Revoked {} (organisation {})", key.id, key.org_id);
            }
            Command::RotateKey { org } => {
                let key = store.rotate_signing_key(&org, now_ms()).await?;
                outln!("New signing key for {org}: {} (key id {})", key.public_key, key.key_id);
                outln!("The previous key stays published in /.well-known/fairdraw-keys.json with its validity period.");
            }
        }
        store.close().await;
        anyhow::Ok(0)
    })
}
