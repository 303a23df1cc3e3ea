//! Fetching a declared drand round through the beacon plugin, for
//! `POST /v1/draws/{id}/execute` without a `beacon` in the body.
//!
//! The plugin only carries bytes: the engine checks the round's BLS
//! signature against the chain's built-in public key before the beacon is
//! used, so a plugin (or a relay behind it) that lies is refused with 503
//! and the draw stays locked.

use std::path::PathBuf;
use std::sync::Arc;

use fairdraw_engine::encoding::parse_hex;
use fairdraw_engine::randomness::drand;
use fairdraw_runtime::{BeaconPlugin, LoadError, PluginError, PluginRuntime};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::routes::rfc3339;

/// Plugin calls that may run at once on the blocking pool, by default.
pub const DEFAULT_CONCURRENT_FETCHES: usize = 4;

/// The beacon plugin the server may call: a plugin runtime over the data
/// directory's installed plugins, and the plugin's id.
///
/// The plugin runtime is synchronous: each fetch runs on Tokio's blocking
/// pool, at most [`DEFAULT_CONCURRENT_FETCHES`] at once (a semaphore shared
/// by the clones), so neither the `execute` route nor the workers can tie
/// up the pool or block the async server.
#[derive(Clone, Debug)]
pub struct Beacons {
    runtime: Option<PluginRuntime>,
    plugin: String,
    plugins_dir: Option<PathBuf>,
    permits: Arc<Semaphore>,
    relays: Vec<String>,
}

impl Default for Beacons {
    fn default() -> Self {
        Beacons {
            runtime: None,
            plugin: String::new(),
            plugins_dir: None,
            permits: Arc::new(Semaphore::new(DEFAULT_CONCURRENT_FETCHES)),
            relays: Vec::new(),
        }
    }
}

impl Beacons {
    /// No plugins: `execute` then needs the beacon in its body (503
    /// otherwise).
    pub fn none() -> Beacons {
        Beacons::default()
    }

    /// The plugin `plugin` (a beacon plugin, usually `drand`) of `runtime`.
    pub fn new(runtime: PluginRuntime, plugin: impl Into<String>) -> Beacons {
        Beacons {
            plugins_dir: Some(runtime.plugins_dir()),
            runtime: Some(runtime),
            plugin: plugin.into(),
            ..Beacons::default()
        }
    }

    /// The same plugin, trying these relays in order (the plugin's `relay`
    /// setting, one relay per attempt) instead of the one in its manifest.
    /// Each relay's origin must be in the plugin's `http.allow`; empty
    /// entries are ignored.
    pub fn with_relays(mut self, relays: &[String]) -> Beacons {
        self.relays = relays
            .iter()
            .map(|r| r.trim().trim_end_matches('/').to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        self
    }

    /// The relays tried in order (empty: the plugin's own setting).
    pub fn relays(&self) -> &[String] {
        &self.relays
    }

    fn not_installed(&self, why: &dyn std::fmt::Display) -> ApiError {
        let install = match &self.plugins_dir {
            Some(dir) => format!(
                "install one into {} (`fairdraw plugin install plugins/drand --data-dir DATA_DIR`)",
                dir.display()
            ),
            None => "this server runs without plugins".to_owned(),
        };
        ApiError::BeaconUnavailable {
            detail: format!(
                "this drand draw needs its beacon: send the relay's JSON for the declared round as `beacon`, \
                 or let the server fetch it through a beacon plugin ({why}; {install})"
            ),
            retry_after: None,
        }
    }

    /// Fetches `round` of `chain` through the plugin and verifies it with
    /// the engine. Runs the blocking plugin call on `spawn_blocking`.
    ///
    /// Returns the beacon as relay JSON (`round`, `signature`,
    /// `previous_signature`), ready for the engine's `parse_relay_json`.
    /// Fails with 503 `beacon-unavailable` when no beacon plugin is
    /// installed, the relay has not published the round yet (with
    /// `Retry-After` and the round's due time), the relay fails, or the
    /// beacon it returns does not verify; with 500 when the plugin faults.
    pub async fn fetch(&self, chain: &'static drand::Chain, round: u64) -> Result<Value, ApiError> {
        let Some(runtime) = self.runtime.clone() else {
            return Err(self.not_installed(&"no plugin runtime is configured"));
        };
        let plugin = match runtime.beacon(&self.plugin) {
            Ok(p) => p,
            Err(e @ (LoadError::NotInstalled(_) | LoadError::WrongKind { .. })) => {
                return Err(self.not_installed(&e));
            }
            Err(e) => return Err(ApiError::Internal(format!("beacon plugin: {e}"))),
        };
        let id = self.plugin.clone();
        let due = rfc3339(chain.round_time(round).unix().saturating_mul(1000));
        let what = format!("drand {} round {round} (due {due})", chain.name);
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(format!("beacon fetch permits: {e}")))?;
        let relays = self.relays.clone();
        tokio::task::spawn_blocking(move || {
            if relays.is_empty() {
                return fetch_from(&plugin, &id, chain, round, &what);
            }
            // Failover: each relay in turn; a relay that fails or returns a
            // beacon the engine refuses is logged and skipped.
            let mut failures: Vec<(String, ApiError)> = Vec::new();
            for relay in &relays {
                let via = plugin.with_config("relay", relay);
                match fetch_from(&via, &id, chain, round, &what) {
                    Ok(beacon) => return Ok(beacon),
                    Err(e) => {
                        tracing::warn!(relay = %relay, error = %e, "drand relay skipped");
                        failures.push((relay.clone(), e));
                    }
                }
            }
            Err(every_relay_failed(&what, failures))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("beacon plugin task: {e}")))?
    }
}

