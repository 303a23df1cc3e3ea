//! The job queue: background work (fetching a drand round, executing a
//! draw) in the database, shared by every replica with leases.
//!
//! A worker claims a due job with [`Store::claim_job`]: one statement marks
//! it `running` with a fresh random lease token and a lease end
//! (`locked_until`). On PostgreSQL the candidate row is picked with
//! `FOR UPDATE SKIP LOCKED`, so replicas claiming at once take different
//! jobs without waiting on each other; SQLite serialises writers, so the
//! same `UPDATE … RETURNING` is atomic there as it stands.
//!
//! Every later write by the worker ([`Store::complete_job`],
//! [`Store::fail_job`], [`Store::snooze_job`], [`Store::release_job`],
//! [`Store::extend_lease`]) is conditional on the lease token: when a lease
//! expired and another worker took the job over (a new token), the late
//! worker's write changes nothing and returns [`StoreError::LeaseLost`].
//! Job effects are idempotent in themselves (an execution is claimed once
//! per draw by the store), so a taken-over job repeats nothing visible.
//!
//! A failed attempt is retried after an exponential backoff with jitter
//! ([`Backoff`]); after `max_attempts` attempts the job is `dead` with its
//! last error, until [`Store::retry_job`] queues it again.

use crate::crypto::new_id;
use crate::db::{RowExt, is_unique_violation, on_db, on_tx};
use crate::{Db, Store, StoreError, random_bytes};

const JOB_COLUMNS: &str = "id, org_id, draw_id, kind, payload, dedupe_key, state, run_at, attempts, max_attempts, \
    lease_token, locked_by, locked_until, last_error, created_at, updated_at, finished_at";

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Import a source through a plugin (reserved: not built yet).
    ImportSource,
    /// Fetch a locked draw's declared drand round, verify it, then queue
    /// its execution.
    PollBeacon,
    /// Execute a locked draw with the beacon in the payload.
    ExecuteDraw,
    /// Deliver a webhook message (its delivery id in the payload).
    DeliverWebhook,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 4] = [
        JobKind::ImportSource,
        JobKind::PollBeacon,
        JobKind::ExecuteDraw,
        JobKind::DeliverWebhook,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::ImportSource => "import_source",
            JobKind::PollBeacon => "poll_beacon",
            JobKind::ExecuteDraw => "execute_draw",
            JobKind::DeliverWebhook => "deliver_webhook",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<JobKind, StoreError> {
        JobKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown job kind {s:?}")))
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its `run_at` (or for a retry).
    Queued,
    /// Claimed by a worker whose lease has not been given up.
    Running,
    /// Finished.
    Done,
    /// Failed `max_attempts` times; waits for a retry call.
    Dead,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(s: &str) -> Result<JobState, StoreError> {
        JobState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown job state {s:?}")))
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// What it does.
    pub kind: JobKind,
    /// The organisation it works for.
    pub org_id: String,
    /// The draw it concerns, if any.
    pub draw_id: Option<String>,
    /// The kind's input, JSON.
    pub payload: String,
    /// Not before this time, Unix milliseconds.
    pub run_at: i64,
    /// Attempts before the job is dead.
    pub max_attempts: i64,
    /// At most one job per key: enqueueing a second one returns the first.
    pub dedupe_key: Option<String>,
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Opaque id, `job_…`.
    pub id: String,
    /// The organisation it works for.
    pub org_id: String,
    /// The draw it concerns.
    pub draw_id: Option<String>,
    /// What it does.
    pub kind: JobKind,
    /// The kind's input, JSON.
    pub payload: String,
    /// Its dedupe key.
    pub dedupe_key: Option<String>,
    /// Where it is.
    pub state: JobState,
    /// When it is (or was) due, Unix milliseconds.
    pub run_at: i64,
    /// Attempts started so far (a claim is an attempt).
    pub attempts: i64,
    /// Attempts before it is dead.
    pub max_attempts: i64,
    /// The worker holding it while running.
    pub locked_by: Option<String>,
    /// The lease end while running, Unix milliseconds.
    pub locked_until: Option<i64>,
    /// The last attempt's error (or why it waits).
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
    /// When it became done or dead, Unix milliseconds.
    pub finished_at: Option<i64>,
}

/// A claimed job: the job as claimed and the lease token every later write
/// must present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The job as claimed (`running`, this attempt counted).
    pub job: Job,
    /// The lease token.
    pub token: String,
}

/// A page of an organisation's jobs.
#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Keyset cursor: the `(created_at, id)` of the last job already seen.
    pub after: Option<(i64, String)>,
    /// Page size.
    pub limit: i64,
}

