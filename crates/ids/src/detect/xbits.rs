//! `xbits` state: named bits kept per host (`ip_src`, `ip_dst`) or host pair, across
//! flows, each until its `expire` time (packet time).

use super::Input;
use crate::rules::{FlowbitOp, Rule, XbitTrack};
use std::collections::HashMap;
use std::net::IpAddr;

/// Bits kept before expired ones are pruned.
const MAX_BITS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Host(IpAddr),
    Pair(IpAddr, IpAddr),
}

#[derive(Debug, Default)]
pub struct Xbits {
    /// (name, key) → expiry (seconds).
    bits: HashMap<(String, Key), i64>,
}

fn key(track: XbitTrack, input: &Input<'_>) -> Key {
    match track {
        XbitTrack::IpSrc => Key::Host(input.src_ip),
        XbitTrack::IpDst => Key::Host(input.dst_ip),
        XbitTrack::IpPair => {
            let (a, b) = (input.src_ip, input.dst_ip);
            if a <= b {
                Key::Pair(a, b)
            } else {
                Key::Pair(b, a)
            }
        }
    }
}

fn now(input: &Input<'_>) -> i64 {
    input.ts_micros.div_euclid(1_000_000)
}

impl Xbits {
    fn is_set(&self, name: &str, k: Key, now: i64) -> bool {
        self.bits
            .get(&(name.to_string(), k))
            .is_some_and(|&exp| exp > now)
    }

    /// Whether the rule's `isset` / `isnotset` conditions hold.
    pub fn check(&self, rule: &Rule, input: &Input<'_>) -> bool {
        let t = now(input);
        rule.xbits.iter().all(|x| match x.op {
            FlowbitOp::IsSet => self.is_set(&x.name, key(x.track, input), t),
            FlowbitOp::IsNotSet => !self.is_set(&x.name, key(x.track, input), t),
            _ => true,
        })
    }

    /// Applies the rule's `set` / `unset` / `toggle` after it matched.
    pub fn apply(&mut self, rule: &Rule, input: &Input<'_>) {
        let t = now(input);
        for x in &rule.xbits {
            let k = (x.name.clone(), key(x.track, input));
            match x.op {
                FlowbitOp::Set => {
                    if self.bits.len() >= MAX_BITS {
                        self.bits.retain(|_, &mut exp| exp > t);
                    }
                    if self.bits.len() < MAX_BITS {
                        self.bits.insert(k, t.saturating_add(i64::from(x.expire)));
                    }
                }
                FlowbitOp::Unset => {
                    self.bits.remove(&k);
                }
                FlowbitOp::Toggle => {
                    if self.is_set(&k.0, k.1.clone(), t) {
                        self.bits.remove(&k);
                    } else {
                        self.bits.insert(k, t.saturating_add(i64::from(x.expire)));
                    }
                }
                FlowbitOp::IsSet | FlowbitOp::IsNotSet => {}
            }
        }
    }
}