/// Fetches and verifies the round through one plugin (one relay).
fn fetch_from(
    plugin: &BeaconPlugin,
    id: &str,
    chain: &'static drand::Chain,
    round: u64,
    what: &str,
) -> Result<Value, ApiError> {
    let got = plugin
        .fetch(chain.name, Some(round))
        .map_err(|fault| ApiError::Internal(format!("beacon plugin `{id}` faulted: {fault}")))?;
    let got = match got {
        Ok(r) => r,
        Err(PluginError::RateLimited(r)) => {
            return Err(ApiError::BeaconUnavailable {
                detail: format!(
                    "{what} is not available from the relay yet (plugin `{id}`: {}); retry later",
                    r.message
                ),
                retry_after: Some(r.retry_after_seconds.unwrap_or(1).max(1)),
            });
        }
        Err(e) => {
            return Err(ApiError::BeaconUnavailable {
                detail: format!("plugin `{id}` could not fetch {what}: {e}"),
                retry_after: e.is_retryable().then_some(30),
            });
        }
    };
    let refuse = |why: String| ApiError::BeaconUnavailable {
        detail: format!("refusing the beacon plugin `{id}` returned for {what}: {why}"),
        retry_after: None,
    };
    if got.chain != chain.name || got.round != round {
        return Err(refuse(format!("it is {} round {}", got.chain, got.round)));
    }
    let mut beacon = serde_json::Map::new();
    beacon.insert("round".into(), json!(got.round));
    beacon.insert("signature".into(), json!(got.signature));
    if let Some(p) = got.previous_signature.filter(|p| !p.is_empty()) {
        beacon.insert("previous_signature".into(), json!(p));
    }
    let beacon = Value::Object(beacon);
    // Verify here, so a lying relay is the plugin's 503, not the
    // caller's 422.
    parse_hex(&got.signature).map_err(|e| refuse(format!("signature: {e}")))?;
    let bytes = serde_json::to_vec(&beacon).map_err(|e| ApiError::Internal(e.to_string()))?;
    drand::parse_relay_json(&bytes)
        .and_then(|b| b.realise(chain))
        .map_err(|e| refuse(e.to_string()))?;
    Ok(beacon)
}

/// The error when every relay of the list failed: 503 naming each relay
/// and its failure, with the soonest `Retry-After` any of them gave; a
/// plugin fault (500) only when every relay faulted.
fn every_relay_failed(what: &str, failures: Vec<(String, ApiError)>) -> ApiError {
    if failures
        .iter()
        .all(|(_, e)| matches!(e, ApiError::Internal(_)))
    {
        if let Some((_, first)) = failures.into_iter().next() {
            return first;
        }
        return ApiError::Internal(format!("no relay was tried for {what}"));
    }
    let retry_after = failures
        .iter()
        .filter_map(|(_, e)| match e {
            ApiError::BeaconUnavailable { retry_after, .. } => *retry_after,
            _ => None,
        })
        .min();
    let each: Vec<String> = failures
        .iter()
        .map(|(relay, e)| format!("{relay}: {e}"))
        .collect();
    ApiError::BeaconUnavailable {
        detail: format!("no relay served a valid {what}; {}", each.join("; ")),
        retry_after,
    }
}
