//! The monitoring engine, pure and sans-IO: it decodes what the probes and receivers
//! hand it (syslog messages and their TCP framings, SNMP notifications already taken
//! off the wire), keeps the schedule and the state of every check, turns events into
//! incident and notification intents, and downsamples time series. It opens no socket,
//! starts no process and reads no clock: time comes in as a value.

pub mod check;
pub mod framing;
pub mod incident;
pub mod metrics;
pub mod probe;
pub mod rollup;
pub mod schedule;
pub mod syslog;
pub mod trap;
