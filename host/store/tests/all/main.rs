//! fairdraw-store's integration tests. Every test runs on SQLite, and on
//! PostgreSQL when one is reachable (`FAIRDRAW_TEST_POSTGRES`, default
//! postgres://postgres@127.0.0.1:5432/test); otherwise it prints
//! "skipping PostgreSQL: <why>".

/// Draw life cycle: exactly one lock and one execution.
mod draws;
/// Batched entry uploads, idempotent repeats and keyset pagination.
mod entries;
/// Draw events and the webhook deliveries they queue.
mod events;
/// Idempotency-Key records.
mod idempotency;
/// The job queue: leases, takeover, fencing, backoff, dead jobs, races.
mod jobs;
/// Organisations, API keys and encrypted signing keys.
mod keys;
/// The transparency log: queueing with receipts, gap-free sequencing by
/// one lease holder, tree nodes, checkpoints, racing sequencers.
mod log;
/// Migrations, readiness and durability across a reopen.
mod schema;
/// Usage counters and quotas: exact under concurrency on both databases,
/// and a refused request leaves nothing behind.
mod usage;

/// A fixed time for tests, Unix milliseconds.
pub const NOW: i64 = 1_767_225_600_000;
