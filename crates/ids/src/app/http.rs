//! HTTP/1.x: requests and responses parsed incrementally from the reassembled streams
//! of both directions, paired into transactions (pipelining keeps them in order).
//!
//! Parsing is lenient the way servers and clients are (that is what evasions exploit):
//! bare LF line ends, folded header lines, whitespace around names and values, sloppy
//! chunk-size lines, HTTP/0.9. Bodies are de-chunked and decoded (gzip, deflate, up to
//! [`HttpConfig::max_layers`] nested encodings) within size bounds.

use std::collections::VecDeque;

use super::files::{FileHasher, FileHashes};
use super::keywords::AppBuf;
use crate::detect::{BufferKind, Direction};

use super::decompress::{decode_layers, sniff};

/// Bounds of the HTTP parser.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    /// Largest header block (request or status line and headers).
    pub max_header_bytes: usize,
    /// Body bytes kept for inspection per transaction and direction (raw, before
    /// decoding); the rest is skipped.
    pub max_body_bytes: usize,
    /// Largest decoded body.
    pub max_decoded_bytes: usize,
    /// Content-encoding layers decoded.
    pub max_layers: usize,
    /// Transactions kept (older ones are forgotten).
    pub max_txs: usize,
    /// Hash whole bodies (files) beyond the bytes kept, for the file hash keywords.
    pub hash_files: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_header_bytes: 64 * 1024,
            // Suricata's defaults (request-/response-body-limit: 100 KiB).
            max_body_bytes: 100 * 1024,
            max_decoded_bytes: 1024 * 1024,
            max_layers: 3,
            max_txs: 64,
            hash_files: false,
        }
    }
}

/// One request/response exchange.
#[derive(Debug, Clone, Default)]
pub struct HttpTx {
    pub id: u64,
    pub method: Vec<u8>,
    pub uri_raw: Vec<u8>,
    pub uri_norm: Vec<u8>,
    pub protocol: Vec<u8>,
    pub request_line: Vec<u8>,
    pub request_headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub request_headers_raw: Vec<u8>,
    pub request_body: Vec<u8>,
    pub request_complete: bool,
    pub response_protocol: Vec<u8>,
    pub status: Vec<u8>,
    pub status_msg: Vec<u8>,
    pub response_line: Vec<u8>,
    pub response_headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub response_headers_raw: Vec<u8>,
    pub response_body: Vec<u8>,
    pub response_seen: bool,
    pub response_complete: bool,
    /// Request and response bodies larger than what is kept: the whole file's
    /// digests and size (only with [`HttpConfig::hash_files`]).
    pub whole_file: [Option<Box<FileHashes>>; 2],
    /// Anomaly events (Suricata's names, `http.` prefixed).
    pub events: Vec<&'static str>,
}

fn header<'a>(h: &'a [(Vec<u8>, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v.as_slice())
}

impl HttpTx {
    pub fn request_header(&self, name: &str) -> Option<&[u8]> {
        header(&self.request_headers, name)
    }

    pub fn response_header(&self, name: &str) -> Option<&[u8]> {
        header(&self.response_headers, name)
    }

    /// Host without port, lower-case (Suricata's `http.host`).
    pub fn host_norm(&self) -> Option<Vec<u8>> {
        let h = self.request_header("host")?;
        let mut h = h.to_ascii_lowercase();
        if let Some(i) = h.iter().rposition(|&c| c == b':')
            && (!h.contains(&b']') || h.iter().rposition(|&c| c == b']') < Some(i))
        {
            h.truncate(i);
        }
        Some(h)
    }

    /// Appends the buffers this transaction offers for detection in `dir`.
    pub fn buffers<'a>(
        &'a self,
        dir: Direction,
        host: &'a Option<Vec<u8>>,
        scratch: &'a HttpScratch,
        out: &mut Vec<(BufferKind, &'a [u8])>,
    ) {
        for e in &self.events {
            out.push((BufferKind::App(AppBuf::Event), e.as_bytes()));
        }
        // Request-line buffers are offered in both directions, so a rule that combines
        // request and response buffers can match when the response arrives.
        if !self.method.is_empty() {
            out.push((BufferKind::HttpMethod, &self.method));
            out.push((BufferKind::HttpUri, &self.uri_norm));
            out.push((BufferKind::HttpUriRaw, &self.uri_raw));
            out.push((BufferKind::HttpRequestLine, &self.request_line));
            out.push((BufferKind::HttpProtocol, &self.protocol));
        }
        if let Some(h) = host {
            out.push((BufferKind::HttpHost, h));
        }
        for (kind, name) in [
            (BufferKind::HttpHostRaw, "host"),
            (BufferKind::HttpUserAgent, "user-agent"),
            (BufferKind::HttpReferer, "referer"),
            (BufferKind::HttpAccept, "accept"),
            (BufferKind::HttpAcceptLang, "accept-language"),
            (BufferKind::HttpAcceptEnc, "accept-encoding"),
        ] {
            if let Some(v) = self.request_header(name) {
                out.push((kind, v));
            }
        }
        match dir {
            Direction::ToServer => {
                if let Some(v) = self.request_header("cookie") {
                    out.push((BufferKind::HttpCookie, v));
                }
                for (kind, name) in [
                    (BufferKind::HttpContentType, "content-type"),
                    (BufferKind::HttpContentLen, "content-length"),
                    (BufferKind::HttpConnection, "connection"),
                ] {
                    if let Some(v) = self.request_header(name) {
                        out.push((kind, v));
                    }
                }
                for h in &scratch.req_each {
                    out.push((BufferKind::App(AppBuf::HttpRequestHeader), h));
                }
                out.push((BufferKind::HttpHeader, &scratch.req_header));
                out.push((BufferKind::HttpHeaderRaw, &self.request_headers_raw));
                out.push((BufferKind::HttpHeaderNames, &scratch.req_names));
                out.push((BufferKind::HttpStart, &scratch.req_start));
                if !self.request_body.is_empty() {
                    out.push((BufferKind::HttpRequestBody, &self.request_body));
                }
            }
            Direction::ToClient => {
                if !self.response_seen {
                    return;
                }
                out.push((BufferKind::HttpStatCode, &self.status));
                out.push((BufferKind::HttpStatMsg, &self.status_msg));
                out.push((BufferKind::HttpResponseLine, &self.response_line));
                if let Some(v) = self.response_header("set-cookie") {
                    out.push((BufferKind::HttpCookie, v));
                }
                for (kind, name) in [
                    (BufferKind::HttpContentType, "content-type"),
                    (BufferKind::HttpContentLen, "content-length"),
                    (BufferKind::HttpConnection, "connection"),
                    (BufferKind::HttpLocation, "location"),
                    (BufferKind::HttpServer, "server"),
                ] {
                    if let Some(v) = self.response_header(name) {
                        out.push((kind, v));
                    }
                }
                for h in &scratch.resp_each {
                    out.push((BufferKind::App(AppBuf::HttpResponseHeader), h));
                }
                out.push((BufferKind::HttpHeader, &scratch.resp_header));
                out.push((BufferKind::HttpHeaderRaw, &self.response_headers_raw));
                out.push((BufferKind::HttpHeaderNames, &scratch.resp_names));
                out.push((BufferKind::HttpStart, &scratch.resp_start));
                if !self.response_body.is_empty() {
                    out.push((BufferKind::HttpResponseBody, &self.response_body));
                    out.push((BufferKind::FileData, &self.response_body));
                }
            }
        }
    }

