use fairdraw_store::{QuotaChange, Scope};
use serde_json::json;

use crate::support::{T0, apps, rules};

fn draws_quota(n: i64) -> QuotaChange {
    QuotaChange {
        draws: Some(Some(n)),
        ..QuotaChange::default()
    }
}

#[tokio::test]
async fn two_concurrent_creates_at_the_draws_quota_edge_one_passes_the_other_gets_402() {
    for app in apps("usage_draws").await {
        let k = app.admin.clone();
        app.draft(&k, "secret").await;
        app.db
            .store
            .set_quota(&app.org, &draws_quota(2), T0)
            .await
            .expect("quota");
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (app, k) = (app.clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                app.post_json(
                    "/v1/draws",
                    Some(&k),
                    &json!({"title": "T", "rules": rules(), "randomness": "secret"}),
                )
                .await
            }));
        }
        let mut created = 0;
        let mut problems = Vec::new();
        for t in tasks {
            let r = t.await.expect("join");
            match r.status.as_u16() {
                201 => created += 1,
                402 => problems.push(r.problem(402)),
                s => panic!("unexpected {s}: {}", String::from_utf8_lossy(&r.bytes)),
            }
        }
        assert_eq!((created, problems.len()), (1, 1), "{}", app.db.kind);
        let p = &problems[0];
        assert_eq!(p["type"], "urn:fairdraw:problem:quota-exceeded");
        assert_eq!(
            (&p["quota"], &p["usage"], &p["limit"], &p["requested"]),
            (&json!("draws"), &json!(2), &json!(2), &json!(1))
        );
        assert!(
            p["detail"]
                .as_str()
                .expect("detail")
                .contains("draws quota")
        );
        let list = app.get("/v1/draws", Some(&k)).await.json();
        assert_eq!(
            list["draws"].as_array().map(Vec::len),
            Some(2),
            "nothing half-made"
        );
        // Cleared: creating works again.
        app.db
            .store
            .set_quota(
                &app.org,
                &QuotaChange {
                    draws: Some(None),
                    ..QuotaChange::default()
                },
                T0,
            )
            .await
            .expect("clear");
        app.draft(&k, "secret").await;
        if let Ok(app) = std::sync::Arc::try_unwrap(app) {
            app.cleanup().await;
        }
    }
}

