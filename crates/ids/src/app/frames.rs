//! Frames: the protocol data units a parser cuts the stream into (an SSH record, its
//! header and data; a DCERPC fragment; a SIP message, its start line, headers and
//! body; an RFB handshake message), inspected by `frame:<name>` rules. Each frame is inspected once, as an update
//! of its own: its id has [`FRAME_BIT`] set and is never a transaction id.

use std::collections::VecDeque;

use super::AppUpdate;
use super::keywords::AppBuf;
use crate::detect::{AppProto, BufferKind, Direction};

/// Set in the update ids of frames.
pub const FRAME_BIT: u64 = 1 << 61;
/// Frames kept per flow for inspection, and bytes kept per frame.
const MAX_FRAMES: usize = 32;
const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The frame types of the parsers that cut frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameKind {
    SshRecordPdu,
    SshRecordHdr,
    SshRecordData,
    DcerpcPdu,
    DcerpcHdr,
    DcerpcData,
    SipPdu,
    SipRequestLine,
    SipRequestHeaders,
    SipRequestBody,
    SipResponseLine,
    SipResponseHeaders,
    SipResponseBody,
    /// One RFB handshake message.
    RfbPdu,
    WebSocketPdu,
    WebSocketHeader,
    WebSocketData,
}

impl FrameKind {
    pub fn proto(self) -> AppProto {
        use FrameKind as F;
        match self {
            F::SshRecordPdu | F::SshRecordHdr | F::SshRecordData => AppProto::Ssh,
            F::DcerpcPdu | F::DcerpcHdr | F::DcerpcData => AppProto::Dcerpc,
            F::RfbPdu => AppProto::Rfb,
            F::WebSocketPdu | F::WebSocketHeader | F::WebSocketData => AppProto::WebSocket,
            _ => AppProto::Sip,
        }
    }
}

/// `frame:<name>`: the name with its protocol (`ssh.record.pdu`), or without it when
/// the rule's header names the protocol (`alert sip ... frame:pdu`).
pub fn frame_kind(name: &str, proto: Option<AppProto>) -> Option<FrameKind> {
    use FrameKind as F;
    let (p, short) = match name.split_once('.') {
        Some((p, rest)) if matches!(p, "ssh" | "dcerpc" | "sip" | "rfb" | "websocket") => (p, rest),
        _ => (proto.map_or("", AppProto::name), name),
    };
    Some(match (p, short) {
        ("ssh", "record.pdu") => F::SshRecordPdu,
        ("ssh", "record.hdr") => F::SshRecordHdr,
        ("ssh", "record.data") => F::SshRecordData,
        ("dcerpc", "pdu") => F::DcerpcPdu,
        ("dcerpc", "hdr") => F::DcerpcHdr,
        ("dcerpc", "data") => F::DcerpcData,
        ("sip", "pdu") => F::SipPdu,
        ("sip", "request.line") => F::SipRequestLine,
        ("sip", "request.headers") => F::SipRequestHeaders,
        ("sip", "request.body") => F::SipRequestBody,
        ("sip", "response.line") => F::SipResponseLine,
        ("sip", "response.headers") => F::SipResponseHeaders,
        ("sip", "response.body") => F::SipResponseBody,
        ("rfb", "pdu") => F::RfbPdu,
        ("websocket", "pdu") => F::WebSocketPdu,
        ("websocket", "header") => F::WebSocketHeader,
        ("websocket", "data") => F::WebSocketData,
        _ => return None,
    })
}

/// The recent frames of a flow.
#[derive(Debug, Clone, Default)]
pub struct Frames {
    next: u64,
    list: VecDeque<(u64, FrameKind, Vec<u8>)>,
}

impl Frames {
    /// Adds a frame and reports it for inspection.
    pub fn push(
        &mut self,
        kind: FrameKind,
        dir: Direction,
        bytes: &[u8],
        out: &mut Vec<AppUpdate>,
    ) {
        if self.list.len() >= MAX_FRAMES {
            self.list.pop_front();
        }
        let id = FRAME_BIT | self.next;
        self.next += 1;
        let keep = &bytes[..bytes.len().min(MAX_FRAME_BYTES)];
        self.list.push_back((id, kind, keep.to_vec()));
        out.push(AppUpdate {
            tx_id: id,
            direction: dir,
        });
    }

    /// The buffer of a frame update (`None`: the id is not a frame's).
    pub fn buffers<'a>(&'a self, id: u64, out: &mut Vec<(BufferKind, &'a [u8])>) -> bool {
        if id & FRAME_BIT == 0 {
            return false;
        }
        if let Some((_, k, b)) = self.list.iter().find(|(i, _, _)| *i == id) {
            out.push((BufferKind::App(AppBuf::Frame(*k)), b));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_protocol() {
        assert_eq!(
            frame_kind("ssh.record.hdr", None),
            Some(FrameKind::SshRecordHdr)
        );
        assert_eq!(
            frame_kind("pdu", Some(AppProto::Sip)),
            Some(FrameKind::SipPdu)
        );
        assert_eq!(frame_kind("pdu", None), None);
        assert_eq!(frame_kind("http1.request", None), None);
        let mut f = Frames::default();
        let mut out = Vec::new();
        f.push(FrameKind::DcerpcHdr, Direction::ToServer, b"abc", &mut out);
        let mut bufs = Vec::new();
        assert!(f.buffers(out[0].tx_id, &mut bufs));
        assert_eq!(bufs[0].1, b"abc");
        assert!(!f.buffers(3, &mut bufs));
    }
}
