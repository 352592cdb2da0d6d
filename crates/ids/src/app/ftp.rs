//! FTP control channel (RFC 959): each client command is a transaction with the
//! server's reply lines (and their completion codes) until its final reply. Lines
//! longer than [`MAX_LINE`] are cut there and raise `ftp.request_command_too_long` or
//! `ftp.response_command_too_long`. After `AUTH TLS` is accepted the session is
//! encrypted and no longer parsed.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::keywords::AppBuf;
use super::{AppUpdate, TxParser};
use crate::detect::{BufferKind, Direction};

/// Suricata's default `ftp.max-line-length`.
pub const MAX_LINE: usize = 4096;
const MAX_TXS: usize = 32;
const MAX_REPLY_LINES: usize = 64;

const COMMANDS: &[&[u8]] = &[
    b"ABOR", b"ACCT", b"ALLO", b"APPE", b"AUTH", b"CDUP", b"CWD", b"DELE", b"EPRT", b"EPSV",
    b"FEAT", b"HELP", b"LIST", b"MDTM", b"MKD", b"MLSD", b"MLST", b"MODE", b"NLST", b"NOOP",
    b"OPTS", b"PASS", b"PASV", b"PBSZ", b"PORT", b"PROT", b"PWD", b"QUIT", b"REIN", b"REST",
    b"RETR", b"RMD", b"RNFR", b"RNTO", b"SITE", b"SIZE", b"SMNT", b"STAT", b"STOR", b"STOU",
    b"STRU", b"SYST", b"TYPE", b"USER", b"XCUP", b"XCWD", b"XMKD", b"XPWD", b"XRMD",
];

/// One command and its replies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FtpTx {
    pub id: u64,
    pub command: Vec<u8>,
    pub command_data: Vec<u8>,
    pub replies: Vec<Vec<u8>>,
    pub codes: Vec<Vec<u8>>,
    pub done: bool,
    pub events: Vec<&'static str>,
}

#[derive(Debug, Clone, Default)]
struct Side {
    line: Vec<u8>,
    /// The current line went past the limit: drop bytes until its end.
    overlong: bool,
}

/// A data connection the control channel announced: the address (the server's
/// for PASV/EPSV, the client's for PORT/EPRT; `None`: the control connection's peer
/// of that side) and port, and the command that uses it once it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpExpect {
    pub addr: Option<std::net::IpAddr>,
    pub port: u16,
    /// The data connection goes to the server (PASV/EPSV) or to the client (PORT).
    pub to_server: bool,
    /// Lower case (`stor`, `retr`, ...).
    pub command: Option<Vec<u8>>,
}

/// FTP state of one flow.
#[derive(Debug, Clone, Default)]
pub struct FtpState {
    sides: [Side; 2],
    txs: VecDeque<FtpTx>,
    next_id: u64,
    auth_tls: bool,
    encrypted: bool,
    /// Announced data connections not yet taken by the engine.
    expect: Vec<FtpExpect>,
    /// The last announced one, for the command that follows it.
    last_expect: Option<FtpExpect>,
}

/// Commands that use a data connection.
const DATA_COMMANDS: &[&[u8]] = &[
    b"STOR", b"RETR", b"APPE", b"STOU", b"LIST", b"NLST", b"MLSD",
];

/// `h1,h2,h3,h4,p1,p2` (PORT, 227 replies) as an address and port.
fn host_port(s: &[u8]) -> Option<(std::net::IpAddr, u16)> {
    let start = s.iter().position(u8::is_ascii_digit)?;
    let nums: Vec<u16> = std::str::from_utf8(&s[start..])
        .ok()?
        .split(|c: char| !c.is_ascii_digit())
        .filter(|x| !x.is_empty())
        .take(6)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if nums.len() != 6 || nums.iter().any(|&n| n > 255) {
        return None;
    }
    let ip = std::net::Ipv4Addr::new(nums[0] as u8, nums[1] as u8, nums[2] as u8, nums[3] as u8);
    Some((ip.into(), nums[4] << 8 | nums[5]))
}

/// `(|||port|)` of an EPSV reply, or the port of `|1|addr|port|` (EPRT).
fn extended_port(s: &[u8]) -> Option<(Option<std::net::IpAddr>, u16)> {
    let open = s.iter().position(|&b| b == b'|')?;
    let fields: Vec<&[u8]> = s[open + 1..].split(|&b| b == b'|').collect();
    // |proto|addr|port|
    let addr = fields
        .get(1)
        .and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|a| a.parse().ok());
    let port = std::str::from_utf8(fields.get(2)?).ok()?.parse().ok()?;
    Some((addr, port))
}

/// Whether client data starts like an FTP command (`None`: too short to tell).
pub fn probe_client(d: &[u8]) -> Option<bool> {
    let word_end = d
        .iter()
        .position(|&b| b == b' ' || b == b'\r' || b == b'\n');
    let Some(end) = word_end else {
        let up = d.to_ascii_uppercase();
        let could = d.len() < 5 && COMMANDS.iter().any(|c| c.starts_with(&up));
        return if could { None } else { Some(false) };
    };
    Some(COMMANDS.contains(&d[..end].to_ascii_uppercase().as_slice()))
}

