//! One-off charges: late-payment interest (Art. 17-4), the evasion surcharge
//! (Art. 17-3), damage charges (Art. 15-6) and the liability cap (Art. 18-5).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::money::{MoneyError, Rate, Yen};
use crate::term;

/// Settings of late-payment interest (Art. 17-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterestSettings {
    /// Yearly rate, on a 365-day year even in leap years. Default 14.5 %.
    pub rate: Rate,
    /// No interest when paid within this many days counted from the day after the
    /// due date. Default 10 (other carriers use 15).
    pub grace_days: u32,
}

impl Default for InterestSettings {
    fn default() -> Self {
        InterestSettings {
            rate: Rate::from_basis_points(1450).unwrap_or(Rate::whole_percent_const(14)),
            grace_days: 10,
        }
    }
}

/// Days in the interest year, whatever the calendar year (Art. 17-4).
pub const INTEREST_YEAR_DAYS: u64 = 365;

/// Days of interest on an amount due on `due` and paid on `paid`: from the day after
/// the due date to the day before the payment (Art. 17-4); zero when paid on time or
/// within the grace days.
pub fn interest_days(due: Date, paid: Date, settings: &InterestSettings) -> u64 {
    let late = term::days_between(due, paid);
    if late <= i64::from(settings.grace_days) {
        0
    } else {
        u64::try_from(late - 1).unwrap_or(0)
    }
}

/// Art. 17-4: interest on `amount` (excluding any interest: no interest on interest)
/// due on `due` and paid on `paid`: `floor(amount × rate × days / 365)`, zero within
/// the grace days. Not subject to consumption tax.
pub fn late_interest(
    amount: Yen,
    due: Date,
    paid: Date,
    settings: &InterestSettings,
) -> Result<Yen, MoneyError> {
    let days = interest_days(due, paid, settings);
    if days == 0 {
        return Ok(Yen::ZERO);
    }
    let numerator = u64::from(settings.rate.basis_points())
        .checked_mul(days)
        .ok_or(MoneyError::Overflow)?;
    let denominator = Rate::BASIS * INTEREST_YEAR_DAYS;
    // floor(a × n / d) with n up to 10^4 × 7.3·10^6: exact in 128 bits.
    amount.mul_ratio_floor(numerator, denominator)
}

/// What an invoice owes and has received, to apply a new payment to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owed {
    /// The invoice's total, tax included.
    pub total: Yen,
    /// The part of `total` that bears late interest: everything but the late-interest
    /// lines billed on the invoice (no interest on interest, Art. 17-4). This is the
    /// principal.
    pub interest_bearing: Yen,
    /// Received so far.
    pub paid: Yen,
    /// The due date (Art. 12-3 may have moved it earlier).
    pub due: Date,
}

/// How one payment is applied to an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// To the late interest billed on the invoice (for earlier late payments).
    pub to_interest: Yen,
    /// To the principal: the fees, charges and their tax.
    pub to_principal: Yen,
    /// Beyond the invoice's total.
    pub excess: Yen,
}

/// A payment applied to an invoice, and the late interest it owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInterest {
    pub applied: Applied,
    /// Days of interest (zero when on time or within the grace days).
    pub days: u64,
    /// Art. 17-4 interest on `applied.to_principal` for `days`.
    pub interest: Yen,
}

/// Applies a payment of `amount` to an invoice (TERMS.md leaves the order open; the
/// project's rule is the Civil Code's, Art. 489: interest before principal). A payment
/// goes first to the late interest billed on the invoice, then to the principal
/// (`interest_bearing`), and the rest is excess; what was paid before was applied in
/// the same order, so an earlier late-interest line never counts as principal paid.
/// An invoice whose interest-bearing part exceeds its total is impossible: an error.
pub fn apply_payment(owed: &Owed, amount: Yen) -> Result<Applied, MoneyError> {
    let interest_part = owed.total.checked_sub(owed.interest_bearing)?;
    let interest_paid = owed.paid.min(interest_part);
    let principal_paid = owed
        .paid
        .checked_sub(interest_paid)?
        .min(owed.interest_bearing);
    let interest_open = interest_part.checked_sub(interest_paid)?;
    let principal_open = owed.interest_bearing.checked_sub(principal_paid)?;
    let to_interest = amount.min(interest_open);
    let rest = amount.checked_sub(to_interest)?;
    let to_principal = rest.min(principal_open);
    Ok(Applied {
        to_interest,
        to_principal,
        excess: rest.checked_sub(to_principal)?,
    })
}

/// Art. 17-4: the late interest a payment of `amount` received on `paid_on` owes.
/// Interest accrues on the principal that was unpaid during each day of delay: the
/// payment is applied by [`apply_payment`] (interest billed on the invoice first,
/// Civil Code Art. 489), and the part that settles principal bears interest from the
/// day after the due date to the day before `paid_on`. So over the payments of an
/// invoice, the interest is the rate on the whole unpaid principal for each day of
/// delay, whatever earlier late-interest lines the invoice carries; a payment of such
/// a line bears none (no interest on interest).
pub fn payment_interest(
    owed: &Owed,
    amount: Yen,
    paid_on: Date,
    settings: &InterestSettings,
) -> Result<PaymentInterest, MoneyError> {
    let applied = apply_payment(owed, amount)?;
    Ok(PaymentInterest {
        applied,
        days: interest_days(owed.due, paid_on, settings),
        interest: late_interest(applied.to_principal, owed.due, paid_on, settings)?,
    })
}

