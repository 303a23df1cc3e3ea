//! `fairdraw serve --dev --demo`: a demo organisation and a demo draw,
//! already executed, made offline on first start and found again on later
//! starts.
//!
//! The draw is the one `scripts/demo.sh` makes with the CLI: the sample
//! entries and rules of `tests/fixtures/giveaway`, drand default-chain round
//! 2634945 declared explicitly, locked at 2023-01-23T13:00:00Z (before the
//! round's time, 13:09:30Z) and executed at 13:10:00Z with the real beacon
//! of that round, pinned in the fixtures. No network is needed.
//!
//! Every step goes through the API's own routes ([`crate::app`]) with the
//! demo's API key and a clock fixed at those times, so the demo is made by
//! the same code as any draw.
//!
//! An API key is stored only as its SHA-256, so the server cannot show a
//! stored one again: each start makes a fresh admin key for the demo
//! organisation, prints it, and revokes the demo organisation's other keys.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, header};
use fairdraw_engine::bundle::ParsedBundle;
use fairdraw_store::{DrawFilter, DrawState, Organization, Scope, StoreError};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::state::AppState;

/// The demo organisation's name; `--demo` finds it by this name.
pub const DEMO_ORG: &str = "fairdraw demo";
/// The demo draw's title.
pub const DEMO_TITLE: &str = "ACME new year giveaway (demo)";
/// The randomness: the real drand default-chain round the fixtures pin.
pub const DEMO_RANDOMNESS: &str = "drand:default:2634945";
/// When the demo organisation (and its signing key) starts:
/// 2023-01-01T00:00:00Z, before the lock, so the key is valid at lock time.
pub const ORG_AT: i64 = 1_672_531_200_000;
/// Lock time: 2023-01-23T13:00:00Z, before the round's time (13:09:30Z).
pub const LOCK_AT: i64 = 1_674_478_800_000;
/// Execution time: 2023-01-23T13:10:00Z, after the round's time.
pub const EXECUTE_AT: i64 = 1_674_479_400_000;
/// The label of the key each start prints.
pub const DEMO_KEY_LABEL: &str = "demo: printed by `fairdraw serve --demo`";

const COMMENTS: &str = include_str!("../../../tests/fixtures/giveaway/comments.jsonl");
const LIKES: &str = include_str!("../../../tests/fixtures/giveaway/likes.csv");
const RULES: &str = include_str!("../../../tests/fixtures/giveaway/rules.json");
const BEACON: &str = include_str!("../../../tests/fixtures/giveaway/beacon-default-2634945.json");

/// Why the demo could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A step of the draw was refused by the API.
    #[error("demo draw: {step} answered {status}: {body}")]
    Step {
        /// The step, e.g. `lock`.
        step: &'static str,
        /// The HTTP status.
        status: u16,
        /// The response body.
        body: String,
    },
    /// A stored document of the demo draw does not read.
    #[error("demo draw: {0}")]
    Corrupt(String),
}

/// The demo: what `fairdraw serve --demo` prints.
#[derive(Clone, Debug)]
pub struct Demo {
    /// The demo organisation.
    pub org: Organization,
    /// An admin API key of the demo organisation, fresh from this start.
    pub api_key: String,
    /// The demo draw's id.
    pub draw_id: String,
    /// The demo draw's lock hash.
    pub lock_hash: String,
    /// An entrant to look up (the first winner's handle).
    pub entrant: String,
    /// Whether this start created the draw (false: found from an earlier start).
    pub created: bool,
}

impl Demo {
    /// The public URLs of the demo draw under `base` (e.g.
    /// `http://127.0.0.1:8080`): summary, lock receipt, bundle, an entrant
    /// look-up and the keys document, each with a label.
    pub fn urls(&self, base: &str) -> Vec<(&'static str, String)> {
        let base = base.trim_end_matches('/');
        let draw = format!("{base}/v1/public/draws/{}", self.draw_id);
        vec![
            ("summary", draw.clone()),
            ("lock receipt", format!("{draw}/lock-receipt")),
            ("bundle", format!("{draw}/bundle")),
            ("entrant", format!("{draw}/entrants/{}", self.entrant)),
            ("keys", format!("{base}/.well-known/fairdraw-keys.json")),
        ]
    }
}

/// One call to the API as the demo organisation, at a fixed time.
struct Caller<'a> {
    state: &'a AppState,
    key: String,
}

