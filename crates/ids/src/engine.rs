//! The engine: frame → decode (and defragment) → flow → TCP stream → application layer
//! → detection → verdict and EVE records. Sans-IO: the caller passes each frame with
//! its capture time and collects the EVE records with [`Engine::take_events`].
//!
//! In IPS mode a matching `drop` (or `reject`) rule drops the packet and, with
//! Suricata's action scope, every later packet of its flow (all rule types but the
//! packet type: a rule with packet keywords such as `dsize`, or a payload rule before
//! the session is reassembled, drops its packet alone); the alert's `action` is
//! `blocked`.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::app::{AppLayer, AppUpdate, http::HttpConfig};
use crate::decode::defrag::{Defrag, DefragConfig};
use crate::decode::{self, Packet};
use crate::detect::{
    Action, Alert, AppProto, BufferKind, Detector, Direction, FlowCounts, FlowDetectState, Input,
    Layer4,
};
use crate::eve::{AlertContext, AlertInfo, FlowSummary, alert_record};
use crate::flow::{Flow, FlowConfig, FlowTable, TcpState};
use crate::stream::{Stream, StreamConfig};

/// IDS (observe) or IPS (drop rules drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Ids,
    Ips,
}

/// What happens to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
}

/// Engine settings.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    pub mode: Mode,
    pub flow: FlowConfig,
    pub stream: StreamConfig,
    pub http: HttpConfig,
    pub defrag: DefragConfig,
    /// Written as EVE `in_iface`.
    pub iface: Option<String>,
    /// Write `pcap_cnt` (the packet's number in the capture) in alerts.
    pub pcap_cnt: bool,
    /// EVE records besides alerts (all off by default).
    pub eve: EveTypes,
}

/// Which EVE records besides alerts are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EveTypes {
    /// `anomaly`: each application-layer event of a transaction, once.
    pub anomaly: bool,
    /// The transaction records (`http`, `dns`, `tls`, `smb`, ...): once per
    /// transaction, on its first update from the server (a transaction never
    /// answered is not written).
    pub app: bool,
    /// `fileinfo`: each complete file, once.
    pub fileinfo: bool,
    /// `flow`: each flow when it ends (timeout, reuse or end of input).
    pub flow: bool,
}

