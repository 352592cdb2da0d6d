//! The gateway policy: its model, validation (every diagnostic, not the first), the
//! compiler to nftables JSON (and later WireGuard and keepalived configuration), and an
//! evaluator that answers what the kernel must do with a given packet.
//!
//! Pure: no I/O, no clock, no processes. Input is text, output is values.
