//! The gateway policy: its model, validation (every diagnostic, not the first), the
//! compiler to nftables JSON (and later WireGuard and keepalived configuration), and an
//! evaluator that answers what the kernel must do with a given packet.
//!
//! Pure: no I/O, no clock, no processes. Input is text, output is values.
//!
//! # Pipeline
//!
//! - [`check`] (or [`check_with`], which asks for external lists on demand) reads a TOML
//!   document into a [`Policy`] and all [`Diagnostic`]s (errors and warnings, each with
//!   line:column and a hint). There is a policy only when there is no error.
//! - [`management_gap`] says which of the operations center's addresses (known to the
//!   center, not to the document) a checked policy's `[management] center` leaves out,
//!   as a diagnostic at `center`: the center refuses such a revision, `mamori policy
//!   check --management` warns.
//! - [`compile`] turns a policy into one nftables table, `inet mamori`
//!   ([`Compiled::to_json`] for `nft -j -f`, [`Compiled::to_text`] for `nft -f`). Both
//!   replace the table atomically: apply either in one `nft` invocation.
//! - [`eval`] says what that table does with one [`Packet`]: verdict, the rule or system
//!   rule that decided, and any NAT. It is the specification of the compiled ruleset.
//!
//! # For the agent
//!
//! - Rule hits: named counters, listed in [`Compiled::counters`]: `rule_NAME` (or
//!   `rule-N` for the N-th `[[rules]]` entry without a name), `pf_NAME`, `lb_NAME`,
//!   `mgmt`. Read them with `nft -j list counters table inet mamori`. An apply recreates
//!   the table, which zeroes them: read them first, [`parse_counters`], and
//!   [`Compiled::keep_counters`] before rendering, so the new table starts where the old
//!   one was.
//! - Load-balancer health: each balancer has a chain `lb_NAME` holding one DNAT rule over
//!   the healthy backends. [`lb_update`] renders the transaction (text and JSON) that
//!   replaces it for a given healthy set; apply it with one `nft -f`. Backends come from
//!   [`LoadBalancer::backends`], checks from [`LoadBalancer::health`].
//! - Differential tests: [`generate::random_policy`] and [`generate::random_packet`]
//!   (seeded, reproducible) over a [`generate::GenConfig`] that names the testbed's
//!   interfaces and addresses; compare [`eval`] with what the kernel does. Load-balanced
//!   packets may go to any backend in [`Dnat::backends`]. [`generate::to_ipv6`] and
//!   [`generate::packet_to_ipv6`] turn a generated policy and its packets into their
//!   IPv6 twins (`2001:db8::/96` plus the IPv4 address).
//! - Benchmarks: [`generate::big_policy`] and [`Mode::Naive`] (one rule per object).

pub mod addr;
mod check;
mod compile;
mod diag;
mod diag_ja;
mod eval;
pub mod generate;
mod management;
pub mod model;
pub mod nft;

pub use check::{
    Checked, ListDecl, ListSource, Lists, check, check_with, declared_lists, parse_list,
};
pub use compile::{
    Compiled, CounterInfo, CountersError, FLOWTABLE, LbError, LbUpdate, Mode, TABLE, compile,
    lb_chain, lb_update, parse_counters,
};
pub use diag::{Diagnostic, Severity};
pub use eval::{Dnat, EvalError, Health, Matched, Outcome, Packet, Proto, SnatOut, State, eval};
pub use management::{ManagementGap, management_gap};
pub use model::*;
/// Re-exported so callers render compiled JSON with the same version.
pub use serde_json;
