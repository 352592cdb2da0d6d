//! Consumption tax (Art. 17-1): rates with their validity dates, and the tax of an
//! invoice computed once per rate on the sum of that rate's lines (the qualified
//! invoice rule; per-line rounding is not allowed).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::money::{MoneyError, Rate, Yen};

/// One consumption-tax rate and the first day it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    /// First day (included) on which this rate applies; it applies until the next
    /// rate's `from`.
    pub from: Date,
    pub rate: Rate,
}

/// The rates of consumption tax over time, sorted by `from`, with no two on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxTable {
    rates: Vec<TaxRate>,
}

/// A tax table that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    #[error("the tax-rate table is empty")]
    Empty,
    #[error("two tax rates start on the same day, {0}")]
    DuplicateDate(Date),
    #[error("no consumption-tax rate applies on {date}: the first rate starts on {first}")]
    NoRate { date: Date, first: Date },
}

impl TaxTable {
    /// A table from rates in any order; two rates may not start on the same day.
    pub fn new(mut rates: Vec<TaxRate>) -> Result<TaxTable, TaxError> {
        if rates.is_empty() {
            return Err(TaxError::Empty);
        }
        rates.sort_by_key(|r| r.from);
        if let Some(w) = rates.windows(2).find(|w| w[0].from == w[1].from) {
            return Err(TaxError::DuplicateDate(w[0].from));
        }
        Ok(TaxTable { rates })
    }

    /// Japan's standard rates: 3 % from 1989-04-01, 5 % from 1997-04-01, 8 % from
    /// 2014-04-01, 10 % from 2019-10-01.
    pub fn japan_standard() -> TaxTable {
        let r = |y, m, d, p| TaxRate {
            from: jiff::civil::date(y, m, d),
            rate: Rate::whole_percent_const(p),
        };
        TaxTable {
            rates: vec![
                r(1989, 4, 1, 3),
                r(1997, 4, 1, 5),
                r(2014, 4, 1, 8),
                r(2019, 10, 1, 10),
            ],
        }
    }

    pub fn rates(&self) -> &[TaxRate] {
        &self.rates
    }

    /// The rate that applies on `date`.
    pub fn rate_on(&self, date: Date) -> Result<Rate, TaxError> {
        self.rates
            .iter()
            .rev()
            .find(|r| r.from <= date)
            .map(|r| r.rate)
            .ok_or(TaxError::NoRate {
                date,
                first: self.rates[0].from,
            })
    }
}

/// The taxable subtotal and the tax of one rate on one invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    pub rate: Rate,
    pub taxable_subtotal: Yen,
    /// `floor(rate × taxable_subtotal)`.
    pub tax: Yen,
}

/// Art. 17-1 / qualified-invoice rule: groups taxable amounts by rate and computes the
/// tax once per rate on each group's sum, rounded down. Sorted by rate.
pub fn tax_by_rate<I>(taxable: I) -> Result<Vec<RateTotal>, MoneyError>
where
    I: IntoIterator<Item = (Rate, Yen)>,
{
    let mut groups: std::collections::BTreeMap<Rate, Yen> = Default::default();
    for (rate, amount) in taxable {
        let e = groups.entry(rate).or_default();
        *e = e.checked_add(amount)?;
    }
    groups
        .into_iter()
        .map(|(rate, taxable_subtotal)| {
            Ok(RateTotal {
                rate,
                taxable_subtotal,
                tax: taxable_subtotal.tax_at(rate)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// Art. 17-1: rates have validity dates; the rate of a day is the latest one that
    /// started on or before it.
    #[test]
    fn art_17_1_rates_by_date() {
        let t = TaxTable::japan_standard();
        assert_eq!(
            t.rate_on(date(2019, 9, 30)).unwrap(),
            Rate::percent(8).unwrap()
        );
        assert_eq!(
            t.rate_on(date(2019, 10, 1)).unwrap(),
            Rate::percent(10).unwrap()
        );
        assert_eq!(
            t.rate_on(date(2026, 4, 1)).unwrap(),
            Rate::percent(10).unwrap()
        );
        assert!(matches!(
            t.rate_on(date(1989, 3, 31)),
            Err(TaxError::NoRate { .. })
        ));
        let dup = TaxTable::new(vec![
            TaxRate {
                from: date(2030, 1, 1),
                rate: Rate::percent(12).unwrap(),
            },
            TaxRate {
                from: date(2030, 1, 1),
                rate: Rate::percent(10).unwrap(),
            },
        ]);
        assert_eq!(dup, Err(TaxError::DuplicateDate(date(2030, 1, 1))));
        assert_eq!(TaxTable::new(vec![]), Err(TaxError::Empty));
    }

    /// Art. 17-1: tax once per invoice per rate, on the sum, rounded down; rounding
    /// each line would give a different (wrong) figure here.
    #[test]
    fn art_17_1_tax_once_per_rate_not_per_line() {
        let ten = Rate::percent(10).unwrap();
        let eight = Rate::percent(8).unwrap();
        let lines = [
            (ten, Yen::new(15)),
            (ten, Yen::new(15)),
            (eight, Yen::new(99)),
        ];
        let totals = tax_by_rate(lines).unwrap();
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[0].rate, eight);
        assert_eq!(totals[0].tax, Yen::new(7));
        assert_eq!(totals[1].taxable_subtotal, Yen::new(30));
        // per line: floor(1.5) + floor(1.5) = 2; per invoice: floor(3.0) = 3
        assert_eq!(totals[1].tax, Yen::new(3));
    }
}
