//! RFB (VNC, RFC 6143) handshake: protocol versions, the security type chosen, the
//! security result (`rfb.secresult`, `rfb.sectype`) and the desktop name of
//! ServerInit (`rfb.name`). The whole handshake is one transaction; the framebuffer
//! protocol after it is not parsed.

use serde_json::{Value, json};

use super::AppUpdate;
use super::frames::{FrameKind, Frames};
use super::keywords::{AppBuf, num_buf};
use crate::detect::{BufferKind, Direction};

/// Largest failure reason or desktop name kept.
const MAX_TEXT: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    #[default]
    ServerVersion,
    ClientVersion,
    /// RFB 3.7+: the server's list of types; 3.3: the type it decided.
    SecurityTypes,
    ClientType,
    Challenge,
    Response,
    SecResult,
    ClientInit,
    ServerInit,
    Done,
}

/// RFB state of one flow.
#[derive(Debug, Clone, Default)]
pub struct RfbState {
    bufs: [Vec<u8>; 2],
    phase: Phase,
    minor: u32,
    pub sectype: Option<[u8; 8]>,
    pub secresult: Option<[u8; 8]>,
    pub name: Option<Vec<u8>>,
    pub events: Vec<&'static str>,
    frames: Frames,
    /// Frames cut by the step being taken, pushed once its direction is known.
    cut: Vec<(usize, Vec<u8>)>,
}

/// Whether data starts like an RFB version string (`None`: too short).
pub fn probe(d: &[u8]) -> Option<bool> {
    let n = d.len().min(4);
    if d[..n] != b"RFB "[..n] {
        return Some(false);
    }
    (n == 4).then_some(true)
}

/// `rfb.secresult` names.
pub fn result_number(name: &str) -> Option<u64> {
    Some(match name {
        "ok" => 0,
        "fail" => 1,
        "toomany" => 2,
        _ => return None,
    })
}

impl RfbState {
    /// Takes one handshake message of `n` bytes from side `i` (0 client, 1 server);
    /// it is also a frame.
    fn take(&mut self, i: usize, n: usize) -> Option<Vec<u8>> {
        let m: Vec<u8> = (self.bufs[i].len() >= n).then(|| self.bufs[i].drain(..n).collect())?;
        self.cut.push((i, m.clone()));
        Some(m)
    }

    fn fail(&mut self) {
        if !self.events.contains(&"rfb.malformed_message") {
            self.events.push("rfb.malformed_message");
        }
        self.phase = Phase::Done;
    }

    /// Advances through the handshake as far as the buffered data allows.
    fn step(&mut self) -> bool {
        const S: usize = 0;
        const C: usize = 1;
        match self.phase {
            Phase::ServerVersion => {
                let Some(v) = self.take(C, 12) else {
                    return false;
                };
                if !v.starts_with(b"RFB ") {
                    self.fail();
                    return true;
                }
                self.minor = std::str::from_utf8(&v[8..11])
                    .ok()
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(3);
                self.phase = Phase::ClientVersion;
            }
            Phase::ClientVersion => {
                let Some(_) = self.take(S, 12) else {
                    return false;
                };
                self.phase = Phase::SecurityTypes;
            }
            Phase::SecurityTypes => {
                if self.minor >= 7 {
                    let Some(&n) = self.bufs[C].first() else {
                        return false;
                    };
                    if n == 0 {
                        // Connection failed: a reason follows.
                        self.phase = Phase::Done;
                        return true;
                    }
                    let Some(_) = self.take(C, 1 + n as usize) else {
                        return false;
                    };
                    self.phase = Phase::ClientType;
                } else {
                    let Some(t) = self.take(C, 4) else {
                        return false;
                    };
                    let t = u32::from_be_bytes([t[0], t[1], t[2], t[3]]);
                    self.chosen(u64::from(t));
                }
            }
            Phase::ClientType => {
                let Some(t) = self.take(S, 1) else {
                    return false;
                };
                self.chosen(u64::from(t[0]));
            }
            Phase::Challenge => {
                let Some(_) = self.take(C, 16) else {
                    return false;
                };
                self.phase = Phase::Response;
            }
            Phase::Response => {
                let Some(_) = self.take(S, 16) else {
                    return false;
                };
                self.phase = Phase::SecResult;
            }
            Phase::SecResult => {
                let Some(r) = self.take(C, 4) else {
                    return false;
                };
                let r = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
                self.secresult = Some(num_buf(u64::from(r)));
                self.phase = if r == 0 {
                    Phase::ClientInit
                } else {
                    Phase::Done
                };
            }
            Phase::ClientInit => {
                let Some(_) = self.take(S, 1) else {
                    return false;
                };
                self.phase = Phase::ServerInit;
            }
            Phase::ServerInit => {
                let b = &self.bufs[C];
                if b.len() < 24 {
                    return false;
                }
                let n = u32::from_be_bytes([b[20], b[21], b[22], b[23]]) as usize;
                if n > MAX_TEXT {
                    self.fail();
                    return true;
                }
                let Some(si) = self.take(C, 24 + n) else {
                    return false;
                };
                self.name = Some(si[24..].to_vec());
                self.phase = Phase::Done;
            }
            Phase::Done => return false,
        }
        true
    }

