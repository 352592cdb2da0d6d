//! DHCP (RFC 2131) over UDP 67/68: every message is a transaction with its lease,
//! renewal and rebinding times (options 51, 58, 59) for `dhcp.leasetime`,
//! `dhcp.renewal_time` and `dhcp.rebinding_time`.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::AppUpdate;
use super::keywords::{AppBuf, num_buf};
use crate::detect::{BufferKind, Direction};

const MAX_TXS: usize = 16;
const COOKIE: [u8; 4] = [0x63, 0x82, 0x53, 0x63];

/// One DHCP message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhcpMessage {
    pub id: u64,
    pub op: u8,
    pub xid: u32,
    pub lease_time: Option<[u8; 8]>,
    pub renewal_time: Option<[u8; 8]>,
    pub rebinding_time: Option<[u8; 8]>,
    pub malformed: bool,
}

/// DHCP state of one flow.
#[derive(Debug, Clone, Default)]
pub struct DhcpState {
    txs: VecDeque<DhcpMessage>,
    next_id: u64,
}

/// Whether a datagram is a BOOTP message with the DHCP magic cookie.
pub fn probe(d: &[u8]) -> bool {
    d.len() >= 240 && matches!(d[0], 1 | 2) && d[236..240] == COOKIE
}

/// Parses one message; options that overrun the datagram make it malformed.
pub fn parse(d: &[u8]) -> DhcpMessage {
    let mut m = DhcpMessage::default();
    if !probe(d) {
        m.malformed = true;
        return m;
    }
    m.op = d[0];
    m.xid = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
    let mut at = 240;
    while let Some(&code) = d.get(at) {
        match code {
            0 => {
                at += 1;
                continue;
            }
            255 => break,
            _ => {}
        }
        let Some(&len) = d.get(at + 1) else {
            m.malformed = true;
            break;
        };
        let Some(v) = d.get(at + 2..at + 2 + len as usize) else {
            m.malformed = true;
            break;
        };
        let time = || {
            (v.len() == 4).then(|| num_buf(u64::from(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))))
        };
        match code {
            51 => m.lease_time = time(),
            58 => m.renewal_time = time(),
            59 => m.rebinding_time = time(),
            _ => {}
        }
        at += 2 + len as usize;
    }
    m
}

impl DhcpState {
    pub fn tx(&self, id: u64) -> Option<&DhcpMessage> {
        self.txs.iter().find(|t| t.id == id)
    }

    pub fn datagram(&mut self, dir: Direction, d: &[u8], out: &mut Vec<AppUpdate>) {
        let mut m = parse(d);
        m.id = self.next_id;
        self.next_id += 1;
        out.push(AppUpdate {
            tx_id: m.id,
            direction: dir,
        });
        if self.txs.len() >= MAX_TXS {
            self.txs.pop_front();
        }
        self.txs.push_back(m);
    }
}

impl super::TxParser for DhcpState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        self.datagram(dir, data, out);
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        let Some(m) = self.tx(u.tx_id) else { return };
        let k = BufferKind::App;
        for (b, v) in [
            (AppBuf::DhcpLeaseTime, &m.lease_time),
            (AppBuf::DhcpRenewalTime, &m.renewal_time),
            (AppBuf::DhcpRebindingTime, &m.rebinding_time),
        ] {
            if let Some(v) = v {
                out.push((k(b), v));
            }
        }
        if m.malformed {
            out.push((k(AppBuf::Event), b"dhcp.malformed_options"));
        }
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let m = self.tx(tx_id)?;
        let t = |v: &Option<[u8; 8]>| v.map(u64::from_be_bytes);
        Some((
            "dhcp",
            json!({
                "type": if m.op == 1 { "request" } else { "reply" },
                "id": m.xid,
                "lease_time": t(&m.lease_time),
                "renewal_time": t(&m.renewal_time),
                "rebinding_time": t(&m.rebinding_time),
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(opts: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; 240];
        d[0] = 2;
        d[236..240].copy_from_slice(&COOKIE);
        d.extend_from_slice(opts);
        d
    }

    #[test]
    fn times_from_options() {
        let m = parse(&msg(&[
            53, 1, 5, 51, 4, 0, 0, 0x0e, 0x10, 58, 4, 0, 0, 7, 8, 0, 255,
        ]));
        assert_eq!(m.lease_time, Some(num_buf(3600)));
        assert_eq!(m.renewal_time, Some(num_buf(0x708)));
        assert_eq!(m.rebinding_time, None);
        assert!(!m.malformed);
        assert!(parse(&msg(&[51, 9, 1])).malformed);
        assert!(parse(b"\x01short").malformed);
    }
}
