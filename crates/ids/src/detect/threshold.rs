//! `threshold` and `detection_filter` state, keyed per rule and by source, destination,
//! both, the flow or the rule alone, with Suricata's counting semantics. Time is the
//! packet time (seconds granularity, as Suricata counts).

use super::Input;
use crate::rules::{Threshold, ThresholdKind, Track, UniqueOn};
use std::collections::HashMap;
use std::net::IpAddr;

/// Entries kept before expired ones are pruned.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Rule,
    Ip(IpAddr),
    Pair(IpAddr, IpAddr),
    Flow(u64),
}

#[derive(Debug, Clone)]
struct Entry {
    first_sec: i64,
    count: u32,
    seconds: u32,
    /// Ports already counted (`unique_on`).
    seen: Vec<u16>,
    /// `backoff`: the match count that alerts next (`count`, then times `multiplier`).
    next: u64,
}

/// Distinct ports remembered per entry for `unique_on`.
const MAX_UNIQUE: usize = 65_536;

#[derive(Debug, Default)]
pub struct Thresholds {
    /// (rule index, is detection_filter, key) → state.
    map: HashMap<(u32, bool, Key), Entry>,
}

impl Thresholds {
    /// Counts one match of rule `idx` and says whether it may alert.
    pub fn allows(&mut self, idx: u32, th: &Threshold, input: &Input<'_>) -> bool {
        let key = match th.track {
            Track::BySrc => Key::Ip(input.src_ip),
            Track::ByDst => Key::Ip(input.dst_ip),
            Track::ByBoth => Key::Pair(input.src_ip, input.dst_ip),
            Track::ByRule => Key::Rule,
            Track::ByFlow => Key::Flow(input.flow_id),
        };
        let now = input.ts_micros.div_euclid(1_000_000);
        if self.map.len() >= MAX_ENTRIES {
            self.map
                .retain(|_, e| now.saturating_sub(e.first_sec) < i64::from(e.seconds));
        }
        let df = th.kind == ThresholdKind::DetectionFilter;
        let e = self.map.entry((idx, df, key)).or_insert(Entry {
            first_sec: now,
            count: 0,
            seconds: th.seconds,
            seen: Vec::new(),
            next: u64::from(th.count),
        });
        let within = now.saturating_sub(e.first_sec) < i64::from(th.seconds);
        if !within {
            e.first_sec = now;
            e.count = 0;
            e.seen.clear();
        }
        if let Some(u) = th.unique_on {
            let port = input.ports().map(|(s, d)| match u {
                UniqueOn::SrcPort => s,
                UniqueOn::DstPort => d,
            });
            if let Some(p) = port {
                match e.seen.binary_search(&p) {
                    Ok(_) => return false,
                    Err(i) if e.seen.len() < MAX_UNIQUE => e.seen.insert(i, p),
                    Err(_) => {}
                }
            }
        }
        e.count = e.count.saturating_add(1);
        match th.kind {
            // The first `count` matches of each period alert.
            ThresholdKind::Limit => e.count <= th.count,
            // Every `count`-th match within the period alerts.
            ThresholdKind::Threshold => {
                if e.count >= th.count {
                    e.count = 0;
                    true
                } else {
                    false
                }
            }
            // Once per period, at the `count`-th match.
            ThresholdKind::Both => e.count == th.count,
            // Every match after the first `count` within the period alerts.
            ThresholdKind::DetectionFilter => e.count > th.count,
            ThresholdKind::Backoff => {
                if u64::from(e.count) == e.next {
                    e.next = e.next.saturating_mul(u64::from(th.multiplier));
                    true
                } else {
                    false
                }
            }
        }
    }
}
