//! The workers of `fairdraw serve`: Tokio tasks that claim jobs from the
//! store's queue and run them, so a drand draw executes by itself once its
//! round is published.
//!
//! A drand draw's life after lock, with no human step:
//! 1. the lock queues a `poll_beacon` job, due at the declared round's time
//!    (in the lock's transaction);
//! 2. a worker claims it when due, fetches the declared round through the
//!    beacon plugin and verifies it with the engine; a round that cannot be
//!    fetched (not yet published, relay down, a relay that lies) is retried
//!    with backoff, and only ever the declared round is asked for;
//! 3. the verified beacon is the payload of an `execute_draw` job, queued in
//!    the transaction that completes the poll;
//! 4. a worker claims it at once and executes the draw through the same
//!    code as `POST /v1/draws/{id}/execute`, so exactly one execution
//!    receipt exists whoever gets there first (an `execute` call, another
//!    replica's worker, a worker that took over an expired lease).
//!
//! Commit-reveal and RFC 3797 draws queue nothing: they wait for the
//! organiser's `execute` call with the secret or the values.
//!
//! Every worker holds its job with a lease it renews while the job runs; a
//! worker whose lease was lost (it stalled past it and another replica took
//! the job over) drops the job at once. On shutdown the workers stop
//! claiming, give the jobs in hand [`WorkerConfig::grace`] to finish, and
//! release those that do not.

use std::sync::Arc;
use std::time::Duration;

use fairdraw_engine::randomness::{Declared, drand};
use fairdraw_store::{Backoff, DrawState, Job, JobKind, Lease, NewEvent, NewJob, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::error::ApiError;
use crate::routes::lifecycle::{ExecuteDraw, execute_locked};
use crate::state::AppState;

/// Attempts of a beacon poll before it is dead: with the default backoff
/// (2 s doubling to 10 min) about four hours of relay outage.
pub const POLL_BEACON_ATTEMPTS: i64 = 30;
/// Attempts of an execution before it is dead.
pub const EXECUTE_ATTEMPTS: i64 = 5;

/// How the workers run.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Worker tasks per replica (0: this replica runs no jobs).
    pub workers: usize,
    /// How long a claim holds a job before another replica may take it
    /// over; renewed every third of it while the job runs.
    pub lease: Duration,
    /// How often an idle worker looks for due jobs.
    pub poll: Duration,
    /// How long the jobs in hand may take to finish on shutdown before
    /// they are released.
    pub grace: Duration,
    /// Retry delays.
    pub backoff: Backoff,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            workers: 2,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(500),
            grace: Duration::from_secs(20),
            backoff: Backoff::default(),
        }
    }
}

/// The running workers of one replica.
#[derive(Debug)]
pub struct Workers {
    stop: Arc<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
}

/// The `poll_beacon` job a lock queues for a drand draw, due at the
/// round's time; `None` for other randomness (they wait for `execute`).
pub fn beacon_job(org: &str, draw_id: &str, declared: &str, due: i64) -> Option<NewJob> {
    match serde_json::from_str::<Declared>(declared).ok()? {
        Declared::Drand { .. } => Some(NewJob {
            kind: JobKind::PollBeacon,
            org_id: org.to_owned(),
            draw_id: Some(draw_id.to_owned()),
            payload: "{}".to_owned(),
            run_at: due,
            max_attempts: POLL_BEACON_ATTEMPTS,
            dedupe_key: Some(format!("poll_beacon:{draw_id}")),
        }),
        _ => None,
    }
}

/// What an `execute_draw` job carries: the verified relay JSON.
#[derive(Debug, Deserialize, Serialize)]
struct ExecutePayload {
    beacon: serde_json::Value,
}

/// How a job's attempt ended.
#[derive(Debug)]
enum Outcome {
    /// Done; queue the next step, if any, and record the events.
    Done(Option<NewJob>, Vec<NewEvent>),
    /// Not due yet: run again at this time, not counted as an attempt.
    Snooze(i64, String),
    /// Failed: retry with backoff (or dead after the last attempt).
    Failed(String),
}

