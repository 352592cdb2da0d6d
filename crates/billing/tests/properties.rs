//! Property tests of the invariants the terms give the money (issue 5).

use jiff::civil::{Date, date};
use mamori_billing::charges::{self, InterestSettings};
use mamori_billing::fees;
use mamori_billing::invoice::{Invoice, InvoiceLine, LineKind};
use mamori_billing::scenario;
use mamori_billing::simulate;
use mamori_billing::term;
use mamori_billing::{Rate, YearMonth, Yen};
use proptest::prelude::*;

const MAX_YEN: u64 = 1_000_000_000_000;

fn any_date() -> impl Strategy<Value = Date> {
    // 2000-01-01 .. about 2060, leap years included.
    (0i64..22_000).prop_map(|d| term::add_days(date(2000, 1, 1), d).unwrap())
}

fn yen() -> impl Strategy<Value = Yen> {
    (0..=MAX_YEN).prop_map(Yen::new)
}

fn ten() -> Rate {
    Rate::percent(10).unwrap()
}

proptest! {
    /// Art. 17-2: a month's prorated fee never exceeds the monthly fee, and is the
    /// whole fee for a month of full service.
    #[test]
    fn art_17_2_a_months_charge_never_exceeds_its_fee(
        monthly in yen(),
        start in any_date(),
        len in 0i64..800,
        month_offset in 0u32..30,
    ) {
        let end = term::add_days(start, len).unwrap();
        let month = YearMonth::of(start).plus(month_offset).unwrap();
        let fee = fees::month_fee(monthly, month, start, Some(end)).unwrap();
        prop_assert!(fee <= monthly);
        if start <= month.first_day() && end >= month.last_day() {
            prop_assert_eq!(fee, monthly);
        }
    }

    /// Art. 10-2 (TERMS.md decision): fees of the days used + the early-termination
    /// sum = fees of the whole minimum term, for any start, end and fee up to 10^12.
    #[test]
    fn art_10_2_used_plus_lump_sum_is_the_whole_term(
        monthly in yen(),
        start in any_date(),
        used in 0i64..366,
    ) {
        let term_end = term::minimum_term_end(start).unwrap();
        let end = term::add_days(start, used).unwrap().min(term_end);
        let whole = fees::fees_for_period(monthly, start, term_end).unwrap();
        let used_fees = fees::fees_for_period(monthly, start, end).unwrap();
        let lump = fees::early_termination(monthly, start, end).unwrap();
        prop_assert_eq!(used_fees.checked_add(lump).unwrap(), whole);
    }

    /// Art. 10-1: the minimum term is one year: from 365 to 366 days, ending the day
    /// before the same date a year later (or at the end of February).
    #[test]
    fn art_10_1_the_minimum_term_is_one_year(start in any_date()) {
        let end = term::minimum_term_end(start).unwrap();
        let days = term::days_between(start, end) + 1;
        prop_assert!(days == 365 || days == 366, "{start} → {end}: {days} days");
        let next = end.tomorrow().unwrap();
        if start.month() == 2 && start.day() == 29 {
            prop_assert_eq!(next, date(start.year() + 1, 3, 1));
        } else {
            prop_assert_eq!(next, date(start.year() + 1, start.month(), start.day()));
        }
    }

    /// Art. 17-1: the invoice tax is floor(10 % × taxable subtotal), computed once on
    /// the sum, not per line; non-taxable lines add no tax.
    #[test]
    fn art_17_1_invoice_tax_is_computed_once_on_the_subtotal(
        lines in proptest::collection::vec((0..=MAX_YEN, any::<bool>()), 0..20),
    ) {
        let inv_lines: Vec<InvoiceLine> = lines
            .iter()
            .map(|&(amount, taxable)| InvoiceLine {
                kind: if taxable { LineKind::MonthlyFee } else { LineKind::EarlyTermination },
                amount: Yen::new(amount),
                taxable,
                rate: taxable.then(ten),
                date: date(2026, 9, 30),
            })
            .collect();
        let inv = Invoice::new(
            YearMonth::of(date(2026, 9, 1)),
            date(2026, 10, 1),
            date(2026, 10, 31),
            inv_lines,
        )
        .unwrap();
        let taxable: u128 = lines.iter().filter(|l| l.1).map(|l| u128::from(l.0)).sum();
        let other: u128 = lines.iter().filter(|l| !l.1).map(|l| u128::from(l.0)).sum();
        prop_assert_eq!(u128::from(inv.taxable_subtotal.get()), taxable);
        prop_assert_eq!(u128::from(inv.tax.get()), taxable / 10);
        prop_assert_eq!(u128::from(inv.total.get()), taxable + taxable / 10 + other);
    }

    /// Art. 17-4: no interest up to the last grace day; after it, interest grows by
    /// day (never decreases) and equals floor(amount × rate × days / 365) with
    /// days = late days − 1.
    #[test]
    fn art_17_4_interest_is_zero_in_grace_then_grows_by_day(
        amount in yen(),
        due in any_date(),
        grace in 0u32..20,
        bp in 0u32..=3000,
        late in 0i64..2000,
    ) {
        let s = InterestSettings { rate: Rate::from_basis_points(bp).unwrap(), grace_days: grace };
        let paid = term::add_days(due, late).unwrap();
        let next = paid.tomorrow().unwrap();
        let i = charges::late_interest(amount, due, paid, &s).unwrap();
        let j = charges::late_interest(amount, due, next, &s).unwrap();
        if late <= i64::from(grace) {
            prop_assert_eq!(i, Yen::ZERO);
        } else {
            let days = u128::try_from(late - 1).unwrap();
            let expected = u128::from(amount.get()) * u128::from(bp) * days / (10_000 * 365);
            prop_assert_eq!(u128::from(i.get()), expected);
        }
        prop_assert!(j >= i);
    }

    /// No arithmetic overflows: a whole simulation with fees and one-off amounts up to
    /// 10^12 yen runs without error, and its totals add up.
    #[test]
    fn no_overflow_up_to_a_trillion_yen(
        monthly in 0..=MAX_YEN,
        evaded in 1..=MAX_YEN,
        reinstallation in 0..=MAX_YEN,
        handling in 1..=MAX_YEN,
        pay in 1..=MAX_YEN,
        start in any_date(),
        end_after in 0i64..400,
        late in 0i64..200,
    ) {
        let end = term::add_days(start, end_after).unwrap();
        let notice = term::add_days(end, -30).unwrap();
        let until = term::add_days(end, 100).unwrap();
        let first_invoice = YearMonth::of(start);
        let issue = first_invoice.next().unwrap().first_day();
        let pay_date = term::add_days(issue.last_of_month(), late).unwrap().min(until);
        let text = format!(
            r#"
start = {start}
monthly_fee = {monthly}
until = {until}
liability_cause_date = {until}

[[event]]
date = {notice}
type = "cancel"
end = {end}

[[event]]
date = {start}
type = "evasion"
amount = {evaded}

[[event]]
date = {end}
type = "damage"
reinstallation = {reinstallation}
handling = {handling}

[[event]]
date = {pay_date}
type = "payment"
invoice = "{first_invoice}"
amount = {pay}
"#
        );
        let sim = simulate::run(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let mut invoiced = 0u128;
        for inv in &sim.invoices {
            let lines: u128 = inv.invoice.lines.iter().map(|l| u128::from(l.amount.get())).sum();
            prop_assert_eq!(u128::from(inv.invoice.total.get()), lines + u128::from(inv.invoice.tax.get()));
            for l in &inv.invoice.lines {
                if l.kind == LineKind::MonthlyFee {
                    prop_assert!(l.amount.get() <= monthly);
                }
            }
            invoiced += u128::from(inv.invoice.total.get());
        }
        prop_assert_eq!(u128::from(sim.totals.invoiced.get()), invoiced);
        let (from, to) = charges::liability_window(until).unwrap();
        let expected_cap = if pay_date >= from && pay_date < to { pay } else { 0 };
        prop_assert_eq!(sim.liability_cap, Some(Yen::new(expected_cap)));
    }

    /// Art. 10-2 through the simulator: the monthly-fee lines plus the lump sum are the
    /// fees of the whole minimum term, whenever the contract ends early.
    #[test]
    fn simulated_fees_plus_lump_sum_are_the_whole_term(
        monthly in 0..=MAX_YEN,
        start in any_date(),
        used in 0i64..365,
    ) {
        let term_end = term::minimum_term_end(start).unwrap();
        let end = term::add_days(start, used).unwrap().min(term_end);
        let notice = term::add_days(end, -30).unwrap();
        let until = end.last_of_month();
        let text = format!(
            "start = {start}\nmonthly_fee = {monthly}\nuntil = {until}\n\n[[event]]\ndate = {notice}\ntype = \"cancel\"\nend = {end}\n"
        );
        let sim = simulate::run(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let billed: u128 = sim
            .invoices
            .iter()
            .flat_map(|i| i.invoice.lines.iter())
            .filter(|l| matches!(l.kind, LineKind::MonthlyFee | LineKind::EarlyTermination))
            .map(|l| u128::from(l.amount.get()))
            .sum();
        let whole = fees::fees_for_period(Yen::new(monthly), start, term_end).unwrap();
        prop_assert_eq!(billed, u128::from(whole.get()));
    }

    /// The scenario parser never panics, whatever the input.
    #[test]
    fn the_scenario_parser_never_panics(text in "\\PC{0,400}") {
        let _ = simulate::run(&text);
    }

    /// The parser never panics on near-valid scenarios either: keys and values
    /// recombined at random; every error has a position and a message.
    #[test]
    fn the_scenario_parser_never_panics_on_near_valid_input(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("start = 2026-04-10\n"),
                Just("monthly_fee = 30000\n"),
                Just("monthly_fee = -1\n"),
                Just("monthly_fee = 9223372036854775807\n"),
                Just("until = 2026-12-31\n"),
                Just("until = 2026-01-01\n"),
                Just("liability_cause_date = 0001-01-01\n"),
                Just("[settings]\n"),
                Just("issue_day = 0\n"),
                Just("due_day = \"end\"\n"),
                Just("due_day = 99\n"),
                Just("grace_days = 400\n"),
                Just("interest_rate = \"100%\"\n"),
                Just("[[tax_rate]]\nfrom = 2026-05-01\nrate = \"0%\"\n"),
                Just("[[event]]\n"),
                Just("date = 2026-06-01\n"),
                Just("date = 9999-12-31\n"),
                Just("type = \"cancel\"\n"),
                Just("type = \"terminate\"\n"),
                Just("type = \"payment\"\n"),
                Just("type = \"damage\"\n"),
                Just("end = 2026-05-01\n"),
                Just("reason = \"other\"\n"),
                Just("urgent = true\n"),
                Just("invoice = \"2026-04\"\n"),
                Just("amount = 33000\n"),
                Just("reinstallation = 0\n"),
                Just("handling = 0\n"),
            ],
            0..25,
        ),
    ) {
        let text: String = parts.concat();
        if let Err(e) = simulate::run(&text) {
            prop_assert!(e.loc.line >= 1 && e.loc.column >= 1);
            prop_assert!(!e.message.is_empty());
        }
    }
}

