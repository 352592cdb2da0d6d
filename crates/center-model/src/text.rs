//! What a name or a line of text people type may hold: no control characters, no
//! characters that reorder what is shown (bidirectional embeddings, overrides and
//! isolates, the "Trojan Source" characters), and something visible (not only spaces
//! and zero-width characters). The use cases check every name and line with
//! [`problem`] and refuse the value with the field it came from.

/// Why a value cannot be taken as typed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A control character (a line break is one unless the text may have lines).
    Control(char),
    /// A character that changes the order in which the rest is shown.
    Bidi(char),
    /// Nothing visible: only spaces and zero-width characters.
    Invisible,
}

/// The bidirectional embeddings, overrides and isolates (U+202A..U+202E,
/// U+2066..U+2069). The marks U+200E and U+200F stay allowed: they change no order of
/// other characters.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Spaces and characters that show nothing: zero-width space, joiners, word joiner,
/// byte-order mark, Mongolian vowel separator, soft hyphen, Hangul fillers.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{FEFF}'
                | '\u{180E}'
                | '\u{00AD}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{3164}'
                | '\u{FFA0}'
        )
}

/// The first reason `value` (not empty) cannot be taken; `multiline` allows line
/// breaks and tabs.
pub fn problem(value: &str, multiline: bool) -> Option<Problem> {
    for c in value.chars() {
        if c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')) {
            return Some(Problem::Control(c));
        }
        if is_bidi_control(c) {
            return Some(Problem::Bidi(c));
        }
    }
    if !value.is_empty() && value.chars().all(is_invisible) {
        return Some(Problem::Invisible);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_people_type_pass() {
        for ok in [
            "株式会社アルファ",
            "本社 3F",
            "O'Brien & Co.",
            "עברית\u{200F}",
            "a\u{200D}b",
        ] {
            assert_eq!(problem(ok, false), None, "{ok:?}");
        }
        assert_eq!(problem("one\ntwo", true), None);
    }

    #[test]
    fn reordering_invisible_and_control_text_is_refused() {
        assert_eq!(
            problem("abc\u{202E}fdp.exe", false),
            Some(Problem::Bidi('\u{202E}'))
        );
        assert_eq!(
            problem("x\u{2066}y", false),
            Some(Problem::Bidi('\u{2066}'))
        );
        assert_eq!(problem("\u{200B}\u{200B}", false), Some(Problem::Invisible));
        assert_eq!(
            problem("\u{3000}\u{FEFF} ", false),
            Some(Problem::Invisible)
        );
        assert_eq!(problem("a\nb", false), Some(Problem::Control('\n')));
        assert_eq!(problem("", false), None, "emptiness is the caller's rule");
    }

    proptest::proptest! {
        #[test]
        fn a_value_without_a_problem_has_no_bidi_control_and_something_visible(s in "\\PC{0,40}") {
            if problem(&s, false).is_none() && !s.is_empty() {
                proptest::prop_assert!(!s.chars().any(is_bidi_control));
                proptest::prop_assert!(s.chars().any(|c| !is_invisible(c)));
            }
        }
    }
}
