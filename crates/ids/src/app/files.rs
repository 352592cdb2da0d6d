//! Files carried by application-layer transactions (an HTTP response body, a
//! non-multipart request body): name, size and, once the file is complete, its MD5,
//! SHA-1 and SHA-256. They are what the file keywords (`file.name`, `filename`,
//! `fileext`, `filemd5`, `filesha1`, `filesha256`, `filesize`) inspect, and what EVE
//! `fileinfo` records describe.

use serde_json::{Value, json};

use super::http::HttpTx;
use super::keywords::{AppBuf, num_buf};
use crate::detect::{BufferKind, Direction};

/// Digests of a file fed in pieces (files larger than what is kept for inspection).
#[derive(Debug, Clone, Default)]
pub struct FileHasher {
    md5: md5::Md5,
    sha1: sha1::Sha1,
    sha256: sha2::Sha256,
}

/// Hex MD5, SHA-1 and SHA-256 of a whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileHashes {
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    /// The file's full size.
    pub size: u64,
}

impl FileHasher {
    pub fn update(&mut self, d: &[u8]) {
        use sha1::Digest;
        self.md5.update(d);
        self.sha1.update(d);
        self.sha256.update(d);
    }

    pub fn finish(self, size: u64) -> FileHashes {
        use sha1::Digest;
        FileHashes {
            md5: hex(&self.md5.finalize()),
            sha1: hex(&self.sha1.finalize()),
            sha256: hex(&self.sha256.finalize()),
            size,
        }
    }
}

/// One file of a transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileInfo {
    pub name: Vec<u8>,
    pub size: u64,
    size_buf: [u8; 8],
    /// Whether the whole file was seen.
    pub complete: bool,
    /// Lower-case hex digests (only for complete files, and only when asked for).
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    /// What the file's first bytes say it is, in libmagic's words ([`magic`]).
    pub magic: Option<String>,
}

