//! The transparency log's storage (issue 14): the queue of entries, the
//! sequencer's lease, gap-free indexes, stored tree nodes, signed
//! checkpoints and witness cosignatures, and the log's own key.
//!
//! Every Merkle computation is the engine's ([`fairdraw_engine::merkle`],
//! [`fairdraw_engine::log`]); this module only stores and loads hashes.
//!
//! Receipts are queued by [`crate::LockClaim::commit_with_job`] and
//! [`crate::ExecutionClaim::commit`] in the transaction that stores them.
//! [`Store::sequence_log`] then, in one transaction fenced by the
//! sequencer's lease, gives the oldest queued entries the next indexes,
//! stores the tree nodes they complete and signs a checkpoint of the new
//! size. The lease row is written first in that transaction, so on
//! PostgreSQL a second sequencer (one whose lease expired without its
//! knowing) waits for the row lock and then finds its token gone; the
//! unique index on `idx` would refuse a duplicate index anyway.

use ed25519_dalek::SigningKey;
use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::log::{Checkpoint, Note};
use fairdraw_engine::merkle::{self, RootBuilder};
use fairdraw_engine::receipt::Signer;
use zeroize::Zeroizing;

use crate::crypto::random_bytes;
use crate::db::{Tx, on_db, on_tx};
use crate::{Store, StoreError};

/// Entries per tile (C2SP tlog-tiles): the engine's, which the monitor reads
/// the log with.
pub use fairdraw_engine::log::monitor::TILE_WIDTH;

/// What a log entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// A lock receipt.
    Lock,
    /// An execution receipt.
    Execution,
}

impl LogKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Lock => "lock",
            LogKind::Execution => "execution",
        }
    }
}

/// A log entry to queue with a receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLogEntry {
    /// Lock or execution.
    pub kind: LogKind,
    /// The entry bytes (JCS of the engine's `LogEntry`).
    pub entry: Vec<u8>,
    /// Their RFC 6962 leaf hash.
    pub leaf_hash: Hash32,
}

/// A stored checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash32,
    /// The signed note (log signature only).
    pub note: String,
    /// Cosignature lines stored for it, `(witness name, line)`.
    pub cosignatures: Vec<(String, String)>,
    /// When it was signed, Unix milliseconds.
    pub created_at: i64,
}

impl StoredCheckpoint {
    /// The note with every stored cosignature line added (the checkpoint
    /// `/log/checkpoint` serves).
    ///
    /// Fails with [`StoreError::Corrupt`] when a stored note or line does
    /// not parse.
    pub fn cosigned_note(&self) -> Result<Note, StoreError> {
        let corrupt = |e: fairdraw_engine::log::LogError| StoreError::Corrupt(e.to_string());
        let mut note = Note::parse(self.note.as_bytes()).map_err(corrupt)?;
        let mut text = note.to_text();
        for (_, line) in &self.cosignatures {
            text.push_str(line);
            text.push('\n');
        }
        if !self.cosignatures.is_empty() {
            note = Note::parse(text.as_bytes()).map_err(corrupt)?;
        }
        Ok(note)
    }
}

/// Where a draw's receipt sits in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEntry {
    /// The leaf index, once sequenced.
    pub index: Option<u64>,
    /// The leaf hash.
    pub leaf_hash: Hash32,
}

/// The sequencer's lease on the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLease {
    /// The token every sequencing transaction presents.
    pub token: String,
    /// Lease end, Unix milliseconds.
    pub until: i64,
}

/// A copy of the log's leaf hashes in memory, extended from the database
/// (sequenced entries never change, so it only grows), with the running
/// root of the engine's [`RootBuilder`].
#[derive(Clone, Debug, Default)]
pub struct LeafCache {
    leaves: Vec<Hash32>,
    builder: RootBuilder,
}

impl LeafCache {
    /// The leaf hashes held.
    pub fn leaves(&self) -> &[Hash32] {
        &self.leaves
    }

