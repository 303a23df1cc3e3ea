//! End-to-end tests across fairdraw's parts: the `fairdraw` binary, run as a
//! user would, and the engine library, used in-process to check its output.
//!
//! The binary belongs to another package, so it is found (and built when
//! missing or stale) as [`bin`] describes; see tests/README.md.

/// Locating, and if needed building, the `fairdraw` binary.
mod bin;
/// The binary's files checked by the engine, and the engine's by the binary.
mod cross_part;
/// Issue 9: exactly one execution with real `serve` processes: 100 concurrent
/// executes, two replicas on PostgreSQL, `kill -9` mid-execution, a dropped
/// database connection.
mod exactly_once;
/// Issue 12: a source that floods `fetch` with entries, in flat memory.
mod flood;
/// One fetch of several posts on several platforms, one draw; lock refusals.
mod multi_post;
/// The plugin commands with the first-party plugins against the mock platforms.
mod plugins;
/// The README's worked example, run as written.
mod readme;
/// Markdown code blocks, and shell scripts run as a reader would.
mod script;
/// The plugin SDK's walk-through, run as written.
mod sdk_walkthrough;
/// `fairdraw serve --dev --demo`: printed URLs, a bundle that verifies, SIGTERM.
mod serve_demo;

/// Bluesky plugin against its mock.
mod bluesky;
/// Facebook plugin against its mock.
mod facebook;
/// Instagram plugin against its mock.
mod instagram;
/// TikTok plugin against its mock.
mod tiktok;
/// X plugin against its mock.
mod x;
