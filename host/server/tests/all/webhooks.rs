//! Webhooks end to end: a real axum receiver on 127.0.0.1 verifies every
//! delivery with the `standardwebhooks` crate (an implementation of the
//! specification we did not write); retries through the queue (three
//! attempts visible), a dead delivery after its last attempt, the
//! private-address refusal without the dev setting, and dedupe.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use fairdraw_server::webhooks::WebhookSender;
use fairdraw_server::worker::{WorkerConfig, Workers};
use fairdraw_store::{Backoff, NewEvent};
use serde_json::{Value, json};

use fairdraw_server::state::running_clock;

use crate::support::{T0, TestApp, apps};

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    /// `(webhook-id, body, signature verified)` per request.
    requests: Vec<(String, Value, bool)>,
    /// Answer 500 to this many requests first.
    fail_first: usize,
    /// Answer 500 to every request.
    always_fail: bool,
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Seen>>,
    /// Set once the endpoint is registered.
    secret: Arc<Mutex<Option<String>>>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verified = r
        .secret
        .lock()
        .expect("lock")
        .as_deref()
        .map(|s| {
            standardwebhooks::Webhook::new(s)
                .expect("secret")
                .verify(&body, &headers)
                .is_ok()
        })
        .unwrap_or(false);
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut seen = r.seen.lock().expect("lock");
    seen.requests.push((id, doc, verified));
    if seen.always_fail || seen.requests.len() <= seen.fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// A receiver on a free loopback port; returns it and its address.
async fn receiver(fail_first: usize, always_fail: bool) -> (Receiver, SocketAddr) {
    let r = Receiver {
        seen: Arc::new(Mutex::new(Seen {
            fail_first,
            always_fail,
            ..Seen::default()
        })),
        secret: Arc::default(),
    };
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, addr)
}

fn fast_workers() -> WorkerConfig {
    WorkerConfig {
        workers: 2,
        poll: Duration::from_millis(50),
        backoff: Backoff {
            base_ms: 100,
            max_ms: 300,
        },
        ..WorkerConfig::default()
    }
}

