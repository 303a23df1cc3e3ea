//! A drand HTTP relay (v1 and v2 API), per `shared/vectors/drand.md`,
//! serving the real League of Entropy mainnet beacons pinned in
//! `engine/tests/vectors/drand_beacons.json`.
//!
//! v1: `/{chainhash}/public/{round|latest}`, `/public/{round|latest}` (the
//! default chain), `/{chainhash}/info`, `/info`, `/chains`, `/health`.
//! v2: `/v2/beacons/{id}/rounds/{round|latest}`,
//! `/v2/chains/{hash}/rounds/{round|latest}`, `/v2/beacons/{id}/info`,
//! `/v2/chains/{hash}/info`, `/v2/beacons`, `/v2/chains`.
//!
//! Errors are plain text as Go's `http.Error` writes them
//! (`text/plain; charset=utf-8`, body + newline): a round after the chain's
//! latest is `425 Too Early` `Requested future beacon`; an unparsable round
//! 400; an unknown chain hash 400 `unknown chain hash`; a round the relay
//! cannot get (not in the data file) or an unknown beacon id 500
//! `Failed to get beacon`; an unknown path 404 `404 page not found`.
//!
//! [`Config::tamper`] flips the lowest bit of every signature served, as a
//! relay that lies would; the engine must refuse such a beacon.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Fault, Faults, MockHandle, RequestNo, Shared};

/// The origin plugins call in production; map it to [`MockHandle::origin`].
pub const PRODUCTION_ORIGIN: &str = "https://api.drand.sh";
/// Chain hash of quicknet.
pub const QUICKNET_HASH: &str = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
/// Chain hash of the default chain.
pub const DEFAULT_HASH: &str = "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce";

const BEACONS_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../engine/tests/vectors/drand_beacons.json"
));

/// A real beacon from the data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beacon {
    /// The round.
    pub round: u64,
    /// `sha256(signature)`, lowercase hex.
    pub randomness: String,
    /// The BLS signature, lowercase hex.
    pub signature: String,
    /// The previous round's signature (default chain), lowercase hex; absent
    /// for quicknet and where the source did not give it (round 1337).
    pub previous_signature: Option<String>,
}

/// A chain with its info documents and known beacons.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// Beacon id: `default` or `quicknet`.
    pub id: String,
    /// Chain hash, lowercase hex.
    pub hash: String,
    /// `/info` (v1 shape).
    pub info_v1: Value,
    /// `/v2/.../info` (v2 shape).
    pub info_v2: Value,
    /// Period in seconds.
    pub period: i64,
    /// Unix time of round 1.
    pub genesis_time: i64,
    /// The beacons the relay has, by round.
    pub beacons: BTreeMap<u64, Beacon>,
}

/// The chains of the data file, quicknet and default.
///
/// # Panics
/// If the pinned data file is malformed (a broken checkout).
pub fn chains() -> &'static [Chain] {
    static CHAINS: OnceLock<Vec<Chain>> = OnceLock::new();
    CHAINS.get_or_init(|| {
        let doc: Value = serde_json::from_str(BEACONS_JSON).expect("drand_beacons.json is JSON");
        let chains = doc["chains"].as_object().expect("drand_beacons.json has chains");
        let mut out: Vec<Chain> = chains
            .iter()
            .map(|(id, c)| {
                let v1 = c["info_v1"].clone();
                let info_v2 = c.get("info_v2").cloned().unwrap_or_else(|| {
                    json!({
                        "public_key": v1["public_key"], "period": v1["period"], "genesis_time": v1["genesis_time"],
                        "genesis_seed": v1["groupHash"], "chain_hash": v1["hash"], "scheme": v1["schemeID"],
                        "beacon_id": v1["metadata"]["beaconID"],
                    })
                });
                let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
                let beacons = c["beacons"]
                    .as_array()
                    .expect("beacons")
                    .iter()
                    .map(|b| {
                        let round = b["round"].as_u64().expect("round");
                        let beacon = Beacon {
                            round,
                            randomness: text(&b["randomness"]).expect("randomness"),
                            signature: text(&b["signature"]).expect("signature"),
                            previous_signature: text(&b["previous_signature"]),
                        };
                        (round, beacon)
                    })
                    .collect();
                Chain {
                    id: id.clone(),
                    hash: v1["hash"].as_str().expect("hash").to_owned(),
                    period: v1["period"].as_i64().expect("period"),
                    genesis_time: v1["genesis_time"].as_i64().expect("genesis_time"),
                    info_v1: v1,
                    info_v2,
                    beacons,
                }
            })
            .collect();
        out.sort_by_key(|c| c.id != "quicknet");
        out
    })
}

