//! Calendar months: billing is per calendar month (Art. 17-2).

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A calendar month, written `2026-04`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    first: Date,
}

/// A month string that is not `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid month {text:?}: expected YYYY-MM, like \"2026-04\"")]
pub struct MonthError {
    pub text: String,
}

impl YearMonth {
    /// The month that contains `date`.
    pub fn of(date: Date) -> YearMonth {
        YearMonth {
            first: date.first_of_month(),
        }
    }

    pub fn new(year: i16, month: i8) -> Option<YearMonth> {
        Date::new(year, month, 1)
            .ok()
            .map(|first| YearMonth { first })
    }

    pub fn year(self) -> i16 {
        self.first.year()
    }

    pub fn month(self) -> i8 {
        self.first.month()
    }

    pub fn first_day(self) -> Date {
        self.first
    }

    pub fn last_day(self) -> Date {
        self.first.last_of_month()
    }

    pub fn days(self) -> u32 {
        self.first.days_in_month().unsigned_abs().into()
    }

    /// The following month; `None` after 9999-12.
    pub fn next(self) -> Option<YearMonth> {
        self.last_day().tomorrow().ok().map(YearMonth::of)
    }

    /// The `n`-th month after this one; `None` out of range.
    pub fn plus(self, n: u32) -> Option<YearMonth> {
        let mut m = self;
        for _ in 0..n {
            m = m.next()?;
        }
        Some(m)
    }

    /// Day `day` of this month, or its last day when the month is shorter.
    pub fn day_clamped(self, day: u8) -> Date {
        let d = i8::try_from(day.max(1))
            .unwrap_or(i8::MAX)
            .min(self.first.days_in_month());
        Date::new(self.year(), self.month(), d).unwrap_or(self.last_day())
    }

    /// Months from `self` to `last`, both included (empty when `last` is earlier).
    pub fn through(self, last: YearMonth) -> impl Iterator<Item = YearMonth> {
        let mut next = Some(self);
        std::iter::from_fn(move || {
            let m = next.filter(|m| *m <= last)?;
            next = m.next();
            Some(m)
        })
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl FromStr for YearMonth {
    type Err = MonthError;

    fn from_str(s: &str) -> Result<YearMonth, MonthError> {
        let err = || MonthError {
            text: s.to_string(),
        };
        let (y, m) = s.split_once('-').ok_or_else(err)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()))
        {
            return Err(err());
        }
        let y: i16 = y.parse().map_err(|_| err())?;
        let m: i8 = m.parse().map_err(|_| err())?;
        YearMonth::new(y, m).ok_or_else(err)
    }
}

impl Serialize for YearMonth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<YearMonth, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn months_parse_print_and_iterate() {
        let m: YearMonth = "2026-04".parse().unwrap();
        assert_eq!(m.to_string(), "2026-04");
        assert_eq!(m.days(), 30);
        assert_eq!(YearMonth::of(date(2028, 2, 15)).days(), 29);
        for bad in [
            "2026-13", "2026-4", "26-04", "2026/04", "2026-00", "", "abcd-ef",
        ] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad:?}");
        }
        let months: Vec<String> = m
            .through("2027-01".parse().unwrap())
            .map(|m| m.to_string())
            .collect();
        assert_eq!(months.len(), 10);
        assert_eq!(months.last().unwrap(), "2027-01");
        assert_eq!(m.day_clamped(31), date(2026, 4, 30));
        assert_eq!(m.plus(10).unwrap().to_string(), "2027-02");
    }
}
