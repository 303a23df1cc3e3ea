//! Draws and their life cycle: create, list, cancel, and the lock and
//! execution claims that make each happen exactly once.

use crate::crypto::new_id;
use crate::db::{RowExt, Tx, is_unique_violation, on_db, on_tx};
use crate::log::NewLogEntry;
use crate::{
    Draw, DrawFilter, DrawState, NewDraw, NewEvent, NewJob, QuotaKind, Store, StoreError,
    StoredBundle, StoredEntry, StoredLock,
};

const DRAW_COLUMNS: &str = "id, org_id, title, rules, randomness, state, entry_count, eligible, total_tickets, \
    lock_hash, signing_key_id, declared, earliest_execution, failure, created_at, updated_at, locked_at, executed_at";

fn draw_from<R: RowExt>(r: &R) -> Result<Draw, StoreError> {
    Ok(Draw {
        id: r.text("id")?,
        org_id: r.text("org_id")?,
        title: r.text("title")?,
        rules: r.text("rules")?,
        randomness: r.text("randomness")?,
        state: DrawState::parse(&r.text("state")?)?,
        entry_count: r.int("entry_count")?,
        eligible: r.opt_int("eligible")?,
        total_tickets: r.opt_int("total_tickets")?,
        lock_hash: r.opt_text("lock_hash")?,
        signing_key_id: r.opt_text("signing_key_id")?,
        declared: r.opt_text("declared")?,
        earliest_execution: r.opt_int("earliest_execution")?,
        failure: r.opt_text("failure")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
        locked_at: r.opt_int("locked_at")?,
        executed_at: r.opt_int("executed_at")?,
    })
}

/// What a successful lock stores.
#[derive(Clone, Debug)]
pub struct LockRecord {
    /// The lock receipt's hash, hex.
    pub lock_hash: String,
    /// The lock file (a bundle without execution).
    pub lock_file: Vec<u8>,
    /// The commit-reveal secret, encrypted before it is stored.
    pub secret: Option<Vec<u8>>,
    /// The signing key's id.
    pub signing_key_id: String,
    /// The declared randomness JSON.
    pub declared: String,
    /// When the randomness is available, Unix milliseconds.
    pub earliest_execution: i64,
    /// Eligible entrants.
    pub eligible: i64,
    /// Total tickets.
    pub total_tickets: i64,
    /// Lock time, Unix milliseconds.
    pub locked_at: i64,
    /// Excluded entries: `(seq, rule, reason)`.
    pub exclusions: Vec<(i64, String, String)>,
    /// The lock receipt's log entry, queued for the transparency log in
    /// the same transaction.
    pub log_entry: NewLogEntry,
}

/// A draft draw claimed for locking: the transaction holds the draw's row,
/// so concurrent lockers wait and then find it locked. Dropping it rolls
/// back and leaves the draw a draft.
#[derive(Debug)]
pub struct LockClaim {
    tx: Tx,
    store: Store,
    /// The draw as claimed (still a draft).
    pub draw: Draw,
}

/// A locked draw claimed for execution, like [`LockClaim`].
#[derive(Debug)]
pub struct ExecutionClaim {
    tx: Tx,
    store: Store,
    /// The draw as claimed (still locked).
    pub draw: Draw,
}

impl Store {
    /// Creates a draft draw, counted against the organisation's draws
    /// quota in the same transaction.
    ///
    /// Fails with [`StoreError::QuotaExceeded`] (and creates nothing) when
    /// the quota is used up.
    pub async fn create_draw(&self, new: &NewDraw, now: i64) -> Result<Draw, StoreError> {
        let id = new_id("drw")?;
        let sql = format!(
            "INSERT INTO draws (id, org_id, title, rules, randomness, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7) RETURNING {DRAW_COLUMNS}"
        );
        let mut tx = self.db.begin().await?;
        crate::usage::charge(&mut tx, &new.org_id, QuotaKind::Draws, 1, 0, now).await?;
        let draw = on_tx!(&mut tx, c => {
            let r = sqlx::query(&sql)
                .bind(&id)
                .bind(&new.org_id)
                .bind(&new.title)
                .bind(&new.rules)
                .bind(&new.randomness)
                .bind(now)
                .bind(now)
                .fetch_one(c)
                .await?;
            draw_from(&r)?
        });
        tx.commit().await?;
        Ok(draw)
    }

