//! SSH: each side's identification banner (`SSH-2.0-OpenSSH_8.9 comment`) and its
//! KEXINIT message, from which the HASSH fingerprint is made (the MD5 of the key
//! exchange, cipher, MAC and compression lists the side proposes). Everything after
//! NEWKEYS is encrypted and ignored.
//!
//! Each direction is its own transaction (tx 0: client, tx 1: server), so a rule on a
//! buffer both sides have (`ssh.software`) matches once per side.

use serde_json::{Value, json};

use super::frames::{FrameKind, Frames};
use super::keywords::AppBuf;
use super::{AppUpdate, TxParser};
use crate::detect::{BufferKind, Direction};

/// Longest banner line kept (RFC 4253: 255 bytes with CR LF).
const MAX_BANNER: usize = 255;
/// Largest binary packet reassembled (RFC 4253 requires 35000 to be accepted).
const MAX_PACKET: usize = 35_000;

#[derive(Debug, Clone, Default)]
struct Side {
    buf: Vec<u8>,
    banner_done: bool,
    proto: Option<Vec<u8>>,
    software: Option<Vec<u8>>,
    hassh: Option<String>,
    hassh_string: Option<String>,
    encrypted: bool,
    dead: bool,
    events: Vec<&'static str>,
}

/// SSH state of one flow.
#[derive(Debug, Clone, Default)]
pub struct SshState {
    sides: [Side; 2],
    frames: Frames,
}

/// Whether data starts like an SSH banner (`None`: too short to tell).
pub fn probe(d: &[u8]) -> Option<bool> {
    let n = d.len().min(4);
    if d[..n] != b"SSH-"[..n] {
        return Some(false);
    }
    (n == 4).then_some(true)
}

