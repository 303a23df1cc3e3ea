//! `fairdraw serve`'s configuration: flags that also read environment
//! variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use fairdraw_store::{MasterKey, StoreOptions};

/// Where the data lives and how secrets are kept (shared by `serve` and
/// `admin`).
#[derive(clap::Args, Clone, Debug)]
pub struct StoreConfig {
    /// Data directory; the SQLite database is created here on first start.
    #[arg(long, env = "FAIRDRAW_DATA_DIR", default_value = "fairdraw-data")]
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite file.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// 64 hex characters: the key signing keys are encrypted under.
    /// Read from the environment only, so it never shows in `ps`.
    #[arg(skip = std::env::var("FAIRDRAW_MASTER_KEY").ok())]
    pub master_key: Option<String>,
    /// Development mode: without FAIRDRAW_MASTER_KEY, use a fixed, public
    /// key. Never for real draws.
    #[arg(long)]
    pub dev: bool,
}

/// Why the configuration cannot start a server.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No master key and not `--dev`.
    #[error(
        "FAIRDRAW_MASTER_KEY is not set. Signing keys are stored encrypted under it: set it to 64 hex characters \
         (`openssl rand -hex 32`) and keep it safe, or pass --dev for a throwaway local server with a fixed, public key"
    )]
    MissingMasterKey,
    /// The master key is malformed.
    #[error("{0}")]
    BadMasterKey(String),
    /// The log's settings are unusable.
    #[error("transparency log: {0}")]
    Log(String),
}

/// The banner `--dev` prints when it stands in for the master key.
pub const DEV_WARNING: &str = "WARNING: --dev without FAIRDRAW_MASTER_KEY: signing keys are encrypted under a FIXED, PUBLIC \
    development key. Anyone with the database can sign as your organisations. Never use this for real draws.";

impl StoreConfig {
    /// The store options, or why there are none. In `--dev` without a key,
    /// warns loudly (stderr and the log) and uses the fixed dev key.
    pub fn store_options(&self) -> Result<StoreOptions, ConfigError> {
        let master_key = match self
            .master_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            Some(k) => {
                MasterKey::from_hex(k).map_err(|e| ConfigError::BadMasterKey(e.to_string()))?
            }
            None if self.dev => {
                eprintln!("\n{DEV_WARNING}\n");
                tracing::warn!("{DEV_WARNING}");
                MasterKey::insecure_dev()
            }
            None => return Err(ConfigError::MissingMasterKey),
        };
        Ok(StoreOptions {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            master_key,
        })
    }
}

/// Request limits. Rate limits are per replica: with N replicas behind a
/// load balancer a client can get up to N times these rates.
#[derive(clap::Args, Clone, Debug)]
pub struct Limits {
    /// Requests per second each API key may make (per replica).
    #[arg(long, env = "FAIRDRAW_RATE_PER_KEY", default_value_t = 50)]
    pub rate_per_key: u32,
    /// Burst allowance per API key.
    #[arg(long, env = "FAIRDRAW_BURST_PER_KEY", default_value_t = 200)]
    pub burst_per_key: u32,
    /// Requests per second each client IP may make to public routes (per replica).
    #[arg(long, env = "FAIRDRAW_RATE_PER_IP", default_value_t = 100)]
    pub rate_per_ip: u32,
    /// Burst allowance per client IP on public routes.
    #[arg(long, env = "FAIRDRAW_BURST_PER_IP", default_value_t = 400)]
    pub burst_per_ip: u32,
    /// Largest JSON request body, bytes.
    #[arg(long, env = "FAIRDRAW_MAX_JSON_BYTES", default_value_t = 1 << 20)]
    pub max_json_bytes: usize,
    /// Largest entries upload, bytes.
    #[arg(long, env = "FAIRDRAW_MAX_UPLOAD_BYTES", default_value_t = 1 << 30)]
    pub max_upload_bytes: usize,
    /// Live event streams (`GET /v1/public/draws/{id}/events`) open at once
    /// on this replica; one more gets 503.
    #[arg(long, env = "FAIRDRAW_MAX_EVENT_STREAMS", default_value_t = 1000)]
    pub max_event_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rate_per_key: 50,
            burst_per_key: 200,
            rate_per_ip: 100,
            burst_per_ip: 400,
            max_json_bytes: 1 << 20,
            max_upload_bytes: 1 << 30,
            max_event_streams: 1000,
        }
    }
}

