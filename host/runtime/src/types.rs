//! The host-side view of plugin values, independent of any WIT version.
//!
//! Each WIT version's bindings (`bindings::v0_1`, …) convert into these types
//! with `From`, so callers never see generated code and an old plugin keeps
//! working when a new WIT version is added.

use std::fmt;

/// The collections a source may list for a post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Collection {
    /// Top-level comments.
    Comments,
    /// Replies to comments.
    Replies,
    /// Accounts that liked (favourited) the post.
    Likes,
    /// Accounts that reposted (shared, boosted) the post.
    Reposts,
    /// Accounts that follow the post's author.
    Followers,
}

impl Collection {
    /// Every collection, in WIT order.
    pub const ALL: [Collection; 5] = [
        Collection::Comments,
        Collection::Replies,
        Collection::Likes,
        Collection::Reposts,
        Collection::Followers,
    ];

    /// The name written into entries and bundles, e.g. `likes`.
    pub fn name(self) -> &'static str {
        match self {
            Collection::Comments => "comments",
            Collection::Replies => "replies",
            Collection::Likes => "likes",
            Collection::Reposts => "reposts",
            Collection::Followers => "followers",
        }
    }

    /// Parses a collection name (`comments`, `replies`, `likes`, `reposts`, `followers`).
    pub fn from_name(name: &str) -> Option<Collection> {
        Collection::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The platform asked the caller to slow down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Seconds until the limit resets, when the platform says.
    pub retry_after_seconds: Option<u64>,
    /// The platform's words.
    pub message: String,
}

/// The error a plugin declares (the inner error layer). Traps and host
/// faults are a [`Fault`] instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginError {
    /// The input (post URL, cursor, config) is not valid for this plugin.
    InvalidInput(String),
    /// Credentials are missing, invalid or expired; retrying will not help.
    Unauthorized(String),
    /// The platform rate-limited the request; the host may retry later.
    RateLimited(RateLimit),
    /// The post or collection does not exist or is not visible.
    NotFound(String),
    /// The platform failed (5xx); the host may retry.
    Unavailable(String),
    /// The platform's answer could not be understood.
    BadResponse(String),
    /// The host refused or could not complete an HTTP request.
    Http(String),
    /// Anything else.
    Other(String),
}

impl PluginError {
    /// Whether retrying later may succeed (rate limits and platform outages).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PluginError::RateLimited(_) | PluginError::Unavailable(_)
        )
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::InvalidInput(m) => write!(f, "invalid input: {m}"),
            PluginError::Unauthorized(m) => write!(f, "unauthorized: {m}"),
            PluginError::RateLimited(r) => match r.retry_after_seconds {
                Some(s) => write!(f, "rate limited (retry after {s} s): {}", r.message),
                None => write!(f, "rate limited: {}", r.message),
            },
            PluginError::NotFound(m) => write!(f, "not found: {m}"),
            PluginError::Unavailable(m) => write!(f, "platform unavailable: {m}"),
            PluginError::BadResponse(m) => write!(f, "unexpected response from the platform: {m}"),
            PluginError::Http(m) => write!(f, "HTTP request failed: {m}"),
            PluginError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for PluginError {}

/// A rule a source cannot check, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsupportedCheck {
    /// The rule's field name, e.g. `min_account_age_days`.
    pub rule: String,
    /// Why it cannot be checked.
    pub reason: String,
}

/// What a source plugin is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// Platform name written into every entry, e.g. `youtube`.
    pub platform: String,
    /// The collections `fetch_page` can list.
    pub collections: Vec<Collection>,
    /// Names of the credentials the manifest must provide.
    pub credentials: Vec<String>,
    /// Rules that cannot be checked on this platform's data.
    pub unsupported: Vec<UnsupportedCheck>,
}

/// A post, as the platform identifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// The platform's id for the post.
    pub id: String,
    /// Canonical URL of the post.
    pub url: String,
}

/// One page of a collection, converted to engine entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The entries, each with `collection` set.
    pub entries: Vec<fairdraw_engine::entry::OwnedEntry>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Total entries in the collection, when the platform says.
    pub total_hint: Option<u64>,
}

/// A filter's decision on one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The entry stays eligible.
    Keep,
    /// The entry is excluded, with the reason an entrant is shown.
    Exclude(String),
}

