//! Usage counters and quotas per organisation, and the statistics of
//! `GET /v1/stats` and `/metrics`.
//!
//! Each counter is charged by [`charge`] inside the transaction of its
//! effect (the draw's insert, the upload's commit, the execution's commit)
//! with one conditional `UPDATE`: PostgreSQL's row lock (a waiting `UPDATE`
//! re-checks its `WHERE` on the committed row) and SQLite's write lock
//! serialise concurrent charges, so a quota is never crossed, and a refused
//! charge rolls the whole effect back.

use serde::Serialize;

use crate::db::{RowExt, Tx, on_db, on_tx};
use crate::{DrawState, Store, StoreError};

/// A counted resource, each with an optional quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaKind {
    /// Draws created.
    Draws,
    /// Entries imported (accepted uploads).
    Entries,
    /// Draws executed.
    Executions,
}

impl QuotaKind {
    /// Every kind, in display order.
    pub const ALL: [QuotaKind; 3] = [QuotaKind::Draws, QuotaKind::Entries, QuotaKind::Executions];

    /// The name used in the API, the CLI and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::Draws => "draws",
            QuotaKind::Entries => "entries",
            QuotaKind::Executions => "executions",
        }
    }

    fn columns(self) -> (&'static str, &'static str) {
        match self {
            QuotaKind::Draws => ("draws", "draws_quota"),
            QuotaKind::Entries => ("entries", "entries_quota"),
            QuotaKind::Executions => ("executions", "executions_quota"),
        }
    }
}

impl std::fmt::Display for QuotaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An organisation's usage and quotas.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// The organisation.
    pub org_id: String,
    /// Draws created.
    pub draws: i64,
    /// Entries imported.
    pub entries: i64,
    /// Draws executed.
    pub executions: i64,
    /// Sum over executed draws of the time from lock to execution, ms.
    pub lock_to_execution_ms: i64,
    /// The draws quota, if any.
    pub draws_quota: Option<i64>,
    /// The entries quota, if any.
    pub entries_quota: Option<i64>,
    /// The executions quota, if any.
    pub executions_quota: Option<i64>,
}

impl Usage {
    /// The count of `kind` used so far.
    pub fn used(&self, kind: QuotaKind) -> i64 {
        match kind {
            QuotaKind::Draws => self.draws,
            QuotaKind::Entries => self.entries,
            QuotaKind::Executions => self.executions,
        }
    }

    /// The quota of `kind`, `None` when unlimited.
    pub fn limit(&self, kind: QuotaKind) -> Option<i64> {
        match kind {
            QuotaKind::Draws => self.draws_quota,
            QuotaKind::Entries => self.entries_quota,
            QuotaKind::Executions => self.executions_quota,
        }
    }

    /// The mean time from lock to execution over executed draws, ms;
    /// `None` before the first execution.
    pub fn mean_lock_to_execution_ms(&self) -> Option<f64> {
        (self.executions > 0).then(|| self.lock_to_execution_ms as f64 / self.executions as f64)
    }

    /// [`StoreError::QuotaExceeded`] when adding `n` of `kind` would cross
    /// its quota (a cheap early refusal; [`charge`] is the exact one).
    pub fn check(&self, kind: QuotaKind, n: i64) -> Result<(), StoreError> {
        match self.limit(kind) {
            Some(limit) if self.used(kind).saturating_add(n) > limit => {
                Err(StoreError::QuotaExceeded {
                    quota: kind,
                    usage: self.used(kind),
                    limit,
                    requested: n,
                })
            }
            _ => Ok(()),
        }
    }
}

/// A change of quotas: for each kind, `None` leaves it, `Some(None)` clears
/// it (unlimited), `Some(Some(n))` sets it to `n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotaChange {
    /// The draws quota.
    pub draws: Option<Option<i64>>,
    /// The entries quota.
    pub entries: Option<Option<i64>>,
    /// The executions quota.
    pub executions: Option<Option<i64>>,
}

/// An organisation's figures: draws by state and its usage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OrgStats {
    /// Draws in each state, in [`DrawState::ALL`] order.
    pub draws_by_state: Vec<(DrawState, i64)>,
    /// Usage counters and quotas.
    pub usage: Usage,
}

const USAGE_COLUMNS: &str = "org_id, draws, entries, executions, lock_to_execution_ms, draws_quota, entries_quota, executions_quota";

fn usage_from<R: RowExt>(r: &R) -> Result<Usage, StoreError> {
    Ok(Usage {
        org_id: r.text("org_id")?,
        draws: r.int("draws")?,
        entries: r.int("entries")?,
        executions: r.int("executions")?,
        lock_to_execution_ms: r.int("lock_to_execution_ms")?,
        draws_quota: r.opt_int("draws_quota")?,
        entries_quota: r.opt_int("entries_quota")?,
        executions_quota: r.opt_int("executions_quota")?,
    })
}

