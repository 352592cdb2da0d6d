//! SIP (RFC 3261) over UDP (one message per datagram) and TCP (messages framed by
//! their `Content-Length`). Every message is a transaction with its start line and
//! the headers rules inspect; compact header names (`f`, `t`, `v`, `c`, `l`) count as
//! their long forms.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::frames::{FrameKind, Frames};
use super::keywords::AppBuf;
use super::{AppUpdate, TxParser};
use crate::detect::{BufferKind, Direction};

/// Transactions kept per flow (older ones are forgotten).
const MAX_TXS: usize = 32;
/// Largest message buffered on TCP.
const MAX_MESSAGE: usize = 64 * 1024;

const METHODS: &[&[u8]] = &[
    b"INVITE",
    b"ACK",
    b"BYE",
    b"CANCEL",
    b"REGISTER",
    b"OPTIONS",
    b"PRACK",
    b"SUBSCRIBE",
    b"NOTIFY",
    b"PUBLISH",
    b"INFO",
    b"REFER",
    b"MESSAGE",
    b"UPDATE",
];

/// One SIP message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipMessage {
    pub id: u64,
    pub direction: Option<Direction>,
    pub request_line: Vec<u8>,
    pub method: Vec<u8>,
    pub uri: Vec<u8>,
    pub response_line: Vec<u8>,
    pub stat_code: Vec<u8>,
    pub stat_msg: Vec<u8>,
    /// (buffer, value) of each header a keyword reads, in message order.
    pub headers: Vec<(AppBuf, Vec<u8>)>,
    pub events: Vec<&'static str>,
}

/// SIP state of one flow.
#[derive(Debug, Clone, Default)]
pub struct SipState {
    txs: VecDeque<SipMessage>,
    next_id: u64,
    /// TCP: unparsed bytes per direction.
    pending: [Vec<u8>; 2],
    stream: bool,
    frames: Frames,
}

/// Whether data starts like a SIP request or response (`None`: too short).
pub fn probe(d: &[u8]) -> Option<bool> {
    if d.len() < 8 {
        let could = METHODS
            .iter()
            .chain([&&b"SIP/2.0"[..]])
            .any(|m| m.starts_with(&d[..d.len().min(m.len())]));
        return if could { None } else { Some(false) };
    }
    if d.starts_with(b"SIP/2.0 ") {
        return Some(true);
    }
    let Some(sp) = d.iter().position(|&b| b == b' ') else {
        return Some(false);
    };
    if !METHODS.contains(&&d[..sp]) {
        return Some(false);
    }
    let line_end = d.iter().position(|&b| b == b'\r' || b == b'\n');
    Some(match line_end {
        Some(e) => d[..e].ends_with(b" SIP/2.0"),
        None => true,
    })
}

fn header_buf(name: &[u8]) -> Option<AppBuf> {
    let n = name.to_ascii_lowercase();
    Some(match n.as_slice() {
        b"from" | b"f" => AppBuf::SipFrom,
        b"to" | b"t" => AppBuf::SipTo,
        b"via" | b"v" => AppBuf::SipVia,
        b"content-type" | b"c" => AppBuf::SipContentType,
        b"content-length" | b"l" => AppBuf::SipContentLength,
        b"user-agent" => AppBuf::SipUserAgent,
        _ => return None,
    })
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

/// Parses one message's start line and headers (the body is not kept).
pub fn parse_message(d: &[u8]) -> Option<SipMessage> {
    let mut lines = d
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next()?;
    let mut m = SipMessage::default();
    if let Some(rest) = first.strip_prefix(b"SIP/2.0 ") {
        m.response_line = first.to_vec();
        let (code, msg) = match rest.iter().position(|&b| b == b' ') {
            Some(p) => (&rest[..p], &rest[p + 1..]),
            None => (rest, &b""[..]),
        };
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return None;
        }
        m.stat_code = code.to_vec();
        m.stat_msg = msg.to_vec();
    } else {
        let mut parts = first.splitn(3, |&b| b == b' ');
        let (method, uri, version) = (parts.next()?, parts.next()?, parts.next()?);
        if version != b"SIP/2.0" || method.is_empty() {
            return None;
        }
        m.request_line = first.to_vec();
        m.method = method.to_vec();
        m.uri = uri.to_vec();
    }
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            m.events.push("sip.invalid_data");
            continue;
        };
        if let Some(b) = header_buf(trim(&line[..colon])) {
            m.headers.push((b, trim(&line[colon + 1..]).to_vec()));
        }
    }
    Some(m)
}

