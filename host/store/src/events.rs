//! Draw events and webhooks: what a draw's state changes tell the world.
//!
//! Every state change appends a [`DrawEvent`] in the transaction that makes
//! it ([`insert_event`]), numbered per draw (`n` = 1, 2, …) under the
//! draw's row lock, so a draw's events commit in number order: the live
//! event stream (`GET /v1/public/draws/{id}/events`) polls for `n > last`
//! and never misses one, on any replica.
//!
//! An event of a webhook type ([`WEBHOOK_EVENTS`]) also queues, in the same
//! transaction, one [`Delivery`] and its `deliver_webhook` job per endpoint
//! of the organisation subscribed to it. Events carry a dedupe key (one
//! per state change), so a repeated change records and delivers nothing
//! twice; the delivery's id is the `webhook-id` every attempt sends.

use fairdraw_engine::time::Timestamp;
use zeroize::Zeroizing;

use crate::crypto::new_id;
use crate::db::{RowExt, Tx, on_db, on_tx};
use crate::jobs::insert_job;
use crate::{Job, JobKind, JobState, NewJob, Store, StoreError};

/// The event types an endpoint may subscribe to.
pub const WEBHOOK_EVENTS: [&str; 4] = [
    "draw.locked",
    "draw.executed",
    "draw.failed",
    "import.failed",
];

/// An event to record with a state change.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// The organisation owning the draw.
    pub org_id: String,
    /// The draw.
    pub draw_id: String,
    /// `draw.locked`, `draw.countdown`, `draw.beacon`, `draw.executed`,
    /// `draw.failed`.
    pub kind: String,
    /// The event's data (a JSON object; its `draw_id` is added).
    pub data: serde_json::Value,
    /// One event per key: the same change recorded again adds nothing.
    pub dedupe_key: String,
}

impl NewEvent {
    /// An event whose dedupe key is `kind:draw_id` (a change that happens
    /// once per draw).
    pub fn once(org_id: &str, draw_id: &str, kind: &str, data: serde_json::Value) -> NewEvent {
        NewEvent {
            org_id: org_id.to_owned(),
            draw_id: draw_id.to_owned(),
            kind: kind.to_owned(),
            data,
            dedupe_key: format!("{kind}:{draw_id}"),
        }
    }
}

/// A recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrawEvent {
    /// Opaque id, `evt_…`.
    pub id: String,
    /// The draw.
    pub draw_id: String,
    /// Its number within the draw, from 1, in commit order.
    pub n: i64,
    /// The type.
    pub kind: String,
    /// The data, JSON.
    pub data: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A webhook endpoint (its secret stays sealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// Opaque id, `whk_…`.
    pub id: String,
    /// The organisation.
    pub org_id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The subscribed event types.
    pub events: Vec<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// When it was deleted.
    pub deleted_at: Option<i64>,
}

/// One attempt to deliver a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// From 1.
    pub n: i64,
    /// Unix milliseconds.
    pub started_at: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// The response status, if a response came.
    pub status: Option<i64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// A message to one endpoint, with its attempts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Opaque id, `msg_…`: the `webhook-id` header.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The event.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The exact body sent.
    pub payload: String,
    /// The job delivering it.
    pub job_id: String,
    /// The job's state (`dead`: no more attempts).
    pub job_state: JobState,
    /// When the next attempt is due (while the job is queued).
    pub next_attempt_at: Option<i64>,
    /// Attempts made.
    pub attempts: i64,
    /// The last response status.
    pub last_status: Option<i64>,
    /// The last error.
    pub last_error: Option<String>,
    /// When a 2xx came back.
    pub delivered_at: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<DeliveryAttempt>,
}

/// What a delivery job needs: the message and its endpoint's secret.
#[derive(Debug)]
pub struct DeliveryTarget {
    /// The message.
    pub delivery: Delivery,
    /// The endpoint.
    pub webhook: Webhook,
    /// The endpoint's secret (the bytes a `whsec_` secret encodes).
    pub secret: Zeroizing<Vec<u8>>,
}

const WEBHOOK_COLUMNS: &str = "id, org_id, url, events, created_at, deleted_at";
const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.event_id, d.event_type, d.payload, d.job_id, j.state AS job_state, \
    j.run_at AS job_run_at, d.attempts, d.last_status, d.last_error, d.delivered_at, d.created_at";
