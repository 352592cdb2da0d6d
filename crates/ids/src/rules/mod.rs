//! The Suricata rule language: variables, the rule header, options, and the parser that
//! turns rule files into [`Rule`]s (or reports why a rule was skipped).
//!
//! A rule that uses anything outside the supported language is skipped and reported
//! ([`Skipped`]) with its sid, line and the keyword: it is never loaded with a
//! different meaning.

pub mod classification;
pub mod dataset;
pub mod header;
mod options;
mod vars;

pub use header::{AddrExpr, PortExpr};
pub(crate) use options::parse_uint as parse_uint_value;
pub use vars::{Vars, VarsError};

use crate::detect::input::{AppProto, BufferKind, Direction};
use std::collections::HashMap;

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Alert,
    Drop,
    Pass,
    Reject,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Drop => "drop",
            Action::Pass => "pass",
            Action::Reject => "reject",
        }
    }

    /// Suricata's default action order: pass, drop, reject, alert (lower goes first).
    pub fn order(self) -> u8 {
        match self {
            Action::Pass => 0,
            Action::Drop => 1,
            Action::Reject => 2,
            Action::Alert => 3,
        }
    }
}

/// The header protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// `ip`: any IP packet.
    Ip,
    Tcp,
    Udp,
    Sctp,
    /// ICMP or ICMPv6.
    Icmp,
    /// `icmpv4`: ICMP over IPv4 only.
    Icmpv4,
    /// `icmpv6`: ICMPv6 only.
    Icmpv6,
    /// `pkthdr`: any packet, also one that failed decoding past its IP header (for
    /// rules on decoder events).
    Pkthdr,
    /// An application protocol (`http`, `dns`, `tls`, `smtp`): only flows recognised
    /// as that protocol.
    App(AppProto),
}

/// The rule header: protocol, addresses, ports and direction.
#[derive(Debug, Clone)]
pub struct Header {
    pub proto: Proto,
    pub src: AddrExpr,
    pub src_ports: PortExpr,
    pub dst: AddrExpr,
    pub dst_ports: PortExpr,
    /// `<>`: either direction.
    pub bidirectional: bool,
    /// `=>`: a transactional rule over both directions of a transaction; the source is
    /// the transaction's client and the destination its server, whichever direction
    /// the input travels in.
    pub transactional: bool,
}

/// Which data a group of payload keywords inspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Buf {
    /// The packet payload and the reassembled stream (`pkt_data`, plain `content`).
    Payload,
    /// An application-layer buffer (sticky buffer or legacy modifier).
    Kind(BufferKind),
}

/// A comparison of an unsigned number, as in `dsize:>10`, `bsize:5<>10`, `ttl:<=64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UintMatch {
    Eq(u64),
    Ne(u64),
    Lt(u64),
    Le(u64),
    Gt(u64),
    Ge(u64),
    /// Exclusive range: `a<>b` or `a-b` means `a < x < b`.
    Between(u64, u64),
}

impl UintMatch {
    pub fn matches(self, x: u64) -> bool {
        match self {
            UintMatch::Eq(a) => x == a,
            UintMatch::Ne(a) => x != a,
            UintMatch::Lt(a) => x < a,
            UintMatch::Le(a) => x <= a,
            UintMatch::Gt(a) => x > a,
            UintMatch::Ge(a) => x >= a,
            UintMatch::Between(a, b) => a < x && x < b,
        }
    }
}

/// `content` and its modifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub pattern: Vec<u8>,
    pub nocase: bool,
    pub negated: bool,
    pub offset: u32,
    pub depth: Option<u32>,
    pub distance: Option<i32>,
    pub within: Option<u32>,
    pub startswith: bool,
    pub endswith: bool,
    /// `fast_pattern` was given explicitly; with `fast_pattern:offset,length` the chop.
    pub fast_pattern: Option<Option<(usize, usize)>>,
}

