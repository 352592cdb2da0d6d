//! Application layers: protocol detection by content (ports only break ties), and the
//! parsers (HTTP/1.x, DNS, TLS) fed with reassembled stream data or UDP payloads. Each
//! parser reports transaction updates, which the engine turns into detection inputs
//! with the transaction's buffers.

pub mod dcerpc;
pub mod decompress;
pub mod dhcp;
pub mod dns;
pub mod files;
pub mod frames;
pub mod ftp;
pub mod http;
pub mod ikev2;
pub mod keywords;
pub mod krb5;
pub mod ntp;
pub mod quic;
pub mod rfb;
pub mod sip;
pub mod smb;
pub mod smtp;
pub mod ssh;
pub mod tls;
pub mod websocket;

use serde_json::{Value, json};

use crate::detect::{AppProto, BufferKind, Direction};
use keywords::AppBuf;

/// An application-layer transaction that changed and should be inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppUpdate {
    pub tx_id: u64,
    pub direction: Direction,
}

/// The shape of an application-layer parser (sans-IO): stream bytes and their
/// direction in, transaction updates out; the buffers of a transaction (named in the
/// keyword registry, [`keywords`]) and its EVE metadata on request. State is bounded
/// per flow.
pub trait TxParser {
    /// New in-order stream data of one direction.
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>);
    /// The buffers of an updated transaction, for detection.
    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>);
    /// EVE metadata of a transaction: (`"ssh"`, {...}).
    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)>;
}

/// Parser state of a flow.
#[derive(Debug, Clone, Default)]
pub enum Parser {
    #[default]
    None,
    Http(Box<http::HttpState>),
    Dns(Box<dns::DnsState>),
    Tls(Box<tls::TlsState>),
    Smtp(Box<smtp::SmtpState>),
    Ssh(Box<ssh::SshState>),
    Sip(Box<sip::SipState>),
    Krb5(Box<krb5::Krb5State>),
    Smb(Box<smb::SmbState>),
    Dcerpc(Box<dcerpc::DcerpcState>),
    Ftp(Box<ftp::FtpState>),
    FtpData(Box<ftp::FtpDataState>),
    Ntp(Box<ntp::NtpState>),
    Dhcp(Box<dhcp::DhcpState>),
    Quic(Box<quic::QuicState>),
    Ikev2(Box<ikev2::Ikev2State>),
    Rfb(Box<rfb::RfbState>),
    WebSocket(Box<websocket::WebSocketState>),
}

impl Parser {
    /// The parsers of the [`TxParser`] shape.
    fn tx_parser(&self) -> Option<&dyn TxParser> {
        Some(match self {
            Parser::Ssh(p) => p.as_ref(),
            Parser::Sip(p) => p.as_ref(),
            Parser::Krb5(p) => p.as_ref(),
            Parser::Smb(p) => p.as_ref(),
            Parser::Dcerpc(p) => p.as_ref(),
            Parser::Ftp(p) => p.as_ref(),
            Parser::FtpData(p) => p.as_ref(),
            Parser::Ntp(p) => p.as_ref(),
            Parser::Dhcp(p) => p.as_ref(),
            Parser::Quic(p) => p.as_ref(),
            Parser::Ikev2(p) => p.as_ref(),
            Parser::Rfb(p) => p.as_ref(),
            Parser::WebSocket(p) => p.as_ref(),
            _ => return None,
        })
    }

    fn tx_parser_mut(&mut self) -> Option<&mut dyn TxParser> {
        Some(match self {
            Parser::Ssh(p) => p.as_mut(),
            Parser::Sip(p) => p.as_mut(),
            Parser::Krb5(p) => p.as_mut(),
            Parser::Smb(p) => p.as_mut(),
            Parser::Dcerpc(p) => p.as_mut(),
            Parser::Ftp(p) => p.as_mut(),
            Parser::FtpData(p) => p.as_mut(),
            Parser::Ntp(p) => p.as_mut(),
            Parser::Dhcp(p) => p.as_mut(),
            Parser::Quic(p) => p.as_mut(),
            Parser::Ikev2(p) => p.as_mut(),
            Parser::Rfb(p) => p.as_mut(),
            Parser::WebSocket(p) => p.as_mut(),
            _ => return None,
        })
    }
}

