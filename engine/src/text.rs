//! Strings a protocol 2 receipt may hold (PROTOCOL.md §9.4).
//!
//! A string that renders like another one lets an organiser steer a draw
//! while looking honest: a keyword `#giveaway` followed by U+2060 WORD
//! JOINER matches only the entrants who were told to paste it, and a title
//! with a U+200B ZERO WIDTH SPACE changes the lock hash without changing
//! what anyone sees. Protocol 2 refuses, in rules values, titles and draw
//! ids, every string that is not [visible](check_visible): it must be in
//! NFKC and hold no control character, no bidirectional control and no
//! default-ignorable code point. Keywords must also keep to
//! [one script per word](check_single_script).
//!
//! The tables are fixed here (not taken from a crate that may update them)
//! so that every version of the engine gives the same verdict; PROTOCOL.md
//! §9.4 lists the same ranges.

use unicode_normalization::{IsNormalized, is_nfkc_quick};

/// What makes a string not visible, with the first offending code point.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// A control character (General_Category `Cc`).
    #[error("holds the control character U+{code:04X} at code point {1}", code = u32::from(*.0))]
    Control(char, usize),
    /// A bidirectional control, which reorders what is displayed.
    #[error("holds the bidirectional control U+{code:04X} at code point {1}", code = u32::from(*.0))]
    Bidi(char, usize),
    /// A default-ignorable code point, which renders as nothing.
    #[error(
        "holds the invisible (default-ignorable) code point U+{code:04X} at code point {1}",
        code = u32::from(*.0)
    )]
    Invisible(char, usize),
    /// Not in Unicode Normalization Form KC: it has a compatibility or
    /// decomposed spelling of another string.
    #[error("is not in Unicode normalization form NFKC (write {0:?})")]
    NotNfkc(String),
    /// A word mixes letters of several scripts.
    #[error("mixes scripts in the word {0:?} (e.g. a Cyrillic letter among Latin ones)")]
    MixedScript(String),
}

/// The bidirectional controls (PROTOCOL.md §9.4): U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The code points with the derived property `Default_Ignorable_Code_Point`
/// (Unicode 16.0.0, DerivedCoreProperties.txt), as inclusive ranges.
pub const DEFAULT_IGNORABLE: [(u32, u32); 17] = [
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Whether `c` is `Default_Ignorable_Code_Point` ([`DEFAULT_IGNORABLE`]).
pub fn is_default_ignorable(c: char) -> bool {
    let c = u32::from(c);
    DEFAULT_IGNORABLE
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Checks that `s` is visible: no control character (`Cc`), no
/// bidirectional control, no default-ignorable code point, and in NFKC.
/// The first offending code point is named (0-based position).
pub fn check_visible(s: &str) -> Result<(), TextError> {
    check_visible_code_points(s)?;
    if !s.is_ascii() && is_nfkc_quick(s.chars()) != IsNormalized::Yes {
        use unicode_normalization::UnicodeNormalization as _;
        let nfkc: String = s.nfkc().collect();
        if nfkc != s {
            return Err(TextError::NotNfkc(nfkc));
        }
    }
    Ok(())
}

/// [`check_visible`] without the NFKC condition: no control character, no
/// bidirectional control, no default-ignorable code point.
pub fn check_visible_code_points(s: &str) -> Result<(), TextError> {
    for (i, c) in s.chars().enumerate() {
        if c.is_control() {
            return Err(TextError::Control(c, i));
        }
        if is_bidi_control(c) {
            return Err(TextError::Bidi(c, i));
        }
        if is_default_ignorable(c) {
            return Err(TextError::Invisible(c, i));
        }
    }
    Ok(())
}

/// Checks that each word of `s` (a maximal run of code points that are not
/// white space) is written in one script: the letters and digits of a word
/// share one `Script` value once `Common` and `Inherited` are set aside,
/// with Han, Hiragana and Katakana counted as one script (Japanese) and Han
/// and Hangul as one (Korean), as the augmented script sets of UTS #39 do.
pub fn check_single_script(s: &str) -> Result<(), TextError> {
    for word in s.split_whitespace() {
        if !unicode_security::MixedScript::is_single_script(word) {
            return Err(TextError::MixedScript(word.to_owned()));
        }
    }
    Ok(())
}

/// `s` safe to show on a terminal or in a page: every control character
/// (escape sequences start with one), bidirectional control and
/// default-ignorable code point is written as `\u{XXXX}`, and a backslash as
/// `\\`, so what the bundle says cannot repaint the screen, reorder the
/// line or hide a character. Borrows `s` when nothing needs escaping.
pub fn escape_for_display(s: &str) -> std::borrow::Cow<'_, str> {
    let risky =
        |c: char| c == '\\' || c.is_control() || is_bidi_control(c) || is_default_ignorable(c);
    if !s.chars().any(risky) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if risky(c) {
            out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_strings_pass() {
        for s in [
            "#giveaway",
            "Grand tirage de Noël 🎉",
            "日本語",
            "@ann_01",
            "",
        ] {
            assert_eq!(check_visible(s), Ok(()), "{s:?}");
        }
    }

    #[test]
    fn invisible_and_compatibility_strings_are_named() {
        assert_eq!(
            check_visible("#giveaway\u{2060}"),
            Err(TextError::Invisible('\u{2060}', 9))
        );
        assert_eq!(
            check_visible("a\u{200B}b"),
            Err(TextError::Invisible('\u{200B}', 1))
        );
        assert_eq!(
            check_visible("x\u{202E}y"),
            Err(TextError::Bidi('\u{202E}', 1))
        );
        assert_eq!(
            check_visible("a\u{1b}[2J"),
            Err(TextError::Control('\u{1b}', 1))
        );
        assert_eq!(
            check_visible("ＧＩＶＥ"),
            Err(TextError::NotNfkc("GIVE".into()))
        );
        assert_eq!(
            check_visible("e\u{301}"),
            Err(TextError::NotNfkc("\u{e9}".into()))
        );
    }

    #[test]
    fn escaping_for_display() {
        assert_eq!(escape_for_display("plain 🎉"), "plain 🎉");
        assert_eq!(
            escape_for_display("x\u{1b}[2J\u{202e}y\u{200b}\\"),
            "x\\u{001B}[2J\\u{202E}y\\u{200B}\\\\"
        );
    }

    #[test]
    fn one_script_per_word() {
        assert_eq!(check_single_script("#giveaway win"), Ok(()));
        assert_eq!(check_single_script("#розыгрыш"), Ok(()));
        assert_eq!(check_single_script("日本語キャンペーン"), Ok(()));
        assert_eq!(check_single_script("#giveaway #розыгрыш"), Ok(()));
        assert!(matches!(
            check_single_script("#give\u{430}way"),
            Err(TextError::MixedScript(_))
        ));
    }
}
