//! IKEv2 (RFC 7296) over UDP 500/4500: every message is a transaction; the
//! transforms its SA payload proposes give `ikev2.weak_crypto_*` events (weak
//! Diffie-Hellman groups, DES/3DES/NULL encryption, MD5 integrity) as Suricata raises
//! them. Payloads after an encrypted one are not read.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::AppUpdate;
use super::keywords::{AppBuf, num_buf};
use crate::detect::{BufferKind, Direction};

const MAX_TXS: usize = 16;

/// One IKEv2 message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IkeMessage {
    pub id: u64,
    pub exchange: [u8; 8],
    pub events: Vec<&'static str>,
}

/// IKEv2 state of one flow.
#[derive(Debug, Clone, Default)]
pub struct Ikev2State {
    txs: VecDeque<IkeMessage>,
    next_id: u64,
}

/// Whether a datagram (after the non-ESP marker on port 4500) is an IKEv2 message.
pub fn probe(d: &[u8]) -> bool {
    d.len() >= 28
        && d[17] == 0x20
        && (34..=37).contains(&d[18])
        && u32::from_be_bytes([d[24], d[25], d[26], d[27]]) as usize >= 28
}

fn event(m: &mut IkeMessage, e: &'static str) {
    if !m.events.contains(&e) {
        m.events.push(e);
    }
}

/// The transforms of an SA payload's proposals.
fn sa(m: &mut IkeMessage, body: &[u8]) {
    let mut p = body;
    while p.len() >= 8 {
        let plen = (u16::from_be_bytes([p[2], p[3]]) as usize).clamp(8, p.len());
        let spi = p[6] as usize;
        let mut t = p.get(8 + spi..plen).unwrap_or(&[]);
        while t.len() >= 8 {
            let tlen = (u16::from_be_bytes([t[2], t[3]]) as usize).clamp(8, t.len());
            let (ty, id) = (t[4], u16::from_be_bytes([t[6], t[7]]));
            match (ty, id) {
                // Diffie-Hellman: MODP 768, 1024, 1536 and the small-subgroup ones.
                (4, 1 | 2 | 5 | 22) => event(m, "ikev2.weak_crypto_dh"),
                // Encryption: DES, 3DES, NULL.
                (1, 2 | 3) => event(m, "ikev2.weak_crypto_enc"),
                (1, 11) => event(m, "ikev2.weak_crypto_noencryption"),
                // PRF or integrity with MD5.
                (2, 1) => event(m, "ikev2.weak_crypto_prf"),
                (3, 1) => event(m, "ikev2.weak_crypto_auth"),
                (3, 0) => event(m, "ikev2.weak_crypto_noauth"),
                _ => {}
            }
            t = &t[tlen..];
        }
        if p[0] == 0 {
            break;
        }
        p = &p[plen..];
    }
}

/// Parses one message.
pub fn parse(d: &[u8]) -> IkeMessage {
    let mut m = IkeMessage::default();
    if !probe(d) {
        m.events.push("ikev2.malformed_data");
        return m;
    }
    m.exchange = num_buf(u64::from(d[18]));
    let mut next = d[16];
    let mut rest = &d[28..d
        .len()
        .min(u32::from_be_bytes([d[24], d[25], d[26], d[27]]) as usize)];
    // Payloads up to the first encrypted one (46) or the end.
    while next != 0 && next != 46 && rest.len() >= 4 {
        let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
        if len < 4 || len > rest.len() {
            m.events.push("ikev2.malformed_data");
            break;
        }
        if next == 33 {
            sa(&mut m, &rest[4..len]);
        }
        next = rest[0];
        rest = &rest[len..];
    }
    m
}

impl Ikev2State {
    pub fn datagram(&mut self, dir: Direction, d: &[u8], out: &mut Vec<AppUpdate>) {
        // On port 4500 IKE follows a 4-byte zero non-ESP marker.
        let d = match d.strip_prefix(&[0, 0, 0, 0]) {
            Some(r) if !probe(d) => r,
            _ => d,
        };
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

    pub fn tx(&self, id: u64) -> Option<&IkeMessage> {
        self.txs.iter().find(|t| t.id == id)
    }
}

impl super::TxParser for Ikev2State {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        self.datagram(dir, data, out);
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        let Some(m) = self.tx(u.tx_id) else { return };
        out.push((BufferKind::App(AppBuf::Ikev2ExchangeType), &m.exchange));
        for e in &m.events {
            out.push((BufferKind::App(AppBuf::Event), e.as_bytes()));
        }
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let m = self.tx(tx_id)?;
        Some((
            "ikev2",
            json!({"exchange_type": u64::from_be_bytes(m.exchange)}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init_with_dh(group: u16) -> Vec<u8> {
        let transform = [0u8, 0, 0, 8, 4, 0, (group >> 8) as u8, group as u8];
        let mut proposal = vec![0u8, 0, 0, 0, 1, 1, 0, 1];
        proposal.extend_from_slice(&transform);
        let plen = proposal.len() as u16;
        proposal[2..4].copy_from_slice(&plen.to_be_bytes());
        let mut sa = vec![0u8, 0, 0, 0];
        sa.extend_from_slice(&proposal);
        let slen = sa.len() as u16;
        sa[2..4].copy_from_slice(&slen.to_be_bytes());
        let mut h = vec![0u8; 28];
        h[16] = 33;
        h[17] = 0x20;
        h[18] = 34;
        let total = (28 + sa.len()) as u32;
        h[24..28].copy_from_slice(&total.to_be_bytes());
        h.extend(sa);
        h
    }

    #[test]
    fn weak_dh_group_is_an_event() {
        assert_eq!(parse(&init_with_dh(2)).events, vec!["ikev2.weak_crypto_dh"]);
        assert!(parse(&init_with_dh(19)).events.is_empty());
        assert_eq!(parse(b"junk").events, vec!["ikev2.malformed_data"]);
        let mut bad = init_with_dh(2);
        bad[30] = 0xff;
        assert!(parse(&bad).events.contains(&"ikev2.malformed_data"));
    }
}
