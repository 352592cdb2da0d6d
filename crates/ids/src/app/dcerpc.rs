//! DCERPC (connection-oriented, DCE 1.1 / MS-RPCE) over TCP or inside SMB named
//! pipes: binds and their acknowledgements (which interfaces were accepted, by
//! presentation context), and requests and responses reassembled from their
//! fragments. Each call (by call id) is a transaction with its opnum and stub data.
//!
//! `dcerpc.iface` matches a request whose presentation context was accepted for that
//! interface: the transaction offers one `DcerpcIface` buffer per such interface,
//! holding the UUID (16 bytes, little-endian fields) and the major version (2 bytes,
//! big-endian), only when the request's first fragment carried the first-fragment flag
//! (`DcerpcIfaceAnyFrag` always, for `any_frag`).

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::AppUpdate;
use super::frames::{FrameKind, Frames};
use super::keywords::{AppBuf, num_buf};
use crate::detect::{BufferKind, Direction};

const MAX_TXS: usize = 16;
const MAX_IFACES: usize = 64;
/// Stub bytes kept per call and direction (the rest is dropped).
const MAX_STUB: usize = 64 * 1024;

/// An interface proposed in a bind, and the server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    pub ctx_id: u16,
    /// UUID with little-endian fields, then the major version big-endian.
    pub key: [u8; 18],
    pub minor: u16,
    /// `Some(0)`: accepted.
    pub result: Option<u16>,
}

/// One call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DcerpcTx {
    pub id: u64,
    pub call_id: u32,
    pub opnum: Option<[u8; 8]>,
    pub ctx_id: u16,
    /// The request's first fragment had the first-fragment flag.
    pub first_frag: bool,
    pub req_stub: Vec<u8>,
    pub resp_stub: Vec<u8>,
    pub req_done: bool,
    pub resp_done: bool,
}

/// DCERPC state of one connection (or of the pipes of one SMB session).
#[derive(Debug, Clone, Default)]
pub struct DcerpcState {
    bufs: [Vec<u8>; 2],
    pub ifaces: Vec<Iface>,
    /// Bind contexts waiting for their ack, in order.
    txs: VecDeque<DcerpcTx>,
    /// Transaction ids start here (so an SMB session can keep its own ids apart).
    id_base: u64,
    next_id: u64,
    pub events: Vec<&'static str>,
    dead: [bool; 2],
    /// Inside SMB each read or write starts a PDU: after bad data, start over with
    /// the next one instead of giving up. (Frames are cut on TCP only.)
    resync: bool,
    frames: Frames,
}

/// Whether data starts like a DCERPC bind (or other PDU) of version 5.0.
pub fn probe(d: &[u8]) -> Option<bool> {
    if d.len() < 16 {
        return if d.first().is_none_or(|&v| v == 5) {
            None
        } else {
            Some(false)
        };
    }
    Some(d[0] == 5 && d[1] == 0 && matches!(d[2], 0 | 2 | 11 | 12 | 14 | 15) && d[4] & 0xee == 0)
}

/// Wire UUID (fields little-endian when `le`) to the canonical key order.
fn uuid_key(b: &[u8], le: bool, major: u16) -> [u8; 18] {
    let mut k = [0u8; 18];
    k[..16].copy_from_slice(&b[..16]);
    if !le {
        k[..4].reverse();
        k[4..6].reverse();
        k[6..8].reverse();
    }
    k[16..].copy_from_slice(&major.to_be_bytes());
    k
}

/// `12345678-1234-abcd-ef00-0123456789ab` as the 16 key bytes.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let parts: Vec<&str> = s.trim().split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    if parts.len() != 5 || parts.iter().zip(lens).any(|(p, l)| p.len() != l) {
        return None;
    }
    let hex: String = parts.concat();
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Some(b)
}

