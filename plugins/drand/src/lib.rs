//! drand rounds from an HTTP relay, for League of Entropy's `quicknet` and
//! `default` chains.
//!
//! The plugin only fetches: the engine verifies the BLS signature against
//! the chain's public key, so a relay (or this plugin) cannot forge
//! randomness. It checks what it can without the keys: the round is the one
//! asked for, the signature is hex of the chain's length, and
//! `previous_signature` is there exactly when the chain is chained.
//!
//! Config:
//! - `relay` (default `https://api.drand.sh`): the relay's base URL; its
//!   origin must be in the manifest's `http.allow`.
//! - `api` (default `v1`): `v1` requests `/{chain hash}/public/{round}` (or
//!   `latest`); `v2` requests `/v2/beacons/{chain}/rounds/{round}`.
//!
//! A round not yet published is answered `425 Too Early`: the plugin returns
//! `rate-limited` with the seconds until the round's time (from the
//! response's `Date`), so the host can wait and retry.

use fairdraw_plugin_sdk::http::{self, Response};
use fairdraw_plugin_sdk::{Beacon, BeaconRound, PluginError, config, time};
use serde::Deserialize;

/// The relay used when config `relay` is unset.
pub const DEFAULT_RELAY: &str = "https://api.drand.sh";

/// A drand chain the engine knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The beacon id, the name draws use: `quicknet` or `default`.
    pub name: &'static str,
    /// The chain hash, lowercase hex.
    pub hash: &'static str,
    /// Unix time of round 1.
    pub genesis_time: i64,
    /// Seconds between rounds.
    pub period: i64,
    /// Signature length in bytes (48 on G1, 96 on G2).
    pub signature_bytes: usize,
    /// Whether each round signs the previous signature too.
    pub chained: bool,
}

/// The chains, as in `shared/vectors/drand.md` (and the engine).
pub const CHAINS: [Chain; 2] = [
    Chain {
        name: "quicknet",
        hash: "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
        genesis_time: 1_692_803_367,
        period: 3,
        signature_bytes: 48,
        chained: false,
    },
    Chain {
        name: "default",
        hash: "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
        genesis_time: 1_595_431_050,
        period: 30,
        signature_bytes: 96,
        chained: true,
    },
];

impl Chain {
    /// The chain called `name` or with hash `name`.
    pub fn find(name: &str) -> Option<Chain> {
        let name = name.trim().to_ascii_lowercase();
        CHAINS
            .into_iter()
            .find(|c| c.name == name || c.hash == name)
    }

    /// Unix time at which `round` is published.
    pub fn round_time(&self, round: u64) -> i64 {
        let rounds = i64::try_from(round.saturating_sub(1)).unwrap_or(i64::MAX);
        self.genesis_time
            .saturating_add(rounds.saturating_mul(self.period))
    }
}

/// The drand beacon.
#[derive(Debug)]
pub struct Drand;

impl Beacon for Drand {
    fn fetch(chain: &str, round: Option<u64>) -> Result<BeaconRound, PluginError> {
        let chain = Chain::find(chain).ok_or_else(|| {
            PluginError::InvalidInput(format!(
                "unknown drand chain {chain:?} (known chains: quicknet, default)"
            ))
        })?;
        if round == Some(0) {
            return Err(PluginError::InvalidInput("drand rounds start at 1".into()));
        }
        let url = round_url(&chain, round)?;
        let response = http::get(&url, &[("Accept", "application/json")])?;
        if !response.is_success() {
            return Err(relay_error(&chain, round, &response));
        }
        let published: Published = response.json()?;
        check(&chain, round, published)
    }
}

fairdraw_plugin_sdk::export_beacon!(Drand);