#[test]
fn a_scenario_error_position_is_one_based() {
    let e = scenario::parse("start = 2026-04-10\nmonthly_fee = x\n").unwrap_err();
    assert_eq!(e.loc.line, 2);
}

proptest! {
    /// A registration number built with its check digit parses; changing one digit
    /// of its base is caught (except 0 ↔ 9, which the mod-9 scheme cannot see);
    /// arbitrary text never panics the parser.
    #[test]
    fn registration_number_check_digit(
        base in proptest::array::uniform12(0u32..10),
        pos in 0usize..12,
        delta in 1u32..9,
        junk in "\\PC{0,20}",
    ) {
        use mamori_billing::document::{check_digit, RegistrationNumber};
        let digits: String = base.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
        let good = format!("T{}{digits}", check_digit(&base));
        prop_assert!(good.parse::<RegistrationNumber>().is_ok(), "{}", good);
        let mut changed = base;
        changed[pos] = (changed[pos] + delta) % 10;
        prop_assume!(changed[pos].abs_diff(base[pos]) != 9);
        let digits: String = changed.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
        let bad = format!("T{}{digits}", check_digit(&base));
        prop_assert!(bad.parse::<RegistrationNumber>().is_err(), "{}", bad);
        let _ = junk.parse::<RegistrationNumber>();
    }
}