/// `fairdraw serve`.
#[derive(clap::Args, Clone, Debug)]
pub struct Config {
    /// Storage and secrets.
    #[command(flatten)]
    pub store: StoreConfig,
    /// Address to listen on.
    #[arg(long, env = "FAIRDRAW_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Limits.
    #[command(flatten)]
    pub limits: Limits,
    /// The beacon plugin `execute` fetches a drand round through when the
    /// request carries no beacon; it is looked up among the plugins
    /// installed in the data directory (`fairdraw plugin install … --data-dir`).
    #[arg(long, env = "FAIRDRAW_BEACON_PLUGIN", default_value = "drand")]
    pub beacon_plugin: String,
    /// drand relays to fetch rounds from, comma-separated, tried in order
    /// (a relay that fails or returns a beacon that does not verify is
    /// skipped and logged). Each origin must be in the beacon plugin's
    /// `http.allow`. Empty: the relay in the plugin's manifest.
    #[arg(long, env = "FAIRDRAW_DRAND_RELAYS", value_delimiter = ',')]
    pub drand_relays: Vec<String>,
    /// Job workers per replica: they fetch each locked drand draw's round
    /// when it is due and execute the draw (0: this replica runs no jobs,
    /// another one must).
    #[arg(long, env = "FAIRDRAW_WORKERS", default_value_t = 2)]
    pub workers: usize,
    /// Seconds a worker's claim on a job lasts before another replica may
    /// take the job over (renewed while the job runs).
    #[arg(long, env = "FAIRDRAW_JOB_LEASE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(3..=3600))]
    pub job_lease_seconds: u64,
    /// Let webhook deliveries reach private, loopback and link-local
    /// addresses (on with --dev). Off: an endpoint whose name resolves to
    /// such an address is refused at every delivery, as plugins are.
    #[arg(long, env = "FAIRDRAW_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// With --dev: on first start, create a demo organisation and a demo
    /// draw, already executed, offline; print an API key and its public URLs.
    #[arg(long, requires = "dev")]
    pub demo: bool,
    /// The built widget and pages (`web-widget/build.sh` writes
    /// `web-widget/dist`), served at `/verify`, `/d/{id}` and `/widget/`.
    /// Default: the source tree's `web-widget/dist`.
    #[arg(long, env = "FAIRDRAW_WIDGET_DIR")]
    pub widget_dir: Option<PathBuf>,
    /// The transparency log.
    #[command(flatten)]
    pub log: LogArgs,
    /// Development and tests.
    #[command(flatten)]
    pub devtools: DevArgs,
}

/// Settings for tests that drive real server processes; each is accepted
/// only with `--dev` and is off by default.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct DevArgs {
    /// With --dev: start the server's clock at this RFC 3339 time (it then
    /// runs at the system clock's speed), so tests can replay real recorded
    /// drand rounds against a mock relay by starting a little before the
    /// round. Locks, job times and receipts all read this clock.
    #[arg(long, env = "FAIRDRAW_DEV_CLOCK_START", requires = "dev", value_parser = parse_clock_start)]
    pub dev_clock_start: Option<i64>,
    /// With --dev: the first execution this process makes holds its claim
    /// (the draw's row locked, the transaction open, nothing committed) for
    /// this many milliseconds after signing the receipt and before storing
    /// it, after logging
    /// `dev: holding the execution claim`. Tests use it to kill the server
    /// or drop its database connection in the middle of an execution,
    /// deterministically. 0: off.
    #[arg(
        long,
        env = "FAIRDRAW_DEV_EXECUTE_HOLD_MS",
        requires = "dev",
        default_value_t = 0
    )]
    pub dev_execute_hold_ms: u64,
}