    /// Builds the derived buffers (normalised header block, header names, start).
    pub fn scratch(&self) -> HttpScratch {
        fn hdr(h: &[(Vec<u8>, Vec<u8>)], skip: &str) -> Vec<u8> {
            let mut v = Vec::new();
            for (n, val) in h {
                if n.eq_ignore_ascii_case(skip.as_bytes()) {
                    continue;
                }
                v.extend_from_slice(n);
                v.extend_from_slice(b": ");
                v.extend_from_slice(val);
                v.extend_from_slice(b"\r\n");
            }
            v
        }
        fn names(h: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
            let mut v = b"\r\n".to_vec();
            for (n, _) in h {
                v.extend_from_slice(n);
                v.extend_from_slice(b"\r\n");
            }
            v.extend_from_slice(b"\r\n");
            v
        }
        fn start(line: &[u8], h: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
            let mut v = line.to_vec();
            v.extend_from_slice(b"\r\n");
            for (n, val) in h {
                v.extend_from_slice(n);
                v.extend_from_slice(b": ");
                v.extend_from_slice(val);
                v.extend_from_slice(b"\r\n");
            }
            v.extend_from_slice(b"\r\n");
            v
        }
        let each = |h: &[(Vec<u8>, Vec<u8>)]| -> Vec<Vec<u8>> {
            h.iter()
                .map(|(n, v)| [n.as_slice(), b": ", v.as_slice()].concat())
                .collect()
        };
        HttpScratch {
            req_each: each(&self.request_headers),
            resp_each: each(&self.response_headers),
            req_header: hdr(&self.request_headers, "cookie"),
            resp_header: hdr(&self.response_headers, "set-cookie"),
            req_names: names(&self.request_headers),
            resp_names: names(&self.response_headers),
            req_start: start(&self.request_line, &self.request_headers),
            resp_start: start(&self.response_line, &self.response_headers),
        }
    }
}

/// Derived buffers of a transaction, built when it is inspected.
#[derive(Debug, Clone, Default)]
pub struct HttpScratch {
    /// Each header as `Name: value` (`http.request_header`, `http.response_header`).
    pub req_each: Vec<Vec<u8>>,
    pub resp_each: Vec<Vec<u8>>,
    pub req_header: Vec<u8>,
    pub resp_header: Vec<u8>,
    pub req_names: Vec<u8>,
    pub resp_names: Vec<u8>,
    pub req_start: Vec<u8>,
    pub resp_start: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Expecting a chunk-size line.
    Size,
    /// Inside chunk data, bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// Inside trailers after the last chunk.
    Trailer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    None,
    Length(u64),
    Chunked(ChunkState),
    UntilClose,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Headers,
    Body(Body),
    /// The response side saw something that is not HTTP: ignore the rest.
    Dead,
}

/// Parser state of one direction.
#[derive(Debug, Clone)]
struct Side {
    buf: Vec<u8>,
    phase: Phase,
    /// Index into `txs` of the transaction this side is working on.
    tx: Option<u64>,
    /// Raw (de-chunked) body of the current message.
    raw_body: Vec<u8>,
    body_truncated: bool,
    /// Body bytes seen (kept or not), and the digests of a truncated body.
    body_total: u64,
    hasher: Option<Box<FileHasher>>,
    encodings: Vec<Vec<u8>>,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            buf: Vec::new(),
            phase: Phase::Headers,
            tx: None,
            raw_body: Vec::new(),
            body_truncated: false,
            body_total: 0,
            hasher: None,
            encodings: Vec::new(),
        }
    }
}

/// An update of a transaction that detection should look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxUpdate {
    pub tx_id: u64,
    pub direction: Direction,
}

