//! The plugin's own configuration: the manifest's `[config]` defaults,
//! overridden by the user. Never secrets: those stay in the host.
//!
//! Natively (in tests) values come from [`crate::testing::config`].

use std::fmt::Display;
use std::str::FromStr;

use crate::PluginError;

/// The value configured for `key`, if any.
pub fn get(key: &str) -> Option<String> {
    crate::host::config(key)
}

/// The value configured for `key`, or `default`.
pub fn get_or(key: &str, default: &str) -> String {
    get(key).unwrap_or_else(|| default.to_owned())
}

/// The value configured for `key` parsed as a `T`, `None` when unset.
/// Fails with [`PluginError::InvalidInput`] naming the key when the value
/// does not parse.
pub fn parse<T>(key: &str) -> Result<Option<T>, PluginError>
where
    T: FromStr,
    T::Err: Display,
{
    match get(key) {
        None => Ok(None),
        Some(value) => value.trim().parse().map(Some).map_err(|e| {
            PluginError::InvalidInput(format!("config `{key}` = {value:?} is not valid: {e}"))
        }),
    }
}
