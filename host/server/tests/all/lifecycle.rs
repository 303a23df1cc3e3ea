use fairdraw_engine::encoding::{Hash32, parse_hex_exact};
use fairdraw_engine::verify::{Expectations, verify_bundle};
use serde_json::{Value, json};

use crate::support::{T0, TestApp, apps};

async fn verify_public_bundle(app: &TestApp, id: &str, lock_hash: &str) {
    let r = app
        .get(&format!("/v1/public/draws/{id}/bundle"), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let etag = r.header("etag").expect("etag").to_owned();
    // The same bytes as stored (byte-identical to what `fairdraw verify` reads).
    let stored = app.db.store.bundle(id).await.expect("stored");
    assert_eq!(r.bytes, stored.bundle);
    let keys = app
        .get("/.well-known/fairdraw-keys.json", None)
        .await
        .json();
    let key = keys["keys"]
        .as_array()
        .and_then(|ks| ks.iter().find(|k| k["organization_id"] == app.org.as_str()))
        .and_then(|k| k["public_key"].as_str())
        .expect("published key")
        .to_owned();
    let report = verify_bundle(
        &r.bytes,
        &Expectations {
            public_key: Some(parse_hex_exact::<32>(&key).expect("hex")),
            lock_hash: Some(Hash32::from_hex(lock_hash).expect("hash")),
            policy: None,
        },
    );
    assert!(
        report.verified(),
        "{}: {:?}",
        app.db.kind,
        report.first_failure()
    );
    // Conditional GET.
    let nm = app
        .send(
            axum::http::Method::GET,
            &format!("/v1/public/draws/{id}/bundle"),
            None,
            &[("if-none-match", &etag)],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(nm.status, 304);
}

#[tokio::test]
async fn commit_reveal_end_to_end() {
    for app in apps("life_commit_reveal").await {
        let k = app.admin.clone();
        let id = app.draft(&k, "secret").await;
        app.upload_readme_entries(&k, &id).await;
        // The same file again adds nothing.
        let again = app
            .post_raw(
                &format!("/v1/draws/{id}/entries"),
                Some(&k),
                "application/x-ndjson",
                crate::support::COMMENTS,
            )
            .await;
        assert_eq!(again.status, 200);
        assert_eq!(again.json()["duplicate"], true);
        let d = app.get(&format!("/v1/draws/{id}"), Some(&k)).await.json();
        assert_eq!(d["entries"], 11);
        app.get(&format!("/v1/public/draws/{id}/lock-receipt"), None)
            .await
            .problem(404);

        let lock = app
            .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
            .await;
        assert_eq!(lock.status, 200, "{}", String::from_utf8_lossy(&lock.bytes));
        let lock = lock.json();
        let lock_hash = lock["lock_hash"].as_str().expect("hash").to_owned();
        assert_eq!(lock["draw"]["state"], "locked");
        assert_eq!(lock["draw"]["eligible"], 3);
        assert!(lock["secret"].as_str().is_some_and(|s| s.len() == 64));

        // Exclusions now show per entry, with keyset pagination.
        let page = app
            .get(
                &format!("/v1/draws/{id}/entries?collection=comments&limit=4"),
                Some(&k),
            )
            .await
            .json();
        assert_eq!(page["rules_applied"], true);
        assert_eq!(page["entries"].as_array().map(Vec::len), Some(4));
        assert_eq!(page["entries"][3]["excluded"]["rule"], "keywords", "{page}");
        let after = page["next_after"].as_i64().expect("more");
        let rest = app
            .get(
                &format!("/v1/draws/{id}/entries?collection=comments&after={after}"),
                Some(&k),
            )
            .await
            .json();
        assert_eq!(rest["entries"].as_array().map(Vec::len), Some(3));
        assert_eq!(rest["next_after"], Value::Null);

        // Public lock receipt and summary.
        let receipt = app
            .get(&format!("/v1/public/draws/{id}/lock-receipt"), None)
            .await;
        assert_eq!(receipt.status, 200);
        let public = app
            .get(&format!("/v1/public/draws/{id}"), None)
            .await
            .json();
        assert_eq!(public["lock_hash"], lock_hash.as_str());
        assert_eq!(public["organization"], "ACME");
        // The rules in plain words, beside the JSON.
        let rules = fairdraw_engine::rules::Rules::from_json(
            crate::support::rules().to_string().as_bytes(),
        )
        .expect("rules");
        assert_eq!(public["rules_in_words"], json!(rules.describe()));
        assert_eq!(public["rules"], crate::support::rules());

        // Execute with the server-kept secret.
        let exec = app
            .post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
            .await;
        assert_eq!(exec.status, 200, "{}", String::from_utf8_lossy(&exec.bytes));
        let exec = exec.json();
        assert_eq!(exec["draw"]["state"], "executed");
        assert_eq!(exec["winners"].as_array().map(Vec::len), Some(1));
        verify_public_bundle(&app, &id, &lock_hash).await;

        // Entrant look-ups.
        let alice = app
            .get(&format!("/v1/public/draws/{id}/entrants/@alice"), None)
            .await
            .json();
        assert_eq!(alice["status"], "eligible", "{alice}");
        let dave = app
            .get(&format!("/v1/public/draws/{id}/entrants/dave"), None)
            .await
            .json();
        assert_eq!(dave["status"], "excluded", "{dave}");
        let nobody = app
            .get(&format!("/v1/public/draws/{id}/entrants/@zed"), None)
            .await
            .json();
        assert_eq!(nobody["status"], "no_entry");
        app.cleanup().await;
    }
}

/// The latest recorded beacon of the chain whose latest round is the most
/// recent (quicknet round 123, 2023-08-23): the README's entries are all
/// dated before it, and protocol 2 refuses to lock entries dated after the
/// lock.
fn fixture_beacon() -> (String, Value) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../engine/tests/vectors/drand_beacons.json"
    ))
    .expect("fixture");
    let v: Value = serde_json::from_str(&text).expect("json");
    let (chain, mut b) = v["chains"]
        .as_object()
        .expect("chains")
        .iter()
        .filter_map(|(name, c)| {
            let last = c["beacons"].as_array()?.last()?.clone();
            let chain = fairdraw_engine::randomness::drand::chain(name)?;
            let due = chain.round_time(last["round"].as_u64()?).unix();
            Some((due, name.clone(), last))
        })
        .max_by_key(|(due, ..)| *due)
        .map(|(_, name, last)| (name, last))
        .expect("a chain with beacons");
    if let Some(o) = b.as_object_mut() {
        o.retain(|k, _| !k.starts_with('_'));
    }
    (chain, b)
}

