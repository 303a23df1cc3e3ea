//! A brand's spam and bot heuristic, as a fairdraw filter.
//!
//! Per batch of entries, with the draw's JSON configuration
//! (`{"duplicate_text_accounts": 3, "min_account_age_days": 7, "emoji_only": true}`):
//!
//! - **Duplicate text**: an entry whose normalised text was posted by at
//!   least `duplicate_text_accounts` distinct accounts in the batch is
//!   excluded (copy-paste rings). Normalised: letters and digits only,
//!   lowercased, so `Count me in!!` and `count me in` are the same; a text
//!   without letters or digits is compared by its symbols (`🔥🔥`).
//!   Default 3; 0 turns it off (1 would exclude every comment and is refused).
//! - **Emoji or punctuation only**: a non-empty text without a letter or
//!   digit is excluded when `emoji_only` (default `true`).
//! - **New accounts**: an entry whose account was younger than
//!   `min_account_age_days` days (of 86 400 s) when it entered is excluded,
//!   when the platform gives the account's creation time. Default 0: off.
//!
//! Entries without text (likes, follows) are only checked for account age.
//! Each exclusion carries the reason shown to the entrant. Duplicates are
//! found within one batch: the host should pass a collection in one batch,
//! or accept that copies split across batches are missed.
//!
//! The batch is scanned twice with no allocation per entry but the reasons
//! of excluded ones: texts and accounts are reduced to 64-bit hashes (a
//! collision merges two texts; at a million texts the chance is about
//! 3 × 10⁻⁸).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use fairdraw_plugin_sdk::{EntryRef, Filter, PluginError, Verdict, time};
use serde::Deserialize;

/// The filter's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Exclude a text posted by at least this many distinct accounts in the
    /// batch; 0 turns the rule off.
    pub duplicate_text_accounts: u32,
    /// Exclude entries of accounts younger than this many days when they
    /// entered; 0 turns the rule off.
    pub min_account_age_days: u32,
    /// Exclude texts with no letter or digit (emoji, punctuation).
    pub emoji_only: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            duplicate_text_accounts: 3,
            min_account_age_days: 0,
            emoji_only: true,
        }
    }
}

/// The spam filter.
#[derive(Debug)]
pub struct SpamFilter;

impl Filter for SpamFilter {
    type Config = Config;

    fn parse_config(json: &str) -> Result<Config, PluginError> {
        let config: Config = if json.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str(json)
                .map_err(|e| PluginError::InvalidInput(format!("spam-filter configuration: {e}")))?
        };
        if config.duplicate_text_accounts == 1 {
            return Err(PluginError::InvalidInput(
                "spam-filter configuration: duplicate_text_accounts 1 would exclude every comment \
                 (use 0 to turn the rule off, or at least 2)"
                    .into(),
            ));
        }
        Ok(config)
    }

    fn check(entries: &[EntryRef<'_>], config: &Config) -> Result<Vec<Verdict>, PluginError> {
        Ok(check(entries, config))
    }
}

fairdraw_plugin_sdk::export_filter!(SpamFilter);

/// What a text holds, for the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Empty or whitespace (likes, follows): not a comment.
    Empty,
    /// No letter or digit.
    Symbols,
    /// At least one letter or digit.
    Words,
}

/// Accounts that posted one normalised text.
#[derive(Clone, Copy)]
struct Group {
    /// The index of the text's first entry.
    first: u32,
    accounts: u32,
}

/// The group of an entry whose text is not checked for copies.
const NO_GROUP: u32 = u32::MAX;

type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