/// The URL of `round` (or the latest) on the configured relay and API.
pub fn round_url(chain: &Chain, round: Option<u64>) -> Result<String, PluginError> {
    let relay = config::get_or("relay", DEFAULT_RELAY);
    let base = relay.trim().trim_end_matches('/');
    match http::parse_origin(base) {
        Some(o) if o.scheme == "https" && !o.rest.contains(['?', '#']) => {}
        _ => {
            return Err(PluginError::InvalidInput(format!(
                "config `relay` = {relay:?} is not an https URL like {DEFAULT_RELAY}"
            )));
        }
    }
    let round = round.map_or_else(|| "latest".to_owned(), |r| r.to_string());
    match config::get_or("api", "v1").trim() {
        "v1" => Ok(format!("{base}/{}/public/{round}", chain.hash)),
        "v2" => Ok(format!("{base}/v2/beacons/{}/rounds/{round}", chain.name)),
        other => Err(PluginError::InvalidInput(format!(
            "config `api` = {other:?} is not v1 or v2"
        ))),
    }
}

/// A round as a relay publishes it (v1 adds `randomness`, unused: it is
/// the SHA-256 of the signature, and the engine derives it).
#[derive(Deserialize)]
struct Published {
    round: u64,
    signature: String,
    #[serde(default)]
    previous_signature: Option<String>,
}

fn check(
    chain: &Chain,
    asked: Option<u64>,
    published: Published,
) -> Result<BeaconRound, PluginError> {
    let bad = |why: String| {
        PluginError::BadResponse(format!(
            "drand {} round {}: {why}",
            chain.name, published.round
        ))
    };
    if let Some(asked) = asked
        && published.round != asked
    {
        return Err(bad(format!(
            "the relay answered round {} for round {asked}",
            published.round
        )));
    }
    let hex = |name: &str, value: &str, bytes: usize| -> Result<String, PluginError> {
        if value.len() != bytes * 2 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!(
                "{name} is not {bytes} bytes of hex (is the relay serving another chain?)"
            )));
        }
        Ok(value.to_ascii_lowercase())
    };
    let signature = hex("signature", &published.signature, chain.signature_bytes)?;
    let previous = published.previous_signature.filter(|p| !p.is_empty());
    let previous_signature = match (chain.chained, previous) {
        (true, Some(p)) => {
            // Round 1's previous signature is the 32-byte genesis seed.
            let bytes = if published.round == 1 {
                32
            } else {
                chain.signature_bytes
            };
            Some(hex("previous_signature", &p, bytes)?)
        }
        (true, None) => {
            return Err(bad(
                "the chain is chained but there is no previous_signature".into(),
            ));
        }
        (false, Some(_)) => {
            return Err(bad(
                "the chain is unchained but there is a previous_signature".into(),
            ));
        }
        (false, None) => None,
    };
    Ok(BeaconRound {
        chain: chain.name.into(),
        round: published.round,
        signature,
        previous_signature,
    })
}

/// The error for a non-2xx relay response. The relay answers in plain text.
fn relay_error(chain: &Chain, round: Option<u64>, response: &Response) -> PluginError {
    let what = match round {
        Some(r) => format!("drand {} round {r}", chain.name),
        None => format!("the latest drand {} round", chain.name),
    };
    let text = http::error_message(&response.body);
    match response.status {
        425 => {
            // Not yet published: wait until the round's time.
            let now = response.header("date").and_then(time::parse_http_date);
            let wait = match (round, now) {
                (Some(r), Some(now)) => {
                    Some(u64::try_from(chain.round_time(r) - now).unwrap_or(0).max(1))
                }
                _ => response.retry_after_seconds(),
            };
            PluginError::rate_limited(
                wait,
                format!("{what} is not yet published (HTTP 425: {text})"),
            )
        }
        400 => PluginError::InvalidInput(format!("{what}: HTTP 400: {text}")),
        404 => PluginError::NotFound(format!("{what}: HTTP 404: {text}")),
        500..=599 => PluginError::Unavailable(format!("{what}: HTTP {}: {text}", response.status)),
        _ => http::status_error(response),
    }
}