    /// A draw of the organisation; [`StoreError::NotFound`] when there is
    /// none or it belongs to another organisation.
    pub async fn draw(&self, org_id: &str, id: &str) -> Result<Draw, StoreError> {
        let sql = format!("SELECT {DRAW_COLUMNS} FROM draws WHERE id = $1 AND org_id = $2");
        let d = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(id).bind(org_id).fetch_optional(p).await?.map(|r| draw_from(&r))
        });
        d.transpose()?.ok_or(StoreError::NotFound("draw"))
    }

    /// Any organisation's draw (for the public routes).
    pub async fn public_draw(&self, id: &str) -> Result<Draw, StoreError> {
        let sql = format!("SELECT {DRAW_COLUMNS} FROM draws WHERE id = $1");
        let d = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(id).fetch_optional(p).await?.map(|r| draw_from(&r))
        });
        d.transpose()?.ok_or(StoreError::NotFound("draw"))
    }

    /// The organisation's draws, oldest first, after the cursor.
    pub async fn draws(&self, org_id: &str, f: &DrawFilter) -> Result<Vec<Draw>, StoreError> {
        let (after_t, after_id) = match &f.after {
            Some((t, id)) => (Some(*t), Some(id.as_str())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT {DRAW_COLUMNS} FROM draws WHERE org_id = $1 AND ($2 IS NULL OR state = $2) \
             AND ($3 IS NULL OR created_at > $3 OR (created_at = $3 AND id > $4)) \
             ORDER BY created_at, id LIMIT $5"
        );
        on_db!(&self.db, p => {
            sqlx::query(&sql)
                .bind(org_id)
                .bind(f.state.map(DrawState::as_str))
                .bind(after_t)
                .bind(after_id)
                .bind(f.limit)
                .fetch_all(p)
                .await?
                .iter()
                .map(draw_from)
                .collect()
        })
    }

    /// Cancels a draft.
    ///
    /// Fails with [`StoreError::State`] (the current state) unless the draw
    /// is a draft, and [`StoreError::NotFound`] for no draw.
    pub async fn cancel_draw(&self, org_id: &str, id: &str, now: i64) -> Result<Draw, StoreError> {
        let sql = format!(
            "UPDATE draws SET state = 'cancelled', updated_at = $1 WHERE id = $2 AND org_id = $3 AND state = 'draft' RETURNING {DRAW_COLUMNS}"
        );
        let d = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(now).bind(id).bind(org_id).fetch_optional(p).await?.map(|r| draw_from(&r))
        });
        match d.transpose()? {
            Some(d) => Ok(d),
            None => Err(StoreError::State(self.draw(org_id, id).await?.state)),
        }
    }

    /// Claims a draft draw for locking (see [`LockClaim`]).
    ///
    /// Fails with [`StoreError::State`] when the draw is not a draft (another
    /// call locked it first, or it was cancelled), [`StoreError::NotFound`]
    /// for no draw.
    pub async fn claim_lock(
        &self,
        org_id: &str,
        id: &str,
        now: i64,
    ) -> Result<LockClaim, StoreError> {
        let (tx, draw) = self.claim(org_id, id, DrawState::Draft, now).await?;
        Ok(LockClaim {
            tx,
            store: self.clone(),
            draw,
        })
    }

    /// Claims a locked draw for execution (see [`ExecutionClaim`]).
    pub async fn claim_execution(
        &self,
        org_id: &str,
        id: &str,
        now: i64,
    ) -> Result<ExecutionClaim, StoreError> {
        let (tx, draw) = self.claim(org_id, id, DrawState::Locked, now).await?;
        Ok(ExecutionClaim {
            tx,
            store: self.clone(),
            draw,
        })
    }

    /// Begins a transaction whose first statement writes the draw's row if it
    /// is in state `from`: PostgreSQL holds the row lock, SQLite the database
    /// write lock, until commit or rollback.
    async fn claim(
        &self,
        org_id: &str,
        id: &str,
        from: DrawState,
        now: i64,
    ) -> Result<(Tx, Draw), StoreError> {
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "UPDATE draws SET updated_at = $1 WHERE id = $2 AND org_id = $3 AND state = $4 RETURNING {DRAW_COLUMNS}"
        );
        let d = on_tx!(&mut tx, c => {
            sqlx::query(&sql)
                .bind(now)
                .bind(id)
                .bind(org_id)
                .bind(from.as_str())
                .fetch_optional(c)
                .await?
                .map(|r| draw_from(&r))
        });
        match d.transpose()? {
            Some(d) => Ok((tx, d)),
            None => {
                drop(tx);
                Err(StoreError::State(self.draw(org_id, id).await?.state))
            }
        }
    }

    /// The lock file of a locked (or executed) draw.
    pub async fn lock_file(&self, draw_id: &str) -> Result<StoredLock, StoreError> {
        let row = on_db!(&self.db, p => {
            sqlx::query("SELECT lock_hash, lock_file FROM draw_locks WHERE draw_id = $1")
                .bind(draw_id)
                .fetch_optional(p)
                .await?
                .map(|r| -> Result<StoredLock, StoreError> {
                    Ok(StoredLock { lock_hash: r.text("lock_hash")?, lock_file: r.bytes("lock_file")? })
                })
        });
        row.transpose()?.ok_or(StoreError::NotFound("lock receipt"))
    }

    /// The proof bundle of an executed draw.
    pub async fn bundle(&self, draw_id: &str) -> Result<StoredBundle, StoreError> {
        let row = on_db!(&self.db, p => {
            sqlx::query("SELECT bundle, bundle_sha256 FROM draw_executions WHERE draw_id = $1")
                .bind(draw_id)
                .fetch_optional(p)
                .await?
                .map(|r| -> Result<StoredBundle, StoreError> {
                    Ok(StoredBundle { bundle: r.bytes("bundle")?, sha256: r.text("bundle_sha256")? })
                })
        });
        row.transpose()?.ok_or(StoreError::NotFound("bundle"))
    }
}

