use axum::body::Body;
use axum::http::Method;
use fairdraw_server::config::Limits;
use fairdraw_store::Scope;
use serde_json::json;

use crate::support::{apps, apps_with, rules};

#[tokio::test]
async fn every_error_class_is_problem_json() {
    for app in apps_with(
        "errors_classes",
        Limits {
            max_json_bytes: 4096,
            max_upload_bytes: 2048,
            ..Limits::default()
        },
    )
    .await
    {
        let k = app.admin.clone();
        // 422 naming the field: a missing field, a wrong type, an engine-level rule check, the randomness.
        let p = app
            .post_json(
                "/v1/draws",
                Some(&k),
                &json!({"title": "x", "rules": {"alternates": 1}}),
            )
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], "rules.winners", "{p}");
        let p = app
            .post_json(
                "/v1/draws",
                Some(&k),
                &json!({"title": 5, "rules": rules()}),
            )
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], "title", "{p}");
        let p = app
            .post_json("/v1/draws", Some(&k), &json!({"rules": {"winners": 0}}))
            .await
            .problem(422);
        assert!(
            p["errors"][0]["field"]
                .as_str()
                .is_some_and(|f| f.starts_with("rules.winners")),
            "{p}"
        );
        let p = app
            .post_json(
                "/v1/draws",
                Some(&k),
                &json!({"rules": rules(), "randomness": "dice"}),
            )
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], "randomness");
        let p = app
            .post_json(
                "/v1/draws",
                Some(&k),
                &json!({"rules": rules(), "title": "x".repeat(201)}),
            )
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], "title");
        let p = app
            .post_json(
                "/v1/draws",
                Some(&k),
                &json!({"rules": rules(), "surprise": 1}),
            )
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], "surprise", "{p}");
        // 400 malformed JSON.
        app.post_raw("/v1/draws", Some(&k), "application/json", "{\"rules\": ")
            .await
            .problem(400);
        app.post_raw("/v1/draws", Some(&k), "application/json", "{} trailing")
            .await
            .problem(400);
        // 415 another media type.
        app.post_raw("/v1/draws", Some(&k), "text/plain", "{}")
            .await
            .problem(415);
        // 413 oversized bodies, JSON and upload.
        let big = json!({"title": "x", "rules": rules(), "pad": "y".repeat(5000)});
        app.post_json("/v1/draws", Some(&k), &big)
            .await
            .problem(413);
        let id = app.draft(&k, "secret").await;
        let huge = "{}\n".repeat(1500);
        app.post_raw(
            &format!("/v1/draws/{id}/entries"),
            Some(&k),
            "application/jsonl",
            huge,
        )
        .await
        .problem(413);
        // 422 for a bad entry line, naming the body.
        let p = app
            .post_raw(
                &format!("/v1/draws/{id}/entries"),
                Some(&k),
                "application/jsonl",
                "{\"platform\":\"p\"}\n",
            )
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], "body");
        assert!(
            p["errors"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("line 1")),
            "{p}"
        );
        // 404 unknown draw and unknown route.
        app.get("/v1/draws/drw_nope", Some(&k)).await.problem(404);
        app.get("/v1/public/draws/drw_nope", None)
            .await
            .problem(404);
        app.get("/v1/nothing-here", None).await.problem(404);
        // 401 missing, wrong, revoked key.
        let p = app.get("/v1/draws", None).await.problem(401);
        assert!(p["detail"].as_str().is_some_and(|d| d.contains("Bearer")));
        app.get("/v1/draws", Some("fdk_wrong")).await.problem(401);
        let revoked = app
            .db
            .store
            .create_api_key(&app.org, Scope::Write, "r", 0)
            .await
            .expect("key");
        app.db
            .store
            .revoke_api_key(None, &revoked.key.id, 1)
            .await
            .expect("revoke");
        app.get("/v1/draws", Some(&revoked.secret))
            .await
            .problem(401);
        // 403 a read-only key writing; a write key administering.
        let read = app.key(&app.org, Scope::Read).await;
        app.get("/v1/draws", Some(&read)).await;
        app.post_json("/v1/draws", Some(&read), &json!({"rules": rules()}))
            .await
            .problem(403);
        app.post_json(&format!("/v1/draws/{id}/cancel"), Some(&read), &json!({}))
            .await
            .problem(403);
        let write = app.key(&app.org, Scope::Write).await;
        app.get("/v1/keys", Some(&write)).await.problem(403);
        // 409 illegal transitions name the current state.
        app.post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
            .await
            .problem(409);
        let p = app
            .post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
            .await
            .problem(409);
        assert_eq!(p["state"], "draft");
        app.post_json(&format!("/v1/draws/{id}/cancel"), Some(&k), &json!({}))
            .await;
        let p = app
            .post_json(&format!("/v1/draws/{id}/cancel"), Some(&k), &json!({}))
            .await
            .problem(409);
        assert_eq!(p["state"], "cancelled");
        let p = app
            .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
            .await
            .problem(409);
        assert_eq!(p["state"], "cancelled");
        let p = app
            .post_raw(
                &format!("/v1/draws/{id}/entries"),
                Some(&k),
                "text/csv",
                "platform\n",
            )
            .await
            .problem(409);
        assert_eq!(p["state"], "cancelled");
        // Query parameters are fields too.
        let p = app.get("/v1/draws?limit=0", Some(&k)).await.problem(422);
        assert_eq!(p["errors"][0]["field"], "limit");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn lock_with_too_few_eligible_is_422_and_stays_draft() {
    for app in apps("errors_not_enough").await {
        let k = app.admin.clone();
        let id = app.draft(&k, "secret").await;
        let one = "{\"platform\":\"youtube\",\"user_id\":\"U1\",\"handle\":\"@x\",\"text\":\"#giveaway @a\",\"created_at\":\"2023-01-12T10:00:00Z\"}\n";
        app.post_raw(
            &format!("/v1/draws/{id}/entries"),
            Some(&k),
            "application/jsonl",
            one,
        )
        .await;
        app.post_raw(
            &format!("/v1/draws/{id}/entries?collection=likes"),
            Some(&k),
            "text/csv",
            "platform,user_id,handle,created_at\nyoutube,U1,@x,2023-01-12T10:00:00Z\n",
        )
        .await;
        app.post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
            .await
            .problem(422);
        assert_eq!(
            app.get(&format!("/v1/draws/{id}"), Some(&k)).await.json()["state"],
            "draft"
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_5xx_never_leaks_internals() {
    for app in apps("errors_5xx").await {
        let k = app.admin.clone();
        // Authenticate first (the key lookup needs the database), then break it.
        let id = app.draft(&k, "secret").await;
        app.db.store.close().await;
        let r = app
            .send(
                Method::GET,
                &format!("/v1/public/draws/{id}"),
                None,
                &[],
                Body::empty(),
            )
            .await;
        let p = r.problem(500);
        let text = String::from_utf8_lossy(&r.bytes).to_lowercase();
        for leak in ["pool", "sqlx", "sqlite", "postgres", "closed", "database"] {
            assert!(!text.contains(leak), "{leak} leaked: {text}");
        }
        assert_eq!(p["type"], "urn:fairdraw:problem:internal");
        app.cleanup().await;
    }
}
