use std::collections::BTreeSet;

use fairdraw_engine::log::checkpoint::verify_checkpoint;
use fairdraw_engine::log::{Note, SignatureType, VerifierKey};
use fairdraw_engine::merkle::root;
use fairdraw_store::{LeafCache, LogKind, NewDraw, Store, StoreError, testing};

use crate::NOW;
use crate::draws::log_entry;

const ORIGIN: &str = "log.example/fairdraw";

/// Locks `n` new draws of a new organisation; each lock queues one entry.
async fn lock_draws(s: &Store, n: i64, base: i64) {
    let (org, _) = s.create_org("ACME", NOW).await.expect("org");
    let key = s
        .active_signer(&org.id)
        .await
        .expect("key")
        .info()
        .key_id
        .clone();
    for i in 0..n {
        let d = s
            .create_draw(
                &NewDraw {
                    org_id: org.id.clone(),
                    title: "T".into(),
                    rules: "{}".into(),
                    randomness: "secret".into(),
                },
                NOW,
            )
            .await
            .expect("draw");
        let claim = s.claim_lock(&org.id, &d.id, NOW).await.expect("claim");
        let mut rec = crate::draws::record(base + i);
        rec.signing_key_id = key.clone();
        rec.log_entry = log_entry(LogKind::Lock, base + i);
        claim.commit(rec).await.expect("lock");
    }
}

async fn indexes(s: &Store) -> Vec<i64> {
    match s.db() {
        fairdraw_store::Db::Sqlite(p) => {
            sqlx::query_scalar("SELECT idx FROM log_entries WHERE idx IS NOT NULL ORDER BY idx")
                .fetch_all(p)
                .await
        }
        fairdraw_store::Db::Postgres(p) => {
            sqlx::query_scalar("SELECT idx FROM log_entries WHERE idx IS NOT NULL ORDER BY idx")
                .fetch_all(p)
                .await
        }
    }
    .expect("indexes")
}

#[tokio::test]
async fn sequencing_assigns_gap_free_indexes_and_signs_checkpoints() {
    for db in testing::all("log_sequence").await {
        let s = db.store.clone();
        let signer = s.log_signer(NOW).await.expect("log key");
        // The key is created once: a second call (another replica) reads it.
        assert_eq!(
            s.log_signer(NOW).await.expect("again").public_key(),
            signer.public_key()
        );
        let vkey = VerifierKey::for_signer(ORIGIN, SignatureType::Ed25519, &signer).expect("vkey");
        let lease = s
            .acquire_log_lease("a", None, NOW, 10_000)
            .await
            .expect("lease")
            .expect("free");
        assert!(
            s.acquire_log_lease("b", None, NOW, 10_000)
                .await
                .expect("lease")
                .is_none()
        );
        let mut cache = LeafCache::default();
        // The empty log gets one checkpoint of size 0, then nothing changes.
        let cp = s
            .sequence_log(&lease, ORIGIN, &signer, &mut cache, 1000, NOW)
            .await
            .expect("seq")
            .expect("empty");
        assert_eq!(cp.size, 0);
        assert!(
            s.sequence_log(&lease, ORIGIN, &signer, &mut cache, 1000, NOW)
                .await
                .expect("seq")
                .is_none()
        );
        lock_draws(&s, 300, 0).await;
        assert_eq!(s.log_pending().await.expect("pending"), 300);
        let cp = s
            .sequence_log(&lease, ORIGIN, &signer, &mut cache, 200, NOW)
            .await
            .expect("seq")
            .expect("cp");
        assert_eq!(cp.size, 200);
        let cp = s
            .sequence_log(&lease, ORIGIN, &signer, &mut cache, 200, NOW)
            .await
            .expect("seq")
            .expect("cp");
        assert_eq!(cp.size, 300);
        assert_eq!(
            indexes(&s).await,
            (0..300).collect::<Vec<_>>(),
            "{}",
            db.kind
        );
        // The checkpoint is signed by the log key over the engine's root.
        let latest = s.latest_checkpoint().await.expect("latest").expect("some");
        let note = Note::parse(latest.note.as_bytes()).expect("note");
        let c = verify_checkpoint(&note, &vkey).expect("signed");
        let leaves = s.log_leaf_hashes(0, 300).await.expect("leaves");
        assert_eq!((c.size, c.root), (300, root(&leaves)));
        // One complete node at height 8: the root of the first 256 leaves.
        let nodes = s.log_tree_nodes(1, 0, 256).await.expect("nodes");
        assert_eq!(nodes, vec![root(&leaves[..256])]);
        // A fresh cache (another replica) catches up from the database.
        let mut other = LeafCache::default();
        s.sync_leaf_cache(&mut other, 300).await.expect("sync");
        assert_eq!(other.root(), c.root);
        // A lease taken over after it expired fences the old holder out.
        let later = NOW + 20_000;
        let b = s
            .acquire_log_lease("b", None, later, 10_000)
            .await
            .expect("lease")
            .expect("expired");
        lock_draws(&s, 1, 1000).await;
        assert!(matches!(
            s.sequence_log(&lease, ORIGIN, &signer, &mut cache, 10, later)
                .await,
            Err(StoreError::LeaseLost)
        ));
        let cp = s
            .sequence_log(&b, ORIGIN, &signer, &mut cache, 10, later)
            .await
            .expect("seq")
            .expect("cp");
        assert_eq!(cp.size, 301);
        // Cosignatures are stored and served on the checkpoint.
        s.add_cosignature(301, "w1", "— w1 AAAA", later)
            .await
            .expect("cosig");
        let latest = s.latest_checkpoint().await.expect("latest").expect("some");
        assert_eq!(
            latest.cosignatures,
            vec![("w1".to_owned(), "— w1 AAAA".to_owned())]
        );
        db.cleanup().await;
    }
}

