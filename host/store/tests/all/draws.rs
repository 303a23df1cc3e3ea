use fairdraw_engine::merkle::leaf_hash;
use fairdraw_store::{
    DrawFilter, DrawState, LockRecord, LogKind, NewDraw, NewLogEntry, StoreError, testing,
};

use crate::NOW;

fn new_draw(org: &str) -> NewDraw {
    NewDraw {
        org_id: org.to_owned(),
        title: "T".into(),
        rules: r#"{"winners":1}"#.into(),
        randomness: "secret".into(),
    }
}

pub fn record(n: i64) -> LockRecord {
    LockRecord {
        lock_hash: format!("{n:064x}"),
        lock_file: b"{}".to_vec(),
        secret: Some(vec![7; 32]),
        signing_key_id: String::new(),
        declared: "{}".into(),
        earliest_execution: NOW,
        eligible: 1,
        total_tickets: 1,
        locked_at: NOW,
        exclusions: vec![],
        log_entry: log_entry(LogKind::Lock, n),
    }
}

pub fn log_entry(kind: LogKind, n: i64) -> NewLogEntry {
    let entry = format!("{{\"n\":{n}}}").into_bytes();
    NewLogEntry {
        kind,
        leaf_hash: leaf_hash(&entry),
        entry,
    }
}

#[tokio::test]
async fn exactly_one_of_many_concurrent_locks_wins() {
    for db in testing::all("draws_lock_race").await {
        let s = db.store.clone();
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let key = s
            .active_signer(&org.id)
            .await
            .expect("key")
            .info()
            .key_id
            .clone();
        let draw = s.create_draw(&new_draw(&org.id), NOW).await.expect("draw");
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (s, org, id, key) = (s.clone(), org.id.clone(), draw.id.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let claim = s.claim_lock(&org, &id, NOW).await?;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                let mut rec = record(i);
                rec.signing_key_id = key;
                claim.commit(rec).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.expect("join") {
                Ok(d) => {
                    won += 1;
                    assert_eq!(d.state, DrawState::Locked);
                }
                Err(StoreError::State(DrawState::Locked)) => {}
                Err(e) => panic!("{}: unexpected {e}", db.kind),
            }
        }
        assert_eq!(won, 1, "{}", db.kind);
        // Execution: once, then never again; the secret round-trips encrypted.
        let mut claim = s
            .claim_execution(&org.id, &draw.id, NOW)
            .await
            .expect("claim");
        let (_, secret) = claim.lock().await.expect("lock");
        assert_eq!(secret, Some(vec![7; 32]));
        claim
            .commit(
                b"bundle",
                "sha",
                &log_entry(LogKind::Execution, 99),
                NOW + 1,
            )
            .await
            .expect("execute");
        assert!(matches!(
            s.claim_execution(&org.id, &draw.id, NOW).await,
            Err(StoreError::State(DrawState::Executed))
        ));
        assert_eq!(s.bundle(&draw.id).await.expect("bundle").bundle, b"bundle");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_database_refuses_a_second_lock_row() {
    for db in testing::all("draws_constraint").await {
        let s = &db.store;
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let draw = s.create_draw(&new_draw(&org.id), NOW).await.expect("draw");
        let insert = "INSERT INTO draw_locks (draw_id, lock_hash, lock_file, created_at) VALUES ($1, 'h', $2, 0)";
        let twice = match s.db() {
            fairdraw_store::Db::Sqlite(p) => {
                sqlx::query(insert)
                    .bind(&draw.id)
                    .bind(vec![0u8])
                    .execute(p)
                    .await
                    .expect("first");
                sqlx::query(insert)
                    .bind(&draw.id)
                    .bind(vec![0u8])
                    .execute(p)
                    .await
                    .is_err()
            }
            fairdraw_store::Db::Postgres(p) => {
                sqlx::query(insert)
                    .bind(&draw.id)
                    .bind(vec![0u8])
                    .execute(p)
                    .await
                    .expect("first");
                sqlx::query(insert)
                    .bind(&draw.id)
                    .bind(vec![0u8])
                    .execute(p)
                    .await
                    .is_err()
            }
        };
        assert!(twice, "{}: primary key refuses a second lock", db.kind);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn cancel_only_before_lock_and_tenancy_and_listing() {
    for db in testing::all("draws_cancel").await {
        let s = &db.store;
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let (other, _) = s.create_org("Other", NOW).await.expect("org");
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                s.create_draw(&new_draw(&org.id), NOW + i)
                    .await
                    .expect("draw")
                    .id,
            );
        }
        assert!(matches!(
            s.draw(&other.id, &ids[0]).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.cancel_draw(&other.id, &ids[0], NOW).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.cancel_draw(&org.id, &ids[0], NOW)
                .await
                .expect("cancel")
                .state,
            DrawState::Cancelled
        );
        assert!(matches!(
            s.cancel_draw(&org.id, &ids[0], NOW).await,
            Err(StoreError::State(DrawState::Cancelled))
        ));
        // Keyset pages of 2 walk all five, in creation order.
        let mut seen = Vec::new();
        let mut f = DrawFilter {
            limit: 2,
            ..DrawFilter::default()
        };
        loop {
            let page = s.draws(&org.id, &f).await.expect("page");
            if page.is_empty() {
                break;
            }
            f.after = page.last().map(|d| (d.created_at, d.id.clone()));
            seen.extend(page.into_iter().map(|d| d.id));
        }
        assert_eq!(seen, ids, "{}", db.kind);
        let drafts = s
            .draws(
                &org.id,
                &DrawFilter {
                    state: Some(DrawState::Draft),
                    limit: 10,
                    after: None,
                },
            )
            .await
            .expect("filter");
        assert_eq!(drafts.len(), 4);
        let counts = s.draw_counts().await.expect("counts");
        assert!(counts.contains(&(DrawState::Cancelled, 1)));
        db.cleanup().await;
    }
}
