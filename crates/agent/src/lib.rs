//! The gateway agent: enrolment, reconciliation towards the desired configuration with
//! safe apply (apply, verify, confirm or roll back), reports to the center, and drift
//! checks. Everything that runs a process (`nft`, probes) lives in the `host` module.
//!
//! - [`safe_apply`]: the pure state machine of apply / confirm / roll back (time as a value);
//! - [`standalone`]: its executor over a state directory and the nft adapter;
//! - [`lb`]: load-balancer backend health (the map update is the policy crate's);
//! - [`policy_file`]: reading, checking and compiling a policy document from disk;
//! - [`host`]: the adapters that run processes and open sockets (`nft`, health checks).

pub mod client;
pub mod drift;
pub mod duration;
pub mod enrol;
pub mod host;
pub mod lb;
pub mod policy_file;
pub mod queue;
pub mod reconcile;
pub mod safe_apply;
pub mod settings;
pub mod standalone;
pub mod state;
