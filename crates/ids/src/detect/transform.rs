//! Transforms: keywords written after a sticky buffer that rewrite the buffer before
//! its content keywords inspect it (`url_decode`, `strip_whitespace`, `to_sha256`, ...),
//! applied in the order written, as Suricata does.

use std::borrow::Cow;

use md5::Digest;

use super::matcher::base64_decode;
use crate::rules::{Base64Mode, Transform};

/// Applies a chain of transforms to a buffer.
pub fn apply<'a>(chain: &[Transform], data: &'a [u8]) -> Cow<'a, [u8]> {
    let mut cur = Cow::Borrowed(data);
    for t in chain {
        cur = Cow::Owned(one(t, &cur));
    }
    cur
}

fn is_space(b: u8) -> bool {
    // C's isspace: space, \t, \n, \v, \f, \r.
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Strict base64 (RFC 4648, optional padding): `None` on any other character.
pub fn base64_strict(src: &[u8]) -> Option<Vec<u8>> {
    let body = src.strip_suffix(b"==").or_else(|| src.strip_suffix(b"="));
    let body = body.unwrap_or(src);
    body.iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/'))
        .then(|| base64_decode(body))
}

fn one(t: &Transform, d: &[u8]) -> Vec<u8> {
    match t {
        Transform::UrlDecode => {
            let mut out = Vec::with_capacity(d.len());
            let mut i = 0;
            while i < d.len() {
                match d[i] {
                    b'%' if i + 2 < d.len() => match (hex(d[i + 1]), hex(d[i + 2])) {
                        (Some(h), Some(l)) => {
                            out.push(h << 4 | l);
                            i += 3;
                            continue;
                        }
                        _ => out.push(b'%'),
                    },
                    b'+' => out.push(b' '),
                    c => out.push(c),
                }
                i += 1;
            }
            out
        }
        Transform::StripWhitespace => d.iter().copied().filter(|&b| !is_space(b)).collect(),
        Transform::CompressWhitespace => {
            let mut out = Vec::with_capacity(d.len());
            let mut in_space = false;
            for &b in d {
                if is_space(b) {
                    if !in_space {
                        out.push(b' ');
                    }
                    in_space = true;
                } else {
                    out.push(b);
                    in_space = false;
                }
            }
            out
        }
        Transform::ToLowercase => d.to_ascii_lowercase(),
        Transform::ToUppercase => d.to_ascii_uppercase(),
        Transform::HeaderLowercase => {
            // Header names (up to the first `:` of each line) in lower case.
            let mut out = d.to_vec();
            let mut in_name = true;
            for b in out.iter_mut() {
                match *b {
                    b'\n' => in_name = true,
                    b':' => in_name = false,
                    _ if in_name => b.make_ascii_lowercase(),
                    _ => {}
                }
            }
            out
        }
        Transform::ToMd5 => md5::Md5::digest(d).to_vec(),
        Transform::ToSha1 => sha1::Sha1::digest(d).to_vec(),
        Transform::ToSha256 => sha2::Sha256::digest(d).to_vec(),
        Transform::FromBase64 {
            bytes,
            offset,
            mode,
        } => {
            let start = (*offset as usize).min(d.len());
            let mut src = &d[start..];
            if let Some(n) = bytes {
                src = &src[..(*n as usize).min(src.len())];
            }
            match mode {
                Base64Mode::Rfc4648 => base64_decode(src),
                // RFC 2045: characters outside the alphabet are skipped.
                Base64Mode::Rfc2045 => {
                    let kept: Vec<u8> = src
                        .iter()
                        .copied()
                        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/'))
                        .collect();
                    base64_decode(&kept)
                }
                // Strict: any character outside the alphabet (padding aside) fails the
                // decoding, which leaves nothing to inspect.
                Base64Mode::Strict => base64_strict(src).unwrap_or_default(),
            }
        }
        Transform::Pcrexform(re) => match re.captures(d) {
            Ok(Some(caps)) => caps
                .get(1)
                .or_else(|| caps.get(0))
                .map_or_else(|| d.to_vec(), |m| m.as_bytes().to_vec()),
            _ => d.to_vec(),
        },
        Transform::Xor(key) => d
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect(),
        Transform::Gunzip { max_size } | Transform::ZlibDeflate { max_size } => {
            use std::io::Read;
            let limit = *max_size as u64;
            let mut out = Vec::new();
            let res = if matches!(t, Transform::Gunzip { .. }) {
                flate2::read::GzDecoder::new(d)
                    .take(limit)
                    .read_to_end(&mut out)
            } else {
                flate2::read::ZlibDecoder::new(d)
                    .take(limit)
                    .read_to_end(&mut out)
            };
            // Damaged data: what was decompressed before the damage.
            let _ = res;
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(t: Transform, d: &[u8]) -> Vec<u8> {
        apply(std::slice::from_ref(&t), d).into_owned()
    }

    #[test]
    fn url_decode_percent_and_plus() {
        assert_eq!(
            t(Transform::UrlDecode, b"/evil%27sqli+x%2"),
            b"/evil'sqli x%2"
        );
        assert_eq!(t(Transform::UrlDecode, b"%zz%41"), b"%zzA");
    }

    #[test]
    fn whitespace_transforms() {
        assert_eq!(t(Transform::StripWhitespace, b" a\tb\r\nc "), b"abc");
        assert_eq!(
            t(Transform::CompressWhitespace, b"a  \t b\r\n\r\nc"),
            b"a b c"
        );
    }

    #[test]
    fn hashes_are_raw_digests() {
        assert_eq!(
            t(Transform::ToMd5, b"abc"),
            hexbytes("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            t(Transform::ToSha1, b"abc"),
            hexbytes("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            t(Transform::ToSha256, b"abc"),
            hexbytes("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    fn hexbytes(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn from_base64_offset_bytes_and_modes() {
        let b64 = |bytes, offset, mode| Transform::FromBase64 {
            bytes,
            offset,
            mode,
        };
        let d = b"/?arg=dGhpc2lzYXRlc3QK";
        assert_eq!(t(b64(None, 6, Base64Mode::Rfc4648), d), b"thisisatest\n");
        assert_eq!(t(b64(None, 10, Base64Mode::Rfc4648), d), b"sisatest\n");
        assert_eq!(t(b64(Some(6), 6, Base64Mode::Rfc4648), d), b"this");
        assert_eq!(
            t(b64(None, 0, Base64Mode::Rfc2045), b"dGhp c2l\nz"),
            b"thisis"
        );
        assert_eq!(t(b64(None, 0, Base64Mode::Strict), b"dGhp c2l"), b"");
        assert_eq!(t(b64(None, 0, Base64Mode::Strict), b"dGhpcw=="), b"this");
    }

    #[test]
    fn xor_pcrexform_lowercase_and_chains() {
        assert_eq!(
            t(Transform::Xor(vec![1, 2]), b"\x01\x02\x03"),
            b"\x00\x00\x02"
        );
        let re = pcre2::bytes::Regex::new(r"[a-zA-Z]+\s+(.*)\s+HTTP").unwrap();
        assert_eq!(
            t(Transform::Pcrexform(re), b"GET /z.jpg HTTP/1.1"),
            b"/z.jpg"
        );
        assert_eq!(
            t(Transform::HeaderLowercase, b"Host: A\r\nX-Y: B\r\n"),
            b"host: A\r\nx-y: B\r\n"
        );
        let chain = [Transform::StripWhitespace, Transform::ToUppercase];
        assert_eq!(apply(&chain, b"a b").as_ref(), b"AB");
        assert!(matches!(apply(&[], b"x"), Cow::Borrowed(_)));
    }

    #[test]
    fn decompression_is_bounded() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"This is compressed").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(
            t(Transform::Gunzip { max_size: 1024 }, &gz),
            b"This is compressed"
        );
        assert_eq!(t(Transform::Gunzip { max_size: 8 }, &gz), b"This is ");
        assert_eq!(t(Transform::ZlibDeflate { max_size: 8 }, &gz), b"");
    }
}
