//! The connections of both listeners (the panel/API port and the agent port): how many
//! may be open, how long one may take, and how they end when the center stops.
//!
//! - [`Gate`]: a cap on open connections in total and per key (a source address, or an
//!   agent's certificate); a connection over a cap is closed as soon as it is accepted.
//! - [`AcceptLog`]: a failing `accept` (out of descriptors) is logged once per burst,
//!   with the count when accepting works again.
//! - [`serve_connection`]: HTTP/1.1 over hyper with a header-read timeout, a deadline
//!   for request bodies ([`DeadlineBody`]), a timeout for answers the client does not
//!   take ([`Stall`]), an optional deadline for the whole connection, and graceful
//!   shutdown (idle connections close at once, open requests get [`GRACE`]).
//! - [`Budget`]: raises the open-file limit and fits the caps under it, with a reserve
//!   for the database and files.
//! - [`serve_http`]: the panel/API listener's accept loop.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::config::ConnectionsConfig;

/// How long open requests may still run once the center stops; then their connections
/// are dropped. Waiting long-polls answer at once.
pub const GRACE: Duration = Duration::from_secs(1);

/// The key of a source address for the per-source caps and the enrolment throttle: the
/// address itself for IPv4 (and IPv4-mapped IPv6), the /64 for IPv6, since one host
/// commonly holds a whole /64.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The cap of open connections is reached.
    Full,
    /// The cap for this key (source address, certificate) is reached.
    PerKey,
}

/// Open connections, in total and per key, under caps.
pub struct Gate<K: Hash + Eq + Clone> {
    inner: Arc<GateInner<K>>,
}

struct GateInner<K> {
    max: usize,
    per_key: usize,
    state: Mutex<(usize, HashMap<K, usize>)>,
}

