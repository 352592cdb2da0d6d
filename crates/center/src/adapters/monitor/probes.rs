//! Service probes: HTTPS (status, response time, days to certificate expiry), DNS (a
//! query answered), NTP (offset, stratum), SSH (banner), SMTP (banner and EHLO). Each
//! probe is one exchange under one deadline; the packets are built and read by
//! `mamori_monitor::probe`.

use mamori_center_model::clock::Clock;
use mamori_monitor::probe::{self, DnsAnswer, NtpReply, ReplyError, SmtpReply, SshBanner};
use mamori_monitor::rollup::Sample;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, RootCertStore};

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{target}: no answer within {timeout:?}")]
    Timeout {
        target: SocketAddr,
        timeout: Duration,
    },
    #[error("{target}: {source}")]
    Io {
        target: SocketAddr,
        source: std::io::Error,
    },
    /// A failed handshake; `certificate_days_left` when the server's certificate was
    /// seen (negative: expired that many days ago).
    #[error("{target}: TLS: {what}")]
    Tls {
        target: SocketAddr,
        what: String,
        certificate_days_left: Option<f64>,
    },
    #[error("{target}: {source}")]
    Reply {
        target: SocketAddr,
        source: ReplyError,
    },
    #[error("{target}: the connection closed before a complete reply")]
    Closed { target: SocketAddr },
}

async fn within<T>(
    target: SocketAddr,
    timeout: Duration,
    f: impl Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    tokio::time::timeout(timeout, f)
        .await
        .unwrap_or(Err(ProbeError::Timeout { target, timeout }))
}

fn io(target: SocketAddr) -> impl Fn(std::io::Error) -> ProbeError {
    move |source| ProbeError::Io { target, source }
}

fn reply(target: SocketAddr) -> impl Fn(ReplyError) -> ProbeError {
    move |source| ProbeError::Reply { target, source }
}

/// Reads until `parse` finds a complete reply; the reply and the bytes it took.
async fn read_until<S: AsyncRead + Unpin, T>(
    s: &mut S,
    buf: &mut Vec<u8>,
    target: SocketAddr,
    parse: impl Fn(&[u8]) -> Result<Option<T>, ReplyError>,
) -> Result<T, ProbeError> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(t) = parse(buf).map_err(reply(target))? {
            return Ok(t);
        }
        let n = s.read(&mut chunk).await.map_err(io(target))?;
        if n == 0 {
            return Err(ProbeError::Closed { target });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Https {
    pub status: u16,
    /// From connecting to the status line.
    pub response_ms: f64,
    /// Days until the server certificate's notAfter (negative once expired).
    pub certificate_days_left: f64,
}

/// WebPKI verification that first keeps the server's certificate, so that a
/// certificate refused (expired, wrong name) still tells its expiry.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    seen: std::sync::Mutex<Option<Vec<u8>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(end_entity.to_vec());
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
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

/// Days from the clock's now to a certificate's notAfter.
fn days_left(der: &[u8], clock: &Clock) -> Option<f64> {
    let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = c.validity().not_after.timestamp();
    Some((not_after as f64 * 1000.0 - clock.now_ms() as f64) / 86_400_000.0)
}

/// `GET path` over TLS to `target`, verifying the certificate for `server_name`
/// against `roots` (the days to its expiry are reported even when it is refused).
pub async fn https(
    target: SocketAddr,
    server_name: &str,
    path: &str,
    roots: Arc<RootCertStore>,
    timeout: Duration,
    clock: &Clock,
) -> Result<Https, ProbeError> {
    let tls_err = |what: String, certificate_days_left| ProbeError::Tls {
        target,
        what,
        certificate_days_left,
    };
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|e| tls_err(format!("`{server_name}`: {e}"), None))?;
    let provider = Arc::new(ring::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| tls_err(e.to_string(), None))?;
    let verifier = Arc::new(Recording {
        inner,
        provider: provider.clone(),
        seen: std::sync::Mutex::new(None),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string(), None))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    within(target, timeout, async {
        let start = Instant::now();
        let tcp = TcpStream::connect(target).await.map_err(io(target))?;
        let mut s = match TlsConnector::from(Arc::new(config)).connect(name, tcp).await {
            Ok(s) => s,
            Err(e) => {
                let seen = verifier
                    .seen
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                return Err(tls_err(
                    e.to_string(),
                    seen.and_then(|der| days_left(&der, clock)),
                ));
            }
        };
        let cert = s
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or_else(|| tls_err("the server sent no certificate".into(), None))?;
        let certificate_days_left = days_left(cert, clock)
            .ok_or_else(|| tls_err("the server certificate cannot be read".into(), None))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {server_name}\r\nUser-Agent: mamori-monitor\r\nConnection: close\r\n\r\n"
        );
        s.write_all(request.as_bytes()).await.map_err(io(target))?;
        let mut buf = Vec::new();
        let status = read_until(&mut s, &mut buf, target, probe::http_status).await?;
        Ok(Https {
            status,
            response_ms: start.elapsed().as_secs_f64() * 1000.0,
            certificate_days_left,
        })
    })
    .await
}

