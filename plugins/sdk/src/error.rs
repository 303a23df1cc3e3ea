//! The error a plugin declares (WIT `plugin-error`).

use std::fmt;

/// The platform asked the caller to slow down (WIT `rate-limit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Seconds until the limit resets, when the platform says.
    pub retry_after_seconds: Option<u64>,
    /// The platform's words.
    pub message: String,
}

/// An error a plugin declares (WIT `plugin-error`). Traps and host faults
/// are reported separately by the host; this is the inner layer, the one the
/// plugin chose.
///
/// [`crate::http::status_error`] maps an HTTP error status to the right
/// variant; plugins override it where a platform says more (YouTube's 403
/// `quotaExceeded` is a rate limit, its 403 `commentsDisabled` is not found).
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
    /// A rate limit with the platform's `message` and, when known, the
    /// seconds until it resets.
    pub fn rate_limited(retry_after_seconds: Option<u64>, message: impl Into<String>) -> Self {
        PluginError::RateLimited(RateLimit {
            retry_after_seconds,
            message: message.into(),
        })
    }

    /// The variant's WIT name, e.g. `rate-limited`.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::InvalidInput(_) => "invalid-input",
            PluginError::Unauthorized(_) => "unauthorized",
            PluginError::RateLimited(_) => "rate-limited",
            PluginError::NotFound(_) => "not-found",
            PluginError::Unavailable(_) => "unavailable",
            PluginError::BadResponse(_) => "bad-response",
            PluginError::Http(_) => "http",
            PluginError::Other(_) => "other",
        }
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        match self {
            PluginError::RateLimited(limit) => &limit.message,
            PluginError::InvalidInput(m)
            | PluginError::Unauthorized(m)
            | PluginError::NotFound(m)
            | PluginError::Unavailable(m)
            | PluginError::BadResponse(m)
            | PluginError::Http(m)
            | PluginError::Other(m) => m,
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::InvalidInput(m) => write!(f, "invalid input: {m}"),
            PluginError::Unauthorized(m) => write!(f, "unauthorized: {m}"),
            PluginError::RateLimited(RateLimit {
                retry_after_seconds: Some(s),
                message,
            }) => {
                write!(f, "rate limited (retry after {s} s): {message}")
            }
            PluginError::RateLimited(RateLimit {
                retry_after_seconds: None,
                message,
            }) => {
                write!(f, "rate limited: {message}")
            }
            PluginError::NotFound(m) => write!(f, "not found: {m}"),
            PluginError::Unavailable(m) => write!(f, "platform unavailable: {m}"),
            PluginError::BadResponse(m) => write!(f, "unexpected response: {m}"),
            PluginError::Http(m) => write!(f, "HTTP request failed: {m}"),
            PluginError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for PluginError {}

impl From<crate::http::HttpError> for PluginError {
    /// The host's refusal, word for word, as [`PluginError::Http`].
    fn from(e: crate::http::HttpError) -> Self {
        PluginError::Http(e.to_string())
    }
}
