use std::io::{Read, Write};

use fairdraw_server::config::Limits;
use fairdraw_store::Store;
use serde_json::json;

use crate::support::{apps, apps_with, rules};

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let limits = Limits {
        rate_per_key: 1,
        burst_per_key: 3,
        rate_per_ip: 1,
        burst_per_ip: 2,
        ..Limits::default()
    };
    for app in apps_with("ops_rate", limits).await {
        let k = app.admin.clone();
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(app.get("/v1/draws", Some(&k)).await);
        }
        assert!(
            statuses[..3].iter().all(|r| r.status == 200),
            "{}",
            app.db.kind
        );
        let p = statuses[4].problem(429);
        assert!(
            statuses[4]
                .header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|s| s >= 1)
        );
        assert!(p["retry_after"].as_u64().is_some());
        // Another key has its own bucket.
        let other = app.key(&app.org, fairdraw_store::Scope::Read).await;
        assert_eq!(app.get("/v1/draws", Some(&other)).await.status, 200);
        // Public routes: per client IP.
        let mut public = Vec::new();
        for _ in 0..4 {
            public.push(app.get("/.well-known/fairdraw-keys.json", None).await);
        }
        assert_eq!(public[0].status, 200);
        public[3].problem(429);
        assert!(public[3].header("retry-after").is_some());
        app.cleanup().await;
    }
}

#[tokio::test]
async fn an_acknowledged_write_is_durable() {
    for app in apps("ops_durable").await {
        let k = app.admin.clone();
        let id = app.draft(&k, "secret").await;
        app.upload_readme_entries(&k, &id).await;
        let lock = app
            .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
            .await
            .json();
        // A fresh process (new pool) sees everything that got a 2xx.
        let reopened = Store::open(&app.db.options).await.expect("reopen");
        let d = reopened.draw(&app.org, &id).await.expect("draw");
        assert_eq!(d.entry_count, 11);
        assert_eq!(
            d.lock_hash.as_deref(),
            lock["lock_hash"].as_str(),
            "{}",
            app.db.kind
        );
        assert!(reopened.lock_file(&id).await.is_ok());
        reopened.close().await;
        app.cleanup().await;
    }
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    for app in apps("ops_metrics").await {
        assert_eq!(app.get("/healthz", None).await.status, 200);
        assert_eq!(app.get("/readyz", None).await.status, 200);
        let k = app.admin.clone();
        app.draft(&k, "secret").await;
        app.get("/v1/draws/drw_missing", Some(&k)).await;
        let m = app.get("/metrics", None).await;
        let text = String::from_utf8_lossy(&m.bytes);
        assert!(
            text.contains(
                r#"fairdraw_http_requests_total{method="POST",route="/v1/draws",status="201"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"route="/v1/draws/{id}",status="404""#),
            "{text}"
        );
        assert!(text.contains(
            "fairdraw_http_request_duration_seconds_bucket{route=\"/v1/draws\",le=\"+Inf\"} 1"
        ));
        assert!(text.contains("fairdraw_draws{state=\"draft\"} 1"), "{text}");
        app.db.store.close().await;
        app.get("/readyz", None).await.problem(503);
        app.cleanup().await;
    }
}

#[test]
fn openapi_document_is_current_and_is_openapi_3_1() {
    let generated = fairdraw_server::openapi::json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(path, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "host/server/openapi.json is stale: run `BLESS=1 cargo test -p fairdraw-server openapi` and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).expect("JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        doc["openapi"]
    );
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_str(&generated).expect("parses as an OpenAPI document");
    for p in [
        "/v1/draws",
        "/v1/draws/{id}",
        "/v1/draws/{id}/entries",
        "/v1/draws/{id}/lock",
        "/v1/draws/{id}/execute",
        "/v1/draws/{id}/cancel",
        "/v1/keys",
        "/v1/keys/{key_id}/revoke",
        "/v1/public/draws/{id}",
        "/v1/public/draws/{id}/lock-receipt",
        "/v1/public/draws/{id}/bundle",
        "/v1/public/draws/{id}/entrants/{handle}",
        "/.well-known/fairdraw-keys.json",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(parsed.paths.paths.contains_key(p), "{p} documented");
    }
    // Every $ref resolves.
    let schemas = &doc["components"]["schemas"];
    let prefix = "\"#/components/schemas/";
    for (i, _) in generated.match_indices(prefix) {
        let name = generated[i + prefix.len()..]
            .split('"')
            .next()
            .unwrap_or("");
        assert!(schemas.get(name).is_some(), "dangling $ref {name}");
    }
}

#[tokio::test]
async fn serves_on_a_real_port_and_shuts_down_gracefully() {
    let db = fairdraw_store::testing::sqlite("ops_port").await;
    let (org, key) = db.store.create_org("ACME", 0).await.expect("org");
    let _ = org;
    let state = fairdraw_server::AppState::new(db.store.clone(), Limits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(fairdraw_server::serve_on(listener, state, async {
        let _ = rx.await;
    }));
    let body = json!({"title": "wire", "rules": rules(), "randomness": "secret"}).to_string();
    let secret = key.secret.clone();
    let (health, created) = tokio::task::spawn_blocking(move || {
        let get = |req: String| {
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            s.write_all(req.as_bytes()).expect("write");
            let mut out = String::new();
            s.read_to_string(&mut out).expect("read");
            out
        };
        let health = get("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into());
        let created = get(format!(
            "POST /v1/draws HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        (health, created)
    })
    .await
    .expect("client");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let _ = tx.send(());
    server
        .await
        .expect("join")
        .expect("served and shut down cleanly");
    db.cleanup().await;
}
