//! The agent's side of the agent channel: HTTPS (HTTP/1.1, one request per connection)
//! over rustls to the center's agent listener, blocking, with timeouts.
//!
//! Two trust modes:
//! - first contact (enrolment): the center is trusted when the chain it presents holds a
//!   CA certificate whose SHA-256 fingerprint is the one pinned in the enrolment token,
//!   and the server certificate verifies against that CA;
//! - afterwards: the CA stored at enrolment (`ca.pem`) is the only root, and the agent
//!   presents its client certificate.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};
use sha2::{Digest, Sha256};

/// Largest answer body the agent reads (a desired configuration with a big policy).
const MAX_BODY: usize = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the center URL {url:?} is not valid: {detail} (expected https://HOST:PORT)")]
    BadUrl { url: String, detail: String },
    #[error("cannot reach the center at {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS with the center failed: {0}")]
    Tls(String),
    #[error("the center's answer is not HTTP: {0}")]
    Http(String),
    #[error("the certificate or key is not usable: {0}")]
    Pem(String),
}

/// Where the center is: from `https://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CenterUrl {
    pub host: String,
    pub port: u16,
}

impl CenterUrl {
    pub fn parse(url: &str) -> Result<CenterUrl, ClientError> {
        let bad = |d: &str| ClientError::BadUrl {
            url: url.to_string(),
            detail: d.to_string(),
        };
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| bad("it must start with https://"))?;
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(bad("it must not have a path"));
        }
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, p) = r.split_once(']').ok_or_else(|| bad("unclosed [ in host"))?;
            (h.to_string(), p.strip_prefix(':').unwrap_or(""))
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p),
                None => (rest.to_string(), ""),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        let port = if port.is_empty() {
            443
        } else {
            port.parse().map_err(|_| bad("the port is not a number"))?
        };
        Ok(CenterUrl { host, port })
    }

    pub fn to_url(&self) -> String {
        if self.host.contains(':') {
            format!("https://[{}]:{}", self.host, self.port)
        } else {
            format!("https://{}:{}", self.host, self.port)
        }
    }
}

/// An answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The center's error text (`{"error": ...}`) or the body as text.
    pub fn error_text(&self) -> String {
        serde_json::from_slice::<mamori_api::agent::AgentError>(&self.body)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&self.body).into_owned())
    }
}

/// A client for one center.
#[derive(Clone)]
pub struct Client {
    center: CenterUrl,
    tls: Arc<ClientConfig>,
    pub connect_timeout: Duration,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The SHA-256 fingerprint of a DER certificate, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The DER of the first certificate in a PEM text.
pub fn cert_der_of_pem(pem: &str) -> Result<CertificateDer<'static>, ClientError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| ClientError::Pem(e.to_string()))
}

impl Client {
    /// First contact: trust the center whose chain holds the CA with this fingerprint.
    pub fn pinned(center: CenterUrl, ca_fingerprint: &str) -> Result<Client, ClientError> {
        let verifier = Arc::new(PinnedCa {
            fingerprint: ca_fingerprint.to_ascii_lowercase(),
            provider: provider(),
        });
        let tls = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Client {
            center,
            tls: Arc::new(tls),
            connect_timeout: Duration::from_secs(5),
        })
    }

    /// Mutual TLS: the center's CA as the only root, and the agent's certificate.
    pub fn mutual(
        center: CenterUrl,
        ca_pem: &str,
        cert_pem: &str,
        key_pem: &str,
    ) -> Result<Client, ClientError> {
        let mut roots = RootCertStore::empty();
        roots
            .add(cert_der_of_pem(ca_pem)?)
            .map_err(|e| ClientError::Pem(format!("the CA certificate: {e}")))?;
        let certs = vec![cert_der_of_pem(cert_pem)?];
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| ClientError::Pem(format!("the private key: {e}")))?;
        let tls = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        Ok(Client {
            center,
            tls: Arc::new(tls),
            connect_timeout: Duration::from_secs(5),
        })
    }

    pub fn center(&self) -> &CenterUrl {
        &self.center
    }

    /// One request; `timeout` bounds each read and write (a long-poll passes its wait
    /// plus a margin).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Answer, ClientError> {
        let addr_text = format!("{}:{}", self.center.host, self.center.port);
        let addrs: Vec<SocketAddr> = (self.center.host.as_str(), self.center.port)
            .to_socket_addrs()
            .map_err(|source| ClientError::Connect {
                addr: addr_text.clone(),
                source,
            })?
            .collect();
        let mut last = None;
        let mut sock = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, self.connect_timeout) {
                Ok(s) => {
                    sock = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let sock = sock.ok_or_else(|| ClientError::Connect {
            addr: addr_text.clone(),
            source: last.unwrap_or_else(|| std::io::Error::other("no address")),
        })?;
        let io = |source| ClientError::Connect {
            addr: addr_text.clone(),
            source,
        };
        sock.set_read_timeout(Some(timeout)).map_err(io)?;
        sock.set_write_timeout(Some(timeout)).map_err(io)?;
        sock.set_nodelay(true).map_err(io)?;
        let name = ServerName::try_from(self.center.host.clone())
            .map_err(|e| ClientError::Tls(format!("server name {:?}: {e}", self.center.host)))?;
        let conn = ClientConnection::new(self.tls.clone(), name)
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        let mut tls = StreamOwned::new(conn, sock);
        let host = if self.center.host.contains(':') {
            format!("[{}]:{}", self.center.host, self.center.port)
        } else {
            addr_text.clone()
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: application/json\r\n"
        );
        if let Some(b) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        let tls_err =
            |e: std::io::Error| match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(t) => ClientError::Tls(t.to_string()),
                None => ClientError::Connect {
                    addr: addr_text.clone(),
                    source: e,
                },
            };
        tls.write_all(head.as_bytes()).map_err(tls_err)?;
        if let Some(b) = body {
            tls.write_all(b).map_err(tls_err)?;
        }
        tls.flush().map_err(tls_err)?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match tls.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    raw.extend_from_slice(&buf[..n]);
                    if raw.len() > MAX_BODY {
                        return Err(ClientError::Http("the answer is too large".into()));
                    }
                    if let Some(a) = complete_answer(&raw)? {
                        return Ok(a);
                    }
                }
                // The server closed without close_notify: take what came.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(tls_err(e)),
            }
        }
        complete_answer(&raw)?.ok_or_else(|| {
            ClientError::Http(format!(
                "the connection closed after {} bytes, before the whole answer",
                raw.len()
            ))
        })
    }
}

