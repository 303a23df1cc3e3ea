use fairdraw_store::{
    DrawState, EntryRow, LogKind, NewDraw, QuotaChange, QuotaKind, StoreError, testing,
};

use crate::NOW;
use crate::draws::{log_entry, record};

fn new_draw(org: &str) -> NewDraw {
    NewDraw {
        org_id: org.to_owned(),
        title: "T".into(),
        rules: "{}".into(),
        randomness: "secret".into(),
    }
}

fn rows(n: usize) -> Vec<EntryRow> {
    (0..n)
        .map(|i| EntryRow {
            handle: format!("@u{i}"),
            user_id: format!("u{i}"),
            entry: "{}".into(),
        })
        .collect()
}

fn quota(kind: QuotaKind, n: Option<i64>) -> QuotaChange {
    let mut c = QuotaChange::default();
    match kind {
        QuotaKind::Draws => c.draws = Some(n),
        QuotaKind::Entries => c.entries = Some(n),
        QuotaKind::Executions => c.executions = Some(n),
    }
    c
}

#[tokio::test]
async fn concurrent_draws_at_the_quota_edge_exactly_fill_it() {
    for db in testing::all("usage_draws").await {
        let s = db.store.clone();
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let (other, _) = s.create_org("Other", NOW).await.expect("org");
        s.create_draw(&new_draw(&org.id), NOW).await.expect("draw");
        let u = s
            .set_quota(&org.id, &quota(QuotaKind::Draws, Some(5)), NOW)
            .await
            .expect("quota");
        assert_eq!((u.draws, u.draws_quota), (1, Some(5)));
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (s, org) = (s.clone(), org.id.clone());
            tasks.push(tokio::spawn(async move {
                s.create_draw(&new_draw(&org), NOW).await
            }));
        }
        let (mut ok, mut refused) = (0, 0);
        for t in tasks {
            match t.await.expect("join") {
                Ok(_) => ok += 1,
                Err(StoreError::QuotaExceeded {
                    quota: QuotaKind::Draws,
                    usage: 5,
                    limit: 5,
                    requested: 1,
                }) => refused += 1,
                Err(e) => panic!("{}: unexpected {e}", db.kind),
            }
        }
        assert_eq!((ok, refused), (4, 8), "{}", db.kind);
        let st = s.org_stats(&org.id).await.expect("stats");
        assert_eq!(st.usage.draws, 5);
        assert_eq!(
            st.draws_by_state[0],
            (DrawState::Draft, 5),
            "nothing half-made"
        );
        // Another organisation is not limited; clearing lifts the quota.
        s.create_draw(&new_draw(&other.id), NOW)
            .await
            .expect("other org");
        s.set_quota(&org.id, &quota(QuotaKind::Draws, None), NOW)
            .await
            .expect("clear");
        s.create_draw(&new_draw(&org.id), NOW)
            .await
            .expect("after clear");
        assert_eq!(s.usage(&org.id).await.expect("usage").draws, 6);
        assert!(matches!(
            s.set_quota("org_none", &QuotaChange::default(), NOW).await,
            Err(StoreError::NotFound(_))
        ));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_upload_crossing_the_entries_quota_adds_nothing() {
    for db in testing::all("usage_entries").await {
        let s = db.store.clone();
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let draw = s.create_draw(&new_draw(&org.id), NOW).await.expect("draw");
        s.set_quota(&org.id, &quota(QuotaKind::Entries, Some(10)), NOW)
            .await
            .expect("quota");
        let mut up = s
            .begin_upload(&org.id, &draw.id, "c", NOW)
            .await
            .expect("begin");
        up.push(&rows(6)).await.expect("push");
        up.finish("h1", None).await.expect("6 of 10");
        // 6 + 5 > 10: refused whole.
        let mut up = s
            .begin_upload(&org.id, &draw.id, "c", NOW)
            .await
            .expect("begin");
        up.push(&rows(5)).await.expect("push");
        match up.finish("h2", None).await {
            Err(StoreError::QuotaExceeded {
                quota: QuotaKind::Entries,
                usage: 6,
                limit: 10,
                requested: 5,
            }) => {}
            other => panic!("{}: {other:?}", db.kind),
        }
        assert_eq!(
            s.draw(&org.id, &draw.id).await.expect("draw").entry_count,
            6
        );
        assert_eq!(
            s.entries(&draw.id, None, None, 100).await.expect("e").len(),
            6
        );
        // A repeat of the first body counts nothing and is not refused.
        let mut up = s
            .begin_upload(&org.id, &draw.id, "c", NOW)
            .await
            .expect("begin");
        up.push(&rows(6)).await.expect("push");
        assert!(up.finish("h1", None).await.expect("repeat").duplicate);
        // Two concurrent uploads of 4 at 6 of 10: exactly one fits.
        let mut tasks = Vec::new();
        for i in 0..2 {
            let (s, org, id) = (s.clone(), org.id.clone(), draw.id.clone());
            tasks.push(tokio::spawn(async move {
                let mut up = s.begin_upload(&org, &id, "c", NOW).await?;
                up.push(&rows(4)).await?;
                up.finish(&format!("race{i}"), None).await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.expect("join") {
                Ok(_) => ok += 1,
                Err(StoreError::QuotaExceeded { .. }) => {}
                Err(e) => panic!("{}: unexpected {e}", db.kind),
            }
        }
        assert_eq!(ok, 1, "{}", db.kind);
        assert_eq!(s.usage(&org.id).await.expect("usage").entries, 10);
        assert_eq!(s.draw(&org.id, &draw.id).await.expect("d").entry_count, 10);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_executions_at_the_quota_edge_one_commits_and_the_mean_is_kept() {
    for db in testing::all("usage_executions").await {
        let s = db.store.clone();
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let key = s
            .active_signer(&org.id)
            .await
            .expect("key")
            .info()
            .key_id
            .clone();
        let mut ids = Vec::new();
        for i in 0..2 {
            let d = s.create_draw(&new_draw(&org.id), NOW).await.expect("draw");
            let claim = s.claim_lock(&org.id, &d.id, NOW).await.expect("claim");
            let mut rec = record(i);
            rec.signing_key_id = key.clone();
            claim.commit(rec).await.expect("lock");
            ids.push(d.id);
        }
        s.set_quota(&org.id, &quota(QuotaKind::Executions, Some(1)), NOW)
            .await
            .expect("quota");
        let mut tasks = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let (s, org, id) = (s.clone(), org.id.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let claim = s.claim_execution(&org, &id, NOW).await?;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                claim
                    .commit(
                        b"b",
                        "sha",
                        &log_entry(LogKind::Execution, 10 + i as i64),
                        NOW + 3000,
                    )
                    .await
            }));
        }
        let (mut ok, mut refused) = (0, 0);
        for t in tasks {
            match t.await.expect("join") {
                Ok(_) => ok += 1,
                Err(StoreError::QuotaExceeded {
                    quota: QuotaKind::Executions,
                    ..
                }) => refused += 1,
                Err(e) => panic!("{}: unexpected {e}", db.kind),
            }
        }
        assert_eq!((ok, refused), (1, 1), "{}", db.kind);
        let st = s.org_stats(&org.id).await.expect("stats");
        assert_eq!(st.usage.executions, 1);
        assert_eq!(st.usage.mean_lock_to_execution_ms(), Some(3000.0));
        let by: Vec<i64> = st.draws_by_state.iter().map(|x| x.1).collect();
        assert_eq!(
            by,
            vec![0, 1, 1, 0, 0],
            "{}: the refused one stays locked",
            db.kind
        );
        let all = s.all_org_stats().await.expect("all");
        assert!(
            all.iter()
                .any(|o| o.usage.org_id == org.id && o.usage.executions == 1)
        );
        db.cleanup().await;
    }
}
