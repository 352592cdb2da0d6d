//! The one registry between rule keywords and application-layer parsers.
//!
//! Every parser exposes what rules may inspect as buffers of its transactions: byte
//! strings ([`AppBuf`] kinds such as `ssh.software` or `sip.via`), numbers (a field such
//! as `krb5_msg_type` is an 8-byte big-endian buffer, and its keyword becomes
//! `byte_test`s on it), and the transaction's anomaly events (one `AppBuf::Event`
//! buffer per event, holding its `proto.name`, matched by `app-layer-event`). Rule
//! parsing asks this module, and only this module, what a keyword means: which
//! protocol name a rule header may use ([`header_proto`]), which buffer a sticky
//! buffer names ([`sticky`]), and which items a value keyword stands for
//! ([`keyword`]). Detection then needs nothing protocol-specific.

use crate::detect::{AppProto, BufferKind, Direction};
use crate::rules::{
    Buf, ByteOp, ByteTest, Content, DataFiles, Item, NumFormat, Rule, RuleError, UintMatch,
    ValueList,
};

/// A buffer of a parser registered here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AppBuf {
    /// One anomaly event of the transaction (`tls.invalid_handshake_message`).
    Event,
    TlsRandom,
    TlsRandomTime,
    TlsRandomBytes,
    TlsSubjectAltName,
    /// JA4 of the ClientHello.
    Ja4Hash,
    SshProto,
    SshSoftware,
    SshHassh,
    SshHasshString,
    SshHasshServer,
    SshHasshServerString,
    SipMethod,
    SipUri,
    SipRequestLine,
    SipStatCode,
    SipStatMsg,
    SipResponseLine,
    SipFrom,
    SipTo,
    SipVia,
    SipUserAgent,
    SipContentType,
    SipContentLength,
    /// Numbers (8 bytes, big-endian).
    Krb5MsgType,
    Krb5ErrCode,
    Krb5Cname,
    Krb5Sname,
    Krb5TicketEtype,
    /// 1 when the ticket's encryption is weak, else 0.
    Krb5TicketWeak,
    /// A frame of a parser that cuts frames ([`super::frames`]).
    Frame(super::frames::FrameKind),
    HttpRequestHeader,
    HttpResponseHeader,
    /// Files of a transaction ([`super::files`]); the size is a number.
    FileName,
    FileMagic,
    FileSize,
    FileMd5,
    FileSha1,
    FileSha256,
    SmbVersion,
    SmbShare,
    SmbNamedPipe,
    /// Accepted interfaces of a DCERPC call (see [`super::dcerpc`]).
    DcerpcIface,
    DcerpcIfaceAnyFrag,
    DcerpcOpnum,
    DcerpcStubData,
    FtpCommand,
    FtpCommandData,
    FtpReply,
    FtpCompletionCode,
    FtpdataCommand,
    QuicVersion,
    Ikev2ExchangeType,
    WebSocketOpcode,
    WebSocketFlags,
    WebSocketMask,
    WebSocketPayload,
    RfbSecType,
    RfbSecResult,
    RfbName,
    DnsQueriesRrname,
    DnsAnswersRrname,
    /// Query and answer names of responses.
    DnsResponseRrname,
    NtpVersion,
    NtpMode,
    NtpStratum,
    NtpReferenceId,
    DhcpLeaseTime,
    DhcpRenewalTime,
    DhcpRebindingTime,
}