impl LockClaim {
    /// Takes the organisation's next draw sequence number (from 1,
    /// gap-free) inside the claim: the number is spent only if the lock
    /// commits, and concurrent locks of one organisation get distinct
    /// numbers (the row lock on PostgreSQL; one writer on SQLite).
    pub async fn next_sequence(&mut self) -> Result<u64, StoreError> {
        let org = self.draw.org_id.clone();
        let n: i64 = on_tx!(&mut self.tx, c => {
            sqlx::query_scalar(
                "UPDATE organizations SET draw_sequence = draw_sequence + 1 WHERE id = $1 RETURNING draw_sequence",
            )
            .bind(&org)
            .fetch_one(c)
            .await?
        });
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("draw sequence {n}")))
    }

    /// Every entry of the draw, in upload order, read inside the claim (no
    /// upload can slip in between).
    pub async fn entries(&mut self) -> Result<Vec<StoredEntry>, StoreError> {
        let id = self.draw.id.clone();
        on_tx!(&mut self.tx, c => {
            sqlx::query("SELECT seq, collection, entry FROM entries WHERE draw_id = $1 ORDER BY seq")
                .bind(&id)
                .fetch_all(c)
                .await?
                .iter()
                .map(|r| {
                    Ok(StoredEntry {
                        seq: r.int("seq")?,
                        collection: r.text("collection")?,
                        entry: r.text("entry")?,
                        exclusion: None,
                    })
                })
                .collect()
        })
    }

    /// Stores the lock and makes the draw `locked`, atomically; durable when
    /// this returns.
    ///
    /// Returns the locked draw.
    pub async fn commit(self, rec: LockRecord) -> Result<Draw, StoreError> {
        self.commit_with_job(rec, None).await
    }

    /// [`LockClaim::commit`], queueing `job` (the beacon poll of a drand
    /// draw) in the same transaction: a crash cannot leave a locked draw
    /// without its job.
    pub async fn commit_with_job(
        self,
        rec: LockRecord,
        job: Option<&NewJob>,
    ) -> Result<Draw, StoreError> {
        self.commit_with(rec, job, &[]).await
    }

    /// [`LockClaim::commit_with_job`], also recording `events` (and
    /// queueing their webhook deliveries) in the same transaction.
    pub async fn commit_with(
        mut self,
        rec: LockRecord,
        job: Option<&NewJob>,
        events: &[NewEvent],
    ) -> Result<Draw, StoreError> {
        let id = self.draw.id.clone();
        let secret = match &rec.secret {
            Some(s) => Some(self.store.master.seal(&secret_context(&id), s)?),
            None => None,
        };
        let inserted = on_tx!(&mut self.tx, c => {
            sqlx::query("INSERT INTO draw_locks (draw_id, lock_hash, lock_file, secret, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&id)
                .bind(&rec.lock_hash)
                .bind(&rec.lock_file)
                .bind(secret)
                .bind(rec.locked_at)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        });
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(StoreError::State(DrawState::Locked)),
            Err(e) => return Err(e.into()),
        }
        for chunk in rec.exclusions.chunks(2000) {
            insert_exclusions(&mut self.tx, &id, chunk).await?;
        }
        let sql = format!(
            "UPDATE draws SET state = 'locked', lock_hash = $1, signing_key_id = $2, declared = $3, earliest_execution = $4, \
             eligible = $5, total_tickets = $6, locked_at = $7, updated_at = $8 WHERE id = $9 AND state = 'draft' RETURNING {DRAW_COLUMNS}"
        );
        let d = on_tx!(&mut self.tx, c => {
            sqlx::query(&sql)
                .bind(&rec.lock_hash)
                .bind(&rec.signing_key_id)
                .bind(&rec.declared)
                .bind(rec.earliest_execution)
                .bind(rec.eligible)
                .bind(rec.total_tickets)
                .bind(rec.locked_at)
                .bind(rec.locked_at)
                .bind(&id)
                .fetch_optional(c)
                .await?
                .map(|r| draw_from(&r))
        });
        let draw = d.transpose()?.ok_or(StoreError::State(DrawState::Locked))?;
        if let Some(job) = job {
            crate::jobs::insert_job(&mut self.tx, job, rec.locked_at).await?;
        }
        crate::log::queue_entry(&mut self.tx, &id, &rec.log_entry, rec.locked_at).await?;
        for e in events {
            crate::events::insert_event(&mut self.tx, &self.store, e, rec.locked_at).await?;
        }
        self.tx.commit().await?;
        Ok(draw)
    }
}

