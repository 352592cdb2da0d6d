//! The gateway agent: enrolment, reconciliation towards the desired configuration with
//! safe apply (apply, verify, confirm or roll back), and telemetry. Everything that runs
//! `nft`, `ip`, `wg` or a daemon lives behind the traits of the `host` module.
