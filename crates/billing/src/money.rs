//! Money and rates: integer yen with checked arithmetic, and rates in basis points.
//!
//! Every computed charge is rounded **down** to the yen (TERMS.md, Art. 17). Products
//! and ratios are computed in `u128`, so no intermediate step overflows for any amount
//! up to `u64::MAX` yen; only a result that does not fit in a `Yen` is an error.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An amount of money in integer yen, never negative.
///
/// Arithmetic is checked: an overflow or a negative result is a [`MoneyError`], never a
/// wrap or a panic. Serialized as a plain integer.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Yen(u64);

/// An arithmetic error on money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflow: the result exceeds {max} yen", max = u64::MAX)]
    Overflow,
    #[error("negative amount: {minuend} yen minus {subtrahend} yen")]
    Negative { minuend: u64, subtrahend: u64 },
    #[error("division by zero")]
    DivisionByZero,
    /// A signed integer (e.g. a database column) that is not an amount of yen.
    #[error("{0} is not an amount of yen: amounts are never negative")]
    NotAnAmount(i64),
    /// An amount too large for a signed 64-bit integer (e.g. a database column).
    #[error("{0} yen does not fit in a signed 64-bit integer")]
    TooLargeForI64(u64),
}

impl Yen {
    pub const ZERO: Yen = Yen(0);

    pub const fn new(yen: u64) -> Yen {
        Yen(yen)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    pub fn checked_add(self, other: Yen) -> Result<Yen, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Yen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Yen) -> Result<Yen, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Yen)
            .ok_or(MoneyError::Negative {
                minuend: self.0,
                subtrahend: other.0,
            })
    }

    /// `self - other`, or zero when `other` is larger.
    pub fn saturating_sub(self, other: Yen) -> Yen {
        Yen(self.0.saturating_sub(other.0))
    }

    pub fn checked_mul(self, factor: u64) -> Result<Yen, MoneyError> {
        self.0
            .checked_mul(factor)
            .map(Yen)
            .ok_or(MoneyError::Overflow)
    }

    /// `floor(self × numerator / denominator)`, computed exactly in 128 bits.
    pub fn mul_ratio_floor(self, numerator: u64, denominator: u64) -> Result<Yen, MoneyError> {
        if denominator == 0 {
            return Err(MoneyError::DivisionByZero);
        }
        let product = u128::from(self.0) * u128::from(numerator);
        u64::try_from(product / u128::from(denominator))
            .map(Yen)
            .map_err(|_| MoneyError::Overflow)
    }

    /// Sum of amounts, checked.
    pub fn sum<I: IntoIterator<Item = Yen>>(items: I) -> Result<Yen, MoneyError> {
        items
            .into_iter()
            .try_fold(Yen::ZERO, |acc, y| acc.checked_add(y))
    }

    /// Tax on this amount at `rate`, rounded down.
    pub fn tax_at(self, rate: Rate) -> Result<Yen, MoneyError> {
        self.mul_ratio_floor(u64::from(rate.basis_points()), Rate::BASIS)
    }

    /// The amount a signed 64-bit integer holds (a database column): an error for a
    /// negative value, never a fallback to zero.
    pub fn from_i64(v: i64) -> Result<Yen, MoneyError> {
        u64::try_from(v)
            .map(Yen)
            .map_err(|_| MoneyError::NotAnAmount(v))
    }

    /// This amount as a signed 64-bit integer (a database column): an error above
    /// `i64::MAX`, never a clamp.
    pub fn to_i64(self) -> Result<i64, MoneyError> {
        i64::try_from(self.0).map_err(|_| MoneyError::TooLargeForI64(self.0))
    }

    /// The Japanese form: `¥1,234`.
    pub fn ja(self) -> String {
        format!("¥{}", group_thousands(self.0))
    }

    /// The English form: `JPY 1,234`.
    pub fn en(self) -> String {
        format!("JPY {}", group_thousands(self.0))
    }
}