impl EveTypes {
    /// Every record type.
    pub fn all() -> EveTypes {
        EveTypes {
            anomaly: true,
            app: true,
            fileinfo: true,
            flow: true,
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub packets: u64,
    pub bytes: u64,
    pub decode_errors: u64,
    /// Frames that carry no IP (ARP, LLDP, ...): passed, not inspected.
    pub non_ip: u64,
    pub fragments: u64,
    pub alerts: u64,
    pub dropped_packets: u64,
    pub flows: u64,
    pub app_txs: u64,
}

/// Per-flow state the engine keeps next to the flow table's.
#[derive(Debug, Default)]
pub struct FlowExt {
    streams: [Stream; 2],
    app: AppLayer,
    detect: FlowDetectState,
    /// IPS: the flow was dropped.
    dropped: bool,
    /// Bytes of whole frames per direction (`flow.bytes`).
    wire_bytes: [u64; 2],
    /// Before the handshake: the client's first SYN sequence number and the other
    /// sequence numbers its SYNs were sent again with (at most [`MAX_SYN_QUEUED`]).
    syn_isn: Option<u32>,
    syn_queued: Vec<u32>,
    /// The timestamp value of the client's SYN (`Some(0)` when it had none).
    syn_ts: Option<u32>,
    /// Per direction: it sent a RST, in sequence, on the established session; a later
    /// packet from the same side makes that RST suspect.
    rst_sent: [bool; 2],
    closed: [bool; 2],
    /// The last [`RECENT_STREAM`] bytes of stream data per direction, offered to
    /// transaction inputs so rules that mix payload and buffer matches see the data
    /// that came before the packet completing the transaction.
    recent: [Vec<u8>; 2],
    /// Non-alert EVE records already written for this flow: (transaction, kind,
    /// detail), so each is written once.
    eve_logged: std::collections::HashSet<(u64, u8, Vec<u8>)>,
    alerted: bool,
}

/// SYNs with another sequence number queued before the handshake, as Suricata's
/// `stream.max-syn-queued` default; each one more raises `stream.3whs_syn_flood`.
const MAX_SYN_QUEUED: usize = 10;

/// Kinds of [`FlowExt::eve_logged`] entries.
const LOGGED_ANOMALY: u8 = 0;
const LOGGED_APP: u8 = 1;
const LOGGED_FILE: u8 = 2;
/// Entries kept per flow (then the set starts over).
const MAX_LOGGED: usize = 1024;

/// Bytes of recent stream data kept per direction for transaction inputs (at least
/// this much, at most twice as much).
const RECENT_STREAM: usize = 8 * 1024;

fn di(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// The IDS/IPS engine.
#[derive(Debug)]
pub struct Engine {
    cfg: EngineConfig,
    detector: Detector,
    flows: FlowTable<FlowExt>,
    defrag: Defrag,
    stats: Stats,
    events: Vec<Value>,
    alerts: Vec<Alert>,
    /// Some rule inspects file hashes.
    file_hashes: bool,
    /// FTP data connections announced by control channels: (address, port) → the
    /// command that uses it (once known) and when it was announced.
    ftp_expect: std::collections::HashMap<(IpAddr, u16), FtpExpected>,
    /// Some rule has `fragbits` / `fragoffset`: fragments are inspected.
    fragment_rules: bool,
}

/// An announced FTP data connection: its command once known, and when it was
/// announced.
type FtpExpected = (Option<Vec<u8>>, i64);

/// Announced FTP data connections remembered (the oldest are forgotten), and for how
/// long (microseconds of capture time).
const MAX_FTP_EXPECT: usize = 1024;
const FTP_EXPECT_TTL: i64 = 300_000_000;

/// The facts of the current packet that EVE and detection need.
struct PktCtx<'a> {
    ts: i64,
    pcap_cnt: u64,
    pkt: &'a Packet<'a>,
    /// The frame's length (for `flow.bytes`).
    len: usize,
}

impl Engine {
    pub fn new(detector: Detector, cfg: EngineConfig) -> Engine {
        use crate::app::keywords::AppBuf;
        let file_hashes = detector.needs().buffers.iter().any(|k| {
            matches!(
                k,
                BufferKind::App(AppBuf::FileMd5 | AppBuf::FileSha1 | AppBuf::FileSha256)
            )
        });
        Engine {
            file_hashes,
            ftp_expect: std::collections::HashMap::new(),
            fragment_rules: detector.has_fragment_rules(),
            flows: FlowTable::new(cfg.flow),
            defrag: Defrag::new(cfg.defrag),
            cfg,
            detector,
            stats: Stats::default(),
            events: Vec::new(),
            alerts: Vec::new(),
        }
    }

    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.flows = self.flows.created;
        s
    }

    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// EVE records produced since the last call.
    pub fn take_events(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.events)
    }

    /// Processes one frame of the given link type captured at `ts_micros`.
    pub fn process(&mut self, ts_micros: i64, linktype: u16, frame: &[u8]) -> Verdict {
        self.stats.packets += 1;
        self.stats.bytes += frame.len() as u64;
        let pcap_cnt = self.stats.packets;
        let pkt = match decode::decode(linktype, frame) {
            Ok(p) => p,
            Err(decode::DecodeError::NotIp(_)) => {
                self.stats.non_ip += 1;
                return Verdict::Accept;
            }
            Err(e) => {
                self.stats.decode_errors += 1;
                return match e.event() {
                    Some(ev) => self.unattached(ts_micros, pcap_cnt, None, ev.into()),
                    None => Verdict::Accept,
                };
            }
        };
        if pkt.invalid {
            self.stats.decode_errors += 1;
            return self.unattached(ts_micros, pcap_cnt, Some(&pkt), pkt.events);
        }
        if pkt.fragment.is_some() {
            self.stats.fragments += 1;
            let mut events = pkt.events;
            let whole = self.defrag.add_with_events(ts_micros, &pkt, &mut events);
            let mut verdict = Verdict::Accept;
            if !events.is_empty() || self.fragment_rules {
                verdict = self.unattached(ts_micros, pcap_cnt, Some(&pkt), events);
            }
            let Some(whole) = whole else {
                return verdict;
            };
            return match decode::decode_ip(&whole) {
                Ok(mut p) if !p.invalid => {
                    p.vlan = pkt.vlan;
                    self.packet(&PktCtx {
                        ts: ts_micros,
                        pcap_cnt,
                        pkt: &p,
                        len: frame.len(),
                    })
                }
                Ok(p) => {
                    self.stats.decode_errors += 1;
                    self.unattached(ts_micros, pcap_cnt, Some(&p), p.events)
                }
                Err(_) => {
                    self.stats.decode_errors += 1;
                    verdict
                }
            };
        }
        self.packet(&PktCtx {
            ts: ts_micros,
            pcap_cnt,
            pkt: &pkt,
            len: frame.len(),
        })
    }