/// Suricata inspects a transaction once per direction: a rule whose buffers exist in
/// both directions can alert on the request and again on the response. Parsers whose
/// transactions are inspected that way (SMB, DCERPC) report the response side's
/// updates with this bit set in the transaction id; it is not part of the id.
pub const TO_CLIENT_SIDE: u64 = 1 << 62;

/// The transaction id to report an update of `id` in `dir` with (see
/// [`TO_CLIENT_SIDE`]).
pub fn sided(id: u64, dir: Direction) -> u64 {
    match dir {
        Direction::ToServer => id,
        Direction::ToClient => id | TO_CLIENT_SIDE,
    }
}

/// Lower-case hex MD5 (JA3, HASSH, file hashes).
pub(crate) fn md5_hex(d: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(d)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Bytes looked at before protocol detection gives up on a direction.
const PROBE_LIMIT: usize = 2048;

/// The application layer of one flow.
#[derive(Debug, Clone, Default)]
pub struct AppLayer {
    pub proto: AppProto,
    pub parser: Parser,
    /// Data seen before the protocol was known, per direction.
    probe: [Vec<u8>; 2],
    http_cfg: Option<http::HttpConfig>,
    /// Per direction: its first data after detection was looked at.
    dir_seen: [bool; 2],
    /// Events of the protocol detection itself (`applayer_*`), offered with
    /// [`FLOW_EVENTS`] updates.
    flow_events: Vec<&'static str>,
    /// HTTP accepted an upgrade to WebSocket: the parser changes before the next
    /// data (after the updates of the data that completed the upgrade are inspected).
    upgrade: bool,
}

/// The update id of the flow's protocol-detection events (never a transaction's).
pub const FLOW_EVENTS: u64 = 1 << 60;

/// The protocol a direction's first data looks like, when a probe is sure.
fn probe_dir(dir: Direction, d: &[u8]) -> Option<AppProto> {
    let yes = |r: Option<bool>| r == Some(true);
    Some(match dir {
        Direction::ToServer if yes(http::probe_request(d)) => AppProto::Http,
        Direction::ToClient if yes(http::probe_response(d)) => AppProto::Http,
        _ if yes(tls::probe(d)) => AppProto::Tls,
        _ if yes(ssh::probe(d)) => AppProto::Ssh,
        _ if yes(smb::probe(d)) => AppProto::Smb,
        Direction::ToServer if yes(smtp::probe_client(d)) => AppProto::Smtp,
        Direction::ToServer if yes(ftp::probe_client(d)) => AppProto::Ftp,
        Direction::ToServer if yes(sip::probe(d)) => AppProto::Sip,
        Direction::ToClient if yes(rfb::probe(d)) => AppProto::Rfb,
        _ => return None,
    })
}

fn idx(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Derived buffers prepared for one inspection.
#[derive(Debug, Clone, Default)]
pub struct AppScratch {
    http: Option<(http::HttpScratch, Option<Vec<u8>>)>,
    file: Option<files::FileInfo>,
    /// Files of a multipart request body, each with its data.
    parts: Vec<(files::FileInfo, Vec<u8>)>,
}

impl AppLayer {
    pub fn new(http_cfg: http::HttpConfig) -> AppLayer {
        AppLayer {
            http_cfg: Some(http_cfg),
            ..AppLayer::default()
        }
    }

    /// The flow is an FTP data connection the control channel announced.
    pub fn start_ftp_data(&mut self) {
        self.start(AppProto::FtpData);
    }

    /// FTP control channel: the data connections it announced since the last call.
    pub fn take_ftp_expectations(&mut self) -> Vec<ftp::FtpExpect> {
        match &mut self.parser {
            Parser::Ftp(f) => f.take_expectations(),
            _ => Vec::new(),
        }
    }

    /// FTP data connection without its command yet: sets it.
    pub fn set_ftp_data_command(&mut self, command: &[u8]) {
        if let Parser::FtpData(d) = &mut self.parser
            && d.command.is_none()
        {
            d.command = Some(command.to_vec());
        }
    }

    /// Whether this flow's protocol is known (or known to be unknowable).
    pub fn decided(&self) -> bool {
        self.proto != AppProto::Unknown
    }

    fn start(&mut self, proto: AppProto) {
        self.proto = proto;
        self.parser = match proto {
            AppProto::Http => Parser::Http(Box::new(http::HttpState::new(
                self.http_cfg.unwrap_or_default(),
            ))),
            AppProto::Dns => Parser::Dns(Box::default()),
            AppProto::Tls => Parser::Tls(Box::default()),
            AppProto::Smtp => Parser::Smtp(Box::default()),
            AppProto::Ssh => Parser::Ssh(Box::default()),
            AppProto::Sip => Parser::Sip(Box::default()),
            AppProto::Krb5 => Parser::Krb5(Box::default()),
            AppProto::Smb => Parser::Smb(Box::new(smb::SmbState::new())),
            AppProto::Dcerpc => Parser::Dcerpc(Box::default()),
            AppProto::Ftp => Parser::Ftp(Box::default()),
            AppProto::FtpData => Parser::FtpData(Box::default()),
            AppProto::Ntp => Parser::Ntp(Box::default()),
            AppProto::Dhcp => Parser::Dhcp(Box::default()),
            AppProto::Quic => Parser::Quic(Box::default()),
            AppProto::Ikev2 => Parser::Ikev2(Box::default()),
            AppProto::Rfb => Parser::Rfb(Box::default()),
            AppProto::WebSocket => Parser::WebSocket(Box::default()),
            _ => Parser::None,
        };
    }

    /// TCP: new in-order stream data in one direction.
    pub fn on_stream(
        &mut self,
        dir: Direction,
        data: &[u8],
        server_port: u16,
        out: &mut Vec<AppUpdate>,
    ) {
        if data.is_empty() {
            return;
        }
        if self.proto == AppProto::Unknown {
            let p = &mut self.probe[idx(dir)];
            let room = PROBE_LIMIT.saturating_sub(p.len());
            let buffered_now = data.len().min(room);
            p.extend_from_slice(&data[..buffered_now]);
            let d = &self.probe[idx(dir)];
            let verdict = match dir {
                Direction::ToServer => match (http::probe_request(d), tls::probe(d)) {
                    (Some(true), _) => Some(AppProto::Http),
                    (_, Some(true)) => Some(AppProto::Tls),
                    _ if smtp::probe_client(d) == Some(true) => Some(AppProto::Smtp),
                    _ if ssh::probe(d) == Some(true) => Some(AppProto::Ssh),
                    _ if ftp::probe_client(d) == Some(true) => Some(AppProto::Ftp),
                    _ if sip::probe(d) == Some(true) => Some(AppProto::Sip),
                    _ if smb::probe(d) == Some(true) => Some(AppProto::Smb),
                    _ if dcerpc::probe(d) == Some(true) => Some(AppProto::Dcerpc),
                    _ if server_port == 88 && d.len() > 4 && krb5::probe_start(&d[4..]) => {
                        Some(AppProto::Krb5)
                    }
                    (Some(false), Some(false)) => {
                        if server_port == 53 && d.len() >= 14 && dns::probe(&d[2..]) {
                            Some(AppProto::Dns)
                        } else {
                            None
                        }
                    }
                    _ => None,
                },
                Direction::ToClient => match (http::probe_response(d), tls::probe(d)) {
                    (Some(true), _) => Some(AppProto::Http),
                    (_, Some(true)) => Some(AppProto::Tls),
                    _ if ssh::probe(d) == Some(true) => Some(AppProto::Ssh),
                    _ if smb::probe(d) == Some(true) => Some(AppProto::Smb),
                    _ if rfb::probe(d) == Some(true) => Some(AppProto::Rfb),
                    _ => None,
                },
            };
            match verdict {
                Some(p) => {
                    self.start(p);
                    // Replay what was held back, requests first.
                    let held = std::mem::take(&mut self.probe);
                    let [ts, tc] = held;
                    for (d, h) in [(Direction::ToServer, &ts), (Direction::ToClient, &tc)] {
                        if !h.is_empty() {
                            self.note_direction(d, h, out);
                        }
                    }
                    self.feed(Direction::ToServer, &ts, out);
                    self.feed(Direction::ToClient, &tc, out);
                    // This call's data beyond the probe limit was not held back.
                    self.feed(dir, &data[buffered_now..], out);
                    return;
                }
                None => {
                    let both = !self.probe[0].is_empty() && !self.probe[1].is_empty();
                    let full = self.probe[idx(dir)].len() >= PROBE_LIMIT;
                    let surely_not = match dir {
                        Direction::ToServer => {
                            http::probe_request(&self.probe[0]) == Some(false)
                                && tls::probe(&self.probe[0]) == Some(false)
                                && smtp::probe_client(&self.probe[0]) == Some(false)
                                && ssh::probe(&self.probe[0]) == Some(false)
                                && sip::probe(&self.probe[0]) == Some(false)
                                && ftp::probe_client(&self.probe[0]) == Some(false)
                                && smb::probe(&self.probe[0]) == Some(false)
                                && dcerpc::probe(&self.probe[0]) == Some(false)
                        }
                        Direction::ToClient => {
                            http::probe_response(&self.probe[1]) == Some(false)
                                && tls::probe(&self.probe[1]) == Some(false)
                                && ssh::probe(&self.probe[1]) == Some(false)
                                && smb::probe(&self.probe[1]) == Some(false)
                                && rfb::probe(&self.probe[1]) == Some(false)
                        }
                    };
                    if full || (both && surely_not) {
                        self.proto = AppProto::Failed;
                        self.probe = Default::default();
                    }
                    return;
                }
            }
        }
        if !self.dir_seen[idx(dir)] {
            self.note_direction(dir, data, out);
        }
        self.feed(dir, data, out);
    }

    /// A direction's first data after detection: when it is surely another protocol
    /// than the flow's, Suricata's `applayer_mismatch_protocol_both_directions`.
    fn note_direction(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        self.dir_seen[idx(dir)] = true;
        let e = "applayer_mismatch_protocol_both_directions";
        if let Some(p) = probe_dir(dir, data)
            && p != self.proto
            && self.proto != AppProto::Failed
            && !self.flow_events.contains(&e)
        {
            self.flow_events.push(e);
            out.push(AppUpdate {
                tx_id: FLOW_EVENTS,
                direction: dir,
            });
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        if data.is_empty() {
            return;
        }
        if std::mem::take(&mut self.upgrade) {
            let left = match &mut self.parser {
                Parser::Http(h) => h.take_switched(),
                _ => None,
            };
            self.start(AppProto::WebSocket);
            // What followed the 101 response (in its segments) is WebSocket already.
            if let (Some([ts, tc]), Parser::WebSocket(w)) = (left, &mut self.parser) {
                w.feed(Direction::ToServer, &ts, out);
                w.feed(Direction::ToClient, &tc, out);
            }
        }
        match &mut self.parser {
            Parser::Http(h) => {
                let mut u = Vec::new();
                h.feed(dir, data, &mut u);
                // `101 Switching Protocols` to `Upgrade: websocket`.
                self.upgrade |= u.iter().any(|x| {
                    x.direction == Direction::ToClient
                        && h.tx(x.tx_id).is_some_and(|t| {
                            t.status == b"101"
                                && t.request_header("upgrade")
                                    .is_some_and(|v| v.eq_ignore_ascii_case(b"websocket"))
                        })
                });
                out.extend(u.into_iter().map(|u| AppUpdate {
                    tx_id: u.tx_id,
                    direction: u.direction,
                }));
            }
            Parser::Dns(d) => {
                let mut u = Vec::new();
                d.feed_stream(dir, data, &mut u);
                out.extend(u.into_iter().map(|tx_id| AppUpdate {
                    tx_id,
                    direction: dir,
                }));
            }
            Parser::Tls(t) => {
                if t.feed(dir, data) {
                    out.push(AppUpdate {
                        tx_id: 0,
                        direction: dir,
                    });
                }
            }
            Parser::Smtp(sm) => {
                if dir == Direction::ToServer {
                    let mut u = Vec::new();
                    sm.feed_client(data, &mut u);
                    u.dedup();
                    out.extend(u.into_iter().map(|tx_id| AppUpdate {
                        tx_id,
                        direction: dir,
                    }));
                }
            }
            p => {
                if let Some(t) = p.tx_parser_mut() {
                    t.feed(dir, data, out);
                }
            }
        }
    }

    /// UDP: one datagram.
    pub fn on_datagram(
        &mut self,
        dir: Direction,
        payload: &[u8],
        ports: (u16, u16),
        out: &mut Vec<AppUpdate>,
    ) {
        if self.proto == AppProto::Unknown {
            let port = |p| ports.0 == p || ports.1 == p;
            if port(53) && dns::probe(payload) {
                self.start(AppProto::Dns);
            } else if sip::probe(payload) == Some(true) {
                self.start(AppProto::Sip);
            } else if port(88) && krb5::probe(payload) {
                self.start(AppProto::Krb5);
            } else if port(123) && ntp::probe(payload) {
                self.start(AppProto::Ntp);
            } else if (port(67) || port(68)) && dhcp::probe(payload) {
                self.start(AppProto::Dhcp);
            } else if (port(500) && ikev2::probe(payload))
                || (port(4500) && payload.len() > 4 && ikev2::probe(&payload[4..]))
            {
                self.start(AppProto::Ikev2);
            } else if quic::probe(payload) {
                self.start(AppProto::Quic);
            } else if port(69) && matches!(payload, [0, 1..=2, _, ..]) {
                // TFTP read or write request; its data flows use other ports.
                self.start(AppProto::Tftp);
            } else {
                self.proto = AppProto::Failed;
            }
        }
        match &mut self.parser {
            Parser::Dns(d) => {
                if let Some(tx_id) = d.message(payload) {
                    out.push(AppUpdate {
                        tx_id,
                        direction: dir,
                    });
                }
            }
            Parser::Sip(s) => s.datagram(dir, payload, out),
            Parser::Krb5(k) => k.datagram(dir, payload, out),
            Parser::Ntp(n) => n.datagram(dir, payload, out),
            Parser::Dhcp(d) => d.datagram(dir, payload, out),
            Parser::Quic(q) => q.datagram(dir, payload, out),
            Parser::Ikev2(k) => k.datagram(dir, payload, out),
            _ => {}
        }
    }

    /// End of a TCP direction (FIN, RST or flow end).
    pub fn on_close(&mut self, dir: Direction, out: &mut Vec<AppUpdate>) {
        if let Parser::Http(h) = &mut self.parser {
            let mut u = Vec::new();
            h.close(dir, &mut u);
            out.extend(u.into_iter().map(|u| AppUpdate {
                tx_id: u.tx_id,
                direction: u.direction,
            }));
        }
    }

    /// Drops transactions that are complete in both directions and were inspected.
    pub fn forget_finished(&mut self) {
        if let Parser::Http(h) = &mut self.parser {
            h.forget_finished();
        }
    }

    /// Prepares derived buffers for an update.
    pub fn scratch(&self, u: &AppUpdate) -> AppScratch {
        match &self.parser {
            Parser::Smtp(sm) => AppScratch {
                parts: sm
                    .tx(u.tx_id)
                    .filter(|t| t.complete)
                    .map(|t| {
                        let hashes = self.http_cfg.unwrap_or_default().hash_files;
                        files::mime_files(&t.data, true, hashes)
                    })
                    .unwrap_or_default(),
                ..AppScratch::default()
            },
            Parser::Http(h) => AppScratch {
                http: h.tx(u.tx_id).map(|t| (t.scratch(), t.host_norm())),
                file: h
                    .tx(u.tx_id)
                    .and_then(|t| files::http_file(t, u.direction, h.cfg().hash_files)),
                parts: match (h.tx(u.tx_id), u.direction) {
                    (Some(t), Direction::ToServer) => files::multipart_files(t, h.cfg().hash_files),
                    _ => Vec::new(),
                },
            },
            _ => AppScratch::default(),
        }
    }

    /// The buffers of an updated transaction, for detection.
    pub fn buffers<'a>(
        &'a self,
        u: &AppUpdate,
        scratch: &'a AppScratch,
        out: &mut Vec<(BufferKind, &'a [u8])>,
    ) {
        if u.tx_id == FLOW_EVENTS {
            for e in &self.flow_events {
                out.push((BufferKind::App(AppBuf::Event), e.as_bytes()));
            }
            return;
        }
        match &self.parser {
            Parser::Http(h) => {
                if let (Some(tx), Some((s, host))) = (h.tx(u.tx_id), &scratch.http) {
                    tx.buffers(u.direction, host, s, out);
                }
                if let Some(f) = &scratch.file {
                    f.buffers(out);
                }
                // Each file of a multipart body is a `file.data` and `file.name` of its
                // own; a keyword group matches if it matches one of them (Suricata's
                // multi-buffer), so two groups may match two different files.
                for (f, data) in &scratch.parts {
                    out.push((BufferKind::FileData, data));
                    f.buffers(out);
                }
            }
            Parser::Dns(d) => {
                // Every question of the request (or of the response when the request
                // was not seen): a rule matches if any one matches.
                if let Some(t) = d.tx(u.tx_id)
                    && let Some(m) = t.request.as_ref().or(t.response.as_ref())
                {
                    for (name, _, _) in &m.queries {
                        out.push((BufferKind::DnsQuery, name));
                    }
                }
                // The message of this direction: its query and answer names.
                if let Some(t) = d.tx(u.tx_id) {
                    let msg = match u.direction {
                        Direction::ToServer => t.request.as_ref(),
                        Direction::ToClient => t.response.as_ref(),
                    };
                    if let Some(m) = msg {
                        let k = BufferKind::App;
                        for (name, _, _) in &m.queries {
                            out.push((k(AppBuf::DnsQueriesRrname), name));
                            if m.response {
                                out.push((k(AppBuf::DnsResponseRrname), name));
                            }
                        }
                        for (name, _, _) in &m.answers {
                            out.push((k(AppBuf::DnsAnswersRrname), name));
                            if m.response {
                                out.push((k(AppBuf::DnsResponseRrname), name));
                            }
                        }
                    }
                }
            }
            Parser::Tls(t) => {
                if let Some(s) = &t.info.sni {
                    out.push((BufferKind::TlsSni, s));
                }
                if let Some(s) = &t.info.ja3_hash {
                    out.push((BufferKind::Ja3Hash, s.as_bytes()));
                }
                if let Some(s) = &t.info.ja3_string {
                    out.push((BufferKind::Ja3String, s.as_bytes()));
                }
                if let Some(s) = &t.info.ja4 {
                    out.push((BufferKind::App(AppBuf::Ja4Hash), s.as_bytes()));
                }
                if u.direction == Direction::ToClient {
                    for (kind, v) in [
                        (BufferKind::TlsCertSubject, &t.info.cert_subject),
                        (BufferKind::TlsCertIssuer, &t.info.cert_issuer),
                        (BufferKind::TlsCertSerial, &t.info.cert_serial),
                    ] {
                        if let Some(v) = v {
                            out.push((kind, v.as_bytes()));
                        }
                    }
                    for c in &t.info.certs {
                        out.push((BufferKind::TlsCerts, c));
                    }
                    if let Some(s) = &t.info.ja3s_hash {
                        out.push((BufferKind::Ja3sHash, s.as_bytes()));
                    }
                    if let Some(s) = &t.info.ja3s_string {
                        out.push((BufferKind::Ja3sString, s.as_bytes()));
                    }
                    if let Some(f) = &t.info.cert_fingerprint {
                        out.push((BufferKind::TlsCertFingerprint, f.as_bytes()));
                    }
                    for n in &t.info.san {
                        out.push((BufferKind::App(AppBuf::TlsSubjectAltName), n));
                    }
                }
                let random = match u.direction {
                    Direction::ToServer => &t.info.client_random,
                    Direction::ToClient => &t.info.server_random,
                };
                if let Some(r) = random {
                    out.push((BufferKind::App(AppBuf::TlsRandom), r));
                    out.push((BufferKind::App(AppBuf::TlsRandomTime), &r[..4]));
                    out.push((BufferKind::App(AppBuf::TlsRandomBytes), &r[4..]));
                }
                for e in &t.info.events {
                    out.push((BufferKind::App(AppBuf::Event), e.as_bytes()));
                }
            }
            Parser::Smtp(sm) => {
                if let Some(t) = sm.tx(u.tx_id) {
                    if let Some(h) = t.helo.as_deref().or(sm.helo()) {
                        out.push((BufferKind::SmtpHelo, h));
                    }
                    if let Some(m) = &t.mail_from {
                        out.push((BufferKind::SmtpMailFrom, m));
                    }
                    for r in &t.rcpt_to {
                        out.push((BufferKind::SmtpRcptTo, r));
                    }
                    if t.complete && !t.data.is_empty() {
                        out.push((BufferKind::FileData, &t.data));
                    }
                    // Attachments, decoded: files of their own.
                    for (f, data) in &scratch.parts {
                        out.push((BufferKind::FileData, data));
                        f.buffers(out);
                    }
                }
            }
            p => {
                if let Some(t) = p.tx_parser() {
                    t.buffers(u, out);
                }
            }
        }
    }

    /// EVE metadata of a transaction: (`"http"`, {...}) and so on.
    pub fn eve_metadata(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        if tx_id == FLOW_EVENTS {
            return None;
        }
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match &self.parser {
            Parser::Http(h) => {
                let t = h.tx(tx_id)?;
                let mut m = serde_json::Map::new();
                if let Some(host) = t.host_norm() {
                    m.insert("hostname".into(), json!(s(&host)));
                }
                if !t.uri_raw.is_empty() {
                    m.insert("url".into(), json!(s(&t.uri_raw)));
                }
                if let Some(v) = t.request_header("user-agent") {
                    m.insert("http_user_agent".into(), json!(s(v)));
                }
                if let Some(v) = t.response_header("content-type") {
                    m.insert("http_content_type".into(), json!(s(v)));
                }
                if !t.method.is_empty() {
                    m.insert("http_method".into(), json!(s(&t.method)));
                }
                if !t.protocol.is_empty() {
                    m.insert("protocol".into(), json!(s(&t.protocol)));
                }
                if let Ok(code) = std::str::from_utf8(&t.status).unwrap_or("").parse::<u32>() {
                    m.insert("status".into(), json!(code));
                }
                if t.response_seen {
                    m.insert("length".into(), json!(t.response_body.len()));
                }
                Some(("http", Value::Object(m)))
            }
            Parser::Dns(d) => {
                let t = d.tx(tx_id)?;
                let msg = t.request.as_ref().or(t.response.as_ref())?;
                let queries: Vec<Value> = msg
                    .queries
                    .iter()
                    .map(|(n, ty, _)| json!({"rrname": s(n), "rrtype": rrtype(*ty)}))
                    .collect();
                Some(("dns", json!({"query": queries, "id": msg.id})))
            }
            Parser::Tls(t) => {
                let mut m = serde_json::Map::new();
                if let Some(sni) = &t.info.sni {
                    m.insert("sni".into(), json!(s(sni)));
                }
                if let Some(v) = t.info.server_version.or(t.info.client_version) {
                    m.insert("version".into(), json!(tls_version(v)));
                }
                for (key, v) in [
                    ("subject", &t.info.cert_subject),
                    ("issuerdn", &t.info.cert_issuer),
                    ("serial", &t.info.cert_serial),
                    ("fingerprint", &t.info.cert_fingerprint),
                ] {
                    if let Some(v) = v {
                        m.insert(key.into(), json!(v));
                    }
                }
                if let (Some(h), Some(st)) = (&t.info.ja3_hash, &t.info.ja3_string) {
                    m.insert("ja3".into(), json!({"hash": h, "string": st}));
                }
                if let Some(j) = &t.info.ja4 {
                    m.insert("ja4".into(), json!(j));
                }
                Some(("tls", Value::Object(m)))
            }
            Parser::Smtp(sm) => {
                let t = sm.tx(tx_id)?;
                let mut m = serde_json::Map::new();
                if let Some(h) = t.helo.as_deref().or(sm.helo()) {
                    m.insert("helo".into(), json!(s(h)));
                }
                if let Some(f) = &t.mail_from {
                    m.insert("mail_from".into(), json!(s(f)));
                }
                if !t.rcpt_to.is_empty() {
                    let r: Vec<String> = t.rcpt_to.iter().map(|x| s(x)).collect();
                    m.insert("rcpt_to".into(), json!(r));
                }
                Some(("smtp", Value::Object(m)))
            }
            p => p.tx_parser()?.eve(tx_id),
        }
    }
}

fn rrtype(t: u16) -> String {
    match t {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        255 => "ANY".into(),
        n => n.to_string(),
    }
}

fn tls_version(v: u16) -> &'static str {
    match v {
        0x0300 => "SSLv3",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => "UNDETERMINED",
    }
}
