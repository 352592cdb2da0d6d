//! The multi-pattern prefilter: one Aho-Corasick automaton per buffer over the fast
//! patterns of the rules that inspect it. A rule is fully evaluated only when its
//! fast pattern occurs in its buffer; rules without a usable fast pattern are always
//! candidates.

use crate::detect::Direction;
use crate::rules::AddrExpr;
use crate::rules::{Buf, Item, Rule, buffer_direction};
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;
use std::net::IpAddr;

/// One buffer's automaton.
#[derive(Debug)]
struct BufAutomaton {
    buf: Buf,
    ac: AhoCorasick,
    /// Pattern id → indices of the rules whose fast pattern it is.
    rules: Vec<Vec<u32>>,
}

/// While building: a buffer, its pattern → id map, the patterns, and each one's rules.
type PatternTable = (Buf, HashMap<Vec<u8>, usize>, Vec<Vec<u8>>, Vec<Vec<u32>>);

#[derive(Debug, Default)]
pub struct Prefilter {
    automata: Vec<BufAutomaton>,
    /// Rules without a fast pattern or an address index entry.
    pub always: Vec<u32>,
    /// Rules without a fast pattern whose source (index 0) or destination (index 1)
    /// address is a list of positive addresses (such as IP reputation rules), found by
    /// the packet's address.
    by_addr: [AddrIndex; 2],
}

#[derive(Debug, Default)]
struct AddrIndex {
    exact: HashMap<IpAddr, Vec<u32>>,
    ranges: Vec<(IpAddr, IpAddr, u32)>,
}

impl AddrIndex {
    fn insert(&mut self, ranges: &[(IpAddr, IpAddr)], rule: u32) {
        for &(lo, hi) in ranges {
            if lo == hi {
                self.exact.entry(lo).or_default().push(rule);
            } else {
                self.ranges.push((lo, hi, rule));
            }
        }
    }

    fn lookup(&self, ip: IpAddr, mut hit: impl FnMut(u32)) {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if let Some(rules) = self.exact.get(&ip) {
            rules.iter().for_each(|&r| hit(r));
        }
        for &(lo, hi, r) in &self.ranges {
            if lo.is_ipv4() == ip.is_ipv4() && lo <= ip && ip <= hi {
                hit(r);
            }
        }
    }
}

/// The addresses a rule's address expression can match, as positive ranges, when it
/// names some (a superset is fine: the full evaluation decides).
fn positive_ranges(e: &AddrExpr) -> Option<Vec<(IpAddr, IpAddr)>> {
    match e {
        AddrExpr::Range(lo, hi) => Some(vec![(*lo, *hi)]),
        AddrExpr::Any | AddrExpr::Not(_) => None,
        AddrExpr::List(items) => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    AddrExpr::Not(_) => {}
                    other => out.extend(positive_ranges(other)?),
                }
            }
            (!out.is_empty()).then_some(out)
        }
    }
}

/// Address ranges of more than this many addresses are not worth indexing.
const MAX_INDEXED_RANGES: usize = 4096;

/// The fast pattern of a rule: an explicit `fast_pattern`, else the longest positive
/// content. Returned lower-cased (the automata match case-insensitively; the full
/// evaluation checks case).
///
/// A rule over both directions of a transaction takes its fast pattern from a request
/// buffer: the request comes first, and its partial match then keeps the rule a
/// candidate for the response.
pub fn fast_pattern(rule: &Rule, usable: impl Fn(Buf) -> bool) -> Option<(Buf, Vec<u8>)> {
    let mut best: Option<(Buf, &[u8], bool)> = None;
    let cross = rule.is_cross_direction();
    for g in rule.groups.iter().filter(|g| usable(g.buf)) {
        if cross {
            let request = match g.buf {
                Buf::Kind(k) => buffer_direction(k) == Some(Direction::ToServer),
                Buf::Payload => false,
            };
            if !request {
                continue;
            }
        }
        for item in &g.items {
            let Item::Content(c) = item else { continue };
            if c.negated {
                continue;
            }
            let mut pat: &[u8] = &c.pattern;
            if let Some(Some((o, l))) = c.fast_pattern {
                pat = &pat[o..o + l];
            }
            if g.dotprefix {
                // The buffer is inspected with a `.` in front that the raw buffer lacks.
                pat = pat.strip_prefix(b".").unwrap_or(pat);
            }
            if pat.is_empty() {
                continue;
            }
            let explicit = c.fast_pattern.is_some();
            let better = match best {
                None => true,
                Some((_, bp, bexp)) => {
                    (explicit && !bexp) || (explicit == bexp && pat.len() > bp.len())
                }
            };
            if better {
                best = Some((g.buf, pat, explicit));
            }
        }
    }
    best.map(|(b, p, _)| (b, p.to_ascii_lowercase()))
}

