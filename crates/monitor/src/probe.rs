//! The bytes of the service probes, both ways: requests built and replies read, for
//! ICMP echo, NTP, DNS, SSH, SMTP and HTTP. The probe adapters send and receive; here
//! is what the packets mean and what a round measured. Every reader returns an error
//! naming what is wrong, never panics; "need more bytes" is `Ok(None)` for the
//! stream protocols.

use crate::rollup::Sample;
use jiff::Timestamp;
use std::fmt;

/// Why a reply could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{protocol} reply: {what}")]
pub struct ReplyError {
    pub protocol: &'static str,
    pub what: String,
}

fn bad<T>(protocol: &'static str, what: impl Into<String>) -> Result<T, ReplyError> {
    Err(ReplyError {
        protocol,
        what: what.into(),
    })
}

// ---------------------------------------------------------------- ICMP echo

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// RFC 1071 Internet checksum.
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in bytes.chunks(2) {
        let word = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request. The checksum is filled for IPv4; for IPv6 the kernel computes it
/// (it covers a pseudo-header the sender cannot see on a socket).
pub fn echo_request(family: Family, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let kind = match family {
        Family::V4 => 8,
        Family::V6 => 128,
    };
    let mut p = vec![kind, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(payload);
    if family == Family::V4 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoReply {
    pub id: u16,
    pub seq: u16,
    pub payload: Vec<u8>,
}

/// An ICMP message as a socket hands it over: with its IPv4 header on a raw IPv4
/// socket (`ipv4_header`), bare otherwise. `Ok(None)` for valid ICMP that is not an
/// echo reply (raw sockets see every ICMP message, our own requests included).
pub fn echo_reply(
    family: Family,
    mut bytes: &[u8],
    ipv4_header: bool,
) -> Result<Option<EchoReply>, ReplyError> {
    const P: &str = "ICMP";
    if family == Family::V4 && ipv4_header {
        let Some(&first) = bytes.first() else {
            return bad(P, "empty packet");
        };
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 || bytes.len() < ihl {
            return bad(P, "the IPv4 header is malformed");
        }
        if bytes[9] != 1 {
            return bad(P, "the IPv4 packet does not carry ICMP");
        }
        bytes = &bytes[ihl..];
    }
    if bytes.len() < 8 {
        return bad(
            P,
            format!("{} bytes, an echo reply has at least 8", bytes.len()),
        );
    }
    let reply = match family {
        Family::V4 => 0,
        Family::V6 => 129,
    };
    if bytes[0] != reply {
        return Ok(None);
    }
    if bytes[1] != 0 {
        return bad(P, format!("echo reply with code {}", bytes[1]));
    }
    if family == Family::V4 && checksum(bytes) != 0 {
        return bad(P, "the checksum does not match");
    }
    Ok(Some(EchoReply {
        id: u16::from_be_bytes([bytes[4], bytes[5]]),
        seq: u16::from_be_bytes([bytes[6], bytes[7]]),
        payload: bytes[8..].to_vec(),
    }))
}

/// What one round of probes measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundSummary {
    pub sent: u32,
    pub received: u32,
    /// 0..=100.
    pub loss_percent: f64,
    /// Round-trip times in milliseconds, when anything came back.
    pub rtt_min_ms: Option<f64>,
    pub rtt_avg_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
}

impl RoundSummary {
    /// The round as samples: `loss_percent` always, `rtt_avg_ms` and `rtt_max_ms` when
    /// anything came back.
    pub fn samples(&self, at: Timestamp) -> Vec<(&'static str, Sample)> {
        let mut out = vec![(
            "loss_percent",
            Sample {
                at,
                value: self.loss_percent,
            },
        )];
        for (name, v) in [
            ("rtt_avg_ms", self.rtt_avg_ms),
            ("rtt_max_ms", self.rtt_max_ms),
        ] {
            if let Some(value) = v {
                out.push((name, Sample { at, value }));
            }
        }
        out
    }
}

/// A round: `sent` probes, the round-trip times of the answers (duplicates already
/// removed by the caller; more answers than probes count as `sent`).
pub fn round_summary(sent: u32, rtts_ms: &[f64]) -> RoundSummary {
    let received = (rtts_ms.len() as u32).min(sent);
    let loss_percent = if sent == 0 {
        0.0
    } else {
        f64::from(sent - received) * 100.0 / f64::from(sent)
    };
    let (min, max, sum) = rtts_ms.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY, 0.0),
        |(lo, hi, s), &r| (lo.min(r), hi.max(r), s + r),
    );
    let any = !rtts_ms.is_empty();
    RoundSummary {
        sent,
        received,
        loss_percent,
        rtt_min_ms: any.then_some(min),
        rtt_avg_ms: any.then(|| sum / rtts_ms.len() as f64),
        rtt_max_ms: any.then_some(max),
    }
}

