//! Syslog receivers: UDP (one message per datagram, RFC 5426), TCP with either framing
//! of RFC 6587 (told apart per frame), and TLS (RFC 5425, octet counting; LF framing
//! is accepted as well, as rsyslog may send it). Each decoded message goes to the
//! channel with its sender; what does not decode is counted and dropped.

use super::{Counters, timestamp};
use jiff::tz::Offset;
use mamori_center_model::clock::Clock;
use mamori_monitor::framing::{DEFAULT_MAX_MESSAGE, Deframer};
use mamori_monitor::syslog::{self, Message, Options};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub peer: SocketAddr,
    /// When it was received (the center's clock): the time of a message without one.
    pub received_at: jiff::Timestamp,
    pub message: Message,
    /// Cut to the size limit (see `mamori_monitor::framing`).
    pub truncated: bool,
}

/// How the receivers read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest message kept whole; longer ones are cut.
    pub max_message: usize,
    /// Zone assumed for RFC 3164 timestamps.
    pub legacy_offset: Offset,
    /// Connections closed after this long without a byte.
    pub idle_timeout: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_message: DEFAULT_MAX_MESSAGE,
            legacy_offset: Offset::UTC,
            idle_timeout: std::time::Duration::from_secs(600),
        }
    }
}

/// What every receiver shares.
#[derive(Clone)]
pub struct Sink {
    pub clock: Clock,
    pub settings: Settings,
    pub tx: mpsc::Sender<Received>,
    pub counters: Arc<Counters>,
}

impl Sink {
    fn options(&self) -> Options {
        Options {
            received: timestamp(self.clock.now_ms()),
            legacy_offset: self.settings.legacy_offset,
        }
    }

    fn decode(&self, peer: SocketAddr, bytes: &[u8], truncated: bool) -> Option<Received> {
        let options = self.options();
        match syslog::parse(bytes, &options) {
            Ok(message) => {
                Counters::bump(&self.counters.received);
                if truncated {
                    Counters::bump(&self.counters.truncated);
                }
                Some(Received {
                    peer,
                    received_at: options.received,
                    message,
                    truncated,
                })
            }
            Err(e) => {
                Counters::bump(&self.counters.malformed);
                tracing::debug!(%peer, error = %e, "syslog message dropped");
                None
            }
        }
    }
}

/// A UDP socket for [`serve_udp`] with a receive buffer of `recv_buffer` bytes: a burst
/// of datagrams overflows a small buffer and is lost in the kernel, uncounted. Must be
/// called inside a Tokio runtime.
pub fn bind_udp(addr: SocketAddr, recv_buffer: usize) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_recv_buffer_size(recv_buffer)?;
    s.bind(&addr.into())?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(std::net::UdpSocket::from(s))
}

/// Serves a bound UDP socket until the task is dropped. A full channel drops the
/// message (counted in `overflow`): a datagram receiver cannot push back.
pub async fn serve_udp(socket: UdpSocket, sink: Sink) -> io::Result<()> {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = socket.recv_from(&mut buf).await?;
        let max = sink.settings.max_message;
        let (bytes, truncated) = if n > max {
            (&buf[..max], true)
        } else {
            (&buf[..n], false)
        };
        if let Some(r) = sink.decode(peer, bytes, truncated)
            && sink.tx.try_send(r).is_err()
        {
            Counters::bump(&sink.counters.overflow);
        }
    }
}

/// Serves plain TCP connections until the task is dropped; a full channel slows the
/// senders down (TCP pushes back).
pub async fn serve_tcp(listener: TcpListener, sink: Sink) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let sink = sink.clone();
        tokio::spawn(async move { read_stream(stream, peer, &sink).await });
    }
}

/// Serves TLS connections (RFC 5425) until the task is dropped.
pub async fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor, sink: Sink) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let (sink, acceptor) = (sink.clone(), acceptor.clone());
        tokio::spawn(async move {
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(30), acceptor.accept(stream))
                    .await;
            match handshake {
                Ok(Ok(tls)) => read_stream(tls, peer, &sink).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "syslog TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "syslog TLS handshake timed out"),
            }
        });
    }
}

/// Reads one connection to its end: frames, decodes, hands on.
pub async fn read_stream<S: AsyncRead + Unpin>(mut stream: S, peer: SocketAddr, sink: &Sink) {
    let mut deframer = Deframer::new(sink.settings.max_message);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match tokio::time::timeout(sink.settings.idle_timeout, stream.read(&mut buf)).await
        {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "syslog connection failed");
                return;
            }
            Err(_) => return,
        };
        if n == 0 {
            if let Some(frame) = deframer.finish() {
                handle(frame, peer, sink).await;
            }
            return;
        }
        deframer.push(&buf[..n]);
        while let Some(frame) = deframer.next_frame() {
            if !handle(frame, peer, sink).await {
                return;
            }
        }
    }
}

/// `false` when the connection is to be closed.
async fn handle(
    frame: Result<mamori_monitor::framing::Frame, mamori_monitor::framing::FramingError>,
    peer: SocketAddr,
    sink: &Sink,
) -> bool {
    match frame {
        Ok(f) => {
            if let Some(r) = sink.decode(peer, &f.bytes, f.truncated) {
                return sink.tx.send(r).await.is_ok();
            }
            true
        }
        Err(e) => {
            Counters::bump(&sink.counters.malformed);
            Counters::bump(&sink.counters.broken_streams);
            tracing::debug!(%peer, error = %e, "syslog stream closed");
            false
        }
    }
}
