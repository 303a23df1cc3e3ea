//! Lock and execute: each happens once per draw, enforced by the store's
//! claims; the losers of a race get 409 with the stored result.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::draw::{LockRequest, earliest_execution, execute, lock, tally};
use fairdraw_engine::encoding::{HexBytes, parse_hex_exact};
use fairdraw_engine::entry::{Entry, OwnedEntry};
use fairdraw_engine::log::entry::LogEntry;
use fairdraw_engine::randomness::spec::Spec;
use fairdraw_engine::randomness::{Declared, Realised, drand};
use fairdraw_engine::rules::Rules;
use fairdraw_engine::time::Timestamp;
use fairdraw_store::{
    DrawState, LockRecord, LogKind, NewEvent, NewLogEntry, Scope, StoreError, random_bytes,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::OptionalJson;
use crate::routes::{DrawView, blocking};
use crate::state::AppState;

/// The answer to a lock.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockView {
    /// The lock receipt's hash: publish it before the randomness exists.
    pub lock_hash: String,
    /// For commit-reveal: the secret (hex), shown to the organiser here.
    /// The server also keeps it encrypted, so `execute` may omit it.
    pub secret: Option<String>,
    /// The locked draw.
    pub draw: DrawView,
    /// Where the lock receipt is in the transparency log, when the server
    /// runs one (absent otherwise).
    pub log: Option<LogStatus>,
}

/// The lock receipt's place in the transparency log.
///
/// The lock route waits (up to `--log-lock-wait-ms`, 10 s by default) for
/// the receipt to be covered by a signed checkpoint, and then answers 200
/// with `state: "checkpointed"`. If the wait runs out, the lock is still
/// done and stored, and its receipt queued: the route answers **202** with
/// `state: "queued"`, and `GET /v1/public/draws/{id}/log-proofs` answers
/// once the receipt is in a checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogStatus {
    /// `checkpointed` or `queued`.
    pub state: String,
    /// The receipt's leaf index, once sequenced.
    pub index: Option<u64>,
    /// The size of the checkpoint that covers it.
    pub checkpoint_size: Option<u64>,
    /// Where the log proofs are served.
    pub log_proofs: String,
}

/// Waits (bounded) for the draw's receipt of `kind` to be in a checkpoint.
async fn wait_logged(
    state: &AppState,
    id: &str,
    kind: LogKind,
) -> Result<Option<LogStatus>, ApiError> {
    let Some(log) = state.log.clone() else {
        return Ok(None);
    };
    let deadline = tokio::time::Instant::now() + log.config.lock_wait;
    let mut signed = log.subscribe();
    loop {
        let entry = state.store.logged_entry(id, kind).await?;
        let index = entry.and_then(|e| e.index);
        if let Some(i) = index
            && let Some(cp) = state.store.latest_checkpoint().await?
            && cp.size > i
        {
            return Ok(Some(LogStatus {
                state: "checkpointed".into(),
                index,
                checkpoint_size: Some(cp.size),
                log_proofs: format!("/v1/public/draws/{id}/log-proofs"),
            }));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Some(LogStatus {
                state: "queued".into(),
                index,
                checkpoint_size: None,
                log_proofs: format!("/v1/public/draws/{id}/log-proofs"),
            }));
        }
        // Woken by this replica's sequencer, or polling for another's.
        let _ = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + std::time::Duration::from_millis(50)),
            signed.changed(),
        )
        .await;
    }
}

/// 409 for a draw another call got to first, with what it stored.
async fn lost(state: &AppState, org: &str, id: &str, e: StoreError, doing: &str) -> ApiError {
    match e {
        StoreError::State(s) => {
            let current = match state.store.draw(org, id).await {
                Ok(d) => DrawView::of(&d)
                    .ok()
                    .and_then(|v| serde_json::to_value(v).ok()),
                Err(_) => None,
            };
            ApiError::Conflict {
                state: s,
                detail: format!("cannot {doing} a draw that is {s}"),
                current,
            }
        }
        other => other.into(),
    }
}