// ---------------------------------------------------------------- NTP

/// Seconds from 1900 (NTP era 0) to 1970.
const NTP_UNIX: i128 = 2_208_988_800;

/// Unix time in nanoseconds to the NTP 64-bit format (era folded away).
pub fn ntp_timestamp(unix_ns: i128) -> u64 {
    let secs = unix_ns.div_euclid(1_000_000_000) + NTP_UNIX;
    let frac = unix_ns.rem_euclid(1_000_000_000);
    let frac = ((frac << 32) / 1_000_000_000) as u64;
    ((secs as u64 & 0xffff_ffff) << 32) | frac
}

/// An NTP timestamp to Unix nanoseconds, in the era that puts it nearest `near`.
pub fn ntp_to_unix_ns(ts: u64, near_unix_ns: i128) -> i128 {
    let secs = i128::from(ts >> 32);
    let frac = (i128::from(ts & 0xffff_ffff) * 1_000_000_000) >> 32;
    let era = 1i128 << 32;
    let base = secs - NTP_UNIX;
    let near_s = near_unix_ns.div_euclid(1_000_000_000);
    let k = (near_s - base + era / 2).div_euclid(era);
    (base + k * era) * 1_000_000_000 + frac
}

/// An SNTP client request (version 4, mode 3) stamped with the client's send time.
pub fn ntp_request(transmit_unix_ns: i128) -> [u8; 48] {
    let mut p = [0u8; 48];
    p[0] = 0x23;
    p[40..48].copy_from_slice(&ntp_timestamp(transmit_unix_ns).to_be_bytes());
    p
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NtpReply {
    pub stratum: u8,
    pub leap: u8,
    /// The server's clock minus ours, in milliseconds.
    pub offset_ms: f64,
    /// Round-trip delay less the server's processing, in milliseconds.
    pub delay_ms: f64,
}

impl NtpReply {
    /// `offset_ms`, `delay_ms` and `stratum` as samples.
    pub fn samples(&self, at: Timestamp) -> Vec<(&'static str, Sample)> {
        vec![
            (
                "offset_ms",
                Sample {
                    at,
                    value: self.offset_ms,
                },
            ),
            (
                "delay_ms",
                Sample {
                    at,
                    value: self.delay_ms,
                },
            ),
            (
                "stratum",
                Sample {
                    at,
                    value: f64::from(self.stratum),
                },
            ),
        ]
    }
}

/// Reads a server's reply to [`ntp_request`] sent at `t1`, received at `t4` (Unix
/// nanoseconds, our clock). The originate timestamp must echo ours.
pub fn ntp_reply(bytes: &[u8], t1_unix_ns: i128, t4_unix_ns: i128) -> Result<NtpReply, ReplyError> {
    const P: &str = "NTP";
    if bytes.len() < 48 {
        return bad(P, format!("{} bytes, a reply has at least 48", bytes.len()));
    }
    let (leap, version, mode) = (bytes[0] >> 6, (bytes[0] >> 3) & 7, bytes[0] & 7);
    if mode != 4 {
        return bad(P, format!("mode {mode}, a server answers in mode 4"));
    }
    if !(1..=4).contains(&version) {
        return bad(P, format!("version {version}"));
    }
    let stratum = bytes[1];
    if stratum == 0 {
        let code = String::from_utf8_lossy(&bytes[12..16]).into_owned();
        return bad(P, format!("kiss-o'-death `{code}`"));
    }
    let ts = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    if ts(24) != ntp_timestamp(t1_unix_ns) {
        return bad(P, "the originate timestamp is not our request's");
    }
    if ts(40) == 0 || ts(32) == 0 {
        return bad(P, "the server left its timestamps empty");
    }
    let t2 = ntp_to_unix_ns(ts(32), t1_unix_ns);
    let t3 = ntp_to_unix_ns(ts(40), t1_unix_ns);
    let offset = ((t2 - t1_unix_ns) + (t3 - t4_unix_ns)) as f64 / 2.0;
    let delay = ((t4_unix_ns - t1_unix_ns) - (t3 - t2)) as f64;
    Ok(NtpReply {
        stratum,
        leap,
        offset_ms: offset / 1e6,
        delay_ms: delay / 1e6,
    })
}

// ---------------------------------------------------------------- DNS

/// A standard query (recursion desired) for `name` of type `qtype` (1 = A, 28 = AAAA).
pub fn dns_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, ReplyError> {
    const P: &str = "DNS query";
    let mut p = Vec::with_capacity(name.len() + 18);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return bad(P, format!("`{name}`: a label is 1 to 63 bytes"));
            }
            p.push(label.len() as u8);
            p.extend_from_slice(label.as_bytes());
        }
    }
    p.push(0);
    if p.len() - 12 > 255 {
        return bad(P, format!("`{name}` is longer than 255 bytes"));
    }
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    Ok(p)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsAnswer {
    /// 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN...
    pub rcode: u8,
    pub answers: u16,
    pub truncated: bool,
    pub authoritative: bool,
}