    /// Detection on a packet that belongs to no flow (it failed decoding, or it is a
    /// fragment) and raised decoder events: only rules on events and `pkthdr` rules
    /// see it. `pkt` is `None` when even the IP header was unusable; the alert then
    /// has null addresses and ports, as Suricata's.
    fn unattached(
        &mut self,
        ts: i64,
        pcap_cnt: u64,
        pkt: Option<&Packet<'_>>,
        events: decode::Events,
    ) -> Verdict {
        if self.detector.is_empty() {
            return Verdict::Accept;
        }
        let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        let input = Input {
            ts_micros: ts,
            src_ip: pkt.map_or(unspecified, |p| p.src),
            dst_ip: pkt.map_or(unspecified, |p| p.dst),
            ip_proto: pkt.map_or(0, |p| p.proto),
            ttl: pkt.map_or(0, |p| p.ttl),
            l4: Layer4::Other,
            payload: &[],
            stream: None,
            direction: Direction::ToServer,
            established: false,
            flow_id: 0,
            app_proto: AppProto::Unknown,
            tx_id: None,
            buffers: &[],
            events,
            invalid: true,
            ip_header: pkt.map_or(&[][..], |p| p.ip_header),
            l4_header: &[],
            flow_counts: Default::default(),
        };
        let mut state = FlowDetectState::default();
        self.alerts.clear();
        self.detector.inspect(&input, &mut state, &mut self.alerts);
        let mut verdict = Verdict::Accept;
        // A pass rule reaches here only with its `alert` keyword: logged as allowed.
        for a in &self.alerts {
            let blocking = matches!(a.action, Action::Drop | Action::Reject);
            let action = if blocking && self.cfg.mode == Mode::Ips {
                verdict = Verdict::Drop;
                "blocked"
            } else {
                "allowed"
            };
            self.stats.alerts += 1;
            let ctx = AlertContext {
                ts_micros: ts,
                flow_id: 0,
                pcap_cnt: self.cfg.pcap_cnt.then_some(pcap_cnt),
                in_iface: self.cfg.iface.as_deref(),
                src_ip: input.src_ip,
                dst_ip: input.dst_ip,
                ports: None,
                icmp: None,
                proto: input.ip_proto,
                app_proto: None,
                to_server: true,
                tx_id: None,
                metadata: None,
            };
            let info = AlertInfo {
                action,
                gid: a.gid,
                sid: a.sid,
                rev: a.rev,
                signature: &a.msg,
                category: &a.category,
                severity: a.severity,
            };
            let mut rec = alert_record(&ctx, &info);
            if let Some(m) = rec.as_object_mut() {
                m.remove("flow_id");
                m.remove("direction");
                if pkt.is_none() {
                    for k in ["src_ip", "dest_ip", "src_port", "dest_port", "proto"] {
                        m.insert(k.into(), Value::Null);
                    }
                }
            }
            self.events.push(rec);
        }
        if verdict == Verdict::Drop {
            self.stats.dropped_packets += 1;
        }
        verdict
    }

