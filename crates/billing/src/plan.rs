//! The monthly invoice run as a plan (Art. 17, TERMS.md "Invoices"): given the
//! contracts, which of them already have their invoice for the month, the late
//! interest not billed yet, the settings and today's date, [`plan`] says which
//! invoices to issue, with which lines (each naming its contract), which numbers, and
//! which payments' interest each one bills. The center writes the plan in one
//! transaction; the rules are all here.
//!
//! Generic over the identifier type `Id` of contracts, customers and payments (the
//! center's database ids).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::fees::{self, FeeError};
use crate::invoice::{
    Invoice, InvoiceError, InvoiceLine, InvoiceSettings, LineKind, SettingsError, Taxability,
};
use crate::money::{MoneyError, Rate, Yen};
use crate::month::YearMonth;
use crate::tax::{TaxError, TaxTable};

/// How the monthly run groups charges into invoices (TERMS.md "Invoices": per contract
/// or per customer, a setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoicePer {
    /// One invoice per contract and month.
    #[default]
    Contract,
    /// One invoice per customer and month, with the lines of all its contracts.
    Customer,
}

/// The settings of a run.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings<'a> {
    /// Issue and due dates (Art. 17).
    pub invoice: InvoiceSettings,
    pub per: InvoicePer,
    /// Consumption tax per line kind (Art. 17-1, 10-2).
    pub taxable: Taxability,
    pub taxes: &'a TaxTable,
}

/// A contract as the run sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContract<Id> {
    pub id: Id,
    pub customer: Id,
    /// The first day of service.
    pub start: Date,
    /// Yen per month before tax (Art. 17-1).
    pub monthly_fee: Yen,
    /// The last day of service, once the contract ends.
    pub end: Option<Date>,
    /// Ended by the provider (Art. 12): every debt falls due on `end` (Art. 12-3).
    pub terminated_by_provider: bool,
}

/// Late interest (Art. 17-4) owed by a payment and not billed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnbilledInterest<Id> {
    pub payment: Id,
    /// The contract of the invoice the payment paid.
    pub contract: Id,
    /// When the payment was received.
    pub date: Date,
    pub amount: Yen,
}

/// What the run starts from.
#[derive(Debug, Clone, Copy)]
pub struct RunInput<'a, Id> {
    /// The service month billed.
    pub month: YearMonth,
    /// Today: a month is billed only once it is over.
    pub today: Date,
    /// Every contract that may have charges in the month: those with service in it,
    /// and those whose late interest is billed now.
    pub contracts: &'a [RunContract<Id>],
    /// The contracts that already have their invoice for the month (on an invoice of
    /// their own or on a customer's combined invoice): they get nothing more.
    pub invoiced: &'a BTreeSet<Id>,
    /// Late interest not billed yet.
    pub interest: &'a [UnbilledInterest<Id>],
    /// The highest invoice number issued so far (0 when none).
    pub last_number: u64,
}

/// One invoice the run issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedInvoice<Id> {
    pub number: u64,
    /// The contract the invoice names: the first (lowest id) of those it bills.
    pub contract: Id,
    pub customer: Id,
    /// With one invoice per customer: the other contracts billed on it.
    pub other_contracts: Vec<Id>,
    /// Lines, dates and totals.
    pub invoice: Invoice,
    /// The contract of each line (`owners[i]` owns `invoice.lines[i]`).
    pub owners: Vec<Id>,
    /// The payments whose late interest this invoice bills.
    pub interest_of: Vec<Id>,
}

/// The invoices of one run, numbered in order without gaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<Id> {
    pub month: YearMonth,
    pub invoices: Vec<PlannedInvoice<Id>>,
}

impl<Id> Plan<Id> {
    pub fn first_number(&self) -> Option<u64> {
        self.invoices.first().map(|i| i.number)
    }

    pub fn last_number(&self) -> Option<u64> {
        self.invoices.last().map(|i| i.number)
    }

    /// (payment, invoice number) for every payment whose interest the run bills.
    pub fn interest_billed(&self) -> impl Iterator<Item = (&Id, u64)> {
        self.invoices
            .iter()
            .flat_map(|i| i.interest_of.iter().map(move |p| (p, i.number)))
    }
}

