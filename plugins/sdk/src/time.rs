//! Timestamps without a clock.
//!
//! A plugin has no clock (the host grants none), so "seconds until" is
//! computed against the response's `Date` header. These parsers are small
//! and strict; they return `None` rather than guess.
//!
//! ```
//! use fairdraw_plugin_sdk::time;
//! assert_eq!(time::parse_rfc3339("1970-01-02T00:00:01.5+00:00"), Some((86_401, 500_000_000)));
//! assert_eq!(time::parse_http_date("Thu, 01 Jan 1970 00:01:00 GMT"), Some(60));
//! assert_eq!(time::format_rfc3339(86_401), "1970-01-02T00:00:01Z");
//! ```

/// Parses an RFC 3339 date-time (`2024-06-01T12:05:00.000000Z`, any offset,
/// any number of fractional digits) into Unix seconds and nanoseconds.
/// Returns `None` for anything else, including a leap second (`:60`), which
/// the engine refuses too.
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = two(b, 0)? * 100 + two(b, 2)?;
    let (month, day) = (two(b, 5)?, two(b, 8)?);
    let (hour, minute, second) = (two(b, 11)?, two(b, 14)?, two(b, 17)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let [b'.', frac @ ..] = rest {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for (i, c) in frac[..n].iter().enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u32::from(c - b'0');
            }
        }
        for _ in n..9 {
            nanos *= 10;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (two(rest, 1)?, two(rest, 4)?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    Some((secs, nanos))
}

/// The two ASCII digits at `b[i..i + 2]` as a number.
#[inline]
fn two(b: &[u8], i: usize) -> Option<u32> {
    let (hi, lo) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
    (hi < 10 && lo < 10).then(|| u32::from(hi) * 10 + u32::from(lo))
}

/// The calendar date a timestamp starts with (`YYYY-MM-DD…`), as days since
/// 1970-01-01, without reading the rest: cheap, for comparisons that only
/// need a date. The date is the one written, in the timestamp's own offset.
///
/// ```
/// use fairdraw_plugin_sdk::time;
/// assert_eq!(time::parse_date("1970-01-02T23:59:59-05:00"), Some(1));
/// assert_eq!(time::parse_date("1970-13-01"), None);
/// ```
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = two(b, 0)? * 100 + two(b, 2)?;
    let (month, day) = (two(b, 5)?, two(b, 8)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses an HTTP date in the IMF-fixdate form every HTTP/1.1 server sends
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    if b.len() != 29 || &b[3..5] != b", " || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' {
        return None;
    }
    if b[19] != b':' || b[22] != b':' || &b[25..] != b" GMT" {
        return None;
    }
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = MONTHS.iter().position(|m| &b[8..11] == *m)? as u32 + 1;
    let day = digits(&b[5..7])?;
    let year = digits(&b[12..16])?;
    let (hour, minute, second) = (
        digits(&b[17..19])?,
        digits(&b[20..22])?,
        digits(&b[23..25])?,
    );
    if day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second.min(59)))
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`, the canonical form of
/// fairdraw receipts.
pub fn format_rfc3339(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[inline]
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

#[inline]
fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

#[inline]
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`), for the
/// four-digit years the parsers accept. Unsigned: the year is shifted by
/// 1600 (four 400-year eras), so every division is by a constant.
#[inline]
fn days_from_civil(year: u32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { year + 1599 } else { year + 1600 };
    let (era, yoe) = (y / 400, y % 400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i64::from(era * 146_097 + doe) - 719_468 - 4 * 146_097
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms() {
        assert_eq!(
            parse_rfc3339("2024-06-01T12:05:00.000000Z"),
            Some((1_717_243_500, 0))
        );
        assert_eq!(
            parse_rfc3339("2024-06-01T14:05:00+02:00"),
            Some((1_717_243_500, 0))
        );
        assert_eq!(
            parse_rfc3339("2024-06-01T12:05:00.123456789123Z"),
            Some((1_717_243_500, 123_456_789))
        );
        assert_eq!(
            parse_rfc3339("2019-11-23T20:06:36.011Z"),
            Some((1_574_539_596, 11_000_000))
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some((-1, 0)));
        for bad in [
            "2024-06-01",
            "2024-06-01T12:05:00",
            "2024-02-30T00:00:00Z",
            "2024-06-01T12:05:60Z",
            "2024-06-01T12:05:00.Z",
            "2024-06-01T12:05:00+0200",
            "２024-06-01T12:05:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Sat, 01 Jun 2024 12:00:00 GMT"),
            Some(1_717_243_200)
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
    }

    #[test]
    fn format_round_trips() {
        for secs in [
            0,
            1_717_243_500,
            951_782_400, /* 2000-02-29 */
            -86_400,
            4_102_444_800,
        ] {
            assert_eq!(parse_rfc3339(&format_rfc3339(secs)), Some((secs, 0)));
        }
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
