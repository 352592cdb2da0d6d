//! DNS messages over UDP (one per datagram) and TCP (length-prefixed on the stream).
//! A query and its response (same id) form one transaction.

use std::collections::VecDeque;

use crate::detect::Direction;

/// One parsed DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub response: bool,
    pub opcode: u8,
    pub rcode: u8,
    /// Questions: (name without the trailing dot, type, class).
    pub queries: Vec<(Vec<u8>, u16, u16)>,
    /// Answer records: (name, type, rdata as text where known).
    pub answers: Vec<(Vec<u8>, u16, Vec<u8>)>,
}

/// Why a message could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("dns: message shorter than its header")]
    Short,
    #[error("dns: malformed name at byte {0}")]
    Name(usize),
    #[error("dns: record runs past the end at byte {0}")]
    Truncated(usize),
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Reads a (possibly compressed) name at `at`; returns it and the offset after it.
fn read_name(msg: &[u8], mut at: usize) -> Result<(Vec<u8>, usize), DnsError> {
    let mut name = Vec::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(at).ok_or(DnsError::Name(at))? as usize;
        if len == 0 {
            at += 1;
            break;
        }
        if len & 0xc0 == 0xc0 {
            let ptr = (be16(msg, at).ok_or(DnsError::Name(at))? & 0x3fff) as usize;
            if end.is_none() {
                end = Some(at + 2);
            }
            jumps += 1;
            if jumps > 32 || ptr >= msg.len() {
                return Err(DnsError::Name(at));
            }
            at = ptr;
            continue;
        }
        if len & 0xc0 != 0 {
            return Err(DnsError::Name(at));
        }
        let label = msg.get(at + 1..at + 1 + len).ok_or(DnsError::Name(at))?;
        if !name.is_empty() {
            name.push(b'.');
        }
        name.extend_from_slice(label);
        if name.len() > 1024 {
            return Err(DnsError::Name(at));
        }
        at += 1 + len;
    }
    Ok((name, end.unwrap_or(at)))
}

/// Parses one DNS message.
pub fn parse_message(msg: &[u8]) -> Result<DnsMessage, DnsError> {
    if msg.len() < 12 {
        return Err(DnsError::Short);
    }
    let id = be16(msg, 0).ok_or(DnsError::Short)?;
    let flags = be16(msg, 2).ok_or(DnsError::Short)?;
    let qd = be16(msg, 4).ok_or(DnsError::Short)?;
    let an = be16(msg, 6).ok_or(DnsError::Short)?;
    let mut at = 12;
    let mut queries = Vec::new();
    for _ in 0..qd.min(64) {
        let (name, next) = read_name(msg, at)?;
        let ty = be16(msg, next).ok_or(DnsError::Truncated(next))?;
        let class = be16(msg, next + 2).ok_or(DnsError::Truncated(next))?;
        queries.push((name, ty, class));
        at = next + 4;
    }
    let mut answers = Vec::new();
    for _ in 0..an.min(64) {
        let Ok((name, next)) = read_name(msg, at) else {
            break;
        };
        let (Some(ty), Some(rdlen)) = (be16(msg, next), be16(msg, next + 8)) else {
            break;
        };
        let rd_at = next + 10;
        let Some(rdata) = msg.get(rd_at..rd_at + rdlen as usize) else {
            break;
        };
        let text = match (ty, rdata.len()) {
            (1, 4) => std::net::Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3])
                .to_string()
                .into_bytes(),
            (28, 16) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(rdata);
                std::net::Ipv6Addr::from(a).to_string().into_bytes()
            }
            (5 | 2 | 12, _) => read_name(msg, rd_at).map(|(n, _)| n).unwrap_or_default(),
            _ => Vec::new(),
        };
        answers.push((name, ty, text));
        at = rd_at + rdlen as usize;
    }
    Ok(DnsMessage {
        id,
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0x0f) as u8,
        rcode: (flags & 0x0f) as u8,
        queries,
        answers,
    })
}

/// A DNS transaction: a query and, once seen, its response.
#[derive(Debug, Clone)]
pub struct DnsTx {
    pub id: u64,
    pub request: Option<DnsMessage>,
    pub response: Option<DnsMessage>,
}

