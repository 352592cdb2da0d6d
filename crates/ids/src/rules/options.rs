//! Rule text → [`Rule`]: the header, the option list with its quoting and escaping
//! rules, and every supported keyword.

use super::header::{parse_addr, parse_ports};
use super::*;
use crate::detect::input::{AppProto, BufferKind, Direction};

type Res<T> = Result<T, RuleError>;

/// Parses one rule; on error returns the sid (when it could be read) and the reason.
pub(crate) fn parse_rule(
    text: &str,
    vars: &Vars,
    ctx: &mut ParseCtx<'_>,
) -> Result<Rule, (Option<u32>, RuleError)> {
    let text = text.trim();
    let Some(open) = text.find('(') else {
        return Err((
            None,
            RuleError::malformed("no option list: expected `(` after the header"),
        ));
    };
    let header_text = &text[..open];
    let rest = text[open + 1..].trim_end();
    let Some(body) = rest.strip_suffix(')') else {
        return Err((
            scan_sid(rest),
            RuleError::malformed("the option list does not end with `)`"),
        ));
    };
    let opts = match split_options(body) {
        Ok(o) => o,
        Err(e) => return Err((scan_sid(body), e)),
    };
    let sid = opts
        .iter()
        .find(|(k, _)| *k == "sid")
        .and_then(|(_, v)| v.and_then(|v| v.trim().parse::<u32>().ok()));
    build(header_text, &opts, vars, ctx).map_err(|e| (sid, e))
}

fn scan_sid(text: &str) -> Option<u32> {
    let i = text.find("sid:")?;
    let digits: String = text[i + 4..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Splits `kw; kw:value; ...` on unescaped `;`. Values keep their escapes.
fn split_options(body: &str) -> Res<Vec<(&str, Option<&str>)>> {
    let mut out = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let kstart = i;
        while i < bytes.len() && bytes[i] != b':' && bytes[i] != b';' {
            i += 1;
        }
        let keyword = body[kstart..i].trim();
        if keyword.is_empty() {
            return Err(RuleError::malformed(format!(
                "empty option at character {} of the option list",
                kstart + 1
            )));
        }
        if keyword.contains(char::is_whitespace) {
            return Err(RuleError::malformed(format!(
                "option `{keyword}` is not a keyword (a missing `;` before it?)"
            )));
        }
        if i >= bytes.len() {
            return Err(RuleError::malformed(format!(
                "option `{keyword}` is not terminated with `;` (every option ends with `;`, the last one too)"
            )));
        }
        if bytes[i] == b';' {
            out.push((keyword, None));
            i += 1;
            continue;
        }
        // Value: up to the first `;` not escaped by `\`.
        i += 1;
        let vstart = i;
        let mut escaped = false;
        while i < bytes.len() {
            let b = bytes[i];
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b';' {
                break;
            }
            i += 1;
        }
        let value = &body[vstart..i];
        if i >= bytes.len() {
            return Err(RuleError::malformed(format!(
                "option `{keyword}` is not terminated with `;` (every option ends with `;`, the last one too)"
            )));
        }
        out.push((keyword, Some(value)));
        i += 1;
    }
    Ok(out)
}

/// Splits header tokens on whitespace outside `[...]`.
fn header_tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match c {
            '[' => {
                depth += 1;
                start.get_or_insert(i);
            }
            ']' => {
                depth -= 1;
                start.get_or_insert(i);
            }
            c if c.is_whitespace() && depth <= 0 => {
                if let Some(s) = start.take() {
                    out.push(&text[s..i]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

fn parse_header(text: &str, vars: &Vars) -> Res<(Action, Header, FlowOpts, bool)> {
    let toks = header_tokens(text);
    if toks.len() != 7 {
        return Err(RuleError::malformed(format!(
            "the header has {} fields, expected 7: action protocol source port direction destination port",
            toks.len()
        )));
    }
    let action = match toks[0] {
        "alert" => Action::Alert,
        "drop" => Action::Drop,
        "pass" => Action::Pass,
        "reject" | "rejectsrc" | "rejectdst" | "rejectboth" => Action::Reject,
        "config" => return Err(RuleError::unsupported("action", "config")),
        other => {
            return Err(RuleError::malformed(format!(
                "unknown action `{other}` (expected alert, drop, pass or reject)"
            )));
        }
    };
    let mut flow = FlowOpts::default();
    // A packet hook after the protocol: `tcp:flow_start`.
    let (proto_name, hook) = match toks[1].split_once(':') {
        Some((p, h)) => (p.to_ascii_lowercase(), Some(h)),
        None => (toks[1].to_ascii_lowercase(), None),
    };
    let flow_start = match hook {
        None => false,
        Some("flow_start") if matches!(proto_name.as_str(), "ip" | "tcp" | "udp" | "icmp") => true,
        Some(_) => return Err(RuleError::unsupported("protocol", toks[1])),
    };
    let proto = match proto_name.as_str() {
        "ip" => Proto::Ip,
        "tcp" => Proto::Tcp,
        "tcp-pkt" => {
            flow.stream = StreamMode::NoStream;
            Proto::Tcp
        }
        "tcp-stream" => {
            flow.stream = StreamMode::OnlyStream;
            Proto::Tcp
        }
        "udp" => Proto::Udp,
        "sctp" => Proto::Sctp,
        // `icmp` covers ICMP and ICMPv6, as in Suricata.
        "icmp" => Proto::Icmp,
        "icmpv4" => Proto::Icmpv4,
        "icmpv6" => Proto::Icmpv6,
        "pkthdr" => Proto::Pkthdr,
        "http" | "http1" => Proto::App(AppProto::Http),
        "dns" => Proto::App(AppProto::Dns),
        "tls" => Proto::App(AppProto::Tls),
        "smtp" => Proto::App(AppProto::Smtp),
        other => match crate::app::keywords::header_proto(other) {
            Some(p) => Proto::App(p),
            None => return Err(RuleError::unsupported("protocol", other)),
        },
    };
    let bad = |what: &str, e: String| RuleError::malformed(format!("{what}: {e}"));
    let src = parse_addr(toks[2], vars).map_err(|e| bad("source address", e))?;
    let src_ports = parse_ports(toks[3], vars).map_err(|e| bad("source port", e))?;
    let transactional = toks[4] == "=>";
    let bidirectional = match toks[4] {
        "->" | "=>" => false,
        "<>" => true,
        "<-" => {
            return Err(RuleError::malformed(
                "direction `<-` is not valid: write `->` with source and destination swapped",
            ));
        }
        other => {
            return Err(RuleError::malformed(format!(
                "invalid direction `{other}` (expected `->`, `<>` or `=>`)"
            )));
        }
    };
    let dst = parse_addr(toks[5], vars).map_err(|e| bad("destination address", e))?;
    let dst_ports = parse_ports(toks[6], vars).map_err(|e| bad("destination port", e))?;
    Ok((
        action,
        Header {
            proto,
            src,
            src_ports,
            dst,
            dst_ports,
            bidirectional,
            transactional,
        },
        flow,
        flow_start,
    ))
}

/// Strips surrounding double quotes (if any) and resolves `\x` escapes.
fn unquote(value: &str) -> String {
    let v = value.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v);
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses a content string: `"..."` with `|hex|` blocks and `\` escapes; a leading `!`
/// negates.
pub(crate) fn parse_content(value: &str) -> Res<(Vec<u8>, bool)> {
    let mut v = value.trim();
    let mut negated = false;
    if let Some(rest) = v.strip_prefix('!') {
        negated = true;
        v = rest.trim_start();
    }
    let inner = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|_| v.len() >= 2)
        .ok_or_else(|| {
            RuleError::malformed(format!("content `{value}` must be in double quotes"))
        })?;
    let bytes = inner.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let mut hex = false;
    let mut nibble: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if hex {
            match b {
                b'|' => {
                    if nibble.is_some() {
                        return Err(RuleError::malformed(format!(
                            "content `{value}`: odd number of hex digits in `|...|`"
                        )));
                    }
                    hex = false;
                }
                b' ' | b'\t' => {}
                _ => {
                    let d = (b as char).to_digit(16).ok_or_else(|| {
                        RuleError::malformed(format!(
                            "content `{value}`: `{}` is not a hex digit (column {} of the content)",
                            b as char,
                            i + 1
                        ))
                    })? as u8;
                    match nibble.take() {
                        Some(h) => out.push(h << 4 | d),
                        None => nibble = Some(d),
                    }
                }
            }
        } else {
            match b {
                b'|' => hex = true,
                b'\\' => {
                    i += 1;
                    match bytes.get(i) {
                        Some(&n) => out.push(n),
                        None => {
                            return Err(RuleError::malformed(format!(
                                "content `{value}` ends with a lone `\\`"
                            )));
                        }
                    }
                }
                b'"' => {
                    return Err(RuleError::malformed(format!(
                        "content `{value}`: unescaped `\"` inside (write `\\\"` or `|22|`)"
                    )));
                }
                b';' => {
                    return Err(RuleError::malformed(format!(
                        "content `{value}`: unescaped `;` inside (write `\\;` or `|3B|`)"
                    )));
                }
                _ => out.push(b),
            }
        }
        i += 1;
    }
    if hex {
        return Err(RuleError::malformed(format!(
            "content `{value}`: unterminated `|` hex block"
        )));
    }
    if out.is_empty() {
        return Err(RuleError::malformed("empty content"));
    }
    Ok((out, negated))
}

fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

fn num<T: std::str::FromStr>(kw: &str, v: &str) -> Res<T> {
    v.trim()
        .parse::<T>()
        .map_err(|_| RuleError::malformed(format!("`{kw}`: `{}` is not a valid number", v.trim())))
}

/// Suricata's unsigned-integer syntax: `N`, `!N`, `<N`, `>N`, `<=N`, `>=N`, `N<>M`, `N-M`.
pub(crate) fn parse_uint(kw: &str, value: &str) -> Res<UintMatch> {
    let v = value.trim();
    let err = || RuleError::malformed(format!("`{kw}`: `{v}` is not a valid number or range"));
    let n = |s: &str| parse_u64(s).ok_or_else(err);
    if let Some((a, b)) = v.split_once("<>") {
        let (a, b) = (n(a)?, n(b)?);
        if a >= b {
            return Err(err());
        }
        return Ok(UintMatch::Between(a, b));
    }
    if let Some(r) = v.strip_prefix("<=") {
        return Ok(UintMatch::Le(n(r)?));
    }
    if let Some(r) = v.strip_prefix(">=") {
        return Ok(UintMatch::Ge(n(r)?));
    }
    if let Some(r) = v.strip_prefix('<') {
        return Ok(UintMatch::Lt(n(r)?));
    }
    if let Some(r) = v.strip_prefix('>') {
        return Ok(UintMatch::Gt(n(r)?));
    }
    if let Some(r) = v.strip_prefix('!') {
        return Ok(UintMatch::Ne(n(r)?));
    }
    if let Some(r) = v.strip_prefix('=') {
        return Ok(UintMatch::Eq(n(r)?));
    }
    if let Some((a, b)) = v.split_once('-') {
        let (a, b) = (n(a)?, n(b)?);
        if a >= b {
            return Err(err());
        }
        return Ok(UintMatch::Between(a, b));
    }
    Ok(UintMatch::Eq(n(v)?))
}

