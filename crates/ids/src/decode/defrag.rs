//! IPv4 and IPv6 fragment reassembly, bounded in memory and time.
//!
//! Overlaps keep the data that arrived first (later copies of the same bytes are
//! ignored). A datagram is rebuilt when its fragments cover offsets 0 to the end given
//! by the last fragment (the one without "more fragments").

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::{Event, Events, Packet};

/// Reassembly limits.
#[derive(Debug, Clone, Copy)]
pub struct DefragConfig {
    /// Largest reassembled datagram.
    pub max_datagram: usize,
    /// Bytes held over all incomplete datagrams.
    pub max_memory: usize,
    /// Incomplete datagrams older than this are dropped (microseconds).
    pub timeout_micros: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagram: 65_535 + 40,
            max_memory: 32 * 1024 * 1024,
            timeout_micros: 60_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
    v6: bool,
}

#[derive(Debug)]
struct Pending {
    first_ts: i64,
    header: Vec<u8>,
    parts: BTreeMap<usize, Vec<u8>>,
    end: Option<usize>,
    bytes: usize,
}

/// Fragments waiting for their siblings.
#[derive(Debug, Default)]
pub struct Defrag {
    config: DefragConfig,
    pending: HashMap<Key, Pending>,
    memory: usize,
    /// Fragments dropped because of limits or inconsistencies.
    pub dropped: u64,
}

impl Defrag {
    pub fn new(config: DefragConfig) -> Defrag {
        Defrag {
            config,
            ..Defrag::default()
        }
    }

    /// Adds a fragment (a packet with `fragment` set). Returns the rebuilt IP datagram
    /// (to decode with [`super::decode_ip`]) when this fragment completes it.
    pub fn add(&mut self, ts_micros: i64, p: &Packet<'_>) -> Option<Vec<u8>> {
        self.add_with_events(ts_micros, p, &mut Events::default())
    }

    /// As [`Defrag::add`], and adds the fragment's reassembly events to `events`
    /// (`frag_overlap`: it overlaps data already held for its datagram).
    pub fn add_with_events(
        &mut self,
        ts_micros: i64,
        p: &Packet<'_>,
        events: &mut Events,
    ) -> Option<Vec<u8>> {
        let f = p.fragment.as_ref()?;
        self.expire(ts_micros);
        let key = Key {
            src: p.src,
            dst: p.dst,
            id: f.id,
            proto: f.next_proto,
            v6: f.v6,
        };
        let end = f.offset.saturating_add(p.payload.len());
        if end > self.config.max_datagram || self.memory + p.payload.len() > self.config.max_memory
        {
            self.dropped += 1;
            return None;
        }
        let e = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            first_ts: ts_micros,
            header: f.header.to_vec(),
            parts: BTreeMap::new(),
            end: None,
            bytes: 0,
        });
        if f.offset == 0 {
            e.header = f.header.to_vec();
        }
        if !f.more {
            e.end = Some(end);
        }
        let overlaps = e
            .parts
            .iter()
            .any(|(&o, d)| o < end && f.offset < o + d.len());
        if overlaps {
            events.insert(if f.v6 {
                Event::Ipv6FragOverlap
            } else {
                Event::Ipv4FragOverlap
            });
        }
        if let std::collections::btree_map::Entry::Vacant(v) = e.parts.entry(f.offset) {
            v.insert(p.payload.to_vec());
            e.bytes += p.payload.len();
            self.memory += p.payload.len();
        }
        let total = e.end?;
        // Complete when the parts cover [0, total).
        let mut covered = 0usize;
        for (&off, data) in &e.parts {
            if off > covered {
                return None;
            }
            covered = covered.max(off + data.len());
        }
        if covered < total {
            return None;
        }
        let done = self.pending.remove(&key)?;
        self.memory -= done.bytes;
        let mut body = vec![0u8; total];
        let mut filled = vec![false; total];
        for (off, data) in &done.parts {
            for (i, b) in data.iter().enumerate() {
                let at = off + i;
                if at < total && !filled[at] {
                    body[at] = *b;
                    filled[at] = true;
                }
            }
        }
        let mut out;
        if f.v6 {
            let mut h = done.header;
            h.truncate(40);
            if h.len() < 40 {
                self.dropped += 1;
                return None;
            }
            h[6] = f.next_proto;
            let plen = u16::try_from(total).ok()?;
            h[4..6].copy_from_slice(&plen.to_be_bytes());
            out = h;
        } else {
            let mut h = done.header;
            let len = u16::try_from(h.len() + total).ok()?;
            if h.len() < 20 {
                self.dropped += 1;
                return None;
            }
            h[2..4].copy_from_slice(&len.to_be_bytes());
            h[6] = 0;
            h[7] = 0;
            out = h;
        }
        out.extend_from_slice(&body);
        Some(out)
    }

    fn expire(&mut self, now: i64) {
        let timeout = self.config.timeout_micros;
        let mut freed = 0;
        let mut dropped = 0;
        self.pending.retain(|_, p| {
            let keep = now.saturating_sub(p.first_ts) <= timeout;
            if !keep {
                freed += p.bytes;
                dropped += 1;
            }
            keep
        });
        self.memory -= freed;
        self.dropped += dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_ip;
    use crate::detect::Layer4;

    fn frag(id: u16, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        v[2..4].copy_from_slice(&((20 + data.len()) as u16).to_be_bytes());
        v[4..6].copy_from_slice(&id.to_be_bytes());
        let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
        v[6..8].copy_from_slice(&fo.to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reassembles_out_of_order_fragments() {
        let mut udp = vec![0, 7, 0, 9, 0, 24, 0, 0];
        udp.extend_from_slice(b"0123456789abcdef");
        let a = frag(9, 0, true, &udp[..8]);
        let b = frag(9, 8, true, &udp[8..16]);
        let c = frag(9, 16, false, &udp[16..]);
        let mut d = Defrag::default();
        for f in [&c, &a] {
            let p = decode_ip(f).unwrap();
            assert!(d.add(0, &p).is_none());
        }
        let p = decode_ip(&b).unwrap();
        let whole = d.add(0, &p).unwrap();
        let p = decode_ip(&whole).unwrap();
        assert_eq!(
            p.l4,
            Layer4::Udp {
                src_port: 7,
                dst_port: 9
            }
        );
        assert_eq!(p.payload, b"0123456789abcdef");
    }

    #[test]
    fn incomplete_datagrams_expire() {
        let mut d = Defrag::default();
        let a = frag(1, 0, true, &[0; 16]);
        d.add(0, &decode_ip(&a).unwrap());
        let b = frag(2, 0, true, &[0; 16]);
        d.add(120_000_000, &decode_ip(&b).unwrap());
        assert_eq!(d.dropped, 1);
        assert_eq!(d.pending.len(), 1);
    }
}
