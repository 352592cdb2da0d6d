//! TCP stream reassembly, one [`Stream`] per direction of a flow.
//!
//! Data is delivered once, in order. Segments ahead of the next expected byte wait in a
//! bounded out-of-order buffer; data before it (retransmissions, overlaps) is trimmed,
//! so the bytes first delivered win. When the buffer bound is hit the segment is
//! dropped and counted.

use std::collections::BTreeMap;

/// Limits of one direction's reassembly.
#[derive(Debug, Clone, Copy)]
pub struct StreamConfig {
    /// Bytes held out of order.
    pub max_ooo_bytes: usize,
    /// Segments further ahead than this from the next expected byte are dropped.
    pub max_ahead: u64,
    /// Reassembly depth: bytes of each direction delivered, 0 = unlimited (Suricata's
    /// `stream.reassembly.depth`). Data beyond it is neither delivered nor buffered, so
    /// neither raw stream inspection nor the application layer sees it.
    pub depth: u64,
}

/// Suricata's default reassembly depth: 1 MiB per direction.
pub const DEFAULT_DEPTH: u64 = 1024 * 1024;

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            max_ooo_bytes: 1024 * 1024,
            max_ahead: 16 * 1024 * 1024,
            depth: DEFAULT_DEPTH,
        }
    }
}

/// One direction of a TCP session.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// Whether the initial sequence number is known.
    started: bool,
    /// Sequence number of the next byte to deliver.
    next_seq: u32,
    /// Absolute offset (bytes delivered so far).
    delivered: u64,
    /// Out-of-order segments by absolute offset.
    ooo: BTreeMap<u64, Vec<u8>>,
    ooo_bytes: usize,
    /// Segments or bytes dropped because of limits.
    pub dropped_segments: u64,
    /// The sender's FIN was seen.
    pub fin: bool,
}

impl Stream {
    /// Sets the sequence number of the first data byte (ISN + 1 after a SYN, or the
    /// first segment's sequence number when picked up mid-stream).
    pub fn start(&mut self, next_seq: u32) {
        if !self.started {
            self.started = true;
            self.next_seq = next_seq;
        }
    }

