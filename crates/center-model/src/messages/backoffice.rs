//! The back office's words: the reasons of the terms (Art. 8-2 refusals, Art. 12-1
//! terminations), the kinds of invoice lines and of notices, and the texts of the
//! notices the center writes itself. The words of the reasons and line kinds are also
//! printed on documents by `mamori_billing`; a test in the center checks that both say
//! the same.

use super::Lang;
use super::errors::Example;

crate::catalog! {
    /// The reasons of Art. 8-2 (1)–(6) for refusing an application, in that order.
    pub enum RefusalWords {
        TechnicalObstacle => ("技術上または業務の遂行上著しい支障", "serious technical or operational obstacle"),
        RiskOfNonPayment => ("債務の支払いを怠るおそれ", "risk of non-payment"),
        FalseStatement => ("申込書への虚偽の記載", "false statement in the application"),
        UnlawfulUse => ("違法または公序良俗に反する利用のおそれ", "risk of unlawful use"),
        DamagesCredibility => ("当社またはサービスの信用を毀損する利用のおそれ", "risk of use damaging the provider's credibility"),
        Other => ("その他当社が不適切と判断", "otherwise judged inappropriate"),
    }
}

crate::catalog! {
    /// The reasons of Art. 12-1 (1)–(9) for terminating a contract, in that order.
    pub enum TerminationWords {
        Insolvency => ("差押・破産等の申立てまたは清算", "attachment, auction, insolvency proceedings or liquidation"),
        NonPayment => ("支払期日を経過した料金等の未払い", "fees or other debts unpaid after the due date"),
        BusinessClosure => ("営業の停止・廃止または譲渡", "business suspended, closed or transferred"),
        TermsViolation => ("規約等の内容または趣旨への違反", "breach of the terms"),
        FalseStatement => ("契約申込内容等における虚偽の申告", "false statement in the application"),
        CarrierContractEnded => ("当社の電気通信サービスの利用契約の解除", "the required telecommunication service contract has ended"),
        AntisocialForces => ("反社会的勢力への該当", "ties to antisocial forces"),
        FraudOrThreat => ("詐術・暴力的行為・脅迫的言辞", "fraud, violence or threats"),
        Other => ("その他、契約申込者として不適切またはサービス提供に支障", "otherwise unfit, or an obstacle to the service"),
    }
}

crate::catalog! {
    /// The kinds of an invoice's lines.
    pub enum LineKindWords {
        MonthlyFee => ("セキュリティーパック料金", "Security pack monthly fee"),
        EarlyTermination => ("最低利用期間内解除に伴う残余期間料金", "Early termination: rest of the minimum term"),
        LateInterest => ("延滞利息", "Late payment interest"),
        EvadedFee => ("支払いを免れた料金", "Evaded fee"),
        EvasionSurcharge => ("割増金", "Evasion surcharge"),
        Reinstallation => ("再設置費用", "Reinstallation cost"),
        Handling => ("手数料", "Handling fee"),
    }
}

crate::catalog! {
    /// The kinds of a notice to customers (`NOTICE_KINDS` in the center, same order).
    pub enum NoticeKindWords {
        TermsChange => ("約款の変更", "Change of the terms"),
        Maintenance => ("保守による停止", "Suspension for maintenance"),
        Termination => ("契約の解除", "Termination"),
        ServiceEnd => ("サービスの終了", "End of the service"),
        ApplicationAccepted => ("お申込みの承諾", "Application accepted"),
    }
}

crate::catalog! {
    /// The states of an application (Art. 7–9).
    pub enum ApplicationStateWords {
        Pending => ("審査中", "pending"),
        Accepted => ("承諾済", "accepted"),
        Refused => ("お断り", "refused"),
        Superseded => ("変更により差替え", "replaced by a change"),
    }
}

crate::catalog! {
    /// The states of a contract, as its status line begins (the end date follows).
    pub enum ContractStateWords {
        Running => ("契約中", "running"),
        CancelledByCustomer => ("解約予定・解約済（顧客）— 終了日", "cancelled by the customer — ends"),
        TerminatedByProvider => ("当社による解除 — 終了日", "terminated by the provider — ends"),
    }
}

crate::catalog! {
    /// Words of the notices' mails.
    pub enum NoticeWords {
        /// What a notice's mail ends with, before the date.
        EffectiveDate => ("効力発生日", "Effective date"),
    }
}

impl Example for RefusalWords {
    fn example() -> Self {
        RefusalWords::Other
    }
}

impl Example for TerminationWords {
    fn example() -> Self {
        TerminationWords::Other
    }
}

impl Example for u8 {
    fn example() -> Self {
        1
    }
}

crate::messages! {
    /// The back office's labels and the texts of the notices the center writes.
    pub enum BackofficeText {
        /// A refusal reason with its item of Art. 8-2.
        Refusal { item: u8, reason: RefusalWords } => (
            format!("第8条第2項第{item}号 {}", reason.text(Lang::Ja)),
            format!("Art. 8-2 ({item}) {}", reason.text(Lang::En)),
        ),
        /// A termination reason with its item of Art. 12-1.
        Termination { item: u8, reason: TerminationWords } => (
            format!("第12条第1項第{item}号 {}", reason.text(Lang::Ja)),
            format!("Art. 12-1 ({item}) {}", reason.text(Lang::En)),
        ),
        /// The subject of the notice of an accepted application.
        AcceptedSubject { contract: i64 } => (
            "お申込みの承諾",
            format!("Your application is accepted (contract {contract})"),
        ),
        /// The body of the notice of an accepted application; dates and amounts come
        /// written for each language.
        AcceptedBody { line_product: String, line_id: String, start_ja: String, start_en: String, fee_ja: String, fee_en: String, minimum_end_ja: String, minimum_end_en: String } => (
            format!("お申込み（回線 {line_product} {line_id}）を承諾しました。サービス開始日: {start_ja}、月額料金: {fee_ja}（税抜）、最低利用期間の末日: {minimum_end_ja}。"),
            format!("We have accepted your application (line {line_product} {line_id}). Service start: {start_en}, monthly fee: {fee_en} before tax, minimum term ends: {minimum_end_en}."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backoffice_text_has_both() {
        let mut texts: Vec<(String, String)> = Vec::new();
        for m in BackofficeText::examples() {
            texts.push((m.text(Lang::Ja), m.text(Lang::En)));
        }
        for m in RefusalWords::ALL {
            texts.push((m.text(Lang::Ja).into(), m.text(Lang::En).into()));
        }
        for m in TerminationWords::ALL {
            texts.push((m.text(Lang::Ja).into(), m.text(Lang::En).into()));
        }
        for m in LineKindWords::ALL {
            texts.push((m.text(Lang::Ja).into(), m.text(Lang::En).into()));
        }
        for m in ApplicationStateWords::ALL {
            texts.push((m.text(Lang::Ja).into(), m.text(Lang::En).into()));
        }
        for m in ContractStateWords::ALL {
            texts.push((m.text(Lang::Ja).into(), m.text(Lang::En).into()));
        }
        for m in NoticeWords::ALL {
            texts.push((m.text(Lang::Ja).into(), m.text(Lang::En).into()));
        }
        for m in NoticeKindWords::ALL {
            texts.push((m.text(Lang::Ja).into(), m.text(Lang::En).into()));
        }
        for (ja, en) in texts {
            assert!(
                !ja.trim().is_empty() && !en.trim().is_empty(),
                "{ja:?} {en:?}"
            );
            assert_ne!(ja, en);
        }
    }
}
