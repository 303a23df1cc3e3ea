//! The mention grammar (PROTOCOL.md §5.4).
//!
//! A mention is an `@` that does not follow a word character, followed by
//! the longest run of name characters, with trailing `.` and `-` trimmed:
//! `@alice.` names `alice`, `mail@example.com` names no one, and `@` alone or
//! `@.` names no one. The grammar runs on normalised text, so `＠ＡＬＩＣＥ`
//! and `@alice` are the same mention.

/// Word characters: Unicode alphanumerics (`char::is_alphanumeric`) and `_`.
/// An `@` right after one of these is not a mention (an e-mail address).
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Characters a mentioned name is made of: word characters, `.` and `-`.
fn is_name(c: char) -> bool {
    is_word(c) || c == '.' || c == '-'
}

/// The mentioned names in `text`, in order of appearance, repeats included.
///
/// `text` should already be normalised (see [`super::normalize`]).
pub fn mentions(text: &str) -> Mentions<'_> {
    Mentions {
        text,
        pos: 0,
        prev: None,
    }
}

/// Iterator over the mentions in a text; see [`mentions`].
#[derive(Clone, Debug)]
pub struct Mentions<'t> {
    text: &'t str,
    pos: usize,
    prev: Option<char>,
}

impl<'t> Iterator for Mentions<'t> {
    type Item = &'t str;

    fn next(&mut self) -> Option<&'t str> {
        while let Some(c) = self.text[self.pos..].chars().next() {
            self.pos += c.len_utf8();
            let prev = self.prev.replace(c);
            if c != '@' || prev.is_some_and(is_word) {
                continue;
            }
            let rest = &self.text[self.pos..];
            let run = rest.find(|ch| !is_name(ch)).unwrap_or(rest.len());
            let name = rest[..run].trim_end_matches(['.', '-']);
            if !name.is_empty() {
                return Some(name);
            }
        }
        None
    }
}

/// The number of distinct names mentioned in `text` (normalised), not
/// counting `own` (the entrant's normalised handle) or `organizer`.
pub fn count_mentions(text: &str, own: &str, organizer: Option<&str>) -> u64 {
    let mut names: Vec<&str> = mentions(text)
        .filter(|m| *m != own && Some(*m) != organizer)
        .collect();
    names.sort_unstable();
    names.dedup();
    names.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<&str> {
        mentions(text).collect()
    }

    #[test]
    fn grammar() {
        assert_eq!(all("hi @alice and @bob!"), ["alice", "bob"]);
        assert_eq!(all("mail me at me@example.com"), Vec::<&str>::new());
        assert_eq!(all("@alice. @bob- @c.d-e.."), ["alice", "bob", "c.d-e"]);
        assert_eq!(all("@ @. @- @@x"), ["x"]);
        assert_eq!(all("(@x)_@y x.@z"), ["x", "z"]);
        assert_eq!(all("@über @日本"), ["über", "日本"]);
    }

    #[test]
    fn counting_skips_self_organizer_and_repeats() {
        assert_eq!(
            count_mentions("@a @b @a @me @brand", "me", Some("brand")),
            2
        );
        assert_eq!(count_mentions("", "me", None), 0);
    }
}