    /// The root of every leaf held.
    pub fn root(&self) -> Hash32 {
        self.builder.root()
    }

    fn push(&mut self, leaf: Hash32) {
        self.leaves.push(leaf);
        self.builder.push(leaf);
    }
}

fn hash32(bytes: Vec<u8>) -> Result<Hash32, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash32)
        .map_err(|_| StoreError::Corrupt("a stored hash is not 32 bytes".into()))
}

fn u64_of(i: i64) -> Result<u64, StoreError> {
    u64::try_from(i).map_err(|_| StoreError::Corrupt("a negative log index".into()))
}

fn i64_of(u: u64) -> i64 {
    i64::try_from(u).unwrap_or(i64::MAX)
}

const LOG_KEY_CONTEXT: &str = "fairdraw/log-key";

/// Queues a log entry inside a receipt's transaction.
pub(crate) async fn queue_entry(
    tx: &mut Tx,
    draw_id: &str,
    e: &NewLogEntry,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, c => {
        sqlx::query("INSERT INTO log_entries (entry, leaf_hash, draw_id, kind, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&e.entry)
            .bind(e.leaf_hash.0.to_vec())
            .bind(draw_id)
            .bind(e.kind.as_str())
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
    });
    Ok(())
}

impl Store {
    /// The log's signing key, created (and stored encrypted under the
    /// master key) on first call. Replicas starting at once agree on one
    /// key: the row is inserted with `ON CONFLICT DO NOTHING` and read back.
    pub async fn log_signer(&self, now: i64) -> Result<Signer, StoreError> {
        let secret = Zeroizing::new(random_bytes::<32>()?);
        let public = SigningKey::from_bytes(&secret).verifying_key().to_bytes();
        let sealed = self.master.seal(LOG_KEY_CONTEXT, secret.as_slice())?;
        on_db!(&self.db, p => {
            sqlx::query("INSERT INTO log_keys (id, public_key, encrypted_secret, created_at) VALUES ('log', $1, $2, $3) ON CONFLICT (id) DO NOTHING")
                .bind(public.to_vec())
                .bind(sealed)
                .bind(now)
                .execute(p)
                .await?
                .rows_affected()
        });
        let row: Option<Vec<u8>> = on_db!(&self.db, p => {
            sqlx::query_scalar("SELECT encrypted_secret FROM log_keys WHERE id = 'log'")
                .fetch_optional(p)
                .await?
        });
        let sealed = row.ok_or(StoreError::NotFound("log key"))?;
        let plain = self.master.open(LOG_KEY_CONTEXT, &sealed)?;
        let secret: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("the log key is not 32 bytes".into()))?;
        Ok(Signer::from_secret(secret))
    }

    /// Takes (or renews) the sequencer's lease for `lease_ms` as `holder`.
    /// Returns `None` while another holder's lease runs.
    pub async fn acquire_log_lease(
        &self,
        holder: &str,
        current: Option<&LogLease>,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<LogLease>, StoreError> {
        let token = match current {
            Some(l) => l.token.clone(),
            None => hex::encode(random_bytes::<16>()?),
        };
        let until = now.saturating_add(lease_ms);
        let n = on_db!(&self.db, p => {
            sqlx::query(
                "UPDATE log_sequencer SET holder = $1, lease_token = $2, locked_until = $3 \
                 WHERE id = 1 AND (lease_token = $2 OR lease_token IS NULL OR locked_until < $4)",
            )
            .bind(holder)
            .bind(&token)
            .bind(until)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok((n == 1).then_some(LogLease { token, until }))
    }

    /// Gives the lease up (a replica shutting down), so another replica
    /// sequences at once.
    pub async fn release_log_lease(&self, lease: &LogLease) -> Result<(), StoreError> {
        on_db!(&self.db, p => {
            sqlx::query("UPDATE log_sequencer SET holder = NULL, lease_token = NULL, locked_until = NULL WHERE id = 1 AND lease_token = $1")
                .bind(&lease.token)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Extends `cache` with the sequenced leaves it lacks, up to `size`.
    pub async fn sync_leaf_cache(
        &self,
        cache: &mut LeafCache,
        size: u64,
    ) -> Result<(), StoreError> {
        let have = cache.leaves.len() as u64;
        if have >= size {
            return Ok(());
        }
        let rows: Vec<(i64, Vec<u8>)> = on_db!(&self.db, p => {
            sqlx::query_as("SELECT idx, leaf_hash FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                .bind(i64_of(have))
                .bind(i64_of(size))
                .fetch_all(p)
                .await?
        });
        for (i, (idx, h)) in rows.into_iter().enumerate() {
            if u64_of(idx)? != have + i as u64 {
                return Err(StoreError::Corrupt(format!(
                    "log index {idx} where {} was expected: a gap",
                    have + i as u64
                )));
            }
            cache.push(hash32(h)?);
        }
        if (cache.leaves.len() as u64) < size {
            return Err(StoreError::Corrupt(format!(
                "the log has {} sequenced entries, its checkpoint says {size}",
                cache.leaves.len()
            )));
        }
        Ok(())
    }

    /// One sequencing step, fenced by `lease`: gives up to `max` queued
    /// entries the next indexes, stores the tree nodes they complete, and
    /// stores a checkpoint of the new size signed by `signer` as `origin`.
    /// With nothing queued, signs the empty tree's checkpoint once (so
    /// `/log/checkpoint` has something to serve) and otherwise does
    /// nothing.
    ///
    /// `cache` must hold (a prefix of) the log's leaves; it is brought up
    /// to date and, on success, extended with the new leaves. Returns the
    /// new checkpoint, or `None` when nothing changed. Fails with
    /// [`StoreError::LeaseLost`] when the lease is no longer this
    /// sequencer's.
    pub async fn sequence_log(
        &self,
        lease: &LogLease,
        origin: &str,
        signer: &Signer,
        cache: &mut LeafCache,
        max: usize,
        now: i64,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let mut tx = self.db.begin().await?;
        // The fence, first: on PostgreSQL it holds the lease row until commit.
        let fenced = on_tx!(&mut tx, c => {
            sqlx::query("UPDATE log_sequencer SET locked_until = locked_until WHERE id = 1 AND lease_token = $1 AND locked_until >= $2")
                .bind(&lease.token)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        if fenced != 1 {
            return Err(StoreError::LeaseLost);
        }
        let (size, has_checkpoint): (i64, i64) = on_tx!(&mut tx, c => {
            sqlx::query_as("SELECT COALESCE((SELECT MAX(idx) + 1 FROM log_entries WHERE idx IS NOT NULL), 0), \
                            (SELECT COUNT(*) FROM log_checkpoints)")
                .fetch_one(c)
                .await?
        });
        let size = u64_of(size)?;
        if (cache.leaves.len() as u64) > size {
            *cache = LeafCache::default();
        }
        self.sync_leaf_cache(cache, size).await?;
        let pending: Vec<(i64, Vec<u8>)> = on_tx!(&mut tx, c => {
            sqlx::query_as("SELECT id, leaf_hash FROM log_entries WHERE idx IS NULL ORDER BY id LIMIT $1")
                .bind(i64::try_from(max).unwrap_or(i64::MAX))
                .fetch_all(c)
                .await?
        });
        if pending.is_empty() && has_checkpoint > 0 {
            return Ok(None);
        }
        let mut next = cache.clone();
        let mut ids = Vec::with_capacity(pending.len());
        for (id, h) in pending {
            ids.push(id);
            next.push(hash32(h)?);
        }
        assign_indexes(&mut tx, &ids, size, now).await?;
        let new_size = next.leaves.len() as u64;
        store_nodes(&mut tx, next.leaves(), size, new_size).await?;
        let root = next.root();
        let checkpoint = Checkpoint::new(origin, new_size, root)
            .map_err(|e| StoreError::Config(format!("log origin {origin:?}: {e}")))?;
        let mut note = Note::new(&checkpoint.to_text())
            .map_err(|e| StoreError::Config(format!("log origin {origin:?}: {e}")))?;
        note.sign(origin, signer)
            .map_err(|e| StoreError::Crypto(format!("signing the checkpoint: {e}")))?;
        let text = note.to_text();
        on_tx!(&mut tx, c => {
            sqlx::query("INSERT INTO log_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (size) DO NOTHING")
                .bind(i64_of(new_size))
                .bind(root.0.to_vec())
                .bind(&text)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        *cache = next;
        Ok(Some(StoredCheckpoint {
            size: new_size,
            root,
            note: text,
            cosignatures: Vec::new(),
            created_at: now,
        }))
    }

    /// The latest checkpoint with its cosignatures, if any was signed.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.checkpoint_where("ORDER BY size DESC LIMIT 1", None)
            .await
    }

    /// The checkpoint of one size.
    pub async fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.checkpoint_where("WHERE size = $1", Some(i64_of(size)))
            .await
    }

    async fn checkpoint_where(
        &self,
        clause: &str,
        size: Option<i64>,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let sql = format!("SELECT size, root, note, created_at FROM log_checkpoints {clause}");
        let row: Option<(i64, Vec<u8>, String, i64)> = on_db!(&self.db, p => {
            let q = sqlx::query_as(&sql);
            let q = match size { Some(s) => q.bind(s), None => q };
            q.fetch_optional(p).await?
        });
        let Some((size, root, note, created_at)) = row else {
            return Ok(None);
        };
        let cosignatures: Vec<(String, String)> = on_db!(&self.db, p => {
            sqlx::query_as("SELECT witness, line FROM log_cosignatures WHERE size = $1 ORDER BY witness")
                .bind(size)
                .fetch_all(p)
                .await?
        });
        Ok(Some(StoredCheckpoint {
            size: u64_of(size)?,
            root: hash32(root)?,
            note,
            cosignatures,
            created_at,
        }))
    }

    /// Stores a witness's cosignature line of the checkpoint of `size`
    /// (replacing an older line of that witness for that size).
    pub async fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_db!(&self.db, p => {
            sqlx::query("INSERT INTO log_cosignatures (size, witness, line, created_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line, created_at = excluded.created_at")
                .bind(i64_of(size))
                .bind(witness)
                .bind(line)
                .bind(now)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The draw's entry of one kind in the log (the first, if several).
    pub async fn logged_entry(
        &self,
        draw_id: &str,
        kind: LogKind,
    ) -> Result<Option<LoggedEntry>, StoreError> {
        let row: Option<(Option<i64>, Vec<u8>)> = on_db!(&self.db, p => {
            sqlx::query_as("SELECT idx, leaf_hash FROM log_entries WHERE draw_id = $1 AND kind = $2 ORDER BY id LIMIT 1")
                .bind(draw_id)
                .bind(kind.as_str())
                .fetch_optional(p)
                .await?
        });
        row.map(|(idx, h)| {
            Ok(LoggedEntry {
                index: idx.map(u64_of).transpose()?,
                leaf_hash: hash32(h)?,
            })
        })
        .transpose()
    }

    /// Entries queued and not yet sequenced.
    pub async fn log_pending(&self) -> Result<i64, StoreError> {
        Ok(on_db!(&self.db, p => {
            sqlx::query_scalar("SELECT COUNT(*) FROM log_entries WHERE idx IS NULL").fetch_one(p).await?
        }))
    }

    /// The leaf hashes of indexes `start..start + count` (a level-0 hash
    /// tile), or fewer when the log is shorter.
    pub async fn log_leaf_hashes(&self, start: u64, count: u64) -> Result<Vec<Hash32>, StoreError> {
        let rows: Vec<Vec<u8>> = on_db!(&self.db, p => {
            sqlx::query_scalar("SELECT leaf_hash FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                .bind(i64_of(start))
                .bind(i64_of(start.saturating_add(count)))
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(hash32).collect()
    }

    /// The entry bytes of indexes `start..start + count` (an entry bundle).
    pub async fn log_entries(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(on_db!(&self.db, p => {
            sqlx::query_scalar("SELECT entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                .bind(i64_of(start))
                .bind(i64_of(start.saturating_add(count)))
                .fetch_all(p)
                .await?
        }))
    }

    /// Stored nodes of tile level `level` (height `8 * level`), indexes
    /// `start..start + count` (a hash tile above level 0).
    pub async fn log_tree_nodes(
        &self,
        level: u8,
        start: u64,
        count: u64,
    ) -> Result<Vec<Hash32>, StoreError> {
        let rows: Vec<Vec<u8>> = on_db!(&self.db, p => {
            sqlx::query_scalar("SELECT hash FROM log_tree_nodes WHERE level = $1 AND n >= $2 AND n < $3 ORDER BY n")
                .bind(i64::from(level))
                .bind(i64_of(start))
                .bind(i64_of(start.saturating_add(count)))
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(hash32).collect()
    }
}

async fn assign_indexes(tx: &mut Tx, ids: &[i64], first: u64, now: i64) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let first = i64_of(first);
    match tx {
        Tx::Sqlite(t) => {
            for (i, id) in ids.iter().enumerate() {
                sqlx::query("UPDATE log_entries SET idx = $1, sequenced_at = $2 WHERE id = $3 AND idx IS NULL")
                    .bind(first + i as i64)
                    .bind(now)
                    .bind(id)
                    .execute(&mut **t)
                    .await?;
            }
        }
        Tx::Postgres(t) => {
            let idxs: Vec<i64> = (0..ids.len()).map(|i| first + i as i64).collect();
            sqlx::query(
                "UPDATE log_entries SET idx = v.idx, sequenced_at = $1 \
                 FROM UNNEST($2::BIGINT[], $3::BIGINT[]) AS v (id, idx) \
                 WHERE log_entries.id = v.id AND log_entries.idx IS NULL",
            )
            .bind(now)
            .bind(ids.to_vec())
            .bind(idxs)
            .execute(&mut **t)
            .await?;
        }
    }
    Ok(())
}

/// Stores every node at a tile level (height 8, 16, …) that the leaves
/// `old_size..new_size` complete, each the engine's root of its leaves.
async fn store_nodes(
    tx: &mut Tx,
    leaves: &[Hash32],
    old_size: u64,
    new_size: u64,
) -> Result<(), StoreError> {
    let mut level: u8 = 1;
    let mut span = TILE_WIDTH;
    while span <= new_size {
        for n in old_size / span..new_size / span {
            let (a, b) = (n * span, (n + 1) * span);
            if b <= old_size {
                continue;
            }
            let slice = leaves
                .get(
                    usize::try_from(a).unwrap_or(usize::MAX)
                        ..usize::try_from(b).unwrap_or(usize::MAX),
                )
                .ok_or_else(|| StoreError::Corrupt("the leaf cache is short".into()))?;
            let hash = merkle::root(slice);
            on_tx!(tx, c => {
                sqlx::query("INSERT INTO log_tree_nodes (level, n, hash) VALUES ($1, $2, $3)")
                    .bind(i64::from(level))
                    .bind(i64_of(n))
                    .bind(hash.0.to_vec())
                    .execute(c)
                    .await?
                    .rows_affected()
            });
        }
        level += 1;
        span = match span.checked_mul(TILE_WIDTH) {
            Some(s) => s,
            None => break,
        };
    }
    Ok(())
}
