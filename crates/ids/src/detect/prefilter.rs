//! The multi-pattern prefilter: one matcher (a hashed filter over the data's 4-byte
//! windows, then exact comparison) per buffer over the fast patterns of the rules that
//! inspect it. A rule is fully evaluated only when its
//! fast pattern occurs in its buffer; rules without a usable fast pattern are always
//! candidates.

use crate::detect::teddy::Teddy;
use crate::detect::{BufferKind, Direction};
use crate::rules::AddrExpr;
use crate::rules::{Buf, Item, Rule, buffer_direction};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Where a rule goes in a prefilter, computed once for all groups.
#[derive(Debug)]
enum Plan {
    /// Scanned for its fast pattern (by id in [`FastPatterns::patterns`]) in this
    /// buffer (its [`scan_key`]), in these slots.
    Pattern(Buf, u32, Vec<Slot>),
    /// No fast pattern: found by its source (0) or destination (1) address.
    Addr(usize, Vec<(IpAddr, IpAddr)>),
    /// No fast pattern and no address to index: always a candidate.
    Always,
}

/// The plan of each rule (by index; for indices carrying [`TAG`], `tagged`) and the
/// distinct fast patterns: every group's prefilters are built from them.
#[derive(Debug, Default)]
pub struct FastPatterns {
    plain: Vec<Plan>,
    tagged: Vec<Plan>,
    patterns: Vec<Vec<u8>>,
}

impl FastPatterns {
    /// The plans of `rules`, with fast patterns from the buffers for which `usable`
    /// holds (by index, with or without [`TAG`]).
    pub fn new(rules: &[Rule], usable: impl Fn(u32, Buf) -> bool) -> FastPatterns {
        let mut ids: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut patterns = Vec::new();
        let mut plans = |tag: u32| -> Vec<Plan> {
            rules
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let idx = i as u32 | tag;
                    match fast_pattern(r, |b| usable(idx, b)) {
                        Some((buf, pat)) => {
                            let id = *ids.entry(pat).or_insert_with_key(|p| {
                                patterns.push(p.clone());
                                (patterns.len() - 1) as u32
                            });
                            Plan::Pattern(scan_key(buf), id, rule_slots(r))
                        }
                        None => addr_plan(r),
                    }
                })
                .collect()
        };
        let plain = plans(0);
        let tagged = plans(TAG);
        FastPatterns {
            plain,
            tagged,
            patterns,
        }
    }

    fn get(&self, idx: u32) -> &Plan {
        let v = if idx & TAG != 0 {
            &self.tagged
        } else {
            &self.plain
        };
        v.get((idx & !TAG) as usize).unwrap_or(&Plan::Always)
    }
}

/// How a rule without a fast pattern is found: by the side of its header that names
/// fewer addresses, when one names a short enough list of positive addresses.
fn addr_plan(rule: &Rule) -> Plan {
    let h = &rule.header;
    let usable = |r: Option<Vec<(IpAddr, IpAddr)>>| {
        r.filter(|r| !h.bidirectional && !h.transactional && r.len() <= MAX_INDEXED_RANGES)
            .map(|r| (span(&r), r))
    };
    match (
        usable(positive_ranges(&h.src)),
        usable(positive_ranges(&h.dst)),
    ) {
        (Some((ss, s)), Some((ds, _))) if ss <= ds => Plan::Addr(0, s),
        (_, Some((_, d))) => Plan::Addr(1, d),
        (Some((_, s)), None) => Plan::Addr(0, s),
        (None, None) => Plan::Always,
    }
}

