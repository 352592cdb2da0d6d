//! Detection: rules compiled into a prefilter and per-rule programs, matched against an
//! [`Input`] that the traffic side (decoder, flows, streams, app-layer parsers) builds
//! for each packet and each application-layer transaction update.
//!
//! Rules are kept in Suricata's evaluation order: by action (pass, drop, reject,
//! alert), then rules that set flowbits before rules that read them, then by priority.
//! A rule that inspects application-layer buffers (a *transaction rule*) is evaluated
//! on transaction inputs and alerts at most once per transaction; any other rule (a
//! *packet rule*) is evaluated on packet inputs, against the packet payload and the
//! new stream data, and alerts at most once per packet.

mod group;
pub mod input;
pub(crate) mod matcher;
mod prefilter;
mod teddy;
mod threshold;
pub mod transform;
mod xbits;

pub use crate::rules::Action;
pub use input::{
    AppProto, BufferKind, Direction, FlowCounts, FlowDetectState, FlowGroup, Input, Layer4,
};

use crate::rules::{
    Buf, FlowDir, FlowbitOp, FlowintOp, Group, Proto, Rule, StreamMode, StreamSide, UintMatch,
};
use prefilter::Prefilter;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use threshold::Thresholds;
use xbits::Xbits;

/// One alert (or drop/reject decision) produced by a matching rule. `pass` rules
/// produce no alert: they end detection for the packet and the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub action: Action,
    pub gid: u32,
    pub sid: u32,
    pub rev: u32,
    pub msg: String,
    pub category: String,
    pub severity: u8,
    /// Which transaction matched, for EVE metadata.
    pub tx_id: Option<u64>,
    /// The action (drop, reject) applies to the whole flow, not only this packet
    /// (Suricata's action scope by rule type, as for `pass`).
    pub flow_scope: bool,
}

/// What the loaded rules need from the traffic side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Some rule inspects an application-layer buffer (or is an app-layer rule).
    pub app_layer: bool,
    /// Some rule inspects reassembled stream data.
    pub stream: bool,
    /// The buffers rules inspect.
    pub buffers: BTreeSet<BufferKind>,
}

/// Compiled rules, prefilter and threshold state.
#[derive(Debug)]
pub struct Detector {
    rules: Vec<Rule>,
    /// Packet rules, and (tagged with [`prefilter::TAG`]) the transaction rules that
    /// also have packet-payload keywords, by their payload fast pattern: their payload
    /// part is matched on packets and remembered per flow. One scan serves both.
    packet: Prefilter,
    tx: Prefilter,
    has_mixed: bool,
    /// The tagged candidates of the current packet input.
    mixed_candidates: Vec<u32>,
    /// The packet rules whose fast pattern the payload scan of the current input found.
    payload_found: Vec<u32>,
    thresholds: Thresholds,
    xbits: Xbits,
    needs: Needs,
    /// Rule index → epoch in which it was last made a candidate.
    stamp: Vec<u32>,
    epoch: u32,
    candidates: Vec<u32>,
    stats: DetectStats,
    /// Per rule: Suricata's `ip_only` type (inspected once per flow and direction).
    ip_only: Vec<bool>,
    /// The address and port classes the rules name, for grouping.
    classes: group::Classes,
    /// Per group (by id): the packet and transaction prefilters over its rules only.
    groups: Vec<(Prefilter, Prefilter)>,
    /// Group key → group id (`None`: the group limit was reached for it).
    group_ids: HashMap<group::Key, Option<u32>>,
    /// Member rules (bit set) → group id: keys with the same members share a group.
    group_members: HashMap<Vec<u64>, u32>,
    /// Per address and port: which of the rules' expressions hold it.
    memo: group::Memo,
    /// The indices the prefilters are built over (packet plus tagged mixed, and tx).
    both_idx: Vec<u32>,
    tx_idx: Vec<u32>,
    /// Each rule's fast pattern, computed once for all groups.
    fps: prefilter::FastPatterns,
    /// The matchers built so far, by pattern set: groups that scan a buffer for the
    /// same patterns share one.
    cache: prefilter::MatcherCache,
    /// Whether inputs are grouped by address class (off: the ungrouped prefilters).
    grouping: bool,
    /// Some transaction rule is a `pass` rule.
    has_tx_pass: bool,
}

/// The packet and transaction prefilters over the rules of `indices` for which `keep`
/// holds (by rule index).
fn build_prefilters(
    both: &[u32],
    tx_idx: &[u32],
    fps: &prefilter::FastPatterns,
    cache: &mut prefilter::MatcherCache,
    keep: impl Fn(usize) -> bool,
) -> (Prefilter, Prefilter) {
    let both: Vec<u32> = both
        .iter()
        .copied()
        .filter(|&i| keep((i & !prefilter::TAG) as usize))
        .collect();
    let tx: Vec<u32> = tx_idx
        .iter()
        .copied()
        .filter(|&i| keep(i as usize))
        .collect();
    let packet = Prefilter::build(&both, fps, cache);
    let tx = Prefilter::build(&tx, fps, cache);
    (packet, tx)
}

/// Counters of the work detection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// Inputs inspected.
    pub inputs: u64,
    /// Rules fully evaluated (prefilter candidates).
    pub evaluated: u64,
    /// Rules that matched.
    pub matched: u64,
}