fn idx(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

impl FtpState {
    fn announce(&mut self, e: FtpExpect) {
        if self.expect.len() < 16 {
            self.expect.push(e.clone());
        }
        self.last_expect = Some(e);
    }

    /// The data connections announced since the last call (first without, then with
    /// their command).
    pub fn take_expectations(&mut self) -> Vec<FtpExpect> {
        std::mem::take(&mut self.expect)
    }

    pub fn tx(&self, id: u64) -> Option<&FtpTx> {
        self.txs.iter().find(|t| t.id == id)
    }

    fn new_tx(&mut self) -> &mut FtpTx {
        if self.txs.len() >= MAX_TXS {
            self.txs.pop_front();
        }
        let id = self.next_id;
        self.next_id += 1;
        self.txs.push_back(FtpTx {
            id,
            ..FtpTx::default()
        });
        self.txs.back_mut().expect("just pushed")
    }

    fn line(&mut self, dir: Direction, line: &[u8], too_long: bool, out: &mut Vec<AppUpdate>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match dir {
            Direction::ToServer => {
                let (cmd, arg) = match line.iter().position(|&b| b == b' ') {
                    Some(p) => (&line[..p], &line[p + 1..]),
                    None => (line, &b""[..]),
                };
                if cmd.eq_ignore_ascii_case(b"AUTH") && arg.eq_ignore_ascii_case(b"TLS") {
                    self.auth_tls = true;
                }
                let upper = cmd.to_ascii_uppercase();
                if upper == b"PORT" || upper == b"EPRT" {
                    let hp = if upper == b"PORT" {
                        host_port(arg).map(|(a, p)| (Some(a), p))
                    } else {
                        extended_port(arg)
                    };
                    if let Some((addr, port)) = hp {
                        self.announce(FtpExpect {
                            addr,
                            port,
                            to_server: false,
                            command: None,
                        });
                    }
                }
                if DATA_COMMANDS.contains(&upper.as_slice())
                    && let Some(mut e) = self.last_expect.take()
                {
                    e.command = Some(upper.to_ascii_lowercase());
                    self.expect.push(e);
                }
                let t = self.new_tx();
                t.command = upper;
                t.command_data = arg.to_vec();
                if too_long {
                    t.events.push("ftp.request_command_too_long");
                }
                let id = t.id;
                out.push(AppUpdate {
                    tx_id: id,
                    direction: dir,
                });
            }
            Direction::ToClient => {
                // Replies go to the oldest command still waiting; a reply with none
                // waiting (the greeting) gets a transaction of its own.
                let auth_tls = self.auth_tls;
                let mut encrypted = false;
                let pos = self.txs.iter().position(|t| !t.done);
                let t = match pos {
                    Some(p) => &mut self.txs[p],
                    None => self.new_tx(),
                };
                if t.replies.len() < MAX_REPLY_LINES {
                    t.replies.push(line.to_vec());
                }
                let code_ok = line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit);
                let announced = match line.get(..4) {
                    Some(b"227 ") => host_port(&line[4..]).map(|(a, p)| (Some(a), p)),
                    Some(b"229 ") => extended_port(&line[4..]),
                    _ => None,
                };
                if code_ok && t.codes.len() < MAX_REPLY_LINES {
                    t.codes.push(line[..3].to_vec());
                }
                if too_long {
                    t.events.push("ftp.response_command_too_long");
                }
                // The final line of a reply: `ddd ` (a `ddd-` line continues it).
                if code_ok && line.get(3) != Some(&b'-') {
                    t.done = true;
                    encrypted = auth_tls && line.starts_with(b"234");
                }
                let id = t.id;
                self.encrypted |= encrypted;
                if let Some((addr, port)) = announced {
                    self.announce(FtpExpect {
                        addr,
                        port,
                        to_server: true,
                        command: None,
                    });
                }
                out.push(AppUpdate {
                    tx_id: id,
                    direction: dir,
                });
            }
        }
    }
}

