//! # fairdraw-store
//!
//! Durable state of `fairdraw serve`: organisations, API keys, encrypted
//! signing keys, draws, entries, idempotency records, the job queue, draw
//! events and webhooks, in SQLite (the
//! embedded default, one file in the data directory) or PostgreSQL (when
//! `DATABASE_URL` is a `postgres://` URL, for several replicas behind a load
//! balancer). Migrations are numbered per back-end (`migrations/sqlite`,
//! `migrations/postgres`) and run by [`Store::open`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), fairdraw_store::StoreError> {
//! use fairdraw_store::{MasterKey, Store, StoreOptions};
//!
//! let store = Store::open(&StoreOptions {
//!     database_url: None,                       // SQLite in the data directory
//!     data_dir: "fairdraw-data".into(),
//!     master_key: MasterKey::insecure_dev(),
//! })
//! .await?;
//! let (org, key) = store.create_org("ACME", 1_700_000_000_000).await?;
//! let caller = store.authenticate(&key.secret).await?.expect("fresh key");
//! assert_eq!(caller.org_id, org.id);
//! # Ok(()) }
//! ```
//!
//! ## Why an enum over two pools rather than `sqlx::Any`
//!
//! [`Db`] holds either a `SqlitePool` or a `PgPool`, and a small macro runs
//! one SQL text against whichever it is. `sqlx::Any` would hide the
//! back-end, but it maps values through a lowest common denominator (no
//! `BYTEA`/`BLOB` distinction in older versions, no arrays), cannot use
//! PostgreSQL's `UNNEST` array binds for bulk inserts, and cannot set
//! SQLite's connection pragmas (WAL, `synchronous=FULL`, busy timeout,
//! foreign keys) through one options type. With the enum each arm is typed
//! code for its own driver, the SQL stays shared (`$1, $2, …` placeholders in
//! order work on both), and where the dialects differ (bulk inserts) each
//! back-end gets its best form.
//!
//! Queries are built at run time (`sqlx::query`), never with the
//! compile-time `query!` macros, so building needs no database.
//!
//! ## Guarantees the schema enforces
//!
//! - exactly one lock and one execution per draw: `draw_locks` and
//!   `draw_executions` are keyed by the draw id, and the state change happens
//!   in the same transaction, claimed by a conditional `UPDATE` first;
//! - at most one active signing key per organisation (partial unique index);
//! - a repeated upload of the same body to the same collection is recorded
//!   once (`entry_uploads` primary key);
//! - one idempotency record per organisation and key;
//! - a job's writes fenced by its lease token: a worker whose lease was
//!   taken over cannot complete, fail or extend the job (see [`Store::claim_job`]);
//! - every stored lock and execution receipt queued for the transparency
//!   log in the same transaction, and log indexes unique and gap-free,
//!   assigned by one lease-holding sequencer at a time (see
//!   [`Store::sequence_log`]).
//! - one event per state change, numbered per draw in commit order, and one
//!   webhook delivery per endpoint and event, queued in the transaction of
//!   the change (see [`NewEvent`]);
//! - usage counted exactly and quotas never crossed: each counter is bumped
//!   by a conditional `UPDATE` in the transaction of its effect, so a
//!   refused request leaves nothing behind (see [`Store::usage`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod crypto;
mod db;
mod draws;
mod entries;
mod events;
mod idempotency;
mod jobs;
mod log;
mod model;
mod orgs;
#[cfg(feature = "testing")]
pub mod testing;
mod usage;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use crypto::{MasterKey, random_bytes};
pub use db::Db;
pub use draws::{ExecutionClaim, LockClaim, LockRecord};
pub use entries::{EntryRow, Upload, UploadResponse};
pub use events::{
    Delivery, DeliveryAttempt, DeliveryTarget, DrawEvent, NewEvent, WEBHOOK_EVENTS, Webhook,
};
pub use idempotency::{IDEMPOTENCY_TTL_MS, IdempotencyClaim};
pub use jobs::{Backoff, Job, JobFilter, JobKind, JobState, Lease, NewJob};
pub use log::{
    LeafCache, LogKind, LogLease, LoggedEntry, NewLogEntry, StoredCheckpoint, TILE_WIDTH,
};
pub use model::*;
pub use orgs::OrgSigner;
pub use usage::{OrgStats, QuotaChange, QuotaKind, Usage};

use db::on_db;

