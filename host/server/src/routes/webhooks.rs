//! The organisation's webhook endpoints and their deliveries. How a
//! delivery is signed and sent: [`crate::webhooks`].

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use fairdraw_store::{Delivery, JobState, Scope, WEBHOOK_EVENTS, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::routes::{Cursor, rfc3339};
use crate::state::AppState;

/// The longest endpoint URL.
const MAX_URL_CHARS: usize = 2048;

/// `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: `https://…` (or `http://`). A name
    /// that resolves to a private, loopback or link-local address is
    /// refused at every delivery unless the server allows it
    /// (`FAIRDRAW_WEBHOOK_ALLOW_PRIVATE`, `--dev`).
    pub url: String,
    /// Among `draw.locked`, `draw.executed`, `draw.failed`,
    /// `import.failed`.
    pub events: Vec<String>,
}

/// An endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Opaque id, `whk_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The subscribed event types.
    pub events: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl WebhookView {
    fn of(w: &Webhook) -> WebhookView {
        WebhookView {
            id: w.id.clone(),
            url: w.url.clone(),
            events: w.events.clone(),
            created_at: rfc3339(w.created_at),
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewWebhookView {
    /// The endpoint.
    pub webhook: WebhookView,
    /// `whsec_` and the base64 of the key: verify each delivery's
    /// `webhook-signature` with it. Stored encrypted: keep it now.
    pub secret: String,
}

/// A page of endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPage {
    /// Oldest first.
    pub webhooks: Vec<WebhookView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// From 1.
    pub n: i64,
    /// RFC 3339.
    pub started_at: String,
    /// Milliseconds.
    pub duration_ms: i64,
    /// The response status, when one came.
    pub status: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A message to an endpoint with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `msg_…`: the `webhook-id` header, the same on every attempt.
    pub id: String,
    /// The event type.
    pub event_type: String,
    /// The event id (`evt_…`).
    pub event_id: String,
    /// `pending` (attempts left), `delivered` (a 2xx), `dead` (every
    /// attempt failed; `POST /v1/jobs/{job_id}/retry` tries again) or
    /// `cancelled` (the endpoint was deleted first).
    pub status: String,
    /// The job delivering it.
    pub job_id: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last response status.
    pub last_status: Option<i64>,
    /// The last error.
    pub last_error: Option<String>,
    /// When the next attempt is due (RFC 3339), while pending.
    pub next_attempt_at: Option<String>,
    /// When a 2xx came back.
    pub delivered_at: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// The body sent on every attempt.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptView>,
}

impl DeliveryView {
    fn of(d: &Delivery) -> DeliveryView {
        let status = if d.delivered_at.is_some() {
            "delivered"
        } else {
            match d.job_state {
                JobState::Dead => "dead",
                JobState::Done => "cancelled",
                JobState::Queued | JobState::Running => "pending",
            }
        };
        DeliveryView {
            id: d.id.clone(),
            event_type: d.event_type.clone(),
            event_id: d.event_id.clone(),
            status: status.to_owned(),
            job_id: d.job_id.clone(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            next_attempt_at: d.next_attempt_at.map(rfc3339),
            delivered_at: d.delivered_at.map(rfc3339),
            created_at: rfc3339(d.created_at),
            payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
            attempt_log: d
                .attempt_log
                .iter()
                .map(|a| AttemptView {
                    n: a.n,
                    started_at: rfc3339(a.started_at),
                    duration_ms: a.duration_ms,
                    status: a.status,
                    error: a.error.clone(),
                })
                .collect(),
        }
    }
}

/// A page of deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    /// Oldest first.
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Keyset page query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Registers an endpoint for some of `draw.locked`, `draw.executed`,
/// `draw.failed` and `import.failed`; answers its `whsec_` secret this once
/// (it is stored encrypted under the master key). Admin scope.
///
/// `import.failed` is accepted, but this server does not import through
/// plugins yet, so it never sends one.
#[utoipa::path(
    operation_id = "createWebhook",post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = NewWebhookView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<NewWebhookView>), ApiError> {
    caller.require(Scope::Admin)?;
    let mut errors = Vec::new();
    if body.url.chars().count() > MAX_URL_CHARS {
        errors.push((
            "url".to_owned(),
            format!("longer than {MAX_URL_CHARS} characters"),
        ));
    } else if let Err(e) = state.webhooks.check_url(&body.url) {
        let hint = if state.webhooks.allows_private() {
            String::new()
        } else {
            " (private destinations need FAIRDRAW_WEBHOOK_ALLOW_PRIVATE, a development setting)"
                .to_owned()
        };
        errors.push(("url".to_owned(), format!("{e}{hint}")));
    }
    let mut events: Vec<String> = Vec::new();
    if body.events.is_empty() {
        errors.push((
            "events".to_owned(),
            format!("name at least one of {}", WEBHOOK_EVENTS.join(", ")),
        ));
    }
    for (i, e) in body.events.iter().enumerate() {
        if !WEBHOOK_EVENTS.contains(&e.as_str()) {
            errors.push((
                format!("events[{i}]"),
                format!("must be one of {}", WEBHOOK_EVENTS.join(", ")),
            ));
        } else if !events.contains(e) {
            events.push(e.clone());
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(
            errors
                .into_iter()
                .map(|(field, detail)| crate::error::FieldError { field, detail })
                .collect(),
        ));
    }
    let (secret, bytes) = crate::webhooks::new_secret()?;
    let w = state
        .store
        .create_webhook(caller.org(), &body.url, &events, &bytes, state.now())
        .await?;
    tracing::info!(webhook = %w.id, events = ?w.events, "webhook endpoint registered");
    Ok((
        StatusCode::CREATED,
        Json(NewWebhookView {
            webhook: WebhookView::of(&w),
            secret,
        }),
    ))
}

/// The organisation's endpoints, oldest first (keyset pages).
#[utoipa::path(
    operation_id = "listWebhooks",get, path = "/v1/webhooks", tag = "webhooks", params(PageQuery),
    responses((status = 200, body = WebhookPage), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<WebhookPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = Cursor::limit(q.limit)?;
    let after = Cursor::parse(q.cursor.as_deref())?;
    let hooks = state.store.webhooks(caller.org(), after, limit).await?;
    Ok(Json(WebhookPage {
        next_cursor: Cursor::next(&hooks, limit, |w| (w.created_at, w.id.as_str())),
        webhooks: hooks.iter().map(WebhookView::of).collect(),
    }))
}

/// Deletes an endpoint: no new deliveries, and the pending ones end
/// without another attempt (`cancelled`). Admin scope.
#[utoipa::path(
    operation_id = "deleteWebhook",delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Another organisation's endpoint is 404 whatever the key's scope.
    state.store.webhook(caller.org(), &id).await?;
    caller.require(Scope::Admin)?;
    state
        .store
        .delete_webhook(caller.org(), &id, state.now())
        .await?;
    tracing::info!(webhook = %id, "webhook endpoint deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's deliveries, oldest first (keyset pages), each with its
/// status, attempts (status code, error, duration) and the body sent.
#[utoipa::path(
    operation_id = "listWebhookDeliveries",get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = DeliveryPage), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    state.store.webhook(caller.org(), &id).await?;
    caller.require(Scope::Read)?;
    let limit = Cursor::limit(q.limit)?;
    let after = Cursor::parse(q.cursor.as_deref())?;
    let ds = state
        .store
        .deliveries(caller.org(), &id, after, limit)
        .await?;
    Ok(Json(DeliveryPage {
        next_cursor: Cursor::next(&ds, limit, |d| (d.created_at, d.id.as_str())),
        deliveries: ds.iter().map(DeliveryView::of).collect(),
    }))
}
