//! Instants as the protocol writes them: RFC 3339 strings (PROTOCOL.md §3).
//!
//! The engine never reads a clock; every instant comes in as an argument.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant with whole-second precision, in UTC.
///
/// Receipts write it as `YYYY-MM-DDTHH:MM:SSZ` and nothing else, so that one
/// instant has one spelling in signed JSON.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not an RFC 3339 date-time.
    #[error("invalid RFC 3339 timestamp {0:?}")]
    Invalid(String),
    /// Receipts need `YYYY-MM-DDTHH:MM:SSZ` exactly.
    #[error(
        "timestamp {0:?} is not in the canonical form YYYY-MM-DDTHH:MM:SSZ (UTC, whole seconds)"
    )]
    NotCanonical(String),
}

impl Timestamp {
    /// From Unix seconds.
    pub const fn from_unix(seconds: i64) -> Self {
        Timestamp(seconds)
    }

    /// Unix seconds.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// Parses any RFC 3339 date-time (any offset, fractional seconds allowed)
    /// and truncates it to the whole second, toward the past.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimeError> {
        let t = parse_instant(s)?;
        Ok(Timestamp(t.0))
    }

    /// Parses the canonical receipt form `YYYY-MM-DDTHH:MM:SSZ` only.
    pub fn parse_canonical(s: &str) -> Result<Self, TimeError> {
        let t = Self::parse_rfc3339(s)?;
        if t.to_string() != s {
            return Err(TimeError::NotCanonical(s.to_owned()));
        }
        Ok(t)
    }
}

/// An RFC 3339 instant with nanoseconds, for comparing entry times exactly.
///
/// Returns `(unix_seconds, nanoseconds)`.
pub fn parse_instant(s: &str) -> Result<(i64, u32), TimeError> {
    // `time` maps a leap second to :59.999999999; the protocol refuses it so
    // that every implementation reads the same instant.
    if s.get(17..19) == Some("60") {
        return Err(TimeError::Invalid(s.to_owned()));
    }
    let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimeError::Invalid(s.to_owned()))?;
    Ok((t.unix_timestamp(), t.nanosecond()))
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match OffsetDateTime::from_unix_timestamp(self.0) {
            Ok(t) => write!(
                f,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            Err(_) => write!(f, "@{}", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_canonical(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_round_trip() {
        let t = Timestamp::parse_canonical("2026-12-01T00:00:00Z").unwrap();
        assert_eq!(t.unix(), 1_796_083_200);
        assert_eq!(t.to_string(), "2026-12-01T00:00:00Z");
        assert!(Timestamp::parse_canonical("2026-12-01T01:00:00+01:00").is_err());
        assert_eq!(
            Timestamp::parse_rfc3339("2026-12-01T01:00:00+01:00").unwrap(),
            t
        );
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn leap_seconds_are_refused() {
        assert!(parse_instant("2016-12-31T23:59:60Z").is_err());
        assert!(parse_instant("2016-12-31T23:59:59.5Z").is_ok());
    }
}
