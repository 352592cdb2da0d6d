//! The multi-pattern prefilter: one Aho-Corasick automaton per buffer over the fast
//! patterns of the rules that inspect it. A rule is fully evaluated only when its
//! fast pattern occurs in its buffer; rules without a usable fast pattern are always
//! candidates.

use crate::detect::{BufferKind, Direction};
use crate::rules::AddrExpr;
use crate::rules::{Buf, Item, Rule, buffer_direction};
use aho_corasick::automaton::{Automaton, OverlappingState};
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;
use std::net::IpAddr;

/// The traffic an automaton serves: a direction and a class of IP protocol. Each
/// rule's fast pattern goes to every slot the rule can match in, and an input scans
/// only its own slot's automata, which are smaller than one for all rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub dir: Direction,
    pub proto: ProtoClass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoClass {
    Tcp,
    Udp,
    Icmp,
    Other,
}

impl Slot {
    pub fn of(input: &crate::detect::Input<'_>) -> Slot {
        Slot {
            dir: input.direction,
            proto: match input.ip_proto {
                6 => ProtoClass::Tcp,
                17 => ProtoClass::Udp,
                1 | 58 => ProtoClass::Icmp,
                _ => ProtoClass::Other,
            },
        }
    }
}

/// The slots a rule can match in.
fn rule_slots(rule: &Rule) -> Vec<Slot> {
    use crate::detect::AppProto;
    use crate::rules::Proto;
    let protos: &[ProtoClass] = match rule.header.proto {
        Proto::Ip => &[
            ProtoClass::Tcp,
            ProtoClass::Udp,
            ProtoClass::Icmp,
            ProtoClass::Other,
        ],
        Proto::Tcp | Proto::App(AppProto::Http | AppProto::Tls | AppProto::Smtp) => {
            &[ProtoClass::Tcp]
        }
        Proto::Udp => &[ProtoClass::Udp],
        Proto::Icmp => &[ProtoClass::Icmp],
        Proto::App(_) => &[ProtoClass::Tcp, ProtoClass::Udp],
    };
    // A rule over request and response buffers is scanned on either side's inputs.
    let dirs: &[Direction] = match rule.flow.direction {
        Some(d) if !rule.is_cross_direction() && !rule.header.bidirectional => {
            if d == Direction::ToServer {
                &[Direction::ToServer]
            } else {
                &[Direction::ToClient]
            }
        }
        _ => &[Direction::ToServer, Direction::ToClient],
    };
    let mut out = Vec::new();
    for &dir in dirs {
        for &proto in protos {
            out.push(Slot { dir, proto });
        }
    }
    out
}

/// One buffer's automaton for one slot.
#[derive(Debug)]
struct BufAutomaton {
    buf: Buf,
    slot: Slot,
    ac: Matcher,
    /// Pattern id → indices of the rules whose fast pattern it is.
    rules: Vec<Vec<u32>>,
}

/// The automaton: a concrete Aho-Corasick DFA where it fits (its overlapping scan is
/// then compiled for the DFA rather than dispatched per byte through a trait object),
/// the automatic choice otherwise.
#[derive(Debug)]
enum Matcher {
    Dfa(Box<aho_corasick::dfa::DFA>),
    Auto(AhoCorasick),
}

impl Matcher {
    fn build(patterns: &[Vec<u8>]) -> Option<Matcher> {
        if patterns.len() <= MAX_DFA_PATTERNS
            && let Ok(dfa) = aho_corasick::dfa::DFA::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                // Its prefilter runs at every return to the start state, which on
                // ordinary traffic costs more than it saves.
                .prefilter(false)
                .build(patterns)
        {
            return Some(Matcher::Dfa(Box::new(dfa)));
        }
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(patterns)
            .ok()
            .map(Matcher::Auto)
    }

    /// Calls `hit` with the id of each pattern occurrence (overlapping).
    fn for_each(&self, data: &[u8], mut hit: impl FnMut(usize)) {
        match self {
            Matcher::Dfa(dfa) => {
                let input = aho_corasick::Input::new(data);
                let mut state = OverlappingState::start();
                while dfa.try_find_overlapping(&input, &mut state).is_ok() {
                    match state.get_match() {
                        Some(m) => hit(m.pattern().as_usize()),
                        None => break,
                    }
                }
            }
            Matcher::Auto(ac) => {
                for m in ac.find_overlapping_iter(data) {
                    hit(m.pattern().as_usize());
                }
            }
        }
    }
}

