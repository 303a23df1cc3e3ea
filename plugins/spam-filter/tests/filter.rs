//! The spam filter on batches of entries, through the same path the
//! component's `check` takes (configuration JSON in, one verdict per entry
//! out).

use fairdraw_plugin_sdk::testing::check_filter as run_filter;
use fairdraw_plugin_sdk::{Entry, Verdict};
use spam_filter::SpamFilter;

fn entry(user: &str, text: &str) -> Entry {
    Entry {
        platform: "youtube".into(),
        user_id: user.into(),
        handle: format!("@{user}"),
        text: text.into(),
        created_at: "2024-05-24T10:00:00Z".into(),
        ..Entry::default()
    }
}

fn aged(user: &str, account_created_at: &str) -> Entry {
    Entry {
        account_created_at: Some(account_created_at.into()),
        ..entry(user, "I'd love to win")
    }
}

fn excluded(verdicts: &[Verdict]) -> Vec<usize> {
    verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| matches!(v, Verdict::Exclude(_)))
        .map(|(i, _)| i)
        .collect()
}

fn reason(v: &Verdict) -> &str {
    match v {
        Verdict::Exclude(reason) => reason,
        Verdict::Keep => "",
    }
}

#[test]
fn the_same_text_from_three_accounts_is_excluded() {
    let batch = [
        entry("a", "Win this for @friend!"),
        entry("b", "win this for @FRIEND"),
        entry("c", "Great video, count me in"),
        entry("d", "WIN   this for friend!!!"),
        entry("a", "win this for friend"), // the same account again: still 3 accounts
        entry("e", "great video count me in"),
    ];
    let verdicts = run_filter::<SpamFilter>(&batch, "").expect("default config");
    assert_eq!(excluded(&verdicts), [0, 1, 3, 4]);
    assert_eq!(
        reason(&verdicts[0]),
        "the same comment came from 3 accounts (at most 2 allowed)"
    );
    // Two accounts stay under the default threshold of 3.
    assert_eq!(verdicts[2], Verdict::Keep);
    assert_eq!(verdicts[5], Verdict::Keep);
    let strict =
        run_filter::<SpamFilter>(&batch, r#"{"duplicate_text_accounts": 2}"#).expect("config");
    assert_eq!(excluded(&strict), [0, 1, 2, 3, 4, 5]);
    let off =
        run_filter::<SpamFilter>(&batch, r#"{"duplicate_text_accounts": 0}"#).expect("config");
    assert!(excluded(&off).is_empty());
}

#[test]
fn one_account_repeating_itself_is_not_a_ring() {
    let batch: Vec<Entry> = (0..10).map(|_| entry("same", "pick me")).collect();
    assert!(excluded(&run_filter::<SpamFilter>(&batch, "{}").expect("ok")).is_empty());
    // The same user id on another platform is another account.
    let mut batch = vec![
        entry("u1", "pick me"),
        entry("u1", "pick me"),
        entry("u1", "pick me"),
    ];
    batch[1].platform = "mastodon".into();
    batch[2].platform = "bluesky".into();
    assert_eq!(
        excluded(&run_filter::<SpamFilter>(&batch, "{}").expect("ok")),
        [0, 1, 2]
    );
}

#[test]
fn emoji_and_punctuation_only_comments() {
    let batch = [
        entry("a", "🔥🔥🔥"),
        entry("b", "!!!"),
        entry("c", "🔥 10/10"),
        entry("d", "❤️"),
        entry("e", ""),
    ];
    let verdicts = run_filter::<SpamFilter>(&batch, "").expect("ok");
    assert_eq!(
        excluded(&verdicts),
        [0, 1, 3],
        "an empty text (a like) is not a comment"
    );
    assert_eq!(
        reason(&verdicts[0]),
        "the comment is only emoji or punctuation"
    );
    let off = run_filter::<SpamFilter>(&batch, r#"{"emoji_only": false}"#).expect("ok");
    assert!(excluded(&off).is_empty());
}

#[test]
fn young_accounts_when_the_platform_says() {
    let batch = [
        aged("old", "2020-01-01T00:00:00Z"),
        aged("new", "2024-05-20T10:00:00.5Z"), // 3 days 23:59:59.5 before the entry
        aged("edge", "2024-05-17T10:00:00Z"),  // exactly 7 days
        entry("unknown", "I'd love to win"),   // no creation time: kept
        aged("future", "2024-06-01T00:00:00Z"),
        aged("garbled", "last tuesday"),
    ];
    let config = r#"{"min_account_age_days": 7, "duplicate_text_accounts": 0}"#;
    let verdicts = run_filter::<SpamFilter>(&batch, config).expect("ok");
    assert_eq!(excluded(&verdicts), [1, 4]);
    assert_eq!(
        reason(&verdicts[1]),
        "the account was 3 days old when it entered (minimum 7)"
    );
    assert_eq!(
        reason(&verdicts[4]),
        "the account was 0 days old when it entered (minimum 7)"
    );
}

#[test]
fn one_reason_per_exclusion_age_first() {
    let mut young_spam: Vec<Entry> = ["a", "b", "c"].iter().map(|u| entry(u, "🎉")).collect();
    young_spam[0].account_created_at = Some("2024-05-24T09:00:00Z".into());
    let verdicts = run_filter::<SpamFilter>(
        &young_spam,
        r#"{"min_account_age_days": 1, "emoji_only": false}"#,
    )
    .expect("ok");
    assert_eq!(
        reason(&verdicts[0]),
        "the account was 0 days old when it entered (minimum 1)"
    );
    assert_eq!(
        reason(&verdicts[1]),
        "the same comment came from 3 accounts (at most 2 allowed)"
    );
}

#[test]
fn configuration_errors_are_invalid_input() {
    for bad in [
        r#"{"duplicate_text_accounts": 1}"#,
        r#"{"duplicate_accounts": 3}"#,
        r#"{"emoji_only": "yes"}"#,
        "[",
        "3",
    ] {
        let err = run_filter::<SpamFilter>(&[], bad).expect_err(bad);
        assert_eq!(err.kind(), "invalid-input", "{bad}: {err}");
    }
    assert!(
        run_filter::<SpamFilter>(&[], "  ")
            .expect("blank is the default")
            .is_empty()
    );
}
