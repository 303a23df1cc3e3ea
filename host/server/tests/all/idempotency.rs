use std::sync::Arc;

use axum::body::Body;
use axum::http::Method;
use serde_json::json;

use crate::support::{COMMENTS, apps, rules};

#[tokio::test]
async fn repeat_replays_different_body_is_422_concurrent_is_one_effect() {
    for app in apps("idem_api").await {
        let k = app.admin.clone();
        let body = json!({"title": "once", "rules": rules(), "randomness": "secret"}).to_string();
        let send = |key: &'static str, body: String| {
            let app = &app;
            let k = k.clone();
            async move {
                app.send(
                    Method::POST,
                    "/v1/draws",
                    Some(&k),
                    &[
                        ("content-type", "application/json"),
                        ("idempotency-key", key),
                    ],
                    Body::from(body),
                )
                .await
            }
        };
        let first = send("k-1", body.clone()).await;
        assert_eq!(first.status, 201);
        let second = send("k-1", body.clone()).await;
        assert_eq!(second.status, 201);
        assert_eq!(second.header("idempotent-replayed"), Some("true"));
        assert_eq!(second.bytes, first.bytes, "{}", app.db.kind);
        let other = json!({"title": "twice", "rules": rules(), "randomness": "secret"}).to_string();
        let p = send("k-1", other).await.problem(422);
        assert_eq!(p["type"], "urn:fairdraw:problem:idempotency-key-reused");
        // Ten at once with one fresh key: one draw.
        let app = Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (app, k, body) = (app.clone(), k.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                app.send(
                    Method::POST,
                    "/v1/draws",
                    Some(&k),
                    &[
                        ("content-type", "application/json"),
                        ("idempotency-key", "k-2"),
                    ],
                    Body::from(body),
                )
                .await
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        for t in tasks {
            let r = t.await.expect("join");
            assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
            ids.insert(r.json()["id"].as_str().expect("id").to_owned());
        }
        assert_eq!(ids.len(), 1, "one effect");
        let list = app.get("/v1/draws?limit=200", Some(&k)).await.json();
        assert_eq!(list["draws"].as_array().map(Vec::len), Some(2));

        // Uploads: the key is checked inside the upload's transaction.
        let id = app.draft(&k, "secret").await;
        let up = |key: &'static str, body: &'static str| {
            let (app, k, id) = (app.clone(), k.clone(), id.clone());
            async move {
                app.send(
                    Method::POST,
                    &format!("/v1/draws/{id}/entries"),
                    Some(&k),
                    &[
                        ("content-type", "application/jsonl"),
                        ("idempotency-key", key),
                    ],
                    Body::from(body),
                )
                .await
            }
        };
        let a = up("u-1", COMMENTS).await;
        assert_eq!(a.status, 201);
        let b = up("u-1", COMMENTS).await;
        assert_eq!(
            (b.status.as_u16(), b.header("idempotent-replayed")),
            (201, Some("true"))
        );
        up("u-1", "{\"platform\":\"p\",\"user_id\":\"u\",\"handle\":\"@h\",\"created_at\":\"2023-01-12T10:00:00Z\"}\n").await.problem(422);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let body: &'static str = "{\"platform\":\"p\",\"user_id\":\"v\",\"handle\":\"@v\",\"created_at\":\"2023-01-12T10:00:00Z\"}\n";
            tasks.push(tokio::spawn(up("u-2", body)));
        }
        for t in tasks {
            let r = t.await.expect("join");
            assert!(
                matches!(r.status.as_u16(), 201 | 409),
                "{}",
                String::from_utf8_lossy(&r.bytes)
            );
        }
        let d = app.get(&format!("/v1/draws/{id}"), Some(&k)).await.json();
        assert_eq!(d["entries"], 8, "7 comments + 1 concurrent upload: {d}");
        if let Ok(app) = Arc::try_unwrap(app) {
            app.cleanup().await;
        }
    }
}
