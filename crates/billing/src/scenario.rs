//! The scenario file of `mamori billing simulate`: TOML, parsed into typed values with
//! the position of each, so that every error names its line and column.
//!
//! ```toml
//! start = 2026-04-10          # service start date (day 1 of the minimum term)
//! monthly_fee = 30000         # yen per month before tax, from the quotation
//! until = 2026-12-31          # simulate the service months up to this date's month
//! liability_cause_date = 2027-03-05   # optional: also compute the Art. 18-5 cap
//!
//! [settings]                  # optional; these are the defaults
//! issue_day = 1               # invoices are issued on this day of the next month
//! due_months_after_issue = 0  # ... and fall due this many months later
//! due_day = "end"             # ... on this day ("end" or 1-31)
//! interest_rate = "14.5%"     # Art. 17-4
//! grace_days = 10             # Art. 17-4
//! [settings.taxable]          # per charge kind; late interest is never taxable
//! early_termination = false
//!
//! [[tax_rate]]                # optional; replaces Japan's standard table
//! from = 2019-10-01
//! rate = "10%"
//!
//! [[event]]                   # cancel | terminate | payment | evasion | damage
//! date = 2026-08-01
//! type = "cancel"
//! end = 2026-09-20
//! ```

use std::ops::Range;

use jiff::civil::Date;
use serde::Deserialize;
use toml::Spanned;

use crate::charges::InterestSettings;
use crate::contract::{TerminationNotice, TerminationReason};
use crate::invoice::{DueDay, InvoiceSettings, Taxability};
use crate::money::{Rate, Yen};
use crate::month::YearMonth;
use crate::tax::{TaxRate, TaxTable};

/// A position in the scenario file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Loc {
    pub line: usize,
    pub column: usize,
}

impl Loc {
    /// The position of byte `offset` of `text`.
    pub fn of(text: &str, offset: usize) -> Loc {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Loc { line, column }
    }
}

/// A scenario that cannot be run: what is wrong, where, and a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {message}", loc.line, loc.column)]
pub struct ScenarioError {
    pub loc: Loc,
    pub message: String,
    /// What to do about it, when there is something to say.
    pub hint: Option<String>,
}

impl ScenarioError {
    pub fn new(loc: Loc, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            loc,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> ScenarioError {
        self.hint = Some(hint.into());
        self
    }
}

/// A parsed scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub start: Date,
    pub start_loc: Loc,
    pub monthly_fee: Yen,
    pub monthly_fee_loc: Loc,
    pub until: Date,
    pub until_loc: Loc,
    pub liability_cause_date: Option<Date>,
    pub invoice: InvoiceSettings,
    pub interest: InterestSettings,
    pub taxable: Taxability,
    pub tax: TaxTable,
    /// In file order.
    pub events: Vec<Event>,
}

/// One event of the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Where the event's `type` is written: the event's position in errors.
    pub loc: Loc,
    pub date: Date,
    pub date_loc: Loc,
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// Art. 11-1: a cancellation notice received on the event's date asking to end on
    /// `end`.
    Cancel { end: Date },
    /// Art. 12: the provider terminates. The event's date is when it gave notice (or
    /// decided, when urgent); `end` is the last day of service.
    Terminate {
        reason: TerminationReason,
        notice: TerminationNotice,
        end: Date,
    },
    /// A payment of the invoice of service month `invoice`.
    Payment {
        invoice: YearMonth,
        invoice_loc: Loc,
        amount: Yen,
    },
    /// Art. 17-3: a fee of `amount` before tax was evaded.
    Evasion { amount: Yen },
    /// Art. 15-6: equipment damaged by the customer's fault.
    Damage { reinstallation: Yen, handling: Yen },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    start: Spanned<toml::value::Datetime>,
    monthly_fee: Spanned<i64>,
    until: Spanned<toml::value::Datetime>,
    liability_cause_date: Option<Spanned<toml::value::Datetime>>,
    settings: Option<RawSettings>,
    tax_rate: Option<Vec<RawTaxRate>>,
    #[serde(default)]
    event: Vec<RawEvent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    issue_day: Option<Spanned<i64>>,
    due_months_after_issue: Option<Spanned<i64>>,
    due_day: Option<Spanned<toml::Value>>,
    interest_rate: Option<Spanned<String>>,
    grace_days: Option<Spanned<i64>>,
    taxable: Option<Taxability>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaxRate {
    from: Spanned<toml::value::Datetime>,
    rate: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    date: Option<Spanned<toml::value::Datetime>>,
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    end: Option<Spanned<toml::value::Datetime>>,
    invoice: Option<Spanned<String>>,
    amount: Option<Spanned<i64>>,
    reinstallation: Option<Spanned<i64>>,
    handling: Option<Spanned<i64>>,
    reason: Option<Spanned<String>>,
    urgent: Option<Spanned<bool>>,
}

