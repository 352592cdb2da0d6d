//! Reading capture files: classic libpcap (both byte orders, micro- and nanosecond
//! timestamps) and pcapng (section header, interface description, enhanced, simple and
//! obsolete packet blocks). Pure parsing over any [`std::io::Read`]; the caller opens
//! the file.

use std::io::Read;

/// Link-layer header types (the `LINKTYPE_*` values of the pcap format).
pub mod linktype {
    pub const NULL: u16 = 0;
    pub const ETHERNET: u16 = 1;
    pub const RAW: u16 = 101;
    pub const C_HDLC: u16 = 104;
    pub const LOOP: u16 = 108;
    pub const LINUX_SLL: u16 = 113;
    pub const IPV4: u16 = 228;
    pub const IPV6: u16 = 229;
    pub const LINUX_SLL2: u16 = 276;
}

/// Upper bound of one captured packet we accept (larger records are malformed).
pub const MAX_PACKET: usize = 256 * 1024;
/// Upper bound of one pcapng block.
const MAX_BLOCK: usize = 16 * 1024 * 1024;

/// One captured packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedPacket {
    /// Capture time, microseconds since the Unix epoch.
    pub ts_micros: i64,
    /// Link-layer type of `data` (see [`linktype`]).
    pub linktype: u16,
    /// Interface index (pcapng) or 0.
    pub iface: u32,
    /// Original length on the wire (may exceed `data.len()` when the capture was cut).
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// Why a capture file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("capture: reading failed at byte {offset}")]
    Io {
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "capture: not a pcap or pcapng file (magic {magic:08x}) (hint: convert it with `editcap -F pcap`)"
    )]
    BadMagic { magic: u32 },
    #[error("capture: truncated {what} at byte {offset}: the file ends early")]
    Truncated { what: &'static str, offset: u64 },
    #[error("capture: malformed {what} at byte {offset}: {detail}")]
    Malformed {
        what: &'static str,
        offset: u64,
        detail: String,
    },
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Classic {
        big_endian: bool,
        nanos: bool,
        linktype: u16,
    },
    Ng,
}

#[derive(Debug, Clone, Copy)]
struct NgIface {
    linktype: u16,
    /// Timestamp units per second.
    units_per_sec: u64,
}

/// Reads packets from a classic pcap or a pcapng stream.
pub struct PcapReader<R: Read> {
    inner: R,
    offset: u64,
    format: Format,
    ng_big_endian: bool,
    ng_ifaces: Vec<NgIface>,
    done: bool,
}

impl<R: Read> std::fmt::Debug for PcapReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapReader")
            .field("offset", &self.offset)
            .field("format", &self.format)
            .finish()
    }
}