/// HTTP state of one flow.
#[derive(Debug, Clone, Default)]
pub struct HttpState {
    cfg: HttpConfigHolder,
    req: Side,
    resp: Side,
    txs: VecDeque<HttpTx>,
    next_tx: u64,
    /// Set when the parser met data it could not make sense of.
    pub errors: u64,
    /// Responses started so far.
    resp_seen: u64,
    /// The server side is closing: no more data will come.
    closing: bool,
    /// A `101 Switching Protocols` response ended HTTP on this connection.
    switched: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct HttpConfigHolder(Option<HttpConfig>);

impl HttpConfigHolder {
    fn get(&self) -> HttpConfig {
        self.0.unwrap_or_default()
    }
}

const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"SUBSCRIBE",
    b"NOTIFY",
    b"M-SEARCH",
    b"CHECKOUT",
    b"MERGE",
];

/// Whether the data looks like the start of an HTTP request (`Some(false)`: surely not,
/// `None`: too short to tell).
pub fn probe_request(data: &[u8]) -> Option<bool> {
    let d = trim_leading_ws(data);
    for m in METHODS {
        if d.len() > m.len() {
            if d[..m.len()].eq_ignore_ascii_case(m) && matches!(d[m.len()], b' ' | b'\t') {
                return Some(true);
            }
        } else if m.starts_with(&d.to_ascii_uppercase()) {
            return None;
        }
    }
    Some(false)
}

/// Whether the data looks like the start of an HTTP response.
pub fn probe_response(data: &[u8]) -> Option<bool> {
    let d = trim_leading_ws(data);
    if d.len() < 5 {
        return if b"HTTP/".starts_with(&d.to_ascii_uppercase()) {
            None
        } else {
            Some(false)
        };
    }
    Some(d[..5].eq_ignore_ascii_case(b"HTTP/"))
}

fn trim_leading_ws(d: &[u8]) -> &[u8] {
    let i = d
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(d.len());
    &d[i..]
}

fn trim(d: &[u8]) -> &[u8] {
    let s = d
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c))
        .unwrap_or(d.len());
    let e = d
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c))
        .map_or(s, |i| i + 1);
    &d[s..e.max(s)]
}