#[tokio::test]
async fn drand_end_to_end_with_a_real_beacon() {
    let (chain_name, beacon) = fixture_beacon();
    let round = beacon["round"].as_u64().expect("round");
    let chain = fairdraw_engine::randomness::drand::chain(&chain_name).expect("known chain");
    let due = chain.round_time(round).unix() * 1000;
    for app in apps("life_drand").await {
        let k = app.admin.clone();
        let id = app.draft(&k, &format!("drand:{chain_name}:{round}")).await;
        app.upload_readme_entries(&k, &id).await;
        app.set_time(due - 120_000);
        let lock = app
            .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
            .await;
        assert_eq!(lock.status, 200, "{}", String::from_utf8_lossy(&lock.bytes));
        let lock_hash = lock.json()["lock_hash"].as_str().expect("hash").to_owned();
        let public = app
            .get(&format!("/v1/public/draws/{id}"), None)
            .await
            .json();
        assert_eq!(public["round"], round);
        // Before the round: 409 with Retry-After.
        let early = app
            .post_json(
                &format!("/v1/draws/{id}/execute"),
                Some(&k),
                &json!({"beacon": beacon}),
            )
            .await;
        early.problem(409);
        assert!(early.header("retry-after").is_some());
        app.set_time(due + 10_000);
        // Without a beacon and without a beacon plugin (tests/all/beacon.rs
        // has the plugin): 503 naming the `beacon` field to send.
        let p = app
            .post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
            .await
            .problem(503);
        assert_eq!(p["type"], "urn:fairdraw:problem:beacon-unavailable");
        assert!(p["detail"].as_str().is_some_and(|d| d.contains("`beacon`")));
        // A tampered beacon is refused by field.
        let mut bad = beacon.clone();
        bad["signature"] = json!("00".repeat(96));
        app.post_json(
            &format!("/v1/draws/{id}/execute"),
            Some(&k),
            &json!({"beacon": bad}),
        )
        .await
        .problem(422);
        let exec = app
            .post_json(
                &format!("/v1/draws/{id}/execute"),
                Some(&k),
                &json!({"beacon": beacon}),
            )
            .await;
        assert_eq!(exec.status, 200, "{}", String::from_utf8_lossy(&exec.bytes));
        verify_public_bundle(&app, &id, &lock_hash).await;
        app.cleanup().await;
    }
    let _ = T0;
}

