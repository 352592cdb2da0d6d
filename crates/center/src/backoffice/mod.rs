//! The back office: applications (Art. 7–9), contracts, cancellation (Art. 11) and
//! termination (Art. 12), the monthly invoice run (Art. 17), payments and late
//! interest (Art. 17-4), the liability cap (Art. 18-5) and notices (Art. 3-2, 12-2,
//! 16-2, 26-2). The rules come from the pure `mamori_billing` crate; this module
//! checks roles and input, scopes every read to the caller's customer, and writes
//! each change with its audit entry in one transaction. Time comes in as a value.

pub mod document;

use mamori_center_model::ids::*;
use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use mamori_billing::charges::{self, InterestSettings, LiabilityCap, Received};
use mamori_billing::contract::{RefusalReason, TerminationReason};
use mamori_billing::invoice::{InvoiceSettings, LineKind, Taxability};
use mamori_billing::plan::{self, PlanError, RunContract, RunInput, RunSettings, UnbilledInterest};
use mamori_billing::split;
use mamori_billing::tax::TaxTable;
use mamori_billing::term;
use mamori_billing::{Rate, YearMonth, Yen, fees};
use serde::{Deserialize, Serialize};

use crate::app::{AppError, Conflict, Field, Forbidden, Invalid, Lang, Result, record};
use crate::domain::{Actor, Scope};
use crate::gateways::inventory::{EquipmentState, Move};
use crate::gateways::move_in_tx;
use crate::store::{StoreError, Tx};
use mamori_center_model::authz::Action;
use mamori_center_model::messages::backoffice::{
    ApplicationStateWords, BackofficeText, ContractStateWords, LineKindWords, NoticeKindWords,
    NoticeWords, RefusalWords, TerminationWords,
};

/// How the monthly run groups charges into invoices (`invoice_per`); the rule lives in
/// `mamori_billing::plan`.
pub use mamori_billing::plan::InvoicePer;

/// The back office's settings (`[backoffice]` in the center's configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackofficeConfig {
    /// Art. 7: the access-line products of the provider an application may name.
    pub eligible_lines: Vec<String>,
    /// The issuer on invoices, in Japanese and English.
    pub issuer_name_ja: String,
    pub issuer_name_en: String,
    /// The qualified-invoice issuer registration number, `T` + 13 digits.
    pub registration_number: String,
    /// SMTP server for notices, `host:port`; empty: notices are kept but not sent.
    pub smtp: String,
    /// The sender address of notices.
    pub mail_from: String,
    /// Art. 17-4: yearly late-payment interest in basis points (1450 = 14.5 %).
    pub interest_basis_points: u32,
    /// Art. 17-4: no interest when paid within this many days after the due date.
    pub interest_grace_days: u32,
    /// TrueType font for PDF invoices; empty: IPA Gothic where Debian installs it.
    pub pdf_font: String,
    /// Art. 17 (TERMS.md "Invoices"): when invoices are issued and fall due
    /// (`[backoffice.invoice]`: `issue_day` 1, `due_months_after_issue` 0,
    /// `due_day` "end" — issued on the 1st of the next month, due at its end).
    pub invoice: InvoiceSettings,
    /// TERMS.md "Invoices": one invoice per contract (default) or one per customer,
    /// with the lines of all the customer's contracts (`invoice_per = "customer"`).
    pub invoice_per: InvoicePer,
    /// Consumption tax per line kind (`[backoffice.taxable]`; TERMS.md Art. 10-2:
    /// the early-termination sum is not taxable by default, every fee is).
    pub taxable: Taxability,
}

impl Default for BackofficeConfig {
    fn default() -> Self {
        BackofficeConfig {
            eligible_lines: vec!["fiber-business".into(), "fiber-business-ipv6".into()],
            issuer_name_ja: "マモリ通信株式会社".into(),
            issuer_name_en: "Mamori Telecom Co., Ltd.".into(),
            registration_number: "T7123456789012".into(),
            smtp: String::new(),
            mail_from: "noreply@provider.example.jp".into(),
            interest_basis_points: 1450,
            interest_grace_days: 10,
            pdf_font: String::new(),
            invoice: InvoiceSettings::default(),
            taxable: Taxability::default(),
            invoice_per: InvoicePer::Contract,
        }
    }
}

impl BackofficeConfig {
    fn interest(&self) -> Result<InterestSettings> {
        Ok(InterestSettings {
            rate: Rate::from_basis_points(self.interest_basis_points).ok_or_else(|| {
                AppError::invalid(Field::InterestBasisPoints, Invalid::InterestOutOfRange)
            })?,
            grace_days: self.interest_grace_days,
        })
    }
}

pub use mamori_center_model::backoffice::*;

// ---- helpers ---------------------------------------------------------------------

/// A stored value that no rule can produce (e.g. an invoice whose totals are not
/// those of its lines): an internal error whose message names the object.
fn corrupt(message: String) -> AppError {
    AppError::Store(StoreError::Corrupt(message))
}

/// A rule of the terms (from `mamori_billing`) refuses the value of `field`; its
/// message is English, so the Japanese text names the field and quotes it.
fn rule_error(field: Field, e: impl std::fmt::Display) -> AppError {
    AppError::invalid(
        field,
        Invalid::Rule {
            field,
            detail: e.to_string(),
        },
    )
}

/// Today's date in Japan (UTC+9) at `now` (ms since the epoch).
pub fn today(now: i64) -> Date {
    let ts = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let offset = jiff::tz::Offset::constant(9);
    offset.to_datetime(ts).date()
}

pub fn parse_date(field: Field, s: &str) -> Result<Date> {
    s.trim().parse::<Date>().map_err(|_| {
        AppError::invalid(
            field,
            Invalid::NotADate {
                field,
                v: s.to_string(),
            },
        )
    })
}

pub fn parse_month(field: Field, s: &str) -> Result<YearMonth> {
    s.trim().parse::<YearMonth>().map_err(|_| {
        AppError::invalid(
            field,
            Invalid::NotAMonth {
                field,
                v: s.to_string(),
            },
        )
    })
}

/// A positive amount of yen up to ¥1,000,000,000,000, as typed in a form or sent in
/// JSON.
fn amount(field: Field, v: i64) -> Result<Yen> {
    if v <= 0 {
        return Err(AppError::invalid(
            field,
            Invalid::NotPositiveYen { field, v },
        ));
    }
    if v > 1_000_000_000_000 {
        return Err(AppError::invalid(field, Invalid::TooManyYen { field }));
    }
    Yen::from_i64(v).map_err(|e| rule_error(field, e))
}

