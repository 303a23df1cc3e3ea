use fairdraw_engine::receipt::{Sign, key_id};
use fairdraw_store::{MasterKey, Scope, Store, StoreError, testing};

use crate::NOW;

#[tokio::test]
async fn api_keys_are_hashed_scoped_and_revocable() {
    for db in testing::all("keys_api").await {
        let s = &db.store;
        let (org, admin) = s.create_org("ACME", NOW).await.expect("org");
        assert!(admin.secret.starts_with("fdk_") && admin.secret.len() == 68);
        assert_eq!(admin.key.scope, Scope::Admin);
        let read = s
            .create_api_key(&org.id, Scope::Read, "ci", NOW)
            .await
            .expect("key");
        let got = s
            .authenticate(&read.secret)
            .await
            .expect("auth")
            .expect("live");
        assert_eq!(
            (got.scope, got.org_id.as_str()),
            (Scope::Read, org.id.as_str())
        );
        assert!(s.authenticate("fdk_wrong").await.expect("auth").is_none());
        // Only the hash is stored: the secret appears nowhere in the table.
        let stored: Vec<Vec<u8>> = match s.db() {
            fairdraw_store::Db::Sqlite(p) => {
                sqlx::query_scalar("SELECT key_hash FROM api_keys")
                    .fetch_all(p)
                    .await
            }
            fairdraw_store::Db::Postgres(p) => {
                sqlx::query_scalar("SELECT key_hash FROM api_keys")
                    .fetch_all(p)
                    .await
            }
        }
        .expect("hashes");
        assert!(stored.iter().all(|h| {
            h.len() == 32
                && !h
                    .windows(8)
                    .any(|w| read.secret.as_bytes().windows(8).any(|x| x == w))
        }));
        // Another organisation cannot revoke it; the operator can.
        let (other, _) = s.create_org("Other", NOW).await.expect("org");
        assert!(matches!(
            s.revoke_api_key(Some(&other.id), &read.key.id, NOW).await,
            Err(StoreError::NotFound(_))
        ));
        let revoked = s
            .revoke_api_key(Some(&org.id), &read.key.id, NOW + 1)
            .await
            .expect("revoke");
        assert_eq!(revoked.revoked_at, Some(NOW + 1));
        assert!(
            s.authenticate(&read.secret).await.expect("auth").is_none(),
            "{}: revoked key refused",
            db.kind
        );
        assert_eq!(s.api_keys(&org.id).await.expect("list").len(), 2);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn signing_keys_are_encrypted_rotated_and_stay_published() {
    for db in testing::all("keys_signing").await {
        let s = &db.store;
        let (org, _) = s.create_org("ACME", NOW).await.expect("org");
        let first = s.active_signer(&org.id).await.expect("signer");
        let sig = first.sign_message(b"hello").expect("sign");
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&first.public_key()).expect("key");
        vk.verify_strict(b"hello", &ed25519_dalek::Signature::from_bytes(&sig))
            .expect("verifies");
        assert_eq!(first.info().key_id, key_id(&first.public_key()).to_string());

        let second = s
            .rotate_signing_key(&org.id, NOW + 10)
            .await
            .expect("rotate");
        assert_ne!(second.key_id, first.info().key_id);
        let published = s.published_keys().await.expect("published");
        let mine: Vec<_> = published
            .iter()
            .filter(|(_, k)| k.org_id == org.id)
            .collect();
        assert_eq!(
            mine.len(),
            2,
            "{}: the retired key stays published",
            db.kind
        );
        assert_eq!(mine[0].1.valid_until, Some(NOW + 10));
        assert_eq!(mine[1].1.valid_until, None);
        // The retired key still signs (executions of draws it locked).
        s.signer(&org.id, &first.info().key_id)
            .await
            .expect("retired")
            .sign_message(b"x")
            .expect("sign");

        // Under another master key the secrets do not decrypt.
        let mut opts = db.options.clone();
        opts.master_key = MasterKey::from_hex(&"11".repeat(32)).expect("hex");
        let wrong = Store::open(&opts).await.expect("open");
        let err = wrong
            .active_signer(&org.id)
            .await
            .expect("row")
            .sign_message(b"x");
        assert!(err.is_err(), "{}: wrong master key cannot sign", db.kind);
        wrong.close().await;
        db.cleanup().await;
    }
}

#[test]
fn master_key_must_be_64_hex_characters() {
    assert!(MasterKey::from_hex("abc").is_err());
    assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
    assert!(MasterKey::from_hex(&format!(" {} ", "ab".repeat(32))).is_ok());
}

#[tokio::test]
async fn organisations_are_found_by_exact_name_oldest_first() {
    for db in testing::all("keys_orgs_named").await {
        let s = &db.store;
        assert!(s.orgs_named("demo").await.expect("query").is_empty());
        let (second, _) = s.create_org("demo", NOW + 5).await.expect("org");
        let (first, _) = s.create_org("demo", NOW).await.expect("org");
        s.create_org("Demo", NOW).await.expect("org");
        s.create_org("demo ", NOW).await.expect("org");
        let found: Vec<String> = s
            .orgs_named("demo")
            .await
            .expect("query")
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(found, [first.id, second.id], "{}", db.kind);
        db.cleanup().await;
    }
}