impl AppBuf {
    /// The protocol whose transactions have this buffer (`None`: any protocol).
    pub fn proto(self) -> Option<AppProto> {
        use AppBuf as B;
        Some(match self {
            B::Frame(f) => f.proto(),
            B::Event
            | B::FileName
            | B::FileMagic
            | B::FileSize
            | B::FileMd5
            | B::FileSha1
            | B::FileSha256
            // DCERPC runs over TCP and inside SMB.
            | B::DcerpcIface
            | B::DcerpcIfaceAnyFrag
            | B::DcerpcOpnum
            | B::DcerpcStubData => return None,
            B::SmbVersion | B::SmbShare | B::SmbNamedPipe => AppProto::Smb,
            B::FtpCommand | B::FtpCommandData | B::FtpReply | B::FtpCompletionCode => {
                AppProto::Ftp
            }
            B::QuicVersion => AppProto::Quic,
            B::Ikev2ExchangeType => AppProto::Ikev2,
            B::RfbSecType | B::RfbSecResult | B::RfbName => AppProto::Rfb,
            B::WebSocketOpcode | B::WebSocketFlags | B::WebSocketMask | B::WebSocketPayload => {
                AppProto::WebSocket
            }
            B::DnsQueriesRrname | B::DnsAnswersRrname | B::DnsResponseRrname => AppProto::Dns,
            B::FtpdataCommand => AppProto::FtpData,
            B::NtpVersion | B::NtpMode | B::NtpStratum | B::NtpReferenceId => AppProto::Ntp,
            B::DhcpLeaseTime | B::DhcpRenewalTime | B::DhcpRebindingTime => AppProto::Dhcp,
            B::HttpRequestHeader | B::HttpResponseHeader => AppProto::Http,
            B::TlsRandom
            | B::TlsRandomTime
            | B::TlsRandomBytes
            | B::TlsSubjectAltName
            | B::Ja4Hash => AppProto::Tls,
            B::SshProto
            | B::SshSoftware
            | B::SshHassh
            | B::SshHasshString
            | B::SshHasshServer
            | B::SshHasshServerString => AppProto::Ssh,
            B::SipMethod
            | B::SipUri
            | B::SipRequestLine
            | B::SipStatCode
            | B::SipStatMsg
            | B::SipResponseLine
            | B::SipFrom
            | B::SipTo
            | B::SipVia
            | B::SipUserAgent
            | B::SipContentType
            | B::SipContentLength => AppProto::Sip,
            B::Krb5MsgType
            | B::Krb5ErrCode
            | B::Krb5Cname
            | B::Krb5Sname
            | B::Krb5TicketEtype
            | B::Krb5TicketWeak => AppProto::Krb5,
        })
    }
}

impl AppBuf {
    /// The direction the buffer's data travels in, when it has only one.
    pub fn direction(self) -> Option<Direction> {
        use AppBuf as B;
        match self {
            // Principal names are inspected on requests only, as Suricata does.
            B::SshHassh
            | B::SshHasshString
            | B::HttpRequestHeader
            | B::Krb5Cname
            | B::Krb5Sname => Some(Direction::ToServer),
            B::HttpResponseHeader | B::FtpReply | B::FtpCompletionCode => Some(Direction::ToClient),
            B::SshHasshServer | B::SshHasshServerString | B::TlsSubjectAltName => {
                Some(Direction::ToClient)
            }
            _ => None,
        }
    }
}

/// Buffers that a transaction may have several of (files, DNS names, certificates,
/// headers): naming one again in a rule starts a new instance, which may match another
/// of them.
pub fn multi_instance(k: BufferKind) -> bool {
    use AppBuf as B;
    match k {
        BufferKind::FileData | BufferKind::DnsQuery | BufferKind::TlsCerts => true,
        BufferKind::App(b) => matches!(
            b,
            B::FileName
                | B::FileMagic
                | B::DnsQueriesRrname
                | B::DnsAnswersRrname
                | B::DnsResponseRrname
                | B::Krb5Cname
                | B::Krb5Sname
                | B::HttpRequestHeader
                | B::HttpResponseHeader
                | B::TlsSubjectAltName
        ),
        _ => false,
    }
}