impl DnsAnswer {
    /// The query was answered: NOERROR with at least one record.
    pub fn answered(&self) -> bool {
        self.rcode == 0 && self.answers > 0
    }
}

/// The header of a response to the query with `id`.
pub fn dns_response(bytes: &[u8], id: u16) -> Result<DnsAnswer, ReplyError> {
    const P: &str = "DNS";
    if bytes.len() < 12 {
        return bad(P, format!("{} bytes, a header has 12", bytes.len()));
    }
    if u16::from_be_bytes([bytes[0], bytes[1]]) != id {
        return bad(P, "the id is not our query's");
    }
    if bytes[2] & 0x80 == 0 {
        return bad(P, "a query, not a response");
    }
    Ok(DnsAnswer {
        rcode: bytes[3] & 0x0f,
        answers: u16::from_be_bytes([bytes[6], bytes[7]]),
        truncated: bytes[2] & 0x02 != 0,
        authoritative: bytes[2] & 0x04 != 0,
    })
}

// ---------------------------------------------------------------- line protocols

/// The first complete line of `buf` (without CR LF), if there is one within `max`.
fn line<'a>(
    buf: &'a [u8],
    max: usize,
    protocol: &'static str,
) -> Result<Option<(&'a [u8], usize)>, ReplyError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(p) if p <= max => {
            let l = &buf[..p];
            Ok(Some((l.strip_suffix(b"\r").unwrap_or(l), p + 1)))
        }
        Some(_) => bad(protocol, format!("a line is longer than {max} bytes")),
        None if buf.len() > max => bad(protocol, format!("a line is longer than {max} bytes")),
        None => Ok(None),
    }
}

/// An SSH server's identification (RFC 4253 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshBanner {
    pub proto: String,
    pub software: String,
    pub comment: Option<String>,
}

impl fmt::Display for SshBanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SSH-{}-{}", self.proto, self.software)?;
        if let Some(c) = &self.comment {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// The server's identification line, after any other lines it may send first.
pub fn ssh_banner(buf: &[u8]) -> Result<Option<SshBanner>, ReplyError> {
    const P: &str = "SSH";
    let mut rest = buf;
    loop {
        let Some((l, used)) = line(rest, 255, P)? else {
            return Ok(None);
        };
        rest = &rest[used..];
        let Some(id) = l.strip_prefix(b"SSH-") else {
            if buf.len() - rest.len() > 8192 {
                return bad(P, "no identification line in the first 8 KiB");
            }
            continue;
        };
        let text = String::from_utf8_lossy(id);
        let (main, comment) = match text.split_once(' ') {
            Some((m, c)) => (m.to_string(), Some(c.to_string())),
            None => (text.to_string(), None),
        };
        let Some((proto, software)) = main.split_once('-') else {
            return bad(P, "the identification has no software version");
        };
        if proto != "2.0" && proto != "1.99" {
            return bad(P, format!("protocol version `{proto}`"));
        }
        return Ok(Some(SshBanner {
            proto: proto.to_string(),
            software: software.to_string(),
            comment,
        }));
    }
}

/// A complete SMTP reply: its code and its lines' text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpReply {
    pub code: u16,
    pub lines: Vec<String>,
}

