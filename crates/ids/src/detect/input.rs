//! The contract between the traffic side and detection.
//!
//! The traffic side (decoder, flow table, stream reassembly, app-layer parsers) builds
//! one [`Input`] per packet, and one per application-layer transaction update, and hands
//! it to the detector together with the flow's [`FlowDetectState`]. Detection never
//! looks at raw frames, the flow table or the parsers directly: everything it may match
//! on is here.

use std::net::IpAddr;

/// Where a packet or a buffer goes, relative to the flow's initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the flow's client (the side that sent the first packet / SYN).
    ToServer,
    /// From the server back to the client.
    ToClient,
}

/// Application protocol recognised on a flow (Suricata's `app_proto` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AppProto {
    /// Not (yet) recognised.
    #[default]
    Unknown,
    /// Recognition gave up: Suricata's `failed`.
    Failed,
    Http,
    Dns,
    Tls,
    Smtp,
    Ssh,
    Sip,
    Krb5,
    Smb,
    Dcerpc,
    Ftp,
    FtpData,
    Ntp,
    Dhcp,
    Tftp,
    Quic,
    Ikev2,
    Rfb,
    WebSocket,
}

impl AppProto {
    /// The name Suricata uses in rules (`app-layer-protocol`) and in EVE `app_proto`.
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Unknown => "unknown",
            AppProto::Failed => "failed",
            AppProto::Http => "http",
            AppProto::Dns => "dns",
            AppProto::Tls => "tls",
            AppProto::Smtp => "smtp",
            AppProto::Ssh => "ssh",
            AppProto::Sip => "sip",
            AppProto::Krb5 => "krb5",
            AppProto::Smb => "smb",
            AppProto::Dcerpc => "dcerpc",
            AppProto::Ftp => "ftp",
            AppProto::FtpData => "ftp-data",
            AppProto::Ntp => "ntp",
            AppProto::Dhcp => "dhcp",
            AppProto::Tftp => "tftp",
            AppProto::Quic => "quic",
            AppProto::Ikev2 => "ikev2",
            AppProto::Rfb => "rfb",
            AppProto::WebSocket => "websocket",
        }
    }
}

impl AppProto {
    /// Whether a rule for this protocol applies to a flow of `flow`'s: the same, or
    /// DCERPC carried by SMB (as in Suricata).
    pub fn covers(self, flow: AppProto) -> bool {
        self == flow || (self == AppProto::Dcerpc && flow == AppProto::Smb)
    }
}

/// Layer-4 facts of the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer4 {
    Tcp {
        src_port: u16,
        dst_port: u16,
        /// The TCP flags byte (FIN=0x01, SYN=0x02, RST=0x04, PSH=0x08, ACK=0x10,
        /// URG=0x20, ECE=0x40, CWR=0x80).
        flags: u8,
        seq: u32,
        ack: u32,
        window: u16,
    },
    Udp {
        src_port: u16,
        dst_port: u16,
    },
    /// SCTP: its common header's ports.
    Sctp {
        src_port: u16,
        dst_port: u16,
    },
    /// ICMP (v4) or ICMPv6, told apart by [`Input::ip_proto`] (1 or 58).
    Icmp {
        icmp_type: u8,
        icmp_code: u8,
    },
    /// Any other IP protocol.
    Other,
}

/// A sticky buffer (or its legacy content modifier) that a rule can inspect.
///
/// The traffic side fills the buffers it knows for the current transaction; a rule that
/// needs a buffer that is absent does not match. A kind may appear several times in
/// [`Input::buffers`] (several DNS queries, several certificates): the rule's keywords
/// for that buffer match if they match any one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BufferKind {
    HttpUri,
    HttpUriRaw,
    HttpMethod,
    HttpProtocol,
    HttpRequestLine,
    HttpHost,
    HttpHostRaw,
    HttpUserAgent,
    /// Request or response headers (by direction), normalised: `Name: value\r\n` each,
    /// without the request/status line, without cookies.
    HttpHeader,
    HttpHeaderRaw,
    HttpHeaderNames,
    HttpCookie,
    HttpReferer,
    HttpContentType,
    HttpContentLen,
    HttpAccept,
    HttpAcceptLang,
    HttpAcceptEnc,
    HttpConnection,
    HttpLocation,
    HttpServer,
    HttpStart,
    HttpRequestBody,
    HttpStatCode,
    HttpStatMsg,
    HttpResponseLine,
    /// Decoded (de-chunked, decompressed) response body; also `file.data` for HTTP.
    HttpResponseBody,
    FileData,
    DnsQuery,
    TlsSni,
    TlsCertSubject,
    TlsCertIssuer,
    TlsCertSerial,
    TlsCertFingerprint,
    /// `tls.certs`: each certificate of the server's chain (DER), one buffer entry per
    /// certificate (a rule matches if any one matches).
    TlsCerts,
    TlsVersion,
    Ja3Hash,
    Ja3String,
    Ja3sHash,
    Ja3sString,
    SmtpHelo,
    SmtpMailFrom,
    SmtpRcptTo,
    /// A buffer of a parser in the keyword registry ([`crate::app::keywords`]).
    App(crate::app::keywords::AppBuf),
    /// Packet header buffers (`ipv4.hdr`, `ipv6.hdr`, `tcp.hdr`, `udp.hdr`,
    /// `icmpv4.hdr`, `icmpv6.hdr`): inspected on packets, not transactions.
    Ipv4Hdr,
    Ipv6Hdr,
    TcpHdr,
    UdpHdr,
    Icmpv4Hdr,
    Icmpv6Hdr,
    /// `ip.src`, `ip.dst`: the packet's addresses (4 or 16 bytes).
    IpSrc,
    IpDst,
}