impl DnsTx {
    /// The query name of the transaction's first question (request, else response).
    pub fn query(&self) -> Option<&[u8]> {
        let m = self.request.as_ref().or(self.response.as_ref())?;
        m.queries.first().map(|(n, _, _)| n.as_slice())
    }
}

/// DNS state of one flow.
#[derive(Debug, Clone, Default)]
pub struct DnsState {
    txs: VecDeque<DnsTx>,
    next_tx: u64,
    /// TCP: buffered stream bytes per direction.
    bufs: [Vec<u8>; 2],
    pub errors: u64,
}

const MAX_TXS: usize = 64;

impl DnsState {
    pub fn tx(&self, id: u64) -> Option<&DnsTx> {
        self.txs.iter().find(|t| t.id == id)
    }

    /// Handles one message; returns the id of the transaction it belongs to.
    pub fn message(&mut self, data: &[u8]) -> Option<u64> {
        let m = match parse_message(data) {
            Ok(m) => m,
            Err(_) => {
                self.errors += 1;
                return None;
            }
        };
        if m.response
            && let Some(t) = self
                .txs
                .iter_mut()
                .find(|t| t.response.is_none() && t.request.as_ref().is_some_and(|r| r.id == m.id))
        {
            t.response = Some(m);
            return Some(t.id);
        }
        let id = self.next_tx;
        self.next_tx += 1;
        let (request, response) = if m.response {
            (None, Some(m))
        } else {
            (Some(m), None)
        };
        self.txs.push_back(DnsTx {
            id,
            request,
            response,
        });
        while self.txs.len() > MAX_TXS {
            self.txs.pop_front();
        }
        Some(id)
    }

    /// TCP: feeds stream bytes; returns the transactions updated.
    pub fn feed_stream(&mut self, dir: Direction, data: &[u8], out: &mut Vec<u64>) {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        self.bufs[i].extend_from_slice(data);
        loop {
            let b = &self.bufs[i];
            if b.len() < 2 {
                break;
            }
            let len = u16::from_be_bytes([b[0], b[1]]) as usize;
            if b.len() < 2 + len {
                break;
            }
            let msg: Vec<u8> = self.bufs[i].drain(..2 + len).skip(2).collect();
            if let Some(t) = self.message(&msg) {
                out.push(t);
            }
        }
        if self.bufs[i].len() > 70_000 {
            self.bufs[i].clear();
            self.errors += 1;
        }
    }
}

/// Whether a datagram parses as a DNS message with at least one question.
pub fn probe(data: &[u8]) -> bool {
    matches!(parse_message(data), Ok(m) if !m.queries.is_empty() && m.opcode <= 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn query(id: u16, name: &str) -> Vec<u8> {
        let mut v = vec![(id >> 8) as u8, id as u8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.extend_from_slice(&[0, 0, 1, 0, 1]);
        v
    }

    #[test]
    fn query_and_response_pair() {
        let mut s = DnsState::default();
        let q = query(7, "www.example.com");
        let t = s.message(&q).unwrap();
        let mut r = q.clone();
        r[2] |= 0x80;
        r[7] = 1;
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]);
        assert_eq!(s.message(&r), Some(t));
        let tx = s.tx(t).unwrap();
        assert_eq!(tx.query().unwrap(), b"www.example.com");
        assert_eq!(tx.response.as_ref().unwrap().answers[0].2, b"1.2.3.4");
    }

    #[test]
    fn compression_loop_is_an_error() {
        let mut q = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(&[0xc0, 12]);
        assert!(matches!(parse_message(&q), Err(DnsError::Name(_))));
    }

    #[test]
    fn tcp_framing() {
        let mut s = DnsState::default();
        let q = query(9, "a.b");
        let mut framed = vec![0, q.len() as u8];
        framed.extend_from_slice(&q);
        let mut out = Vec::new();
        s.feed_stream(Direction::ToServer, &framed[..5], &mut out);
        assert!(out.is_empty());
        s.feed_stream(Direction::ToServer, &framed[5..], &mut out);
        assert_eq!(out, vec![0]);
    }
}
