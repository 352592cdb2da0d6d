//! The flow table: packets grouped by 5-tuple (and VLAN ids) into bidirectional flows,
//! with a direction relative to the initiator, TCP state tracking, timeouts by protocol
//! and state, and a bound on the number of flows (the least recently seen is evicted).
//!
//! Each flow carries the caller's per-flow state `T` (streams, app-layer parsers,
//! detection state).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::detect::Direction;

/// The key of a flow: both endpoints in a canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
    proto: u8,
    vlan: [u16; 2],
}

impl FlowKey {
    pub fn new(src: (IpAddr, u16), dst: (IpAddr, u16), proto: u8, vlan: [u16; 2]) -> FlowKey {
        let (lo, hi) = if src <= dst { (src, dst) } else { (dst, src) };
        FlowKey {
            lo,
            hi,
            proto,
            vlan,
        }
    }
}

/// TCP session state (of the whole session, as Suricata's stream engine tracks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcpState {
    #[default]
    None,
    SynSent,
    SynRecv,
    Established,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN, or a RST was seen.
    Closed,
}

/// Timeouts in microseconds by protocol and state.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    pub max_flows: usize,
    pub tcp_new: i64,
    pub tcp_established: i64,
    pub tcp_closed: i64,
    pub udp: i64,
    pub other: i64,
    /// Accept TCP sessions whose handshake was not seen (and treat them as established).
    pub midstream: bool,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 65_536,
            tcp_new: 60_000_000,
            tcp_established: 600_000_000,
            tcp_closed: 60_000_000,
            udp: 300_000_000,
            other: 300_000_000,
            midstream: false,
        }
    }
}

/// One flow.
#[derive(Debug, Clone)]
pub struct Flow<T> {
    /// Id as written in EVE `flow_id`.
    pub id: u64,
    /// The initiator (first packet's source).
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub proto: u8,
    pub first_ts: i64,
    pub last_ts: i64,
    /// Packets and bytes by direction: [to_server, to_client].
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub tcp: TcpState,
    /// TCP: whether the handshake was seen (false for a midstream pickup).
    pub handshake_seen: bool,
    pub ext: T,
}

impl<T> Flow<T> {
    /// Whether the flow counts as established for `flow:established`.
    pub fn established(&self) -> bool {
        match self.proto {
            6 => {
                matches!(self.tcp, TcpState::Established | TcpState::Closing)
                    || (self.tcp == TcpState::Closed && self.handshake_seen)
            }
            _ => self.packets[0] > 0 && self.packets[1] > 0,
        }
    }

    fn timeout(&self, cfg: &FlowConfig) -> i64 {
        match self.proto {
            6 => match self.tcp {
                TcpState::Established | TcpState::Closing => cfg.tcp_established,
                TcpState::Closed => cfg.tcp_closed,
                _ => cfg.tcp_new,
            },
            17 => cfg.udp,
            _ => cfg.other,
        }
    }

    /// Updates the TCP state with a packet's flags in the given direction.
    pub fn track_tcp(&mut self, dir: Direction, flags: u8, midstream: bool) {
        const FIN: u8 = 0x01;
        const SYN: u8 = 0x02;
        const RST: u8 = 0x04;
        const ACK: u8 = 0x10;
        if flags & RST != 0 {
            if self.tcp != TcpState::None {
                self.tcp = TcpState::Closed;
            }
            return;
        }
        self.tcp = match (self.tcp, dir) {
            (TcpState::None, Direction::ToServer) if flags & SYN != 0 && flags & ACK == 0 => {
                TcpState::SynSent
            }
            (TcpState::None, _) if midstream => TcpState::Established,
            (TcpState::SynSent, Direction::ToClient) if flags & SYN != 0 && flags & ACK != 0 => {
                TcpState::SynRecv
            }
            // TCP Fast Open and simultaneous data: a server ACK also completes it.
            (TcpState::SynRecv, Direction::ToServer) if flags & ACK != 0 && flags & SYN == 0 => {
                self.handshake_seen = true;
                TcpState::Established
            }
            (s, _) => s,
        };
        if flags & FIN != 0 {
            self.tcp = match self.tcp {
                TcpState::Established => TcpState::Closing,
                TcpState::Closing => TcpState::Closed,
                s => s,
            };
        }
    }
}

/// All live flows.
#[derive(Debug)]
pub struct FlowTable<T> {
    cfg: FlowConfig,
    flows: HashMap<FlowKey, Flow<T>>,
    next_id: u64,
    last_sweep: i64,
    /// Flows removed because the table was full.
    pub evicted: u64,
    /// Flows created so far.
    pub created: u64,
}

/// Mixes a counter into a flow id in the range EVE consumers expect (positive, < 2^52).
fn flow_id(n: u64, key: &FlowKey) -> u64 {
    use std::hash::{Hash, Hasher};
    // A fixed-key hasher: ids are stable across runs for the same input.
    let mut h = Fnv(0xcbf29ce484222325);
    n.hash(&mut h);
    key.hash(&mut h);
    (h.finish() & ((1 << 51) - 1)) | 1
}

struct Fnv(u64);
impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x100000001b3);
        }
    }
}