fn uuid_string(k: &[u8]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&k[..16]);
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl DcerpcState {
    /// A state whose transaction ids start at `base`.
    pub fn with_id_base(base: u64) -> DcerpcState {
        DcerpcState {
            id_base: base,
            resync: true,
            ..DcerpcState::default()
        }
    }

    pub fn id_base(&self) -> u64 {
        self.id_base
    }

    pub fn tx(&self, id: u64) -> Option<&DcerpcTx> {
        let id = id & !super::TO_CLIENT_SIDE;
        self.txs.iter().find(|t| t.id == id)
    }

    fn tx_for_call(&mut self, call_id: u32) -> &mut DcerpcTx {
        let pos = self
            .txs
            .iter()
            .rposition(|t| t.call_id == call_id && !(t.req_done && t.resp_done));
        match pos {
            Some(p) => &mut self.txs[p],
            None => {
                if self.txs.len() >= MAX_TXS {
                    self.txs.pop_front();
                }
                let id = self.id_base + self.next_id;
                self.next_id += 1;
                self.txs.push_back(DcerpcTx {
                    id,
                    call_id,
                    ..DcerpcTx::default()
                });
                self.txs.back_mut().expect("just pushed")
            }
        }
    }

    /// Stream data of one direction (TCP, or the pipe data of SMB reads and writes).
    pub fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        if self.dead[i] {
            return;
        }
        self.bufs[i].extend_from_slice(data);
        loop {
            let b = &self.bufs[i];
            if b.len() < 16 {
                break;
            }
            if b[0] != 5 || b[1] != 0 {
                if !self.events.contains(&"dcerpc.malformed_data") {
                    self.events.push("dcerpc.malformed_data");
                }
                self.dead[i] = !self.resync;
                self.bufs[i].clear();
                out.push(AppUpdate {
                    tx_id: super::sided(self.id_base, dir),
                    direction: dir,
                });
                break;
            }
            let le = b[4] & 0x10 != 0;
            let rd16 = |x: &[u8]| {
                if le {
                    u16::from_le_bytes([x[0], x[1]])
                } else {
                    u16::from_be_bytes([x[0], x[1]])
                }
            };
            let frag_len = rd16(&b[8..10]) as usize;
            if frag_len < 16 {
                if !self.events.contains(&"dcerpc.malformed_data") {
                    self.events.push("dcerpc.malformed_data");
                }
                self.dead[i] = !self.resync;
                self.bufs[i].clear();
                break;
            }
            if b.len() < frag_len {
                break;
            }
            let pdu: Vec<u8> = self.bufs[i].drain(..frag_len).collect();
            if !self.resync {
                self.frames.push(FrameKind::DcerpcPdu, dir, &pdu, out);
                self.frames.push(FrameKind::DcerpcHdr, dir, &pdu[..16], out);
                self.frames
                    .push(FrameKind::DcerpcData, dir, &pdu[16..], out);
            }
            self.pdu(dir, &pdu, le, out);
        }
    }

    fn pdu(&mut self, dir: Direction, p: &[u8], le: bool, out: &mut Vec<AppUpdate>) {
        let rd16 = |x: &[u8]| {
            if le {
                u16::from_le_bytes([x[0], x[1]])
            } else {
                u16::from_be_bytes([x[0], x[1]])
            }
        };
        let rd32 = |x: &[u8]| {
            if le {
                u32::from_le_bytes([x[0], x[1], x[2], x[3]])
            } else {
                u32::from_be_bytes([x[0], x[1], x[2], x[3]])
            }
        };
        let ptype = p[2];
        let flags = p[3];
        let auth_len = rd16(&p[10..12]) as usize;
        let call_id = rd32(&p[12..16]);
        // The body ends before the auth verifier (8-byte header plus credentials).
        let body_end = if auth_len > 0 {
            p.len().saturating_sub(auth_len + 8)
        } else {
            p.len()
        };
        match ptype {
            // A bind must be a whole (first and last) fragment.
            11 | 14 if dir == Direction::ToServer && flags & 0x01 != 0 => {
                // max_xmit, max_recv, assoc_group, n_ctx, pad
                let Some(&n) = p.get(24) else { return };
                let mut at = 28;
                let mut proposed = Vec::new();
                for _ in 0..n {
                    let Some(c) = p.get(at..at + 24) else { break };
                    let ctx_id = rd16(&c[0..2]);
                    let n_trans = c[2] as usize;
                    let major = rd16(&c[20..22]);
                    let minor = rd16(&c[22..24]);
                    proposed.push(Iface {
                        ctx_id,
                        key: uuid_key(&c[4..20], le, major),
                        minor,
                        result: None,
                    });
                    at += 24 + 20 * n_trans;
                }
                if ptype == 11 {
                    self.ifaces.clear();
                }
                for f in proposed {
                    if self.ifaces.len() < MAX_IFACES {
                        self.ifaces.push(f);
                    }
                }
            }
            12 | 15 if dir == Direction::ToClient => {
                let Some(sa) = p.get(24..26) else { return };
                let sec_len = rd16(sa) as usize;
                // Results start 4-byte aligned after the secondary address.
                let mut at = (26 + sec_len).div_ceil(4) * 4;
                let Some(&n) = p.get(at) else { return };
                at += 4;
                let pending: Vec<usize> = (0..self.ifaces.len())
                    .filter(|&k| self.ifaces[k].result.is_none())
                    .collect();
                for k in pending.into_iter().take(n as usize) {
                    let Some(r) = p.get(at..at + 24) else { break };
                    self.ifaces[k].result = Some(rd16(&r[0..2]));
                    at += 24;
                }
            }
            0 if dir == Direction::ToServer => {
                let Some(h) = p.get(16..24) else { return };
                let ctx_id = rd16(&h[4..6]);
                let opnum = rd16(&h[6..8]);
                let start = if flags & 0x80 != 0 { 40 } else { 24 };
                let stub = p.get(start..body_end.max(start)).unwrap_or(&[]);
                let tx = self.tx_for_call(call_id);
                if tx.opnum.is_none() {
                    tx.opnum = Some(num_buf(u64::from(opnum)));
                    tx.ctx_id = ctx_id;
                    tx.first_frag = flags & 0x01 != 0;
                }
                let room = MAX_STUB.saturating_sub(tx.req_stub.len());
                tx.req_stub.extend_from_slice(&stub[..stub.len().min(room)]);
                if flags & 0x02 != 0 {
                    tx.req_done = true;
                    let id = tx.id;
                    out.push(AppUpdate {
                        tx_id: super::sided(id, dir),
                        direction: dir,
                    });
                }
            }
            2 if dir == Direction::ToClient => {
                let stub = p.get(24..body_end.max(24)).unwrap_or(&[]);
                let tx = self.tx_for_call(call_id);
                let room = MAX_STUB.saturating_sub(tx.resp_stub.len());
                tx.resp_stub
                    .extend_from_slice(&stub[..stub.len().min(room)]);
                if flags & 0x02 != 0 {
                    tx.resp_done = true;
                    let id = tx.id;
                    out.push(AppUpdate {
                        tx_id: super::sided(id, dir),
                        direction: dir,
                    });
                }
            }
            _ => {}
        }
    }

    pub fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        if self.frames.buffers(u.tx_id, out) {
            return;
        }
        let k = BufferKind::App;
        for e in &self.events {
            out.push((k(AppBuf::Event), e.as_bytes()));
        }
        let Some(t) = self.tx(u.tx_id) else { return };
        if let Some(o) = &t.opnum {
            out.push((k(AppBuf::DcerpcOpnum), o));
            for f in &self.ifaces {
                if f.ctx_id == t.ctx_id && f.result == Some(0) {
                    if t.first_frag {
                        out.push((k(AppBuf::DcerpcIface), &f.key));
                    }
                    out.push((k(AppBuf::DcerpcIfaceAnyFrag), &f.key));
                }
            }
        }
        match u.direction {
            Direction::ToServer if t.req_done => {
                out.push((k(AppBuf::DcerpcStubData), &t.req_stub));
            }
            Direction::ToClient if t.resp_done => {
                out.push((k(AppBuf::DcerpcStubData), &t.resp_stub));
            }
            _ => {}
        }
    }

    pub fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let t = self.tx(tx_id)?;
        let iface = self
            .ifaces
            .iter()
            .find(|f| f.ctx_id == t.ctx_id && f.result == Some(0))
            .map(|f| uuid_string(&f.key));
        Some((
            "dcerpc",
            json!({
                "call_id": t.call_id,
                "request": "REQUEST",
                "req": {"opnum": t.opnum.map(u64::from_be_bytes), "stub_data_size": t.req_stub.len()},
                "res": {"stub_data_size": t.resp_stub.len()},
                "interface": iface,
            }),
        ))
    }
}

