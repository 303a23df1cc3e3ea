//! The transparency log through the API: receipts queued with every lock
//! and execution, the lock answered once checkpointed, the C2SP
//! tlog-tiles read API rebuilt by a reader, and the log proofs verified
//! with the engine's `verify_log_proof`.

use std::time::Duration;

use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::log::checkpoint::verify_checkpoint;
use fairdraw_engine::log::entry::LogEntry;
use fairdraw_engine::log::{LogProof, Note, TrustPolicy, verify_log_proof};
use fairdraw_engine::merkle::{leaf_hash, root};
use fairdraw_server::log::{LogConfig, LogState, Sequencer};
use fairdraw_store::{LockRecord, LogKind, NewDraw, NewLogEntry};
use serde_json::json;

use crate::support::{T0, TestApp, apps};

pub const ORIGIN: &str = "fairdraw.test/log";

/// Attaches a log (fast batches) to the app and starts `sequencers`
/// sequencer loops over it (on PostgreSQL, several race for the lease).
pub async fn with_log(mut app: TestApp, sequencers: usize) -> (TestApp, Vec<Sequencer>) {
    let mut config = LogConfig::new(ORIGIN);
    config.interval = Duration::from_millis(20);
    config.lease = Duration::from_secs(5);
    let log = LogState::open(&app.db.store, config, T0)
        .await
        .expect("log");
    app.state = app.state.clone().with_log(log);
    let seqs = (0..sequencers)
        .map(|_| Sequencer::spawn(app.state.clone()).expect("sequencer"))
        .collect();
    (app, seqs)
}

/// Locks and executes a commit-reveal draw through the API; returns its id.
pub async fn locked_and_executed(app: &TestApp) -> String {
    let k = app.admin.clone();
    let id = app.draft(&k, "secret").await;
    app.upload_readme_entries(&k, &id).await;
    let lock = app
        .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
        .await;
    assert_eq!(lock.status, 200, "{}", String::from_utf8_lossy(&lock.bytes));
    let log = &lock.json()["log"];
    assert_eq!(log["state"], "checkpointed", "{log}");
    assert!(log["checkpoint_size"].as_u64() > log["index"].as_u64());
    let exec = app
        .post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
        .await;
    assert_eq!(exec.status, 200, "{}", String::from_utf8_lossy(&exec.bytes));
    id
}

/// Queues `n` entries straight through the store (locks of bare drafts),
/// so the log grows past one tile quickly.
async fn bulk_entries(app: &TestApp, n: usize) {
    let s = &app.db.store;
    let key = s
        .active_signer(&app.org)
        .await
        .expect("key")
        .info()
        .key_id
        .clone();
    for i in 0..n {
        let d = s
            .create_draw(
                &NewDraw {
                    org_id: app.org.clone(),
                    title: "bulk".into(),
                    rules: "{}".into(),
                    randomness: "secret".into(),
                },
                T0,
            )
            .await
            .expect("draw");
        let entry = format!("{{\"bulk\":{i}}}").into_bytes();
        let claim = s.claim_lock(&app.org, &d.id, T0).await.expect("claim");
        claim
            .commit(LockRecord {
                lock_hash: format!("{i:064x}"),
                lock_file: b"{}".to_vec(),
                secret: None,
                signing_key_id: key.clone(),
                declared: "{}".into(),
                earliest_execution: T0,
                eligible: 1,
                total_tickets: 1,
                locked_at: T0,
                exclusions: vec![],
                log_entry: NewLogEntry {
                    kind: LogKind::Lock,
                    leaf_hash: leaf_hash(&entry),
                    entry,
                },
            })
            .await
            .expect("lock");
    }
}

/// The tlog-tiles path of tile index `n`.
pub fn tile_index(n: u64) -> String {
    let s = format!("{n:03}");
    let digits = if s.len() % 3 == 0 {
        s
    } else {
        format!("{}{s}", "0".repeat(3 - s.len() % 3))
    };
    let groups: Vec<&str> = digits
        .as_bytes()
        .chunks(3)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    let (last, rest) = groups.split_last().expect("a group");
    let mut out: Vec<String> = rest.iter().map(|g| format!("x{g}")).collect();
    out.push((*last).to_owned());
    out.join("/")
}

/// Reads `count` hashes of tile level `level` starting at 0 through the
/// tile API, full tiles then one partial.
async fn read_level(app: &TestApp, level: u8, count: u64) -> Vec<Hash32> {
    let mut out = Vec::new();
    let mut n = 0;
    while (n + 1) * 256 <= count {
        let r = app
            .get(&format!("/log/tile/{level}/{}", tile_index(n)), None)
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(r.bytes.len(), 256 * 32);
        out.extend(
            r.bytes
                .chunks(32)
                .map(|c| Hash32(c.try_into().expect("32"))),
        );
        n += 1;
    }
    let w = count % 256;
    if w > 0 {
        let r = app
            .get(&format!("/log/tile/{level}/{}.p/{w}", tile_index(n)), None)
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
        assert_ne!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        out.extend(
            r.bytes
                .chunks(32)
                .map(|c| Hash32(c.try_into().expect("32"))),
        );
        // A tile wider than the log is not served.
        let wider = app
            .get(
                &format!("/log/tile/{level}/{}.p/{}", tile_index(n), w + 1),
                None,
            )
            .await;
        assert_eq!(wider.status, 404);
    }
    out
}