impl Caller<'_> {
    async fn call(
        &self,
        step: &'static str,
        at: i64,
        method: Method,
        path: &str,
        content_type: &str,
        body: String,
    ) -> Result<Value, DemoError> {
        let router = crate::app(self.state.clone().with_clock(Arc::new(move || at)));
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .map_err(|e| DemoError::Corrupt(format!("{step}: {e}")))?;
        let res = match router.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .map_err(|e| DemoError::Corrupt(format!("{step}: {e}")))?;
        if !status.is_success() {
            return Err(DemoError::Step {
                step,
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| DemoError::Corrupt(format!("{step}: {e}")))
    }
}

/// Sets up the demo, or finds the one an earlier start made: the
/// organisation named [`DEMO_ORG`] (the oldest, if several) and its draw
/// titled [`DEMO_TITLE`]. A draft or locked demo draw (a start that stopped
/// half-way) is carried on; a cancelled or failed one is replaced.
///
/// Fails when the database fails or a step of the draw is refused.
pub async fn ensure(state: &AppState) -> Result<Demo, DemoError> {
    let store = &state.store;
    let now = state.now();
    let (org, key) = match store.orgs_named(DEMO_ORG).await?.into_iter().next() {
        Some(org) => {
            let key = store
                .create_api_key(&org.id, Scope::Admin, DEMO_KEY_LABEL, now)
                .await?;
            for old in store.api_keys(&org.id).await? {
                if old.id != key.key.id && old.revoked_at.is_none() {
                    store.revoke_api_key(Some(&org.id), &old.id, now).await?;
                }
            }
            (org, key.secret)
        }
        None => {
            let (org, key) = store.create_org(DEMO_ORG, ORG_AT).await?;
            (org, key.secret)
        }
    };
    let caller = Caller { state, key };
    let existing = store
        .draws(
            &org.id,
            &DrawFilter {
                limit: 1000,
                ..DrawFilter::default()
            },
        )
        .await?
        .into_iter()
        .filter(|d| d.title == DEMO_TITLE)
        .filter(|d| !matches!(d.state, DrawState::Cancelled | DrawState::Failed))
        .max_by_key(|d| (d.state == DrawState::Executed, d.created_at));
    let mut created = false;
    let mut draw = match existing {
        Some(d) => d,
        None => {
            let rules: Value = serde_json::from_str(RULES)
                .map_err(|e| DemoError::Corrupt(format!("rules fixture: {e}")))?;
            let body = json!({"title": DEMO_TITLE, "rules": rules, "randomness": DEMO_RANDOMNESS});
            let v = caller
                .call(
                    "create",
                    LOCK_AT,
                    Method::POST,
                    "/v1/draws",
                    "application/json",
                    body.to_string(),
                )
                .await?;
            created = true;
            let id = v["id"]
                .as_str()
                .ok_or_else(|| DemoError::Corrupt("create answered no id".into()))?;
            store.draw(&org.id, id).await?
        }
    };
    let id = draw.id.clone();
    if draw.state == DrawState::Draft {
        // A repeated upload of the same body adds nothing, so a start that
        // stopped half-way carries on safely.
        for (collection, content_type, body) in [
            ("comments", "application/x-ndjson", COMMENTS),
            ("likes", "text/csv", LIKES),
        ] {
            caller
                .call(
                    "upload",
                    LOCK_AT,
                    Method::POST,
                    &format!("/v1/draws/{id}/entries?collection={collection}"),
                    content_type,
                    body.to_owned(),
                )
                .await?;
        }
        caller
            .call(
                "lock",
                LOCK_AT,
                Method::POST,
                &format!("/v1/draws/{id}/lock"),
                "application/json",
                "{}".into(),
            )
            .await?;
        draw = store.draw(&org.id, &id).await?;
    }
    if draw.state == DrawState::Locked {
        let beacon: Value = serde_json::from_str(BEACON)
            .map_err(|e| DemoError::Corrupt(format!("beacon fixture: {e}")))?;
        caller
            .call(
                "execute",
                EXECUTE_AT,
                Method::POST,
                &format!("/v1/draws/{id}/execute"),
                "application/json",
                json!({ "beacon": beacon }).to_string(),
            )
            .await?;
        draw = store.draw(&org.id, &id).await?;
    }
    let lock_hash = draw
        .lock_hash
        .clone()
        .ok_or_else(|| DemoError::Corrupt(format!("draw {id} has no lock hash")))?;
    let bundle = store.bundle(&id).await?;
    let parsed = ParsedBundle::parse(&bundle.bundle)
        .map_err(|e| DemoError::Corrupt(format!("stored bundle: {e}")))?;
    let entrant = parsed
        .execution
        .as_ref()
        .and_then(|x| x.payload.winners.first())
        .map(|w| w.entry.handle.to_string())
        .ok_or_else(|| DemoError::Corrupt("the demo draw has no winner".into()))?;
    Ok(Demo {
        org,
        api_key: caller.key,
        draw_id: id,
        lock_hash,
        entrant,
        created,
    })
}