impl Https {
    /// `status`, `response_ms`, `certificate_days_left` as samples.
    pub fn samples(&self, at: jiff::Timestamp) -> Vec<(&'static str, Sample)> {
        vec![
            (
                "status",
                Sample {
                    at,
                    value: f64::from(self.status),
                },
            ),
            (
                "response_ms",
                Sample {
                    at,
                    value: self.response_ms,
                },
            ),
            (
                "certificate_days_left",
                Sample {
                    at,
                    value: self.certificate_days_left,
                },
            ),
        ]
    }
}

async fn udp_for(target: SocketAddr) -> Result<UdpSocket, ProbeError> {
    let local: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(local).await.map_err(io(target))?;
    s.connect(target).await.map_err(io(target))?;
    Ok(s)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dns {
    pub answer: DnsAnswer,
    pub rtt_ms: f64,
}

/// One query for `name` (type `qtype`); a reply that is not for it is skipped.
pub async fn dns(
    target: SocketAddr,
    name: &str,
    qtype: u16,
    id: u16,
    timeout: Duration,
) -> Result<Dns, ProbeError> {
    let query = probe::dns_query(id, name, qtype).map_err(reply(target))?;
    within(target, timeout, async {
        let s = udp_for(target).await?;
        let start = Instant::now();
        s.send(&query).await.map_err(io(target))?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = s.recv(&mut buf).await.map_err(io(target))?;
            match probe::dns_response(&buf[..n], id) {
                Ok(answer) => {
                    return Ok(Dns {
                        answer,
                        rtt_ms: start.elapsed().as_secs_f64() * 1000.0,
                    });
                }
                Err(e) => tracing::debug!(%target, error = %e, "DNS reply skipped"),
            }
        }
    })
    .await
}

/// One SNTP exchange. Our send time comes from the clock, our receive time is the
/// send time plus the monotonic round trip.
pub async fn ntp(
    target: SocketAddr,
    timeout: Duration,
    clock: &Clock,
) -> Result<NtpReply, ProbeError> {
    within(target, timeout, async {
        let s = udp_for(target).await?;
        let t1 = i128::from(clock.now_ms()) * 1_000_000;
        let start = Instant::now();
        s.send(&probe::ntp_request(t1)).await.map_err(io(target))?;
        let mut buf = [0u8; 512];
        let n = s.recv(&mut buf).await.map_err(io(target))?;
        let t4 = t1 + start.elapsed().as_nanos() as i128;
        probe::ntp_reply(&buf[..n], t1, t4).map_err(reply(target))
    })
    .await
}

/// The SSH server's identification line.
pub async fn ssh(target: SocketAddr, timeout: Duration) -> Result<SshBanner, ProbeError> {
    within(target, timeout, async {
        let mut s = TcpStream::connect(target).await.map_err(io(target))?;
        let mut buf = Vec::new();
        read_until(&mut s, &mut buf, target, probe::ssh_banner).await
    })
    .await
}

#[derive(Debug, Clone, PartialEq)]
pub struct Smtp {
    pub greeting: SmtpReply,
    pub ehlo: SmtpReply,
}

/// Greeting, `EHLO helo_name`, `QUIT`.
pub async fn smtp(
    target: SocketAddr,
    helo_name: &str,
    timeout: Duration,
) -> Result<Smtp, ProbeError> {
    within(target, timeout, async {
        let mut s = TcpStream::connect(target).await.map_err(io(target))?;
        let mut buf = Vec::new();
        let (greeting, used) = read_until(&mut s, &mut buf, target, probe::smtp_reply).await?;
        buf.drain(..used);
        s.write_all(format!("EHLO {helo_name}\r\n").as_bytes())
            .await
            .map_err(io(target))?;
        let (ehlo, _) = read_until(&mut s, &mut buf, target, probe::smtp_reply).await?;
        let _ = s.write_all(b"QUIT\r\n").await;
        Ok(Smtp { greeting, ehlo })
    })
    .await
}