impl Prefilter {
    /// Builds the prefilter over the rules at `indices`.
    /// Only the contents of buffers for which `usable` holds can be fast patterns.
    pub fn build(rules: &[Rule], indices: &[u32], usable: impl Fn(Buf) -> bool) -> Prefilter {
        let mut per_buf: Vec<PatternTable> = Vec::new();
        let mut always = Vec::new();
        let mut by_addr: [AddrIndex; 2] = Default::default();
        for &idx in indices {
            let rule = &rules[idx as usize];
            let fp = fast_pattern(rule, &usable);
            let Some((buf, pat)) = fp else {
                let h = &rule.header;
                let src = positive_ranges(&h.src);
                let dst = positive_ranges(&h.dst);
                match (src, dst) {
                    (Some(s), _) if !h.bidirectional && s.len() <= MAX_INDEXED_RANGES => {
                        by_addr[0].insert(&s, idx)
                    }
                    (_, Some(d)) if !h.bidirectional && d.len() <= MAX_INDEXED_RANGES => {
                        by_addr[1].insert(&d, idx)
                    }
                    _ => always.push(idx),
                }
                continue;
            };
            let entry = match per_buf.iter_mut().position(|e| e.0 == buf) {
                Some(p) => &mut per_buf[p],
                None => {
                    per_buf.push((buf, HashMap::new(), Vec::new(), Vec::new()));
                    per_buf.last_mut().expect("just pushed")
                }
            };
            let pid = match entry.1.get(&pat) {
                Some(&p) => p,
                None => {
                    let p = entry.2.len();
                    entry.1.insert(pat.clone(), p);
                    entry.2.push(pat);
                    entry.3.push(Vec::new());
                    p
                }
            };
            entry.3[pid].push(idx);
        }
        let mut automata = Vec::new();
        for (buf, _, patterns, rules) in per_buf {
            match AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&patterns)
            {
                Ok(ac) => automata.push(BufAutomaton { buf, ac, rules }),
                // Too large to build: its rules are evaluated always instead.
                Err(_) => always.extend(rules.into_iter().flatten()),
            }
        }
        always.sort_unstable();
        Prefilter {
            automata,
            always,
            by_addr,
        }
    }

    /// Whether it holds no rule.
    pub fn is_empty(&self) -> bool {
        self.automata.is_empty()
            && self.always.is_empty()
            && self
                .by_addr
                .iter()
                .all(|i| i.exact.is_empty() && i.ranges.is_empty())
    }

    /// Calls `hit` with every candidate rule for a packet input (may repeat).
    pub fn candidates(&self, input: &crate::detect::Input<'_>, mut hit: impl FnMut(u32)) {
        self.always.iter().for_each(|&r| hit(r));
        self.scan_addresses(input.src_ip, input.dst_ip, &mut hit);
        self.scan(Buf::Payload, input.payload, &mut hit);
        if let Some(s) = input.stream {
            self.scan(Buf::Payload, s, &mut hit);
        }
    }

    /// Calls `hit` with the address-indexed rules that may match these addresses.
    pub fn scan_addresses(&self, src: IpAddr, dst: IpAddr, mut hit: impl FnMut(u32)) {
        self.by_addr[0].lookup(src, &mut hit);
        self.by_addr[1].lookup(dst, &mut hit);
    }

    /// Number of rules found through the address index.
    pub fn address_indexed(&self) -> usize {
        let mut rules: Vec<u32> = self
            .by_addr
            .iter()
            .flat_map(|i| {
                i.exact
                    .values()
                    .flatten()
                    .copied()
                    .chain(i.ranges.iter().map(|r| r.2))
            })
            .collect();
        rules.sort_unstable();
        rules.dedup();
        rules.len()
    }

    /// Calls `hit` with each rule index whose fast pattern occurs in `data`, a buffer of
    /// kind `buf` (may repeat).
    pub fn scan(&self, buf: Buf, data: &[u8], mut hit: impl FnMut(u32)) {
        for a in self.automata.iter().filter(|a| a.buf == buf) {
            for m in a.ac.find_overlapping_iter(data) {
                for &r in &a.rules[m.pattern().as_usize()] {
                    hit(r);
                }
            }
        }
    }

    /// The buffers that have an automaton.
    pub fn buffers(&self) -> impl Iterator<Item = Buf> + '_ {
        self.automata.iter().map(|a| a.buf)
    }

    /// Number of distinct patterns.
    pub fn pattern_count(&self) -> usize {
        self.automata.iter().map(|a| a.rules.len()).sum()
    }
}