/// Splits a header block into lines, the way lenient servers and libhtp do: a line ends
/// at LF (CRs before it dropped) or at a bare CR followed by something else. The block
/// ends at an empty line, or at a line of one space or tab ended by a bare LF. Returns
/// the lines (first line included) and the bytes consumed, or `None` when the block is
/// not complete yet.
fn scan_header_block(buf: &[u8]) -> Option<(Vec<&[u8]>, usize)> {
    let mut lines = Vec::new();
    let mut i = 0;
    let mut start = 0;
    while i < buf.len() {
        match buf[i] {
            b'\n' => {
                let mut end = i;
                while end > start && buf[end - 1] == b'\r' {
                    end -= 1;
                }
                let line = &buf[start..end];
                let bare_lf = end == i;
                i += 1;
                start = i;
                let ws_term = bare_lf
                    && line.len() == 1
                    && matches!(line[0], b' ' | b'\t')
                    && !lines.is_empty()
                    && buf.get(i) != Some(&b'\n');
                if (line.is_empty() && !lines.is_empty()) || ws_term {
                    return Some((lines, i));
                }
                if line.is_empty() && lines.is_empty() {
                    continue;
                }
                lines.push(line);
            }
            b'\r' => {
                let mut j = i;
                while j < buf.len() && buf[j] == b'\r' {
                    j += 1;
                }
                if j == buf.len() {
                    return None;
                }
                if buf[j] == b'\n' {
                    i = j;
                    continue;
                }
                // A bare CR ends the line (but an empty one does not end the block).
                let line = &buf[start..i];
                i = j;
                start = i;
                if !line.is_empty() {
                    lines.push(line);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether a folded (indented) line is really a header of its own (`Name: value`).
fn looks_like_header(l: &[u8]) -> bool {
    let t = trim(l);
    match t.iter().position(|&c| c == b':') {
        Some(0) | None => false,
        Some(i) => t[..i]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')),
    }
}

/// Parses header lines (after the first line), folding continuation lines.
/// How many header lines have this name (before repeated headers are combined).
fn header_count(lines: &[&[u8]], name: &[u8]) -> usize {
    lines
        .iter()
        .filter(|l| {
            l.iter()
                .position(|&c| c == b':')
                .is_some_and(|i| trim(&l[..i]).eq_ignore_ascii_case(name))
        })
        .count()
}

fn parse_headers(lines: &[&[u8]]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut joined: Vec<Vec<u8>> = Vec::new();
    for l in lines {
        if l.is_empty() {
            continue;
        }
        if matches!(l[0], b' ' | b'\t')
            && !looks_like_header(l)
            && let Some(last) = joined.last_mut()
        {
            last.push(b' ');
            last.extend_from_slice(trim(l));
            continue;
        }
        joined.push(l.to_vec());
    }
    let mut out = Vec::new();
    for l in joined {
        match l.iter().position(|&c| c == b':') {
            Some(i) => {
                let name = trim(&l[..i]).to_vec();
                let value = trim(&l[i + 1..]).to_vec();
                if let Some((_, v)) = out
                    .iter_mut()
                    .find(|(n, _): &&mut (Vec<u8>, Vec<u8>)| n.eq_ignore_ascii_case(&name))
                {
                    // Repeated headers are combined, as libhtp does.
                    v.extend_from_slice(b", ");
                    v.extend_from_slice(&value);
                } else {
                    out.push((name, value));
                }
            }
            None => {
                // A line without a colon: kept as a name-less header so that it is
                // still visible to http.header.
                out.push((Vec::new(), trim(&l).to_vec()));
            }
        }
    }
    out
}

/// Parses a Content-Length value leniently: the first run of digits.
fn parse_content_length(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    let start = v.iter().position(|c| c.is_ascii_digit())?;
    if v[..start].iter().any(|c| !matches!(c, b' ' | b'\t' | b'+')) {
        return None;
    }
    let mut n: u64 = 0;
    let mut end = start;
    for &c in &v[start..] {
        if !c.is_ascii_digit() {
            break;
        }
        n = n.checked_mul(10)?.checked_add((c - b'0') as u64)?;
        end += 1;
    }
    // "34 68" (two values) is invalid: the length is then unknown.
    if v[end..].iter().any(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(n)
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && i + 2 < s.len()
            && let (Some(a), Some(b)) = (hex(s[i + 1]), hex(s[i + 2]))
        {
            out.push(a << 4 | b);
            i += 3;
            continue;
        }
        if s[i] == b'%' && i + 5 < s.len() && (s[i + 1] == b'u' || s[i + 1] == b'U') {
            let ds: Option<Vec<u8>> = s[i + 2..i + 6].iter().map(|&c| hex(c)).collect();
            if let Some(ds) = ds {
                // %uXXXX: keep the low byte, as libhtp's default "best fit" does for ASCII.
                let v = (ds[2] as u16) << 4 | ds[3] as u16;
                if ds[0] == 0 && ds[1] == 0 {
                    out.push(v as u8);
                } else {
                    out.push(b'?');
                }
                i += 6;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Removes `.` and `..` segments (RFC 3986 5.2.4).
fn remove_dot_segments(path: &[u8]) -> Vec<u8> {
    let mut segs: Vec<&[u8]> = Vec::new();
    let absolute = path.first() == Some(&b'/');
    let parts: Vec<&[u8]> = path.split(|&c| c == b'/').collect();
    let n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        if i == 0 && absolute {
            continue;
        }
        match *p {
            b"." => {
                if i == n - 1 {
                    segs.push(b"");
                }
            }
            b".." => {
                segs.pop();
                if i == n - 1 {
                    segs.push(b"");
                }
            }
            _ => segs.push(p),
        }
    }
    let mut out = Vec::new();
    if absolute {
        out.push(b'/');
    }
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(s);
    }
    out
}

/// Suricata's normalised `http.uri`: the path and query of the request target
/// (scheme and authority of an absolute URI dropped), percent-decoded, `\` taken as
/// `/`, dot segments removed.
pub fn normalize_uri(raw: &[u8]) -> Vec<u8> {
    let mut u = raw;
    let lower = raw.to_ascii_lowercase();
    if lower.starts_with(b"http://") || lower.starts_with(b"https://") {
        let after = &raw[if lower.starts_with(b"http://") { 7 } else { 8 }..];
        u = match after.iter().position(|&c| c == b'/' || c == b'?') {
            Some(i) => &after[i..],
            None => b"/",
        };
    }
    let (path, query) = match u.iter().position(|&c| c == b'?') {
        Some(i) => (&u[..i], Some(&u[i + 1..])),
        None => (u, None),
    };
    let mut p = percent_decode(path);
    for c in p.iter_mut() {
        if *c == b'\\' {
            *c = b'/';
        }
    }
    let mut out = if p.first() == Some(&b'/') {
        remove_dot_segments(&p)
    } else {
        p
    };
    if let Some(q) = query {
        out.push(b'?');
        out.extend_from_slice(&percent_decode(q));
    }
    out
}

impl HttpState {
    pub fn new(cfg: HttpConfig) -> HttpState {
        HttpState {
            cfg: HttpConfigHolder(Some(cfg)),
            ..HttpState::default()
        }
    }

    /// After `101 Switching Protocols`: the bytes each side (to server, to client)
    /// sent after the switch, for the next protocol's parser; `None` before it.
    pub fn take_switched(&mut self) -> Option<[Vec<u8>; 2]> {
        self.switched.then(|| {
            [
                std::mem::take(&mut self.req.buf),
                std::mem::take(&mut self.resp.buf),
            ]
        })
    }

    /// The parser's settings.
    pub fn cfg(&self) -> HttpConfig {
        self.cfg.get()
    }

    /// Forgets transactions whose request and response are both complete (call after
    /// they were inspected), except the ones a side is still working on.
    pub fn forget_finished(&mut self) {
        let (rq, rs) = (self.req.tx, self.resp.tx);
        self.txs.retain(|t| {
            !(t.request_complete && t.response_complete) || Some(t.id) == rq || Some(t.id) == rs
        });
    }

    /// The transaction with this id, if still kept.
    pub fn tx(&self, id: u64) -> Option<&HttpTx> {
        self.txs.iter().find(|t| t.id == id)
    }

    fn tx_mut(&mut self, id: u64) -> Option<&mut HttpTx> {
        self.txs.iter_mut().find(|t| t.id == id)
    }

    fn new_tx(&mut self) -> u64 {
        let id = self.next_tx;
        self.next_tx += 1;
        self.txs.push_back(HttpTx {
            id,
            ..HttpTx::default()
        });
        let max = self.cfg.get().max_txs.max(1);
        while self.txs.len() > max {
            self.txs.pop_front();
        }
        id
    }

    /// Feeds stream data of one direction; appends the transaction updates to inspect.
    pub fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<TxUpdate>) {
        let cfg = self.cfg.get();
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        if side.phase == Phase::Dead {
            return;
        }
        side.buf.extend_from_slice(data);
        let mut guard = 0;
        loop {
            guard += 1;
            if guard > 10_000 {
                break;
            }
            let progressed = match dir {
                Direction::ToServer => self.step_request(&cfg, out),
                Direction::ToClient => self.step_response(&cfg, out),
            };
            if !progressed {
                break;
            }
        }
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        if matches!(side.phase, Phase::Headers) && side.buf.len() > cfg.max_header_bytes {
            self.errors += 1;
            side.buf.clear();
        }
    }

    /// End of the stream in one direction: completes a body that runs until close.
    pub fn close(&mut self, dir: Direction, out: &mut Vec<TxUpdate>) {
        let cfg = self.cfg.get();
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        if side.phase == Phase::Headers && dir == Direction::ToClient && !side.buf.is_empty() {
            // The response never completed its header block: a status line gets its
            // block ended; anything else is an HTTP/0.9 body.
            self.closing = true;
            if probe_response(&self.resp.buf) == Some(true) {
                self.resp.buf.extend_from_slice(b"\r\n\r\n");
            }
            let mut guard = 0;
            while guard < 10_000 && self.step_response(&cfg, out) {
                guard += 1;
            }
        }
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        if let Phase::Body(_) = side.phase {
            let rest = std::mem::take(&mut side.buf);
            if matches!(side.phase, Phase::Body(Body::UntilClose)) {
                push_body(side, &cfg, &rest);
            }
            self.finish_body(&cfg, dir, out);
        }
    }

    fn step_request(&mut self, cfg: &HttpConfig, out: &mut Vec<TxUpdate>) -> bool {
        match self.req.phase.clone() {
            Phase::Dead => false,
            Phase::Headers => {
                // Skip blank lines between requests.
                let skip = self
                    .req
                    .buf
                    .iter()
                    .position(|c| !matches!(c, b'\r' | b'\n'))
                    .unwrap_or(self.req.buf.len());
                self.req.buf.drain(..skip);
                if self.req.buf.is_empty() {
                    return false;
                }
                // HTTP/0.9: a request line without protocol, no headers.
                let Some(nl) = self.req.buf.iter().position(|&c| c == b'\n') else {
                    return false;
                };
                let first = self.req.buf[..nl]
                    .strip_suffix(b"\r")
                    .unwrap_or(&self.req.buf[..nl])
                    .to_vec();
                let (method, uri, proto) = split_request_line(&first);
                // Without a protocol the request is HTTP/0.9, unless header lines follow
                // it (as libhtp decides): then it is a request missing its protocol.
                let next = &self.req.buf[nl + 1..];
                let headers_follow = !next.is_empty() && !matches!(next[0], b'\r' | b'\n');
                let simple = proto.is_empty() && !headers_follow;
                let (lines, consumed): (Vec<Vec<u8>>, usize) = if simple {
                    (vec![first.clone()], nl + 1)
                } else {
                    match scan_header_block(&self.req.buf) {
                        Some((l, c)) => (l.into_iter().map(|x| x.to_vec()).collect(), c),
                        None => return false,
                    }
                };
                let block: Vec<u8> = self.req.buf[..consumed].to_vec();
                self.req.buf.drain(..consumed);
                let line_refs: Vec<&[u8]> = lines.iter().map(|l| l.as_slice()).collect();
                let headers = parse_headers(line_refs.get(1..).unwrap_or(&[]));
                let id = self.new_tx();
                let raw_hdr_start = (nl + 1).min(block.len());
                let tx = self.tx_mut(id).expect("just created");
                tx.method = method.to_vec();
                tx.uri_raw = uri.to_vec();
                tx.uri_norm = normalize_uri(uri);
                tx.protocol = proto.to_vec();
                tx.request_line = first.clone();
                tx.request_headers_raw = block[raw_hdr_start..].to_vec();
                tx.request_headers = headers;
                if proto.is_empty() && !simple {
                    tx.events.push("http.request_line_missing_protocol");
                }
                if header_count(line_refs.get(1..).unwrap_or(&[]), b"content-length") > 1 {
                    tx.events
                        .push("http.duplicate_content_length_field_in_request");
                }
                let te = tx
                    .request_header("transfer-encoding")
                    .map(|v| contains_ci(v, b"chunked"))
                    .unwrap_or(false);
                let cl = tx
                    .request_header("content-length")
                    .and_then(parse_content_length);
                let enc = encodings(&tx.request_headers);
                let body = if te {
                    Body::Chunked(ChunkState::Size)
                } else if let Some(n) = cl.filter(|&n| n > 0) {
                    Body::Length(n)
                } else {
                    Body::None
                };
                self.req.tx = Some(id);
                self.req.encodings = enc;
                self.req.raw_body.clear();
                self.req.body_truncated = false;
                self.req.body_total = 0;
                self.req.hasher = None;
                out.push(TxUpdate {
                    tx_id: id,
                    direction: Direction::ToServer,
                });
                if body == Body::None {
                    if let Some(tx) = self.tx_mut(id) {
                        tx.request_complete = true;
                    }
                } else {
                    self.req.phase = Phase::Body(body);
                }
                true
            }
            Phase::Body(b) => self.step_body(cfg, Direction::ToServer, b, out),
        }
    }

    fn step_response(&mut self, cfg: &HttpConfig, out: &mut Vec<TxUpdate>) -> bool {
        match self.resp.phase.clone() {
            Phase::Dead => false,
            Phase::Headers => {
                let skip = self
                    .resp
                    .buf
                    .iter()
                    .position(|c| !matches!(c, b'\r' | b'\n' | b' ' | b'\t' | 0))
                    .unwrap_or(self.resp.buf.len());
                self.resp.buf.drain(..skip);
                if self.resp.buf.is_empty() {
                    return false;
                }
                // Junk lines before the status line (the first response of a
                // connection only) are skipped when a status line follows closely.
                if self.resp_seen == 0 && probe_response(&self.resp.buf) == Some(false) {
                    let window = &self.resp.buf[..self.resp.buf.len().min(1024)];
                    if let Some(p) = window
                        .windows(6)
                        .position(|w| w[0] == b'\n' && w[1..].eq_ignore_ascii_case(b"HTTP/"))
                    {
                        self.resp.buf.drain(..p + 1);
                    } else if !self.closing
                        && !window.contains(&b'\n')
                        && self.resp.buf.len() < 1024
                    {
                        return false;
                    }
                }
                self.resp_seen += 1;
                match probe_response(&self.resp.buf) {
                    None if !self.closing => return false,
                    None => {
                        let id = self.pending_response_tx();
                        if let Some(tx) = self.tx_mut(id) {
                            tx.response_seen = true;
                        }
                        self.resp.tx = Some(id);
                        self.resp.phase = Phase::Body(Body::UntilClose);
                        return true;
                    }
                    Some(false) => {
                        // Not a status line: HTTP/0.9-style body until close, for the
                        // pending request.
                        let id = self.pending_response_tx();
                        if let Some(tx) = self.tx_mut(id) {
                            tx.response_seen = true;
                        }
                        self.resp.tx = Some(id);
                        self.resp.encodings.clear();
                        self.resp.raw_body.clear();
                        self.resp.body_truncated = false;
                        self.resp.body_total = 0;
                        self.resp.hasher = None;
                        self.resp.phase = Phase::Body(Body::UntilClose);
                        return true;
                    }
                    Some(true) => {}
                }
                let Some((lines, consumed)) = scan_header_block(&self.resp.buf) else {
                    return false;
                };
                let lines: Vec<Vec<u8>> = lines.into_iter().map(|x| x.to_vec()).collect();
                let block: Vec<u8> = self.resp.buf[..consumed].to_vec();
                self.resp.buf.drain(..consumed);
                let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_slice()).collect();
                let first = lines.first().copied().unwrap_or(b"");
                let (proto, code, msg) = split_status_line(first);
                let headers = parse_headers(lines.get(1..).unwrap_or(&[]));
                let id = self.pending_response_tx();
                let nl = block
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(block.len(), |i| i + 1);
                let head_req = self
                    .tx(id)
                    .map(|t| t.method.eq_ignore_ascii_case(b"HEAD"))
                    .unwrap_or(false);
                let tx = self.tx_mut(id).expect("exists");
                tx.response_seen = true;
                tx.response_protocol = proto.to_vec();
                tx.status = code.to_vec();
                tx.status_msg = msg.to_vec();
                tx.response_line = first.to_vec();
                tx.response_headers_raw = block[nl.min(block.len())..].to_vec();
                tx.response_headers = headers;
                if header_count(lines.get(1..).unwrap_or(&[]), b"content-length") > 1 {
                    tx.events
                        .push("http.duplicate_content_length_field_in_response");
                }
                let status: u32 = std::str::from_utf8(code)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let te = tx
                    .response_header("transfer-encoding")
                    .map(|v| contains_ci(v, b"chunked"))
                    .unwrap_or(false);
                let cl = tx
                    .response_header("content-length")
                    .and_then(parse_content_length);
                let enc = encodings(&tx.response_headers);
                let body =
                    if head_req || (100..200).contains(&status) || status == 204 || status == 304 {
                        Body::None
                    } else if te {
                        Body::Chunked(ChunkState::Size)
                    } else if let Some(n) = cl {
                        if n == 0 { Body::None } else { Body::Length(n) }
                    } else {
                        Body::UntilClose
                    };
                self.resp.tx = Some(id);
                self.resp.encodings = enc;
                self.resp.raw_body.clear();
                self.resp.body_truncated = false;
                self.resp.body_total = 0;
                self.resp.hasher = None;
                out.push(TxUpdate {
                    tx_id: id,
                    direction: Direction::ToClient,
                });
                if status == 101 {
                    // Switching protocols: what follows on both sides is not HTTP.
                    if let Some(tx) = self.tx_mut(id) {
                        tx.response_complete = true;
                    }
                    self.resp.phase = Phase::Dead;
                    self.req.phase = Phase::Dead;
                    self.switched = true;
                    return true;
                }
                if (100..200).contains(&status) {
                    // Interim response: the real one follows for the same request.
                    if let Some(tx) = self.tx_mut(id) {
                        tx.response_seen = false;
                    }
                    return true;
                }
                if body == Body::None {
                    if let Some(tx) = self.tx_mut(id) {
                        tx.response_complete = true;
                    }
                } else {
                    self.resp.phase = Phase::Body(body);
                }
                true
            }
            Phase::Body(b) => self.step_body(cfg, Direction::ToClient, b, out),
        }
    }

    /// The oldest transaction without a response, or a new one.
    fn pending_response_tx(&mut self) -> u64 {
        if let Some(t) = self
            .txs
            .iter()
            .find(|t| !t.response_complete && !t.response_seen)
        {
            return t.id;
        }
        self.new_tx()
    }

    fn step_body(
        &mut self,
        cfg: &HttpConfig,
        dir: Direction,
        body: Body,
        out: &mut Vec<TxUpdate>,
    ) -> bool {
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        if side.buf.is_empty() {
            return false;
        }
        match body {
            Body::None => {
                side.phase = Phase::Headers;
                true
            }
            Body::Length(n) => {
                let take = (n as usize).min(side.buf.len());
                let chunk: Vec<u8> = side.buf.drain(..take).collect();
                push_body(side, cfg, &chunk);
                let left = n - take as u64;
                if left == 0 {
                    self.finish_body(cfg, dir, out);
                } else {
                    side.phase = Phase::Body(Body::Length(left));
                }
                true
            }
            Body::UntilClose => {
                let chunk = std::mem::take(&mut side.buf);
                push_body(side, cfg, &chunk);
                false
            }
            Body::Chunked(st) => match st {
                ChunkState::Size => {
                    let first = side
                        .buf
                        .iter()
                        .find(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
                    if first.is_some_and(|c| !c.is_ascii_hexdigit()) {
                        // Not a chunk size: the body is not chunked after all.
                        side.phase = Phase::Body(Body::UntilClose);
                        return true;
                    }
                    let Some(nl) = side.buf.iter().position(|&c| c == b'\n') else {
                        if side.buf.len() > 1024 {
                            // No line end in sight: not chunked after all.
                            side.phase = Phase::Body(Body::UntilClose);
                            return true;
                        }
                        return false;
                    };
                    let line: Vec<u8> = side.buf.drain(..=nl).collect();
                    let l = trim(&line);
                    if l.is_empty() {
                        return true; // stray empty line between chunks
                    }
                    let digits: Vec<u8> = l
                        .iter()
                        .copied()
                        .take_while(|c| c.is_ascii_hexdigit())
                        .collect();
                    if digits.is_empty() || digits.len() > 15 {
                        // Not a chunk size: libhtp gives up on chunking and treats the
                        // rest as the body.
                        let mut rest = line;
                        rest.extend_from_slice(&side.buf);
                        side.buf = rest;
                        side.phase = Phase::Body(Body::UntilClose);
                        return true;
                    }
                    let n = u64::from_str_radix(std::str::from_utf8(&digits).unwrap_or("0"), 16)
                        .unwrap_or(0);
                    side.phase = Phase::Body(Body::Chunked(if n == 0 {
                        ChunkState::Trailer
                    } else {
                        ChunkState::Data(n)
                    }));
                    if n == 0 {
                        // Body done; trailers follow.
                        self.finish_body(cfg, dir, out);
                        let side = match dir {
                            Direction::ToServer => &mut self.req,
                            Direction::ToClient => &mut self.resp,
                        };
                        side.phase = Phase::Body(Body::Chunked(ChunkState::Trailer));
                    }
                    true
                }
                ChunkState::Data(n) => {
                    let take = (n as usize).min(side.buf.len());
                    let chunk: Vec<u8> = side.buf.drain(..take).collect();
                    push_body(side, cfg, &chunk);
                    let left = n - take as u64;
                    side.phase = Phase::Body(Body::Chunked(if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    }));
                    true
                }
                ChunkState::DataEnd => {
                    // Expect CRLF; be lenient about what is there.
                    if side.buf[0] == b'\n' {
                        side.buf.drain(..1);
                    } else if side.buf[0] == b'\r' {
                        if side.buf.len() < 2 {
                            return false;
                        }
                        let n = if side.buf[1] == b'\n' { 2 } else { 1 };
                        side.buf.drain(..n);
                    }
                    side.phase = Phase::Body(Body::Chunked(ChunkState::Size));
                    true
                }
                ChunkState::Trailer => {
                    // Trailer lines until an empty line.
                    let Some(nl) = side.buf.iter().position(|&c| c == b'\n') else {
                        return false;
                    };
                    let line: Vec<u8> = side.buf.drain(..=nl).collect();
                    if trim(&line).is_empty() {
                        side.phase = Phase::Headers;
                    }
                    true
                }
            },
        }
    }

    fn finish_body(&mut self, cfg: &HttpConfig, dir: Direction, out: &mut Vec<TxUpdate>) {
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        side.phase = Phase::Headers;
        let raw = std::mem::take(&mut side.raw_body);
        let encs = std::mem::take(&mut side.encodings);
        let whole = side
            .hasher
            .take()
            .map(|h| Box::new(h.finish(side.body_total)));
        side.body_total = 0;
        let Some(id) = side.tx.take() else {
            return;
        };
        let mut decoded = decode_layers(&raw, &encs, cfg.max_layers, cfg.max_decoded_bytes);
        // Damaged Transfer-Encoding / Content-Encoding headers (a NUL inside, an odd
        // name) that a client still honours: look at the body itself.
        let (mentions_chunk, mentions_enc) = self.tx(id).map_or((false, false), |t| {
            let h = match dir {
                Direction::ToServer => &t.request_headers,
                Direction::ToClient => &t.response_headers,
            };
            let clean = |b: &[u8]| -> Vec<u8> {
                b.iter()
                    .filter(|&&c| c != 0)
                    .map(|c| c.to_ascii_lowercase())
                    .collect()
            };
            let mut chunk = false;
            let mut enc = false;
            for (n, v) in h {
                let (n, v) = (clean(n), clean(v));
                chunk |= contains_ci(&n, b"transfer") || contains_ci(&v, b"chunk");
                enc |= contains_ci(&n, b"encoding") && !contains_ci(&n, b"transfer");
            }
            (chunk, enc)
        });
        if mentions_chunk && let Some(d) = strict_dechunk(&decoded) {
            decoded = d;
        }
        if mentions_enc
            && encs.iter().all(|e| {
                !matches!(
                    e.as_slice(),
                    b"gzip" | b"x-gzip" | b"deflate" | b"x-deflate"
                )
            })
            && let Some(d) = sniff(&decoded, cfg.max_decoded_bytes)
        {
            decoded = d;
        }
        if let Some(tx) = self.tx_mut(id) {
            match dir {
                Direction::ToServer => {
                    tx.request_body = decoded;
                    tx.request_complete = true;
                    tx.whole_file[0] = whole;
                }
                Direction::ToClient => {
                    tx.response_body = decoded;
                    tx.response_complete = true;
                    tx.whole_file[1] = whole;
                }
            }
            out.push(TxUpdate {
                tx_id: id,
                direction: dir,
            });
        }
    }
}

/// De-chunks a body that is exactly a valid chunked encoding (ending with the last
/// chunk); `None` for anything else.
fn strict_dechunk(b: &[u8]) -> Option<Vec<u8>> {
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        let nl = i + b.get(i..)?.iter().position(|&c| c == b'\n')?;
        let line = trim(&b[i..nl]);
        let digits = line.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if digits == 0 || digits > 8 || !(digits == line.len() || line[digits] == b';') {
            return None;
        }
        let n = usize::from_str_radix(std::str::from_utf8(&line[..digits]).ok()?, 16).ok()?;
        i = nl + 1;
        if n == 0 {
            return (!out.is_empty()).then_some(out);
        }
        out.extend_from_slice(b.get(i..i + n)?);
        i += n;
        if b.get(i) == Some(&b'\r') {
            i += 1;
        }
        if b.get(i) != Some(&b'\n') {
            return None;
        }
        i += 1;
    }
}

fn push_body(side: &mut Side, cfg: &HttpConfig, chunk: &[u8]) {
    let room = cfg.max_body_bytes.saturating_sub(side.raw_body.len());
    side.body_total += chunk.len() as u64;
    if chunk.len() > room {
        if cfg.hash_files && !side.body_truncated {
            let mut h = Box::<FileHasher>::default();
            h.update(&side.raw_body);
            side.hasher = Some(h);
        }
        side.body_truncated = true;
    }
    if let Some(h) = &mut side.hasher {
        h.update(chunk);
    }
    side.raw_body
        .extend_from_slice(&chunk[..chunk.len().min(room)]);
}

/// Content encodings in the order they were applied.
fn encodings(h: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (n, v) in h {
        if n.eq_ignore_ascii_case(b"content-encoding") {
            for e in v.split(|&c| c == b',' || c == b' ' || c == b'\t') {
                let e = trim(e);
                if !e.is_empty() {
                    out.push(e.to_ascii_lowercase());
                }
            }
        }
    }
    out
}

fn split_request_line(line: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let line = trim(line);
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t');
    let m_end = line.iter().position(is_ws).unwrap_or(line.len());
    let method = &line[..m_end];
    let rest = trim(&line[m_end..]);
    // The protocol is the last word when it starts with HTTP/; the URI is what lies
    // between (it may contain spaces).
    if let Some(p) = rest.iter().rposition(is_ws) {
        let last = &rest[p + 1..];
        if last.len() >= 5 && last[..5].eq_ignore_ascii_case(b"HTTP/") {
            return (method, trim(&rest[..p]), last);
        }
    }
    if rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b"HTTP/") && !rest.contains(&b' ') {
        return (method, b"", rest);
    }
    (method, rest, b"")
}

fn split_status_line(line: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let line = trim(line);
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t');
    let p_end = line.iter().position(is_ws).unwrap_or(line.len());
    let proto = &line[..p_end];
    let rest = trim(&line[p_end..]);
    let c_end = rest.iter().position(is_ws).unwrap_or(rest.len());
    (proto, &rest[..c_end], trim(&rest[c_end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(req: &[&[u8]], resp: &[&[u8]]) -> (HttpState, Vec<TxUpdate>) {
        let mut s = HttpState::default();
        let mut out = Vec::new();
        for r in req {
            s.feed(Direction::ToServer, r, &mut out);
        }
        for r in resp {
            s.feed(Direction::ToClient, r, &mut out);
        }
        s.close(Direction::ToClient, &mut out);
        (s, out)
    }

    #[test]
    fn pipelined_requests_and_chunked_response() {
        let (s, out) = run(
            &[b"GET /a%41/../b?x=%41 HTTP/1.1\r\nHost: Ex.COM:80\r\n\r\nGET /c HT", b"TP/1.1\r\n\r\n"],
            &[
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n",
                b"HTTP/1.1 404 NF\r\nContent-Length: 2\r\n\r\nzz",
            ],
        );
        let t0 = s.tx(0).unwrap();
        assert_eq!(t0.uri_norm, b"/b?x=A");
        assert_eq!(t0.host_norm().unwrap(), b"ex.com");
        assert_eq!(t0.response_body, b"abcde");
        let t1 = s.tx(1).unwrap();
        assert_eq!(t1.uri_raw, b"/c");
        assert_eq!(t1.status, b"404");
        assert_eq!(t1.response_body, b"zz");
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn folded_header_and_until_close_body() {
        let (s, _) = run(
            &[b"GET / HTTP/1.1\r\n\r\n"],
            &[b"HTTP/1.1 200 OK\nTransfer-Encoding\r\n :\r\n chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"],
        );
        assert_eq!(s.tx(0).unwrap().response_body, b"abcd");
        let (s, _) = run(
            &[b"GET / HTTP/1.0\r\n\r\n"],
            &[b"HTTP/1.0 200 OK\r\n\r\nhello ", b"world"],
        );
        assert_eq!(s.tx(0).unwrap().response_body, b"hello world");
    }

    #[test]
    fn uri_with_spaces() {
        let (s, _) = run(&[b"GET /a b HTTP/1.1\r\n\r\n"], &[]);
        assert_eq!(s.tx(0).unwrap().uri_raw, b"/a b");
    }
}
