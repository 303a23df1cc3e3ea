//! # fairdraw-web
//!
//! The in-browser verifier: thin conversions between JSON text and
//! `fairdraw-engine`, exported to JavaScript with wasm-bindgen when built for
//! `wasm32-unknown-unknown`. Every check is the engine's own
//! ([`verify_bundle`], [`prove_entrant`], [`KeysDocument::key_for`]), so the
//! browser, `fairdraw verify` and `fairdraw prove` cannot disagree; this
//! crate only chooses the trusted key the way `fairdraw verify --key` /
//! `--key-from` does and shapes the answers as JSON.
//!
//! ```
//! let answer = fairdraw_web::verify_json(b"not a bundle", "{}");
//! let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
//! assert_eq!(v["verified"], false);
//! assert_eq!(v["report"]["steps"][0]["status"], "failed");
//! ```

#![warn(missing_docs)]

use fairdraw_engine::bundle::{ParsedBundle, Selection};
use fairdraw_engine::draw::earliest_execution;
use fairdraw_engine::encoding::{Hash32, parse_hex_exact};
use fairdraw_engine::keys::KeysDocument;
use fairdraw_engine::log::TrustPolicy;
use fairdraw_engine::prove::prove_entrant;
use fairdraw_engine::randomness::Declared;
use fairdraw_engine::receipt::key_id;
use fairdraw_engine::verify::{Expectations, Report, verify_bundle};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[cfg(target_arch = "wasm32")]
mod bindings;

/// What the page trusts, from outside the bundle.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyOptions {
    /// A public key pinned by the page (64 hex characters).
    #[serde(default)]
    pub public_key: Option<String>,
    /// The text of a `/.well-known/fairdraw-keys.json` document: the key is
    /// chosen from it by the bundle's key id and lock time.
    #[serde(default)]
    pub keys_document: Option<String>,
    /// Where the keys document came from (shown to the user).
    #[serde(default)]
    pub keys_source: Option<String>,
    /// Why the page could not get the keys document it was asked to use
    /// (for example a failed fetch). A key was asked for and cannot be
    /// trusted, so the answer is not verified.
    #[serde(default)]
    pub keys_error: Option<String>,
    /// The lock hash published before the draw (64 hex characters).
    #[serde(default)]
    pub lock_hash: Option<String>,
    /// The text of a trust policy for a transparency log (the log's and the
    /// witnesses' keys and the quorum, as `fairdraw verify --policy`): the
    /// bundle's lock must then be logged and witnessed before its round.
    #[serde(default)]
    pub policy: Option<String>,
    /// Why the page could not get the policy it was asked to use. A policy
    /// was asked for, so the answer is not verified.
    #[serde(default)]
    pub policy_error: Option<String>,
}

/// Which key the verification trusted and why.
#[derive(Debug, Serialize)]
pub struct Trust {
    /// `pinned` (by the page), `host` (the host's published keys) or `none`.
    pub source: &'static str,
    /// Where the key came from, in words (the keys document's URL).
    pub from: Option<String>,
    /// The trusted public key, hex.
    pub public_key: Option<String>,
    /// Its key id.
    pub key_id: Option<String>,
    /// Why no key could be trusted although one was asked for. When set,
    /// the answer is never `verified`.
    pub error: Option<String>,
}

/// The answer of [`verify_json`].
#[derive(Debug, Serialize)]
pub struct Verification {
    /// Every step passed and the requested key could be trusted.
    pub verified: bool,
    /// The engine's report, unchanged.
    pub report: Report,
    /// The key trusted.
    pub trust: Trust,
}

/// Verifies a bundle against the options (JSON text of [`VerifyOptions`])
/// and returns [`Verification`] as JSON. Never panics: malformed options
/// come back as a failed `trust` and an unverified answer.
pub fn verify_json(bundle: &[u8], options: &str) -> String {
    let verification = verify(bundle, options);
    serde_json::to_string(&verification).unwrap_or_else(|e| error_json(&e.to_string()))
}

