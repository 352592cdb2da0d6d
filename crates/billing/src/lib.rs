//! Contracts and money exactly as the service terms say: minimum term, cancellation,
//! monthly invoices with proration, consumption tax per invoice and rate, late-payment
//! interest, evasion surcharges, damage charges and the liability cap.
//!
//! Pure: no I/O and no clock; today's date is always an argument. Money is integer yen.
