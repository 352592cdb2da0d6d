//! Syslog messages: RFC 5424 and RFC 3164 (BSD), with the variants `logger` and rsyslog
//! really emit. One message in, one [`Message`] or one [`Error`] (what and at which byte)
//! out; this module never panics on input.
//!
//! Rules beyond the RFCs, stated once:
//! - A message that starts with `<PRI>1 ` is RFC 5424; any other `<PRI>` message is
//!   RFC 3164. A message with no `<` at all is RFC 3164 without PRI, which RFC 3164
//!   §4.3.3 says to read as facility user (1), severity notice (5), the whole text as MSG.
//! - RFC 3164 timestamps carry no year and no zone: the year is the receive time's,
//!   minus one when that would put the message more than a day in the future (a
//!   December message received in January); the zone is [`Options::legacy_offset`].
//!   rsyslog's forwarding format (an RFC 3339 timestamp in place of `Mmm dd hh:mm:ss`)
//!   is read as such.
//! - RFC 3164 with a hostname and without: the token after the timestamp is the TAG
//!   (no hostname) when it ends in `:` or holds `[`, as local messages (`/dev/log`) do;
//!   otherwise it is the hostname.
//! - MSG bytes that are not UTF-8 are kept as text with U+FFFD in their place and
//!   [`Message::msg_lossy`] set; a leading BOM (RFC 5424 §6.4) is removed; one trailing
//!   LF (or CR LF) is removed as a framing remnant.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::Offset;
use std::fmt;

/// Which RFC a message followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rfc5424,
    Rfc3164,
}

/// One structured-data element: `[id name="value" ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    pub id: String,
    pub params: Vec<(String, String)>,
}

/// A decoded syslog message. Absent fields (RFC 5424 NILVALUE `-`, or not in the
/// format) are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub format: Format,
    /// 0..=23.
    pub facility: u8,
    /// 0 (emergency) ..= 7 (debug).
    pub severity: u8,
    pub timestamp: Option<Timestamp>,
    pub hostname: Option<String>,
    pub app_name: Option<String>,
    pub proc_id: Option<String>,
    pub msg_id: Option<String>,
    pub structured_data: Vec<SdElement>,
    pub msg: String,
    /// Some MSG bytes were not UTF-8 and were replaced by U+FFFD.
    pub msg_lossy: bool,
}

/// What went wrong, and where: `at` is the byte offset in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syslog message, byte {at}: {kind}")]
pub struct Error {
    pub at: usize,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    Empty,
    /// `<` without a valid `nnn>` after it.
    BadPri,
    /// PRI above 191 (facility 23, severity 7).
    PriOutOfRange(u32),
    /// A space was expected between header fields.
    ExpectedSpace,
    /// A header field is longer than RFC 5424 allows.
    FieldTooLong {
        field: &'static str,
        max: usize,
    },
    /// A header field holds a byte outside printable US-ASCII.
    NotPrintable {
        field: &'static str,
    },
    BadTimestamp,
    BadStructuredData(&'static str),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Empty => write!(f, "empty message"),
            ErrorKind::BadPri => write!(f, "PRI must be `<` 1 to 3 digits `>`"),
            ErrorKind::PriOutOfRange(p) => write!(f, "PRI {p} is above 191"),
            ErrorKind::ExpectedSpace => write!(f, "a space was expected here"),
            ErrorKind::FieldTooLong { field, max } => {
                write!(f, "{field} is longer than {max} bytes")
            }
            ErrorKind::NotPrintable { field } => {
                write!(f, "{field} holds a byte that is not printable US-ASCII")
            }
            ErrorKind::BadTimestamp => write!(f, "timestamp is not a valid date and time"),
            ErrorKind::BadStructuredData(what) => write!(f, "structured data: {what}"),
        }
    }
}

