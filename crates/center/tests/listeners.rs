//! Both listeners under abuse, over loopback with a real center in the process: thousands
//! of idle connections from several source addresses (127.0.0.2 and up) while /healthz
//! and an enrolled agent are served; headers, bodies and answers that do not move; a
//! connection without a client certificate that wants more than enrolment, or stays too
//! long; certificate caps; a flood of bad enrolments (throttled, audited once per source
//! and window with the count); and a stop with a waiting long-poll. SQLite and
//! PostgreSQL where the database is involved.

mod gateways_support;
mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateways_support::{agent_call, der, enrolment_token, moved, site, stock};
use mamori_center::ca::new_key_and_csr;
use mamori_center::domain::Scope;
use serde_json::json;
use support::{Backend, Center};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

both_backends!(
    thousands_of_idle_connections_leave_healthz_and_agents_served,
    a_flood_of_bad_enrolments_is_throttled_and_audited_once_per_source_and_window,
    stopping_answers_a_waiting_long_poll_at_once,
);

/// A center with its agent listener and `tweak` applied to `[connections]`.
async fn center(
    backend: Backend,
    tweak: impl FnOnce(&mut mamori_center::config::ConnectionsConfig),
) -> Center {
    Center::start_with(backend, |c| {
        c.agent_listen = "127.0.0.1:0".into();
        tweak(&mut c.connections);
    })
    .await
}

fn panel_addr(c: &Center) -> SocketAddr {
    c.running.as_ref().unwrap().addr
}

fn agent_addr(c: &Center) -> (SocketAddr, String) {
    let a = c.running.as_ref().unwrap().agent.as_ref().unwrap();
    (a.addr, a.ca_pem.clone())
}

/// An enrolled agent: (certificate PEM, key PEM, site).
async fn enrolled(c: &Center, admin: &str, serial: &str) -> (String, String, i64) {
    let (token, site) = installed_with_token(c, admin, serial).await;
    let (cert, key) = enrol(c, &token).await;
    (cert, key, site)
}

/// A customer with a site where a unit is installed, and an enrolment token for it
/// (the customer's officer signs in with a code: the center's clock moves on).
async fn installed_with_token(c: &Center, admin: &str, serial: &str) -> (String, i64) {
    let name: String = serial.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    let (cust, _, _) = c.customer(admin, &name).await;
    let site = site(c, admin, cust, "HQ").await;
    let unit = stock(c, admin, serial).await;
    moved(
        c,
        admin,
        unit,
        [
            json!({"to": "lent", "customer_id": cust}),
            json!({"to": "installed", "site_id": site}),
        ],
    )
    .await;
    (enrolment_token(c, admin, site, unit).await, site)
}

/// Enrols with `token` over the agent listener: the certificate and its key.
async fn enrol(c: &Center, token: &str) -> (String, String) {
    let (port, ca) = (agent_addr(c).0.port(), agent_addr(c).1);
    let (key, csr) = new_key_and_csr().unwrap();
    let (s, v) = agent_call(
        port,
        &ca,
        None,
        "POST",
        "/agent/v1/enrol",
        Some(json!({"token": token, "csr_pem": csr})),
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{v}");
    (v["cert_pem"].as_str().unwrap().to_string(), key)
}

/// A TCP connection to `to` from the loopback address 127.0.0.`from`.
async fn tcp_from(from: u8, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, from), 0)))?;
    s.connect(to).await
}

fn tls_config(ca_pem: &str, client: Option<(&str, &str)>) -> Arc<ClientConfig> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(der(ca_pem))).unwrap();
    let b = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match client {
        Some((cert, key)) => {
            let key = rcgen::KeyPair::from_pem(key).unwrap().serialize_der();
            b.with_client_auth_cert(
                vec![CertificateDer::from(der(cert))],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            )
            .unwrap()
        }
        None => b.with_no_client_auth(),
    })
}

