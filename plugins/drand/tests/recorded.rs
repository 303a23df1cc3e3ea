//! The drand beacon against recorded relay responses (real mainnet
//! beacons; no server).

use drand::{Chain, Drand};
use fairdraw_plugin_sdk::testing::{self, Recorded};
use fairdraw_plugin_sdk::{Beacon, BeaconRound, PluginError};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recorded");
const QUICKNET: &str = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
const DEFAULT: &str = "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce";
const TEXT: (&str, &str) = ("Content-Type", "text/plain; charset=utf-8");

#[test]
fn v1_quicknet_round() {
    let url = format!("https://api.drand.sh/{QUICKNET}/public/123");
    let http = Recorded::new(DIR)
        .get(&url, "v1-quicknet-123.json")
        .install();
    let round = Drand::fetch("quicknet", Some(123)).expect("round 123");
    assert_eq!(
        round,
        BeaconRound {
            chain: "quicknet".into(),
            round: 123,
            signature: "b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92".into(),
            previous_signature: None,
        }
    );
    assert_eq!(http.urls(), [url]);
}

#[test]
fn v1_default_round_is_chained() {
    let url = format!("https://api.drand.sh/{DEFAULT}/public/2634945");
    let _http = Recorded::new(DIR)
        .get(&url, "v1-default-2634945.json")
        .install();
    // The chain may be named by its hash too.
    let round = Drand::fetch(DEFAULT, Some(2_634_945)).expect("round 2634945");
    assert_eq!(round.chain, "default");
    assert_eq!(round.signature.len(), 192);
    assert_eq!(round.previous_signature.as_deref().map(str::len), Some(192));
}

#[test]
fn v2_rounds_and_latest() {
    let _config = testing::config(&[("api", "v2"), ("relay", "https://drand.example/")]);
    let http = Recorded::new(DIR)
        .get(
            "https://drand.example/v2/beacons/quicknet/rounds/42",
            "v2-quicknet-42.json",
        )
        .get(
            "https://drand.example/v2/beacons/default/rounds/72785",
            "v2-default-72785.json",
        )
        .get(
            "https://drand.example/v2/beacons/quicknet/rounds/latest",
            "v2-quicknet-42.json",
        )
        .install();
    assert_eq!(Drand::fetch("quicknet", Some(42)).expect("42").round, 42);
    let chained = Drand::fetch("default", Some(72_785)).expect("72785");
    assert!(chained.previous_signature.is_some());
    assert_eq!(Drand::fetch("quicknet", None).expect("latest").round, 42);
    assert!(http.unused().is_empty());
}

#[test]
fn future_round_is_too_early_with_the_wait() {
    let quicknet = Chain::find("quicknet").expect("known");
    let round = 100_000_000;
    let url = format!("https://api.drand.sh/{QUICKNET}/public/{round}");
    // The relay's clock says 10 s before the round's time.
    let date = fairdraw_plugin_sdk::time::format_rfc3339(quicknet.round_time(round) - 10);
    let date = http_date(&date);
    let _http = Recorded::new(DIR)
        .on_body(
            "GET",
            &url,
            425,
            &[
                TEXT,
                ("Date", &date),
                ("Cache-Control", "must-revalidate, no-cache, max-age=0"),
            ],
            "Requested future beacon\n",
        )
        .install();
    let err = Drand::fetch("quicknet", Some(round)).expect_err("too early");
    assert_eq!(
        err,
        PluginError::rate_limited(
            Some(10),
            "drand quicknet round 100000000 is not yet published (HTTP 425: Requested future beacon)"
        )
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` as an IMF-fixdate (the weekday is not checked).
fn http_date(rfc3339: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = rfc3339[5..7].parse().expect("month");
    format!(
        "Mon, {} {} {} {} GMT",
        &rfc3339[8..10],
        MONTHS[month - 1],
        &rfc3339[0..4],
        &rfc3339[11..19]
    )
}

#[test]
fn relay_errors() {
    let url = format!("https://api.drand.sh/{QUICKNET}/public/7");
    let fetch = |status: u16, body: &str| {
        let _http = Recorded::new(DIR)
            .on_body("GET", &url, status, &[TEXT], body.to_owned())
            .install();
        Drand::fetch("quicknet", Some(7)).expect_err("an error")
    };
    assert_eq!(
        fetch(400, "unknown chain hash\n"),
        PluginError::InvalidInput("drand quicknet round 7: HTTP 400: unknown chain hash".into())
    );
    assert_eq!(fetch(500, "Failed to get beacon\n").kind(), "unavailable");
    assert_eq!(fetch(404, "404 page not found\n").kind(), "not-found");
}

#[test]
fn answers_that_do_not_fit_are_bad_responses() {
    let url = format!("https://api.drand.sh/{QUICKNET}/public/124");
    let serve = |body: &str| {
        let _http = Recorded::new(DIR)
            .on_body("GET", &url, 200, &[], body.to_owned())
            .install();
        Drand::fetch("quicknet", Some(124))
    };
    // Round 123 served for 124.
    let body = std::fs::read_to_string(format!("{DIR}/v1-quicknet-123.json")).expect("fixture");
    assert_eq!(serve(&body).map_err(|e| e.kind()), Err("bad-response"));
    // A default-chain (96-byte) signature on quicknet.
    let long = format!(r#"{{"round":124,"signature":"{}"}}"#, "ab".repeat(96));
    assert_eq!(serve(&long).map_err(|e| e.kind()), Err("bad-response"));
    // A previous signature on the unchained quicknet.
    let chained = format!(
        r#"{{"round":124,"signature":"{}","previous_signature":"{}"}}"#,
        "AB".repeat(48),
        "cd".repeat(48)
    );
    assert_eq!(serve(&chained).map_err(|e| e.kind()), Err("bad-response"));
    let ok = format!(
        r#"{{"round":124,"signature":"{}","previous_signature":""}}"#,
        "AB".repeat(48)
    );
    assert_eq!(
        serve(&ok).map(|r| r.signature),
        Ok("ab".repeat(48)),
        "hex is lowercased"
    );
    assert_eq!(serve("<html>").map_err(|e| e.kind()), Err("bad-response"));
}

#[test]
fn bad_input_and_config() {
    let _http = Recorded::new(DIR).install();
    assert_eq!(
        Drand::fetch("testnet", Some(1)).map_err(|e| e.kind()),
        Err("invalid-input")
    );
    assert_eq!(
        Drand::fetch("quicknet", Some(0)).map_err(|e| e.kind()),
        Err("invalid-input")
    );
    let _api = testing::config(&[("api", "v3")]);
    assert_eq!(
        Drand::fetch("quicknet", Some(1)).map_err(|e| e.kind()),
        Err("invalid-input")
    );
    let _relay = testing::config(&[("relay", "http://api.drand.sh")]);
    assert_eq!(
        Drand::fetch("quicknet", Some(1)).map_err(|e| e.kind()),
        Err("invalid-input")
    );
}
