use fairdraw_store::{Store, testing};

use crate::NOW;

#[tokio::test]
async fn migrations_run_and_ready_reports_them() {
    for db in testing::all("schema_ready").await {
        db.store.ready().await.expect("ready");
        // Opening again (a second replica, or a restart) is a no-op migration.
        let again = Store::open(&db.options).await.expect("reopen");
        again.ready().await.expect("ready again");
        again.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn committed_writes_survive_a_reopen() {
    for db in testing::all("schema_durable").await {
        let (org, key) = db.store.create_org("Durable", NOW).await.expect("org");
        db.store.close().await;
        let reopened = Store::open(&db.options).await.expect("reopen");
        let caller = reopened
            .authenticate(&key.secret)
            .await
            .expect("auth")
            .expect("key survives");
        assert_eq!(caller.org_id, org.id, "{}", db.kind);
        reopened.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn sqlite_file_is_created_in_the_data_dir_with_wal() {
    let db = testing::sqlite("schema_wal").await;
    let path = db.options.data_dir.join(fairdraw_store::SQLITE_FILE);
    assert!(path.exists(), "{} exists", path.display());
    if let fairdraw_store::Db::Sqlite(p) = db.store.db() {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(p)
            .await
            .expect("pragma");
        assert_eq!(mode, "wal");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(p)
            .await
            .expect("pragma");
        assert_eq!(sync, 2, "synchronous=FULL");
    }
    db.cleanup().await;
}
