//! TLS: the record layer of both directions, handshake messages reassembled across
//! records, the ClientHello (SNI, version, JA3) and the ServerHello (JA3S). Everything
//! after ChangeCipherSpec is encrypted and ignored.

use crate::detect::Direction;

/// Facts of the handshake seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    pub sni: Option<Vec<u8>>,
    /// Version of the ClientHello (e.g. 0x0303).
    pub client_version: Option<u16>,
    pub ja3_string: Option<String>,
    pub ja3_hash: Option<String>,
    pub server_version: Option<u16>,
    pub ja3s_string: Option<String>,
    pub ja3s_hash: Option<String>,
    pub client_hello_done: bool,
    pub server_hello_done: bool,
    /// The server's certificate chain (DER), leaf first (TLS 1.2 and older; TLS 1.3
    /// sends it encrypted).
    pub certs: Vec<Vec<u8>>,
    /// Subject and issuer of the leaf certificate, as Suricata writes them
    /// (`C=US, O=Example, CN=www.example.com`), and its serial (`0A:1B:...`).
    pub cert_subject: Option<String>,
    pub cert_issuer: Option<String>,
    pub cert_serial: Option<String>,
    /// SHA-1 of the leaf certificate, as `aa:bb:...` (lower case).
    pub cert_fingerprint: Option<String>,
    /// The leaf certificate's subjectAltName DNS names.
    pub san: Vec<Vec<u8>>,
    /// The 32-byte random of the ClientHello and of the ServerHello.
    pub client_random: Option<Vec<u8>>,
    pub server_random: Option<Vec<u8>>,
    /// Anomaly events (Suricata's names, `tls.` prefixed).
    pub events: Vec<&'static str>,
    /// JA4 of the ClientHello (`t13d1516h2_8daaf6152771_e5627efa2ab1`).
    pub ja4: Option<String>,
}

/// Events kept per flow.
const MAX_EVENTS: usize = 16;

