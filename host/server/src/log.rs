//! The transparency log service (issue 14): the sequencer task, the
//! submission of checkpoints to witnesses, and the shared state the `/log/`
//! routes and the lock route read.
//!
//! One replica sequences at a time, by the lease row in the database
//! ([`fairdraw_store::Store::acquire_log_lease`]); every replica runs the
//! loop and takes over within a lease period when the holder stops. The
//! lease holder also submits each new checkpoint to the configured
//! witnesses (C2SP tlog-witness), one task per witness, so a witness that
//! is down delays only its own cosignature.

use std::sync::Arc;
use std::time::Duration;

use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::log::{Note, SignatureType, VerifierKey, consistency_proof};
use fairdraw_engine::receipt::Signer;
use fairdraw_store::{LeafCache, LogLease, StoreError, StoredCheckpoint};
use tokio::sync::{Mutex, watch};

use crate::state::AppState;

/// A witness the log submits its checkpoints to.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    /// Its submission prefix (`http://127.0.0.1:7380`); the log posts to
    /// `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosignature verifier key (type `0x04`, C2SP tlog-cosignature).
    pub key: VerifierKey,
}

impl WitnessConfig {
    /// Parses `URL VKEY` (one space between).
    pub fn parse(s: &str) -> Result<WitnessConfig, String> {
        let (url, vkey) = s
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("witness {s:?}: expected `URL VKEY`"))?;
        let key = VerifierKey::parse(vkey.trim()).map_err(|e| format!("witness {url}: {e}"))?;
        if key.signature_type() != SignatureType::CosignatureV1 {
            return Err(format!(
                "witness {url}: the key is not a cosignature/v1 (type 0x04) key"
            ));
        }
        Ok(WitnessConfig {
            url: url.trim_end_matches('/').to_owned(),
            key,
        })
    }
}

/// How the log runs.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// The checkpoint origin (C2SP tlog-checkpoint), also the log key's name.
    pub origin: String,
    /// Witnesses to submit checkpoints to.
    pub witnesses: Vec<WitnessConfig>,
    /// How often the sequencer looks for queued entries.
    pub interval: Duration,
    /// Most entries per checkpoint.
    pub max_batch: usize,
    /// How long the lock route waits for its receipt to be in a
    /// checkpoint before answering 202 (zero: do not wait).
    pub lock_wait: Duration,
    /// The sequencer lease.
    pub lease: Duration,
    /// Run the sequencer on this replica.
    pub sequence: bool,
}

impl LogConfig {
    /// Defaults for an origin: 250 ms batches of up to 4096 entries, a
    /// 10 s lock wait, a 10 s lease, no witnesses.
    pub fn new(origin: &str) -> LogConfig {
        LogConfig {
            origin: origin.to_owned(),
            witnesses: Vec::new(),
            interval: Duration::from_millis(250),
            max_batch: 4096,
            lock_wait: Duration::from_secs(10),
            lease: Duration::from_secs(10),
            sequence: true,
        }
    }
}

/// The log as the routes see it.
#[derive(Debug)]
pub struct LogState {
    /// The configuration.
    pub config: LogConfig,
    /// The log's verifier key (`origin+id+base64`), as published.
    pub vkey: VerifierKey,
    signer: Signer,
    /// The leaf hashes, shared by the routes (the sequencer keeps its own).
    cache: Mutex<LeafCache>,
    /// The latest checkpoint size this replica signed (wakes lock waiters).
    signed: watch::Sender<u64>,
}

impl LogState {
    /// Loads (or, on first start, creates) the log key.
    pub async fn open(
        store: &fairdraw_store::Store,
        config: LogConfig,
        now: i64,
    ) -> Result<LogState, StoreError> {
        let signer = store.log_signer(now).await?;
        let vkey = VerifierKey::for_signer(&config.origin, SignatureType::Ed25519, &signer)
            .map_err(|e| StoreError::Config(format!("log origin {:?}: {e}", config.origin)))?;
        Ok(LogState {
            config,
            vkey,
            signer,
            cache: Mutex::new(LeafCache::default()),
            signed: watch::channel(0).0,
        })
    }

    /// Runs `f` over the first `size` leaf hashes (brought up to date from
    /// the database first).
    pub async fn with_leaves<T>(
        &self,
        store: &fairdraw_store::Store,
        size: u64,
        f: impl FnOnce(&[Hash32]) -> T,
    ) -> Result<T, StoreError> {
        let mut cache = self.cache.lock().await;
        store.sync_leaf_cache(&mut cache, size).await?;
        let n = usize::try_from(size).unwrap_or(usize::MAX);
        Ok(f(&cache.leaves()[..n]))
    }

    /// A receiver woken whenever this replica signs a checkpoint.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.signed.subscribe()
    }
}

