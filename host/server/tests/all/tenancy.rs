use axum::body::Body;
use axum::http::Method;
use fairdraw_store::Scope;

use crate::support::apps;

#[tokio::test]
async fn another_organisations_key_gets_404_or_401_on_every_private_route() {
    for app in apps("tenancy").await {
        let k = app.admin.clone();
        let id = app.draft(&k, "secret").await;
        app.upload_readme_entries(&k, &id).await;
        let (other_org, other_admin) = app.org("Mallory").await;
        let other_key = app
            .db
            .store
            .create_api_key(&other_org, Scope::Write, "x", 0)
            .await
            .expect("key");
        let other_read = app.key(&other_org, Scope::Read).await;
        let my_key_id = app.db.store.api_keys(&app.org).await.expect("keys")[0]
            .id
            .clone();
        let routes: Vec<(Method, String, &str, &str)> = vec![
            (Method::GET, format!("/v1/draws/{id}"), "", ""),
            (Method::GET, format!("/v1/draws/{id}/entries"), "", ""),
            (
                Method::POST,
                format!("/v1/draws/{id}/entries"),
                "application/jsonl",
                "{\"platform\":\"p\",\"user_id\":\"u\",\"handle\":\"@h\",\"created_at\":\"2023-01-12T10:00:00Z\"}\n",
            ),
            (
                Method::POST,
                format!("/v1/draws/{id}/lock"),
                "application/json",
                "{}",
            ),
            (
                Method::POST,
                format!("/v1/draws/{id}/execute"),
                "application/json",
                "{}",
            ),
            (
                Method::POST,
                format!("/v1/draws/{id}/cancel"),
                "application/json",
                "{}",
            ),
            (
                Method::POST,
                format!("/v1/keys/{my_key_id}/revoke"),
                "application/json",
                "{}",
            ),
        ];
        for (method, path, ct, body) in &routes {
            for key in [
                Some(other_admin.as_str()),
                Some(other_key.secret.as_str()),
                Some(other_read.as_str()),
                None,
            ] {
                let mut headers = Vec::new();
                if !ct.is_empty() {
                    headers.push(("content-type", *ct));
                }
                let r = app
                    .send(method.clone(), path, key, &headers, Body::from(*body))
                    .await;
                let s = r.status.as_u16();
                assert!(
                    s == 404 || s == 401,
                    "{} {method} {path} with {:?}: {s} {}",
                    app.db.kind,
                    key.map(|_| "other org"),
                    String::from_utf8_lossy(&r.bytes)
                );
                if key.is_none() {
                    assert_eq!(s, 401);
                }
            }
        }
        // Lists show only one's own.
        let list = app.get("/v1/draws", Some(&other_admin)).await.json();
        assert_eq!(list["draws"].as_array().map(Vec::len), Some(0));
        let keys = app.get("/v1/keys", Some(&other_admin)).await.json();
        assert!(
            keys.as_array()
                .expect("keys")
                .iter()
                .all(|k| k["id"] != my_key_id.as_str())
        );
        // Nothing changed for the owner.
        let d = app.get(&format!("/v1/draws/{id}"), Some(&k)).await.json();
        assert_eq!(
            (d["state"].as_str(), d["entries"].as_i64()),
            (Some("draft"), Some(11))
        );
        assert!(app.db.store.authenticate(&k).await.expect("auth").is_some());
        app.cleanup().await;
    }
}