/// Parses an HTTP/1.1 answer once it is complete (by Content-Length, or a status without
/// a body); `None` while more bytes are needed.
pub fn complete_answer(raw: &[u8]) -> Result<Option<Answer>, ClientError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ClientError::Http(e.to_string())),
    };
    let status = resp.code.unwrap_or(0);
    let mut len = None;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
            if len.is_none() {
                return Err(ClientError::Http("bad Content-Length".into()));
            }
        }
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ClientError::Http(
                "chunked answers are not expected on the agent channel".into(),
            ));
        }
    }
    let len = match (status, len) {
        (204 | 304, _) | (100..=199, _) => 0,
        (_, Some(l)) => l,
        (_, None) => return Ok(None),
    };
    if len > MAX_BODY {
        return Err(ClientError::Http("the answer is too large".into()));
    }
    if raw.len() < head_len + len {
        return Ok(None);
    }
    Ok(Some(Answer {
        status,
        body: raw[head_len..head_len + len].to_vec(),
    }))
}

/// Trust on first contact by a pinned CA fingerprint.
#[derive(Debug)]
struct PinnedCa {
    fingerprint: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for PinnedCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(ca) = intermediates
            .iter()
            .find(|c| fingerprint(c) == self.fingerprint)
        else {
            return Err(rustls::Error::General(format!(
                "the center did not present the CA with fingerprint {} (a different center, or a wrong token)",
                self.fingerprint
            )));
        };
        let mut roots = RootCertStore::empty();
        roots
            .add(ca.clone().into_owned())
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        inner.verify_server_cert(end_entity, &[], server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_urls_parse_or_say_why_not() {
        assert_eq!(
            CenterUrl::parse("https://198.51.100.50:7443").unwrap(),
            CenterUrl {
                host: "198.51.100.50".into(),
                port: 7443
            }
        );
        assert_eq!(
            CenterUrl::parse("https://[2001:db8::1]:7443/").unwrap(),
            CenterUrl {
                host: "2001:db8::1".into(),
                port: 7443
            }
        );
        assert_eq!(CenterUrl::parse("https://c.example").unwrap().port, 443);
        let e = CenterUrl::parse("http://c.example")
            .unwrap_err()
            .to_string();
        assert!(e.contains("https://"), "{e}");
        assert!(CenterUrl::parse("https://c.example:x").is_err());
        assert!(CenterUrl::parse("https://c.example/agent").is_err());
    }

    #[test]
    fn answers_are_complete_only_with_their_whole_body() {
        let full = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert!(complete_answer(&full[..full.len() - 1]).unwrap().is_none());
        let a = complete_answer(full).unwrap().unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"{}"[..]));
        let a = complete_answer(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(a.status, 204);
        assert!(complete_answer(b"garbage\r\n\r\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn answer_parser_never_panics(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = complete_answer(&raw);
        }
        #[test]
        fn url_parser_never_panics(s in ".{0,60}") {
            let _ = CenterUrl::parse(&s);
        }
    }
}
