//! Kerberos 5 (RFC 4120) over UDP (one message per datagram) and TCP (each message
//! behind a 4-byte length). Every message is a transaction: its type (the DER
//! application tag: 10 AS-REQ, 11 AS-REP, 12 TGS-REQ, 13 TGS-REP, 30 KRB-ERROR), the
//! error code of a KRB-ERROR, and the client and service principal names of requests.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::keywords::{AppBuf, num_buf};
use super::{AppUpdate, TxParser};
use crate::detect::{BufferKind, Direction};

const MAX_TXS: usize = 32;
/// Largest TCP record accepted.
const MAX_RECORD: usize = 64 * 1024;

/// One Kerberos message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Krb5Message {
    pub id: u64,
    pub direction: Option<Direction>,
    pub msg_type: Option<[u8; 8]>,
    pub error_code: Option<[u8; 8]>,
    /// Components of the client and service principal names.
    pub cname: Vec<Vec<u8>>,
    pub sname: Vec<Vec<u8>>,
    /// AS-REP and TGS-REP: the ticket's encryption type, and whether it is weak
    /// (DES or RC4).
    pub ticket_etype: Option<[u8; 8]>,
    pub ticket_weak: Option<[u8; 8]>,
    pub events: Vec<&'static str>,
}

/// Encryption types Suricata counts as weak: the DES family and RC4.
pub fn weak_etype(e: u64) -> bool {
    matches!(e, 1..=3 | 23 | 24)
}

/// Encryption type names (RFC 3961, RFC 8429).
pub fn etype_number(name: &str) -> Option<u64> {
    Some(match name {
        "des-cbc-crc" => 1,
        "des-cbc-md4" => 2,
        "des-cbc-md5" => 3,
        "des3-cbc-md5" => 5,
        "des3-cbc-sha1" => 7,
        "des3-cbc-sha1-kd" => 16,
        "aes128-cts-hmac-sha1-96" => 17,
        "aes256-cts-hmac-sha1-96" => 18,
        "aes128-cts-hmac-sha256-128" => 19,
        "aes256-cts-hmac-sha384-192" => 20,
        "rc4-hmac" => 23,
        "rc4-hmac-exp" => 24,
        _ => return None,
    })
}

/// Kerberos state of one flow.
#[derive(Debug, Clone, Default)]
pub struct Krb5State {
    txs: VecDeque<Krb5Message>,
    next_id: u64,
    pending: [Vec<u8>; 2],
}

/// One DER element: (tag, content, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let l0 = *b.get(1)? as usize;
    let (len, hdr) = if l0 < 0x80 {
        (l0, 2)
    } else {
        let n = l0 & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = len << 8 | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    Some((tag, b.get(hdr..end)?, &b[end..]))
}

/// The fields of a SEQUENCE by context tag number (`[n]` explicit tags).
fn fields(seq: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut rest = seq;
    while let Some((tag, content, r)) = tlv(rest) {
        if tag & 0xe0 == 0xa0 {
            out.push((tag & 0x1f, content));
        }
        rest = r;
    }
    out
}

fn int(b: &[u8]) -> Option<u64> {
    let (tag, c, _) = tlv(b)?;
    if tag != 0x02 || c.is_empty() || c.len() > 8 {
        return None;
    }
    // Negative error codes do not occur; sign-extend anyway as a u64 of the i64.
    let mut v: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in c {
        v = v << 8 | i64::from(x);
    }
    Some(v as u64)
}

/// PrincipalName ::= SEQUENCE { name-type [0], name-string [1] SEQUENCE OF String }
fn principal(b: &[u8]) -> Vec<Vec<u8>> {
    let Some((0x30, seq, _)) = tlv(b) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (n, v) in fields(seq) {
        if n == 1
            && let Some((0x30, mut list, _)) = tlv(v)
        {
            while let Some((_, s, r)) = tlv(list) {
                out.push(s.to_vec());
                list = r;
            }
        }
    }
    out
}