/// Sticky buffers and the legacy content modifiers that move the previous content.
fn sticky_buffer(kw: &str) -> Option<Buf> {
    use BufferKind as K;
    let kind = match kw {
        "pkt_data" => return Some(Buf::Payload),
        "http.uri" | "http_uri" => K::HttpUri,
        "http.uri.raw" | "http_raw_uri" => K::HttpUriRaw,
        "http.method" | "http_method" => K::HttpMethod,
        "http.protocol" | "http_protocol" => K::HttpProtocol,
        "http.request_line" | "http_request_line" => K::HttpRequestLine,
        "http.host" | "http_host" => K::HttpHost,
        "http.host.raw" | "http_raw_host" => K::HttpHostRaw,
        "http.user_agent" | "http_user_agent" => K::HttpUserAgent,
        "http.header" | "http_header" => K::HttpHeader,
        "http.header.raw" | "http_raw_header" => K::HttpHeaderRaw,
        "http.header_names" | "http_header_names" => K::HttpHeaderNames,
        "http.cookie" | "http_cookie" => K::HttpCookie,
        "http.referer" | "http_referer" => K::HttpReferer,
        "http.content_type" | "http_content_type" => K::HttpContentType,
        "http.content_len" | "http_content_len" => K::HttpContentLen,
        "http.accept" | "http_accept" => K::HttpAccept,
        "http.accept_lang" | "http_accept_lang" => K::HttpAcceptLang,
        "http.accept_enc" | "http_accept_enc" => K::HttpAcceptEnc,
        "http.connection" | "http_connection" => K::HttpConnection,
        "http.location" | "http_location" => K::HttpLocation,
        "http.server" | "http_server" => K::HttpServer,
        "http.start" | "http_start" => K::HttpStart,
        "http.request_body" | "http_client_body" => K::HttpRequestBody,
        "http.stat_code" | "http_stat_code" => K::HttpStatCode,
        "http.stat_msg" | "http_stat_msg" => K::HttpStatMsg,
        "http.response_line" | "http_response_line" => K::HttpResponseLine,
        "http.response_body" | "http_server_body" => K::HttpResponseBody,
        "file.data" | "file_data" => K::FileData,
        "dns.query" | "dns_query" => K::DnsQuery,
        "tls.sni" | "tls_sni" => K::TlsSni,
        "tls.cert_subject" | "tls_cert_subject" => K::TlsCertSubject,
        "tls.cert_issuer" | "tls_cert_issuer" => K::TlsCertIssuer,
        "tls.cert_serial" | "tls_cert_serial" => K::TlsCertSerial,
        "tls.cert_fingerprint" | "tls_cert_fingerprint" => K::TlsCertFingerprint,
        "tls.certs" => K::TlsCerts,
        "ja3.hash" | "ja3_hash" => K::Ja3Hash,
        "ja3.string" | "ja3_string" => K::Ja3String,
        "ja3s.hash" | "ja3s_hash" => K::Ja3sHash,
        "ja3s.string" | "ja3s_string" => K::Ja3sString,
        "smtp.helo" => K::SmtpHelo,
        "smtp.mail_from" => K::SmtpMailFrom,
        "smtp.rcpt_to" => K::SmtpRcptTo,
        "ipv4.hdr" => K::Ipv4Hdr,
        "ipv6.hdr" => K::Ipv6Hdr,
        "tcp.hdr" => K::TcpHdr,
        "udp.hdr" => K::UdpHdr,
        "icmpv4.hdr" => K::Icmpv4Hdr,
        "icmpv6.hdr" => K::Icmpv6Hdr,
        "ip.src" => K::IpSrc,
        "ip.dst" => K::IpDst,
        _ => return crate::app::keywords::sticky(kw).map(Buf::Kind),
    };
    Some(Buf::Kind(kind))
}

/// Legacy modifiers: written after a `content`, they move it to their buffer. Other
/// legacy names (`file_data`, `dns_query`, `tls_sni`, `http_request_line`, ...) are
/// sticky buffers.
fn is_legacy_modifier(kw: &str) -> bool {
    matches!(
        kw,
        "http_uri"
            | "http_raw_uri"
            | "http_method"
            | "http_header"
            | "http_raw_header"
            | "http_cookie"
            | "http_client_body"
            | "http_server_body"
            | "http_stat_code"
            | "http_stat_msg"
            | "http_user_agent"
            | "http_host"
            | "http_raw_host"
    )
}

/// pcre flags that name a buffer (Suricata's `U`, `P`, `H`, ...).
fn pcre_buffer_flag(c: char) -> Option<BufferKind> {
    use BufferKind as K;
    Some(match c {
        'U' => K::HttpUri,
        'I' => K::HttpUriRaw,
        'P' => K::HttpRequestBody,
        'Q' => K::HttpResponseBody,
        'H' => K::HttpHeader,
        'D' => K::HttpHeaderRaw,
        'M' => K::HttpMethod,
        'C' => K::HttpCookie,
        'S' => K::HttpStatCode,
        'Y' => K::HttpStatMsg,
        'V' => K::HttpUserAgent,
        'W' => K::HttpHost,
        'Z' => K::HttpHostRaw,
        _ => return None,
    })
}

struct Builder {
    items: Vec<(Buf, Item)>,
    /// Per item of `items`: the instance of its buffer. Naming a multi-buffer (one
    /// file of several, one DNS query of several) again starts a new instance, whose
    /// keywords may match another one of the buffers (Suricata 8).
    instances: Vec<u32>,
    instance: u32,
    sticky: Buf,
    /// Buffers that got a `dotprefix` transform.
    dotprefix: Vec<Buf>,
    /// Whether a sticky buffer was named explicitly.
    sticky_set: bool,
    /// After `base64_data`: keywords go to the decoded data of the last
    /// `base64_decode`.
    in_base64: bool,
    /// Transform chains (index 0: none) and, per entry of `items`, its chain.
    chains: Vec<Vec<Transform>>,
    chain_of: Vec<usize>,
    /// The chain keywords on the sticky buffer currently go to.
    cur_chain: usize,
    /// `byte_extract` / `byte_math` variable names, by index.
    vars: Vec<String>,
    /// A sticky buffer was named after the last keyword: relative keywords go to it.
    fresh_sticky: bool,
    /// Buffers with `absent` (true: `or_else`).
    absent: Vec<(Buf, bool)>,
}

impl Builder {
    /// The item list keywords currently go to: the rule's, or the decoded data's.
    fn target(&mut self) -> Option<&mut Vec<Item>> {
        self.items
            .iter_mut()
            .rev()
            .find_map(|(_, item)| match item {
                Item::Base64Decode { then, .. } => Some(then),
                _ => None,
            })
    }

    fn push(&mut self, entry: (Buf, Item)) {
        self.fresh_sticky = false;
        // `base64_data` is only accepted after a `base64_decode`, so a target exists.
        if self.in_base64
            && let Some(t) = self.target()
        {
            t.push(entry.1);
        } else {
            self.chain_of.push(if entry.0 == self.sticky {
                self.cur_chain
            } else {
                0
            });
            self.items.push(entry);
            self.instances.push(self.instance);
        }
    }

    /// Adds a transform to the sticky buffer. Written after keywords on the buffer, it
    /// starts a new chain (those keywords keep inspecting the buffer as it was).
    fn transform(&mut self, kw: &str, t: Transform) -> Res<()> {
        if !self.sticky_set || self.sticky == Buf::Payload {
            return Err(RuleError::malformed(format!(
                "`{kw}` is a transform: it needs a sticky buffer before it"
            )));
        }
        let used = self
            .items
            .iter()
            .zip(&self.chain_of)
            .any(|((b, _), &c)| *b == self.sticky && c == self.cur_chain);
        let mut chain = if used {
            Vec::new()
        } else {
            self.chains[self.cur_chain].clone()
        };
        chain.push(t);
        let key = format!("{chain:?}");
        self.cur_chain = match self.chains.iter().position(|c| format!("{c:?}") == key) {
            Some(i) => i,
            None => {
                self.chains.push(chain);
                self.chains.len() - 1
            }
        };
        self.in_base64 = false;
        Ok(())
    }

    fn last_content(&mut self, kw: &str) -> Res<&mut Content> {
        // Modifiers apply to the latest content, even past keywords such as `bsize`.
        let err = || RuleError::malformed(format!("`{kw}` must follow a `content`"));
        let decoded = self.in_base64
            && self
                .items
                .iter()
                .any(|(_, i)| matches!(i, Item::Base64Decode { .. }));
        if decoded {
            return self
                .target()
                .into_iter()
                .flat_map(|t| t.iter_mut())
                .rev()
                .find_map(|i| match i {
                    Item::Content(c) => Some(c),
                    _ => None,
                })
                .ok_or_else(err);
        }
        self.items
            .iter_mut()
            .rev()
            .find_map(|(_, i)| match i {
                Item::Content(c) => Some(c),
                _ => None,
            })
            .ok_or_else(err)
    }

    /// A sticky buffer is named: a multi-buffer named again gets a new instance.
    fn set_sticky(&mut self, buf: Buf) {
        if let Buf::Kind(k) = buf
            && crate::app::keywords::multi_instance(k)
            && self.items.iter().any(|(b, _)| *b == buf)
        {
            self.instance += 1;
        }
        self.in_base64 = false;
        self.sticky = buf;
        self.sticky_set = true;
        self.cur_chain = 0;
        self.fresh_sticky = true;
    }

    /// The buffer of the last content-like item (for relative keywords).
    fn last_buf(&self) -> Buf {
        if self.fresh_sticky {
            return self.sticky;
        }
        self.items.last().map(|(b, _)| *b).unwrap_or(self.sticky)
    }
}

fn parse_base64_decode(value: Option<&str>) -> Res<(Option<u32>, u32, bool)> {
    let (mut bytes, mut offset, mut relative) = (None, 0, false);
    for part in value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let mut it = part.split_whitespace();
        match (it.next(), it.next(), it.next()) {
            (Some("bytes"), Some(v), None) => {
                let n: u32 = num("base64_decode bytes", v)?;
                if n == 0 {
                    return Err(RuleError::malformed("`base64_decode`: bytes must not be 0"));
                }
                bytes = Some(n);
            }
            (Some("offset"), Some(v), None) => offset = num("base64_decode offset", v)?,
            (Some("relative"), None, None) => relative = true,
            _ => {
                return Err(RuleError::malformed(format!(
                    "`base64_decode`: unknown option `{part}`"
                )));
            }
        }
    }
    Ok((bytes, offset, relative))
}