impl Workers {
    /// Starts `config.workers` worker tasks on the current runtime.
    pub fn spawn(state: AppState, config: WorkerConfig) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let config = Arc::new(config);
        let wake = Arc::new(Notify::new());
        let replica = format!(
            "{}-{}",
            std::process::id(),
            fairdraw_store::random_bytes::<3>()
                .map(hex::encode)
                .unwrap_or_default()
        );
        let tasks = (0..config.workers)
            .map(|n| {
                let worker = Worker {
                    name: format!("{replica}/{n}"),
                    state: state.clone(),
                    config: config.clone(),
                    stopped: stopped.clone(),
                    wake: wake.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        if config.workers > 0 {
            tracing::info!(workers = config.workers, replica = %replica, "job workers started");
        }
        Workers { stop, tasks }
    }

    /// A handle that tells the workers to stop claiming (what a signal
    /// handler calls, before the HTTP server has drained).
    pub fn stopper(&self) -> impl Fn() + Send + Sync + 'static {
        let stop = self.stop.clone();
        move || {
            stop.send_replace(true);
        }
    }

    /// Stops claiming, lets the jobs in hand finish (or releases them after
    /// the grace period) and waits for every worker to end.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for t in self.tasks {
            if let Err(e) = t.await {
                tracing::error!(error = %e, "a job worker panicked");
            }
        }
    }
}

