//! The routes, grouped by resource, and the JSON they exchange.

pub mod admin;
// utoipa's `IntoParams` expansion qualifies paths the lint calls unnecessary.
#[allow(unused_qualifications)]
pub mod draws;
#[allow(unused_qualifications)]
pub mod entries;
pub mod events;
#[allow(unused_qualifications)]
pub mod jobs;
pub mod lifecycle;
pub mod log;
pub mod ops;
pub mod pages;
pub mod public;
pub mod stats;
#[allow(unused_qualifications)]
pub mod webhooks;

use fairdraw_engine::time::Timestamp;
use fairdraw_store::Draw;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// Unix milliseconds as RFC 3339 (whole seconds, UTC).
pub fn rfc3339(ms: i64) -> String {
    Timestamp::from_unix(ms.div_euclid(1000)).to_string()
}

/// The URLs of a draw.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DrawLinks {
    /// The public summary.
    pub public: String,
    /// The signed lock file (once locked).
    pub lock_receipt: String,
    /// The proof bundle (once executed).
    pub bundle: String,
}

/// A draw as the API shows it to its organisation.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DrawView {
    /// The draw's id (also the engine's draw id).
    pub id: String,
    /// Human title.
    pub title: String,
    /// `draft`, `locked`, `executed`, `cancelled` or `failed`.
    pub state: String,
    /// The contest rules (the engine's rules JSON).
    #[schema(value_type = Object)]
    pub rules: serde_json::Value,
    /// The randomness asked for: `drand:quicknet`, `secret`, `rfc3797:…`.
    pub randomness: String,
    /// Entries uploaded, all collections.
    pub entries: i64,
    /// Eligible entrants, once locked.
    pub eligible: Option<i64>,
    /// Total tickets, once locked.
    pub total_tickets: Option<i64>,
    /// The lock receipt's hash to publish, once locked.
    pub lock_hash: Option<String>,
    /// The key id that signed the lock.
    pub signing_key_id: Option<String>,
    /// The declared randomness, once locked.
    #[schema(value_type = Option<Object>)]
    pub declared: Option<serde_json::Value>,
    /// When the randomness is available (RFC 3339), once locked.
    pub randomness_available_at: Option<String>,
    /// Why the draw failed.
    pub failure: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// RFC 3339, once locked.
    pub locked_at: Option<String>,
    /// RFC 3339, once executed.
    pub executed_at: Option<String>,
    /// Public URLs.
    pub links: DrawLinks,
    /// The job that will execute the draw by itself (a drand draw after
    /// lock: the beacon poll, then the execution), with its state,
    /// attempts and last error. Shown by `GET /v1/draws/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_job: Option<jobs::JobView>,
}

impl DrawView {
    /// The view of a stored draw.
    pub fn of(d: &Draw) -> Result<DrawView, ApiError> {
        let json = |s: &str| {
            serde_json::from_str::<serde_json::Value>(s)
                .map_err(|e| ApiError::Internal(format!("stored JSON of draw {}: {e}", d.id)))
        };
        Ok(DrawView {
            id: d.id.clone(),
            title: d.title.clone(),
            state: d.state.as_str().to_owned(),
            rules: json(&d.rules)?,
            randomness: d.randomness.clone(),
            entries: d.entry_count,
            eligible: d.eligible,
            total_tickets: d.total_tickets,
            lock_hash: d.lock_hash.clone(),
            signing_key_id: d.signing_key_id.clone(),
            declared: d.declared.as_deref().map(json).transpose()?,
            randomness_available_at: d.earliest_execution.map(rfc3339),
            failure: d.failure.clone(),
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
            locked_at: d.locked_at.map(rfc3339),
            executed_at: d.executed_at.map(rfc3339),
            links: DrawLinks {
                public: format!("/v1/public/draws/{}", d.id),
                lock_receipt: format!("/v1/public/draws/{}/lock-receipt", d.id),
                bundle: format!("/v1/public/draws/{}/bundle", d.id),
            },
            execution_job: None,
        })
    }
}

/// Keyset pagination over `(created_at, id)`, the cursor `CREATED.ID`.
#[derive(Debug)]
pub struct Cursor;

impl Cursor {
    /// The page size asked for: 1 to 200, 50 by default.
    pub fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
        let limit = asked.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::field("limit", "must be 1 to 200"));
        }
        Ok(limit)
    }

    /// The position a cursor names, or 422 for one this API did not return.
    pub fn parse(cursor: Option<&str>) -> Result<Option<(i64, String)>, ApiError> {
        let Some(c) = cursor else { return Ok(None) };
        let bad = || ApiError::field("cursor", "not a cursor this API returned");
        let (t, id) = c.split_once('.').ok_or_else(bad)?;
        Ok(Some((t.parse::<i64>().map_err(|_| bad())?, id.to_owned())))
    }

    /// The cursor of the page after `items` (absent when it was the last).
    pub fn next<T>(items: &[T], limit: i64, key: impl Fn(&T) -> (i64, &str)) -> Option<String> {
        if items.len() as i64 != limit {
            return None;
        }
        items.last().map(|x| {
            let (t, id) = key(x);
            format!("{t}.{id}")
        })
    }
}

/// Runs CPU-bound engine work off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("engine task: {e}")))?
}
