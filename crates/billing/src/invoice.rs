//! Invoices: lines, per-rate tax (Art. 17-1), issue and due dates (settings), and
//! payments.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::money::{MoneyError, Rate, Yen};
use crate::month::YearMonth;
use crate::tax::{self, RateTotal};

/// What an invoice line charges for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// The month's fee, prorated (Art. 17-1, 17-2).
    MonthlyFee,
    /// The rest of the minimum term in one sum (Art. 10-2).
    EarlyTermination,
    /// Interest on a late payment (Art. 17-4), on the invoice of the month the late
    /// payment was made.
    LateInterest,
    /// A fee that was evaded, still owed (Art. 17-3).
    EvadedFee,
    /// Twice the evaded fee (Art. 17-3).
    EvasionSurcharge,
    /// Reinstallation after damage by the customer's fault (Art. 15-6).
    Reinstallation,
    /// Handling fee after damage by the customer's fault (Art. 15-6).
    Handling,
}

impl LineKind {
    /// Every kind, in declaration order.
    pub const ALL: [LineKind; 7] = [
        LineKind::MonthlyFee,
        LineKind::EarlyTermination,
        LineKind::LateInterest,
        LineKind::EvadedFee,
        LineKind::EvasionSurcharge,
        LineKind::Reinstallation,
        LineKind::Handling,
    ];

    /// The kind's code (its serde name, snake case): what the center stores and the
    /// REST API shows, e.g. `monthly_fee`.
    pub const fn code(self) -> &'static str {
        match self {
            LineKind::MonthlyFee => "monthly_fee",
            LineKind::EarlyTermination => "early_termination",
            LineKind::LateInterest => "late_interest",
            LineKind::EvadedFee => "evaded_fee",
            LineKind::EvasionSurcharge => "evasion_surcharge",
            LineKind::Reinstallation => "reinstallation",
            LineKind::Handling => "handling",
        }
    }

    /// The kind of a code from [`LineKind::code`]; `None` for anything else.
    pub fn from_code(code: &str) -> Option<LineKind> {
        LineKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn ja(self) -> &'static str {
        match self {
            LineKind::MonthlyFee => "セキュリティーパック料金",
            LineKind::EarlyTermination => "最低利用期間内解除に伴う残余期間料金",
            LineKind::LateInterest => "延滞利息",
            LineKind::EvadedFee => "支払いを免れた料金",
            LineKind::EvasionSurcharge => "割増金",
            LineKind::Reinstallation => "再設置費用",
            LineKind::Handling => "手数料",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            LineKind::MonthlyFee => "Security pack monthly fee",
            LineKind::EarlyTermination => "Early termination: rest of the minimum term",
            LineKind::LateInterest => "Late payment interest",
            LineKind::EvadedFee => "Evaded fee",
            LineKind::EvasionSurcharge => "Evasion surcharge",
            LineKind::Reinstallation => "Reinstallation cost",
            LineKind::Handling => "Handling fee",
        }
    }

    /// True for late interest: interest is never charged on it (Art. 17-4).
    pub fn is_interest(self) -> bool {
        self == LineKind::LateInterest
    }
}

/// Which kinds of charge bear consumption tax (a setting per charge kind). Late
/// interest never does (Art. 17-4), so it has no switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Taxability {
    pub monthly_fee: bool,
    /// Default false: the lump sum compensates lost revenue (TERMS.md, Art. 10-2).
    pub early_termination: bool,
    pub evaded_fee: bool,
    pub evasion_surcharge: bool,
    pub reinstallation: bool,
    pub handling: bool,
}

impl Default for Taxability {
    fn default() -> Self {
        Taxability {
            monthly_fee: true,
            early_termination: false,
            evaded_fee: true,
            evasion_surcharge: true,
            reinstallation: true,
            handling: true,
        }
    }
}

