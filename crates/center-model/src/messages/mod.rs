//! The message catalog: every text a user sees, in Japanese and English.
//!
//! Each area has its own enum of messages, declared with [`catalog!`]: a variant
//! without both texts does not compile, and there is no fallback text. Messages with
//! values (names, numbers) are enums with fields whose `text` matches every variant.
//! Terms follow `docs/glossary.md`.

pub mod audit;
pub mod backoffice;
pub mod errors;
pub mod glossary;
pub mod monitoring;
pub mod panel;
pub mod revisions;

/// The language of a person's panel, mail and documents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Japanese: the default.
    #[default]
    Ja,
    En,
}

impl Lang {
    /// Both languages, Japanese first.
    pub const ALL: [Lang; 2] = [Lang::Ja, Lang::En];

    /// `ja` or `en`: what a user's preference stores and `lang=` attributes say.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The language of a stored preference (`ja`, `en`), if it is one.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The one language negotiation of the center: the user's stored preference when
    /// there is one, else the best `Accept-Language` entry we speak by quality value
    /// (RFC 9110 §12.5.4; `ja-JP` counts as `ja`, `*` as the default, `q=0` as never),
    /// else Japanese.
    pub fn negotiate(preference: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(l) = preference.and_then(Lang::from_code) {
            return l;
        }
        let mut best: Option<(u16, Lang)> = None;
        for part in accept_language.unwrap_or("").split(',') {
            let mut fields = part.split(';');
            let tag = fields.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1000u16;
            for f in fields {
                let f = f.trim();
                if let Some(v) = f.strip_prefix("q=").or_else(|| f.strip_prefix("Q=")) {
                    // A malformed quality counts as 0: never.
                    q = parse_qvalue(v.trim()).unwrap_or_default();
                }
            }
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "ja" => Lang::Ja,
                "en" => Lang::En,
                "*" => Lang::default(),
                _ => continue,
            };
            if q == 0 {
                continue;
            }
            // The first entry wins among equal qualities.
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::default(), |(_, l)| l)
    }

    /// One of two texts: Japanese or English.
    pub fn pick<T>(self, ja: T, en: T) -> T {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

/// A quality value (`0`, `0.5`, `1.000`) in thousandths; `None` when malformed.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Declares one area's messages: an enum whose every variant has its Japanese and
/// English text, `text(lang)`, and `ALL` (for the catalog's tests).
///
/// ```
/// mamori_center_model::catalog! {
///     /// Words of an example.
///     pub enum Example {
///         Save => ("保存", "Save"),
///     }
/// }
/// use mamori_center_model::messages::Lang;
/// assert_eq!(Example::Save.text(Lang::Ja), "保存");
/// ```
#[macro_export]
macro_rules! catalog {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => ($ja:expr, $en:expr $(,)?) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every message of this area.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The text in `lang`.
            pub fn text(self, lang: $crate::messages::Lang) -> &'static str {
                match self {
                    $( $name::$variant => match lang {
                        $crate::messages::Lang::Ja => $ja,
                        $crate::messages::Lang::En => $en,
                    }, )*
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_wins_over_the_browser() {
        assert_eq!(Lang::negotiate(Some("en"), Some("ja")), Lang::En);
        assert_eq!(Lang::negotiate(Some("ja"), Some("en")), Lang::Ja);
        // An unknown stored value is no preference.
        assert_eq!(Lang::negotiate(Some("fr"), Some("en")), Lang::En);
    }

    #[test]
    fn accept_language_by_quality_then_order() {
        assert_eq!(Lang::negotiate(None, Some("fr,en")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("en;q=0.5, ja;q=0.8")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("ja;q=0.5, en;q=0.8")), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("en-US,en;q=0.9,ja;q=0.8")),
            Lang::En
        );
        assert_eq!(Lang::negotiate(None, Some("ja-JP, en")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("en;q=0, ja;q=0.1")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("en;q=0")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("de, *;q=0.5")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("ENGLISH")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("En-gb")), Lang::En);
    }

    #[test]
    fn malformed_accept_language_is_no_preference() {
        assert_eq!(Lang::negotiate(None, None), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some(";;,,;q=")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("en;q=2")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("en;q=0.5555")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("en;q=abc")), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("日本語, en")), Lang::En);
    }

    crate::catalog! {
        enum Sample {
            One => ("一", "One"),
            Two => ("二", "Two"),
        }
    }

    #[test]
    fn every_message_has_both_texts() {
        for m in Sample::ALL {
            for l in Lang::ALL {
                assert!(!m.text(l).is_empty());
            }
        }
        assert_eq!(Sample::Two.text(Lang::En), "Two");
    }

    /// Every text of the panel's and the back office's catalogs in both languages:
    /// never empty, never padded, and Japanese different from English except for the
    /// few words both languages write alike.
    #[test]
    fn panel_texts_exist_and_differ_by_language() {
        fn check<M: Copy + std::fmt::Debug>(all: &[M], text: impl Fn(M, Lang) -> &'static str) {
            // Words written the same in both languages.
            const SAME: &[&str] = &["NAT"];
            for &m in all {
                for l in Lang::ALL {
                    let t = text(m, l);
                    assert!(!t.is_empty(), "{m:?} has no {l:?} text");
                    assert_eq!(t, t.trim(), "{m:?} in {l:?} is padded");
                }
                let (ja, en) = (text(m, Lang::Ja), text(m, Lang::En));
                if !SAME.contains(&ja) {
                    assert_ne!(ja, en, "{m:?} says the same in both languages");
                    // The Japanese text is Japanese: at least one character outside ASCII.
                    assert!(!ja.is_ascii(), "{m:?}'s Japanese text is ASCII: {ja:?}");
                }
            }
        }
        use backoffice::*;
        use panel::*;
        check(Common::ALL, Common::text);
        check(Accounts::ALL, Accounts::text);
        check(RoleName::ALL, RoleName::text);
        check(Customers::ALL, Customers::text);
        check(InstructionKindName::ALL, InstructionKindName::text);
        check(InstructionStateName::ALL, InstructionStateName::text);
        check(Tokens::ALL, Tokens::text);
        check(Equipment::ALL, Equipment::text);
        check(EquipmentStateName::ALL, EquipmentStateName::text);
        check(FleetStateName::ALL, FleetStateName::text);
        check(ApplyOutcome::ALL, ApplyOutcome::text);
        check(Revisions::ALL, Revisions::text);
        check(RevisionStateName::ALL, RevisionStateName::text);
        check(BackOffice::ALL, BackOffice::text);
    }
}
