//! Health, readiness and metrics.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(
    operation_id = "healthz",get, path = "/healthz", tag = "operations", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(
    operation_id = "readyz",get, path = "/readyz", tag = "operations",
    responses((status = 200, body = String), (status = 503, body = crate::error::Problem)))]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state
        .store
        .ready()
        .await
        .map_err(|e| ApiError::Unavailable(format!("not ready: {e}")))?;
    Ok("ready\n")
}

/// Prometheus metrics.
#[utoipa::path(
    operation_id = "metrics",get, path = "/metrics", tag = "operations", responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let counts = state.store.draw_counts().await?;
    let draws: Vec<(String, i64)> = fairdraw_store::DrawState::ALL
        .iter()
        .map(|s| {
            (
                s.as_str().to_owned(),
                counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n),
            )
        })
        .collect();
    let orgs = state.store.all_org_stats().await?;
    let mut res = state.metrics.render(&draws, &orgs).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}