impl Taxability {
    pub fn is_taxable(&self, kind: LineKind) -> bool {
        match kind {
            LineKind::MonthlyFee => self.monthly_fee,
            LineKind::EarlyTermination => self.early_termination,
            LineKind::LateInterest => false,
            LineKind::EvadedFee => self.evaded_fee,
            LineKind::EvasionSurcharge => self.evasion_surcharge,
            LineKind::Reinstallation => self.reinstallation,
            LineKind::Handling => self.handling,
        }
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub kind: LineKind,
    /// Amount before tax.
    pub amount: Yen,
    pub taxable: bool,
    /// The tax rate of a taxable line: the rate in force on `date`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// The date of the transaction: the last day of service of the month for a
    /// monthly fee, the end date for the lump sum, the event date otherwise.
    pub date: Date,
}

/// A monthly invoice, with totals computed by [`Invoice::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// The service month billed.
    pub month: YearMonth,
    pub issue_date: Date,
    pub due_date: Date,
    pub lines: Vec<InvoiceLine>,
    /// Per rate: taxable subtotal and tax, computed once per rate (Art. 17-1).
    pub by_rate: Vec<RateTotal>,
    /// Sum of the taxable lines (all rates).
    pub taxable_subtotal: Yen,
    /// Sum of the lines without tax.
    pub non_taxable_subtotal: Yen,
    /// Sum of the per-rate taxes.
    pub tax: Yen,
    /// Lines plus tax.
    pub total: Yen,
    /// The part of `total` that bears late interest when paid late: everything except
    /// late-interest lines (no interest on interest, Art. 17-4).
    pub interest_bearing: Yen,
}

/// An invoice that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("a taxable {kind:?} line has no tax rate")]
    MissingRate { kind: LineKind },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl Invoice {
    /// Builds an invoice and its totals. Tax is computed once per rate on the sum of
    /// that rate's lines, rounded down, never per line (Art. 17-1).
    pub fn new(
        month: YearMonth,
        issue_date: Date,
        due_date: Date,
        lines: Vec<InvoiceLine>,
    ) -> Result<Invoice, InvoiceError> {
        let mut taxable = Vec::new();
        let mut non_taxable = Yen::ZERO;
        let mut interest = Yen::ZERO;
        for l in &lines {
            if l.taxable {
                let rate = l.rate.ok_or(InvoiceError::MissingRate { kind: l.kind })?;
                taxable.push((rate, l.amount));
            } else {
                non_taxable = non_taxable.checked_add(l.amount)?;
            }
            if l.kind.is_interest() {
                interest = interest.checked_add(l.amount)?;
            }
        }
        let by_rate = tax::tax_by_rate(taxable)?;
        let taxable_subtotal = Yen::sum(by_rate.iter().map(|r| r.taxable_subtotal))?;
        let tax = Yen::sum(by_rate.iter().map(|r| r.tax))?;
        let total = taxable_subtotal
            .checked_add(non_taxable)?
            .checked_add(tax)?;
        let interest_bearing = total.checked_sub(interest)?;
        Ok(Invoice {
            month,
            issue_date,
            due_date,
            lines,
            by_rate,
            taxable_subtotal,
            non_taxable_subtotal: non_taxable,
            tax,
            total,
            interest_bearing,
        })
    }
}

/// The day of the month an invoice falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DueDay {
    /// Day 1–31; in a shorter month, its last day.
    Day(u8),
    /// `"end"`: the last day of the month.
    End(EndOfMonth),
}

/// The word `"end"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndOfMonth {
    End,
}

/// When invoices are issued and fall due (settings). The default: issued on the 1st
/// of the month after the service month, due at the end of that month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvoiceSettings {
    /// Day of the month after the service month on which the invoice is issued
    /// (1–28).
    pub issue_day: u8,
    /// Months after the issue month in which the invoice falls due (0 = the issue
    /// month).
    pub due_months_after_issue: u8,
    pub due_day: DueDay,
}

impl Default for InvoiceSettings {
    fn default() -> Self {
        InvoiceSettings {
            issue_day: 1,
            due_months_after_issue: 0,
            due_day: DueDay::End(EndOfMonth::End),
        }
    }
}

/// An invoice setting out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("issue_day {0} is out of range: use a day from 1 to 28")]
    IssueDay(u8),
    #[error("due_day {0} is out of range: use a day from 1 to 31, or \"end\"")]
    DueDay(u8),
    #[error("the invoice is due on {due}, before it is issued on {issue}")]
    DueBeforeIssue { issue: Date, due: Date },
    #[error("the issue or due date of service month {0} is out of the calendar's range")]
    OutOfRange(YearMonth),
}

