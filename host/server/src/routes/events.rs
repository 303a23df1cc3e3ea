//! `GET /v1/public/draws/{id}/events`: a draw's live events as
//! server-sent events.
//!
//! Events are rows of the database (`draw_events`), numbered per draw in
//! commit order, so every replica serves every event: each stream polls
//! for the rows after the last one it sent (every [`POLL`], one indexed
//! query, and at once when this replica committed events:
//! [`AppState::ring_events`]) and the SSE `id:` is the row's number, so `Last-Event-ID`
//! resumes exactly after it. Each client has a buffer of [`BUFFER`]
//! events; a client that does not drain it is dropped (its stream ends)
//! rather than let memory grow. Streams per replica are bounded by
//! `--max-event-streams`: one more gets 503. On shutdown every stream ends
//! ([`AppState::close_streams`]) so the server can finish draining.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// How often a stream looks for new events.
pub const POLL: Duration = Duration::from_millis(500);
/// Events waiting for one client before it is dropped.
pub const BUFFER: usize = 64;
/// A comment line this often keeps proxies from closing an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Events read per query.
const BATCH: i64 = 100;

/// A draw's live events, as `text/event-stream`, from the first (or after
/// `Last-Event-ID`). Each event's `event:` is its type and `data:` a JSON
/// object with the draw's id:
///
/// - `draw.locked`: lock hash, declared randomness, when it is available;
/// - `draw.countdown` (drand): the round and its due time (`due_at`,
///   `due_at_ms`); clients count down themselves;
/// - `draw.beacon`: the verified drand beacon, when the server fetched it;
/// - `draw.executed`: the winners and alternates, the bundle's SHA-256;
/// - `draw.failed`: automatic execution gave up (the job's last error).
///
/// 404 for no such draw; 503 when this server already serves its limit of
/// streams (with Retry-After); 422 for a `Last-Event-ID` that is not an
/// event number.
#[utoipa::path(
    operation_id = "drawEvents",get, path = "/v1/public/draws/{id}/events", tag = "public",
    params(("id" = String, Path), ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")),
    responses((status = 200, content_type = "text/event-stream", body = String,
            description = "Server-sent events: `id:` the event's number in the draw, `event:` its type, `data:` JSON"),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem),
        (status = 503, body = Problem)))]
pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = match headers.get("last-event-id") {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::field(
                    "Last-Event-ID",
                    "must be the id of an event this stream sent",
                )
            })?,
    };
    state.store.public_draw(&id).await?;
    let permit = state
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::StreamsFull(state.limits.max_event_streams))?;
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(pump(state, id, after, tx, permit));
    let events =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Feeds one client: polls the draw's events after `after` and pushes
/// them into its buffer; ends (dropping the stream and the permit) when
/// the client leaves or does not keep up.
async fn pump(
    state: AppState,
    draw_id: String,
    mut after: i64,
    tx: mpsc::Sender<Event>,
    _permit: OwnedSemaphorePermit,
) {
    let mut bell = state.events_bell.subscribe();
    let mut closing = state.closing.subscribe();
    let mut first = true;
    loop {
        if *closing.borrow_and_update() {
            return;
        }
        if !first {
            tokio::select! {
                () = tx.closed() => return,
                () = tokio::time::sleep(POLL) => {}
                r = bell.changed() => { let _ = r; }
                _ = closing.changed() => return,
            }
        }
        first = false;
        let events = match state.store.draw_events(&draw_id, after, BATCH).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(draw = %draw_id, error = %e, "cannot read the draw's events");
                continue;
            }
        };
        let full_batch = events.len() as i64 == BATCH;
        for e in events {
            let event = Event::default()
                .id(e.n.to_string())
                .event(e.kind.as_str())
                .data(e.data.as_str());
            match tx.try_send(event) {
                Ok(()) => after = e.n,
                Err(TrySendError::Full(_)) => {
                    tracing::info!(draw = %draw_id, "event stream client too slow: dropped");
                    return;
                }
                Err(TrySendError::Closed(_)) => return,
            }
        }
        if full_batch {
            first = true;
        }
    }
}
