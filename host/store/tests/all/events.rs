//! Draw events and webhook deliveries: numbering per draw, dedupe, one
//! delivery per subscribed endpoint queued with the event, none for a
//! deleted endpoint, and `draw.failed` when a draw's job goes dead.

use fairdraw_store::{Backoff, JobKind, JobState, NewDraw, NewEvent, NewJob, testing};
use serde_json::json;

use crate::NOW;

#[tokio::test]
async fn events_are_numbered_per_draw_deduplicated_and_queue_their_deliveries() {
    for db in testing::all("events_store").await {
        let s = db.store.clone().with_webhook_attempts(4);
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let new = |title: &str| NewDraw {
            org_id: org.id.clone(),
            title: title.into(),
            rules: "{}".into(),
            randomness: "secret".into(),
        };
        let a = s.create_draw(&new("a"), NOW).await.expect("draw");
        let b = s.create_draw(&new("b"), NOW).await.expect("draw");
        let both = s
            .create_webhook(
                &org.id,
                "https://h.example/1",
                &["draw.locked".into(), "draw.executed".into()],
                b"k1",
                NOW,
            )
            .await
            .expect("hook");
        let failures = s
            .create_webhook(
                &org.id,
                "https://h.example/2",
                &["draw.failed".into()],
                b"k2",
                NOW,
            )
            .await
            .expect("hook");
        let gone = s
            .create_webhook(
                &org.id,
                "https://h.example/3",
                &["draw.locked".into()],
                b"k3",
                NOW,
            )
            .await
            .expect("hook");
        s.delete_webhook(&org.id, &gone.id, NOW)
            .await
            .expect("delete");

        let ev = |d: &str, kind: &str| NewEvent::once(&org.id, d, kind, json!({"x": 1}));
        let e1 = s
            .record_event(&ev(&a.id, "draw.locked"), NOW)
            .await
            .expect("e1")
            .expect("new");
        let e2 = s
            .record_event(&ev(&a.id, "draw.countdown"), NOW)
            .await
            .expect("e2")
            .expect("new");
        let b1 = s
            .record_event(&ev(&b.id, "draw.locked"), NOW)
            .await
            .expect("b1")
            .expect("new");
        assert_eq!((e1.n, e2.n, b1.n), (1, 2, 1));
        assert!(
            s.record_event(&ev(&a.id, "draw.locked"), NOW)
                .await
                .expect("again")
                .is_none()
        );
        let e3 = s
            .record_event(&ev(&a.id, "draw.executed"), NOW)
            .await
            .expect("e3")
            .expect("new");
        assert!(e3.n > e2.n);
        let after_1: Vec<i64> = s
            .draw_events(&a.id, 1, 10)
            .await
            .expect("events")
            .iter()
            .map(|e| e.n)
            .collect();
        assert_eq!(after_1, [e2.n, e3.n]);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&e1.data).expect("json")["draw_id"],
            a.id.as_str()
        );

        // Two draws locked and one executed: three messages to `both`,
        // none for the countdown, none to the deleted endpoint.
        let ds = s
            .deliveries(&org.id, &both.id, None, 50)
            .await
            .expect("deliveries");
        let kinds: Vec<&str> = ds.iter().map(|d| d.event_type.as_str()).collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert!(
            ds.iter()
                .all(|d| d.job_state == JobState::Queued && d.attempts == 0)
        );
        // Same created_at: the keyset order among them is by (random) id.
        let locked = ds
            .iter()
            .find(|d| d.event_type == "draw.locked")
            .expect("a draw.locked message");
        let body: serde_json::Value = serde_json::from_str(&locked.payload).expect("json");
        assert_eq!(body["type"], "draw.locked");
        assert!(body["timestamp"].is_string() && body["data"]["x"] == 1);
        assert!(
            s.deliveries(&org.id, &gone.id, None, 50)
                .await
                .expect("none")
                .is_empty()
        );
        assert!(
            s.deliveries(&org.id, &failures.id, None, 50)
                .await
                .expect("none")
                .is_empty()
        );
        let target = s.delivery_target(&locked.id).await.expect("target");
        assert_eq!(target.secret.as_slice(), b"k1");
        let job = s.job(&org.id, &locked.job_id).await.expect("job");
        assert_eq!((job.kind, job.max_attempts), (JobKind::DeliverWebhook, 4));

        // A draw's beacon poll dying on its last attempt raises draw.failed,
        // which queues a message to `failures`.
        s.enqueue_job(
            &NewJob {
                kind: JobKind::PollBeacon,
                org_id: org.id.clone(),
                draw_id: Some(b.id.clone()),
                payload: "{}".into(),
                run_at: NOW - 1_000_000,
                max_attempts: 1,
                dedupe_key: None,
            },
            NOW,
        )
        .await
        .expect("enqueue");
        let lease = loop {
            let l = s
                .claim_job("w", NOW, 30_000)
                .await
                .expect("claim")
                .expect("due");
            if l.job.kind == JobKind::PollBeacon {
                break l;
            }
            s.complete_job(&l, NOW, None).await.expect("complete");
        };
        let dead = s
            .fail_job(&lease, "relay down", NOW, &Backoff::default())
            .await
            .expect("fail");
        assert_eq!(dead.state, JobState::Dead);
        let events = s.draw_events(&b.id, 0, 10).await.expect("events");
        assert_eq!(events.last().map(|e| e.kind.as_str()), Some("draw.failed"));
        let ds = s
            .deliveries(&org.id, &failures.id, None, 50)
            .await
            .expect("deliveries");
        assert_eq!(ds.len(), 1);
        assert!(ds[0].payload.contains("relay down"));
        db.cleanup().await;
    }
}
