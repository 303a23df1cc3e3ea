//! `Idempotency-Key` on every private POST: the first request with a key
//! runs and its response is stored for 24 hours; a repeat gets the stored
//! status and body (`Idempotent-Replayed: true`); the same key with another
//! request gets 422; a concurrent repeat waits for the first to finish.
//! Entry uploads handle the key inside their own transaction (see
//! `routes::entries`), so their bodies are never buffered here.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fairdraw_store::IdempotencyClaim;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::read_body;
use crate::state::AppState;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on replayed responses.
pub const REPLAYED: &str = "idempotent-replayed";

/// The key from the headers, checked: 1 to 255 visible ASCII characters.
pub fn key(req_headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = req_headers.get(HEADER) else {
        return Ok(None);
    };
    let k = v
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    k.map(|k| Some(k.to_owned())).ok_or_else(|| {
        ApiError::field(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )
    })
}

/// Hash identifying a request: method, path with query, and body digest.
pub fn request_hash(method: &Method, path_and_query: &str, body_sha256: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update([0]);
    h.update(path_and_query.as_bytes());
    h.update([0]);
    h.update(body_sha256);
    hex::encode(h.finalize())
}

/// A stored response, replayed.
pub fn replay(status: u16, content_type: Option<String>, body: Vec<u8>) -> Response {
    let mut res = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    res.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

/// Whether a response is stored for replay: everything but server errors,
/// rate limiting and quota refusals (a retry of those should run again:
/// nothing was done, and the quota may have been raised since).
pub fn storable(status: StatusCode) -> bool {
    !status.is_server_error()
        && status != StatusCode::TOO_MANY_REQUESTS
        && status != StatusCode::PAYMENT_REQUIRED
}

/// The middleware (inside authentication).
pub async fn middleware(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if req.method() != Method::POST || req.uri().path().ends_with("/entries") {
        return Ok(next.run(req).await);
    }
    let Some(key) = key(req.headers())? else {
        return Ok(next.run(req).await);
    };
    let caller = req
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or(ApiError::Unauthorized(
            "missing API key: send `Authorization: Bearer <key>`",
        ))?;
    let (parts, body) = req.into_parts();
    let bytes = read_body(body, state.limits.max_json_bytes).await?;
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let hash = request_hash(&parts.method, &path, &Sha256::digest(&bytes));
    let org = caller.org().to_owned();
    // A concurrent request with the key runs at most ~30 s more.
    for _ in 0..600 {
        match state
            .store
            .idempotency_claim(&org, &key, &hash, state.now())
            .await?
        {
            IdempotencyClaim::Claimed => {
                let res = next
                    .run(Request::from_parts(parts, Body::from(bytes)))
                    .await;
                return finish(&state, &org, &key, res).await;
            }
            IdempotencyClaim::Replay {
                status,
                content_type,
                body,
            } => return Ok(replay(status, content_type, body)),
            IdempotencyClaim::Mismatch => return Err(ApiError::IdempotencyMismatch),
            IdempotencyClaim::InProgress => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    Err(ApiError::IdempotencyInProgress)
}

async fn finish(
    state: &AppState,
    org: &str,
    key: &str,
    res: Response,
) -> Result<Response, ApiError> {
    let status = res.status();
    if !storable(status) {
        state.store.idempotency_release(org, key).await?;
        return Ok(res);
    }
    let (mut parts, body) = res.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| ApiError::Internal(format!("buffering a response: {e}")))?
        .to_bytes();
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    state
        .store
        .idempotency_complete(org, key, status.as_u16(), ct, &bytes)
        .await?;
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
