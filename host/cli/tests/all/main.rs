//! Integration tests of the `fairdraw` binary: the real executable, real
//! files in a scratch directory and real drand beacons; nothing is mocked.
//!
//! Tampered bundles are re-signed with the engine's own API where a test
//! needs an organiser who signs whatever they like.

/// Running the binary in a scratch directory, and assertions on a run.
mod support;

/// `admin`: organisations and quotas on the embedded database.
mod admin;
/// Bad input of every kind: exit 2, one `error:` line naming the problem, no panic.
mod bad_input;
/// Entry files: JSON Lines, JSON array and CSV agree; malformed files name the line.
mod entries;
/// `verify URL` and `--key-from`: bundles over HTTP, keys pinned from a published document.
mod key_from;
/// `keygen`: file mode, refusing to overwrite, the key file's shape.
mod keygen;
/// `log monitor` against a real server: clean runs, a hidden re-draw, a fork.
mod log_monitor;
/// `verify --policy`: log proofs checked against a trust policy, the witness time bound.
mod log_policy;
/// Issue 8: rules the entries' platforms cannot support are refused at lock.
mod platforms;
/// `prove`: exit codes 0 (in the draw), 3 (excluded, rule named) and 4 (no entry).
mod prove;
/// Regression tests for bugs found by this suite.
mod regression;
/// `rfc3797`: the RFC 3797 §6 example.
mod rfc3797;
/// keygen → lock → execute → verify with every kind of randomness, and `draw`.
mod round_trip;
/// Tampered bundles fail `verify` at the step that catches the change.
mod tamper;
/// Issue 14: `serve` with two `witness` processes; forks, rollbacks, bad proofs, a restart.
mod witness;