/// Exponential backoff with jitter: attempt `n` (from 1) waits
/// `min(base · 2^(n-1), max)` scaled by a random factor in `[0.5, 1)`, so
/// jobs that failed together do not retry together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait, milliseconds.
    pub base_ms: i64,
    /// The longest wait, milliseconds.
    pub max_ms: i64,
}

impl Default for Backoff {
    /// 2 s, doubling, at most 10 minutes.
    fn default() -> Self {
        Backoff {
            base_ms: 2_000,
            max_ms: 600_000,
        }
    }
}

impl Backoff {
    /// The wait after failed attempt `attempt` (from 1), with `jitter` in
    /// `[0, 1)` choosing the point in `[0.5, 1)` of the full wait.
    pub fn delay_ms(&self, attempt: i64, jitter: f64) -> i64 {
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 62)).unwrap_or(62);
        let full = self
            .base_ms
            .max(1)
            .saturating_mul(1_i64.checked_shl(exp).unwrap_or(i64::MAX))
            .min(self.max_ms.max(1));
        let factor = 0.5 + 0.5 * jitter.clamp(0.0, 1.0);
        // The product is at most `full`, which fits an i64.
        ((full as f64) * factor).round() as i64
    }

    /// [`Backoff::delay_ms`] with a random jitter.
    pub fn random_delay_ms(&self, attempt: i64) -> Result<i64, StoreError> {
        let r = u64::from_le_bytes(random_bytes::<8>()?);
        let jitter = (r >> 11) as f64 / (1u64 << 53) as f64;
        Ok(self.delay_ms(attempt, jitter))
    }
}

fn job_from<R: RowExt>(r: &R) -> Result<Job, StoreError> {
    Ok(Job {
        id: r.text("id")?,
        org_id: r.text("org_id")?,
        draw_id: r.opt_text("draw_id")?,
        kind: JobKind::parse(&r.text("kind")?)?,
        payload: r.text("payload")?,
        dedupe_key: r.opt_text("dedupe_key")?,
        state: JobState::parse(&r.text("state")?)?,
        run_at: r.int("run_at")?,
        attempts: r.int("attempts")?,
        max_attempts: r.int("max_attempts")?,
        locked_by: r.opt_text("locked_by")?,
        locked_until: r.opt_int("locked_until")?,
        last_error: r.opt_text("last_error")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
        finished_at: r.opt_int("finished_at")?,
    })
}

/// Errors are stored bounded: a hostile relay cannot grow a row.
const MAX_ERROR_CHARS: usize = 2_000;

fn bounded(error: &str) -> String {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((i, _)) => format!("{}…", &error[..i]),
        None => error.to_owned(),
    }
}

impl Store {
    /// Queues a job. With a `dedupe_key` already taken, queues nothing and
    /// returns the job holding the key (whatever its state).
    pub async fn enqueue_job(&self, new: &NewJob, now: i64) -> Result<Job, StoreError> {
        let mut tx = self.db.begin().await?;
        let job = insert_job(&mut tx, new, now).await?;
        tx.commit().await?;
        match job {
            Some(j) => Ok(j),
            None => self.job_by_dedupe_key(new).await,
        }
    }

