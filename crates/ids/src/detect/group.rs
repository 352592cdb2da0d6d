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

/// A group key: the [`AddrClasses::bits`] of the source, then those of the destination.
pub type Key = Vec<u64>;

/// Addresses whose expression bits are remembered (the memo is cleared when full).
const MAX_MEMO: usize = 4096;

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

    fn words(&self) -> usize {
        self.exprs.len().div_ceil(64)
    }

    /// Bit `e` set when expression `e` holds `ip`.
    pub fn bits(&self, ip: IpAddr) -> Vec<u64> {
        let mut bits = vec![0u64; self.words()];
        for (e, expr) in self.exprs.iter().enumerate() {
            if expr.matches(ip) {
                set(&mut bits, e);
            }
        }
        bits
    }

    /// The group key of an input with these addresses; `memo` remembers each
    /// address's bits (hosts recur across flows).
    pub fn key(&self, src: IpAddr, dst: IpAddr, memo: &mut HashMap<IpAddr, Vec<u64>>) -> Key {
        let mut key = Vec::with_capacity(2 * self.words());
        for ip in [src, dst] {
            if memo.len() >= MAX_MEMO && !memo.contains_key(&ip) {
                memo.clear();
            }
            key.extend_from_slice(memo.entry(ip).or_insert_with(|| self.bits(ip)));
        }
        key
    }

    /// Whether rule `idx`'s address sets can hold an input of group `key`: false means
    /// its header cannot match any input with these addresses.
    pub fn member(&self, key: &Key, idx: usize) -> bool {
        let (s, d, either) = self.rules[idx];
        let (s, d, w) = (s as usize, d as usize, 64 * self.words());
        (get(key, s) && get(key, w + d)) || (either && get(key, w + s) && get(key, d))
    }
}

fn set(key: &mut [u64], bit: usize) {
    key[bit >> 6] |= 1 << (bit & 63);
}

fn get(key: &[u64], bit: usize) -> bool {
    key[bit >> 6] >> (bit & 63) & 1 != 0
}