async fn latest_size(app: &TestApp) -> u64 {
    app.db
        .store
        .latest_checkpoint()
        .await
        .expect("cp")
        .map_or(0, |c| c.size)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_rebuild_the_checkpoint_and_log_proofs_verify() {
    for app in apps("log_tiles").await {
        // Two sequencers race for the lease on the same database.
        let (app, seqs) = with_log(app, 2).await;
        let id = locked_and_executed(&app).await;
        bulk_entries(&app, 300).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while latest_size(&app).await < 302 {
            assert!(
                std::time::Instant::now() < deadline,
                "the sequencer stalled"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let log = app.state.log.clone().expect("log");

        // The checkpoint: signed by the log key.
        let r = app.get("/log/checkpoint", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        let note = Note::parse(&r.bytes).expect("note");
        let cp = verify_checkpoint(&note, &log.vkey).expect("signed by the log");
        assert_eq!(
            (cp.origin.as_str(), cp.size),
            (ORIGIN, 302),
            "{}",
            app.db.kind
        );

        // A reader rebuilds the root from the tiles alone.
        let leaves = read_level(&app, 0, cp.size).await;
        assert_eq!(root(&leaves), cp.root, "{}", app.db.kind);
        let level1 = read_level(&app, 1, cp.size / 256).await;
        assert_eq!(level1, vec![root(&leaves[..256])]);
        // Entry bundles hold the entries whose hashes are the leaves.
        let r = app
            .get(&format!("/log/tile/entries/{}", tile_index(0)), None)
            .await;
        assert_eq!(r.status, 200);
        let mut rest = &r.bytes[..];
        let mut entries = Vec::new();
        while rest.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            entries.push(rest[2..2 + len].to_vec());
            rest = &rest[2 + len..];
        }
        assert_eq!(entries.len(), 256);
        for (e, l) in entries.iter().zip(&leaves) {
            assert_eq!(leaf_hash(e), *l);
        }
        // The first two entries are the draw's lock and execution receipts.
        let lock_entry = LogEntry::parse(&entries[0]).expect("entry");
        assert_eq!(lock_entry.draw_id, id);
        assert!(app.get("/log/tile/0/1", None).await.status == 404);
        assert!(app.get("/log/tile/0/x000/001", None).await.status == 404);

        // The log proofs verify against the log key, for the receipts'
        // own entries.
        let proofs = app
            .get(&format!("/v1/public/draws/{id}/log-proofs"), None)
            .await;
        assert_eq!(
            proofs.status,
            200,
            "{}",
            String::from_utf8_lossy(&proofs.bytes)
        );
        let proofs = proofs.json();
        let bundle = app
            .get(&format!("/v1/public/draws/{id}/bundle"), None)
            .await;
        let parsed = ParsedBundle::parse(&bundle.bytes).expect("bundle");
        let policy = TrustPolicy {
            origin: None,
            log: log.vkey.clone(),
            witnesses: vec![],
            quorum: 0,
        };
        let lock_leaf = LogEntry::lock(&parsed.lock).expect("entry").leaf_hash();
        let p = LogProof::parse(proofs["lock"].as_str().expect("lock").as_bytes()).expect("proof");
        let ev = verify_log_proof(&policy, &lock_leaf, &p).expect("lock proof verifies");
        assert_eq!((ev.index, ev.tree_size), (0, 302));
        let exec = parsed.execution.as_ref().expect("executed");
        let exec_leaf = LogEntry::execution(exec).expect("entry").leaf_hash();
        let p =
            LogProof::parse(proofs["execution"].as_str().expect("exec").as_bytes()).expect("proof");
        let ev = verify_log_proof(&policy, &exec_leaf, &p).expect("execution proof verifies");
        assert_eq!(ev.index, 1);
        // A proof is for its own leaf only.
        assert!(verify_log_proof(&policy, &lock_leaf, &p).is_err());
        for s in seqs {
            s.shutdown().await;
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn without_a_sequencer_the_lock_answers_202_queued() {
    for app in apps("log_queued").await {
        let mut config = LogConfig::new(ORIGIN);
        config.lock_wait = Duration::from_millis(200);
        let log = LogState::open(&app.db.store, config, T0)
            .await
            .expect("log");
        let mut app = app;
        app.state = app.state.clone().with_log(log);
        let k = app.admin.clone();
        let id = app.draft(&k, "secret").await;
        app.upload_readme_entries(&k, &id).await;
        let lock = app
            .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
            .await;
        assert_eq!(lock.status, 202, "{}", String::from_utf8_lossy(&lock.bytes));
        assert_eq!(lock.json()["log"]["state"], "queued");
        assert_eq!(lock.json()["draw"]["state"], "locked");
        assert_eq!(app.db.store.log_pending().await.expect("pending"), 1);
        app.get(&format!("/v1/public/draws/{id}/log-proofs"), None)
            .await
            .problem(503);
        app.cleanup().await;
    }
}
