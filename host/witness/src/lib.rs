//! # fairdraw-witness
//!
//! A C2SP `tlog-witness`: logs `POST /add-checkpoint` with the size of the
//! last checkpoint the witness cosigned for them, a consistency proof from
//! it, and the new checkpoint; the witness
//!
//! 1. checks the checkpoint is signed by a log key it was configured with
//!    for that origin (404 for an unknown origin, 403 for no valid
//!    signature);
//! 2. checks `old` is the size it last cosigned (409 with that size,
//!    `Content-Type: text/x.tlog.size`, otherwise: a rollback, or a client
//!    that does not know), and that `old` is not above the new size (400);
//! 3. for `old` equal to the new size, that the roots are the same (409: a
//!    fork); otherwise checks the consistency proof (422);
//! 4. records the checkpoint durably (a file written atomically) and
//!    answers 200 with its cosignature line (C2SP tlog-cosignature v1,
//!    timestamped now).
//!
//! Every check is the engine's ([`fairdraw_engine::log`]); this crate adds
//! HTTP, the clock and the state file. The check and the update happen
//! under one lock, so two concurrent submissions cannot roll the state back.
//!
//! Configuration (TOML):
//!
//! ```toml
//! # The witness's key name (its cosignature lines and verifier key).
//! name = "witness.example/w1"
//! # 64 hex characters of Ed25519 secret; created on first start if missing.
//! key_file = "w1.key"
//! # Where the last cosigned checkpoint per log is kept.
//! state_file = "w1-state.json"
//!
//! [[logs]]
//! # The log's verifier key (Ed25519, C2SP signed-note); its name is the
//! # checkpoint origin unless `origin` says otherwise.
//! key = "draws.example.com/log+1a2b3c4d+AU…"
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::log::checkpoint::verify_checkpoint;
use fairdraw_engine::log::{
    Checkpoint, Note, SignatureType, VerifierKey, cosign, verify_consistency,
};
use fairdraw_engine::merkle::empty_root;
use fairdraw_engine::receipt::Signer;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// The largest request accepted: a note and 63 proof lines.
pub const MAX_BODY: usize = 32 * 1024;

/// Why the witness cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The configuration file is missing or malformed.
    #[error("witness configuration: {0}")]
    Config(String),
    /// The key or state file cannot be read or written.
    #[error("{0}")]
    Io(String),
}

/// One log the witness accepts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The log's Ed25519 verifier key.
    pub key: String,
    /// The checkpoint origin; the key's name when absent.
    #[serde(default)]
    pub origin: Option<String>,
}

/// The configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The witness's key name.
    pub name: String,
    /// The witness's Ed25519 secret, 64 hex characters; created if missing.
    pub key_file: PathBuf,
    /// The state file.
    pub state_file: PathBuf,
    /// The logs it witnesses.
    #[serde(default)]
    pub logs: Vec<LogConfig>,
}

impl Config {
    /// Reads a TOML configuration; relative paths are taken from the
    /// file's directory.
    pub fn load(path: &Path) -> Result<Config, WitnessError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| WitnessError::Config(format!("cannot read {}: {e}", path.display())))?;
        let mut c: Config = toml::from_str(&text)
            .map_err(|e| WitnessError::Config(format!("{}: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        c.key_file = dir.join(&c.key_file);
        c.state_file = dir.join(&c.state_file);
        Ok(c)
    }
}

/// The last checkpoint cosigned for one origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cosigned {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash32,
}

/// A running witness: keys, accepted logs, and state.
#[derive(Debug)]
pub struct Witness {
    name: String,
    signer: Signer,
    vkey: VerifierKey,
    logs: BTreeMap<String, VerifierKey>,
    state_file: PathBuf,
    state: Mutex<BTreeMap<String, Cosigned>>,
    clock: fn() -> u64,
}

