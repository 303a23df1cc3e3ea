//! Test databases (feature `testing`): a fresh SQLite file, and a fresh
//! PostgreSQL database when one is reachable.

use std::path::PathBuf;

use sqlx::Connection;

use crate::{MasterKey, Store, StoreOptions};

/// The server the PostgreSQL tests use, unless `FAIRDRAW_TEST_POSTGRES`
/// names another.
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A store made for one test, and what to clean up after it.
#[derive(Debug)]
pub struct TestDb {
    /// `"sqlite"` or `"postgres"`.
    pub kind: &'static str,
    /// The store.
    pub store: Store,
    /// The options it was opened with (to open it again).
    pub options: StoreOptions,
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// Closes the store and drops its database (PostgreSQL) or directory.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin_url, name)) = &self.pg
            && let Ok(mut c) = sqlx::PgConnection::connect(admin_url).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut c)
                .await;
        }
    }
}

fn unique(prefix: &str) -> String {
    let r = crate::random_bytes::<6>()
        .map(hex::encode)
        .unwrap_or_default();
    format!("{prefix}_{}_{r}", std::process::id())
}

/// A fresh SQLite store in a new directory under the system temp dir.
pub async fn sqlite(test: &str) -> TestDb {
    let dir = std::env::temp_dir().join(unique(&format!("fairdraw-test-{test}")));
    let options = StoreOptions {
        database_url: None,
        data_dir: dir.clone(),
        master_key: MasterKey::insecure_dev(),
    };
    let store = Store::open(&options).await.expect("open SQLite test store");
    TestDb {
        kind: "sqlite",
        store,
        options,
        dir: Some(dir),
        pg: None,
    }
}

/// A fresh PostgreSQL database, or why there is none (the caller prints
/// "skipping PostgreSQL: <why>").
pub async fn postgres(test: &str) -> Result<TestDb, String> {
    let admin_url =
        std::env::var("FAIRDRAW_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    let connect = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::PgConnection::connect(&admin_url),
    );
    let mut admin = match connect.await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(format!("{admin_url} is unreachable: {e}")),
        Err(_) => return Err(format!("{admin_url} did not answer within 5 s")),
    };
    let name = unique(&format!(
        "fdtest_{}",
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ))
    .to_ascii_lowercase();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("cannot create a test database on {admin_url}: {e}"))?;
    let _ = admin.close().await;
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => return Err(format!("{admin_url} names no database")),
    };
    let options = StoreOptions {
        database_url: Some(url),
        data_dir: std::env::temp_dir(),
        master_key: MasterKey::insecure_dev(),
    };
    let store = Store::open(&options)
        .await
        .map_err(|e| format!("open: {e}"))?;
    Ok(TestDb {
        kind: "postgres",
        store,
        options,
        dir: None,
        pg: Some((admin_url, name)),
    })
}

/// SQLite always, plus PostgreSQL when reachable; prints
/// `skipping PostgreSQL: <why>` when it is not.
pub async fn all(test: &str) -> Vec<TestDb> {
    let mut out = vec![sqlite(test).await];
    match postgres(test).await {
        Ok(db) => out.push(db),
        Err(why) => println!("skipping PostgreSQL for {test}: {why}"),
    }
    out
}
