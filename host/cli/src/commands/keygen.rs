//! `fairdraw keygen`.

use std::path::PathBuf;

use anyhow::Result;
use fairdraw_engine::receipt::Signer;

use crate::{files, keyfile};

/// Write a new Ed25519 signing key (file mode 0600).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the key; an existing file is never overwritten.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<u8> {
    let signer = Signer::from_secret(files::random_bytes::<32>()?);
    keyfile::write_new(&args.out, &signer)?;
    outln!("Wrote {} (keep it secret; mode 0600)", args.out.display());
    outln!("key id:     {}", signer.key_id());
    outln!("public key: {}", hex::encode(signer.public_key()));
    Ok(0)
}