/// Whether a matching `pass` (or `drop`) rule acts on the whole flow (Suricata's action scope of
/// the `ip_only`, `stream` on a reassembled session, `app_layer` and `app_tx` rule
/// types) or only the packet (the `pkt` type: packet keywords, or a flow check on a
/// rule without payload).
fn pass_applies_to_flow(rule: &Rule, ip_only: bool, input: &Input<'_>) -> bool {
    if rule.is_tx_rule() || ip_only {
        return true;
    }
    let packet_keywords = rule.dsize.is_some()
        || rule.ttl.is_some()
        || rule.flags.is_some()
        || rule.itype.is_some()
        || rule.icode.is_some()
        || rule.stream_size.is_some()
        || rule.flow.stream == StreamMode::NoStream;
    if packet_keywords {
        return false;
    }
    if rule.groups.iter().any(|g| g.buf == Buf::Payload) {
        return input.ip_proto == 6 && input.established;
    }
    let reads_bits = rule
        .flowbits
        .iter()
        .map(|f| f.op)
        .chain(rule.xbits.iter().map(|x| x.op))
        .any(|op| matches!(op, FlowbitOp::IsSet | FlowbitOp::IsNotSet));
    matches!(rule.header.proto, Proto::App(_)) && rule.flow.established.is_none() && !reads_bits
}

/// Follows the TCP sequence space of each direction for `stream_size`.
fn track_seq(flow: &mut FlowDetectState, dir: Direction, seq: u32, flags: u8, len: usize) {
    let syn = flags & 0x02 != 0;
    let fin = flags & 0x01 != 0;
    let end = seq
        .wrapping_add(len as u32)
        .wrapping_add(u32::from(syn) + u32::from(fin));
    let slot = &mut flow.tcp_seq[dir_index(dir)];
    match slot {
        None => {
            // Picked up without its SYN: count from this segment, as Suricata does.
            let isn = if syn { seq } else { seq.wrapping_sub(1) };
            *slot = Some((isn, end));
        }
        Some((isn, next)) => {
            if syn {
                *isn = seq;
            }
            // Only forward progress counts (retransmissions do not grow the stream).
            if (end.wrapping_sub(*next) as i32) > 0 {
                *next = end;
            }
        }
    }
}

