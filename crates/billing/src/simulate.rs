//! Runs a [`Scenario`] through time: the contract's monthly invoices with every
//! charge the terms give, payments and their late interest, and the liability cap.
//!
//! Rules of the run, beyond the terms:
//! - service months are simulated up to the month of `until`, each month whole (a
//!   month's fee runs to the contract's end, not to `until`);
//! - the lines of an event go on the invoice of the event's month; late interest on
//!   the invoice of the month the late payment was made (or the next one still open
//!   when that month's invoice was already issued, after a termination by the
//!   provider);
//! - a payment goes first to the late interest billed on the invoice, then to the rest
//!   (Civil Code Art. 489); interest is charged only on the rest (Art. 17-4), by
//!   [`charges::payment_interest`], the rule the center applies too;
//! - on a termination by the provider every debt falls due on the last day of service
//!   (Art. 12-3): invoices due later become due that day, and the invoices of the
//!   months up to it are issued that day.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Serialize;

use crate::charges::{self, LiabilityCap, Received};
use crate::contract::{Ending, ProviderTermination};
use crate::fees;
use crate::invoice::{Invoice, InvoiceLine, LineKind};
use crate::money::{MoneyError, Yen};
use crate::month::YearMonth;
use crate::scenario::{EventKind, Loc, Scenario, ScenarioError};
use crate::term;

/// The result of a simulation, printed as JSON by `mamori billing simulate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Simulation {
    pub start: Date,
    pub monthly_fee: Yen,
    /// Last day of the minimum term (Art. 10-1).
    pub minimum_term_end: Date,
    /// Last day of service, when the contract ends.
    pub end: Option<Date>,
    /// How the contract ends: by the customer (Art. 11-1) or the provider (Art. 12).
    pub ending: Option<Ending>,
    /// The Art. 10-2 lump sum (zero without an early end).
    pub early_termination: Yen,
    /// One invoice per service month that has lines, by month.
    pub invoices: Vec<SimInvoice>,
    pub totals: Totals,
    /// Invoices not fully paid and past due at `until`.
    pub overdue: Vec<Overdue>,
    /// Art. 18-5 cap for `liability_cause_date`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liability_cap: Option<Yen>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liability: Option<LiabilityCap>,
}

/// An invoice with its payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimInvoice {
    #[serde(flatten)]
    pub invoice: Invoice,
    pub payments: Vec<SimPayment>,
    pub paid: Yen,
    pub unpaid: Yen,
    /// Paid beyond the total (kept as a credit; never silently dropped).
    pub overpaid: Yen,
}

/// A payment of an invoice and the interest it bears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimPayment {
    pub date: Date,
    pub amount: Yen,
    /// Days of interest (Art. 17-4), zero when on time or within the grace days.
    pub interest_days: u64,
    /// Interest on the part of the payment that settled fees (not interest).
    pub interest: Yen,
    /// The invoice that bills the interest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interest_invoice: Option<YearMonth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub invoiced: Yen,
    pub paid: Yen,
    pub unpaid: Yen,
    pub overpaid: Yen,
}

/// An invoice past due and not fully paid at the end of the simulation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overdue {
    pub invoice: YearMonth,
    pub due_date: Date,
    pub unpaid: Yen,
    /// The interest it would bear if paid on `until` (Art. 17-4).
    pub interest_if_paid_on_until: Yen,
}

fn money(loc: Loc, e: MoneyError) -> ScenarioError {
    ScenarioError::new(loc, format!("amounts too large to compute: {e}"))
        .hint("amounts are yen; check for extra digits")
}

struct PaymentIn {
    date: Date,
    amount: Yen,
    loc: Loc,
    invoice_loc: Loc,
}