    async fn job_by_dedupe_key(&self, new: &NewJob) -> Result<Job, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE dedupe_key = $1");
        let j = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(&new.dedupe_key).fetch_optional(p).await?.map(|r| job_from(&r))
        });
        j.transpose()?.ok_or(StoreError::NotFound("job"))
    }

    /// Claims the job due first (queued with `run_at <= now`, or running
    /// with an expired lease), for `lease_ms`, as worker `worker`.
    ///
    /// Returns `None` when nothing is due. Before claiming, a running job
    /// whose lease expired on its last allowed attempt becomes `dead` (its
    /// worker died or stalled every time), so a job that kills its workers
    /// is not retried for ever.
    pub async fn claim_job(
        &self,
        worker: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<Lease>, StoreError> {
        self.bury_expired(now).await?;
        let token = hex::encode(random_bytes::<16>()?);
        let skip_locked = match &self.db {
            Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = $1, locked_by = $2, \
             locked_until = $3, updated_at = $4 \
             WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' AND run_at <= $4) \
                OR (state = 'running' AND locked_until <= $4 AND attempts < max_attempts) \
                ORDER BY run_at, id LIMIT 1 {skip_locked}) \
             RETURNING {JOB_COLUMNS}"
        );
        let j = on_db!(&self.db, p => {
            sqlx::query(&sql)
                .bind(&token)
                .bind(worker)
                .bind(now.saturating_add(lease_ms))
                .bind(now)
                .fetch_optional(p)
                .await?
                .map(|r| job_from(&r))
        });
        Ok(j.transpose()?.map(|job| Lease { job, token }))
    }

    /// Marks dead every running job whose lease expired on its last allowed
    /// attempt, raising `draw.failed` for a draw's beacon poll or execution
    /// in the same transaction.
    async fn bury_expired(&self, now: i64) -> Result<(), StoreError> {
        const WHY: &str =
            "the lease of the last allowed attempt expired: the worker stopped or stalled mid-job";
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "UPDATE jobs SET state = 'dead', lease_token = NULL, locked_until = NULL, finished_at = $1, updated_at = $1, \
             last_error = $2 WHERE state = 'running' AND locked_until <= $1 AND attempts >= max_attempts \
             RETURNING {JOB_COLUMNS}"
        );
        let dead: Vec<Job> = on_tx!(&mut tx, c => {
            sqlx::query(&sql).bind(now).bind(WHY).fetch_all(c).await?.iter().map(job_from)
                .collect::<Result<_, StoreError>>()?
        });
        for job in &dead {
            if let Some(e) = crate::events::failed_event(job, WHY) {
                crate::events::insert_event(&mut tx, self, &e, now).await?;
            }
        }
        tx.commit().await
    }

    /// Runs one fenced write: `set` applies only while `lease` holds.
    async fn fenced(&self, lease: &Lease, set: &str, binds: Fenced<'_>) -> Result<Job, StoreError> {
        let mut tx = self.db.begin().await?;
        let job = fenced_tx(&mut tx, lease, set, binds).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Extends a lease to `until` (a heartbeat of a long job).
    ///
    /// Fails with [`StoreError::LeaseLost`] when the lease expired and
    /// another worker claimed the job: the caller must stop working on it.
    pub async fn extend_lease(
        &self,
        lease: &Lease,
        until: i64,
        now: i64,
    ) -> Result<Job, StoreError> {
        self.fenced(
            lease,
            "locked_until = $1, updated_at = $2",
            Fenced::Times(until, now),
        )
        .await
    }

    /// Marks a job done and, in the same transaction, queues `follow_up`
    /// (the next step of the work), so no crash can lose the step between.
    ///
    /// Fails with [`StoreError::LeaseLost`] (and queues nothing) when the
    /// lease was taken over.
    pub async fn complete_job(
        &self,
        lease: &Lease,
        now: i64,
        follow_up: Option<&NewJob>,
    ) -> Result<Job, StoreError> {
        self.complete_job_with(lease, now, follow_up, &[]).await
    }

    /// [`Store::complete_job`], also recording `events` (a beacon that
    /// arrived, say) and queueing their webhook deliveries in the same
    /// transaction.
    pub async fn complete_job_with(
        &self,
        lease: &Lease,
        now: i64,
        follow_up: Option<&NewJob>,
        events: &[crate::NewEvent],
    ) -> Result<Job, StoreError> {
        let mut tx = self.db.begin().await?;
        let job = fenced_tx(
            &mut tx,
            lease,
            "state = 'done', lease_token = NULL, locked_until = NULL, finished_at = $1, updated_at = $1",
            Fenced::Time(now),
        )
        .await?;
        if let Some(next) = follow_up {
            insert_job(&mut tx, next, now).await?;
        }
        for e in events {
            crate::events::insert_event(&mut tx, self, e, now).await?;
        }
        tx.commit().await?;
        Ok(job)
    }

    /// Records a failed attempt: the job is queued again after
    /// `backoff`'s delay, or `dead` when this was its last attempt (a
    /// draw's beacon poll or execution going dead raises `draw.failed` in
    /// the same transaction). Returns the job as it now is.
    ///
    /// Fails with [`StoreError::LeaseLost`] when the lease was taken over.
    pub async fn fail_job(
        &self,
        lease: &Lease,
        error: &str,
        now: i64,
        backoff: &Backoff,
    ) -> Result<Job, StoreError> {
        let error = bounded(error);
        if lease.job.attempts >= lease.job.max_attempts {
            let mut tx = self.db.begin().await?;
            let job = fenced_tx(
                &mut tx,
                lease,
                "state = 'dead', lease_token = NULL, locked_until = NULL, finished_at = $1, updated_at = $1, last_error = $2",
                Fenced::TimeText(now, &error),
            )
            .await?;
            if let Some(e) = crate::events::failed_event(&job, &error) {
                crate::events::insert_event(&mut tx, self, &e, now).await?;
            }
            tx.commit().await?;
            return Ok(job);
        }
        let run_at = now.saturating_add(backoff.random_delay_ms(lease.job.attempts)?);
        self.fenced(
            lease,
            "state = 'queued', lease_token = NULL, locked_until = NULL, run_at = $1, updated_at = $2, last_error = $3",
            Fenced::Times2Text(run_at, now, &error),
        )
        .await
    }

    /// Puts a job back until `run_at` without counting this attempt (the
    /// work is not due yet: the relay has not published the round), noting
    /// why in `last_error`.
    pub async fn snooze_job(
        &self,
        lease: &Lease,
        run_at: i64,
        why: &str,
        now: i64,
    ) -> Result<Job, StoreError> {
        let why = bounded(why);
        self.fenced(
            lease,
            "state = 'queued', attempts = attempts - 1, lease_token = NULL, locked_until = NULL, run_at = $1, \
             updated_at = $2, last_error = $3",
            Fenced::Times2Text(run_at, now, &why),
        )
        .await
    }

    /// Gives a claimed job back untouched (a worker shutting down), due
    /// now, this attempt not counted.
    pub async fn release_job(&self, lease: &Lease, now: i64) -> Result<Job, StoreError> {
        self.fenced(
            lease,
            "state = 'queued', attempts = attempts - 1, lease_token = NULL, locked_until = NULL, run_at = $1, updated_at = $1",
            Fenced::Time(now),
        )
        .await
    }

    /// Queues a dead job of the organisation again, due now, with its
    /// attempts reset.
    ///
    /// Fails with [`StoreError::JobState`] when the job is not dead,
    /// [`StoreError::NotFound`] when there is no such job.
    pub async fn retry_job(&self, org_id: &str, id: &str, now: i64) -> Result<Job, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, updated_at = $1, finished_at = NULL \
             WHERE id = $2 AND org_id = $3 AND state = 'dead' RETURNING {JOB_COLUMNS}"
        );
        let j = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(now).bind(id).bind(org_id).fetch_optional(p).await?.map(|r| job_from(&r))
        });
        match j.transpose()? {
            Some(j) => Ok(j),
            None => Err(StoreError::JobState(self.job(org_id, id).await?.state)),
        }
    }

    /// A job of the organisation.
    pub async fn job(&self, org_id: &str, id: &str) -> Result<Job, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND org_id = $2");
        let j = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(id).bind(org_id).fetch_optional(p).await?.map(|r| job_from(&r))
        });
        j.transpose()?.ok_or(StoreError::NotFound("job"))
    }

    /// The organisation's jobs, oldest first, after the cursor.
    pub async fn jobs(&self, org_id: &str, f: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let (after_t, after_id) = match &f.after {
            Some((t, id)) => (Some(*t), Some(id.as_str())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE org_id = $1 AND ($2 IS NULL OR state = $2) \
             AND ($3 IS NULL OR created_at > $3 OR (created_at = $3 AND id > $4)) \
             ORDER BY created_at, id LIMIT $5"
        );
        let state = f.state.map(JobState::as_str);
        on_db!(&self.db, p => {
            sqlx::query(&sql)
                .bind(org_id)
                .bind(state)
                .bind(after_t)
                .bind(after_id)
                .bind(f.limit)
                .fetch_all(p)
                .await?
                .iter()
                .map(job_from)
                .collect()
        })
    }

    /// The draw's latest job of one of `kinds` (its pending execution, say).
    pub async fn draw_job(
        &self,
        draw_id: &str,
        kinds: &[JobKind],
    ) -> Result<Option<Job>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE draw_id = $1 ORDER BY created_at DESC, id DESC"
        );
        let all: Vec<Job> = on_db!(&self.db, p => {
            sqlx::query(&sql)
                .bind(draw_id)
                .fetch_all(p)
                .await?
                .iter()
                .map(job_from)
                .collect::<Result<_, StoreError>>()?
        });
        Ok(all.into_iter().find(|j| kinds.contains(&j.kind)))
    }
}