const EVENT_COLUMNS: &str = "id, draw_id, n, type, data, created_at";

fn webhook_from<R: RowExt>(r: &R) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: r.text("id")?,
        org_id: r.text("org_id")?,
        url: r.text("url")?,
        events: r
            .text("events")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        created_at: r.int("created_at")?,
        deleted_at: r.opt_int("deleted_at")?,
    })
}

fn delivery_from<R: RowExt>(r: &R) -> Result<Delivery, StoreError> {
    let job_state = JobState::parse(&r.text("job_state")?)?;
    Ok(Delivery {
        id: r.text("id")?,
        webhook_id: r.text("webhook_id")?,
        event_id: r.text("event_id")?,
        event_type: r.text("event_type")?,
        payload: r.text("payload")?,
        job_id: r.text("job_id")?,
        job_state,
        next_attempt_at: (job_state == JobState::Queued)
            .then(|| r.int("job_run_at"))
            .transpose()?,
        attempts: r.int("attempts")?,
        last_status: r.opt_int("last_status")?,
        last_error: r.opt_text("last_error")?,
        delivered_at: r.opt_int("delivered_at")?,
        created_at: r.int("created_at")?,
        attempt_log: Vec::new(),
    })
}

fn event_from<R: RowExt>(r: &R) -> Result<DrawEvent, StoreError> {
    Ok(DrawEvent {
        id: r.text("id")?,
        draw_id: r.text("draw_id")?,
        n: r.int("n")?,
        kind: r.text("type")?,
        data: r.text("data")?,
        created_at: r.int("created_at")?,
    })
}

fn webhook_secret_context(webhook_id: &str) -> String {
    format!("fairdraw/webhook-secret/{webhook_id}")
}

/// Records `event` in `tx` (numbered under the draw's row lock) and queues
/// its deliveries. Returns `None` when its dedupe key was already recorded.
pub(crate) async fn insert_event(
    tx: &mut Tx,
    store: &Store,
    event: &NewEvent,
    now: i64,
) -> Result<Option<DrawEvent>, StoreError> {
    let n: Option<i64> = on_tx!(tx, c => {
        sqlx::query_scalar("UPDATE draws SET event_count = event_count + 1 WHERE id = $1 RETURNING event_count")
            .bind(&event.draw_id)
            .fetch_optional(c)
            .await?
    });
    let n = n.ok_or(StoreError::NotFound("draw"))?;
    let mut data = event.data.clone();
    if let Some(obj) = data.as_object_mut() {
        obj.insert("draw_id".into(), event.draw_id.clone().into());
    }
    let data = data.to_string();
    let id = new_id("evt")?;
    let sql = format!(
        "INSERT INTO draw_events (id, draw_id, org_id, n, type, data, dedupe_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING RETURNING {EVENT_COLUMNS}"
    );
    let ev = on_tx!(tx, c => {
        sqlx::query(&sql)
            .bind(&id)
            .bind(&event.draw_id)
            .bind(&event.org_id)
            .bind(n)
            .bind(&event.kind)
            .bind(&data)
            .bind(&event.dedupe_key)
            .bind(now)
            .fetch_optional(c)
            .await?
            .map(|r| event_from(&r))
    });
    let Some(ev) = ev.transpose()? else {
        return Ok(None);
    };
    if WEBHOOK_EVENTS.contains(&ev.kind.as_str()) {
        queue_deliveries(tx, store, event, &ev, now).await?;
    }
    Ok(Some(ev))
}

async fn queue_deliveries(
    tx: &mut Tx,
    store: &Store,
    event: &NewEvent,
    ev: &DrawEvent,
    now: i64,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE org_id = $1 AND deleted_at IS NULL ORDER BY created_at, id"
    );
    let hooks: Vec<Webhook> = on_tx!(tx, c => {
        sqlx::query(&sql)
            .bind(&event.org_id)
            .fetch_all(c)
            .await?
            .iter()
            .map(webhook_from)
            .collect::<Result<_, StoreError>>()?
    });
    let body = serde_json::json!({
        "type": ev.kind,
        "timestamp": Timestamp::from_unix(now.div_euclid(1000)).to_string(),
        "data": serde_json::from_str::<serde_json::Value>(&ev.data)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
    .to_string();
    for hook in hooks.iter().filter(|h| h.events.contains(&ev.kind)) {
        let delivery_id = new_id("msg")?;
        let job = NewJob {
            kind: JobKind::DeliverWebhook,
            org_id: event.org_id.clone(),
            draw_id: Some(event.draw_id.clone()),
            payload: serde_json::json!({ "delivery_id": delivery_id }).to_string(),
            run_at: now,
            max_attempts: store.webhook_attempts,
            dedupe_key: Some(format!("deliver_webhook:{}:{}", hook.id, ev.id)),
        };
        let Some(job) = insert_job(tx, &job, now).await? else {
            continue;
        };
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, org_id, event_id, event_type, payload, job_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(&delivery_id)
            .bind(&hook.id)
            .bind(&event.org_id)
            .bind(&ev.id)
            .bind(&ev.kind)
            .bind(&body)
            .bind(&job.id)
            .bind(now)
            .execute(c)
            .await?;
        });
    }
    Ok(())
}