impl Content {
    /// Whether it is anchored at the end of the previous match in its buffer.
    pub fn relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// Number encoding for `byte_test` / `byte_jump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumFormat {
    Big,
    Little,
    /// ASCII digits in a base (8, 10, 16).
    String(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOp {
    Lt,
    Gt,
    Eq,
    Le,
    Ge,
    And,
    Xor,
}

/// Variables a rule's `byte_extract` / `byte_math` keywords can set (per rule).
pub const MAX_BYTE_VARS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteTest {
    pub nbytes: usize,
    pub op: ByteOp,
    pub negated: bool,
    pub value: u64,
    /// The value is this `byte_extract` / `byte_math` variable instead.
    pub value_var: Option<u8>,
    pub offset: i64,
    pub relative: bool,
    pub format: NumFormat,
    pub bitmask: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteJump {
    pub nbytes: usize,
    /// The number of bytes is this variable instead.
    pub nbytes_var: Option<u8>,
    pub offset: i64,
    pub relative: bool,
    pub multiplier: u64,
    pub format: NumFormat,
    pub align: bool,
    pub from_beginning: bool,
    pub from_end: bool,
    pub post_offset: i64,
    pub bitmask: Option<u64>,
}

/// `byte_extract:nbytes,offset,name[,relative][,multiplier N][,big|little]
/// [,string[,hex|dec|oct]][,align N][,bitmask N]`: reads a number into a variable and
/// moves the relative position past it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteExtract {
    pub nbytes: usize,
    pub offset: i64,
    pub relative: bool,
    pub multiplier: u64,
    pub format: NumFormat,
    pub align: u8,
    pub bitmask: Option<u64>,
    pub var: u8,
}

/// `byte_math` operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathOp {
    Add,
    Sub,
    Mul,
    Div,
    Shl,
    Shr,
}

/// `byte_math:bytes N|var, offset N, oper OP, rvalue N|var, result name[, relative]
/// [, endian big|little][, string hex|dec|oct][, bitmask N]`: a number read from the
/// buffer combined with a value, into a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteMath {
    pub nbytes: usize,
    pub nbytes_var: Option<u8>,
    pub offset: i64,
    pub op: MathOp,
    pub rvalue: u64,
    pub rvalue_var: Option<u8>,
    pub relative: bool,
    pub format: NumFormat,
    pub bitmask: Option<u64>,
    pub var: u8,
}

/// `pcre` with its flags.
#[derive(Debug, Clone)]
pub struct Pcre {
    pub regex: pcre2::bytes::Regex,
    pub source: String,
    pub negated: bool,
    pub relative: bool,
}

/// One payload keyword, inspected in the order written within its buffer.
#[derive(Debug, Clone)]
pub enum Item {
    Content(Content),
    Pcre(Pcre),
    /// `isdataat:[!]n[,relative]`.
    IsDataAt {
        n: u32,
        relative: bool,
        negated: bool,
    },
    /// `bsize` (and `urilen`): the buffer's length.
    Bsize(UintMatch),
    ByteTest(ByteTest),
    ByteJump(ByteJump),
    ByteExtract(ByteExtract),
    ByteMath(ByteMath),
    /// `dataset` / `datarep` on the (transformed) buffer.
    Dataset(dataset::DatasetOp),
    /// `base64_decode:[bytes N][, offset M][, relative]`, with the keywords that follow
    /// `base64_data` (matched against the decoded data).
    Base64Decode {
        bytes: Option<u32>,
        offset: u32,
        relative: bool,
        then: Vec<Item>,
    },
    /// The whole buffer is (`negated`: is not) one of the values of a list loaded from
    /// a file (`filemd5`, `filesha1`, `filesha256` hash lists).
    InList {
        list: std::sync::Arc<ValueList>,
        negated: bool,
    },
}

/// Values loaded from a file a rule names, resolved against the rule file's folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueList {
    /// The file as the rule names it.
    pub file: String,
    /// Loaded from the file (empty until the rule file's folder is known).
    pub loaded: bool,
    pub values: std::collections::HashSet<Vec<u8>>,
}