fn secret_context(draw_id: &str) -> String {
    format!("fairdraw/commit-reveal-secret/{draw_id}")
}

async fn insert_exclusions(
    tx: &mut Tx,
    draw_id: &str,
    rows: &[(i64, String, String)],
) -> Result<(), StoreError> {
    match tx {
        Tx::Sqlite(t) => {
            let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO entry_exclusions (draw_id, seq, rule, reason) ",
            );
            qb.push_values(rows, |mut b, (seq, rule, reason)| {
                b.push_bind(draw_id)
                    .push_bind(*seq)
                    .push_bind(rule)
                    .push_bind(reason);
            });
            qb.build().execute(&mut **t).await?;
        }
        Tx::Postgres(t) => {
            let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let rules: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
            let reasons: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
            sqlx::query(
                "INSERT INTO entry_exclusions (draw_id, seq, rule, reason) \
                 SELECT $1, s, r, x FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[]) AS t (s, r, x)",
            )
            .bind(draw_id)
            .bind(seqs)
            .bind(rules)
            .bind(reasons)
            .execute(&mut **t)
            .await?;
        }
    }
    Ok(())
}

impl ExecutionClaim {
    /// The lock file and, for commit-reveal, the stored secret (decrypted).
    pub async fn lock(&mut self) -> Result<(StoredLock, Option<Vec<u8>>), StoreError> {
        let id = self.draw.id.clone();
        let row = on_tx!(&mut self.tx, c => {
            sqlx::query("SELECT lock_hash, lock_file, secret FROM draw_locks WHERE draw_id = $1")
                .bind(&id)
                .fetch_optional(c)
                .await?
                .map(|r| -> Result<_, StoreError> {
                    Ok((StoredLock { lock_hash: r.text("lock_hash")?, lock_file: r.bytes("lock_file")? }, r.opt_bytes("secret")?))
                })
        });
        let (lock, sealed) = row
            .transpose()?
            .ok_or(StoreError::NotFound("lock receipt"))?;
        let secret = match sealed {
            Some(s) => Some(self.store.master.open(&secret_context(&id), &s)?.to_vec()),
            None => None,
        };
        Ok((lock, secret))
    }