fn dir_index(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

fn stream_size_ok(rule: &Rule, input: &Input<'_>, flow: &FlowDetectState) -> bool {
    let Some((side, m)) = rule.stream_size else {
        return true;
    };
    if input.ip_proto != 6 {
        return false;
    }
    let size = |d: Direction| {
        flow.tcp_seq[dir_index(d)].map_or(0, |(isn, next)| u64::from(next.wrapping_sub(isn)))
    };
    let (client, server) = (size(Direction::ToServer), size(Direction::ToClient));
    match side {
        StreamSide::Server => m.matches(server),
        StreamSide::Client => m.matches(client),
        StreamSide::Both => m.matches(server) && m.matches(client),
        StreamSide::Either => m.matches(server) || m.matches(client),
    }
}

fn flowbits_rank(rule: &Rule) -> u8 {
    let ops = rule
        .flowbits
        .iter()
        .map(|f| f.op)
        .chain(rule.xbits.iter().map(|x| x.op))
        .chain(rule.flowints.iter().map(|f| match f.op {
            FlowintOp::Set(_) | FlowintOp::Add(_) | FlowintOp::Sub(_) => FlowbitOp::Set,
            FlowintOp::Compare(_) | FlowintOp::IsSet | FlowintOp::NotSet => FlowbitOp::IsSet,
        }));
    let sets = ops
        .clone()
        .any(|op| matches!(op, FlowbitOp::Set | FlowbitOp::Unset | FlowbitOp::Toggle));
    let reads = ops
        .clone()
        .any(|op| matches!(op, FlowbitOp::IsSet | FlowbitOp::IsNotSet));
    match (sets, reads) {
        (true, false) => 0,
        (true, true) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

impl Detector {
    pub fn new(mut rules: Vec<Rule>) -> Detector {
        rules.sort_by_key(|r| (r.action.order(), flowbits_rank(r), r.priority));
        let mut needs = Needs::default();
        let (mut pkt_idx, mut tx_idx, mut mixed_idx) = (Vec::new(), Vec::new(), Vec::new());
        for (i, r) in rules.iter().enumerate() {
            if r.is_tx_rule() {
                tx_idx.push(i as u32);
                if r.groups.iter().any(|g| g.buf == Buf::Payload) {
                    mixed_idx.push(i as u32);
                    needs.stream = true;
                }
                needs.app_layer = true;
            } else {
                pkt_idx.push(i as u32);
                if !r.groups.is_empty()
                    && r.flow.stream != StreamMode::NoStream
                    && matches!(r.header.proto, Proto::Ip | Proto::Tcp | Proto::App(_))
                {
                    needs.stream = true;
                }
            }
            if matches!(r.header.proto, Proto::App(_)) || !r.app_proto.is_empty() {
                needs.app_layer = true;
            }
            for g in &r.groups {
                if let Buf::Kind(k) = g.buf {
                    needs.buffers.insert(k);
                    if k == BufferKind::FileData {
                        needs.buffers.insert(BufferKind::HttpResponseBody);
                        needs.buffers.insert(BufferKind::HttpRequestBody);
                    }
                }
            }
        }
        let has_mixed = !mixed_idx.is_empty();
        let both: Vec<u32> = pkt_idx
            .iter()
            .copied()
            .chain(mixed_idx.iter().map(|&i| i | prefilter::TAG))
            .collect();
        // Packet rules have payload groups only; transaction rules take their fast
        // pattern from an application-layer buffer, and those with payload keywords
        // (tagged) also one from the payload for the packet prefilter.
        let fps = prefilter::FastPatterns::new(&rules, |i, b| {
            if i & prefilter::TAG != 0 {
                b == Buf::Payload
            } else {
                !rules[i as usize].is_tx_rule() || b != Buf::Payload
            }
        });
        let mut cache = prefilter::MatcherCache::default();
        let (packet, tx) = build_prefilters(&both, &tx_idx, &fps, &mut cache, |_| true);
        let classes = group::Classes::new(&rules);
        let n = rules.len();
        let ip_only = rules.iter().map(Rule::is_ip_only).collect();
        let has_tx_pass = rules
            .iter()
            .any(|r| r.action == Action::Pass && r.is_tx_rule());
        Detector {
            rules,
            packet,
            tx,
            has_mixed,
            mixed_candidates: Vec::new(),
            payload_found: Vec::new(),
            thresholds: Thresholds::default(),
            xbits: Xbits::default(),
            needs,
            stamp: vec![0; n],
            epoch: 0,
            candidates: Vec::new(),
            stats: DetectStats::default(),
            ip_only,
            classes,
            groups: Vec::new(),
            group_ids: HashMap::new(),
            group_members: HashMap::new(),
            memo: group::Memo::default(),
            both_idx: both,
            tx_idx,
            fps,
            cache,
            grouping: true,
            has_tx_pass,
        }
    }

    /// The same detector without address groups: every input is prefiltered over all
    /// rules (the reference that grouping is tested against).
    pub fn without_groups(mut self) -> Detector {
        self.grouping = false;
        self
    }

    /// The group of inputs with these addresses and ports (built on first use), or
    /// `None` when the group limit is reached (the ungrouped prefilters serve then).
    fn group_of(&mut self, src: IpAddr, dst: IpAddr, ports: Option<(u16, u16)>) -> Option<u32> {
        if !self.grouping {
            return None;
        }
        let key = self.classes.key(src, dst, ports, &mut self.memo);
        if let Some(&g) = self.group_ids.get(&key) {
            return g;
        }
        let members = self.classes.members(&key);
        let g = match self.group_members.get(&members) {
            Some(&g) => Some(g),
            None if self.groups.len() >= group::MAX_GROUPS => None,
            None => {
                let pair = build_prefilters(
                    &self.both_idx,
                    &self.tx_idx,
                    &self.fps,
                    &mut self.cache,
                    |i| group::get(&members, i),
                );
                let g = self.groups.len() as u32;
                self.groups.push(pair);
                self.group_members.insert(members, g);
                Some(g)
            }
        };
        if self.group_ids.len() >= group::MAX_KEYS {
            self.group_ids.clear();
        }
        self.group_ids.insert(key, g);
        g
    }

    /// The group of an input, from the flow's detect state when the flow has one for
    /// these addresses and ports.
    fn flow_group(&mut self, input: &Input<'_>, flow: &mut FlowDetectState) -> Option<u32> {
        let ports = input.ports();
        let slot = &flow.group[dir_index(input.direction)];
        if let Some(c) = *slot
            && c.src == input.src_ip
            && c.dst == input.dst_ip
            && c.ports == ports
        {
            return c.group;
        }
        let g = self.group_of(input.src_ip, input.dst_ip, ports);
        flow.group[dir_index(input.direction)] = Some(input::FlowGroup {
            src: input.src_ip,
            dst: input.dst_ip,
            ports,
            group: g,
        });
        g
    }

    /// Number of rule groups (distinct sets of member rules) built so far.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// The sids the ungrouped prefilters select for `input` (every rule, whatever its
    /// addresses): the reference the grouped selection is tested against.
    pub fn ungrouped_candidate_sids(
        &mut self,
        input: &Input<'_>,
        flow: &FlowDetectState,
    ) -> Vec<u32> {
        self.collect_candidates(input, &[], flow, None);
        self.candidates
            .iter()
            .map(|&i| self.rules[i as usize].sid)
            .collect()
    }

    /// The rules, in evaluation order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number of loaded rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Number of rules that are evaluated without a prefilter hit.
    pub fn always_candidates(&self) -> usize {
        let untagged = |v: &[u32]| v.iter().filter(|&&r| r & prefilter::TAG == 0).count();
        untagged(&self.packet.always) + untagged(&self.tx.always)
    }

    /// Number of rules without a fast pattern that are found by their addresses.
    pub fn address_indexed(&self) -> usize {
        self.packet.address_indexed() + self.tx.address_indexed()
    }

    /// Number of distinct fast patterns in the prefilter.
    pub fn pattern_count(&self) -> usize {
        self.packet.pattern_count() + self.tx.pattern_count()
    }

    /// The sids of the rules the prefilter selects for full evaluation of `input`
    /// (for diagnostics and tests of the prefilter).
    pub fn candidate_sids(&mut self, input: &Input<'_>, flow: &FlowDetectState) -> Vec<u32> {
        let group = self.group_of(input.src_ip, input.dst_ip, input.ports());
        self.collect_candidates(input, &[], flow, group);
        self.candidates
            .iter()
            .map(|&i| self.rules[i as usize].sid)
            .collect()
    }

    /// Counters of the work done so far.
    pub fn stats(&self) -> DetectStats {
        self.stats
    }

    /// Whether a rule has `fragbits` or `fragoffset` (fragments are inspected for it).
    pub fn has_fragment_rules(&self) -> bool {
        self.rules.iter().any(Rule::fragment_keywords)
    }

    /// Whether a transaction rule is a `pass` rule.
    pub fn has_tx_pass(&self) -> bool {
        self.has_tx_pass
    }

    /// Whether any rule needs app-layer buffers / stream data (lets the engine skip work).
    pub fn needs(&self) -> Needs {
        self.needs.clone()
    }

    /// Matches one input; appends alerts. May update flow state (flowbits, ...).
    pub fn inspect(&mut self, input: &Input<'_>, flow: &mut FlowDetectState, out: &mut Vec<Alert>) {
        if flow.passed {
            return;
        }
        if input.tx_id.is_none()
            && let Layer4::Tcp { seq, flags, .. } = input.l4
        {
            track_seq(flow, input.direction, seq, flags, input.payload.len());
        }
        // On a reassembled session the new stream data is inspected behind the tail of
        // the data before it, so a content split over two segments is found. The
        // prefilter needs only the junction of the two; the window (tail and new data)
        // is made only when some rule is evaluated.
        let tail_len = if self.needs.stream {
            stream_tail_len(input, flow)
        } else {
            None
        };
        let direction = input.direction;
        let dir = dir_index(direction);
        let new_data = input
            .stream
            .filter(|_| self.needs.stream && input.tx_id.is_none() && input.ip_proto == 6);
        let carry = new_data.is_some();
        if let Some(s) = new_data {
            // Rules found earlier stay candidates while their data is in the tail.
            flow.carried[dir].retain_mut(|(_, since)| {
                *since += s.len();
                *since < STREAM_TAIL
            });
        }
        let group = self.flow_group(input, flow);
        let tail: &[u8] = match tail_len {
            Some(_) => tail_of(&flow.stream_tail[dir]),
            None => &[],
        };
        self.collect_candidates(input, tail, flow, group);
        // The window is the end of the flow's tail buffer once the new data is
        // appended to it (taken out of the flow while rules are evaluated).
        let mut stream_buf = Vec::new();
        let mut appended = false;
        let windowed;
        let (input, old) = match tail_len {
            Some(old) if !self.candidates.is_empty() || !self.mixed_candidates.is_empty() => {
                let new = input.stream.unwrap_or_default();
                stream_buf = std::mem::take(&mut flow.stream_tail[dir]);
                append_stream(&mut stream_buf, new);
                appended = true;
                windowed = Input {
                    stream: Some(&stream_buf[stream_buf.len() - new.len() - old..]),
                    ..input.clone()
                };
                (&windowed, old)
            }
            // Nothing is evaluated: the new data alone stands for the stream.
            _ => (input, 0),
        };
        if input.tx_id.is_none() && self.has_mixed {
            self.record_mixed_payloads(input, old, flow);
        }
        let candidates = std::mem::take(&mut self.candidates);
        let ip_only_done = input.tx_id.is_none() && {
            let done = &mut flow.ip_only_done[dir_index(input.direction)];
            std::mem::replace(done, true)
        };
        self.stats.inputs += 1;
        self.stats.evaluated += candidates.len() as u64;
        for &idx in &candidates {
            let rule = &self.rules[idx as usize];
            if ip_only_done && self.ip_only[idx as usize] {
                continue;
            }
            if let Some(tx) = input.tx_id
                && flow.alerted_tx.contains(&(rule.sid, tx))
            {
                continue;
            }
            if !rule_matches(rule, idx, input, old, flow)
                || (!rule.xbits.is_empty() && !self.xbits.check(rule, input))
            {
                continue;
            }
            self.stats.matched += 1;
            apply_flowbits(rule, flow);
            self.xbits.apply(rule, input);
            if let Some(tx) = input.tx_id {
                flow.alerted_tx.insert((rule.sid, tx));
                flow.tx_progress.remove(&(idx, tx));
            }
            if rule.action == Action::Pass {
                let flow_scope = pass_applies_to_flow(rule, self.ip_only[idx as usize], input);
                if rule.pass_alert && !rule.noalert {
                    out.push(Alert {
                        flow_scope,
                        action: Action::Pass,
                        gid: rule.gid,
                        sid: rule.sid,
                        rev: rule.rev,
                        msg: rule.msg.clone(),
                        category: rule.category.clone(),
                        severity: rule.priority,
                        tx_id: input.tx_id,
                    });
                }
                // Suricata's action scope: the flow, except for packet-type rules.
                if flow_scope {
                    flow.passed = true;
                }
                break;
            }
            if rule.noalert {
                continue;
            }
            let (rule_th, rule_df) = (rule.threshold, rule.detection_filter);
            let alert = Alert {
                flow_scope: pass_applies_to_flow(rule, self.ip_only[idx as usize], input),
                action: rule.action,
                gid: rule.gid,
                sid: rule.sid,
                rev: rule.rev,
                msg: rule.msg.clone(),
                category: rule.category.clone(),
                severity: rule.priority,
                tx_id: input.tx_id,
            };
            let mut ok = true;
            for th in [rule_df, rule_th].into_iter().flatten() {
                ok &= self.thresholds.allows(idx, &th, input);
            }
            if ok {
                out.push(alert);
            }
        }
        self.candidates = candidates;
        if appended {
            flow.stream_tail[dir] = stream_buf;
        } else if let Some(s) = new_data {
            keep_tail(flow, direction, s);
        }
        if carry {
            let carried = &mut flow.carried[dir];
            for &r in &self.payload_found {
                if carried.len() >= MAX_CARRIED {
                    break;
                }
                if !carried.iter().any(|&(c, _)| c == r) {
                    carried.push((r, 0));
                }
            }
        }
    }

    /// Matches the payload part of transaction rules that have one against a packet,
    /// and remembers the rules whose part matched for the flow's transactions.
    fn record_mixed_payloads(&mut self, input: &Input<'_>, old: usize, flow: &mut FlowDetectState) {
        let cands = &mut self.mixed_candidates;
        cands.sort_unstable();
        cands.dedup();
        for &idx in cands.iter() {
            if flow.payload_matched.contains(&idx) {
                continue;
            }
            if payload_groups_match(&self.rules[idx as usize], input, old) {
                flow.payload_matched.insert(idx);
            }
        }
    }

    fn collect_candidates(
        &mut self,
        input: &Input<'_>,
        tail: &[u8],
        flow: &FlowDetectState,
        group: Option<u32>,
    ) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
        let epoch = self.epoch;
        let stamp = &mut self.stamp;
        let cands = &mut self.candidates;
        let mixed = &mut self.mixed_candidates;
        let found = &mut self.payload_found;
        cands.clear();
        mixed.clear();
        found.clear();
        let mut add = |r: u32| {
            if r & prefilter::TAG != 0 {
                mixed.push(r & !prefilter::TAG);
                return;
            }
            let s = &mut stamp[r as usize];
            if *s != epoch {
                *s = epoch;
                cands.push(r);
            }
        };
        let (packet, tx) = match group {
            Some(g) => {
                let (p, t) = &self.groups[g as usize];
                (p, t)
            }
            None => (&self.packet, &self.tx),
        };
        let pf = if input.tx_id.is_some() { tx } else { packet };
        for &r in &pf.always {
            add(r);
        }
        pf.scan_addresses(input.src_ip, input.dst_ip, &mut add);
        let slot = prefilter::Slot::of(input);
        for buf in pf.buffers(slot) {
            match buf {
                Buf::Payload => pf.scan_payload(slot, input, tail, |r| {
                    if r & prefilter::TAG == 0 {
                        found.push(r);
                    }
                    add(r)
                }),
                Buf::Kind(BufferKind::FileData) => {
                    // The shared body automaton: each distinct body slice once.
                    let mut seen: [Option<(*const u8, usize)>; 3] = [None; 3];
                    for (k, data) in input.buffers {
                        if !matches!(
                            k,
                            BufferKind::FileData
                                | BufferKind::HttpResponseBody
                                | BufferKind::HttpRequestBody
                        ) {
                            continue;
                        }
                        let id = Some((data.as_ptr(), data.len()));
                        if seen.contains(&id) {
                            continue;
                        }
                        if let Some(slot) = seen.iter_mut().find(|s| s.is_none()) {
                            *slot = id;
                        }
                        pf.scan(buf, slot, data, &mut add);
                    }
                }
                Buf::Kind(k) => {
                    for data in buffers(input, k) {
                        pf.scan(buf, slot, data, &mut add);
                    }
                }
            }
        }
        if input.tx_id.is_none() {
            for &(r, _) in &flow.carried[dir_index(input.direction)] {
                add(r);
            }
        }
        if let Some(tx) = input.tx_id {
            for &(r, t) in flow.tx_progress.keys() {
                if t == tx && (r as usize) < self.rules.len() {
                    add(r);
                }
            }
        }
        cands.sort_unstable();
    }
}

/// The instances of a buffer in an input. `file.data` falls back to the HTTP body of the
/// input's direction.
fn buffers<'a>(input: &'a Input<'_>, kind: BufferKind) -> Box<dyn Iterator<Item = &'a [u8]> + 'a> {
    if kind.is_packet_header() {
        let v4 = input.ip_header.first().is_some_and(|b| b >> 4 == 4);
        let data = match kind {
            BufferKind::Ipv4Hdr if v4 => input.ip_header,
            BufferKind::Ipv6Hdr if !v4 => input.ip_header,
            BufferKind::TcpHdr if input.ip_proto == 6 => input.l4_header,
            BufferKind::UdpHdr if input.ip_proto == 17 => input.l4_header,
            BufferKind::Icmpv4Hdr if input.ip_proto == 1 => input.l4_header,
            BufferKind::Icmpv6Hdr if input.ip_proto == 58 => input.l4_header,
            BufferKind::IpSrc if v4 => input.ip_header.get(12..16).unwrap_or_default(),
            BufferKind::IpDst if v4 => input.ip_header.get(16..20).unwrap_or_default(),
            BufferKind::IpSrc => input.ip_header.get(8..24).unwrap_or_default(),
            BufferKind::IpDst => input.ip_header.get(24..40).unwrap_or_default(),
            _ => &[],
        };
        return Box::new((!data.is_empty()).then_some(data).into_iter());
    }
    let has = input.buffers.iter().any(|(k, _)| *k == kind);
    let kind = if kind == BufferKind::FileData && !has {
        match input.direction {
            Direction::ToClient => BufferKind::HttpResponseBody,
            Direction::ToServer => BufferKind::HttpRequestBody,
        }
    } else {
        kind
    };
    Box::new(
        input
            .buffers
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, b)| *b),
    )
}