fn u16_at(b: &[u8], be: bool) -> u16 {
    let a = [b[0], b[1]];
    if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn u32_at(b: &[u8], be: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

impl<R: Read> PcapReader<R> {
    /// Reads the file header. Fails when the stream is not a pcap or pcapng capture.
    pub fn new(inner: R) -> Result<Self, PcapError> {
        let mut r = PcapReader {
            inner,
            offset: 0,
            format: Format::Ng,
            ng_big_endian: false,
            ng_ifaces: Vec::new(),
            done: false,
        };
        let mut magic = [0u8; 4];
        if !r.read_exact_or_eof(&mut magic, "file header")? {
            return Err(PcapError::Truncated {
                what: "file header",
                offset: 0,
            });
        }
        let m = u32::from_le_bytes(magic);
        match m {
            0xa1b2c3d4 | 0xa1b23c4d | 0xd4c3b2a1 | 0x4d3cb2a1 => {
                let big_endian = matches!(m, 0xd4c3b2a1 | 0x4d3cb2a1);
                let nanos = matches!(m, 0xa1b23c4d | 0x4d3cb2a1);
                let mut rest = [0u8; 20];
                if !r.read_exact_or_eof(&mut rest, "file header")? {
                    return Err(PcapError::Truncated {
                        what: "file header",
                        offset: 4,
                    });
                }
                // The link type is the low 16 bits; the upper bits carry FCS info.
                let linktype = (u32_at(&rest[16..20], big_endian) & 0xffff) as u16;
                r.format = Format::Classic {
                    big_endian,
                    nanos,
                    linktype,
                };
            }
            0x0a0d0d0a => {
                r.format = Format::Ng;
                r.read_ng_shb_rest()?;
            }
            _ => {
                return Err(PcapError::BadMagic {
                    magic: m.swap_bytes(),
                });
            }
        }
        Ok(r)
    }

    /// The link type of a classic pcap file (pcapng: of its first interface, if known).
    pub fn linktype(&self) -> Option<u16> {
        match self.format {
            Format::Classic { linktype, .. } => Some(linktype),
            Format::Ng => self.ng_ifaces.first().map(|i| i.linktype),
        }
    }

    /// Reads exactly `buf.len()` bytes; Ok(false) on a clean end of file before the first
    /// byte; an error for an end in the middle.
    fn read_exact_or_eof(&mut self, buf: &mut [u8], what: &'static str) -> Result<bool, PcapError> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => {
                    if got == 0 {
                        return Ok(false);
                    }
                    return Err(PcapError::Truncated {
                        what,
                        offset: self.offset,
                    });
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(PcapError::Io {
                        offset: self.offset + got as u64,
                        source,
                    });
                }
            }
        }
        self.offset += got as u64;
        Ok(true)
    }

    fn read_exact_req(&mut self, buf: &mut [u8], what: &'static str) -> Result<(), PcapError> {
        let at = self.offset;
        if self.read_exact_or_eof(buf, what)? {
            Ok(())
        } else {
            Err(PcapError::Truncated { what, offset: at })
        }
    }

    fn read_ng_shb_rest(&mut self) -> Result<(), PcapError> {
        // After the block type: total length (4), byte-order magic (4), rest.
        let start = self.offset - 4;
        let mut hdr = [0u8; 8];
        self.read_exact_req(&mut hdr, "pcapng section header")?;
        let bom = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        let be = match bom {
            0x1a2b3c4d => false,
            0x4d3c2b1a => true,
            _ => {
                return Err(PcapError::Malformed {
                    what: "pcapng section header",
                    offset: start,
                    detail: format!("byte-order magic {bom:08x}"),
                });
            }
        };
        self.ng_big_endian = be;
        self.ng_ifaces.clear();
        let len = u32_at(&hdr[0..4], be) as usize;
        if !(28..=MAX_BLOCK).contains(&len) || !len.is_multiple_of(4) {
            return Err(PcapError::Malformed {
                what: "pcapng section header",
                offset: start,
                detail: format!("block length {len}"),
            });
        }
        let mut rest = vec![0u8; len - 12];
        self.read_exact_req(&mut rest, "pcapng section header")?;
        Ok(())
    }

    /// The next packet; `None` at the end of the capture.
    pub fn next_packet(&mut self) -> Option<Result<CapturedPacket, PcapError>> {
        if self.done {
            return None;
        }
        let r = match self.format {
            Format::Classic {
                big_endian,
                nanos,
                linktype,
            } => self.next_classic(big_endian, nanos, linktype),
            Format::Ng => self.next_ng(),
        };
        match r {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    fn next_classic(
        &mut self,
        be: bool,
        nanos: bool,
        linktype: u16,
    ) -> Result<Option<CapturedPacket>, PcapError> {
        let at = self.offset;
        let mut hdr = [0u8; 16];
        if !self.read_exact_or_eof(&mut hdr, "packet record header")? {
            return Ok(None);
        }
        let sec = u32_at(&hdr[0..4], be) as i64;
        let frac = u32_at(&hdr[4..8], be) as i64;
        let incl = u32_at(&hdr[8..12], be) as usize;
        let orig_len = u32_at(&hdr[12..16], be);
        if incl > MAX_PACKET {
            return Err(PcapError::Malformed {
                what: "packet record",
                offset: at,
                detail: format!("captured length {incl} exceeds {MAX_PACKET}"),
            });
        }
        let mut data = vec![0u8; incl];
        self.read_exact_req(&mut data, "packet data")?;
        let micros = if nanos { frac / 1000 } else { frac };
        Ok(Some(CapturedPacket {
            ts_micros: sec * 1_000_000 + micros,
            linktype,
            iface: 0,
            orig_len,
            data,
        }))
    }

    fn next_ng(&mut self) -> Result<Option<CapturedPacket>, PcapError> {
        loop {
            let at = self.offset;
            let mut ty = [0u8; 4];
            if !self.read_exact_or_eof(&mut ty, "pcapng block")? {
                return Ok(None);
            }
            if u32::from_le_bytes(ty) == 0x0a0d0d0a {
                self.read_ng_shb_rest()?;
                continue;
            }
            let be = self.ng_big_endian;
            let block_type = u32_at(&ty, be);
            let mut lenb = [0u8; 4];
            self.read_exact_req(&mut lenb, "pcapng block")?;
            let len = u32_at(&lenb, be) as usize;
            if !(12..=MAX_BLOCK).contains(&len) || !len.is_multiple_of(4) {
                return Err(PcapError::Malformed {
                    what: "pcapng block",
                    offset: at,
                    detail: format!("block length {len}"),
                });
            }
            let mut body = vec![0u8; len - 8];
            self.read_exact_req(&mut body, "pcapng block")?;
            let body = &body[..len - 12];
            let malformed = |detail: &str| PcapError::Malformed {
                what: "pcapng block",
                offset: at,
                detail: detail.to_string(),
            };
            match block_type {
                // Interface description.
                1 => {
                    if body.len() < 8 {
                        return Err(malformed("interface description shorter than 8 bytes"));
                    }
                    let linktype = u16_at(&body[0..2], be);
                    let mut units_per_sec = 1_000_000u64;
                    let mut opts = &body[8..];
                    while opts.len() >= 4 {
                        let code = u16_at(&opts[0..2], be);
                        let olen = u16_at(&opts[2..4], be) as usize;
                        let padded = (olen + 3) & !3;
                        if code == 0 || opts.len() < 4 + olen {
                            break;
                        }
                        if code == 9 && olen >= 1 {
                            let v = opts[4];
                            let exp = (v & 0x7f) as u32;
                            units_per_sec = if v & 0x80 != 0 {
                                2u64.checked_pow(exp).unwrap_or(1_000_000)
                            } else {
                                10u64.checked_pow(exp).unwrap_or(1_000_000)
                            };
                            if units_per_sec == 0 {
                                units_per_sec = 1_000_000;
                            }
                        }
                        opts = &opts[(4 + padded).min(opts.len())..];
                    }
                    self.ng_ifaces.push(NgIface {
                        linktype,
                        units_per_sec,
                    });
                }
                // Enhanced packet, obsolete packet.
                6 | 2 => {
                    if body.len() < 20 {
                        return Err(malformed("packet block shorter than 20 bytes"));
                    }
                    let iface = if block_type == 6 {
                        u32_at(&body[0..4], be)
                    } else {
                        u16_at(&body[0..2], be) as u32
                    };
                    let hi = u32_at(&body[4..8], be) as u64;
                    let lo = u32_at(&body[8..12], be) as u64;
                    let cap = u32_at(&body[12..16], be) as usize;
                    let orig_len = u32_at(&body[16..20], be);
                    if body.len() < 20 + cap {
                        return Err(malformed("captured length exceeds the block"));
                    }
                    let Some(ifd) = self.ng_ifaces.get(iface as usize).copied() else {
                        return Err(malformed("packet for an undeclared interface"));
                    };
                    let ts = (hi << 32) | lo;
                    let secs = ts / ifd.units_per_sec;
                    let rem = ts % ifd.units_per_sec;
                    let micros = (rem as u128 * 1_000_000 / ifd.units_per_sec as u128) as i64;
                    return Ok(Some(CapturedPacket {
                        ts_micros: (secs as i64)
                            .saturating_mul(1_000_000)
                            .saturating_add(micros),
                        linktype: ifd.linktype,
                        iface,
                        orig_len,
                        data: body[20..20 + cap].to_vec(),
                    }));
                }
                // Simple packet.
                3 => {
                    if body.len() < 4 {
                        return Err(malformed("simple packet block shorter than 4 bytes"));
                    }
                    let Some(ifd) = self.ng_ifaces.first().copied() else {
                        return Err(malformed("simple packet before any interface"));
                    };
                    let orig_len = u32_at(&body[0..4], be);
                    let cap = (orig_len as usize).min(body.len() - 4);
                    return Ok(Some(CapturedPacket {
                        ts_micros: 0,
                        linktype: ifd.linktype,
                        iface: 0,
                        orig_len,
                        data: body[4..4 + cap].to_vec(),
                    }));
                }
                _ => {}
            }
        }
    }
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = Result<CapturedPacket, PcapError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classic(be: bool, pkts: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        let w32 = |v: &mut Vec<u8>, x: u32| {
            if be {
                v.extend_from_slice(&x.to_be_bytes())
            } else {
                v.extend_from_slice(&x.to_le_bytes())
            }
        };
        w32(&mut v, 0xa1b2c3d4);
        v.extend_from_slice(&if be { [0, 2, 0, 4] } else { [2, 0, 4, 0] });
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, 1);
        for (i, p) in pkts.iter().enumerate() {
            w32(&mut v, 100 + i as u32);
            w32(&mut v, 5);
            w32(&mut v, p.len() as u32);
            w32(&mut v, p.len() as u32);
            v.extend_from_slice(p);
        }
        v
    }

    #[test]
    fn reads_classic_both_byte_orders() {
        for be in [false, true] {
            let f = classic(be, &[b"abc", b"defg"]);
            let r = PcapReader::new(&f[..]).unwrap();
            let pkts: Vec<_> = r.map(|p| p.unwrap()).collect();
            assert_eq!(pkts.len(), 2);
            assert_eq!(pkts[0].data, b"abc");
            assert_eq!(pkts[1].ts_micros, 101_000_005);
            assert_eq!(pkts[1].linktype, 1);
        }
    }

    #[test]
    fn truncated_record_is_an_error_with_offset() {
        let mut f = classic(false, &[b"abcdef"]);
        f.truncate(f.len() - 2);
        let mut r = PcapReader::new(&f[..]).unwrap();
        let e = r.next_packet().unwrap().unwrap_err();
        assert!(
            matches!(
                e,
                PcapError::Truncated {
                    what: "packet data",
                    offset: 40
                }
            ),
            "{e}"
        );
        assert!(r.next_packet().is_none());
    }

    #[test]
    fn bad_magic_is_reported() {
        let e = PcapReader::new(&b"hello world, not a capture"[..]).unwrap_err();
        assert!(e.to_string().contains("not a pcap"));
    }

    #[test]
    fn reads_pcapng() {
        let mut v = Vec::new();
        // SHB
        v.extend_from_slice(&0x0a0d0d0au32.to_le_bytes());
        v.extend_from_slice(&28u32.to_le_bytes());
        v.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
        v.extend_from_slice(&[1, 0, 0, 0]);
        v.extend_from_slice(&u64::MAX.to_le_bytes());
        v.extend_from_slice(&28u32.to_le_bytes());
        // IDB, ethernet, with if_tsresol = 9 (nanoseconds)
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&28u32.to_le_bytes());
        v.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0]);
        v.extend_from_slice(&28u32.to_le_bytes());
        // EPB with 5 bytes
        let ts: u64 = 3_000_000_123_456;
        v.extend_from_slice(&6u32.to_le_bytes());
        v.extend_from_slice(&40u32.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        v.extend_from_slice(&(ts as u32).to_le_bytes());
        v.extend_from_slice(&5u32.to_le_bytes());
        v.extend_from_slice(&5u32.to_le_bytes());
        v.extend_from_slice(b"hello\0\0\0");
        v.extend_from_slice(&40u32.to_le_bytes());
        let pkts: Vec<_> = PcapReader::new(&v[..])
            .unwrap()
            .map(|p| p.unwrap())
            .collect();
        assert_eq!(pkts.len(), 1);
        assert_eq!(pkts[0].data, b"hello");
        assert_eq!(pkts[0].ts_micros, 3_000_000_123);
        assert_eq!(pkts[0].linktype, 1);
    }
}