    fn chosen(&mut self, t: u64) {
        self.sectype = Some(num_buf(t));
        self.phase = match t {
            // VNC authentication: challenge and response, then the result.
            2 => Phase::Challenge,
            // None: a result only from 3.8 on.
            1 if self.minor >= 8 => Phase::SecResult,
            1 => Phase::ClientInit,
            // Other types (TLS, VeNCrypt, ...) run their own protocol: stop here.
            _ => Phase::Done,
        };
    }
}

impl super::TxParser for RfbState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        if self.phase == Phase::Done {
            return;
        }
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        self.bufs[i].extend_from_slice(data);
        if self.bufs[i].len() > MAX_TEXT + 64 {
            self.fail();
        }
        let mut changed = false;
        while self.step() {
            changed = true;
        }
        for (side, m) in std::mem::take(&mut self.cut) {
            let d = if side == 0 {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            self.frames.push(FrameKind::RfbPdu, d, &m, out);
        }
        if changed {
            out.push(AppUpdate {
                tx_id: 0,
                direction: dir,
            });
        }
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        if self.frames.buffers(u.tx_id, out) {
            return;
        }
        let k = BufferKind::App;
        if let Some(t) = &self.sectype {
            out.push((k(AppBuf::RfbSecType), t));
        }
        if let Some(r) = &self.secresult {
            out.push((k(AppBuf::RfbSecResult), r));
        }
        if let Some(n) = &self.name {
            out.push((k(AppBuf::RfbName), n));
        }
        for e in &self.events {
            out.push((k(AppBuf::Event), e.as_bytes()));
        }
    }

    fn eve(&self, _tx_id: u64) -> Option<(&'static str, Value)> {
        let n = |v: &Option<[u8; 8]>| v.map(u64::from_be_bytes);
        Some((
            "rfb",
            json!({
                "security_type": n(&self.sectype),
                "security_result": n(&self.secresult),
                "name": self.name.as_ref().map(|x| String::from_utf8_lossy(x).into_owned()),
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::TxParser;

    #[test]
    fn vnc_auth_handshake_split_anywhere() {
        let mut st = RfbState::default();
        let mut out = Vec::new();
        let server: Vec<u8> = [
            &b"RFB 003.008\n"[..],
            &[1, 2],
            &[7u8; 16],
            &[0, 0, 0, 0],
            &[0u8; 20],
            &[0, 0, 0, 4],
            b"desk",
        ]
        .concat();
        let client: Vec<u8> = [&b"RFB 003.008\n"[..], &[2], &[9u8; 16], &[1]].concat();
        // Interleave in protocol order, one byte at a time where it matters.
        st.feed(Direction::ToClient, &server[..12], &mut out);
        st.feed(Direction::ToServer, &client[..12], &mut out);
        st.feed(Direction::ToClient, &server[12..14], &mut out);
        st.feed(Direction::ToServer, &client[12..13], &mut out);
        for b in &server[14..30] {
            st.feed(Direction::ToClient, &[*b], &mut out);
        }
        st.feed(Direction::ToServer, &client[13..29], &mut out);
        st.feed(Direction::ToClient, &server[30..34], &mut out);
        st.feed(Direction::ToServer, &client[29..], &mut out);
        st.feed(Direction::ToClient, &server[34..], &mut out);
        assert_eq!(st.sectype, Some(num_buf(2)));
        assert_eq!(st.secresult, Some(num_buf(0)));
        assert_eq!(st.name.as_deref(), Some(&b"desk"[..]));
        assert_eq!(probe(b"RFB 003.008\n"), Some(true));
        assert_eq!(probe(b"SSH-"), Some(false));
        assert_eq!(result_number("ok"), Some(0));
    }
}
