//! The two database back-ends behind one enum, and the helpers that let one
//! SQL text run on either.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres, Row, Sqlite, Transaction};

use crate::StoreError;

/// A connection pool to SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub enum Db {
    /// The embedded default: one file in the data directory.
    Sqlite(sqlx::SqlitePool),
    /// A PostgreSQL server (`DATABASE_URL=postgres://…`).
    Postgres(sqlx::PgPool),
}

/// An open transaction on either back-end. Dropping it rolls back.
#[derive(Debug)]
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same expression against whichever pool `$db` holds; `$p` names
/// the pool (or connection) inside. Each arm type-checks separately, so one
/// SQL text serves both back-ends as long as it uses `$1, $2, …` in order.
macro_rules! on_db {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($p) => $body,
            $crate::db::Db::Postgres($p) => $body,
        }
    };
}

/// [`on_db!`] for a transaction: `$c` is the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

pub(crate) use {on_db, on_tx};

impl Db {
    /// Starts a transaction.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

impl Tx {
    /// Commits; the data is durable when this returns (SQLite runs with
    /// `synchronous=FULL`, PostgreSQL with its default `synchronous_commit`).
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Typed column access that reads the same on both back-ends.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError>;
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

macro_rules! row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn text(&self, col: &str) -> Result<String, StoreError> {
                Ok(self.try_get::<String, _>(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                Ok(self.try_get::<Option<String>, _>(col)?)
            }
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                Ok(self.try_get::<i64, _>(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get::<Option<i64>, _>(col)?)
            }
            fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError> {
                Ok(self.try_get::<Vec<u8>, _>(col)?)
            }
            fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(self.try_get::<Option<Vec<u8>>, _>(col)?)
            }
        }
    };
}

row_ext!(SqliteRow);
row_ext!(PgRow);

/// Whether an error is a unique or primary-key violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
