//! The signing key file written by `fairdraw keygen`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use fairdraw_engine::encoding::{Hash32, parse_hex_exact};
use fairdraw_engine::receipt::Signer;
use serde::{Deserialize, Serialize};

use crate::files;

/// `KEY.json`: an Ed25519 key. Written with mode 0600.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    fairdraw_key: u32,
    algorithm: String,
    secret_key: String,
    public_key: String,
    key_id: Hash32,
}

/// Writes a new key file; refuses to overwrite one.
pub fn write_new(path: &Path, signer: &Signer) -> Result<()> {
    files::ensure_absent(path)?;
    let key = KeyFile {
        fairdraw_key: 1,
        algorithm: "ed25519".into(),
        secret_key: hex::encode(signer.secret()),
        public_key: hex::encode(signer.public_key()),
        key_id: signer.key_id(),
    };
    let mut json = serde_json::to_vec_pretty(&key)?;
    json.push(b'\n');
    files::write(path, &json, true)
}

/// Reads a key file and checks that its parts agree.
pub fn read(path: &Path) -> Result<Signer> {
    let bytes = files::read(path)?;
    let key: KeyFile = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a fairdraw key file", path.display()))?;
    if key.fairdraw_key != 1 || key.algorithm != "ed25519" {
        bail!(
            "{}: unsupported key file (version {}, algorithm {:?})",
            path.display(),
            key.fairdraw_key,
            key.algorithm
        );
    }
    let secret = parse_hex_exact::<32>(&key.secret_key)
        .with_context(|| format!("{}: secret_key", path.display()))?;
    let signer = Signer::from_secret(secret);
    if hex::encode(signer.public_key()) != key.public_key || signer.key_id() != key.key_id {
        bail!(
            "{}: public_key or key_id does not belong to secret_key",
            path.display()
        );
    }
    Ok(signer)
}