/// A number field as the buffer detection reads.
pub fn num_buf(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

/// Protocol names a rule header (or `app-layer-protocol`) may use beyond the core ones.
pub fn header_proto(name: &str) -> Option<AppProto> {
    Some(match name {
        "ssh" => AppProto::Ssh,
        "sip" => AppProto::Sip,
        "krb5" => AppProto::Krb5,
        "smb" => AppProto::Smb,
        "dcerpc" => AppProto::Dcerpc,
        "ftp" => AppProto::Ftp,
        "ftp-data" => AppProto::FtpData,
        "ntp" => AppProto::Ntp,
        "dhcp" => AppProto::Dhcp,
        "tftp" => AppProto::Tftp,
        "quic" => AppProto::Quic,
        "ikev2" | "ike" => AppProto::Ikev2,
        "rfb" => AppProto::Rfb,
        "websocket" => AppProto::WebSocket,
        _ => return None,
    })
}

/// Sticky buffers of registered parsers.
pub fn sticky(kw: &str) -> Option<BufferKind> {
    use AppBuf as B;
    let b = match kw {
        "tls.random" => B::TlsRandom,
        "tls.random_time" => B::TlsRandomTime,
        "tls.random_bytes" => B::TlsRandomBytes,
        "tls.subjectaltname" => B::TlsSubjectAltName,
        "ja4.hash" => B::Ja4Hash,
        "ssh.proto" | "ssh_proto" => B::SshProto,
        "ssh.software" | "ssh_software" => B::SshSoftware,
        "ssh.hassh" => B::SshHassh,
        "ssh.hassh.string" => B::SshHasshString,
        "ssh.hassh.server" => B::SshHasshServer,
        "ssh.hassh.server.string" => B::SshHasshServerString,
        "sip.method" => B::SipMethod,
        "sip.uri" => B::SipUri,
        "sip.request_line" => B::SipRequestLine,
        "sip.stat_code" => B::SipStatCode,
        "sip.stat_msg" => B::SipStatMsg,
        "sip.response_line" => B::SipResponseLine,
        "sip.from" => B::SipFrom,
        "sip.to" => B::SipTo,
        "sip.via" => B::SipVia,
        "sip.user_agent" => B::SipUserAgent,
        "sip.content_type" => B::SipContentType,
        "sip.content_length" => B::SipContentLength,
        "krb5.cname" | "krb5_cname" => B::Krb5Cname,
        "krb5.sname" | "krb5_sname" => B::Krb5Sname,
        "http.request_header" => B::HttpRequestHeader,
        "http.response_header" => B::HttpResponseHeader,
        "file.name" | "file_name" => B::FileName,
        "smb.share" | "smb_share" => B::SmbShare,
        "smb.named_pipe" | "smb_named_pipe" => B::SmbNamedPipe,
        "dcerpc.stub_data" | "dce_stub_data" => B::DcerpcStubData,
        "ftp.command" => B::FtpCommand,
        "ftp.command_data" => B::FtpCommandData,
        "ftp.reply" => B::FtpReply,
        "ftp.completion_code" => B::FtpCompletionCode,
        "ntp.reference_id" => B::NtpReferenceId,
        "quic.version" => B::QuicVersion,
        "rfb.name" => B::RfbName,
        "websocket.payload" => B::WebSocketPayload,
        "dns.queries.rrname" => B::DnsQueriesRrname,
        "dns.answers.rrname" => B::DnsAnswersRrname,
        "dns.response.rrname" => B::DnsResponseRrname,
        _ => return None,
    };
    Some(BufferKind::App(b))
}

/// Value keywords of registered parsers: the buffer and the items they stand for.
/// `None`: not a registered keyword.
/// What a registered value keyword stands for.
pub(crate) enum KeywordUse {
    /// Items on a buffer.
    Items(BufferKind, Vec<Item>),
    /// A sticky buffer named by its value (`frame:dcerpc.pdu`): the keywords after it
    /// inspect that buffer.
    Sticky(BufferKind),
}

/// Value keywords of registered parsers; `proto` is the rule header's application
/// protocol, if any. `None`: not a registered keyword.
pub(crate) fn keyword(
    kw: &str,
    value: Option<&str>,
    proto: Option<AppProto>,
) -> Option<Result<KeywordUse, RuleError>> {
    if kw == "frame" {
        let name = value.map(str::trim).unwrap_or("");
        return Some(
            super::frames::frame_kind(name, proto)
                .map(|f| KeywordUse::Sticky(BufferKind::App(AppBuf::Frame(f))))
                .ok_or_else(|| RuleError::unsupported("frame", name)),
        );
    }
    value_keyword(kw, value).map(|r| r.map(|(k, items)| KeywordUse::Items(k, items)))
}

fn value_keyword(
    kw: &str,
    value: Option<&str>,
) -> Option<Result<(BufferKind, Vec<Item>), RuleError>> {
    let need = || {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| RuleError::malformed(format!("`{kw}` needs a value")))
    };
    let r = match kw {
        "app-layer-event" => need().and_then(event),
        "krb5_msg_type" => need().and_then(|v| number(kw, v, AppBuf::Krb5MsgType)),
        "krb5_err_code" => need().and_then(|v| number(kw, v, AppBuf::Krb5ErrCode)),
        "krb5.ticket_encryption" => need().and_then(|v| {
            let (neg, name) = match v.strip_prefix('!') {
                Some(r) => ("!", r.trim()),
                None => ("", v),
            };
            if name == "weak" {
                let want = if neg.is_empty() { "1" } else { "0" };
                return number(kw, want, AppBuf::Krb5TicketWeak);
            }
            let n = match super::krb5::etype_number(name) {
                Some(n) => n,
                None => name.parse().map_err(|_| {
                    RuleError::malformed(format!(
                        "`krb5.ticket_encryption`: unknown encryption type `{name}`"
                    ))
                })?,
            };
            number(kw, &format!("{neg}{n}"), AppBuf::Krb5TicketEtype)
        }),
        "smb.version" => need().and_then(|v| number(kw, v, AppBuf::SmbVersion)),
        "dcerpc.iface" | "dce_iface" => need().and_then(dce_iface),
        "ftpdata_command" => need().map(|v| {
            let c = exact(unquote(v).to_ascii_lowercase().into_bytes());
            (
                BufferKind::App(AppBuf::FtpdataCommand),
                vec![Item::Content(c)],
            )
        }),
        "rfb.sectype" => need().and_then(|v| number(kw, v, AppBuf::RfbSecType)),
        "websocket.mask" => need().and_then(|v| number(kw, v, AppBuf::WebSocketMask)),
        "websocket.opcode" => need().and_then(|v| {
            let (neg, name) = match v.strip_prefix('!') {
                Some(r) => ("!", r.trim()),
                None => ("", v),
            };
            match super::websocket::opcode_number(name) {
                Some(n) => number(kw, &format!("{neg}{n}"), AppBuf::WebSocketOpcode),
                None => number(kw, v, AppBuf::WebSocketOpcode),
            }
        }),
        // `fin`, `comp` (and combinations with `,`): those bits are set.
        "websocket.flags" => need().and_then(|v| {
            let mut bits = 0u64;
            for f in v.split(',').map(str::trim) {
                bits |= match f {
                    "fin" => 0x80,
                    "comp" => 0x40,
                    other => {
                        return Err(RuleError::unsupported("websocket.flags", other));
                    }
                };
            }
            let items = [0x80u64, 0x40]
                .into_iter()
                .filter(|b| bits & b != 0)
                .map(|b| {
                    Item::ByteTest(ByteTest {
                        nbytes: 8,
                        op: ByteOp::And,
                        negated: false,
                        value: b,
                        value_var: None,
                        offset: 0,
                        relative: false,
                        format: NumFormat::Big,
                        bitmask: None,
                    })
                })
                .collect();
            Ok((BufferKind::App(AppBuf::WebSocketFlags), items))
        }),
        "rfb.secresult" => need().and_then(|v| {
            let (neg, name) = match v.strip_prefix('!') {
                Some(r) => ("!", r.trim()),
                None => ("", v),
            };
            match super::rfb::result_number(name) {
                Some(n) => number(kw, &format!("{neg}{n}"), AppBuf::RfbSecResult),
                // `unknown`: any other value.
                None if name == "unknown" => {
                    let (_, mut items) = number(kw, ">2", AppBuf::RfbSecResult)?;
                    if !neg.is_empty() {
                        items = number(kw, "<3", AppBuf::RfbSecResult)?.1;
                    }
                    Ok((BufferKind::App(AppBuf::RfbSecResult), items))
                }
                None => number(kw, v, AppBuf::RfbSecResult),
            }
        }),
        "ikev2.exchtype" | "ike.exchtype" => {
            need().and_then(|v| number(kw, v, AppBuf::Ikev2ExchangeType))
        }
        "dcerpc.opnum" | "dce_opnum" => need().and_then(|v| number(kw, v, AppBuf::DcerpcOpnum)),
        "ntp.version" => need().and_then(|v| number(kw, v, AppBuf::NtpVersion)),
        "ntp.stratum" => need().and_then(|v| number(kw, v, AppBuf::NtpStratum)),
        "ntp.mode" => need().and_then(|v| {
            // A number or a mode name, optionally negated.
            let (neg, name) = match v.strip_prefix('!') {
                Some(r) => ("!", r.trim()),
                None => ("", v),
            };
            match super::ntp::mode_number(name) {
                Some(n) => number(kw, &format!("{neg}{n}"), AppBuf::NtpMode),
                None => number(kw, v, AppBuf::NtpMode),
            }
        }),
        "dhcp.leasetime" => need().and_then(|v| number(kw, v, AppBuf::DhcpLeaseTime)),
        "dhcp.renewal_time" => need().and_then(|v| number(kw, v, AppBuf::DhcpRenewalTime)),
        "dhcp.rebinding_time" => need().and_then(|v| number(kw, v, AppBuf::DhcpRebindingTime)),
        "filename" => need().map(|v| file_name(v, false)),
        "fileext" => need().map(|v| file_name(v, true)),
        "filesize" => need().and_then(|v| number(kw, v, AppBuf::FileSize)),
        "filemagic" => need().map(|v| {
            let (_, mut items) = file_name(v, false);
            (
                BufferKind::App(AppBuf::FileMagic),
                std::mem::take(&mut items),
            )
        }),
        "filemd5" => need().map(|v| list(v, AppBuf::FileMd5)),
        "filesha1" => need().map(|v| list(v, AppBuf::FileSha1)),
        "filesha256" => need().map(|v| list(v, AppBuf::FileSha256)),
        // Files are inspected, never extracted to disk: storing is accepted and has
        // no effect on detection.
        "filestore" => Ok((BufferKind::App(AppBuf::FileName), Vec::new())),
        "tls.fingerprint" => need().map(|v| {
            let c = exact(unquote(v).to_ascii_lowercase().into_bytes());
            (BufferKind::TlsCertFingerprint, vec![Item::Content(c)])
        }),
        _ => return None,
    };
    Some(r)
}