/// The TCP MSS option of a TCP header, if present.
fn tcp_mss(hdr: &[u8]) -> Option<u16> {
    let mut opts = hdr.get(20..)?;
    while let [kind, rest @ ..] = opts {
        match kind {
            0 => return None,
            1 => opts = rest,
            _ => {
                let len = *rest.first()? as usize;
                if len < 2 || len > opts.len() {
                    return None;
                }
                if *kind == 2 && len == 4 {
                    return Some(u16::from_be_bytes([opts[2], opts[3]]));
                }
                opts = &opts[len..];
            }
        }
    }
    None
}

/// `id`, `tos`, `fragbits`, `fragoffset` on the IPv4 header (an IPv6 packet does not
/// match them).
fn ipv4_keywords_match(rule: &Rule, input: &Input<'_>) -> bool {
    if rule.ip_id.is_none() && rule.tos.is_none() && !rule.fragment_keywords() {
        return true;
    }
    let h = input.ip_header;
    if h.len() < 20 || h[0] >> 4 != 4 {
        return false;
    }
    let off = u16::from_be_bytes([h[6], h[7]]);
    let flags =
        ((off >> 13) & 1) as u8 | (((off >> 14) & 1) as u8) << 1 | (((off >> 15) & 1) as u8) << 2;
    rule.ip_id
        .is_none_or(|id| id == u16::from_be_bytes([h[4], h[5]]))
        && rule.tos.is_none_or(|(neg, t)| (h[1] == t) != neg)
        && rule.fragbits.is_none_or(|f| f.matches(flags))
        && rule
            .fragoffset
            .is_none_or(|m| m.matches(u64::from(off & 0x1fff) * 8))
}

