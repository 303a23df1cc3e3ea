//! Live events over a real socket: a drand draw locked through the API and
//! executed by the workers (the mock relay serves the real recorded round,
//! the clock starts before it) streams locked → countdown → beacon →
//! executed, in order; `Last-Event-ID` resumes after an event; an unknown
//! draw is 404; streams past the limit get 503.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fairdraw_engine::randomness::drand as engine_drand;
use fairdraw_server::beacon::Beacons;
use fairdraw_server::config::Limits;
use fairdraw_server::state::running_clock;
use fairdraw_server::worker::{WorkerConfig, Workers};
use fairdraw_server::{AppState, app as router};
use fairdraw_store::Backoff;
use fairdraw_tests::mock::drand;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::beacon::{ROUND, drand_manifest, runtime};
use crate::support::{TestApp, apps, apps_with};

/// One server-sent event.
#[derive(Debug)]
struct Sse {
    id: String,
    event: String,
    data: Value,
}

/// Reads a `text/event-stream` response event by event.
struct Reader {
    res: reqwest::Response,
    buf: String,
}

impl Reader {
    /// The next event (comments and keep-alives skipped), or `None` when
    /// none comes within `wait` or the stream ends.
    async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if event.is_empty() {
                    continue;
                }
                return Some(Sse {
                    id,
                    event,
                    data: serde_json::from_str(&data).expect("data is JSON"),
                });
            }
            let chunk = tokio::time::timeout_at(until, self.res.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }
}

async fn connect(base: &str, id: &str, last: Option<&str>) -> Reader {
    let mut req = reqwest::Client::new().get(format!("{base}/v1/public/draws/{id}/events"));
    if let Some(l) = last {
        req = req.header("last-event-id", l);
    }
    let res = req.send().await.expect("connect");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    Reader {
        res,
        buf: String::new(),
    }
}

/// Serves `state` on a free loopback port.
async fn serve(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    format!("http://{addr}")
}

fn due() -> i64 {
    engine_drand::chain("quicknet")
        .expect("quicknet")
        .round_time(ROUND)
        .unix()
        * 1000
}

