//! Rules: parsing, validation, every rule including and excluding, the
//! reason order, normalisation, mentions, tickets, canonical order, the
//! schema golden file, and a property test of the evaluator.

use std::borrow::Cow;
use std::collections::BTreeMap;

use fairdraw_engine::encoding::Hash32;
use fairdraw_engine::entry::Entry;
use fairdraw_engine::rules::{
    Evaluator, Exclusion, KeywordRequirement, LOWERCASE_UNICODE_VERSION, MAX_TICKETS,
    NFKC_UNICODE_VERSION, RuleError, Rules, WindowEdge, evaluate, mentions, normalize,
};
use proptest::prelude::*;

/// Most tests here check a rule's protocol 1 meaning (every version shares
/// it); `organizer` and `exclude_users` in protocol 2 have their own tests.
const V1: u32 = 1;
const V2: u32 = fairdraw_engine::PROTOCOL_VERSION;

const EXAMPLE: &str = r##"{"winners": 3, "alternates": 2, "collection": "comments", "entries_per_user": 1, "min_mentions": 2,
 "keywords": {"any": ["#giveaway"], "all": []}, "exclude_users": ["someone"], "organizer": "brand_handle",
 "window": {"from": "2026-12-01T00:00:00Z", "until": "2026-12-08T00:00:00Z"},
 "min_followers": 10, "min_account_age_days": 30, "require_in": ["likes"], "bonus": {"per_extra_mention": 1, "max": 5}}"##;

/// Rules valid in protocol 1 (bare `organizer` and `exclude_users` values);
/// [`Rules::from_json`] takes the newest version's, as `rule_error` shows.
fn rules(json: &str) -> Rules {
    let r: Rules = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    r.validate_for(V1).unwrap_or_else(|e| panic!("{json}: {e}"));
    r
}

fn rule_error(json: &str) -> String {
    match Rules::from_json(json.as_bytes()) {
        Ok(r) => panic!("{json} was accepted: {r:?}"),
        Err(e) => e.to_string(),
    }
}

/// A comment by `user` (handle `@user`, user id `id-user`) on youtube.
fn entry(user: &str, text: &str) -> Entry<'static> {
    Entry {
        platform: "youtube".into(),
        user_id: format!("id-{user}").into(),
        handle: format!("@{user}").into(),
        display_name: Cow::Borrowed(""),
        text: text.to_owned().into(),
        created_at: "2026-12-02T10:00:00Z".into(),
        collection: None,
        followers: None,
        account_created_at: None,
    }
}

fn at(created_at: &str, e: Entry<'static>) -> Entry<'static> {
    Entry {
        created_at: created_at.to_owned().into(),
        ..e
    }
}

/// What an evaluation decided, owned.
#[derive(Debug)]
struct Outcome {
    /// `(handle, tickets)` in eligible order.
    eligible: Vec<(String, u64)>,
    /// Every exclusion by entry index.
    excluded: Vec<(u64, Exclusion)>,
    total: u64,
}

impl Outcome {
    fn rules_failed(&self) -> Vec<(u64, &'static str)> {
        self.excluded.iter().map(|(i, x)| (*i, x.rule())).collect()
    }

    fn handles(&self) -> Vec<&str> {
        self.eligible.iter().map(|(h, _)| h.as_str()).collect()
    }
}

fn run_collections(
    rules: &Rules,
    collections: &BTreeMap<String, Vec<Entry<'static>>>,
) -> Result<Outcome, RuleError> {
    let (evaluation, excluded) = evaluate(rules, V1, collections)?;
    let eligible: Vec<(String, u64)> = evaluation
        .eligible
        .iter()
        .map(|e| (e.handle.to_string(), e.tickets))
        .collect();
    assert_eq!(
        evaluation.total_tickets,
        eligible.iter().map(|(_, t)| t).sum::<u64>()
    );
    Ok(Outcome {
        eligible,
        excluded,
        total: evaluation.total_tickets,
    })
}

fn run(rules: &Rules, comments: Vec<Entry<'static>>) -> Outcome {
    let collections = BTreeMap::from([(rules.primary_collection().to_owned(), comments)]);
    run_collections(rules, &collections).expect("evaluation succeeds")
}

/// The single entry's exclusion, or `None` when it is eligible.
fn verdict(rules: &Rules, e: Entry<'static>) -> Option<Exclusion> {
    let mut out = run(rules, vec![e]);
    assert!(out.excluded.len() + out.eligible.len() == 1);
    out.excluded.pop().map(|(_, x)| x)
}

fn rule_of(rules: &Rules, e: Entry<'static>) -> Option<&'static str> {
    verdict(rules, e).map(|x| x.rule())
}

// ---------------------------------------------------------------- parsing

#[test]
fn example_parses_and_round_trips() {
    let r = rules(EXAMPLE);
    assert_eq!(r.winners, 3);
    assert_eq!(r.primary_collection(), "comments");
    assert_eq!(r.alternates(), 2);
    let json = serde_json::to_string(&r).expect("serialise");
    assert_eq!(rules(&json), r);
    // What the brand wrote comes back, minus the empty `all` list.
    let mut written: serde_json::Value = serde_json::from_str(EXAMPLE).expect("json");
    written["keywords"]
        .as_object_mut()
        .expect("object")
        .remove("all");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).expect("json"),
        written
    );
}