/// ICMP messages that carry an identifier and sequence number (echo, timestamp,
/// information, address mask; ICMPv6 echo).
fn icmp_has_id(proto: u8, icmp_type: u8) -> bool {
    match proto {
        1 => matches!(icmp_type, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18),
        58 => matches!(icmp_type, 128 | 129),
        _ => false,
    }
}

/// The packet header groups (`ipv4.hdr`, `tcp.hdr`, ...) of a packet rule.
/// Byte variables (`byte_extract`, `byte_math`) set in one header buffer carry over to
/// the next, in the order written.
fn header_groups_match(rule: &Rule, input: &Input<'_>) -> bool {
    let mut vars = [0; crate::rules::MAX_BYTE_VARS];
    rule.groups.iter().all(|g| match g.buf {
        Buf::Kind(k) if k.is_packet_header() => {
            buffers(input, k).any(|d| group_matches_data_with(g, d, &mut vars))
        }
        _ => true,
    })
}

fn header_matches(rule: &Rule, input: &Input<'_>) -> bool {
    let h = &rule.header;
    let proto_ok = match h.proto {
        Proto::Ip => true,
        Proto::Tcp => input.ip_proto == 6,
        Proto::Udp => input.ip_proto == 17,
        Proto::Sctp => input.ip_proto == 132,
        Proto::Icmp => input.ip_proto == 1 || input.ip_proto == 58,
        Proto::Icmpv4 => input.ip_proto == 1,
        Proto::Icmpv6 => input.ip_proto == 58,
        Proto::Pkthdr => true,
        Proto::App(p) => p.covers(input.app_proto),
    };
    if !proto_ok {
        return false;
    }
    let (mut sp, mut dp) = input.ports().unwrap_or((0, 0));
    let has_ports = input.ports().is_some();
    let (mut src, mut dst) = (input.src_ip, input.dst_ip);
    if h.transactional && input.direction == Direction::ToClient {
        // `=>`: the header names the transaction's client and server.
        std::mem::swap(&mut src, &mut dst);
        std::mem::swap(&mut sp, &mut dp);
    }
    let fwd = |src, sport, dst, dport| {
        h.src.matches(src)
            && h.dst.matches(dst)
            && (!has_ports || (h.src_ports.matches(sport) && h.dst_ports.matches(dport)))
    };
    fwd(src, sp, dst, dp) || (h.bidirectional && fwd(dst, dp, src, sp))
}