/// A transform: rewrites a sticky buffer before its keywords inspect it (applied in
/// the order written; see `detect::transform`).
#[derive(Debug, Clone)]
pub enum Transform {
    /// `url_decode`: `%XX` escapes and `+` as a space.
    UrlDecode,
    StripWhitespace,
    /// `compress_whitespace`: each run of whitespace becomes one space.
    CompressWhitespace,
    ToLowercase,
    ToUppercase,
    /// `header_lowercase`: header names (before each line's `:`) in lower case.
    HeaderLowercase,
    /// `to_md5`, `to_sha1`, `to_sha256`: the raw digest of the buffer.
    ToMd5,
    ToSha1,
    ToSha256,
    /// `from_base64:[bytes N][, offset N][, mode rfc4648|rfc2045|strict]`.
    FromBase64 {
        bytes: Option<u32>,
        offset: u32,
        mode: Base64Mode,
    },
    /// `pcrexform:"re"`: the first capture group of the first match (the buffer as is
    /// when the expression does not match).
    Pcrexform(pcre2::bytes::Regex),
    /// `xor:"hexkey"`: each byte XOR the key, repeated.
    Xor(Vec<u8>),
    /// `gunzip[:max-size N]`, `zlib_deflate[:max-size N]`: decompressed, at most N bytes
    /// (1024 by default).
    Gunzip {
        max_size: u32,
    },
    ZlibDeflate {
        max_size: u32,
    },
}

/// How `from_base64` treats characters outside the alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Mode {
    /// Decoding stops at the first one (the default).
    Rfc4648,
    /// They are skipped.
    Rfc2045,
    /// The decoding fails: nothing to inspect.
    Strict,
}

/// The payload keywords that inspect one buffer.
#[derive(Debug, Clone)]
pub struct Group {
    pub buf: Buf,
    /// `dotprefix` transform: inspect `.` + buffer.
    pub dotprefix: bool,
    /// Other transforms, applied in order before `dotprefix`. A transform written after
    /// a buffer's content keywords starts a new group on the same buffer: the keywords
    /// before it inspect the buffer as it was.
    pub transforms: Vec<Transform>,
    /// `absent`: the group matches when the buffer is absent from the input
    /// (`Some(false)`: only then; `Some(true)`, `absent: or_else`: or when its keywords
    /// match the buffer).
    pub absent: Option<bool>,
    pub items: Vec<Item>,
}

/// The direction a flow counter keyword looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowDir {
    ToServer,
    ToClient,
    /// Either direction's counter matches.
    Either,
    /// Both directions' counters match.
    Both,
}

/// `flow:` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowOpts {
    pub direction: Option<Direction>,
    pub established: Option<bool>,
    pub stream: StreamMode,
}

/// Which payload a packet rule inspects (`only_stream`, `no_stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamMode {
    #[default]
    Both,
    OnlyStream,
    NoStream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowbitOp {
    Set,
    Unset,
    Toggle,
    IsSet,
    IsNotSet,
}

/// `flowbits:op,name[|name...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flowbit {
    pub op: FlowbitOp,
    pub names: Vec<String>,
}

/// `flowint:name,op[,value]`: an integer variable of the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flowint {
    pub name: String,
    pub op: FlowintOp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowintOp {
    /// `=`: set (after the rule matched).
    Set(u64),
    /// `+`: add (after the rule matched; an unset variable counts from 0).
    Add(u64),
    /// `-`: subtract, not below 0 (after the rule matched).
    Sub(u64),
    /// A condition: `==`, `!=`, `<`, `<=`, `>`, `>=` on a set variable.
    Compare(UintMatch),
    IsSet,
    NotSet,
}

/// What an `xbits` bit is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XbitTrack {
    IpSrc,
    IpDst,
    /// The pair of addresses, in either direction.
    IpPair,
}

/// `xbits:op,name,track ip_src|ip_dst|ip_pair[,expire N]`: bits kept per host or host
/// pair across flows, for `expire` seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xbit {
    pub op: FlowbitOp,
    pub name: String,
    pub track: XbitTrack,
    pub expire: u32,
}

/// `stream_size:side,op,N`: the TCP stream's size by sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamSide {
    Server,
    Client,
    Both,
    Either,
}

/// `flags:` on the TCP flags byte: `(flags & !ignore) OP bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFlags {
    pub bits: u8,
    pub ignore: u8,
    pub mode: FlagsMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagsMode {
    /// Exactly these (after the ignore mask).
    Exact,
    /// `+`: these and possibly others.
    All,
    /// `*`: any of these.
    Any,
    /// `!`: none of these.
    Not,
}

