//! Webhook deliveries, signed per the Standard Webhooks specification
//! (<https://www.standardwebhooks.com/>).
//!
//! A state change of a draw records an event and, in the same transaction,
//! one delivery (`msg_…`) and its `deliver_webhook` job per subscribed
//! endpoint (see `fairdraw_store`'s events module). A worker claims the
//! job and POSTs the stored body with:
//!
//! - `webhook-id`: the delivery id, the same on every attempt (receivers
//!   deduplicate on it);
//! - `webhook-timestamp`: Unix seconds of this attempt, from the wall clock
//!   (receivers compare it with theirs to refuse replays);
//! - `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of
//!   `{id}.{timestamp}.{body}`, keyed with the bytes the `whsec_` secret
//!   encodes.
//!
//! A 2xx is success; anything else (another status, a timeout, a refused
//! address) is recorded as an attempt and retried with the queue's backoff,
//! until the job is dead. The request goes through the plugin runtime's
//! [`OutboundClient`]: the same address policy as plugins (every address a
//! name resolves to must be public, unless private destinations are allowed
//! for development), no redirects, 10 s, 64 KiB of response read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fairdraw_runtime::http::{HttpError, HttpRequest, OutboundClient, OutboundOptions};
use fairdraw_store::{DeliveryAttempt, Job, random_bytes};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::state::AppState;

/// The whole of one delivery attempt.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a response body read (the rest is an error).
pub const MAX_RESPONSE_BYTES: u64 = 64 << 10;
/// The prefix of a secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Sends deliveries under the outbound address policy.
#[derive(Clone, Debug)]
pub struct WebhookSender {
    client: Arc<OutboundClient>,
    allow_private: bool,
}

impl WebhookSender {
    /// A sender; `allow_private` lets it reach private, loopback and
    /// link-local addresses (a development setting).
    pub fn new(allow_private: bool) -> WebhookSender {
        WebhookSender {
            client: Arc::new(OutboundClient::new(OutboundOptions {
                allow_private,
                timeout: TIMEOUT,
                max_response_bytes: MAX_RESPONSE_BYTES,
                user_agent: format!("fairdraw-webhooks/{}", env!("CARGO_PKG_VERSION")),
            })),
            allow_private,
        }
    }

    /// Whether private destinations are allowed.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Checks an endpoint URL at registration: http(s), a host, no user
    /// info, no non-public IP literal (unless allowed). Names are checked
    /// after resolution, at every delivery.
    pub fn check_url(&self, url: &str) -> Result<(), String> {
        self.client.check_url(url).map(|_| ())
    }
}

/// A new secret: `whsec_` and the base64 of 32 random bytes; returns the
/// text shown once and the bytes stored (sealed).
pub fn new_secret() -> Result<(String, Vec<u8>), fairdraw_store::StoreError> {
    let bytes = random_bytes::<32>()?.to_vec();
    Ok((format!("{SECRET_PREFIX}{}", STANDARD.encode(&bytes)), bytes))
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// What a `deliver_webhook` job carries.
#[derive(Debug, Deserialize, Serialize)]
struct DeliverPayload {
    delivery_id: String,
}

/// How a delivery attempt ended, for the worker.
#[derive(Debug)]
pub enum Delivered {
    /// A 2xx, or nothing left to do (delivered before, endpoint deleted).
    Done,
    /// Failed: retry with backoff.
    Failed(String),
}

fn wall_clock_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One attempt of a `deliver_webhook` job.
pub async fn deliver(state: &AppState, job: &Job) -> Delivered {
    let payload: DeliverPayload = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Delivered::Failed(format!("the job's payload: {e}")),
    };
    let target = match state.store.delivery_target(&payload.delivery_id).await {
        Ok(t) => t,
        Err(e) => return Delivered::Failed(e.to_string()),
    };
    if target.webhook.deleted_at.is_some() {
        tracing::info!(delivery = %target.delivery.id, webhook = %target.webhook.id, "endpoint deleted: not delivered");
        return Delivered::Done;
    }
    if target.delivery.delivered_at.is_some() {
        return Delivered::Done;
    }
    let id = target.delivery.id.clone();
    let body = target.delivery.payload.clone().into_bytes();
    let timestamp = wall_clock_seconds();
    let request = HttpRequest {
        method: "POST".into(),
        url: target.webhook.url.clone(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("webhook-id".into(), id.clone()),
            ("webhook-timestamp".into(), timestamp.to_string()),
            (
                "webhook-signature".into(),
                signature(&target.secret, &id, timestamp, &body),
            ),
        ],
        body: Some(body),
    };
    let started_at = state.now();
    let t0 = Instant::now();
    let client = state.webhooks.client.clone();
    let sent = tokio::task::spawn_blocking(move || client.send(&request))
        .await
        .unwrap_or_else(|e| Err(HttpError::Transport(format!("delivery task: {e}"))));
    let duration_ms = i64::try_from(t0.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status, error) = match &sent {
        Ok(r) if (200..300).contains(&r.status) => (Some(i64::from(r.status)), None),
        Ok(r) => {
            let text = String::from_utf8_lossy(&r.body);
            let excerpt: String = text.chars().take(200).collect();
            (
                Some(i64::from(r.status)),
                Some(format!(
                    "the endpoint answered HTTP {}: {excerpt}",
                    r.status
                )),
            )
        }
        Err(e) => (None, Some(e.to_string())),
    };
    let attempt = DeliveryAttempt {
        n: 0,
        started_at,
        duration_ms,
        status,
        error: error.clone(),
    };
    if let Err(e) = state
        .store
        .record_attempt(&id, &attempt, error.is_none())
        .await
    {
        tracing::error!(delivery = %id, error = %e, "cannot record a delivery attempt");
    }
    match error {
        None => {
            tracing::info!(delivery = %id, webhook = %target.webhook.id, status = ?status, "webhook delivered");
            Delivered::Done
        }
        Some(e) => {
            tracing::warn!(delivery = %id, webhook = %target.webhook.id, error = %e, "webhook delivery failed");
            Delivered::Failed(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference
    /// libraries (svix's test vector).
    #[test]
    fn signature_matches_the_reference_vector() {
        let secret = STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .expect("base64");
        let sig = signature(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