    fn packet(&mut self, c: &PktCtx<'_>) -> Verdict {
        let p = c.pkt;
        let (sp, dp) = match p.l4 {
            Layer4::Tcp {
                src_port, dst_port, ..
            }
            | Layer4::Udp { src_port, dst_port }
            | Layer4::Sctp { src_port, dst_port } => (src_port, dst_port),
            _ => (0, 0),
        };
        let mut removed = Vec::new();
        if let Layer4::Tcp { flags, .. } = p.l4
            && flags & 0x12 == 0x02
        {
            self.flows
                .reuse_closed((p.src, sp), (p.dst, dp), p.vlan, &mut removed);
        }
        let http_cfg = self.cfg.http;
        let file_hashes = self.file_hashes;
        let midstream = self.cfg.flow.midstream;
        let (flow, dir) = self.flows.lookup(
            c.ts,
            (p.src, sp),
            (p.dst, dp),
            p.proto,
            p.vlan,
            || FlowExt {
                app: AppLayer::new(HttpConfig {
                    hash_files: file_hashes,
                    ..http_cfg
                }),
                ..FlowExt::default()
            },
            &mut removed,
        );
        if flow.packets == [0, 0] && p.proto == 6 {
            // A data connection an FTP control channel announced.
            if let Some((cmd, _)) = self.ftp_expect.get(&(p.dst, dp)) {
                let cmd = cmd.clone();
                flow.ext.app.start_ftp_data();
                if let Some(c) = cmd {
                    flow.ext.app.set_ftp_data_command(&c);
                }
            }
        }
        flow.packets[di(dir)] += 1;
        flow.bytes[di(dir)] += p.payload.len() as u64;
        flow.ext.wire_bytes[di(dir)] += c.len as u64;
        let mut verdict = Verdict::Accept;
        if flow.ext.dropped {
            verdict = Verdict::Drop;
        }
        // The packet that completes the handshake is not yet "established" (Suricata
        // sets the flag for packets after it); UDP counts from the first reply.
        let established_before = flow.established();
        let mut updates: Vec<AppUpdate> = Vec::new();
        let mut new_stream: Vec<u8> = Vec::new();
        let mut events = p.events;
        if verdict == Verdict::Accept {
            // Before the SYN/ACK, a server packet whose timestamp echo is not the
            // client's SYN timestamp (or is set when the SYN had none) is rejected, as
            // Suricata rejects it (an evasion by a forged RST or FIN).
            let bad_ts = flow.tcp == TcpState::SynSent
                && dir == Direction::ToClient
                && decode::tcp_timestamps(p.l4_header).is_some_and(|(_, ecr)| {
                    match flow.ext.syn_ts {
                        Some(last) if last != 0 => ecr != 0 && ecr != last,
                        _ => ecr != 0,
                    }
                });
            if bad_ts {
                events.insert(decode::Event::StreamPktInvalidTimestamp);
            }
            match p.l4 {
                Layer4::Tcp { .. } if bad_ts => {}
                Layer4::Tcp { flags, seq, .. } => {
                    let was_none = flow.tcp == crate::flow::TcpState::None;
                    let before = flow.tcp;
                    let d = di(dir);
                    if flags & 0x04 != 0 {
                        let st = &flow.ext.streams[d];
                        if matches!(before, TcpState::Established | TcpState::Closing)
                            && st.is_started()
                            && st.next_seq() == seq
                        {
                            flow.ext.rst_sent[d] = true;
                        }
                    } else if std::mem::take(&mut flow.ext.rst_sent[d]) {
                        // The side that reset the session goes on talking.
                        events.insert(decode::Event::StreamSuspectedRstInject);
                    }
                    flow.track_tcp(dir, flags, midstream);
                    let syn = flags & 0x02 != 0;
                    let client_syn = syn && flags & 0x10 == 0 && dir == Direction::ToServer;
                    if client_syn && matches!(before, TcpState::None | TcpState::SynSent) {
                        // A SYN sent again with another sequence number: the session
                        // follows the latest (the SYN/ACK answers it); beyond the queue
                        // limit it is a flood.
                        let ext = &mut flow.ext;
                        match ext.syn_isn {
                            None => ext.syn_isn = Some(seq),
                            Some(isn) if isn != seq && !ext.syn_queued.contains(&seq) => {
                                if ext.syn_queued.len() < MAX_SYN_QUEUED {
                                    ext.syn_queued.push(seq);
                                } else {
                                    events.insert(decode::Event::Stream3whsSynFlood);
                                }
                            }
                            Some(_) => {}
                        }
                        ext.streams[di(dir)].restart(seq.wrapping_add(1));
                        ext.syn_ts = Some(decode::tcp_timestamps(p.l4_header).map_or(0, |t| t.0));
                    }
                    let st = &mut flow.ext.streams[di(dir)];
                    if syn {
                        st.start(seq.wrapping_add(1));
                    } else if !st.is_started()
                        && (midstream || (!was_none && flow.tcp != crate::flow::TcpState::None))
                    {
                        st.start(seq);
                    }
                    // Data on a RST is not stream data (Suricata inspects it with the
                    // packet only).
                    if st.is_started() && !p.payload.is_empty() && flags & 0x04 == 0 {
                        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
                        st.add(&self.cfg.stream, data_seq, p.payload, &mut new_stream);
                    }
                    if !new_stream.is_empty() {
                        if !matches!(flow.ext.app.proto, AppProto::Failed) {
                            // Amortised: the window holds the last 8 to 16 KiB.
                            let r = &mut flow.ext.recent[di(dir)];
                            r.extend_from_slice(&new_stream);
                            if r.len() > 2 * RECENT_STREAM {
                                r.drain(..r.len() - RECENT_STREAM);
                            }
                        }
                        let server_port = flow.server.1;
                        if flow.ext.app.proto == AppProto::FtpData
                            && let Some((Some(c), _)) = self.ftp_expect.get(&flow.server)
                        {
                            flow.ext.app.set_ftp_data_command(&c.clone());
                        }
                        flow.ext
                            .app
                            .on_stream(dir, &new_stream, server_port, &mut updates);
                        for e in flow.ext.app.take_ftp_expectations() {
                            let peer = if e.to_server {
                                flow.server.0
                            } else {
                                flow.client.0
                            };
                            if self.ftp_expect.len() >= MAX_FTP_EXPECT {
                                let now = c.ts;
                                self.ftp_expect
                                    .retain(|_, (_, t)| now - *t < FTP_EXPECT_TTL);
                                if self.ftp_expect.len() >= MAX_FTP_EXPECT {
                                    self.ftp_expect.clear();
                                }
                            }
                            self.ftp_expect
                                .insert((e.addr.unwrap_or(peer), e.port), (e.command, c.ts));
                        }
                    }
                    if flags & 0x05 != 0 {
                        // FIN closes this direction; RST both.
                        let dirs: &[Direction] = if flags & 0x04 != 0 {
                            &[Direction::ToServer, Direction::ToClient]
                        } else {
                            std::slice::from_ref(&dir)
                        };
                        for d in dirs {
                            if !flow.ext.closed[di(*d)] {
                                flow.ext.closed[di(*d)] = true;
                                flow.ext.app.on_close(*d, &mut updates);
                            }
                        }
                    }
                }
                Layer4::Udp { .. } if !p.payload.is_empty() => {
                    flow.ext
                        .app
                        .on_datagram(dir, p.payload, (sp, dp), &mut updates);
                }
                _ => {}
            }
        }
        let flow_id = flow.id;
        let established = if p.proto == 6 {
            established_before
        } else {
            flow.established()
        };
        let app_proto = flow.ext.app.proto;
        if verdict == Verdict::Accept {
            let input = Input {
                ts_micros: c.ts,
                src_ip: p.src,
                dst_ip: p.dst,
                ip_proto: p.proto,
                ttl: p.ttl,
                l4: p.l4,
                payload: p.payload,
                stream: if new_stream.is_empty() {
                    None
                } else {
                    Some(&new_stream)
                },
                direction: dir,
                established,
                flow_id,
                app_proto,
                tx_id: None,
                buffers: &[],
                events,
                invalid: false,
                ip_header: p.ip_header,
                l4_header: p.l4_header,
                flow_counts: flow_counts(flow, c.ts),
            };
            self.alerts.clear();
            self.detector
                .inspect(&input, &mut flow.ext.detect, &mut self.alerts);
            let mut alerts = std::mem::take(&mut self.alerts);
            // Suricata evaluates the rules of a packet and of the transaction it
            // completes together, pass rules first: a pass on the transaction voids the
            // packet rules' alerts (and their drop) on this packet. With transaction
            // pass rules loaded, the transaction goes first.
            let mut tx_done = false;
            if !alerts.is_empty() && !updates.is_empty() && self.detector.has_tx_pass() {
                tx_done = true;
                let passed_before = flow.ext.detect.passed;
                for u in &updates {
                    let cur = (u.direction == dir).then_some(CurrentPacket {
                        l4: p.l4,
                        payload: p.payload,
                    });
                    if inspect_tx(
                        &self.cfg,
                        &mut self.detector,
                        &mut self.stats,
                        &mut self.events,
                        &mut self.alerts,
                        flow,
                        u,
                        c.ts,
                        Some(c.pcap_cnt),
                        p.ttl,
                        cur,
                    ) == Verdict::Drop
                    {
                        verdict = Verdict::Drop;
                    }
                }
                if flow.ext.detect.passed && !passed_before {
                    alerts.retain(|a| a.action == Action::Pass);
                }
            }
            let v = emit(
                &self.cfg,
                &mut self.stats,
                &mut self.events,
                flow,
                &alerts,
                &PacketFacts {
                    ts: c.ts,
                    pcap_cnt: Some(c.pcap_cnt),
                    src: p.src,
                    dst: p.dst,
                    ports: (sp, dp),
                    l4: p.l4,
                    proto: p.proto,
                    dir,
                    tx: None,
                },
            );
            self.alerts = alerts;
            if v == Verdict::Drop {
                verdict = Verdict::Drop;
            }
            for u in updates.iter().filter(|_| !tx_done) {
                if flow.ext.dropped {
                    break;
                }
                let cur = (u.direction == dir).then_some(CurrentPacket {
                    l4: p.l4,
                    payload: p.payload,
                });
                if inspect_tx(
                    &self.cfg,
                    &mut self.detector,
                    &mut self.stats,
                    &mut self.events,
                    &mut self.alerts,
                    flow,
                    u,
                    c.ts,
                    Some(c.pcap_cnt),
                    p.ttl,
                    cur,
                ) == Verdict::Drop
                {
                    verdict = Verdict::Drop;
                }
            }
        }
        if verdict == Verdict::Drop {
            self.stats.dropped_packets += 1;
        }
        // Inspected transactions are forgotten (their bodies can be large); a closed
        // session needs no recent-stream window.
        flow.ext.app.forget_finished();
        if flow.tcp == crate::flow::TcpState::Closed {
            flow.ext.recent = Default::default();
        }
        for f in removed {
            self.finish_flow(f, c.ts);
        }
        verdict
    }

