//! Rule groups by address class (as Suricata's signature group heads): the addresses of
//! an input decide, before any payload scan, which rules' address sets they fall in.
//! Each distinct answer (the group key) gets its own prefilters over only those rules,
//! built on first use and cached, and a flow stores its group per direction.

use crate::rules::{AddrExpr, Rule};
use std::collections::HashMap;
use std::net::IpAddr;

/// At most this many groups are built; inputs of further address classes use the
/// ungrouped prefilters (bounded memory whatever the traffic).
pub const MAX_GROUPS: usize = 32;

/// The distinct address expressions of the rules, and per rule which ones it names.
#[derive(Debug, Default)]
pub struct AddrClasses {
    exprs: Vec<AddrExpr>,
    /// Per rule: (source expression id, destination expression id, either orientation).
    rules: Vec<(u32, u32, bool)>,
}

/// A group key: bit `2e` when expression `e` holds the source, `2e + 1` the destination.
pub type Key = Vec<u64>;

impl AddrClasses {
    pub fn new(rules: &[Rule]) -> AddrClasses {
        let mut exprs: Vec<AddrExpr> = Vec::new();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut id_of = |e: &AddrExpr| -> u32 {
            let k = format!("{e:?}");
            *ids.entry(k).or_insert_with(|| {
                exprs.push(e.clone());
                (exprs.len() - 1) as u32
            })
        };
        let rules = rules
            .iter()
            .map(|r| {
                let s = id_of(&r.header.src);
                let d = id_of(&r.header.dst);
                // A transaction rule gathers buffer matches from the inputs of both
                // directions (and records its payload part on either side's packets):
                // it stays in the groups of both orientations.
                (s, d, r.header.bidirectional || r.is_tx_rule())
            })
            .collect();
        AddrClasses { exprs, rules }
    }

    /// The group key of an input with these addresses.
    pub fn key(&self, src: IpAddr, dst: IpAddr) -> Key {
        let mut key = vec![0u64; (self.exprs.len() * 2).div_ceil(64)];
        for (e, expr) in self.exprs.iter().enumerate() {
            if expr.matches(src) {
                set(&mut key, 2 * e);
            }
            if expr.matches(dst) {
                set(&mut key, 2 * e + 1);
            }
        }
        key
    }

    /// Whether rule `idx`'s address sets can hold an input of group `key`: false means
    /// its header cannot match any input with these addresses.
    pub fn member(&self, key: &Key, idx: usize) -> bool {
        let (s, d, either) = self.rules[idx];
        let (s, d) = (2 * s as usize, 2 * d as usize);
        (get(key, s) && get(key, d + 1)) || (either && get(key, s + 1) && get(key, d))
    }
}

fn set(key: &mut [u64], bit: usize) {
    key[bit >> 6] |= 1 << (bit & 63);
}

fn get(key: &[u64], bit: usize) -> bool {
    key[bit >> 6] >> (bit & 63) & 1 != 0
}