/// Matchers by their pattern ids (sorted), shared between the groups' prefilters.
pub type MatcherCache = HashMap<Vec<u32>, Option<Arc<Matcher>>>;

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
        Proto::Ip | Proto::Pkthdr => &[
            ProtoClass::Tcp,
            ProtoClass::Udp,
            ProtoClass::Icmp,
            ProtoClass::Other,
        ],
        Proto::Tcp | Proto::App(AppProto::Http | AppProto::Tls | AppProto::Smtp) => {
            &[ProtoClass::Tcp]
        }
        Proto::Udp => &[ProtoClass::Udp],
        Proto::Sctp => &[ProtoClass::Other],
        Proto::Icmp | Proto::Icmpv4 | Proto::Icmpv6 => &[ProtoClass::Icmp],
        Proto::App(_) => &[ProtoClass::Tcp, ProtoClass::Udp],
    };
    // A rule over request and response buffers is scanned on either side's inputs.
    let dirs: &[Direction] = match rule.flow.direction {
        Some(d)
            if !rule.is_cross_direction()
                && !rule.header.bidirectional
                && !rule.header.transactional =>
        {
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
    ac: Arc<Matcher>,
    /// Pattern id → indices of the rules whose fast pattern it is.
    rules: Vec<Vec<u32>>,
}

/// The multi-pattern matcher: an exact table over every 2-byte window of the data (the
/// first two bytes of each pattern), where it is set a hashed filter over the 4-byte
/// window (and an exact table over 2-byte windows for patterns shorter than 4 bytes),
/// then an exact case-insensitive comparison of the few patterns that begin with that
/// window.
///
/// Each position costs a load, a multiply and a bit test, with no dependency between
/// positions, so the CPU runs several at once; an automaton walk instead chains a
/// table lookup per byte and, over random binary data with thousands of patterns,
/// misses the cache.
#[derive(Debug)]
pub struct Matcher {
    /// Bit `masked 2-byte window` set for the first two bytes of every pattern (every
    /// window a 1-byte pattern begins): the first test at each position, 8 KiB, where
    /// random data rarely passes.
    pre: Box<[u64; 1024]>,
    /// Bit `hash(window)` set for the first 4 bytes of each pattern of 4 bytes or more.
    bits: Box<[u64]>,
    /// The second level, tested where the first is set: bit `hash(first 4 bytes)` of
    /// the patterns of 4 to 7 bytes (another hash), and bit `hash8(first 8 bytes)` of the longer
    /// ones (common 4-byte prefixes, as in text, are then told apart cheaply).
    bits_short: Box<[u64]>,
    bits8: Box<[u64]>,
    /// The shifts that make the hashes of the first and second levels (their sizes
    /// follow the number of patterns: see [`filter_bits`]).
    l1_shift: u32,
    filter_shift: u32,
    /// (masked 4-byte prefix, pattern id), sorted.
    long: Vec<(u32, u32)>,
    /// Open-addressing index of `long` by prefix: (prefix, first position, count);
    /// count 0 marks a free slot. Its length is a power of two.
    long_index: Vec<(u32, u32, u32)>,
    /// Bit `masked 2-byte window` set for each pattern of 1 to 3 bytes (a 1-byte
    /// pattern sets every window it begins), when there are such patterns.
    tiny_bits: Option<Box<[u64; 1024]>>,
    /// (masked 2-byte prefix, pattern id), sorted; 1-byte patterns under `TINY_ONE`.
    tiny: Vec<(u16, u32)>,
    /// Patterns of one byte, by id.
    ones: Vec<(u8, u32)>,
    /// The patterns (lower-case), by id.
    patterns: Vec<Vec<u8>>,
    /// The SIMD first stage, where the CPU has it and it pays (see [`Teddy`]).
    teddy: Option<Teddy>,
}

/// log2 of the first level's size in bits (16 KiB: stays in the core's first-level
/// cache, which the load of every position needs).
const L1_BITS: u32 = 17;
/// log2 of the second level's size in bits (64 KiB each).
const FILTER_BITS: u32 = 19;

/// log2 of the sizes in bits of the first and second levels for `n` patterns: about
/// 256 and 512 bits a pattern (a false-positive rate under 0.5% each), at most
/// [`L1_BITS`] and [`FILTER_BITS`]. Groups build many small matchers (one per buffer
/// and slot) on first use; tables of the largest size for each would be mostly
/// zeroes to allocate and clear.
fn filter_bits(n: usize) -> (u32, u32) {
    let log2 = |x: usize| x.max(2).next_power_of_two().trailing_zeros();
    (
        log2(n.saturating_mul(256)).clamp(9, L1_BITS),
        log2(n.saturating_mul(512)).clamp(10, FILTER_BITS),
    )
}
/// Clearing bit 5 of each byte folds ASCII case (and a few other pairs, which only
/// add candidates that the exact comparison rejects).
const FOLD4: u32 = 0xDFDF_DFDF;
const FOLD2: u16 = 0xDFDF;

#[inline(always)]
fn hash4(w: u32, shift: u32) -> usize {
    (w.wrapping_mul(0x9E37_79B1) >> shift) as usize
}

fn hash4_wide(w: u32, shift: u32) -> usize {
    (w.wrapping_mul(0x85EB_CA77) >> shift) as usize
}

#[inline(always)]
fn hash8(w: u64, shift: u32) -> usize {
    (w.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (32 + shift)) as usize
}

const FOLD8: u64 = 0xDFDF_DFDF_DFDF_DFDF;

fn set_bit(bits: &mut [u64], h: usize) {
    bits[h >> 6] |= 1 << (h & 63);
}

#[inline(always)]
fn test_bit(bits: &[u64], h: usize) -> bool {
    bits[h >> 6] >> (h & 63) & 1 != 0
}

fn index_slot(w: u32, mask: usize) -> usize {
    (w.wrapping_mul(0x27D4_EB2F) >> 7) as usize & mask
}

/// The open-addressing index of sorted (prefix, id) pairs (at most half full).
fn index_prefixes(long: &[(u32, u32)]) -> Option<Vec<(u32, u32, u32)>> {
    let size = (long.len() * 2).next_power_of_two().max(2);
    let mask = size - 1;
    let mut index = vec![(0u32, 0u32, 0u32); size];
    let mut i = 0;
    while i < long.len() {
        let w = long[i].0;
        let n = long[i..].iter().take_while(|e| e.0 == w).count();
        let mut slot = index_slot(w, mask);
        while index[slot].2 != 0 {
            slot = (slot + 1) & mask;
        }
        index[slot] = (w, u32::try_from(i).ok()?, u32::try_from(n).ok()?);
        i += n;
    }
    Some(index)
}

impl Matcher {
    fn build(patterns: &[Vec<u8>]) -> Option<Matcher> {
        let n_long = patterns.iter().filter(|p| p.len() >= 4).count();
        let (l1_bits, f_bits) = filter_bits(n_long);
        let (l1_shift, filter_shift) = (32 - l1_bits, 32 - f_bits);
        let mut bits = vec![0u64; 1 << (l1_bits - 6)].into_boxed_slice();
        let mut bits_short = vec![0u64; 1 << (f_bits - 6)].into_boxed_slice();
        let mut bits8 = vec![0u64; 1 << (f_bits - 6)].into_boxed_slice();
        let mut tiny_bits = Box::new([0u64; 1024]);
        let mut pre = Box::new([0u64; 1024]);
        let (mut long, mut tiny, mut ones) = (Vec::new(), Vec::new(), Vec::new());
        let patterns: Vec<Vec<u8>> = patterns.iter().map(|p| p.to_ascii_lowercase()).collect();
        for (id, p) in patterns.iter().enumerate() {
            let id = u32::try_from(id).ok()?;
            match p.len() {
                0 => return None,
                1 => {
                    ones.push((p[0] & 0xDF, id));
                    for second in 0..=255u8 {
                        let k = u16::from_le_bytes([p[0], second]) & FOLD2;
                        tiny_bits[usize::from(k) >> 6] |= 1 << (k & 63);
                    }
                }
                2 | 3 => {
                    let k = u16::from_le_bytes([p[0], p[1]]) & FOLD2;
                    tiny_bits[usize::from(k) >> 6] |= 1 << (k & 63);
                    tiny.push((k, id));
                }
                _ => {
                    let w = u32::from_le_bytes([p[0], p[1], p[2], p[3]]) & FOLD4;
                    set_bit(&mut pre[..], (w & 0xFFFF) as usize);
                    set_bit(&mut bits[..], hash4(w, l1_shift));
                    match p.get(..8) {
                        Some(p8) => {
                            let w8 = u64::from_le_bytes(p8.try_into().ok()?) & FOLD8;
                            set_bit(&mut bits8[..], hash8(w8, filter_shift));
                        }
                        None => set_bit(&mut bits_short[..], hash4_wide(w, filter_shift)),
                    }
                    long.push((w, id));
                }
            }
        }
        for (p, t) in pre.iter_mut().zip(tiny_bits.iter()) {
            *p |= t;
        }
        long.sort_unstable();
        let long_index = index_prefixes(&long)?;
        tiny.sort_unstable();
        ones.sort_unstable();
        let has_tiny = !tiny.is_empty() || !ones.is_empty();
        let teddy = Teddy::build(&patterns);
        Some(Matcher {
            pre,
            bits,
            bits_short,
            bits8,
            l1_shift,
            filter_shift,
            long,
            long_index,
            tiny_bits: has_tiny.then_some(tiny_bits),
            tiny,
            ones,
            patterns,
            teddy,
        })
    }

    /// Calls `hit` with the id of each pattern occurring in `data` (once or more).
    fn for_each(&self, data: &[u8], mut hit: impl FnMut(usize)) {
        let pre = &self.pre[..];
        let n = data.len();
        // The SIMD stage skips the positions where no pattern can begin, up to `start`;
        // the positions it reports get the scalar tests below.
        let start = match &self.teddy {
            Some(t) => t.scan(data, |i| {
                let k = u16::from_le_bytes([data[i], data[i + 1]]) & FOLD2;
                if test_bit(pre, usize::from(k)) {
                    self.candidate(k, data, i, &mut hit);
                }
            }),
            None => 0,
        };
        // Each position costs a 2-byte load and a bit test; the few where a pattern can
        // begin go on to the 4-byte filter and the short patterns.
        for (i, w) in data[start..].windows(2).enumerate() {
            let i = start + i;
            let k = u16::from_le_bytes([w[0], w[1]]) & FOLD2;
            if test_bit(pre, usize::from(k)) {
                self.candidate(k, data, i, &mut hit);
            }
        }
        // The last position, where only 1-byte patterns fit.
        if let Some(&last) = data.last() {
            let k = u16::from(last) & FOLD2;
            if test_bit(pre, usize::from(k)) {
                self.candidate(k, data, n - 1, &mut hit);
            }
        }
    }

    /// A position where the first table is set: the 4-byte filter, then the patterns.
    #[inline(always)]
    fn candidate(&self, k: u16, data: &[u8], at: usize, hit: &mut impl FnMut(usize)) {
        if let Some(d) = data.get(at..at + 4) {
            let w = u32::from_le_bytes([d[0], d[1], d[2], d[3]]) & FOLD4;
            if test_bit(&self.bits[..], hash4(w, self.l1_shift)) {
                self.verify_long(w, data, at, hit);
            }
        }
        if let Some(tb) = &self.tiny_bits
            && test_bit(&tb[..], usize::from(k))
        {
            self.verify_tiny(k, data, at, hit);
        }
    }

    fn verify(&self, id: u32, data: &[u8], at: usize) -> bool {
        let p = &self.patterns[id as usize];
        data.get(at..at + p.len())
            .is_some_and(|d| d.eq_ignore_ascii_case(p))
    }

    #[cold]
    fn verify_long(&self, w: u32, data: &[u8], at: usize, hit: &mut impl FnMut(usize)) {
        let short = test_bit(&self.bits_short[..], hash4_wide(w, self.filter_shift));
        let long = data.get(at..at + 8).is_some_and(|d| {
            let w8 = u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
            test_bit(&self.bits8[..], hash8(w8 & FOLD8, self.filter_shift))
        });
        if !short && !long {
            return;
        }
        let mask = self.long_index.len() - 1;
        let mut slot = index_slot(w, mask);
        let (from, count) = loop {
            let (k, from, count) = self.long_index[slot];
            if count == 0 {
                return;
            }
            if k == w {
                break (from as usize, count as usize);
            }
            slot = (slot + 1) & mask;
        };
        for &(_, id) in &self.long[from..from + count] {
            if self.verify(id, data, at) {
                hit(id as usize);
            }
        }
    }

    #[cold]
    fn verify_tiny(&self, k: u16, data: &[u8], at: usize, hit: &mut impl FnMut(usize)) {
        let from = self.tiny.partition_point(|&(t, _)| t < k);
        for &(t, id) in &self.tiny[from..] {
            if t != k {
                break;
            }
            if self.verify(id, data, at) {
                hit(id as usize);
            }
        }
        let first = data[at] & 0xDF;
        let from = self.ones.partition_point(|&(b, _)| b < first);
        for &(b, id) in &self.ones[from..] {
            if b != first {
                break;
            }
            if self.verify(id, data, at) {
                hit(id as usize);
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

/// While building: a buffer and slot, and its (pattern id, rule index) pairs.
type PatternTable = ((Buf, Slot), Vec<(u32, u32)>);

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
    // A transformed buffer's contents need not appear in the raw buffer; a group with
    // `absent` matches without its buffer.
    for g in rule.groups.iter().filter(|g| {
        usable(g.buf)
            && g.transforms.is_empty()
            && g.absent.is_none()
            && !matches!(g.buf, Buf::Kind(k) if k.is_packet_header())
    }) {
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

/// Set on a rule index in a prefilter that serves two uses (see [`Prefilter::build`]):
/// the candidate belongs to the second.
pub const TAG: u32 = 1 << 31;

impl Prefilter {
    /// Builds the prefilter over the rules at `indices`, with their fast patterns from
    /// `fps`. An index may carry [`TAG`]: the candidates found then carry it too, so
    /// that one scan of the data serves two sets of rules. Matchers come from `cache`
    /// when it has one for the same patterns, and go to it when built.
    pub fn build(indices: &[u32], fps: &FastPatterns, cache: &mut MatcherCache) -> Prefilter {
        let mut per_buf: Vec<PatternTable> = Vec::new();
        let mut always = Vec::new();
        let mut by_addr: [AddrIndex; 2] = Default::default();
        for &idx in indices {
            let (buf, pid, slots) = match fps.get(idx) {
                Plan::Pattern(buf, pid, slots) => (*buf, *pid, slots),
                Plan::Addr(side, ranges) => {
                    by_addr[*side].insert(ranges, idx);
                    continue;
                }
                Plan::Always => {
                    always.push(idx);
                    continue;
                }
            };
            for &slot in slots {
                let key = (buf, slot);
                let entry = match per_buf.iter_mut().position(|e| e.0 == key) {
                    Some(p) => &mut per_buf[p],
                    None => {
                        per_buf.push((key, Vec::new()));
                        per_buf.last_mut().expect("just pushed")
                    }
                };
                entry.1.push((pid, idx));
            }
        }
        let mut automata = Vec::new();
        for ((buf, slot), mut pairs) in per_buf {
            // By pattern id: the same set of patterns makes the same matcher.
            pairs.sort_unstable();
            let mut ids: Vec<u32> = Vec::new();
            let mut rules: Vec<Vec<u32>> = Vec::new();
            for (pid, idx) in pairs {
                if ids.last() != Some(&pid) {
                    ids.push(pid);
                    rules.push(Vec::new());
                }
                rules.last_mut().expect("pushed above").push(idx);
            }
            let ac = match cache.get(&ids) {
                Some(m) => m.clone(),
                None => {
                    let patterns: Vec<Vec<u8>> = ids
                        .iter()
                        .map(|&p| fps.patterns[p as usize].clone())
                        .collect();
                    let m = Matcher::build(&patterns).map(Arc::new);
                    cache.insert(ids, m.clone());
                    m
                }
            };
            match ac {
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

    /// Scans the packet payload and the new stream data (`input.stream`, unless it is
    /// the payload), and the junction of the stream's earlier `tail` with the new
    /// data, where a fast pattern may straddle two segments (fast patterns are at most
    /// [`MAX_FP_LEN`] bytes).
    pub fn scan_payload(
        &self,
        slot: Slot,
        input: &crate::detect::Input<'_>,
        tail: &[u8],
        mut hit: impl FnMut(u32),
    ) {
        self.scan(Buf::Payload, slot, input.payload, &mut hit);
        let Some(new) = input.stream else { return };
        if new != input.payload {
            self.scan(Buf::Payload, slot, new, &mut hit);
        }
        if !tail.is_empty() {
            let mut junction = [0u8; 2 * (MAX_FP_LEN - 1)];
            let a = &tail[tail.len().saturating_sub(MAX_FP_LEN - 1)..];
            let b = &new[..new.len().min(MAX_FP_LEN - 1)];
            junction[..a.len()].copy_from_slice(a);
            junction[a.len()..a.len() + b.len()].copy_from_slice(b);
            self.scan(Buf::Payload, slot, &junction[..a.len() + b.len()], &mut hit);
        }
    }

    /// Calls `hit` with the address-indexed rules that may match these addresses.
    pub fn scan_addresses(&self, src: IpAddr, dst: IpAddr, mut hit: impl FnMut(u32)) {
        self.by_addr[0].lookup(src, &mut hit);
        self.by_addr[1].lookup(dst, &mut hit);
    }

    /// Number of (untagged) rules found through the address index.
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
            .filter(|r| r & TAG == 0)
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

#[cfg(test)]
mod tests {
    use super::Matcher;
    use crate::detect::teddy::Teddy;
    use proptest::prelude::*;

    fn naive(patterns: &[Vec<u8>], data: &[u8]) -> Vec<usize> {
        (0..patterns.len())
            .filter(|&i| {
                let p = &patterns[i];
                data.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p))
            })
            .collect()
    }

    fn found(m: &Matcher, data: &[u8]) -> Vec<usize> {
        let mut v = Vec::new();
        m.for_each(data, |i| v.push(i));
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The matcher three ways: as built, with the SIMD first stage forced on (where
    /// the CPU has it, whatever its estimated pass rate) and with it off (the scalar
    /// loop alone).
    fn variants(patterns: &[Vec<u8>]) -> Vec<Matcher> {
        let built = Matcher::build(patterns).expect("builds");
        let mut simd = Matcher::build(patterns).expect("builds");
        simd.teddy = Teddy::build_tables(&simd.patterns);
        let mut scalar = Matcher::build(patterns).expect("builds");
        scalar.teddy = None;
        vec![built, simd, scalar]
    }

    #[test]
    fn finds_every_length_at_every_position_in_any_case() {
        let patterns: Vec<Vec<u8>> = ["a", "Bc", "x\0z", "evil", "hello", "longer-pattern"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        for m in variants(&patterns) {
            assert_eq!(found(&m, b"A"), [0]);
            assert_eq!(found(&m, b"qqbC"), [1]);
            assert_eq!(found(&m, b"x\0z"), [2]);
            assert_eq!(found(&m, b"..EVIL"), [3]);
            assert_eq!(found(&m, b"HeLLo"), [4]);
            assert_eq!(found(&m, b"a LONGER-PATTERN"), [0, 5]);
            assert_eq!(found(&m, b"LONGER-PXTTERN"), Vec::<usize>::new());
            assert_eq!(found(&m, b""), Vec::<usize>::new());
            // Long data, so that the SIMD stage runs, with each pattern at both ends.
            let mut long = b"Bc".to_vec();
            long.extend(std::iter::repeat_n(b'q', 100));
            long.extend_from_slice(b"LONGER-PATTERN..evilx\0za");
            assert_eq!(found(&m, &long), [0, 1, 2, 3, 5]);
            let mut at_end = vec![b'.'; 64];
            at_end.extend_from_slice(b"x\0z");
            assert_eq!(found(&m, &at_end), [2]);
        }
    }

    proptest! {
        /// The same set of patterns as a naive search, whatever the data, including
        /// bytes that differ from a pattern's only in bit 5 (folded by the filter).
        #[test]
        fn agrees_with_a_naive_search(
            patterns in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'A'), Just(b'!'), Just(0x01u8), Just(b'@'), Just(b'`')], 1..10),
                1..12,
            ),
            data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'A'), Just(b'!'), Just(0x01u8), Just(b'@'), Just(b'`'), any::<u8>()], 0..200),
        ) {
            for m in variants(&patterns) {
                prop_assert_eq!(found(&m, &data), naive(&patterns, &data));
            }
        }

        /// The same over longer data with many patterns (the SIMD stage's buckets
        /// hold several each), including 1- and 2-byte ones and matches at the ends.
        #[test]
        fn agrees_with_a_naive_search_many_patterns(
            patterns in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'Z'), Just(0u8), Just(0xE1u8), Just(b'`'), any::<u8>()], 1..9),
                1..60,
            ),
            prefix in proptest::collection::vec(any::<u8>(), 0..700),
            pick in any::<proptest::sample::Index>(),
        ) {
            // Put a pattern at the end (and a case variant of it at the start).
            let p = &patterns[pick.index(patterns.len())];
            let mut data = p.to_ascii_uppercase();
            data.extend_from_slice(&prefix);
            data.extend_from_slice(p);
            for m in variants(&patterns) {
                prop_assert_eq!(found(&m, &data), naive(&patterns, &data));
            }
        }

        /// The same with patterns of 4 bytes or more only (the matcher's other loop).
        #[test]
        fn agrees_with_a_naive_search_long_patterns_only(
            patterns in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'A'), Just(b'!'), Just(b'@'), Just(b'`')], 4..10),
                1..12,
            ),
            data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'A'), Just(b'!'), Just(b'@'), Just(b'`'), any::<u8>()], 0..200),
        ) {
            for m in variants(&patterns) {
                prop_assert!(m.tiny_bits.is_none());
                prop_assert_eq!(found(&m, &data), naive(&patterns, &data));
            }
        }
    }
}
