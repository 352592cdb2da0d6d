//! QUIC (RFC 9000, RFC 9369) long headers over UDP: the version each side speaks
//! (`quic.version`), from the first long-header packet of each direction (one
//! transaction per direction). The handshake inside Initial packets is encrypted and
//! not decrypted here, so the TLS facts of QUIC (SNI, JA3, JA4) are not available.

use serde_json::{Value, json};

use super::AppUpdate;
use super::keywords::AppBuf;
use crate::detect::{BufferKind, Direction};

/// QUIC state of one flow.
#[derive(Debug, Clone, Default)]
pub struct QuicState {
    /// The version of each direction (to server, to client).
    versions: [Option<[u8; 4]>; 2],
}

/// Versions recognised: 1, 2, and the IETF drafts.
fn known(v: u32) -> bool {
    v == 1 || v == 0x6b33_43cf || (0xff00_001d..=0xff00_0022).contains(&v)
}

/// Whether a datagram starts with a QUIC long header of a known version.
pub fn probe(d: &[u8]) -> bool {
    d.len() >= 7 && d[0] & 0xc0 == 0xc0 && known(u32::from_be_bytes([d[1], d[2], d[3], d[4]]))
}

impl QuicState {
    pub fn datagram(&mut self, dir: Direction, d: &[u8], out: &mut Vec<AppUpdate>) {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        if self.versions[i].is_some() || d.len() < 5 || d[0] & 0x80 == 0 {
            return;
        }
        self.versions[i] = Some([d[1], d[2], d[3], d[4]]);
        out.push(AppUpdate {
            tx_id: i as u64,
            direction: dir,
        });
    }
}

impl super::TxParser for QuicState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        self.datagram(dir, data, out);
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        if let Some(v) = self.versions.get(u.tx_id as usize).and_then(Option::as_ref) {
            out.push((BufferKind::App(AppBuf::QuicVersion), v));
        }
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let v = self.versions.get(tx_id as usize)?.as_ref()?;
        Some((
            "quic",
            json!({"version": format!("{:08x}", u32::from_be_bytes(*v))}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::TxParser;

    #[test]
    fn version_once_per_direction() {
        let init = [0xd1, 0x6b, 0x33, 0x43, 0xcf, 8, 1, 2];
        assert!(probe(&init));
        assert!(!probe(&[0x44, 1, 2, 3, 4, 5, 6]));
        let mut st = QuicState::default();
        let mut out = Vec::new();
        st.datagram(Direction::ToServer, &init, &mut out);
        st.datagram(Direction::ToServer, &init, &mut out);
        st.datagram(Direction::ToClient, &[0x44, 0, 0], &mut out);
        st.datagram(Direction::ToClient, &init, &mut out);
        assert_eq!(out.len(), 2);
        let mut bufs = Vec::new();
        st.buffers(&out[1], &mut bufs);
        assert_eq!(
            bufs,
            vec![(BufferKind::App(AppBuf::QuicVersion), &init[1..5])]
        );
    }
}
