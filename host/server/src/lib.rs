//! # fairdraw-server
//!
//! The hosted fairdraw API behind `fairdraw serve`: axum routes over the
//! engine (every draw step) and the store (every byte of state), so any
//! number of replicas are interchangeable.
//!
//! [`app`] builds the router from an [`AppState`], apart from serving, so
//! tests drive it with `tower::ServiceExt::oneshot`:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::body::Body;
//! use axum::http::Request;
//! use fairdraw_server::{AppState, app, config::Limits};
//! use fairdraw_store::{MasterKey, Store, StoreOptions};
//! use tower::ServiceExt;
//!
//! let store = Store::open(&StoreOptions {
//!     database_url: None,
//!     data_dir: "fairdraw-data".into(),
//!     master_key: MasterKey::insecure_dev(),
//! })
//! .await?;
//! let res = app(AppState::new(store, Limits::default()))
//!     .oneshot(Request::get("/healthz").body(Body::empty())?)
//!     .await?;
//! assert!(res.status().is_success());
//! # Ok(()) }
//! ```
//!
//! Every error leaves through [`error::ApiError`] as RFC 9457 problem+json.
//! The OpenAPI 3.1 document is generated from the handlers
//! ([`openapi::ApiDoc`]) and served at `/v1/openapi.json`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod beacon;
pub mod config;
pub mod demo;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod log;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod webhooks;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use fairdraw_store::Store;
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

pub use config::Config;
pub use error::ApiError;
pub use state::AppState;

use routes::{
    admin, draws, entries, jobs, lifecycle, log as log_routes, ops, pages, public, stats,
};

/// The router: private routes behind API keys, public routes behind a
/// per-IP rate limit, and the operations routes.
pub fn app(state: AppState) -> Router {
    let private = Router::new()
        .route("/v1/draws", post(draws::create).get(draws::list))
        .route("/v1/draws/{id}", get(draws::get))
        .route(
            "/v1/draws/{id}/entries",
            post(entries::upload).get(entries::list),
        )
        .route("/v1/draws/{id}/lock", post(lifecycle::lock_draw))
        .route("/v1/draws/{id}/execute", post(lifecycle::execute_draw))
        .route("/v1/draws/{id}/cancel", post(draws::cancel))
        .route("/v1/stats", get(stats::get))
        .route("/v1/jobs", get(jobs::list))
        .route("/v1/jobs/{id}/retry", post(jobs::retry))
        .route(
            "/v1/webhooks",
            post(routes::webhooks::create).get(routes::webhooks::list),
        )
        .route("/v1/webhooks/{id}", delete(routes::webhooks::remove))
        .route(
            "/v1/webhooks/{id}/deliveries",
            get(routes::webhooks::deliveries),
        )
        .route("/v1/keys", get(admin::list).post(admin::create))
        .route("/v1/keys/{key_id}/revoke", post(admin::revoke))
        .route("/v1/signing-key/rotate", post(admin::rotate))
        .route_layer(from_fn_with_state(state.clone(), idempotency::middleware))
        .route_layer(from_fn_with_state(state.clone(), auth::authenticate));
    let public = Router::new()
        .route("/v1/public/draws/{id}", get(public::summary))
        .route(
            "/v1/public/draws/{id}/lock-receipt",
            get(public::lock_receipt),
        )
        .route("/v1/public/draws/{id}/bundle", get(public::bundle))
        .route("/v1/public/draws/{id}/events", get(routes::events::stream))
        .route(
            "/v1/public/draws/{id}/entrants/{handle}",
            get(public::entrant),
        )
        .route("/.well-known/fairdraw-keys.json", get(public::keys))
        .route(
            "/v1/public/draws/{id}/log-proofs",
            get(log_routes::log_proofs),
        )
        .route("/log/checkpoint", get(log_routes::checkpoint))
        .route("/log/key", get(log_routes::key))
        .route("/log/tile/{*path}", get(log_routes::tile))
        .route_layer(from_fn_with_state(state.clone(), auth::limit_ip))
        .route_layer(axum::middleware::from_fn(pages::allow_any_origin));
    let operations = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/v1/openapi.json", get(openapi_json));
    Router::new()
        .merge(private)
        .merge(public)
        .merge(operations)
        .merge(pages::router())
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::NotFound("route for this method") })
        .layer(from_fn_with_state(state.clone(), metrics::track))
        // 5xx answers are logged once, by `ApiError` with their cause; the
        // trace layer's own failure line would repeat each at ERROR.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}

async fn openapi_json() -> Response {
    let mut res = openapi::json().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] fairdraw_store::StoreError),
    /// Binding or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// `--demo` could not make the demo draw.
    #[error(transparent)]
    Demo(#[from] demo::DemoError),
}

/// Sets up `tracing` output (`RUST_LOG`, default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
///
/// The handlers are installed when this is called, not when the future is
/// first polled, so a signal that arrives between start-up and serving
/// (right after the demo URLs are printed, say) is not lost to the default
/// action, which would kill the process without a graceful shutdown. Call
/// it inside the Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (term, int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