fn flowbits_ok(rule: &Rule, flow: &FlowDetectState) -> bool {
    rule.flowbits.iter().all(|f| match f.op {
        FlowbitOp::IsSet => f.names.iter().any(|n| flow.flowbits.contains(n)),
        FlowbitOp::IsNotSet => f.names.iter().any(|n| !flow.flowbits.contains(n)),
        _ => true,
    }) && rule.flowints.iter().all(|f| {
        let v = flow.flowints.get(&f.name);
        match f.op {
            FlowintOp::IsSet => v.is_some(),
            FlowintOp::NotSet => v.is_none(),
            FlowintOp::Compare(m) => v.is_some_and(|&v| m.matches(v)),
            FlowintOp::Set(_) | FlowintOp::Add(_) | FlowintOp::Sub(_) => true,
        }
    })
}

fn apply_flowbits(rule: &Rule, flow: &mut FlowDetectState) {
    for f in &rule.flowints {
        match f.op {
            FlowintOp::Set(n) => {
                flow.flowints.insert(f.name.clone(), n);
            }
            FlowintOp::Add(n) => {
                let v = flow.flowints.entry(f.name.clone()).or_insert(0);
                *v = v.saturating_add(n);
            }
            FlowintOp::Sub(n) => {
                let v = flow.flowints.entry(f.name.clone()).or_insert(0);
                *v = v.saturating_sub(n);
            }
            _ => {}
        }
    }
    for f in &rule.flowbits {
        for n in &f.names {
            match f.op {
                FlowbitOp::Set => {
                    flow.flowbits.insert(n.clone());
                }
                FlowbitOp::Unset => {
                    flow.flowbits.remove(n);
                }
                FlowbitOp::Toggle => {
                    if !flow.flowbits.remove(n) {
                        flow.flowbits.insert(n.clone());
                    }
                }
                FlowbitOp::IsSet | FlowbitOp::IsNotSet => {}
            }
        }
    }
}

