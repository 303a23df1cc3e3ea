//! Creating, reading, listing and cancelling draws.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use fairdraw_engine::PROTOCOL_VERSION;
use fairdraw_engine::draw::check_identity_for;
use fairdraw_engine::randomness::spec::Spec;
use fairdraw_engine::rules::{RuleError, Rules};
use fairdraw_store::{DrawFilter, DrawState, JobKind, NewDraw, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::ApiJson;
use crate::routes::jobs::JobView;
use crate::routes::{Cursor, DrawView};
use crate::state::AppState;

/// The randomness used when a draw does not name one.
pub const DEFAULT_RANDOMNESS: &str = "drand:quicknet";

/// `POST /v1/draws`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDraw {
    /// Human title, at most 200 characters.
    #[serde(default)]
    pub title: String,
    /// The contest rules: the engine's rules JSON (engine/rules.schema.json).
    #[schema(value_type = Object)]
    pub rules: serde_json::Value,
    /// `drand:quicknet` (default), `drand:default`, `drand:CHAIN:ROUND`,
    /// `secret` (commit-reveal) or `rfc3797:DESCRIPTION;NAME=COUNTxMIN-MAX;…`
    /// (the sources described, then each one's count of numbers and range).
    #[serde(default)]
    pub randomness: Option<String>,
}

/// Validates rules JSON, naming the field at fault (`rules.…`).
pub fn validate_rules(v: &serde_json::Value) -> Result<(Rules, String), ApiError> {
    let text = serde_json::to_string(v).map_err(|e| ApiError::field("rules", e.to_string()))?;
    let rules = match Rules::from_json(text.as_bytes()) {
        Ok(r) => r,
        Err(RuleError::Invalid { field, problem }) => {
            return Err(ApiError::field(format!("rules.{field}"), problem));
        }
        Err(e) => {
            // Name the field with a path-tracking parse of the same bytes.
            let mut de = serde_json::Deserializer::from_str(&text);
            let field = match serde_path_to_error::deserialize::<_, Rules>(&mut de) {
                Err(pe) => {
                    let path = pe.path().to_string();
                    let msg = pe.inner().to_string();
                    let missing = msg
                        .strip_prefix("missing field `")
                        .and_then(|m| m.split('`').next());
                    match (missing, path.as_str()) {
                        (Some(f), ".") => format!("rules.{f}"),
                        (Some(f), p) => format!("rules.{p}.{f}"),
                        (None, ".") => "rules".to_owned(),
                        (None, p) => format!("rules.{p}"),
                    }
                }
                Ok(_) => "rules".to_owned(),
            };
            return Err(ApiError::field(field, e.to_string()));
        }
    };
    rules
        .validate_for(fairdraw_engine::PROTOCOL_VERSION)
        .map_err(|e| match e {
            RuleError::Invalid { field, problem } => {
                ApiError::field(format!("rules.{field}"), problem)
            }
            other => ApiError::field("rules", other.to_string()),
        })?;
    Ok((rules, text))
}

/// Creates a draft draw.
#[utoipa::path(
    operation_id = "createDraw",post, path = "/v1/draws", tag = "draws", request_body = CreateDraw,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the stored response for 24 h")),
    responses((status = 201, body = DrawView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 402, body = Problem, description = "The draws quota is used up"),
        (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateDraw>,
) -> Result<(StatusCode, Json<DrawView>), ApiError> {
    caller.require(Scope::Write)?;
    let mut errors: Vec<FieldError> = Vec::new();
    let mut collect = |r: Result<(), ApiError>| {
        if let Err(ApiError::Invalid(e)) = r {
            errors.extend(e);
        }
    };
    // The title as the lock will check it (the draft id is the server's).
    collect(check_identity_for(PROTOCOL_VERSION, "x", &body.title).map_err(ApiError::from));
    let randomness = body
        .randomness
        .clone()
        .unwrap_or_else(|| DEFAULT_RANDOMNESS.to_owned());
    collect(
        Spec::parse(&randomness)
            .map(|_| ())
            .map_err(|e| ApiError::field("randomness", e.to_string())),
    );
    let rules = validate_rules(&body.rules);
    let rules_text = match rules {
        Ok((_, text)) => Some(text),
        Err(e) => {
            collect(Err(e));
            None
        }
    };
    let (true, Some(rules_text)) = (errors.is_empty(), rules_text) else {
        return Err(ApiError::Invalid(errors));
    };
    let draw = state
        .store
        .create_draw(
            &NewDraw {
                org_id: caller.org().to_owned(),
                title: body.title,
                rules: rules_text,
                randomness,
            },
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(DrawView::of(&draw)?)))
}

/// One of the organisation's draws, with its state and counts.
#[utoipa::path(
    operation_id = "getDraw",get, path = "/v1/draws/{id}", tag = "draws", params(("id" = String, Path)),
    responses((status = 200, body = DrawView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DrawView>, ApiError> {
    caller.require(Scope::Read)?;
    let d = state.store.draw(caller.org(), &id).await?;
    let mut view = DrawView::of(&d)?;
    view.execution_job = state
        .store
        .draw_job(&d.id, &[JobKind::PollBeacon, JobKind::ExecuteDraw])
        .await?
        .as_ref()
        .map(JobView::of);
    Ok(Json(view))
}

/// `GET /v1/draws` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only draws in this state.
    pub state: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// A page of draws.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrawPage {
    /// The draws, oldest first.
    pub draws: Vec<DrawView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The organisation's draws, oldest first, with keyset pagination.
#[utoipa::path(
    operation_id = "listDraws",get, path = "/v1/draws", tag = "draws", params(ListQuery),
    responses((status = 200, body = DrawPage), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<DrawPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = Cursor::limit(q.limit)?;
    let st = match q.state.as_deref() {
        None => None,
        Some(s) => Some(DrawState::parse(s).map_err(|_| {
            ApiError::field(
                "state",
                "must be one of draft, locked, executed, cancelled, failed",
            )
        })?),
    };
    let after = Cursor::parse(q.cursor.as_deref())?;
    let draws = state
        .store
        .draws(
            caller.org(),
            &DrawFilter {
                state: st,
                after,
                limit,
            },
        )
        .await?;
    let next_cursor = Cursor::next(&draws, limit, |d| (d.created_at, d.id.as_str()));
    Ok(Json(DrawPage {
        draws: draws.iter().map(DrawView::of).collect::<Result<_, _>>()?,
        next_cursor,
    }))
}

/// Cancels a draft (409 with the current state after lock).
#[utoipa::path(
    operation_id = "cancelDraw",post, path = "/v1/draws/{id}/cancel", tag = "draws", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = DrawView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DrawView>, ApiError> {
    // Another organisation's draw is 404 whatever the key's scope.
    state.store.draw(caller.org(), &id).await?;
    caller.require(Scope::Write)?;
    let d = state
        .store
        .cancel_draw(caller.org(), &id, state.now())
        .await
        .map_err(|e| match e {
            fairdraw_store::StoreError::State(s) => ApiError::Conflict {
                state: s,
                detail: "only a draft can be cancelled".into(),
                current: None,
            },
            other => other.into(),
        })?;
    Ok(Json(DrawView::of(&d)?))
}