/// How to read what a message leaves unsaid.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// When the message was received: gives RFC 3164 timestamps their year.
    pub received: Timestamp,
    /// The zone assumed for RFC 3164 `Mmm dd hh:mm:ss` timestamps.
    pub legacy_offset: Offset,
}

impl Options {
    pub fn utc(received: Timestamp) -> Self {
        Options {
            received,
            legacy_offset: Offset::UTC,
        }
    }
}

fn err<T>(at: usize, kind: ErrorKind) -> Result<T, Error> {
    Err(Error { at, kind })
}

/// Decodes one message (one UDP datagram, or one frame from [`crate::framing`]).
pub fn parse(input: &[u8], opts: &Options) -> Result<Message, Error> {
    if input.is_empty() {
        return err(0, ErrorKind::Empty);
    }
    if input[0] != b'<' {
        let (msg, msg_lossy) = text(input);
        return Ok(Message {
            format: Format::Rfc3164,
            facility: 1,
            severity: 5,
            timestamp: None,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: None,
            structured_data: Vec::new(),
            msg,
            msg_lossy,
        });
    }
    let (pri, rest_at) = pri(input)?;
    let (facility, severity) = ((pri / 8) as u8, (pri % 8) as u8);
    if input[rest_at..].starts_with(b"1 ") {
        rfc5424(input, rest_at + 2, facility, severity)
    } else {
        rfc3164(input, rest_at, facility, severity, opts)
    }
}

fn pri(input: &[u8]) -> Result<(u32, usize), Error> {
    let mut value: u32 = 0;
    let mut i = 1;
    while i < input.len() && input[i].is_ascii_digit() {
        if i > 3 {
            return err(i, ErrorKind::BadPri);
        }
        value = value * 10 + u32::from(input[i] - b'0');
        i += 1;
    }
    if i == 1 || i >= input.len() || input[i] != b'>' {
        return err(i.min(input.len()), ErrorKind::BadPri);
    }
    if value > 191 {
        return err(1, ErrorKind::PriOutOfRange(value));
    }
    Ok((value, i + 1))
}

/// Text of MSG: BOM and one trailing LF removed, lossy UTF-8.
fn text(mut bytes: &[u8]) -> (String, bool) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        bytes = rest;
    }
    if let Some(rest) = bytes.strip_suffix(b"\n") {
        bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), true),
    }
}