impl<K: Hash + Eq + Clone> Clone for Gate<K> {
    fn clone(&self) -> Self {
        Gate {
            inner: self.inner.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone> Gate<K> {
    pub fn new(max: usize, per_key: usize) -> Gate<K> {
        Gate {
            inner: Arc::new(GateInner {
                max,
                per_key,
                state: Mutex::new((0, HashMap::new())),
            }),
        }
    }

    /// Takes a place for one connection of `key`; the place is given back when the
    /// permit is dropped.
    pub fn admit(&self, key: K) -> Result<Permit<K>, Refused> {
        let mut s = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.0 >= self.inner.max {
            return Err(Refused::Full);
        }
        let n = s.1.get(&key).copied().unwrap_or(0);
        if n >= self.inner.per_key {
            return Err(Refused::PerKey);
        }
        s.1.insert(key.clone(), n + 1);
        s.0 += 1;
        Ok(Permit {
            gate: self.inner.clone(),
            key,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner()).0
    }
}

/// One admitted connection's place in a [`Gate`].
pub struct Permit<K: Hash + Eq + Clone> {
    gate: Arc<GateInner<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Drop for Permit<K> {
    fn drop(&mut self) {
        let mut s = self.gate.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 = s.0.saturating_sub(1);
        if let Some(n) = s.1.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                s.1.remove(&self.key);
            }
        }
    }
}

/// Counters of one listener, for `/metrics`.
#[derive(Default)]
pub struct ConnStats {
    open: AtomicUsize,
    /// Connections closed at once because a cap was reached.
    pub refused: AtomicU64,
    /// Failed `accept` calls (e.g. out of descriptors).
    pub accept_failures: AtomicU64,
    /// Connections closed by a timeout (header read, body, stalled answer, anonymous
    /// deadline, TLS handshake).
    pub timed_out: AtomicU64,
}

impl ConnStats {
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
    /// Counts the connection as open until the guard is dropped.
    pub fn opened(self: &Arc<Self>) -> OpenGuard {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(self.clone())
    }
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
    pub fn timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct OpenGuard(Arc<ConnStats>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Both listeners' counters.
#[derive(Default)]
pub struct Listeners {
    pub panel: Arc<ConnStats>,
    pub agent: Arc<ConnStats>,
}

impl Listeners {
    /// The counters in the Prometheus text format.
    pub fn metrics(&self, agent_listener: bool) -> String {
        let mut rows = vec![("panel", &self.panel)];
        if agent_listener {
            rows.push(("agent", &self.agent));
        }
        let mut out = String::new();
        for (name, help, kind, get) in [
            (
                "mamori_connections_open",
                "Connections open now, by listener.",
                "gauge",
                (|s: &ConnStats| s.open() as u64) as fn(&ConnStats) -> u64,
            ),
            (
                "mamori_connections_refused_total",
                "Connections closed at once because a connection cap was reached.",
                "counter",
                |s: &ConnStats| s.refused.load(Ordering::Relaxed),
            ),
            (
                "mamori_connections_timed_out_total",
                "Connections closed by a timeout (headers, body, unread answer, handshake, anonymous deadline).",
                "counter",
                |s: &ConnStats| s.timed_out.load(Ordering::Relaxed),
            ),
            (
                "mamori_accept_failures_total",
                "Failed accepts (e.g. out of file descriptors).",
                "counter",
                |s: &ConnStats| s.accept_failures.load(Ordering::Relaxed),
            ),
        ] {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (listener, s) in &rows {
                out.push_str(&format!("{name}{{listener=\"{listener}\"}} {}\n", get(s)));
            }
        }
        out
    }
}

/// Logs failing accepts once per burst: the first failure, a reminder each minute while
/// it lasts, and the count once an accept succeeds again. A burst ends when no accept
/// has failed for [`ACCEPT_QUIET`]; accepts that succeed in between (a descriptor freed
/// for a moment) do not start a new one.
pub struct AcceptLog {
    failures: u64,
    since: Option<Instant>,
    last_failure: Option<Instant>,
    noted: Option<Instant>,
    recovered: bool,
}

/// How often a burst of failing accepts is noted again while it lasts.
const ACCEPT_NOTE_EVERY: Duration = Duration::from_secs(60);

/// A burst of failing accepts ends after this long without a failure.
pub const ACCEPT_QUIET: Duration = Duration::from_secs(10);

impl AcceptLog {
    pub fn new() -> AcceptLog {
        AcceptLog {
            failures: 0,
            since: None,
            last_failure: None,
            noted: None,
            recovered: false,
        }
    }

    /// An accept of `listener` failed: counted in `stats`, logged once per burst; how
    /// long to wait before the next accept.
    pub fn accept_failed(
        &mut self,
        listener: &'static str,
        stats: &ConnStats,
        e: &std::io::Error,
    ) -> Duration {
        stats.accept_failures.fetch_add(1, Ordering::Relaxed);
        let (msg, wait) = self.failed(e, Instant::now());
        if let Some(m) = msg {
            tracing::warn!(listener, "{m}");
        }
        wait
    }

    /// An accept failed at `now`: the message to log, if any, and how long to wait
    /// before the next accept (doubling from 10 ms to 1 s while failures follow).
    pub fn failed(&mut self, e: &std::io::Error, now: Instant) -> (Option<String>, Duration) {
        let in_burst = self
            .last_failure
            .is_some_and(|t| now.duration_since(t) < ACCEPT_QUIET);
        self.last_failure = Some(now);
        if !in_burst {
            self.failures = 1;
            self.since = Some(now);
            self.noted = Some(now);
            self.recovered = false;
            let hint = if is_out_of_descriptors(e) {
                " (out of file descriptors: raise the open-file limit, or lower the connection caps)"
            } else {
                ""
            };
            let msg = format!(
                "accepting a connection failed: {e}; further failures are counted until accepting works again{hint}"
            );
            return (Some(msg), Duration::from_millis(10));
        }
        self.failures += 1;
        let wait = if self.recovered {
            Duration::from_millis(10)
        } else {
            Duration::from_millis(10u64 << self.failures.min(7).saturating_sub(1))
                .min(Duration::from_secs(1))
        };
        let since = self.since.unwrap_or(now);
        let msg = match self.noted {
            Some(noted) if now.duration_since(noted) >= ACCEPT_NOTE_EVERY => {
                self.noted = Some(now);
                Some(format!(
                    "accepting connections still fails: {} failures in {:.0} s, the last: {e}",
                    self.failures,
                    now.duration_since(since).as_secs_f64()
                ))
            }
            _ => None,
        };
        (msg, wait)
    }

    /// An accept succeeded: the message that tells the burst's end, once per burst.
    pub fn accepted(&mut self, now: Instant) -> Option<String> {
        let since = self.since?;
        if self.recovered {
            return None;
        }
        self.recovered = true;
        Some(format!(
            "accepting connections again after {} failures in {:.1} s",
            self.failures,
            now.duration_since(since).as_secs_f64()
        ))
    }
}

impl Default for AcceptLog {
    fn default() -> Self {
        AcceptLog::new()
    }
}

fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE (24) and ENFILE (23) on Linux and the BSDs.
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// Caps and timeouts in effect, after [`Budget::fit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub header_read: Duration,
    pub idle: Duration,
    pub panel_max: usize,
    pub panel_per_source: usize,
    pub agent_max: usize,
    pub agent_per_certificate: usize,
    pub anonymous_max: usize,
    pub anonymous_per_source: usize,
    pub anonymous_time: Duration,
    pub enrol_refusals_per_window: u32,
    pub enrol_window: Duration,
}

impl Limits {
    /// The configured values, unfitted (zeros raised to one).
    pub fn from_config(c: &ConnectionsConfig) -> Limits {
        let secs = |s: u64| Duration::from_secs(s.max(1));
        Limits {
            header_read: secs(c.header_read_timeout_secs),
            idle: secs(c.idle_timeout_secs),
            panel_max: c.panel_max.max(1),
            panel_per_source: c.panel_per_source.max(1),
            agent_max: c.agent_max.max(1),
            agent_per_certificate: c.agent_per_certificate.max(1),
            anonymous_max: c.anonymous_max.max(1),
            anonymous_per_source: c.anonymous_per_source.max(1),
            anonymous_time: secs(c.anonymous_secs),
            enrol_refusals_per_window: c.enrol_refusals_per_window.max(1),
            enrol_window: secs(c.enrol_window_secs),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_config(&ConnectionsConfig::default())
    }
}

/// The open-file budget of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The soft limit in effect.
    pub open_files: u64,
    /// Kept for the database connections, their files, logs, the CA files and the
    /// runtime.
    pub reserve: u64,
}

impl Budget {
    /// Raises the soft open-file limit to the hard limit; the budget in effect (None
    /// when the limit cannot be read, e.g. on a platform without one).
    pub fn raise(db_connections: u32) -> Option<Budget> {
        let (soft, hard) = rlimit::Resource::NOFILE.get().ok()?;
        let mut open_files = soft;
        if soft < hard {
            match rlimit::Resource::NOFILE.set(hard, hard) {
                Ok(()) => open_files = hard,
                Err(e) => {
                    tracing::warn!(error = %e, soft, hard, "cannot raise the open-file limit")
                }
            }
        }
        Some(Budget {
            open_files,
            reserve: Self::reserve_for(db_connections),
        })
    }

    /// Descriptors kept out of the connection caps: 64 for the runtime, logs and files,
    /// and three per database connection (a SQLite connection holds the database, its
    /// journal and its shared memory) of both pools (writes and reads).
    pub fn reserve_for(db_connections: u32) -> u64 {
        64 + 6 * u64::from(db_connections.max(1))
    }

    /// Lowers the caps so that all connections of both listeners fit in the budget;
    /// a warning naming what was lowered, if anything was. The panel keeps at most a
    /// quarter when the agent listener runs; each per-source cap is at most an eighth
    /// of its listener's cap, so that a few addresses cannot fill a listener.
    pub fn fit(self, mut l: Limits, agent_listener: bool) -> (Limits, Option<String>) {
        let budget = self.open_files.saturating_sub(self.reserve).max(32) as usize;
        let wanted = l.panel_max + if agent_listener { l.agent_max } else { 0 };
        if wanted <= budget {
            return (l, None);
        }
        let before = l.clone();
        if agent_listener {
            l.panel_max = l.panel_max.min((budget / 4).max(8));
            l.agent_max = l.agent_max.min(budget - l.panel_max).max(8);
        } else {
            l.panel_max = l.panel_max.min(budget);
        }
        l.anonymous_max = l.anonymous_max.min((l.agent_max / 2).max(4));
        l.panel_per_source = l.panel_per_source.min((l.panel_max / 8).max(1));
        l.anonymous_per_source = l.anonymous_per_source.min((l.anonymous_max / 8).max(1));
        let msg = format!(
            "the open-file limit ({}, of which {} are kept for the database and files) does not fit the connection caps: panel {} -> {} ({} -> {} per source){}; raise the limit (e.g. LimitNOFILE=) to serve more",
            self.open_files,
            self.reserve,
            before.panel_max,
            l.panel_max,
            before.panel_per_source,
            l.panel_per_source,
            if agent_listener {
                format!(
                    ", agent {} -> {}, anonymous {} -> {} ({} -> {} per source)",
                    before.agent_max,
                    l.agent_max,
                    before.anonymous_max,
                    l.anonymous_max,
                    before.anonymous_per_source,
                    l.anonymous_per_source
                )
            } else {
                String::new()
            }
        );
        (l, Some(msg))
    }
}

/// An I/O stream whose writes fail with `TimedOut` when they make no progress for
/// `idle`: a client that does not take its answer.
pub struct Stall<T> {
    inner: T,
    idle: Duration,
    blocked: Option<Pin<Box<Sleep>>>,
}

impl<T> Stall<T> {
    pub fn new(inner: T, idle: Duration) -> Stall<T> {
        Stall {
            inner,
            idle,
            blocked: None,
        }
    }
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    fn check<R>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<std::io::Result<R>>,
    ) -> Poll<std::io::Result<R>> {
        match r {
            Poll::Ready(r) => {
                self.blocked = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let idle = self.idle;
                let sleep = self
                    .blocked
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client did not take the answer",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stall<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stall<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, r)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(cx, r)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, r)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.check(cx, r)
    }
}

/// A request body that must arrive in full by a deadline; `late` is set when it did not.
pub struct DeadlineBody<B> {
    inner: B,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    late: Arc<AtomicBool>,
}

impl<B> DeadlineBody<B> {
    pub fn new(inner: B, within: Duration, late: Arc<AtomicBool>) -> DeadlineBody<B> {
        DeadlineBody {
            inner,
            deadline: Instant::now() + within,
            sleep: None,
            late,
        }
    }
}

/// The error of a request body that did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

impl<B> http_body::Body for DeadlineBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(f) => Poll::Ready(f.map(|r| r.map_err(Into::into))),
            Poll::Pending => {
                let deadline = self.deadline;
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.late.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves HTTP/1.1 on one connection with `router` until the client leaves, a timeout
/// closes it, `deadline` passes, or the center stops (`stop` turns true: idle
/// connections close at once, answers in progress are finished). Handlers see the peer
/// as `ConnectInfo<P>`. Returns whether a timeout ended the connection.
pub async fn serve_connection<I, P>(
    io: I,
    router: Router,
    peer: P,
    limits: &Limits,
    mut stop: watch::Receiver<bool>,
    deadline: Option<Instant>,
) -> bool
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    P: Clone + Send + Sync + 'static,
{
    let body_time = limits.idle;
    let late = Arc::new(AtomicBool::new(false));
    let late_body = late.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let mut req = req.map(|b| DeadlineBody::new(b, body_time, late_body.clone()));
        req.extensions_mut().insert(ConnectInfo(peer.clone()));
        let mut r = router.clone();
        tower_service::Service::call(&mut r, req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    // At the deadline the connection takes no new request; one in progress gets up to
    // GRACE more to end (so an answer is not lost half-way), then the connection drops.
    let ends = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now));
    tokio::pin!(ends);
    let mut past_deadline = false;
    let mut stopping = false;
    loop {
        if !stopping && *stop.borrow_and_update() {
            stopping = true;
            conn.as_mut().graceful_shutdown();
        }
        tokio::select! {
            r = conn.as_mut() => {
                let timed_out = match r {
                    Ok(()) => false,
                    Err(e) => {
                        tracing::debug!(error = %e, "connection ended");
                        e.is_timeout() || is_timeout(&e)
                    }
                };
                return timed_out || late.load(Ordering::Relaxed);
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() {
                    // The listener is gone without a stop: treat it as one.
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = &mut ends, if deadline.is_some() => {
                if past_deadline {
                    return true;
                }
                past_deadline = true;
                if !stopping {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
                ends.as_mut().reset(Instant::now() + GRACE);
            }
        }
    }
}

fn is_timeout(e: &hyper::Error) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if s.is::<BodyTimedOut>()
            || s.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        src = s.source();
    }
    false
}

/// What a panel/API connection over the cap gets before it is closed (best effort).
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// The accept loop of the panel/API listener: caps per source address and in total,
/// timeouts, and graceful shutdown when `shutdown` resolves.
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stats: Arc<ConnStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let gate: Gate<IpAddr> = Gate::new(limits.panel_max, limits.panel_per_source);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    let mut log = AcceptLog::new();
    tokio::pin!(shutdown);
    'accept: loop {
        tokio::select! {
            () = &mut shutdown => break 'accept,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            r = listener.accept() => match r {
                Ok((sock, addr)) => {
                    if let Some(m) = log.accepted(Instant::now()) {
                        tracing::warn!(listener = "panel", "{m}");
                    }
                    let Ok(permit) = gate.admit(source_key(addr.ip())) else {
                        stats.refused();
                        let _ = sock.try_write(BUSY);
                        continue;
                    };
                    let _ = sock.set_nodelay(true);
                    let (router, limits, stop, stats) =
                        (router.clone(), limits.clone(), stop_rx.clone(), stats.clone());
                    conns.spawn(async move {
                        let _open = stats.opened();
                        let io = Stall::new(sock, limits.idle);
                        if serve_connection(io, router, addr, &limits, stop, None).await {
                            stats.timed_out();
                        }
                        drop(permit);
                    });
                }
                Err(e) => {
                    let wait = log.accept_failed("panel", &stats, &e);
                    tokio::select! {
                        () = &mut shutdown => break 'accept,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }
    drop(listener);
    finish(stop_tx, conns).await;
    Ok(())
}

/// Tells every connection to stop and waits up to [`GRACE`] for them; the rest are
/// dropped.
pub async fn finish(stop: watch::Sender<bool>, mut conns: tokio::task::JoinSet<()>) {
    let _ = stop.send(true);
    let _ = tokio::time::timeout(GRACE, async { while conns.join_next().await.is_some() {} }).await;
    conns.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_caps_total_and_per_key_and_gives_places_back() {
        let g: Gate<u8> = Gate::new(3, 2);
        let a1 = g.admit(1).unwrap();
        let a2 = g.admit(1).unwrap();
        assert_eq!(g.admit(1).err(), Some(Refused::PerKey));
        let b1 = g.admit(2).unwrap();
        assert_eq!(g.admit(3).err(), Some(Refused::Full));
        assert_eq!(g.open(), 3);
        drop(a1);
        let _a3 = g.admit(1).unwrap();
        drop((a2, b1));
        assert_eq!(g.open(), 1);
        assert_eq!(
            g.inner.state.lock().unwrap().1.len(),
            1,
            "empty keys are removed"
        );
    }

    #[test]
    fn ipv6_sources_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(source_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_burst_of_failed_accepts_is_logged_once_then_once_a_minute() {
        let mut log = AcceptLog::new();
        let t0 = Instant::now();
        let emfile = std::io::Error::from_raw_os_error(24);
        let mut logged = Vec::new();
        // Every 50 ms for 150 s.
        for i in 0..3000u64 {
            let (m, wait) = log.failed(&emfile, t0 + Duration::from_millis(50 * i));
            assert!(wait <= Duration::from_secs(1));
            logged.extend(m);
        }
        assert_eq!(logged.len(), 3, "{logged:?}");
        assert!(
            logged[0].contains("out of file descriptors"),
            "{}",
            logged[0]
        );
        let end = log.accepted(t0 + Duration::from_secs(151)).unwrap();
        assert!(end.contains("3000 failures"), "{end}");
        assert_eq!(log.accepted(t0 + Duration::from_secs(152)), None);
        // A failure soon after is the same burst (nothing logged); one after a quiet
        // spell starts a new one.
        assert_eq!(log.failed(&emfile, t0 + Duration::from_secs(153)).0, None);
        assert_eq!(log.accepted(t0 + Duration::from_secs(154)), None);
        let (m, _) = log.failed(&emfile, t0 + Duration::from_secs(170));
        assert!(m.is_some_and(|m| m.starts_with("accepting a connection failed")));
        assert!(log.accepted(t0 + Duration::from_secs(171)).is_some());
    }

    #[test]
    fn caps_are_fitted_under_the_open_file_limit() {
        let l = Limits::default();
        let roomy = Budget {
            open_files: 1 << 20,
            reserve: Budget::reserve_for(16),
        };
        assert_eq!(roomy.fit(l.clone(), true), (l.clone(), None));
        let tight = Budget {
            open_files: 1024,
            reserve: Budget::reserve_for(16),
        };
        let (f, msg) = tight.fit(l.clone(), true);
        assert!(msg.is_some());
        let budget = (1024 - tight.reserve) as usize;
        assert!(f.panel_max + f.agent_max <= budget, "{f:?}");
        assert!(f.anonymous_max < f.agent_max);
        assert!(f.panel_per_source * 8 <= f.panel_max);
        assert!(f.anonymous_per_source * 8 <= f.anonymous_max);
        let (p, _) = tight.fit(l, false);
        assert!(p.panel_max <= budget);
    }
}