/// Applies the rules, commits to the eligible list, declares the randomness
/// (for drand, the first round at least 60 s ahead) and signs the lock
/// receipt. Exactly one lock per draw: concurrent calls get 409 with the
/// stored result.
///
/// With a transparency log, the lock receipt is queued for the log in the
/// transaction that stores it, and the route answers once a signed
/// checkpoint covers it (`log.state: "checkpointed"`); after
/// `--log-lock-wait-ms` without one it answers 202 with `log.state:
/// "queued"` (the lock is done either way).
#[utoipa::path(
    operation_id = "lockDraw",post, path = "/v1/draws/{id}/lock", tag = "lifecycle", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = LockView), (status = 202, body = LockView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn lock_draw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<LockView>), ApiError> {
    let org = caller.org().to_owned();
    // Another organisation's draw is 404 whatever the key's scope.
    state.store.draw(&org, &id).await?;
    caller.require(Scope::Write)?;
    let now = state.now();
    // Everything read outside the claim is read before it: a claim holds a
    // pooled connection, and many waiting claims must not starve the winner.
    let signer = state.store.active_signer(&org).await?;
    let mut claim = match state.store.claim_lock(&org, &id, now).await {
        Ok(c) => c,
        Err(e) => return Err(lost(&state, &org, &id, e, "lock").await),
    };
    let stored = claim.entries().await?;
    // Spent only if this lock commits (it is taken in the claim).
    let sequence = claim.next_sequence().await?;
    let draw = claim.draw.clone();
    let secret = random_bytes::<32>()?;
    let (record, secret) = blocking(move || {
        let rules = Rules::from_json(draw.rules.as_bytes())
            .map_err(|e| ApiError::field("rules", e.to_string()))?;
        let spec = Spec::parse(&draw.randomness)
            .map_err(|e| ApiError::field("randomness", e.to_string()))?;
        let primary = rules.primary_collection().to_owned();
        let mut collections: BTreeMap<String, Vec<OwnedEntry>> = BTreeMap::new();
        let mut primary_seqs = Vec::new();
        for s in &stored {
            let e: Entry<'_> = serde_json::from_str(&s.entry)
                .map_err(|e| ApiError::Internal(format!("stored entry {}: {e}", s.seq)))?;
            if s.collection == primary {
                primary_seqs.push(s.seq);
            }
            collections
                .entry(s.collection.clone())
                .or_default()
                .push(e.into_owned());
        }
        let locked_at = Timestamp::from_unix(now.div_euclid(1000));
        let secret = spec.needs_secret().then_some(secret);
        let randomness = spec
            .declare(locked_at, secret.as_ref())
            .map_err(|e| ApiError::field("randomness", e.to_string()))?;
        let request = LockRequest {
            draw_id: draw.id.clone(),
            title: draw.title.clone(),
            rules,
            collections,
            randomness,
            locked_at,
            sequence: Some(sequence),
        };
        let locked = lock(&request, &signer)?;
        let lock_hash = locked
            .bundle
            .lock
            .hash()
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .to_string();
        // Every primary entry's fate, for the entries listing.
        let watched = tally(
            &request.rules,
            &request.collections,
            Some(&|_: &Entry<'_>| true),
        )?;
        let exclusions = watched
            .watched
            .iter()
            .filter_map(|w| {
                let x = w.exclusion.as_ref()?;
                let seq = *primary_seqs.get(usize::try_from(w.index).ok()?)?;
                Some((seq, x.rule().to_owned(), x.to_string()))
            })
            .collect();
        let entry =
            LogEntry::lock(&locked.bundle.lock).map_err(|e| ApiError::Internal(e.to_string()))?;
        let payload = &locked.bundle.lock.payload;
        let declared = serde_json::to_string(&payload.randomness)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let record = LockRecord {
            lock_hash,
            lock_file: locked.bundle.to_json(),
            secret: secret.map(|s| s.to_vec()),
            signing_key_id: signer.info().key_id.clone(),
            declared,
            earliest_execution: earliest_execution(payload).unix().saturating_mul(1000),
            eligible: i64::try_from(payload.eligible).unwrap_or(i64::MAX),
            total_tickets: i64::try_from(payload.total_tickets).unwrap_or(i64::MAX),
            locked_at: now,
            exclusions,
            log_entry: NewLogEntry {
                kind: LogKind::Lock,
                leaf_hash: entry.leaf_hash(),
                entry: entry.to_bytes(),
            },
        };
        Ok((record, secret))
    })
    .await?;
    let lock_hash = record.lock_hash.clone();
    let job = crate::worker::beacon_job(&org, &id, &record.declared, record.earliest_execution);
    let events = lock_events(&org, &id, &record);
    let d = match claim.commit_with(record, job.as_ref(), &events).await {
        Ok(d) => d,
        Err(e) => return Err(lost(&state, &org, &id, e, "lock").await),
    };
    state.ring_events();
    tracing::info!(draw = %d.id, lock_hash = %lock_hash, "draw locked");
    let log = wait_logged(&state, &d.id, LogKind::Lock).await?;
    let status = match &log {
        Some(l) if l.state == "queued" => StatusCode::ACCEPTED,
        _ => StatusCode::OK,
    };
    Ok((
        status,
        Json(LockView {
            lock_hash,
            secret: secret.map(hex::encode),
            draw: DrawView::of(&d)?,
            log,
        }),
    ))
}

/// The events a lock records: `draw.locked`, and for a drand round
/// `draw.countdown` with the round's due time (clients count down).
fn lock_events(org: &str, id: &str, record: &LockRecord) -> Vec<NewEvent> {
    let declared: serde_json::Value =
        serde_json::from_str(&record.declared).unwrap_or(serde_json::Value::Null);
    let available_at = crate::routes::rfc3339(record.earliest_execution);
    let mut events = vec![NewEvent::once(
        org,
        id,
        "draw.locked",
        serde_json::json!({
            "state": "locked",
            "lock_hash": record.lock_hash,
            "declared": declared,
            "randomness_available_at": available_at,
            "eligible": record.eligible,
            "total_tickets": record.total_tickets,
            "locked_at": crate::routes::rfc3339(record.locked_at),
        }),
    )];
    if let Ok(d) = serde_json::from_str::<Declared>(&record.declared)
        && let Some((chain, round)) = d.drand_round()
    {
        events.push(NewEvent::once(
            org,
            id,
            "draw.countdown",
            serde_json::json!({
                "chain": chain,
                "round": round,
                "due_at": available_at,
                "due_at_ms": record.earliest_execution,
            }),
        ));
    }
    events
}

/// `POST /v1/draws/{id}/execute`: the realised randomness.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteDraw {
    /// drand: the relay's JSON for the declared round (v1 or v2 shape).
    /// Optional: without it the server fetches the round through its
    /// beacon plugin.
    #[schema(value_type = Option<Object>)]
    pub beacon: Option<serde_json::Value>,
    /// Commit-reveal: the secret (64 hex characters). Optional: the server
    /// kept the one it generated at lock.
    pub secret: Option<String>,
    /// RFC 3797: the value each declared source produced, in order.
    pub values: Option<Vec<String>>,
}