impl BufferKind {
    /// Whether it is a packet header buffer (inspected on packets).
    pub fn is_packet_header(self) -> bool {
        matches!(
            self,
            BufferKind::Ipv4Hdr
                | BufferKind::Ipv6Hdr
                | BufferKind::TcpHdr
                | BufferKind::UdpHdr
                | BufferKind::Icmpv4Hdr
                | BufferKind::Icmpv6Hdr
                | BufferKind::IpSrc
                | BufferKind::IpDst
        )
    }
}

/// Everything detection may inspect for one packet or one transaction update.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// Packet time, microseconds since the Unix epoch (from the capture, never a clock).
    pub ts_micros: i64,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...).
    pub ip_proto: u8,
    pub ttl: u8,
    pub l4: Layer4,
    /// The packet's own payload (after the L4 header). `dsize` is its length.
    pub payload: &'a [u8],
    /// Reassembled stream data in this direction that is new since the last inspection
    /// (TCP only; `None` for packets that bring no new in-order data).
    pub stream: Option<&'a [u8]>,
    pub direction: Direction,
    /// The TCP session saw its three-way handshake (or was picked up mid-stream and is
    /// treated as established); UDP flows count as established once both sides spoke.
    pub established: bool,
    /// The flow's id as written in EVE `flow_id`.
    pub flow_id: u64,
    pub app_proto: AppProto,
    /// Application-layer transaction the buffers belong to, if any. Detection alerts at
    /// most once per rule and transaction.
    pub tx_id: Option<u64>,
    /// The buffers of that transaction available in this direction.
    pub buffers: &'a [(BufferKind, &'a [u8])],
    /// Decoder (and stream) events the packet raised.
    pub events: crate::decode::Events,
    /// The packet is not inspected as traffic: it failed decoding past its IP header,
    /// or it is a fragment waiting for reassembly. Only rules on its events and
    /// `pkthdr` rules match it.
    pub invalid: bool,
    /// The packet's IP header (IPv4 with options; the fixed IPv6 header) and transport
    /// header (TCP with options, UDP, the first 8 bytes of ICMP), for the `ipv4.hdr`,
    /// `tcp.hdr`, ... buffers and header keywords. Empty on transaction inputs.
    pub ip_header: &'a [u8],
    pub l4_header: &'a [u8],
    /// The flow's counters, this packet included (`flow.pkts`, `flow.bytes`,
    /// `flow.age`).
    pub flow_counts: FlowCounts,
}

/// Packets and bytes (whole frames) per direction (to server, to client), and the
/// flow's age in whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowCounts {
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub age_secs: u64,
}

impl Input<'_> {
    pub fn buffer(&self, kind: BufferKind) -> Option<&[u8]> {
        self.buffers
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| *b)
    }

    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.l4 {
            Layer4::Tcp {
                src_port, dst_port, ..
            }
            | Layer4::Udp { src_port, dst_port }
            | Layer4::Sctp { src_port, dst_port } => Some((src_port, dst_port)),
            _ => None,
        }
    }
}

/// Per-flow state owned by detection (flowbits, per-transaction "already alerted"
/// marks, per-flow thresholds). The flow table keeps one per flow and passes it back
/// on every call; detection alone reads and writes it.
#[derive(Debug, Clone, Default)]
pub struct FlowDetectState {
    /// Names of the flowbits set on this flow.
    pub flowbits: std::collections::BTreeSet<String>,
    /// (sid, tx_id) pairs that already alerted, so one transaction alerts once per rule.
    pub alerted_tx: std::collections::HashSet<(u32, u64)>,
    /// A `pass` rule matched: no further detection on this flow.
    pub passed: bool,
    /// Transaction rules whose buffers matched only in part so far:
    /// (rule index in the detector, tx_id) → bitmask of the rule's buffer groups that
    /// matched (request and response buffers come in different updates).
    pub tx_progress: std::collections::HashMap<(u32, u64), u64>,
    /// Transaction rules that also have packet-payload keywords, whose payload part
    /// matched on a packet or stream chunk of this flow (rule index in the detector).
    pub payload_matched: std::collections::HashSet<u32>,
    /// Per direction (to server, to client): the initial sequence number and the
    /// highest next sequence number seen, for `stream_size` (Suricata's stream size is
    /// `next_seq - isn`).
    pub tcp_seq: [Option<(u32, u32)>; 2],
    /// Per direction (to server, to client): IP-only rules were inspected already
    /// (Suricata inspects them once per flow and direction).
    pub ip_only_done: [bool; 2],
    /// `flowint` variables of this flow.
    pub flowints: std::collections::BTreeMap<String, u64>,
    /// Per direction (to server, to client): the last bytes of the TCP stream already
    /// inspected, so that payload keywords can match across segment boundaries (the
    /// detector uses the last 2 KiB; the buffer holds a few more, to be compacted
    /// only now and then).
    pub stream_tail: [Vec<u8>; 2],
    /// Per direction (to server, to client): packet rules whose fast pattern was found
    /// in recent stream data (rule index in the detector, new stream bytes since), so
    /// that they stay candidates while that data is in `stream_tail` and their other
    /// keywords can match data that arrives later.
    pub carried: [Vec<(u32, usize)>; 2],
    /// Per direction (to server, to client): the detector's rule group for the
    /// addresses and ports of this flow's inputs, chosen once per flow.
    pub group: [Option<FlowGroup>; 2],
}

/// The rule group a flow's inputs of one direction belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowGroup {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// (source, destination) ports; `None` for inputs without ports.
    pub ports: Option<(u16, u16)>,
    /// The group id; `None`: the ungrouped prefilters (group limit reached).
    pub group: Option<u32>,
}