/// The chain with beacon id `id`.
pub fn chain(id: &str) -> Option<&'static Chain> {
    chains().iter().find(|c| c.id == id)
}

/// The real beacon of `chain` (beacon id) at `round`, if the data file has it.
pub fn beacon(chain_id: &str, round: u64) -> Option<&'static Beacon> {
    chain(chain_id)?.beacons.get(&round)
}

/// What the relay serves and how it misbehaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Flip the lowest bit of every signature served.
    pub tamper: bool,
    /// The latest round per beacon id; later rounds are 425 Too Early.
    /// A chain not listed has the highest round of the data file.
    pub latest: BTreeMap<String, u64>,
    /// Injected rate limits (429 with `Retry-After`) and 500 answers.
    pub faults: Faults,
}

impl Config {
    /// The latest round of `chain`.
    pub fn latest_round(&self, chain: &Chain) -> u64 {
        self.latest
            .get(&chain.id)
            .copied()
            .unwrap_or_else(|| chain.beacons.keys().last().copied().unwrap_or(1))
    }
}

/// `sig` with the lowest bit of its last byte flipped.
pub fn tamper_signature(sig: &str) -> String {
    let mut bytes = hex::decode(sig).unwrap_or_default();
    if let Some(b) = bytes.last_mut() {
        *b ^= 1;
    }
    hex::encode(bytes)
}

/// Starts the mock on the current Tokio runtime.
pub async fn start(config: Config) -> MockHandle<Config> {
    super::serve(config, app).await
}

/// Starts the mock on a background thread, for synchronous tests.
pub fn start_blocking(config: Config) -> MockHandle<Config> {
    super::start_blocking(move || start(config))
}

fn app(shared: Arc<Shared<Config>>) -> Router {
    Router::new().fallback(relay).with_state(shared)
}

/// Go's `http.Error`: plain text and a trailing newline.
fn go_error(status: StatusCode, msg: &str) -> Response {
    let mut r = (status, format!("{msg}\n")).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn no_cache(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("must-revalidate, no-cache, max-age=0"),
    );
    r
}

fn json_ok(body: &impl Serialize, cache: Option<String>) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(c) = cache.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::CACHE_CONTROL, c);
    }
    r
}

/// A v1 (with randomness) or v2 (without) beacon, fields in the relay's order.
#[derive(Serialize)]
struct BeaconJson<'a> {
    round: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    randomness: Option<&'a str>,
    signature: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_signature: Option<&'a str>,
}

/// Which chain a path names.
enum Named<'a> {
    Default,
    Hash(&'a str),
    Id(&'a str),
}

async fn relay(
    State(shared): State<Arc<Shared<Config>>>,
    Extension(RequestNo(n)): Extension<RequestNo>,
    req: Request,
) -> Response {
    let config = shared.config();
    match config.faults.for_request(n) {
        Some(Fault::RateLimited) => {
            let mut r = go_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(config.faults.rate_limit_reset_secs),
            );
            return r;
        }
        Some(Fault::ServerError) => {
            return no_cache(go_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Failed to get beacon",
            ));
        }
        None => {}
    }
    let path = req.uri().path().to_owned();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let all_hashes: Vec<&str> = chains().iter().map(|c| c.hash.as_str()).collect();
    let all_ids: Vec<&str> = chains().iter().map(|c| c.id.as_str()).collect();
    match segs.as_slice() {
        ["health"] => health(&config, Named::Default),
        ["chains"] | ["v2", "chains"] => json_ok(&all_hashes, None),
        ["v2", "beacons"] => json_ok(&all_ids, None),
        ["info"] => info(Named::Default, false),
        ["public", round] => get_beacon(&config, Named::Default, round, false),
        ["v2", "beacons", id, "info"] => info(Named::Id(id), true),
        ["v2", "chains", hash, "info"] => info(Named::Hash(hash), true),
        ["v2", "beacons", id, "rounds", round] => get_beacon(&config, Named::Id(id), round, true),
        ["v2", "chains", hash, "rounds", round] => {
            get_beacon(&config, Named::Hash(hash), round, true)
        }
        [hash, "info"] if *hash != "v2" => info(Named::Hash(hash), false),
        [hash, "health"] if *hash != "v2" => health(&config, Named::Hash(hash)),
        [hash, "public", round] if *hash != "v2" => {
            get_beacon(&config, Named::Hash(hash), round, false)
        }
        _ => go_error(StatusCode::NOT_FOUND, "404 page not found"),
    }
}

