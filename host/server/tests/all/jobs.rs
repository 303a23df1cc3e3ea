//! Automatic execution through the job queue: a drand draw locked through
//! the API executes by itself when the mock relay publishes its (real,
//! recorded) round, with the clock started before the round; dead jobs are
//! listed and retried through the API.

use std::collections::BTreeMap;
use std::time::Duration;

use fairdraw_engine::randomness::drand as engine_drand;
use fairdraw_server::beacon::Beacons;
use fairdraw_server::state::running_clock;
use fairdraw_server::worker::{WorkerConfig, Workers};
use fairdraw_store::{Backoff, Db, JobKind, NewJob};
use fairdraw_tests::mock::drand;
use serde_json::{Value, json};

use crate::beacon::{ROUND, drand_manifest, runtime};
use crate::support::{TestApp, apps};

fn fast_workers(n: usize) -> WorkerConfig {
    WorkerConfig {
        workers: n,
        poll: Duration::from_millis(50),
        backoff: Backoff {
            base_ms: 100,
            max_ms: 400,
        },
        ..WorkerConfig::default()
    }
}

fn due() -> i64 {
    let chain = engine_drand::chain("quicknet").expect("quicknet");
    chain.round_time(ROUND).unix() * 1000
}

/// A drand draw locked (through the API) 2 minutes before quicknet `ROUND`.
async fn lock(app: &TestApp) -> (String, String) {
    let k = app.admin.clone();
    let id = app.draft(&k, &format!("drand:quicknet:{ROUND}")).await;
    app.upload_readme_entries(&k, &id).await;
    app.set_time(due() - 120_000);
    let lock = app
        .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
        .await;
    assert_eq!(lock.status, 200, "{}", String::from_utf8_lossy(&lock.bytes));
    let hash = lock.json()["lock_hash"].as_str().expect("hash").to_owned();
    (id, hash)
}

async fn receipts(db: &Db, draw: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM draw_executions WHERE draw_id = $1";
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(draw).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(draw).fetch_one(p).await,
    }
    .expect("count")
}

async fn draw(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/draws/{id}"), Some(&app.admin))
        .await
        .json()
}

