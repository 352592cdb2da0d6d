//! WebSocket (RFC 6455) after an HTTP/1.1 upgrade (`101 Switching Protocols` with
//! `Upgrade: websocket`): every frame is a transaction with its opcode, flags, mask
//! key and unmasked payload (`websocket.opcode`, `websocket.flags`, `websocket.mask`,
//! `websocket.payload`), and frames for `frame:websocket.pdu`, `.header`, `.data`.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::AppUpdate;
use super::frames::{FrameKind, Frames};
use super::keywords::{AppBuf, num_buf};
use crate::detect::{BufferKind, Direction};

const MAX_TXS: usize = 8;
/// Payload bytes kept per frame; a longer frame is inspected on its start.
const MAX_PAYLOAD: usize = 64 * 1024;

/// One WebSocket frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsFrame {
    pub id: u64,
    pub direction: Option<Direction>,
    pub opcode: [u8; 8],
    /// The first byte's high bits: FIN (0x80), RSV1 (0x40, compression), RSV2, RSV3.
    pub flags: [u8; 8],
    pub mask: Option<[u8; 8]>,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
struct Side {
    buf: Vec<u8>,
    /// Bytes of an over-long payload still to skip.
    skip: u64,
}

/// WebSocket state of one flow.
#[derive(Debug, Clone, Default)]
pub struct WebSocketState {
    sides: [Side; 2],
    txs: VecDeque<WsFrame>,
    next_id: u64,
    frames: Frames,
}

/// `websocket.opcode` names.
pub fn opcode_number(name: &str) -> Option<u64> {
    Some(match name {
        "continuation" => 0,
        "text" => 1,
        "binary" => 2,
        "close" => 8,
        "ping" => 9,
        "pong" => 10,
        _ => return None,
    })
}

impl WebSocketState {
    pub fn tx(&self, id: u64) -> Option<&WsFrame> {
        self.txs.iter().find(|t| t.id == id)
    }

    /// One frame from the start of `b`, if complete: (header length, payload length).
    fn header(b: &[u8]) -> Option<(usize, u64)> {
        let b1 = *b.get(1)?;
        let masked = b1 & 0x80 != 0;
        let (len, mut at) = match b1 & 0x7f {
            126 => (
                u64::from(u16::from_be_bytes(b.get(2..4)?.try_into().ok()?)),
                4,
            ),
            127 => (u64::from_be_bytes(b.get(2..10)?.try_into().ok()?), 10),
            n => (u64::from(n), 2),
        };
        if masked {
            at += 4;
        }
        (b.len() >= at).then_some((at, len))
    }
}

impl super::TxParser for WebSocketState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        let mut data = data;
        let s = &mut self.sides[i];
        if s.skip > 0 {
            let n = (s.skip.min(data.len() as u64)) as usize;
            s.skip -= n as u64;
            data = &data[n..];
        }
        s.buf.extend_from_slice(data);
        loop {
            let s = &mut self.sides[i];
            let Some((hlen, plen)) = Self::header(&s.buf) else {
                break;
            };
            let keep = plen.min(MAX_PAYLOAD as u64) as usize;
            if s.buf.len() < hlen + keep {
                break;
            }
            let pdu: Vec<u8> = s.buf.drain(..hlen + keep).collect();
            s.skip = plen - keep as u64;
            let (b0, b1) = (pdu[0], pdu[1]);
            let mask = (b1 & 0x80 != 0)
                .then(|| [pdu[hlen - 4], pdu[hlen - 3], pdu[hlen - 2], pdu[hlen - 1]]);
            let mut payload = pdu[hlen..].to_vec();
            if let Some(m) = mask {
                for (k, p) in payload.iter_mut().enumerate() {
                    *p ^= m[k % 4];
                }
            }
            self.frames.push(FrameKind::WebSocketPdu, dir, &pdu, out);
            self.frames
                .push(FrameKind::WebSocketHeader, dir, &pdu[..hlen], out);
            self.frames
                .push(FrameKind::WebSocketData, dir, &payload, out);
            let f = WsFrame {
                id: self.next_id,
                direction: Some(dir),
                opcode: num_buf(u64::from(b0 & 0x0f)),
                flags: num_buf(u64::from(b0 & 0xf0)),
                mask: mask.map(|m| num_buf(u64::from(u32::from_be_bytes(m)))),
                payload,
            };
            self.next_id += 1;
            out.push(AppUpdate {
                tx_id: f.id,
                direction: dir,
            });
            if self.txs.len() >= MAX_TXS {
                self.txs.pop_front();
            }
            self.txs.push_back(f);
        }
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        if self.frames.buffers(u.tx_id, out) {
            return;
        }
        let Some(f) = self.tx(u.tx_id) else { return };
        let k = BufferKind::App;
        out.push((k(AppBuf::WebSocketOpcode), &f.opcode));
        out.push((k(AppBuf::WebSocketFlags), &f.flags));
        if let Some(m) = &f.mask {
            out.push((k(AppBuf::WebSocketMask), m));
        }
        out.push((k(AppBuf::WebSocketPayload), &f.payload));
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let f = self.tx(tx_id)?;
        Some((
            "websocket",
            json!({
                "fin": f.flags[7] & 0x80 != 0,
                "opcode": u64::from_be_bytes(f.opcode),
                "mask": f.mask.map(u64::from_be_bytes),
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::TxParser;

    #[test]
    fn masked_and_plain_frames_split_anywhere() {
        let mut st = WebSocketState::default();
        let mut out = Vec::new();
        // "Hello", masked with 37 fa 21 3d (RFC 6455 5.7), then a plain text frame.
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        for c in masked.chunks(3) {
            st.feed(Direction::ToServer, c, &mut out);
        }
        st.feed(Direction::ToClient, b"\x81\x02hi", &mut out);
        out.retain(|u| u.tx_id & crate::app::frames::FRAME_BIT == 0);
        assert_eq!(out.len(), 2);
        let f = st.tx(0).unwrap();
        assert_eq!(f.payload, b"Hello");
        assert_eq!(f.opcode, num_buf(1));
        assert_eq!(f.flags, num_buf(0x80));
        assert_eq!(f.mask, Some(num_buf(0x37fa213d)));
        assert_eq!(st.tx(1).unwrap().mask, None);
        assert_eq!(opcode_number("text"), Some(1));
    }
}