/// Everything but the payload keywords.
fn non_payload_matches(rule: &Rule, input: &Input<'_>, flow: &FlowDetectState) -> bool {
    // A packet that is not traffic (it failed decoding, or is a fragment) is seen only
    // by rules on its events and `pkthdr` rules.
    if input.invalid
        && rule.events.is_empty()
        && rule.header.proto != Proto::Pkthdr
        && !rule.fragment_keywords()
    {
        return false;
    }
    if !rule.events.iter().all(|e| input.events.contains(*e)) {
        return false;
    }
    if !header_matches(rule, input) {
        return false;
    }
    if rule.flow.direction.is_some_and(|d| d != input.direction)
        || rule
            .flow
            .established
            .is_some_and(|e| e != input.established)
    {
        return false;
    }
    // app-layer-protocol does not match (even negated) before the protocol is known.
    for m in &rule.app_proto {
        let known = input.app_proto != AppProto::Unknown || m.proto == AppProto::Unknown;
        if !known || (input.app_proto == m.proto) == m.negated {
            return false;
        }
    }
    // Suricata's `dsize:!N` does not match packets without payload.
    let dsize_ok = |m: UintMatch| {
        m.matches(input.payload.len() as u64)
            && !(matches!(m, UintMatch::Ne(_)) && input.payload.is_empty())
    };
    if rule.dsize.is_some_and(|m| !dsize_ok(m))
        || rule.ttl.is_some_and(|m| !m.matches(u64::from(input.ttl)))
    {
        return false;
    }
    if rule.itype.is_some() || rule.icode.is_some() {
        let Layer4::Icmp {
            icmp_type,
            icmp_code,
        } = input.l4
        else {
            return false;
        };
        if rule.itype.is_some_and(|m| !m.matches(u64::from(icmp_type)))
            || rule.icode.is_some_and(|m| !m.matches(u64::from(icmp_code)))
        {
            return false;
        }
    }
    if rule
        .ip_proto
        .is_some_and(|m| !m.matches(u64::from(input.ip_proto)))
    {
        return false;
    }
    let fc = &input.flow_counts;
    if rule.flow_start && fc.pkts[dir_index(input.direction)] != 1 {
        return false;
    }
    if !ipv4_keywords_match(rule, input) {
        return false;
    }
    if let Some((neg, w)) = rule.tcp_window {
        let Layer4::Tcp { window, .. } = input.l4 else {
            return false;
        };
        if (window == w) == neg {
            return false;
        }
    }
    if rule.tcp_seq.is_some() || rule.tcp_ack.is_some() {
        let Layer4::Tcp { seq, ack, .. } = input.l4 else {
            return false;
        };
        if rule.tcp_seq.is_some_and(|s| s != seq) || rule.tcp_ack.is_some_and(|a| a != ack) {
            return false;
        }
    }
    let counts_ok = |(d, m): &(FlowDir, UintMatch), c: [u64; 2]| match d {
        FlowDir::ToServer => m.matches(c[0]),
        FlowDir::ToClient => m.matches(c[1]),
        FlowDir::Either => m.matches(c[0]) || m.matches(c[1]),
        FlowDir::Both => m.matches(c[0]) && m.matches(c[1]),
    };
    if !rule.flow_pkts.iter().all(|x| counts_ok(x, fc.pkts))
        || !rule.flow_bytes.iter().all(|x| counts_ok(x, fc.bytes))
        || rule.flow_age.is_some_and(|m| !m.matches(fc.age_secs))
    {
        return false;
    }
    if let Some(m) = rule.tcp_mss
        && (input.ip_proto != 6
            || !tcp_mss(input.l4_header).is_some_and(|v| m.matches(u64::from(v))))
    {
        return false;
    }
    if rule.icmp_id.is_some() || rule.icmp_seq.is_some() {
        let Layer4::Icmp { icmp_type, .. } = input.l4 else {
            return false;
        };
        let h = input.l4_header;
        if !icmp_has_id(input.ip_proto, icmp_type) || h.len() < 8 {
            return false;
        }
        if rule
            .icmp_id
            .is_some_and(|id| id != u16::from_be_bytes([h[4], h[5]]))
            || rule
                .icmp_seq
                .is_some_and(|s| s != u16::from_be_bytes([h[6], h[7]]))
        {
            return false;
        }
    }
    if let Some(f) = rule.flags {
        let Layer4::Tcp { flags, .. } = input.l4 else {
            return false;
        };
        if !f.matches(flags) {
            return false;
        }
    }
    flowbits_ok(rule, flow) && stream_size_ok(rule, input, flow)
}

fn group_matches_data(g: &Group, data: &[u8]) -> bool {
    group_matches_data_with(g, data, &mut [0; crate::rules::MAX_BYTE_VARS])
}

/// As [`group_matches_data`], with the byte variables set by the rule's earlier groups.
fn group_matches_data_with(g: &Group, data: &[u8], vars: &mut matcher::ByteVars) -> bool {
    let transformed;
    let data = if g.transforms.is_empty() {
        data
    } else {
        transformed = transform::apply(&g.transforms, data);
        &transformed[..]
    };
    if g.dotprefix {
        let mut v = Vec::with_capacity(data.len() + 1);
        v.push(b'.');
        v.extend_from_slice(data);
        matcher::group_matches_with(&g.items, &v, vars)
    } else {
        matcher::group_matches_with(&g.items, data, vars)
    }
}

/// The payload groups against the packet payload and/or the new stream data.
/// Whether payload keywords are anchored at the start of the data (a first content
/// with depth, offset or startswith, or an absolute byte/isdataat keyword).
fn anchored(groups: &[&Group]) -> bool {
    use crate::rules::Item;
    groups.iter().any(|g| {
        g.items.iter().any(|i| match i {
            Item::Content(c) => {
                !c.relative() && (c.depth.is_some() || c.offset > 0 || c.startswith)
            }
            Item::IsDataAt { relative, .. } => !relative,
            Item::ByteTest(t) => !t.relative,
            Item::ByteJump(j) => !j.relative,
            Item::ByteExtract(x) => !x.relative,
            Item::ByteMath(m) => !m.relative,
            Item::Pcre(_)
            | Item::Bsize(_)
            | Item::Base64Decode { .. }
            | Item::Dataset(_)
            | Item::InList { .. } => false,
        })
    })
}

/// At most this many rules are carried per flow direction (see
/// [`FlowDetectState::carried`]).
const MAX_CARRIED: usize = 64;

/// Stream tail kept per direction: contents and relative matches up to this long can
/// span segment boundaries.
const STREAM_TAIL: usize = 2048;

