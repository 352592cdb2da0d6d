//! The glossary's rule for the catalog (`docs/glossary.md`): one term per concept. The
//! words below are synonyms the glossary turned down; no text of the catalog may use
//! them, and a test checks every text of every area.

use super::Lang;

/// Japanese synonyms turned down, each with the glossary's term (matched anywhere in a
/// text).
pub const BANNED_JA: &[(&str, &str)] = &[
    ("製造番号", "シリアル番号"),
    ("型式", "型番"),
    ("機種", "型番"),
    ("装置", "機器"),
    ("ゲートウェイ", "機器"),
    ("アプライアンス", "機器"),
    ("ユニット", "機器"),
    ("お客様", "顧客"),
    ("監査記録", "監査ログ"),
    ("管理画面", "コントロールパネル"),
    ("改訂", "リビジョン"),
    ("版数", "リビジョン"),
];

/// English synonyms turned down, each with the glossary's term (matched as whole
/// words, any case).
pub const BANNED_EN: &[(&str, &str)] = &[
    ("unit", "equipment"),
    ("units", "equipment"),
    ("appliance", "equipment"),
    ("appliances", "equipment"),
    ("device", "equipment"),
    ("devices", "equipment"),
    ("gateway", "equipment"),
    ("gateways", "equipment"),
    ("client", "customer"),
    ("clients", "customer"),
];

/// The turned-down synonyms `text` (in `lang`) uses, each with the term to use.
pub fn violations(text: &str, lang: Lang) -> Vec<(&'static str, &'static str)> {
    match lang {
        Lang::Ja => BANNED_JA
            .iter()
            .filter(|(w, _)| text.contains(w))
            .copied()
            .collect(),
        Lang::En => {
            let words: Vec<String> = text
                .split(|c: char| !c.is_ascii_alphanumeric())
                .map(str::to_ascii_lowercase)
                .collect();
            BANNED_EN
                .iter()
                .filter(|(w, _)| words.iter().any(|x| x == w))
                .copied()
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{audit, backoffice as bo, errors as e, revisions as rev};

    /// Every text of every area of the catalog, in both languages.
    fn every_text() -> Vec<(Lang, String)> {
        let mut out = Vec::new();
        for l in Lang::ALL {
            let mut push = |t: String| out.push((l, t));
            e::Field::ALL.iter().for_each(|m| push(m.text(l).into()));
            e::Invalid::examples().iter().for_each(|m| push(m.text(l)));
            e::Conflict::examples().iter().for_each(|m| push(m.text(l)));
            e::ApiHint::examples().iter().for_each(|m| push(m.text(l)));
            e::ApiProblem::examples()
                .iter()
                .for_each(|m| push(m.text(l)));
            e::Forbidden::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            e::Unauthenticated::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            e::Throttled::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            e::ErrorWords::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::Common::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::Accounts::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::RoleName::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::Customers::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::InstructionKindName::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::InstructionStateName::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::Tokens::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::Equipment::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::EquipmentStateName::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::FleetStateName::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::ApplyOutcome::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::Revisions::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::panel::RevisionStateName::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            super::super::backoffice::BackOffice::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            bo::BackofficeText::examples()
                .iter()
                .for_each(|m| push(m.text(l)));
            bo::RefusalWords::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            bo::TerminationWords::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            bo::LineKindWords::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            bo::NoticeKindWords::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            bo::NoticeWords::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            bo::ApplicationStateWords::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            bo::ContractStateWords::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            rev::ChangeItem::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
            rev::ChangeText::examples()
                .iter()
                .for_each(|m| push(m.text(l)));
            audit::AuditAction::ALL
                .iter()
                .for_each(|m| push(m.text(l).into()));
        }
        out
    }

    #[test]
    fn every_catalog_text_keeps_to_the_glossary() {
        let texts = every_text();
        assert!(texts.len() > 300, "{}", texts.len());
        let bad: Vec<String> = texts
            .iter()
            .flat_map(|(l, t)| {
                violations(t, *l)
                    .into_iter()
                    .map(move |(w, use_)| format!("{t:?} says {w:?}; the glossary says {use_:?}"))
            })
            .collect();
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn the_check_finds_what_it_bans() {
        assert_eq!(
            violations("製造番号を入力してください。", Lang::Ja),
            [("製造番号", "シリアル番号")]
        );
        assert_eq!(violations("型式", Lang::Ja), [("型式", "型番")]);
        assert_eq!(
            violations("there is no Unit 4", Lang::En),
            [("unit", "equipment")]
        );
        // Whole words only: "community" is not "unit".
        assert!(violations("SNMP community", Lang::En).is_empty());
        assert!(violations("型番とシリアル番号", Lang::Ja).is_empty());
    }
}