const EVENT_TYPES: &str = "cancel, terminate, payment, evasion, damage";

struct Ctx<'a> {
    text: &'a str,
}

impl Ctx<'_> {
    fn loc(&self, span: Range<usize>) -> Loc {
        Loc::of(self.text, span.start)
    }

    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        ScenarioError::new(self.loc(span), message)
    }

    fn date(&self, key: &str, v: &Spanned<toml::value::Datetime>) -> Result<Date, ScenarioError> {
        let dt = v.get_ref();
        let hint = "write a calendar date without time, like 2026-04-10";
        let (Some(d), None, None) = (dt.date, dt.time, dt.offset) else {
            return Err(self
                .err(v.span(), format!("`{key}` must be a date, not {dt}"))
                .hint(hint));
        };
        let (Ok(y), Ok(m), Ok(day)) = (
            i16::try_from(d.year),
            i8::try_from(d.month),
            i8::try_from(d.day),
        ) else {
            return Err(self.err(v.span(), format!("`{key}` = {dt} is not a date")));
        };
        Date::new(y, m, day).map_err(|_| {
            self.err(
                v.span(),
                format!("`{key}` = {dt} is an impossible date: that month has no day {day}"),
            )
            .hint(hint)
        })
    }

    fn yen(&self, key: &str, v: &Spanned<i64>) -> Result<Yen, ScenarioError> {
        u64::try_from(*v.get_ref()).map(Yen::new).map_err(|_| {
            self.err(
                v.span(),
                format!(
                    "`{key}` = {} is negative: amounts are yen, 0 or more",
                    v.get_ref()
                ),
            )
        })
    }

    fn positive_yen(&self, key: &str, v: &Spanned<i64>) -> Result<Yen, ScenarioError> {
        let y = self.yen(key, v)?;
        if y == Yen::ZERO {
            return Err(self.err(v.span(), format!("`{key}` must be more than 0 yen")));
        }
        Ok(y)
    }

    fn rate(&self, key: &str, v: &Spanned<String>) -> Result<Rate, ScenarioError> {
        v.get_ref()
            .parse::<Rate>()
            .map_err(|e| self.err(v.span(), format!("`{key}`: {e}")))
    }

    fn small(&self, key: &str, v: &Spanned<i64>, range: Range<i64>) -> Result<u32, ScenarioError> {
        let n = *v.get_ref();
        if !range.contains(&n) {
            return Err(self.err(
                v.span(),
                format!(
                    "`{key}` = {n} is out of range: use {} to {}",
                    range.start,
                    range.end - 1
                ),
            ));
        }
        u32::try_from(n).map_err(|_| self.err(v.span(), format!("`{key}` = {n} is out of range")))
    }
}