impl super::TxParser for DcerpcState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        DcerpcState::feed(self, dir, data, out);
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        DcerpcState::buffers(self, u, out);
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        DcerpcState::eve(self, tx_id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const EPM: &str = "e1af8308-5d1f-11c9-91a4-08002b14a0fa";

    fn hdr(ptype: u8, flags: u8, len: usize, call: u32) -> Vec<u8> {
        let mut h = vec![5, 0, ptype, flags, 0x10, 0, 0, 0];
        h.extend_from_slice(&(len as u16).to_le_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&call.to_le_bytes());
        h
    }

    pub fn bind(uuid: &str, ver: u16) -> Vec<u8> {
        let mut body = vec![0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0];
        body.extend_from_slice(&[0, 0, 1, 0]);
        body.extend_from_slice(&parse_uuid(uuid).unwrap());
        body.extend_from_slice(&ver.to_le_bytes());
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&[0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8]);
        body.extend_from_slice(&[0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0]);
        let mut p = hdr(11, 3, 16 + body.len(), 1);
        p.extend(body);
        p
    }

    pub fn bind_ack() -> Vec<u8> {
        let mut body = vec![0xb8, 0x10, 0xb8, 0x10, 0x12, 0x34, 0, 0, 4, 0];
        body.extend_from_slice(b"135\0");
        body.extend_from_slice(&[0, 0]); // align to 4
        body.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&[0u8; 20]);
        let mut p = hdr(12, 3, 16 + body.len(), 1);
        p.extend(body);
        p
    }

    pub fn request(opnum: u16, flags: u8, call: u32, stub: &[u8]) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0, 0, 0];
        body.extend_from_slice(&opnum.to_le_bytes());
        body.extend_from_slice(stub);
        let mut p = hdr(0, flags, 16 + body.len(), call);
        p.extend(body);
        p
    }

    #[test]
    fn bind_ack_then_fragmented_request() {
        let mut st = DcerpcState::default();
        let mut out = Vec::new();
        st.feed(Direction::ToServer, &bind(EPM, 3), &mut out);
        st.feed(Direction::ToClient, &bind_ack(), &mut out);
        assert_eq!(st.ifaces[0].result, Some(0));
        let mut two = request(42, 0x01, 7, b"ab");
        two.extend(request(42, 0x02, 7, b"cd"));
        for c in two.chunks(5) {
            st.feed(Direction::ToServer, c, &mut out);
        }
        // Three frames per fragment, and the call once complete.
        out.retain(|u| u.tx_id & crate::app::frames::FRAME_BIT == 0);
        assert_eq!(out.len(), 1);
        let t = st.tx(out[0].tx_id).unwrap();
        assert_eq!(t.req_stub, b"abcd");
        let mut bufs = Vec::new();
        st.buffers(&out[0], &mut bufs);
        let mut key = parse_uuid(EPM).unwrap().to_vec();
        key.extend_from_slice(&3u16.to_be_bytes());
        assert!(bufs.contains(&(BufferKind::App(AppBuf::DcerpcIface), &key[..])));
        assert!(bufs.contains(&(BufferKind::App(AppBuf::DcerpcOpnum), &num_buf(42)[..])));
        assert_eq!(uuid_string(&key), EPM);
    }

    #[test]
    fn request_without_first_fragment_flag_matches_any_frag_only() {
        let mut st = DcerpcState::default();
        let mut out = Vec::new();
        st.feed(Direction::ToServer, &bind(EPM, 3), &mut out);
        st.feed(Direction::ToClient, &bind_ack(), &mut out);
        st.feed(Direction::ToServer, &request(1, 0x02, 2, b""), &mut out);
        out.retain(|u| u.tx_id & crate::app::frames::FRAME_BIT == 0);
        let mut bufs = Vec::new();
        st.buffers(&out[0], &mut bufs);
        assert!(
            !bufs
                .iter()
                .any(|(k, _)| *k == BufferKind::App(AppBuf::DcerpcIface))
        );
        assert!(
            bufs.iter()
                .any(|(k, _)| *k == BufferKind::App(AppBuf::DcerpcIfaceAnyFrag))
        );
    }

    #[test]
    fn bad_version_is_an_event() {
        let mut st = DcerpcState::default();
        let mut out = Vec::new();
        st.feed(Direction::ToServer, &[4u8; 20], &mut out);
        assert_eq!(st.events, vec!["dcerpc.malformed_data"]);
        assert_eq!(probe(&[4u8; 20]), Some(false));
        assert_eq!(parse_uuid("bad"), None);
    }
}
