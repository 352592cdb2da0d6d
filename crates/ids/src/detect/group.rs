//! Rule groups by address and port class (as Suricata's signature group heads): the
//! addresses and ports of an input decide, before any payload scan, which rules'
//! address and port sets they fall in. Each distinct answer (the group key) maps to a
//! group; keys whose member rules are the same share one group, which has its own
//! prefilters over only those rules, built on first use and cached. A flow stores its
//! group per direction.

use crate::rules::{AddrExpr, PortExpr, Rule};
use std::collections::HashMap;
use std::net::IpAddr;

/// At most this many groups (distinct sets of member rules) are built; inputs of
/// further classes use the ungrouped prefilters (bounded memory whatever the traffic).
pub const MAX_GROUPS: usize = 64;

/// At most this many group keys are remembered (the map from key to group is cleared
/// when full; the groups themselves stay).
pub const MAX_KEYS: usize = 4096;

/// The distinct address and port expressions of the rules, and per rule which ones it
/// names.
#[derive(Debug, Default)]
pub struct Classes {
    addrs: Vec<AddrExpr>,
    ports: Vec<PortExpr>,
    rules: Vec<RuleClass>,
}

/// A rule's expression ids.
#[derive(Debug, Clone, Copy)]
struct RuleClass {
    src: u32,
    dst: u32,
    sport: u32,
    dport: u32,
    /// The rule can match an input in either orientation.
    either: bool,
}

/// A group key: the [`Classes`] address bits of the source, then those of the
/// destination, then the port bits of the source port and of the destination port
/// (all ones for an input without ports: port expressions do not apply to it).
pub type Key = Vec<u64>;

/// Addresses (and ports) whose expression bits are remembered (the memo is cleared when
/// full).
const MAX_MEMO: usize = 4096;

/// Per address and per port: which of the rules' expressions hold it.
#[derive(Debug, Default)]
pub struct Memo {
    addrs: HashMap<IpAddr, Vec<u64>>,
    ports: HashMap<u16, Vec<u64>>,
}

fn intern<T: Clone + std::fmt::Debug>(
    list: &mut Vec<T>,
    ids: &mut HashMap<String, u32>,
    e: &T,
) -> u32 {
    let k = format!("{e:?}");
    *ids.entry(k).or_insert_with(|| {
        list.push(e.clone());
        (list.len() - 1) as u32
    })
}

impl Classes {
    pub fn new(rules: &[Rule]) -> Classes {
        let (mut addrs, mut ports) = (Vec::new(), Vec::new());
        let (mut addr_ids, mut port_ids) = (HashMap::new(), HashMap::new());
        let rules = rules
            .iter()
            .map(|r| {
                let h = &r.header;
                RuleClass {
                    src: intern(&mut addrs, &mut addr_ids, &h.src),
                    dst: intern(&mut addrs, &mut addr_ids, &h.dst),
                    sport: intern(&mut ports, &mut port_ids, &h.src_ports),
                    dport: intern(&mut ports, &mut port_ids, &h.dst_ports),
                    // A transaction rule gathers buffer matches from the inputs of both
                    // directions (and records its payload part on either side's
                    // packets): it stays in the groups of both orientations.
                    either: h.bidirectional || h.transactional || r.is_tx_rule(),
                }
            })
            .collect();
        Classes {
            addrs,
            ports,
            rules,
        }
    }

    fn addr_words(&self) -> usize {
        self.addrs.len().div_ceil(64)
    }

    fn port_words(&self) -> usize {
        self.ports.len().div_ceil(64)
    }

    /// Bit `e` set when address expression `e` holds `ip`.
    pub fn addr_bits(&self, ip: IpAddr) -> Vec<u64> {
        let mut bits = vec![0u64; self.addr_words()];
        for (e, expr) in self.addrs.iter().enumerate() {
            if expr.matches(ip) {
                set(&mut bits, e);
            }
        }
        bits
    }

    /// Bit `e` set when port expression `e` holds `port`.
    pub fn port_bits(&self, port: u16) -> Vec<u64> {
        let mut bits = vec![0u64; self.port_words()];
        for (e, expr) in self.ports.iter().enumerate() {
            if expr.matches(port) {
                set(&mut bits, e);
            }
        }
        bits
    }

    /// The group key of an input with these addresses and ports (source, destination);
    /// `memo` remembers each address's and port's bits (hosts and ports recur across
    /// flows).
    pub fn key(&self, src: IpAddr, dst: IpAddr, ports: Option<(u16, u16)>, memo: &mut Memo) -> Key {
        let mut key = Vec::with_capacity(2 * self.addr_words() + 2 * self.port_words());
        for ip in [src, dst] {
            if memo.addrs.len() >= MAX_MEMO && !memo.addrs.contains_key(&ip) {
                memo.addrs.clear();
            }
            key.extend_from_slice(memo.addrs.entry(ip).or_insert_with(|| self.addr_bits(ip)));
        }
        match ports {
            Some((sp, dp)) => {
                for port in [sp, dp] {
                    if memo.ports.len() >= MAX_MEMO && !memo.ports.contains_key(&port) {
                        memo.ports.clear();
                    }
                    key.extend_from_slice(
                        memo.ports
                            .entry(port)
                            .or_insert_with(|| self.port_bits(port)),
                    );
                }
            }
            None => key.extend(std::iter::repeat_n(u64::MAX, 2 * self.port_words())),
        }
        key
    }

    /// Whether rule `idx`'s address and port sets can hold an input of group `key`:
    /// false means its header cannot match any input with these addresses and ports.
    pub fn member(&self, key: &Key, idx: usize) -> bool {
        let r = self.rules[idx];
        let (src, dst, sport, dport) = (
            r.src as usize,
            r.dst as usize,
            r.sport as usize,
            r.dport as usize,
        );
        let a = 64 * self.addr_words();
        let p = 64 * self.port_words();
        // Bit offsets of the key's four parts.
        let (ks, kd, ksp, kdp) = (0, a, 2 * a, 2 * a + p);
        let forward = get(key, ks + src)
            && get(key, kd + dst)
            && get(key, ksp + sport)
            && get(key, kdp + dport);
        let reverse = r.either
            && get(key, kd + src)
            && get(key, ks + dst)
            && get(key, kdp + sport)
            && get(key, ksp + dport);
        forward || reverse
    }

    /// The member rules of group `key`, as a bit set over rule indices.
    pub fn members(&self, key: &Key) -> Vec<u64> {
        let mut bits = vec![0u64; self.rules.len().div_ceil(64)];
        for i in 0..self.rules.len() {
            if self.member(key, i) {
                set(&mut bits, i);
            }
        }
        bits
    }
}

fn set(key: &mut [u64], bit: usize) {
    key[bit >> 6] |= 1 << (bit & 63);
}

pub fn get(key: &[u64], bit: usize) -> bool {
    key[bit >> 6] >> (bit & 63) & 1 != 0
}