fn short_text(field: Field, v: &str, max: usize) -> Result<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(AppError::invalid(field, Invalid::Empty { field }));
    }
    if v.chars().count() > max {
        return Err(AppError::invalid(field, Invalid::LongerThan { field, max }));
    }
    if let Some(c) = v
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AppError::invalid(
            field,
            Invalid::ControlCharacter { field, c: c as u32 },
        ));
    }
    Ok(v.to_string())
}

/// Back-office staff (and administrators) manage applications, contracts, invoices,
/// payments and notices.
fn require_back_office(actor: &Actor) -> Result<()> {
    if actor.may(Action::RunBackOffice) {
        Ok(())
    } else {
        Err(AppError::Forbidden(Forbidden::BackOfficeOnly))
    }
}

/// Who may read back-office data: provider staff see all of it; a customer's officer
/// and staff see their own customer's (the scope does that).
fn read_scope(actor: &Actor) -> Scope {
    actor.scope()
}

fn parse_refusal(s: &str) -> Result<RefusalReason> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string())).map_err(|_| {
        AppError::invalid(
            Field::Reason,
            Invalid::NotARefusalReason { v: s.to_string() },
        )
    })
}

fn parse_termination(s: &str) -> Result<TerminationReason> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string())).map_err(|_| {
        AppError::invalid(
            Field::Reason,
            Invalid::NotATerminationReason { v: s.to_string() },
        )
    })
}

/// The catalog's words of an Art. 8-2 reason.
pub fn refusal_words(r: RefusalReason) -> RefusalWords {
    match r {
        RefusalReason::TechnicalObstacle => RefusalWords::TechnicalObstacle,
        RefusalReason::RiskOfNonPayment => RefusalWords::RiskOfNonPayment,
        RefusalReason::FalseStatement => RefusalWords::FalseStatement,
        RefusalReason::UnlawfulUse => RefusalWords::UnlawfulUse,
        RefusalReason::DamagesCredibility => RefusalWords::DamagesCredibility,
        RefusalReason::Other => RefusalWords::Other,
    }
}

/// The catalog's words of an Art. 12-1 reason.
pub fn termination_words(r: TerminationReason) -> TerminationWords {
    match r {
        TerminationReason::Insolvency => TerminationWords::Insolvency,
        TerminationReason::NonPayment => TerminationWords::NonPayment,
        TerminationReason::BusinessClosure => TerminationWords::BusinessClosure,
        TerminationReason::TermsViolation => TerminationWords::TermsViolation,
        TerminationReason::FalseStatement => TerminationWords::FalseStatement,
        TerminationReason::CarrierContractEnded => TerminationWords::CarrierContractEnded,
        TerminationReason::AntisocialForces => TerminationWords::AntisocialForces,
        TerminationReason::FraudOrThreat => TerminationWords::FraudOrThreat,
        TerminationReason::Other => TerminationWords::Other,
    }
}

/// The catalog's words of an invoice line's kind.
pub fn line_kind_words(k: LineKind) -> LineKindWords {
    match k {
        LineKind::MonthlyFee => LineKindWords::MonthlyFee,
        LineKind::EarlyTermination => LineKindWords::EarlyTermination,
        LineKind::LateInterest => LineKindWords::LateInterest,
        LineKind::EvadedFee => LineKindWords::EvadedFee,
        LineKind::EvasionSurcharge => LineKindWords::EvasionSurcharge,
        LineKind::Reinstallation => LineKindWords::Reinstallation,
        LineKind::Handling => LineKindWords::Handling,
    }
}

/// An Art. 8-2 reason (its code) with its item, from the catalog; an unknown code as
/// it is.
pub fn refusal_label(s: &str, lang: Lang) -> String {
    match parse_refusal(s) {
        Ok(r) => BackofficeText::Refusal {
            item: r.item(),
            reason: refusal_words(r),
        }
        .text(lang),
        Err(_) => s.to_string(),
    }
}

/// An Art. 12-1 reason (its code) with its item, from the catalog; an unknown code as
/// it is.
pub fn termination_label(s: &str, lang: Lang) -> String {
    match parse_termination(s) {
        Ok(r) => BackofficeText::Termination {
            item: r.item(),
            reason: termination_words(r),
        }
        .text(lang),
        Err(_) => s.to_string(),
    }
}

/// An invoice line's kind (its code), from the catalog; an unknown code as it is.
pub fn line_kind_label(code: &str, lang: Lang) -> String {
    match LineKind::from_code(code) {
        Some(k) => line_kind_words(k).text(lang).to_string(),
        None => code.to_string(),
    }
}

/// An application's state, from the catalog.
pub fn application_state_label(state: ApplicationState, lang: Lang) -> &'static str {
    let w = match state {
        ApplicationState::Pending => ApplicationStateWords::Pending,
        ApplicationState::Accepted => ApplicationStateWords::Accepted,
        ApplicationState::Refused => ApplicationStateWords::Refused,
        ApplicationState::Superseded => ApplicationStateWords::Superseded,
    };
    w.text(lang)
}

/// How a contract's status line begins (running, or who ends it), from the catalog.
pub fn contract_state_label(ending: Option<&ContractEnding>, lang: Lang) -> &'static str {
    let w = match ending {
        None => ContractStateWords::Running,
        Some(ContractEnding::Customer { .. }) => ContractStateWords::CancelledByCustomer,
        Some(ContractEnding::Provider { .. }) => ContractStateWords::TerminatedByProvider,
    };
    w.text(lang)
}

/// A notice's kind (its code) with its article, from the catalog; an unknown code as
/// it is.
pub fn notice_kind_label(kind: &str, lang: Lang) -> String {
    let words = match kind {
        "terms_change" => NoticeKindWords::TermsChange,
        "maintenance" => NoticeKindWords::Maintenance,
        "termination" => NoticeKindWords::Termination,
        "service_end" => NoticeKindWords::ServiceEnd,
        "application_accepted" => NoticeKindWords::ApplicationAccepted,
        other => return other.to_string(),
    };
    let article = NOTICE_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, a)| *a)
        .unwrap_or("");
    format!("{} ({article})", words.text(lang))
}

crate::app::capability!(
    /// The back office's use cases.
    BackOffice, backoffice
);

