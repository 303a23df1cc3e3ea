//! `execute` without a beacon in the body: the server fetches the declared
//! drand round through the real `drand` plugin (built from plugins/,
//! installed into a data directory) from the mock relay, and answers 503
//! when no plugin is installed, the round is not published yet, or the
//! relay lies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use fairdraw_engine::randomness::drand as engine_drand;
use fairdraw_runtime::{CredentialSource, DevOriginMap, PluginRuntime, RuntimeOptions};
use fairdraw_server::beacon::Beacons;
use fairdraw_tests::mock::drand;
use serde_json::json;

use crate::support::{TestApp, apps};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("host/server/ is two levels down")
        .to_owned()
}

/// Builds the drand component once per run (a no-op when it is current),
/// as the runtime's own tests do; a failed build falls back to the one
/// already built, and says so.
pub fn drand_manifest() -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--manifest-path"])
            .arg(repo().join("plugins/Cargo.toml"))
            .args(["--target", "wasm32-wasip2", "--release", "-p", "drand"])
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: building the drand component failed; using the one already built:\n{}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("warning: cannot run cargo to build the drand component: {e}"),
        }
    });
    let component = repo().join("plugins/target/wasm32-wasip2/release/drand.wasm");
    assert!(component.is_file(), "{} is missing", component.display());
    repo().join("plugins/drand/plugin.toml")
}

/// A plugin runtime over `data_dir` whose drand traffic goes to `relay`.
pub fn runtime(data_dir: &Path, relay: &str) -> PluginRuntime {
    PluginRuntime::with_options(RuntimeOptions {
        data_dir: data_dir.to_owned(),
        dev_origin_map: DevOriginMap::parse(&format!("{}={relay}", drand::PRODUCTION_ORIGIN))
            .expect("dev map"),
        credentials: CredentialSource::Map(BTreeMap::new()),
        log: Arc::new(|_| {}),
    })
    .expect("runtime")
}

/// Quicknet round 123, as the mock relay serves it.
pub const ROUND: u64 = 123;

async fn locked_draw(app: &TestApp) -> (String, String, i64) {
    let chain = engine_drand::chain("quicknet").expect("quicknet");
    let due = chain.round_time(ROUND).unix() * 1000;
    let k = app.admin.clone();
    let id = app.draft(&k, &format!("drand:quicknet:{ROUND}")).await;
    app.upload_readme_entries(&k, &id).await;
    app.set_time(due - 120_000);
    let lock = app
        .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
        .await;
    assert_eq!(lock.status, 200, "{}", String::from_utf8_lossy(&lock.bytes));
    let lock_hash = lock.json()["lock_hash"].as_str().expect("hash").to_owned();
    app.set_time(due + 10_000);
    (id, lock_hash, due)
}

async fn state_of(app: &TestApp, id: &str) -> String {
    app.get(&format!("/v1/draws/{id}"), Some(&app.admin))
        .await
        .json()["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn execute_fetches_the_declared_round_through_the_drand_plugin() {
    let manifest = drand_manifest();
    let relay = drand::start_blocking(drand::Config {
        latest: BTreeMap::from([("quicknet".to_owned(), ROUND - 1)]),
        ..drand::Config::default()
    });
    let installed = tempfile::tempdir().expect("tempdir");
    runtime(installed.path(), &relay.origin)
        .install(&manifest)
        .expect("install the drand plugin");
    let empty = tempfile::tempdir().expect("tempdir");
    for mut app in apps("beacon_plugin").await {
        let (id, lock_hash, due) = locked_draw(&app).await;
        let execute = format!("/v1/draws/{id}/execute");
        let k = app.admin.clone();

        // No plugin runtime: 503, saying what to send or install.
        let p = app
            .post_json(&execute, Some(&k), &json!({}))
            .await
            .problem(503);
        assert_eq!(p["type"], "urn:fairdraw:problem:beacon-unavailable");
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("`beacon`"), "{detail}");

        // A runtime whose data directory has no drand plugin: 503 naming
        // where to install it.
        app.state = app
            .state
            .clone()
            .with_beacons(Beacons::new(runtime(empty.path(), &relay.origin), "drand"));
        let p = app
            .post_json(&execute, Some(&k), &json!({}))
            .await
            .problem(503);
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("no plugin `drand` is installed") && detail.contains("plugin install"),
            "{detail}"
        );

        // Installed, but the relay has not published the round yet (425):
        // 503 with Retry-After and the round's due time.
        app.state = app.state.clone().with_beacons(Beacons::new(
            runtime(installed.path(), &relay.origin),
            "drand",
        ));
        let early = app.post_json(&execute, Some(&k), &json!({})).await;
        let p = early.problem(503);
        let detail = p["detail"].as_str().unwrap_or_default();
        let due_text = fairdraw_server::routes::rfc3339(due);
        assert!(
            detail.contains("not available from the relay yet") && detail.contains(&due_text),
            "{detail}"
        );
        assert!(early.header("retry-after").is_some());
        assert_eq!(state_of(&app, &id).await, "locked");

        // A relay that lies: the engine refuses the beacon, the draw stays locked.
        relay.configure(|c| {
            c.latest.clear();
            c.tamper = true;
        });
        let p = app
            .post_json(&execute, Some(&k), &json!({}))
            .await
            .problem(503);
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("refusing the beacon"), "{detail}");
        assert_eq!(state_of(&app, &id).await, "locked");

        // The real round: executed, and the public bundle verifies.
        relay.configure(|c| c.tamper = false);
        let before = relay.request_count();
        let exec = app.post_json(&execute, Some(&k), &json!({})).await;
        assert_eq!(exec.status, 200, "{}", String::from_utf8_lossy(&exec.bytes));
        assert_eq!(exec.json()["draw"]["state"], "executed");
        assert!(relay.request_count() > before, "the plugin asked the relay");
        let paths: BTreeSet<String> = relay.requests().into_iter().map(|r| r.path).collect();
        assert!(
            paths.contains(&format!("/{}/public/{ROUND}", drand::QUICKNET_HASH)),
            "{paths:?}"
        );
        let bundle = app.verified_bundle(&id, &lock_hash).await;
        let served = drand::beacon("quicknet", ROUND).expect("round");
        let doc: serde_json::Value = serde_json::from_slice(&bundle).expect("json");
        assert_eq!(
            doc["execution"]["payload"]["randomness"]["randomness"], served.randomness,
            "the bundle holds the relay's round"
        );

        // Executed: another call is 409 with the stored result, no fetch.
        let again = app.post_json(&execute, Some(&k), &json!({})).await;
        again.problem(409);
        relay.reset();
        relay.configure(|c| c.latest = BTreeMap::from([("quicknet".to_owned(), ROUND - 1)]));
        app.cleanup().await;
    }
}