/// Parses one message; `None` when it is not a Kerberos message.
pub fn parse_message(d: &[u8]) -> Option<Krb5Message> {
    let (tag, body, _) = tlv(d)?;
    if tag & 0xe0 != 0x60 {
        return None;
    }
    let ty = u64::from(tag & 0x1f);
    if !matches!(ty, 10..=15 | 20..=22 | 30) {
        return None;
    }
    let mut m = Krb5Message {
        msg_type: Some(num_buf(ty)),
        ..Krb5Message::default()
    };
    let (0x30, seq, _) = tlv(body)? else {
        return None;
    };
    let f = fields(seq);
    match ty {
        10 | 12 => {
            if let Some((_, rb)) = f.iter().find(|(n, _)| *n == 4)
                && let Some((0x30, body, _)) = tlv(rb)
            {
                for (n, v) in fields(body) {
                    match n {
                        1 => m.cname = principal(v),
                        3 => m.sname = principal(v),
                        _ => {}
                    }
                }
            }
        }
        11 | 13 => {
            // Ticket ::= [APPLICATION 1] SEQUENCE { .., enc-part [3] EncryptedData }
            if let Some((_, t)) = f.iter().find(|(n, _)| *n == 5)
                && let Some((0x61, tk, _)) = tlv(t)
                && let Some((0x30, tseq, _)) = tlv(tk)
                && let Some((_, enc)) = fields(tseq).into_iter().find(|(n, _)| *n == 3)
                && let Some((0x30, eseq, _)) = tlv(enc)
                && let Some((_, et)) = fields(eseq).into_iter().find(|(n, _)| *n == 0)
                && let Some(e) = int(et)
            {
                m.ticket_etype = Some(num_buf(e));
                m.ticket_weak = Some(num_buf(u64::from(weak_etype(e))));
            }
        }
        30 => {
            for (n, v) in &f {
                match n {
                    6 => m.error_code = int(v).map(num_buf),
                    8 => m.cname = principal(v),
                    10 => m.sname = principal(v),
                    _ => {}
                }
            }
            if m.error_code.is_none() {
                m.events.push("krb5.malformed_data");
            }
        }
        _ => {}
    }
    Some(m)
}

/// Whether a datagram is a Kerberos message.
pub fn probe(d: &[u8]) -> bool {
    parse_message(d).is_some()
}

/// Whether the start of a TCP record (after its length) opens a Kerberos message:
/// a known application tag, then a SEQUENCE (the rest may not have arrived).
pub fn probe_start(d: &[u8]) -> bool {
    let Some(&tag) = d.first() else { return false };
    if tag & 0xe0 != 0x60 || !matches!(tag & 0x1f, 10..=15 | 20..=22 | 30) {
        return false;
    }
    let skip = match d.get(1) {
        Some(&l) if l < 0x80 => 2,
        Some(&l) if (0x81..=0x84).contains(&l) => 2 + (l & 0x7f) as usize,
        _ => return false,
    };
    d.get(skip) == Some(&0x30)
}

impl Krb5State {
    pub fn tx(&self, id: u64) -> Option<&Krb5Message> {
        self.txs.iter().find(|t| t.id == id)
    }

