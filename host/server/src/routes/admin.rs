//! Admin routes: the organisation's API keys and signing key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fairdraw_store::{ApiKey, Scope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::routes::rfc3339;
use crate::state::AppState;

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// The key id (`key_…`).
    pub id: String,
    /// `read`, `write` or `admin`.
    pub scope: String,
    /// Free-form label.
    pub label: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, once revoked.
    pub revoked_at: Option<String>,
}

impl From<&ApiKey> for KeyView {
    fn from(k: &ApiKey) -> Self {
        KeyView {
            id: k.id.clone(),
            scope: k.scope.as_str().to_owned(),
            label: k.label.clone(),
            created_at: rfc3339(k.created_at),
            revoked_at: k.revoked_at.map(rfc3339),
        }
    }
}

/// `POST /v1/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// `read`, `write` or `admin`.
    pub scope: String,
    /// Free-form label.
    #[serde(default)]
    pub label: String,
}

/// A new key with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewKeyView {
    /// The key.
    pub key: KeyView,
    /// The bearer token. It is stored only as a hash: keep it now.
    pub secret: String,
}

/// The organisation's API keys.
#[utoipa::path(
    operation_id = "listApiKeys",get, path = "/v1/keys", tag = "admin",
    responses((status = 200, body = Vec<KeyView>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Json(
        state
            .store
            .api_keys(caller.org())
            .await?
            .iter()
            .map(KeyView::from)
            .collect(),
    ))
}

/// Creates an API key.
#[utoipa::path(
    operation_id = "createApiKey",post, path = "/v1/keys", tag = "admin", request_body = CreateKey,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = NewKeyView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<NewKeyView>), ApiError> {
    caller.require(Scope::Admin)?;
    let scope = Scope::parse(&body.scope)
        .ok_or_else(|| ApiError::field("scope", "must be read, write or admin"))?;
    if body.label.chars().count() > 200 {
        return Err(ApiError::field("label", "at most 200 characters"));
    }
    let k = state
        .store
        .create_api_key(caller.org(), scope, &body.label, state.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewKeyView {
            key: KeyView::from(&k.key),
            secret: k.secret,
        }),
    ))
}

/// Revokes one of the organisation's API keys (at once, on every replica).
#[utoipa::path(
    operation_id = "revokeApiKey",post, path = "/v1/keys/{key_id}/revoke", tag = "admin", params(("key_id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = KeyView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(key_id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    // Another organisation's key is 404 whatever the caller's scope.
    if !state
        .store
        .api_keys(caller.org())
        .await?
        .iter()
        .any(|k| k.id == key_id)
    {
        return Err(ApiError::NotFound("API key"));
    }
    caller.require(Scope::Admin)?;
    let k = state
        .store
        .revoke_api_key(Some(caller.org()), &key_id, state.now())
        .await?;
    Ok(Json(KeyView::from(&k)))
}

/// The new signing key after a rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyView {
    /// SHA-256 of the public key.
    pub key_id: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// RFC 3339.
    pub valid_from: String,
}

/// Rotates the organisation's signing key; the retired key stays published.
#[utoipa::path(
    operation_id = "rotateSigningKey",post, path = "/v1/signing-key/rotate", tag = "admin", params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = SigningKeyView), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SigningKeyView>, ApiError> {
    caller.require(Scope::Admin)?;
    let k = state
        .store
        .rotate_signing_key(caller.org(), state.now())
        .await?;
    Ok(Json(SigningKeyView {
        key_id: k.key_id,
        public_key: k.public_key,
        valid_from: rfc3339(k.valid_from),
    }))
}
