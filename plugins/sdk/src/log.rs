//! Logging into the host's logs, tagged with the plugin id.
//!
//! Natively (in tests) lines go to stderr, which the test harness captures,
//! and to [`crate::testing::logs`].

use std::fmt;

/// Severity (WIT `level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
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

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        })
    }
}

/// Writes one log line at `level`.
pub fn log(level: Level, message: &str) {
    crate::host::log(level, message);
}

/// Writes one line at [`Level::Trace`].
pub fn trace(message: impl AsRef<str>) {
    log(Level::Trace, message.as_ref());
}

/// Writes one line at [`Level::Debug`].
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message.as_ref());
}

/// Writes one line at [`Level::Info`].
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message.as_ref());
}

/// Writes one line at [`Level::Warn`].
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message.as_ref());
}

/// Writes one line at [`Level::Error`].
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message.as_ref());
}
