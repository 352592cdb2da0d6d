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

// ---- the back office pages' words ----------------------------------------------

crate::catalog! {
    /// The back office's pages.
    pub enum BackOffice {
        Applications => ("お申込み", "Applications"),
        Notices => ("通知", "Notices"),
        ContractsAndInvoices => ("契約と請求", "Contracts and invoices"),
        Contracts => ("契約", "Contracts"),
        Contract => ("契約", "Contract"),
        ContractLower => ("契約", "contract"),
        ServiceStart => ("サービス開始日", "Service start"),
        MonthlyFee => ("月額料金（税抜）", "Monthly fee (before tax)"),
        MinimumTermEnds => ("最低利用期間の末日", "Minimum term ends"),
        Status => ("状態", "Status"),
        Running => ("契約中", "running"),
        CancelledByCustomer => (
            "解約予定・解約済（顧客）— 終了日",
            "cancelled by the customer — ends",
        ),
        TerminatedByProvider => ("当社による解除 — 終了日", "terminated by the provider — ends"),
        Invoices => ("請求書", "Invoices"),
        Invoice => ("請求書", "Invoice"),
        OverdueInvoices => ("支払期限を過ぎた請求書", "Overdue invoices"),
        MonthlyInvoiceRun => ("月次請求", "Monthly invoice run"),
        ServiceMonth => ("対象月", "Service month"),
        Month => ("対象月", "Month"),
        IssueInvoices => ("請求書を発行", "Issue invoices"),
        InvoicesIssued => ("発行件数", "invoices issued"),
        EquipmentBackHeading => (
            "契約終了による機器の返却（第15条）",
            "Equipment back at the end of contracts (Art. 15)",
        ),
        EquipmentBackAbout => (
            "終了日を過ぎた契約の貸与機器を、機器台帳で「返却済み」にします（設置済みの機器は接続停止を経て）。",
            "Marks the equipment of every contract past its end date as returned in the register (installed equipment through disconnected).",
        ),
        TakeBackEquipment => ("返却処理を実行", "Take back equipment"),
        EquipmentBack => ("機器の返却", "Equipment back"),
        NoEquipmentDue => ("返却する機器はありません。", "No equipment is due back."),
        InvoiceNumber => ("請求書番号", "Invoice number"),
        DueDate => ("お支払期限", "Due date"),
        Total => ("合計", "Total"),
        Paid => ("入金済", "Paid"),
        AccessLine => ("回線", "Access line"),
        EquipmentLent => ("貸与機器", "Equipment lent"),
        EquipmentNumberInStock => ("在庫の機器", "Equipment in stock"),
        LendEquipment => ("機器を貸与する", "Lend equipment"),
        CancelHeading => ("解約のお申し出（第11条第1項）", "Cancel the contract (Art. 11-1)"),
        CancelAbout => (
            "終了希望日の30日前までにお申し出ください。確定の前に、終了日と残余期間料金を表示します。",
            "Give notice at least 30 days before the end date. The end date and any early-termination sum are shown before you confirm.",
        ),
        DesiredEndDate => ("終了希望日", "Desired end date"),
        Review => ("確認する", "Review"),
        NoticeReceived => ("お申し出日", "Notice received"),
        EarliestEnd => ("最も早い終了日", "Earliest allowed end date"),
        EndDate => ("終了日", "End date"),
        EarlyTerminationSum => ("残余期間料金（第10条第2項）", "Early-termination sum (Art. 10-2)"),
        EndMoved => (
            "ご希望の日は30日前のお申し出に足りないため、終了日を最も早い終了日に変更しました。",
            "The date you asked for is less than 30 days away; the end date has been moved to the earliest allowed date.",
        ),
        ConfirmCancellation => ("この内容で解約する", "Confirm the cancellation"),
        ReviewCancellation => ("解約の確認", "Review the cancellation"),
        LentUnderContract => ("貸与契約", "Lent under contract"),
        TakenBackAtEnd => ("契約終了により返却", "taken back at the contract's end"),
        NoContract => ("なし", "None"),
        BalanceLabel => ("未払額（マイナスは過入金）", "Balance (negative: paid in excess)"),
        RecordPaymentHeading => ("入金を記録してこの請求書に充当", "Record a payment for this invoice"),
        AmountYen => ("金額（円）", "Amount (yen)"),
        DateReceived => ("入金日", "Date received"),
        Record => ("記録する", "Record"),
        LateInterestNote => (
            "支払期限の翌日から猶予期間を過ぎた入金には遅延損害金（第17条第4項）が計算され、入金月の請求書に記載されます。",
            "A payment after the grace period that follows the due date owes late interest (Art. 17-4), billed on the invoice of the month it was made in.",
        ),
        ApplicationChanged => ("変更するお申込み（第9条）", "Application changed (Art. 9)"),
        Customer => ("顧客", "Customer"),
        AccessLineEligible => (
            "アクセス回線（第7条：当社の対象回線）",
            "Access line (Art. 7: an eligible line of the provider)",
        ),
        LineId => ("回線ID", "Line ID"),
        MonthlyFeeFromQuotation => (
            "月額料金（税抜・円、見積書のとおり）",
            "Monthly fee (yen before tax, from the quotation)",
        ),
        Note => ("備考", "Note"),
        RecordChange => ("変更を登録", "Record the change"),
        RecordApplication => ("お申込みを登録", "Record the application"),
        EquipmentToLend => (
            "貸与機器（機器台帳の機器番号）",
            "Equipment lent (equipment numbers of the register)",
        ),
        Accept => ("承諾する（第8条第1項）", "Accept (Art. 8-1)"),
        Refuse => ("お断りする（第8条第2項）", "Refuse (Art. 8-2)"),
        ChangeArt9 => ("変更（第9条）", "Change (Art. 9)"),
        NewApplication => ("新しいお申込み（第7条）", "New application (Art. 7)"),
        ChangeApplication => ("お申込みの変更", "Change application"),
        Payments => ("入金", "Payments"),
        Date => ("入金日", "Date"),
        PaidInvoice => ("充当した請求書", "Paid invoice"),
        Amount => ("金額", "Amount"),
        LateInterest => ("遅延損害金（第17条第4項）", "Late interest (Art. 17-4)"),
        BilledOn => ("請求した請求書", "Billed on invoice"),
        LiabilityCapHeading => ("損害賠償の上限（第18条第5項）", "Liability cap (Art. 18-5)"),
        CauseDate => ("損害の原因が生じた日", "Date the cause arose"),
        Compute => ("計算する", "Compute"),
        TerminationHeading => ("当社による解除（第12条）", "Termination by the provider (Art. 12)"),
        TerminationAbout => (
            "事前に通知した日を入力してください（緊急の場合を除く。第12条第2項）。解除日に未払いの債務はすべて支払期限が到来します（第12条第3項）。",
            "Give the date prior notice was sent, unless it is urgent (Art. 12-2). On the end date every unpaid debt falls due at once (Art. 12-3).",
        ),
        TerminationReason => ("解除の理由（第12条第1項）", "Reason (Art. 12-1)"),
        PriorNotice => ("事前通知日", "Prior notice sent on"),
        Urgent => ("緊急（事前通知なし）", "Urgent (no prior notice)"),
        TerminationDate => ("解除日", "End date"),
        Terminate => ("解除する", "Terminate"),
        PaymentsCounted => (
            "対象期間（原因日の前日まで）",
            "Payments counted (up to the day before)",
        ),
        Cap => ("上限額（第18条第5項）", "Cap (Art. 18-5)"),
        BackToContract => ("契約に戻る", "Back to the contract"),
        LiabilityCap => ("損害賠償の上限", "Liability cap"),
        ComposeNotice => ("通知を作成して送る", "Compose and send a notice"),
        Kind => ("種類", "Kind"),
        EffectiveDate => ("効力発生日", "Effective date"),
        Subject => ("件名", "Subject"),
        Body => ("本文", "Body"),
        Recipients => (
            "送付先の顧客（セキュリティ責任者あて）",
            "Customers (sent to their security officers)",
        ),
        Send => ("送信する", "Send"),
        NoticesSent => ("送った通知", "Notices sent"),
        Composed => ("作成日時", "Composed"),
        RecipientsAndTimes => ("送付先と送信日時", "Recipients and times sent"),
        NotSent => ("送信失敗", "not sent"),
        NotSentYet => ("未送信", "not sent yet"),
    }
}