impl TcpFlags {
    pub fn matches(self, flags: u8) -> bool {
        let f = flags & !self.ignore;
        match self.mode {
            FlagsMode::Exact => f == self.bits,
            FlagsMode::All => f & self.bits == self.bits,
            FlagsMode::Any => f & self.bits != 0,
            FlagsMode::Not => f & self.bits == 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdKind {
    Limit,
    Threshold,
    Both,
    /// `detection_filter`.
    DetectionFilter,
    /// `type backoff, track by_flow, count N, multiplier M`: the N-th match of a flow
    /// alerts, then the (N*M)-th, (N*M*M)-th, ...
    Backoff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    BySrc,
    ByDst,
    ByRule,
    ByBoth,
    ByFlow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    pub kind: ThresholdKind,
    pub track: Track,
    pub count: u32,
    pub seconds: u32,
    /// `unique_on src_port|dst_port` (detection_filter): count distinct ports only.
    pub unique_on: Option<UniqueOn>,
    /// `multiplier` of `type backoff` (0 otherwise).
    pub multiplier: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueOn {
    SrcPort,
    DstPort,
}

/// `tag:session|host[,count,packets|seconds|bytes[,src|dst]]`: Suricata logs the packets
/// that follow an alert on the session or host. Parsed and kept on the rule; it does
/// not change alerts (Suricata writes tagged packets as EVE `packet` records, which
/// this engine does not write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub host: bool,
    pub count: u32,
    pub metric: TagMetric,
    /// For host tags: tag the destination host instead of the source.
    pub dst: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMetric {
    Packets,
    Seconds,
    Bytes,
}

/// `target:src_ip|dest_ip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Src,
    Dest,
}

/// `app-layer-protocol:[!]name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppProtoMatch {
    pub proto: AppProto,
    pub negated: bool,
}

/// One loaded rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub action: Action,
    pub header: Header,
    pub gid: u32,
    pub sid: u32,
    pub rev: u32,
    pub msg: String,
    pub classtype: Option<String>,
    /// The category EVE shows: the classtype's description, or empty.
    pub category: String,
    /// `priority`, else the classtype's, else 3. EVE's `alert.severity`.
    pub priority: u8,
    pub references: Vec<String>,
    pub metadata: Vec<String>,
    pub target: Option<Target>,
    pub tags: Vec<Tag>,
    pub flow: FlowOpts,
    /// The rule has a `flow` keyword (even `flow:stateless`).
    pub flow_keyword: bool,
    pub flowbits: Vec<Flowbit>,
    pub xbits: Vec<Xbit>,
    pub flowints: Vec<Flowint>,
    /// `flowbits:noalert`, `xbits:noalert` or `noalert`.
    pub noalert: bool,
    /// `alert` on a `pass` rule: the pass is also logged as an alert.
    pub pass_alert: bool,
    pub stream_size: Option<(StreamSide, UintMatch)>,
    pub dsize: Option<UintMatch>,
    /// `tcp.mss`: the MSS option of the TCP header (packets without one do not match).
    pub tcp_mss: Option<UintMatch>,
    /// `ip_proto:[!<>]N`: the IP protocol number.
    pub ip_proto: Option<UintMatch>,
    /// The `flow_start` packet hook (`tcp:flow_start`, `ip:flow_start`): only the
    /// first packet of each direction of a flow.
    pub flow_start: bool,
    /// IPv4 header keywords: `id:N`, `tos:[!]N`, `fragbits:[+*!]MDR` (M=1, D=2, R=4 in
    /// the flag set), `fragoffset:[!<>]N` (bytes). `window:[!]N`: the TCP window.
    pub ip_id: Option<u16>,
    pub tos: Option<(bool, u8)>,
    pub fragbits: Option<TcpFlags>,
    pub fragoffset: Option<UintMatch>,
    pub tcp_window: Option<(bool, u16)>,
    /// `seq:N` / `ack:N`: the TCP sequence / acknowledgement number.
    pub tcp_seq: Option<u32>,
    pub tcp_ack: Option<u32>,
    /// `flow.pkts`, `flow.bytes` (per direction), `flow.age` (seconds).
    pub flow_pkts: Vec<(FlowDir, UintMatch)>,
    pub flow_bytes: Vec<(FlowDir, UintMatch)>,
    pub flow_age: Option<UintMatch>,
    /// `icmp_id` / `icmp_seq`: of ICMP echo (and other query) messages.
    pub icmp_id: Option<u16>,
    pub icmp_seq: Option<u16>,
    pub ttl: Option<UintMatch>,
    pub itype: Option<UintMatch>,
    pub icode: Option<UintMatch>,
    pub flags: Option<TcpFlags>,
    pub app_proto: Vec<AppProtoMatch>,
    /// `decode-event` / `stream-event`: events the packet must have raised (all).
    pub events: Vec<crate::decode::Event>,
    pub threshold: Option<Threshold>,
    pub detection_filter: Option<Threshold>,
    /// Payload keywords grouped by the buffer they inspect, in the order written.
    pub groups: Vec<Group>,
    /// Where the rule came from.
    pub file: String,
    pub line: usize,
}

impl Rule {
    /// Whether the rule is evaluated on transaction inputs (once per transaction): it
    /// inspects application-layer buffers (Suricata's `app_tx` type). A rule that only
    /// names an application protocol in its header (`alert http ...`) is Suricata's
    /// `app_layer` type, inspected per packet of flows of that protocol.
    pub fn is_tx_rule(&self) -> bool {
        self.groups
            .iter()
            .any(|g| matches!(g.buf, Buf::Kind(k) if !k.is_packet_header()))
    }