fn parse_pcre(value: &str) -> Res<(Pcre, Option<BufferKind>)> {
    let mut v = value.trim();
    let mut negated = false;
    if let Some(rest) = v.strip_prefix('!') {
        negated = true;
        v = rest.trim_start();
    }
    let inner = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|_| v.len() >= 2)
        .ok_or_else(|| RuleError::malformed(format!("pcre `{value}` must be in double quotes")))?;
    for scope in [
        ",flow:", ", flow:", ",pkt:", ", pkt:", ",alert:", ", alert:",
    ] {
        if inner.contains(scope) {
            return Err(RuleError::unsupported("pcre option", "pcre capture"));
        }
    }
    let body = inner
        .strip_prefix('/')
        .ok_or_else(|| RuleError::malformed(format!("pcre `{value}` must start with `/`")))?;
    let end = body
        .rfind('/')
        .ok_or_else(|| RuleError::malformed(format!("pcre `{value}` has no closing `/`")))?;
    let pattern = &body[..end];
    let flags = &body[end + 1..];
    let mut b = pcre2::bytes::RegexBuilder::new();
    b.jit_if_available(true);
    let mut relative = false;
    let mut buffer = None;
    let (mut anchored, mut ungreedy, mut extended) = (false, false, false);
    for c in flags.chars() {
        match c {
            'i' => {
                b.caseless(true);
            }
            's' => {
                b.dotall(true);
            }
            'm' => {
                b.multi_line(true);
            }
            'x' => {
                b.extended(true);
                extended = true;
            }
            // PCRE's ANCHORED and UNGREEDY, written into the pattern below.
            'A' => anchored = true,
            'G' => ungreedy = true,
            'R' => relative = true,
            // Raw bytes, match-limit override: no change for us.
            'B' | 'O' => {}
            'E' => {
                return Err(RuleError::unsupported("pcre flag", "pcre/E"));
            }
            c => match pcre_buffer_flag(c) {
                Some(k) => {
                    if buffer.replace(k).is_some() {
                        return Err(RuleError::malformed(format!(
                            "pcre `{value}`: more than one buffer flag"
                        )));
                    }
                }
                None => {
                    return Err(RuleError::malformed(format!(
                        "pcre `{value}`: unknown flag `{c}`"
                    )));
                }
            },
        }
    }
    // Suricata's pcre escapes: `\;` and `\"` reach PCRE as is, which reads them as the
    // literal characters.
    let mut full = String::new();
    if ungreedy {
        full.push_str("(?U)");
    }
    if anchored {
        // In extended mode a trailing `#` comment must not swallow the `)`.
        let close = if extended { "\n)" } else { ")" };
        full.push_str(&format!("\\A(?:{pattern}{close}"));
    } else {
        full.push_str(pattern);
    }
    let regex = b
        .build(&full)
        .map_err(|e| RuleError::malformed(format!("pcre `/{pattern}/`: {e}")))?;
    Ok((
        Pcre {
            regex,
            source: pattern.to_string(),
            negated,
            relative,
        },
        buffer,
    ))
}

fn parse_format(parts: &mut Vec<&str>) -> Res<NumFormat> {
    let mut fmt = NumFormat::Big;
    let mut string = false;
    let mut base = 10;
    parts.retain(|p| match *p {
        "big" => {
            fmt = NumFormat::Big;
            false
        }
        "little" => {
            fmt = NumFormat::Little;
            false
        }
        "string" => {
            string = true;
            false
        }
        "hex" => {
            base = 16;
            false
        }
        "dec" => {
            base = 10;
            false
        }
        "oct" => {
            base = 8;
            false
        }
        _ => true,
    });
    Ok(if string { NumFormat::String(base) } else { fmt })
}

fn take_bitmask(kw: &str, parts: &mut Vec<&str>) -> Res<Option<u64>> {
    let mut mask = None;
    let mut err = None;
    parts.retain(|p| {
        if let Some(m) = p.strip_prefix("bitmask") {
            match parse_u64(m) {
                Some(v) if v != 0 => mask = Some(v),
                _ => err = Some(format!("`{kw}`: invalid bitmask `{p}`")),
            }
            false
        } else {
            true
        }
    });
    match err {
        Some(e) => Err(RuleError::malformed(e)),
        None => Ok(mask),
    }
}

fn check_nbytes(kw: &str, n: usize, fmt: NumFormat) -> Res<()> {
    let string = matches!(fmt, NumFormat::String(_));
    let max = if string { 23 } else { 8 };
    // With `string`, 0 bytes means "the digits that are there".
    if (n == 0 && !string) || n > max {
        return Err(RuleError::malformed(format!(
            "`{kw}`: cannot extract {n} bytes (1 to {max})"
        )));
    }
    Ok(())
}

fn parse_byte_test(value: &str, vars: &[String]) -> Res<ByteTest> {
    let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
    if parts.len() < 4 {
        return Err(RuleError::malformed(format!(
            "`byte_test:{value}`: expected bytes, operator, value, offset"
        )));
    }
    let nbytes: usize = num("byte_test", parts[0])?;
    let mut op = parts[1];
    let mut negated = false;
    if let Some(r) = op.strip_prefix('!') {
        negated = true;
        op = r.trim();
    }
    let op = match op {
        "<" => ByteOp::Lt,
        ">" => ByteOp::Gt,
        "=" => ByteOp::Eq,
        "<=" => ByteOp::Le,
        ">=" => ByteOp::Ge,
        "&" => ByteOp::And,
        "^" => ByteOp::Xor,
        o => {
            return Err(RuleError::malformed(format!(
                "`byte_test`: unknown operator `{o}`"
            )));
        }
    };
    let (value_num, value_var) = match parse_u64(parts[2]) {
        Some(v) => (v, None),
        None => (0, Some(var_ref("byte_test value", parts[2], vars)?)),
    };
    let offset: i64 = parse_offset("byte_test", parts[3])?;
    let mut rest: Vec<&str> = parts.split_off(4);
    let relative = take_flag(&mut rest, "relative");
    if take_flag(&mut rest, "dce") {
        return Err(RuleError::unsupported("keyword option", "byte_test dce"));
    }
    let format = parse_format(&mut rest)?;
    let bitmask = take_bitmask("byte_test", &mut rest)?;
    if let Some(extra) = rest.first() {
        return Err(RuleError::malformed(format!(
            "`byte_test`: unknown option `{extra}`"
        )));
    }
    check_nbytes("byte_test", nbytes, format)?;
    Ok(ByteTest {
        nbytes,
        op,
        negated,
        value: value_num,
        value_var,
        offset,
        relative,
        format,
        bitmask,
    })
}

fn parse_offset(kw: &str, s: &str) -> Res<i64> {
    s.trim().parse::<i64>().map_err(|_| {
        if s.trim()
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            RuleError::unsupported("offset (byte_extract variable?)", &format!("{kw} {s}"))
        } else {
            RuleError::malformed(format!("`{kw}`: invalid offset `{s}`"))
        }
    })
}

fn take_flag(parts: &mut Vec<&str>, flag: &str) -> bool {
    let before = parts.len();
    parts.retain(|p| *p != flag);
    parts.len() != before
}

/// A `byte_extract` / `byte_math` variable named where a number may be.
fn var_ref(what: &str, name: &str, vars: &[String]) -> Res<u8> {
    let name = name.trim();
    match vars.iter().position(|v| v == name) {
        Some(i) => Ok(i as u8),
        None if name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) => {
            Err(RuleError::malformed(format!(
                "`{what}`: `{name}` is neither a number nor a variable set by an earlier byte_extract or byte_math"
            )))
        }
        None => Err(RuleError::malformed(format!(
            "`{what}`: `{name}` is not a number"
        ))),
    }
}

/// Declares a variable (set by `byte_extract` / `byte_math`), or finds it again.
fn declare_var(kw: &str, name: &str, vars: &mut Vec<String>) -> Res<u8> {
    let name = name.trim();
    if name.is_empty()
        || !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(RuleError::malformed(format!(
            "`{kw}`: `{name}` is not a variable name (a letter, then letters, digits or _)"
        )));
    }
    if let Some(i) = vars.iter().position(|v| v == name) {
        return Ok(i as u8);
    }
    if vars.len() >= MAX_BYTE_VARS {
        return Err(RuleError::malformed(format!(
            "`{kw}`: more than {MAX_BYTE_VARS} byte_extract/byte_math variables in one rule"
        )));
    }
    vars.push(name.to_string());
    Ok((vars.len() - 1) as u8)
}

fn parse_byte_extract(value: &str, vars: &mut Vec<String>) -> Res<ByteExtract> {
    let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
    if parts.len() < 3 {
        return Err(RuleError::malformed(format!(
            "`byte_extract:{value}`: expected bytes, offset, name"
        )));
    }
    let nbytes: usize = num("byte_extract", parts[0])?;
    let offset = parse_offset("byte_extract", parts[1])?;
    let name = parts[2];
    let mut rest = parts.split_off(3);
    let relative = take_flag(&mut rest, "relative");
    if take_flag(&mut rest, "dce") {
        return Err(RuleError::unsupported("keyword option", "byte_extract dce"));
    }
    let format = parse_format(&mut rest)?;
    let bitmask = take_bitmask("byte_extract", &mut rest)?;
    let (mut multiplier, mut align) = (1, 0u8);
    for p in rest {
        let mut it = p.split_whitespace();
        match (it.next(), it.next(), it.next()) {
            (Some("multiplier"), Some(m), None) => {
                multiplier = num("byte_extract multiplier", m)?;
                if multiplier == 0 {
                    return Err(RuleError::malformed(
                        "`byte_extract`: multiplier must not be 0",
                    ));
                }
            }
            (Some("align"), Some(a), None) => {
                align = num("byte_extract align", a)?;
                if !matches!(align, 2 | 4) {
                    return Err(RuleError::malformed("`byte_extract`: align is 2 or 4"));
                }
            }
            _ => {
                return Err(RuleError::malformed(format!(
                    "`byte_extract`: unknown option `{p}`"
                )));
            }
        }
    }
    check_nbytes("byte_extract", nbytes, format)?;
    let var = declare_var("byte_extract", name, vars)?;
    Ok(ByteExtract {
        nbytes,
        offset,
        relative,
        multiplier,
        format,
        align,
        bitmask,
        var,
    })
}

fn parse_byte_math(value: &str, vars: &mut Vec<String>) -> Res<ByteMath> {
    let (mut nbytes, mut offset, mut op, mut rvalue, mut result) = (None, None, None, None, None);
    let (mut relative, mut big, mut base, mut bitmask) = (false, true, None, None);
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (part, ""),
        };
        match (k, v) {
            ("bytes", v) if !v.is_empty() => nbytes = Some(v),
            ("offset", v) if !v.is_empty() => offset = Some(parse_offset("byte_math", v)?),
            ("oper", v) => {
                op = Some(match v {
                    "+" => MathOp::Add,
                    "-" => MathOp::Sub,
                    "*" => MathOp::Mul,
                    "/" => MathOp::Div,
                    "<<" => MathOp::Shl,
                    ">>" => MathOp::Shr,
                    other => {
                        return Err(RuleError::malformed(format!(
                            "`byte_math`: unknown operator `{other}` (+, -, *, /, <<, >>)"
                        )));
                    }
                })
            }
            ("rvalue", v) if !v.is_empty() => rvalue = Some(v),
            ("result", v) if !v.is_empty() => result = Some(v),
            ("relative", "") => relative = true,
            ("endian", "big") => big = true,
            ("endian", "little") => big = false,
            ("string", b) => {
                base = Some(match b {
                    "hex" => 16,
                    "dec" => 10,
                    "oct" => 8,
                    other => {
                        return Err(RuleError::malformed(format!(
                            "`byte_math`: unknown string base `{other}` (hex, dec, oct)"
                        )));
                    }
                })
            }
            ("bitmask", m) => {
                bitmask = Some(parse_u64(m).filter(|v| *v != 0).ok_or_else(|| {
                    RuleError::malformed(format!("`byte_math`: invalid bitmask `{m}`"))
                })?)
            }
            ("dce", "") => return Err(RuleError::unsupported("keyword option", "byte_math dce")),
            _ => {
                return Err(RuleError::malformed(format!(
                    "`byte_math`: unknown option `{part}`"
                )));
            }
        }
    }
    let missing = |what: &str| {
        RuleError::malformed(format!(
            "`byte_math:{value}`: needs `{what}` (bytes, offset, oper, rvalue and result are required)"
        ))
    };
    let format = match base {
        Some(b) => NumFormat::String(b),
        None if big => NumFormat::Big,
        None => NumFormat::Little,
    };
    let nbytes_s = nbytes.ok_or_else(|| missing("bytes"))?;
    let (nbytes, nbytes_var) = match nbytes_s.parse::<usize>() {
        Ok(n) => {
            if n == 0 || n > if base.is_some() { 10 } else { 4 } {
                return Err(RuleError::malformed(format!(
                    "`byte_math`: cannot extract {n} bytes (1 to 4, or 1 to 10 with string)"
                )));
            }
            (n, None)
        }
        Err(_) => (0, Some(var_ref("byte_math bytes", nbytes_s, vars)?)),
    };
    let rvalue_s = rvalue.ok_or_else(|| missing("rvalue"))?;
    let (rvalue, rvalue_var) = match parse_u64(rvalue_s) {
        Some(v) => (v, None),
        None => (0, Some(var_ref("byte_math rvalue", rvalue_s, vars)?)),
    };
    let op = op.ok_or_else(|| missing("oper"))?;
    if op == MathOp::Div && rvalue_var.is_none() && rvalue == 0 {
        return Err(RuleError::malformed("`byte_math`: division by 0"));
    }
    let offset = offset.ok_or_else(|| missing("offset"))?;
    let var = declare_var("byte_math", result.ok_or_else(|| missing("result"))?, vars)?;
    Ok(ByteMath {
        nbytes,
        nbytes_var,
        offset,
        op,
        rvalue,
        rvalue_var,
        relative,
        format,
        bitmask,
        var,
    })
}

