//! Contracts and money exactly as the service terms say: minimum term, cancellation,
//! monthly invoices with proration, consumption tax per invoice and rate, late-payment
//! interest, evasion surcharges, damage charges and the liability cap.
//!
//! Pure: no I/O and no clock; today's date is always an argument. Money is integer yen
//! ([`Yen`]), dates are `jiff` civil dates. Each rule names its article of the terms
//! ("Art. N-M", see `TERMS.md`) in its doc and in the test that checks it.
//!
//! - [`term`]: minimum term (Art. 10-1), cancellation notice (Art. 11-1);
//! - [`fees`]: proration (Art. 17-2), early termination (Art. 10-2);
//! - [`tax`]: consumption-tax rates and per-invoice, per-rate tax (Art. 17-1);
//! - [`charges`]: late interest (Art. 17-4) and how a payment is applied, evasion
//!   (Art. 17-3), damage (Art. 15-6), liability cap (Art. 18-5);
//! - [`contract`]: contracts, refusal (Art. 8-2) and termination reasons (Art. 12);
//! - [`invoice`]: invoices, lines, payments, invoice settings;
//! - [`plan`]: the monthly invoice run as a plan (which invoices, lines, numbers);
//! - [`split`]: a combined invoice's total and payments divided between contracts;
//! - [`document`]: an invoice as a qualified-invoice document, Japanese or English;
//! - [`scenario`] and [`simulate`]: `mamori billing simulate`.

pub mod charges;
pub mod contract;
pub mod document;
pub mod fees;
pub mod invoice;
pub mod money;
pub mod month;
pub mod plan;
pub mod scenario;
pub mod simulate;
pub mod split;
pub mod tax;
pub mod term;

pub use money::{Balance, MoneyError, Rate, Yen};
pub use month::YearMonth;