    /// Whether the rule is Suricata's `ip_only` type, inspected once per flow and
    /// direction (on its first packet): only addresses (without negation) and
    /// protocol, `any` ports, no payload, no `flow` keyword, and no keyword that must
    /// look at each packet (flowbits checks, dsize, ttl, flags, ...).
    pub fn is_ip_only(&self) -> bool {
        fn negation_free(e: &AddrExpr) -> bool {
            match e {
                AddrExpr::Any | AddrExpr::Range(..) => true,
                AddrExpr::Not(_) => false,
                AddrExpr::List(items) => items.iter().all(negation_free),
            }
        }
        let reads_bits = self
            .flowbits
            .iter()
            .map(|f| f.op)
            .chain(self.xbits.iter().map(|x| x.op))
            .any(|op| matches!(op, FlowbitOp::IsSet | FlowbitOp::IsNotSet));
        self.groups.is_empty()
            && !self.flow_keyword
            && !matches!(self.header.proto, Proto::App(_) | Proto::Pkthdr)
            && self.events.is_empty()
            && self.header.src_ports == PortExpr::Any
            && self.header.dst_ports == PortExpr::Any
            && negation_free(&self.header.src)
            && negation_free(&self.header.dst)
            && !reads_bits
            && self.flowints.is_empty()
            && self.dsize.is_none()
            && self.tcp_mss.is_none()
            && self.ip_proto.is_none()
            && self.icmp_id.is_none()
            && self.icmp_seq.is_none()
            && self.flow_pkts.is_empty()
            && !self.flow_start
            && self.tcp_seq.is_none()
            && self.ip_id.is_none()
            && self.tos.is_none()
            && self.fragbits.is_none()
            && self.fragoffset.is_none()
            && self.tcp_window.is_none()
            && self.tcp_ack.is_none()
            && self.flow_bytes.is_empty()
            && self.flow_age.is_none()
            && self.ttl.is_none()
            && self.itype.is_none()
            && self.icode.is_none()
            && self.flags.is_none()
            && self.stream_size.is_none()
            && self.app_proto.is_empty()
    }

    /// Whether it has `fragbits` or `fragoffset`: it is also evaluated on fragments
    /// waiting for reassembly.
    pub fn fragment_keywords(&self) -> bool {
        self.fragbits.is_some() || self.fragoffset.is_some()
    }

