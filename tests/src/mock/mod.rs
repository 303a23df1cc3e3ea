//! Local stand-ins for the services tests cannot reach.
//!
//! Each mock is an axum server bound to `127.0.0.1:0` that answers in the
//! real API's shapes, as recorded in `shared/platforms/*.md` and
//! `shared/vectors/drand.md`:
//!
//! - [`youtube`]: YouTube Data API v3 `commentThreads.list` and `comments.list`;
//! - [`mastodon`]: a Mastodon instance's status context, favourites and boosts;
//! - [`drand`]: a drand HTTP relay (v1 and v2) serving real mainnet beacons;
//! - [`instagram`]: the Instagram Graph API's media comments and replies;
//! - [`facebook`]: the Facebook Graph API's post comments, reactions and shares;
//! - [`x`]: X API v2 recent search, liking users, reposts, quotes and followers;
//! - [`tiktok`]: the TikTok Research API's video comment list;
//! - [`bluesky`]: a Bluesky AppView's threads, likes, reposts, quotes,
//!   followers and handle resolution.
//!
//! Every mock has an `async fn start(Config) -> MockHandle<Config>`, which
//! spawns the server on the caller's Tokio runtime, and a `start_blocking`
//! that runs it on a thread of its own for synchronous tests. The
//! [`MockHandle`] gives the origin to point the host at, records every
//! request (and so the credentials the host attached), and lets a test
//! change the configuration while the server runs: inject rate limits or
//! 5xx answers, tamper with beacons. Dropping the handle stops the server.
//!
//! [`http`] is a minimal blocking HTTP/1.1 client for the mocks' own tests.

// Handlers return a finished error response early through `Result<_, Response>`.
#![allow(clippy::result_large_err)]

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::sync::oneshot;

pub mod drand;
pub mod http;
pub mod mastodon;
pub mod youtube;

pub mod bluesky;
pub mod facebook;
pub mod instagram;
pub mod tiktok;
pub mod x;

/// A running mock server. Dropping it stops the server.
#[derive(Debug)]
pub struct MockHandle<C> {
    /// Where the server listens: `http://127.0.0.1:PORT`, no trailing slash.
    pub origin: String,
    /// The bound address.
    pub addr: SocketAddr,
    shared: Arc<Shared<C>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// State shared by a mock's handlers and its handle.
#[derive(Debug)]
pub(crate) struct Shared<C> {
    config: Mutex<C>,
    log: Mutex<Vec<RecordedRequest>>,
    counter: AtomicU64,
}

/// Locks a mutex, ignoring poisoning: a panicking test thread must not hide
/// what the mock recorded.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<C: Clone> Shared<C> {
    /// A snapshot of the current configuration.
    pub(crate) fn config(&self) -> C {
        lock(&self.config).clone()
    }
}

/// One request as the mock received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// 1 for the first request since start (or the last [`MockHandle::reset`]).
    pub number: u64,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, percent-encoded as sent.
    pub path: String,
    /// The query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every credential the request carried, as sent: the `key` and
    /// `access_token` query parameters, the `x-goog-api-key` header, and
    /// the `Authorization` header whole (`Bearer ...`) and its token alone.
    pub fn credentials(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in ["key", "access_token"] {
            out.extend(
                self.query
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.clone()),
            );
        }
        out.extend(
            self.headers
                .iter()
                .filter(|(k, _)| k == "x-goog-api-key")
                .map(|(_, v)| v.clone()),
        );
        for (_, v) in self.headers.iter().filter(|(k, _)| k == "authorization") {
            out.push(v.clone());
            if let Some(token) = bearer_token(v) {
                out.push(token.to_owned());
            }
        }
        out
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl<C> MockHandle<C> {
    /// How many requests the mock received (since start or the last [`reset`](Self::reset)).
    pub fn request_count(&self) -> u64 {
        self.shared.counter.load(Ordering::SeqCst)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Every distinct credential any request carried (see
    /// [`RecordedRequest::credentials`]). Tests use it to check that the
    /// host attached the key it was configured with.
    pub fn credentials_seen(&self) -> BTreeSet<String> {
        lock(&self.shared.log)
            .iter()
            .flat_map(RecordedRequest::credentials)
            .collect()
    }

    /// Changes the configuration of the running server; the next request sees it.
    pub fn configure(&self, change: impl FnOnce(&mut C)) {
        change(&mut lock(&self.shared.config));
    }

    /// Forgets the recorded requests and restarts request numbering at 1
    /// (so [`Faults`] apply again from the first request).
    pub fn reset(&self) {
        let mut log = lock(&self.shared.log);
        log.clear();
        self.shared.counter.store(0, Ordering::SeqCst);
    }
}

impl<C: Clone> MockHandle<C> {
    /// The current configuration.
    pub fn config(&self) -> C {
        self.shared.config()
    }
}

impl<C> Drop for MockHandle<C> {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Failures a mock injects, by request number (1 = the first request).
///
/// The rate limit comes first: requests `1..=rate_limit_first` are
/// rate-limited. Of the later ones, the next `fail_first` fail with the
/// platform's 5xx, and so does every request whose number is a multiple of
/// `fail_every`. Credentials are checked before either, as the platforms do
/// for authenticated calls, so a bad key is reported as such.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// How many requests, from the first, are rate-limited.
    pub rate_limit_first: u64,
    /// Seconds until a rate limit resets, where the platform says
    /// (Mastodon `X-RateLimit-Reset`, drand `Retry-After`); YouTube says nothing.
    pub rate_limit_reset_secs: u64,
    /// How many requests after the rate-limited ones answer 5xx.
    pub fail_first: u64,
    /// Every n-th request answers 5xx (0 or `None`: none).
    pub fail_every: Option<u64>,
}

/// What [`Faults`] decide for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Answer with the platform's rate-limit response.
    RateLimited,
    /// Answer with the platform's 5xx response.
    ServerError,
}

impl Faults {
    /// The fault for request number `n`, if any.
    pub(crate) fn for_request(&self, n: u64) -> Option<Fault> {
        if n <= self.rate_limit_first {
            return Some(Fault::RateLimited);
        }
        if n <= self.rate_limit_first + self.fail_first {
            return Some(Fault::ServerError);
        }
        match self.fail_every {
            Some(k) if k > 0 && n.is_multiple_of(k) => Some(Fault::ServerError),
            _ => None,
        }
    }
}

/// The number of the request being handled, set by the recording layer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestNo(pub(crate) u64);

/// Records the request and tags it with its number.
async fn record<C: Send + 'static>(
    State(shared): State<Arc<Shared<C>>>,
    mut req: Request,
    next: Next,
) -> Response {
    let recorded = {
        // Number and log under one lock, so numbers follow log order.
        let mut log = lock(&shared.log);
        let number = shared.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let uri = req.uri();
        let query = uri.query().map(decode_query).unwrap_or_default();
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let r = RecordedRequest {
            number,
            method: req.method().to_string(),
            path: uri.path().to_owned(),
            query,
            headers,
        };
        log.push(r.clone());
        r
    };
    req.extensions_mut().insert(RequestNo(recorded.number));
    next.run(req).await
}

