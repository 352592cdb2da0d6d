//! Monthly fees with proration (Art. 17-2) and the early-termination lump sum
//! (Art. 10-2).

use jiff::civil::Date;

use crate::money::{MoneyError, Yen};
use crate::month::YearMonth;
use crate::term::{self, DateRangeError};

/// An error computing fees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Date(#[from] DateRangeError),
    #[error("the service period ends on {end}, before it starts on {start}")]
    EndBeforeStart { start: Date, end: Date },
}

/// Days of `month` within the service period `[start, end]` (both included; `end` is
/// `None` while the service runs on).
pub fn service_days_in_month(month: YearMonth, start: Date, end: Option<Date>) -> u32 {
    let from = start.max(month.first_day());
    let to = match end {
        Some(end) => end.min(month.last_day()),
        None => month.last_day(),
    };
    if to < from {
        0
    } else {
        u32::try_from(term::days_between(from, to) + 1).unwrap_or(0)
    }
}

/// Art. 17-2: the fee for `month` of a service running over `[start, end]`:
/// `floor(monthly × service days in the month / days in the month)`; the whole fee for
/// a full month, zero for a month without service.
pub fn month_fee(
    monthly: Yen,
    month: YearMonth,
    start: Date,
    end: Option<Date>,
) -> Result<Yen, MoneyError> {
    let days = service_days_in_month(month, start, end);
    if days == month.days() {
        return Ok(monthly);
    }
    monthly.mul_ratio_floor(u64::from(days), u64::from(month.days()))
}

/// The sum of the monthly fees (each prorated by [`month_fee`]) of the service
/// period `[start, end]`.
pub fn fees_for_period(monthly: Yen, start: Date, end: Date) -> Result<Yen, FeeError> {
    if end < start {
        return Err(FeeError::EndBeforeStart { start, end });
    }
    let mut total = Yen::ZERO;
    for m in YearMonth::of(start).through(YearMonth::of(end)) {
        total = total.checked_add(month_fee(monthly, m, start, Some(end))?)?;
    }
    Ok(total)
}

/// Art. 10-2 (TERMS.md decision): the lump sum due when the service that started on
/// `start` ends on `end` (its last day) before the minimum term is over:
/// (fees of the whole minimum term) − (fees of the days used), both prorated by month.
/// Zero when `end` is on or after the last day of the minimum term.
pub fn early_termination(monthly: Yen, start: Date, end: Date) -> Result<Yen, FeeError> {
    let term_end = term::minimum_term_end(start)?;
    if end >= term_end {
        return Ok(Yen::ZERO);
    }
    let whole = fees_for_period(monthly, start, term_end)?;
    let used = fees_for_period(monthly, start, end)?;
    Ok(whole.checked_sub(used)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// Art. 17-2, the TERMS.md example: monthly 30,000 from 2028-02-15 →
    /// floor(30000 × 15 / 29) = 15,517.
    #[test]
    fn art_17_2_proration_example() {
        let fee = month_fee(
            Yen::new(30_000),
            YearMonth::of(date(2028, 2, 1)),
            date(2028, 2, 15),
            None,
        )
        .unwrap();
        assert_eq!(fee, Yen::new(15_517));
    }

    /// Art. 17-2: both the first and the last day count; a full month is the whole
    /// fee; a month without service is zero.
    #[test]
    fn art_17_2_first_and_last_day_count() {
        let m = YearMonth::of(date(2026, 9, 1));
        let fee = |start, end| month_fee(Yen::new(30_000), m, start, end).unwrap().get();
        assert_eq!(fee(date(2026, 9, 20), Some(date(2026, 9, 20))), 1_000);
        assert_eq!(fee(date(2026, 4, 10), Some(date(2026, 9, 20))), 20_000);
        assert_eq!(fee(date(2026, 9, 1), None), 30_000);
        assert_eq!(fee(date(2026, 10, 1), None), 0);
        assert_eq!(fee(date(2026, 4, 1), Some(date(2026, 8, 31))), 0);
        // 31-day month, 10 days: floor(30000 × 10 / 31) = 9677.
        let oct = YearMonth::of(date(2026, 10, 1));
        assert_eq!(
            month_fee(Yen::new(30_000), oct, date(2026, 10, 22), None).unwrap(),
            Yen::new(9_677)
        );
    }

    /// Art. 10-2, the example: start 2026-04-10, 30,000 a month, end
    /// 2026-09-20. Whole term 2026-04-10..2027-04-09 = 21,000 + 11 × 30,000 + 9,000
    /// = 360,000; used = 21,000 + 4 × 30,000 + 20,000 = 161,000; lump 199,000.
    #[test]
    fn art_10_2_early_termination_example() {
        let m = Yen::new(30_000);
        let start = date(2026, 4, 10);
        assert_eq!(
            fees_for_period(m, start, date(2027, 4, 9)).unwrap(),
            Yen::new(360_000)
        );
        assert_eq!(
            fees_for_period(m, start, date(2026, 9, 20)).unwrap(),
            Yen::new(161_000)
        );
        assert_eq!(
            early_termination(m, start, date(2026, 9, 20)).unwrap(),
            Yen::new(199_000)
        );
    }

    /// Art. 10-2: nothing is due at or after the end of the minimum term; a start on
    /// the 1st gives exactly 12 months.
    #[test]
    fn art_10_2_no_lump_sum_after_the_minimum_term() {
        let m = Yen::new(30_000);
        assert_eq!(
            early_termination(m, date(2026, 4, 1), date(2027, 3, 31)).unwrap(),
            Yen::ZERO
        );
        assert_eq!(
            early_termination(m, date(2026, 4, 1), date(2028, 1, 15)).unwrap(),
            Yen::ZERO
        );
        assert_eq!(
            early_termination(m, date(2026, 4, 1), date(2027, 2, 28)).unwrap(),
            Yen::new(30_000)
        );
        assert_eq!(
            fees_for_period(m, date(2026, 4, 1), date(2027, 3, 31)).unwrap(),
            Yen::new(360_000)
        );
        assert!(fees_for_period(m, date(2026, 4, 2), date(2026, 4, 1)).is_err());
    }
}
