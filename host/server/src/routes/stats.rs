//! `GET /v1/stats`: the organisation's draws by state, usage against its
//! quotas, and the mean time from lock to execution.

use axum::Json;
use axum::extract::State;
use fairdraw_store::{OrgStats, QuotaKind, Scope, Usage};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// Draws by state.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct DrawsByState {
    /// Every draw of the organisation.
    pub total: i64,
    /// Drafts.
    pub draft: i64,
    /// Locked, not executed yet.
    pub locked: i64,
    /// Executed.
    pub executed: i64,
    /// Cancelled before lock.
    pub cancelled: i64,
    /// Failed after lock.
    pub failed: i64,
}

/// One counted resource: how much is used and the quota.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct QuotaView {
    /// Used so far (a cancelled draw and its entries still count).
    pub used: i64,
    /// The quota set by an operator (`fairdraw admin set-quota`); `null`
    /// when unlimited.
    pub limit: Option<i64>,
    /// What is left before the quota (`null` when unlimited; 0 when used
    /// up or over).
    pub remaining: Option<i64>,
}

/// Usage against the quotas.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UsageView {
    /// Draws created.
    pub draws: QuotaView,
    /// Entries imported (uploads accepted; a repeated upload adds nothing).
    pub entries: QuotaView,
    /// Draws executed.
    pub executions: QuotaView,
}

/// `GET /v1/stats`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatsView {
    /// The caller's organisation.
    pub org_id: String,
    /// Draws by state.
    pub draws: DrawsByState,
    /// Entries imported.
    pub entries: i64,
    /// Draws executed.
    pub executions: i64,
    /// The mean time from lock to execution over executed draws, seconds;
    /// `null` before the first execution.
    pub mean_lock_to_execution_seconds: Option<f64>,
    /// Usage and quotas.
    pub usage: UsageView,
}

fn quota(u: &Usage, kind: QuotaKind) -> QuotaView {
    let used = u.used(kind);
    let limit = u.limit(kind);
    QuotaView {
        used,
        limit,
        remaining: limit.map(|l| (l - used).max(0)),
    }
}

impl StatsView {
    /// The view of an organisation's figures.
    pub fn of(s: &OrgStats) -> StatsView {
        let mut draws = DrawsByState::default();
        for (state, n) in &s.draws_by_state {
            draws.total += n;
            *match state {
                fairdraw_store::DrawState::Draft => &mut draws.draft,
                fairdraw_store::DrawState::Locked => &mut draws.locked,
                fairdraw_store::DrawState::Executed => &mut draws.executed,
                fairdraw_store::DrawState::Cancelled => &mut draws.cancelled,
                fairdraw_store::DrawState::Failed => &mut draws.failed,
            } += n;
        }
        let u = &s.usage;
        StatsView {
            org_id: u.org_id.clone(),
            draws,
            entries: u.entries,
            executions: u.executions,
            mean_lock_to_execution_seconds: u.mean_lock_to_execution_ms().map(|ms| ms / 1000.0),
            usage: UsageView {
                draws: quota(u, QuotaKind::Draws),
                entries: quota(u, QuotaKind::Entries),
                executions: quota(u, QuotaKind::Executions),
            },
        }
    }
}

/// The caller's organisation's figures: draws by state, entries imported,
/// executions, usage against its quotas and the mean time from lock to
/// execution. Read scope.
#[utoipa::path(
    operation_id = "getStats",get, path = "/v1/stats", tag = "stats",
    responses((status = 200, body = StatsView), (status = 401, body = Problem), (status = 429, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<StatsView>, ApiError> {
    caller.require(Scope::Read)?;
    let s = state.store.org_stats(caller.org()).await?;
    Ok(Json(StatsView::of(&s)))
}