#[test]
fn absent_fields_stay_absent_and_defaults_apply() {
    let r = rules(r#"{"winners": 1}"#);
    assert_eq!(
        serde_json::to_string(&r).expect("serialise"),
        r#"{"winners":1}"#
    );
    assert_eq!(r.primary_collection(), "comments");
    assert_eq!(r.entries_per_user(), 1);
    assert_eq!(r.alternates(), 0);
    // An explicit default is what the brand wrote, and stays.
    let r = rules(r#"{"winners": 1, "alternates": 0, "entries_per_user": 1}"#);
    assert_eq!(
        serde_json::to_string(&r).expect("serialise"),
        r#"{"winners":1,"alternates":0,"entries_per_user":1}"#
    );
}

#[test]
fn unknown_fields_and_bad_types_are_named() {
    assert_eq!(
        rule_error(r#"{"winners":1,"foo":2}"#),
        "rules: unknown field `foo` at line 1 column 18, expected one of `winners`, `alternates`, \
         `collection`, `entries_per_user`, `min_mentions`, `keywords`, `exclude_users`, `organizer`, \
         `window`, `min_followers`, `min_account_age_days`, `require_in`, `bonus`"
    );
    assert_eq!(
        rule_error(r#"{"winners":1,"keywords":{"none":[]}}"#),
        "rules: unknown field `none` at line 1 column 31, expected `any` or `all`"
    );
    assert_eq!(
        rule_error(r#"{"winners":-1}"#),
        "rules: invalid value: integer `-1` at line 1 column 13, expected u32"
    );
    assert_eq!(
        rule_error(r#"{"winners":1,"organizer":null}"#),
        "rules: invalid type: null at line 1 column 29, expected a string"
    );
    assert_eq!(
        rule_error(r#"{"alternates":1}"#),
        "rules: missing field `winners` at line 1 column 16"
    );
    assert!(rule_error("{").starts_with("rules: EOF while parsing"));
    assert!(
        rule_error(r#"{"winners":1,"bonus":{"max":2}}"#)
            .contains("missing field `per_extra_mention`")
    );
}

#[test]
fn validation_names_the_field() {
    for (json, message) in [
        (r#"{"winners":0}"#, "rules: `winners` must be at least 1"),
        (
            r#"{"winners":1,"entries_per_user":0}"#,
            "rules: `entries_per_user` must be at least 1",
        ),
        (
            r#"{"winners":1,"collection":"Comments"}"#,
            r#"rules: `collection` "Comments" is not a collection name (1 to 64 of a-z, 0-9, '_', '-')"#,
        ),
        (
            r#"{"winners":1,"collection":""}"#,
            r#"rules: `collection` "" is not a collection name (1 to 64 of a-z, 0-9, '_', '-')"#,
        ),
        (
            r#"{"winners":1,"require_in":["likes","comments"]}"#,
            r#"rules: `require_in[1]` names the primary collection "comments""#,
        ),
        (
            r#"{"winners":1,"collection":"replies","require_in":["likes","likes"]}"#,
            r#"rules: `require_in[1]` names "likes" twice"#,
        ),
        (
            r#"{"winners":1,"require_in":["li kes"]}"#,
            r#"rules: `require_in[0]` "li kes" is not a collection name (1 to 64 of a-z, 0-9, '_', '-')"#,
        ),
        (
            r#"{"winners":1,"keywords":{"all":["a",""]}}"#,
            "rules: `keywords.all[1]` must not be empty",
        ),
        (
            r#"{"winners":1,"keywords":{"any":[""]}}"#,
            "rules: `keywords.any[0]` must not be empty",
        ),
        (
            r#"{"winners":1,"exclude_users":["x","@"]}"#,
            "rules: `exclude_users[1]` must name an account, not be empty or a lone `@`",
        ),
        (
            r#"{"winners":1,"organizer":""}"#,
            "rules: `organizer` must name an account, not be empty or a lone `@`",
        ),
        (
            r#"{"winners":1,"window":{}}"#,
            "rules: `window` must set `from`, `until` or both",
        ),
        (
            r#"{"winners":1,"window":{"from":"2026-12-01"}}"#,
            r#"rules: `window.from` "2026-12-01" is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ"#,
        ),
        (
            r#"{"winners":1,"window":{"until":"2026-12-01T01:00:00+01:00"}}"#,
            r#"rules: `window.until` "2026-12-01T01:00:00+01:00" is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ"#,
        ),
        (
            r#"{"winners":1,"window":{"until":"2026-12-01T00:00:00.5Z"}}"#,
            r#"rules: `window.until` "2026-12-01T00:00:00.5Z" is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ"#,
        ),
        (
            r#"{"winners":1,"window":{"from":"2026-12-01T00:00:00Z","until":"2026-12-01T00:00:00Z"}}"#,
            "rules: `window` `from` must be before `until`",
        ),
        (
            r#"{"winners":1,"bonus":{"per_extra_mention":0,"max":1}}"#,
            "rules: `bonus.per_extra_mention` must be between 1 and 2^53 - 1",
        ),
        (
            r#"{"winners":1,"bonus":{"per_extra_mention":1,"max":9007199254740992}}"#,
            "rules: `bonus.max` must be between 1 and 2^53 - 1",
        ),
        // Protocol 2 (Rules::from_json validates for the newest version).
        (
            r##"{"winners":1,"keywords":{"any":["#giveaway\u2060"]}}"##,
            r##"rules: `keywords.any[0]` "#giveaway\u{2060}" holds the invisible (default-ignorable) code point U+2060 at code point 9"##,
        ),
        (
            r##"{"winners":1,"keywords":{"all":["#give\u0430way"]}}"##,
            r##"rules: `keywords.all[0]` "#giveаway" mixes scripts in the word "#giveаway" (e.g. a Cyrillic letter among Latin ones)"##,
        ),
        (
            r##"{"winners":1,"keywords":{"any":["\uff03win"]}}"##,
            r##"rules: `keywords.any[0]` "＃win" is not in Unicode normalization form NFKC (write "#win")"##,
        ),
        (
            r#"{"winners":1,"organizer":"@a\u202eb"}"#,
            r#"rules: `organizer` "@a\u{202e}b" holds the bidirectional control U+202E at code point 2"#,
        ),
        // Caps (every version).
        (
            r#"{"winners":1,"require_in":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}"#,
            "rules: `require_in` names 17 collections, at most 16 are allowed",
        ),
    ] {
        assert_eq!(rule_error(json), message, "{json}");
    }
    let many: Vec<String> = (0..65).map(|i| format!("\"k{i}\"")).collect();
    assert_eq!(
        rule_error(&format!(
            r#"{{"winners":1,"keywords":{{"all":[{}]}}}}"#,
            many.join(",")
        )),
        "rules: `keywords.all` has 65 keywords, at most 64 are allowed"
    );
    assert_eq!(
        rule_error(&format!(
            r#"{{"winners":1,"organizer":"{}"}}"#,
            "a".repeat(201)
        )),
        "rules: `organizer` is longer than 200 characters"
    );
    // Protocol 1 rules stay valid for protocol 1.
    let v1 = Rules {
        keywords: Some(fairdraw_engine::rules::Keywords {
            any: vec!["\u{FF03}win".into()],
            all: vec![],
        }),
        ..rules(r#"{"winners":1}"#)
    };
    assert!(v1.validate_for(1).is_ok());
    assert!(v1.validate_for(2).is_err());
    // A window may be open on one side.
    rules(r#"{"winners":1,"window":{"until":"2026-12-01T00:00:00Z"}}"#);
    rules(r#"{"winners":1,"window":{"from":"2026-12-01T00:00:00Z"}}"#);
}

#[test]
fn evaluator_validates_rules_built_in_code() {
    let r = Rules {
        winners: 0,
        ..Rules::default()
    };
    assert!(matches!(
        Evaluator::new(&r, V1),
        Err(RuleError::Invalid { .. })
    ));
}

// ------------------------------------------------------- normalisation

#[test]
fn unicode_versions_are_pinned() {
    // PROTOCOL.md §5.3 names these versions; update it when they change.
    assert_eq!(NFKC_UNICODE_VERSION, (18, 0, 0));
    assert_eq!(LOWERCASE_UNICODE_VERSION, (17, 0, 0));
}

#[test]
fn normalisation_is_nfkc_then_per_char_lowercase() {
    assert_eq!(normalize("＃ＧＩＶＥＡＷＡＹ"), "#giveaway");
    assert_eq!(normalize("ﬁnd Ⅻ ①"), "find xii 1");
    assert_eq!(normalize("İstanbul"), "i\u{307}stanbul");
    assert_eq!(normalize("STRAẞE"), "straße");
    assert_eq!(normalize("Straße"), "straße");
    assert_eq!(normalize("ΟΔΟΣ"), "οδοσ"); // no final-sigma context
    assert_eq!(normalize("e\u{301}"), "é"); // composed
}

#[test]
fn keywords_match_normalised_substrings() {
    let r = rules(r##"{"winners":1,"keywords":{"any":["#giveaway","#win"]}}"##);
    assert_eq!(rule_of(&r, entry("a", "so ＃ＧＩＶＥＡＷＡＹ！")), None);
    assert_eq!(rule_of(&r, entry("a", "#WINNING")), None);
    assert_eq!(
        verdict(&r, entry("a", "# giveaway")),
        Some(Exclusion::Keywords {
            requirement: KeywordRequirement::Any,
            missing: vec!["#giveaway".into(), "#win".into()],
        })
    );

    let r = rules(r#"{"winners":1,"keywords":{"all":["İstanbul","straße","Café"]}}"#);
    assert_eq!(rule_of(&r, entry("a", "İSTANBUL STRAẞE cafe\u{301}")), None);
    // Not case folding: `ß` is not `ss`, dotted `İ` is not `i`.
    let x = verdict(&r, entry("a", "istanbul strasse café"));
    assert_eq!(
        x,
        Some(Exclusion::Keywords {
            requirement: KeywordRequirement::All,
            missing: vec!["İstanbul".into(), "straße".into()],
        })
    );
    assert_eq!(
        x.map(|x| x.to_string()).as_deref(),
        Some(r#"the text lacks the required keywords "İstanbul", "straße""#)
    );

    // `any` is checked before `all`.
    let r = rules(r#"{"winners":1,"keywords":{"any":["x"],"all":["y"]}}"#);
    assert!(matches!(
        verdict(&r, entry("a", "")),
        Some(Exclusion::Keywords {
            requirement: KeywordRequirement::Any,
            ..
        })
    ));
    assert_eq!(rule_of(&r, entry("a", "X Y")), None);
}

// ------------------------------------------------------------ mentions

#[test]
fn mention_grammar() {
    let names = |t: &str| {
        mentions(&normalize(t))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names("@Alice, @BOB! and @carol."),
        ["alice", "bob", "carol"]
    );
    assert_eq!(names("write to me@example.com or @x@y"), ["x"]);
    assert_eq!(
        names("@a.b-c... @d-- @.e @ @- @_f"),
        ["a.b-c", "d", ".e", "_f"]
    );
    assert_eq!(names("＠ＺＯＥ"), ["zoe"]);
    assert_eq!(names("émile@x _@y 9@z"), Vec::<String>::new());
}

#[test]
fn min_mentions_counts_distinct_others() {
    let r = rules(r#"{"winners":1,"min_mentions":2,"organizer":"@Brand"}"#);
    for (text, found) in [
        ("@b @c", 2),
        ("@b @B @ｂ @b.", 1), // duplicates after normalisation
        ("@me @b", 1),        // own handle does not count
        ("@brand @b", 1),     // nor the organizer
        ("b@c.com @b", 1),    // an e-mail is no mention
        ("@b... @c--", 2),    // trailing punctuation trimmed
        ("@b.c @b", 2),       // `b.c` is its own name
        ("@", 0),
    ] {
        let x = verdict(&r, entry("me", text));
        if found >= 2 {
            assert_eq!(x, None, "{text}");
        } else {
            assert_eq!(
                x,
                Some(Exclusion::MinMentions { found, required: 2 }),
                "{text}"
            );
        }
    }
    assert_eq!(
        Exclusion::MinMentions {
            found: 1,
            required: 2
        }
        .to_string(),
        "mentions 1 other account, at least 2 required"
    );
}

// --------------------------------------------------------- single rules

/// The single entry's exclusion under protocol 2.
fn verdict_v2(rules: &Rules, e: Entry<'static>) -> Option<Exclusion> {
    let collections = BTreeMap::from([(rules.primary_collection().to_owned(), vec![e])]);
    let (_, mut excluded) = evaluate(rules, V2, &collections).expect("evaluates");
    excluded.pop().map(|(_, x)| x)
}

fn on(platform: &str, e: Entry<'static>) -> Entry<'static> {
    Entry {
        platform: platform.to_owned().into(),
        ..e
    }
}

#[test]
fn v2_organizer_and_exclude_users_match_on_the_platform_they_name() {
    let r = rules(
        r#"{"winners":1,"organizer":"youtube:@Brand","exclude_users":["instagram:@alex","youtube:id-sam"]}"#,
    );
    assert_eq!(
        verdict_v2(&r, entry("brand", "")),
        Some(Exclusion::Organizer)
    );
    // The same handle on another platform is another person.
    assert_eq!(verdict_v2(&r, on("instagram", entry("brand", ""))), None);
    assert_eq!(
        verdict_v2(&r, on("instagram", entry("alex", ""))),
        Some(Exclusion::ExcludeUsers {
            value: "instagram:@alex".into()
        })
    );
    assert_eq!(verdict_v2(&r, entry("alex", "")), None);
    // `youtube:id-sam` is a user id, exact: not the handle `@id-sam`.
    assert_eq!(
        verdict_v2(&r, entry("sam", "")),
        Some(Exclusion::ExcludeUsers {
            value: "youtube:id-sam".into()
        })
    );
    let mut handle_only = entry("x", "");
    handle_only.handle = "@id-sam".into();
    assert_eq!(verdict_v2(&r, handle_only), None);
    // Protocol 1 read the bare handle on every platform.
    let v1 = rules(r#"{"winners":1,"organizer":"@Brand"}"#);
    assert_eq!(
        verdict(&v1, on("instagram", entry("brand", ""))),
        Some(Exclusion::Organizer)
    );
}

#[test]
fn v2_organizer_mentions_do_not_count_on_its_platform_only() {
    let r = rules(r#"{"winners":1,"min_mentions":1,"organizer":"youtube:@brand"}"#);
    assert_eq!(
        verdict_v2(&r, entry("ann", "hi @brand")),
        Some(Exclusion::MinMentions {
            found: 0,
            required: 1
        })
    );
    assert_eq!(verdict_v2(&r, on("x", entry("ann", "hi @brand"))), None);
    // Named by user id, the organizer removes no mention.
    let by_id = rules(r#"{"winners":1,"min_mentions":1,"organizer":"youtube:id-brand"}"#);
    assert_eq!(verdict_v2(&by_id, entry("ann", "hi @brand")), None);
    assert_eq!(
        verdict_v2(&by_id, entry("brand", "hi @ann")),
        Some(Exclusion::Organizer)
    );
}

#[test]
fn v2_refuses_account_values_without_a_platform() {
    for (json, field, problem) in [
        (
            r#"{"winners":1,"organizer":"@acme"}"#,
            "organizer",
            "must name a platform and an account",
        ),
        (
            r#"{"winners":1,"exclude_users":["youtube:@a","Youtube:@b"]}"#,
            "exclude_users[1]",
            "does not match [a-z0-9_-]{1,32}",
        ),
        (
            r#"{"winners":1,"exclude_users":["youtube:"]}"#,
            "exclude_users[0]",
            "names no account",
        ),
        (
            r#"{"winners":1,"exclude_users":["youtube:@"]}"#,
            "exclude_users[0]",
            "names an empty handle",
        ),
        (
            r#"{"winners":1,"organizer":"x:a b"}"#,
            "organizer",
            "white space U+0020",
        ),
    ] {
        let r = rules(json);
        let err = r.validate_for(V2).expect_err(json).to_string();
        assert!(
            err.contains(&format!("`{field}`")) && err.contains(problem),
            "{json}: {err}"
        );
        r.validate_for(V1).expect("protocol 1 takes bare values");
    }
}

#[test]
fn organizer_cannot_enter() {
    let r = rules(r#"{"winners":1,"organizer":"brand_handle"}"#);
    assert_eq!(
        verdict(&r, entry("Brand_Handle", "")),
        Some(Exclusion::Organizer)
    );
    assert_eq!(verdict(&r, entry("brand_handle2", "")), None);
}

#[test]
fn exclude_users_matches_handles_and_exact_user_ids() {
    let r = rules(r#"{"winners":1,"exclude_users":["@Someone","id-other","ID-third"]}"#);
    assert_eq!(
        verdict(&r, entry("someone", "")),
        Some(Exclusion::ExcludeUsers {
            value: "@Someone".into()
        })
    );
    assert_eq!(
        verdict(&r, entry("other", "")),
        Some(Exclusion::ExcludeUsers {
            value: "id-other".into()
        })
    );
    // User ids match exactly: `ID-third` is not user id `id-third`, and not
    // handle `@third` either.
    assert_eq!(verdict(&r, entry("third", "")), None);
    // The first matching value in list order is reported.
    let r = rules(r#"{"winners":1,"exclude_users":["id-x","X"]}"#);
    assert_eq!(
        verdict(&r, entry("x", "")),
        Some(Exclusion::ExcludeUsers {
            value: "id-x".into()
        })
    );
}

#[test]
fn window_compares_exact_instants() {
    let r = rules(
        r#"{"winners":1,"window":{"from":"2026-12-01T00:00:00Z","until":"2026-12-08T00:00:00Z"}}"#,
    );
    let e = || entry("a", "");
    assert_eq!(
        rule_of(&r, at("2026-11-30T23:59:59.999999999Z", e())),
        Some("window")
    );
    assert_eq!(rule_of(&r, at("2026-12-01T00:00:00Z", e())), None);
    assert_eq!(
        rule_of(&r, at("2026-12-01T00:30:00+01:00", e())),
        Some("window")
    );
    assert_eq!(rule_of(&r, at("2026-12-07T23:59:59.999999999Z", e())), None);
    assert_eq!(rule_of(&r, at("2026-12-08T00:30:00+01:00", e())), None);
    assert_eq!(rule_of(&r, at("2026-12-08T00:00:00Z", e())), Some("window"));
    let x = verdict(&r, at("2026-12-09T10:00:00Z", e())).expect("excluded");
    assert_eq!(
        x.to_string(),
        "posted 2026-12-09T10:00:00Z, after the window closed at 2026-12-08T00:00:00Z"
    );
    let x = verdict(&r, at("2026-11-09T10:00:00Z", e())).expect("excluded");
    assert!(matches!(
        &x,
        Exclusion::Window {
            edge: WindowEdge::BeforeOpen,
            ..
        }
    ));
    assert_eq!(
        x.to_string(),
        "posted 2026-11-09T10:00:00Z, before the window opened at 2026-12-01T00:00:00Z"
    );
}

#[test]
fn min_followers_requires_a_count() {
    let r = rules(r#"{"winners":1,"min_followers":10}"#);
    let with = |n| Entry {
        followers: n,
        ..entry("a", "")
    };
    assert_eq!(verdict(&r, with(Some(10))), None);
    assert_eq!(
        verdict(&r, with(Some(9))),
        Some(Exclusion::MinFollowers {
            found: Some(9),
            required: 10
        })
    );
    assert_eq!(
        verdict(&r, with(None)),
        Some(Exclusion::MinFollowers {
            found: None,
            required: 10
        })
    );
    // Even 0 requires the platform to give a count.
    let r = rules(r#"{"winners":1,"min_followers":0}"#);
    assert_eq!(rule_of(&r, with(Some(0))), None);
    assert_eq!(rule_of(&r, with(None)), Some("min_followers"));
}

#[test]
fn min_account_age_is_exact_to_the_nanosecond() {
    let r = rules(r#"{"winners":1,"min_account_age_days":30}"#);
    let born = |t: Option<&str>| Entry {
        account_created_at: t.map(|t| Cow::Owned(t.to_owned())),
        ..at("2026-12-31T12:00:00Z", entry("a", ""))
    };
    assert_eq!(verdict(&r, born(Some("2026-12-01T12:00:00Z"))), None);
    assert_eq!(verdict(&r, born(Some("2026-12-01T13:00:00+01:00"))), None);
    assert_eq!(
        verdict(&r, born(Some("2026-12-01T12:00:00.000000001Z"))),
        Some(Exclusion::MinAccountAgeDays {
            age_days: Some(29),
            required: 30
        })
    );
    assert_eq!(
        verdict(&r, born(Some("2027-01-01T00:00:00Z"))),
        Some(Exclusion::MinAccountAgeDays {
            age_days: Some(-1),
            required: 30
        })
    );
    assert_eq!(
        verdict(&r, born(None)),
        Some(Exclusion::MinAccountAgeDays {
            age_days: None,
            required: 30
        })
    );
}

#[test]
fn require_in_checks_platform_and_user_id() {
    let r = rules(r#"{"winners":1,"require_in":["likes","follows"]}"#);
    let other_platform = Entry {
        platform: "x".into(),
        ..entry("b", "")
    };
    let collections = BTreeMap::from([
        (
            "comments".to_owned(),
            vec![entry("a", ""), entry("b", ""), entry("c", "")],
        ),
        (
            "likes".to_owned(),
            vec![entry("a", ""), other_platform, entry("c", "")],
        ),
        ("follows".to_owned(), vec![entry("a", ""), entry("b", "")]),
    ]);
    let out = run_collections(&r, &collections).expect("evaluates");
    assert_eq!(out.handles(), ["@a"]);
    assert_eq!(
        out.excluded,
        [
            (
                1,
                Exclusion::RequireIn {
                    collection: "likes".into()
                }
            ),
            (
                2,
                Exclusion::RequireIn {
                    collection: "follows".into()
                }
            ),
        ]
    );

    let mut missing = collections.clone();
    missing.remove("follows");
    assert!(matches!(
        run_collections(&r, &missing),
        Err(RuleError::MissingCollection(c)) if c == "follows"
    ));
    missing.remove("comments");
    missing.insert("follows".into(), vec![]);
    assert!(matches!(
        run_collections(&r, &missing),
        Err(RuleError::MissingCollection(c)) if c == "comments"
    ));
}

#[test]
fn membership_must_come_before_entries() {
    let r = rules(r#"{"winners":1,"require_in":["likes"]}"#);
    let mut ev = Evaluator::new(&r, V1).expect("valid");
    assert_eq!(ev.required_collections(), ["likes"]);
    let e = entry("a", "");
    ev.add_membership("shares", &e); // not required: ignored
    assert_eq!(
        ev.push(e.clone(), Hash32::default()).expect("pushed"),
        Some(Exclusion::RequireIn {
            collection: "likes".into()
        })
    );
    ev.add_membership("likes", &e);
    assert!(matches!(ev.finish(), Err(RuleError::MembershipAfterPush(c)) if c == "likes"));
}

#[test]
fn malformed_entries_are_errors_naming_the_index() {
    let r = rules(r#"{"winners":1}"#);
    let mut ev = Evaluator::new(&r, V1).expect("valid");
    assert_eq!(
        ev.push(entry("a", ""), Hash32::default()).expect("fine"),
        None
    );
    let err = ev
        .push(at("yesterday", entry("b", "")), Hash32::default())
        .expect_err("malformed");
    assert!(matches!(err, RuleError::BadEntry { index: 1, .. }));
    assert_eq!(
        err.to_string(),
        r#"entry 1 of the primary collection: field `created_at` is not an RFC 3339 timestamp: "yesterday""#
    );
    let bad_age = Entry {
        account_created_at: Some("soon".into()),
        ..entry("c", "")
    };
    assert!(matches!(
        ev.push(bad_age, Hash32::default()),
        Err(RuleError::BadEntry { index: 2, .. })
    ));
}

// ---------------------------------------------------------- rule order

#[test]
fn the_first_failing_rule_in_protocol_order_is_the_reason() {
    // One entry that fails every rule; removing rules one by one from the
    // front exposes the next reason.
    let bad = Entry {
        created_at: "2027-01-01T00:00:00Z".into(),
        ..entry("brand", "no keyword @x")
    };
    let likes = vec![entry("someone_else", "")];
    let mut fields = vec![
        ("organizer", r#""organizer":"brand""#),
        ("exclude_users", r#""exclude_users":["id-brand"]"#),
        ("window", r#""window":{"until":"2026-12-08T00:00:00Z"}"#),
        ("keywords", r##""keywords":{"any":["#giveaway"]}"##),
        ("min_mentions", r#""min_mentions":2"#),
        ("min_followers", r#""min_followers":10"#),
        ("min_account_age_days", r#""min_account_age_days":30"#),
        ("require_in", r#""require_in":["likes"]"#),
    ];
    while let Some(&(rule, _)) = fields.first() {
        let body: Vec<&str> = fields.iter().map(|(_, f)| *f).collect();
        let r = rules(&format!(r#"{{"winners":1,{}}}"#, body.join(",")));
        let collections = BTreeMap::from([
            ("comments".to_owned(), vec![bad.clone()]),
            ("likes".to_owned(), likes.clone()),
        ]);
        let out = run_collections(&r, &collections).expect("evaluates");
        assert_eq!(out.rules_failed(), [(0, rule)]);
        fields.remove(0);
    }
}

#[test]
fn entries_per_user_counts_the_first_qualifying_entries() {
    // The example of PROTOCOL.md §5.8.
    let r = rules(
        r##"{"winners":1,"entries_per_user":2,"keywords":{"any":["#go"]},"min_mentions":1,
            "bonus":{"per_extra_mention":1,"max":5}}"##,
    );
    let renamed = |handle: &str, e: Entry<'static>| Entry {
        handle: handle.to_owned().into(),
        ..e
    };
    let out = run(
        &r,
        vec![
            entry("ann", "@b no keyword"), // 0: keywords, takes no slot
            renamed("@ann_new", entry("ann", "#GO @b @c")), // 1: counted, 1 extra
            entry("bob", "#go @a"),        // 2: counted, 0 extra
            entry("ann", "#go @b @c @d"),  // 3: counted, 2 extra
            entry("ann", "#go @b @c @d @e"), // 4: over the limit
        ],
    );
    // ann: 2 counted + min(5, 1 + 2) bonus; handle of her first counted entry.
    assert_eq!(out.eligible, [("@ann_new".into(), 5), ("@bob".into(), 1)]);
    assert_eq!(out.total, 6);
    assert_eq!(
        out.rules_failed(),
        [(0, "keywords"), (4, "entries_per_user")]
    );
    assert_eq!(
        out.excluded[1].1.to_string(),
        "only the account's first 2 qualifying entries count"
    );
}

#[test]
fn bonus_is_capped_per_account() {
    let r = rules(
        r#"{"winners":1,"entries_per_user":3,"min_mentions":1,"bonus":{"per_extra_mention":2,"max":5}}"#,
    );
    let out = run(
        &r,
        vec![
            entry("a", "@b @c"),
            entry("a", "@b @c @d"),
            entry("a", "@b @c @d @e"),
        ],
    );
    // 3 entries + min(5, 2 + 4 + 6).
    assert_eq!(out.eligible, [("@a".into(), 8)]);
    // Without min_mentions every mention is extra.
    let r = rules(r#"{"winners":1,"bonus":{"per_extra_mention":3,"max":100}}"#);
    assert_eq!(
        run(&r, vec![entry("a", "@b @c @a")]).eligible,
        [("@a".into(), 7)]
    );
}

#[test]
fn tickets_stay_json_safe() {
    let big = MAX_TICKETS.to_string();
    let r = rules(&format!(
        r#"{{"winners":1,"bonus":{{"per_extra_mention":{big},"max":{big}}}}}"#
    ));
    let collections = BTreeMap::from([("comments".to_owned(), vec![entry("a", "@b @c")])]);
    assert_eq!(
        run_collections(&r, &collections).err(),
        Some(RuleError::TooManyTickets)
    );
    // Two accounts of 1 + (2^52 - 2) tickets fit; a third does not.
    let half = MAX_TICKETS / 2;
    let r = rules(&format!(
        r#"{{"winners":1,"bonus":{{"per_extra_mention":{half},"max":{}}}}}"#,
        half - 1
    ));
    let ok = BTreeMap::from([(
        "comments".to_owned(),
        vec![entry("a", "@x"), entry("b", "@x")],
    )]);
    assert_eq!(
        run_collections(&r, &ok).expect("fits").total,
        MAX_TICKETS - 1
    );
    let three = BTreeMap::from([(
        "comments".to_owned(),
        vec![entry("a", "@x"), entry("b", "@x"), entry("c", "@x")],
    )]);
    assert_eq!(
        run_collections(&r, &three).err(),
        Some(RuleError::TooManyTickets)
    );
}

#[test]
fn eligible_list_is_in_byte_order_of_platform_then_user_id() {
    let r = rules(r#"{"winners":1}"#);
    let mut comments = Vec::new();
    for (platform, user_id) in [
        ("youtube", "b"),
        ("x", "9"),
        ("youtube", "B"),
        ("bluesky", "z"),
        ("youtube", "é"),
        ("x", "10"),
        ("youtube", "a"),
        ("youtube", "b"),
        ("x", "z"), // same user id as on bluesky: a different account
    ] {
        comments.push(Entry {
            platform: platform.into(),
            user_id: user_id.into(),
            handle: format!("@{platform}-{user_id}").into(),
            ..entry("unused", "")
        });
    }
    let collections = BTreeMap::from([("comments".to_owned(), comments)]);
    let (evaluation, excluded) = evaluate(&r, V1, &collections).expect("evaluates");
    let order: Vec<(&str, &str, u64)> = evaluation
        .eligible
        .iter()
        .map(|e| (&*e.platform, &*e.user_id, e.entry_index))
        .collect();
    assert_eq!(
        order,
        [
            ("bluesky", "z", 3),
            ("x", "10", 5),
            ("x", "9", 1),
            ("x", "z", 8),
            ("youtube", "B", 2),
            ("youtube", "a", 6),
            ("youtube", "b", 0),
            ("youtube", "é", 4),
        ]
    );
    assert_eq!(
        evaluation.eligible[6].entry_hash,
        collections["comments"][0].hash()
    );
    assert_eq!(evaluation.entries, 9);
    assert_eq!(excluded, [(7, Exclusion::EntriesPerUser { limit: 1 })]);
    assert_eq!(evaluation.over_limit, excluded);
}

#[test]
fn exclusions_serialise_with_the_rule_name() {
    let cases = [
        (Exclusion::Organizer, r#"{"rule":"organizer"}"#),
        (
            Exclusion::MinMentions {
                found: 1,
                required: 2,
            },
            r#"{"rule":"min_mentions","found":1,"required":2}"#,
        ),
        (
            Exclusion::MinFollowers {
                found: None,
                required: 10,
            },
            r#"{"rule":"min_followers","required":10}"#,
        ),
        (
            Exclusion::Window {
                created_at: "2026-12-09T10:00:00Z".into(),
                edge: WindowEdge::AfterClose,
                bound: "2026-12-08T00:00:00Z".into(),
            },
            r#"{"rule":"window","created_at":"2026-12-09T10:00:00Z","edge":"after_close","bound":"2026-12-08T00:00:00Z"}"#,
        ),
        (
            Exclusion::RequireIn {
                collection: "likes".into(),
            },
            r#"{"rule":"require_in","collection":"likes"}"#,
        ),
    ];
    for (x, json) in cases {
        assert_eq!(serde_json::to_string(&x).expect("serialise"), json);
        assert_eq!(serde_json::from_str::<Exclusion>(json).expect("parse"), x);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(json).expect("json")["rule"],
            x.rule()
        );
    }
}

// ------------------------------------------------------------- schema

/// Needs the `schema` feature: `make test` runs it as
/// `cargo test -p fairdraw-engine --features schema --test all rules::schema`.
#[cfg(feature = "schema")]
#[test]
fn schema_matches_golden_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rules.schema.json");
    let mut fresh = serde_json::to_string_pretty(&Rules::json_schema()).expect("serialise");
    fresh.push('\n');
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(path, &fresh).expect("write rules.schema.json");
        return;
    }
    let golden = std::fs::read_to_string(path).unwrap_or_default();
    if golden != fresh {
        let mut diff = String::new();
        let (old, new): (Vec<&str>, Vec<&str>) =
            (golden.lines().collect(), fresh.lines().collect());
        for i in 0..old.len().max(new.len()) {
            let (o, n) = (old.get(i), new.get(i));
            if o != n {
                if let Some(o) = o {
                    diff.push_str(&format!("{:>4} - {o}\n", i + 1));
                }
                if let Some(n) = n {
                    diff.push_str(&format!("{:>4} + {n}\n", i + 1));
                }
            }
        }
        panic!("{path} is out of date; rerun with BLESS=1 to regenerate.\n{diff}");
    }
}

// -------------------------------------------------------------- proptest

/// Unix seconds (and nanoseconds) as RFC 3339, via the engine's timestamp.
fn rfc3339(secs: i64, nanos: Option<u32>) -> String {
    let whole = fairdraw_engine::time::Timestamp::from_unix(secs).to_string();
    match nanos {
        Some(n) => format!("{}.{n:09}Z", whole.trim_end_matches('Z')),
        None => whole,
    }
}

/// 2026-12-01T00:00:00Z.
const DEC_1: i64 = 1_796_083_200;

fn arb_entry() -> impl Strategy<Value = Entry<'static>> {
    (
        prop::sample::select(vec!["youtube", "x", "bluesky"]),
        prop::sample::select(vec!["1", "2", "3", "10", "é", "B"]),
        "@?[a-zA-Zİß_]{1,4}",
        "[a-c@#İß .\\-_ＡＢ]{0,24}",
        (0i64..3_000_000, prop::option::of(0u32..1_000_000_000)),
        prop::option::of(0u64..20),
        prop::option::of(-50_000_000i64..1_000_000),
    )
        .prop_map(
            |(platform, user_id, handle, text, (t, nanos), followers, born)| Entry {
                platform: platform.into(),
                user_id: user_id.into(),
                handle: handle.into(),
                display_name: "".into(),
                text: text.into(),
                created_at: rfc3339(DEC_1 + t, nanos).into(),
                collection: None,
                followers,
                account_created_at: born.map(|b| rfc3339(DEC_1 + b, None).into()),
            },
        )
}

fn arb_rules() -> impl Strategy<Value = Rules> {
    (
        prop::option::of(1u32..4),
        prop::option::of(0u32..3),
        prop::option::of(("[a-c#]{1,3}", "[a-cİ]{1,2}")),
        prop::option::of("@?[a-cA-C]{1,2}"),
        prop::option::of((0i64..2_000_000, 1i64..2_000_000)),
        prop::option::of(0u64..15),
        prop::option::of(0u32..40),
        any::<bool>(),
        prop::option::of((1u64..4, 1u64..6)),
    )
        .prop_map(
            |(epu, mm, kw, org, window, followers, age, require, bonus)| Rules {
                winners: 1,
                entries_per_user: epu,
                min_mentions: mm,
                keywords: kw.map(|(a, b)| fairdraw_engine::rules::Keywords {
                    any: vec![a],
                    all: vec![b],
                }),
                organizer: org.clone(),
                exclude_users: org
                    .into_iter()
                    .map(|o| format!("{o}x"))
                    .chain(["2".to_owned()])
                    .collect(),
                window: window.map(|(from, len)| fairdraw_engine::rules::Window {
                    from: Some(rfc3339(DEC_1 + from, None)),
                    until: Some(rfc3339(DEC_1 + from + len, None)),
                }),
                min_followers: followers,
                min_account_age_days: age,
                require_in: if require {
                    vec!["likes".into()]
                } else {
                    vec![]
                },
                bonus: bonus.map(|(per_extra_mention, max)| fairdraw_engine::rules::Bonus {
                    per_extra_mention,
                    max,
                }),
                ..Rules::default()
            },
        )
}

proptest! {
    #[test]
    fn evaluation_never_panics_and_lists_each_account_once_in_order(
        rules in arb_rules(),
        comments in prop::collection::vec(arb_entry(), 0..40),
        likes in prop::collection::vec(arb_entry(), 0..10),
    ) {
        let n = comments.len() as u64;
        let collections = BTreeMap::from([("comments".to_owned(), comments), ("likes".to_owned(), likes)]);
        let (evaluation, excluded) = evaluate(&rules, V1, &collections).expect("valid rules and entries");
        prop_assert_eq!(evaluation.entries, n);
        for pair in evaluation.eligible.windows(2) {
            prop_assert!(
                (pair[0].platform.as_bytes(), pair[0].user_id.as_bytes())
                    < (pair[1].platform.as_bytes(), pair[1].user_id.as_bytes())
            );
        }
        // Every entry is either excluded once or counted.
        let mut seen: Vec<u64> = excluded.iter().map(|(i, _)| *i).collect();
        prop_assert!(seen.windows(2).all(|w| w[0] < w[1]));
        let mut tickets = 0;
        for e in &evaluation.eligible {
            prop_assert!(e.tickets >= 1);
            prop_assert!(!seen.contains(&e.entry_index));
            prop_assert_eq!(e.entry_hash, collections["comments"][e.entry_index as usize].hash());
            tickets += e.tickets;
        }
        prop_assert_eq!(tickets, evaluation.total_tickets);
        seen.extend(evaluation.eligible.iter().map(|e| e.entry_index));
        prop_assert!(seen.len() as u64 <= n);
    }
}

// ---------------------------------------------------------------- in plain words

/// The giveaway fixture's rules (tests/fixtures/giveaway/rules.json), read
/// from the file so the sentences track the demo draw.
const GIVEAWAY: &str = include_str!("../../../tests/fixtures/giveaway/rules.json");

#[test]
fn describe_says_every_rule_of_the_giveaway_in_order() {
    assert_eq!(
        rules(GIVEAWAY).describe(),
        [
            "3 winners and then 2 alternates in order are drawn from the \"comments\" collection.",
            "The organizer's account \"youtube:@acme\" cannot enter, and mentioning it does not count.",
            "The account \"youtube:@spammer\" cannot enter.",
            "Entries must be posted at or after 2023-01-10T00:00:00Z and before 2023-01-21T00:00:00Z.",
            "The text must contain \"#giveaway\" (case does not matter).",
            "The text must mention at least 1 other account with @ (not the entrant's own account or the organizer's).",
            "The account must have at least 10 followers; an account whose follower count is unknown is excluded.",
            "The account must be at least 7 days old when the entry is posted; an account of unknown age is excluded.",
            "The account must also appear in the \"likes\" collection.",
            "Each account's first 2 qualifying entries count, later ones are excluded; each counted entry is 1 ticket.",
            "Each mention beyond the required 1 earns 1 bonus ticket, up to 3 bonus tickets per account.",
            "Each eligible account's chance is proportional to its tickets, and no account is drawn twice.",
        ]
    );
}

#[test]
fn describe_minimal_rules_and_singulars() {
    assert_eq!(
        rules(r#"{"winners": 1}"#).describe(),
        [
            "1 winner is drawn from the \"comments\" collection.",
            "Only each account's first qualifying entry counts; each counted entry is 1 ticket.",
            "Each eligible account's chance is proportional to its tickets, and no account is drawn twice.",
        ]
    );
    let r = rules(
        r##"{"winners": 2, "alternates": 1, "collection": "replies", "min_followers": 1,
             "min_account_age_days": 1, "min_mentions": 2, "bonus": {"per_extra_mention": 2, "max": 1}}"##,
    );
    let lines = r.describe();
    assert_eq!(
        lines[0],
        "2 winners and then 1 alternate in order are drawn from the \"replies\" collection."
    );
    assert!(lines.contains(
        &"The text must mention at least 2 other accounts with @ (not the entrant's own account or the organizer's)."
            .to_owned()
    ));
    assert!(lines.contains(
        &"The account must have at least 1 follower; an account whose follower count is unknown is excluded."
            .to_owned()
    ));
    assert!(lines.contains(
        &"The account must be at least 1 day old when the entry is posted; an account of unknown age is excluded."
            .to_owned()
    ));
    assert!(lines.contains(
        &"Each mention beyond the required 2 earns 2 bonus tickets, up to 1 bonus ticket per account."
            .to_owned()
    ));
}

#[test]
fn describe_lists_open_windows_and_keyword_lists() {
    let r = rules(
        r##"{"winners": 1, "exclude_users": ["@a", "UC42", "c"], "window": {"until": "2026-01-01T00:00:00Z"},
             "keywords": {"any": ["#win", "#giveaway"], "all": ["please", "me", "now"]},
             "require_in": ["likes", "follows"], "bonus": {"per_extra_mention": 1, "max": 5}}"##,
    );
    assert_eq!(
        r.describe()[1..6],
        [
            "These accounts cannot enter: \"@a\", \"UC42\" and \"c\".",
            "Entries must be posted before 2026-01-01T00:00:00Z.",
            "The text must contain at least one of \"#win\" or \"#giveaway\" (case does not matter).",
            "The text must contain all of \"please\", \"me\" and \"now\" (case does not matter).",
            "The account must also appear in each of the \"likes\" and \"follows\" collections.",
        ]
    );
    assert!(r.describe().contains(
        &"Each mention earns 1 bonus ticket, up to 5 bonus tickets per account.".to_owned()
    ));
    let from = rules(r#"{"winners": 1, "window": {"from": "2026-01-01T00:00:00Z"}}"#);
    assert_eq!(
        from.describe()[1],
        "Entries must be posted at or after 2026-01-01T00:00:00Z."
    );
    // Empty keyword lists and `min_mentions: 0` require nothing, so say nothing.
    let none = rules(r#"{"winners": 1, "keywords": {"any": []}, "min_mentions": 0}"#);
    assert_eq!(none.describe(), rules(r#"{"winners": 1}"#).describe());
}

#[test]
fn describe_is_deterministic_whatever_the_key_order() {
    let a = rules(EXAMPLE);
    // EXAMPLE with its keys written in another order.
    let b = rules(
        r##"{"bonus": {"max": 5, "per_extra_mention": 1}, "require_in": ["likes"], "min_account_age_days": 30,
 "min_followers": 10, "window": {"until": "2026-12-08T00:00:00Z", "from": "2026-12-01T00:00:00Z"},
 "organizer": "brand_handle", "exclude_users": ["someone"], "keywords": {"all": [], "any": ["#giveaway"]},
 "min_mentions": 2, "entries_per_user": 1, "collection": "comments", "alternates": 2, "winners": 3}"##,
    );
    assert_eq!(a.describe(), b.describe());
    assert_eq!(a.describe(), a.describe());
    // One sentence per rule set: the example sets every field.
    assert_eq!(a.describe().len(), 12);
}

proptest! {
    /// Keyword matching (one Aho-Corasick pass per list) gives exactly the
    /// verdict of PROTOCOL.md §5.5 rule 4, substring containment of the
    /// normalised keywords in the normalised text, including overlapping
    /// keywords and keywords that are substrings of each other.
    #[test]
    fn keyword_matching_is_substring_containment(
        any in prop::collection::vec("[ab#Ａ]{1,3}", 0..4),
        all in prop::collection::vec("[ab#Ａ]{1,3}", 0..4),
        text in "[ab #Ａ]{0,12}",
    ) {
        let keywords = fairdraw_engine::rules::Keywords { any: any.clone(), all: all.clone() };
        let r = Rules { keywords: Some(keywords), ..rules(r#"{"winners":1}"#) };
        let collections = BTreeMap::from([("comments".to_owned(), vec![entry("ann", &text)])]);
        let (_, excluded) = evaluate(&r, V1, &collections).expect("evaluates");
        let t = normalize(&text);
        let has = |k: &String| t.contains(&*normalize(k));
        let expected = if !any.is_empty() && !any.iter().any(has) {
            Some(Exclusion::Keywords { requirement: KeywordRequirement::Any, missing: any.clone() })
        } else {
            let missing: Vec<String> = all.iter().filter(|k| !has(k)).cloned().collect();
            (!missing.is_empty()).then_some(Exclusion::Keywords { requirement: KeywordRequirement::All, missing })
        };
        prop_assert_eq!(excluded.first().map(|(_, x)| x.clone()), expected);
    }
}
