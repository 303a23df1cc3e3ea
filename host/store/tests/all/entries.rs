use fairdraw_store::{DrawState, EntryRow, NewDraw, StoreError, testing};

use crate::NOW;

fn rows(n: usize, tag: &str) -> Vec<EntryRow> {
    (0..n)
        .map(|i| EntryRow {
            handle: format!("@{tag}{i}"),
            user_id: format!("{tag}{i}"),
            entry: format!(r#"{{"platform":"p","user_id":"{tag}{i}","handle":"@{tag}{i}","created_at":"2026-01-01T00:00:00Z"}}"#),
        })
        .collect()
}

#[tokio::test]
async fn batched_uploads_are_idempotent_and_paginate() {
    for db in testing::all("entries_upload").await {
        let s = &db.store;
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let draw = s
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
        let big = rows(5000, "a");
        let mut up = s
            .begin_upload(&org.id, &draw.id, "comments", NOW)
            .await
            .expect("begin");
        for chunk in big.chunks(2500) {
            up.push(chunk).await.expect("push");
        }
        let first = up.finish("h1", None).await.expect("finish");
        assert_eq!(
            (first.entries, first.duplicate, first.first_seq),
            (5000, false, 0)
        );
        // The same body again: nothing added, the earlier upload answered.
        let mut up = s
            .begin_upload(&org.id, &draw.id, "comments", NOW)
            .await
            .expect("begin");
        up.push(&big).await.expect("push");
        let again = up.finish("h1", None).await.expect("finish");
        assert!(again.duplicate);
        assert_eq!(again.entries, 5000);
        // The same body to another collection counts.
        let mut up = s
            .begin_upload(&org.id, &draw.id, "likes", NOW)
            .await
            .expect("begin");
        up.push(&rows(3, "l")).await.expect("push");
        assert_eq!(up.finish("h1", None).await.expect("finish").first_seq, 5000);
        assert_eq!(
            s.draw(&org.id, &draw.id).await.expect("draw").entry_count,
            5003,
            "{}",
            db.kind
        );
        // Keyset pagination.
        let mut after = None;
        let mut n = 0;
        loop {
            let page = s
                .entries(&draw.id, Some("comments"), after, 1000)
                .await
                .expect("page");
            let Some(last) = page.last() else { break };
            after = Some(last.seq);
            n += page.len();
        }
        assert_eq!(n, 5000);
        // A dropped upload leaves nothing behind.
        let mut up = s
            .begin_upload(&org.id, &draw.id, "comments", NOW)
            .await
            .expect("begin");
        up.push(&rows(10, "z")).await.expect("push");
        drop(up);
        assert_eq!(
            s.draw(&org.id, &draw.id).await.expect("draw").entry_count,
            5003
        );
        // No uploads once cancelled.
        s.cancel_draw(&org.id, &draw.id, NOW).await.expect("cancel");
        assert!(matches!(
            s.begin_upload(&org.id, &draw.id, "comments", NOW).await,
            Err(StoreError::State(DrawState::Cancelled))
        ));
        db.cleanup().await;
    }
}