/// The length of a complete message at the start of `d` (headers and body), if any.
fn message_len(d: &[u8]) -> Option<usize> {
    let end = memchr::memmem::find(d, b"\r\n\r\n")? + 4;
    let mut cl = 0usize;
    for line in d[..end].split(|&b| b == b'\n') {
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && header_buf(trim(&line[..colon])) == Some(AppBuf::SipContentLength)
        {
            cl = std::str::from_utf8(trim(&line[colon + 1..]))
                .ok()?
                .parse()
                .ok()?;
        }
    }
    let total = end.checked_add(cl)?;
    (d.len() >= total).then_some(total)
}

impl SipState {
    pub fn tx(&self, id: u64) -> Option<&SipMessage> {
        self.txs.iter().find(|t| t.id == id)
    }

    /// Frames of a message: all of it, its start line (with CR LF), its header lines
    /// (without the empty line) and its body.
    fn cut_frames(&mut self, dir: Direction, d: &[u8], request: bool, out: &mut Vec<AppUpdate>) {
        use FrameKind as F;
        let (line, headers, body) = if request {
            (F::SipRequestLine, F::SipRequestHeaders, F::SipRequestBody)
        } else {
            (
                F::SipResponseLine,
                F::SipResponseHeaders,
                F::SipResponseBody,
            )
        };
        self.frames.push(F::SipPdu, dir, d, out);
        let first = d
            .iter()
            .position(|&b| b == b'\n')
            .map_or(d.len(), |p| p + 1);
        self.frames.push(line, dir, &d[..first], out);
        let rest = &d[first..];
        let (hdrs, body_at) = match memchr::memmem::find(rest, b"\r\n\r\n") {
            Some(p) => (&rest[..p + 2], p + 4),
            None if rest.starts_with(b"\r\n") => (&rest[..0], 2),
            None => (rest, rest.len()),
        };
        if !hdrs.is_empty() {
            self.frames.push(headers, dir, hdrs, out);
        }
        if body_at < rest.len() {
            self.frames.push(body, dir, &rest[body_at..], out);
        }
    }