    /// Stores the bundle, queues the execution receipt's log entry, counts
    /// the execution against the organisation's quota and makes the draw
    /// `executed`, atomically; durable when this returns.
    ///
    /// Fails with [`StoreError::QuotaExceeded`] (the draw stays locked)
    /// when the executions quota is used up.
    pub async fn commit(
        self,
        bundle: &[u8],
        sha256: &str,
        log_entry: &NewLogEntry,
        executed_at: i64,
    ) -> Result<Draw, StoreError> {
        self.commit_with_events(bundle, sha256, log_entry, executed_at, &[])
            .await
    }

    /// [`ExecutionClaim::commit`], also recording `events` (and queueing
    /// their webhook deliveries) in the same transaction.
    pub async fn commit_with_events(
        mut self,
        bundle: &[u8],
        sha256: &str,
        log_entry: &NewLogEntry,
        executed_at: i64,
        events: &[NewEvent],
    ) -> Result<Draw, StoreError> {
        let id = self.draw.id.clone();
        let inserted = on_tx!(&mut self.tx, c => {
            sqlx::query("INSERT INTO draw_executions (draw_id, bundle, bundle_sha256, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&id)
                .bind(bundle)
                .bind(sha256)
                .bind(executed_at)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        });
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::State(DrawState::Executed));
            }
            Err(e) => return Err(e.into()),
        }
        crate::log::queue_entry(&mut self.tx, &id, log_entry, executed_at).await?;
        let lock_ms = self
            .draw
            .locked_at
            .map_or(0, |l| executed_at.saturating_sub(l).max(0));
        let org_id = self.draw.org_id.clone();
        crate::usage::charge(
            &mut self.tx,
            &org_id,
            QuotaKind::Executions,
            1,
            lock_ms,
            executed_at,
        )
        .await?;
        self.finish("executed", None, Some(executed_at), executed_at, events)
            .await
    }

    /// Marks the draw `failed` with the reason (the lock cannot be executed).
    pub async fn fail(self, reason: &str, now: i64) -> Result<Draw, StoreError> {
        self.finish("failed", Some(reason), None, now, &[]).await
    }

    async fn finish(
        mut self,
        state: &str,
        failure: Option<&str>,
        executed_at: Option<i64>,
        now: i64,
        events: &[NewEvent],
    ) -> Result<Draw, StoreError> {
        let id = self.draw.id.clone();
        let sql = format!(
            "UPDATE draws SET state = $1, failure = $2, executed_at = $3, updated_at = $4 WHERE id = $5 AND state = 'locked' RETURNING {DRAW_COLUMNS}"
        );
        let d = on_tx!(&mut self.tx, c => {
            sqlx::query(&sql)
                .bind(state)
                .bind(failure)
                .bind(executed_at)
                .bind(now)
                .bind(&id)
                .fetch_optional(c)
                .await?
                .map(|r| draw_from(&r))
        });
        let draw = d
            .transpose()?
            .ok_or(StoreError::State(DrawState::Executed))?;
        for e in events {
            crate::events::insert_event(&mut self.tx, &self.store, e, now).await?;
        }
        self.tx.commit().await?;
        Ok(draw)
    }
}
