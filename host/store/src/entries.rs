//! Entries: streamed uploads in batched inserts, and keyset pagination.

use crate::db::{RowExt, Tx, on_db, on_tx};
use crate::idempotency::{ABANDONED_AFTER_MS, IDEMPOTENCY_TTL_MS};
use crate::{
    DrawState, IdempotencyClaim, QuotaKind, Store, StoreError, StoredEntry, UploadOutcome,
};

/// The response an idempotent upload stores with its entries, in the same
/// transaction: `(status, content type, body)` built from the outcome.
pub type UploadResponse<'a> = Box<dyn FnOnce(&UploadOutcome) -> (u16, String, Vec<u8>) + Send + 'a>;

/// One entry to insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRow {
    /// The entrant's handle as given (for look-ups).
    pub handle: String,
    /// The platform user id.
    pub user_id: String,
    /// The entry JSON, without its `collection` field.
    pub entry: String,
}

/// Rows per multi-row `INSERT` on SQLite (4 binds each, well under SQLite's
/// 32,766-variable limit). PostgreSQL takes any batch as `UNNEST` arrays.
pub const SQLITE_BATCH: usize = 1000;

/// An upload in progress: one transaction, opened by writing the draw's row
/// (so the draw cannot be locked or cancelled under it, and concurrent
/// uploads to one draw queue), fed batch by batch, and committed by
/// [`Upload::finish`]. Dropping it rolls everything back.
#[derive(Debug)]
pub struct Upload {
    tx: Tx,
    org_id: String,
    draw_id: String,
    collection: String,
    first_seq: i64,
    next_seq: i64,
    now: i64,
}

impl Store {
    /// Starts an upload into a collection of a draft draw.
    ///
    /// Fails with [`StoreError::NotFound`] for no draw (or another
    /// organisation's) and [`StoreError::State`] when it is not a draft.
    pub async fn begin_upload(
        &self,
        org_id: &str,
        draw_id: &str,
        collection: &str,
        now: i64,
    ) -> Result<Upload, StoreError> {
        let mut tx = self.db.begin().await?;
        let count = on_tx!(&mut tx, c => {
            sqlx::query("UPDATE draws SET updated_at = $1 WHERE id = $2 AND org_id = $3 AND state = 'draft' RETURNING entry_count")
                .bind(now)
                .bind(draw_id)
                .bind(org_id)
                .fetch_optional(c)
                .await?
                .map(|r| r.int("entry_count"))
        });
        match count.transpose()? {
            Some(n) => Ok(Upload {
                tx,
                org_id: org_id.to_owned(),
                draw_id: draw_id.to_owned(),
                collection: collection.to_owned(),
                first_seq: n,
                next_seq: n,
                now,
            }),
            None => {
                drop(tx);
                Err(StoreError::State(self.draw(org_id, draw_id).await?.state))
            }
        }
    }

    /// A page of a draw's entries after sequence number `after`, optionally
    /// of one collection, each with its exclusion once the rules ran.
    pub async fn entries(
        &self,
        draw_id: &str,
        collection: Option<&str>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let sql = "SELECT e.seq, e.collection, e.entry, x.rule, x.reason FROM entries e \
                   LEFT JOIN entry_exclusions x ON x.draw_id = e.draw_id AND x.seq = e.seq \
                   WHERE e.draw_id = $1 AND ($2 IS NULL OR e.collection = $2) AND e.seq > $3 \
                   ORDER BY e.seq LIMIT $4";
        on_db!(&self.db, p => {
            sqlx::query(sql)
                .bind(draw_id)
                .bind(collection)
                .bind(after.unwrap_or(-1))
                .bind(limit)
                .fetch_all(p)
                .await?
                .iter()
                .map(|r| {
                    let exclusion = match (r.opt_text("rule")?, r.opt_text("reason")?) {
                        (Some(rule), Some(reason)) => Some((rule, reason)),
                        _ => None,
                    };
                    Ok(StoredEntry {
                        seq: r.int("seq")?,
                        collection: r.text("collection")?,
                        entry: r.text("entry")?,
                        exclusion,
                    })
                })
                .collect()
        })
    }
}

impl Upload {
    /// How many entries were pushed so far.
    pub fn pushed(&self) -> i64 {
        self.next_seq - self.first_seq
    }