fn system_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Witness {
    /// Opens a witness: reads (or creates) its key and reads its state.
    pub fn open(config: &Config) -> Result<Witness, WitnessError> {
        let io = |what: &str, p: &Path, e: std::io::Error| {
            WitnessError::Io(format!("{what} {}: {e}", p.display()))
        };
        let secret: [u8; 32] = match std::fs::read_to_string(&config.key_file) {
            Ok(t) => {
                let mut s = [0u8; 32];
                hex::decode_to_slice(t.trim(), &mut s).map_err(|_| {
                    WitnessError::Config(format!(
                        "{} does not hold 64 hex characters",
                        config.key_file.display()
                    ))
                })?;
                s
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut s = [0u8; 32];
                getrandom::fill(&mut s)
                    .map_err(|e| WitnessError::Io(format!("OS random generator: {e}")))?;
                write_atomically(&config.key_file, format!("{}\n", hex::encode(s)).as_bytes())
                    .map_err(|e| io("cannot write", &config.key_file, e))?;
                s
            }
            Err(e) => return Err(io("cannot read", &config.key_file, e)),
        };
        let signer = Signer::from_secret(secret);
        let vkey = VerifierKey::for_signer(&config.name, SignatureType::CosignatureV1, &signer)
            .map_err(|e| WitnessError::Config(format!("name {:?}: {e}", config.name)))?;
        let mut logs = BTreeMap::new();
        for l in &config.logs {
            let key = VerifierKey::parse(&l.key)
                .map_err(|e| WitnessError::Config(format!("log key {:?}: {e}", l.key)))?;
            if key.signature_type() != SignatureType::Ed25519 {
                return Err(WitnessError::Config(format!(
                    "log key {:?} is not an Ed25519 (type 0x01) key",
                    l.key
                )));
            }
            let origin = l.origin.clone().unwrap_or_else(|| key.name().to_owned());
            logs.insert(origin, key);
        }
        let state = match std::fs::read(&config.state_file) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                WitnessError::Config(format!("state file {}: {e}", config.state_file.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(io("cannot read", &config.state_file, e)),
        };
        Ok(Witness {
            name: config.name.clone(),
            signer,
            vkey,
            logs,
            state_file: config.state_file.clone(),
            state: Mutex::new(state),
            clock: system_seconds,
        })
    }

    /// The witness's cosignature verifier key (give it to the logs and
    /// to verifiers' trust policies).
    pub fn vkey(&self) -> &VerifierKey {
        &self.vkey
    }

    /// The last checkpoint cosigned for `origin`.
    pub async fn cosigned(&self, origin: &str) -> Option<Cosigned> {
        self.state.lock().await.get(origin).cloned()
    }

    /// Handles one `add-checkpoint` body: the status and the body to send.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Outcome {
        let req = match parse_request(body) {
            Ok(r) => r,
            Err(m) => return Outcome::BadRequest(m),
        };
        let Ok(cp) = Checkpoint::parse(req.note.text()) else {
            return Outcome::BadRequest("the note is not a checkpoint".into());
        };
        let Some(log) = self.logs.get(&cp.origin) else {
            return Outcome::UnknownLog(cp.origin);
        };
        if let Err(e) = verify_checkpoint(&req.note, log) {
            return Outcome::Forbidden(e.to_string());
        }
        if req.old > cp.size {
            return Outcome::BadRequest(format!(
                "old size {} is above the checkpoint's size {}",
                req.old, cp.size
            ));
        }
        // Check and update under one lock (C2SP tlog-witness: atomically).
        let mut state = self.state.lock().await;
        let latest = state.get(&cp.origin).cloned().unwrap_or(Cosigned {
            size: 0,
            root: empty_root(),
        });
        if req.old != latest.size {
            return Outcome::Conflict(latest.size);
        }
        if req.old == cp.size && cp.root != latest.root {
            tracing::warn!(origin = %cp.origin, size = cp.size, "fork: two roots for one size");
            return Outcome::Conflict(latest.size);
        }
        if let Err(e) = verify_consistency(req.old, cp.size, &latest.root, &cp.root, &req.proof) {
            return Outcome::Unprocessable(e.to_string());
        }
        let mut note = match Note::new(req.note.text()) {
            Ok(n) => n,
            Err(e) => return Outcome::BadRequest(e.to_string()),
        };
        if let Err(e) = cosign(&mut note, &self.name, (self.clock)(), &self.signer) {
            return Outcome::Internal(e.to_string());
        }
        let Some(line) = note.signatures().last().map(|s| s.to_line()) else {
            return Outcome::Internal("no cosignature".into());
        };
        let mut next = state.clone();
        next.insert(
            cp.origin.clone(),
            Cosigned {
                size: cp.size,
                root: cp.root,
            },
        );
        let bytes = match serde_json::to_vec_pretty(&next) {
            Ok(b) => b,
            Err(e) => return Outcome::Internal(e.to_string()),
        };
        if let Err(e) = write_atomically(&self.state_file, &bytes) {
            return Outcome::Internal(format!("cannot persist the state: {e}"));
        }
        *state = next;
        Outcome::Cosigned(format!("{line}\n"))
    }
}