/// Adds `n` of `kind` to the organisation's usage inside `tx` (and, for
/// executions, `lock_ms` to the lock-to-execution sum), unless that would
/// cross the quota: then [`StoreError::QuotaExceeded`], and the caller
/// drops the transaction so nothing of the effect remains.
pub(crate) async fn charge(
    tx: &mut Tx,
    org_id: &str,
    kind: QuotaKind,
    n: i64,
    lock_ms: i64,
    now: i64,
) -> Result<(), StoreError> {
    let (used, quota) = kind.columns();
    let sql = format!(
        "UPDATE org_usage SET {used} = {used} + $1, lock_to_execution_ms = lock_to_execution_ms + $2, updated_at = $3 \
         WHERE org_id = $4 AND ({quota} IS NULL OR {used} + $1 <= {quota}) RETURNING {used}"
    );
    let charged = on_tx!(tx, c => {
        sqlx::query("INSERT INTO org_usage (org_id, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(org_id)
            .bind(now)
            .execute(&mut *c)
            .await?;
        sqlx::query(&sql)
            .bind(n)
            .bind(lock_ms)
            .bind(now)
            .bind(org_id)
            .fetch_optional(&mut *c)
            .await?
            .is_some()
    });
    if charged {
        return Ok(());
    }
    let sql = format!("SELECT {USAGE_COLUMNS} FROM org_usage WHERE org_id = $1");
    let usage = on_tx!(tx, c => {
        usage_from(&sqlx::query(&sql).bind(org_id).fetch_one(c).await?)?
    });
    Err(StoreError::QuotaExceeded {
        quota: kind,
        usage: usage.used(kind),
        limit: usage.limit(kind).unwrap_or(0),
        requested: n,
    })
}

impl Store {
    /// The organisation's usage and quotas (all zero and unlimited before
    /// its first counted effect).
    pub async fn usage(&self, org_id: &str) -> Result<Usage, StoreError> {
        let sql = format!("SELECT {USAGE_COLUMNS} FROM org_usage WHERE org_id = $1");
        let u = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(org_id).fetch_optional(p).await?.map(|r| usage_from(&r))
        });
        Ok(u.transpose()?.unwrap_or_else(|| Usage {
            org_id: org_id.to_owned(),
            ..Usage::default()
        }))
    }

    /// Sets or clears the organisation's quotas (see [`QuotaChange`]);
    /// returns its usage and quotas after the change.
    ///
    /// Fails with [`StoreError::NotFound`] for no organisation.
    pub async fn set_quota(
        &self,
        org_id: &str,
        change: &QuotaChange,
        now: i64,
    ) -> Result<Usage, StoreError> {
        self.org(org_id).await?;
        let mut tx = self.db.begin().await?;
        on_tx!(&mut tx, c => {
            sqlx::query("INSERT INTO org_usage (org_id, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(org_id)
                .bind(now)
                .execute(&mut *c)
                .await?;
            for (kind, v) in [
                (QuotaKind::Draws, change.draws),
                (QuotaKind::Entries, change.entries),
                (QuotaKind::Executions, change.executions),
            ] {
                let Some(v) = v else { continue };
                let sql = format!("UPDATE org_usage SET {} = $1, updated_at = $2 WHERE org_id = $3", kind.columns().1);
                sqlx::query(&sql).bind(v).bind(now).bind(org_id).execute(&mut *c).await?;
            }
        });
        tx.commit().await?;
        self.usage(org_id).await
    }

    /// The organisation's draws by state and its usage (`GET /v1/stats`).
    pub async fn org_stats(&self, org_id: &str) -> Result<OrgStats, StoreError> {
        let rows: Vec<(String, i64)> = on_db!(&self.db, p => {
            sqlx::query_as("SELECT state, COUNT(*) FROM draws WHERE org_id = $1 GROUP BY state")
                .bind(org_id)
                .fetch_all(p)
                .await?
        });
        let mut counts = Vec::new();
        for (s, n) in rows {
            counts.push((DrawState::parse(&s)?, n));
        }
        Ok(OrgStats {
            draws_by_state: by_state(&counts),
            usage: self.usage(org_id).await?,
        })
    }

    /// Every organisation's figures, for `/metrics`: one grouped query over
    /// `(org_id, state)` (answered from the `draws_org_state` index) and
    /// one read of `org_usage` (a row per organisation), however many
    /// entries there are.
    pub async fn all_org_stats(&self) -> Result<Vec<OrgStats>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_db!(&self.db, p => {
            sqlx::query_as("SELECT org_id, state, COUNT(*) FROM draws GROUP BY org_id, state")
                .fetch_all(p)
                .await?
        });
        let sql = format!("SELECT {USAGE_COLUMNS} FROM org_usage ORDER BY org_id");
        let usages: Vec<Usage> = on_db!(&self.db, p => {
            sqlx::query(&sql).fetch_all(p).await?.iter().map(usage_from).collect::<Result<_, _>>()?
        });
        let mut by_org: std::collections::BTreeMap<String, ByOrg> =
            std::collections::BTreeMap::new();
        for (org, s, n) in rows {
            by_org
                .entry(org)
                .or_default()
                .0
                .push((DrawState::parse(&s)?, n));
        }
        for u in usages {
            let org = u.org_id.clone();
            by_org.entry(org).or_default().1 = Some(u);
        }
        Ok(by_org
            .into_iter()
            .map(|(org, (counts, usage))| OrgStats {
                draws_by_state: by_state(&counts),
                usage: usage.unwrap_or_else(|| Usage {
                    org_id: org,
                    ..Usage::default()
                }),
            })
            .collect())
    }
}

/// One organisation's draw counts and usage row, while merging.
type ByOrg = (Vec<(DrawState, i64)>, Option<Usage>);

fn by_state(counts: &[(DrawState, i64)]) -> Vec<(DrawState, i64)> {
    DrawState::ALL
        .iter()
        .map(|s| {
            (
                *s,
                counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n),
            )
        })
        .collect()
}