impl fmt::Display for Yen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} yen", self.0)
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed amount of yen: what is still owed on an invoice (`owed − paid`), negative
/// when more was paid than owed (a credit). Never clamped: a negative balance shows its
/// sign (`-¥500`, `JPY -500`), so an overpayment cannot pass for a settled invoice.
/// Kept as the two amounts it is the difference of, so every figure is exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Balance {
    owed: Yen,
    paid: Yen,
}

impl Balance {
    pub const ZERO: Balance = Balance {
        owed: Yen::ZERO,
        paid: Yen::ZERO,
    };

    /// `owed − paid`.
    pub fn of(owed: Yen, paid: Yen) -> Balance {
        Balance { owed, paid }
    }

    /// The signed value in yen (any difference of two amounts fits in 128 bits).
    pub fn get(self) -> i128 {
        i128::from(self.owed.0) - i128::from(self.paid.0)
    }

    pub fn is_negative(self) -> bool {
        self.paid > self.owed
    }

    /// What is still to pay: the balance when it is positive, else zero.
    pub fn owed(self) -> Yen {
        self.owed.saturating_sub(self.paid)
    }

    /// What was paid beyond the amount owed: minus the balance when it is negative,
    /// else zero.
    pub fn credit(self) -> Yen {
        self.paid.saturating_sub(self.owed)
    }

    /// The sign and the size of the balance.
    fn parts(self) -> (&'static str, String) {
        if self.is_negative() {
            ("-", group_thousands(self.credit().0))
        } else {
            ("", group_thousands(self.owed().0))
        }
    }

    /// The Japanese form: `¥1,234`, `-¥1,234`.
    pub fn ja(self) -> String {
        let (sign, size) = self.parts();
        format!("{sign}¥{size}")
    }

    /// The English form: `JPY 1,234`, `JPY -1,234`.
    pub fn en(self) -> String {
        let (sign, size) = self.parts();
        format!("JPY {sign}{size}")
    }
}

impl fmt::Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} yen", self.get())
    }
}

/// A rate (tax or interest) in basis points: 1 bp = 0.01 %, so 10 % = 1000 bp and
/// 14.5 % = 1450 bp. Written and read as a percentage string, `"14.5%"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(u32);

/// A rate string that is not a percentage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid rate {text:?}: expected a percentage with at most two decimals between 0% and 100%, like \"10%\" or \"14.5%\""
)]
pub struct RateError {
    pub text: String,
}

impl Rate {
    /// Basis points in 100 %.
    pub const BASIS: u64 = 10_000;

    /// A rate of `bp` basis points; `None` above 100 %.
    pub const fn from_basis_points(bp: u32) -> Option<Rate> {
        if bp as u64 <= Rate::BASIS {
            Some(Rate(bp))
        } else {
            None
        }
    }

    /// A whole percentage, e.g. `Rate::percent(10)`; `None` above 100 %.
    pub const fn percent(p: u32) -> Option<Rate> {
        if p <= 100 { Some(Rate(p * 100)) } else { None }
    }

    /// A whole percentage for the crate's own constants (at most 100 by construction).
    pub(crate) const fn whole_percent_const(p: u8) -> Rate {
        let p = if p > 100 { 100 } else { p as u32 };
        Rate(p * 100)
    }