/// The `draw.failed` event of a draw's beacon poll or execution job that
/// just went dead (automatic execution gave up); `None` for other jobs.
pub(crate) fn failed_event(job: &Job, error: &str) -> Option<NewEvent> {
    let draw_id = job.draw_id.as_deref()?;
    matches!(job.kind, JobKind::PollBeacon | JobKind::ExecuteDraw).then(|| {
        NewEvent::once(
            &job.org_id,
            draw_id,
            "draw.failed",
            serde_json::json!({
                "job_id": job.id,
                "job_kind": job.kind.as_str(),
                "attempts": job.attempts,
                "error": error,
                "state": "locked",
            }),
        )
    })
}

impl Store {
    /// Records `event` on its own (a change with no other write).
    pub async fn record_event(
        &self,
        event: &NewEvent,
        now: i64,
    ) -> Result<Option<DrawEvent>, StoreError> {
        let mut tx = self.db.begin().await?;
        let ev = insert_event(&mut tx, self, event, now).await?;
        tx.commit().await?;
        Ok(ev)
    }

    /// A draw's events with `n > after`, oldest first, at most `limit`.
    pub async fn draw_events(
        &self,
        draw_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<DrawEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM draw_events WHERE draw_id = $1 AND n > $2 ORDER BY n LIMIT $3"
        );
        on_db!(&self.db, p => {
            sqlx::query(&sql).bind(draw_id).bind(after).bind(limit).fetch_all(p).await?.iter().map(event_from).collect()
        })
    }

    /// Registers an endpoint with its secret (sealed before it is stored).
    pub async fn create_webhook(
        &self,
        org_id: &str,
        url: &str,
        events: &[String],
        secret: &[u8],
        now: i64,
    ) -> Result<Webhook, StoreError> {
        let id = new_id("whk")?;
        let sealed = self.master.seal(&webhook_secret_context(&id), secret)?;
        let sql = format!(
            "INSERT INTO webhooks (id, org_id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING {WEBHOOK_COLUMNS}"
        );
        let w = on_db!(&self.db, p => {
            let r = sqlx::query(&sql)
                .bind(&id)
                .bind(org_id)
                .bind(url)
                .bind(events.join(" "))
                .bind(sealed)
                .bind(now)
                .fetch_one(p)
                .await?;
            webhook_from(&r)?
        });
        Ok(w)
    }

    /// An endpoint of the organisation (not deleted).
    pub async fn webhook(&self, org_id: &str, id: &str) -> Result<Webhook, StoreError> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL"
        );
        let w = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(id).bind(org_id).fetch_optional(p).await?.map(|r| webhook_from(&r))
        });
        w.transpose()?.ok_or(StoreError::NotFound("webhook"))
    }

    /// The organisation's endpoints, oldest first, after the keyset cursor.
    pub async fn webhooks(
        &self,
        org_id: &str,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<Webhook>, StoreError> {
        let (after_t, after_id) = split(&after);
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE org_id = $1 AND deleted_at IS NULL \
             AND ($2 IS NULL OR created_at > $2 OR (created_at = $2 AND id > $3)) ORDER BY created_at, id LIMIT $4"
        );
        on_db!(&self.db, p => {
            sqlx::query(&sql).bind(org_id).bind(after_t).bind(after_id).bind(limit)
                .fetch_all(p).await?.iter().map(webhook_from).collect()
        })
    }

    /// Deletes an endpoint: it gets no new deliveries, and the pending ones
    /// end without an attempt.
    pub async fn delete_webhook(&self, org_id: &str, id: &str, now: i64) -> Result<(), StoreError> {
        let n = on_db!(&self.db, p => {
            sqlx::query("UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND org_id = $3 AND deleted_at IS NULL")
                .bind(now).bind(id).bind(org_id).execute(p).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound("webhook"));
        }
        Ok(())
    }

    /// An endpoint's deliveries, oldest first, after the keyset cursor, each
    /// with its attempts.
    pub async fn deliveries(
        &self,
        org_id: &str,
        webhook_id: &str,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let (after_t, after_id) = split(&after);
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN jobs j ON j.id = d.job_id \
             WHERE d.webhook_id = $1 AND d.org_id = $2 \
             AND ($3 IS NULL OR d.created_at > $3 OR (d.created_at = $3 AND d.id > $4)) \
             ORDER BY d.created_at, d.id LIMIT $5"
        );
        let mut out: Vec<Delivery> = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(webhook_id).bind(org_id).bind(after_t).bind(after_id).bind(limit)
                .fetch_all(p).await?.iter().map(delivery_from).collect::<Result<_, StoreError>>()?
        });
        for d in &mut out {
            d.attempt_log = self.attempts(&d.id).await?;
        }
        Ok(out)
    }

    async fn attempts(&self, delivery_id: &str) -> Result<Vec<DeliveryAttempt>, StoreError> {
        on_db!(&self.db, p => {
            sqlx::query("SELECT n, started_at, duration_ms, status, error FROM webhook_attempts WHERE delivery_id = $1 ORDER BY n")
                .bind(delivery_id)
                .fetch_all(p)
                .await?
                .iter()
                .map(|r| Ok(DeliveryAttempt {
                    n: r.int("n")?,
                    started_at: r.int("started_at")?,
                    duration_ms: r.int("duration_ms")?,
                    status: r.opt_int("status")?,
                    error: r.opt_text("error")?,
                }))
                .collect()
        })
    }

    /// A delivery with its endpoint (even deleted) and decrypted secret, for
    /// the job that sends it.
    pub async fn delivery_target(&self, delivery_id: &str) -> Result<DeliveryTarget, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN jobs j ON j.id = d.job_id WHERE d.id = $1"
        );
        let d = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(delivery_id).fetch_optional(p).await?.map(|r| delivery_from(&r))
        });
        let delivery = d.transpose()?.ok_or(StoreError::NotFound("delivery"))?;
        let sql = format!("SELECT {WEBHOOK_COLUMNS}, secret FROM webhooks WHERE id = $1");
        let w = on_db!(&self.db, p => {
            sqlx::query(&sql).bind(&delivery.webhook_id).fetch_optional(p).await?
                .map(|r| -> Result<_, StoreError> { Ok((webhook_from(&r)?, r.bytes("secret")?)) })
        });
        let (webhook, sealed) = w.transpose()?.ok_or(StoreError::NotFound("webhook"))?;
        let secret = self
            .master
            .open(&webhook_secret_context(&webhook.id), &sealed)?;
        Ok(DeliveryTarget {
            delivery,
            webhook,
            secret,
        })
    }

    /// Records one attempt of a delivery (a 2xx marks it delivered).
    pub async fn record_attempt(
        &self,
        delivery_id: &str,
        attempt: &DeliveryAttempt,
        delivered: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        let end = attempt.started_at.saturating_add(attempt.duration_ms);
        on_tx!(&mut tx, c => {
            sqlx::query(
                "INSERT INTO webhook_attempts (delivery_id, n, started_at, duration_ms, status, error) \
                 SELECT $1, COALESCE(MAX(n), 0) + 1, $2, $3, $4, $5 FROM webhook_attempts WHERE delivery_id = $1",
            )
            .bind(delivery_id)
            .bind(attempt.started_at)
            .bind(attempt.duration_ms)
            .bind(attempt.status)
            .bind(&attempt.error)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $1, last_error = $2, \
                 delivered_at = CASE WHEN $3 THEN $4 ELSE delivered_at END, updated_at = $4 WHERE id = $5",
            )
            .bind(attempt.status)
            .bind(&attempt.error)
            .bind(delivered)
            .bind(end)
            .bind(delivery_id)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }
}

fn split(after: &Option<(i64, String)>) -> (Option<i64>, Option<&str>) {
    match after {
        Some((t, id)) => (Some(*t), Some(id.as_str())),
        None => (None, None),
    }
}