/// Decides a batch: one verdict per entry, in order.
pub fn check(entries: &[EntryRef<'_>], config: &Config) -> Vec<Verdict> {
    let duplicates = config.duplicate_text_accounts;
    // Per entry: what its text holds and its group (an index in `groups`).
    let mut texts: Vec<(Kind, u32)> = Vec::with_capacity(entries.len());
    let mut group_of_text: IdMap<u64, u32> = IdMap::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut pairs: IdSet<u128> = IdSet::default();
    if duplicates >= 2 {
        group_of_text.reserve(entries.len());
    }
    for (i, entry) in entries.iter().enumerate() {
        let (key, kind) = scan(entry.text);
        if duplicates < 2 || kind == Kind::Empty {
            texts.push((kind, NO_GROUP));
            continue;
        }
        // Cannot truncate: a plugin's memory (at most 1 GiB) holds far
        // fewer than 4 G entries.
        let new = groups.len() as u32;
        let g = *group_of_text.entry(key).or_insert(new);
        texts.push((kind, g));
        if g == new {
            groups.push(Group {
                first: i as u32,
                accounts: 1,
            });
            continue;
        }
        let group = &mut groups[g as usize];
        let first = &entries[group.first as usize];
        if first.user_id == entry.user_id && first.platform == entry.platform {
            continue;
        }
        // A second account for this text: only now track who posted it.
        if group.accounts == 1 {
            pairs.insert(pair(key, account_key(first)));
        }
        if pairs.insert(pair(key, account_key(entry))) {
            group.accounts += 1;
        }
    }

    let min_age = i64::from(config.min_account_age_days) * 86_400;
    let mut dates = [DateMemo::default(), DateMemo::default()];
    // Excluded copies share a few reasons: format each once.
    let mut copy_reasons: IdMap<u32, String> = IdMap::default();
    entries
        .iter()
        .zip(&texts)
        .map(|(entry, &(kind, group))| {
            if min_age > 0
                && !clearly_old(entry, config.min_account_age_days, &mut dates)
                && let Some(age) = account_age(entry)
                && age < min_age
            {
                return Verdict::Exclude(format!(
                    "the account was {} days old when it entered (minimum {})",
                    age.max(0) / 86_400,
                    config.min_account_age_days
                ));
            }
            if kind == Kind::Symbols && config.emoji_only {
                return Verdict::Exclude("the comment is only emoji or punctuation".into());
            }
            if let Some(g) = groups.get(group as usize) {
                let accounts = g.accounts;
                if accounts >= duplicates {
                    let reason = copy_reasons.entry(accounts).or_insert_with(|| {
                        format!(
                            "the same comment came from {accounts} accounts (at most {} allowed)",
                            duplicates - 1
                        )
                    });
                    return Verdict::Exclude(reason.clone());
                }
            }
            Verdict::Keep
        })
        .collect()
}

/// Whether the calendar dates alone show the account was at least
/// `min_days` old (or there is no creation time): dates in any offset are
/// within a day of UTC, so a gap of `min_days + 3` dates is enough. Most
/// entries are decided here without parsing times.
fn clearly_old(entry: &EntryRef<'_>, min_days: u32, dates: &mut [DateMemo; 2]) -> bool {
    let Some(created) = entry.account_created_at else {
        return true;
    };
    match (dates[0].days(created), dates[1].days(entry.created_at)) {
        (Some(created), Some(entered)) => entered - created >= i64::from(min_days) + 3,
        _ => false,
    }
}

/// The last date parsed: entries of a batch are often from the same day.
#[derive(Default)]
struct DateMemo {
    prefix: [u8; 10],
    days: Option<i64>,
}

impl DateMemo {
    /// [`time::parse_date`] of `s`, reusing the last answer for the same
    /// `YYYY-MM-DD`.
    fn days(&mut self, s: &str) -> Option<i64> {
        let prefix = s.as_bytes().get(..10)?;
        if prefix != self.prefix {
            self.prefix.copy_from_slice(prefix);
            self.days = time::parse_date(s);
        }
        self.days
    }
}

/// Whole seconds between account creation and the entry (rounded down),
/// when both are known.
fn account_age(entry: &EntryRef<'_>) -> Option<i64> {
    let (created, created_nanos) = time::parse_rfc3339(entry.account_created_at?)?;
    let (entered, entered_nanos) = time::parse_rfc3339(entry.created_at)?;
    Some(entered - created - i64::from(created_nanos > entered_nanos))
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const K: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline]
fn step(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(K)
}

/// MurmurHash3's finaliser: spreads every input bit over the output.
#[inline]
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The normalised text's hash and what the text holds. Letters and digits
/// are hashed lowercased and everything else is ignored; a text with no
/// letter or digit is hashed by its symbols instead (a second pass, for
/// the few texts that need it).
///
/// ASCII is packed eight bytes to a hash step (it never sets bit 63); any
/// other character takes a step of its own, tagged with bit 63, so equal
/// normalised texts hash equally and ASCII cannot pose as other characters.
fn scan(text: &str) -> (u64, Kind) {
    let mut words = Packer::new();
    for (i, &b) in text.as_bytes().iter().enumerate() {
        let class = CLASS[usize::from(b)];
        if class == OTHER {
            continue;
        }
        if class != WIDE {
            words.byte(class);
            continue;
        }
        // The first byte of a multi-byte character (its other bytes are
        // OTHER): decode it.
        let c = text[i..]
            .chars()
            .next()
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        if !is_pictograph(c) && c.is_alphanumeric() {
            for lower in c.to_lowercase() {
                words.wide(lower);
            }
        }
    }
    if words.seen() {
        return (words.finish(), Kind::Words);
    }
    let mut symbols = Packer::new();
    for c in text.chars() {
        if c.is_ascii() {
            if !c.is_ascii_whitespace() {
                symbols.byte(c as u8);
            }
        } else if !c.is_whitespace() {
            symbols.wide(c);
        }
    }
    if symbols.seen() {
        (symbols.finish() ^ 0x5555_5555_5555_5555, Kind::Symbols)
    } else {
        (0, Kind::Empty)
    }
}

/// Emoji and their joiners, which are common in comments and never
/// letters or digits: decided without Unicode's tables.
#[inline]
fn is_pictograph(c: char) -> bool {
    matches!(u32::from(c), 0x1f300..=0x1faff | 0x200d | 0xfe0f)
}

/// [`CLASS`] of ASCII that is not a letter or digit, and of the
/// continuation bytes of multi-byte characters.
const OTHER: u8 = 0;
/// [`CLASS`] of the first byte of a multi-byte character.
const WIDE: u8 = 0xff;

/// Each byte's class: [`OTHER`], [`WIDE`], or for an ASCII letter or digit
/// the byte lowercased.
static CLASS: [u8; 256] = {
    let mut class = [OTHER; 256];
    let mut lead = 0xc0;
    while lead < 0x100 {
        class[lead] = WIDE;
        lead += 1;
    }
    let mut b = 0;
    while b < 0x80 {
        let byte = b as u8;
        class[b] = if byte.is_ascii_alphanumeric() {
            byte.to_ascii_lowercase()
        } else {
            OTHER
        };
        b += 1;
    }
    class
};

/// Hashes a stream of normalised characters (see [`scan`]).
#[derive(Clone, Copy)]
struct Packer {
    hash: u64,
    acc: u64,
    len: u32,
    steps: u32,
}

impl Packer {
    #[inline(always)]
    fn new() -> Self {
        Packer {
            hash: SEED,
            acc: 0,
            len: 0,
            steps: 0,
        }
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.acc = (self.acc << 8) | u64::from(b);
        self.len += 1;
        if self.len == 8 {
            self.flush();
        }
    }

    #[inline(always)]
    fn wide(&mut self, c: char) {
        self.flush();
        self.hash = step(self.hash, (1 << 63) | u64::from(u32::from(c)));
        self.steps += 1;
    }

    #[inline(always)]
    fn flush(&mut self) {
        if self.len > 0 {
            self.hash = step(self.hash, self.acc);
            self.acc = 0;
            self.len = 0;
            self.steps += 1;
        }
    }

    #[inline(always)]
    fn seen(&self) -> bool {
        self.steps > 0 || self.len > 0
    }

    #[inline(always)]
    fn finish(mut self) -> u64 {
        self.flush();
        fmix(self.hash)
    }
}

/// The hash of an entrant: `(platform, user_id)`.
fn account_key(entry: &EntryRef<'_>) -> u64 {
    let h = hash_bytes(SEED, entry.platform.as_bytes());
    fmix(hash_bytes(step(h, 0xff), entry.user_id.as_bytes()))
}

#[inline]
fn hash_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = step(h, u64::from_le_bytes(word));
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    step(step(h, u64::from_le_bytes(tail)), bytes.len() as u64)
}

