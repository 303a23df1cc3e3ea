//! The application state every handler shares.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fairdraw_store::Store;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::beacon::Beacons;
use crate::config::Limits;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::webhooks::WebhookSender;

/// The clock: Unix milliseconds. The one source of time of the handlers
/// and the workers; tests replace it to lock and execute at chosen times
/// ([`AppState::with_clock`], [`running_clock`]).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

/// A clock that reads `start` now and runs at the system clock's speed
/// from there: tests replay recorded drand rounds by starting it a little
/// before the round's time, and the workers wait for the round as they
/// would in production.
pub fn running_clock(start: i64) -> Clock {
    let origin = std::time::Instant::now();
    Arc::new(move || {
        let elapsed = i64::try_from(origin.elapsed().as_millis()).unwrap_or(i64::MAX);
        start.saturating_add(elapsed)
    })
}

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The clock.
    pub clock: Clock,
    /// Request limits.
    pub limits: Arc<Limits>,
    /// Rate limiters.
    pub rate: Arc<RateLimits>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Immutable documents (lock files, bundles) kept in memory.
    pub cache: Arc<ImmutableCache>,
    /// The beacon plugin `execute` fetches a drand round through when the
    /// body carries none.
    pub beacons: Beacons,
    /// The built widget and pages (`web-widget/build.sh`), served by
    /// [`crate::routes::pages`].
    pub widget_dir: Arc<std::path::PathBuf>,
    /// The transparency log, when this server runs one.
    pub log: Option<Arc<crate::log::LogState>>,
    /// The webhook sender (the outbound address policy it obeys).
    pub webhooks: Arc<WebhookSender>,
    /// Permits for live event streams, one per open stream.
    pub streams: Arc<tokio::sync::Semaphore>,
    /// Rung after this replica commits draw events, so its own streams look
    /// at once instead of at their next poll (events of other replicas
    /// arrive by the poll).
    pub events_bell: Arc<tokio::sync::watch::Sender<u64>>,
    /// Set on shutdown: the live event streams end, so the graceful
    /// shutdown does not wait on them for ever.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Development only (`--dev-execute-hold-ms`): a pause inside the first
    /// execution's claim.
    pub execute_hold: Option<Arc<ExecuteHold>>,
}

/// A pause inside the first execution's claim, for tests that must kill a
/// server or drop its database connection in the middle of an execution
/// (`fairdraw serve --dev --dev-execute-hold-ms`). Used once per process,
/// so the retry that follows runs normally.
#[derive(Debug)]
pub struct ExecuteHold {
    duration: Duration,
    used: std::sync::atomic::AtomicBool,
}