fn idx(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// SSH name-list fields of a KEXINIT payload (after the message type and cookie).
fn kexinit_lists(p: &[u8]) -> Option<Vec<&[u8]>> {
    let mut at = 17;
    let mut lists = Vec::new();
    for _ in 0..10 {
        let len = u32::from_be_bytes(p.get(at..at + 4)?.try_into().ok()?) as usize;
        at += 4;
        lists.push(p.get(at..at.checked_add(len)?)?);
        at += len;
    }
    Some(lists)
}

impl SshState {
    /// The banner's protocol version and software of a side.
    pub fn banner(&self, dir: Direction) -> (Option<&[u8]>, Option<&[u8]>) {
        let s = &self.sides[idx(dir)];
        (s.proto.as_deref(), s.software.as_deref())
    }

    /// The HASSH (MD5 hex) and its string of a side.
    pub fn hassh(&self, dir: Direction) -> (Option<&str>, Option<&str>) {
        let s = &self.sides[idx(dir)];
        (s.hassh.as_deref(), s.hassh_string.as_deref())
    }

    fn banner_line(s: &mut Side, line: &[u8]) {
        // SSH-protoversion-softwareversion SP comments
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(rest) = line.strip_prefix(b"SSH-") else {
            s.events.push("ssh.invalid_banner");
            s.dead = true;
            return;
        };
        let Some(dash) = rest.iter().position(|&b| b == b'-') else {
            s.events.push("ssh.invalid_banner");
            s.dead = true;
            return;
        };
        s.proto = Some(rest[..dash].to_vec());
        let sw = &rest[dash + 1..];
        let end = sw.iter().position(|&b| b == b' ').unwrap_or(sw.len());
        s.software = Some(sw[..end].to_vec());
    }

    fn packet(s: &mut Side, dir: Direction, payload: &[u8]) {
        match payload.first() {
            Some(20) => {
                let Some(l) = kexinit_lists(payload) else {
                    s.events.push("ssh.invalid_record");
                    return;
                };
                // kex, hostkey, enc c2s, enc s2c, mac c2s, mac s2c, comp c2s, comp s2c
                let (enc, mac, comp) = match dir {
                    Direction::ToServer => (l[2], l[4], l[6]),
                    Direction::ToClient => (l[3], l[5], l[7]),
                };
                let text = [l[0], enc, mac, comp]
                    .iter()
                    .map(|x| String::from_utf8_lossy(x).into_owned())
                    .collect::<Vec<_>>()
                    .join(";");
                s.hassh = Some(super::md5_hex(text.as_bytes()));
                s.hassh_string = Some(text);
            }
            Some(21) => s.encrypted = true,
            _ => {}
        }
    }
}

impl TxParser for SshState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        let s = &mut self.sides[idx(dir)];
        if s.dead || s.encrypted {
            return;
        }
        s.buf.extend_from_slice(data);
        let before = (s.software.is_some(), s.hassh.is_some(), s.events.len());
        loop {
            if !s.banner_done {
                match s.buf.iter().position(|&b| b == b'\n') {
                    Some(nl) => {
                        let line: Vec<u8> = s.buf.drain(..=nl).collect();
                        // Lines before the banner are allowed from servers only.
                        if line.starts_with(b"SSH-") || dir == Direction::ToServer {
                            Self::banner_line(s, &line[..line.len() - 1]);
                            s.banner_done = true;
                        }
                        continue;
                    }
                    None if s.buf.len() > MAX_BANNER => {
                        s.events.push("ssh.long_banner");
                        let line = s.buf.split_off(0);
                        Self::banner_line(s, &line[..MAX_BANNER]);
                        s.dead = true;
                    }
                    None => {}
                }
                break;
            }
            if s.encrypted || s.dead || s.buf.len() < 5 {
                break;
            }
            let len = u32::from_be_bytes([s.buf[0], s.buf[1], s.buf[2], s.buf[3]]) as usize;
            let pad = s.buf[4] as usize;
            if len > MAX_PACKET || pad + 1 > len {
                s.events.push("ssh.invalid_record");
                s.dead = true;
                break;
            }
            if s.buf.len() < 4 + len {
                break;
            }
            let pkt: Vec<u8> = s.buf.drain(..4 + len).collect();
            // Frames: the record, its header (length, padding length, message
            // code) and its data.
            self.frames.push(FrameKind::SshRecordPdu, dir, &pkt, out);
            self.frames
                .push(FrameKind::SshRecordHdr, dir, &pkt[..6.min(pkt.len())], out);
            self.frames.push(
                FrameKind::SshRecordData,
                dir,
                pkt.get(6..).unwrap_or(&[]),
                out,
            );
            Self::packet(s, dir, &pkt[5..4 + len - pad]);
        }
        if s.buf.len() > MAX_PACKET + 4 {
            s.buf.clear();
            s.dead = true;
        }
        let after = (s.software.is_some(), s.hassh.is_some(), s.events.len());
        if before != after {
            out.push(AppUpdate {
                tx_id: idx(dir) as u64,
                direction: dir,
            });
        }
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        if self.frames.buffers(u.tx_id, out) {
            return;
        }
        let s = &self.sides[idx(u.direction)];
        let k = BufferKind::App;
        if let Some(p) = &s.proto {
            out.push((k(AppBuf::SshProto), p));
        }
        if let Some(p) = &s.software {
            out.push((k(AppBuf::SshSoftware), p));
        }
        let (h, hs) = match u.direction {
            Direction::ToServer => (AppBuf::SshHassh, AppBuf::SshHasshString),
            Direction::ToClient => (AppBuf::SshHasshServer, AppBuf::SshHasshServerString),
        };
        if let Some(v) = &s.hassh {
            out.push((k(h), v.as_bytes()));
        }
        if let Some(v) = &s.hassh_string {
            out.push((k(hs), v.as_bytes()));
        }
        for e in &s.events {
            out.push((k(AppBuf::Event), e.as_bytes()));
        }
    }

    fn eve(&self, _tx_id: u64) -> Option<(&'static str, Value)> {
        let side = |s: &Side| {
            let mut m = serde_json::Map::new();
            if let Some(p) = &s.proto {
                m.insert("proto_version".into(), json!(String::from_utf8_lossy(p)));
            }
            if let Some(p) = &s.software {
                m.insert("software_version".into(), json!(String::from_utf8_lossy(p)));
            }
            if let (Some(h), Some(st)) = (&s.hassh, &s.hassh_string) {
                m.insert("hassh".into(), json!({"hash": h, "string": st}));
            }
            Value::Object(m)
        };
        Some((
            "ssh",
            json!({"client": side(&self.sides[0]), "server": side(&self.sides[1])}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kexinit(lists: [&str; 10]) -> Vec<u8> {
        let mut p = vec![20u8];
        p.extend_from_slice(&[0u8; 16]);
        for l in lists {
            p.extend_from_slice(&(l.len() as u32).to_be_bytes());
            p.extend_from_slice(l.as_bytes());
        }
        p.extend_from_slice(&[0, 0, 0, 0, 0]);
        let pad = 4usize;
        let len = p.len() + pad + 1;
        let mut pkt = (len as u32).to_be_bytes().to_vec();
        pkt.push(pad as u8);
        pkt.extend_from_slice(&p);
        pkt.extend_from_slice(&[0; 4]);
        pkt
    }

    #[test]
    fn banner_and_hassh_of_both_sides_split_anywhere() {
        let lists = [
            "kx", "hk", "c2s-enc", "s2c-enc", "c2s-mac", "s2c-mac", "none", "zlib", "", "",
        ];
        let mut client = b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n".to_vec();
        client.extend(kexinit(lists));
        let server = b"SSH-1.99-Cisco-1.25\r\n".to_vec();
        let mut st = SshState::default();
        let mut out = Vec::new();
        for c in client.chunks(3) {
            st.feed(Direction::ToServer, c, &mut out);
        }
        st.feed(Direction::ToClient, &server, &mut out);
        assert_eq!(
            st.banner(Direction::ToServer),
            (Some(&b"2.0"[..]), Some(&b"OpenSSH_8.9p1"[..]))
        );
        assert_eq!(
            st.banner(Direction::ToClient),
            (Some(&b"1.99"[..]), Some(&b"Cisco-1.25"[..]))
        );
        let (h, s) = st.hassh(Direction::ToServer);
        assert_eq!(s, Some("kx;c2s-enc;c2s-mac;none"));
        assert_eq!(
            h,
            Some(super::super::md5_hex(b"kx;c2s-enc;c2s-mac;none").as_str())
        );
        assert!(out.iter().any(|u| u.tx_id == 0) && out.iter().any(|u| u.tx_id == 1));
    }

    #[test]
    fn garbage_gives_events_not_panics() {
        let mut st = SshState::default();
        let mut out = Vec::new();
        st.feed(
            Direction::ToServer,
            b"SSH-2.0-x\r\n\xff\xff\xff\xff\x00",
            &mut out,
        );
        let mut bufs = Vec::new();
        st.buffers(&out[0], &mut bufs);
        assert!(bufs.contains(&(BufferKind::App(AppBuf::Event), &b"ssh.invalid_record"[..])));
    }
}