/// The SQLite migrations, embedded at build time.
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
/// The PostgreSQL migrations, embedded at build time.
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The SQLite file inside the data directory.
pub const SQLITE_FILE: &str = "fairdraw.sqlite3";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The master key is missing or malformed.
    #[error("{0}")]
    MasterKey(String),
    /// Encryption or decryption failed (wrong master key, altered data).
    #[error("{0}")]
    Crypto(String),
    /// The configuration is unusable (data directory, URL).
    #[error("{0}")]
    Config(String),
    /// No such resource (or it belongs to another organisation).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The draw is not in a state that allows this; carries the current state.
    #[error("the draw is {0}")]
    State(DrawState),
    /// The job is not in a state that allows this; carries the current state.
    #[error("the job is {0}")]
    JobState(JobState),
    /// A job's lease expired and another worker claimed it: the late
    /// worker's write was refused.
    #[error("the job's lease expired and another worker took it over")]
    LeaseLost,
    /// The request would take the organisation over a quota; nothing was
    /// done.
    #[error("the {quota} quota is {limit}, {usage} used; this would add {requested}")]
    QuotaExceeded {
        /// Which quota.
        quota: QuotaKind,
        /// Used so far.
        usage: i64,
        /// The quota.
        limit: i64,
        /// What the refused request would have added.
        requested: i64,
    },
    /// Stored data does not decode (a bug or manual edits).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Where the store lives and how secrets are encrypted.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// `postgres://…` for PostgreSQL, `sqlite://PATH` for a given SQLite
    /// file, or `None` for `DATA_DIR/fairdraw.sqlite3`.
    pub database_url: Option<String>,
    /// The data directory (created if missing) for the embedded SQLite file.
    pub data_dir: PathBuf,
    /// The key signing keys and secrets are encrypted under.
    pub master_key: MasterKey,
}

/// The store: a pool and the master key. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    master: MasterKey,
    /// Attempts of each webhook delivery before it is dead.
    webhook_attempts: i64,
}

/// Attempts of a webhook delivery before it is dead, by default: with the
/// workers' default backoff (2 s doubling to 10 min, jittered) 35 to 70
/// minutes of a failing endpoint.
pub const WEBHOOK_ATTEMPTS: i64 = 15;

impl Store {
    /// Connects (creating the SQLite file on first start) and runs the
    /// pending migrations.
    ///
    /// Fails when the database cannot be reached or created, or a migration
    /// fails.
    pub async fn open(opts: &StoreOptions) -> Result<Store, StoreError> {
        let url = opts
            .database_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let db = match url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                let o = PgConnectOptions::from_str(u)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(o)
                    .await?;
                Db::Postgres(pool)
            }
            Some(u) if u.starts_with("sqlite:") => {
                let o = SqliteConnectOptions::from_str(u)?;
                Db::Sqlite(sqlite_pool(o).await?)
            }
            Some(u) => {
                return Err(StoreError::Config(format!(
                    "DATABASE_URL {:?} is neither postgres:// nor sqlite:",
                    u.split(':').next().unwrap_or_default()
                )));
            }
            None => {
                std::fs::create_dir_all(&opts.data_dir).map_err(|e| {
                    StoreError::Config(format!(
                        "cannot create the data directory {}: {e}",
                        opts.data_dir.display()
                    ))
                })?;
                let o = SqliteConnectOptions::new().filename(opts.data_dir.join(SQLITE_FILE));
                Db::Sqlite(sqlite_pool(o).await?)
            }
        };
        let store = Store {
            db,
            master: opts.master_key.clone(),
            webhook_attempts: WEBHOOK_ATTEMPTS,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The same store giving each webhook delivery queued from now on
    /// `attempts` attempts (at least 1) before it is dead.
    pub fn with_webhook_attempts(mut self, attempts: i64) -> Store {
        self.webhook_attempts = attempts.max(1);
        self
    }

    /// The pool, for callers that need raw access (tests, tools).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Runs the migrations not yet applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Whether the database answers and every embedded migration is applied
    /// (what `/readyz` reports).
    ///
    /// Fails with the reason otherwise.
    pub async fn ready(&self) -> Result<(), StoreError> {
        let (migrator, applied): (&Migrator, Vec<i64>) = match &self.db {
            Db::Sqlite(p) => (
                &SQLITE_MIGRATIONS,
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                    .fetch_all(p)
                    .await?,
            ),
            Db::Postgres(p) => (
                &POSTGRES_MIGRATIONS,
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                    .fetch_all(p)
                    .await?,
            ),
        };
        let missing: Vec<i64> = migrator
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Config(format!(
                "migrations not applied: {missing:?}"
            )))
        }
    }

    /// How many draws are in each state (for `/metrics`).
    pub async fn draw_counts(&self) -> Result<Vec<(DrawState, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_db!(&self.db, p => {
            sqlx::query_as("SELECT state, COUNT(*) FROM draws GROUP BY state").fetch_all(p).await?
        });
        rows.into_iter()
            .map(|(s, n)| Ok((DrawState::parse(&s)?, n)))
            .collect()
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        on_db!(&self.db, p => p.close().await)
    }
}

async fn sqlite_pool(o: SqliteConnectOptions) -> Result<sqlx::SqlitePool, StoreError> {
    let o = o
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk before it returns, so nothing acknowledged
        // with a 2xx is lost on power failure (NORMAL may lose the last ones).
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(o)
        .await?)
}