/// The answer to an execution.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecuteView {
    /// The executed draw.
    pub draw: DrawView,
    /// Winners in draw order (the engine's picks).
    #[schema(value_type = Vec<Object>)]
    pub winners: Vec<serde_json::Value>,
    /// Alternates in order.
    #[schema(value_type = Vec<Object>)]
    pub alternates: Vec<serde_json::Value>,
    /// SHA-256 of the proof bundle (its ETag).
    pub bundle_sha256: String,
}

fn realise(
    declared: &Declared,
    body: &ExecuteDraw,
    stored_secret: Option<Vec<u8>>,
) -> Result<Realised, ApiError> {
    match declared {
        Declared::Drand { chain, round, .. } => {
            let beacon = body.beacon.as_ref().ok_or_else(|| {
                ApiError::field("beacon", format!("this draw declared drand {chain} round {round}: send the relay's JSON for it"))
            })?;
            let chain = drand::chain(chain)
                .ok_or_else(|| ApiError::Internal(format!("unknown chain {chain} in a lock")))?;
            let bytes =
                serde_json::to_vec(beacon).map_err(|e| ApiError::field("beacon", e.to_string()))?;
            let beacon = drand::parse_relay_json(&bytes)
                .map_err(|e| ApiError::field("beacon", e.to_string()))?;
            if beacon.round != *round {
                return Err(ApiError::field(
                    "beacon.round",
                    format!("is {}, but this draw declared round {round}", beacon.round),
                ));
            }
            beacon
                .realise(chain)
                .map_err(|e| ApiError::field("beacon", e.to_string()))
        }
        Declared::SecretDrand { chain, round, .. } => {
            let beacon = realise(
                &Declared::Drand {
                    chain: chain.clone(),
                    chain_hash: Default::default(),
                    round: *round,
                },
                body,
                None,
            )?;
            let secret = realise(
                &Declared::CommitReveal {
                    commitment: Default::default(),
                },
                body,
                stored_secret,
            )?;
            match secret {
                Realised::CommitReveal { secret } => Realised::secret_drand(&secret.0, beacon)
                    .ok_or_else(|| ApiError::field("beacon", "is not a drand beacon")),
                _ => Err(ApiError::Internal(
                    "a secret realised as something else".into(),
                )),
            }
        }
        Declared::CommitReveal { .. } => {
            let secret = match &body.secret {
                Some(s) => parse_hex_exact::<32>(s.trim())
                    .map_err(|e| ApiError::field("secret", e.to_string()))?
                    .to_vec(),
                None => stored_secret.ok_or_else(|| {
                    ApiError::field("secret", "this commit-reveal draw needs its secret")
                })?,
            };
            Ok(Realised::CommitReveal {
                secret: HexBytes(secret),
            })
        }
        declared @ Declared::Rfc3797 { .. } => {
            let values = body
                .values
                .clone()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ApiError::field(
                        "values",
                        format!(
                            "this draw declared {}: send each source's value, in order",
                            declared.describe()
                        ),
                    )
                })?;
            Ok(Realised::Rfc3797 { values })
        }
    }
}

