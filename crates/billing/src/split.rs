//! The split of one invoice that bills several contracts (one invoice per customer,
//! TERMS.md "Invoices") between those contracts: each contract's part of the total,
//! and of each payment. The liability cap (Art. 18-5) counts, for a contract, exactly
//! its part of every payment received.
//!
//! Exact integer arithmetic: products and sums in `u128`, parts rounded by the
//! largest-remainder method, so the parts always add up to the whole; an amount that
//! does not fit is an error, never a wrap or a clamp.

use crate::invoice::Invoice;
use crate::money::{MoneyError, Yen};

/// A split that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("nothing to split {amount} between: no parts")]
    NoParts { amount: Yen },
    #[error("the invoice has {lines} lines but {owners} owners were given")]
    Owners { lines: usize, owners: usize },
}

/// Splits `amount` in proportion to `weights`: part i is `floor(amount × wᵢ / Σw)`,
/// and the yen left over go one each to the largest remainders (ties to the first).
/// The parts add up to `amount` exactly, each is within one yen of its exact share,
/// and the same input gives the same parts. All of it goes to the first part when
/// every weight is zero; no weights at all is an error.
pub fn split_by_weight(amount: Yen, weights: &[Yen]) -> Result<Vec<Yen>, SplitError> {
    if weights.is_empty() {
        return Err(SplitError::NoParts { amount });
    }
    let total = weights
        .iter()
        .try_fold(0u128, |acc, w| acc.checked_add(u128::from(w.get())))
        .ok_or(MoneyError::Overflow)?;
    if total == 0 {
        let mut parts = vec![Yen::ZERO; weights.len()];
        parts[0] = amount;
        return Ok(parts);
    }
    let a = u128::from(amount.get());
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: u128 = 0;
    for (i, w) in weights.iter().enumerate() {
        // amount × w < 2^128: both are below 2^64.
        let product = a * u128::from(w.get());
        let part = product / total;
        given += part;
        parts.push(part);
        remainders.push((product % total, i));
    }
    // Σ floor(a·wᵢ/Σw) ≤ a, and a − Σ < number of parts.
    let mut left = a - given;
    remainders.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
        .into_iter()
        // Each part is at most `amount`.
        .map(|p| {
            u64::try_from(p)
                .map(Yen::new)
                .map_err(|_| MoneyError::Overflow)
        })
        .collect::<Result<_, _>>()
        .map_err(SplitError::from)
}