impl BackOffice<'_> {
    // ---- applications (Art. 7–9) ---------------------------------------------------

    /// Art. 7: a new application, with an eligible access line of the provider. With
    /// `replaces`, a change to an earlier application (Art. 9): handled like a new
    /// application; the earlier one, if still pending, is superseded.
    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of the application form"
    )]
    pub async fn apply(
        self,
        actor: &Actor,
        cfg: &BackofficeConfig,
        customer_id: CustomerId,
        line_product: &str,
        line_id: &str,
        monthly_fee: i64,
        start: &str,
        note: &str,
        replaces: Option<i64>,
        now: i64,
    ) -> Result<Application> {
        require_back_office(actor)?;
        let line_product = line_product.trim();
        if !cfg.eligible_lines.iter().any(|l| l == line_product) {
            return Err(AppError::invalid(
                Field::LineProduct,
                Invalid::NotAnEligibleLine {
                    line: line_product.to_string(),
                    eligible: cfg.eligible_lines.join(", "),
                },
            ));
        }
        let line_id = short_text(Field::LineId, line_id, 100)?;
        let monthly_fee = amount(Field::MonthlyFee, monthly_fee)?;
        let start = parse_date(Field::Start, start)?;
        term::minimum_term_end(start).map_err(|e| rule_error(Field::Start, e))?;
        let note = note.trim().chars().take(2000).collect::<String>();
        let mut tx = self.store.begin().await?;
        if !tx.customer_exists(customer_id).await? {
            return Err(AppError::NotFound);
        }
        if let Some(old) = replaces {
            let prev = tx
                .backoffice()
                .application(Scope::Customer(customer_id), ApplicationId::new(old))
                .await?
                .ok_or_else(|| {
                    AppError::invalid(Field::Replaces, Invalid::NoSuchApplication { id: old })
                })?;
            if prev.state == ApplicationState::Pending {
                tx.backoffice()
                    .decide_application(
                        ApplicationId::new(old),
                        ApplicationState::Superseded,
                        None,
                        None,
                        now,
                    )
                    .await?;
            }
        }
        let mut a = Application {
            id: ApplicationId::new(0),
            customer_id,
            line_product: line_product.to_string(),
            line_id,
            monthly_fee,
            start,
            note,
            state: ApplicationState::Pending,
            refusal_reason: None,
            replaces_id: replaces.map(ApplicationId::new),
            contract_id: None,
            created_at: now,
            decided_at: None,
        };
        a.id = tx.backoffice().insert_application(&a).await?;
        tx.audit(
            record(
                actor,
                Some(customer_id),
                if replaces.is_some() {
                    "application.change"
                } else {
                    "application.create"
                },
                format!("application/{}", a.id),
                format!(
                    "line={} fee={} start={}{}",
                    a.line_product,
                    a.monthly_fee.get(),
                    a.start,
                    replaces
                        .map(|r| format!(" replaces={r}"))
                        .unwrap_or_default()
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    pub async fn applications(self, actor: &Actor) -> Result<Vec<Application>> {
        Ok(self
            .store
            .backoffice()
            .applications(read_scope(actor))
            .await?)
    }

    pub async fn application(self, actor: &Actor, id: ApplicationId) -> Result<Application> {
        self.store
            .backoffice()
            .application(read_scope(actor), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Art. 8-1: accepting creates the contract; the applicant's officer is notified
    /// (a notice kept with its recipient, sent by e-mail when SMTP is configured).
    pub async fn accept(
        self,
        actor: &Actor,
        cfg: &BackofficeConfig,
        id: ApplicationId,
        equipment: &[i64],
        now: i64,
    ) -> Result<(Contract, Notice)> {
        require_back_office(actor)?;
        let mut tx = self.store.begin().await?;
        let a = tx
            .backoffice()
            .application(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if a.state != ApplicationState::Pending {
            return Err(AppError::Conflict(Conflict::ApplicationNotAcceptable {
                state_ja: application_state_label(a.state, Lang::Ja).into(),
                state_en: a.state.as_str().into(),
            }));
        }
        let minimum_term_end =
            term::minimum_term_end(a.start).map_err(|e| rule_error(Field::Start, e))?;
        let mut c = Contract {
            id: ContractId::new(0),
            customer_id: a.customer_id,
            application_id: a.id,
            line_product: a.line_product.clone(),
            line_id: a.line_id.clone(),
            start: a.start,
            monthly_fee: a.monthly_fee,
            minimum_term_end,
            ending: None,
            equipment: Vec::new(),
            created_at: now,
        };
        c.id = tx.backoffice().insert_contract(&c).await?;
        c.equipment = lend_units(&mut tx, actor, c.id, a.customer_id, equipment, now).await?;
        tx.backoffice()
            .decide_application(id, ApplicationState::Accepted, None, Some(c.id), now)
            .await?;
        tx.audit(
            record(
                actor,
                Some(a.customer_id),
                "application.accept",
                format!("application/{id}"),
                format!(
                    "contract={} start={} minimum_term_end={} equipment={:?}",
                    c.id, c.start, minimum_term_end, c.equipment
                ),
            ),
            now,
        )
        .await?;
        // The notice is written in both languages: the customer's reader is not known.
        let subject = BackofficeText::AcceptedSubject {
            contract: c.id.get(),
        };
        let subject = format!("{} / {}", subject.text(Lang::Ja), subject.text(Lang::En));
        let body = BackofficeText::AcceptedBody {
            line_product: c.line_product.clone(),
            line_id: c.line_id.clone(),
            start_ja: mamori_billing::document::format_date(
                c.start,
                mamori_billing::document::Lang::Ja,
            ),
            start_en: c.start.to_string(),
            fee_ja: c.monthly_fee.ja(),
            fee_en: c.monthly_fee.en(),
            minimum_end_ja: mamori_billing::document::format_date(
                minimum_term_end,
                mamori_billing::document::Lang::Ja,
            ),
            minimum_end_en: minimum_term_end.to_string(),
        };
        let body = format!("{}\n\n{}\n", body.text(Lang::Ja), body.text(Lang::En));
        let notice_id = tx
            .backoffice()
            .insert_notice(
                "application_accepted",
                &subject,
                &body,
                c.start,
                actor.user_id.get(),
                now,
            )
            .await?;
        let officer = self.store.backoffice().officer(a.customer_id).await?;
        if let Some((email, _)) = &officer {
            tx.backoffice()
                .insert_recipient(notice_id, a.customer_id, email)
                .await?;
        }
        tx.audit(
            record(
                actor,
                Some(a.customer_id),
                "notice.create",
                format!("notice/{notice_id}"),
                format!(
                    "kind=application_accepted recipients={}",
                    usize::from(officer.is_some())
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.deliver(actor, cfg, notice_id, now).await?;
        let notice = self
            .store
            .backoffice()
            .notice(notice_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok((c, notice))
    }

    /// Art. 8-2: refusal with one of the listed reasons.
    pub async fn refuse(
        self,
        actor: &Actor,
        id: ApplicationId,
        reason: &str,
        now: i64,
    ) -> Result<Application> {
        require_back_office(actor)?;
        let r = parse_refusal(reason)?;
        let code = serde_json::to_value(r)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let a = tx
            .backoffice()
            .application(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !tx
            .backoffice()
            .decide_application(id, ApplicationState::Refused, Some(&code), None, now)
            .await?
        {
            return Err(AppError::Conflict(Conflict::ApplicationNotRefusable {
                state_ja: application_state_label(a.state, Lang::Ja).into(),
                state_en: a.state.as_str().into(),
            }));
        }
        tx.audit(
            record(
                actor,
                Some(a.customer_id),
                "application.refuse",
                format!("application/{id}"),
                format!("reason={code} ({})", r.article()),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.application(actor, id).await
    }

    // ---- contracts (Art. 10–12) ----------------------------------------------------

    pub async fn contracts(self, actor: &Actor) -> Result<Vec<Contract>> {
        Ok(self.store.backoffice().contracts(read_scope(actor)).await?)
    }

    pub async fn contract(self, actor: &Actor, id: ContractId) -> Result<Contract> {
        self.store
            .backoffice()
            .contract(read_scope(actor), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    fn may_cancel(actor: &Actor) -> Result<()> {
        if actor.may(Action::CancelContracts) {
            Ok(())
        } else {
            Err(AppError::Forbidden(Forbidden::Cancel))
        }
    }

    /// Art. 11-1: what a cancellation notice received today asking to end on
    /// `requested_end` gives: the earliest allowed end date and the date that applies,
    /// and the Art. 10-2 lump sum. Nothing is recorded.
    pub async fn cancellation_preview(
        self,
        actor: &Actor,
        id: ContractId,
        requested_end: &str,
        now: i64,
    ) -> Result<CancellationPreview> {
        let c = self.contract(actor, id).await?;
        Self::may_cancel(actor)?;
        let requested = parse_date(Field::End, requested_end)?;
        preview(&c, today(now), requested)
    }

    /// Art. 11-1: records the cancellation (the end date moved to notice + 30 days if
    /// it was earlier).
    pub async fn cancel(
        self,
        actor: &Actor,
        id: ContractId,
        requested_end: &str,
        now: i64,
    ) -> Result<(Contract, CancellationPreview)> {
        Self::may_cancel(actor)?;
        let requested = parse_date(Field::End, requested_end)?;
        let mut tx = self.store.begin().await?;
        let c = tx
            .backoffice()
            .contract(read_scope(actor), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let p = preview(&c, today(now), requested)?;
        let ending = ContractEnding::Customer {
            notice_date: p.cancellation.notice_date,
            requested_end: requested,
            end: p.cancellation.end,
        };
        if !tx.backoffice().end_contract(id, &ending).await? {
            return Err(AppError::Conflict(Conflict::ContractEnding));
        }
        tx.audit(
            record(
                actor,
                Some(c.customer_id),
                "contract.cancel",
                format!("contract/{id}"),
                format!(
                    "notice={} requested_end={} end={} moved={} early_termination={} (Art. 11-1, 10-2)",
                    p.cancellation.notice_date,
                    requested,
                    p.cancellation.end,
                    p.cancellation.moved,
                    p.early_termination.get()
                ),
            ),
            now,
        )
        .await?;
        take_back_units(&mut tx, actor, today(now), Some(id), now).await?;
        tx.commit().await?;
        Ok((self.contract(actor, id).await?, p))
    }

    /// Art. 12: termination by the provider for an Art. 12-1 reason, with prior notice
    /// (`notice_date`) unless `urgent` (Art. 12-2). All debts fall due at once on the
    /// end date (Art. 12-3): unpaid invoices' due dates move to it.
    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of the termination form"
    )]
    pub async fn terminate(
        self,
        actor: &Actor,
        id: ContractId,
        reason: &str,
        urgent: bool,
        notice_date: Option<&str>,
        end: &str,
        now: i64,
    ) -> Result<(Contract, u64)> {
        require_back_office(actor)?;
        let r = parse_termination(reason)?;
        let code = serde_json::to_value(r)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let end = parse_date(Field::End, end)?;
        let notice = match (urgent, notice_date.map(str::trim).filter(|s| !s.is_empty())) {
            (true, _) => None,
            (false, Some(n)) => Some(parse_date(Field::NoticeDate, n)?),
            (false, None) => {
                return Err(AppError::invalid(
                    Field::NoticeDate,
                    Invalid::TerminationNeedsNotice,
                ));
            }
        };
        let notice_kind = match notice {
            Some(date) => mamori_billing::contract::TerminationNotice::Prior { date },
            None => mamori_billing::contract::TerminationNotice::Urgent,
        };
        mamori_billing::contract::ProviderTermination::new(r, notice_kind, end)
            .map_err(|e| rule_error(Field::NoticeDate, e))?;
        if let Some(n) = notice
            && n > today(now)
        {
            return Err(AppError::invalid(
                Field::NoticeDate,
                Invalid::NoticeInFuture {
                    date: n.to_string(),
                },
            ));
        }
        let mut tx = self.store.begin().await?;
        let c = tx
            .backoffice()
            .contract(Scope::All, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if end < c.start {
            return Err(AppError::invalid(
                Field::End,
                Invalid::EndBeforeStart {
                    end: end.to_string(),
                    start: c.start.to_string(),
                },
            ));
        }
        let ending = ContractEnding::Provider {
            reason: code.clone(),
            notice_date: notice,
            end,
        };
        if !tx.backoffice().end_contract(id, &ending).await? {
            return Err(AppError::Conflict(Conflict::ContractEnding));
        }
        let accelerated = tx.backoffice().accelerate(id, end).await?;
        tx.audit(
            record(
                actor,
                Some(c.customer_id),
                "contract.terminate",
                format!("contract/{id}"),
                format!(
                    "reason={code} ({}) notice={} end={end} invoices_due_at_once={accelerated} (Art. 12-3)",
                    r.article(),
                    notice.map_or("urgent".to_string(), |d| d.to_string())
                ),
            ),
            now,
        )
        .await?;
        take_back_units(&mut tx, actor, today(now), Some(id), now).await?;
        tx.commit().await?;
        Ok((self.contract(actor, id).await?, accelerated))
    }

    /// The units lent under a contract the caller may read, as they are now.
    pub async fn contract_units(
        self,
        actor: &Actor,
        contract_id: ContractId,
    ) -> Result<Vec<crate::gateways::Equipment>> {
        let c = self.contract(actor, contract_id).await?;
        let mut units = Vec::new();
        for id in c.equipment {
            if let Some(e) = self.store.equipment(Scope::All, id).await? {
                units.push(e);
            }
        }
        Ok(units)
    }

    /// The contracts (the caller may read) a unit was lent under, newest first, with
    /// when it left each (`None` while it is lent under it).
    pub async fn unit_contracts(
        self,
        actor: &Actor,
        equipment_id: EquipmentId,
    ) -> Result<Vec<(i64, Option<i64>)>> {
        Ok(self
            .store
            .backoffice()
            .contracts_of_unit(read_scope(actor), equipment_id)
            .await?)
    }

    /// Lends one more unit under a contract that has not ended (Art. 4-3 (1)).
    pub async fn lend_unit(
        self,
        actor: &Actor,
        contract_id: ContractId,
        equipment_id: EquipmentId,
        now: i64,
    ) -> Result<Contract> {
        require_back_office(actor)?;
        let mut tx = self.store.begin().await?;
        let c = tx
            .backoffice()
            .contract(Scope::All, contract_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if let Some(end) = c.end()
            && end <= today(now)
        {
            return Err(AppError::invalid(
                Field::Equipment,
                Invalid::ContractEnded {
                    end: end.to_string(),
                },
            ));
        }
        lend_units(
            &mut tx,
            actor,
            contract_id,
            c.customer_id,
            &[equipment_id.get()],
            now,
        )
        .await?;
        tx.commit().await?;
        self.contract(actor, contract_id).await
    }

    /// Art. 15: the units of every contract that has reached its end go back through
    /// the inventory's life cycle (installed → disconnected → returned; lent, failed,
    /// replaced or disconnected → returned). Returns (contract, unit, what happened).
    pub async fn take_back_units(self, actor: &Actor, now: i64) -> Result<Vec<(i64, i64, String)>> {
        require_back_office(actor)?;
        let mut tx = self.store.begin().await?;
        let done = take_back_units(&mut tx, actor, today(now), None, now).await?;
        tx.commit().await?;
        Ok(done)
    }

    // ---- invoices (Art. 17) --------------------------------------------------------

    /// The monthly run for service month `month`: the plan of `mamori_billing::plan`
    /// (one invoice per contract, or per customer, with charges in the month, numbered
    /// sequentially without gaps; a contract that has its invoice for the month gets
    /// nothing more), written by the store in one transaction under the write lock
    /// (which also serialises center processes on PostgreSQL), with one audit entry
    /// naming the numbers issued.
    pub async fn invoice_run(
        self,
        actor: &Actor,
        cfg: &BackofficeConfig,
        month: &str,
        now: i64,
    ) -> Result<RunReport> {
        require_back_office(actor)?;
        let month = parse_month(Field::Month, month)?;
        let taxes = TaxTable::japan_standard();
        let settings = RunSettings {
            invoice: cfg.invoice,
            per: cfg.invoice_per,
            taxable: cfg.taxable,
            taxes: &taxes,
        };
        let mut tx = self.store.begin().await?;
        let invoiced: BTreeSet<i64> = tx
            .backoffice()
            .invoiced_contracts(&month.to_string())
            .await?
            .into_iter()
            .collect();
        let mut contracts = tx
            .backoffice()
            .contracts_in(month.first_day(), month.last_day())
            .await?;
        let unbilled = tx.backoffice().unbilled_interest(month.last_day()).await?;
        // Contracts that bill only interest now (ended before the month).
        let present: BTreeSet<ContractId> = contracts.iter().map(|(c, _)| c.id).collect();
        let missing: BTreeSet<ContractId> = unbilled
            .iter()
            .map(|p| p.contract_id)
            .filter(|id| !present.contains(id))
            .collect();
        for id in missing {
            if let Some(c) = tx.backoffice().contract_with_name(id).await? {
                contracts.push(c);
            }
        }
        let recipients: BTreeMap<i64, String> = contracts
            .iter()
            .map(|(c, name)| (c.customer_id.get(), name.clone()))
            .collect();
        let run_contracts: Vec<RunContract<i64>> = contracts
            .iter()
            .map(|(c, _)| RunContract {
                id: c.id.get(),
                customer: c.customer_id.get(),
                start: c.start,
                monthly_fee: c.monthly_fee,
                end: c.end(),
                terminated_by_provider: matches!(c.ending, Some(ContractEnding::Provider { .. })),
            })
            .collect();
        let interest: Vec<UnbilledInterest<i64>> = unbilled
            .iter()
            .map(|p| UnbilledInterest {
                payment: p.id,
                contract: p.contract_id.get(),
                date: p.date,
                amount: p.interest,
            })
            .collect();
        let last = tx.backoffice().last_invoice_number().await?;
        let last_number = u64::try_from(last)
            .map_err(|_| corrupt(format!("the highest invoice number is {last}")))?;
        let plan = plan::plan(
            &RunInput {
                month,
                today: today(now),
                contracts: &run_contracts,
                invoiced: &invoiced,
                interest: &interest,
                last_number,
            },
            &settings,
        )
        .map_err(plan_error)?;
        tx.backoffice().write_plan(&plan, &recipients, now).await?;
        let number = |n: Option<u64>| {
            n.map(|n| i64::try_from(n).map_err(|_| corrupt(format!("invoice number {n}"))))
                .transpose()
        };
        let report = RunReport {
            month,
            issued: plan.invoices.len() as u64,
            first_number: number(plan.first_number())?,
            last_number: number(plan.last_number())?,
        };
        tx.audit(
            record(
                actor,
                None,
                "invoice.run",
                format!("invoices/{month}"),
                match (report.first_number, report.last_number) {
                    (Some(a), Some(b)) => format!("issued={} numbers={a}..{b}", report.issued),
                    _ => "issued=0".to_string(),
                },
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    pub async fn invoices(
        self,
        actor: &Actor,
        contract_id: Option<ContractId>,
    ) -> Result<Vec<Invoice>> {
        Ok(self
            .store
            .backoffice()
            .invoices(read_scope(actor), contract_id)
            .await?)
    }

    pub async fn invoice(self, actor: &Actor, id: InvoiceId) -> Result<Invoice> {
        self.store
            .backoffice()
            .invoice(read_scope(actor), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The overdue list: invoices not fully paid after their due date.
    pub async fn overdue(self, actor: &Actor, now: i64) -> Result<Vec<Invoice>> {
        Ok(self
            .store
            .backoffice()
            .overdue(read_scope(actor), today(now))
            .await?)
    }

    // ---- payments (Art. 17-4) ------------------------------------------------------

    /// Records a payment received on `date` for an invoice. The Art. 17-4 interest it
    /// owes (on the part of the interest-bearing amount it pays, for the days after
    /// the grace period) is kept with it and billed on the invoice of the month it was
    /// made in.
    pub async fn record_payment(
        self,
        actor: &Actor,
        cfg: &BackofficeConfig,
        invoice_id: InvoiceId,
        amount_in: i64,
        date: &str,
        now: i64,
    ) -> Result<Payment> {
        require_back_office(actor)?;
        let amount_in = amount(Field::Amount, amount_in)?;
        let date = parse_date(Field::Date, date)?;
        if date > today(now) {
            return Err(AppError::invalid(
                Field::Date,
                Invalid::PaymentInFuture {
                    date: date.to_string(),
                },
            ));
        }
        let settings = cfg.interest()?;
        let mut tx = self.store.begin().await?;
        let inv = tx
            .backoffice()
            .invoice_for_update(Scope::All, invoice_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let open = inv.balance();
        if amount_in > open.owed() {
            return Err(AppError::invalid(
                Field::Amount,
                Invalid::PaymentTooLarge {
                    amount_ja: amount_in.ja(),
                    amount_en: amount_in.en(),
                    invoice: inv.number_text(),
                    open_ja: open.ja(),
                    open_en: open.en(),
                },
            ));
        }
        if date < inv.issue_date {
            return Err(AppError::invalid(
                Field::Date,
                Invalid::PaymentBeforeIssue {
                    date: date.to_string(),
                    issued: inv.issue_date.to_string(),
                },
            ));
        }
        // Art. 17-4: the payment settles the late interest billed on the invoice first,
        // then the principal (Civil Code Art. 489); interest accrues on the principal
        // part only, for the days of delay (no interest on interest).
        let charged = charges::payment_interest(&inv.owed(), amount_in, date, &settings)
            .map_err(|e| corrupt(format!("{}: {e}", inv.named())))?;
        let mut p = Payment {
            id: 0,
            invoice_id,
            customer_id: inv.customer_id,
            contract_id: inv.contract_id,
            amount: amount_in,
            date,
            interest: charged.interest,
            interest_invoice: None,
            created_at: now,
        };
        p.id = tx.backoffice().insert_payment(&p).await?;
        tx.audit(
            record(
                actor,
                Some(inv.customer_id),
                "payment.record",
                format!("invoice/{invoice_id}"),
                format!(
                    "payment={} amount={} date={date} due={} interest={} (Art. 17-4)",
                    p.id,
                    amount_in.get(),
                    inv.due_date,
                    p.interest.get()
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn payments(self, actor: &Actor, contract_id: ContractId) -> Result<Vec<Payment>> {
        self.contract(actor, contract_id).await?;
        Ok(self
            .store
            .backoffice()
            .payments(read_scope(actor), contract_id)
            .await?)
    }

    /// Art. 18-5: the liability cap for a cause on `cause`, with the payments counted.
    pub async fn liability_cap(
        self,
        actor: &Actor,
        contract_id: ContractId,
        cause: &str,
        now: i64,
    ) -> Result<LiabilityCap> {
        require_back_office(actor)?;
        let cause = parse_date(Field::CauseDate, cause)?;
        let c = self.contract(actor, contract_id).await?;
        // Each payment counts for the contract with the part allocated to its lines:
        // all of it on the contract's own invoice, a share of it on an invoice for
        // several contracts of the customer (one invoice per customer).
        let mut received = Vec::new();
        for head in self
            .store
            .backoffice()
            .invoices(Scope::All, Some(contract_id))
            .await?
        {
            let pays = self.store.backoffice().payments_of_invoice(head.id).await?;
            if pays.is_empty() {
                continue;
            }
            let inv = self
                .store
                .backoffice()
                .invoice(Scope::All, head.id)
                .await?
                .ok_or(AppError::NotFound)?;
            let parts = inv.contract_parts().map_err(corrupt)?;
            let Some(k) = parts.iter().position(|(c, _)| *c == contract_id) else {
                continue;
            };
            let weights: Vec<Yen> = parts.iter().map(|(_, w)| *w).collect();
            for p in pays {
                let split = split::split_by_weight(p.amount, &weights)
                    .map_err(|e| corrupt(format!("payment {} of {}: {e}", p.id, inv.named())))?;
                if split[k] > Yen::ZERO {
                    received.push(Received {
                        date: p.date,
                        amount: split[k],
                    });
                }
            }
        }
        received.sort_by_key(|r| r.date);
        let cap = charges::liability_cap_detail(&received, cause)
            .map_err(|e| rule_error(Field::CauseDate, e))?;
        let mut tx = self.store.begin().await?;
        tx.audit(
            record(
                actor,
                Some(c.customer_id),
                "contract.liability_cap",
                format!("contract/{contract_id}"),
                format!(
                    "cause={cause} cap={} payments={} (Art. 18-5)",
                    cap.cap.get(),
                    cap.payments.len()
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(cap)
    }

    // ---- notices (Art. 3-2, 12-2, 16-2, 26-2) --------------------------------------

    /// Composes a notice and sends it to the officers of `customers` (every customer
    /// with an active officer when `all`). The notice, its recipients and the time
    /// each was sent are kept.
    #[expect(clippy::too_many_arguments, reason = "the fields of the notice form")]
    pub async fn send_notice(
        self,
        actor: &Actor,
        cfg: &BackofficeConfig,
        kind: &str,
        subject: &str,
        body: &str,
        effective_date: &str,
        customers: &[i64],
        now: i64,
    ) -> Result<Notice> {
        require_back_office(actor)?;
        let kind = kind.trim();
        let Some((_, article)) = NOTICE_KINDS.iter().take(4).find(|(k, _)| *k == kind) else {
            return Err(AppError::invalid(
                Field::Kind,
                Invalid::NotANoticeKind {
                    kind: kind.to_string(),
                },
            ));
        };
        let subject = short_text(Field::Subject, subject, 200)?;
        if subject.contains('\n') || subject.contains('\r') {
            return Err(AppError::invalid(
                Field::Subject,
                Invalid::OneLine {
                    field: Field::Subject,
                },
            ));
        }
        let body = short_text(Field::Body, body, 20_000)?;
        let effective = parse_date(Field::EffectiveDate, effective_date)?;
        if customers.is_empty() {
            return Err(AppError::invalid(Field::Customers, Invalid::NoRecipients));
        }
        let mut recipients = Vec::new();
        for c in customers {
            match self.store.backoffice().officer(CustomerId::new(*c)).await? {
                Some((email, _)) => recipients.push((*c, email)),
                None => {
                    return Err(AppError::invalid(
                        Field::Customers,
                        Invalid::NoOfficer { customer: *c },
                    ));
                }
            }
        }
        let mut tx = self.store.begin().await?;
        let id = tx
            .backoffice()
            .insert_notice(kind, &subject, &body, effective, actor.user_id.get(), now)
            .await?;
        for (c, email) in &recipients {
            tx.backoffice()
                .insert_recipient(id, CustomerId::new(*c), email)
                .await?;
        }
        tx.audit(
            record(
                actor,
                None,
                "notice.create",
                format!("notice/{id}"),
                format!(
                    "kind={kind} ({article}) effective={effective} recipients={}",
                    recipients.len()
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.deliver(actor, cfg, id, now).await?;
        self.store
            .backoffice()
            .notice(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Sends a kept notice to its recipients not yet reached, and records the result
    /// of each (time sent, or the error).
    async fn deliver(self, actor: &Actor, cfg: &BackofficeConfig, id: i64, now: i64) -> Result<()> {
        if cfg.smtp.trim().is_empty() {
            return Ok(());
        }
        let n = self
            .store
            .backoffice()
            .notice(id)
            .await?
            .ok_or(AppError::NotFound)?;
        for r in n.recipients.iter().filter(|r| r.sent_at.is_none()) {
            let text = format!(
                "{}\n\n{} / {}: {}\n",
                n.body,
                NoticeWords::EffectiveDate.text(Lang::Ja),
                NoticeWords::EffectiveDate.text(Lang::En),
                n.effective_date
            );
            let res = crate::adapters::smtp::send(
                &cfg.smtp,
                &cfg.mail_from,
                &r.email,
                &n.subject,
                &text,
                now,
            )
            .await;
            let mut tx = self.store.begin().await?;
            let (sent, err) = match &res {
                Ok(()) => (Some(now), None),
                Err(e) => (None, Some(e.to_string())),
            };
            tx.backoffice()
                .mark_sent(id, r.customer_id, sent, err.as_deref())
                .await?;
            let mut record = record(
                actor,
                Some(r.customer_id),
                "notice.send",
                format!("notice/{id}"),
                format!("to={}", r.email),
            );
            if let Some(e) = err {
                record.outcome = "failed".into();
                record.detail = format!("to={} error={e}", r.email);
            }
            tx.audit(record, now).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    pub async fn notices(self, actor: &Actor) -> Result<Vec<Notice>> {
        require_back_office(actor)?;
        Ok(self.store.backoffice().notices().await?)
    }
}

/// Lends `units` under contract `contract_id` of customer `customer_id`: a unit in
/// stock moves to `lent` by the inventory's rules (event and audit); a unit already
/// with this customer and lent under no other contract is linked as it is; any other
/// unit is refused, naming where it is. Returns the units linked, in order.
async fn lend_units(
    tx: &mut Tx,
    actor: &Actor,
    contract_id: ContractId,
    customer_id: CustomerId,
    units: &[i64],
    now: i64,
) -> Result<Vec<EquipmentId>> {
    let mut ids: Vec<EquipmentId> = units.iter().copied().map(EquipmentId::new).collect();
    ids.sort_unstable();
    ids.dedup();
    for &id in &ids {
        let Some(e) = tx.equipment_for_update(id).await? else {
            return Err(AppError::invalid(
                Field::Equipment,
                Invalid::NoSuchUnit { id: id.get() },
            ));
        };
        let open = tx.backoffice().open_links_of_unit(id).await?;
        let state = e.placement.state;
        let note = format!("lent under contract {contract_id}");
        if state == EquipmentState::InStock {
            // A unit back in stock is under no contract any more.
            for k in open {
                tx.backoffice()
                    .release_unit(ContractId::new(k), id, now)
                    .await?;
            }
            let lend = Move {
                to: EquipmentState::Lent,
                customer_id: Some(customer_id),
                site_id: None,
            };
            move_in_tx(tx, actor, &e, lend, &note, now).await?;
        } else if !(state.with_customer()
            && e.placement.customer_id == Some(customer_id)
            && open.is_empty())
        {
            let (state_ja, state_en) = state.label();
            let (where_en, where_ja) =
                if state.with_customer() && e.placement.customer_id != Some(customer_id) {
                    (
                        " with another customer".to_string(),
                        "（他の顧客に貸与中）".to_string(),
                    )
                } else if let Some(k) = open.first() {
                    (format!(" under contract {k}"), format!("（契約 {k}）"))
                } else {
                    (String::new(), String::new())
                };
            return Err(AppError::invalid(
                Field::Equipment,
                Invalid::UnitNotLendable {
                    id: id.get(),
                    serial: e.serial.clone(),
                    state_ja: state_ja.into(),
                    state_en: state_en.to_lowercase(),
                    where_ja,
                    where_en,
                },
            ));
        }
        tx.backoffice().link_unit(contract_id, id).await?;
        tx.audit(
            record(
                actor,
                Some(customer_id),
                "contract.lend_unit",
                format!("contract/{contract_id}"),
                format!("equipment={id} serial={} was={state}", e.serial),
            ),
            now,
        )
        .await?;
    }
    Ok(ids)
}

/// Art. 15: takes back the units of contracts that ended on or before `today` (one
/// contract, or all of them): each unit still with the contract's customer goes to
/// `returned` through the states the life cycle allows, with an event and an audit
/// entry per move, and its link to the contract is released. A unit being relocated
/// is left (and its link kept) until it is installed again or failed; a unit no longer
/// with the customer (returned or replaced meanwhile) is only released.
async fn take_back_units(
    tx: &mut Tx,
    actor: &Actor,
    today: Date,
    contract: Option<ContractId>,
    now: i64,
) -> Result<Vec<(i64, i64, String)>> {
    use EquipmentState::*;
    let mut done = Vec::new();
    for (k, customer, unit) in tx.backoffice().units_due_back(today, contract).await? {
        let Some(mut e) = tx.equipment_for_update(EquipmentId::new(unit)).await? else {
            continue;
        };
        let with_customer = e.placement.state.with_customer()
            && e.placement.customer_id == Some(CustomerId::new(customer));
        let path: &[EquipmentState] = match e.placement.state {
            _ if !with_customer => &[],
            Installed => &[Disconnected, Returned],
            Lent | Disconnected | Failed | Replaced => &[Returned],
            Relocating => {
                done.push((k, unit, "relocating: left until installed".to_string()));
                continue;
            }
            InStock | Returned => &[],
        };
        let note = format!("contract {k} ended: the unit goes back to the provider (Art. 15)");
        for &to in path {
            let m = Move {
                to,
                customer_id: None,
                site_id: None,
            };
            e.placement = move_in_tx(tx, actor, &e, m, &note, now).await?;
        }
        tx.backoffice()
            .release_unit(ContractId::new(k), EquipmentId::new(unit), now)
            .await?;
        let outcome = if path.is_empty() {
            format!("released ({})", e.placement.state)
        } else {
            let n = path.len();
            format!("returned ({n} move{})", if n == 1 { "" } else { "s" })
        };
        tx.audit(
            record(
                actor,
                Some(CustomerId::new(customer)),
                "contract.take_back_unit",
                format!("contract/{k}"),
                format!("equipment={unit} serial={} {outcome} (Art. 15)", e.serial),
            ),
            now,
        )
        .await?;
        done.push((k, unit, outcome));
    }
    Ok(done)
}

/// A run that cannot be planned, as the reader sees it: the month or a contract's
/// charge is wrong (bilingual), or the stored data is impossible.
fn plan_error(e: PlanError<i64>) -> AppError {
    match e {
        PlanError::MonthNotOver { month, .. } => AppError::invalid(
            Field::Month,
            Invalid::MonthNotOver {
                month: month.to_string(),
            },
        ),
        PlanError::Settings(e) => rule_error(Field::Month, e),
        e @ PlanError::Contract { .. } => rule_error(Field::Month, e),
        e @ (PlanError::UnknownContract { .. } | PlanError::NumbersExhausted { .. }) => {
            corrupt(e.to_string())
        }
    }
}

fn preview(c: &Contract, notice: Date, requested: Date) -> Result<CancellationPreview> {
    if c.ending.is_some() {
        return Err(AppError::Conflict(Conflict::ContractEnding));
    }
    let cancellation = term::cancel(notice, requested).map_err(|e| rule_error(Field::End, e))?;
    let lump = fees::early_termination(c.monthly_fee, c.start, cancellation.end)
        .map_err(|e| rule_error(Field::End, e))?;
    Ok(CancellationPreview {
        cancellation,
        early_termination: lump,
        minimum_term_end: c.minimum_term_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_billing::invoice::{DueDay, EndOfMonth};

    /// The catalog's words of the reasons and line kinds are the ones the documents
    /// print (`mamori_billing`), in both languages.
    #[test]
    fn catalog_words_match_the_documents() {
        for r in RefusalReason::ALL {
            assert_eq!(refusal_words(r).text(Lang::Ja), r.ja());
            assert_eq!(refusal_words(r).text(Lang::En), r.en());
            assert_eq!(
                refusal_label(serde_json::to_value(r).unwrap().as_str().unwrap(), Lang::Ja),
                format!("第8条第2項第{}号 {}", r.item(), r.ja())
            );
        }
        for r in TerminationReason::ALL {
            assert_eq!(termination_words(r).text(Lang::Ja), r.ja());
            assert_eq!(termination_words(r).text(Lang::En), r.en());
            assert_eq!(
                termination_label(serde_json::to_value(r).unwrap().as_str().unwrap(), Lang::En),
                format!("{} {}", r.article(), r.en())
            );
        }
        for k in LineKind::ALL {
            assert_eq!(line_kind_words(k).text(Lang::Ja), k.ja());
            assert_eq!(line_kind_words(k).text(Lang::En), k.en());
            assert_eq!(line_kind_label(k.code(), Lang::Ja), k.ja());
        }
        assert_eq!(
            notice_kind_label("maintenance", Lang::Ja),
            "保守による停止 (Art. 16-2)"
        );
        assert_eq!(refusal_label("nonsense", Lang::Ja), "nonsense");
    }

    /// TERMS.md "Invoices" (Art. 17): issued on the 1st of the next month, due at its
    /// end, by default; Art. 10-2: the early-termination sum is not taxable by default.
    #[test]
    fn art_17_invoice_settings_default_and_read_from_toml() {
        let d: BackofficeConfig = toml::from_str("").unwrap();
        assert_eq!(d, BackofficeConfig::default());
        assert_eq!(d.invoice.issue_day, 1);
        assert_eq!(d.invoice.due_months_after_issue, 0);
        assert_eq!(d.invoice.due_day, DueDay::End(EndOfMonth::End));
        assert!(d.taxable.monthly_fee && !d.taxable.early_termination);

        let c: BackofficeConfig = toml::from_str(
            "[invoice]\nissue_day = 5\ndue_day = 20\ndue_months_after_issue = 1\n[taxable]\nearly_termination = true\n",
        )
        .unwrap();
        assert_eq!(c.invoice.issue_day, 5);
        assert_eq!(c.invoice.due_day, DueDay::Day(20));
        let april: YearMonth = "2026-04".parse().unwrap();
        assert_eq!(
            c.invoice.dates(april).unwrap(),
            (
                jiff::civil::date(2026, 5, 5),
                jiff::civil::date(2026, 6, 20)
            )
        );
        assert!(c.taxable.early_termination && c.taxable.monthly_fee);
        assert_eq!(c.invoice_per, InvoicePer::Contract);
        let per: BackofficeConfig = toml::from_str("invoice_per = \"customer\"\n").unwrap();
        assert_eq!(per.invoice_per, InvoicePer::Customer);
        let e: BackofficeConfig = toml::from_str("[invoice]\ndue_day = \"end\"\n").unwrap();
        assert_eq!(e.invoice.due_day, DueDay::End(EndOfMonth::End));

        for bad in [
            "[taxable]\nlate_fee = true\n",
            "[invoice]\nissue_day_of_month = 3\n",
            "[invoice]\ndue_day = \"soon\"\n",
            "invoice_per = \"site\"\n",
        ] {
            assert!(toml::from_str::<BackofficeConfig>(bad).is_err(), "{bad}");
        }
    }
}
