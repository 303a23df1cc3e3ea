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
    /// Protocol 2 takes one spelling of a time.
    #[error(
        "time {0:?} is not of the form YYYY-MM-DDTHH:MM:SS[.fraction of 1 to 9 digits] followed by Z or +HH:MM or -HH:MM"
    )]
    NotStrict(String),
    /// Outside the years protocol 2 accepts.
    #[error("time {0:?} is outside 1970-01-01T00:00:00Z to 2099-12-31T23:59:59Z")]
    OutOfRange(String),
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

/// The earliest instant protocol 2 accepts anywhere: 1970-01-01T00:00:00Z.
pub const SANE_FROM: i64 = 0;
/// The first instant protocol 2 refuses: 2100-01-01T00:00:00Z.
pub const SANE_UNTIL: i64 = 4_102_444_800;

/// Whether `s` is spelled exactly as protocol 2 writes a time (PROTOCOL.md
/// §3): `YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)` with `F` one to nine
/// digits, uppercase `T` and `Z`, ASCII digits only. The value itself (month
/// 1–12, day of that month, hour, minute and second ranges, no leap second,
/// offset below 24 hours) is checked by [`parse_instant`].
pub fn has_strict_form(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let head = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !head {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        let n = b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
        if !(1..=9).contains(&n) {
            return false;
        }
        i += 1 + n;
    }
    match &b[i..] {
        [b'Z'] => true,
        [b'+' | b'-', _, _, b':', _, _] => digits(i + 1..i + 3) && digits(i + 4..i + 6),
        _ => false,
    }
}

/// Parses a time as protocol 2 requires: the strict form of
/// [`has_strict_form`], a valid instant ([`parse_instant`]) within
/// [`SANE_FROM`] ≤ t < [`SANE_UNTIL`].
pub fn parse_instant_strict(s: &str) -> Result<(i64, u32), TimeError> {
    if !has_strict_form(s) {
        return Err(TimeError::NotStrict(s.to_owned()));
    }
    let t = parse_instant(s)?;
    if !(SANE_FROM..SANE_UNTIL).contains(&t.0) {
        return Err(TimeError::OutOfRange(s.to_owned()));
    }
    Ok(t)
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
    fn strict_form() {
        for ok in [
            "2026-12-03T10:00:00Z",
            "2026-12-03T10:00:00.5Z",
            "2026-12-03T10:00:00.123456789+01:00",
            "2026-12-03T10:00:00-05:30",
        ] {
            assert!(parse_instant_strict(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2026-12-03_10:00:00Z",
            "2026-12-03 10:00:00Z",
            "2026-12-03t10:00:00Z",
            "2026-12-03T10:00:00z",
            "2026-12-03T10:00:00.1234567891Z",
            "2026-12-03T10:00:00.Z",
            "2026-12-03T10:00Z",
            "2026-12-03T10:00:00+0100",
            "+2026-12-03T10:00:00Z",
            "2026-12-03T10:00:00Z ",
        ] {
            assert_eq!(
                parse_instant_strict(bad),
                Err(TimeError::NotStrict(bad.into())),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_instant_strict("2100-01-01T00:00:00Z"),
            Err(TimeError::OutOfRange(_))
        ));
        assert!(matches!(
            parse_instant_strict("1969-12-31T23:59:59Z"),
            Err(TimeError::OutOfRange(_))
        ));
        assert!(parse_instant_strict("2026-02-30T00:00:00Z").is_err());
    }

    #[test]
    fn leap_seconds_are_refused() {
        assert!(parse_instant("2016-12-31T23:59:60Z").is_err());
        assert!(parse_instant("2016-12-31T23:59:59.5Z").is_ok());
    }
}