/// Art. 17-3: the surcharge before tax on an evaded fee: twice the evaded amount
/// before tax. The evaded fee itself stays owed.
pub fn evasion_surcharge(evaded_before_tax: Yen) -> Result<Yen, MoneyError> {
    evaded_before_tax.checked_mul(2)
}

/// Art. 17-3: the surcharge with its consumption tax, as a stand-alone figure
/// (2 × evaded + tax on that). On an invoice the tax is computed per rate instead.
pub fn evasion_surcharge_with_tax(evaded_before_tax: Yen, rate: Rate) -> Result<Yen, MoneyError> {
    let s = evasion_surcharge(evaded_before_tax)?;
    s.checked_add(s.tax_at(rate)?)
}

/// Art. 15-6: damage by the customer's fault costs reinstallation + handling fee +
/// consumption tax on both; returns that total as a stand-alone figure.
pub fn damage_total(reinstallation: Yen, handling: Yen, rate: Rate) -> Result<Yen, MoneyError> {
    let base = reinstallation.checked_add(handling)?;
    base.checked_add(base.tax_at(rate)?)
}

/// A payment received (tax included), for the liability cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    pub date: Date,
    pub amount: Yen,
}

/// The window of payments counted by the liability cap for a cause on `cause`:
/// `[cause − 12 months, cause)`; from a day that does not exist 12 months earlier
/// (29 February) the window starts on the last day of that month.
pub fn liability_window(cause: Date) -> Result<(Date, Date), term::DateRangeError> {
    let from = cause
        .checked_sub(jiff::Span::new().months(12))
        .map_err(|_| term::DateRangeError {
            what: "twelve months before the cause date",
            from: cause,
        })?;
    Ok((from, cause))
}

/// Art. 18-5 (TERMS.md decision): the provider's liability cap for a cause that arose
/// on `cause`: the sum of payments (tax included) received in
/// `[cause − 12 months, cause)` for the contract.
pub fn liability_cap(payments: &[Received], cause: Date) -> Result<Yen, LiabilityError> {
    Ok(liability_cap_detail(payments, cause)?.cap)
}

/// The Art. 18-5 cap with the payments it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiabilityCap {
    pub cause_date: Date,
    /// First day counted (included): twelve months before the cause date.
    pub from: Date,
    /// The cause date (excluded).
    pub to: Date,
    /// The payments counted, by date.
    pub payments: Vec<Received>,
    pub cap: Yen,
}

/// Art. 18-5: the cap for a cause on `cause`, with the payments it counts (shown to
/// back-office staff next to the figure).
pub fn liability_cap_detail(
    payments: &[Received],
    cause: Date,
) -> Result<LiabilityCap, LiabilityError> {
    let (from, to) = liability_window(cause)?;
    let mut counted: Vec<Received> = payments
        .iter()
        .filter(|p| p.date >= from && p.date < to)
        .copied()
        .collect();
    counted.sort_by_key(|p| p.date);
    Ok(LiabilityCap {
        cause_date: cause,
        from,
        to,
        cap: Yen::sum(counted.iter().map(|p| p.amount))?,
        payments: counted,
    })
}