fn parse_byte_jump(value: &str, vars: &[String]) -> Res<ByteJump> {
    let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
    if parts.len() < 2 {
        return Err(RuleError::malformed(format!(
            "`byte_jump:{value}`: expected bytes, offset"
        )));
    }
    let (nbytes, nbytes_var) = match parts[0].parse::<usize>() {
        Ok(n) => (n, None),
        Err(_) => (0, Some(var_ref("byte_jump bytes", parts[0], vars)?)),
    };
    let offset = parse_offset("byte_jump", parts[1])?;
    let mut rest = parts.split_off(2);
    let relative = take_flag(&mut rest, "relative");
    let align = take_flag(&mut rest, "align");
    let from_beginning = take_flag(&mut rest, "from_beginning");
    let from_end = take_flag(&mut rest, "from_end");
    if take_flag(&mut rest, "dce") {
        return Err(RuleError::unsupported("keyword option", "byte_jump dce"));
    }
    let format = parse_format(&mut rest)?;
    let bitmask = take_bitmask("byte_jump", &mut rest)?;
    let mut multiplier = 1;
    let mut post_offset = 0;
    for p in rest {
        if let Some(m) = p.strip_prefix("multiplier") {
            multiplier = num("byte_jump multiplier", m)?;
        } else if let Some(m) = p.strip_prefix("post_offset") {
            post_offset = num("byte_jump post_offset", m)?;
        } else {
            return Err(RuleError::malformed(format!(
                "`byte_jump`: unknown option `{p}`"
            )));
        }
    }
    // `byte_jump:0,...` reads nothing (a jump of 0, then post_offset), as Suricata.
    if nbytes != 0 {
        check_nbytes("byte_jump", nbytes, format)?;
    }
    Ok(ByteJump {
        nbytes,
        nbytes_var,
        offset,
        relative,
        multiplier,
        format,
        align,
        from_beginning,
        from_end,
        post_offset,
        bitmask,
    })
}

fn parse_threshold(kw: &str, value: &str) -> Res<Threshold> {
    let mut kind = if kw == "detection_filter" {
        Some(ThresholdKind::DetectionFilter)
    } else {
        None
    };
    let (mut track, mut count, mut seconds) = (None, None, None);
    let mut unique_on = None;
    let mut multiplier = None;
    for part in value.split(',') {
        let mut it = part.split_whitespace();
        let (Some(k), Some(v), None) = (it.next(), it.next(), it.next()) else {
            return Err(RuleError::malformed(format!(
                "`{kw}`: `{}` is not `name value`",
                part.trim()
            )));
        };
        match k {
            "type" if kw == "threshold" => {
                kind = Some(match v {
                    "limit" => ThresholdKind::Limit,
                    "backoff" => ThresholdKind::Backoff,
                    "threshold" => ThresholdKind::Threshold,
                    "both" => ThresholdKind::Both,
                    other => {
                        return Err(RuleError::malformed(format!(
                            "`{kw}`: unknown type `{other}` (limit, threshold, both or backoff)"
                        )));
                    }
                })
            }
            "track" => {
                track = Some(match v {
                    "by_src" => Track::BySrc,
                    "by_dst" => Track::ByDst,
                    "by_rule" => Track::ByRule,
                    "by_both" => Track::ByBoth,
                    "by_flow" => Track::ByFlow,
                    other => {
                        return Err(RuleError::malformed(format!(
                            "`{kw}`: unknown track `{other}`"
                        )));
                    }
                })
            }
            "count" => count = Some(num::<u32>(kw, v)?),
            "unique_on" if kw == "detection_filter" => {
                unique_on = Some(match v {
                    "src_port" => UniqueOn::SrcPort,
                    "dst_port" => UniqueOn::DstPort,
                    other => {
                        return Err(RuleError::malformed(format!(
                            "`{kw}`: unique_on `{other}` (src_port or dst_port)"
                        )));
                    }
                })
            }
            "seconds" => seconds = Some(num::<u32>(kw, v)?),
            "multiplier" => multiplier = Some(num::<u32>(kw, v)?),
            other => {
                return Err(RuleError::malformed(format!(
                    "`{kw}`: unknown option `{other}`"
                )));
            }
        }
    }
    if kind == Some(ThresholdKind::Backoff) {
        return match (track, count, multiplier, seconds) {
            (Some(Track::ByFlow), Some(count), Some(m), None) if count > 0 && m > 1 => {
                Ok(Threshold {
                    kind: ThresholdKind::Backoff,
                    track: Track::ByFlow,
                    count,
                    seconds: u32::MAX,
                    unique_on: None,
                    multiplier: m,
                })
            }
            _ => Err(RuleError::malformed(format!(
                "`{kw}`: type backoff needs track by_flow, count (1 or more) and multiplier (2 or more), no seconds"
            ))),
        };
    }
    if multiplier.is_some() {
        return Err(RuleError::malformed(format!(
            "`{kw}`: multiplier is only for type backoff"
        )));
    }
    match (kind, track, count, seconds) {
        (Some(kind), Some(track), Some(count), Some(seconds)) => Ok(Threshold {
            kind,
            track,
            count,
            seconds,
            unique_on,
            multiplier: 0,
        }),
        _ => Err(RuleError::malformed(format!(
            "`{kw}`: needs {}track, count and seconds",
            if kw == "threshold" { "type, " } else { "" }
        ))),
    }
}

fn parse_flow(value: &str, flow: &mut FlowOpts) -> Res<()> {
    for part in value.split(',') {
        match part.trim() {
            "to_server" | "from_client" => flow.direction = Some(Direction::ToServer),
            "to_client" | "from_server" => flow.direction = Some(Direction::ToClient),
            "established" => flow.established = Some(true),
            "not_established" => flow.established = Some(false),
            "stateless" => {}
            "only_stream" => flow.stream = StreamMode::OnlyStream,
            "no_stream" => flow.stream = StreamMode::NoStream,
            "only_frag" | "no_frag" => {
                return Err(RuleError::unsupported("flow option", part.trim()));
            }
            other => {
                return Err(RuleError::malformed(format!(
                    "`flow`: unknown option `{other}`"
                )));
            }
        }
    }
    Ok(())
}

fn parse_flowbits(value: &str) -> Res<Option<Flowbit>> {
    let (op, names) = match value.split_once(',') {
        Some((o, n)) => (o.trim(), Some(n.trim())),
        None => (value.trim(), None),
    };
    let op = match op {
        "noalert" => return Ok(None),
        "set" => FlowbitOp::Set,
        "unset" => FlowbitOp::Unset,
        "toggle" => FlowbitOp::Toggle,
        "isset" => FlowbitOp::IsSet,
        "isnotset" => FlowbitOp::IsNotSet,
        other => {
            return Err(RuleError::malformed(format!(
                "`flowbits`: unknown operation `{other}`"
            )));
        }
    };
    let names = names
        .filter(|n| !n.is_empty())
        .ok_or_else(|| RuleError::malformed(format!("`flowbits:{value}` needs a name")))?;
    if names.contains('&') {
        return Err(RuleError::unsupported("flowbits operator", "flowbits &"));
    }
    let names: Vec<String> = names.split('|').map(|n| n.trim().to_string()).collect();
    if names.len() > 1 && !matches!(op, FlowbitOp::IsSet | FlowbitOp::IsNotSet) {
        return Err(RuleError::malformed(format!(
            "`flowbits:{value}`: `|` only with isset or isnotset"
        )));
    }
    Ok(Some(Flowbit { op, names }))
}

/// Suricata's default `expire` for xbits, in seconds.
const XBITS_DEFAULT_EXPIRE: u32 = 30;

fn parse_xbits(value: &str) -> Res<Option<Xbit>> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let op = match parts[0] {
        "noalert" if parts.len() == 1 => return Ok(None),
        "set" => FlowbitOp::Set,
        "unset" => FlowbitOp::Unset,
        "toggle" => FlowbitOp::Toggle,
        "isset" => FlowbitOp::IsSet,
        "isnotset" => FlowbitOp::IsNotSet,
        other => {
            return Err(RuleError::malformed(format!(
                "`xbits`: unknown operation `{other}`"
            )));
        }
    };
    let Some(name) = parts.get(1).filter(|n| !n.is_empty() && !n.contains(' ')) else {
        return Err(RuleError::malformed(format!(
            "`xbits:{value}`: expected op,name,track ip_src|ip_dst|ip_pair[,expire N]"
        )));
    };
    let (mut track, mut expire) = (None, XBITS_DEFAULT_EXPIRE);
    for p in &parts[2..] {
        let mut it = p.split_whitespace();
        match (it.next(), it.next(), it.next()) {
            (Some("track"), Some(t), None) => {
                track = Some(match t {
                    "ip_src" => XbitTrack::IpSrc,
                    "ip_dst" => XbitTrack::IpDst,
                    "ip_pair" => XbitTrack::IpPair,
                    other => return Err(RuleError::unsupported("xbits track", other)),
                })
            }
            (Some("expire"), Some(e), None) => expire = num("xbits expire", e)?,
            _ => {
                return Err(RuleError::malformed(format!(
                    "`xbits`: unknown option `{p}`"
                )));
            }
        }
    }
    let track = track.ok_or_else(|| {
        RuleError::malformed(format!(
            "`xbits:{value}`: needs `track ip_src|ip_dst|ip_pair`"
        ))
    })?;
    Ok(Some(Xbit {
        op,
        name: name.to_string(),
        track,
        expire,
    }))
}