/// Polls `GET /v1/draws/{id}` until `done` holds (at most `secs`).
async fn wait_for(app: &TestApp, id: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let d = draw(app, id).await;
        if done(&d) {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "timed out; the draw is {d:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn verify(app: &TestApp, id: &str, lock_hash: &str) {
    let bundle = app.verified_bundle(id, lock_hash).await;
    let doc: Value = serde_json::from_slice(&bundle).expect("json");
    assert_eq!(
        doc["execution"]["payload"]["randomness"]["randomness"],
        drand::beacon("quicknet", ROUND).expect("round").randomness,
        "executed on the declared round"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_drand_draw_executes_by_itself_once_the_relay_publishes_its_round() {
    let manifest = drand_manifest();
    let relay = drand::start(drand::Config {
        latest: BTreeMap::from([("quicknet".to_owned(), ROUND - 1)]),
        tamper: true,
        ..drand::Config::default()
    })
    .await;
    let installed = tempfile::tempdir().expect("tempdir");
    runtime(installed.path(), &relay.origin)
        .install(&manifest)
        .expect("install the drand plugin");
    for app in apps("jobs_auto_execute").await {
        relay.reset();
        relay.configure(|c| {
            c.latest = BTreeMap::from([("quicknet".to_owned(), ROUND - 1)]);
            c.tamper = true;
        });
        let (id, lock_hash) = lock(&app).await;
        // The lock queued the beacon poll, due at the round's time.
        let d = draw(&app, &id).await;
        assert_eq!(d["execution_job"]["kind"], "poll_beacon", "{d:#}");
        assert_eq!(d["execution_job"]["state"], "queued");
        assert_eq!(
            d["execution_job"]["run_at"],
            fairdraw_server::routes::rfc3339(due())
        );

        // The server's clock starts 1.5 s before the round and runs.
        let state = app
            .state
            .clone()
            .with_clock(running_clock(due() - 1_500))
            .with_beacons(Beacons::new(
                runtime(installed.path(), &relay.origin),
                "drand",
            ));
        let workers = Workers::spawn(state, fast_workers(2));
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(
            relay.request_count(),
            0,
            "nobody asks before the round's time"
        );
        assert_eq!(draw(&app, &id).await["state"], "locked");

        // Due: the relay has not published it yet, then lies about it; the
        // job retries with backoff and records why.
        let d = wait_for(&app, &id, 20, |d| {
            d["execution_job"]["attempts"].as_i64().unwrap_or(0) >= 2
        })
        .await;
        assert_eq!(d["state"], "locked");
        // The second attempt is counted when it is claimed, possibly before
        // its request reaches the relay; the first one's has.
        assert!(relay.request_count() >= 1);
        relay.configure(|c| c.latest.clear());
        let d = wait_for(&app, &id, 20, |d| {
            d["execution_job"]["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("refusing the beacon"))
        })
        .await;
        assert_eq!(d["state"], "locked", "a lying relay executes nothing");

        // The real round: executed with no call, exactly one receipt.
        relay.configure(|c| c.tamper = false);
        wait_for(&app, &id, 30, |d| d["state"] == "executed").await;
        let d = wait_for(&app, &id, 10, |d| d["execution_job"]["state"] == "done").await;
        assert_eq!(d["execution_job"]["kind"], "execute_draw");
        assert_eq!(receipts(app.db.store.db(), &id).await, 1);
        verify(&app, &id, &lock_hash).await;

        let jobs = app.get("/v1/jobs?state=done", Some(&app.admin)).await;
        assert_eq!(jobs.status, 200);
        let kinds: Vec<Value> = jobs.json()["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .map(|j| j["kind"].clone())
            .collect();
        assert_eq!(kinds, [json!("poll_beacon"), json!("execute_draw")]);
        // A manual execute now is the usual 409, and nothing more happens.
        app.post_json(
            &format!("/v1/draws/{id}/execute"),
            Some(&app.admin),
            &json!({}),
        )
        .await
        .problem(409);
        workers.shutdown().await;
        assert_eq!(receipts(app.db.store.db(), &id).await, 1);
        app.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_jobs_are_listed_with_their_error_and_a_retry_runs_them_again() {
    let manifest = drand_manifest();
    let relay = drand::start(drand::Config::default()).await;
    let installed = tempfile::tempdir().expect("tempdir");
    runtime(installed.path(), &relay.origin)
        .install(&manifest)
        .expect("install the drand plugin");
    for app in apps("jobs_dead_retry").await {
        let k = app.admin.clone();
        // A commit-reveal draw queues nothing: it waits for the reveal.
        let secret = app.draft(&k, "secret").await;
        app.upload_readme_entries(&k, &secret).await;
        app.post_json(&format!("/v1/draws/{secret}/lock"), Some(&k), &json!({}))
            .await;
        assert!(draw(&app, &secret).await.get("execution_job").is_none());

        let (id, lock_hash) = lock(&app).await;
        // Its poll fails on its only attempt (a store-level job with one
        // attempt, standing in for a relay down for hours).
        let s = &app.db.store;
        let j = s
            .draw_job(&id, &[JobKind::PollBeacon])
            .await
            .expect("job")
            .expect("the poll");
        let one = s
            .enqueue_job(
                &NewJob {
                    kind: JobKind::PollBeacon,
                    org_id: app.org.clone(),
                    draw_id: Some(id.clone()),
                    payload: "{}".into(),
                    run_at: due() + 1,
                    max_attempts: 1,
                    dedupe_key: None,
                },
                due(),
            )
            .await
            .expect("enqueue");
        let l = s
            .claim_job("t", due(), 60_000)
            .await
            .expect("claim")
            .expect("due");
        s.complete_job(&l, due(), None)
            .await
            .expect("the lock's poll, put aside");
        assert_eq!(l.job.id, j.id);
        let l = s
            .claim_job("t", due() + 1, 60_000)
            .await
            .expect("claim")
            .expect("due");
        assert_eq!(l.job.id, one.id);
        s.fail_job(&l, "every relay is down", due(), &Backoff::default())
            .await
            .expect("fail");

        let dead = app.get("/v1/jobs?state=dead", Some(&k)).await;
        assert_eq!(dead.status, 200);
        let listed = dead.json()["jobs"].as_array().expect("jobs").clone();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["id"], json!(one.id));
        assert_eq!(listed[0]["attempts"], 1);
        assert_eq!(listed[0]["last_error"], "every relay is down");
        app.get("/v1/jobs?state=asleep", Some(&k))
            .await
            .problem(422);
        app.get("/v1/jobs?cursor=nope", Some(&k)).await.problem(422);
        // Pagination: one per page.
        let page = app.get("/v1/jobs?limit=1", Some(&k)).await.json();
        let next = page["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_owned();
        let page2 = app
            .get(&format!("/v1/jobs?limit=1&cursor={next}"), Some(&k))
            .await
            .json();
        assert_ne!(page["jobs"][0]["id"], page2["jobs"][0]["id"]);

        // Retry: only dead jobs, only the organisation's, write scope.
        let retry = format!("/v1/jobs/{}/retry", one.id);
        let read = app.key(&app.org, fairdraw_store::Scope::Read).await;
        app.post_json(&retry, Some(&read), &json!({}))
            .await
            .problem(403);
        let (_, other) = app.org("Other").await;
        app.post_json(&retry, Some(&other), &json!({}))
            .await
            .problem(404);
        let r = app.post_json(&retry, Some(&k), &json!({})).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
        assert_eq!(r.json()["state"], "queued");
        assert_eq!(r.json()["attempts"], 0);
        let p = app
            .post_json(&retry, Some(&k), &json!({}))
            .await
            .problem(409);
        assert!(
            p["detail"].as_str().unwrap_or_default().contains("queued"),
            "{p}"
        );

        // The workers run it now, and the draw executes.
        app.set_time(due() + 5_000);
        let state = app.state.clone().with_beacons(Beacons::new(
            runtime(installed.path(), &relay.origin),
            "drand",
        ));
        let workers = Workers::spawn(state, fast_workers(1));
        wait_for(&app, &id, 30, |d| d["state"] == "executed").await;
        workers.shutdown().await;
        assert_eq!(receipts(app.db.store.db(), &id).await, 1);
        verify(&app, &id, &lock_hash).await;
        app.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_fail_over_past_one_that_lies_and_every_failure_is_named() {
    let manifest = drand_manifest();
    // The drand manifest, also allowing a second relay's origin.
    let dir = tempfile::tempdir().expect("tempdir");
    let component = manifest
        .parent()
        .expect("plugins/drand")
        .join("../target/wasm32-wasip2/release/drand.wasm")
        .canonicalize()
        .expect("the built component");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let edited = text
        .replace(
            r#"allow = ["https://api.drand.sh"]"#,
            r#"allow = ["https://api.drand.sh", "https://relay2.example"]"#,
        )
        .replace(
            r#"component = "../target/wasm32-wasip2/release/drand.wasm""#,
            &format!("component = {:?}", component.display().to_string()),
        );
    assert_ne!(text, edited, "the manifest's shape changed");
    std::fs::write(dir.path().join("plugin.toml"), edited).expect("write");
    let liar = drand::start(drand::Config {
        tamper: true,
        ..drand::Config::default()
    })
    .await;
    let good = drand::start(drand::Config::default()).await;
    let installed = tempfile::tempdir().expect("tempdir");
    let rt = || {
        fairdraw_runtime::PluginRuntime::with_options(fairdraw_runtime::RuntimeOptions {
            data_dir: installed.path().to_owned(),
            dev_origin_map: fairdraw_runtime::DevOriginMap::parse(&format!(
                "{}={},https://relay2.example={}",
                drand::PRODUCTION_ORIGIN,
                liar.origin,
                good.origin
            ))
            .expect("dev map"),
            credentials: fairdraw_runtime::CredentialSource::Map(BTreeMap::new()),
            log: std::sync::Arc::new(|_| {}),
        })
        .expect("runtime")
    };
    rt().install(dir.path().join("plugin.toml"))
        .expect("install");
    let relays = vec![
        "https://api.drand.sh".to_owned(),
        "https://relay2.example/".to_owned(),
    ];
    for mut app in apps("jobs_relay_failover").await {
        let (id, lock_hash) = lock(&app).await;
        app.set_time(due() + 5_000);
        app.state = app
            .state
            .clone()
            .with_beacons(Beacons::new(rt(), "drand").with_relays(&relays));
        // Both lie: 503 naming each relay and why.
        good.configure(|c| c.tamper = true);
        let p = app
            .post_json(
                &format!("/v1/draws/{id}/execute"),
                Some(&app.admin),
                &json!({}),
            )
            .await
            .problem(503);
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("https://api.drand.sh: refusing")
                && detail.contains("https://relay2.example: refusing"),
            "{detail}"
        );
        assert_eq!(draw(&app, &id).await["state"], "locked");
        // The second one is honest: the first is skipped, the draw executes
        // on the declared round.
        good.configure(|c| c.tamper = false);
        let (before_liar, before_good) = (liar.request_count(), good.request_count());
        let r = app
            .post_json(
                &format!("/v1/draws/{id}/execute"),
                Some(&app.admin),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
        assert!(
            liar.request_count() > before_liar,
            "the first relay was tried"
        );
        assert!(good.request_count() > before_good, "then the second");
        verify(&app, &id, &lock_hash).await;
        app.cleanup().await;
    }
}