/// An error computing the liability cap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiabilityError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Date(#[from] term::DateRangeError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// Art. 17-4, the TERMS.md example: 33,000 due 2027-05-31; paid 06-10 → 0;
    /// 06-11 → floor(33000 × 0.145 × 10 / 365) = 131; 06-12 → 144.
    #[test]
    fn art_17_4_late_interest_example() {
        let s = InterestSettings::default();
        let due = date(2027, 5, 31);
        let a = Yen::new(33_000);
        assert_eq!(
            late_interest(a, due, date(2027, 6, 10), &s).unwrap(),
            Yen::ZERO
        );
        assert_eq!(
            late_interest(a, due, date(2027, 6, 11), &s).unwrap(),
            Yen::new(131)
        );
        assert_eq!(
            late_interest(a, due, date(2027, 6, 12), &s).unwrap(),
            Yen::new(144)
        );
        assert_eq!(
            late_interest(a, due, date(2027, 5, 20), &s).unwrap(),
            Yen::ZERO
        );
    }

    /// Art. 17-4: a 365-day year even across a leap day: 100,000 due 2028-01-31, paid
    /// 2029-01-31: 365 days late (2028 is leap, 366 days in between) → interest for
    /// 365 days = floor(100000 × 0.145 × 365 / 365) = 14,500.
    #[test]
    fn art_17_4_365_day_year_in_leap_years() {
        let s = InterestSettings::default();
        let i = late_interest(Yen::new(100_000), date(2028, 1, 31), date(2029, 1, 31), &s);
        assert_eq!(i.unwrap(), Yen::new(14_500));
    }

    /// Art. 17-4: the rate and the grace days are settings (15 days for other
    /// carriers).
    #[test]
    fn art_17_4_rate_and_grace_are_settings() {
        let s = InterestSettings {
            rate: "10%".parse().unwrap(),
            grace_days: 15,
        };
        let due = date(2027, 5, 31);
        assert_eq!(interest_days(due, date(2027, 6, 15), &s), 0);
        assert_eq!(interest_days(due, date(2027, 6, 16), &s), 15);
        // floor(36500 × 0.10 × 15 / 365) = 150
        assert_eq!(
            late_interest(Yen::new(36_500), due, date(2027, 6, 16), &s).unwrap(),
            Yen::new(150)
        );
    }

    /// Art. 17-4 / Civil Code Art. 489: a payment goes to the interest billed on the
    /// invoice first, then to the principal; the interest it owes is on the principal
    /// part only.
    #[test]
    fn art_17_4_payments_settle_interest_lines_before_principal() {
        let s = InterestSettings::default();
        // Fee 30,000 + tax 3,000 + an earlier late-interest line of 131, due 07-31.
        let mut owed = Owed {
            total: Yen::new(33_131),
            interest_bearing: Yen::new(33_000),
            paid: Yen::ZERO,
            due: date(2026, 7, 31),
        };
        let a = apply_payment(&owed, Yen::new(200)).unwrap();
        assert_eq!(
            a,
            Applied {
                to_interest: Yen::new(131),
                to_principal: Yen::new(69),
                excess: Yen::ZERO
            }
        );
        owed.paid = Yen::new(200);
        let b = apply_payment(&owed, Yen::new(33_000)).unwrap();
        assert_eq!(
            b,
            Applied {
                to_interest: Yen::ZERO,
                to_principal: Yen::new(32_931),
                excess: Yen::new(69)
            }
        );
        // Paid the interest line alone, late: no interest on it.
        owed.paid = Yen::ZERO;
        let p = payment_interest(&owed, Yen::new(131), date(2026, 8, 20), &s).unwrap();
        assert_eq!((p.days, p.interest), (19, Yen::ZERO));
        // Then the whole fee 24 days late: the rate on all 33,000 for 24 days,
        // floor(33000 × 0.145 × 24 / 365) = 314.
        owed.paid = Yen::new(131);
        let p = payment_interest(&owed, Yen::new(33_000), date(2026, 8, 25), &s).unwrap();
        assert_eq!(p.applied.to_principal, Yen::new(33_000));
        assert_eq!((p.days, p.interest), (24, Yen::new(314)));
        // An invoice whose principal exceeds its total is impossible.
        let bad = Owed {
            interest_bearing: Yen::new(40_000),
            ..owed
        };
        assert!(matches!(
            apply_payment(&bad, Yen::new(1)),
            Err(MoneyError::Negative { .. })
        ));
    }

    /// Art. 17-3, the TERMS.md example: 50,000 evaded → surcharge 110,000 with tax.
    #[test]
    fn art_17_3_evasion_surcharge_example() {
        let ten = Rate::percent(10).unwrap();
        assert_eq!(
            evasion_surcharge(Yen::new(50_000)).unwrap(),
            Yen::new(100_000)
        );
        assert_eq!(
            evasion_surcharge_with_tax(Yen::new(50_000), ten).unwrap(),
            Yen::new(110_000)
        );
    }

    /// Art. 15-6: reinstallation 18,000 + handling 3,000 + 10 % tax = 23,100.
    #[test]
    fn art_15_6_damage_charges() {
        let ten = Rate::percent(10).unwrap();
        assert_eq!(
            damage_total(Yen::new(18_000), Yen::new(3_000), ten).unwrap(),
            Yen::new(23_100)
        );
    }

    /// Art. 18-5: payments received in [cause − 12 months, cause) count; one on the
    /// cause date or before the window does not.
    #[test]
    fn art_18_5_liability_cap_window() {
        let p = |y, m, d, a| Received {
            date: date(y, m, d),
            amount: Yen::new(a),
        };
        let payments = [
            p(2026, 3, 4, 1),      // before the window
            p(2026, 3, 5, 10),     // first day of the window
            p(2026, 6, 11, 100),   // inside
            p(2027, 3, 4, 1_000),  // last day of the window
            p(2027, 3, 5, 10_000), // the cause date itself: not before it
        ];
        assert_eq!(
            liability_cap(&payments, date(2027, 3, 5)).unwrap(),
            Yen::new(1_110)
        );
        let detail = liability_cap_detail(&payments, date(2027, 3, 5)).unwrap();
        assert_eq!(detail.payments.len(), 3);
        assert_eq!(detail.from, date(2026, 3, 5));
        assert_eq!(
            liability_window(date(2028, 2, 29)).unwrap().0,
            date(2027, 2, 28)
        );
    }
}