/// Registers an endpoint; returns (id, secret).
async fn register(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let r = app
        .post_json(
            "/v1/webhooks",
            Some(&app.admin),
            &json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let doc = r.json();
    let secret = doc["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (
        doc["webhook"]["id"].as_str().expect("id").to_owned(),
        secret,
    )
}

/// A commit-reveal draw, locked through the API.
async fn locked_draw(app: &TestApp) -> String {
    let k = app.admin.clone();
    let id = app.draft(&k, "secret").await;
    app.upload_readme_entries(&k, &id).await;
    let lock = app
        .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
        .await;
    assert_eq!(lock.status, 200, "{}", String::from_utf8_lossy(&lock.bytes));
    id
}

async fn deliveries(app: &TestApp, hook: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/webhooks/{hook}/deliveries"), Some(&app.admin))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    r.json()["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Polls the endpoint's deliveries until `done` holds (at most `secs`).
async fn wait_deliveries(
    app: &TestApp,
    hook: &str,
    secs: u64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let d = deliveries(app, hook).await;
        if done(&d) {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "{}: timed out; deliveries: {d:#?}",
            app.db.kind
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_retried_until_a_2xx_and_listed_with_their_attempts() {
    for mut app in apps("webhooks_signed").await {
        let (recv, addr) = receiver(2, false).await;
        app.state = app
            .state
            .clone()
            .with_clock(running_clock(T0))
            .with_webhooks(WebhookSender::new(true));
        let url = format!("http://{addr}/hook");
        let (hook, secret) = register(&app, &url, &["draw.locked", "draw.executed"]).await;
        *recv.secret.lock().expect("lock") = Some(secret);
        // Another endpoint only for failures: it gets nothing here.
        let (quiet, _) = register(&app, &url, &["draw.failed", "import.failed"]).await;

        let list = app.get("/v1/webhooks?limit=1", Some(&app.admin)).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.json()["webhooks"][0]["id"], hook.as_str());
        assert!(list.json()["webhooks"][0].get("secret").is_none());
        let cursor = list.json()["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        let next = app
            .get(
                &format!("/v1/webhooks?limit=1&cursor={cursor}"),
                Some(&app.admin),
            )
            .await;
        assert_eq!(next.json()["webhooks"][0]["id"], quiet.as_str());

        let workers = Workers::spawn(app.state.clone(), fast_workers());
        let id = locked_draw(&app).await;
        // The receiver answers 500 twice: the third attempt succeeds.
        let d = wait_deliveries(&app, &hook, 30, |d| {
            d.first().is_some_and(|x| x["status"] == "delivered")
        })
        .await;
        let locked = &d[0];
        assert_eq!(locked["event_type"], "draw.locked");
        assert_eq!(locked["attempts"], 3, "{locked:#}");
        let statuses: Vec<Value> = locked["attempt_log"]
            .as_array()
            .expect("attempts")
            .iter()
            .map(|a| a["status"].clone())
            .collect();
        assert_eq!(statuses, [json!(500), json!(500), json!(204)]);
        assert!(
            locked["attempt_log"][0]["error"]
                .as_str()
                .is_some_and(|e| e.contains("HTTP 500"))
        );
        assert_eq!(locked["last_status"], 204);
        assert_eq!(locked["payload"]["type"], "draw.locked");
        assert_eq!(locked["payload"]["data"]["draw_id"], id.as_str());
        assert!(locked["payload"]["timestamp"].is_string());

        // Executing sends draw.executed, with the winners, on the first try.
        let exec = app
            .post_json(
                &format!("/v1/draws/{id}/execute"),
                Some(&app.admin),
                &json!({}),
            )
            .await;
        assert_eq!(exec.status, 200, "{}", String::from_utf8_lossy(&exec.bytes));
        let d = wait_deliveries(&app, &hook, 30, |d| {
            d.len() == 2 && d[1]["status"] == "delivered"
        })
        .await;
        assert_eq!(d[1]["event_type"], "draw.executed");
        assert_eq!(d[1]["attempts"], 1);
        assert_eq!(
            d[1]["payload"]["data"]["winners"],
            exec.json()["winners"],
            "the event carries the winners"
        );

        // Every request verified with the independent implementation; the
        // three attempts of one message share its webhook-id.
        {
            let seen = recv.seen.lock().expect("lock");
            assert_eq!(seen.requests.len(), 4);
            assert!(
                seen.requests.iter().all(|r| r.2),
                "a signature did not verify"
            );
            let ids: Vec<&str> = seen.requests.iter().map(|r| r.0.as_str()).collect();
            assert_eq!(ids[0], locked["id"].as_str().expect("id"));
            assert!(ids[0] == ids[1] && ids[1] == ids[2] && ids[2] != ids[3]);
        }
        assert!(deliveries(&app, &quiet).await.is_empty());

        // Dedupe: the same state change recorded again adds no event and
        // no delivery; a second lock is 409 and sends nothing.
        let again = app
            .db
            .store
            .record_event(&NewEvent::once(&app.org, &id, "draw.locked", json!({})), T0)
            .await
            .expect("record");
        assert!(again.is_none());
        app.post_json(
            &format!("/v1/draws/{id}/lock"),
            Some(&app.admin),
            &json!({}),
        )
        .await
        .problem(409);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(deliveries(&app, &hook).await.len(), 2);
        assert_eq!(recv.seen.lock().expect("lock").requests.len(), 4);

        // Another organisation sees none of it.
        let (_, other) = app.org("Other").await;
        app.get(&format!("/v1/webhooks/{hook}/deliveries"), Some(&other))
            .await
            .problem(404);
        assert_eq!(
            app.get("/v1/webhooks", Some(&other)).await.json()["webhooks"],
            json!([])
        );
        // Deleted: gone from the list, its deliveries 404.
        let del = app
            .send(
                axum::http::Method::DELETE,
                &format!("/v1/webhooks/{hook}"),
                Some(&app.admin),
                &[],
                axum::body::Body::empty(),
            )
            .await;
        assert_eq!(del.status, 204);
        app.get(&format!("/v1/webhooks/{hook}/deliveries"), Some(&app.admin))
            .await
            .problem(404);
        workers.shutdown().await;
        app.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_keeps_failing_is_dead_after_its_last_attempt() {
    for mut app in apps("webhooks_dead").await {
        let (recv, addr) = receiver(0, true).await;
        app.state = app
            .state
            .clone()
            .with_clock(running_clock(T0))
            .with_webhooks(WebhookSender::new(true));
        app.state.store = app.state.store.clone().with_webhook_attempts(3);
        let (hook, secret) = register(&app, &format!("http://{addr}/hook"), &["draw.locked"]).await;
        *recv.secret.lock().expect("lock") = Some(secret);
        let workers = Workers::spawn(app.state.clone(), fast_workers());
        locked_draw(&app).await;
        let d = wait_deliveries(&app, &hook, 30, |d| {
            d.first().is_some_and(|x| x["status"] == "dead")
        })
        .await;
        assert_eq!(d[0]["attempts"], 3);
        assert_eq!(d[0]["last_status"], 500);
        assert_eq!(d[0]["attempt_log"].as_array().map(Vec::len), Some(3));
        assert!(d[0]["next_attempt_at"].is_null());
        // The dead job is listed, and a retry tries again.
        let job = d[0]["job_id"].as_str().expect("job").to_owned();
        let dead = app
            .get("/v1/jobs?state=dead", Some(&app.admin))
            .await
            .json();
        assert!(
            dead["jobs"]
                .as_array()
                .expect("jobs")
                .iter()
                .any(|j| j["id"] == job.as_str() && j["kind"] == "deliver_webhook")
        );
        recv.seen.lock().expect("lock").always_fail = false;
        let r = app
            .post_json(
                &format!("/v1/jobs/{job}/retry"),
                Some(&app.admin),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200);
        let d = wait_deliveries(&app, &hook, 30, |d| d[0]["status"] == "delivered").await;
        assert_eq!(d[0]["attempts"], 4);
        assert!(recv.seen.lock().expect("lock").requests.iter().all(|r| r.2));
        workers.shutdown().await;
        app.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_destinations_are_refused_without_the_dev_setting() {
    for mut app in apps("webhooks_private").await {
        let (recv, addr) = receiver(0, false).await;
        app.state = app.state.clone().with_clock(running_clock(T0));
        app.state.store = app.state.store.clone().with_webhook_attempts(1);
        // An IP literal is refused at registration…
        let p = app
            .post_json(
                "/v1/webhooks",
                Some(&app.admin),
                &json!({"url": format!("http://{addr}/hook"), "events": ["draw.locked"]}),
            )
            .await
            .problem(422);
        let detail = p["errors"][0]["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("loopback") && detail.contains("FAIRDRAW_WEBHOOK_ALLOW_PRIVATE"),
            "{detail}"
        );
        for (url, events) in [
            ("ftp://example.com/", json!(["draw.locked"])),
            ("https://example.com/", json!(["draw.created"])),
            ("https://example.com/", json!([])),
            ("http://[fe80::1]/", json!(["draw.locked"])),
            ("http://169.254.169.254/latest", json!(["draw.locked"])),
        ] {
            app.post_json(
                "/v1/webhooks",
                Some(&app.admin),
                &json!({"url": url, "events": events}),
            )
            .await
            .problem(422);
        }
        // …and a name is refused after resolution, at delivery: the
        // receiver never hears of it.
        let (hook, _) = register(
            &app,
            &format!("http://localhost:{}/hook", addr.port()),
            &["draw.locked"],
        )
        .await;
        let workers = Workers::spawn(app.state.clone(), fast_workers());
        locked_draw(&app).await;
        let d = wait_deliveries(&app, &hook, 30, |d| {
            d.first().is_some_and(|x| x["status"] == "dead")
        })
        .await;
        let error = d[0]["last_error"].as_str().unwrap_or_default();
        assert!(error.contains("resolves to a loopback address"), "{error}");
        assert!(d[0]["last_status"].is_null());
        assert!(recv.seen.lock().expect("lock").requests.is_empty());
        workers.shutdown().await;
        app.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_a_failed_attempt_and_never_followed() {
    for mut app in apps("webhooks_redirect").await {
        // The other host, which must never hear of the message.
        let (elsewhere, other) = receiver(0, false).await;
        let location = format!("http://{other}/hook");
        let redirector = Router::new().route(
            "/hook",
            post(move || {
                let location = location.clone();
                async move { (StatusCode::TEMPORARY_REDIRECT, [("location", location)]) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, redirector).await;
        });
        app.state = app
            .state
            .clone()
            .with_clock(running_clock(T0))
            .with_webhooks(WebhookSender::new(true));
        app.state.store = app.state.store.clone().with_webhook_attempts(2);
        let (hook, _) = register(&app, &format!("http://{addr}/hook"), &["draw.locked"]).await;
        let workers = Workers::spawn(app.state.clone(), fast_workers());
        locked_draw(&app).await;
        let d = wait_deliveries(&app, &hook, 30, |d| {
            d.first().is_some_and(|x| x["status"] == "dead")
        })
        .await;
        assert_eq!(d[0]["attempts"], 2);
        assert_eq!(d[0]["last_status"], 307);
        assert!(elsewhere.seen.lock().expect("lock").requests.is_empty());
        workers.shutdown().await;
        app.cleanup().await;
    }
}