#[tokio::test]
async fn drand_default_declares_a_round_at_least_60s_ahead() {
    for app in apps("life_drand_margin").await {
        let k = app.admin.clone();
        let id = app.draft(&k, "drand:quicknet").await;
        app.upload_readme_entries(&k, &id).await;
        let lock = app
            .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
            .await
            .json();
        let at = lock["draw"]["randomness_available_at"]
            .as_str()
            .expect("time");
        let at = fairdraw_engine::time::Timestamp::parse_rfc3339(at).expect("rfc3339");
        assert!(at.unix() * 1000 >= T0 + 60_000, "{}", app.db.kind);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn rotation_keeps_old_bundles_verifiable() {
    for app in apps("life_rotation").await {
        let k = app.admin.clone();
        let id = app.draft(&k, "secret").await;
        app.upload_readme_entries(&k, &id).await;
        let lock_hash = app
            .post_json(&format!("/v1/draws/{id}/lock"), Some(&k), &json!({}))
            .await
            .json()["lock_hash"]
            .as_str()
            .expect("hash")
            .to_owned();
        let r = app
            .post_json("/v1/signing-key/rotate", Some(&k), &json!({}))
            .await;
        assert_eq!(r.status, 200);
        // Executed with the key that signed the lock, which is now retired.
        let exec = app
            .post_json(&format!("/v1/draws/{id}/execute"), Some(&k), &json!({}))
            .await;
        assert_eq!(exec.status, 200, "{}", String::from_utf8_lossy(&exec.bytes));
        let keys = app
            .get("/.well-known/fairdraw-keys.json", None)
            .await
            .json();
        let mine: Vec<&Value> = keys["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter(|k| k["organization_id"] == app.org.as_str())
            .collect();
        assert_eq!(mine.len(), 2);
        assert!(mine[0]["valid_until"].is_string());
        let bundle = app
            .get(&format!("/v1/public/draws/{id}/bundle"), None)
            .await;
        let old_key = mine[0]["public_key"].as_str().expect("key");
        let report = verify_bundle(
            &bundle.bytes,
            &Expectations {
                public_key: Some(parse_hex_exact::<32>(old_key).expect("hex")),
                lock_hash: Some(Hash32::from_hex(&lock_hash).expect("h")),
                policy: None,
            },
        );
        assert!(report.verified());
        app.cleanup().await;
    }
}

/// Each organisation numbers its locks from 1, gap-free, in the signed lock
/// receipt: a second draw of one organisation is 2, another organisation's
/// first is 1.
#[tokio::test]
async fn locks_carry_the_organisations_draw_sequence_number() {
    for app in apps("life_sequence").await {
        let k = app.admin.clone();
        let (_, other) = app.org("Other").await;
        let mut numbers = Vec::new();
        for key in [&k, &k, &other] {
            let id = app.draft(key, "secret").await;
            app.upload_readme_entries(key, &id).await;
            let lock = app
                .post_json(&format!("/v1/draws/{id}/lock"), Some(key), &json!({}))
                .await;
            assert_eq!(lock.status, 200, "{}", String::from_utf8_lossy(&lock.bytes));
            let file = app
                .get(&format!("/v1/public/draws/{id}/lock-receipt"), None)
                .await
                .json();
            numbers.push(file["lock"]["payload"]["sequence"].clone());
        }
        assert_eq!(numbers, [json!(1), json!(2), json!(1)]);
        app.cleanup().await;
    }
}