fn parse_tag(value: &str) -> Res<Tag> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let host = match parts[0] {
        "session" => false,
        "host" => true,
        other => {
            return Err(RuleError::malformed(format!(
                "`tag`: unknown type `{other}` (session or host)"
            )));
        }
    };
    let mut tag = Tag {
        host,
        count: 256,
        metric: TagMetric::Packets,
        dst: false,
    };
    if parts.len() == 1 {
        return Ok(tag);
    }
    if parts.len() < 3 || parts.len() > 4 || (!host && parts.len() == 4) {
        return Err(RuleError::malformed(format!(
            "`tag:{value}`: expected session[,count,metric] or host,count,metric[,src|dst]"
        )));
    }
    tag.count = num("tag count", parts[1])?;
    tag.metric = match parts[2] {
        "packets" => TagMetric::Packets,
        "seconds" => TagMetric::Seconds,
        "bytes" => TagMetric::Bytes,
        other => {
            return Err(RuleError::malformed(format!(
                "`tag`: unknown metric `{other}` (packets, seconds or bytes)"
            )));
        }
    };
    if let Some(d) = parts.get(3) {
        tag.dst = match *d {
            "src" => false,
            "dst" => true,
            other => {
                return Err(RuleError::malformed(format!(
                    "`tag`: unknown direction `{other}` (src or dst)"
                )));
            }
        };
    }
    Ok(tag)
}

/// `hostbits:op,name[,src|dst]`: bits kept per host, the same store as
/// `xbits` with `track ip_src` / `ip_dst` (the source host by default).
fn parse_hostbits(value: &str) -> Res<Option<Xbit>> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    if parts.len() == 1 && parts[0] == "noalert" {
        return Ok(None);
    }
    let (Some(op), Some(name)) = (parts.first(), parts.get(1)) else {
        return Err(RuleError::malformed(format!(
            "`hostbits:{value}`: expected op,name[,src|dst]"
        )));
    };
    let mut track = XbitTrack::IpSrc;
    let mut expire = XBITS_DEFAULT_EXPIRE;
    for p in &parts[2..] {
        let mut it = p.split_whitespace();
        match (it.next(), it.next(), it.next()) {
            (Some("src"), None, None) => track = XbitTrack::IpSrc,
            (Some("dst"), None, None) => track = XbitTrack::IpDst,
            (Some("both"), None, None) => {
                return Err(RuleError::unsupported(
                    "hostbits direction",
                    "hostbits both",
                ));
            }
            (Some("expire"), Some(e), None) => expire = num("hostbits expire", e)?,
            _ => {
                return Err(RuleError::malformed(format!(
                    "`hostbits`: unknown option `{p}` (expected src, dst or expire N)"
                )));
            }
        }
    }
    let x = parse_xbits(&format!("{op},{name},track ip_src"))
        .map_err(|e| RuleError::malformed(e.reason.replace("xbits", "hostbits")))?;
    Ok(x.map(|x| Xbit { track, expire, ..x }))
}

fn parse_flowint(value: &str) -> Res<Flowint> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let name = parts[0];
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(RuleError::malformed(format!(
            "`flowint:{value}`: expected name,operator[,value]"
        )));
    }
    let op = match parts[1..] {
        ["isset"] => FlowintOp::IsSet,
        ["notset"] | ["isnotset"] => FlowintOp::NotSet,
        [op, v] => {
            let n: u64 = v.parse().map_err(|_| {
                if v.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                    RuleError::unsupported("flowint value (another variable)", "flowint variable")
                } else {
                    RuleError::malformed(format!("`flowint`: `{v}` is not a number"))
                }
            })?;
            match op {
                "=" => FlowintOp::Set(n),
                "+" => FlowintOp::Add(n),
                "-" => FlowintOp::Sub(n),
                "==" => FlowintOp::Compare(UintMatch::Eq(n)),
                "!=" => FlowintOp::Compare(UintMatch::Ne(n)),
                "<" => FlowintOp::Compare(UintMatch::Lt(n)),
                "<=" => FlowintOp::Compare(UintMatch::Le(n)),
                ">" => FlowintOp::Compare(UintMatch::Gt(n)),
                ">=" => FlowintOp::Compare(UintMatch::Ge(n)),
                other => {
                    return Err(RuleError::malformed(format!(
                        "`flowint`: unknown operator `{other}`"
                    )));
                }
            }
        }
        _ => {
            return Err(RuleError::malformed(format!(
                "`flowint:{value}`: expected name,operator[,value]"
            )));
        }
    };
    Ok(Flowint {
        name: name.to_string(),
        op,
    })
}

fn parse_stream_size(value: &str) -> Res<(StreamSide, UintMatch)> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let [side, op, n] = parts[..] else {
        return Err(RuleError::malformed(format!(
            "`stream_size:{value}`: expected side,operator,number"
        )));
    };
    let side = match side {
        "server" => StreamSide::Server,
        "client" => StreamSide::Client,
        "both" => StreamSide::Both,
        "either" => StreamSide::Either,
        other => {
            return Err(RuleError::malformed(format!(
                "`stream_size`: unknown side `{other}` (server, client, both, either)"
            )));
        }
    };
    let n: u64 = num("stream_size", n)?;
    let m = match op {
        "<" => UintMatch::Lt(n),
        ">" => UintMatch::Gt(n),
        "=" => UintMatch::Eq(n),
        "!=" => UintMatch::Ne(n),
        "<=" => UintMatch::Le(n),
        ">=" => UintMatch::Ge(n),
        other => {
            return Err(RuleError::malformed(format!(
                "`stream_size`: unknown operator `{other}`"
            )));
        }
    };
    Ok((side, m))
}

fn parse_flags(value: &str) -> Res<TcpFlags> {
    let (main, ignore) = match value.split_once(',') {
        Some((m, i)) => (m.trim(), Some(i.trim())),
        None => (value.trim(), None),
    };
    let bit = |c: char| -> Res<u8> {
        Ok(match c {
            'F' | 'f' => 0x01,
            'S' | 's' => 0x02,
            'R' | 'r' => 0x04,
            'P' | 'p' => 0x08,
            'A' | 'a' => 0x10,
            'U' | 'u' => 0x20,
            'E' | 'e' | '1' => 0x40,
            'C' | 'c' | '2' => 0x80,
            '0' => 0,
            other => {
                return Err(RuleError::malformed(format!(
                    "`flags`: unknown flag `{other}`"
                )));
            }
        })
    };
    let mut mode = FlagsMode::Exact;
    let mut bits = 0u8;
    for c in main.chars() {
        match c {
            '+' => mode = FlagsMode::All,
            '*' => mode = FlagsMode::Any,
            '!' => mode = FlagsMode::Not,
            c => bits |= bit(c)?,
        }
    }
    let mut ign = 0u8;
    if let Some(i) = ignore {
        for c in i.chars() {
            ign |= bit(c)?;
        }
    }
    Ok(TcpFlags {
        bits,
        ignore: ign,
        mode,
    })
}

fn parse_app_proto(value: &str) -> Res<AppProtoMatch> {
    let mut parts = value.split(',');
    let mut v = parts.next().unwrap_or("").trim();
    if let Some(mode) = parts.next() {
        return Err(RuleError::unsupported(
            "app-layer-protocol mode",
            &format!("app-layer-protocol {}", mode.trim()),
        ));
    }
    let mut negated = false;
    if let Some(r) = v.strip_prefix('!') {
        negated = true;
        v = r.trim();
    }
    let proto = match v {
        "http" | "http1" => AppProto::Http,
        "dns" => AppProto::Dns,
        "tls" => AppProto::Tls,
        "smtp" => AppProto::Smtp,
        "failed" => AppProto::Failed,
        "unknown" => AppProto::Unknown,
        other => crate::app::keywords::header_proto(other)
            .ok_or_else(|| RuleError::unsupported("app-layer-protocol", other))?,
    };
    Ok(AppProtoMatch { proto, negated })
}

/// Keywords that are recognised and knowingly without effect on matching.
fn is_noop(kw: &str) -> bool {
    // `prefilter` only asks Suricata to prefilter the rule on a non-content keyword:
    // a performance hint with no effect on what matches.
    matches!(kw, "rawbytes" | "prefilter")
}

/// This engine's place among Suricata versions, for `requires: version`.
const SURICATA_VERSION: [u32; 3] = [8, 0, 0];

/// `requires: feature NAME, version OP X.Y.Z, ...`: the rule is only for engines that
/// meet every condition. A version condition is checked against Suricata 8.0.0; no
/// optional feature is claimed, so a rule that requires one is skipped.
fn check_requires(value: &str) -> Res<()> {
    for cond in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (what, rest) = cond.split_once(char::is_whitespace).ok_or_else(|| {
            RuleError::malformed(format!(
                "`requires`: `{cond}` (expected `feature NAME` or `version OP X.Y.Z`)"
            ))
        })?;
        match what {
            "feature" => {
                return Err(RuleError::unsupported(
                    "requires feature",
                    &format!("requires feature {}", rest.trim()),
                ));
            }
            "version" => {
                // Alternatives with `|`, each one or two comparisons (`>= 7 < 8`).
                let mut any = false;
                for alt in rest.split('|') {
                    let toks: Vec<&str> = alt.split_whitespace().collect();
                    if toks.is_empty() || !toks.len().is_multiple_of(2) {
                        return Err(RuleError::malformed(format!(
                            "`requires`: `{cond}` (expected `version OP X.Y.Z`)"
                        )));
                    }
                    let mut ok = true;
                    for pair in toks.chunks(2) {
                        let mut v = [0u32; 3];
                        for (i, part) in pair[1].split('.').enumerate() {
                            if i >= 3 {
                                return Err(RuleError::malformed(format!(
                                    "`requires`: version `{}` has more than 3 parts",
                                    pair[1]
                                )));
                            }
                            v[i] = num("requires version", part)?;
                        }
                        let have = SURICATA_VERSION;
                        ok &= match pair[0] {
                            ">=" => have >= v,
                            ">" => have > v,
                            "<=" => have <= v,
                            "<" => have < v,
                            "=" | "==" => have == v,
                            op => {
                                return Err(RuleError::malformed(format!(
                                    "`requires`: unknown operator `{op}`"
                                )));
                            }
                        };
                    }
                    any |= ok;
                }
                if !any {
                    return Err(RuleError::unsupported(
                        "requires version",
                        &format!("requires version {}", rest.trim()),
                    ));
                }
            }
            other => {
                return Err(RuleError::malformed(format!(
                    "`requires`: unknown condition `{other}` (expected feature or version)"
                )));
            }
        }
    }
    Ok(())
}