async fn lock(app: &TestApp) -> String {
    let k = app.admin.clone();
    let id = app.draft(&k, &format!("drand:quicknet:{ROUND}")).await;
    app.upload_readme_entries(&k, &id).await;
    app.set_time(due() - 120_000);
    let lock = app
        .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
        .await;
    assert_eq!(lock.status, 200, "{}", String::from_utf8_lossy(&lock.bytes));
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draw_streams_its_events_in_order_and_last_event_id_resumes() {
    let manifest = drand_manifest();
    let relay = drand::start(drand::Config {
        latest: BTreeMap::from([("quicknet".to_owned(), ROUND)]),
        ..drand::Config::default()
    })
    .await;
    let installed = tempfile::tempdir().expect("tempdir");
    runtime(installed.path(), &relay.origin)
        .install(&manifest)
        .expect("install the drand plugin");
    for app in apps("events_stream").await {
        let id = lock(&app).await;
        // The server's clock runs from 1.5 s before the round.
        let state = app
            .state
            .clone()
            .with_clock(running_clock(due() - 1_500))
            .with_beacons(Beacons::new(
                runtime(installed.path(), &relay.origin),
                "drand",
            ));
        let served = state.clone();
        let base = serve(state.clone()).await;
        let mut stream = connect(&base, &id, None).await;
        let wait = Duration::from_secs(5);
        let locked = stream.next(wait).await.expect("draw.locked");
        assert_eq!(
            (locked.id.as_str(), locked.event.as_str()),
            ("1", "draw.locked")
        );
        assert_eq!(locked.data["draw_id"], id.as_str());
        assert!(locked.data["lock_hash"].is_string());
        let countdown = stream.next(wait).await.expect("draw.countdown");
        assert_eq!(
            (countdown.id.as_str(), countdown.event.as_str()),
            ("2", "draw.countdown")
        );
        assert_eq!(countdown.data["round"], ROUND);
        assert_eq!(countdown.data["due_at_ms"], due());
        assert_eq!(
            countdown.data["due_at"],
            fairdraw_server::routes::rfc3339(due())
        );
        // Nothing more until the round's time.
        assert!(stream.next(Duration::from_millis(600)).await.is_none());

        let workers = Workers::spawn(
            state,
            WorkerConfig {
                workers: 2,
                poll: Duration::from_millis(50),
                backoff: Backoff {
                    base_ms: 100,
                    max_ms: 400,
                },
                ..WorkerConfig::default()
            },
        );
        let beacon = stream
            .next(Duration::from_secs(30))
            .await
            .expect("draw.beacon");
        assert_eq!(
            (beacon.id.as_str(), beacon.event.as_str()),
            ("3", "draw.beacon")
        );
        assert_eq!(beacon.data["round"], ROUND);
        assert_eq!(
            beacon.data["beacon"]["signature"],
            drand::beacon("quicknet", ROUND).expect("round").signature
        );
        let executed = stream
            .next(Duration::from_secs(30))
            .await
            .expect("draw.executed");
        assert_eq!(
            (executed.id.as_str(), executed.event.as_str()),
            ("4", "draw.executed")
        );
        assert_eq!(executed.data["state"], "executed");
        let winners = executed.data["winners"].as_array().expect("winners");
        assert_eq!(winners.len(), 1, "{:#}", executed.data);
        drop(stream);

        // Resuming after event 2 gives 3 and 4, and only those.
        let mut resumed = connect(&base, &id, Some("2")).await;
        let ids: Vec<String> = [
            resumed.next(wait).await.expect("3"),
            resumed.next(wait).await.expect("4"),
        ]
        .into_iter()
        .map(|e| e.id)
        .collect();
        assert_eq!(ids, ["3", "4"]);
        assert!(resumed.next(Duration::from_millis(1200)).await.is_none());
        let mut done = connect(&base, &id, Some("4")).await;
        assert!(done.next(Duration::from_millis(700)).await.is_none());
        // Shutdown ends the open streams, so draining does not wait on them.
        served.close_streams();
        let end = tokio::time::timeout(Duration::from_secs(5), done.res.chunk()).await;
        assert!(
            matches!(end, Ok(Ok(None))),
            "the stream ends on shutdown: {end:?}"
        );

        // An unknown draw is 404, a bad Last-Event-ID 422, as problem+json.
        app.get("/v1/public/draws/drw_nope/events", None)
            .await
            .problem(404);
        let bad = app
            .send(
                axum::http::Method::GET,
                &format!("/v1/public/draws/{id}/events"),
                None,
                &[("last-event-id", "soon")],
                Body::empty(),
            )
            .await;
        bad.problem(422);
        workers.shutdown().await;
        app.cleanup().await;
    }
}

#[tokio::test]
async fn streams_past_the_limit_get_503() {
    for app in apps_with(
        "events_limit",
        Limits {
            max_event_streams: 1,
            ..Limits::default()
        },
    )
    .await
    {
        let id = app.draft(&app.admin, "secret").await;
        let open = |state: AppState| {
            let uri = format!("/v1/public/draws/{id}/events");
            async move {
                router(state)
                    .layer(axum::extract::connect_info::MockConnectInfo(
                        SocketAddr::from(([127, 0, 0, 1], 40000)),
                    ))
                    .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
                    .await
                    .expect("infallible")
            }
        };
        let first = open(app.state.clone()).await;
        assert_eq!(first.status(), StatusCode::OK);
        let second = app
            .get(&format!("/v1/public/draws/{id}/events"), None)
            .await;
        let p = second.problem(503);
        assert_eq!(p["type"], "urn:fairdraw:problem:too-many-event-streams");
        assert!(second.header("retry-after").is_some());
        // Closing the first frees its place.
        drop(first);
        let until = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let third = open(app.state.clone()).await;
            if third.status() == StatusCode::OK {
                break;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "the permit was not released"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        app.cleanup().await;
    }
}

/// Figures, not a check (`cargo test -p fairdraw-server --test all
/// latency_figures -- --ignored --nocapture`): for 30 commit-reveal draws,
/// the time from the `execute` response to the `draw.executed` event on an
/// open stream, and to its webhook reaching a receiver, over loopback,
/// with the default workers (2, polling every 500 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints figures; run by hand"]
async fn latency_figures() {
    for mut app in apps("events_latency").await {
        let (hits_tx, mut hits) = tokio::sync::mpsc::unbounded_channel::<std::time::Instant>();
        let receiver = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                let _ = hits_tx.send(std::time::Instant::now());
                async { StatusCode::NO_CONTENT }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, receiver).await;
        });
        app.state = app
            .state
            .clone()
            .with_clock(running_clock(crate::support::T0))
            .with_webhooks(fairdraw_server::webhooks::WebhookSender::new(true));
        let r = app
            .post_json(
                "/v1/webhooks",
                Some(&app.admin),
                &json!({"url": hook, "events": ["draw.executed"]}),
            )
            .await;
        assert_eq!(r.status, 201);
        let workers = Workers::spawn(app.state.clone(), WorkerConfig::default());
        let base = serve(app.state.clone()).await;
        let mut took = Vec::new();
        let mut hooked = Vec::new();
        for _ in 0..30 {
            let k = app.admin.clone();
            let id = app.draft(&k, "secret").await;
            app.upload_readme_entries(&k, &id).await;
            app.post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
                .await;
            let mut s = connect(&base, &id, None).await;
            assert!(s.next(Duration::from_secs(5)).await.is_some());
            let exec = app
                .post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
                .await;
            assert_eq!(exec.status, 200);
            let t = std::time::Instant::now();
            let e = s.next(Duration::from_secs(5)).await.expect("executed");
            assert_eq!(e.event, "draw.executed");
            took.push(t.elapsed().as_millis());
            let at = tokio::time::timeout(Duration::from_secs(5), hits.recv())
                .await
                .expect("delivered")
                .expect("hit");
            hooked.push(at.saturating_duration_since(t).as_millis());
        }
        for (what, v) in [
            ("draw.executed on the stream", &mut took),
            ("the webhook at the receiver", &mut hooked),
        ] {
            v.sort_unstable();
            eprintln!(
                "{}: execute response → {what}, 30 draws: p50 {} ms, p90 {} ms, max {} ms",
                app.db.kind, v[15], v[27], v[29]
            );
        }
        workers.shutdown().await;
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_client_that_does_not_read_is_dropped_not_buffered() {
    for app in apps("events_slow").await {
        let id = app.draft(&app.admin, "secret").await;
        for i in 0..100 {
            app.db
                .store
                .record_event(
                    &fairdraw_store::NewEvent {
                        org_id: app.org.clone(),
                        draw_id: id.clone(),
                        kind: "draw.test".into(),
                        data: json!({ "i": i }),
                        dedupe_key: format!("test:{id}:{i}"),
                    },
                    crate::support::T0,
                )
                .await
                .expect("event");
        }
        // The response is not read while the stream queues the 100 events:
        // its buffer holds 64, so the client is dropped and the stream ends
        // after them instead of growing.
        let res = router(app.state.clone())
            .layer(axum::extract::connect_info::MockConnectInfo(
                SocketAddr::from(([127, 0, 0, 1], 40000)),
            ))
            .oneshot(
                Request::get(format!("/v1/public/draws/{id}/events"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(res.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let body = tokio::time::timeout(
            Duration::from_secs(5),
            http_body_util::BodyExt::collect(res.into_body()),
        )
        .await
        .expect("the stream ended")
        .expect("body")
        .to_bytes();
        let text = String::from_utf8_lossy(&body);
        let ids: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("id:"))
            .map(str::trim)
            .collect();
        assert_eq!(ids.len(), fairdraw_server::routes::events::BUFFER);
        assert_eq!(ids.first(), Some(&"1"));
        assert_eq!(ids.last(), Some(&"64"));
        app.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_raised_on_one_replica_reaches_the_streams_of_another() {
    for app in apps("events_replicas").await {
        // Replica B: the same database, its own state (no shared bell).
        let b = AppState::new(app.db.store.clone(), Limits::default())
            .with_clock(running_clock(crate::support::T0));
        let base_b = serve(b).await;
        let k = app.admin.clone();
        let id = app.draft(&k, "secret").await;
        app.upload_readme_entries(&k, &id).await;
        let mut s = connect(&base_b, &id, None).await;
        assert!(s.next(Duration::from_millis(700)).await.is_none());
        // Replica A (the test app) locks and executes.
        let lock = app
            .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
            .await;
        assert_eq!(lock.status, 200);
        let exec = app
            .post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
            .await;
        assert_eq!(exec.status, 200);
        let got: Vec<String> = [
            s.next(Duration::from_secs(3)).await.expect("locked"),
            s.next(Duration::from_secs(3)).await.expect("executed"),
        ]
        .into_iter()
        .map(|e| format!("{} {}", e.id, e.event))
        .collect();
        assert_eq!(got, ["1 draw.locked", "2 draw.executed"]);
        app.cleanup().await;
    }
}
