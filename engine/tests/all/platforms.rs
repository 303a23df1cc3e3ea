//! Lock-time refusals of rules the entries' platforms cannot support
//! (PROTOCOL.md §5.9, issue 8): `require_in` across platforms, a required
//! collection with no entries, `min_followers` / `min_account_age_days` on a
//! platform whose entries never carry the field. `lock` refuses them;
//! `verify` of a bundle locked anyway is unaffected.

use std::collections::BTreeMap;

use fairdraw_engine::draw::{self, DrawError, LockRequest};
use fairdraw_engine::entry::OwnedEntry;
use fairdraw_engine::rules::{RuleError, Rules, check_platforms};
use serde_json::json;

use crate::support::{self, Spec, operator, recommit, reexecute, to_bytes, to_value, verify};

/// An entry of `platform`; `followers` and `account_created_at` only when given.
fn entry(
    platform: &str,
    user: &str,
    text: &str,
    followers: Option<u64>,
    created: Option<&str>,
) -> OwnedEntry {
    let mut v = json!({
        "platform": platform, "user_id": user, "handle": format!("@{user}"),
        "text": text, "created_at": "2023-01-15T10:00:00Z",
    });
    if let Some(f) = followers {
        v["followers"] = json!(f);
    }
    if let Some(c) = created {
        v["account_created_at"] = json!(c);
    }
    fairdraw_engine::entry::deserialize_owned(v).expect("entry")
}

fn rules(json: &str) -> Rules {
    Rules::from_json(json.as_bytes()).expect("rules")
}