fn build(
    header_text: &str,
    opts: &[(&str, Option<&str>)],
    vars: &Vars,
    ctx: &mut ParseCtx<'_>,
) -> Res<Rule> {
    let (action, header, mut flow, flow_start) = parse_header(header_text, vars)?;
    let mut rule = Rule {
        action,
        header,
        gid: 1,
        sid: 0,
        rev: 0,
        msg: String::new(),
        classtype: None,
        category: String::new(),
        priority: 3,
        references: Vec::new(),
        metadata: Vec::new(),
        target: None,
        tags: Vec::new(),
        flow: FlowOpts::default(),
        flow_keyword: false,
        flowbits: Vec::new(),
        xbits: Vec::new(),
        flowints: Vec::new(),
        noalert: false,
        pass_alert: false,
        stream_size: None,
        dsize: None,
        tcp_mss: None,
        ip_proto: None,
        icmp_id: None,
        icmp_seq: None,
        flow_pkts: Vec::new(),
        flow_bytes: Vec::new(),
        flow_age: None,
        flow_start,
        tcp_seq: None,
        tcp_ack: None,
        ip_id: None,
        tos: None,
        fragbits: None,
        fragoffset: None,
        tcp_window: None,
        ttl: None,
        itype: None,
        icode: None,
        flags: None,
        app_proto: Vec::new(),
        events: Vec::new(),
        threshold: None,
        detection_filter: None,
        groups: Vec::new(),
        file: String::new(),
        line: 0,
    };
    let mut have_sid = false;
    let mut priority: Option<u8> = None;
    let mut b = Builder {
        items: Vec::new(),
        instances: Vec::new(),
        instance: 0,
        sticky: Buf::Payload,
        dotprefix: Vec::new(),
        sticky_set: false,
        in_base64: false,
        chains: vec![Vec::new()],
        chain_of: Vec::new(),
        cur_chain: 0,
        vars: Vec::new(),
        fresh_sticky: false,
        absent: Vec::new(),
    };
    for &(kw, value) in opts {
        let need = || -> Res<&str> {
            value
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| RuleError::malformed(format!("`{kw}` needs a value")))
        };
        match kw {
            "msg" => rule.msg = unquote(need()?),
            "sid" => {
                rule.sid = num("sid", need()?)?;
                if rule.sid == 0 {
                    return Err(RuleError::malformed("`sid` must not be 0"));
                }
                have_sid = true;
            }
            "rev" => rule.rev = num("rev", need()?)?,
            "gid" => rule.gid = num("gid", need()?)?,
            "classtype" => {
                let name = need()?.trim();
                let (desc, prio) = classification::lookup(name).ok_or_else(|| {
                    RuleError::malformed(format!(
                        "unknown classtype `{name}` (not in the classification table)"
                    ))
                })?;
                rule.classtype = Some(name.to_string());
                rule.category = desc.to_string();
                if priority.is_none() {
                    rule.priority = prio;
                }
            }
            "priority" => {
                let p: u8 = num("priority", need()?)?;
                if p == 0 {
                    return Err(RuleError::malformed("`priority` must be 1 to 255"));
                }
                priority = Some(p);
                rule.priority = p;
            }
            "reference" => rule.references.push(need()?.trim().to_string()),
            "metadata" => rule
                .metadata
                .extend(need()?.split(',').map(|s| s.trim().to_string())),
            "target" => {
                rule.target = Some(match need()?.trim() {
                    "src_ip" => Target::Src,
                    "dest_ip" => Target::Dest,
                    other => {
                        return Err(RuleError::malformed(format!(
                            "`target`: `{other}` (expected src_ip or dest_ip)"
                        )));
                    }
                })
            }
            "content" => {
                let (pattern, negated) = parse_content(need()?)?;
                b.push((
                    b.sticky,
                    Item::Content(Content {
                        pattern,
                        nocase: false,
                        negated,
                        offset: 0,
                        depth: None,
                        distance: None,
                        within: None,
                        startswith: false,
                        endswith: false,
                        fast_pattern: None,
                    }),
                ));
            }
            "nocase" => b.last_content(kw)?.nocase = true,
            "depth" => {
                let v: u32 = num(kw, need()?)?;
                let c = b.last_content(kw)?;
                if c.relative() || c.startswith {
                    return Err(RuleError::malformed(
                        "`depth` cannot be mixed with distance/within/startswith on one content",
                    ));
                }
                if v == 0 || (v as usize) < c.pattern.len() {
                    return Err(RuleError::malformed(format!(
                        "`depth:{v}` is smaller than the content ({} bytes)",
                        c.pattern.len()
                    )));
                }
                c.depth = Some(v);
            }
            "offset" => {
                let v: u32 = num(kw, need()?)?;
                let c = b.last_content(kw)?;
                if c.relative() || c.startswith {
                    return Err(RuleError::malformed(
                        "`offset` cannot be mixed with distance/within/startswith on one content",
                    ));
                }
                c.offset = v;
            }
            "distance" => {
                let v = need()?;
                let v: i32 = v.trim().parse().map_err(|_| {
                    if v.trim()
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic())
                    {
                        RuleError::unsupported("distance (byte_extract variable?)", "byte_extract")
                    } else {
                        RuleError::malformed(format!("`distance`: `{}` is not a number", v.trim()))
                    }
                })?;
                let c = b.last_content(kw)?;
                if c.depth.is_some() || c.offset != 0 || c.startswith {
                    return Err(RuleError::malformed(
                        "`distance` cannot be mixed with depth/offset/startswith on one content",
                    ));
                }
                c.distance = Some(v);
            }
            "within" => {
                let v = need()?;
                let v: u32 = v.trim().parse().map_err(|_| {
                    if v.trim()
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic())
                    {
                        RuleError::unsupported("within (byte_extract variable?)", "byte_extract")
                    } else {
                        RuleError::malformed(format!("`within`: `{}` is not a number", v.trim()))
                    }
                })?;
                let c = b.last_content(kw)?;
                if c.depth.is_some() || c.offset != 0 || c.startswith {
                    return Err(RuleError::malformed(
                        "`within` cannot be mixed with depth/offset/startswith on one content",
                    ));
                }
                if (v as usize) < c.pattern.len() {
                    return Err(RuleError::malformed(format!(
                        "`within:{v}` is smaller than the content ({} bytes)",
                        c.pattern.len()
                    )));
                }
                c.within = Some(v);
            }
            "startswith" => {
                let c = b.last_content(kw)?;
                if c.relative() || c.depth.is_some() || c.offset != 0 {
                    return Err(RuleError::malformed(
                        "`startswith` cannot be mixed with depth/offset/distance/within",
                    ));
                }
                c.startswith = true;
            }
            "endswith" => b.last_content(kw)?.endswith = true,
            "fast_pattern" => {
                let chop = match value.map(str::trim) {
                    None | Some("") | Some("only") => None,
                    Some(v) => {
                        let (o, l) = v.split_once(',').ok_or_else(|| {
                            RuleError::malformed(format!(
                                "`fast_pattern:{v}`: expected offset,length"
                            ))
                        })?;
                        Some((num::<usize>(kw, o)?, num::<usize>(kw, l)?))
                    }
                };
                let c = b.last_content(kw)?;
                if let Some((o, l)) = chop
                    && (l == 0 || o + l > c.pattern.len())
                {
                    return Err(RuleError::malformed(
                        "`fast_pattern` offset,length is outside the content",
                    ));
                }
                c.fast_pattern = Some(chop);
            }
            "isdataat" => {
                let v = need()?.trim();
                let (v, negated) = match v.strip_prefix('!') {
                    Some(r) => (r.trim(), true),
                    None => (v, false),
                };
                let mut parts = v.split(',').map(str::trim);
                let n = parts.next().unwrap_or("");
                let n: u32 = n.parse().map_err(|_| {
                    if n.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                        RuleError::unsupported("isdataat (byte_extract variable?)", "byte_extract")
                    } else {
                        RuleError::malformed(format!("`isdataat`: `{n}` is not a number"))
                    }
                })?;
                let mut relative = false;
                for p in parts {
                    match p {
                        "relative" => relative = true,
                        "rawbytes" => {}
                        other => {
                            return Err(RuleError::malformed(format!(
                                "`isdataat`: unknown option `{other}`"
                            )));
                        }
                    }
                }
                let buf = if relative { b.last_buf() } else { b.sticky };
                b.push((
                    buf,
                    Item::IsDataAt {
                        n,
                        relative,
                        negated,
                    },
                ));
            }
            "bsize" => {
                if !b.sticky_set || b.sticky == Buf::Payload {
                    return Err(RuleError::malformed(
                        "`bsize` needs a sticky buffer before it",
                    ));
                }
                let m = parse_uint(kw, need()?)?;
                b.push((b.sticky, Item::Bsize(m)));
            }
            "urilen" => {
                let v = need()?;
                let (v, raw) = match v.split_once(',') {
                    Some((v, "raw")) | Some((v, " raw")) => (v, true),
                    Some((v, m)) if m.trim() == "norm" => (v, false),
                    Some((_, m)) => {
                        return Err(RuleError::malformed(format!(
                            "`urilen`: unknown option `{}`",
                            m.trim()
                        )));
                    }
                    None => (v, false),
                };
                let m = parse_uint(kw, v)?;
                let kind = if raw {
                    BufferKind::HttpUriRaw
                } else {
                    BufferKind::HttpUri
                };
                b.push((Buf::Kind(kind), Item::Bsize(m)));
            }
            "pcre" => {
                let (p, flag_buf) = parse_pcre(need()?)?;
                let buf = match flag_buf {
                    Some(k) => Buf::Kind(k),
                    None if p.relative => b.last_buf(),
                    None => b.sticky,
                };
                b.push((buf, Item::Pcre(p)));
            }
            "byte_test" => {
                let t = parse_byte_test(need()?, &b.vars)?;
                let buf = if t.relative { b.last_buf() } else { b.sticky };
                b.push((buf, Item::ByteTest(t)));
            }
            "byte_jump" => {
                let j = parse_byte_jump(need()?, &b.vars)?;
                let buf = if j.relative { b.last_buf() } else { b.sticky };
                b.push((buf, Item::ByteJump(j)));
            }
            "byte_extract" => {
                let x = parse_byte_extract(need()?, &mut b.vars)?;
                let buf = if x.relative { b.last_buf() } else { b.sticky };
                b.push((buf, Item::ByteExtract(x)));
            }
            "byte_math" => {
                let m = parse_byte_math(need()?, &mut b.vars)?;
                let buf = if m.relative { b.last_buf() } else { b.sticky };
                b.push((buf, Item::ByteMath(m)));
            }
            "dotprefix" => {
                if !b.sticky_set || b.sticky == Buf::Payload {
                    return Err(RuleError::malformed(
                        "`dotprefix` needs a sticky buffer before it",
                    ));
                }
                if b.items.iter().any(|(buf, _)| *buf == b.sticky) {
                    return Err(RuleError::malformed(
                        "`dotprefix` must come right after its sticky buffer, before its content",
                    ));
                }
                b.dotprefix.push(b.sticky);
            }
            "flow" => {
                parse_flow(need()?, &mut flow)?;
                rule.flow_keyword = true;
            }
            "flowbits" => match parse_flowbits(need()?)? {
                Some(f) => rule.flowbits.push(f),
                None => rule.noalert = true,
            },
            "noalert" => rule.noalert = true,
            "alert" => {
                if value.is_some() {
                    return Err(RuleError::malformed("`alert` takes no value"));
                }
                if action != Action::Pass {
                    return Err(RuleError::malformed(
                        "`alert` is for pass rules (other rules alert anyway)",
                    ));
                }
                rule.pass_alert = true;
            }
            "base64_decode" => {
                if b.in_base64 {
                    return Err(RuleError::unsupported(
                        "keyword",
                        "base64_decode after base64_data",
                    ));
                }
                let (bytes, offset, relative) = parse_base64_decode(value)?;
                let buf = if relative { b.last_buf() } else { b.sticky };
                b.push((
                    buf,
                    Item::Base64Decode {
                        bytes,
                        offset,
                        relative,
                        then: Vec::new(),
                    },
                ));
            }
            "base64_data" => {
                if value.is_some() {
                    return Err(RuleError::malformed("`base64_data` takes no value"));
                }
                if !b
                    .items
                    .iter()
                    .any(|(_, i)| matches!(i, Item::Base64Decode { .. }))
                {
                    return Err(RuleError::malformed(
                        "`base64_data` needs a `base64_decode` before it",
                    ));
                }
                b.in_base64 = true;
            }
            "tag" => rule.tags.push(parse_tag(need()?)?),
            "hostbits" => match parse_hostbits(need()?)? {
                Some(x) => rule.xbits.push(x),
                None => rule.noalert = true,
            },
            "xbits" => match parse_xbits(need()?)? {
                Some(x) => rule.xbits.push(x),
                None => rule.noalert = true,
            },
            "stream_size" => rule.stream_size = Some(parse_stream_size(need()?)?),
            "flowint" => rule.flowints.push(parse_flowint(need()?)?),
            "dsize" => rule.dsize = Some(parse_uint(kw, need()?)?),
            "ttl" => rule.ttl = Some(parse_uint(kw, need()?)?),
            "tcp.mss" => rule.tcp_mss = Some(parse_uint(kw, need()?)?),
            "flow.age" => rule.flow_age = Some(parse_uint(kw, need()?)?),
            "seq" => rule.tcp_seq = Some(num(kw, need()?)?),
            "id" => rule.ip_id = Some(num(kw, need()?)?),
            "tos" | "window" => {
                let v = need()?.trim();
                let (neg, n) = match v.strip_prefix('!') {
                    Some(r) => (true, r.trim()),
                    None => (false, v),
                };
                if kw == "tos" {
                    let n = match n.strip_prefix("0x").or_else(|| n.strip_prefix("0X")) {
                        Some(h) => u8::from_str_radix(h, 16).map_err(|_| {
                            RuleError::malformed(format!("`tos`: `{n}` is not 0 to 255"))
                        })?,
                        None => num(kw, n)?,
                    };
                    rule.tos = Some((neg, n));
                } else {
                    rule.tcp_window = Some((neg, num(kw, n)?));
                }
            }
            "fragbits" => rule.fragbits = Some(parse_fragbits(need()?)?),
            "fragoffset" => rule.fragoffset = Some(parse_fragoffset(need()?)?),
            "ack" => rule.tcp_ack = Some(num(kw, need()?)?),
            "flow.pkts"
            | "flow.bytes"
            | "flow.pkts_toserver"
            | "flow.pkts_toclient"
            | "flow.bytes_toserver"
            | "flow.bytes_toclient" => {
                let v = need()?;
                let (name, dir, m) = match kw.split_once('_') {
                    Some((name, d)) => (
                        name,
                        if d == "toserver" {
                            FlowDir::ToServer
                        } else {
                            FlowDir::ToClient
                        },
                        parse_uint(kw, v)?,
                    ),
                    None => {
                        let (d, m) = v.split_once(',').ok_or_else(|| {
                            RuleError::malformed(format!(
                                "`{kw}:{v}`: expected toserver|toclient|either|both,N"
                            ))
                        })?;
                        let dir = match d.trim() {
                            "toserver" => FlowDir::ToServer,
                            "toclient" => FlowDir::ToClient,
                            "either" => FlowDir::Either,
                            "both" => FlowDir::Both,
                            other => {
                                return Err(RuleError::malformed(format!(
                                    "`{kw}`: unknown direction `{other}` (toserver, toclient, either, both)"
                                )));
                            }
                        };
                        (kw, dir, parse_uint(kw, m)?)
                    }
                };
                if name == "flow.pkts" {
                    rule.flow_pkts.push((dir, m));
                } else {
                    rule.flow_bytes.push((dir, m));
                }
            }
            "ip_proto" => rule.ip_proto = Some(parse_ip_proto(need()?)?),
            "icmp_id" | "icmp_seq" => {
                let v = need()?.trim();
                let n: u16 = num(kw, v.trim_matches('"'))?;
                if kw == "icmp_id" {
                    rule.icmp_id = Some(n);
                } else {
                    rule.icmp_seq = Some(n);
                }
            }
            "itype" => rule.itype = Some(parse_uint(kw, need()?)?),
            "icode" => rule.icode = Some(parse_uint(kw, need()?)?),
            "flags" | "tcp.flags" => rule.flags = Some(parse_flags(need()?)?),
            "app-layer-protocol" => rule.app_proto.push(parse_app_proto(need()?)?),
            "requires" => check_requires(need()?)?,
            "dataset" | "datarep" => {
                if !b.sticky_set || b.sticky == Buf::Payload {
                    return Err(RuleError::malformed(format!(
                        "`{kw}` needs a sticky buffer before it"
                    )));
                }
                let op = parse_dataset(kw, need()?, ctx)?;
                b.push((b.sticky, Item::Dataset(op)));
            }
            "absent" => {
                let or_else = match value.map(str::trim) {
                    None | Some("") => false,
                    Some("or_else") => true,
                    Some(v) => {
                        return Err(RuleError::malformed(format!(
                            "`absent`: unknown option `{v}` (or_else)"
                        )));
                    }
                };
                if !b.sticky_set || b.sticky == Buf::Payload {
                    return Err(RuleError::malformed(
                        "`absent` needs a sticky buffer before it",
                    ));
                }
                if b.items.iter().any(|(buf, _)| *buf == b.sticky) {
                    return Err(RuleError::malformed(
                        "`absent` must come right after its sticky buffer, before its keywords",
                    ));
                }
                b.absent.push((b.sticky, or_else));
            }
            "url_decode"
            | "strip_whitespace"
            | "compress_whitespace"
            | "to_lowercase"
            | "to_uppercase"
            | "header_lowercase"
            | "to_md5"
            | "to_sha1"
            | "to_sha256"
            | "from_base64"
            | "pcrexform"
            | "xor"
            | "gunzip"
            | "zlib_deflate" => {
                let t = parse_transform(kw, value)?;
                b.transform(kw, t)?;
            }
            "decode-event" | "stream-event" => rule.events.push(parse_event(kw, need()?)?),
            "threshold" => rule.threshold = Some(parse_threshold(kw, need()?)?),
            "detection_filter" => rule.detection_filter = Some(parse_threshold(kw, need()?)?),
            kw if is_noop(kw) => {}
            kw => match sticky_buffer(kw) {
                Some(buf) => {
                    if is_legacy_modifier(kw) && value.is_none() {
                        // A legacy modifier moves the content right before it; written
                        // without one, the legacy name works as a sticky buffer.
                        match b.items.last_mut() {
                            Some((bb, Item::Content(_))) if *bb == Buf::Payload => {
                                *bb = buf;
                                continue;
                            }
                            Some((bb, Item::Content(_))) if *bb == buf && !b.sticky_set => {
                                continue;
                            }
                            _ => {}
                        }
                    } else if value.is_some() {
                        return Err(RuleError::malformed(format!("`{kw}` takes no value")));
                    }
                    b.set_sticky(buf);
                }
                None => {
                    use crate::app::keywords::{KeywordUse, keyword};
                    let proto = match rule.header.proto {
                        Proto::App(p) => Some(p),
                        _ => None,
                    };
                    match keyword(kw, value, proto) {
                        Some(r) => match r? {
                            KeywordUse::Items(kind, items) => {
                                for item in items {
                                    b.push((Buf::Kind(kind), item));
                                }
                            }
                            KeywordUse::Sticky(kind) => b.set_sticky(Buf::Kind(kind)),
                        },
                        None => return Err(RuleError::unsupported("keyword", kw)),
                    }
                }
            },
        }
    }
    if !have_sid {
        return Err(RuleError::malformed("missing `sid`"));
    }
    if rule.dsize.is_some()
        && b.items
            .iter()
            .any(|(buf, _)| matches!(buf, Buf::Kind(k) if !k.is_packet_header()))
    {
        return Err(RuleError::malformed(
            "`dsize` cannot be combined with application-layer buffers (it is a packet keyword)",
        ));
    }
    // Group the payload keywords by buffer and transform chain, in the order written.
    let mut groups: Vec<Group> = Vec::new();
    // Per group: its transform chain and buffer instance.
    let mut group_key: Vec<(usize, u32)> = Vec::new();
    let keyed = b.items.into_iter().zip(b.chain_of).zip(b.instances);
    for (((buf, item), chain), inst) in keyed {
        let found = groups
            .iter()
            .zip(&group_key)
            .position(|(g, k)| g.buf == buf && *k == (chain, inst));
        match found.map(|i| &mut groups[i]) {
            Some(g) => g.items.push(item),
            None => {
                groups.push(Group {
                    buf,
                    dotprefix: b.dotprefix.contains(&buf),
                    transforms: b.chains[chain].clone(),
                    absent: b.absent.iter().find(|(ab, _)| *ab == buf).map(|a| a.1),
                    items: vec![item],
                });
                group_key.push((chain, inst));
            }
        }
    }
    // A buffer with `absent` and no keyword: a group of its own.
    for &(buf, or_else) in &b.absent {
        match groups.iter().find(|g| g.buf == buf) {
            Some(_) if !or_else => {
                return Err(RuleError::malformed(
                    "`absent` (without or_else) cannot be followed by keywords on its buffer",
                ));
            }
            Some(_) => {}
            None => groups.push(Group {
                buf,
                dotprefix: false,
                transforms: Vec::new(),
                absent: Some(or_else),
                items: Vec::new(),
            }),
        }
    }
    if let Proto::App(p) = rule.header.proto {
        for g in &groups {
            if let Buf::Kind(k) = g.buf
                && let Some(bp) = buffer_proto(k)
                && bp != p
            {
                // Suricata computes JA3/JA4 of QUIC's inner ClientHello; we do not
                // decrypt QUIC, so such a rule is unsupported rather than wrong.
                if p == AppProto::Quic && bp == AppProto::Tls {
                    return Err(RuleError::unsupported("keyword", &format!("{k:?} on quic")));
                }
                return Err(RuleError::malformed(format!(
                    "a {} rule cannot inspect the {} buffer `{k:?}`",
                    p.name(),
                    bp.name()
                )));
            }
        }
    }
    rule.groups = groups;
    rule.flow = flow;
    Ok(rule)
}