/// An RFC 3339 time as Unix milliseconds.
fn parse_clock_start(s: &str) -> Result<i64, String> {
    let t = fairdraw_engine::time::Timestamp::parse_rfc3339(s.trim())
        .map_err(|e| format!("not an RFC 3339 time ({e})"))?;
    Ok(t.unix().saturating_mul(1000))
}

/// The transparency log's settings (issue 14).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct LogArgs {
    /// The server's public base URL (`https://draws.example.com`): the
    /// default log origin is its host and path followed by `/log`.
    #[arg(long, env = "FAIRDRAW_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The log's checkpoint origin (C2SP tlog-checkpoint), also its key's
    /// name, e.g. `draws.example.com/log`. Default: from --public-url, else
    /// `<listen address>/log` (set it for a real deployment: a log's
    /// origin never changes).
    #[arg(long, env = "FAIRDRAW_LOG_ORIGIN")]
    pub log_origin: Option<String>,
    /// Witnesses to submit each checkpoint to, comma-separated, each
    /// `URL VKEY` (the witness's submission prefix and its cosignature/v1
    /// verifier key).
    #[arg(long, env = "FAIRDRAW_LOG_WITNESSES", value_delimiter = ',')]
    pub log_witnesses: Vec<String>,
    /// A file of witnesses, one `URL VKEY` a line (`#` comments), added to
    /// --log-witnesses.
    #[arg(long, env = "FAIRDRAW_LOG_WITNESSES_FILE")]
    pub log_witnesses_file: Option<PathBuf>,
    /// Milliseconds the lock route waits for its receipt to be in a signed
    /// checkpoint before answering 202 (the lock is stored either way).
    #[arg(long, env = "FAIRDRAW_LOG_LOCK_WAIT_MS", default_value_t = 10_000)]
    pub log_lock_wait_ms: u64,
    /// Milliseconds between the sequencer's batches.
    #[arg(long, env = "FAIRDRAW_LOG_BATCH_MS", default_value_t = 250)]
    pub log_batch_ms: u64,
}

impl LogArgs {
    /// The log's configuration for a server listening on `listen`.
    ///
    /// Fails with a message naming the bad witness line or file.
    pub fn log_config(&self, listen: SocketAddr) -> Result<crate::log::LogConfig, String> {
        let origin = match (&self.log_origin, &self.public_url) {
            (Some(o), _) => o.trim().to_owned(),
            (None, Some(url)) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                format!("{}/log", rest.trim_end_matches('/'))
            }
            (None, None) => format!("{listen}/log"),
        };
        let mut c = crate::log::LogConfig::new(&origin);
        c.lock_wait = std::time::Duration::from_millis(self.log_lock_wait_ms);
        c.interval = std::time::Duration::from_millis(self.log_batch_ms.max(10));
        let mut lines: Vec<String> = self
            .log_witnesses
            .iter()
            .filter(|w| !w.trim().is_empty())
            .cloned()
            .collect();
        if let Some(f) = &self.log_witnesses_file {
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            lines.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        for l in lines {
            c.witnesses.push(crate::log::WitnessConfig::parse(&l)?);
        }
        Ok(c)
    }
}

impl Config {
    /// Whether webhooks may reach private addresses: asked for, or `--dev`.
    pub fn webhooks_allow_private(&self) -> bool {
        self.webhook_allow_private || self.store.dev
    }

    /// The workers' configuration.
    pub fn worker_config(&self) -> crate::worker::WorkerConfig {
        crate::worker::WorkerConfig {
            workers: self.workers,
            lease: std::time::Duration::from_secs(self.job_lease_seconds),
            ..crate::worker::WorkerConfig::default()
        }
    }
}