    /// Whether the rule inspects buffers of both directions of a transaction (request
    /// and response), which come in different inputs.
    pub fn is_cross_direction(&self) -> bool {
        let mut dirs = self.groups.iter().filter_map(|g| match g.buf {
            Buf::Kind(k) => buffer_direction(k),
            Buf::Payload => None,
        });
        match dirs.next() {
            Some(first) => dirs.any(|d| d != first),
            None => false,
        }
    }
}

/// The direction a buffer's data travels in, when it has only one.
pub fn buffer_direction(k: BufferKind) -> Option<Direction> {
    use BufferKind as K;
    match k {
        K::HttpStatCode
        | K::HttpStatMsg
        | K::HttpResponseLine
        | K::HttpResponseBody
        | K::HttpLocation
        | K::HttpServer
        | K::TlsCertSubject
        | K::TlsCertIssuer
        | K::TlsCertSerial
        | K::TlsCertFingerprint
        | K::TlsCerts
        | K::Ja3sHash
        | K::Ja3sString => Some(Direction::ToClient),
        K::HttpUri
        | K::HttpUriRaw
        | K::HttpMethod
        | K::HttpRequestLine
        | K::HttpHost
        | K::HttpHostRaw
        | K::HttpUserAgent
        | K::HttpCookie
        | K::HttpReferer
        | K::HttpAccept
        | K::HttpAcceptLang
        | K::HttpAcceptEnc
        | K::HttpRequestBody
        | K::DnsQuery
        | K::TlsSni
        | K::Ja3Hash
        | K::Ja3String
        | K::SmtpHelo
        | K::SmtpMailFrom
        | K::SmtpRcptTo => Some(Direction::ToServer),
        K::HttpProtocol
        | K::HttpHeader
        | K::HttpHeaderRaw
        | K::HttpHeaderNames
        | K::HttpContentType
        | K::HttpContentLen
        | K::HttpConnection
        | K::HttpStart
        | K::FileData
        | K::TlsVersion
        | K::Ipv4Hdr
        | K::Ipv6Hdr
        | K::TcpHdr
        | K::UdpHdr
        | K::Icmpv4Hdr
        | K::Icmpv6Hdr
        | K::IpSrc
        | K::IpDst => None,
        K::App(b) => b.direction(),
    }
}

/// A rule that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub file: String,
    pub line: usize,
    pub sid: Option<u32>,
    /// For example "unsupported keyword `byte_math`".
    pub reason: String,
    /// The unsupported keyword (or protocol), when that is the reason; `None` for a
    /// malformed rule.
    pub keyword: Option<String>,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(sid) = self.sid {
            write!(f, "sid {sid}: ")?;
        }
        f.write_str(&self.reason)
    }
}

/// The outcome of parsing rule files: the rules loaded and the ones skipped.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub skipped: Vec<Skipped>,
}

impl RuleSet {
    /// Adds another file's outcome, with the same handling of duplicate signatures as
    /// within one file (see [`RuleSet::push`]).
    pub fn extend(&mut self, other: RuleSet) {
        let mut index = self.index();
        for r in other.rules {
            self.push(r, &mut index);
        }
        self.skipped.extend(other.skipped);
    }

    fn index(&self) -> HashMap<(u32, u32), usize> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.gid, r.sid), i))
            .collect()
    }

    /// Adds a rule. As in Suricata, a second rule with the same gid and sid is a
    /// duplicate: the one with the higher rev stays, the other is reported as skipped.
    fn push(&mut self, rule: Rule, index: &mut HashMap<(u32, u32), usize>) {
        let Some(&i) = index.get(&(rule.gid, rule.sid)) else {
            index.insert((rule.gid, rule.sid), self.rules.len());
            self.rules.push(rule);
            return;
        };
        let (kept, dropped) = if rule.rev > self.rules[i].rev {
            let old = std::mem::replace(&mut self.rules[i], rule);
            (&self.rules[i], old)
        } else {
            (&self.rules[i], rule)
        };
        let reason = format!(
            "duplicate signature gid {} sid {}: rev {} at {}:{} is kept",
            kept.gid, kept.sid, kept.rev, kept.file, kept.line
        );
        self.skipped.push(Skipped {
            file: dropped.file.clone(),
            line: dropped.line,
            sid: Some(dropped.sid),
            reason,
            keyword: None,
        });
    }
}