/// A charge of one contract that cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChargeError {
    #[error(transparent)]
    Fee(#[from] FeeError),
    #[error(transparent)]
    Tax(#[from] TaxError),
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A run that cannot be planned; nothing is issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError<Id: fmt::Display> {
    #[error("{month} is not over yet; invoices for a month are issued after it ends")]
    MonthNotOver { month: YearMonth, today: Date },
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("contract {contract}: {source}")]
    Contract { contract: Id, source: ChargeError },
    #[error("payment {payment} owes interest for contract {contract}, which the run was not given")]
    UnknownContract { payment: Id, contract: Id },
    #[error("no invoice number is left after {last}")]
    NumbersExhausted { last: u64 },
}

/// Art. 17: the lines of `contract`'s invoice for `month`: the fee prorated by day
/// (Art. 17-2), the early-termination sum in the month the service ends before the
/// minimum term is over (Art. 10-2), and the unbilled late interest (Art. 17-4, never
/// taxed). Each taxable line carries the rate in force on its date.
pub fn contract_lines<Id>(
    contract: &RunContract<Id>,
    month: YearMonth,
    interest: &[&UnbilledInterest<Id>],
    settings: &RunSettings<'_>,
) -> Result<Vec<InvoiceLine>, ChargeError> {
    let rate_for = |kind: LineKind, date: Date| -> Result<Option<Rate>, ChargeError> {
        if settings.taxable.is_taxable(kind) {
            Ok(Some(settings.taxes.rate_on(date)?))
        } else {
            Ok(None)
        }
    };
    let line = |kind: LineKind, amount: Yen, date: Date| -> Result<InvoiceLine, ChargeError> {
        Ok(InvoiceLine {
            kind,
            amount,
            taxable: settings.taxable.is_taxable(kind),
            rate: rate_for(kind, date)?,
            date,
        })
    };
    let mut lines = Vec::new();
    let end = contract.end;
    let fee = fees::month_fee(contract.monthly_fee, month, contract.start, end)?;
    if fee > Yen::ZERO {
        let last = end.map_or(month.last_day(), |e| e.min(month.last_day()));
        lines.push(line(LineKind::MonthlyFee, fee, last)?);
    }
    if let Some(e) = end
        && YearMonth::of(e) == month
    {
        let lump = fees::early_termination(contract.monthly_fee, contract.start, e)?;
        if lump > Yen::ZERO {
            lines.push(line(LineKind::EarlyTermination, lump, e)?);
        }
    }
    for p in interest {
        lines.push(line(LineKind::LateInterest, p.amount, p.date)?);
    }
    Ok(lines)
}

/// Plans the run for `input.month`:
/// - only a month that is over (its last day before `today`);
/// - one invoice per contract with charges in the month, or per customer with the
///   lines of all its contracts (`settings.per`); a contract in `invoiced` gets
///   nothing, so a second run issues nothing;
/// - late interest of payments received up to the month's last day goes on the
///   invoice of the payment's contract (Art. 17-4);
/// - issued and due on the settings' dates; for a contract ended by the provider,
///   not issued after its end nor due after it (Art. 12-3), and a combined invoice
///   takes the earliest dates of its contracts;
/// - numbered from `last_number + 1` without gaps, in the order of the contract id (or
///   customer id) the invoice is grouped by.
///
/// Deterministic: the same input gives the same plan, whatever the order of
/// `contracts` and `interest`.
pub fn plan<Id>(
    input: &RunInput<'_, Id>,
    settings: &RunSettings<'_>,
) -> Result<Plan<Id>, PlanError<Id>>
where
    Id: Copy + Ord + fmt::Display,
{
    let month = input.month;
    if month.last_day() >= input.today {
        return Err(PlanError::MonthNotOver {
            month,
            today: input.today,
        });
    }
    let (issue, due) = settings.invoice.dates(month)?;

    let mut contracts: Vec<&RunContract<Id>> = input.contracts.iter().collect();
    contracts.sort_by_key(|c| c.id);
    let known: BTreeSet<Id> = contracts.iter().map(|c| c.id).collect();
    let mut interest: BTreeMap<Id, Vec<&UnbilledInterest<Id>>> = BTreeMap::new();
    for p in input.interest {
        if p.date > month.last_day() || p.amount == Yen::ZERO {
            continue;
        }
        if !known.contains(&p.contract) {
            return Err(PlanError::UnknownContract {
                payment: p.payment,
                contract: p.contract,
            });
        }
        interest.entry(p.contract).or_default().push(p);
    }
    for v in interest.values_mut() {
        v.sort_by_key(|p| (p.date, p.payment));
    }

    // Each contract's part of the month: its lines, its dates, the payments whose
    // interest it bills; grouped by contract or by customer.
    struct Part<'a, Id> {
        contract: &'a RunContract<Id>,
        lines: Vec<InvoiceLine>,
        issue: Date,
        due: Date,
        interest: &'a [&'a UnbilledInterest<Id>],
    }
    let mut groups: BTreeMap<Id, Vec<Part<'_, Id>>> = BTreeMap::new();
    for c in contracts {
        if input.invoiced.contains(&c.id) {
            continue;
        }
        let pays = interest.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        let lines =
            contract_lines(c, month, pays, settings).map_err(|source| PlanError::Contract {
                contract: c.id,
                source,
            })?;
        if lines.is_empty() {
            continue;
        }
        let (mut c_issue, mut c_due) = (issue, due);
        if c.terminated_by_provider
            && let Some(end) = c.end
            && month <= YearMonth::of(end)
        {
            // Art. 12-3: on termination every debt falls due at once.
            c_issue = c_issue.min(end).max(month.first_day());
            c_due = c_due.min(end).max(c_issue);
        }
        let key = match settings.per {
            InvoicePer::Contract => c.id,
            InvoicePer::Customer => c.customer,
        };
        groups.entry(key).or_default().push(Part {
            contract: c,
            lines,
            issue: c_issue,
            due: c_due,
            interest: pays,
        });
    }

    let mut invoices = Vec::with_capacity(groups.len());
    let mut number = input.last_number;
    for parts in groups.into_values() {
        let Some(head) = parts.first() else { continue };
        number = number.checked_add(1).ok_or(PlanError::NumbersExhausted {
            last: input.last_number,
        })?;
        let i_issue = parts.iter().map(|p| p.issue).min().unwrap_or(issue);
        let i_due = parts.iter().map(|p| p.due).min().unwrap_or(due);
        let mut owners = Vec::new();
        let mut lines = Vec::new();
        let mut interest_of = Vec::new();
        for p in &parts {
            owners.extend(std::iter::repeat_n(p.contract.id, p.lines.len()));
            lines.extend(p.lines.iter().cloned());
            interest_of.extend(p.interest.iter().map(|i| i.payment));
        }
        let invoice =
            Invoice::new(month, i_issue, i_due, lines).map_err(|e| PlanError::Contract {
                contract: head.contract.id,
                source: e.into(),
            })?;
        invoices.push(PlannedInvoice {
            number,
            contract: head.contract.id,
            customer: head.contract.customer,
            other_contracts: parts.iter().skip(1).map(|p| p.contract.id).collect(),
            invoice,
            owners,
            interest_of,
        });
    }
    Ok(Plan { month, invoices })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn contract(id: i64, customer: i64, start: Date, fee: u64) -> RunContract<i64> {
        RunContract {
            id,
            customer,
            start,
            monthly_fee: Yen::new(fee),
            end: None,
            terminated_by_provider: false,
        }
    }

    fn run(
        per: InvoicePer,
        contracts: &[RunContract<i64>],
        invoiced: &BTreeSet<i64>,
        interest: &[UnbilledInterest<i64>],
        last: u64,
    ) -> Result<Plan<i64>, PlanError<i64>> {
        let taxes = TaxTable::japan_standard();
        let settings = RunSettings {
            invoice: InvoiceSettings::default(),
            per,
            taxable: Taxability::default(),
            taxes: &taxes,
        };
        plan(
            &RunInput {
                month: YearMonth::new(2026, 4).unwrap(),
                today: date(2026, 5, 1),
                contracts,
                invoiced,
                interest,
                last_number: last,
            },
            &settings,
        )
    }

    /// Art. 17 / 17-2 / 17-4: one invoice per contract, numbered on from the last
    /// number; the prorated fee; a payment's interest on its contract's invoice; a
    /// contract already invoiced gets nothing.
    #[test]
    fn art_17_a_run_plans_one_invoice_per_contract() {
        let cs = [
            contract(3, 1, date(2026, 4, 10), 30_000),
            contract(1, 1, date(2026, 4, 1), 30_000),
            contract(2, 2, date(2026, 4, 1), 50_000),
        ];
        let interest = [UnbilledInterest {
            payment: 40,
            contract: 1,
            date: date(2026, 4, 20),
            amount: Yen::new(131),
        }];
        let p = run(
            InvoicePer::Contract,
            &cs,
            &BTreeSet::from([2]),
            &interest,
            7,
        )
        .unwrap();
        assert_eq!((p.first_number(), p.last_number()), (Some(8), Some(9)));
        let first = &p.invoices[0];
        assert_eq!((first.contract, first.number), (1, 8));
        assert_eq!(first.invoice.total, Yen::new(33_131));
        assert_eq!(first.invoice.interest_bearing, Yen::new(33_000));
        assert_eq!(first.interest_of, vec![40]);
        assert_eq!(first.invoice.issue_date, date(2026, 5, 1));
        assert_eq!(first.invoice.due_date, date(2026, 5, 31));
        // floor(30000 × 21 / 30) = 21,000.
        assert_eq!(p.invoices[1].invoice.taxable_subtotal, Yen::new(21_000));
        assert_eq!(p.interest_billed().collect::<Vec<_>>(), vec![(&40, 8)]);
        // Everything invoiced: nothing planned.
        let all = BTreeSet::from([1, 2, 3]);
        assert!(
            run(InvoicePer::Contract, &cs, &all, &interest, 9)
                .unwrap()
                .invoices
                .is_empty()
        );
    }

    /// TERMS.md "Invoices": one invoice per customer with every contract's lines; the
    /// invoice names the lowest contract and lists the others.
    #[test]
    fn art_17_one_invoice_per_customer_names_its_contracts() {
        let cs = [
            contract(5, 1, date(2026, 4, 16), 20_001),
            contract(4, 1, date(2026, 4, 1), 30_000),
            contract(6, 2, date(2026, 4, 1), 50_000),
        ];
        let p = run(InvoicePer::Customer, &cs, &BTreeSet::new(), &[], 0).unwrap();
        assert_eq!(p.invoices.len(), 2);
        let a = &p.invoices[0];
        assert_eq!(
            (a.contract, a.customer, a.other_contracts.clone()),
            (4, 1, vec![5])
        );
        assert_eq!(a.owners, vec![4, 5]);
        // 30,000 + floor(20001 × 15 / 30) = 40,000; tax once on the sum.
        assert_eq!(
            (a.invoice.taxable_subtotal, a.invoice.tax),
            (Yen::new(40_000), Yen::new(4_000))
        );
        assert_eq!(p.invoices[1].invoice.total, Yen::new(55_000));
    }

    /// Art. 12-3: a contract ended by the provider on 04-20 is invoiced on its end
    /// date and due that day; a month not over is refused; interest of an unknown
    /// contract is an error that names the payment.
    #[test]
    fn art_12_3_and_refusals() {
        let mut k = contract(1, 1, date(2026, 4, 1), 30_000);
        k.end = Some(date(2026, 4, 20));
        k.terminated_by_provider = true;
        let p = run(InvoicePer::Contract, &[k.clone()], &BTreeSet::new(), &[], 0).unwrap();
        let inv = &p.invoices[0].invoice;
        assert_eq!(
            (inv.issue_date, inv.due_date),
            (date(2026, 4, 20), date(2026, 4, 20))
        );
        assert!(
            inv.lines
                .iter()
                .any(|l| l.kind == LineKind::EarlyTermination)
        );

        let stray = [UnbilledInterest {
            payment: 9,
            contract: 77,
            date: date(2026, 4, 3),
            amount: Yen::new(5),
        }];
        let e = run(InvoicePer::Contract, &[k], &BTreeSet::new(), &stray, 0).unwrap_err();
        assert_eq!(
            e,
            PlanError::UnknownContract {
                payment: 9,
                contract: 77
            }
        );
        assert_eq!(
            e.to_string(),
            "payment 9 owes interest for contract 77, which the run was not given"
        );
        let taxes = TaxTable::japan_standard();
        let settings = RunSettings {
            invoice: InvoiceSettings::default(),
            per: InvoicePer::Contract,
            taxable: Taxability::default(),
            taxes: &taxes,
        };
        let not_over = plan::<i64>(
            &RunInput {
                month: YearMonth::new(2026, 4).unwrap(),
                today: date(2026, 4, 30),
                contracts: &[],
                invoiced: &BTreeSet::new(),
                interest: &[],
                last_number: 0,
            },
            &settings,
        );
        assert!(matches!(not_over, Err(PlanError::MonthNotOver { .. })));
    }
}