/// `dcerpc.iface:uuid[,<op>version][,any_frag]`: the call's presentation context was
/// accepted for that interface (and version).
fn dce_iface(v: &str) -> Result<(BufferKind, Vec<Item>), RuleError> {
    let mut parts = v.split(',').map(str::trim);
    let uuid = parts.next().unwrap_or("");
    let key = super::dcerpc::parse_uuid(uuid)
        .ok_or_else(|| RuleError::malformed(format!("`dcerpc.iface`: `{uuid}` is not a UUID")))?;
    let mut c = exact(key.to_vec());
    c.endswith = false;
    c.depth = Some(16);
    let mut items = vec![Item::Content(c)];
    let mut any_frag = false;
    for p in parts {
        if p == "any_frag" {
            any_frag = true;
            continue;
        }
        let (op, negated, n) = if let Some(n) = p.strip_prefix('=') {
            (ByteOp::Eq, false, n)
        } else if let Some(n) = p.strip_prefix('!') {
            (ByteOp::Eq, true, n)
        } else if let Some(n) = p.strip_prefix('<') {
            (ByteOp::Lt, false, n)
        } else if let Some(n) = p.strip_prefix('>') {
            (ByteOp::Gt, false, n)
        } else {
            return Err(RuleError::malformed(format!(
                "`dcerpc.iface`: unknown option `{p}` (expected <, >, =, ! and a version, or any_frag)"
            )));
        };
        let n: u16 = n.trim().parse().map_err(|_| {
            RuleError::malformed(format!("`dcerpc.iface`: `{n}` is not a version number"))
        })?;
        items.push(Item::ByteTest(ByteTest {
            nbytes: 2,
            op,
            negated,
            value: u64::from(n),
            value_var: None,
            offset: 16,
            relative: false,
            format: NumFormat::Big,
            bitmask: None,
        }));
    }
    let b = if any_frag {
        AppBuf::DcerpcIfaceAnyFrag
    } else {
        AppBuf::DcerpcIface
    };
    Ok((BufferKind::App(b), items))
}