fn collections(list: Vec<(&str, Vec<OwnedEntry>)>) -> BTreeMap<String, Vec<OwnedEntry>> {
    list.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Locks with the operator's key and the default drand round of the support
/// module; returns the lock error, if any.
fn lock(rules: &Rules, collections: &BTreeMap<String, Vec<OwnedEntry>>) -> Result<(), DrawError> {
    let spec = Spec::drand();
    let req = LockRequest {
        draw_id: "platforms".into(),
        title: String::new(),
        rules: rules.clone(),
        collections: collections.clone(),
        randomness: spec.declared,
        locked_at: spec.locked_at,
        sequence: None,
    };
    draw::lock(&req, &operator()).map(|_| ())
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn require_in_across_platforms_is_refused_naming_the_platforms() {
    let c = collections(vec![
        (
            "comments",
            vec![
                entry("youtube", "y1", "#win", None, None),
                entry("youtube", "y2", "#win", None, None),
            ],
        ),
        ("likes", vec![entry("mastodon", "m1", "", None, None)]),
    ]);
    let r = rules(r#"{"winners": 1, "require_in": ["likes"]}"#);
    let err = lock(&r, &c).expect_err("refused");
    let DrawError::Rules(rule_err) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        *rule_err,
        RuleError::RequireInAcrossPlatforms {
            collection: "likes".into(),
            primary: "comments".into(),
            platforms: strings(&["youtube"]),
            found: strings(&["mastodon"]),
        }
    );
    let message = err.to_string();
    for part in [
        "rule `require_in`",
        "across platforms",
        "collection `comments` has entries from youtube",
        "`likes` has none from youtube (only from mastodon)",
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
}

#[test]
fn require_in_names_only_the_platforms_missing_from_the_required_collection() {
    let c = collections(vec![
        (
            "comments",
            vec![
                entry("x", "1", "", None, None),
                entry("mastodon", "1", "", None, None),
                entry("youtube", "1", "", None, None),
                entry("bluesky", "did:plc:a", "", None, None),
            ],
        ),
        (
            "likes",
            vec![
                entry("mastodon", "1", "", None, None),
                entry("x", "1", "", None, None),
            ],
        ),
    ]);
    let r = rules(r#"{"winners": 1, "require_in": ["likes"]}"#);
    let err = check_platforms(&r, &c).expect_err("refused");
    assert_eq!(
        err,
        RuleError::RequireInAcrossPlatforms {
            collection: "likes".into(),
            primary: "comments".into(),
            platforms: strings(&["bluesky", "youtube"]),
            found: strings(&["mastodon", "x"]),
        }
    );
    assert!(
        err.to_string()
            .contains("has none from bluesky and youtube (only from mastodon and x)"),
        "{err}"
    );
}

#[test]
fn require_in_on_the_same_platforms_locks() {
    // Every primary platform appears in `likes`, even if not every entrant
    // does: that is an ordinary per-entry exclusion.
    let c = collections(vec![
        (
            "comments",
            vec![
                entry("youtube", "y1", "", None, None),
                entry("mastodon", "m1", "", None, None),
                entry("mastodon", "m2", "", None, None),
            ],
        ),
        (
            "likes",
            vec![
                entry("mastodon", "m1", "", None, None),
                entry("youtube", "y1", "", None, None),
            ],
        ),
    ]);
    let r = rules(r#"{"winners": 2, "require_in": ["likes"]}"#);
    lock(&r, &c).expect("locks");
}

#[test]
fn a_required_collection_with_no_entries_is_refused_naming_the_rule() {
    let r = rules(r#"{"winners": 1, "require_in": ["likes"]}"#);
    let comments = vec![entry("instagram", "i1", "#win", None, None)];
    for c in [
        collections(vec![("comments", comments.clone())]),
        collections(vec![("comments", comments.clone()), ("likes", vec![])]),
    ] {
        let err = lock(&r, &c).expect_err("refused");
        assert!(
            matches!(
                &err,
                DrawError::Rules(RuleError::RequiredCollectionMissing { collection, platforms, .. })
                    if collection == "likes" && *platforms == strings(&["instagram"])
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(
                "rule `require_in` needs collection `likes`, but no entries were given for it"
            ) && message.contains("every entrant of `comments` (from instagram) would be excluded"),
            "{message}"
        );
    }
}

#[test]
fn min_followers_on_a_platform_without_follower_counts_is_refused() {
    let r = rules(r#"{"winners": 1, "min_followers": 10}"#);
    let c = collections(vec![(
        "comments",
        vec![
            entry("youtube", "y1", "", Some(50), None),
            entry("tiktok", "t1", "", None, None),
            entry("tiktok", "t2", "", None, None),
        ],
    )]);
    let err = lock(&r, &c).expect_err("refused");
    let DrawError::Rules(rule_err) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        *rule_err,
        RuleError::UnsupportedByPlatform {
            rule: "min_followers",
            field: "followers",
            collection: "comments".into(),
            platforms: strings(&["tiktok"]),
        }
    );
    let message = err.to_string();
    assert!(
        message.starts_with("rule `min_followers` cannot be applied on tiktok")
            && message.contains(
                "none of the tiktok entries of collection `comments` carries `followers`"
            ),
        "{message}"
    );

    // One entry of the platform with a count is enough: the others are
    // excluded one by one, as PROTOCOL.md §5.5 says.
    let c = collections(vec![(
        "comments",
        vec![
            entry("youtube", "y1", "", Some(50), None),
            entry("tiktok", "t1", "", Some(12), None),
            entry("tiktok", "t2", "", None, None),
        ],
    )]);
    lock(&r, &c).expect("locks");
}

#[test]
fn min_account_age_on_platforms_without_creation_times_is_refused() {
    let r = rules(r#"{"winners": 1, "min_account_age_days": 7}"#);
    let c = collections(vec![(
        "comments",
        vec![
            entry("x", "1", "", Some(3), None),
            entry("instagram", "1", "", None, None),
            entry(
                "bluesky",
                "did:plc:a",
                "",
                None,
                Some("2020-01-01T00:00:00Z"),
            ),
        ],
    )]);
    let err = check_platforms(&r, &c).expect_err("refused");
    assert_eq!(
        err,
        RuleError::UnsupportedByPlatform {
            rule: "min_account_age_days",
            field: "account_created_at",
            collection: "comments".into(),
            platforms: strings(&["instagram", "x"]),
        }
    );
    assert!(
        err.to_string()
            .starts_with("rule `min_account_age_days` cannot be applied on instagram and x"),
        "{err}"
    );
}

#[test]
fn the_support_draw_passes_the_check() {
    assert_eq!(
        check_platforms(&support::rules(), &support::collections()),
        Ok(())
    );
}

#[test]
fn verification_does_not_apply_the_lock_time_refusals() {
    // An organiser's own build could lock without the check. Add a TikTok
    // entry with no keyword and no follower count to a valid bundle: the
    // rules' `require_in` and `min_followers` now cannot be met on TikTok,
    // but the bundle is internally consistent after re-committing and
    // re-executing, and verification (not a lock) accepts it.
    let mut v = to_value(&support::drand_bundle());
    let tiktok = json!({"platform": "tiktok", "user_id": "7100", "handle": "@tok",
        "text": "no keyword", "created_at": "2023-01-15T11:00:00Z"});
    v["collections"]["comments"]
        .as_array_mut()
        .expect("comments")
        .push(tiktok);
    recommit(&mut v, &operator());
    reexecute(&mut v, &operator());
    let bytes = to_bytes(&v);
    let report = verify(&bytes);
    assert!(report.verified(), "{:?}", report.first_failure());

    let mut c = support::collections();
    c.get_mut("comments").expect("comments").push(entry(
        "tiktok",
        "7100",
        "no keyword",
        None,
        None,
    ));
    let err = lock(&support::rules(), &c).expect_err("refused at lock");
    assert!(
        matches!(
            err,
            DrawError::Rules(RuleError::RequireInAcrossPlatforms { .. })
        ),
        "{err:?}"
    );
}