impl<T> FlowTable<T> {
    pub fn new(cfg: FlowConfig) -> FlowTable<T> {
        FlowTable {
            cfg,
            flows: HashMap::new(),
            next_id: 0,
            last_sweep: i64::MIN,
            evicted: 0,
            created: 0,
        }
    }

    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Finds or creates the flow of a packet; returns it with the packet's direction.
    /// `removed` receives flows that timed out or were evicted (so the caller can
    /// finish them).
    #[allow(clippy::too_many_arguments)]
    pub fn lookup(
        &mut self,
        ts: i64,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        proto: u8,
        vlan: [u16; 2],
        new_ext: impl FnOnce() -> T,
        removed: &mut Vec<Flow<T>>,
    ) -> (&mut Flow<T>, Direction) {
        if ts.saturating_sub(self.last_sweep) >= 1_000_000 {
            self.last_sweep = ts;
            self.expire(ts, removed);
        }
        let key = FlowKey::new(src, dst, proto, vlan);
        // A reused 5-tuple after a closed TCP session starts a new flow on a new SYN.
        if let Some(f) = self.flows.get(&key)
            && ts.saturating_sub(f.last_ts) > f.timeout(&self.cfg)
            && let Some(f) = self.flows.remove(&key)
        {
            removed.push(f);
        }
        if !self.flows.contains_key(&key) {
            if self.flows.len() >= self.cfg.max_flows {
                self.evict_oldest(removed);
            }
            self.next_id += 1;
            self.created += 1;
            let id = flow_id(self.next_id, &key);
            self.flows.insert(
                key,
                Flow {
                    id,
                    client: src,
                    server: dst,
                    proto,
                    first_ts: ts,
                    last_ts: ts,
                    packets: [0; 2],
                    bytes: [0; 2],
                    tcp: TcpState::None,
                    handshake_seen: false,
                    ext: new_ext(),
                },
            );
        }
        let Some(f) = self.flows.get_mut(&key) else {
            unreachable!("inserted above")
        };
        let dir = if f.client == src && f.server == dst {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        f.last_ts = f.last_ts.max(ts);
        (f, dir)
    }

    /// Makes room when the table is full: the least recently seen 1/16 of the flows go
    /// at once, so that a flood of new flows costs amortised constant time per flow.
    fn evict_oldest(&mut self, removed: &mut Vec<Flow<T>>) {
        let mut ages: Vec<(i64, FlowKey)> =
            self.flows.iter().map(|(k, f)| (f.last_ts, *k)).collect();
        let n = (ages.len() / 16).max(1).min(ages.len());
        if n == 0 {
            return;
        }
        ages.select_nth_unstable_by_key(n - 1, |(ts, _)| *ts);
        for (_, k) in ages.into_iter().take(n) {
            if let Some(f) = self.flows.remove(&k) {
                self.evicted += 1;
                removed.push(f);
            }
        }
    }

    /// A new SYN on a TCP session that was closed starts a new flow (port reuse): the
    /// old one is handed back in `removed`.
    pub fn reuse_closed(
        &mut self,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        vlan: [u16; 2],
        removed: &mut Vec<Flow<T>>,
    ) {
        let key = FlowKey::new(src, dst, 6, vlan);
        if self
            .flows
            .get(&key)
            .is_some_and(|f| f.tcp == TcpState::Closed)
            && let Some(f) = self.flows.remove(&key)
        {
            removed.push(f);
        }
    }

    /// Removes flows idle past their timeout.
    pub fn expire(&mut self, now: i64, removed: &mut Vec<Flow<T>>) {
        let cfg = self.cfg;
        let dead: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(_, f)| now.saturating_sub(f.last_ts) > f.timeout(&cfg))
            .map(|(k, _)| *k)
            .collect();
        for k in dead {
            if let Some(f) = self.flows.remove(&k) {
                removed.push(f);
            }
        }
    }

    /// Removes every flow (end of input), oldest first.
    pub fn drain(&mut self) -> Vec<Flow<T>> {
        let mut all: Vec<Flow<T>> = self.flows.drain().map(|(_, f)| f).collect();
        all.sort_by_key(|f| (f.first_ts, f.id));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(last: u8, port: u16) -> (IpAddr, u16) {
        (IpAddr::from([10, 0, 0, last]), port)
    }

    #[test]
    fn direction_and_handshake() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut rm = Vec::new();
        let (f, d) = t.lookup(0, ep(1, 1000), ep(2, 80), 6, [0; 2], || (), &mut rm);
        assert_eq!(d, Direction::ToServer);
        f.track_tcp(d, 0x02, false);
        let (f, d) = t.lookup(1, ep(2, 80), ep(1, 1000), 6, [0; 2], || (), &mut rm);
        assert_eq!(d, Direction::ToClient);
        f.track_tcp(d, 0x12, false);
        assert!(!f.established());
        let (f, d) = t.lookup(2, ep(1, 1000), ep(2, 80), 6, [0; 2], || (), &mut rm);
        f.track_tcp(d, 0x10, false);
        assert!(f.established());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn midstream_only_when_enabled() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut rm = Vec::new();
        let (f, d) = t.lookup(0, ep(1, 1000), ep(2, 80), 6, [0; 2], || (), &mut rm);
        f.track_tcp(d, 0x18, false);
        assert!(!f.established());
        f.track_tcp(d, 0x18, true);
        assert!(f.established());
    }

    #[test]
    fn timeouts_and_eviction() {
        let cfg = FlowConfig {
            max_flows: 2,
            ..FlowConfig::default()
        };
        let mut t: FlowTable<u8> = FlowTable::new(cfg);
        let mut rm = Vec::new();
        t.lookup(0, ep(1, 1), ep(2, 2), 17, [0; 2], || 1, &mut rm);
        t.lookup(1, ep(1, 3), ep(2, 4), 17, [0; 2], || 2, &mut rm);
        t.lookup(2, ep(1, 5), ep(2, 6), 17, [0; 2], || 3, &mut rm);
        assert_eq!(rm.len(), 1);
        assert_eq!(rm[0].ext, 1);
        assert_eq!(t.evicted, 1);
        t.lookup(400_000_000, ep(1, 7), ep(2, 8), 17, [0; 2], || 4, &mut rm);
        assert_eq!(rm.len(), 3);
        assert_eq!(t.len(), 1);
    }
}
