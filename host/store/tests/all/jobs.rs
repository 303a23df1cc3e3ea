//! The job queue: claim and lease, expiry takeover, fencing of a late
//! worker, backoff, the dead state and retry, and many workers racing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fairdraw_store::{Backoff, JobFilter, JobKind, JobState, NewJob, Store, StoreError, testing};

use crate::NOW;

const LEASE: i64 = 30_000;

fn job(org: &str, run_at: i64, max_attempts: i64, dedupe: Option<&str>) -> NewJob {
    NewJob {
        kind: JobKind::PollBeacon,
        org_id: org.to_owned(),
        draw_id: None,
        payload: r#"{"n":1}"#.into(),
        run_at,
        max_attempts,
        dedupe_key: dedupe.map(str::to_owned),
    }
}

async fn org(s: &Store) -> String {
    s.create_org("ACME", NOW).await.expect("org").0.id
}

#[tokio::test]
async fn a_job_is_claimed_once_when_due_and_completed_with_its_lease() {
    for db in testing::all("jobs_claim").await {
        let s = db.store.clone();
        let org = org(&s).await;
        let queued = s
            .enqueue_job(&job(&org, NOW + 1_000, 3, Some("k1")), NOW)
            .await
            .expect("enqueue");
        assert_eq!(queued.state, JobState::Queued);
        // The same dedupe key: the first job, nothing new.
        let again = s
            .enqueue_job(&job(&org, NOW, 3, Some("k1")), NOW)
            .await
            .expect("enqueue again");
        assert_eq!(again.id, queued.id);
        assert_eq!(again.run_at, NOW + 1_000);

        assert!(
            s.claim_job("w1", NOW, LEASE)
                .await
                .expect("claim")
                .is_none(),
            "not due"
        );
        let lease = s
            .claim_job("w1", NOW + 1_000, LEASE)
            .await
            .expect("claim")
            .expect("due");
        assert_eq!(lease.job.id, queued.id);
        assert_eq!(lease.job.state, JobState::Running);
        assert_eq!(lease.job.attempts, 1);
        assert_eq!(lease.job.locked_by.as_deref(), Some("w1"));
        assert_eq!(lease.job.locked_until, Some(NOW + 1_000 + LEASE));
        // Held: nobody else gets it while the lease lasts.
        assert!(
            s.claim_job("w2", NOW + 2_000, LEASE)
                .await
                .expect("claim")
                .is_none()
        );
        let extended = s
            .extend_lease(&lease, NOW + 100_000, NOW + 2_000)
            .await
            .expect("extend");
        assert_eq!(extended.locked_until, Some(NOW + 100_000));
        assert!(
            s.claim_job("w2", NOW + 50_000, LEASE)
                .await
                .expect("claim")
                .is_none()
        );

        // Completing queues the follow-up in the same transaction.
        let next = NewJob {
            kind: JobKind::ExecuteDraw,
            ..job(&org, NOW + 3_000, 3, Some("k2"))
        };
        let done = s
            .complete_job(&lease, NOW + 3_000, Some(&next))
            .await
            .expect("complete");
        assert_eq!(done.state, JobState::Done);
        assert_eq!(done.finished_at, Some(NOW + 3_000));
        let follow = s
            .claim_job("w2", NOW + 3_000, LEASE)
            .await
            .expect("claim")
            .expect("the follow-up");
        assert_eq!(follow.job.kind, JobKind::ExecuteDraw);
        // A completed job cannot be completed again with its old lease.
        assert!(matches!(
            s.complete_job(&lease, NOW + 4_000, None).await,
            Err(StoreError::LeaseLost)
        ));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_late_worker_is_fenced_out() {
    for db in testing::all("jobs_takeover").await {
        let s = db.store.clone();
        let org = org(&s).await;
        s.enqueue_job(&job(&org, NOW, 5, None), NOW)
            .await
            .expect("enqueue");
        let first = s
            .claim_job("w1", NOW, 1_000)
            .await
            .expect("claim")
            .expect("due");
        // w1 stalls; its lease ends at NOW + 1000.
        assert!(
            s.claim_job("w2", NOW + 999, 1_000)
                .await
                .expect("claim")
                .is_none()
        );
        let second = s
            .claim_job("w2", NOW + 1_000, LEASE)
            .await
            .expect("claim")
            .expect("expired lease");
        assert_eq!(second.job.id, first.job.id);
        assert_eq!(second.job.attempts, 2);
        assert_ne!(second.token, first.token);
        // Every write of the late worker is refused.
        assert!(matches!(
            s.complete_job(&first, NOW + 1_500, None).await,
            Err(StoreError::LeaseLost)
        ));
        assert!(matches!(
            s.fail_job(&first, "late", NOW + 1_500, &Backoff::default())
                .await,
            Err(StoreError::LeaseLost)
        ));
        assert!(matches!(
            s.extend_lease(&first, NOW + 90_000, NOW + 1_500).await,
            Err(StoreError::LeaseLost)
        ));
        assert!(matches!(
            s.release_job(&first, NOW + 1_500).await,
            Err(StoreError::LeaseLost)
        ));
        let current = s.job(&org, &first.job.id).await.expect("job");
        assert_eq!(current.state, JobState::Running);
        assert_eq!(current.locked_by.as_deref(), Some("w2"));
        s.complete_job(&second, NOW + 2_000, None)
            .await
            .expect("w2 completes");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn failures_back_off_then_the_job_is_dead_with_its_error_until_retried() {
    for db in testing::all("jobs_dead").await {
        let s = db.store.clone();
        let org = org(&s).await;
        let backoff = Backoff {
            base_ms: 10_000,
            max_ms: 60_000,
        };
        let j = s
            .enqueue_job(&job(&org, NOW, 2, None), NOW)
            .await
            .expect("enqueue");
        let l = s
            .claim_job("w", NOW, LEASE)
            .await
            .expect("claim")
            .expect("due");
        let failed = s
            .fail_job(&l, "relay down", NOW, &backoff)
            .await
            .expect("fail");
        assert_eq!(failed.state, JobState::Queued);
        assert_eq!(failed.last_error.as_deref(), Some("relay down"));
        assert!(
            (NOW + 5_000..=NOW + 10_000).contains(&failed.run_at),
            "first retry within [base/2, base]: {}",
            failed.run_at - NOW
        );
        assert!(
            s.claim_job("w", failed.run_at - 1, LEASE)
                .await
                .expect("claim")
                .is_none()
        );
        let l = s
            .claim_job("w", failed.run_at, LEASE)
            .await
            .expect("claim")
            .expect("retry due");
        assert_eq!(l.job.attempts, 2);
        let dead = s
            .fail_job(&l, "relay still down", NOW + 20_000, &backoff)
            .await
            .expect("fail");
        assert_eq!(dead.state, JobState::Dead);
        assert_eq!(dead.last_error.as_deref(), Some("relay still down"));
        assert_eq!(dead.finished_at, Some(NOW + 20_000));
        assert!(
            s.claim_job("w", NOW + 10_000_000, LEASE)
                .await
                .expect("claim")
                .is_none()
        );

        let listed = s
            .jobs(
                &org,
                &JobFilter {
                    state: Some(JobState::Dead),
                    after: None,
                    limit: 10,
                },
            )
            .await
            .expect("list");
        assert_eq!(
            listed.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
            [j.id.as_str()]
        );
        assert!(
            s.jobs(
                &org,
                &JobFilter {
                    state: Some(JobState::Queued),
                    after: None,
                    limit: 10
                }
            )
            .await
            .expect("list")
            .is_empty()
        );
        // Another organisation sees nothing of it.
        let other = s.create_org("Other", NOW).await.expect("org").0.id;
        assert!(matches!(
            s.job(&other, &j.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.retry_job(&other, &j.id, NOW).await,
            Err(StoreError::NotFound(_))
        ));

        let retried = s.retry_job(&org, &j.id, NOW + 30_000).await.expect("retry");
        assert_eq!(retried.state, JobState::Queued);
        assert_eq!(retried.attempts, 0);
        assert_eq!(retried.run_at, NOW + 30_000);
        assert_eq!(
            retried.last_error.as_deref(),
            Some("relay still down"),
            "kept until the next attempt"
        );
        assert!(matches!(
            s.retry_job(&org, &j.id, NOW + 30_000).await,
            Err(StoreError::JobState(JobState::Queued))
        ));
        let l = s
            .claim_job("w", NOW + 30_000, LEASE)
            .await
            .expect("claim")
            .expect("due");
        assert_eq!(l.job.attempts, 1);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn snooze_and_release_do_not_count_and_a_lease_dying_on_the_last_attempt_is_dead() {
    for db in testing::all("jobs_snooze").await {
        let s = db.store.clone();
        let org = org(&s).await;
        let j = s
            .enqueue_job(&job(&org, NOW, 1, None), NOW)
            .await
            .expect("enqueue");
        let l = s
            .claim_job("w", NOW, LEASE)
            .await
            .expect("claim")
            .expect("due");
        let snoozed = s
            .snooze_job(&l, NOW + 5_000, "round not published yet", NOW)
            .await
            .expect("snooze");
        assert_eq!(
            (snoozed.state, snoozed.attempts, snoozed.run_at),
            (JobState::Queued, 0, NOW + 5_000)
        );
        let l = s
            .claim_job("w", NOW + 5_000, LEASE)
            .await
            .expect("claim")
            .expect("due");
        let released = s.release_job(&l, NOW + 6_000).await.expect("release");
        assert_eq!((released.state, released.attempts), (JobState::Queued, 0));
        // Its only attempt: the worker dies holding it.
        let l = s
            .claim_job("w", NOW + 6_000, 1_000)
            .await
            .expect("claim")
            .expect("due");
        assert_eq!(l.job.attempts, 1);
        assert!(
            s.claim_job("w2", NOW + 7_000, LEASE)
                .await
                .expect("claim")
                .is_none()
        );
        let dead = s.job(&org, &j.id).await.expect("job");
        assert_eq!(dead.state, JobState::Dead);
        assert!(
            dead.last_error
                .as_deref()
                .unwrap_or_default()
                .contains("lease"),
            "{dead:?}"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn racing_workers_complete_every_job_exactly_once() {
    const JOBS: usize = 200;
    const WORKERS: usize = 4;
    for db in testing::all("jobs_race").await {
        let s = db.store.clone();
        let org = org(&s).await;
        for _ in 0..JOBS {
            s.enqueue_job(&job(&org, NOW, 3, None), NOW)
                .await
                .expect("enqueue");
        }
        let done: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let mut tasks = Vec::new();
        for w in 0..WORKERS {
            let (s, done) = (s.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let name = format!("w{w}");
                while let Some(l) = s.claim_job(&name, NOW, LEASE).await.expect("claim") {
                    s.complete_job(&l, NOW, None).await.expect("complete");
                    *done
                        .lock()
                        .expect("lock")
                        .entry(l.job.id.clone())
                        .or_default() += 1;
                }
            }));
        }
        for t in tasks {
            t.await.expect("worker");
        }
        let done = done.lock().expect("lock").clone();
        assert_eq!(done.len(), JOBS, "{}", db.kind);
        assert!(
            done.values().all(|&n| n == 1),
            "{}: a job ran twice",
            db.kind
        );
        let all = s
            .jobs(
                &org,
                &JobFilter {
                    state: Some(JobState::Done),
                    after: None,
                    limit: 1_000,
                },
            )
            .await
            .expect("list");
        assert_eq!(all.len(), JOBS);
        assert!(all.iter().all(|j| j.attempts == 1));
        db.cleanup().await;
    }
}