/// Executes a locked draw once its randomness exists: verifies it, draws
/// and signs the execution receipt. Exactly one execution per draw.
///
/// A drand draw may leave out `beacon`: the server then fetches the
/// declared round through its beacon plugin (the `drand` plugin installed
/// in its data directory) and verifies it. 503 `beacon-unavailable` when no
/// beacon plugin is installed, or the relay has not published the round yet
/// (with `Retry-After`), or the relay fails or returns a beacon that does
/// not verify; the draw stays locked.
#[utoipa::path(
    operation_id = "executeDraw",post, path = "/v1/draws/{id}/execute", tag = "lifecycle", request_body = ExecuteDraw,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ExecuteView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 402, body = Problem, description = "The executions quota is used up; the draw stays locked"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn execute_draw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ExecuteDraw>,
) -> Result<Json<ExecuteView>, ApiError> {
    let org = caller.org().to_owned();
    state.store.draw(&org, &id).await?;
    caller.require(Scope::Write)?;
    Ok(Json(execute_locked(&state, &org, &id, body).await?))
}

/// The work of `execute` for an authorised caller, shared by the route and
/// the `execute_draw` job: exactly one execution per draw, whoever calls.
pub async fn execute_locked(
    state: &AppState,
    org: &str,
    id: &str,
    body: ExecuteDraw,
) -> Result<ExecuteView, ApiError> {
    let draw = state.store.draw(org, id).await?;
    let now = state.now();
    if draw.state == DrawState::Locked
        && let Some(at) = draw.earliest_execution
        && now < at
    {
        let wait = (at - now + 999) / 1000;
        return Err(ApiError::TooEarly {
            available_at: crate::routes::rfc3339(at),
            retry_after: u64::try_from(wait).unwrap_or(1),
        });
    }
    // 402 before fetching anything when the executions quota is used up;
    // the exact check is in the execution's transaction.
    if draw.state == DrawState::Locked {
        state
            .store
            .usage(org)
            .await?
            .check(fairdraw_store::QuotaKind::Executions, 1)?;
    }
    // A drand draw without a beacon in the body: fetch the declared round
    // through the beacon plugin, before the claim, so no database lock is
    // held across the network call.
    let mut body = body;
    if draw.state == DrawState::Locked
        && body.beacon.is_none()
        && let Some(declared) = draw
            .declared
            .as_deref()
            .and_then(|d| serde_json::from_str::<Declared>(d).ok())
        && let Some((chain, round)) = declared.drand_round()
    {
        let chain = drand::chain(chain)
            .ok_or_else(|| ApiError::Internal(format!("unknown chain {chain} in a lock")))?;
        body.beacon = Some(state.beacons.fetch(chain, round).await?);
    }
    let signer = match &draw.signing_key_id {
        Some(key_id) => Some(state.store.signer(org, key_id).await?),
        None => None,
    };
    let mut claim = match state.store.claim_execution(org, id, now).await {
        Ok(c) => c,
        Err(e) => return Err(lost(state, org, id, e, "execute").await),
    };
    let signer =
        signer.ok_or_else(|| ApiError::Internal("locked draw without a signing key".into()))?;
    let (lock, stored_secret) = claim.lock().await?;
    let (bundle, sha, winners, alternates, entry) = blocking(move || {
        let parsed = ParsedBundle::parse(&lock.lock_file)
            .map_err(|e| ApiError::Internal(format!("stored lock file: {e}")))?;
        let realised = realise(&parsed.lock.payload.randomness, &body, stored_secret)?;
        let built = execute(
            &parsed,
            realised,
            Timestamp::from_unix(now.div_euclid(1000)),
            &signer,
        )?;
        let picks = |p: &[fairdraw_engine::bundle::Pick]| -> Vec<serde_json::Value> {
            p.iter()
                .filter_map(|x| serde_json::to_value(x).ok())
                .collect()
        };
        let (w, a) = match &built.execution {
            Some(x) => (picks(&x.payload.winners), picks(&x.payload.alternates)),
            None => (Vec::new(), Vec::new()),
        };
        let receipt = built
            .execution
            .as_ref()
            .ok_or_else(|| ApiError::Internal("an execution without its receipt".into()))?;
        let entry = LogEntry::execution(receipt).map_err(|e| ApiError::Internal(e.to_string()))?;
        let entry = NewLogEntry {
            kind: LogKind::Execution,
            leaf_hash: entry.leaf_hash(),
            entry: entry.to_bytes(),
        };
        let bytes = built.to_json();
        let sha = hex::encode(Sha256::digest(&bytes));
        Ok((bytes, sha, w, a, entry))
    })
    .await?;
    if let Some(hold) = state.execute_hold.as_ref().and_then(|h| h.take()) {
        // Development only (`--dev-execute-hold-ms`): the receipt is signed
        // but not stored, the draw's row still claimed.
        tracing::warn!(draw = %id, hold_ms = hold.as_millis(), "dev: holding the execution claim before committing");
        tokio::time::sleep(hold).await;
    }
    let executed = NewEvent::once(
        org,
        id,
        "draw.executed",
        serde_json::json!({
            "state": "executed",
            "bundle_sha256": sha,
            "winners": winners,
            "alternates": alternates,
            "executed_at": crate::routes::rfc3339(now),
        }),
    );
    let d = match claim
        .commit_with_events(&bundle, &sha, &entry, now, &[executed])
        .await
    {
        Ok(d) => d,
        Err(e) => return Err(lost(state, org, id, e, "execute").await),
    };
    state.ring_events();
    tracing::info!(draw = %d.id, bundle_sha256 = %sha, "draw executed");
    Ok(ExecuteView {
        draw: DrawView::of(&d)?,
        winners,
        alternates,
        bundle_sha256: sha,
    })
}
