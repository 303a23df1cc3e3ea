//! `fairdraw admin`: operator tasks on the server's database (a thin
//! wrapper over `fairdraw-store`).

use anyhow::{Context, Result};
use fairdraw_server::config::StoreConfig;
use fairdraw_store::{QuotaChange, QuotaKind, Store};

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
    /// Set or clear an organisation's quotas; prints its usage against them.
    ///
    /// Draws created, entries imported and executions are counted; a request
    /// that would go over a quota is refused with 402 and does nothing.
    /// Quotas not named are left as they are; `none` clears one.
    SetQuota {
        /// The organisation id (`org_…`).
        org: String,
        /// The draws quota: a number, or `none` for unlimited.
        #[arg(long, value_name = "N|none")]
        draws: Option<QuotaValue>,
        /// The entries quota: a number, or `none` for unlimited.
        #[arg(long, value_name = "N|none")]
        entries: Option<QuotaValue>,
        /// The executions quota: a number, or `none` for unlimited.
        #[arg(long, value_name = "N|none")]
        executions: Option<QuotaValue>,
    },
    /// Rotate an organisation's signing key; the old key stays published.
    RotateKey {
        /// The organisation id (`org_…`).
        #[arg(long)]
        org: String,
    },
}

/// A quota given on the command line: a count, or `none` (unlimited).
#[derive(Clone, Copy, Debug)]
struct QuotaValue(Option<i64>);

impl std::str::FromStr for QuotaValue {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" | "unlimited" => Ok(QuotaValue(None)),
            n => match n.parse::<i64>() {
                Ok(n) if n >= 0 => Ok(QuotaValue(Some(n))),
                _ => Err(format!(
                    "{s:?} is not a quota: give a count (0 or more) or `none`"
                )),
            },
        }
    }
}

fn show_quota(used: i64, limit: Option<i64>) -> String {
    match limit {
        Some(l) => format!("{used} of {l}"),
        None => format!("{used} (no quota)"),
    }
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
            Command::SetQuota {
                org,
                draws,
                entries,
                executions,
            } => {
                let change = QuotaChange {
                    draws: draws.map(|q| q.0),
                    entries: entries.map(|q| q.0),
                    executions: executions.map(|q| q.0),
                };
                let u = store.set_quota(&org, &change, now_ms()).await?;
                outln!("Usage of {org}:");
                for kind in QuotaKind::ALL {
                    outln!("  {:<11} {}", kind.as_str(), show_quota(u.used(kind), u.limit(kind)));
                }
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