    fn finish_flow(&mut self, mut f: Flow<FlowExt>, ts: i64) {
        self.finish_flow_app(&mut f, ts);
        if self.cfg.eve.flow {
            let c = RecordCtx {
                ts: f.last_ts,
                pcap_cnt: None,
                src: f.client,
                dst: f.server,
            };
            let summary = FlowSummary {
                start_micros: f.first_ts,
                end_micros: f.last_ts,
                packets: f.packets,
                bytes: f.bytes,
                state: match f.tcp {
                    _ if f.proto != 6 && f.established() => "established",
                    _ if f.proto != 6 => "new",
                    crate::flow::TcpState::Closed => "closed",
                    crate::flow::TcpState::Established | crate::flow::TcpState::Closing => {
                        "established"
                    }
                    _ => "new",
                },
                reason: if ts > f.last_ts {
                    "timeout"
                } else {
                    "shutdown"
                },
                alerted: f.ext.alerted,
            };
            let head = record_head(&self.cfg, &f, &c, None, true);
            self.events.push(crate::eve::flow_record(&head, &summary));
        }
    }

    /// The application layer's last words on a finished flow (data buffered behind a
    /// gap, bodies that end with the connection).
    fn finish_flow_app(&mut self, f: &mut Flow<FlowExt>, ts: i64) {
        if f.ext.dropped || f.proto != 6 {
            return;
        }
        let mut updates = Vec::new();
        for d in [Direction::ToServer, Direction::ToClient] {
            let mut data = Vec::new();
            if f.ext.streams[di(d)].skip_gap(&self.cfg.stream, &mut data) && !data.is_empty() {
                let port = f.server.1;
                f.ext.app.on_stream(d, &data, port, &mut updates);
            }
        }
        for d in [Direction::ToServer, Direction::ToClient] {
            if !f.ext.closed[di(d)] {
                f.ext.closed[di(d)] = true;
                f.ext.app.on_close(d, &mut updates);
            }
        }
        for u in &updates {
            inspect_tx(
                &self.cfg,
                &mut self.detector,
                &mut self.stats,
                &mut self.events,
                &mut self.alerts,
                f,
                u,
                ts,
                None,
                0,
                None,
            );
        }
    }

