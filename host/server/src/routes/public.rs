//! Public, unauthenticated routes: what results pages, the widget and
//! verifiers read.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::prove::{EntrantProof, prove_entrant};
use fairdraw_engine::randomness::Declared;
use fairdraw_engine::rules::Rules;
use fairdraw_store::DrawState;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::routes::{blocking, rfc3339};
use crate::state::{AppState, Immutable};

/// `Cache-Control` of documents that never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A draw's public summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicDraw {
    /// The draw id.
    pub id: String,
    /// Human title.
    pub title: String,
    /// The organisation running it.
    pub organization: String,
    /// `draft`, `locked`, `executed`, `cancelled` or `failed`.
    pub state: String,
    /// The contest rules (the engine's rules JSON).
    #[schema(value_type = Object)]
    pub rules: serde_json::Value,
    /// The rules in plain words: one English sentence per rule, in the
    /// order the engine applies them (the engine's `Rules::describe`).
    pub rules_in_words: Vec<String>,
    /// The randomness in words, once declared (for example "drand quicknet
    /// round 123 (due 2026-…)").
    pub randomness: Option<String>,
    /// The declared drand round, if any.
    pub round: Option<u64>,
    /// When the randomness is due, RFC 3339.
    pub randomness_available_at: Option<String>,
    /// The lock receipt's hash.
    pub lock_hash: Option<String>,
    /// Entries received.
    pub entries: i64,
    /// Eligible entrants.
    pub eligible: Option<i64>,
    /// Total tickets.
    pub total_tickets: Option<i64>,
    /// RFC 3339.
    pub locked_at: Option<String>,
    /// RFC 3339.
    pub executed_at: Option<String>,
    /// The lock file URL, once locked.
    pub lock_receipt_url: Option<String>,
    /// The proof bundle URL, once executed.
    pub bundle_url: Option<String>,
}

/// A draw's public summary: state, rules (JSON and in plain words), lock hash, declared round and its time.
#[utoipa::path(
    operation_id = "getPublicDraw",get, path = "/v1/public/draws/{id}", tag = "public", params(("id" = String, Path)),
    responses((status = 200, body = PublicDraw), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn summary(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PublicDraw>, ApiError> {
    let d = state.store.public_draw(&id).await?;
    let org = state.store.org(&d.org_id).await?;
    let declared: Option<Declared> = d
        .declared
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok());
    let round = declared
        .as_ref()
        .and_then(Declared::drand_round)
        .map(|(_, r)| r);
    let locked =
        matches!(d.state, DrawState::Locked | DrawState::Executed) || d.lock_hash.is_some();
    let rules_in_words = Rules::from_json(d.rules.as_bytes())
        .map_err(|e| ApiError::Internal(format!("stored rules of draw {}: {e}", d.id)))?
        .describe();
    Ok(Json(PublicDraw {
        id: d.id.clone(),
        title: d.title.clone(),
        organization: org.name,
        state: d.state.as_str().to_owned(),
        rules: serde_json::from_str(&d.rules)
            .map_err(|e| ApiError::Internal(format!("stored rules: {e}")))?,
        rules_in_words,
        randomness: declared.as_ref().map(Declared::describe),
        round,
        randomness_available_at: d.earliest_execution.map(rfc3339),
        lock_hash: d.lock_hash.clone(),
        entries: d.entry_count,
        eligible: d.eligible,
        total_tickets: d.total_tickets,
        locked_at: d.locked_at.map(rfc3339),
        executed_at: d.executed_at.map(rfc3339),
        lock_receipt_url: locked.then(|| format!("/v1/public/draws/{}/lock-receipt", d.id)),
        bundle_url: (d.state == DrawState::Executed)
            .then(|| format!("/v1/public/draws/{}/bundle", d.id)),
    }))
}

fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Sha256::digest(bytes)))
}

/// Serves an immutable document: the cached bytes (shared, not copied),
/// strong ETag, `304` on `If-None-Match`, and a year of public caching.
/// `Cache-Control` of a bundle that carries (or will carry) log proofs:
/// the witnesses' cosignatures on its checkpoint accrue, so caches
/// revalidate with the strong ETag.
pub const REVALIDATE: &str = "public, no-cache";

fn serve_immutable(doc: Immutable, headers: &HeaderMap) -> Response {
    serve_with(doc, headers, IMMUTABLE)
}

fn serve_with(doc: Immutable, headers: &HeaderMap, cache_control: &'static str) -> Response {
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == doc.etag || t.trim() == "*")
        });
    let mut res = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(doc.bytes));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Ok(v) = HeaderValue::from_str(&doc.etag) {
        h.insert(header::ETAG, v);
    }
    res
}

async fn lock_doc(state: &AppState, id: &str) -> Result<Immutable, ApiError> {
    state
        .cache
        .get_or_load(&format!("lock:{id}"), || async {
            let lock = state
                .store
                .lock_file(id)
                .await
                .map_err(|_| ApiError::NotFound("lock receipt (the draw is not locked)"))?;
            Ok(Immutable {
                etag: etag_of(&lock.lock_file),
                bytes: Bytes::from(lock.lock_file),
            })
        })
        .await
}

