//! RFC 3797 "Publicly Verifiable NomCom Random Selection" (PROTOCOL.md §7.4).
//!
//! The organiser names public sources in advance (lottery draws, stock index
//! closes); once they are out, their values are canonicalised into a key
//! string ([`key_string`]) and values are drawn from
//! `MD5(u16be(i) || key || u16be(i))` for `i = 0, 1, …` ([`Rfc3797Picker`]),
//! exactly as the RFC's reference code does.
//!
//! ```
//! use fairdraw_engine::randomness::rfc3797;
//!
//! // The worked example of RFC 3797 section 6.
//! let (key, picked) = rfc3797::select(25, 3, &["9319", "2 5 12 8 10", "9 18 26 34 41 45"])?;
//! assert_eq!(key, "9319./2.5.8.10.12./9.18.26.34.41.45./");
//! assert_eq!(picked, [17, 7, 2]);
//! # Ok::<(), fairdraw_engine::randomness::RandomnessError>(())
//! ```

use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

use super::RandomnessError;

/// The number of values one key yields: the index is two bytes.
pub const MAX_VALUES: u32 = 1 << 16;

/// The canonical RFC 3797 key string of the sources' values, one string per
/// source in the order the sources were named.
///
/// Each source is canonicalised as RFC 3797 section 4 says:
/// - **numbers**: a source whose whitespace-separated tokens are all decimal
///   digits gives its numbers with leading zeros removed (`0` stays `0`),
///   sorted ascending by value (numbers of any size; digit strings are
///   compared, nothing overflows), each followed by `.`;
/// - **text**: any other source has accents, white space, punctuation and
///   special characters removed and letters upper-cased, leaving one unbroken
///   string of `A-Z0-9`, followed by `.`;
/// - each source is then followed by `/`.
///
/// So `["9319", "2 5 12 8 10"]` gives `9319./2.5.8.10.12./`.
///
/// Fails with [`RandomnessError::NoSources`] for an empty list and
/// [`RandomnessError::BadSource`] for a source that is empty or has nothing
/// left after cleaning, whose text holds letters outside the Latin alphabet
/// (the RFC leaves those to the user; fairdraw refuses them), or whose
/// digits carry a sign, decimal point or separator but no letter (`3.14`,
/// `-5`, `1,234`): whether that is one number or several cannot be decided
/// the same way by everyone, so it must be written as whole numbers.
pub fn key_string(values: &[impl AsRef<str>]) -> Result<String, RandomnessError> {
    if values.is_empty() {
        return Err(RandomnessError::NoSources);
    }
    super::check_rfc3797_values(values)?;
    let mut key = String::new();
    for (i, value) in values.iter().enumerate() {
        let value = value.as_ref();
        let bad = |problem: &str| RandomnessError::BadSource {
            source_number: i + 1,
            value: value.to_owned(),
            problem: problem.to_owned(),
        };
        let tokens: Vec<&str> = value.split_whitespace().collect();
        if tokens.is_empty() {
            return Err(bad("the source is empty"));
        }
        if tokens.iter().all(|t| t.bytes().all(|b| b.is_ascii_digit())) {
            let mut numbers: Vec<&str> = tokens
                .iter()
                .map(|t| {
                    let trimmed = t.trim_start_matches('0');
                    if trimmed.is_empty() { "0" } else { trimmed }
                })
                .collect();
            // Without leading zeros, a longer digit string is a larger number.
            numbers.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
            for n in numbers {
                key.push_str(n);
                key.push('.');
            }
        } else {
            let mut text = String::new();
            let mut letters = false;
            for c in value.nfd() {
                if c.is_ascii_alphanumeric() {
                    letters |= c.is_ascii_alphabetic();
                    text.push(c.to_ascii_uppercase());
                } else if c.is_ascii() || is_combining_mark(c) || !c.is_alphanumeric() {
                    // White space, punctuation, accents and special characters.
                } else {
                    return Err(bad(&format!(
                        "{c:?} is not a Latin letter or digit; RFC 3797 only defines how to \
                         canonicalise Latin-alphabet text"
                    )));
                }
            }
            if text.is_empty() {
                return Err(bad(
                    "nothing is left once punctuation and symbols are removed",
                ));
            }
            if !letters {
                return Err(bad(
                    "a number with a sign, decimal point or separator is ambiguous; \
                     write whole numbers separated by spaces, e.g. \"2 5 12\"",
                ));
            }
            key.push_str(&text);
            key.push('.');
        }
        key.push('/');
    }
    if key.len() > super::limits::MAX_RFC3797_KEY_BYTES {
        return Err(RandomnessError::TooLarge(format!(
            "the RFC 3797 key string is {} bytes, at most {} are allowed",
            key.len(),
            super::limits::MAX_RFC3797_KEY_BYTES
        )));
    }
    Ok(key)
}