fn resolve(named: Named<'_>) -> Result<&'static Chain, Response> {
    match named {
        Named::Default => chain("default")
            .ok_or_else(|| go_error(StatusCode::INTERNAL_SERVER_ERROR, "Failed to get beacon")),
        Named::Hash(h) => chains()
            .iter()
            .find(|c| c.hash == h)
            .ok_or_else(|| go_error(StatusCode::BAD_REQUEST, "unknown chain hash")),
        Named::Id(id) => chain(id).ok_or_else(|| {
            no_cache(go_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Failed to get beacon",
            ))
        }),
    }
}

fn info(named: Named<'_>, v2: bool) -> Response {
    match resolve(named) {
        Ok(c) => json_ok(
            if v2 { &c.info_v2 } else { &c.info_v1 },
            Some("public, max-age=604800, immutable".into()),
        ),
        Err(r) => r,
    }
}

fn health(config: &Config, named: Named<'_>) -> Response {
    match resolve(named) {
        Ok(c) => {
            let latest = config.latest_round(c);
            let mut r = json_ok(
                &json!({ "current": latest, "expected": latest }),
                Some("no-cache".into()),
            );
            r.headers_mut().remove(header::CONTENT_TYPE);
            r
        }
        Err(r) => r,
    }
}

/// Go's `strconv.ParseUint` error text.
fn parse_round(s: &str) -> Result<u64, String> {
    s.parse::<u64>().map_err(|_| {
        let why = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        format!("strconv.ParseUint: parsing {s:?}: {why}")
    })
}

