//! ICMP echo over IPv4 and IPv6: loss and round-trip time, several probes per round,
//! many targets at once over one socket per family.
//!
//! Sockets: an unprivileged ping socket (`SOCK_DGRAM`/`IPPROTO_ICMP`, allowed by
//! `net.ipv4.ping_group_range`) when the system allows it, else a raw socket (needs
//! `CAP_NET_RAW`). With a ping socket the kernel sets the echo identifier and delivers
//! only our replies; with a raw one every ICMP message arrives and the identifier is
//! ours to check. Replies are matched by (address, sequence number); a reply that
//! cannot be read is counted and dropped.

use mamori_monitor::probe::{self, Family, RoundSummary};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::time::Instant;

type Waiting = Mutex<HashMap<(IpAddr, u16), oneshot::Sender<Instant>>>;

struct Sock {
    socket: UdpSocket,
    raw: bool,
}

struct Inner {
    v4: Option<Sock>,
    v6: Option<Sock>,
    id: u16,
    seq: AtomicU16,
    waiting: Waiting,
    malformed: AtomicU64,
}

/// Sends echo requests and collects the replies. Dropping it stops its receivers.
pub struct Pinger {
    inner: Arc<Inner>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Pinger {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn open(family: Family) -> io::Result<Sock> {
    let (domain, protocol) = match family {
        Family::V4 => (Domain::IPV4, Protocol::ICMPV4),
        Family::V6 => (Domain::IPV6, Protocol::ICMPV6),
    };
    let (socket, raw) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(s) => (s, false),
        Err(e)
            if matches!(e.kind(), io::ErrorKind::PermissionDenied)
                || e.raw_os_error() == Some(13) =>
        {
            (Socket::new(domain, Type::RAW, Some(protocol))?, true)
        }
        Err(e) => return Err(e),
    };
    socket.set_nonblocking(true)?;
    // Bursts of replies from many targets: a large receive buffer.
    let _ = socket.set_recv_buffer_size(4 << 20);
    let socket = UdpSocket::from_std(std::net::UdpSocket::from(socket))?;
    Ok(Sock { socket, raw })
}

impl Pinger {
    /// Opens a socket per family; a family the system lacks is left out (its targets
    /// then fail with the error). Must run inside a Tokio runtime.
    pub fn new() -> io::Result<Pinger> {
        let v4 = open(Family::V4);
        let v6 = open(Family::V6);
        if let (Err(e), Err(_)) = (&v4, &v6) {
            return Err(io::Error::new(e.kind(), format!("no ICMP socket: {e}")));
        }
        // A process-unique identifier for raw sockets (ping sockets get the kernel's).
        let id = (std::process::id() as u16) ^ 0x6d6d;
        let inner = Arc::new(Inner {
            v4: v4.ok(),
            v6: v6.ok(),
            id,
            seq: AtomicU16::new(0),
            waiting: Mutex::new(HashMap::new()),
            malformed: AtomicU64::new(0),
        });
        let mut tasks = Vec::new();
        for family in [Family::V4, Family::V6] {
            let inner2 = inner.clone();
            let has = match family {
                Family::V4 => inner.v4.is_some(),
                Family::V6 => inner.v6.is_some(),
            };
            if has {
                tasks.push(tokio::spawn(receive(inner2, family)));
            }
        }
        Ok(Pinger { inner, tasks })
    }

    /// Whether the IPv4 socket is raw (no ping socket allowed here).
    pub fn raw_v4(&self) -> Option<bool> {
        self.inner.v4.as_ref().map(|s| s.raw)
    }

    /// Replies that could not be read.
    pub fn malformed(&self) -> u64 {
        self.inner.malformed.load(Ordering::Relaxed)
    }

    /// One round: `probes` echo requests `spacing` apart, then waits until `timeout`
    /// after the last one. Send errors count as lost probes (the error is returned only
    /// when nothing could be sent).
    pub async fn ping(
        &self,
        addr: IpAddr,
        probes: u32,
        spacing: Duration,
        timeout: Duration,
    ) -> io::Result<RoundSummary> {
        let (family, sock) = match addr {
            IpAddr::V4(_) => (Family::V4, self.inner.v4.as_ref()),
            IpAddr::V6(_) => (Family::V6, self.inner.v6.as_ref()),
        };
        let Some(sock) = sock else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("no ICMP socket for {addr}"),
            ));
        };
        let mut pending = Vec::new();
        let mut last_error = None;
        for i in 0..probes {
            if i > 0 {
                tokio::time::sleep(spacing).await;
            }
            let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            self.lock().insert((addr, seq), tx);
            let packet = probe::echo_request(family, self.inner.id, seq, b"mamori-monitor");
            let sent = Instant::now();
            match sock.socket.send_to(&packet, SocketAddr::new(addr, 0)).await {
                Ok(_) => pending.push((seq, sent, rx)),
                Err(e) => {
                    self.lock().remove(&(addr, seq));
                    last_error = Some(e);
                }
            }
        }
        if pending.is_empty()
            && let Some(e) = last_error
        {
            return Err(e);
        }
        let deadline = Instant::now() + timeout;
        let mut rtts = Vec::new();
        for (seq, sent, rx) in pending {
            match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(at)) => rtts.push(at.saturating_duration_since(sent).as_secs_f64() * 1000.0),
                _ => {
                    self.lock().remove(&(addr, seq));
                }
            }
        }
        Ok(probe::round_summary(probes, &rtts))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(IpAddr, u16), oneshot::Sender<Instant>>> {
        self.inner
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn receive(inner: Arc<Inner>, family: Family) {
    let sock = match family {
        Family::V4 => inner.v4.as_ref(),
        Family::V6 => inner.v6.as_ref(),
    }
    .expect("spawned for an open socket");
    let mut buf = vec![0u8; 2048];
    loop {
        let (n, from) = match sock.socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                // An error report for an earlier send; never a reason to stop, nor to spin.
                tracing::debug!(error = %e, "ICMP receive error");
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        let at = Instant::now();
        let reply = match probe::echo_reply(family, &buf[..n], sock.raw && family == Family::V4) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                inner.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%from, error = %e, "ICMP reply dropped");
                continue;
            }
        };
        if sock.raw && reply.id != inner.id {
            continue;
        }
        let waiter = inner
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&(from.ip(), reply.seq));
        if let Some(w) = waiter {
            let _ = w.send(at);
        }
    }
}