/// Parses a scenario. Unknown keys, impossible dates, negative amounts and malformed
/// values are errors naming their line and column.
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let loc = e
            .span()
            .map(|s| Loc::of(text, s.start))
            .unwrap_or(Loc { line: 1, column: 1 });
        let message = e.message().trim().to_string();
        let err = ScenarioError::new(loc, message.clone());
        if message.contains("unknown field") {
            err.hint("check the spelling; `mamori billing simulate --help` lists the keys")
        } else if message.contains("missing field") {
            err.hint("a scenario needs at least `start`, `monthly_fee` and `until`")
        } else {
            err
        }
    })?;
    let cx = Ctx { text };

    let start = cx.date("start", &raw.start)?;
    let until = cx.date("until", &raw.until)?;
    if until < start {
        return Err(cx
            .err(
                raw.until.span(),
                format!("`until` = {until} is before `start` = {start}"),
            )
            .hint("simulate up to a date on or after the start of the service"));
    }
    let monthly_fee = cx.yen("monthly_fee", &raw.monthly_fee)?;
    let liability_cause_date = raw
        .liability_cause_date
        .as_ref()
        .map(|d| cx.date("liability_cause_date", d))
        .transpose()?;

    let mut invoice = InvoiceSettings::default();
    let mut interest = InterestSettings::default();
    let mut taxable = Taxability::default();
    if let Some(s) = &raw.settings {
        if let Some(v) = &s.issue_day {
            invoice.issue_day = u8::try_from(cx.small("issue_day", v, 1..29)?).unwrap_or(1);
        }
        if let Some(v) = &s.due_months_after_issue {
            invoice.due_months_after_issue =
                u8::try_from(cx.small("due_months_after_issue", v, 0..13)?).unwrap_or(0);
        }
        if let Some(v) = &s.due_day {
            invoice.due_day = match v.get_ref() {
                toml::Value::String(s) if s == "end" => {
                    DueDay::End(crate::invoice::EndOfMonth::End)
                }
                toml::Value::Integer(n) if (1..=31).contains(n) => {
                    DueDay::Day(u8::try_from(*n).unwrap_or(31))
                }
                other => {
                    let shown = match other {
                        toml::Value::Integer(n) => n.to_string(),
                        toml::Value::String(s) => format!("{s:?}"),
                        other => format!("a {}", other.type_str()),
                    };
                    return Err(cx
                        .err(
                            v.span(),
                            format!("`due_day` = {shown} is not a day of the month"),
                        )
                        .hint(
                            "use a day from 1 to 31 (the last day in shorter months), or \"end\"",
                        ));
                }
            };
        }
        if let Some(v) = &s.interest_rate {
            interest.rate = cx.rate("interest_rate", v)?;
        }
        if let Some(v) = &s.grace_days {
            interest.grace_days = cx.small("grace_days", v, 0..366)?;
        }
        if let Some(t) = s.taxable {
            taxable = t;
        }
    }

    let tax = match &raw.tax_rate {
        None => TaxTable::japan_standard(),
        Some(rates) => {
            let mut table = Vec::new();
            for r in rates {
                let from = cx.date("from", &r.from)?;
                if let Some(prev) = table.iter().find(|t: &&TaxRate| t.from == from) {
                    return Err(cx.err(
                        r.from.span(),
                        format!("a tax rate ({}) already starts on {from}", prev.rate),
                    ));
                }
                table.push(TaxRate {
                    from,
                    rate: cx.rate("rate", &r.rate)?,
                });
            }
            TaxTable::new(table).map_err(|e| {
                ScenarioError::new(Loc { line: 1, column: 1 }, e.to_string())
                    .hint("add at least one [[tax_rate]] with `from` and `rate`, or remove them all to use Japan's standard rates")
            })?
        }
    };

    let mut events = Vec::new();
    for raw_event in &raw.event {
        events.push(parse_event(&cx, raw_event, until)?);
    }

    Ok(Scenario {
        start,
        start_loc: cx.loc(raw.start.span()),
        monthly_fee,
        monthly_fee_loc: cx.loc(raw.monthly_fee.span()),
        until,
        until_loc: cx.loc(raw.until.span()),
        liability_cause_date,
        invoice,
        interest,
        taxable,
        tax,
        events,
    })
}