/// Two sequencers that both believe they hold the lease (the first one's
/// expired while it stalled) race while receipts keep arriving: every
/// entry gets exactly one index, and the indexes have no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_sequencers_leave_no_duplicate_or_missing_index() {
    for db in testing::all("log_race").await {
        let s = db.store.clone();
        let signer = s.log_signer(NOW).await.expect("log key");
        let writers = tokio::spawn({
            let s = s.clone();
            async move {
                for round in 0..10 {
                    lock_draws(&s, 20, round * 100).await;
                }
            }
        });
        let mut tasks = Vec::new();
        for name in ["a", "b", "c"] {
            let (s, signer) = (s.clone(), signer.clone());
            tasks.push(tokio::spawn(async move {
                let mut cache = LeafCache::default();
                let mut lease = None;
                for i in 0..200 {
                    // A short lease, and a clock that jumps: holders lose
                    // and retake it all the time.
                    let now = NOW + i * 50;
                    match s
                        .acquire_log_lease(name, lease.as_ref(), now, 60)
                        .await
                        .expect("lease")
                    {
                        Some(l) => lease = Some(l),
                        None => {
                            lease = None;
                            tokio::task::yield_now().await;
                            continue;
                        }
                    }
                    if let Some(l) = &lease {
                        match s.sequence_log(l, ORIGIN, &signer, &mut cache, 7, now).await {
                            Ok(_) | Err(StoreError::LeaseLost) => {}
                            Err(e) => panic!("sequencer {name}: {e}"),
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }));
        }
        writers.await.expect("writers");
        for t in tasks {
            t.await.expect("sequencer");
        }
        // Drain what is left.
        let far = NOW + 1_000_000;
        let l = s
            .acquire_log_lease("z", None, far, 60_000)
            .await
            .expect("lease")
            .expect("free");
        let mut cache = LeafCache::default();
        while s.log_pending().await.expect("pending") > 0 {
            s.sequence_log(&l, ORIGIN, &signer, &mut cache, 1000, far)
                .await
                .expect("seq");
        }
        let idx = indexes(&s).await;
        assert_eq!(idx, (0..200).collect::<Vec<_>>(), "{}", db.kind);
        let sizes: BTreeSet<u64> = (0..=200u64).collect();
        let cp = s.latest_checkpoint().await.expect("cp").expect("some");
        assert!(sizes.contains(&cp.size) && cp.size == 200);
        let leaves = s.log_leaf_hashes(0, 200).await.expect("leaves");
        assert_eq!(cp.root, root(&leaves), "{}", db.kind);
        db.cleanup().await;
    }
}

/// Receipts appended per second by the sequencer on SQLite (a figure, not
/// an assertion): `cargo test -p fairdraw-store --test all log_append_rate
/// -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement; run by hand"]
async fn log_append_rate() {
    let db = testing::sqlite("log_bench").await;
    let s = db.store.clone();
    lock_draws(&s, 1, 0).await;
    let n: i64 = 20_000;
    if let fairdraw_store::Db::Sqlite(p) = s.db() {
        let draw: String = sqlx::query_scalar("SELECT draw_id FROM log_entries LIMIT 1")
            .fetch_one(p)
            .await
            .expect("draw");
        let mut tx = p.begin().await.expect("tx");
        for i in 0..n {
            let e = log_entry(LogKind::Lock, i);
            sqlx::query("INSERT INTO log_entries (entry, leaf_hash, draw_id, kind, created_at) VALUES ($1, $2, $3, 'lock', $4)")
                .bind(&e.entry)
                .bind(e.leaf_hash.0.to_vec())
                .bind(&draw)
                .bind(NOW)
                .execute(&mut *tx)
                .await
                .expect("insert");
        }
        tx.commit().await.expect("commit");
    }
    let signer = s.log_signer(NOW).await.expect("key");
    let lease = s
        .acquire_log_lease("bench", None, NOW, 600_000)
        .await
        .expect("lease")
        .expect("free");
    let mut cache = LeafCache::default();
    for batch in [256usize, 1024, 4096] {
        let t = std::time::Instant::now();
        let mut done = 0u64;
        let start = s
            .latest_checkpoint()
            .await
            .expect("cp")
            .map_or(0, |c| c.size);
        while done < 6_000 {
            let Some(cp) = s
                .sequence_log(&lease, ORIGIN, &signer, &mut cache, batch, NOW)
                .await
                .expect("seq")
            else {
                break;
            };
            done = cp.size - start;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "batch {batch}: {done} entries in {secs:.3} s = {:.0} entries/s",
            done as f64 / secs
        );
    }
    db.cleanup().await;
}