/// A TLS connection to the agent listener from 127.0.0.`from`.
async fn tls_from(
    from: u8,
    to: SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = tcp_from(from, to).await?;
    TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// One request on a kept-alive connection; (status, headers, body).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    io.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                return Ok((status, head, body));
            }
        }
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Whether the center has closed the connection: a read ends (EOF or reset) within
/// `within`. Bytes that arrive first (an answer) are skipped.
async fn closed_within<S: AsyncRead + Unpin>(io: &mut S, within: Duration) -> bool {
    let until = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(until, io.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A value of `/metrics`, e.g. `mamori_connections_open{listener="panel"}`.
async fn metric(c: &Center, name: &str) -> u64 {
    let text = c
        .client
        .get(format!("{}/metrics", c.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

async fn healthz(c: &Center) -> u16 {
    c.client
        .get(format!("{}/healthz", c.base))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Idle connections from sources 127.0.0.2 to .17: 2,400 TCP connections to the panel
/// (300 from each of 8 sources, the cap being 250 per source), 800 TCP connections to
/// the agent listener that never start their TLS handshake (100 from each of 8 sources,
/// the cap being 50 per source), and 480 TLS connections without a certificate (60 from
/// each of 8 other sources, the anonymous cap being 400 in all and 50 per source): the
/// center keeps what
/// its caps allow and closes the rest at once, still answers /healthz and the enrolled
/// agent's requests (a new connection: whoami, and a long-poll), and closes every idle
/// connection after the header-read timeout.
async fn thousands_of_idle_connections_leave_healthz_and_agents_served(backend: Backend) {
    let c = center(backend, |k| {
        k.header_read_timeout_secs = 5;
        k.panel_per_source = 250;
        k.anonymous_max = 400;
        k.anonymous_per_source = 50;
    })
    .await;
    let admin = c.admin().await;
    let (cert, key, _) = enrolled(&c, &admin, "SN-IDLE").await;
    let (agent, ca) = agent_addr(&c);
    let panel = panel_addr(&c);

    let t0 = Instant::now();
    let mut idle = Vec::new();
    for from in 2..10u8 {
        for _ in 0..300 {
            idle.push(tcp_from(from, panel).await.unwrap());
        }
        for _ in 0..100 {
            idle.push(tcp_from(from, agent).await.unwrap());
        }
    }
    let anon = tls_config(&ca, None);
    let mut idle_tls = Vec::new();
    let mut handshakes_refused = 0;
    for from in 10..18u8 {
        for _ in 0..60 {
            match tls_from(from, agent, anon.clone()).await {
                Ok(s) => idle_tls.push(s),
                Err(_) => handshakes_refused += 1,
            }
        }
    }
    println!(
        "{} idle connections opened in {:.2} s",
        idle.len() + idle_tls.len(),
        t0.elapsed().as_secs_f64()
    );
    // Served while they are held.
    let t = Instant::now();
    assert_eq!(healthz(&c).await, 200);
    println!("/healthz in {:.3} s", t.elapsed().as_secs_f64());
    let (s, v) = agent_call(
        agent.port(),
        &ca,
        Some((&cert, &key)),
        "GET",
        "/agent/v1/whoami",
        None,
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{v}");
    let (s, v) = agent_call(
        agent.port(),
        &ca,
        Some((&cert, &key)),
        "GET",
        "/agent/v1/desired?after=0&wait=1",
        None,
    )
    .await
    .unwrap();
    assert_eq!(s, 204, "{v}");
    // What the caps allowed, and what they refused.
    let open = metric(&c, "mamori_connections_open{listener=\"panel\"}").await;
    assert!(
        (2000..=2002).contains(&open),
        "panel connections open: {open}"
    );
    let refused = metric(&c, "mamori_connections_refused_total{listener=\"panel\"}").await;
    assert_eq!(refused, 400);
    // 50 of each source's 100 plain connections, and 10 of each source's 60 anonymous
    // TLS ones (closed right after their handshake, which the client may not notice).
    let refused = metric(&c, "mamori_connections_refused_total{listener=\"agent\"}").await;
    assert_eq!(refused, 400 + 80, "{handshakes_refused} handshakes failed");
    // Every idle connection is closed by the center after the header-read timeout.
    let t = Instant::now();
    let mut still_open = 0;
    for s in &mut idle {
        if !closed_within(s, Duration::from_secs(10)).await {
            still_open += 1;
        }
    }
    for s in &mut idle_tls {
        if !closed_within(s, Duration::from_secs(10)).await {
            still_open += 1;
        }
    }
    println!(
        "idle connections closed within {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(still_open, 0, "connections the center kept");
    assert!(metric(&c, "mamori_connections_open{listener=\"panel\"}").await <= 2);
    assert_eq!(
        metric(&c, "mamori_connections_open{listener=\"agent\"}").await,
        0
    );
    c.stop().await;
}

/// A request head that arrives byte by byte, a body that does not arrive, and answers
/// the client does not read: each connection is closed by the center, on the panel and
/// over TLS on the agent listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_slow_bodies_and_unread_answers_are_cut_off() {
    let c = center(Backend::Sqlite, |k| {
        k.header_read_timeout_secs = 2;
        k.idle_timeout_secs = 2;
        k.anonymous_secs = 30;
    })
    .await;
    let (agent, ca) = agent_addr(&c);
    let panel = panel_addr(&c);

    /// Sends `head` then one more byte every 200 ms, for at most 20 s; how long until
    /// the center ended the connection (None: it never did).
    async fn drip<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S, head: &str) -> Option<f64> {
        let t = Instant::now();
        io.write_all(head.as_bytes()).await.ok()?;
        let mut buf = [0u8; 1024];
        while t.elapsed() < Duration::from_secs(20) {
            if io.write_all(b"a").await.is_err() || io.flush().await.is_err() {
                return Some(t.elapsed().as_secs_f64());
            }
            match tokio::time::timeout(Duration::from_millis(200), io.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Some(t.elapsed().as_secs_f64()),
                // An answer (the refusal of the unfinished request): read on until EOF.
                Ok(Ok(_)) => {}
                Err(_) => {}
            }
        }
        None
    }

    let slow_head = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    let slow_body = "POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
    let mut s = tcp_from(2, panel).await.unwrap();
    let cut = drip(&mut s, slow_head).await;
    println!("panel, slow head: cut after {cut:?} s");
    assert!(cut.is_some_and(|t| t < 10.0), "{cut:?}");
    let mut s = tcp_from(2, panel).await.unwrap();
    let cut = drip(&mut s, slow_body).await;
    println!("panel, slow body: cut after {cut:?} s");
    assert!(cut.is_some_and(|t| t < 10.0), "{cut:?}");
    let mut s = tls_from(3, agent, tls_config(&ca, None)).await.unwrap();
    let cut = drip(&mut s, slow_head).await;
    println!("agent listener, slow head: cut after {cut:?} s");
    assert!(cut.is_some_and(|t| t < 10.0), "{cut:?}");
    let mut s = tls_from(3, agent, tls_config(&ca, None)).await.unwrap();
    let enrol = "POST /agent/v1/enrol HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
    let cut = drip(&mut s, enrol).await;
    println!("agent listener, slow body: cut after {cut:?} s");
    assert!(cut.is_some_and(|t| t < 10.0), "{cut:?}");

    // 200 pipelined requests for the 52 KB script (10 MB of answers, more than the
    // socket buffers hold) on a connection with a small receive buffer that reads
    // nothing for 5 s: the center gives up on the stalled answers.
    let n = 200;
    let sock = TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.bind("127.0.0.4:0".parse().unwrap()).unwrap();
    let mut s = sock.connect(panel).await.unwrap();
    let reqs = "GET /static/htmx.min.js HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(n);
    s.write_all(reqs.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(k)) => got.extend_from_slice(&buf[..k]),
            Err(_) => break false,
        }
    };
    let answers = got.windows(15).filter(|w| w == b"HTTP/1.1 200 OK").count();
    println!("unread answers: {answers} of {n} arrived, then the connection ended: {ended}");
    assert!(ended && answers < n, "{answers} answers, ended: {ended}");
    assert!(metric(&c, "mamori_connections_timed_out_total{listener=\"panel\"}").await >= 3);
    assert!(healthz(&c).await == 200);
    c.stop().await;
}

/// Without a client certificate the agent listener offers enrolment only (any other
/// request: 401 and the connection closed), for at most the anonymous deadline even
/// while requests keep coming, and to a few connections per source address; with a
/// certificate, to a few connections per certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_certificate_only_enrolment_briefly_and_few_per_source() {
    let c = center(Backend::Sqlite, |k| {
        k.anonymous_secs = 3;
        k.anonymous_per_source = 10;
        k.agent_per_certificate = 4;
    })
    .await;
    let admin = c.admin().await;
    let (cert, key, _) = enrolled(&c, &admin, "SN-ANON").await;
    let (agent, ca) = agent_addr(&c);
    let anon = tls_config(&ca, None);

    for (method, path) in [
        ("GET", "/agent/v1/whoami"),
        ("GET", "/agent/v1/desired?after=0&wait=30"),
        ("POST", "/agent/v1/reports"),
        ("POST", "/agent/v1/renew"),
        ("GET", "/nowhere"),
    ] {
        let mut s = tls_from(2, agent, anon.clone()).await.unwrap();
        let (status, head, body) = exchange(&mut s, method, path, "{}").await.unwrap();
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert!(
            head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
        assert!(
            closed_within(&mut s, Duration::from_secs(2)).await,
            "{path}"
        );
    }
    // Enrolment requests, one every 300 ms on one connection: served, until the
    // anonymous deadline closes it.
    let mut s = tls_from(2, agent, anon.clone()).await.unwrap();
    let t = Instant::now();
    let mut answered = 0;
    while t.elapsed() < Duration::from_secs(15) {
        match exchange(&mut s, "POST", "/agent/v1/enrol", "not json").await {
            Ok((400, _, _)) => answered += 1,
            Ok((status, _, body)) => panic!("{status} {body}"),
            Err(_) => break,
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let lasted = t.elapsed().as_secs_f64();
    println!("an anonymous connection answered {answered} requests, closed after {lasted:.1} s");
    assert!(
        answered >= 2 && lasted < 10.0,
        "{answered} answers in {lasted} s"
    );

    // Ten anonymous connections per source: the eleventh from 127.0.0.5 is closed
    // (at the end of its handshake) unserved; another source and the enrolled agent
    // are served.
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(tls_from(5, agent, anon.clone()).await.unwrap());
    }
    let served = match tls_from(5, agent, anon.clone()).await {
        Ok(mut s) => exchange(&mut s, "POST", "/agent/v1/enrol", "x")
            .await
            .is_ok(),
        Err(_) => false,
    };
    assert!(!served, "the eleventh anonymous connection was served");
    let mut other = tls_from(6, agent, anon.clone()).await.unwrap();
    let (status, _, _) = exchange(&mut other, "POST", "/agent/v1/enrol", "x")
        .await
        .unwrap();
    assert_eq!(status, 400);
    let mine = tls_config(&ca, Some((&cert, &key)));
    // Four connections per certificate: the fifth is closed after its handshake.
    let mut certified = Vec::new();
    for _ in 0..4 {
        certified.push(tls_from(1, agent, mine.clone()).await.unwrap());
    }
    let mut fifth = tls_from(1, agent, mine.clone()).await.unwrap();
    assert!(
        exchange(&mut fifth, "GET", "/agent/v1/whoami", "")
            .await
            .is_err(),
        "a fifth connection with one certificate was served"
    );
    let (status, _, body) = exchange(&mut certified[0], "GET", "/agent/v1/whoami", "")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    drop(certified.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = tls_from(1, agent, mine.clone()).await.unwrap();
    let (status, _, body) = exchange(&mut again, "GET", "/agent/v1/whoami", "")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    drop(held);
    c.stop().await;
}

/// 200 bad enrolments from 127.0.0.2 and 60 from 127.0.0.3, as fast as they go, over
/// kept-alive connections without a certificate: five of each are checked (403), the
/// rest throttled (429, with Retry-After); meanwhile a good enrolment from 127.0.0.1
/// succeeds. The audit log gets one entry per source and 2-s window, carrying the count,
/// and the counts add up to the requests.
async fn a_flood_of_bad_enrolments_is_throttled_and_audited_once_per_source_and_window(
    backend: Backend,
) {
    let c = center(backend, |k| {
        k.enrol_refusals_per_window = 5;
        k.enrol_window_secs = 2;
        k.anonymous_secs = 60;
    })
    .await;
    let admin = c.admin().await;
    let (agent, ca) = agent_addr(&c);
    let anon = tls_config(&ca, None);
    let refused_before = refused_enrolments(&c).await.len();

    async fn flood(from: u8, n: usize, agent: SocketAddr, anon: Arc<ClientConfig>) -> Vec<u16> {
        let mut statuses = Vec::new();
        let mut conn = tls_from(from, agent, anon.clone()).await.unwrap();
        let body = json!({"token": "no-such-token", "csr_pem": "x"}).to_string();
        while statuses.len() < n {
            match exchange(&mut conn, "POST", "/agent/v1/enrol", &body).await {
                Ok((status, head, _)) => {
                    if status == 429 {
                        assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
                    }
                    statuses.push(status);
                }
                Err(_) => conn = tls_from(from, agent, anon.clone()).await.unwrap(),
            }
        }
        statuses
    }
    // Everything that signs in (and so moves the center's clock on) before the flood,
    // whose windows are on that clock.
    let (good, site) = installed_with_token(&c, &admin, "SN-GOOD").await;
    assert!(site > 0);
    let t0 = Instant::now();
    let a = tokio::spawn(flood(2, 200, agent, anon.clone()));
    let b = tokio::spawn(flood(3, 60, agent, anon.clone()));
    enrol(&c, &good).await;
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let flood_secs = t0.elapsed().as_secs_f64();
    println!("flood of 260 bad enrolments took {flood_secs:.2} s");
    for statuses in [&a, &b] {
        assert_eq!(
            statuses.iter().filter(|s| **s == 403).count(),
            5,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 429).count(),
            statuses.len() - 5
        );
    }
    // The counted refusals are written when each window ends.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let entries = refused_enrolments(&c).await;
    let entries = &entries[..entries.len() - refused_before];
    for (source, sent) in [("127.0.0.2", 200), ("127.0.0.3", 60)] {
        let mine: Vec<_> = entries.iter().filter(|e| e.source == source).collect();
        let counts: Vec<u64> = mine
            .iter()
            .map(|e| {
                e.detail
                    .strip_prefix("count=")
                    .and_then(|d| d.split(|ch: char| !ch.is_ascii_digit()).next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("no count in {:?}", e.detail))
            })
            .collect();
        println!("{source}: {} audit entries, counts {counts:?}", mine.len());
        assert_eq!(counts.iter().sum::<u64>(), sent, "{mine:?}");
        // One at the first refusal, then one per window the flood lasted.
        let windows = (flood_secs / 2.0).ceil() as usize + 1;
        assert!(
            mine.len() <= 1 + windows,
            "{} entries for a {flood_secs:.1} s flood: {mine:?}",
            mine.len()
        );
        assert!(
            mine.iter()
                .all(|e| e.action == "agent.enrol" && e.actor == "agent")
        );
    }
    c.stop().await;
}

/// The refused enrolments in the audit log, oldest first.
async fn refused_enrolments(c: &Center) -> Vec<mamori_center::audit::Entry> {
    let mut v: Vec<_> = c
        .store()
        .audit_entries(Scope::All, None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "agent.enrol" && e.outcome == "refused")
        .collect();
    v.reverse();
    v
}

/// A long-poll waits (60 s); the center stops: the long-poll is answered at once, and
/// the stop is over well before the long-poll would have ended.
async fn stopping_answers_a_waiting_long_poll_at_once(backend: Backend) {
    let c = center(backend, |_| {}).await;
    let admin = c.admin().await;
    let (cert, key, _) = enrolled(&c, &admin, "SN-STOP").await;
    let (agent, ca) = agent_addr(&c);
    let mut conn = tls_from(1, agent, tls_config(&ca, Some((&cert, &key))))
        .await
        .unwrap();
    let poll = tokio::spawn(async move {
        let r = exchange(&mut conn, "GET", "/agent/v1/desired?after=0&wait=60", "").await;
        (r, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!poll.is_finished(), "the long-poll is waiting");
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), c.stop())
        .await
        .expect("the center stops before the long-poll's wait is over");
    let stopped = t.elapsed().as_secs_f64();
    let (r, answered) = poll.await.unwrap();
    let answered = answered.duration_since(t).as_secs_f64();
    println!("long-poll answered {answered:.3} s after the stop began; stop took {stopped:.3} s");
    let (status, _, _) = r.expect("the long-poll got an answer");
    assert_eq!(status, 204);
    assert!(answered < 5.0 && stopped < 5.0, "{answered} / {stopped}");
}