impl TxParser for FtpState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        if self.encrypted {
            return;
        }
        let i = idx(dir);
        let mut rest = data;
        while !rest.is_empty() {
            let nl = rest.iter().position(|&b| b == b'\n');
            let (chunk, end) = match nl {
                Some(p) => (&rest[..p], true),
                None => (rest, false),
            };
            rest = if end { &rest[chunk.len() + 1..] } else { &[] };
            let s = &mut self.sides[i];
            if !s.overlong {
                let room = MAX_LINE - s.line.len();
                s.line.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if chunk.len() > room {
                    s.overlong = true;
                    // The line is reported at its limit now; its rest is dropped.
                    let line = std::mem::take(&mut s.line);
                    self.line(dir, &line, true, out);
                }
            }
            if end {
                let s = &mut self.sides[i];
                let line = std::mem::take(&mut s.line);
                if !std::mem::take(&mut s.overlong) {
                    self.line(dir, &line, false, out);
                }
            }
        }
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        let Some(t) = self.tx(u.tx_id) else { return };
        let k = BufferKind::App;
        if !t.command.is_empty() {
            out.push((k(AppBuf::FtpCommand), &t.command));
            out.push((k(AppBuf::FtpCommandData), &t.command_data));
        }
        if u.direction == Direction::ToClient {
            for r in &t.replies {
                out.push((k(AppBuf::FtpReply), r));
            }
            for c in &t.codes {
                out.push((k(AppBuf::FtpCompletionCode), c));
            }
        }
        for e in &t.events {
            out.push((k(AppBuf::Event), e.as_bytes()));
        }
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let t = self.tx(tx_id)?;
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Some((
            "ftp",
            json!({
                "command": s(&t.command),
                "command_data": s(&t.command_data),
                "reply": t.replies.iter().map(|r| s(r)).collect::<Vec<_>>(),
                "completion_code": t.codes.iter().map(|c| s(c)).collect::<Vec<_>>(),
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_multiline_replies() {
        let mut st = FtpState::default();
        let mut out = Vec::new();
        st.feed(Direction::ToClient, b"220 hello\r\n", &mut out);
        st.feed(Direction::ToServer, b"USER bob\r\nSYST\r\n", &mut out);
        st.feed(
            Direction::ToClient,
            b"331 pw?\r\n215-UNIX\r\n215 end\r\n",
            &mut out,
        );
        assert_eq!(st.tx(1).unwrap().command_data, b"bob");
        assert_eq!(st.tx(1).unwrap().codes, vec![b"331".to_vec()]);
        let syst = st.tx(2).unwrap();
        assert_eq!(syst.replies.len(), 2);
        assert!(syst.done);
        assert_eq!(probe_client(b"USER x\r\n"), Some(true));
        assert_eq!(probe_client(b"EHLO x\r\n"), Some(false));
        assert_eq!(probe_client(b"US"), None);
    }

    #[test]
    fn passive_and_active_data_connections() {
        let mut st = FtpState::default();
        let mut out = Vec::new();
        st.feed(Direction::ToServer, b"PASV\r\n", &mut out);
        st.feed(
            Direction::ToClient,
            b"227 Entering Passive Mode (172,23,0,2,82,11).\r\n",
            &mut out,
        );
        let e = st.take_expectations();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].addr, e[0].port),
            (Some("172.23.0.2".parse().unwrap()), 21003)
        );
        st.feed(Direction::ToServer, b"STOR index.html\r\n", &mut out);
        let e = st.take_expectations();
        assert_eq!(e[0].command.as_deref(), Some(&b"stor"[..]));
        st.feed(Direction::ToServer, b"EPRT |1|10.0.0.1|6000|\r\n", &mut out);
        let e = st.take_expectations();
        assert_eq!((e[0].port, e[0].to_server), (6000, false));
        st.feed(Direction::ToServer, b"EPSV\r\n", &mut out);
        st.feed(
            Direction::ToClient,
            b"229 Entering Extended Passive Mode (|||6446|)\r\n",
            &mut out,
        );
        assert_eq!(st.take_expectations()[0].port, 6446);
        assert_eq!(host_port(b"1,2,3,4,300,1"), None);
    }

    #[test]
    fn overlong_reply_is_an_event() {
        let mut st = FtpState::default();
        let mut out = Vec::new();
        st.feed(Direction::ToServer, b"PASV\r\n", &mut out);
        let mut long = b"227 ".to_vec();
        long.extend(vec![b'A'; 10_000]);
        long.extend_from_slice(b"\r\n550 no\r\n");
        for c in long.chunks(1000) {
            st.feed(Direction::ToClient, c, &mut out);
        }
        let t = st.tx(0).unwrap();
        assert_eq!(t.events, vec!["ftp.response_command_too_long"]);
        assert_eq!(t.replies[0].len(), MAX_LINE);
    }
}

/// The data connection of an FTP session: its bytes form one file (`file.data`), and
/// `ftpdata_command` is the command that opened it (`stor`, `retr`, ...).
#[derive(Debug, Clone, Default)]
pub struct FtpDataState {
    pub command: Option<Vec<u8>>,
    data: Vec<u8>,
    /// The direction the data went.
    dir: Option<Direction>,
}

/// File bytes kept for inspection.
const MAX_DATA: usize = 256 * 1024;

impl TxParser for FtpDataState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        self.dir.get_or_insert(dir);
        if self.dir != Some(dir) {
            return;
        }
        let room = MAX_DATA.saturating_sub(self.data.len());
        self.data.extend_from_slice(&data[..data.len().min(room)]);
        out.push(AppUpdate {
            tx_id: 0,
            direction: dir,
        });
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        if let Some(c) = &self.command {
            out.push((BufferKind::App(AppBuf::FtpdataCommand), c));
        }
        if self.dir == Some(u.direction) && !self.data.is_empty() {
            out.push((BufferKind::FileData, &self.data));
        }
    }

    fn eve(&self, _tx_id: u64) -> Option<(&'static str, Value)> {
        let c = self.command.as_deref().map(String::from_utf8_lossy);
        Some(("ftp_data", json!({"command": c})))
    }
}
