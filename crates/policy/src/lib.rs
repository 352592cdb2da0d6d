//! The gateway policy: its model, validation (every diagnostic, not the first), the
//! compiler to nftables JSON (and later WireGuard and keepalived configuration), and an
//! evaluator that answers what the kernel must do with a given packet.
//!
//! Pure: no I/O, no clock, no processes. Input is text, output is values.
//!
//! The pipeline: [`check`] reads a TOML document into a [`Policy`] and all
//! [`Diagnostic`]s; [`compile`] turns a policy into an nftables ruleset (libnftables JSON
//! or `nft` text); [`eval`] answers what that ruleset does with one packet.

pub mod addr;
mod check;
mod compile;
mod diag;
mod eval;
pub mod generate;
pub mod model;
pub mod nft;

pub use check::{Checked, ListDecl, Lists, check, declared_lists, parse_list};
pub use compile::{
    Compiled, CounterInfo, LbError, LbUpdate, Mode, TABLE, compile, lb_chain, lb_update,
};
pub use diag::{Diagnostic, Severity};
pub use eval::{Dnat, EvalError, Health, Matched, Outcome, Packet, Proto, SnatOut, State, eval};
pub use model::*;
/// Re-exported so callers render compiled JSON with the same version.
pub use serde_json;