    /// Inserts a batch of entries in as few statements as the back-end allows.
    pub async fn push(&mut self, rows: &[EntryRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let first = self.next_seq;
        match &mut self.tx {
            Tx::Sqlite(t) => {
                for (i, chunk) in rows.chunks(SQLITE_BATCH).enumerate() {
                    let base = first + (i * SQLITE_BATCH) as i64;
                    let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                        "INSERT INTO entries (draw_id, seq, collection, handle, user_id, entry) ",
                    );
                    let mut seq = base;
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(&self.draw_id)
                            .push_bind(seq)
                            .push_bind(&self.collection)
                            .push_bind(&r.handle)
                            .push_bind(&r.user_id)
                            .push_bind(&r.entry);
                        seq += 1;
                    });
                    qb.build().execute(&mut **t).await?;
                }
            }
            Tx::Postgres(t) => {
                let seqs: Vec<i64> = (0..rows.len() as i64).map(|i| first + i).collect();
                let handles: Vec<&str> = rows.iter().map(|r| r.handle.as_str()).collect();
                let users: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
                let entries: Vec<&str> = rows.iter().map(|r| r.entry.as_str()).collect();
                sqlx::query(
                    "INSERT INTO entries (draw_id, seq, collection, handle, user_id, entry) \
                     SELECT $1, s, $2, h, u, e FROM UNNEST($3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[]) AS t (s, h, u, e)",
                )
                .bind(&self.draw_id)
                .bind(&self.collection)
                .bind(seqs)
                .bind(handles)
                .bind(users)
                .bind(entries)
                .execute(&mut **t)
                .await?;
            }
        }
        self.next_seq += rows.len() as i64;
        Ok(())
    }

    /// Claims an `Idempotency-Key` inside the upload's transaction, so the
    /// entries and the key's record commit together (one effect, even when
    /// two uploads with one key race). On anything but
    /// [`IdempotencyClaim::Claimed`] the caller drops the upload.
    pub async fn claim_idempotency(
        &mut self,
        org_id: &str,
        key: &str,
        request_sha256: &str,
    ) -> Result<IdempotencyClaim, StoreError> {
        let now = self.now;
        on_tx!(&mut self.tx, c => {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 \
                 AND (created_at <= $3 OR (status IS NULL AND created_at <= $4))",
            )
            .bind(org_id)
            .bind(key)
            .bind(now - IDEMPOTENCY_TTL_MS)
            .bind(now - ABANDONED_AFTER_MS)
            .execute(&mut *c)
            .await?;
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (org_id, key, request_sha256, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(org_id)
            .bind(key)
            .bind(request_sha256)
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(IdempotencyClaim::Claimed);
            }
            let row = sqlx::query(
                "SELECT request_sha256, status, content_type, response FROM idempotency_keys WHERE org_id = $1 AND key = $2",
            )
            .bind(org_id)
            .bind(key)
            .fetch_one(&mut *c)
            .await?;
            if row.text("request_sha256")? != request_sha256 {
                return Ok(IdempotencyClaim::Mismatch);
            }
            Ok(match row.opt_int("status")? {
                None => IdempotencyClaim::InProgress,
                Some(s) => IdempotencyClaim::Replay {
                    status: u16::try_from(s).map_err(|_| StoreError::Corrupt(format!("status {s}")))?,
                    content_type: row.opt_text("content_type")?,
                    body: row.opt_bytes("response")?.unwrap_or_default(),
                },
            })
        })
    }

    /// Records the upload by the SHA-256 of its body and commits; durable
    /// when this returns. With `idempotency` (organisation, key and the
    /// response to store), the claimed key's response commits with it.
    ///
    /// When the same body was already uploaded to this collection, rolls back
    /// instead and returns the earlier upload with `duplicate: true`.
    ///
    /// The entries are counted against the organisation's entries quota in
    /// the same transaction: an upload that would cross it fails with
    /// [`StoreError::QuotaExceeded`] and adds nothing.
    pub async fn finish(
        mut self,
        body_sha256: &str,
        idempotency: Option<(&str, &str, UploadResponse<'_>)>,
    ) -> Result<UploadOutcome, StoreError> {
        let count = self.next_seq - self.first_seq;
        let recorded = on_tx!(&mut self.tx, c => {
            sqlx::query(
                "INSERT INTO entry_uploads (draw_id, collection, body_sha256, first_seq, entries, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(&self.draw_id)
            .bind(&self.collection)
            .bind(body_sha256)
            .bind(self.first_seq)
            .bind(count)
            .bind(self.now)
            .execute(c)
            .await?
            .rows_affected()
        });
        if recorded == 0 {
            let earlier = on_tx!(&mut self.tx, c => {
                sqlx::query("SELECT first_seq, entries FROM entry_uploads WHERE draw_id = $1 AND collection = $2 AND body_sha256 = $3")
                    .bind(&self.draw_id)
                    .bind(&self.collection)
                    .bind(body_sha256)
                    .fetch_one(c)
                    .await
                    .map(|r| -> Result<(i64, i64), StoreError> { Ok((r.int("first_seq")?, r.int("entries")?)) })?
            })?;
            drop(self.tx);
            return Ok(UploadOutcome {
                collection: self.collection,
                body_sha256: body_sha256.to_owned(),
                first_seq: earlier.0,
                entries: earlier.1,
                duplicate: true,
            });
        }
        crate::usage::charge(
            &mut self.tx,
            &self.org_id,
            QuotaKind::Entries,
            count,
            0,
            self.now,
        )
        .await?;
        on_tx!(&mut self.tx, c => {
            sqlx::query("UPDATE draws SET entry_count = entry_count + $1 WHERE id = $2 AND state = $3")
                .bind(count)
                .bind(&self.draw_id)
                .bind(DrawState::Draft.as_str())
                .execute(c)
                .await?
                .rows_affected()
        });
        let outcome = UploadOutcome {
            collection: self.collection.clone(),
            body_sha256: body_sha256.to_owned(),
            first_seq: self.first_seq,
            entries: count,
            duplicate: false,
        };
        if let Some((org_id, key, respond)) = idempotency {
            let (status, content_type, body) = respond(&outcome);
            on_tx!(&mut self.tx, c => {
                sqlx::query(
                    "UPDATE idempotency_keys SET status = $1, content_type = $2, response = $3 WHERE org_id = $4 AND key = $5",
                )
                .bind(i64::from(status))
                .bind(content_type)
                .bind(body)
                .bind(org_id)
                .bind(key)
                .execute(c)
                .await?
                .rows_affected()
            });
        }
        self.tx.commit().await?;
        Ok(outcome)
    }
}