impl TlsInfo {
    fn event(&mut self, e: &'static str) {
        if self.events.len() < MAX_EVENTS && !self.events.contains(&e) {
            self.events.push(e);
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Side {
    /// Unparsed record bytes.
    rec: Vec<u8>,
    /// Handshake bytes gathered from records.
    hs: Vec<u8>,
    encrypted: bool,
    dead: bool,
}

/// TLS state of one flow.
#[derive(Debug, Clone, Default)]
pub struct TlsState {
    sides: [Side; 2],
    pub info: TlsInfo,
    pub errors: u64,
}

const MAX_HS: usize = 256 * 1024;

/// Whether data looks like the start of a TLS (or SSLv3) record (`None`: too short).
pub fn probe(d: &[u8]) -> Option<bool> {
    if d.len() < 3 {
        return if d.is_empty() || d[0] == 0x16 {
            None
        } else {
            Some(false)
        };
    }
    Some(matches!(d[0], 0x16) && d[1] == 3 && d[2] <= 4)
}

fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

struct Rd<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Rd<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
}

fn join(v: &[u16]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("-")
}

impl TlsState {
    /// Feeds stream data; returns true when a hello was parsed (a transaction update).
    pub fn feed(&mut self, dir: Direction, data: &[u8]) -> bool {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        if self.sides[i].dead || self.sides[i].encrypted {
            return false;
        }
        self.sides[i].rec.extend_from_slice(data);
        let mut updated = false;
        loop {
            let s = &mut self.sides[i];
            if s.rec.len() < 5 {
                break;
            }
            let ct = s.rec[0];
            let len = u16::from_be_bytes([s.rec[3], s.rec[4]]) as usize;
            if s.rec[1] != 3 || len > 18_432 {
                s.dead = true;
                self.errors += 1;
                self.info.event(if s.rec[1] != 3 {
                    "tls.invalid_record_version"
                } else {
                    "tls.record_overflow"
                });
                updated = true;
                break;
            }
            if s.rec.len() < 5 + len {
                break;
            }
            let body: Vec<u8> = s.rec.drain(..5 + len).skip(5).collect();
            match ct {
                20 => {
                    s.encrypted = true;
                    break;
                }
                22 => {
                    s.hs.extend_from_slice(&body);
                    if s.hs.len() > MAX_HS {
                        s.dead = true;
                        break;
                    }
                    updated |= self.handshake(i);
                }
                21 | 23 | 24 => {}
                _ => {
                    self.info.event("tls.invalid_record_type");
                    updated = true;
                }
            }
        }
        updated
    }

    fn handshake(&mut self, i: usize) -> bool {
        let mut updated = false;
        loop {
            let hs = &self.sides[i].hs;
            if hs.len() < 4 {
                break;
            }
            let ty = hs[0];
            let len = (hs[1] as usize) << 16 | (hs[2] as usize) << 8 | hs[3] as usize;
            // An unknown message type (or one longer than kept) ends parsing of this
            // side at once rather than waiting for its body.
            if !matches!(ty, 0..=4 | 8 | 11..=16 | 20..=22 | 24 | 67) || len > MAX_HS {
                self.info.event("tls.invalid_handshake_message");
                self.sides[i].dead = true;
                self.sides[i].hs.clear();
                return true;
            }
            if hs.len() < 4 + len {
                break;
            }
            let msg: Vec<u8> = self.sides[i].hs.drain(..4 + len).skip(4).collect();
            match ty {
                1 if i == 0 => {
                    if self.client_hello(&msg).is_none() {
                        self.errors += 1;
                        self.info.event("tls.invalid_handshake_message");
                    }
                    self.info.client_hello_done = true;
                    updated = true;
                }
                2 if i == 1 => {
                    if self.server_hello(&msg).is_none() {
                        self.errors += 1;
                        self.info.event("tls.invalid_handshake_message");
                    }
                    self.info.server_hello_done = true;
                    updated = true;
                }
                11 if i == 1 && self.info.certs.is_empty() => {
                    if self.certificate(&msg).is_none() {
                        self.errors += 1;
                        let leaf = self.info.certs.first().map_or(&[][..], |c| c.as_slice());
                        self.info.event(x509::error_event(leaf));
                    }
                    updated = true;
                }
                _ => {}
            }
        }
        updated
    }

    fn client_hello(&mut self, m: &[u8]) -> Option<()> {
        let mut r = Rd { b: m, at: 0 };
        let version = r.u16()?;
        self.info.client_version = Some(version);
        self.info.client_random = Some(r.take(32)?.to_vec());
        let sid = r.u8()? as usize;
        r.take(sid)?;
        let cs_len = r.u16()? as usize;
        let cs = r.take(cs_len)?;
        let ciphers: Vec<u16> = cs
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .filter(|c| !is_grease(*c))
            .collect();
        let comp = r.u8()? as usize;
        r.take(comp)?;
        let mut exts = Vec::new();
        let mut groups = Vec::new();
        let mut formats = Vec::new();
        let mut alpn: Option<Vec<u8>> = None;
        let mut sig_algs: Vec<u16> = Vec::new();
        let mut versions: Vec<u16> = Vec::new();
        if let Some(ext_len) = r.u16() {
            let e = r
                .take(ext_len as usize)
                .unwrap_or(&r.b[r.at.min(r.b.len())..]);
            let mut er = Rd { b: e, at: 0 };
            while let (Some(ty), Some(len)) = (er.u16(), er.u16()) {
                let Some(body) = er.take(len as usize) else {
                    break;
                };
                if !is_grease(ty) {
                    exts.push(ty);
                }
                match ty {
                    0 => {
                        let mut sr = Rd { b: body, at: 0 };
                        let _list = sr.u16();
                        while let Some(nt) = sr.u8() {
                            let Some(nl) = sr.u16() else { break };
                            let Some(name) = sr.take(nl as usize) else {
                                break;
                            };
                            if nt == 0 {
                                self.info.sni = Some(name.to_vec());
                                break;
                            }
                        }
                    }
                    10 => {
                        let mut gr = Rd { b: body, at: 0 };
                        let _ = gr.u16();
                        while let Some(g) = gr.u16() {
                            if !is_grease(g) {
                                groups.push(g);
                            }
                        }
                    }
                    11 => {
                        let mut fr = Rd { b: body, at: 0 };
                        let _ = fr.u8();
                        while let Some(f) = fr.u8() {
                            formats.push(u16::from(f));
                        }
                    }
                    13 => {
                        let mut sr = Rd { b: body, at: 0 };
                        let _ = sr.u16();
                        while let Some(a) = sr.u16() {
                            sig_algs.push(a);
                        }
                    }
                    16 => {
                        let mut ar = Rd { b: body, at: 0 };
                        let _ = ar.u16();
                        if let Some(n) = ar.u8()
                            && let Some(first) = ar.take(n as usize)
                        {
                            alpn = Some(first.to_vec());
                        }
                    }
                    43 => {
                        let mut vr = Rd { b: body, at: 0 };
                        let _ = vr.u8();
                        while let Some(v) = vr.u16() {
                            if !is_grease(v) {
                                versions.push(v);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        let s = format!(
            "{},{},{},{},{}",
            version,
            join(&ciphers),
            join(&exts),
            join(&groups),
            join(&formats)
        );
        self.info.ja3_hash = Some(md5_hex(s.as_bytes()));
        self.info.ja3_string = Some(s);
        let version = versions.iter().copied().max().unwrap_or(version);
        self.info.ja4 = Some(ja4(
            false,
            version,
            self.info.sni.is_some(),
            &ciphers,
            &exts,
            alpn.as_deref(),
            &sig_algs,
        ));
        Some(())
    }

    fn server_hello(&mut self, m: &[u8]) -> Option<()> {
        let mut r = Rd { b: m, at: 0 };
        let version = r.u16()?;
        self.info.server_version = Some(version);
        self.info.server_random = Some(r.take(32)?.to_vec());
        let sid = r.u8()? as usize;
        r.take(sid)?;
        let cipher = r.u16()?;
        let _comp = r.u8()?;
        let mut exts = Vec::new();
        if let Some(ext_len) = r.u16() {
            let e = r.take(ext_len as usize).unwrap_or(&[]);
            let mut er = Rd { b: e, at: 0 };
            while let (Some(ty), Some(len)) = (er.u16(), er.u16()) {
                if er.take(len as usize).is_none() {
                    break;
                }
                exts.push(ty);
            }
        }
        let s = format!("{},{},{}", version, cipher, join(&exts));
        self.info.ja3s_hash = Some(md5_hex(s.as_bytes()));
        self.info.ja3s_string = Some(s);
        Some(())
    }
}

impl TlsState {
    fn certificate(&mut self, m: &[u8]) -> Option<()> {
        let mut r = Rd { b: m, at: 0 };
        let total = (r.u8()? as usize) << 16 | (r.u8()? as usize) << 8 | r.u8()? as usize;
        let list = r.take(total.min(m.len().saturating_sub(3)))?;
        let mut lr = Rd { b: list, at: 0 };
        while let (Some(a), Some(b), Some(c)) = (lr.u8(), lr.u8(), lr.u8()) {
            let len = (a as usize) << 16 | (b as usize) << 8 | c as usize;
            let Some(der) = lr.take(len) else { break };
            if self.info.certs.len() < 16 {
                self.info.certs.push(der.to_vec());
            }
        }
        let leaf = self.info.certs.first()?;
        self.info.cert_fingerprint = Some(sha1_colons(leaf));
        self.info.san = x509::san(leaf);
        let (serial, issuer, subject) = x509::names(leaf)?;
        self.info.cert_serial = Some(serial);
        self.info.cert_issuer = Some(issuer);
        self.info.cert_subject = Some(subject);
        Some(())
    }
}

/// Just enough DER to read an X.509 certificate's serial, issuer and subject.
mod x509 {
    /// One DER element: (tag, content, rest).
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let l0 = *b.get(1)? as usize;
        let (len, hdr) = if l0 < 0x80 {
            (l0, 2)
        } else {
            let n = l0 & 0x7f;
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = len << 8 | *b.get(2 + i)? as usize;
            }
            (len, 2 + n)
        };
        let end = hdr.checked_add(len)?;
        Some((tag, b.get(hdr..end)?, &b[end..]))
    }

    fn oid_name(oid: &[u8]) -> Option<&'static str> {
        Some(match oid {
            [0x55, 0x04, 0x03] => "CN",
            [0x55, 0x04, 0x06] => "C",
            [0x55, 0x04, 0x07] => "L",
            [0x55, 0x04, 0x08] => "ST",
            [0x55, 0x04, 0x0a] => "O",
            [0x55, 0x04, 0x0b] => "OU",
            [0x55, 0x04, 0x05] => "serialNumber",
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress",
            _ => return None,
        })
    }

    fn oid_dotted(oid: &[u8]) -> String {
        let mut parts = Vec::new();
        if let Some(&f) = oid.first() {
            parts.push((f / 40) as u64);
            parts.push((f % 40) as u64);
        }
        let mut v: u64 = 0;
        for &b in oid.iter().skip(1) {
            v = v << 7 | (b & 0x7f) as u64;
            if b & 0x80 == 0 {
                parts.push(v);
                v = 0;
            }
        }
        parts
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A Name (SEQUENCE OF SET OF AttributeTypeAndValue) as `C=.., O=.., CN=..`.
    fn name(content: &[u8]) -> String {
        let mut out = Vec::new();
        let mut rest = content;
        while let Some((_, set, r)) = tlv(rest) {
            rest = r;
            let mut atvs = set;
            while let Some((_, atv, r2)) = tlv(atvs) {
                atvs = r2;
                let Some((_, oid, after)) = tlv(atv) else {
                    continue;
                };
                let Some((_, val, _)) = tlv(after) else {
                    continue;
                };
                let key = oid_name(oid).map_or_else(|| oid_dotted(oid), str::to_string);
                out.push(format!("{key}={}", String::from_utf8_lossy(val)));
            }
        }
        out.join(", ")
    }

    /// Why a certificate could not be read, as Suricata's event: its DER lengths
    /// run short (`tls.certificate_invalid_length`) or it is not a certificate
    /// (`tls.invalid_certificate`: a length beyond any certificate's, a wrong
    /// structure).
    pub fn error_event(der: &[u8]) -> &'static str {
        // Walks the first two levels of headers.
        fn header(b: &[u8]) -> Result<(usize, usize), &'static str> {
            let short = "tls.certificate_invalid_length";
            let l0 = *b.get(1).ok_or(short)? as usize;
            let (len, hdr) = if l0 < 0x80 {
                (l0, 2)
            } else {
                let n = l0 & 0x7f;
                if n == 0 || n > 4 {
                    return Err("tls.invalid_certificate");
                }
                let bytes = b.get(2..2 + n).ok_or(short)?;
                (
                    bytes.iter().fold(0usize, |a, &x| a << 8 | x as usize),
                    2 + n,
                )
            };
            if len > super::MAX_HS {
                return Err("tls.invalid_certificate");
            }
            if b.len() < hdr + len {
                return Err(short);
            }
            Ok((hdr, len))
        }
        let outer = match header(der) {
            Ok(h) => h,
            Err(e) => return e,
        };
        match header(&der[outer.0..outer.0 + outer.1]) {
            Err(e) => e,
            Ok(_) => "tls.invalid_certificate",
        }
    }

    /// The DNS names of a DER certificate's subjectAltName extension.
    pub fn san(der: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let Some((_, cert, _)) = tlv(der) else {
            return out;
        };
        let Some((_, mut tbs, _)) = tlv(cert) else {
            return out;
        };
        while let Some((tag, content, rest)) = tlv(tbs) {
            tbs = rest;
            if tag != 0xa3 {
                continue;
            }
            let Some((_, mut exts, _)) = tlv(content) else {
                break;
            };
            while let Some((_, ext, r)) = tlv(exts) {
                exts = r;
                let Some((_, oid, mut after)) = tlv(ext) else {
                    continue;
                };
                if oid != [0x55, 0x1d, 0x11] {
                    continue;
                }
                if let Some((0x01, _, r2)) = tlv(after) {
                    after = r2;
                }
                let Some((0x04, octets, _)) = tlv(after) else {
                    continue;
                };
                let Some((_, mut names, _)) = tlv(octets) else {
                    continue;
                };
                while let Some((t, n, r3)) = tlv(names) {
                    names = r3;
                    if t == 0x82 && out.len() < 64 {
                        out.push(n.to_vec());
                    }
                }
            }
        }
        out
    }

    /// (serial, issuer, subject) of a DER certificate.
    pub fn names(der: &[u8]) -> Option<(String, String, String)> {
        let (_, cert, _) = tlv(der)?;
        let (_, tbs, _) = tlv(cert)?;
        let (mut tag, mut content, mut rest) = tlv(tbs)?;
        if tag == 0xa0 {
            (tag, content, rest) = tlv(rest)?;
        }
        if tag != 0x02 {
            return None;
        }
        let serial = content
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let (_, _sig, rest) = tlv(rest)?;
        let (_, issuer, rest) = tlv(rest)?;
        let (_, _validity, rest) = tlv(rest)?;
        let (_, subject, _) = tlv(rest)?;
        Some((serial, name(issuer), name(subject)))
    }
}

use super::md5_hex;

/// JA4 (FoxIO) of a ClientHello: `t` (or `q` for QUIC), the highest version offered,
/// `d` with SNI or `i`, the numbers of ciphers and extensions (GREASE left out), the
/// first and last characters of the first ALPN value; then the first 12 hex digits of
/// the SHA-256 of the sorted ciphers, and of the sorted extensions (without SNI and
/// ALPN) followed by `_` and the signature algorithms in their order.
fn ja4(
    quic: bool,
    version: u16,
    sni: bool,
    ciphers: &[u16],
    exts: &[u16],
    alpn: Option<&[u8]>,
    sig_algs: &[u16],
) -> String {
    use sha2::Digest;
    let v = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        _ => "00",
    };
    let alpn = match alpn {
        Some(a) if !a.is_empty() => {
            let (f, l) = (a[0], a[a.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                format!("{}{}", f as char, l as char)
            } else {
                format!("{:x}{:x}", f >> 4, l & 0xf)
            }
        }
        _ => "00".into(),
    };
    let hex4 = |v: &[u16]| {
        v.iter()
            .map(|x| format!("{x:04x}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let hash12 = |s: &str| -> String {
        if s.is_empty() {
            return "000000000000".into();
        }
        sha2::Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()[..12]
            .to_string()
    };
    let mut c = ciphers.to_vec();
    c.sort_unstable();
    let mut e: Vec<u16> = exts
        .iter()
        .copied()
        .filter(|&x| x != 0 && x != 16)
        .collect();
    e.sort_unstable();
    let mut ext_str = hex4(&e);
    if !sig_algs.is_empty() && !ext_str.is_empty() {
        ext_str.push('_');
        ext_str.push_str(&hex4(sig_algs));
    }
    format!(
        "{}{v}{}{:02}{:02}{alpn}_{}_{}",
        if quic { 'q' } else { 't' },
        if sni { 'd' } else { 'i' },
        ciphers.len().min(99),
        exts.len().min(99),
        hash12(&hex4(&c)),
        hash12(&ext_str),
    )
}

fn sha1_colons(d: &[u8]) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(d)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn client_hello(sni: &str) -> Vec<u8> {
        let mut ext = Vec::new();
        let name = sni.as_bytes();
        let mut sn = vec![0u8];
        sn.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sn.extend_from_slice(name);
        let mut list = (sn.len() as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&sn);
        ext.extend_from_slice(&[0, 0]);
        ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
        ext.extend_from_slice(&list);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0u8; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 4, 0x0a, 0x0a, 0x13, 0x01]);
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![1, 0];
        hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn sni_and_ja3_across_fragments() {
        let rec = client_hello("www.example.org");
        let mut s = TlsState::default();
        for b in rec.chunks(7) {
            s.feed(Direction::ToServer, b);
        }
        assert_eq!(s.info.sni.as_deref(), Some(&b"www.example.org"[..]));
        assert_eq!(s.info.ja3_string.as_deref(), Some("771,4865,0,,"));
        assert_eq!(s.info.ja3_hash.as_ref().unwrap().len(), 32);
    }

    /// A self-signed certificate (openssl req -x509 -subj "/C=JP/O=Mamori Test/CN=tls.example.test").
    const CERT_DER_HEX: &str = include_str!("../../tests/data/tls-cert.hex");

    #[test]
    fn broken_certificates_and_handshake_types_are_events() {
        assert_eq!(
            x509::error_event(&[0x30, 0x05, 0x30, 0x84, 0xff, 0xff, 0xff]),
            "tls.certificate_invalid_length"
        );
        assert_eq!(
            x509::error_event(&[0x30, 0x06, 0x30, 0x84, 0xff, 0xff, 0xff, 0xfa, 4]),
            "tls.invalid_certificate"
        );
        // A handshake message of type 132 announcing 16 MiB: an event at once.
        let rec = [0x16, 3, 3, 0, 4, 132, 0xff, 0xff, 0xff];
        let mut s = TlsState::default();
        assert!(s.feed(Direction::ToClient, &rec));
        assert_eq!(s.info.events, vec!["tls.invalid_handshake_message"]);
    }

    #[test]
    fn certificate_subject_issuer_serial() {
        let der: Vec<u8> = (0..CERT_DER_HEX.trim().len() / 2)
            .map(|i| u8::from_str_radix(&CERT_DER_HEX.trim()[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let mut list = Vec::new();
        list.extend_from_slice(&[0, (der.len() >> 8) as u8, der.len() as u8]);
        list.extend_from_slice(&der);
        let mut msg = vec![0, (list.len() >> 8) as u8, list.len() as u8];
        msg.extend_from_slice(&list);
        let mut hs = vec![11, 0, (msg.len() >> 8) as u8, msg.len() as u8];
        hs.extend_from_slice(&msg);
        let mut rec = vec![0x16, 3, 3, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        let mut s = TlsState::default();
        assert!(s.feed(Direction::ToClient, &rec));
        assert_eq!(s.info.certs.len(), 1);
        assert_eq!(
            s.info.cert_subject.as_deref(),
            Some("C=JP, O=Mamori Test, CN=tls.example.test")
        );
        assert_eq!(s.info.cert_issuer, s.info.cert_subject);
        assert_eq!(
            s.info.cert_serial.as_deref(),
            Some("66:5A:69:E5:3F:F1:DD:30:27:E4:42:7B:BC:9D:2A:38:DA:96:2F:71")
        );
    }

    #[test]
    fn hello_split_over_two_records() {
        let rec = client_hello("a.example");
        let hs = &rec[5..];
        let (a, b) = hs.split_at(10);
        let mut data = Vec::new();
        for part in [a, b] {
            data.extend_from_slice(&[0x16, 3, 1]);
            data.extend_from_slice(&(part.len() as u16).to_be_bytes());
            data.extend_from_slice(part);
        }
        let mut s = TlsState::default();
        assert!(s.feed(Direction::ToServer, &data));
        assert_eq!(s.info.sni.as_deref(), Some(&b"a.example"[..]));
    }
}