/// The running sequencer and witness tasks of one replica.
#[derive(Debug)]
pub struct Sequencer {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Sequencer {
    /// Starts the loop (if the state has a log with `sequence` on).
    pub fn spawn(state: AppState) -> Option<Sequencer> {
        let log = state.log.clone()?;
        if !log.config.sequence {
            return None;
        }
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let holder = format!("replica-{}", std::process::id());
            let mut lease: Option<LogLease> = None;
            let mut cache = LeafCache::default();
            let mut witnesses: Vec<WitnessTask> = log
                .config
                .witnesses
                .iter()
                .cloned()
                .map(WitnessTask::new)
                .collect();
            let lease_ms = i64::try_from(log.config.lease.as_millis()).unwrap_or(10_000);
            loop {
                let now = state.now();
                match state
                    .store
                    .acquire_log_lease(&holder, lease.as_ref(), now, lease_ms)
                    .await
                {
                    Ok(l) => lease = l,
                    Err(e) => {
                        tracing::warn!(error = %e, "log sequencer: lease");
                        lease = None;
                    }
                }
                if let Some(l) = &lease {
                    loop {
                        match state
                            .store
                            .sequence_log(
                                l,
                                &log.config.origin,
                                &log.signer,
                                &mut cache,
                                log.config.max_batch,
                                state.now(),
                            )
                            .await
                        {
                            Ok(Some(cp)) => {
                                log.signed.send_replace(cp.size);
                                if cp.size % (log.config.max_batch as u64) != 0 {
                                    break;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "log sequencer: sequencing");
                                break;
                            }
                        }
                    }
                    for w in &mut witnesses {
                        w.poll(&state, &log);
                    }
                }
                tokio::select! {
                    _ = stopped.changed() => break,
                    () = tokio::time::sleep(log.config.interval) => {}
                }
            }
            if let Some(l) = &lease {
                let _ = state.store.release_log_lease(l).await;
            }
        });
        Some(Sequencer { stop, task })
    }

    /// Stops the loop and gives the lease up.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Submission to one witness: at most one request in flight; the size the
/// witness last cosigned is learned from its answers (0 at first, then
/// from a 409).
#[derive(Debug)]
struct WitnessTask {
    config: WitnessConfig,
    /// The size the witness has cosigned, as far as this replica knows.
    known: Arc<std::sync::Mutex<Option<u64>>>,
    inflight: Option<tokio::task::JoinHandle<()>>,
}

impl WitnessTask {
    fn new(config: WitnessConfig) -> WitnessTask {
        WitnessTask {
            config,
            known: Arc::new(std::sync::Mutex::new(None)),
            inflight: None,
        }
    }

    fn poll(&mut self, state: &AppState, log: &Arc<LogState>) {
        if self.inflight.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let (state, log) = (state.clone(), log.clone());
        let (config, known) = (self.config.clone(), self.known.clone());
        self.inflight = Some(tokio::spawn(async move {
            if let Err(e) = submit(&state, &log, &config, &known).await {
                tracing::warn!(witness = %config.url, error = %e, "witness submission");
            }
        }));
    }
}

async fn submit(
    state: &AppState,
    log: &LogState,
    w: &WitnessConfig,
    known: &std::sync::Mutex<Option<u64>>,
) -> Result<(), String> {
    let Some(latest) = state
        .store
        .latest_checkpoint()
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let name = w.key.name().to_owned();
    if latest.cosignatures.iter().any(|(n, _)| *n == name) {
        return Ok(());
    }
    let mut old = known.lock().map(|k| k.unwrap_or(0)).unwrap_or(0);
    for _ in 0..3 {
        if old > latest.size {
            return Err(format!(
                "the witness has cosigned size {old}, larger than the log's {}",
                latest.size
            ));
        }
        let proof = if old == 0 {
            Vec::new()
        } else {
            log.with_leaves(&state.store, latest.size, |leaves| {
                consistency_proof(leaves, old)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
        };
        let body = add_checkpoint_body(old, &proof, &latest.note);
        let url = format!("{}/add-checkpoint", w.url);
        let answer = tokio::task::spawn_blocking(move || post(&url, body))
            .await
            .map_err(|e| e.to_string())??;
        match answer {
            (200, text) => {
                let cosigned = accept_cosignatures(&latest, w, &text)?;
                state
                    .store
                    .add_cosignature(latest.size, &name, &cosigned, state.now())
                    .await
                    .map_err(|e| e.to_string())?;
                if let Ok(mut k) = known.lock() {
                    *k = Some(latest.size);
                }
                return Ok(());
            }
            (409, text) => {
                let size: u64 = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("409 from the witness without its size: {text:?}"))?;
                if size == old || size == latest.size {
                    // Same size, other root (a fork), or it has this size
                    // cosigned already but its line is lost: report.
                    return Err(format!(
                        "the witness refuses (409) the checkpoint of size {} (its size: {size})",
                        latest.size
                    ));
                }
                old = size;
                if let Ok(mut k) = known.lock() {
                    *k = Some(size);
                }
            }
            (status, text) => {
                return Err(format!("{status} from the witness: {}", text.trim()));
            }
        }
    }
    Err("the witness's size kept changing".into())
}

/// The C2SP tlog-witness `add-checkpoint` request body.
pub fn add_checkpoint_body(old: u64, proof: &[Hash32], note: &str) -> String {
    use base64::Engine as _;
    let mut body = format!("old {old}\n");
    for h in proof {
        body.push_str(&base64::engine::general_purpose::STANDARD.encode(h.0));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// Keeps the witness's cosignature line from a 200 answer, after checking
/// it verifies on the checkpoint.
fn accept_cosignatures(
    cp: &StoredCheckpoint,
    w: &WitnessConfig,
    answer: &str,
) -> Result<String, String> {
    let note = Note::parse(cp.note.as_bytes()).map_err(|e| e.to_string())?;
    for line in answer.lines().filter(|l| !l.is_empty()) {
        let text = format!("{}{line}\n", note.to_text());
        let Ok(with) = Note::parse(text.as_bytes()) else {
            continue;
        };
        if let Some(sig) = with.signatures().iter().find(|s| w.key.matches(s))
            && w.key.verify(with.text(), sig).is_ok()
        {
            return Ok(line.to_owned());
        }
    }
    Err("the witness answered 200 without a cosignature that verifies".into())
}

fn post(url: &str, body: String) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut res = agent
        .post(url)
        .header("content-type", "text/plain")
        .send(body.as_bytes())
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let text = res
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, text))
}
