use fairdraw_store::{IDEMPOTENCY_TTL_MS, IdempotencyClaim, testing};

use crate::NOW;

#[tokio::test]
async fn claim_replay_mismatch_expiry_and_release() {
    for db in testing::all("idem_basic").await {
        let s = &db.store;
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        assert_eq!(
            s.idempotency_claim(&org.id, "k", "r1", NOW)
                .await
                .expect("c"),
            IdempotencyClaim::Claimed
        );
        assert_eq!(
            s.idempotency_claim(&org.id, "k", "r1", NOW)
                .await
                .expect("c"),
            IdempotencyClaim::InProgress
        );
        s.idempotency_complete(&org.id, "k", 201, Some("application/json"), b"{}")
            .await
            .expect("done");
        assert_eq!(
            s.idempotency_claim(&org.id, "k", "r1", NOW + 1)
                .await
                .expect("c"),
            IdempotencyClaim::Replay {
                status: 201,
                content_type: Some("application/json".into()),
                body: b"{}".to_vec()
            }
        );
        assert_eq!(
            s.idempotency_claim(&org.id, "k", "r2", NOW + 1)
                .await
                .expect("c"),
            IdempotencyClaim::Mismatch
        );
        // After 24 h the key is new again.
        assert_eq!(
            s.idempotency_claim(&org.id, "k", "r2", NOW + IDEMPOTENCY_TTL_MS)
                .await
                .expect("c"),
            IdempotencyClaim::Claimed
        );
        // A released claim (5xx) can be retried.
        s.idempotency_release(&org.id, "k").await.expect("release");
        assert_eq!(
            s.idempotency_claim(&org.id, "k", "r3", NOW + IDEMPOTENCY_TTL_MS)
                .await
                .expect("c"),
            IdempotencyClaim::Claimed
        );
        // Keys are per organisation.
        let (other, _) = s.create_org("Other", NOW).await.expect("org");
        assert_eq!(
            s.idempotency_claim(&other.id, "k", "r1", NOW)
                .await
                .expect("c"),
            IdempotencyClaim::Claimed
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_claims_have_one_winner() {
    for db in testing::all("idem_race").await {
        let (org, _) = db.store.create_org("ACME", NOW).await.expect("org");
        let mut tasks = Vec::new();
        for _ in 0..30 {
            let (s, org) = (db.store.clone(), org.id.clone());
            tasks.push(tokio::spawn(async move {
                s.idempotency_claim(&org, "same", "r", NOW).await
            }));
        }
        let mut claimed = 0;
        for t in tasks {
            if t.await.expect("join").expect("claim") == IdempotencyClaim::Claimed {
                claimed += 1;
            }
        }
        assert_eq!(claimed, 1, "{}", db.kind);
        db.cleanup().await;
    }
}

/// A replayed response may hold a secret shown once (an API key, a webhook
/// secret): it is stored encrypted under the master key, never as written.
#[tokio::test]
async fn stored_responses_are_encrypted_at_rest() {
    for db in testing::all("idem_sealed").await {
        let s = &db.store;
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let body = br#"{"secret": "whsec_c2VjcmV0IHNob3duIG9uY2U="}"#;
        assert_eq!(
            s.idempotency_claim(&org.id, "k", "r1", NOW)
                .await
                .expect("c"),
            IdempotencyClaim::Claimed
        );
        s.idempotency_complete(&org.id, "k", 201, Some("application/json"), body)
            .await
            .expect("done");
        let stored: Vec<Vec<u8>> = match s.db() {
            fairdraw_store::Db::Sqlite(p) => {
                sqlx::query_scalar("SELECT response FROM idempotency_keys")
                    .fetch_all(p)
                    .await
            }
            fairdraw_store::Db::Postgres(p) => {
                sqlx::query_scalar("SELECT response FROM idempotency_keys")
                    .fetch_all(p)
                    .await
            }
        }
        .expect("responses");
        assert_eq!(stored.len(), 1);
        assert!(
            !stored[0].windows(6).any(|w| w == b"whsec_"),
            "the secret is stored in clear"
        );
        assert_eq!(
            s.idempotency_claim(&org.id, "k", "r1", NOW + 1)
                .await
                .expect("c"),
            IdempotencyClaim::Replay {
                status: 201,
                content_type: Some("application/json".into()),
                body: body.to_vec()
            }
        );
    }
}