async fn bundle_doc(state: &AppState, id: &str) -> Result<Immutable, ApiError> {
    state
        .cache
        .get_or_load(&format!("bundle:{id}"), || async {
            let b = state
                .store
                .bundle(id)
                .await
                .map_err(|_| ApiError::NotFound("bundle (the draw is not executed)"))?;
            Ok(Immutable {
                etag: format!("\"{}\"", b.sha256),
                bytes: Bytes::from(b.bundle),
            })
        })
        .await
}

/// The signed lock file (a bundle without its execution), as `fairdraw
/// verify` and `fairdraw prove` read it. Immutable once locked.
#[utoipa::path(
    operation_id = "getLockReceipt",get, path = "/v1/public/draws/{id}/lock-receipt", tag = "public", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/json", body = Object), (status = 304), (status = 404, body = Problem)))]
pub async fn lock_receipt(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(serve_immutable(lock_doc(&state, &id).await?, &headers))
}

/// The proof bundle, byte-identical to what `fairdraw verify` accepts.
/// On a server without a transparency log it is immutable: strong ETag and
/// `Cache-Control: public, max-age=31536000, immutable`. With a log, it
/// carries the log proofs of its receipts from the latest checkpoint
/// (member `log`, PROTOCOL.md §14) and is served `no-cache` with a strong
/// ETag, as witness cosignatures accrue.
#[utoipa::path(
    operation_id = "getBundle",get, path = "/v1/public/draws/{id}/bundle", tag = "public", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/json", body = Object), (status = 304), (status = 404, body = Problem)))]
pub async fn bundle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let doc = bundle_doc(&state, &id).await?;
    if state.log.is_none() {
        return Ok(serve_immutable(doc, &headers));
    }
    let Some(proofs) = crate::routes::log::proofs_for(&state, &id).await? else {
        // Not in a checkpoint yet: the proofs are seconds away.
        return Ok(serve_with(doc, &headers, REVALIDATE));
    };
    let key = {
        let mut h = Sha256::new();
        h.update(proofs.lock.as_bytes());
        h.update(proofs.execution.as_deref().unwrap_or("").as_bytes());
        format!("bundle:{id}:log:{}", hex::encode(h.finalize()))
    };
    let logged = state
        .cache
        .get_or_load(&key, || async {
            let bytes = doc.bytes.clone();
            blocking(move || {
                let mut parsed = ParsedBundle::parse(&bytes)
                    .map_err(|e| ApiError::Internal(format!("stored bundle: {e}")))?;
                parsed.log = Some(fairdraw_engine::bundle::LogProofs {
                    lock: proofs.lock,
                    execution: proofs.execution,
                });
                let out = parsed.to_json();
                Ok(Immutable {
                    etag: format!("\"{}\"", hex::encode(Sha256::digest(&out))),
                    bytes: Bytes::from(out),
                })
            })
            .await
        })
        .await?;
    Ok(serve_with(logged, &headers, REVALIDATE))
}

/// An entrant's tickets and Merkle inclusion proof, or the rule that
/// excluded each of their entries (the engine's `prove_entrant`).
#[utoipa::path(
    operation_id = "getEntrant",get, path = "/v1/public/draws/{id}/entrants/{handle}", tag = "public",
    params(("id" = String, Path), ("handle" = String, Path, description = "Handle (with or without @) or platform user id")),
    responses((status = 200, content_type = "application/json", body = Object), (status = 404, body = Problem)))]
pub async fn entrant(
    State(state): State<AppState>,
    Path((id, handle)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let doc = match bundle_doc(&state, &id).await {
        Ok(d) => d,
        Err(_) => lock_doc(&state, &id)
            .await
            .map_err(|_| ApiError::NotFound("draw proof (the draw is not locked)"))?,
    };
    let proof: EntrantProof = blocking(move || {
        let parsed = ParsedBundle::parse(&doc.bytes)
            .map_err(|e| ApiError::Internal(format!("stored bundle: {e}")))?;
        Ok(prove_entrant(&parsed, &handle)?)
    })
    .await?;
    Ok(Json(proof).into_response())
}

/// One published signing key.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedKey {
    /// The organisation's id.
    pub organization_id: String,
    /// The organisation's name.
    pub organization: String,
    /// SHA-256 of the public key (the receipts' `key_id`).
    pub key_id: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// RFC 3339 start of validity.
    pub valid_from: String,
    /// RFC 3339 end of validity, for retired keys.
    pub valid_until: Option<String>,
}

/// `/.well-known/fairdraw-keys.json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeysDocument {
    /// Every organisation's signing keys, active and retired.
    pub keys: Vec<PublishedKey>,
}

/// Every organisation's signing keys with their validity periods, so old
/// bundles still verify after a rotation.
#[utoipa::path(
    operation_id = "getPublishedKeys",get, path = "/.well-known/fairdraw-keys.json", tag = "public",
    responses((status = 200, body = KeysDocument)))]
pub async fn keys(State(state): State<AppState>) -> Result<Json<KeysDocument>, ApiError> {
    let keys = state
        .store
        .published_keys()
        .await?
        .into_iter()
        .map(|(name, k)| PublishedKey {
            organization_id: k.org_id,
            organization: name,
            key_id: k.key_id,
            public_key: k.public_key,
            valid_from: rfc3339(k.valid_from),
            valid_until: k.valid_until.map(rfc3339),
        })
        .collect();
    Ok(Json(KeysDocument { keys }))
}