/// A description of a file from its first bytes, worded as libmagic words the common
/// types (`PDF document, version 1.5`), for `filemagic`. A small built-in table, not
/// libmagic's database: other files get no description.
pub fn magic(d: &[u8]) -> Option<String> {
    let starts = |p: &[u8]| d.starts_with(p);
    Some(if let Some(v) = d.strip_prefix(b"%PDF-") {
        let ver: String = v
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.')
            .map(|&c| c as char)
            .collect();
        format!("PDF document, version {ver}")
    } else if starts(b"PK\x03\x04") {
        "Zip archive data".into()
    } else if starts(b"MZ") {
        let pe = d
            .get(0x3c..0x40)
            .map(|o| u32::from_le_bytes([o[0], o[1], o[2], o[3]]) as usize)
            .and_then(|o| d.get(o..o + 4))
            == Some(b"PE\0\0");
        if pe {
            "PE32 executable, for MS Windows".into()
        } else {
            "MS-DOS executable".into()
        }
    } else if starts(b"\x7fELF") {
        "ELF".into()
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        format!(
            "GIF image data, version {}",
            String::from_utf8_lossy(&d[3..6])
        )
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "PNG image data".into()
    } else if starts(b"\xff\xd8\xff") {
        "JPEG image data".into()
    } else if starts(b"\x1f\x8b") {
        "gzip compressed data".into()
    } else if !d.is_empty()
        && d.iter()
            .take(512)
            .all(|&c| c.is_ascii_graphic() || c.is_ascii_whitespace())
    {
        let head = d[..d.len().min(64)].to_ascii_lowercase();
        if head.starts_with(b"<!doctype html") || head.starts_with(b"<html") {
            "HTML document, ASCII text".into()
        } else {
            "ASCII text".into()
        }
    } else {
        return None;
    })
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl FileInfo {
    pub fn new(name: Vec<u8>, data: &[u8], complete: bool, hashes: bool) -> FileInfo {
        FileInfo::with_hashes(name, data, complete, hashes, None)
    }

    /// `whole`: the digests of the whole file when `data` is only its start.
    pub fn with_hashes(
        name: Vec<u8>,
        data: &[u8],
        complete: bool,
        hashes: bool,
        whole: Option<&FileHashes>,
    ) -> FileInfo {
        if let Some(w) = whole.filter(|_| complete) {
            return FileInfo {
                magic: magic(data),
                name,
                size: w.size,
                size_buf: num_buf(w.size),
                complete,
                md5: Some(w.md5.clone()),
                sha1: Some(w.sha1.clone()),
                sha256: Some(w.sha256.clone()),
            };
        }
        let mut f = FileInfo {
            magic: magic(data),
            name,
            size: data.len() as u64,
            size_buf: num_buf(data.len() as u64),
            complete,
            ..FileInfo::default()
        };
        if complete && hashes {
            use sha1::Digest;
            f.md5 = Some(hex(&md5::Md5::digest(data)));
            f.sha1 = Some(hex(&sha1::Sha1::digest(data)));
            f.sha256 = Some(hex(&sha2::Sha256::digest(data)));
        }
        f
    }

    /// The file's buffers, for detection.
    pub fn buffers<'a>(&'a self, out: &mut Vec<(BufferKind, &'a [u8])>) {
        let k = BufferKind::App;
        out.push((k(AppBuf::FileName), &self.name));
        if let Some(m) = &self.magic {
            out.push((k(AppBuf::FileMagic), m.as_bytes()));
        }
        if self.complete {
            out.push((k(AppBuf::FileSize), &self.size_buf));
        }
        for (b, v) in [
            (AppBuf::FileMd5, &self.md5),
            (AppBuf::FileSha1, &self.sha1),
            (AppBuf::FileSha256, &self.sha256),
        ] {
            if let Some(v) = v {
                out.push((k(b), v.as_bytes()));
            }
        }
    }

    /// The `fileinfo` object of EVE records.
    pub fn eve(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert(
            "filename".into(),
            json!(String::from_utf8_lossy(&self.name)),
        );
        m.insert("size".into(), json!(self.size));
        m.insert(
            "state".into(),
            json!(if self.complete { "CLOSED" } else { "TRUNCATED" }),
        );
        m.insert("stored".into(), json!(false));
        for (key, v) in [
            ("md5", &self.md5),
            ("sha1", &self.sha1),
            ("sha256", &self.sha256),
        ] {
            if let Some(v) = v {
                m.insert(key.into(), json!(v));
            }
        }
        Value::Object(m)
    }
}

/// `filename="x"` (or `filename=x`) of a Content-Disposition value.
fn disposition_name(v: &[u8]) -> Option<Vec<u8>> {
    let lower = v.to_ascii_lowercase();
    let at = memchr::memmem::find(&lower, b"filename=")? + 9;
    let rest = &v[at..];
    let name = match rest.strip_prefix(b"\"") {
        Some(q) => &q[..q.iter().position(|&b| b == b'"').unwrap_or(q.len())],
        None => &rest[..rest.iter().position(|&b| b == b';').unwrap_or(rest.len())],
    };
    (!name.is_empty()).then(|| name.to_vec())
}

/// The files of a `multipart/form-data` request body: (file, its data) for each part
/// with a `filename` (each part's data without its trailing CR LF).
pub fn multipart_files(tx: &HttpTx, hashes: bool) -> Vec<(FileInfo, Vec<u8>)> {
    let Some(ct) = tx.request_header("content-type") else {
        return Vec::new();
    };
    let lower = ct.to_ascii_lowercase();
    if !lower.starts_with(b"multipart/") {
        return Vec::new();
    }
    let Some(at) = memchr::memmem::find(&lower, b"boundary=") else {
        return Vec::new();
    };
    let b = &ct[at + 9..];
    let b = b.strip_prefix(b"\"").map_or(b, |q| {
        &q[..q.iter().position(|&c| c == b'"').unwrap_or(q.len())]
    });
    let b = &b[..b
        .iter()
        .position(|&c| c == b';' || c == b' ')
        .unwrap_or(b.len())];
    if b.is_empty() {
        return Vec::new();
    }
    let delim = [&b"--"[..], b].concat();
    let body = &tx.request_body;
    let mut out = Vec::new();
    let mut starts = memchr::memmem::find_iter(body, &delim).collect::<Vec<_>>();
    starts.push(body.len());
    for w in starts.windows(2) {
        let part = &body[w[0] + delim.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(hdr_end) = memchr::memmem::find(part, b"\r\n\r\n") else {
            continue;
        };
        let headers = &part[..hdr_end];
        let name = headers
            .split(|&c| c == b'\n')
            .find(|l| l.to_ascii_lowercase().starts_with(b"content-disposition"))
            .and_then(disposition_name);
        let Some(name) = name else { continue };
        let data = &part[hdr_end + 4..];
        let data = data.strip_suffix(b"\r\n").unwrap_or(data);
        // A part is complete when the next delimiter was seen.
        let complete = w[1] < body.len() || tx.request_complete;
        out.push((FileInfo::new(name, data, complete, hashes), data.to_vec()));
        if out.len() >= 16 {
            break;
        }
    }
    out
}

/// Base64 (RFC 2045: whitespace and line breaks ignored, decoding stops at the first
/// other byte outside the alphabet or at padding).
pub fn base64(d: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(d.len() * 3 / 4);
    let (mut acc, mut n) = (0u32, 0);
    for &c in d {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'\r' | b'\n' | b' ' | b'\t' => continue,
            _ => break,
        };
        acc = acc << 6 | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            (acc, n) = (0, 0);
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// Quoted-printable (RFC 2045): `=XX` escapes and soft line breaks.
fn quoted_printable(d: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(d.len());
    let mut i = 0;
    while i < d.len() {
        if d[i] == b'=' {
            let rest = &d[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let Some(h) = rest.get(..2)
                && let Ok(v) = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(d[i]);
        i += 1;
    }
    out
}

/// The value of a header in a MIME header block (case-insensitive name, folded
/// lines joined).
fn mime_header(headers: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    let mut lines = headers.split(|&c| c == b'\n').peekable();
    while let Some(l) = lines.next() {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let Some(colon) = l.iter().position(|&c| c == b':') else {
            continue;
        };
        if !l[..colon].eq_ignore_ascii_case(name) {
            continue;
        }
        let mut v = l[colon + 1..].to_vec();
        while let Some(next) = lines.peek() {
            if !next.first().is_some_and(|c| *c == b' ' || *c == b'\t') {
                break;
            }
            let n = lines.next().unwrap_or_default();
            v.extend_from_slice(n.strip_suffix(b"\r").unwrap_or(n));
        }
        return Some(v);
    }
    None
}

/// `boundary=` of a multipart Content-Type value.
fn boundary(ct: &[u8]) -> Option<Vec<u8>> {
    let lower = ct.to_ascii_lowercase();
    memchr::memmem::find(&lower, b"multipart/")?;
    let at = memchr::memmem::find(&lower, b"boundary=")? + 9;
    let b = &ct[at..];
    let b = match b.strip_prefix(b"\"") {
        Some(q) => &q[..q.iter().position(|&c| c == b'"').unwrap_or(q.len())],
        None => {
            &b[..b
                .iter()
                .position(|&c| c == b';' || c == b' ' || c == b'\r')
                .unwrap_or(b.len())]
        }
    };
    (!b.is_empty()).then(|| b.to_vec())
}

/// The attachments of a MIME message (headers and body, as mail carries it): each
/// part with a file name, decoded (base64, quoted-printable), nested multiparts
/// followed to a few levels.
pub fn mime_files(msg: &[u8], complete: bool, hashes: bool) -> Vec<(FileInfo, Vec<u8>)> {
    fn walk(
        entity: &[u8],
        depth: u32,
        complete: bool,
        hashes: bool,
        out: &mut Vec<(FileInfo, Vec<u8>)>,
    ) {
        if depth > 4 || out.len() >= 16 {
            return;
        }
        let (headers, body) = match memchr::memmem::find(entity, b"\r\n\r\n") {
            Some(p) => (&entity[..p + 2], &entity[p + 4..]),
            None => match memchr::memmem::find(entity, b"\n\n") {
                Some(p) => (&entity[..p + 1], &entity[p + 2..]),
                None => return,
            },
        };
        let ct = mime_header(headers, b"content-type").unwrap_or_default();
        if let Some(b) = boundary(&ct) {
            let delim = [&b"--"[..], &b].concat();
            let mut starts: Vec<usize> = memchr::memmem::find_iter(body, &delim).collect();
            starts.push(body.len());
            for w in starts.windows(2) {
                let part = &body[w[0] + delim.len()..w[1]];
                if part.starts_with(b"--") {
                    break;
                }
                let part = part
                    .strip_prefix(b"\r\n")
                    .or_else(|| part.strip_prefix(b"\n"))
                    .unwrap_or(part);
                // The line break before a delimiter belongs to the delimiter.
                let part = part
                    .strip_suffix(b"\r\n")
                    .or_else(|| part.strip_suffix(b"\n"))
                    .unwrap_or(part);
                walk(part, depth + 1, complete, hashes, out);
            }
            return;
        }
        let name = mime_header(headers, b"content-disposition")
            .and_then(|d| disposition_name(&d))
            .or_else(|| {
                // `Content-Type: ...; name="x"`
                let lower = ct.to_ascii_lowercase();
                let at = memchr::memmem::find(&lower, b"name=")?;
                disposition_name(&[&b"filename="[..], &ct[at + 5..]].concat())
            });
        let Some(name) = name else { return };
        let cte = mime_header(headers, b"content-transfer-encoding")
            .map(|v| v.trim_ascii().to_ascii_lowercase())
            .unwrap_or_default();
        let data = match cte.as_slice() {
            b"base64" => base64(body),
            b"quoted-printable" => quoted_printable(body),
            _ => body.to_vec(),
        };
        out.push((FileInfo::new(name, &data, complete, hashes), data));
    }
    let mut out = Vec::new();
    walk(msg, 0, complete, hashes, &mut out);
    out
}

/// The file an HTTP transaction carries in `dir`, if any.
pub fn http_file(tx: &HttpTx, dir: Direction, hashes: bool) -> Option<FileInfo> {
    let path = || {
        let u = &tx.uri_norm;
        u[..u.iter().position(|&b| b == b'?').unwrap_or(u.len())].to_vec()
    };
    match dir {
        Direction::ToClient => {
            if !tx.response_seen || tx.response_body.is_empty() {
                return None;
            }
            let name = tx
                .response_header("content-disposition")
                .and_then(disposition_name)
                .unwrap_or_else(path);
            Some(FileInfo::with_hashes(
                name,
                &tx.response_body,
                tx.response_complete,
                hashes,
                tx.whole_file[1].as_deref(),
            ))
        }
        Direction::ToServer => {
            let multipart = tx
                .request_header("content-type")
                .is_some_and(|c| c.to_ascii_lowercase().starts_with(b"multipart/"));
            if tx.request_body.is_empty() || multipart {
                return None;
            }
            Some(FileInfo::with_hashes(
                path(),
                &tx.request_body,
                tx.request_complete,
                hashes,
                tx.whole_file[0].as_deref(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_of_common_types() {
        assert_eq!(
            magic(b"%PDF-1.5\n%..").as_deref(),
            Some("PDF document, version 1.5")
        );
        assert_eq!(
            magic(b"GIF89a..").as_deref(),
            Some("GIF image data, version 89a")
        );
        assert_eq!(
            magic(b"<html><body>").as_deref(),
            Some("HTML document, ASCII text")
        );
        let mut pe = b"MZ".to_vec();
        pe.resize(0x40, 0);
        pe[0x3c] = 0x40;
        pe.extend_from_slice(b"PE\0\0");
        assert_eq!(
            magic(&pe).as_deref(),
            Some("PE32 executable, for MS Windows")
        );
        assert_eq!(magic(b"\x00\x01\x02"), None);
    }

    #[test]
    fn names_and_hashes() {
        assert_eq!(
            disposition_name(b"attachment; filename=\"a b.pdf\"; x=1"),
            Some(b"a b.pdf".to_vec())
        );
        assert_eq!(
            disposition_name(b"inline; FILENAME=x.exe"),
            Some(b"x.exe".to_vec())
        );
        assert_eq!(disposition_name(b"inline"), None);
        let f = FileInfo::new(b"/x".to_vec(), b"abc", true, true);
        assert_eq!(f.md5.as_deref(), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(
            f.sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        let partial = FileInfo::new(b"/x".to_vec(), b"abc", false, true);
        assert_eq!(partial.md5, None);
        let mut h = FileHasher::default();
        h.update(b"a");
        h.update(b"bc");
        let whole = h.finish(3);
        assert_eq!(Some(whole.md5.as_str()), f.md5.as_deref());
        let big = FileInfo::with_hashes(b"/x".to_vec(), b"a", true, true, Some(&whole));
        assert_eq!((big.size, big.sha256), (3, f.sha256));
    }

    #[test]
    fn mime_attachments_are_decoded() {
        let msg = b"Subject: x\r\nContent-Type: multipart/mixed; boundary=\"+B\"\r\n\r\n--+B\r\nContent-Type: text/plain\r\n\r\nhello\r\n--+B\r\nContent-Disposition: attachment; filename=e.txt\r\nContent-Transfer-Encoding: base64\r\n\r\nWDVPIVA=\r\n--+B\r\nContent-Type: text/plain; name=\"q.txt\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n--+B--\r\n";
        let files = mime_files(msg, true, true);
        let got: Vec<(&[u8], &[u8])> = files
            .iter()
            .map(|(f, d)| (f.name.as_slice(), d.as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![
                (&b"e.txt"[..], &b"X5O!P"[..]),
                (&b"q.txt"[..], &b"a=bc"[..])
            ]
        );
        assert_eq!(
            files[0].0.md5.as_deref(),
            Some(crate::app::md5_hex(b"X5O!P").as_str())
        );
        assert_eq!(base64(b"YW Jj\r\nZA=="), b"abcd");
    }

    #[test]
    fn multipart_parts_with_a_filename_are_files() {
        let tx = HttpTx {
            request_headers: vec![(
                b"Content-Type".to_vec(),
                b"multipart/form-data; boundary=XyZ".to_vec(),
            )],
            request_body: b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nfield\r\n--XyZ\r\nContent-Disposition: form-data; filename=b.txt\r\n\r\nsecond\r\n--XyZ--\r\n".to_vec(),
            request_complete: true,
            ..HttpTx::default()
        };
        let files = multipart_files(&tx, false);
        let got: Vec<(&[u8], &[u8])> = files
            .iter()
            .map(|(f, d)| (f.name.as_slice(), d.as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![
                (&b"a.txt"[..], &b"first"[..]),
                (&b"b.txt"[..], &b"second"[..])
            ]
        );
    }

    #[test]
    fn http_response_body_is_a_file_named_by_path() {
        let tx = HttpTx {
            uri_norm: b"/a/r.pdf?x=1".to_vec(),
            response_seen: true,
            response_complete: true,
            response_body: b"%PDF".to_vec(),
            ..HttpTx::default()
        };
        let f = http_file(&tx, Direction::ToClient, false).unwrap();
        assert_eq!(f.name, b"/a/r.pdf");
        assert_eq!(f.size, 4);
        assert!(http_file(&tx, Direction::ToServer, false).is_none());
    }
}