    /// UDP: one datagram is one message.
    pub fn datagram(&mut self, dir: Direction, d: &[u8], out: &mut Vec<AppUpdate>) {
        let mut m = parse_message(d).unwrap_or_else(|| Krb5Message {
            events: vec!["krb5.malformed_data"],
            ..Krb5Message::default()
        });
        m.id = self.next_id;
        m.direction = Some(dir);
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

impl TxParser for Krb5State {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        self.pending[i].extend_from_slice(data);
        while self.pending[i].len() >= 4 {
            let p = &self.pending[i];
            let len = (u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7fff_ffff) as usize;
            if len > MAX_RECORD {
                self.pending[i].clear();
                self.datagram(dir, b"", out);
                break;
            }
            if p.len() < 4 + len {
                break;
            }
            let rec: Vec<u8> = self.pending[i].drain(..4 + len).skip(4).collect();
            self.datagram(dir, &rec, out);
        }
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        let Some(m) = self.tx(u.tx_id) else { return };
        let k = BufferKind::App;
        if let Some(t) = &m.msg_type {
            out.push((k(AppBuf::Krb5MsgType), t));
        }
        if let Some(e) = &m.error_code {
            out.push((k(AppBuf::Krb5ErrCode), e));
        }
        // Principal names of requests only (as Suricata inspects them).
        if u.direction == Direction::ToServer {
            for c in &m.cname {
                out.push((k(AppBuf::Krb5Cname), c));
            }
            for s in &m.sname {
                out.push((k(AppBuf::Krb5Sname), s));
            }
        }
        if let Some(e) = &m.ticket_etype {
            out.push((k(AppBuf::Krb5TicketEtype), e));
        }
        if let Some(w) = &m.ticket_weak {
            out.push((k(AppBuf::Krb5TicketWeak), w));
        }
        for e in &m.events {
            out.push((k(AppBuf::Event), e.as_bytes()));
        }
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let m = self.tx(tx_id)?;
        let ty = m.msg_type.map(u64::from_be_bytes);
        let name = match ty {
            Some(10) => "KRB_AS_REQ",
            Some(11) => "KRB_AS_REP",
            Some(12) => "KRB_TGS_REQ",
            Some(13) => "KRB_TGS_REP",
            Some(30) => "KRB_ERROR",
            _ => "UNKNOWN",
        };
        let join = |v: &[Vec<u8>]| {
            v.iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect::<Vec<_>>()
                .join("/")
        };
        Some((
            "krb5",
            json!({"msg_type": name, "cname": join(&m.cname), "sname": join(&m.sname)}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER element with a short length.
    fn el(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag, content.len() as u8];
        v.extend_from_slice(content);
        v
    }

    fn principal_der(names: &[&str]) -> Vec<u8> {
        let strings: Vec<u8> = names.iter().flat_map(|n| el(0x1b, n.as_bytes())).collect();
        let seq = [el(0xa0, &el(0x02, &[1])), el(0xa1, &el(0x30, &strings))].concat();
        el(0x30, &seq)
    }

    #[test]
    fn as_req_names_and_error_code() {
        let body = [
            el(0xa1, &principal_der(&["user01"])),
            el(0xa3, &principal_der(&["krbtgt", "TEST"])),
        ]
        .concat();
        let req = [
            el(0xa1, &el(0x02, &[5])),
            el(0xa2, &el(0x02, &[10])),
            el(0xa4, &el(0x30, &body)),
        ]
        .concat();
        let msg = el(0x6a, &el(0x30, &req));
        let m = parse_message(&msg).unwrap();
        assert_eq!(m.msg_type, Some(num_buf(10)));
        assert_eq!(m.cname, vec![b"user01".to_vec()]);
        assert_eq!(m.sname, vec![b"krbtgt".to_vec(), b"TEST".to_vec()]);

        let err = [
            el(0xa0, &el(0x02, &[5])),
            el(0xa1, &el(0x02, &[30])),
            el(0xa6, &el(0x02, &[25])),
        ]
        .concat();
        let m = parse_message(&el(0x7e, &el(0x30, &err))).unwrap();
        assert_eq!(m.error_code, Some(num_buf(25)));
    }

    #[test]
    fn tcp_records_and_junk() {
        let err = [el(0xa6, &el(0x02, &[25]))].concat();
        let msg = el(0x7e, &el(0x30, &err));
        let mut rec = (msg.len() as u32).to_be_bytes().to_vec();
        rec.extend_from_slice(&msg);
        let mut st = Krb5State::default();
        let mut out = Vec::new();
        for c in rec.chunks(2) {
            st.feed(Direction::ToClient, c, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert!(parse_message(b"\x6a\x85\xff").is_none());
        assert!(!probe(b"GET / HTTP/1.0\r\n"));
    }
}
