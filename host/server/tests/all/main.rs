//! fairdraw-server's integration tests: the guarantees of issue 7, each on
//! SQLite and, when one is reachable, PostgreSQL (otherwise the output says
//! "skipping PostgreSQL: <why>"). Most drive `app(state)` with
//! `tower::ServiceExt::oneshot`; `real_port` binds port 0.

/// `execute` fetching the drand round through the real drand plugin from
/// the mock relay; 503 without a plugin, before the round, from a lying relay.
mod beacon;
/// Exactly one lock and one execution (one stored receipt) under 100
/// concurrent calls each.
mod concurrency;
/// `serve --demo`: the demo organisation and executed draw, made once.
mod demo;
/// Every error class as problem+json.
mod errors;
/// Live events (SSE) over a real socket: order, Last-Event-ID, 404, the
/// stream limit, a client that does not read, shutdown.
mod events;
/// Idempotency-Key: repeat, different body, concurrent.
mod idempotency;
/// Automatic execution by the job workers, dead jobs and their retry.
mod jobs;
/// End to end: create → upload → lock → execute → public bundle verifies.
mod lifecycle;
/// The transparency log: sequencing, tiles, checkpoints, log proofs.
mod log;
/// Rate limits, durability, metrics, readiness, OpenAPI, a real socket.
mod operations;
/// The widget's files and the HTML pages: headers, escaping, not built.
mod pages;
/// Test harness: apps on both databases, requests, a movable clock.
mod support;
/// Tenancy: another organisation's key gets 404 or 401 on every private route.
mod tenancy;
/// Usage and quotas: the edge of each quota under two concurrent requests
/// (exactly one passes, the other gets 402), `GET /v1/stats` and the
/// per-organisation metrics.
mod usage;
/// Webhooks: signed deliveries to a real receiver, retries, dead letters,
/// the private-address refusal, redirects, dedupe.
mod webhooks;