    /// End of input: flushes every flow (bodies that run until close, buffered data).
    pub fn finish(&mut self) {
        let flows = self.flows.drain();
        for f in flows {
            let ts = f.last_ts;
            self.finish_flow(f, ts);
        }
    }
}

fn flow_counts(flow: &Flow<FlowExt>, ts: i64) -> FlowCounts {
    FlowCounts {
        pkts: flow.packets,
        bytes: flow.ext.wire_bytes,
        age_secs: u64::try_from(ts.saturating_sub(flow.first_ts) / 1_000_000).unwrap_or(0),
    }
}

/// The packet whose processing produced a transaction update (same direction), so
/// that rules mixing payload and buffer matches see both.
struct CurrentPacket<'a> {
    l4: Layer4,
    payload: &'a [u8],
}

struct PacketFacts {
    ts: i64,
    pcap_cnt: Option<u64>,
    src: IpAddr,
    dst: IpAddr,
    ports: (u16, u16),
    l4: Layer4,
    proto: u8,
    dir: Direction,
    tx: Option<u64>,
}

#[allow(clippy::too_many_arguments)]
fn inspect_tx(
    cfg: &EngineConfig,
    detector: &mut Detector,
    stats: &mut Stats,
    events: &mut Vec<Value>,
    alerts: &mut Vec<Alert>,
    flow: &mut Flow<FlowExt>,
    u: &AppUpdate,
    ts: i64,
    pcap_cnt: Option<u64>,
    ttl: u8,
    cur: Option<CurrentPacket<'_>>,
) -> Verdict {
    stats.app_txs += 1;
    let (src, dst) = match u.direction {
        Direction::ToServer => (flow.client, flow.server),
        Direction::ToClient => (flow.server, flow.client),
    };
    let l4 = match &cur {
        Some(c) => c.l4,
        None => match flow.proto {
            6 => Layer4::Tcp {
                src_port: src.1,
                dst_port: dst.1,
                flags: 0x18,
                seq: 0,
                ack: 0,
                window: 0,
            },
            17 => Layer4::Udp {
                src_port: src.1,
                dst_port: dst.1,
            },
            _ => Layer4::Other,
        },
    };
    let mut logged = std::mem::take(&mut flow.ext.eve_logged);
    let scratch = flow.ext.app.scratch(u);
    let mut bufs: Vec<(BufferKind, &[u8])> = Vec::new();
    flow.ext.app.buffers(u, &scratch, &mut bufs);
    if cfg.eve != EveTypes::default() {
        let ctx = RecordCtx {
            ts,
            pcap_cnt: if cfg.pcap_cnt { pcap_cnt } else { None },
            src,
            dst,
        };
        non_alert_records(cfg, events, flow, &mut logged, u, &bufs, &ctx);
    }
    let input = Input {
        ts_micros: ts,
        src_ip: src.0,
        dst_ip: dst.0,
        ip_proto: flow.proto,
        ttl,
        l4,
        payload: cur.as_ref().map_or(&[][..], |c| c.payload),
        stream: Some(flow.ext.recent[di(u.direction)].as_slice()).filter(|s| !s.is_empty()),
        direction: u.direction,
        established: flow.established(),
        flow_id: flow.id,
        app_proto: flow.ext.app.proto,
        tx_id: Some(u.tx_id),
        buffers: &bufs,
        events: Default::default(),
        invalid: false,
        ip_header: &[],
        l4_header: &[],
        flow_counts: flow_counts(flow, ts),
    };
    alerts.clear();
    detector.inspect(&input, &mut flow.ext.detect, alerts);
    drop(bufs);
    flow.ext.eve_logged = logged;
    let found = std::mem::take(alerts);
    flow.ext.alerted |= !found.is_empty();
    let v = emit(
        cfg,
        stats,
        events,
        flow,
        &found,
        &PacketFacts {
            ts,
            pcap_cnt,
            src: src.0,
            dst: dst.0,
            ports: (src.1, dst.1),
            l4,
            proto: flow.proto,
            dir: u.direction,
            tx: Some(u.tx_id),
        },
    );
    *alerts = found;
    v
}