impl InvoiceSettings {
    /// Checks the ranges of the settings.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=28).contains(&self.issue_day) {
            return Err(SettingsError::IssueDay(self.issue_day));
        }
        if let DueDay::Day(d) = self.due_day
            && !(1..=31).contains(&d)
        {
            return Err(SettingsError::DueDay(d));
        }
        Ok(())
    }

    /// Issue and due dates of the invoice for service month `month`.
    pub fn dates(&self, month: YearMonth) -> Result<(Date, Date), SettingsError> {
        self.validate()?;
        let issue_month = month.next().ok_or(SettingsError::OutOfRange(month))?;
        let issue = issue_month.day_clamped(self.issue_day);
        let due_month = issue_month
            .plus(u32::from(self.due_months_after_issue))
            .ok_or(SettingsError::OutOfRange(month))?;
        let due = match self.due_day {
            DueDay::Day(d) => due_month.day_clamped(d),
            DueDay::End(_) => due_month.last_day(),
        };
        if due < issue {
            return Err(SettingsError::DueBeforeIssue { issue, due });
        }
        Ok((issue, due))
    }
}

/// A payment received for one invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub date: Date,
    /// Tax included, as received.
    pub amount: Yen,
    /// The service month of the invoice it pays.
    pub invoice: YearMonth,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn line(kind: LineKind, amount: u64, taxable: bool) -> InvoiceLine {
        InvoiceLine {
            kind,
            amount: Yen::new(amount),
            taxable,
            rate: taxable.then(|| Rate::percent(10).unwrap()),
            date: date(2026, 9, 20),
        }
    }

    /// Art. 17-1 / 10-2: the issue's September invoice: 20,000 fee + 2,000 tax +
    /// 199,000 lump sum (no tax) = 221,000.
    #[test]
    fn art_17_1_invoice_totals() {
        let m: YearMonth = "2026-09".parse().unwrap();
        let inv = Invoice::new(
            m,
            date(2026, 10, 1),
            date(2026, 10, 31),
            vec![
                line(LineKind::MonthlyFee, 20_000, true),
                line(LineKind::EarlyTermination, 199_000, false),
            ],
        )
        .unwrap();
        assert_eq!(inv.taxable_subtotal, Yen::new(20_000));
        assert_eq!(inv.tax, Yen::new(2_000));
        assert_eq!(inv.total, Yen::new(221_000));
        assert_eq!(inv.interest_bearing, Yen::new(221_000));
    }

    /// Art. 17-4: late interest on an invoice bears no interest itself.
    #[test]
    fn art_17_4_interest_lines_bear_no_interest() {
        let m: YearMonth = "2026-06".parse().unwrap();
        let inv = Invoice::new(
            m,
            date(2026, 7, 1),
            date(2026, 7, 31),
            vec![
                line(LineKind::MonthlyFee, 30_000, true),
                line(LineKind::LateInterest, 91, false),
            ],
        )
        .unwrap();
        assert_eq!(inv.total, Yen::new(33_091));
        assert_eq!(inv.interest_bearing, Yen::new(33_000));
    }

    /// A kind's code is its serde name, and reads back to the kind.
    #[test]
    fn line_kind_codes_are_the_serde_names() {
        for k in LineKind::ALL {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.code().into())
            );
            assert_eq!(LineKind::from_code(k.code()), Some(k));
        }
        assert_eq!(LineKind::from_code("Monthly_fee"), None);
        assert_eq!(LineKind::from_code(""), None);
    }

    /// Invoices are issued on the 1st of the next month and due at its end by
    /// default; both are settings.
    #[test]
    fn invoice_dates_are_settings() {
        let m: YearMonth = "2026-01".parse().unwrap();
        let d = InvoiceSettings::default();
        assert_eq!(d.dates(m).unwrap(), (date(2026, 2, 1), date(2026, 2, 28)));
        let s = InvoiceSettings {
            issue_day: 5,
            due_months_after_issue: 1,
            due_day: DueDay::Day(31),
        };
        assert_eq!(s.dates(m).unwrap(), (date(2026, 2, 5), date(2026, 3, 31)));
        let early = InvoiceSettings {
            issue_day: 10,
            due_months_after_issue: 0,
            due_day: DueDay::Day(5),
        };
        assert!(matches!(
            early.dates(m),
            Err(SettingsError::DueBeforeIssue { .. })
        ));
        let bad = InvoiceSettings {
            issue_day: 29,
            ..InvoiceSettings::default()
        };
        assert_eq!(bad.validate(), Err(SettingsError::IssueDay(29)));
    }
}