/// One beacon round as published, not yet verified (the engine verifies it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeaconRound {
    /// The beacon's chain, e.g. `quicknet`.
    pub chain: String,
    /// The round number.
    pub round: u64,
    /// The signature, lowercase hex.
    pub signature: String,
    /// The previous round's signature (chained schemes), lowercase hex.
    pub previous_signature: Option<String>,
}

/// Why a plugin call stopped without an answer (the outer error layer): the
/// host stopped the instance or the instance trapped. The instance is
/// discarded; the next call starts from a fresh one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The plugin's id.
    pub plugin: String,
    /// What happened.
    pub kind: FaultKind,
}

/// The kinds of [`Fault`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The call used all its fuel (CPU budget); `limits.fuel` in the manifest.
    FuelExhausted {
        /// The budget, in fuel units (about one per WebAssembly instruction).
        fuel: u64,
    },
    /// The call ran longer than its wall-clock limit; `limits.timeout_ms`.
    Timeout {
        /// The limit in milliseconds.
        timeout_ms: u64,
    },
    /// The instance tried to grow its memory past the limit; `limits.memory_mb`.
    MemoryLimit {
        /// The limit in MiB.
        memory_mb: u64,
    },
    /// The WebAssembly call stack overflowed (runaway recursion).
    StackOverflow,
    /// The plugin panicked.
    Panic {
        /// The panic message the plugin printed, if any.
        message: String,
    },
    /// The plugin trapped for another reason.
    Trap {
        /// The trap, as WebAssembly names it.
        message: String,
    },
    /// The plugin returned more data than the host accepts in one call.
    TooMuchData {
        /// The limit.
        what: String,
    },
    /// The plugin answered something the contract forbids.
    BadResult {
        /// What was wrong.
        message: String,
    },
    /// The host could not run the plugin (instantiation, resources).
    Host {
        /// The host's error.
        message: String,
    },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = &self.plugin;
        match &self.kind {
            FaultKind::FuelExhausted { fuel } => write!(
                f,
                "plugin `{id}` was stopped: it used all of its CPU budget ({fuel} fuel; raise `limits.fuel` if this is legitimate)"
            ),
            FaultKind::Timeout { timeout_ms } => {
                write!(
                    f,
                    "plugin `{id}` was stopped: the call took longer than {timeout_ms} ms (`limits.timeout_ms`)"
                )
            }
            FaultKind::MemoryLimit { memory_mb } => write!(
                f,
                "plugin `{id}` was stopped: it tried to use more than {memory_mb} MiB of memory (`limits.memory_mb`)"
            ),
            FaultKind::StackOverflow => {
                write!(
                    f,
                    "plugin `{id}` crashed: call stack overflow (runaway recursion)"
                )
            }
            FaultKind::Panic { message } if message.is_empty() => {
                write!(f, "plugin `{id}` panicked")
            }
            FaultKind::Panic { message } => write!(f, "plugin `{id}` panicked: {message}"),
            FaultKind::Trap { message } => write!(f, "plugin `{id}` crashed: {message}"),
            FaultKind::TooMuchData { what } => write!(f, "plugin `{id}` was stopped: {what}"),
            FaultKind::BadResult { message } => {
                write!(f, "plugin `{id}` broke the plugin contract: {message}")
            }
            FaultKind::Host { message } => write!(f, "cannot run plugin `{id}`: {message}"),
        }
    }
}

impl std::error::Error for Fault {}

/// The result of a plugin call: the outer `Result` is a [`Fault`] (trap or
/// host fault), the inner one the [`PluginError`] the plugin declared.
pub type CallResult<T> = Result<Result<T, PluginError>, Fault>;

/// Severity of a plugin log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected but handled.
    Warn,
    /// A failure.
    Error,
}

impl LogLevel {
    /// Lowercase name, e.g. `warn`.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    /// Parses a level name (case-insensitive).
    pub fn from_name(name: &str) -> Option<LogLevel> {
        [
            LogLevel::Trace,
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
        ]
        .into_iter()
        .find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// Where a log line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// The plugin's `log` import.
    Log,
    /// The plugin's captured stderr (or stdout).
    Stderr,
    /// The host, about the plugin (e.g. a dev origin map is active).
    Host,
}

/// One log line, tagged with the plugin id.
#[derive(Clone, Copy, Debug)]
pub struct LogRecord<'a> {
    /// The plugin's id (`host` for runtime-wide messages).
    pub plugin: &'a str,
    /// Severity.
    pub level: LogLevel,
    /// Where the line came from.
    pub source: LogSource,
    /// The text.
    pub message: &'a str,
}