/// Runs the scenario. Errors name the line of the scenario that causes them.
pub fn simulate(s: &Scenario) -> Result<Simulation, ScenarioError> {
    let term_end = term::minimum_term_end(s.start)
        .map_err(|e| ScenarioError::new(s.start_loc, e.to_string()))?;

    let mut order: Vec<usize> = (0..s.events.len()).collect();
    order.sort_by_key(|&i| s.events[i].date);

    // How the contract ends.
    let mut ending: Option<(Ending, Loc)> = None;
    for &i in &order {
        let ev = &s.events[i];
        let this = match &ev.kind {
            EventKind::Cancel { end } => Ending::Customer(
                term::cancel(ev.date, *end)
                    .map_err(|e| ScenarioError::new(ev.loc, e.to_string()))?,
            ),
            EventKind::Terminate {
                reason,
                notice,
                end,
            } => Ending::Provider(
                ProviderTermination::new(*reason, *notice, *end)
                    .map_err(|e| ScenarioError::new(ev.loc, e.to_string()))?,
            ),
            _ => continue,
        };
        if let Some((_, first)) = &ending {
            return Err(ScenarioError::new(
                ev.loc,
                format!(
                    "the contract already ends by the event on line {}",
                    first.line
                ),
            )
            .hint("a contract ends once: keep one cancel or terminate event"));
        }
        if this.end() < s.start {
            return Err(ScenarioError::new(
                ev.loc,
                format!(
                    "the service would end on {}, before it starts on {}",
                    this.end(),
                    s.start
                ),
            ));
        }
        ending = Some((this, ev.loc));
    }
    let end = ending.as_ref().map(|(e, _)| e.end());
    let last_month = YearMonth::of(s.until);

    let mut lines: BTreeMap<YearMonth, Vec<InvoiceLine>> = BTreeMap::new();
    let push = |lines: &mut BTreeMap<YearMonth, Vec<InvoiceLine>>,
                kind: LineKind,
                amount: Yen,
                date: Date,
                loc: Loc|
     -> Result<(), ScenarioError> {
        let taxable = s.taxable.is_taxable(kind);
        let rate = if taxable {
            Some(s.tax.rate_on(date).map_err(|e| {
                ScenarioError::new(loc, e.to_string())
                    .hint("add a [[tax_rate]] that covers this date")
            })?)
        } else {
            None
        };
        lines
            .entry(YearMonth::of(date))
            .or_default()
            .push(InvoiceLine {
                kind,
                amount,
                taxable,
                rate,
                date,
            });
        Ok(())
    };

    // Monthly fees (Art. 17-1, 17-2).
    let service_last = end.map_or(s.until, |e| e.min(s.until));
    for m in YearMonth::of(s.start).through(YearMonth::of(service_last)) {
        if fees::service_days_in_month(m, s.start, end) == 0 {
            continue;
        }
        let fee = fees::month_fee(s.monthly_fee, m, s.start, end)
            .map_err(|e| money(s.monthly_fee_loc, e))?;
        let date = end.map_or(m.last_day(), |e| e.min(m.last_day()));
        push(&mut lines, LineKind::MonthlyFee, fee, date, s.start_loc)?;
    }

    // Early termination (Art. 10-2).
    let mut early = Yen::ZERO;
    if let (Some(end), Some((_, loc))) = (end, &ending) {
        early = fees::early_termination(s.monthly_fee, s.start, end).map_err(|e| match e {
            fees::FeeError::Money(m) => money(s.monthly_fee_loc, m),
            other => ScenarioError::new(*loc, other.to_string()),
        })?;
        if early > Yen::ZERO && YearMonth::of(end) <= last_month {
            push(&mut lines, LineKind::EarlyTermination, early, end, *loc)?;
        }
    }

    // One-off charges (Art. 17-3, 15-6) and payments.
    let mut payments: BTreeMap<YearMonth, Vec<PaymentIn>> = BTreeMap::new();
    for &i in &order {
        let ev = &s.events[i];
        let before_start = || {
            ScenarioError::new(
                ev.date_loc,
                format!(
                    "the event's date {} is before the service starts on {}",
                    ev.date, s.start
                ),
            )
        };
        match &ev.kind {
            EventKind::Evasion { amount } => {
                if ev.date < s.start {
                    return Err(before_start());
                }
                let surcharge =
                    charges::evasion_surcharge(*amount).map_err(|e| money(ev.loc, e))?;
                push(&mut lines, LineKind::EvadedFee, *amount, ev.date, ev.loc)?;
                push(
                    &mut lines,
                    LineKind::EvasionSurcharge,
                    surcharge,
                    ev.date,
                    ev.loc,
                )?;
            }
            EventKind::Damage {
                reinstallation,
                handling,
            } => {
                if ev.date < s.start {
                    return Err(before_start());
                }
                if *reinstallation == Yen::ZERO && *handling == Yen::ZERO {
                    return Err(ScenarioError::new(
                        ev.loc,
                        "this \"damage\" event charges nothing: `reinstallation` and `handling` are both 0",
                    ));
                }
                if *reinstallation > Yen::ZERO {
                    push(
                        &mut lines,
                        LineKind::Reinstallation,
                        *reinstallation,
                        ev.date,
                        ev.loc,
                    )?;
                }
                if *handling > Yen::ZERO {
                    push(&mut lines, LineKind::Handling, *handling, ev.date, ev.loc)?;
                }
            }
            EventKind::Payment {
                invoice,
                invoice_loc,
                amount,
            } => payments.entry(*invoice).or_default().push(PaymentIn {
                date: ev.date,
                amount: *amount,
                loc: ev.date_loc,
                invoice_loc: *invoice_loc,
            }),
            EventKind::Cancel { .. } | EventKind::Terminate { .. } => {}
        }
    }

    let provider_end = match &ending {
        Some((Ending::Provider(p), _)) => Some(p.clone()),
        _ => None,
    };

    // Invoices in month order; a late payment adds interest to a later month.
    let mut invoices: Vec<SimInvoice> = Vec::new();
    let mut cursor: Option<YearMonth> = None;
    loop {
        let next = match cursor {
            None => lines.keys().next().copied(),
            Some(c) => lines.range(c..).map(|(k, _)| *k).find(|k| *k > c),
        };
        let Some(m) = next else { break };
        cursor = Some(m);
        let (mut issue, mut due) = s
            .invoice
            .dates(m)
            .map_err(|e| ScenarioError::new(s.until_loc, e.to_string()))?;
        if let Some(p) = &provider_end
            && m <= YearMonth::of(p.end)
        {
            // Art. 12-3: every debt falls due at once.
            (issue, due) = p.accelerate(issue, due);
        }
        let month_lines = lines.get(&m).cloned().unwrap_or_default();
        let first_loc = s.start_loc;
        let invoice = Invoice::new(m, issue, due, month_lines)
            .map_err(|e| ScenarioError::new(first_loc, e.to_string()))?;
        let mut out = SimInvoice {
            payments: Vec::new(),
            paid: Yen::ZERO,
            unpaid: invoice.total,
            overpaid: Yen::ZERO,
            invoice,
        };
        for p in payments.remove(&m).unwrap_or_default() {
            if p.date < issue {
                return Err(ScenarioError::new(
                    p.loc,
                    format!(
                        "a payment on {} for invoice {m}, which is issued on {issue}",
                        p.date
                    ),
                )
                .hint("a payment comes on or after the invoice's issue date"));
            }
            let owed = charges::Owed {
                total: out.invoice.total,
                interest_bearing: out.invoice.interest_bearing,
                paid: out.paid,
                due,
            };
            let charged = charges::payment_interest(&owed, p.amount, p.date, &s.interest)
                .map_err(|e| money(p.loc, e))?;
            let (interest, excess) = (charged.interest, charged.applied.excess);
            let mut interest_invoice = None;
            if interest > Yen::ZERO {
                let target = YearMonth::of(p.date).max(m.next().unwrap_or(m));
                let target_date = if YearMonth::of(p.date) == target {
                    p.date
                } else {
                    target.first_day()
                };
                lines.entry(target).or_default().push(InvoiceLine {
                    kind: LineKind::LateInterest,
                    amount: interest,
                    taxable: false,
                    rate: None,
                    date: target_date.max(p.date).min(target.last_day()),
                });
                interest_invoice = Some(target);
            }
            out.paid = out
                .paid
                .checked_add(p.amount)
                .map_err(|e| money(p.loc, e))?;
            out.overpaid = out
                .overpaid
                .checked_add(excess)
                .map_err(|e| money(p.loc, e))?;
            out.payments.push(SimPayment {
                date: p.date,
                amount: p.amount,
                interest_days: charged.days,
                interest,
                interest_invoice,
            });
        }
        // Unpaid and overpaid are kept apart: neither hides the other.
        out.unpaid = out.invoice.total.saturating_sub(out.paid);
        invoices.push(out);
    }

    if let Some((month, ps)) = payments.into_iter().next()
        && let Some(p) = ps.first()
    {
        let existing: Vec<String> = invoices
            .iter()
            .map(|i| i.invoice.month.to_string())
            .collect();
        return Err(ScenarioError::new(
            p.invoice_loc,
            format!("a payment for invoice {month}, which does not exist: service month {month} has no charges"),
        )
        .hint(if existing.is_empty() {
            "the scenario has no invoices".to_string()
        } else {
            format!("the invoices are: {}", existing.join(", "))
        }));
    }

    let sum = |f: fn(&SimInvoice) -> Yen| {
        Yen::sum(invoices.iter().map(f)).map_err(|e| money(s.monthly_fee_loc, e))
    };
    let totals = Totals {
        invoiced: sum(|i| i.invoice.total)?,
        paid: sum(|i| i.paid)?,
        unpaid: sum(|i| i.unpaid)?,
        overpaid: sum(|i| i.overpaid)?,
    };

    let mut overdue = Vec::new();
    for i in &invoices {
        if i.unpaid > Yen::ZERO && i.invoice.due_date < s.until {
            let bearing = i.unpaid.min(i.invoice.interest_bearing);
            overdue.push(Overdue {
                invoice: i.invoice.month,
                due_date: i.invoice.due_date,
                unpaid: i.unpaid,
                interest_if_paid_on_until: charges::late_interest(
                    bearing,
                    i.invoice.due_date,
                    s.until,
                    &s.interest,
                )
                .map_err(|e| money(s.until_loc, e))?,
            });
        }
    }

    let liability = match s.liability_cause_date {
        None => None,
        Some(cause) => {
            let received: Vec<Received> = invoices
                .iter()
                .flat_map(|i| i.payments.iter())
                .map(|p| Received {
                    date: p.date,
                    amount: p.amount,
                })
                .collect();
            Some(
                charges::liability_cap_detail(&received, cause)
                    .map_err(|e| ScenarioError::new(s.until_loc, e.to_string()))?,
            )
        }
    };

    Ok(Simulation {
        start: s.start,
        monthly_fee: s.monthly_fee,
        minimum_term_end: term_end,
        end,
        ending: ending.map(|(e, _)| e),
        early_termination: early,
        invoices,
        totals,
        overdue,
        liability_cap: liability.as_ref().map(|l| l.cap),
        liability,
    })
}

