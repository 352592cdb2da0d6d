//! Rule text → [`Rule`]: the header, the option list with its quoting and escaping
//! rules, and every supported keyword.

use super::header::{parse_addr, parse_ports};
use super::*;
use crate::detect::input::{AppProto, BufferKind, Direction};

type Res<T> = Result<T, RuleError>;

/// Parses one rule; on error returns the sid (when it could be read) and the reason.
pub(crate) fn parse_rule(text: &str, vars: &Vars) -> Result<Rule, (Option<u32>, RuleError)> {
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
    build(header_text, &opts, vars).map_err(|e| (sid, e))
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

fn parse_header(text: &str, vars: &Vars) -> Res<(Action, Header, FlowOpts)> {
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
    let proto = match toks[1].to_ascii_lowercase().as_str() {
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
        // `icmp` covers ICMP and ICMPv6, as in Suricata.
        "icmp" => Proto::Icmp,
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
    let bidirectional = match toks[4] {
        "->" => false,
        "<>" => true,
        "<-" => {
            return Err(RuleError::malformed(
                "direction `<-` is not valid: write `->` with source and destination swapped",
            ));
        }
        other => {
            return Err(RuleError::malformed(format!(
                "invalid direction `{other}` (expected `->` or `<>`)"
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
        },
        flow,
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
        // `base64_data` is only accepted after a `base64_decode`, so a target exists.
        if self.in_base64
            && let Some(t) = self.target()
        {
            t.push(entry.1);
        } else {
            self.items.push(entry);
            self.instances.push(self.instance);
        }
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
    }

    /// The buffer of the last content-like item (for relative keywords).
    fn last_buf(&self) -> Buf {
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

fn parse_byte_test(value: &str) -> Res<ByteTest> {
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
    let value_num = parse_u64(parts[2]).ok_or_else(|| {
        RuleError::unsupported("byte_test value (byte_extract variable?)", parts[2])
    })?;
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

fn parse_byte_jump(value: &str) -> Res<ByteJump> {
    let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
    if parts.len() < 2 {
        return Err(RuleError::malformed(format!(
            "`byte_jump:{value}`: expected bytes, offset"
        )));
    }
    let nbytes: usize = num("byte_jump", parts[0])?;
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
    check_nbytes("byte_jump", nbytes, format)?;
    Ok(ByteJump {
        nbytes,
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
                    "backoff" => return Err(RuleError::unsupported("threshold type", "backoff")),
                    "threshold" => ThresholdKind::Threshold,
                    "both" => ThresholdKind::Both,
                    other => {
                        return Err(RuleError::malformed(format!(
                            "`{kw}`: unknown type `{other}` (limit, threshold or both)"
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
            other => {
                return Err(RuleError::malformed(format!(
                    "`{kw}`: unknown option `{other}`"
                )));
            }
        }
    }
    match (kind, track, count, seconds) {
        (Some(kind), Some(track), Some(count), Some(seconds)) => Ok(Threshold {
            kind,
            track,
            count,
            seconds,
            unique_on,
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
    matches!(kw, "rawbytes")
}

fn build(header_text: &str, opts: &[(&str, Option<&str>)], vars: &Vars) -> Res<Rule> {
    let (action, header, mut flow) = parse_header(header_text, vars)?;
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
        flow: FlowOpts::default(),
        flow_keyword: false,
        flowbits: Vec::new(),
        xbits: Vec::new(),
        flowints: Vec::new(),
        noalert: false,
        stream_size: None,
        dsize: None,
        ttl: None,
        itype: None,
        icode: None,
        flags: None,
        app_proto: Vec::new(),
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
                let t = parse_byte_test(need()?)?;
                let buf = if t.relative { b.last_buf() } else { b.sticky };
                b.push((buf, Item::ByteTest(t)));
            }
            "byte_jump" => {
                let j = parse_byte_jump(need()?)?;
                let buf = if j.relative { b.last_buf() } else { b.sticky };
                b.push((buf, Item::ByteJump(j)));
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
            "xbits" => match parse_xbits(need()?)? {
                Some(x) => rule.xbits.push(x),
                None => rule.noalert = true,
            },
            "stream_size" => rule.stream_size = Some(parse_stream_size(need()?)?),
            "flowint" => rule.flowints.push(parse_flowint(need()?)?),
            "dsize" => rule.dsize = Some(parse_uint(kw, need()?)?),
            "ttl" => rule.ttl = Some(parse_uint(kw, need()?)?),
            "itype" => rule.itype = Some(parse_uint(kw, need()?)?),
            "icode" => rule.icode = Some(parse_uint(kw, need()?)?),
            "flags" => rule.flags = Some(parse_flags(need()?)?),
            "app-layer-protocol" => rule.app_proto.push(parse_app_proto(need()?)?),
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
    if rule.dsize.is_some() && b.items.iter().any(|(buf, _)| matches!(buf, Buf::Kind(_))) {
        return Err(RuleError::malformed(
            "`dsize` cannot be combined with application-layer buffers (it is a packet keyword)",
        ));
    }
    // Group the payload keywords by buffer, in the order written.
    let mut groups: Vec<Group> = Vec::new();
    let mut group_instance: Vec<u32> = Vec::new();
    for ((buf, item), inst) in b.items.into_iter().zip(b.instances) {
        let found = groups
            .iter()
            .zip(&group_instance)
            .position(|(g, i)| g.buf == buf && *i == inst);
        match found.map(|i| &mut groups[i]) {
            Some(g) => g.items.push(item),
            None => {
                groups.push(Group {
                    buf,
                    dotprefix: b.dotprefix.contains(&buf),
                    items: vec![item],
                });
                group_instance.push(inst);
            }
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
        K::FileData => return None,
        _ => AppProto::Http,
    })
}