fn verify(bundle: &[u8], options: &str) -> Verification {
    let (options, mut trust_error) = match serde_json::from_str::<VerifyOptions>(options) {
        Ok(o) => (o, None),
        Err(e) => (
            VerifyOptions::default(),
            Some(format!("the verifier's options are malformed: {e}")),
        ),
    };
    let mut trust = Trust {
        source: "none",
        from: None,
        public_key: None,
        key_id: None,
        error: None,
    };
    let mut expect = Expectations::default();
    if let Some(hex_key) = options.public_key.as_deref() {
        trust.source = "pinned";
        trust.from = Some("the page".into());
        match parse_hex_exact::<32>(hex_key.trim()) {
            Ok(k) => expect.public_key = Some(k),
            Err(e) => trust_error = Some(format!("the pinned key is malformed: {e}")),
        }
    } else if let Some(why) = options.keys_error.as_deref() {
        trust.source = "host";
        trust.from = options.keys_source.clone();
        trust_error = Some(format!("the published keys could not be read: {why}"));
    } else if let Some(doc) = options.keys_document.as_deref() {
        trust.source = "host";
        trust.from = options.keys_source.clone();
        match key_from_document(bundle, doc) {
            Ok(k) => expect.public_key = Some(k),
            Err(e) => trust_error = Some(e),
        }
    }
    if let Some(k) = expect.public_key {
        trust.public_key = Some(hex::encode(k));
        trust.key_id = Some(key_id(&k).to_hex());
    }
    if let Some(h) = options.lock_hash.as_deref() {
        match Hash32::from_hex(h.trim()) {
            Ok(h) => expect.lock_hash = Some(h),
            Err(e) => trust_error = Some(format!("the published lock hash is malformed: {e}")),
        }
    }
    if let Some(why) = options.policy_error.as_deref() {
        trust_error = Some(format!("the log's trust policy could not be read: {why}"));
    } else if let Some(text) = options.policy.as_deref() {
        match TrustPolicy::from_json(text.as_bytes()) {
            Ok(p) => expect.policy = Some(p),
            Err(e) => trust_error = Some(format!("the log's trust policy is malformed: {e}")),
        }
    }
    let report = verify_bundle(bundle, &expect);
    trust.error = trust_error;
    Verification {
        verified: report.verified() && trust.error.is_none(),
        report,
        trust,
    }
}

/// The key a keys document lists for the bundle's lock key, valid when the
/// lock was signed (as `fairdraw verify --key-from`).
fn key_from_document(bundle: &[u8], doc: &str) -> Result<[u8; 32], String> {
    let parsed = ParsedBundle::parse(bundle)
        .map_err(|e| format!("the bundle cannot be read to find its signing key: {e}"))?;
    let doc = KeysDocument::parse(doc.as_bytes()).map_err(|e| e.to_string())?;
    doc.key_for(&parsed.lock.key_id, parsed.lock.payload.locked_at)
        .map_err(|e| e.to_string())
}

/// Looks an entrant up (`fairdraw prove`): the engine's `EntrantProof` as
/// JSON (`status` is `eligible`, `excluded` or `no_entry`), or
/// `{"status": "error", "error": "…"}` when the bundle cannot be read.
pub fn prove_json(bundle: &[u8], entrant: &str) -> String {
    let entrant = entrant.trim();
    if entrant.is_empty() || entrant == "@" {
        return error_json("type a handle or a user id");
    }
    let parsed = match ParsedBundle::parse(bundle) {
        Ok(b) => b,
        Err(e) => return error_json(&format!("not a fairdraw bundle: {e}")),
    };
    match prove_entrant(&parsed, entrant) {
        Ok(p) => serde_json::to_string(&p).unwrap_or_else(|e| error_json(&e.to_string())),
        Err(e) => error_json(&e.to_string()),
    }
}

fn error_json(message: &str) -> String {
    json!({"status": "error", "error": message}).to_string()
}

/// What a bundle (or a lock file) says about itself, before verification:
/// title, counts, the rules in plain words, the randomness, the lock hash,
/// the recorded winners, and the SHA-256 of the file. Shown while the
/// verification runs, marked as not yet verified. `{"error": …}` when the
/// file is not a bundle.
pub fn inspect_json(bundle: &[u8]) -> String {
    let sha256 = hex::encode(Sha256::digest(bundle));
    let parsed = match ParsedBundle::parse(bundle) {
        Ok(b) => b,
        Err(e) => {
            return json!({"error": format!("not a fairdraw bundle: {e}"), "sha256": sha256})
                .to_string();
        }
    };
    let lock = &parsed.lock.payload;
    let round = match &lock.randomness {
        Declared::Drand { chain, round, .. } => json!({"chain": chain, "round": round}),
        _ => Value::Null,
    };
    let entries: u64 = lock.collections.values().map(|c| c.entries).sum();
    let execution = parsed.execution.as_ref().map(|x| {
        let p = &x.payload;
        let seed = match &p.selection {
            Selection::Chacha20 { seed } => seed.to_hex(),
            Selection::Rfc3797 { key } => key.clone(),
        };
        json!({
            "executed_at": p.executed_at,
            "seed": seed,
            "winners": p.winners,
            "alternates": p.alternates,
        })
    });
    json!({
        "sha256": sha256,
        "draw_id": lock.draw_id,
        "title": lock.title,
        "rules": lock.rules,
        "rules_in_words": lock.rules.describe(),
        "randomness": lock.randomness.describe(),
        "drand": round,
        "randomness_available_at": earliest_execution(lock),
        "lock_hash": parsed.lock.hash().ok(),
        "key_id": parsed.lock.key_id,
        "locked_at": lock.locked_at,
        "entries": entries,
        "eligible": lock.eligible,
        "total_tickets": lock.total_tickets,
        "winners_count": lock.winners,
        "alternates_count": lock.alternates,
        "execution": execution,
    })
    .to_string()
}