struct Worker {
    name: String,
    state: AppState,
    config: Arc<WorkerConfig>,
    stopped: watch::Receiver<bool>,
    wake: Arc<Notify>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Worker {
    async fn run(mut self) {
        // Events committed on this replica may have queued deliveries.
        let mut bell = self.state.events_bell.subscribe();
        while !*self.stopped.borrow() {
            let now = self.state.now();
            match self
                .state
                .store
                .claim_job(&self.name, now, millis(self.config.lease))
                .await
            {
                Ok(Some(lease)) => {
                    self.hold(lease).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(worker = %self.name, error = %e, "cannot claim jobs"),
            }
            tokio::select! {
                _ = self.stopped.changed() => {}
                () = self.wake.notified() => {}
                r = bell.changed() => { let _ = r; }
                () = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// Runs one job, renewing its lease, until it ends, the lease is lost,
    /// or shutdown's grace period runs out; then records the outcome.
    async fn hold(&mut self, mut lease: Lease) {
        let job = lease.job.clone();
        tracing::info!(worker = %self.name, job = %job.id, kind = %job.kind, attempt = job.attempts, draw = ?job.draw_id, "job claimed");
        let state = self.state.clone();
        let work = run(state, job.clone());
        tokio::pin!(work);
        let renew = self.config.lease / 3;
        let mut stopped = self.stopped.clone();
        let mut deadline: Option<tokio::time::Instant> = None;
        let outcome = loop {
            let grace_over = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                outcome = &mut work => break Some(outcome),
                () = tokio::time::sleep(renew) => {
                    let now = self.state.now();
                    match self.state.store.extend_lease(&lease, now + millis(self.config.lease), now).await {
                        Ok(j) => lease.job = j,
                        Err(StoreError::LeaseLost) => {
                            tracing::warn!(worker = %self.name, job = %job.id, "lease lost to another worker: dropping the job");
                            return;
                        }
                        Err(e) => tracing::warn!(worker = %self.name, job = %job.id, error = %e, "cannot renew the lease"),
                    }
                }
                r = stopped.changed(), if deadline.is_none() => {
                    let _ = r;
                    deadline = Some(tokio::time::Instant::now() + self.config.grace);
                }
                () = grace_over => break None,
            }
        };
        let store = &self.state.store;
        let now = self.state.now();
        let recorded = match outcome {
            None => {
                tracing::warn!(worker = %self.name, job = %job.id, "shutting down: releasing the job in hand");
                store.release_job(&lease, now).await.map(|_| ())
            }
            Some(Outcome::Done(next, events)) => {
                let r = store
                    .complete_job_with(&lease, now, next.as_ref(), &events)
                    .await;
                if r.is_ok() {
                    if !events.is_empty() {
                        self.state.ring_events();
                    }
                    tracing::info!(worker = %self.name, job = %job.id, kind = %job.kind, "job done");
                    if next.is_some() {
                        self.wake.notify_one();
                    }
                }
                r.map(|_| ())
            }
            Some(Outcome::Snooze(at, why)) => {
                tracing::info!(worker = %self.name, job = %job.id, why = %why, "job not due yet");
                store.snooze_job(&lease, at, &why, now).await.map(|_| ())
            }
            Some(Outcome::Failed(error)) => {
                match store
                    .fail_job(&lease, &error, now, &self.config.backoff)
                    .await
                {
                    Ok(j) => {
                        if j.state == fairdraw_store::JobState::Dead {
                            // A draw's job going dead raised draw.failed.
                            self.state.ring_events();
                        }
                        log_failure(&self.name, &j, &error);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match recorded {
            Ok(()) => {}
            Err(StoreError::LeaseLost) => {
                tracing::warn!(worker = %self.name, job = %job.id, "lease lost before the outcome was stored; the new holder decides");
            }
            Err(e) => {
                tracing::error!(worker = %self.name, job = %job.id, error = %e, "cannot store the job's outcome; it is retried when its lease expires");
            }
        }
    }
}

fn log_failure(worker: &str, job: &Job, error: &str) {
    if job.state == fairdraw_store::JobState::Dead {
        tracing::error!(worker, job = %job.id, kind = %job.kind, attempts = job.attempts, error, "job dead after its last attempt");
    } else {
        tracing::warn!(worker, job = %job.id, kind = %job.kind, attempts = job.attempts, error, retry_at = job.run_at, "job failed; retrying later");
    }
}

/// One attempt of a job.
async fn run(state: AppState, job: Job) -> Outcome {
    if job.kind == JobKind::DeliverWebhook {
        return match crate::webhooks::deliver(&state, &job).await {
            crate::webhooks::Delivered::Done => Outcome::Done(None, Vec::new()),
            crate::webhooks::Delivered::Failed(e) => Outcome::Failed(e),
        };
    }
    let Some(draw_id) = job.draw_id.clone() else {
        return Outcome::Failed(format!("a {} job needs a draw", job.kind));
    };
    match job.kind {
        JobKind::PollBeacon => poll_beacon(&state, &job, &draw_id).await,
        JobKind::ExecuteDraw => execute(&state, &job, &draw_id).await,
        JobKind::ImportSource | JobKind::DeliverWebhook => Outcome::Failed(format!(
            "this server has no worker for {} jobs yet",
            job.kind
        )),
    }
}

/// Fetches the draw's declared round and verifies it; on success the
/// execution is the next job.
async fn poll_beacon(state: &AppState, job: &Job, draw_id: &str) -> Outcome {
    let draw = match state.store.draw(&job.org_id, draw_id).await {
        Ok(d) => d,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    if draw.state != DrawState::Locked {
        tracing::info!(draw = %draw_id, state = %draw.state, "draw no longer locked: no beacon needed");
        return Outcome::Done(None, Vec::new());
    }
    let declared = draw
        .declared
        .as_deref()
        .and_then(|d| serde_json::from_str::<Declared>(d).ok());
    let Some(Declared::Drand { chain, round, .. }) = declared else {
        return Outcome::Failed("the draw did not declare a drand round".into());
    };
    let Some(chain) = drand::chain(&chain) else {
        return Outcome::Failed(format!("unknown drand chain {chain} in the lock"));
    };
    let due = chain.round_time(round).unix().saturating_mul(1000);
    let now = state.now();
    if now < due {
        return Outcome::Snooze(
            due,
            format!("waiting for drand {} round {round}", chain.name),
        );
    }
    match state.beacons.fetch(chain, round).await {
        Ok(beacon) => {
            let arrived = NewEvent::once(
                &job.org_id,
                draw_id,
                "draw.beacon",
                serde_json::json!({ "chain": chain.name, "round": round, "beacon": beacon }),
            );
            let payload = match serde_json::to_string(&ExecutePayload { beacon }) {
                Ok(p) => p,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            Outcome::Done(
                Some(NewJob {
                    kind: JobKind::ExecuteDraw,
                    org_id: job.org_id.clone(),
                    draw_id: Some(draw_id.to_owned()),
                    payload,
                    run_at: now,
                    max_attempts: EXECUTE_ATTEMPTS,
                    dedupe_key: Some(format!("execute_draw:{draw_id}")),
                }),
                vec![arrived],
            )
        }
        Err(e) => {
            let error = e.to_string();
            tracing::warn!(draw = %draw_id, round, error = %error, "beacon fetch failed");
            Outcome::Failed(error)
        }
    }
}

/// Executes the draw with the verified beacon of the poll.
async fn execute(state: &AppState, job: &Job, draw_id: &str) -> Outcome {
    let payload: ExecutePayload = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(format!("the job's payload: {e}")),
    };
    let body = ExecuteDraw {
        beacon: Some(payload.beacon),
        ..ExecuteDraw::default()
    };
    match execute_locked(state, &job.org_id, draw_id, body).await {
        Ok(view) => {
            tracing::info!(draw = %draw_id, bundle_sha256 = %view.bundle_sha256, "draw executed by its job");
            Outcome::Done(None, Vec::new())
        }
        // Someone else executed it (or it failed): nothing left to do.
        Err(ApiError::Conflict { state: s, .. }) => {
            tracing::info!(draw = %draw_id, state = %s, "draw already {s}: nothing to execute");
            Outcome::Done(None, Vec::new())
        }
        Err(ApiError::TooEarly { retry_after, .. }) => Outcome::Snooze(
            state
                .now()
                .saturating_add(i64::try_from(retry_after).unwrap_or(1).saturating_mul(1000)),
            "the randomness is not available yet".into(),
        ),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}
