//! `fairdraw serve --dev --demo`: the demo is made offline on the first
//! start, found again on the next one, and its public bundle verifies.

use fairdraw_engine::encoding::{Hash32, parse_hex_exact};
use fairdraw_engine::verify::{Expectations, verify_bundle};
use fairdraw_server::demo::{self, DEMO_ORG, DEMO_TITLE};

use crate::support::apps;

#[tokio::test]
async fn demo_is_made_once_and_verifies() {
    for app in apps("demo_once").await {
        let first = demo::ensure(&app.state).await.expect("first start");
        assert!(first.created);
        assert_eq!(first.org.name, DEMO_ORG);

        // The printed key works; the summary shows the rules in words.
        let d = app
            .get(
                &format!("/v1/draws/{}", first.draw_id),
                Some(&first.api_key),
            )
            .await
            .json();
        assert_eq!(d["state"], "executed", "{d}");
        assert_eq!(d["title"], DEMO_TITLE);
        assert_eq!(d["randomness"], "drand:default:2634945");
        let summary = app
            .get(&format!("/v1/public/draws/{}", first.draw_id), None)
            .await
            .json();
        assert_eq!(summary["round"], 2634945);
        assert_eq!(summary["locked_at"], "2023-01-23T13:00:00Z");
        assert!(
            summary["rules_in_words"]
                .as_array()
                .is_some_and(|l| l.len() > 5),
            "{summary}"
        );

        // Every printed URL answers.
        for (label, url) in first.urls("http://example.test") {
            let path = url.strip_prefix("http://example.test").expect("base");
            let r = app.get(path, None).await;
            assert_eq!(
                r.status,
                200,
                "{label} {path}: {}",
                String::from_utf8_lossy(&r.bytes)
            );
        }
        let entrant = app
            .get(
                &format!(
                    "/v1/public/draws/{}/entrants/{}",
                    first.draw_id, first.entrant
                ),
                None,
            )
            .await
            .json();
        assert_eq!(entrant["status"], "eligible", "{entrant}");

        // The bundle verifies, pinned to the published key and the lock hash.
        let bundle = app
            .get(&format!("/v1/public/draws/{}/bundle", first.draw_id), None)
            .await;
        let keys = app
            .get("/.well-known/fairdraw-keys.json", None)
            .await
            .json();
        let key = keys["keys"]
            .as_array()
            .and_then(|ks| {
                ks.iter()
                    .find(|k| k["organization_id"] == first.org.id.as_str())
            })
            .and_then(|k| k["public_key"].as_str())
            .expect("published key")
            .to_owned();
        let report = verify_bundle(
            &bundle.bytes,
            &Expectations {
                public_key: Some(parse_hex_exact::<32>(&key).expect("hex")),
                lock_hash: Some(Hash32::from_hex(&first.lock_hash).expect("hash")),
                policy: None,
            },
        );
        assert!(
            report.verified(),
            "{}: {:?}",
            app.db.kind,
            report.first_failure()
        );

        // A second start finds the same draw, prints a fresh key and
        // revokes the first.
        let second = demo::ensure(&app.state).await.expect("second start");
        assert!(!second.created);
        assert_eq!(
            (&second.org.id, &second.draw_id, &second.lock_hash),
            (&first.org.id, &first.draw_id, &first.lock_hash)
        );
        assert_ne!(second.api_key, first.api_key);
        app.get("/v1/draws", Some(&first.api_key))
            .await
            .problem(401);
        assert_eq!(
            app.get("/v1/draws", Some(&second.api_key)).await.status,
            200
        );
        assert_eq!(
            app.db.store.orgs_named(DEMO_ORG).await.expect("orgs").len(),
            1
        );
        let draws = app.get("/v1/draws", Some(&second.api_key)).await.json();
        assert_eq!(draws["draws"].as_array().map(Vec::len), Some(1), "{draws}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_demo_stopped_half_way_is_carried_on() {
    for app in apps("demo_half_way").await {
        // An earlier start created the organisation and a draft, then stopped.
        let (org, _) = app
            .db
            .store
            .create_org(DEMO_ORG, demo::ORG_AT)
            .await
            .expect("org");
        let draft = app
            .db
            .store
            .create_draw(
                &fairdraw_store::NewDraw {
                    org_id: org.id.clone(),
                    title: DEMO_TITLE.to_owned(),
                    rules: r##"{"winners": 1}"##.to_owned(),
                    randomness: demo::DEMO_RANDOMNESS.to_owned(),
                },
                demo::LOCK_AT,
            )
            .await
            .expect("draft");
        let d = demo::ensure(&app.state).await.expect("carried on");
        assert_eq!(
            (d.org.id.as_str(), d.draw_id.as_str()),
            (org.id.as_str(), draft.id.as_str())
        );
        assert!(!d.created);
        let got = app.db.store.draw(&org.id, &draft.id).await.expect("draw");
        assert_eq!(got.state, fairdraw_store::DrawState::Executed);
        app.cleanup().await;
    }
}