/// `filename:"x"` (a case-insensitive part of the name) and `fileext:"pdf"` (the
/// name ends with `.pdf`, case-insensitive); `!` negates.
fn file_name(v: &str, ext: bool) -> (BufferKind, Vec<Item>) {
    let v = v.trim();
    let (v, negated) = match v.strip_prefix('!') {
        Some(r) => (r, true),
        None => (v, false),
    };
    let v = unquote(v);
    let mut c = exact(if ext {
        format!(".{v}").into_bytes()
    } else {
        v.as_bytes().to_vec()
    });
    c.startswith = false;
    c.endswith = ext;
    c.nocase = true;
    c.negated = negated;
    (BufferKind::App(AppBuf::FileName), vec![Item::Content(c)])
}

/// `filemd5:[!]file`: the file's hash is (not) in the list; loaded by [`load_lists`].
fn list(v: &str, b: AppBuf) -> (BufferKind, Vec<Item>) {
    let v = v.trim();
    let (v, negated) = match v.strip_prefix('!') {
        Some(r) => (r.trim(), true),
        None => (v, false),
    };
    let list = ValueList {
        file: unquote(v).to_string(),
        ..ValueList::default()
    };
    (
        BufferKind::App(b),
        vec![Item::InList {
            list: std::sync::Arc::new(list),
            negated,
        }],
    )
}

