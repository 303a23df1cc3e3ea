//! fairdraw-server's integration tests: the guarantees of issue 7, each on
//! SQLite and, when one is reachable, PostgreSQL (otherwise the output says
//! "skipping PostgreSQL: <why>"). Most drive `app(state)` with
//! `tower::ServiceExt::oneshot`; `real_port` binds port 0.

/// Test harness: apps on both databases, requests, a movable clock.
mod support;
/// Every error class as problem+json.
mod errors;
/// End to end: create → upload → lock → execute → public bundle verifies.
mod lifecycle;
/// Exactly one lock/execution under 100 concurrent calls.
mod concurrency;
/// Idempotency-Key: repeat, different body, concurrent.
mod idempotency;
/// Tenancy: another organisation's key gets 404 or 401 on every private route.
mod tenancy;
/// Rate limits, durability, metrics, readiness, OpenAPI, a real socket.
mod operations;
