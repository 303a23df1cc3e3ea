use serde_json::json;

use crate::support::apps;

#[tokio::test]
async fn hundred_concurrent_locks_one_wins_the_rest_get_409_with_the_stored_result() {
    for app in apps("conc_lock").await {
        let k = app.admin.clone();
        let id = app.draft(&k, "secret").await;
        app.upload_readme_entries(&k, &id).await;
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (app, k, id) = (app.clone(), k.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                app.post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
                    .await
            }));
        }
        let mut ok = Vec::new();
        let mut conflicts = Vec::new();
        for t in tasks {
            let r = t.await.expect("join");
            match r.status.as_u16() {
                200 => ok.push(r.json()),
                409 => conflicts.push(r.problem(409)),
                s => panic!("unexpected {s}: {}", String::from_utf8_lossy(&r.bytes)),
            }
        }
        assert_eq!(ok.len(), 1, "{}", app.db.kind);
        assert_eq!(conflicts.len(), 99);
        let hash = &ok[0]["lock_hash"];
        for c in &conflicts {
            assert_eq!(c["state"], "locked");
            assert_eq!(
                &c["current"]["lock_hash"], hash,
                "losers see the stored result"
            );
        }
        // And executions: one of 100, one stored receipt.
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (app, k, id) = (app.clone(), k.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                app.post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
                    .await
            }));
        }
        let mut executed = 0;
        for t in tasks {
            let r = t.await.expect("join");
            match r.status.as_u16() {
                200 => executed += 1,
                409 => assert_eq!(r.problem(409)["state"], "executed"),
                s => panic!("unexpected {s}: {}", String::from_utf8_lossy(&r.bytes)),
            }
        }
        assert_eq!(executed, 1);
        let sql = "SELECT COUNT(*) FROM draw_executions WHERE draw_id = $1";
        let receipts: i64 = match app.db.store.db() {
            fairdraw_store::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(&id).fetch_one(p).await,
            fairdraw_store::Db::Postgres(p) => sqlx::query_scalar(sql).bind(&id).fetch_one(p).await,
        }
        .expect("count");
        assert_eq!(receipts, 1, "{}", app.db.kind);
        if let Ok(app) = std::sync::Arc::try_unwrap(app) {
            app.cleanup().await;
        }
    }
}