/// A space-terminated header token of RFC 5424: `(token, index after the space)`;
/// at the end of input the token ends there and the index is the length.
fn token<'a>(
    input: &'a [u8],
    at: usize,
    field: &'static str,
    max: usize,
) -> Result<(&'a str, usize), Error> {
    let end = input[at..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(input.len(), |p| at + p);
    if end == at {
        return err(at, ErrorKind::ExpectedSpace);
    }
    if let Some(p) = input[at..end].iter().position(|b| !(33..=126).contains(b)) {
        return err(at + p, ErrorKind::NotPrintable { field });
    }
    if end - at > max {
        return err(at, ErrorKind::FieldTooLong { field, max });
    }
    // Printable US-ASCII is UTF-8.
    let s = std::str::from_utf8(&input[at..end]).unwrap_or_default();
    Ok((s, (end + 1).min(input.len())))
}

fn nil(s: &str) -> Option<String> {
    (s != "-").then(|| s.to_string())
}

fn rfc5424(input: &[u8], mut at: usize, facility: u8, severity: u8) -> Result<Message, Error> {
    let (ts, next) = token(input, at, "TIMESTAMP", 64)?;
    let timestamp = if ts == "-" {
        None
    } else {
        Some(
            ts.parse::<Timestamp>()
                .or_else(|_| err(at, ErrorKind::BadTimestamp))?,
        )
    };
    at = next;
    let (hostname, next) = token(input, at, "HOSTNAME", 255)?;
    at = next;
    let (app_name, next) = token(input, at, "APP-NAME", 48)?;
    at = next;
    let (proc_id, next) = token(input, at, "PROCID", 128)?;
    at = next;
    let (msg_id, next) = token(input, at, "MSGID", 32)?;
    at = next;
    if at >= input.len() || input[at - 1] != b' ' {
        return err(at, ErrorKind::ExpectedSpace);
    }
    let (structured_data, next) = structured_data(input, at)?;
    at = next;
    let (msg, msg_lossy) = if at >= input.len() {
        (String::new(), false)
    } else if input[at] == b' ' {
        text(&input[at + 1..])
    } else if input[at..] == *b"\n" || input[at..] == *b"\r\n" {
        (String::new(), false)
    } else {
        return err(at, ErrorKind::ExpectedSpace);
    };
    Ok(Message {
        format: Format::Rfc5424,
        facility,
        severity,
        timestamp,
        hostname: nil(hostname),
        app_name: nil(app_name),
        proc_id: nil(proc_id),
        msg_id: nil(msg_id),
        structured_data,
        msg,
        msg_lossy,
    })
}

fn sd_name(input: &[u8], at: usize) -> Result<(String, usize), Error> {
    let end = input[at..]
        .iter()
        .position(|&b| matches!(b, b'=' | b' ' | b']' | b'"') || !(33..=126).contains(&b))
        .map_or(input.len(), |p| at + p);
    if end == at {
        return err(at, ErrorKind::BadStructuredData("a name is expected"));
    }
    if end - at > 32 {
        return err(
            at,
            ErrorKind::BadStructuredData("a name is longer than 32 bytes"),
        );
    }
    Ok((String::from_utf8_lossy(&input[at..end]).into_owned(), end))
}

/// STRUCTURED-DATA: `-` or `[...]...`; returns the elements and the index after them.
fn structured_data(input: &[u8], mut at: usize) -> Result<(Vec<SdElement>, usize), Error> {
    if input[at] == b'-' {
        return Ok((Vec::new(), at + 1));
    }
    if input[at] != b'[' {
        return err(at, ErrorKind::BadStructuredData("`-` or `[` is expected"));
    }
    let mut out = Vec::new();
    while at < input.len() && input[at] == b'[' {
        let (id, next) = sd_name(input, at + 1)?;
        at = next;
        let mut params = Vec::new();
        loop {
            match input.get(at) {
                Some(b']') => {
                    at += 1;
                    break;
                }
                Some(b' ') => {
                    let (name, next) = sd_name(input, at + 1)?;
                    at = next;
                    if input.get(at) != Some(&b'=') || input.get(at + 1) != Some(&b'"') {
                        return err(
                            at,
                            ErrorKind::BadStructuredData("`=\"` is expected after a name"),
                        );
                    }
                    at += 2;
                    let mut value = Vec::new();
                    loop {
                        match input.get(at) {
                            None => {
                                return err(
                                    at,
                                    ErrorKind::BadStructuredData("a value has no closing `\"`"),
                                );
                            }
                            Some(b'"') => {
                                at += 1;
                                break;
                            }
                            Some(b'\\')
                                if matches!(input.get(at + 1), Some(b'"' | b'\\' | b']')) =>
                            {
                                value.push(input[at + 1]);
                                at += 2;
                            }
                            Some(&b) => {
                                value.push(b);
                                at += 1;
                            }
                        }
                    }
                    let Ok(value) = String::from_utf8(value) else {
                        return err(at, ErrorKind::BadStructuredData("a value is not UTF-8"));
                    };
                    params.push((name, value));
                }
                None => {
                    return err(
                        at,
                        ErrorKind::BadStructuredData("an element has no closing `]`"),
                    );
                }
                Some(_) => {
                    return err(
                        at,
                        ErrorKind::BadStructuredData("a space or `]` is expected"),
                    );
                }
            }
        }
        out.push(SdElement { id, params });
    }
    Ok((out, at))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn two_digits(b: &[u8]) -> Option<i8> {
    match b {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(((a - b'0') * 10 + (b - b'0')) as i8)
        }
        [b' ', b] if b.is_ascii_digit() => Some((b - b'0') as i8),
        _ => None,
    }
}

/// `Mmm dd hh:mm:ss` at `at` (15 bytes), if it is one.
fn legacy_timestamp(input: &[u8], at: usize, opts: &Options) -> Option<Result<Timestamp, Error>> {
    let b = input.get(at..at + 15)?;
    let month = MONTHS.iter().position(|m| b[..3] == m[..])? as i8 + 1;
    if b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
        return None;
    }
    let day = two_digits(&b[4..6])?;
    let (h, m, s) = (
        two_digits(&b[7..9])?,
        two_digits(&b[10..12])?,
        two_digits(&b[13..15])?,
    );
    let bad = || Error {
        at,
        kind: ErrorKind::BadTimestamp,
    };
    let received_year = opts.legacy_offset.to_datetime(opts.received).year();
    let at_year = |year: i16| -> Result<Timestamp, Error> {
        let date = Date::new(year, month, day).map_err(|_| bad())?;
        let time = Time::new(h, m, s, 0).map_err(|_| bad())?;
        opts.legacy_offset
            .to_timestamp(DateTime::from_parts(date, time))
            .map_err(|_| bad())
    };
    let this_year = at_year(received_year);
    Some(match this_year {
        Ok(t) if t.as_second() > opts.received.as_second() + 86_400 => at_year(received_year - 1),
        // 29 Feb of a leap year, received in the next (non-leap) January.
        Err(_) if month == 2 && day == 29 => at_year(received_year - 1),
        other => other,
    })
}

