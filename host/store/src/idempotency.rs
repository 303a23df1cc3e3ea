//! `Idempotency-Key` records.

use crate::db::{RowExt, on_db};
use crate::{Store, StoreError};

/// How long a stored response is replayed: 24 hours, in milliseconds.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// A claim still without a response after this long is taken to be
/// abandoned (its request died with its process) and may be claimed again.
pub const ABANDONED_AFTER_MS: i64 = 5 * 60 * 1000;

/// What the store says about a request carrying an `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new (or expired): this request runs, then calls
    /// [`Store::idempotency_complete`] or [`Store::idempotency_release`].
    Claimed,
    /// The key was used with the same request: replay this response.
    Replay {
        /// HTTP status.
        status: u16,
        /// `Content-Type` of the body.
        content_type: Option<String>,
        /// The body.
        body: Vec<u8>,
    },
    /// The same request with this key is still running.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

impl Store {
    /// Claims an idempotency key for a request (`request_sha256`: method,
    /// path and body). Exactly one of several concurrent claims wins.
    pub async fn idempotency_claim(
        &self,
        org_id: &str,
        key: &str,
        request_sha256: &str,
        now: i64,
    ) -> Result<IdempotencyClaim, StoreError> {
        for _ in 0..2 {
            on_db!(&self.db, p => {
                sqlx::query(
                    "DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 \
                     AND (created_at <= $3 OR (status IS NULL AND created_at <= $4))",
                )
                .bind(org_id)
                .bind(key)
                .bind(now - IDEMPOTENCY_TTL_MS)
                .bind(now - ABANDONED_AFTER_MS)
                .execute(p)
                .await?
                .rows_affected()
            });
            let inserted = on_db!(&self.db, p => {
                sqlx::query(
                    "INSERT INTO idempotency_keys (org_id, key, request_sha256, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(org_id)
                .bind(key)
                .bind(request_sha256)
                .bind(now)
                .execute(p)
                .await?
                .rows_affected()
            });
            if inserted == 1 {
                return Ok(IdempotencyClaim::Claimed);
            }
            let row = on_db!(&self.db, p => {
                sqlx::query(
                    "SELECT request_sha256, status, content_type, response FROM idempotency_keys WHERE org_id = $1 AND key = $2",
                )
                .bind(org_id)
                .bind(key)
                .fetch_optional(p)
                .await?
                .map(|r| -> Result<_, StoreError> {
                    Ok((r.text("request_sha256")?, r.opt_int("status")?, r.opt_text("content_type")?, r.opt_bytes("response")?))
                })
            });
            // Gone between the insert and the select (released): try again.
            let Some(row) = row.transpose()? else {
                continue;
            };
            let (sha, status, content_type, body) = row;
            if sha != request_sha256 {
                return Ok(IdempotencyClaim::Mismatch);
            }
            return Ok(match status {
                None => IdempotencyClaim::InProgress,
                Some(s) => IdempotencyClaim::Replay {
                    status: u16::try_from(s)
                        .map_err(|_| StoreError::Corrupt(format!("status {s}")))?,
                    content_type,
                    body: match body {
                        Some(sealed) => self
                            .master
                            .open(&response_context(org_id, key), &sealed)?
                            .to_vec(),
                        None => Vec::new(),
                    },
                },
            });
        }
        Ok(IdempotencyClaim::InProgress)
    }

    /// Stores the response of a claimed request, to be replayed for 24 hours,
    /// encrypted under the master key like the signing keys: a response may
    /// hold a secret shown once (an API key, a webhook secret).
    pub async fn idempotency_complete(
        &self,
        org_id: &str,
        key: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), StoreError> {
        let sealed = self.master.seal(&response_context(org_id, key), body)?;
        on_db!(&self.db, p => {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $1, content_type = $2, response = $3 WHERE org_id = $4 AND key = $5",
            )
            .bind(i64::from(status))
            .bind(content_type)
            .bind(&sealed)
            .bind(org_id)
            .bind(key)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Forgets a claim whose request failed on the server's side, so a retry
    /// with the same key runs again.
    pub async fn idempotency_release(&self, org_id: &str, key: &str) -> Result<(), StoreError> {
        on_db!(&self.db, p => {
            sqlx::query("DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND status IS NULL")
                .bind(org_id)
                .bind(key)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Deletes every record older than 24 hours; returns how many.
    pub async fn idempotency_purge(&self, now: i64) -> Result<u64, StoreError> {
        Ok(on_db!(&self.db, p => {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
                .bind(now - IDEMPOTENCY_TTL_MS)
                .execute(p)
                .await?
                .rows_affected()
        }))
    }
}

/// What a stored response is bound to: a sealed response copied to another
/// key's row does not decrypt.
fn response_context(org_id: &str, key: &str) -> String {
    format!("idempotent response {org_id}/{key}")
}