/// The `tx_id` EVE shows for an update id: the transaction's, without the response
/// side's bit; none for frames and protocol-detection events.
fn eve_tx_id(id: u64) -> Option<u64> {
    (id & (crate::app::frames::FRAME_BIT | crate::app::FLOW_EVENTS) == 0)
        .then_some(id & !crate::app::TO_CLIENT_SIDE)
}

/// Where and when a transaction update's records are written.
struct RecordCtx {
    ts: i64,
    pcap_cnt: Option<u64>,
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
}

/// The head of a non-alert record of a flow.
fn record_head<'a>(
    cfg: &'a EngineConfig,
    flow: &Flow<FlowExt>,
    c: &RecordCtx,
    tx_id: Option<u64>,
    to_server: bool,
) -> AlertContext<'a> {
    AlertContext {
        ts_micros: c.ts,
        flow_id: flow.id,
        pcap_cnt: c.pcap_cnt,
        in_iface: cfg.iface.as_deref(),
        src_ip: c.src.0,
        dst_ip: c.dst.0,
        ports: matches!(flow.proto, 6 | 17).then_some((c.src.1, c.dst.1)),
        icmp: None,
        proto: flow.proto,
        app_proto: match flow.ext.app.proto {
            AppProto::Unknown => None,
            p => Some(p.name()),
        },
        to_server,
        tx_id: tx_id.and_then(eve_tx_id),
        metadata: None,
    }
}