/// Loads the value lists a rule names, read by `files` (the caller's I/O): one hex
/// hash per line (anything after it on the line is ignored), `#` comments and blank
/// lines skipped.
pub(crate) fn load_lists(rule: &mut Rule, files: DataFiles<'_>) -> Result<(), RuleError> {
    for g in &mut rule.groups {
        let Buf::Kind(BufferKind::App(b)) = g.buf else {
            continue;
        };
        let digits = match b {
            AppBuf::FileMd5 => 32,
            AppBuf::FileSha1 => 40,
            AppBuf::FileSha256 => 64,
            _ => continue,
        };
        for item in &mut g.items {
            let Item::InList { list, .. } = item else {
                continue;
            };
            if list.loaded {
                continue;
            }
            let path = &list.file;
            let text = files(path)
                .map_err(|e| RuleError::malformed(format!("hash list `{path}`: {e}")))?
                .ok_or_else(|| RuleError::malformed(format!("hash list `{path}` not found")))?;
            let mut values = std::collections::HashSet::new();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let h = line
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap_or("");
                if h.len() != digits || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(RuleError::malformed(format!(
                        "hash list `{path}` line {}: `{h}` is not a {digits}-digit hex hash",
                        n + 1
                    )));
                }
                values.insert(h.to_ascii_lowercase().into_bytes());
            }
            *list = std::sync::Arc::new(ValueList {
                file: list.file.clone(),
                loaded: true,
                values,
            });
        }
    }
    Ok(())
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

/// A content that must be the whole buffer.
fn exact(pattern: Vec<u8>) -> Content {
    Content {
        pattern,
        nocase: false,
        negated: false,
        offset: 0,
        depth: None,
        distance: None,
        within: None,
        startswith: true,
        endswith: true,
        fast_pattern: None,
    }
}