/// For a packet of a reassembled TCP session bringing new stream data: the length of
/// the tail of the earlier stream, which goes in front of the new data. This holds
/// before the session counts as established too: data on the SYN (TCP Fast Open) is
/// stream data that the packet completing the handshake continues.
fn stream_tail_len(input: &Input<'_>, flow: &FlowDetectState) -> Option<usize> {
    input.stream.filter(|s| !s.is_empty())?;
    if input.tx_id.is_some() || input.ip_proto != 6 {
        return None;
    }
    let tail = tail_of(&flow.stream_tail[dir_index(input.direction)]);
    (!tail.is_empty()).then_some(tail.len())
}

/// The tail proper (the last [`STREAM_TAIL`] bytes) of a flow's tail buffer, which
/// keeps up to [`TAIL_BUFFER`] bytes so that it is compacted only now and then.
fn tail_of(buf: &[u8]) -> &[u8] {
    &buf[buf.len().saturating_sub(STREAM_TAIL)..]
}

/// Size at which a tail buffer is cut back to its last [`STREAM_TAIL`] bytes.
const TAIL_BUFFER: usize = 4 * STREAM_TAIL;

/// Appends new stream data to a tail buffer, first cutting the buffer back to its tail
/// when it has grown past [`TAIL_BUFFER`]: its end is then the tail followed by `new`.
fn append_stream(buf: &mut Vec<u8>, new: &[u8]) {
    if buf.len() + new.len() > TAIL_BUFFER {
        buf.drain(..buf.len().saturating_sub(STREAM_TAIL));
    }
    buf.extend_from_slice(new);
}

fn keep_tail(flow: &mut FlowDetectState, dir: Direction, new: &[u8]) {
    let tail = &mut flow.stream_tail[dir_index(dir)];
    if new.len() >= STREAM_TAIL {
        tail.clear();
        tail.extend_from_slice(&new[new.len() - STREAM_TAIL..]);
    } else {
        // Moving the kept bytes to the front once per few packets instead of at each.
        if tail.len() + new.len() > TAIL_BUFFER {
            tail.drain(..tail.len().saturating_sub(STREAM_TAIL));
        }
        tail.extend_from_slice(new);
    }
}

/// The payload keywords against the packet payload and/or the stream. `old` is how
/// many bytes at the front of `input.stream` were inspected with earlier packets (the
/// stream tail); the rest is new.
fn payload_groups_match(rule: &Rule, input: &Input<'_>, old: usize) -> bool {
    let groups: Vec<&Group> = rule
        .groups
        .iter()
        .filter(|g| g.buf == Buf::Payload)
        .collect();
    if groups.is_empty() {
        return true;
    }
    let try_data = |d: &[u8]| groups.iter().all(|g| group_matches_data(g, d));
    // On a reassembled TCP session (established), Suricata inspects a plain content
    // rule (its `stream` type) on the stream only, so retransmitted or out-of-order
    // segments do not alert again; a rule anchored at the start of the data (depth,
    // offset, startswith: its `pkt_stream` type) is inspected on both.
    let stream_only = rule.flow.stream == StreamMode::Both
        && input.ip_proto == 6
        && input.established
        && !anchored(&groups);
    let on_packet = rule.flow.stream != StreamMode::OnlyStream && !stream_only;
    let on_stream = rule.flow.stream != StreamMode::NoStream;
    if on_packet && try_data(input.payload) {
        return true;
    }
    let Some(stream) = input.stream.filter(|_| on_stream) else {
        return false;
    };
    let old = old.min(stream.len());
    let new = &stream[old..];
    let new_matches = !(on_packet && new == input.payload) && try_data(new);
    if new_matches || old == 0 || anchored(&groups) {
        return new_matches;
    }
    // A match across the boundary needs the new data; one wholly in the tail was
    // found with an earlier packet.
    try_data(stream) && !try_data(&stream[..old])
}

fn rule_matches(
    rule: &Rule,
    idx: u32,
    input: &Input<'_>,
    old: usize,
    flow: &mut FlowDetectState,
) -> bool {
    let is_tx = rule.is_tx_rule();
    if is_tx != input.tx_id.is_some() {
        return false;
    }
    let Some(tx) = input.tx_id.filter(|_| is_tx) else {
        return non_payload_matches(rule, input, flow)
            && header_groups_match(rule, input)
            && payload_groups_match(rule, input, old);
    };
    // A rule over request and response buffers collects its buffer matches from the
    // inputs of both directions, then checks the header, flow and the rest on the input
    // that completes it (as Suricata inspects a transaction's request buffers on the
    // response's packets).
    let cross = rule.is_cross_direction();
    if !cross && !non_payload_matches(rule, input, flow) {
        return false;
    }
    if let Proto::App(p) = rule.header.proto
        && !p.covers(input.app_proto)
    {
        return false;
    }
    let mut done: u64 = flow.tx_progress.get(&(idx, tx)).copied().unwrap_or(0);
    let mut all: u64 = 0;
    for (i, g) in rule.groups.iter().enumerate() {
        let Buf::Kind(k) = g.buf else { continue };
        let bit = 1u64 << i.min(63);
        all |= bit;
        if done & bit != 0 {
            continue;
        }
        let matched = match g.absent {
            Some(or_else) => {
                // An empty buffer counts as absent.
                let mut present = buffers(input, k).filter(|d| !d.is_empty()).peekable();
                match present.peek() {
                    None => true,
                    Some(_) => or_else && present.any(|d| group_matches_data(g, d)),
                }
            }
            None => buffers(input, k).any(|d| group_matches_data(g, d)),
        };
        if matched {
            done |= bit;
        }
    }
    let complete = done & all == all
        && (flow.payload_matched.contains(&idx) || payload_groups_match(rule, input, old))
        && (!cross || non_payload_matches(rule, input, flow));
    if complete {
        return true;
    }
    if done != 0 {
        flow.tx_progress.insert((idx, tx), done);
    }
    false
}