/// Each owner's part of an invoice's total: the owner's lines plus, for each tax rate,
/// its share of that rate's tax in proportion to its taxable lines at that rate
/// (Art. 17-1: the tax is computed once per rate on the invoice, so it is divided, not
/// recomputed). `owners[i]` owns `invoice.lines[i]`. Owners are listed in the order of
/// their first line; the parts add up to `invoice.total` exactly. An invoice without
/// lines has no parts.
pub fn invoice_parts<K: Copy + Eq>(
    invoice: &Invoice,
    owners: &[K],
) -> Result<Vec<(K, Yen)>, SplitError> {
    if owners.len() != invoice.lines.len() {
        return Err(SplitError::Owners {
            lines: invoice.lines.len(),
            owners: owners.len(),
        });
    }
    let mut keys: Vec<K> = Vec::new();
    let index = |keys: &mut Vec<K>, k: K| match keys.iter().position(|x| *x == k) {
        Some(i) => i,
        None => {
            keys.push(k);
            keys.len() - 1
        }
    };
    let mut parts: Vec<Yen> = Vec::new();
    for (line, owner) in invoice.lines.iter().zip(owners) {
        let i = index(&mut keys, *owner);
        if i == parts.len() {
            parts.push(Yen::ZERO);
        }
        parts[i] = parts[i].checked_add(line.amount)?;
    }
    for rate in &invoice.by_rate {
        let mut weights = vec![Yen::ZERO; keys.len()];
        for (line, owner) in invoice.lines.iter().zip(owners) {
            if line.taxable && line.rate == Some(rate.rate) {
                let i = index(&mut keys, *owner);
                weights[i] = weights[i].checked_add(line.amount)?;
            }
        }
        for (part, tax) in parts.iter_mut().zip(split_by_weight(rate.tax, &weights)?) {
            *part = part.checked_add(tax)?;
        }
    }
    Ok(keys.into_iter().zip(parts).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::{InvoiceLine, LineKind};
    use crate::money::Rate;
    use crate::month::YearMonth;
    use jiff::civil::date;

    /// Art. 18-5 with one invoice per customer: a payment of a combined invoice is
    /// allocated to the contracts in proportion to their parts of it.
    #[test]
    fn art_18_5_a_payment_splits_over_contracts_exactly() {
        let y = |v: &[u64]| v.iter().map(|x| Yen::new(*x)).collect::<Vec<_>>();
        let split = |a: u64, w: &[u64]| split_by_weight(Yen::new(a), &y(w)).unwrap();
        assert_eq!(split(44000, &[33000, 11000]), y(&[33000, 11000]));
        assert_eq!(split(10000, &[33000, 11000]), y(&[7500, 2500]));
        // 100 / 3: the remainder goes to the first, and the parts add up.
        assert_eq!(split(100, &[1, 1, 1]), y(&[34, 33, 33]));
        assert_eq!(split(5, &[0, 0]), y(&[5, 0]));
        assert_eq!(
            split(u64::MAX, &[u64::MAX, u64::MAX]),
            y(&[u64::MAX / 2 + 1, u64::MAX / 2])
        );
        assert_eq!(
            split_by_weight(Yen::new(5), &[]),
            Err(SplitError::NoParts {
                amount: Yen::new(5)
            })
        );
    }

    /// No overflow on huge inputs: lines that add up beyond `u64::MAX` (an invoice
    /// built by hand, not by `Invoice::new`) are an error, never a wrap or a panic.
    #[test]
    fn huge_lines_are_an_error_not_a_wrap() {
        let line = InvoiceLine {
            kind: LineKind::MonthlyFee,
            amount: Yen::new(u64::MAX),
            taxable: false,
            rate: None,
            date: date(2026, 4, 30),
        };
        let mut inv = Invoice::new(
            YearMonth::new(2026, 4).unwrap(),
            date(2026, 5, 1),
            date(2026, 5, 31),
            vec![line.clone()],
        )
        .unwrap();
        assert_eq!(
            invoice_parts(&inv, &[1]).unwrap(),
            vec![(1, Yen::new(u64::MAX))]
        );
        inv.lines.push(line);
        assert_eq!(
            invoice_parts(&inv, &[1, 1]),
            Err(SplitError::Money(MoneyError::Overflow))
        );
    }

    /// Art. 17-1 / 18-5: two contracts on one invoice at two rates: each rate's tax
    /// goes to the contracts by their taxable lines at that rate, and the parts add up
    /// to the total.
    #[test]
    fn art_18_5_invoice_parts_divide_each_rates_tax() {
        let ten = Rate::percent(10).unwrap();
        let eight = Rate::percent(8).unwrap();
        let line = |kind, amount, rate: Option<Rate>| InvoiceLine {
            kind,
            amount: Yen::new(amount),
            taxable: rate.is_some(),
            rate,
            date: date(2026, 4, 30),
        };
        let inv = Invoice::new(
            YearMonth::new(2026, 4).unwrap(),
            date(2026, 5, 1),
            date(2026, 5, 31),
            vec![
                line(LineKind::MonthlyFee, 30_000, Some(ten)),
                line(LineKind::MonthlyFee, 10_001, Some(eight)),
                line(LineKind::EarlyTermination, 5_000, None),
                line(LineKind::LateInterest, 131, None),
            ],
        )
        .unwrap();
        let parts = invoice_parts(&inv, &[7, 9, 9, 7]).unwrap();
        // 7: 30,000 + 3,000 (10 %) + 131; 9: 10,001 + 800 (8 %) + 5,000.
        assert_eq!(parts, vec![(7, Yen::new(33_131)), (9, Yen::new(15_801))]);
        assert_eq!(parts[0].1.get() + parts[1].1.get(), inv.total.get());
        assert_eq!(
            invoice_parts(&inv, &[7]),
            Err(SplitError::Owners {
                lines: 4,
                owners: 1
            })
        );
    }
}
