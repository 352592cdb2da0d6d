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
use tokio_rustls::rustls::{ClientConfig, pki_types::ServerName};

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
    #[error("{target}: TLS: {what}")]
    Tls { target: SocketAddr, what: String },
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

/// `GET path` over TLS to `target`, verifying the certificate for `server_name`
/// against `tls`'s roots.
pub async fn https(
    target: SocketAddr,
    server_name: &str,
    path: &str,
    tls: Arc<ClientConfig>,
    timeout: Duration,
    clock: &Clock,
) -> Result<Https, ProbeError> {
    let tls_err = |what: String| ProbeError::Tls { target, what };
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|e| tls_err(format!("`{server_name}`: {e}")))?;
    within(target, timeout, async {
        let start = Instant::now();
        let tcp = TcpStream::connect(target).await.map_err(io(target))?;
        let mut s = TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| tls_err(e.to_string()))?;
        let cert = s
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or_else(|| tls_err("the server sent no certificate".into()))?;
        let (_, parsed) = x509_parser::parse_x509_certificate(cert)
            .map_err(|e| tls_err(format!("the server certificate: {e}")))?;
        let not_after = parsed.validity().not_after.timestamp();
        let certificate_days_left =
            (not_after as f64 * 1000.0 - clock.now_ms() as f64) / 86_400_000.0;
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
