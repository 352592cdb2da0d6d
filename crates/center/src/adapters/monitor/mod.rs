//! Monitoring's probes and receivers: they speak ICMP, SNMP, syslog, HTTPS, DNS, NTP,
//! SSH and SMTP, and hand what they measure or receive to the engine
//! (`mamori_monitor`) as its own types. What cannot be read is counted and dropped,
//! never a reason to stop. Time of day comes from the center's [`Clock`]; round-trip
//! times from the monotonic clock.
//!
//! [`Clock`]: mamori_center_model::clock::Clock

pub mod icmp;
pub mod probes;
pub mod snmp;
pub mod syslog;
pub mod trap;

use std::sync::atomic::{AtomicU64, Ordering};

/// What a receiver took and what it dropped.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages decoded and handed on.
    pub received: AtomicU64,
    /// Messages or packets that could not be read (dropped).
    pub malformed: AtomicU64,
    /// Messages cut to the size limit (handed on, flagged).
    pub truncated: AtomicU64,
    /// Messages decoded but dropped because the consumer was not keeping up (UDP).
    pub overflow: AtomicU64,
    /// Connections closed because their framing broke.
    pub broken_streams: AtomicU64,
}

impl Counters {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

fn timestamp(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}
