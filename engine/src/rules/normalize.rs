//! Text normalisation for keyword and handle matching (PROTOCOL.md §5.3).
//!
//! `normalize(s)` is NFKC followed by the full, context-free lowercase
//! mapping of each character. It is neither Unicode case folding nor
//! locale-aware: `ß` stays `ß`, `İ` becomes `i` + U+0307, and a final `Σ`
//! becomes `σ`, never `ς`. Both tables are pinned (see the constants below),
//! so every verifier normalises every string identically.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization as _;

/// The Unicode version of the NFKC tables (`unicode-normalization`, pinned
/// to 0.1.26 in the workspace).
pub const NFKC_UNICODE_VERSION: (u8, u8, u8) = unicode_normalization::UNICODE_VERSION;

/// The Unicode version of the lowercase mapping (`char::to_lowercase` of the
/// Rust standard library, pinned by `rust-toolchain.toml`).
pub const LOWERCASE_UNICODE_VERSION: (u8, u8, u8) = char::UNICODE_VERSION;

/// NFKC, then `char::to_lowercase` on every character.
///
/// Returns the input unchanged (borrowed) when it is ASCII without
/// uppercase letters: NFKC maps ASCII to itself, so ASCII only needs
/// lowercasing.
pub fn normalize(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else if unicode_normalization::is_nfkc_quick(s.chars())
        == unicode_normalization::IsNormalized::Yes
    {
        // Already NFKC (most real text): skip the decompose-recompose pass.
        Cow::Owned(s.chars().flat_map(char::to_lowercase).collect())
    } else {
        Cow::Owned(s.nfkc().flat_map(char::to_lowercase).collect())
    }
}

/// A handle as compared: [`normalize`]d, then one leading `@` removed.
pub fn normalize_handle(s: &str) -> Cow<'_, str> {
    match normalize(s) {
        Cow::Borrowed(b) => Cow::Borrowed(b.strip_prefix('@').unwrap_or(b)),
        Cow::Owned(mut o) => {
            if o.starts_with('@') {
                o.remove(0);
            }
            Cow::Owned(o)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_quick_path_agrees_with_the_general_path() {
        for s in [
            "Ünïcödé ÇA",
            "ＧＩＶＥ",
            "ﬁne",
            "e\u{301}",
            "İstanbul ΣΑΣ",
            "日本語 @タロウ",
            "🎉 #Giveaway",
        ] {
            let slow: String = s.nfkc().flat_map(char::to_lowercase).collect();
            assert_eq!(normalize(s), slow, "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn every_fast_path_agrees_with_the_general_path(s in "\\PC{0,40}") {
            let slow: String = s.nfkc().flat_map(char::to_lowercase).collect();
            proptest::prop_assert_eq!(normalize(&s), slow);
        }
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_general_path() {
        for s in ["", "abc", "ABC def", "#GiveAway!", "@Alice_01"] {
            let slow: String = s.nfkc().flat_map(char::to_lowercase).collect();
            assert_eq!(normalize(s), slow);
        }
        assert!(matches!(normalize("already lower"), Cow::Borrowed(_)));
    }

    #[test]
    fn handles_lose_one_at_sign() {
        assert_eq!(normalize_handle("@Alice"), "alice");
        assert_eq!(normalize_handle("@@alice"), "@alice");
        assert_eq!(normalize_handle("＠ＡＬＩＣＥ"), "alice");
        assert_eq!(normalize_handle("bob"), "bob");
    }
}