/// Serves the app on a bound listener until `shutdown` resolves, then
/// finishes the requests in flight.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// A server ready to serve: the store open and migrated, the port bound,
/// and (with `--demo`) the demo made. [`Prepared::run`] serves it.
pub struct Prepared {
    /// The bound listener.
    pub listener: TcpListener,
    /// The address it is bound to (the real port when asked for port 0).
    pub addr: SocketAddr,
    /// The application state.
    pub state: AppState,
    /// The demo, with `--demo`.
    pub demo: Option<demo::Demo>,
    /// The job workers [`Prepared::run`] starts.
    pub workers: worker::WorkerConfig,
    /// SIGTERM / Ctrl-C, with the handlers already installed.
    shutdown: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("addr", &self.addr)
            .field("state", &self.state)
            .field("demo", &self.demo)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The base URL of the server as a client on this machine reaches it
    /// (`http://127.0.0.1:PORT` when bound to every interface).
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}")
    }

    /// Serves and runs the job workers until SIGTERM or Ctrl-C; then the
    /// workers stop claiming while the requests in flight finish, the jobs
    /// in hand finish or are released, and the database pool closes.
    pub async fn run(self) -> Result<(), ServeError> {
        let store = self.state.store.clone();
        let workers = worker::Workers::spawn(self.state.clone(), self.workers);
        let sequencer = log::Sequencer::spawn(self.state.clone());
        let stop = workers.stopper();
        let signal = self.shutdown;
        let state = self.state.clone();
        let served = serve_on(self.listener, self.state, async move {
            signal.await;
            stop();
            // Live event streams never end by themselves.
            state.close_streams();
        })
        .await;
        workers.shutdown().await;
        if let Some(s) = sequencer {
            s.shutdown().await;
        }
        store.close().await;
        served
    }
}

/// The beacon plugin of the data directory's installed plugins. A runtime
/// that cannot start is logged, and the server runs without plugins
/// (`execute` then needs the beacon in its body).
pub fn beacons_from(config: &Config) -> beacon::Beacons {
    let opts = fairdraw_runtime::RuntimeOptions::from_env(&config.store.data_dir);
    match opts.and_then(fairdraw_runtime::PluginRuntime::with_options) {
        Ok(rt) => {
            let beacons = beacon::Beacons::new(rt, config.beacon_plugin.clone())
                .with_relays(&config.drand_relays);
            if !beacons.relays().is_empty() {
                tracing::info!(relays = ?beacons.relays(), "drand relays, tried in order");
            }
            beacons
        }
        Err(e) => {
            tracing::warn!(error = %e, "no plugin runtime: execute needs the beacon in its body");
            beacon::Beacons::none()
        }
    }
}

/// Opens (and migrates) the store, starts the plugin runtime over the data
/// directory's installed plugins, binds the listener and, with `--demo`,
/// makes the demo.
pub async fn prepare(config: &Config) -> Result<Prepared, ServeError> {
    // First, so a SIGTERM during start-up is handled gracefully too.
    let shutdown = Box::pin(shutdown_signal());
    let opts = config.store.store_options()?;
    let store = Store::open(&opts).await?;
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let allow_private = config.webhooks_allow_private();
    if allow_private {
        tracing::warn!(
            "webhook deliveries may reach private, loopback and link-local addresses (--dev or FAIRDRAW_WEBHOOK_ALLOW_PRIVATE)"
        );
    }
    let log_config = config
        .log
        .log_config(addr)
        .map_err(config::ConfigError::Log)?;
    let clock = match config.devtools.dev_clock_start {
        Some(start) => {
            tracing::warn!(
                start = %routes::rfc3339(start),
                "dev: the clock starts at --dev-clock-start, not the system time"
            );
            state::running_clock(start)
        }
        None => state::system_clock(),
    };
    let log = log::LogState::open(&store, log_config, clock()).await?;
    tracing::info!(origin = %log.config.origin, key = %log.vkey, witnesses = log.config.witnesses.len(), "transparency log");
    let mut state = AppState::new(store.clone(), config.limits.clone())
        .with_beacons(beacons_from(config))
        .with_webhooks(webhooks::WebhookSender::new(allow_private))
        .with_clock(clock);
    if config.devtools.dev_execute_hold_ms > 0 {
        let hold = std::time::Duration::from_millis(config.devtools.dev_execute_hold_ms);
        tracing::warn!(
            hold_ms = config.devtools.dev_execute_hold_ms,
            "dev: the first execution holds its claim"
        );
        state = state.with_execute_hold(hold);
    }
    if let Some(dir) = &config.widget_dir {
        state = state.with_widget_dir(dir.clone());
    }
    // The demo is made before the log is attached, so its lock does not
    // wait for a sequencer that is not running yet; its receipts are
    // queued like any other and sequenced once serving starts.
    let demo = if config.demo {
        Some(demo::ensure(&state).await?)
    } else {
        None
    };
    let state = state.with_log(log);
    tracing::info!(%addr, database = store.db().kind(), "fairdraw serve listening");
    Ok(Prepared {
        listener,
        addr,
        state,
        demo,
        workers: config.worker_config(),
        shutdown,
    })
}

/// `fairdraw serve`: [`prepare`], then [`Prepared::run`] until SIGTERM.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    prepare(&config).await?.run().await
}