#[inline]
fn pair(text: u64, account: u64) -> u128 {
    (u128::from(text) << 64) | u128::from(account)
}

/// A hasher for keys that are already well-mixed hashes: it passes them
/// through (std's default SipHash would cost more than the rest of a check,
/// and its random seed needs a WASI import).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(self.0, bytes);
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }

    fn write_u128(&mut self, x: u128) {
        self.0 = (x as u64) ^ ((x >> 64) as u64).rotate_left(29);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(scan("Count me in!!").0, scan("  count ME in").0);
        assert_eq!(scan("Count me in!!").1, Kind::Words);
        assert_ne!(scan("count me in").0, scan("count me out").0);
        assert_eq!(scan("ÉTÉ 2024").0, scan("été2024").0);
        assert_eq!(scan("🔥🔥").1, Kind::Symbols);
        assert_eq!(scan("🔥🔥").0, scan("🔥 🔥").0);
        assert_ne!(scan("🔥🔥").0, scan("🎉🎉").0);
        assert_eq!(scan("!!!").1, Kind::Symbols);
        assert_eq!(scan(" \n\t").1, Kind::Empty);
        assert_eq!(scan("").1, Kind::Empty);
        assert_eq!(scan("日本").1, Kind::Words);
        assert_eq!(scan("10/10 🔥").1, Kind::Words);
    }

    #[test]
    fn pictographs_are_not_alphanumeric() {
        for c in (0x1f300..=0x1faff)
            .chain([0x200d, 0xfe0f])
            .filter_map(char::from_u32)
        {
            assert!(is_pictograph(c) && !c.is_alphanumeric(), "{c:?}");
        }
    }

    #[test]
    fn accounts_differ_by_platform_and_id() {
        let e = |platform: &'static str, user: &'static str| EntryRef {
            platform,
            user_id: user,
            ..EntryRef::default()
        };
        assert_eq!(
            account_key(&e("youtube", "UC1")),
            account_key(&e("youtube", "UC1"))
        );
        assert_ne!(
            account_key(&e("youtube", "UC1")),
            account_key(&e("mastodon", "UC1"))
        );
        assert_ne!(
            account_key(&e("youtube", "UC12345678")),
            account_key(&e("youtube", "UC12345679"))
        );
        assert_ne!(
            account_key(&e("you", "tubeUC1")),
            account_key(&e("youtube", "UC1"))
        );
    }
}