/// Draws values from an RFC 3797 key.
///
/// The `i`-th value (`i` from 0) is `MD5(u16be(i) || key || u16be(i))` read as
/// a 128-bit big-endian unsigned integer.
#[derive(Clone, Debug)]
pub struct Rfc3797Picker {
    key: Vec<u8>,
    index: u32,
}

impl Rfc3797Picker {
    /// A picker over the key string `key` (its UTF-8 bytes), starting at index 0.
    pub fn new(key: &str) -> Self {
        Rfc3797Picker {
            key: key.as_bytes().to_vec(),
            index: 0,
        }
    }

    /// The next value; the index then moves on by one.
    ///
    /// Fails with [`RandomnessError::IndexExhausted`] after 65536 values.
    pub fn next_value(&mut self) -> Result<u128, RandomnessError> {
        let i = u16::try_from(self.index).map_err(|_| RandomnessError::IndexExhausted)?;
        let mut h = Md5::new();
        h.update(i.to_be_bytes());
        h.update(&self.key);
        h.update(i.to_be_bytes());
        self.index += 1;
        Ok(u128::from_be_bytes(h.finalize().into()))
    }

    /// `next_value() mod remaining`: a 0-based position among `remaining`
    /// items.
    ///
    /// Fails when `remaining` is 0 (without using up an index) or the index
    /// is exhausted.
    pub fn pick(&mut self, remaining: u64) -> Result<u64, RandomnessError> {
        if remaining == 0 {
            return Err(RandomnessError::BadSelection {
                pool: 0,
                count: 1,
                problem: "nothing is left to pick from",
            });
        }
        let v = self.next_value()? % u128::from(remaining);
        // The remainder is below `remaining`, so it fits.
        Ok(u64::try_from(v).unwrap_or(u64::MAX))
    }
}

/// Selects `count` of the positions `1..=pool` as RFC 3797 does, from the
/// sources' `values`. Returns the key string and the selected 1-based
/// positions in the order they were drawn.
///
/// Draw `i` (from 0) takes `pick(pool - i)`, the 0-based position among the
/// positions not yet selected, in ascending order. Fails for an empty pool,
/// `count > pool`, `count > 65536`, or values [`key_string`] refuses.
pub fn select(
    pool: u64,
    count: u64,
    values: &[impl AsRef<str>],
) -> Result<(String, Vec<u64>), RandomnessError> {
    let problem = if pool == 0 {
        Some("the pool is empty")
    } else if count > pool {
        Some("there are fewer entries than winners")
    } else if count > u64::from(MAX_VALUES) {
        Some("RFC 3797 can select at most 65536 (its index is two bytes)")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(RandomnessError::BadSelection {
            pool,
            count,
            problem,
        });
    }
    let key = key_string(values)?;
    let mut picker = Rfc3797Picker::new(&key);
    // Positions selected so far, ascending; the unselected ones are implied.
    let mut taken: Vec<u64> = Vec::new();
    let mut order = Vec::new();
    for i in 0..count {
        let k = picker.pick(pool - i)?;
        // The (k+1)-th smallest position not in `taken`.
        let mut pos = k + 1;
        for &t in &taken {
            if t <= pos {
                pos += 1;
            } else {
                break;
            }
        }
        let at = taken.partition_point(|&t| t < pos);
        taken.insert(at, pos);
        order.push(pos);
    }
    Ok((key, order))
}

/// Protocol 2: what one named source will produce, fixed in the lock
/// (PROTOCOL.md §7.4): `count` whole numbers from `min` to `max`. With every
/// source's shape fixed, a lottery result has exactly one valid spelling:
/// the bonus balls are a source of their own or not at all, and a value
/// with one number too many or too few is refused.
///
/// ```
/// use fairdraw_engine::randomness::rfc3797::SourceShape;
///
/// let main = SourceShape::parse("EuroMillions 2026-12-08 main=5x1-50").unwrap();
/// assert_eq!((main.count, main.min, main.max), (5, 1, 50));
/// assert!(main.check_value("3 14 27 38 50").is_ok());
/// assert!(main.check_value("3 14 27 38 50 7").is_err()); // a star added
/// assert!(main.check_value("3 14 27 38 51").is_err()); // out of range
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceShape {
    /// Which source, in words: the lottery, its date, which balls.
    pub name: String,
    /// How many numbers the source gives (repeats allowed, as in a daily
    /// three-digit draw).
    pub count: u32,
    /// The smallest number it can give.
    pub min: u64,
    /// The largest number it can give; at most 2^53 − 1.
    pub max: u64,
}