    /// Starts again at another sequence number, if nothing was delivered or buffered
    /// yet (a SYN sent again with another sequence number before the handshake).
    pub fn restart(&mut self, next_seq: u32) {
        if self.delivered == 0 && self.ooo.is_empty() {
            self.started = true;
            self.next_seq = next_seq;
        }
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// The sequence number of the next byte expected in order.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Bytes delivered in order so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Whether the reassembly depth of `cfg` was reached: nothing more is delivered.
    pub fn depth_reached(&self, cfg: &StreamConfig) -> bool {
        cfg.depth != 0 && self.delivered >= cfg.depth
    }

    /// Adds a segment; appends the bytes that became deliverable in order to `out`
    /// (only those within the reassembly depth).
    pub fn add(&mut self, cfg: &StreamConfig, seq: u32, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() || self.depth_reached(cfg) {
            return;
        }
        if !self.started {
            self.start(seq);
        }
        let rel = seq.wrapping_sub(self.next_seq) as i32 as i64;
        if rel <= 0 {
            let skip = (-rel) as u64;
            if skip >= data.len() as u64 {
                return; // pure retransmission
            }
            let fresh = &data[skip as usize..];
            self.deliver(fresh, out, cfg.depth);
            self.drain(out, cfg.depth);
        } else {
            let rel = rel as u64;
            if cfg.depth != 0 && self.delivered + rel >= cfg.depth {
                return; // wholly beyond the depth: never delivered
            }
            if rel > cfg.max_ahead || self.ooo_bytes + data.len() > cfg.max_ooo_bytes {
                self.dropped_segments += 1;
                return;
            }
            let at = self.delivered + rel;
            match self.ooo.get(&at) {
                Some(old) if old.len() >= data.len() => {}
                _ => {
                    if let Some(old) = self.ooo.insert(at, data.to_vec()) {
                        self.ooo_bytes -= old.len();
                    }
                    self.ooo_bytes += data.len();
                }
            }
        }
    }

    /// Delivers `data` (the next bytes in order); only the part within `depth`
    /// (0 = unlimited) reaches `out`.
    fn deliver(&mut self, data: &[u8], out: &mut Vec<u8>, depth: u64) {
        let n = if depth == 0 {
            data.len()
        } else {
            depth.saturating_sub(self.delivered).min(data.len() as u64) as usize
        };
        out.extend_from_slice(&data[..n]);
        self.delivered += data.len() as u64;
        self.next_seq = self.next_seq.wrapping_add(data.len() as u32);
    }

    fn drain(&mut self, out: &mut Vec<u8>, depth: u64) {
        while let Some((&at, _)) = self.ooo.first_key_value() {
            if at > self.delivered {
                break;
            }
            let Some((at, seg)) = self.ooo.pop_first() else {
                break;
            };
            self.ooo_bytes -= seg.len();
            let skip = (self.delivered - at) as usize;
            if skip < seg.len() {
                self.deliver(&seg[skip..], out, depth);
            }
        }
    }

    /// Gives up on a gap: delivers what is buffered past it (used at flow end so that
    /// data after a lost segment is still inspected). Returns true if data was skipped.
    pub fn skip_gap(&mut self, cfg: &StreamConfig, out: &mut Vec<u8>) -> bool {
        let Some((&at, _)) = self.ooo.first_key_value() else {
            return false;
        };
        let gap = at - self.delivered;
        self.delivered = at;
        self.next_seq = self.next_seq.wrapping_add(gap as u32);
        self.drain(out, cfg.depth);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(s: &mut Stream, seq: u32, d: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        s.add(&StreamConfig::default(), seq, d, &mut out);
        out
    }

    #[test]
    fn in_order_out_of_order_and_retransmission() {
        let mut s = Stream::default();
        s.start(u32::MAX - 1); // wraps
        assert_eq!(add(&mut s, u32::MAX - 1, b"ab"), b"ab");
        assert_eq!(add(&mut s, 2, b"ef"), b"");
        assert_eq!(add(&mut s, 0, b"cd"), b"cdef");
        assert_eq!(add(&mut s, 0, b"cdefgh"), b"gh");
        assert_eq!(add(&mut s, 1, b"XX"), b"");
        assert_eq!(s.delivered(), 8);
    }

    #[test]
    fn overlap_keeps_first_data() {
        let mut s = Stream::default();
        s.start(100);
        assert_eq!(add(&mut s, 100, b"abcd"), b"abcd");
        assert_eq!(add(&mut s, 102, b"XYef"), b"ef");
    }

    #[test]
    fn out_of_order_buffer_is_bounded() {
        let cfg = StreamConfig {
            max_ooo_bytes: 4,
            max_ahead: 100,
            depth: 0,
        };
        let mut s = Stream::default();
        s.start(0);
        let mut out = Vec::new();
        s.add(&cfg, 10, b"abcd", &mut out);
        s.add(&cfg, 20, b"e", &mut out);
        s.add(&cfg, 1000, b"f", &mut out);
        assert_eq!(s.dropped_segments, 2);
        assert!(s.skip_gap(&cfg, &mut out));
        assert_eq!(out, b"abcd");
    }

    #[test]
    fn nothing_is_delivered_beyond_the_depth() {
        let cfg = StreamConfig {
            depth: 6,
            ..StreamConfig::default()
        };
        let mut s = Stream::default();
        s.start(0);
        let mut out = Vec::new();
        s.add(&cfg, 8, b"ij", &mut out); // beyond the depth: not even buffered
        assert_eq!(s.ooo_bytes, 0);
        s.add(&cfg, 4, b"efgh", &mut out); // buffered, delivered in part later
        s.add(&cfg, 0, b"abcd", &mut out);
        assert_eq!(out, b"abcdef");
        assert!(s.depth_reached(&cfg));
        s.add(&cfg, 8, b"ij", &mut out);
        assert_eq!(out, b"abcdef");
        let unlimited = StreamConfig { depth: 0, ..cfg };
        let mut s = Stream::default();
        let mut out = Vec::new();
        s.add(&unlimited, 0, b"abcdefgh", &mut out);
        s.add(&unlimited, 8, b"ij", &mut out);
        assert_eq!(out, b"abcdefghij");
        assert!(!s.depth_reached(&unlimited));
    }
}
