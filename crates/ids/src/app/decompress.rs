//! HTTP content decoding: gzip, deflate (zlib-wrapped or raw), nested up to a layer
//! limit, bounded in output size. Damaged data yields what could be decoded before the
//! damage (as a browser would show it), never an error.

use flate2::{Decompress, FlushDecompress, Status};

/// Decodes `data` that was encoded with `encodings` (in the order they were applied).
/// Unknown encodings ("identity", ...) are skipped; at most `max_layers` are decoded.
pub fn decode_layers(
    data: &[u8],
    encodings: &[Vec<u8>],
    max_layers: usize,
    max_out: usize,
) -> Vec<u8> {
    let mut cur = data.to_vec();
    let mut layers = 0;
    for e in encodings.iter().rev() {
        let kind = match e.as_slice() {
            b"gzip" | b"x-gzip" => Kind::Gzip,
            b"deflate" | b"x-deflate" => Kind::Deflate,
            _ => continue,
        };
        if layers >= max_layers {
            break;
        }
        layers += 1;
        match decode_one(&cur, kind, max_out) {
            Some(out) => cur = out,
            None => break,
        }
    }
    cur
}

/// Decodes data whose encoding header was damaged (`Content-Encoding:gz\0ip`, ...):
/// gzip by its magic, zlib by its header, else raw deflate. Only a stream that decodes
/// to its end counts; `None` otherwise.
pub fn sniff(data: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let (body, zlib) = if data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b {
        (&data[gzip_header_len(data)?..], false)
    } else if data.len() >= 2
        && data[0] & 0x0f == 8
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0
    {
        (data, true)
    } else {
        (data, false)
    };
    let mut d = Decompress::new(zlib);
    let mut out = Vec::with_capacity((body.len() * 4).clamp(64, max_out.max(64)));
    loop {
        if out.len() == out.capacity() {
            if out.len() >= max_out {
                return Some(out);
            }
            out.reserve(out.len().clamp(64, max_out - out.len()));
        }
        let input = &body[(d.total_in() as usize).min(body.len())..];
        let (bi, bo) = (d.total_in(), d.total_out());
        match d.decompress_vec(input, &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => return (!out.is_empty()).then_some(out),
            Ok(_) if d.total_in() == bi && d.total_out() == bo => return None,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Gzip,
    Deflate,
}

/// Decodes one layer; `None` when the data is not of that encoding at all.
fn decode_one(data: &[u8], kind: Kind, max_out: usize) -> Option<Vec<u8>> {
    match kind {
        Kind::Gzip => {
            // A stray line end before the gzip header (a sloppy header terminator).
            let lead = data
                .iter()
                .take(2)
                .take_while(|c| matches!(c, b'\r' | b'\n'))
                .count();
            let data = if data.get(lead..lead + 2) == Some(&[0x1f, 0x8b]) {
                &data[lead..]
            } else {
                data
            };
            if data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b {
                let off = gzip_header_len(data)?;
                inflate(&data[off..], false, max_out)
            } else {
                // Servers label deflate data as gzip too.
                decode_one(data, Kind::Deflate, max_out)
            }
        }
        Kind::Deflate => {
            let zlib = data.len() >= 2
                && data[0] & 0x0f == 8
                && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
            if zlib && let Some(v) = inflate(data, true, max_out) {
                return Some(v);
            }
            if data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b {
                let off = gzip_header_len(data)?;
                return inflate(&data[off..], false, max_out);
            }
            inflate(data, false, max_out)
        }
    }
}

/// Length of a gzip member header (RFC 1952), ignoring reserved flag bits.
fn gzip_header_len(d: &[u8]) -> Option<usize> {
    if d.len() < 10 {
        return None;
    }
    let flags = d[3];
    let mut off = 10;
    if flags & 0x04 != 0 {
        let xlen = *d.get(off)? as usize | (*d.get(off + 1)? as usize) << 8;
        off += 2 + xlen;
    }
    if flags & 0x08 != 0 {
        off += d.get(off..)?.iter().position(|&c| c == 0)? + 1;
    }
    if flags & 0x10 != 0 {
        off += d.get(off..)?.iter().position(|&c| c == 0)? + 1;
    }
    if flags & 0x02 != 0 {
        off += 2;
    }
    if off > d.len() {
        return None;
    }
    Some(off)
}

/// Inflates as much as possible; `None` if not even the first byte decodes.
fn inflate(data: &[u8], zlib: bool, max_out: usize) -> Option<Vec<u8>> {
    let mut d = Decompress::new(zlib);
    let mut out = Vec::with_capacity((data.len() * 4).min(max_out).max(64));
    loop {
        let before_in = d.total_in();
        let before_out = d.total_out();
        if out.len() == out.capacity() {
            if out.len() >= max_out {
                break;
            }
            out.reserve((out.len()).clamp(64, max_out - out.len()));
        }
        let input = &data[(d.total_in() as usize).min(data.len())..];
        match d.decompress_vec(input, &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => break,
            Ok(_) => {
                if d.total_in() == before_in && d.total_out() == before_out {
                    break;
                }
            }
            Err(_) => {
                if out.is_empty() {
                    return None;
                }
                break;
            }
        }
    }
    out.truncate(max_out);
    if out.is_empty() && !data.is_empty() && d.total_in() == 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(d: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }

    fn zl(d: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }

    fn raw(d: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn nested_layers_up_to_the_limit() {
        let body = b"hello hello hello";
        let three = gz(&zl(&gz(body)));
        let encs = vec![b"gzip".to_vec(), b"deflate".to_vec(), b"gzip".to_vec()];
        assert_eq!(decode_layers(&three, &encs, 3, 1 << 20), body);
        let four = gz(&three);
        let mut encs4 = encs.clone();
        encs4.push(b"gzip".to_vec());
        assert_eq!(decode_layers(&four, &encs4, 3, 1 << 20), gz(body));
    }

    #[test]
    fn raw_deflate_truncated_and_bounded() {
        let body = vec![b'a'; 10_000];
        let r = raw(&body);
        assert_eq!(decode_layers(&r, &[b"deflate".to_vec()], 3, 1 << 20), body);
        assert_eq!(decode_layers(&r, &[b"deflate".to_vec()], 3, 100).len(), 100);
        let g = gz(b"partial data here");
        let cut = &g[..g.len() - 8];
        assert_eq!(
            decode_layers(cut, &[b"gzip".to_vec()], 3, 1 << 20),
            b"partial data here"
        );
    }
}