/// Numbers one source may give ([`SourceShape::count`]).
pub const MAX_SHAPE_COUNT: u32 = 100;

/// Code points of a [`SourceShape::name`].
pub const MAX_SHAPE_NAME_CHARS: usize = 200;

impl SourceShape {
    /// Parses `NAME=COUNTxMIN-MAX`, e.g. `EuroMillions stars=2x1-12`
    /// (split at the last `=`), and [checks](SourceShape::check) it.
    pub fn parse(s: &str) -> Result<SourceShape, String> {
        let form =
            "write each source as NAME=COUNTxMIN-MAX, e.g. \"EuroMillions 2026-12-08 main=5x1-50\"";
        let (name, shape) = s.rsplit_once('=').ok_or_else(|| format!("{s:?}: {form}"))?;
        let (count, range) = shape
            .split_once('x')
            .ok_or_else(|| format!("{s:?}: {form}"))?;
        let (min, max) = range
            .split_once('-')
            .ok_or_else(|| format!("{s:?}: {form}"))?;
        let number = |t: &str, what: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("{s:?}: {what} {t:?} is not a whole number; {form}"))
        };
        let shape = SourceShape {
            name: name.trim().to_owned(),
            count: u32::try_from(number(count, "the count")?)
                .map_err(|_| format!("{s:?}: the count is too large"))?,
            min: number(min, "the minimum")?,
            max: number(max, "the maximum")?,
        };
        shape.check().map_err(|p| format!("{s:?}: {p}"))?;
        Ok(shape)
    }

    /// The shape's own constraints: a visible, non-empty name of at most
    /// [`MAX_SHAPE_NAME_CHARS`] code points, `count` from 1 to
    /// [`MAX_SHAPE_COUNT`], `min` ≤ `max` ≤ 2^53 − 1.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("the source needs a name".into());
        }
        if self.name.chars().count() > MAX_SHAPE_NAME_CHARS {
            return Err(format!(
                "the source name is longer than {MAX_SHAPE_NAME_CHARS} characters"
            ));
        }
        crate::text::check_visible(&self.name)
            .map_err(|e| format!("the source name {:?} {e}", self.name))?;
        if !(1..=MAX_SHAPE_COUNT).contains(&self.count) {
            return Err(format!(
                "a source gives 1 to {MAX_SHAPE_COUNT} numbers, not {}",
                self.count
            ));
        }
        if self.max > crate::receipt::MAX_SAFE_INTEGER {
            return Err("the maximum must be at most 2^53 - 1".into());
        }
        if self.min > self.max {
            return Err(format!(
                "the minimum {} is above the maximum {}",
                self.min, self.max
            ));
        }
        Ok(())
    }

    /// Checks that a realised value is exactly `count` whole numbers (decimal
    /// digits separated by white space) each from `min` to `max`.
    pub fn check_value(&self, value: &str) -> Result<(), String> {
        let tokens: Vec<&str> = value.split_whitespace().collect();
        if let Some(t) = tokens
            .iter()
            .find(|t| !t.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("{t:?} is not a whole number"));
        }
        if tokens.len() != self.count as usize {
            return Err(format!(
                "the lock fixed {} numbers, the value has {}",
                self.count,
                tokens.len()
            ));
        }
        for t in tokens {
            let digits = t.trim_start_matches('0');
            let n = if digits.len() > 16 {
                None
            } else {
                Some(digits.parse::<u64>().unwrap_or(0))
            };
            if !n.is_some_and(|n| (self.min..=self.max).contains(&n)) {
                return Err(format!(
                    "{t} is outside the fixed range {} to {}",
                    self.min, self.max
                ));
            }
        }
        Ok(())
    }
}

/// Checks realised `values` against the shapes the lock fixed: one value per
/// shape, in order, each of its shape.
pub fn check_values(
    shapes: &[SourceShape],
    values: &[impl AsRef<str>],
) -> Result<(), RandomnessError> {
    if shapes.len() != values.len() {
        return Err(RandomnessError::Rfc3797SourceCount {
            declared: shapes.len(),
            given: values.len(),
        });
    }
    for (i, (shape, value)) in shapes.iter().zip(values).enumerate() {
        shape
            .check_value(value.as_ref())
            .map_err(|problem| RandomnessError::BadSource {
                source_number: i + 1,
                value: value.as_ref().to_owned(),
                problem: format!("{}: {problem}", shape.name),
            })?;
    }
    Ok(())
}