/// The automaton a buffer's fast patterns go to. The HTTP bodies and `file.data` share
/// one: they are often the very same bytes, scanned once.
pub fn scan_key(buf: Buf) -> Buf {
    match buf {
        Buf::Kind(BufferKind::HttpResponseBody | BufferKind::HttpRequestBody) => {
            Buf::Kind(BufferKind::FileData)
        }
        b => b,
    }
}

/// Pattern sets up to this size are compiled to a DFA.
const MAX_DFA_PATTERNS: usize = 20_000;

/// While building: a buffer and slot, its pattern → id map, the patterns, and each
/// one's rules.
type PatternTable = (
    (Buf, Slot),
    HashMap<Vec<u8>, usize>,
    Vec<Vec<u8>>,
    Vec<Vec<u32>>,
);

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
    /// (low, high, rule), sorted by low once built.
    ranges: Vec<(IpAddr, IpAddr, u32)>,
    /// For each position in `ranges`, the highest `high` up to it, so that a lookup
    /// walks back from the last range starting at or below the address only while a
    /// range can still contain it.
    max_high: Vec<IpAddr>,
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

    fn finish(&mut self) {
        // IpAddr orders all IPv4 before all IPv6, so one sorted list serves both.
        self.ranges.sort_unstable();
        let mut max: Option<IpAddr> = None;
        self.max_high = self
            .ranges
            .iter()
            .map(|&(_, hi, _)| {
                let m = match max {
                    Some(m) if m >= hi && m.is_ipv4() == hi.is_ipv4() => m,
                    _ => hi,
                };
                max = Some(m);
                m
            })
            .collect();
    }

    fn lookup(&self, ip: IpAddr, mut hit: impl FnMut(u32)) {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if let Some(rules) = self.exact.get(&ip) {
            rules.iter().for_each(|&r| hit(r));
        }
        let end = self.ranges.partition_point(|&(lo, _, _)| lo <= ip);
        for i in (0..end).rev() {
            let max = self.max_high[i];
            if max.is_ipv4() != ip.is_ipv4() || max < ip {
                break;
            }
            let (lo, hi, r) = self.ranges[i];
            if lo.is_ipv4() == ip.is_ipv4() && ip <= hi {
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

/// How many addresses ranges cover (saturating).
fn span(ranges: &[(IpAddr, IpAddr)]) -> u128 {
    ranges
        .iter()
        .map(|&(lo, hi)| match (lo, hi) {
            (IpAddr::V4(l), IpAddr::V4(h)) => u128::from(u32::from(h) - u32::from(l)) + 1,
            (IpAddr::V6(l), IpAddr::V6(h)) => (u128::from(h) - u128::from(l)).saturating_add(1),
            _ => 1,
        })
        .fold(0u128, u128::saturating_add)
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
    best.map(|(b, p, _)| (b, shorten(p).to_ascii_lowercase()))
}

/// Fast patterns are cut to this many bytes: a short piece keeps the automata small
/// enough to stay in cache, at the price of a few more candidates (which the full
/// evaluation rejects).
const MAX_FP_LEN: usize = 8;

/// The piece of a pattern the automaton looks for: the window of at most
/// [`MAX_FP_LEN`] bytes with the most distinct bytes (the latest such window).
fn shorten(p: &[u8]) -> &[u8] {
    if p.len() <= MAX_FP_LEN {
        return p;
    }
    let distinct = |w: &[u8]| {
        let mut seen = [false; 256];
        w.iter()
            .filter(|&&b| !std::mem::replace(&mut seen[b.to_ascii_lowercase() as usize], true))
            .count()
    };
    let mut best = 0;
    let mut best_score = 0;
    for start in 0..=p.len() - MAX_FP_LEN {
        let s = distinct(&p[start..start + MAX_FP_LEN]);
        if s >= best_score {
            best = start;
            best_score = s;
        }
    }
    &p[best..best + MAX_FP_LEN]
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
                let usable = |r: &Option<Vec<(IpAddr, IpAddr)>>| {
                    r.as_ref()
                        .filter(|r| !h.bidirectional && r.len() <= MAX_INDEXED_RANGES)
                        .map(|r| (span(r), r.clone()))
                };
                // Index on the side that names fewer addresses.
                match (usable(&src), usable(&dst)) {
                    (Some((ss, s)), Some((ds, _))) if ss <= ds => by_addr[0].insert(&s, idx),
                    (_, Some((_, d))) => by_addr[1].insert(&d, idx),
                    (Some((_, s)), None) => by_addr[0].insert(&s, idx),
                    (None, None) => always.push(idx),
                }
                continue;
            };
            let buf = scan_key(buf);
            for slot in rule_slots(rule) {
                let key = (buf, slot);
                let entry = match per_buf.iter_mut().position(|e| e.0 == key) {
                    Some(p) => &mut per_buf[p],
                    None => {
                        per_buf.push((key, HashMap::new(), Vec::new(), Vec::new()));
                        per_buf.last_mut().expect("just pushed")
                    }
                };
                let pid = match entry.1.get(&pat) {
                    Some(&p) => p,
                    None => {
                        let p = entry.2.len();
                        entry.1.insert(pat.clone(), p);
                        entry.2.push(pat.clone());
                        entry.3.push(Vec::new());
                        p
                    }
                };
                entry.3[pid].push(idx);
            }
        }
        let mut automata = Vec::new();
        for ((buf, slot), _, patterns, rules) in per_buf {
            match Matcher::build(&patterns) {
                Some(ac) => automata.push(BufAutomaton {
                    buf,
                    slot,
                    ac,
                    rules,
                }),
                // Too large to build: its rules are evaluated always instead.
                None => always.extend(rules.into_iter().flatten()),
            }
        }
        always.sort_unstable();
        always.dedup();
        by_addr.iter_mut().for_each(AddrIndex::finish);
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

    /// Calls `hit` with every candidate rule for a packet input (may repeat); `old`
    /// bytes at the front of its stream were scanned with earlier packets.
    pub fn candidates(
        &self,
        input: &crate::detect::Input<'_>,
        old: usize,
        mut hit: impl FnMut(u32),
    ) {
        self.always.iter().for_each(|&r| hit(r));
        self.scan_addresses(input.src_ip, input.dst_ip, &mut hit);
        self.scan_payload(Slot::of(input), input, old, &mut hit);
    }

    /// Scans the packet payload and the new stream data (unless it is the payload), and
    /// the junction with the stream's tail, where a fast pattern may straddle two
    /// segments (fast patterns are at most [`MAX_FP_LEN`] bytes).
    pub fn scan_payload(
        &self,
        slot: Slot,
        input: &crate::detect::Input<'_>,
        old: usize,
        mut hit: impl FnMut(u32),
    ) {
        self.scan(Buf::Payload, slot, input.payload, &mut hit);
        let Some(stream) = input.stream else { return };
        let old = old.min(stream.len());
        let new = &stream[old..];
        if new != input.payload {
            self.scan(Buf::Payload, slot, new, &mut hit);
        }
        if old > 0 {
            let from = old.saturating_sub(MAX_FP_LEN - 1);
            let to = (old + MAX_FP_LEN - 1).min(stream.len());
            self.scan(Buf::Payload, slot, &stream[from..to], &mut hit);
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
    pub fn scan(&self, buf: Buf, slot: Slot, data: &[u8], mut hit: impl FnMut(u32)) {
        for a in self
            .automata
            .iter()
            .filter(|a| a.buf == buf && a.slot == slot)
        {
            a.ac.for_each(data, |p| a.rules[p].iter().for_each(|&r| hit(r)));
        }
    }

    /// The buffers that have an automaton in a slot.
    pub fn buffers(&self, slot: Slot) -> impl Iterator<Item = Buf> + '_ {
        self.automata
            .iter()
            .filter(move |a| a.slot == slot)
            .map(|a| a.buf)
    }

    /// Number of distinct patterns.
    pub fn pattern_count(&self) -> usize {
        self.automata.iter().map(|a| a.rules.len()).sum()
    }
}