/// `app-layer-event:proto.name`: the transaction has that event. Events of the
/// application-layer framework itself (`applayer_*`) are not produced.
fn event(v: &str) -> Result<(BufferKind, Vec<Item>), RuleError> {
    let name = v.trim();
    let valid = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    // Protocol-detection events have no protocol prefix; the one produced is
    // `applayer_mismatch_protocol_both_directions`.
    if name == "applayer_mismatch_protocol_both_directions" {
        return Ok((
            BufferKind::App(AppBuf::Event),
            vec![Item::Content(exact(name.as_bytes().to_vec()))],
        ));
    }
    if !valid || !name.contains('.') {
        return Err(if valid {
            RuleError::unsupported("app-layer-event", name)
        } else {
            RuleError::malformed(format!("`app-layer-event`: invalid event name `{name}`"))
        });
    }
    Ok((
        BufferKind::App(AppBuf::Event),
        vec![Item::Content(exact(name.as_bytes().to_vec()))],
    ))
}

fn test(op: ByteOp, negated: bool, value: u64) -> Item {
    Item::ByteTest(ByteTest {
        nbytes: 8,
        op,
        negated,
        value,
        value_var: None,
        offset: 0,
        relative: false,
        format: NumFormat::Big,
        bitmask: None,
    })
}

/// A number keyword (`krb5_msg_type:10`, `ntp.version:>=3`) as tests of its field.
fn number(kw: &str, v: &str, b: AppBuf) -> Result<(BufferKind, Vec<Item>), RuleError> {
    let m = crate::rules::parse_uint_value(kw, v)?;
    let items = match m {
        UintMatch::Eq(a) => vec![test(ByteOp::Eq, false, a)],
        UintMatch::Ne(a) => vec![test(ByteOp::Eq, true, a)],
        UintMatch::Lt(a) => vec![test(ByteOp::Lt, false, a)],
        UintMatch::Le(a) => vec![test(ByteOp::Le, false, a)],
        UintMatch::Gt(a) => vec![test(ByteOp::Gt, false, a)],
        UintMatch::Ge(a) => vec![test(ByteOp::Ge, false, a)],
        UintMatch::Between(a, c) => vec![test(ByteOp::Gt, false, a), test(ByteOp::Lt, false, c)],
    };
    Ok((BufferKind::App(b), items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::matcher::group_matches_with;

    fn group_matches(items: &[Item], buf: &[u8]) -> bool {
        group_matches_with(items, buf, &mut [0; crate::rules::MAX_BYTE_VARS])
    }

    #[test]
    fn number_keywords_compare_the_field() {
        let (_, eq) = number("k", "10", AppBuf::Krb5MsgType).unwrap();
        assert!(group_matches(&eq, &num_buf(10)));
        assert!(!group_matches(&eq, &num_buf(11)));
        let (_, ne) = number("k", "!0", AppBuf::Krb5ErrCode).unwrap();
        assert!(group_matches(&ne, &num_buf(25)));
        assert!(!group_matches(&ne, &num_buf(0)));
        let (_, between) = number("k", "1000<>2000", AppBuf::Krb5ErrCode).unwrap();
        assert!(group_matches(&between, &num_buf(1500)));
        assert!(!group_matches(&between, &num_buf(1000)));
        let (_, ge) = number("k", ">=3", AppBuf::Krb5ErrCode).unwrap();
        assert!(group_matches(&ge, &num_buf(3)));
        assert!(!group_matches(&ge, &num_buf(2)));
    }

    #[test]
    fn events_match_by_whole_name() {
        let (_, items) = event("tls.invalid_certificate").unwrap();
        assert!(group_matches(&items, b"tls.invalid_certificate"));
        assert!(!group_matches(&items, b"tls.invalid_certificate_x"));
        assert!(event("applayer_mismatch_protocol_both_directions").is_ok());
        assert!(event("applayer_proto_detection_skipped").is_err());
        assert!(event("tls.bad name").is_err());
    }
}