/// Reads a file that a rule names (`dataset ... load FILE`, the hash list of
/// `filemd5:FILE`), by the name written in the rule: its text, `Ok(None)` when it does
/// not exist, or an error. The engine does no I/O: the caller decides where files are
/// found (the binary: next to the rule file) and how large they may be.
pub type DataFiles<'a> = &'a dyn Fn(&str) -> Result<Option<String>, String>;

/// What the rules of one file share while they are parsed: how data files are read,
/// and the datasets by name.
pub(crate) struct ParseCtx<'a> {
    pub files: DataFiles<'a>,
    pub datasets: HashMap<String, std::sync::Arc<dataset::Dataset>>,
}

/// No data files: a rule that loads one is skipped, saying so.
fn no_data_files(name: &str) -> Result<Option<String>, String> {
    Err(format!(
        "no data files are available to read `{name}` (the rules were given as text alone)"
    ))
}

/// Why one rule could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleError {
    pub reason: String,
    pub keyword: Option<String>,
}

impl RuleError {
    pub(crate) fn malformed(reason: impl Into<String>) -> RuleError {
        RuleError {
            reason: reason.into(),
            keyword: None,
        }
    }

    pub(crate) fn unsupported(what: &str, name: &str) -> RuleError {
        RuleError {
            reason: format!("unsupported {what} `{name}`"),
            keyword: Some(name.to_string()),
        }
    }
}

/// Parses rule files (comments, blank lines, `\` continuations); never panics.
pub fn parse_rules(file: &str, text: &str, vars: &Vars) -> RuleSet {
    parse_rules_with_files(file, text, vars, &no_data_files)
}

/// As [`parse_rules`], reading the files rules name (datasets, hash lists) with
/// `files`.
pub fn parse_rules_with_files(
    file: &str,
    text: &str,
    vars: &Vars,
    files: DataFiles<'_>,
) -> RuleSet {
    let mut loader = Loader {
        file,
        vars,
        ctx: ParseCtx {
            files,
            datasets: HashMap::new(),
        },
        set: RuleSet::default(),
        index: HashMap::new(),
    };
    let mut pending = String::new();
    let mut start_line = 0;
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx + 1;
        let trimmed = line.trim();
        if pending.is_empty() {
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            start_line = line_no;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            pending.push_str(body);
            continue;
        }
        pending.push_str(trimmed);
        let rule_text = std::mem::take(&mut pending);
        loader.load_one(start_line, &rule_text);
    }
    if !pending.is_empty() {
        loader.load_one(start_line, &pending);
    }
    loader.set
}

/// What loading the rules of one file carries from rule to rule.
struct Loader<'a> {
    file: &'a str,
    vars: &'a Vars,
    ctx: ParseCtx<'a>,
    set: RuleSet,
    index: HashMap<(u32, u32), usize>,
}

impl Loader<'_> {
    fn load_one(&mut self, line: usize, text: &str) {
        let files = self.ctx.files;
        let parsed = options::parse_rule(text, self.vars, &mut self.ctx).and_then(|mut rule| {
            crate::app::keywords::load_lists(&mut rule, files).map_err(|e| (Some(rule.sid), e))?;
            Ok(rule)
        });
        match parsed {
            Ok(mut rule) => {
                rule.file = self.file.to_string();
                rule.line = line;
                self.set.push(rule, &mut self.index);
            }
            Err((sid, err)) => self.set.skipped.push(Skipped {
                file: self.file.to_string(),
                line,
                sid,
                reason: err.reason,
                keyword: err.keyword,
            }),
        }
    }
}

/// Parses one rule (header and options, continuations already joined).
pub fn parse_rule(text: &str, vars: &Vars) -> Result<Rule, Skipped> {
    let mut ctx = ParseCtx {
        files: &no_data_files,
        datasets: HashMap::new(),
    };
    options::parse_rule(text, vars, &mut ctx).map_err(|(sid, err)| Skipped {
        file: String::new(),
        line: 0,
        sid,
        reason: err.reason,
        keyword: err.keyword,
    })
}