/// One SMTP reply (multi-line `250-...` ... `250 ...`) from the start of `buf`, with the
/// bytes it took.
pub fn smtp_reply(buf: &[u8]) -> Result<Option<(SmtpReply, usize)>, ReplyError> {
    const P: &str = "SMTP";
    let mut at = 0;
    let mut code = None;
    let mut lines = Vec::new();
    loop {
        let Some((l, used)) = line(&buf[at..], 998, P)? else {
            return Ok(None);
        };
        at += used;
        if l.len() < 3
            || !l[..3].iter().all(u8::is_ascii_digit)
            || !matches!(l.get(3), None | Some(b' ' | b'-'))
        {
            return bad(
                P,
                format!(
                    "line {} does not start with a 3-digit code",
                    lines.len() + 1
                ),
            );
        }
        let c = l[..3]
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        if code.is_some_and(|k| k != c) {
            return bad(
                P,
                format!("line {} changes the code to {c}", lines.len() + 1),
            );
        }
        code = Some(c);
        lines.push(String::from_utf8_lossy(l.get(4..).unwrap_or_default()).into_owned());
        if l.get(3) != Some(&b'-') {
            return Ok(Some((SmtpReply { code: c, lines }, at)));
        }
        if lines.len() > 100 {
            return bad(P, "more than 100 lines in one reply");
        }
    }
}