/// The application protocol a buffer belongs to.
pub(crate) fn buffer_proto(k: BufferKind) -> Option<AppProto> {
    use BufferKind as K;
    Some(match k {
        K::DnsQuery => AppProto::Dns,
        K::TlsSni
        | K::TlsCertSubject
        | K::TlsCertIssuer
        | K::TlsCertSerial
        | K::TlsCertFingerprint
        | K::TlsCerts
        | K::TlsVersion
        | K::Ja3Hash
        | K::Ja3String
        | K::Ja3sHash
        | K::Ja3sString => AppProto::Tls,
        K::SmtpHelo | K::SmtpMailFrom | K::SmtpRcptTo => AppProto::Smtp,
        K::App(b) => return b.proto(),
        K::FileData
        | K::Ipv4Hdr
        | K::Ipv6Hdr
        | K::TcpHdr
        | K::UdpHdr
        | K::Icmpv4Hdr
        | K::Icmpv6Hdr
        | K::IpSrc
        | K::IpDst => return None,
        _ => AppProto::Http,
    })
}

/// `decode-event:layer.name` or `stream-event:name` (Suricata's event names). An event
/// the decoder does not raise is reported as unsupported: the rule would never match.
fn parse_event(kw: &str, value: &str) -> Res<crate::decode::Event> {
    let name = value.trim();
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(RuleError::malformed(format!(
            "`{kw}`: `{name}` is not an event name (expected one name such as ipv4.trunc_pkt)"
        )));
    }
    let full = if kw == "stream-event" {
        format!("stream.{name}")
    } else {
        name.to_string()
    };
    crate::decode::Event::from_name(&full)
        .ok_or_else(|| RuleError::unsupported(kw, &format!("{kw}:{name}")))
}

