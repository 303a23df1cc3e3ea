//! Plugin-runtime integration tests: the real first-party components and the
//! hostile ones under `plugins/hostile/`, built from source by `support`.

use fairdraw_runtime as plugin;

/// Building components, runtimes with captured logs, manifests, a mock server.
mod support;

/// Each hostile plugin is stopped with a clear error, the host stays responsive.
mod hostile;

/// The `http` import's policy against `hostile/bad-hosts` and a local server.
mod http_policy;

/// Issue 12: no credential reaches a plugin; calls and fetches are bounded.
mod sandbox;

/// First-party plugins: youtube, mastodon, drand, spam-filter.
mod first_party;

/// Install, list, inspect, the compile cache.
mod lifecycle;

/// The benchmark plugin `bench/empty`.
mod bench;

/// Platform source plugins against their mock servers, one module each.
mod platform_bluesky;
mod platform_facebook;
mod platform_instagram;
mod platform_tiktok;
mod platform_x;