fn get_beacon(config: &Config, named: Named<'_>, round: &str, v2: bool) -> Response {
    let chain = match resolve(named) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let latest = config.latest_round(chain);
    let (round, is_latest) = if round == "latest" {
        (latest, true)
    } else {
        match parse_round(round) {
            Ok(0) => (latest, true),
            Ok(r) => (r, false),
            Err(e) => {
                let mut r = go_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Failed to parse round. Err: {e}"),
                );
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=604800, immutable"),
                );
                return r;
            }
        }
    };
    if round > latest {
        return no_cache(go_error(
            StatusCode::from_u16(425).unwrap_or(StatusCode::BAD_REQUEST),
            "Requested future beacon",
        ));
    }
    let Some(b) = chain.beacons.get(&round) else {
        return no_cache(go_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Failed to get beacon",
        ));
    };
    let signature = if config.tamper {
        tamper_signature(&b.signature)
    } else {
        b.signature.clone()
    };
    let body = BeaconJson {
        round: b.round,
        randomness: (!v2).then_some(b.randomness.as_str()),
        signature,
        previous_signature: b.previous_signature.as_deref(),
    };
    let cache = if is_latest {
        let next_time =
            chain.genesis_time + i64::try_from(latest).unwrap_or(i64::MAX / 2) * chain.period;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        format!(
            "public, must-revalidate, max-age={}",
            (next_time - now).max(0)
        )
    } else {
        "public, max-age=604800, immutable".to_owned()
    };
    json_ok(&body, Some(cache))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::http;

    #[test]
    fn serves_the_real_beacons_in_v1_and_v2_shapes() {
        let d = start_blocking(Config::default());
        let r =
            http::get(&format!("{}/{QUICKNET_HASH}/public/123", d.origin), &[]).expect("request");
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=604800, immutable")
        );
        let expected = beacon("quicknet", 123).expect("round 123 in the data file");
        assert_eq!(
            r.text(),
            format!(
                r#"{{"round":123,"randomness":"{}","signature":"{}"}}"#,
                expected.randomness, expected.signature
            )
        );

        let v2 = http::get(&format!("{}/v2/beacons/quicknet/rounds/123", d.origin), &[])
            .expect("request");
        assert_eq!(
            v2.text(),
            format!(r#"{{"round":123,"signature":"{}"}}"#, expected.signature)
        );
        let v2h = http::get(
            &format!("{}/v2/chains/{QUICKNET_HASH}/rounds/123", d.origin),
            &[],
        )
        .expect("request");
        assert_eq!(v2h.body, v2.body);

        // No chain hash: the default chain, chained scheme with previous_signature.
        let r = http::get(&format!("{}/public/72785", d.origin), &[])
            .expect("request")
            .json()
            .expect("json");
        let b = beacon("default", 72785).expect("round 72785");
        assert_eq!(
            r,
            json!({ "round": 72785, "randomness": b.randomness, "signature": b.signature, "previous_signature": b.previous_signature })
        );
        let same = http::get(&format!("{}/{DEFAULT_HASH}/public/72785", d.origin), &[])
            .expect("request")
            .json()
            .expect("json");
        assert_eq!(same, r);
    }

    #[test]
    fn served_beacons_verify_with_the_engine_and_tampered_ones_do_not() {
        use fairdraw_engine::randomness::drand;
        let d = start_blocking(Config::default());
        for (chain, path) in [
            ("quicknet", format!("{QUICKNET_HASH}/public/123")),
            ("default", "public/2634945".to_owned()),
        ] {
            let body = http::get(&format!("{}/{path}", d.origin), &[])
                .expect("request")
                .body;
            let c = drand::chain(chain).expect("built-in chain");
            drand::parse_relay_json(&body)
                .expect("relay JSON")
                .realise(c)
                .expect("a real beacon verifies");
        }
        d.configure(|c| c.tamper = true);
        let body = http::get(&format!("{}/{QUICKNET_HASH}/public/123", d.origin), &[])
            .expect("request")
            .body;
        let quicknet = drand::chain("quicknet").expect("quicknet");
        let beacon = drand::parse_relay_json(&body).expect("still well-formed JSON");
        assert!(
            beacon.realise(quicknet).is_err(),
            "a tampered signature must not verify"
        );
    }

    #[test]
    fn latest_future_and_errors_as_the_relay_sends_them() {
        let d = start_blocking(Config::default());
        let get = |p: &str| http::get(&format!("{}{p}", d.origin), &[]).expect("request");

        let latest = get(&format!("/{QUICKNET_HASH}/public/latest"));
        assert_eq!(latest.json().expect("json")["round"], 123);
        assert!(
            latest
                .header("cache-control")
                .is_some_and(|c| c.starts_with("public, must-revalidate, max-age="))
        );
        assert_eq!(
            get("/v2/beacons/default/rounds/latest")
                .json()
                .expect("json")["round"],
            2634945
        );

        let future = get(&format!("/{QUICKNET_HASH}/public/124"));
        assert_eq!(
            (
                future.status,
                future.reason.as_str(),
                future.text().as_str()
            ),
            (425, "Too Early", "Requested future beacon\n")
        );
        assert_eq!(
            future.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(
            future.header("cache-control"),
            Some("must-revalidate, no-cache, max-age=0")
        );

        d.configure(|c| {
            c.latest.insert("quicknet".into(), 1_000_000);
        });
        let missing = get(&format!("/{QUICKNET_HASH}/public/124"));
        assert_eq!(
            (missing.status, missing.text().as_str()),
            (500, "Failed to get beacon\n")
        );

        let bad = get("/public/abc");
        assert_eq!(
            (bad.status, bad.text().as_str()),
            (
                400,
                "Failed to parse round. Err: strconv.ParseUint: parsing \"abc\": invalid syntax\n"
            )
        );
        let unknown = get(&format!("/{}/public/1", "00".repeat(32)));
        assert_eq!(
            (unknown.status, unknown.text().as_str()),
            (400, "unknown chain hash\n")
        );
        assert_eq!(get("/v2/beacons/nope/rounds/1").status, 500);
        let nf = get("/no/such/path/here");
        assert_eq!(
            (nf.status, nf.text().as_str()),
            (404, "404 page not found\n")
        );
    }

    #[test]
    fn info_chains_and_faults() {
        let d = start_blocking(Config {
            faults: Faults {
                rate_limit_first: 1,
                rate_limit_reset_secs: 7,
                fail_first: 1,
                ..Faults::default()
            },
            ..Config::default()
        });
        let get = |p: &str| http::get(&format!("{}{p}", d.origin), &[]).expect("request");
        let r = get("/chains");
        assert_eq!((r.status, r.header("retry-after")), (429, Some("7")));
        assert_eq!(get("/chains").status, 500);
        assert_eq!(
            get("/chains").json().expect("json"),
            json!([QUICKNET_HASH, DEFAULT_HASH])
        );
        assert_eq!(
            get(&format!("/{QUICKNET_HASH}/info")).json().expect("json")["schemeID"],
            "bls-unchained-g1-rfc9380"
        );
        let v2 = get("/v2/beacons/default/info").json().expect("json");
        assert_eq!(
            v2["genesis_seed"],
            "176f93498eac9ca337150b46d21dd58673ea4e3581185f869672e59fa4cb390a"
        );
        assert_eq!(v2["chain_hash"], DEFAULT_HASH);
        assert_eq!(get("/info").json().expect("json")["hash"], DEFAULT_HASH);
        assert_eq!(d.request_count(), 6);
        assert!(d.credentials_seen().is_empty());
    }
}