/// Parses and runs a scenario.
pub fn run(text: &str) -> Result<Simulation, ScenarioError> {
    simulate(&crate::scenario::parse(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(events: &str) -> Simulation {
        let text = format!("start = 2026-04-01\nmonthly_fee = 30000\nuntil = 2026-10-31\n{events}");
        run(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn inv(s: &Simulation, month: &str) -> SimInvoice {
        s.invoices
            .iter()
            .find(|i| i.invoice.month.to_string() == month)
            .cloned()
            .unwrap_or_else(|| panic!("no invoice {month}"))
    }

    /// Art. 17-4: partial payments each bear interest for their own days; one within
    /// the grace days bears none. April: 33,000 due 05-31; 10,000 paid 06-05 (grace)
    /// → 0; 23,000 paid 06-30 → 29 days: floor(23000 × 0.145 × 29 / 365) = 264, on
    /// the June invoice.
    #[test]
    fn art_17_4_partial_payments() {
        let s = sim(
            "[[event]]\ndate = 2026-06-05\ntype = \"payment\"\ninvoice = \"2026-04\"\namount = 10000\n\
             [[event]]\ndate = 2026-06-30\ntype = \"payment\"\ninvoice = \"2026-04\"\namount = 23000\n",
        );
        let apr = inv(&s, "2026-04");
        assert_eq!(apr.payments[0].interest, Yen::ZERO);
        assert_eq!(apr.payments[1].interest_days, 29);
        assert_eq!(apr.payments[1].interest, Yen::new(264));
        assert_eq!(apr.unpaid, Yen::ZERO);
        let jun = inv(&s, "2026-06");
        assert_eq!(jun.invoice.total, Yen::new(33_264));
        assert_eq!(jun.invoice.interest_bearing, Yen::new(33_000));
    }

    /// Art. 17-4: no interest on interest. April paid 06-21 → 20 days →
    /// floor(33000 × 0.145 × 20 / 365) = 262 on the June invoice (33,262). June paid
    /// late in two parts: the first 262 settles the interest (Civil Code Art. 489)
    /// and bears nothing; the 33,000 after bears 262 again, on the August invoice.
    #[test]
    fn art_17_4_no_interest_on_interest() {
        let s = sim(
            "[[event]]\ndate = 2026-06-21\ntype = \"payment\"\ninvoice = \"2026-04\"\namount = 33000\n\
             [[event]]\ndate = 2026-08-20\ntype = \"payment\"\ninvoice = \"2026-06\"\namount = 262\n\
             [[event]]\ndate = 2026-08-21\ntype = \"payment\"\ninvoice = \"2026-06\"\namount = 33000\n",
        );
        assert_eq!(inv(&s, "2026-04").payments[0].interest, Yen::new(262));
        let jun = inv(&s, "2026-06");
        assert_eq!(jun.invoice.total, Yen::new(33_262));
        assert_eq!(jun.payments[0].interest, Yen::ZERO);
        assert_eq!(jun.payments[1].interest, Yen::new(262));
        assert_eq!(jun.unpaid, Yen::ZERO);
        let aug = inv(&s, "2026-08");
        let interest: Vec<_> = aug
            .invoice
            .lines
            .iter()
            .filter(|l| l.kind == LineKind::LateInterest)
            .collect();
        assert_eq!(interest.len(), 1);
        assert_eq!(interest[0].amount, Yen::new(262));
    }

    /// Art. 13: debts survive the end: after the contract ends, a late payment's
    /// interest still gets an invoice of its own month, which can be paid.
    #[test]
    fn art_13_interest_after_the_end_gets_its_own_invoice() {
        let s = sim(
            "[[event]]\ndate = 2026-04-01\ntype = \"cancel\"\nend = 2026-05-31\n\
             [[event]]\ndate = 2026-08-10\ntype = \"payment\"\ninvoice = \"2026-05\"\namount = 33000\n\
             [[event]]\ndate = 2026-10-01\ntype = \"payment\"\ninvoice = \"2026-08\"\namount = 100\n",
        );
        // May: 33,000 + lump sum 300,000 (10 months) = 333,000, due 06-30; paid
        // 33,000 on 08-10, 41 days after: interest for 07-01..08-09 = 40 days:
        // floor(33000 × 0.145 × 40 / 365) = floor(524.4) = 524.
        let may = inv(&s, "2026-05");
        assert_eq!(may.invoice.total, Yen::new(333_000));
        assert_eq!(may.payments[0].interest, Yen::new(524));
        assert_eq!(may.unpaid, Yen::new(300_000));
        let aug = inv(&s, "2026-08");
        assert_eq!(aug.invoice.lines.len(), 1);
        assert_eq!(aug.invoice.total, Yen::new(524));
        assert_eq!(aug.unpaid, Yen::new(424));
        let overdue: Vec<String> = s.overdue.iter().map(|o| o.invoice.to_string()).collect();
        assert_eq!(overdue, ["2026-04", "2026-05", "2026-08"]);
    }

    /// Art. 10-2: the lump sum's taxability is a setting per charge kind.
    #[test]
    fn art_10_2_lump_sum_taxability_is_a_setting() {
        let text = "start = 2026-04-01\nmonthly_fee = 30000\nuntil = 2026-10-31\n\
                    [settings.taxable]\nearly_termination = true\n\
                    [[event]]\ndate = 2026-04-01\ntype = \"cancel\"\nend = 2026-05-31\n";
        let s = run(text).unwrap();
        let may = inv(&s, "2026-05");
        assert_eq!(may.invoice.taxable_subtotal, Yen::new(330_000));
        assert_eq!(may.invoice.tax, Yen::new(33_000));
    }

    /// Art. 11-1: the error positions of scenario faults point at the right line.
    #[test]
    fn errors_point_at_the_event() {
        let text = "start = 2026-04-01\nmonthly_fee = 30000\nuntil = 2026-10-31\n\
                    [[event]]\ndate = 2026-03-01\ntype = \"cancel\"\nend = 2026-03-15\n";
        let e = run(text).unwrap_err();
        assert_eq!(e.loc.line, 6);
        assert!(e.message.contains("before it starts"), "{}", e.message);
    }
}