/// A transform keyword and its value.
fn parse_transform(kw: &str, value: Option<&str>) -> Res<Transform> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let no_value = |t: Transform| match value {
        Some(v) => Err(RuleError::malformed(format!(
            "`{kw}` takes no value (got `{v}`)"
        ))),
        None => Ok(t),
    };
    match kw {
        "url_decode" => no_value(Transform::UrlDecode),
        "strip_whitespace" => no_value(Transform::StripWhitespace),
        "compress_whitespace" => no_value(Transform::CompressWhitespace),
        "to_lowercase" => no_value(Transform::ToLowercase),
        "to_uppercase" => no_value(Transform::ToUppercase),
        "header_lowercase" => no_value(Transform::HeaderLowercase),
        "to_md5" => no_value(Transform::ToMd5),
        "to_sha1" => no_value(Transform::ToSha1),
        "to_sha256" => no_value(Transform::ToSha256),
        "from_base64" => {
            let (mut bytes, mut offset, mut mode) = (None, 0, Base64Mode::Rfc4648);
            for part in value
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let (k, v) = part.split_once(char::is_whitespace).ok_or_else(|| {
                    RuleError::malformed(format!(
                        "`from_base64`: `{part}` (expected bytes N, offset N or mode M)"
                    ))
                })?;
                let v = v.trim();
                match k {
                    "bytes" => {
                        let n: u32 = num("from_base64 bytes", v)?;
                        if n == 0 {
                            return Err(RuleError::malformed("`from_base64`: bytes must not be 0"));
                        }
                        bytes = Some(n);
                    }
                    "offset" => offset = num("from_base64 offset", v)?,
                    "mode" => {
                        mode = match v {
                            "rfc4648" => Base64Mode::Rfc4648,
                            "rfc2045" => Base64Mode::Rfc2045,
                            "strict" => Base64Mode::Strict,
                            other => {
                                return Err(RuleError::malformed(format!(
                                    "`from_base64`: unknown mode `{other}` (rfc4648, rfc2045 or strict)"
                                )));
                            }
                        }
                    }
                    other => {
                        return Err(RuleError::malformed(format!(
                            "`from_base64`: unknown option `{other}` (bytes, offset or mode)"
                        )));
                    }
                }
            }
            Ok(Transform::FromBase64 {
                bytes,
                offset,
                mode,
            })
        }
        "pcrexform" => {
            let v = value.ok_or_else(|| RuleError::malformed("`pcrexform` needs a value"))?;
            let inner = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| {
                    RuleError::malformed("`pcrexform`: the expression must be quoted")
                })?;
            let pattern = inner.replace("\\;", ";").replace("\\\"", "\"");
            let re = pcre2::bytes::RegexBuilder::new()
                .build(&pattern)
                .map_err(|e| RuleError::malformed(format!("`pcrexform`: {e}")))?;
            if re.captures_len() < 2 {
                return Err(RuleError::malformed(
                    "`pcrexform`: the expression needs a capture group (its text becomes the buffer)",
                ));
            }
            Ok(Transform::Pcrexform(re))
        }
        "xor" => {
            let v = value.ok_or_else(|| RuleError::malformed("`xor` needs a key"))?;
            let hex = v.trim_matches('"');
            if hex.is_empty() || hex.len() % 2 != 0 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(RuleError::malformed(format!(
                    "`xor`: `{hex}` is not a key (an even number of hex digits)"
                )));
            }
            let key = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect();
            Ok(Transform::Xor(key))
        }
        "gunzip" | "zlib_deflate" => {
            let mut max_size = 1024;
            if let Some(v) = value {
                let n = v.strip_prefix("max-size").map(str::trim).ok_or_else(|| {
                    RuleError::malformed(format!("`{kw}`: `{v}` (expected max-size N)"))
                })?;
                max_size = num("max-size", n)?;
                if max_size == 0 {
                    return Err(RuleError::malformed(format!(
                        "`{kw}`: max-size must not be 0"
                    )));
                }
            }
            Ok(if kw == "gunzip" {
                Transform::Gunzip { max_size }
            } else {
                Transform::ZlibDeflate { max_size }
            })
        }
        other => Err(RuleError::unsupported("transform", other)),
    }
}

/// `ip_proto:[!|<|>]N` with N a number or a protocol name.
fn parse_ip_proto(value: &str) -> Res<UintMatch> {
    let v = value.trim();
    let (op, rest) = match v.as_bytes().first() {
        Some(b'!') => ("!", &v[1..]),
        Some(b'<') => ("<", &v[1..]),
        Some(b'>') => (">", &v[1..]),
        _ => ("", v),
    };
    let rest = rest.trim();
    let n: u64 = match rest.to_ascii_lowercase().as_str() {
        "ip" | "hopopt" => 0,
        "icmp" => 1,
        "igmp" => 2,
        "ipip" | "ipv4" => 4,
        "tcp" => 6,
        "udp" => 17,
        "ipv6" => 41,
        "ipv6-route" => 43,
        "ipv6-frag" => 44,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" => 58,
        "ipv6-nonxt" => 59,
        "ipv6-opts" => 60,
        "sctp" => 132,
        s => s.parse::<u8>().map(u64::from).map_err(|_| {
            RuleError::malformed(format!(
                "`ip_proto`: `{rest}` is not a protocol number (0-255) or name"
            ))
        })?,
    };
    Ok(match op {
        "!" => UintMatch::Ne(n),
        "<" => UintMatch::Lt(n),
        ">" => UintMatch::Gt(n),
        _ => UintMatch::Eq(n),
    })
}

/// `dataset:cmd,name,type T[,load FILE]` and `datarep:name,op,value,type T,load FILE`.
/// Files are read relative to the rule file's directory; rules of one file that name
/// the same set share it (its type must agree).
fn parse_dataset(kw: &str, value: &str, ctx: &mut ParseCtx<'_>) -> Res<dataset::DatasetOp> {
    use dataset::{DataType, Dataset, DatasetOp, RepOp};
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let usage = || {
        RuleError::malformed(format!(
            "`{kw}:{value}`: expected {}",
            if kw == "dataset" {
                "cmd,name,type T[,load FILE]"
            } else {
                "name,op,value,type T,load FILE"
            }
        ))
    };
    let (cmd, name, rep, opts) = if kw == "dataset" {
        let (Some(cmd), Some(name)) = (parts.first(), parts.get(1)) else {
            return Err(usage());
        };
        (Some(*cmd), *name, None, &parts[2.min(parts.len())..])
    } else {
        if parts.len() < 3 {
            return Err(usage());
        }
        let op = match parts[1] {
            "<" => RepOp::Lt,
            ">" => RepOp::Gt,
            "==" | "=" => RepOp::Eq,
            other => {
                return Err(RuleError::malformed(format!(
                    "`datarep`: unknown operator `{other}` (<, > or ==)"
                )));
            }
        };
        let v: u32 = num("datarep value", parts[2])?;
        (None, parts[0], Some((op, v)), &parts[3..])
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(usage());
    }
    let (mut kind, mut load) = (None, None);
    for o in opts {
        let (k, v) = o.split_once(char::is_whitespace).unwrap_or((o, ""));
        let v = v.trim();
        match k {
            "type" => {
                kind = Some(DataType::parse(v).ok_or_else(|| {
                    RuleError::unsupported(&format!("{kw} type"), &format!("{kw} type {v}"))
                })?)
            }
            "load" if !v.is_empty() => load = Some(v),
            "memcap" | "hashsize" => {}
            "save" | "state" => {
                return Err(RuleError::unsupported(
                    &format!("{kw} option"),
                    &format!("{kw} {k}"),
                ));
            }
            _ => {
                return Err(RuleError::malformed(format!(
                    "`{kw}`: unknown option `{o}`"
                )));
            }
        }
    }
    let kind = kind.ok_or_else(|| RuleError::malformed(format!("`{kw}`: needs `type T`")))?;
    let set = match ctx.datasets.get(name) {
        Some(s) if s.kind != kind => {
            return Err(RuleError::malformed(format!(
                "`{kw}`: set `{name}` was declared with another type"
            )));
        }
        Some(s) => s.clone(),
        None => {
            let s = std::sync::Arc::new(Dataset::new(name, kind));
            if let Some(f) = load {
                let text =
                    (ctx.files)(f).map_err(|e| RuleError::malformed(format!("`{kw}`: {e}")))?;
                // Suricata creates a set whose file does not exist yet (it is the
                // file `save` would write); a reputation list must exist.
                match text {
                    Some(text) => {
                        s.load(f, &text, rep.is_some())
                            .map_err(|e| RuleError::malformed(format!("`{kw}`: {e}")))?;
                    }
                    None if rep.is_some() => {
                        return Err(RuleError::malformed(format!(
                            "`{kw}`: the reputation file `{f}` does not exist"
                        )));
                    }
                    None => {}
                }
            }
            ctx.datasets.insert(name.to_string(), s.clone());
            s
        }
    };
    Ok(match (cmd, rep) {
        (_, Some((op, v))) => DatasetOp::Rep(set, op, v),
        (Some("set"), _) => DatasetOp::Set(set),
        (Some("unset"), _) => DatasetOp::Unset(set),
        (Some("isset"), _) => DatasetOp::IsSet(set),
        (Some("isnotset"), _) => DatasetOp::IsNotSet(set),
        (Some(other), _) => {
            return Err(RuleError::malformed(format!(
                "`dataset`: unknown command `{other}` (set, unset, isset, isnotset)"
            )));
        }
        (None, None) => return Err(usage()),
    })
}

/// `fragbits:[+*!]<M|D|R...>`: the IPv4 flags more fragments, don't fragment, reserved.
fn parse_fragbits(value: &str) -> Res<TcpFlags> {
    let mut mode = FlagsMode::Exact;
    let mut bits = 0u8;
    for c in value.trim().chars() {
        match c {
            '+' => mode = FlagsMode::All,
            '*' => mode = FlagsMode::Any,
            '!' => mode = FlagsMode::Not,
            'M' | 'm' => bits |= 1,
            'D' | 'd' => bits |= 2,
            'R' | 'r' => bits |= 4,
            c if c.is_whitespace() => {}
            other => {
                return Err(RuleError::malformed(format!(
                    "`fragbits`: unknown flag `{other}` (M, D or R, with +, * or !)"
                )));
            }
        }
    }
    if bits == 0 {
        return Err(RuleError::malformed("`fragbits` needs one of M, D, R"));
    }
    Ok(TcpFlags {
        bits,
        ignore: 0,
        mode,
    })
}

/// `fragoffset:[!|<|>]N`: the IPv4 fragment offset in bytes.
fn parse_fragoffset(value: &str) -> Res<UintMatch> {
    let v = value.trim();
    let (op, n) = match v.as_bytes().first() {
        Some(b'!' | b'<' | b'>') => (&v[..1], v[1..].trim()),
        _ => ("", v),
    };
    let n: u64 = num::<u16>("fragoffset", n)?.into();
    Ok(match op {
        "!" => UintMatch::Ne(n),
        "<" => UintMatch::Lt(n),
        ">" => UintMatch::Gt(n),
        _ => UintMatch::Eq(n),
    })
}