impl ExecuteHold {
    /// A hold of `duration`, not used yet.
    pub fn new(duration: Duration) -> ExecuteHold {
        ExecuteHold {
            duration,
            used: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The pause for this execution: the duration the first time, `None`
    /// after.
    pub fn take(&self) -> Option<Duration> {
        (!self.used.swap(true, std::sync::atomic::Ordering::SeqCst)).then_some(self.duration)
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("limits", &self.limits)
            .field("beacons", &self.beacons)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over a store, with the system clock.
    pub fn new(store: Store, limits: Limits) -> AppState {
        let limits_streams = limits.max_event_streams;
        AppState {
            store,
            clock: system_clock(),
            rate: Arc::new(RateLimits::new(&limits)),
            limits: Arc::new(limits),
            metrics: Arc::new(Metrics::default()),
            cache: Arc::new(ImmutableCache::new(512 << 20)),
            beacons: Beacons::none(),
            widget_dir: Arc::new(crate::routes::pages::default_widget_dir()),
            log: None,
            webhooks: Arc::new(WebhookSender::new(false)),
            streams: Arc::new(tokio::sync::Semaphore::new(limits_streams)),
            events_bell: Arc::new(tokio::sync::watch::Sender::new(0)),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
            execute_hold: None,
        }
    }

    /// Ends every live event stream of this replica (shutdown).
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Tells this replica's event streams that new events were committed.
    pub fn ring_events(&self) {
        self.events_bell.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The same state with another webhook sender (private destinations
    /// allowed or not).
    pub fn with_webhooks(mut self, sender: WebhookSender) -> AppState {
        self.webhooks = Arc::new(sender);
        self
    }

    /// The same state pausing inside its first execution's claim
    /// (development only, see [`ExecuteHold`]).
    pub fn with_execute_hold(mut self, hold: Duration) -> AppState {
        self.execute_hold = Some(Arc::new(ExecuteHold::new(hold)));
        self
    }

    /// The same state serving the widget and pages from another directory.
    pub fn with_widget_dir(mut self, dir: std::path::PathBuf) -> AppState {
        self.widget_dir = Arc::new(dir);
        self
    }

    /// The same state with a beacon plugin.
    pub fn with_beacons(mut self, beacons: Beacons) -> AppState {
        self.beacons = beacons;
        self
    }

    /// The same state running a transparency log.
    pub fn with_log(mut self, log: crate::log::LogState) -> AppState {
        self.log = Some(Arc::new(log));
        self
    }

    /// The same state with another clock.
    pub fn with_clock(mut self, clock: Clock) -> AppState {
        self.clock = clock;
        self
    }

    /// Now, Unix milliseconds.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }
}

/// Keyed token buckets: one per API key, one per client IP on public routes.
pub struct RateLimits {
    per_key: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<String>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimits")
    }
}

fn quota(rate: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Quota::per_second(rate).allow_burst(burst)
}

impl RateLimits {
    /// Limiters for the configured rates.
    pub fn new(l: &Limits) -> RateLimits {
        RateLimits {
            per_key: RateLimiter::keyed(quota(l.rate_per_key, l.burst_per_key)),
            per_ip: RateLimiter::keyed(quota(l.rate_per_ip, l.burst_per_ip)),
        }
    }

    fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), ApiError> {
        match limiter.check_key(&key.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(ApiError::RateLimited(secs.max(1)))
            }
        }
    }

    /// Takes a token for an API key, or says when to retry.
    pub fn check_key(&self, key_id: &str) -> Result<(), ApiError> {
        Self::check(&self.per_key, key_id)
    }

    /// Takes a token for a client IP, or says when to retry.
    pub fn check_ip(&self, ip: &str) -> Result<(), ApiError> {
        Self::check(&self.per_ip, ip)
    }
}

/// A document that never changes once written, with its ETag.
#[derive(Clone, Debug)]
pub struct Immutable {
    /// The bytes; clones share them, so serving copies nothing.
    pub bytes: Bytes,
    /// Strong ETag: the quoted SHA-256 of the bytes.
    pub etag: String,
}

/// Executed bundles and lock files in memory, up to a byte budget. They are
/// immutable, so no invalidation is needed; when full, an arbitrary entry
/// is evicted. Concurrent misses on one key load it once (see
/// [`ImmutableCache::get_or_load`]).
#[derive(Debug)]
pub struct ImmutableCache {
    budget: usize,
    inner: Mutex<(usize, HashMap<String, Immutable>)>,
    /// One gate per key being loaded.
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ImmutableCache {
    /// A cache holding at most `budget` bytes.
    pub fn new(budget: usize) -> ImmutableCache {
        ImmutableCache {
            budget,
            inner: Mutex::new((0, HashMap::new())),
            loading: Mutex::new(HashMap::new()),
        }
    }

    /// The cached document, or the one `load` reads (then cached). Concurrent
    /// misses on one key wait for a single load: a burst of downloads of a
    /// document not yet cached reads and holds it once, not once per request.
    pub async fn get_or_load<F, Fut>(&self, key: &str, load: F) -> Result<Immutable, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Immutable, ApiError>>,
    {
        if let Some(doc) = self.get(key) {
            return Ok(doc);
        }
        let gate = match self.loading.lock() {
            Ok(mut g) => g.entry(key.to_owned()).or_default().clone(),
            Err(_) => Arc::default(),
        };
        let _turn = gate.lock().await;
        if let Some(doc) = self.get(key) {
            return Ok(doc);
        }
        let loaded = load().await;
        if let Ok(doc) = &loaded {
            self.put(key.to_owned(), doc.clone());
        }
        if let Ok(mut g) = self.loading.lock() {
            g.remove(key);
        }
        loaded
    }

    /// The cached document.
    pub fn get(&self, key: &str) -> Option<Immutable> {
        self.inner.lock().ok().and_then(|g| g.1.get(key).cloned())
    }

    /// Caches a document (skipped when larger than the whole budget).
    pub fn put(&self, key: String, doc: Immutable) {
        let size = doc.bytes.len();
        if size > self.budget {
            return;
        }
        let Ok(mut g) = self.inner.lock() else { return };
        while g.0 + size > self.budget {
            let Some(victim) = g.1.keys().next().cloned() else {
                break;
            };
            if let Some(old) = g.1.remove(&victim) {
                g.0 -= old.bytes.len();
            }
        }
        if let Some(old) = g.1.insert(key, doc) {
            g.0 -= old.bytes.len();
        }
        g.0 += size;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_load_once() {
        let cache = Arc::new(ImmutableCache::new(1 << 20));
        let loads = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (cache, loads) = (cache.clone(), loads.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_load("bundle:d", || async {
                            loads.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(Immutable {
                                bytes: Bytes::from_static(b"{}"),
                                etag: "\"e\"".into(),
                            })
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            let doc = t.await.expect("task").expect("doc");
            assert_eq!(&doc.bytes[..], b"{}");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        // A failed load is not cached: the next call tries again.
        let miss = cache
            .get_or_load("bundle:x", || async { Err(ApiError::NotFound("bundle")) })
            .await;
        assert!(miss.is_err());
    }
}