/// Percent-decodes a query string `k=v&k2=v2` (`+` is a space), leaving
/// bad escapes as they are.
pub(crate) fn decode_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex_digit(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
            {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query component (unreserved characters stay).
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Binds `127.0.0.1:0`, spawns `app` on the current runtime with the
/// recording layer, and returns the handle.
///
/// # Panics
/// If the port cannot be bound (a test environment failure).
pub(crate) async fn serve<C: Send + 'static>(
    config: C,
    app: impl FnOnce(Arc<Shared<C>>) -> Router,
) -> MockHandle<C> {
    let shared = Arc::new(Shared {
        config: Mutex::new(config),
        log: Mutex::new(Vec::new()),
        counter: AtomicU64::new(0),
    });
    let router =
        app(shared.clone()).layer(middleware::from_fn_with_state(shared.clone(), record::<C>));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address of the mock");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // Stopping drops the server future: the mock needs no graceful
        // shutdown, and waiting for a client's idle keep-alive connection
        // would hang the test that drops the handle.
        tokio::select! {
            r = axum::serve(listener, router) => { if let Err(e) = r { eprintln!("mock server failed: {e}") } }
            _ = rx => {}
        }
    });
    MockHandle {
        origin: format!("http://{addr}"),
        addr,
        shared,
        shutdown: Some(tx),
        task: Some(task),
        thread: None,
    }
}

/// Runs `start` on a new thread with its own runtime and returns the
/// handle once the server listens. The thread ends when the handle drops.
///
/// # Panics
/// If the runtime cannot be built or the server cannot start.
pub(crate) fn start_blocking<C, F, Fut>(start: F) -> MockHandle<C>
where
    C: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = MockHandle<C>>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("mock-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime for a mock");
            rt.block_on(async move {
                let mut handle = start().await;
                let task = handle.task.take();
                if tx.send(handle).is_err() {
                    return;
                }
                if let Some(task) = task {
                    let _ = task.await;
                }
            });
            // Dropping the runtime ends the connection tasks too.
        })
        .expect("spawn the mock server thread");
    let mut handle = rx.recv().expect("the mock server started");
    handle.thread = Some(thread);
    handle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_by_request_number() {
        let f = Faults {
            rate_limit_first: 2,
            fail_first: 1,
            fail_every: Some(5),
            ..Faults::default()
        };
        let got: Vec<_> = (1..=10).map(|n| f.for_request(n)).collect();
        use Fault::*;
        assert_eq!(
            got,
            [
                Some(RateLimited),
                Some(RateLimited),
                Some(ServerError),
                None,
                Some(ServerError),
                None,
                None,
                None,
                None,
                Some(ServerError)
            ]
        );
        assert_eq!(Faults::default().for_request(1), None);
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            decode_query("a=1&b=x%2By+z&c&d=%zz&e=%4"),
            [
                ("a", "1"),
                ("b", "x+y z"),
                ("c", ""),
                ("d", "%zz"),
                ("e", "%4")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(percent_encode("a b+/=é"), "a%20b%2B%2F%3D%C3%A9");
    }

    #[test]
    fn bearer() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
    }
}