/// The values a fenced write's `SET` binds, as `$1`, `$2`, …; the job id
/// and the lease token follow them.
enum Fenced<'a> {
    Time(i64),
    Times(i64, i64),
    TimeText(i64, &'a str),
    Times2Text(i64, i64, &'a str),
}

async fn fenced_tx(
    tx: &mut crate::db::Tx,
    lease: &Lease,
    set: &str,
    binds: Fenced<'_>,
) -> Result<Job, StoreError> {
    let n = match binds {
        Fenced::Time(_) => 1,
        Fenced::Times(..) | Fenced::TimeText(..) => 2,
        Fenced::Times2Text(..) => 3,
    };
    let sql = format!(
        "UPDATE jobs SET {set} WHERE id = ${} AND lease_token = ${} AND state = 'running' RETURNING {JOB_COLUMNS}",
        n + 1,
        n + 2
    );
    let j = on_tx!(tx, c => {
        let q = sqlx::query(&sql);
        let q = match binds {
            Fenced::Time(t) => q.bind(t),
            Fenced::Times(a, b) => q.bind(a).bind(b),
            Fenced::TimeText(t, s) => q.bind(t).bind(s),
            Fenced::Times2Text(a, b, s) => q.bind(a).bind(b).bind(s),
        };
        q.bind(&lease.job.id).bind(&lease.token).fetch_optional(c).await?.map(|r| job_from(&r))
    });
    j.transpose()?.ok_or(StoreError::LeaseLost)
}

/// Inserts a job; `None` when its dedupe key is taken.
pub(crate) async fn insert_job(
    tx: &mut crate::db::Tx,
    new: &NewJob,
    now: i64,
) -> Result<Option<Job>, StoreError> {
    let id = new_id("job")?;
    let sql = format!(
        "INSERT INTO jobs (id, org_id, draw_id, kind, payload, dedupe_key, state, run_at, attempts, max_attempts, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, 0, $8, $9, $9) \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING {JOB_COLUMNS}"
    );
    let r = on_tx!(tx, c => {
        sqlx::query(&sql)
            .bind(&id)
            .bind(&new.org_id)
            .bind(&new.draw_id)
            .bind(new.kind.as_str())
            .bind(&new.payload)
            .bind(&new.dedupe_key)
            .bind(new.run_at)
            .bind(new.max_attempts.max(1))
            .bind(now)
            .fetch_optional(c)
            .await
            .map(|row| row.map(|r| job_from(&r)))
    });
    match r {
        Ok(job) => job.transpose(),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_in_the_upper_half() {
        let b = Backoff {
            base_ms: 1_000,
            max_ms: 10_000,
        };
        assert_eq!(b.delay_ms(1, 1.0), 1_000);
        assert_eq!(b.delay_ms(2, 1.0), 2_000);
        assert_eq!(b.delay_ms(3, 1.0), 4_000);
        assert_eq!(b.delay_ms(5, 1.0), 10_000);
        assert_eq!(b.delay_ms(500, 1.0), 10_000);
        assert_eq!(b.delay_ms(3, 0.0), 2_000);
        assert_eq!(b.delay_ms(0, 0.5), 750);
        for n in 1..70 {
            let d = b.random_delay_ms(n).expect("random");
            let full = b.delay_ms(n, 1.0);
            assert!(d >= full / 2 && d <= full, "{n}: {d} of {full}");
        }
    }

    #[test]
    fn errors_are_stored_bounded() {
        let long = "é".repeat(5_000);
        let b = bounded(&long);
        assert_eq!(b.chars().count(), MAX_ERROR_CHARS + 1);
        assert_eq!(bounded("short"), "short");
    }
}