/// `anomaly`, transaction and `fileinfo` records of a transaction update (each once).
fn non_alert_records(
    cfg: &EngineConfig,
    events: &mut Vec<Value>,
    flow: &Flow<FlowExt>,
    logged: &mut std::collections::HashSet<(u64, u8, Vec<u8>)>,
    u: &AppUpdate,
    bufs: &[(BufferKind, &[u8])],
    c: &RecordCtx,
) {
    use crate::app::keywords::AppBuf;
    let tx = u.tx_id & !crate::app::TO_CLIENT_SIDE;
    let to_server = u.direction == Direction::ToServer;
    let mut out = Vec::new();
    if logged.len() > MAX_LOGGED {
        logged.clear();
    }
    let head = |flow: &Flow<FlowExt>| record_head(cfg, flow, c, Some(u.tx_id), to_server);
    if cfg.eve.anomaly {
        for (k, v) in bufs {
            if *k == BufferKind::App(AppBuf::Event)
                && logged.insert((tx, LOGGED_ANOMALY, v.to_vec()))
            {
                out.push(crate::eve::anomaly_record(
                    &head(flow),
                    &String::from_utf8_lossy(v),
                ));
            }
        }
    }
    if cfg.eve.app
        && !to_server
        && logged.insert((tx, LOGGED_APP, Vec::new()))
        && let Some((name, m)) = flow.ext.app.eve_metadata(u.tx_id)
    {
        out.push(crate::eve::app_record(&head(flow), name, &m));
    }
    // A file is complete when its size is known.
    let find = |b: AppBuf| {
        bufs.iter()
            .find(|(k, _)| *k == BufferKind::App(b))
            .map(|(_, v)| *v)
    };
    if cfg.eve.fileinfo
        && let (Some(name), Some(size)) = (find(AppBuf::FileName), find(AppBuf::FileSize))
        && logged.insert((tx, LOGGED_FILE, [&[u8::from(to_server)], name].concat()))
    {
        let mut fi = serde_json::Map::new();
        fi.insert("filename".into(), json!(String::from_utf8_lossy(name)));
        let size = size.try_into().map(u64::from_be_bytes).unwrap_or(0);
        fi.insert("size".into(), json!(size));
        fi.insert("state".into(), json!("CLOSED"));
        fi.insert("stored".into(), json!(false));
        for (key, b) in [
            ("magic", AppBuf::FileMagic),
            ("md5", AppBuf::FileMd5),
            ("sha1", AppBuf::FileSha1),
            ("sha256", AppBuf::FileSha256),
        ] {
            if let Some(v) = find(b) {
                fi.insert(key.into(), json!(String::from_utf8_lossy(v)));
            }
        }
        let mut h = head(flow);
        h.metadata = flow.ext.app.eve_metadata(u.tx_id);
        out.push(crate::eve::fileinfo_record(&h, Value::Object(fi)));
    }
    events.extend(out);
}

/// Writes EVE records for alerts and applies IPS drops; returns the packet verdict.
fn emit(
    cfg: &EngineConfig,
    stats: &mut Stats,
    events: &mut Vec<Value>,
    flow: &mut Flow<FlowExt>,
    alerts: &[Alert],
    f: &PacketFacts,
) -> Verdict {
    let mut verdict = Verdict::Accept;
    let mut drop_flow = false;
    for a in alerts {
        // A pass rule reaches here only with its `alert` keyword: logged as allowed.
        let blocking = matches!(a.action, Action::Drop | Action::Reject);
        let action = if blocking && cfg.mode == Mode::Ips {
            verdict = Verdict::Drop;
            drop_flow |= a.flow_scope;
            "blocked"
        } else {
            "allowed"
        };
        stats.alerts += 1;
        let tx_id = a.tx_id.or(f.tx);
        let metadata = tx_id.and_then(|t| flow.ext.app.eve_metadata(t));
        let app_proto = match flow.ext.app.proto {
            AppProto::Unknown => None,
            p => Some(p.name()),
        };
        let ctx = AlertContext {
            ts_micros: f.ts,
            flow_id: flow.id,
            pcap_cnt: if cfg.pcap_cnt { f.pcap_cnt } else { None },
            in_iface: cfg.iface.as_deref(),
            src_ip: f.src,
            dst_ip: f.dst,
            ports: match f.l4 {
                Layer4::Tcp { .. } | Layer4::Udp { .. } | Layer4::Sctp { .. } => Some(f.ports),
                _ => None,
            },
            icmp: match f.l4 {
                Layer4::Icmp {
                    icmp_type,
                    icmp_code,
                } => Some((icmp_type, icmp_code)),
                _ => None,
            },
            proto: f.proto,
            app_proto,
            to_server: f.dir == Direction::ToServer,
            tx_id: tx_id.and_then(eve_tx_id),
            metadata,
        };
        let info = AlertInfo {
            action,
            gid: a.gid,
            sid: a.sid,
            rev: a.rev,
            signature: &a.msg,
            category: &a.category,
            severity: a.severity,
        };
        events.push(alert_record(&ctx, &info));
    }
    // A packet-type rule drops the packet only; the others the rest of the flow too.
    if drop_flow {
        flow.ext.dropped = true;
    }
    verdict
}