    pub const fn basis_points(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let frac = self.0 % 100;
        if frac == 0 {
            write!(f, "{whole}%")
        } else if frac.is_multiple_of(10) {
            write!(f, "{whole}.{}%", frac / 10)
        } else {
            write!(f, "{whole}.{frac:02}%")
        }
    }
}

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(s: &str) -> Result<Rate, RateError> {
        let err = || RateError {
            text: s.to_string(),
        };
        let body = s.trim().strip_suffix('%').ok_or_else(err)?;
        let (whole, frac) = match body.split_once('.') {
            Some((w, f)) => (w, f),
            None => (body, ""),
        };
        let digits =
            |t: &str| !t.is_empty() && t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        if body.contains('.') && frac.is_empty() {
            return Err(err());
        }
        let whole: u32 = whole.parse().map_err(|_| err())?;
        let frac: u32 = match frac.len() {
            0 => 0,
            1 => frac.parse::<u32>().map_err(|_| err())? * 10,
            _ => frac.parse().map_err(|_| err())?,
        };
        Rate::from_basis_points(whole * 100 + frac).ok_or_else(err)
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        for (text, bp, shown) in [
            ("10%", 1000, "10%"),
            ("14.5%", 1450, "14.5%"),
            ("8%", 800, "8%"),
            ("0.25%", 25, "0.25%"),
            ("100%", 10000, "100%"),
            ("0%", 0, "0%"),
        ] {
            let r: Rate = text.parse().unwrap();
            assert_eq!(r.basis_points(), bp, "{text}");
            assert_eq!(r.to_string(), shown);
        }
        for bad in [
            "10", "%", "10.%", "1.234%", "101%", "-1%", "ten%", "1e2%", "",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn yen_formats_in_japanese_and_english() {
        assert_eq!(Yen::new(1234).ja(), "¥1,234");
        assert_eq!(Yen::new(0).ja(), "¥0");
        assert_eq!(Yen::new(999).en(), "JPY 999");
        assert_eq!(Yen::new(1_000_000).ja(), "¥1,000,000");
        assert_eq!(Yen::new(221_000).en(), "JPY 221,000");
    }

    /// A balance keeps its sign: an overpaid invoice is a credit, never ¥0.
    #[test]
    fn balances_show_their_sign() {
        let b = Balance::of(Yen::new(33_000), Yen::new(33_500));
        assert_eq!(b.get(), -500);
        assert!(b.is_negative());
        assert_eq!((b.owed(), b.credit()), (Yen::ZERO, Yen::new(500)));
        assert_eq!(
            (b.ja(), b.en()),
            ("-¥500".to_string(), "JPY -500".to_string())
        );
        let b = Balance::of(Yen::new(1_234_567), Yen::new(0));
        assert_eq!(
            (b.ja(), b.en()),
            ("¥1,234,567".into(), "JPY 1,234,567".into())
        );
        assert_eq!((b.owed(), b.credit()), (Yen::new(1_234_567), Yen::ZERO));
        let extreme = Balance::of(Yen::ZERO, Yen::new(u64::MAX));
        assert_eq!(extreme.credit(), Yen::new(u64::MAX));
        assert_eq!(extreme.ja(), "-¥18,446,744,073,709,551,615");
        assert_eq!(
            Balance::of(Yen::new(u64::MAX), Yen::ZERO).owed(),
            Yen::new(u64::MAX)
        );
    }

    /// Signed 64-bit integers (database columns) convert both ways, checked.
    #[test]
    fn conversions_to_and_from_i64_are_checked() {
        assert_eq!(Yen::from_i64(33_000), Ok(Yen::new(33_000)));
        assert_eq!(Yen::from_i64(-1), Err(MoneyError::NotAnAmount(-1)));
        assert_eq!(Yen::new(i64::MAX as u64).to_i64(), Ok(i64::MAX));
        assert_eq!(
            Yen::new(i64::MAX as u64 + 1).to_i64(),
            Err(MoneyError::TooLargeForI64(i64::MAX as u64 + 1))
        );
    }

    #[test]
    fn checked_arithmetic_reports_instead_of_wrapping() {
        assert_eq!(
            Yen::new(u64::MAX).checked_add(Yen::new(1)),
            Err(MoneyError::Overflow)
        );
        assert!(matches!(
            Yen::new(1).checked_sub(Yen::new(2)),
            Err(MoneyError::Negative { .. })
        ));
        assert_eq!(
            Yen::new(5).mul_ratio_floor(1, 0),
            Err(MoneyError::DivisionByZero)
        );
        // 10^12 × 10^4 does not fit in 64 bits but the ratio is exact in 128.
        let big = Yen::new(1_000_000_000_000);
        assert_eq!(big.mul_ratio_floor(10_000, 10_000), Ok(big));
        assert_eq!(
            big.tax_at(Rate::percent(10).unwrap()),
            Ok(Yen::new(100_000_000_000))
        );
    }
}