fn parse_event(cx: &Ctx<'_>, e: &RawEvent, until: Date) -> Result<Event, ScenarioError> {
    let first_span = [
        e.date.as_ref().map(|v| v.span()),
        e.kind.as_ref().map(|v| v.span()),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|s| s.start)
    .unwrap_or(0..0);
    let Some(kind) = &e.kind else {
        return Err(cx
            .err(first_span, "this [[event]] has no `type`")
            .hint(format!("add `type = ...`, one of: {EVENT_TYPES}")));
    };
    let Some(date_v) = &e.date else {
        return Err(cx
            .err(
                kind.span(),
                format!("this \"{}\" event has no `date`", kind.get_ref()),
            )
            .hint("add `date = YYYY-MM-DD`"));
    };
    let date = cx.date("date", date_v)?;
    if date > until {
        return Err(cx
            .err(
                date_v.span(),
                format!("the event's date {date} is after `until` = {until}"),
            )
            .hint("move `until` later, or remove the event"));
    }
    let name = kind.get_ref().as_str();
    let allowed: &[&str] = match name {
        "cancel" => &["end"],
        "terminate" => &["end", "reason", "urgent"],
        "payment" => &["invoice", "amount"],
        "evasion" => &["amount"],
        "damage" => &["reinstallation", "handling"],
        other => {
            return Err(cx
                .err(kind.span(), format!("unknown event type \"{other}\""))
                .hint(format!("use one of: {EVENT_TYPES}")));
        }
    };
    let present: [(&str, Option<Range<usize>>); 7] = [
        ("end", e.end.as_ref().map(|v| v.span())),
        ("invoice", e.invoice.as_ref().map(|v| v.span())),
        ("amount", e.amount.as_ref().map(|v| v.span())),
        (
            "reinstallation",
            e.reinstallation.as_ref().map(|v| v.span()),
        ),
        ("handling", e.handling.as_ref().map(|v| v.span())),
        ("reason", e.reason.as_ref().map(|v| v.span())),
        ("urgent", e.urgent.as_ref().map(|v| v.span())),
    ];
    for (key, span) in present {
        if let Some(span) = span
            && !allowed.contains(&key)
        {
            return Err(cx
                .err(span, format!("`{key}` is not a key of a \"{name}\" event"))
                .hint(format!(
                    "a \"{name}\" event takes `date`, `type` and: {}",
                    allowed.join(", ")
                )));
        }
    }
    let missing = |key: &str| {
        cx.err(kind.span(), format!("this \"{name}\" event has no `{key}`"))
            .hint(format!(
                "a \"{name}\" event takes `date`, `type` and: {}",
                allowed.join(", ")
            ))
    };
    let kind = match name {
        "cancel" => {
            let end = e.end.as_ref().ok_or_else(|| missing("end"))?;
            EventKind::Cancel {
                end: cx.date("end", end)?,
            }
        }
        "terminate" => {
            let reason_v = e.reason.as_ref().ok_or_else(|| missing("reason"))?;
            let reason = TerminationReason::ALL
                .into_iter()
                .find(|r| serde_plain_name(*r) == reason_v.get_ref().as_str())
                .ok_or_else(|| {
                    cx.err(
                        reason_v.span(),
                        format!("\"{}\" is not a reason of Art. 12-1", reason_v.get_ref()),
                    )
                    .hint(format!(
                        "use one of: {}",
                        TerminationReason::ALL
                            .iter()
                            .map(|r| serde_plain_name(*r))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            let urgent = e.urgent.as_ref().is_some_and(|u| *u.get_ref());
            let end = match &e.end {
                Some(v) => cx.date("end", v)?,
                None => date,
            };
            if end < date {
                let span = e.end.as_ref().map_or(date_v.span(), |v| v.span());
                return Err(cx.err(
                    span,
                    format!(
                        "the termination ends the service on {end}, before its notice on {date}"
                    ),
                ));
            }
            if !urgent && end == date {
                return Err(cx
                    .err(
                        kind.span(),
                        format!("a termination on {end} without prior notice"),
                    )
                    .hint("Art. 12-2 needs notice before the termination: set `end` after `date`, or `urgent = true` if it cannot wait"));
            }
            EventKind::Terminate {
                reason,
                notice: if urgent {
                    TerminationNotice::Urgent
                } else {
                    TerminationNotice::Prior { date }
                },
                end,
            }
        }
        "payment" => {
            let inv = e.invoice.as_ref().ok_or_else(|| missing("invoice"))?;
            let invoice: YearMonth =
                inv.get_ref()
                    .parse()
                    .map_err(|err: crate::month::MonthError| {
                        cx.err(inv.span(), format!("`invoice`: {err}"))
                            .hint("name the invoice by its service month")
                    })?;
            let amount = e.amount.as_ref().ok_or_else(|| missing("amount"))?;
            EventKind::Payment {
                invoice,
                invoice_loc: cx.loc(inv.span()),
                amount: cx.positive_yen("amount", amount)?,
            }
        }
        "evasion" => {
            let amount = e.amount.as_ref().ok_or_else(|| missing("amount"))?;
            EventKind::Evasion {
                amount: cx.positive_yen("amount", amount)?,
            }
        }
        _ => {
            let r = e
                .reinstallation
                .as_ref()
                .ok_or_else(|| missing("reinstallation"))?;
            let h = e.handling.as_ref().ok_or_else(|| missing("handling"))?;
            EventKind::Damage {
                reinstallation: cx.yen("reinstallation", r)?,
                handling: cx.yen("handling", h)?,
            }
        }
    };
    Ok(Event {
        loc: cx.loc(e.kind.as_ref().map_or(first_span, |k| k.span())),
        date,
        date_loc: cx.loc(date_v.span()),
        kind,
    })
}

/// The snake_case name of a reason, as written in scenarios and JSON.
pub fn serde_plain_name(r: TerminationReason) -> &'static str {
    match r {
        TerminationReason::Insolvency => "insolvency",
        TerminationReason::NonPayment => "non_payment",
        TerminationReason::BusinessClosure => "business_closure",
        TerminationReason::TermsViolation => "terms_violation",
        TerminationReason::FalseStatement => "false_statement",
        TerminationReason::CarrierContractEnded => "carrier_contract_ended",
        TerminationReason::AntisocialForces => "antisocial_forces",
        TerminationReason::FraudOrThreat => "fraud_or_threat",
        TerminationReason::Other => "other",
    }
}
