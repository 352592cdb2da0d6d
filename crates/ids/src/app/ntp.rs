//! NTP (RFC 5905) over UDP: every message is a transaction with its version, mode,
//! stratum and reference id (`ntp.version`, `ntp.mode`, `ntp.stratum`,
//! `ntp.reference_id`).

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::AppUpdate;
use super::keywords::{AppBuf, num_buf};
use crate::detect::{BufferKind, Direction};

const MAX_TXS: usize = 16;

/// One NTP message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NtpMessage {
    pub id: u64,
    pub version: [u8; 8],
    pub mode: [u8; 8],
    pub stratum: [u8; 8],
    pub reference_id: [u8; 4],
    /// Too short to be NTP.
    pub malformed: bool,
}

/// NTP state of one flow.
#[derive(Debug, Clone, Default)]
pub struct NtpState {
    txs: VecDeque<NtpMessage>,
    next_id: u64,
}

/// Whether a datagram looks like NTP (48 bytes or more, version 1 to 4).
pub fn probe(d: &[u8]) -> bool {
    d.len() >= 48 && (1..=4).contains(&((d[0] >> 3) & 7)) && d[0] & 7 != 0
}

/// `ntp.mode` names.
pub fn mode_number(name: &str) -> Option<u64> {
    Some(match name {
        "reserved" => 0,
        "symmetric_active" => 1,
        "symmetric_passive" => 2,
        "client" => 3,
        "server" => 4,
        "broadcast" => 5,
        "control" => 6,
        "private" => 7,
        _ => return None,
    })
}

impl NtpState {
    pub fn tx(&self, id: u64) -> Option<&NtpMessage> {
        self.txs.iter().find(|t| t.id == id)
    }

    pub fn datagram(&mut self, dir: Direction, d: &[u8], out: &mut Vec<AppUpdate>) {
        let mut m = NtpMessage {
            id: self.next_id,
            ..NtpMessage::default()
        };
        self.next_id += 1;
        if d.len() >= 48 {
            m.version = num_buf(u64::from((d[0] >> 3) & 7));
            m.mode = num_buf(u64::from(d[0] & 7));
            m.stratum = num_buf(u64::from(d[1]));
            m.reference_id.copy_from_slice(&d[12..16]);
        } else {
            m.malformed = true;
        }
        out.push(AppUpdate {
            tx_id: m.id,
            direction: dir,
        });
        if self.txs.len() >= MAX_TXS {
            self.txs.pop_front();
        }
        self.txs.push_back(m);
    }
}

impl super::TxParser for NtpState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        self.datagram(dir, data, out);
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        let Some(m) = self.tx(u.tx_id) else { return };
        let k = BufferKind::App;
        if m.malformed {
            out.push((k(AppBuf::Event), b"ntp.malformed_data"));
            return;
        }
        out.push((k(AppBuf::NtpVersion), &m.version));
        out.push((k(AppBuf::NtpMode), &m.mode));
        out.push((k(AppBuf::NtpStratum), &m.stratum));
        out.push((k(AppBuf::NtpReferenceId), &m.reference_id));
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let m = self.tx(tx_id)?;
        Some((
            "ntp",
            json!({
                "version": u64::from_be_bytes(m.version),
                "mode": u64::from_be_bytes(m.mode),
                "stratum": u64::from_be_bytes(m.stratum),
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::TxParser;

    #[test]
    fn fields_of_a_server_reply() {
        let mut d = vec![0u8; 48];
        d[0] = 0x24; // v4, server
        d[1] = 2;
        d[12..16].copy_from_slice(b"LOCL");
        assert!(probe(&d));
        assert!(!probe(&d[..40]));
        let mut st = NtpState::default();
        let mut out = Vec::new();
        st.datagram(Direction::ToClient, &d, &mut out);
        let m = st.tx(0).unwrap();
        assert_eq!(
            (m.version, m.mode, m.stratum),
            (num_buf(4), num_buf(4), num_buf(2))
        );
        st.datagram(Direction::ToServer, b"short", &mut out);
        let mut bufs = Vec::new();
        st.buffers(&out[1], &mut bufs);
        assert_eq!(
            bufs,
            vec![(BufferKind::App(AppBuf::Event), &b"ntp.malformed_data"[..])]
        );
        assert_eq!(mode_number("client"), Some(3));
    }
}
