//! Periods of the contract: the minimum term (Art. 10-1) and the customer's
//! cancellation notice (Art. 11-1).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A date computation that left the supported calendar range (years -9999..=9999).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("date out of range: {what} from {from}")]
pub struct DateRangeError {
    pub what: &'static str,
    pub from: Date,
}

/// Whole days from `a` to `b` (negative when `b` is before `a`).
pub fn days_between(a: Date, b: Date) -> i64 {
    a.duration_until(b).as_secs() / 86_400
}

/// `date + days`, checked.
pub fn add_days(date: Date, days: i64) -> Result<Date, DateRangeError> {
    date.checked_add(
        jiff::Span::new()
            .try_days(days)
            .map_err(|_| DateRangeError {
                what: "adding days",
                from: date,
            })?,
    )
    .map_err(|_| DateRangeError {
        what: "adding days",
        from: date,
    })
}

/// The last day of a period of `years` years that starts on `start` (counted as day 1),
/// by Civil Code Art. 143-2: the period ends on the day before the day with the same
/// number `years` later; when that month has no such day, at the end of that month.
pub fn end_of_years_from(start: Date, years: i16) -> Result<Date, DateRangeError> {
    let err = DateRangeError {
        what: "the end of a yearly period",
        from: start,
    };
    let year = start.year().checked_add(years).ok_or_else(|| err.clone())?;
    let first = Date::new(year, start.month(), 1).map_err(|_| err.clone())?;
    if start.day() > first.days_in_month() {
        // No corresponding day (29 February into a common year): end of that month.
        return Ok(first.last_of_month());
    }
    let corresponding = Date::new(year, start.month(), start.day()).map_err(|_| err.clone())?;
    corresponding.yesterday().map_err(|_| err)
}

/// Art. 10-1: the last day of the one-year minimum term of a service that starts on
/// `start`. `2026-04-01 → 2027-03-31`, `2028-02-29 → 2029-02-28`,
/// `2028-03-01 → 2029-02-28`.
pub fn minimum_term_end(start: Date) -> Result<Date, DateRangeError> {
    end_of_years_from(start, 1)
}

/// Days of notice the customer gives before the end date (Art. 11-1).
pub const CANCELLATION_NOTICE_DAYS: i64 = 30;

/// Art. 11-1: the earliest end date allowed by a notice received on `notice`:
/// `notice + 30 days` (TERMS.md decision).
pub fn earliest_cancellation_end(notice: Date) -> Result<Date, DateRangeError> {
    add_days(notice, CANCELLATION_NOTICE_DAYS)
}

/// The outcome of a cancellation notice (Art. 11-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    /// When the provider received the notice.
    pub notice_date: Date,
    /// The end date the customer asked for.
    pub requested_end: Date,
    /// The earliest end date the notice allows (`notice_date + 30 days`).
    pub earliest_end: Date,
    /// The last day of service: the requested date, or the earliest allowed date when
    /// the request was too early.
    pub end: Date,
    /// True when the requested date was too early and was moved: the customer must be
    /// told so.
    pub moved: bool,
}

/// Art. 11-1: resolves a cancellation notice received on `notice` asking to end on
/// `requested_end`. A date earlier than `notice + 30 days` moves to that date.
pub fn cancel(notice: Date, requested_end: Date) -> Result<Cancellation, DateRangeError> {
    let earliest_end = earliest_cancellation_end(notice)?;
    let moved = requested_end < earliest_end;
    Ok(Cancellation {
        notice_date: notice,
        requested_end,
        earliest_end,
        end: if moved { earliest_end } else { requested_end },
        moved,
    })
}

/// The latest day a notice can be received for the service to end on `end`
/// (`end − 30 days`, Art. 11-1).
pub fn latest_notice_for(end: Date) -> Result<Date, DateRangeError> {
    add_days(end, -CANCELLATION_NOTICE_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// Art. 10-1 with Civil Code Art. 143-2, the worked examples of TERMS.md.
    #[test]
    fn art_10_1_minimum_term_examples() {
        assert_eq!(
            minimum_term_end(date(2026, 4, 1)).unwrap(),
            date(2027, 3, 31)
        );
        assert_eq!(
            minimum_term_end(date(2028, 2, 29)).unwrap(),
            date(2029, 2, 28)
        );
        assert_eq!(
            minimum_term_end(date(2028, 3, 1)).unwrap(),
            date(2029, 2, 28)
        );
    }

    /// Art. 10-1: more cases, including a start in the middle of the month and a term
    /// that ends in a leap February.
    #[test]
    fn art_10_1_minimum_term_more_cases() {
        assert_eq!(
            minimum_term_end(date(2026, 4, 10)).unwrap(),
            date(2027, 4, 9)
        );
        assert_eq!(
            minimum_term_end(date(2027, 3, 1)).unwrap(),
            date(2028, 2, 29)
        );
        assert_eq!(
            minimum_term_end(date(2027, 2, 28)).unwrap(),
            date(2028, 2, 27)
        );
        assert_eq!(
            minimum_term_end(date(2026, 1, 1)).unwrap(),
            date(2026, 12, 31)
        );
        assert_eq!(
            minimum_term_end(date(2026, 12, 31)).unwrap(),
            date(2027, 12, 30)
        );
        assert!(minimum_term_end(date(9999, 6, 1)).is_err());
    }

    /// Art. 11-1: notice on N allows an end on N + 30 or later; the TERMS.md example
    /// (end 2027-03-31 needs notice by 2027-03-01).
    #[test]
    fn art_11_1_cancellation_notice() {
        assert_eq!(
            latest_notice_for(date(2027, 3, 31)).unwrap(),
            date(2027, 3, 1)
        );
        assert_eq!(
            earliest_cancellation_end(date(2027, 3, 1)).unwrap(),
            date(2027, 3, 31)
        );
        let ok = cancel(date(2027, 3, 1), date(2027, 3, 31)).unwrap();
        assert_eq!(ok.end, date(2027, 3, 31));
        assert!(!ok.moved);
        let late = cancel(date(2027, 3, 2), date(2027, 3, 31)).unwrap();
        assert_eq!(late.end, date(2027, 4, 1));
        assert!(late.moved);
        let later = cancel(date(2026, 8, 1), date(2026, 9, 20)).unwrap();
        assert_eq!(later.end, date(2026, 9, 20));
        assert_eq!(later.earliest_end, date(2026, 8, 31));
    }
}