fn rfc3164(
    input: &[u8],
    mut at: usize,
    facility: u8,
    severity: u8,
    opts: &Options,
) -> Result<Message, Error> {
    let mut timestamp = None;
    if let Some(t) = legacy_timestamp(input, at, opts) {
        timestamp = Some(t?);
        at += 15;
    } else if input.get(at).is_some_and(u8::is_ascii_digit) {
        // rsyslog's forwarding format: an RFC 3339 timestamp.
        let end = input[at..]
            .iter()
            .position(|&b| b == b' ')
            .map_or(input.len(), |p| at + p);
        if let Ok(t) = std::str::from_utf8(&input[at..end])
            .unwrap_or_default()
            .parse::<Timestamp>()
        {
            timestamp = Some(t);
            at = end;
        }
    }
    if timestamp.is_some() && input.get(at) == Some(&b' ') {
        at += 1;
    }
    let mut hostname = None;
    if timestamp.is_some() {
        let end = input[at..]
            .iter()
            .position(|&b| b == b' ')
            .map_or(input.len(), |p| at + p);
        let word = &input[at..end];
        let is_tag = word.ends_with(b":") || word.contains(&b'[');
        if !is_tag
            && end < input.len()
            && !word.is_empty()
            && word.iter().all(|b| (33..=126).contains(b))
        {
            hostname = Some(String::from_utf8_lossy(word).into_owned());
            at = end + 1;
        }
    }
    // TAG: up to `[`, `:` or a space, at most 48 printable bytes; without `:` after
    // it (or `[pid]:`) it is not a tag but the start of MSG.
    let (mut app_name, mut proc_id) = (None, None);
    let end = input[at..]
        .iter()
        .position(|&b| matches!(b, b'[' | b':' | b' ') || !(33..=126).contains(&b))
        .map_or(input.len(), |p| at + p);
    if end > at && end - at <= 48 {
        let name = String::from_utf8_lossy(&input[at..end]).into_owned();
        let mut after = end;
        let mut pid = None;
        if input.get(end) == Some(&b'[')
            && let Some(close) = input[end..].iter().position(|&b| b == b']')
        {
            pid = Some(String::from_utf8_lossy(&input[end + 1..end + close]).into_owned());
            after = end + close + 1;
        }
        if input.get(after) == Some(&b':') {
            app_name = Some(name);
            proc_id = pid;
            at = after + 1;
            if input.get(at) == Some(&b' ') {
                at += 1;
            }
        }
    }
    let (msg, msg_lossy) = text(&input[at.min(input.len())..]);
    Ok(Message {
        format: Format::Rfc3164,
        facility,
        severity,
        timestamp,
        hostname,
        app_name,
        proc_id,
        msg_id: None,
        structured_data: Vec::new(),
        msg,
        msg_lossy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options::utc("2026-12-07T22:19:47Z".parse().unwrap())
    }

    fn p(s: &[u8]) -> Result<Message, Error> {
        parse(s, &opts())
    }

    #[test]
    fn rfc5424_example_with_structured_data_and_bom() {
        // RFC 5424 §6.5 example 3, with escapes added.
        let m = p(b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Appl\\\"ic\\]ation\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] \xEF\xBB\xBFAn application event log entry...").unwrap();
        assert_eq!(m.format, Format::Rfc5424);
        assert_eq!((m.facility, m.severity), (20, 5));
        assert_eq!(
            m.timestamp.unwrap(),
            "2003-10-11T22:14:15.003Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(m.hostname.as_deref(), Some("mymachine.example.com"));
        assert_eq!(m.app_name.as_deref(), Some("evntslog"));
        assert_eq!(m.proc_id, None);
        assert_eq!(m.msg_id.as_deref(), Some("ID47"));
        assert_eq!(m.structured_data.len(), 2);
        assert_eq!(m.structured_data[0].id, "exampleSDID@32473");
        assert_eq!(
            m.structured_data[0].params[1],
            ("eventSource".to_string(), "Appl\"ic]ation".to_string())
        );
        assert_eq!(
            m.structured_data[1].params,
            vec![("class".into(), "high".into())]
        );
        assert_eq!(m.msg, "An application event log entry...");
    }

    #[test]
    fn rfc5424_as_logger_sends_it_with_offset_and_microseconds() {
        let m = p(b"<13>1 2026-12-07T23:19:47.123456+01:00 gw-1 root 4242 - [timeQuality tzKnown=\"1\" isSynced=\"0\"] disk almost full").unwrap();
        assert_eq!(
            m.timestamp.unwrap(),
            "2026-12-07T22:19:47.123456Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(m.proc_id.as_deref(), Some("4242"));
        assert_eq!(m.structured_data[0].id, "timeQuality");
        assert_eq!(m.msg, "disk almost full");
    }

    #[test]
    fn rfc5424_all_nil_and_no_msg() {
        let m = p(b"<0>1 - - - - - -").unwrap();
        assert_eq!((m.facility, m.severity), (0, 0));
        assert!(m.timestamp.is_none() && m.hostname.is_none() && m.msg.is_empty());
        let m = p(b"<0>1 - - - - - -\n").unwrap();
        assert!(m.msg.is_empty());
    }

    #[test]
    fn rfc5424_errors_name_the_byte() {
        assert_eq!(p(b"").unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(
            p(b"<192>1 - - - - - -").unwrap_err().kind,
            ErrorKind::PriOutOfRange(192)
        );
        assert_eq!(
            p(b"<1x>1 - - - - - -").unwrap_err(),
            Error {
                at: 2,
                kind: ErrorKind::BadPri
            }
        );
        assert_eq!(p(b"<1234>x").unwrap_err().at, 4);
        let e = p(b"<13>1 2003-13-11T22:14:15Z h a p m -").unwrap_err();
        assert_eq!((e.at, e.kind), (6, ErrorKind::BadTimestamp));
        let e = p(b"<13>1 - h a p m [x a=\"1\"").unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::BadStructuredData("an element has no closing `]`")
        );
        let e = p(b"<13>1 - h a p m [x a=1]").unwrap_err();
        assert_eq!(e.at, 20, "where `=\"` was expected");
        assert!(e.to_string().contains("byte 20"), "{e}");
        let e = p(b"<13>1 - h a p m").unwrap_err();
        assert_eq!(e.kind, ErrorKind::ExpectedSpace);
        let long = format!("<13>1 - h {} p m -", "a".repeat(49));
        assert_eq!(
            p(long.as_bytes()).unwrap_err().kind,
            ErrorKind::FieldTooLong {
                field: "APP-NAME",
                max: 48
            }
        );
        assert_eq!(
            p(b"<13>1 - h\x01 a p m -").unwrap_err(),
            Error {
                at: 9,
                kind: ErrorKind::NotPrintable { field: "HOSTNAME" }
            }
        );
        assert!(p(b"<13>1 - h a p m -x").is_err());
    }

    #[test]
    fn rfc3164_network_form_with_hostname_and_pid() {
        let m = p(
            b"<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8",
        )
        .unwrap();
        assert_eq!(m.format, Format::Rfc3164);
        assert_eq!((m.facility, m.severity), (4, 2));
        assert_eq!(
            m.timestamp.unwrap(),
            "2026-10-11T22:14:15Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(m.hostname.as_deref(), Some("mymachine"));
        assert_eq!(m.app_name.as_deref(), Some("su"));
        assert_eq!(m.proc_id.as_deref(), Some("230"));
        assert_eq!(m.msg, "'su root' failed for lonvick on /dev/pts/8");
    }

    #[test]
    fn rfc3164_local_form_without_hostname_and_space_padded_day() {
        let m = p(b"<13>Dec  7 22:19:40 root: hello world").unwrap();
        assert_eq!(m.hostname, None);
        assert_eq!(m.app_name.as_deref(), Some("root"));
        assert_eq!(
            m.timestamp.unwrap(),
            "2026-12-07T22:19:40Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(m.msg, "hello world");
    }

    #[test]
    fn rfc3164_year_rolls_back_for_december_received_in_january() {
        let o = Options::utc("2027-01-01T00:00:05Z".parse().unwrap());
        let m = parse(b"<13>Dec 31 23:59:59 h t: x", &o).unwrap();
        assert_eq!(
            m.timestamp.unwrap(),
            "2026-12-31T23:59:59Z".parse::<Timestamp>().unwrap()
        );
        let o = Options {
            received: "2026-12-07T22:19:47Z".parse().unwrap(),
            legacy_offset: Offset::constant(9),
        };
        let m = parse(b"<13>Dec  8 07:19:47 h t: x", &o).unwrap();
        assert_eq!(
            m.timestamp.unwrap(),
            "2026-12-07T22:19:47Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            p(b"<13>Feb 30 00:00:00 h t: x").unwrap_err().kind,
            ErrorKind::BadTimestamp
        );
    }

    #[test]
    fn rfc3164_rsyslog_forward_format_and_no_tag() {
        let m = p(b"<86>2026-12-07T22:19:47.520917+00:00 gw-2 sshd[991]: Accepted publickey\n")
            .unwrap();
        assert_eq!(m.hostname.as_deref(), Some("gw-2"));
        assert_eq!(m.app_name.as_deref(), Some("sshd"));
        assert_eq!(m.msg, "Accepted publickey");
        let m = p(b"<13>Dec  7 22:19:40 host just some words").unwrap();
        assert_eq!(m.hostname.as_deref(), Some("host"));
        assert_eq!(m.app_name, None);
        assert_eq!(m.msg, "just some words");
    }

    #[test]
    fn no_pri_is_user_notice_and_bad_utf8_is_flagged() {
        let m = p(b"plain text \xff").unwrap();
        assert_eq!((m.facility, m.severity), (1, 5));
        assert_eq!(m.msg, "plain text \u{FFFD}");
        assert!(m.msg_lossy);
        let m = p(b"<13>garbage without timestamp").unwrap();
        assert_eq!(m.timestamp, None);
        assert_eq!(m.msg, "garbage without timestamp");
    }
}