/// The status code of an HTTP/1.x response's status line.
pub fn http_status(buf: &[u8]) -> Result<Option<u16>, ReplyError> {
    const P: &str = "HTTP";
    let Some((l, _)) = line(buf, 8192, P)? else {
        return Ok(None);
    };
    let rest = match l
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| l.strip_prefix(b"HTTP/1.0 "))
    {
        Some(r) => r,
        None => return bad(P, "the status line does not start with HTTP/1.x"),
    };
    match rest.get(..3) {
        Some(d) if d.iter().all(u8::is_ascii_digit) && matches!(rest.get(3), None | Some(b' ')) => {
            Ok(Some(
                d.iter().fold(0u16, |n, x| n * 10 + u16::from(x - b'0')),
            ))
        }
        _ => bad(P, "the status code is not 3 digits"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn icmp_echo_round_trip_and_errors() {
        let req = echo_request(Family::V4, 0x1234, 7, b"mamori");
        assert_eq!(checksum(&req), 0, "a filled checksum sums to zero");
        // Turn it into the reply a host sends back: type 0, checksum fixed by -8.
        let mut rep = req.clone();
        rep[0] = 0;
        rep[2..4].copy_from_slice(&[0, 0]);
        let c = checksum(&rep);
        rep[2..4].copy_from_slice(&c.to_be_bytes());
        let got = echo_reply(Family::V4, &rep, false).unwrap().unwrap();
        assert_eq!(
            (got.id, got.seq, &got.payload[..]),
            (0x1234, 7, &b"mamori"[..])
        );
        // Behind a 20-byte IPv4 header.
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        ip.extend_from_slice(&rep);
        assert_eq!(echo_reply(Family::V4, &ip, true).unwrap().unwrap().seq, 7);
        assert_eq!(
            echo_reply(Family::V4, &req, false).unwrap(),
            None,
            "our own request"
        );
        rep[9] ^= 1;
        assert_eq!(
            echo_reply(Family::V4, &rep, false).unwrap_err().to_string(),
            "ICMP reply: the checksum does not match"
        );
        assert!(echo_reply(Family::V4, &rep[..5], false).is_err());
        ip[9] = 6;
        assert!(echo_reply(Family::V4, &ip, true).is_err());
        let v6 = echo_request(Family::V6, 1, 2, b"");
        assert_eq!(v6[0], 128);
        let mut r6 = v6.clone();
        r6[0] = 129;
        assert_eq!(echo_reply(Family::V6, &r6, false).unwrap().unwrap().seq, 2);
    }

    #[test]
    fn round_summary_loss_and_rtt() {
        let s = round_summary(4, &[1.0, 3.0, 2.0]);
        assert_eq!((s.sent, s.received, s.loss_percent), (4, 3, 25.0));
        assert_eq!(
            (s.rtt_min_ms, s.rtt_avg_ms, s.rtt_max_ms),
            (Some(1.0), Some(2.0), Some(3.0))
        );
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let names: Vec<_> = s.samples(at).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["loss_percent", "rtt_avg_ms", "rtt_max_ms"]);
        let s = round_summary(3, &[]);
        assert_eq!((s.loss_percent, s.rtt_avg_ms), (100.0, None));
        assert_eq!(
            s.samples(at),
            vec![("loss_percent", Sample { at, value: 100.0 })]
        );
    }

    #[test]
    fn ntp_offset_and_checks() {
        let t1: i128 = 1_800_000_000_000_000_000;
        let ms = 1_000_000;
        // Server 5 ms ahead, 2 ms each way, 1 ms to answer.
        let t2 = t1 + 2 * ms + 5 * ms;
        let t3 = t2 + ms;
        let t4 = t1 + 5 * ms;
        let mut r = [0u8; 48];
        r[0] = 0x24; // version 4, mode 4
        r[1] = 2;
        r[24..32].copy_from_slice(&ntp_timestamp(t1).to_be_bytes());
        r[32..40].copy_from_slice(&ntp_timestamp(t2).to_be_bytes());
        r[40..48].copy_from_slice(&ntp_timestamp(t3).to_be_bytes());
        let got = ntp_reply(&r, t1, t4).unwrap();
        assert_eq!(got.stratum, 2);
        assert!((got.offset_ms - 5.0).abs() < 1e-3, "{got:?}");
        assert!((got.delay_ms - 4.0).abs() < 1e-3, "{got:?}");
        assert!(
            ntp_reply(&r, t1 + 1, t4).is_err(),
            "not our originate timestamp"
        );
        r[1] = 0;
        r[12..16].copy_from_slice(b"RATE");
        assert_eq!(
            ntp_reply(&r, t1, t4).unwrap_err().what,
            "kiss-o'-death `RATE`"
        );
        assert!(ntp_reply(&r[..47], t1, t4).is_err());
        assert_eq!(ntp_request(t1)[0], 0x23);
    }

    proptest! {
        #[test]
        fn ntp_timestamps_round_trip_within_a_nanosecond(s in 0i64..4_000_000_000, ns in 0i64..1_000_000_000) {
            let unix = i128::from(s) * 1_000_000_000 + i128::from(ns);
            let back = ntp_to_unix_ns(ntp_timestamp(unix), unix + 1_000_000_000_000);
            prop_assert!((back - unix).abs() <= 1);
        }
    }

    #[test]
    fn dns_query_and_response_header() {
        let q = dns_query(0xbeef, "gw.example.", 1).unwrap();
        assert_eq!(&q[12..], b"\x02gw\x07example\x00\x00\x01\x00\x01");
        assert!(dns_query(1, "a..b", 1).is_err());
        assert!(dns_query(1, &"a".repeat(64), 1).is_err());
        let mut r = q.clone();
        r[2] |= 0x80;
        r[3] = 0x80;
        r[7] = 1;
        let a = dns_response(&r, 0xbeef).unwrap();
        assert_eq!((a.rcode, a.answers), (0, 1));
        assert!(a.answered());
        r[3] = 0x83;
        assert!(!dns_response(&r, 0xbeef).unwrap().answered(), "NXDOMAIN");
        r[3] = 0x80;
        assert!(dns_response(&r, 1).is_err());
        assert!(
            dns_response(&q, 0xbeef).is_err(),
            "a query is not an answer"
        );
        assert!(dns_response(&r[..11], 0xbeef).is_err());
    }

    #[test]
    fn ssh_smtp_http_lines() {
        assert_eq!(ssh_banner(b"SSH-2.0-OpenSSH_9.2p1 Debian").unwrap(), None);
        let b = ssh_banner(b"hello\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            (b.software.as_str(), b.comment.as_deref()),
            ("OpenSSH_9.2p1", Some("Debian-2"))
        );
        assert!(ssh_banner(b"SSH-3.0-x\r\n").is_err());
        assert!(ssh_banner(&[b'x'; 300]).is_err());

        let (r, used) = smtp_reply(b"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\nrest")
            .unwrap()
            .unwrap();
        assert_eq!((r.code, r.lines.len(), used), (250, 3, 46));
        assert_eq!(smtp_reply(b"220 ready").unwrap(), None);
        assert!(smtp_reply(b"250-a\r\n251 b\r\n").is_err());
        assert!(smtp_reply(b"hello\r\n").is_err());

        assert_eq!(
            http_status(b"HTTP/1.1 204 No Content\r\n").unwrap(),
            Some(204)
        );
        assert_eq!(http_status(b"HTTP/1.1 20").unwrap(), None);
        assert!(http_status(b"SSH-2.0\r\n").is_err());
        assert!(http_status(b"HTTP/1.1 2x0 x\r\n").is_err());
    }
}