    /// UDP: one datagram is one message.
    pub fn datagram(&mut self, dir: Direction, d: &[u8], out: &mut Vec<AppUpdate>) {
        let parsed = parse_message(d);
        if let Some(m) = &parsed {
            self.cut_frames(dir, d, m.stat_code.is_empty(), out);
        }
        let mut m = parsed.unwrap_or_else(|| SipMessage {
            events: vec!["sip.invalid_data"],
            ..SipMessage::default()
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

impl TxParser for SipState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        self.stream = true;
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        self.pending[i].extend_from_slice(data);
        loop {
            let p = &self.pending[i];
            match message_len(p) {
                Some(n) => {
                    let msg: Vec<u8> = self.pending[i].drain(..n).collect();
                    self.datagram(dir, &msg, out);
                }
                None if p.len() > MAX_MESSAGE => {
                    self.pending[i].clear();
                    self.datagram(dir, b"", out);
                }
                None => break,
            }
        }
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        if self.frames.buffers(u.tx_id, out) {
            return;
        }
        let Some(m) = self.tx(u.tx_id) else { return };
        if m.direction != Some(u.direction) {
            return;
        }
        let k = BufferKind::App;
        for (b, v) in [
            (AppBuf::SipRequestLine, &m.request_line),
            (AppBuf::SipMethod, &m.method),
            (AppBuf::SipUri, &m.uri),
            (AppBuf::SipResponseLine, &m.response_line),
            (AppBuf::SipStatCode, &m.stat_code),
            (AppBuf::SipStatMsg, &m.stat_msg),
        ] {
            if !v.is_empty() {
                out.push((k(b), v));
            }
        }
        for (b, v) in &m.headers {
            out.push((k(*b), v));
        }
        for e in &m.events {
            out.push((k(AppBuf::Event), e.as_bytes()));
        }
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let m = self.tx(tx_id)?;
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut o = serde_json::Map::new();
        if !m.method.is_empty() {
            o.insert("method".into(), json!(s(&m.method)));
            o.insert("uri".into(), json!(s(&m.uri)));
            o.insert("request_line".into(), json!(s(&m.request_line)));
        }
        if !m.stat_code.is_empty() {
            o.insert("code".into(), json!(s(&m.stat_code)));
            o.insert("reason".into(), json!(s(&m.stat_msg)));
            o.insert("response_line".into(), json!(s(&m.response_line)));
        }
        Some(("sip", Value::Object(o)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_with_compact_headers() {
        let m = parse_message(
            b"INVITE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP pc33\r\nf: \"Arik\" <sip:arik@x>\r\nt: <sip:bob@y>\r\nc: application/sdp\r\nl: 272\r\n\r\nv=0\r\n",
        )
        .unwrap();
        assert_eq!(m.method, b"INVITE");
        assert_eq!(m.uri, b"sip:bob@example.com");
        let get = |b| {
            m.headers
                .iter()
                .find(|(k, _)| *k == b)
                .map(|(_, v)| v.as_slice())
        };
        assert_eq!(get(AppBuf::SipVia), Some(&b"SIP/2.0/UDP pc33"[..]));
        assert_eq!(get(AppBuf::SipFrom), Some(&b"\"Arik\" <sip:arik@x>"[..]));
        assert_eq!(get(AppBuf::SipContentLength), Some(&b"272"[..]));
    }

    #[test]
    fn response_and_probe() {
        let m = parse_message(b"SIP/2.0 180 Ringing\r\nTo: <sip:a@b>\r\n\r\n").unwrap();
        assert_eq!(
            (m.stat_code.as_slice(), m.stat_msg.as_slice()),
            (&b"180"[..], &b"Ringing"[..])
        );
        assert_eq!(probe(b"REGISTER sip:x SIP/2.0\r\n"), Some(true));
        assert_eq!(probe(b"GET / HTTP/1.1\r\n"), Some(false));
        assert_eq!(probe(b"INV"), None);
        assert!(parse_message(b"SIP/2.0 abc\r\n\r\n").is_none());
    }

    #[test]
    fn tcp_messages_framed_by_content_length() {
        let mut st = SipState::default();
        let mut out = Vec::new();
        let two =
            b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\nabcSIP/2.0 200 OK\r\nl: 0\r\n\r\n";
        for c in two.chunks(5) {
            st.feed(Direction::ToServer, c, &mut out);
        }
        let frames: Vec<_> = out
            .iter()
            .filter(|u| u.tx_id & crate::app::frames::FRAME_BIT != 0)
            .map(|u| {
                let mut b = Vec::new();
                st.buffers(u, &mut b);
                b[0].1.to_vec()
            })
            .collect();
        // pdu, line, headers, body; then pdu, line, headers of the second.
        assert_eq!(frames[1], b"OPTIONS sip:a SIP/2.0\r\n");
        assert_eq!(frames[2], b"Content-Length: 3\r\n");
        assert_eq!(frames[3], b"abc");
        assert_eq!(frames.len(), 7);
        out.retain(|u| u.tx_id & crate::app::frames::FRAME_BIT == 0);
        assert_eq!(out.len(), 2);
        assert_eq!(st.tx(1).unwrap().stat_code, b"200");
    }
}
