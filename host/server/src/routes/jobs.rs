//! The organisation's background jobs: list them (with their attempts and
//! last error) and retry a dead one.

use axum::Json;
use axum::extract::{Path, Query, State};
use fairdraw_store::{Job, JobFilter, JobState, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::routes::{Cursor, rfc3339};
use crate::state::AppState;

/// A background job as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Opaque id, `job_…`.
    pub id: String,
    /// `poll_beacon` (fetch the declared drand round when due),
    /// `execute_draw` (execute with the verified round) or
    /// `deliver_webhook` (send one webhook message).
    pub kind: String,
    /// `queued`, `running`, `done` or `dead`.
    pub state: String,
    /// The draw it works on.
    pub draw_id: Option<String>,
    /// When it is (or was) due, RFC 3339.
    pub run_at: String,
    /// Attempts started so far.
    pub attempts: i64,
    /// Attempts before it is dead.
    pub max_attempts: i64,
    /// The last attempt's error, or why it waits.
    pub last_error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// When it became done or dead, RFC 3339.
    pub finished_at: Option<String>,
}

impl JobView {
    /// The view of a stored job.
    pub fn of(j: &Job) -> JobView {
        JobView {
            id: j.id.clone(),
            kind: j.kind.as_str().to_owned(),
            state: j.state.as_str().to_owned(),
            draw_id: j.draw_id.clone(),
            run_at: rfc3339(j.run_at),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error.clone(),
            created_at: rfc3339(j.created_at),
            updated_at: rfc3339(j.updated_at),
            finished_at: j.finished_at.map(rfc3339),
        }
    }
}

/// `GET /v1/jobs` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only jobs in this state: `queued`, `running`, `done` or `dead`.
    pub state: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// A page of jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    /// The jobs, oldest first.
    pub jobs: Vec<JobView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The organisation's background jobs, oldest first, with keyset
/// pagination: `?state=dead` lists the jobs that failed every attempt,
/// with their last error.
#[utoipa::path(
    operation_id = "listJobs",get, path = "/v1/jobs", tag = "jobs", params(JobQuery),
    responses((status = 200, body = JobPage), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<JobQuery>,
) -> Result<Json<JobPage>, ApiError> {
    caller.require(Scope::Read)?;
    let limit = Cursor::limit(q.limit)?;
    let st =
        match q.state.as_deref() {
            None => None,
            Some(s) => Some(JobState::parse(s).map_err(|_| {
                ApiError::field("state", "must be one of queued, running, done, dead")
            })?),
        };
    let after = Cursor::parse(q.cursor.as_deref())?;
    let jobs = state
        .store
        .jobs(
            caller.org(),
            &JobFilter {
                state: st,
                after,
                limit,
            },
        )
        .await?;
    Ok(Json(JobPage {
        next_cursor: Cursor::next(&jobs, limit, |j| (j.created_at, j.id.as_str())),
        jobs: jobs.iter().map(JobView::of).collect(),
    }))
}

/// Queues a dead job again, due now, with its attempts reset (409 for a
/// job that is not dead).
#[utoipa::path(
    operation_id = "retryJob",post, path = "/v1/jobs/{id}/retry", tag = "jobs", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = JobView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    // Another organisation's job is 404 whatever the key's scope.
    state.store.job(caller.org(), &id).await?;
    caller.require(Scope::Write)?;
    let j = state
        .store
        .retry_job(caller.org(), &id, state.now())
        .await?;
    tracing::info!(job = %j.id, kind = %j.kind, "dead job queued again");
    Ok(Json(JobView::of(&j)))
}
