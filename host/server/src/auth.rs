//! API-key authentication, scopes and rate limits.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use fairdraw_store::{ApiKey, Scope};

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a private route.
#[derive(Clone, Debug)]
pub struct Caller(pub ApiKey);

impl Caller {
    /// The caller's organisation.
    pub fn org(&self) -> &str {
        &self.0.org_id
    }

    /// Fails with 403 unless the key's scope includes `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.0.scope >= scope {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this API key has scope `{}`; this needs `{}`",
                self.0.scope.as_str(),
                scope.as_str()
            )))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::Unauthorized(
                "missing API key: send `Authorization: Bearer <key>`",
            ))
    }
}

/// Middleware of the private routes: resolves the bearer key (401 when
/// missing, unknown or revoked), applies its rate limit (429), and hands the
/// [`Caller`] to the handlers.
pub async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(ApiError::Unauthorized(
            "missing API key: send `Authorization: Bearer <key>`",
        ))?;
    let key = state
        .store
        .authenticate(token)
        .await?
        .ok_or(ApiError::Unauthorized("the API key is unknown or revoked"))?;
    state.rate.check_key(&key.id)?;
    req.extensions_mut().insert(Caller(key));
    Ok(next.run(req).await)
}

/// Middleware of the public routes: a rate limit per client IP (the TCP
/// peer; put a trusted proxy's own limits in front for X-Forwarded-For).
pub async fn limit_ip(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    state.rate.check_ip(&ip)?;
    Ok(next.run(req).await)
}