/// What an `add-checkpoint` call comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 200: the cosignature line.
    Cosigned(String),
    /// 400.
    BadRequest(String),
    /// 403: no trusted signature verifies.
    Forbidden(String),
    /// 404: the origin is not a log this witness knows.
    UnknownLog(String),
    /// 409: `old` is not the size last cosigned, or a fork; carries that size.
    Conflict(u64),
    /// 422: the consistency proof does not verify.
    Unprocessable(String),
    /// 500.
    Internal(String),
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        let text = |s: StatusCode, m: String| (s, format!("{m}\n")).into_response();
        match self {
            Outcome::Cosigned(lines) => (StatusCode::OK, lines).into_response(),
            Outcome::BadRequest(m) => text(StatusCode::BAD_REQUEST, m),
            Outcome::Forbidden(m) => text(StatusCode::FORBIDDEN, m),
            Outcome::UnknownLog(o) => text(StatusCode::NOT_FOUND, format!("unknown log {o:?}")),
            Outcome::Unprocessable(m) => text(StatusCode::UNPROCESSABLE_ENTITY, m),
            Outcome::Internal(m) => {
                tracing::error!(error = %m, "add-checkpoint");
                text(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
            Outcome::Conflict(size) => {
                let mut r = (StatusCode::CONFLICT, format!("{size}\n")).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/x.tlog.size"),
                );
                r
            }
        }
    }
}

struct Request {
    old: u64,
    proof: Vec<Hash32>,
    note: Note,
}

fn parse_request(body: &[u8]) -> Result<Request, String> {
    use base64::Engine as _;
    let s = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let (head, note) = s
        .split_once("\n\n")
        .ok_or_else(|| "no empty line before the checkpoint".to_owned())?;
    let mut lines = head.split('\n');
    let old_line = lines.next().unwrap_or_default();
    let old = old_line
        .strip_prefix("old ")
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .filter(|d| *d == "0" || !d.starts_with('0'))
        .and_then(|d| d.parse::<u64>().ok())
        .ok_or_else(|| format!("expected `old <size>`, found {old_line:?}"))?;
    let mut proof = Vec::new();
    for (i, l) in lines.enumerate() {
        if i >= 63 {
            return Err("more than 63 consistency proof lines".into());
        }
        let h = base64::engine::general_purpose::STANDARD
            .decode(l)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| format!("proof line {} is not base64 of 32 bytes", i + 1))?;
        proof.push(Hash32(h));
    }
    if old == 0 && !proof.is_empty() {
        return Err("the proof must be empty when the old size is 0".into());
    }
    let note = Note::parse(note.as_bytes()).map_err(|e| e.to_string())?;
    Ok(Request { old, proof, note })
}

/// Writes a file atomically: a temporary file beside it, synced, renamed
/// over it, and the directory synced.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state")
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The witness's router: `POST /add-checkpoint`.
pub fn app(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(witness)
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Outcome {
    w.add_checkpoint(&body).await
}

#[cfg(test)]
mod tests;