#[tokio::test]
async fn an_upload_over_the_entries_quota_is_refused_whole_with_402() {
    for app in apps("usage_entries").await {
        let k = app.admin.clone();
        let id = app.draft(&k, "secret").await;
        app.upload_readme_entries(&k, &id).await; // 7 comments + 4 likes
        app.db
            .store
            .set_quota(
                &app.org,
                &QuotaChange {
                    entries: Some(Some(12)),
                    ..QuotaChange::default()
                },
                T0,
            )
            .await
            .expect("quota");
        let two = "platform,user_id,handle,created_at\nyoutube,UC08,@gus,2023-01-12T10:01:00Z\nyoutube,UC09,@hal,2023-01-12T10:01:00Z\n";
        let r = app
            .post_raw(
                &format!("/v1/draws/{id}/entries?collection=extra"),
                Some(&k),
                "text/csv",
                two,
            )
            .await;
        let p = r.problem(402);
        assert_eq!(
            (&p["quota"], &p["usage"], &p["limit"], &p["requested"]),
            (&json!("entries"), &json!(11), &json!(12), &json!(2)),
            "{}",
            app.db.kind
        );
        let d = app.get(&format!("/v1/draws/{id}"), Some(&k)).await.json();
        assert_eq!(d["entries"], 11, "{}: nothing added", app.db.kind);
        // One more fits; then the quota is used up and refused before the body.
        let one = "platform,user_id,handle,created_at\nyoutube,UC08,@gus,2023-01-12T10:01:00Z\n";
        let r = app
            .post_raw(
                &format!("/v1/draws/{id}/entries?collection=extra"),
                Some(&k),
                "text/csv",
                one,
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
        let r = app
            .post_raw(
                &format!("/v1/draws/{id}/entries?collection=more"),
                Some(&k),
                "text/csv",
                one,
            )
            .await;
        assert_eq!(r.problem(402)["usage"], 12);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn two_concurrent_executions_at_the_quota_edge_one_passes_and_stats_and_metrics_agree() {
    for app in apps("usage_exec").await {
        let k = app.admin.clone();
        let mut ids = Vec::new();
        for _ in 0..2 {
            let id = app.draft(&k, "secret").await;
            app.upload_readme_entries(&k, &id).await;
            let r = app
                .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
                .await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
            ids.push(id);
        }
        app.draft(&k, "secret").await; // a third draw, left a draft
        app.db
            .store
            .set_quota(
                &app.org,
                &QuotaChange {
                    executions: Some(Some(1)),
                    ..QuotaChange::default()
                },
                T0,
            )
            .await
            .expect("quota");
        app.set_time(T0 + 4_000);
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for id in &ids {
            let (app, k, id) = (app.clone(), k.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                app.post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
                    .await
            }));
        }
        let mut executed = 0;
        let mut refused = 0;
        for t in tasks {
            let r = t.await.expect("join");
            match r.status.as_u16() {
                200 => executed += 1,
                402 => {
                    let p = r.problem(402);
                    assert_eq!(
                        (&p["quota"], &p["limit"]),
                        (&json!("executions"), &json!(1))
                    );
                    refused += 1;
                }
                s => panic!("unexpected {s}: {}", String::from_utf8_lossy(&r.bytes)),
            }
        }
        assert_eq!((executed, refused), (1, 1), "{}", app.db.kind);
        let read = app.key(&app.org, Scope::Read).await;
        let r = app.get("/v1/stats", Some(&read)).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
        let s = r.json();
        assert_eq!(s["org_id"], app.org.as_str());
        assert_eq!(
            s["draws"],
            json!({"total": 3, "draft": 1, "locked": 1, "executed": 1, "cancelled": 0, "failed": 0}),
            "{}",
            app.db.kind
        );
        assert_eq!((&s["entries"], &s["executions"]), (&json!(22), &json!(1)));
        assert_eq!(s["mean_lock_to_execution_seconds"], 4.0);
        assert_eq!(
            s["usage"]["executions"],
            json!({"used": 1, "limit": 1, "remaining": 0})
        );
        assert_eq!(
            s["usage"]["draws"],
            json!({"used": 3, "limit": null, "remaining": null})
        );
        // Another organisation sees its own figures.
        let (_, other) = app.org("Other").await;
        let o = app.get("/v1/stats", Some(&other)).await.json();
        assert_eq!(o["draws"]["total"], 0);
        assert!(o["mean_lock_to_execution_seconds"].is_null());
        assert_eq!(app.get("/v1/stats", None).await.problem(401)["status"], 401);
        // The same figures on /metrics, labelled by org id.
        let m = app.get("/metrics", None).await;
        let text = String::from_utf8_lossy(&m.bytes);
        let org = &app.org;
        for line in [
            format!("fairdraw_org_draws{{org=\"{org}\",state=\"executed\"}} 1"),
            format!("fairdraw_org_draws{{org=\"{org}\",state=\"draft\"}} 1"),
            format!("fairdraw_org_usage_total{{org=\"{org}\",resource=\"entries\"}} 22"),
            format!("fairdraw_org_usage_total{{org=\"{org}\",resource=\"executions\"}} 1"),
            format!("fairdraw_org_quota{{org=\"{org}\",resource=\"executions\"}} 1"),
            format!("fairdraw_org_lock_to_execution_seconds_sum{{org=\"{org}\"}} 4"),
            format!("fairdraw_org_lock_to_execution_seconds_count{{org=\"{org}\"}} 1"),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{}: no {line} in\n{text}",
                app.db.kind
            );
        }
        assert!(!text.contains(&format!(
            "fairdraw_org_quota{{org=\"{org}\",resource=\"draws\"}}"
        )));
        if let Ok(app) = std::sync::Arc::try_unwrap(app) {
            app.cleanup().await;
        }
    }
}
