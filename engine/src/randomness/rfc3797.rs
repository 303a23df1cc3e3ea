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
