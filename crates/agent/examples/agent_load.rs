//! Load generator for the center's agent listener: many simulated agents that speak the
//! real agent protocol (enrolment with a one-time token and a CSR, then one mutual-TLS
//! connection each, long-polling `GET /agent/v1/desired` and answering every new
//! generation with an `applied` report), against one center on loopback.
//!
//! Steps, all through the center's real interfaces:
//! 1. seed through the panel API (`--panel`, an operator's bearer token): customers, one
//!    site and one lent appliance per agent, one enrolment token per site;
//! 2. enrol every agent (`POST /agent/v1/enrol`, its own key pair and CSR) and open its
//!    mutual-TLS connection; keep them all long-polling for `--sustain` seconds;
//! 3. publish one change for every site through the panel API and wait until every agent
//!    has reported it applied (fan-out);
//! 4. a report burst: `--burst-conns` agents post single-report batches for
//!    `--burst-secs` seconds while the others stay connected.
//!
//! Prints progress on stderr and one JSON object with the figures on stdout. Loopback
//! only: `--panel` and `--agent` must be 127.0.0.0/8 addresses.
//!
//! cargo run --release -p mamori-agent --example agent_load -- \
//!   --panel 127.0.0.1:8080 --agent 127.0.0.1:8443 --ca DATA/ca/ca.pem --token T \
//!   [--agents 10000] [--center-pid PID] [--sustain 40] [--wait 30]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mamori_api::agent as wire;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;

fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(msg.into().into())
}

/// Microseconds since the Unix epoch (comparable across the processes of one machine).
fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Clone)]
struct Options {
    panel: SocketAddr,
    agent: SocketAddr,
    ca: String,
    token: String,
    /// The token that drafts, approves and publishes revisions (an operator's).
    publisher: String,
    agents: usize,
    center_pid: Option<u32>,
    sustain_secs: u64,
    wait_secs: u32,
    /// Concurrent panel API connections for seeding and publishing.
    api_conns: usize,
    /// Agents enrolling at once.
    enrol_conns: usize,
    fanout_timeout_secs: u64,
    burst_conns: usize,
    burst_secs: u64,
    sites_per_customer: usize,
    /// The policy document published to every site (TOML).
    policy: String,
    /// Seeding label, unique per run (serial numbers are unique in the inventory).
    label: String,
}

const USAGE: &str = "usage: agent_load --panel ADDR:PORT --agent ADDR:PORT --ca CA.pem --token TOKEN [--publisher-token TOKEN] \
[--agents N] [--center-pid PID] [--sustain SECS] [--wait SECS] [--api-conns N] [--enrol-conns N] \
[--fanout-timeout SECS] [--burst-conns N] [--burst-secs SECS] [--sites-per-customer N] \
[--policy FILE] [--label TEXT]";

fn loopback(flag: &str, v: &str) -> Result<SocketAddr> {
    let a: SocketAddr = v
        .parse()
        .map_err(|e| format!("{flag} {v:?}: {e}; expected 127.x.y.z:PORT"))?;
    if !a.ip().is_loopback() {
        return fail(format!(
            "{flag} {v}: only loopback addresses are allowed (127.0.0.0/8 or [::1])"
        ));
    }
    Ok(a)
}

fn parse_options() -> Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Options {
        panel: "127.0.0.1:0".parse().unwrap(),
        agent: "127.0.0.1:0".parse().unwrap(),
        ca: String::new(),
        token: String::new(),
        publisher: String::new(),
        agents: 10_000,
        center_pid: None,
        sustain_secs: 40,
        wait_secs: 30,
        api_conns: 16,
        enrol_conns: 16,
        fanout_timeout_secs: 300,
        burst_conns: 64,
        burst_secs: 10,
        sites_per_customer: 10,
        policy: DEFAULT_POLICY.to_string(),
        label: format!("{:x}", now_us() / 1_000_000),
    };
    let (mut panel, mut agent) = (false, false);
    let mut it = args.iter();
    while let Some(f) = it.next() {
        let v = it
            .next()
            .ok_or_else(|| format!("`{f}` needs a value\n{USAGE}"))?;
        let n = |v: &str| -> Result<u64> {
            v.parse::<u64>()
                .map_err(|_| format!("`{f} {v}`: expected a whole number").into())
        };
        match f.as_str() {
            "--panel" => (o.panel, panel) = (loopback(f, v)?, true),
            "--agent" => (o.agent, agent) = (loopback(f, v)?, true),
            "--ca" => o.ca = std::fs::read_to_string(v).map_err(|e| format!("--ca {v}: {e}"))?,
            "--token" => o.token = v.clone(),
            "--publisher-token" => o.publisher = v.clone(),
            "--agents" => o.agents = n(v)? as usize,
            "--center-pid" => o.center_pid = Some(n(v)? as u32),
            "--sustain" => o.sustain_secs = n(v)?,
            "--wait" => o.wait_secs = n(v)? as u32,
            "--api-conns" => o.api_conns = n(v)?.max(1) as usize,
            "--enrol-conns" => o.enrol_conns = n(v)?.max(1) as usize,
            "--fanout-timeout" => o.fanout_timeout_secs = n(v)?,
            "--burst-conns" => o.burst_conns = n(v)? as usize,
            "--burst-secs" => o.burst_secs = n(v)?,
            "--sites-per-customer" => o.sites_per_customer = n(v)?.max(1) as usize,
            "--policy" => {
                o.policy = std::fs::read_to_string(v).map_err(|e| format!("--policy {v}: {e}"))?
            }
            "--label" => o.label = v.clone(),
            _ => return fail(format!("unknown option `{f}`\n{USAGE}")),
        }
    }
    if !panel || !agent || o.ca.is_empty() || o.token.is_empty() {
        return fail(format!(
            "--panel, --agent, --ca and --token are required\n{USAGE}"
        ));
    }
    if o.publisher.is_empty() {
        o.publisher = o.token.clone();
    }
    if o.agents == 0 {
        return fail("--agents 0: nothing to measure");
    }
    Ok(o)
}

/// A small policy that compiles: the change published to every site.
const DEFAULT_POLICY: &str = r#"# load test: one change for every site
[interfaces]
lan0 = { zone = "lan", addresses = ["192.0.2.1/24"] }
wan0 = { zone = "wan", addresses = ["198.51.100.1/24"], default_route = true }

[management]
center = ["203.0.113.10"]

[services]
web = ["tcp/80", "tcp/443"]

[defaults]
"lan->wan" = "accept"
"*" = "drop"

[[rules]]
name = "lan-web"
from = "lan"
to = "wan"
service = "web"
action = "accept"

[nat]
masquerade = ["wan"]
"#;

// ---------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client over one kept-alive connection (TCP or TLS).

struct Http<S> {
    io: S,
    buf: Vec<u8>,
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into()))
    }
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Http<S> {
    fn new(io: S) -> Self {
        Http {
            io,
            buf: Vec::new(),
        }
    }

    async fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.io.read(&mut chunk).await?;
        if n == 0 {
            return fail("the center closed the connection");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
        if let Some(t) = bearer {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if method != "GET" {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        self.io.write_all(req.as_bytes()).await?;
        self.io.flush().await?;
        self.read_answer().await
    }

    async fn read_answer(&mut self) -> Result<Answer> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > 64 * 1024 {
                return fail("an answer header longer than 64 KiB");
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no HTTP status line in {head:?}"))?;
        let (mut length, mut chunked) = (None, false);
        for l in lines {
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = Some(v.parse::<usize>().map_err(|_| "bad Content-Length")?);
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
        let body = if chunked {
            let mut body = Vec::new();
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    self.fill().await?;
                };
                let size_text = String::from_utf8_lossy(&self.buf[..line_end]).to_string();
                let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                    .map_err(|_| format!("bad chunk size {size_text:?}"))?;
                self.buf.drain(..line_end + 2);
                while self.buf.len() < size + 2 {
                    self.fill().await?;
                }
                body.extend_from_slice(&self.buf[..size]);
                self.buf.drain(..size + 2);
                if size == 0 {
                    break;
                }
            }
            body
        } else {
            let n = length.unwrap_or(0);
            while self.buf.len() < n {
                self.fill().await?;
            }
            self.buf.drain(..n).collect()
        };
        Ok(Answer { status, body })
    }
}

// ---------------------------------------------------------------------------------------
// TLS.

fn der_of_pem(pem: &str) -> Result<Vec<u8>> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    decode_base64(b64.trim()).ok_or_else(|| "the CA file is not a PEM certificate".into())
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for &c in s {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn client_config(
    roots: &RootCertStore,
    client: Option<(Vec<u8>, Vec<u8>)>,
) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let b = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots.clone());
    Ok(Arc::new(match client {
        Some((cert, key)) => b.with_client_auth_cert(
            vec![CertificateDer::from(cert)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )?,
        None => b.with_no_client_auth(),
    }))
}

async fn tls_connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<Http<TlsStream<TcpStream>>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let tls = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    Ok(Http::new(tls))
}

async fn tcp_connect(addr: SocketAddr) -> Result<Http<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    Ok(Http::new(tcp))
}

// ---------------------------------------------------------------------------------------
// The panel API.

async fn api(
    c: &mut Http<TcpStream>,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    want: &[u16],
) -> Result<Value> {
    let a = c.request(method, path, Some(token), body.as_ref()).await?;
    if !want.contains(&a.status) {
        return fail(format!(
            "{method} {path}: {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        ));
    }
    Ok(a.json())
}

fn id(v: &Value, ptr: &str, what: &str) -> Result<i64> {
    v.pointer(ptr)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("{what}: no {ptr} in {v}").into())
}

/// Runs `work(conn, item)` for every item on `conns` panel connections at once.
async fn on_panel<T, R, F, Fut>(o: &Options, items: Vec<T>, work: F) -> Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Http<TcpStream>, T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (Http<TcpStream>, Result<R>)> + Send,
{
    let n = items.len();
    let queue = Arc::new(Mutex::new(
        items.into_iter().enumerate().collect::<VecDeque<_>>(),
    ));
    let out: Arc<Mutex<Vec<Option<R>>>> = Arc::new(Mutex::new((0..n).map(|_| None).collect()));
    let work = Arc::new(work);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..o.api_conns.min(n.max(1)) {
        let (queue, out, work, addr) = (queue.clone(), out.clone(), work.clone(), o.panel);
        set.spawn(async move {
            let mut conn = tcp_connect(addr).await?;
            loop {
                let next = queue.lock().unwrap().pop_front();
                let Some((i, item)) = next else {
                    return Ok::<(), Error>(());
                };
                let (c, r) = work(conn, item).await;
                conn = c;
                out.lock().unwrap()[i] = Some(r?);
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    let out = std::mem::take(&mut *out.lock().unwrap());
    Ok(out.into_iter().map(|r| r.unwrap()).collect())
}

/// A site ready to enrol: (site id, appliance id, one-time token).
struct Seeded {
    site: i64,
    token: String,
}

async fn seed(o: &Options) -> Result<Vec<Seeded>> {
    // The sites go to the customers that exist (an operator may not create customers;
    // `bench_seed` makes them), `--sites-per-customer` each, round robin.
    let token = Arc::new(o.token.clone());
    let mut c = tcp_connect(o.panel).await?;
    let list = api(&mut c, &o.token, "GET", "/api/v1/customers", None, &[200]).await?;
    let ids: Vec<i64> = list
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["id"].as_i64()).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return fail("no customer to give the sites to: seed some first (bench_seed)");
    }
    let ids = Arc::new(ids);
    let spc = o.sites_per_customer;
    let label = o.label.clone();
    let done = Arc::new(AtomicUsize::new(0));
    let total = o.agents;
    on_panel(o, (0..o.agents).collect(), move |mut c, i| {
        let (t, ids, label, done) = (token.clone(), ids.clone(), label.clone(), done.clone());
        async move {
            let r = async {
                let cust = ids[(i / spc) % ids.len()];
                let v = api(
                    &mut c,
                    &t,
                    "POST",
                    "/api/v1/sites",
                    Some(json!({"customer_id": cust, "name": format!("Site {i}")})),
                    &[201],
                )
                .await?;
                let site = id(&v, "/id", "creating a site")?;
                let v = api(
                    &mut c,
                    &t,
                    "POST",
                    "/api/v1/equipment",
                    Some(json!({"serial": format!("LOAD-{label}-{i}"), "model": "MG-100"})),
                    &[201],
                )
                .await?;
                let unit = id(&v, "/id", "creating an appliance")?;
                api(
                    &mut c,
                    &t,
                    "POST",
                    &format!("/api/v1/equipment/{unit}/move"),
                    Some(json!({"to": "lent", "customer_id": cust})),
                    &[200],
                )
                .await?;
                // Tokens are made for the site where the unit is installed.
                api(
                    &mut c,
                    &t,
                    "POST",
                    &format!("/api/v1/equipment/{unit}/move"),
                    Some(json!({"to": "installed", "site_id": site})),
                    &[200],
                )
                .await?;
                let v = api(
                    &mut c,
                    &t,
                    "POST",
                    &format!("/api/v1/sites/{site}/enrolment-tokens"),
                    Some(json!({"equipment_id": unit})),
                    &[201],
                )
                .await?;
                let token = v["token"]
                    .as_str()
                    .ok_or_else(|| format!("no token in {v}"))?
                    .to_string();
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 1000 == 0 || n == total {
                    eprintln!("seeded {n}/{total} sites");
                }
                Ok(Seeded { site, token })
            }
            .await;
            (c, r)
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Agents.

/// What one simulated agent shows the measurement.
struct AgentStat {
    site: i64,
    connected: AtomicBool,
    /// The newest generation it has reported applied and had acknowledged.
    applied: AtomicI64,
    /// When the center acknowledged that report (µs since the epoch).
    applied_at_us: AtomicI64,
    reconnects: AtomicU64,
    errors: AtomicU64,
}

#[derive(Default)]
struct Counters {
    polls_answered: AtomicU64,
    polls_empty: AtomicU64,
    reports_acked: AtomicU64,
}

fn report_id(agent: usize, generation: i64, n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        agent as u32,
        (generation as u64 & 0xffff),
        (n >> 12) & 0xfff,
        n & 0xfff,
        now_us() as u64 & 0xffff_ffff_ffff
    )
}

async fn post_report(
    c: &mut Http<TlsStream<TcpStream>>,
    agent: usize,
    generation: i64,
    n: u64,
) -> Result<()> {
    let rid = report_id(agent, generation, n);
    let batch = wire::ReportBatch {
        reports: vec![wire::Report {
            report_id: rid.clone(),
            kind: wire::ReportKind::Applied,
            generation,
            detail: String::new(),
            at: now_us() / 1000,
        }],
    };
    let a = c
        .request(
            "POST",
            "/agent/v1/reports",
            None,
            Some(&serde_json::to_value(&batch)?),
        )
        .await?;
    if a.status != 200 {
        return fail(format!(
            "POST /agent/v1/reports: {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        ));
    }
    let ack: wire::ReportAck = serde_json::from_slice(&a.body)?;
    if !ack.acknowledged.contains(&rid) {
        return fail(format!("the center did not acknowledge report {rid}"));
    }
    Ok(())
}

/// One agent: long-poll, apply (instantly), report; reconnect after a failure.
async fn agent_loop(
    i: usize,
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    stat: Arc<AgentStat>,
    counters: Arc<Counters>,
    wait: u32,
    first: Http<TlsStream<TcpStream>>,
) {
    let mut conn = Some(first);
    let mut generation = 0i64;
    let mut n = 0u64;
    loop {
        let mut c = match conn.take() {
            Some(c) => c,
            None => match tls_connect(addr, config.clone()).await {
                Ok(c) => {
                    stat.reconnects.fetch_add(1, Ordering::Relaxed);
                    c
                }
                Err(_) => {
                    stat.errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        stat.connected.store(true, Ordering::Relaxed);
        let r: Result<()> = async {
            let a = c
                .request(
                    "GET",
                    &format!("/agent/v1/desired?after={generation}&wait={wait}"),
                    None,
                    None,
                )
                .await?;
            match a.status {
                204 => {
                    counters.polls_empty.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                200 => {
                    counters.polls_answered.fetch_add(1, Ordering::Relaxed);
                    let d: wire::DesiredConfig = serde_json::from_slice(&a.body)?;
                    if d.generation <= generation {
                        return fail(format!(
                            "the center sent generation {} after {generation}",
                            d.generation
                        ));
                    }
                    generation = d.generation;
                    n += 1;
                    post_report(&mut c, i, generation, n).await?;
                    counters.reports_acked.fetch_add(1, Ordering::Relaxed);
                    stat.applied_at_us.store(now_us(), Ordering::Relaxed);
                    stat.applied.store(generation, Ordering::Relaxed);
                    Ok(())
                }
                s => fail(format!(
                    "GET /agent/v1/desired: {s} {}",
                    String::from_utf8_lossy(&a.body)
                )),
            }
        }
        .await;
        match r {
            Ok(()) => conn = Some(c),
            Err(e) => {
                if stat.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("agent {i} (site {}): {e}", stat.site);
                }
                stat.connected.store(false, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

struct Fleet {
    stats: Vec<Arc<AgentStat>>,
    configs: Vec<Arc<ClientConfig>>,
    tasks: tokio::task::JoinSet<()>,
    counters: Arc<Counters>,
    enrol_secs: f64,
}

async fn enrol_all(o: &Options, seeded: Vec<Seeded>) -> Result<Fleet> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(der_of_pem(&o.ca)?))?;
    let anon = client_config(&roots, None)?;
    let n = seeded.len();
    let queue = Arc::new(Mutex::new(
        seeded.into_iter().enumerate().collect::<VecDeque<_>>(),
    ));
    type Enrolled = (usize, Arc<AgentStat>, Arc<ClientConfig>);
    let enrolled: Arc<Mutex<Vec<Enrolled>>> = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let counters = Arc::new(Counters::default());
    let tasks = Arc::new(Mutex::new(tokio::task::JoinSet::new()));
    let t0 = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..o.enrol_conns.min(n) {
        let (queue, enrolled, tasks, counters) = (
            queue.clone(),
            enrolled.clone(),
            tasks.clone(),
            counters.clone(),
        );
        let (anon, roots, addr, wait) = (anon.clone(), roots.clone(), o.agent, o.wait_secs);
        workers.spawn(async move {
            // Enrolment requests share a kept-alive connection without a certificate.
            let mut plain = tls_connect(addr, anon.clone()).await?;
            loop {
                let next = queue.lock().unwrap().pop_front();
                let Some((i, s)) = next else {
                    return Ok::<(), Error>(());
                };
                let key = rcgen::KeyPair::generate()?;
                let mut p = rcgen::CertificateParams::default();
                p.distinguished_name = rcgen::DistinguishedName::new();
                p.distinguished_name
                    .push(rcgen::DnType::CommonName, "mamori agent");
                let csr = p.serialize_request(&key)?.pem()?;
                let body = serde_json::to_value(wire::EnrolRequest {
                    token: s.token,
                    csr_pem: csr,
                })?;
                let a = match plain
                    .request("POST", "/agent/v1/enrol", None, Some(&body))
                    .await
                {
                    Ok(a) => a,
                    // The center closes a connection without a certificate after a
                    // while (`anonymous_secs`), after its last answer: the request was
                    // not taken, so send it again on a new connection.
                    Err(_) => {
                        plain = tls_connect(addr, anon.clone()).await?;
                        plain
                            .request("POST", "/agent/v1/enrol", None, Some(&body))
                            .await?
                    }
                };
                if a.status != 200 {
                    return fail(format!(
                        "enrolling the agent of site {}: {} {}",
                        s.site,
                        a.status,
                        String::from_utf8_lossy(&a.body)
                    ));
                }
                let r: wire::EnrolResponse = serde_json::from_slice(&a.body)?;
                if r.site_id != s.site {
                    return fail(format!(
                        "enrolled for site {} but the center says site {}",
                        s.site, r.site_id
                    ));
                }
                let config = client_config(
                    &roots,
                    Some((der_of_pem(&r.cert_pem)?, key.serialize_der())),
                )?;
                let conn = tls_connect(addr, config.clone()).await?;
                let stat = Arc::new(AgentStat {
                    site: s.site,
                    connected: AtomicBool::new(true),
                    applied: AtomicI64::new(0),
                    applied_at_us: AtomicI64::new(0),
                    reconnects: AtomicU64::new(0),
                    errors: AtomicU64::new(0),
                });
                tasks.lock().unwrap().spawn(agent_loop(
                    i,
                    addr,
                    config.clone(),
                    stat.clone(),
                    counters.clone(),
                    wait,
                    conn,
                ));
                let mut e = enrolled.lock().unwrap();
                e.push((i, stat, config));
                if e.len() % 1000 == 0 || e.len() == n {
                    eprintln!(
                        "enrolled and connected {}/{n} agents ({:.0} s)",
                        e.len(),
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
        });
    }
    while let Some(r) = workers.join_next().await {
        r??;
    }
    let enrol_secs = t0.elapsed().as_secs_f64();
    let mut e = std::mem::take(&mut *enrolled.lock().unwrap());
    e.sort_by_key(|x| x.0);
    let tasks = std::mem::take(&mut *tasks.lock().unwrap());
    Ok(Fleet {
        stats: e.iter().map(|x| x.1.clone()).collect(),
        configs: e.into_iter().map(|x| x.2).collect(),
        tasks,
        counters,
        enrol_secs,
    })
}

// ---------------------------------------------------------------------------------------
// Publishing.

/// Publishes the change for one site through the panel API (draft a revision, approve
/// it, publish it); the new generation.
async fn publish_site(
    c: &mut Http<TcpStream>,
    token: &str,
    site: i64,
    policy: &str,
) -> Result<i64> {
    let v = api(
        c,
        token,
        "POST",
        &format!("/api/v1/sites/{site}/revisions"),
        Some(json!({"policy_text": policy, "reason": "load test: one change for every site"})),
        &[201],
    )
    .await?;
    let rev = id(&v, "/number", "drafting a revision")?;
    api(
        c,
        token,
        "POST",
        &format!("/api/v1/sites/{site}/revisions/{rev}/approve"),
        Some(json!({"note": "load test"})),
        &[200],
    )
    .await?;
    let v = api(
        c,
        token,
        "POST",
        &format!("/api/v1/sites/{site}/revisions/{rev}/publish"),
        None,
        &[200],
    )
    .await?;
    id(&v, "/generation", "publishing a revision")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn run(o: Options) -> Result<Value> {
    let t_seed = Instant::now();
    let seeded = seed(&o).await?;
    let seed_secs = t_seed.elapsed().as_secs_f64();
    let sites: Vec<i64> = seeded.iter().map(|s| s.site).collect();
    let settle = || tokio::time::sleep(Duration::from_secs(2));
    settle().await;
    let rss0 = o.center_pid.and_then(rss_kib);
    eprintln!("center RSS with no agent connected: {rss0:?} KiB");

    let mut fleet = enrol_all(&o, seeded).await?;
    let n = fleet.stats.len();
    eprintln!(
        "{n} agents enrolled and connected in {:.1} s; holding them for {} s",
        fleet.enrol_secs, o.sustain_secs
    );
    let reconnects0: u64 = fleet
        .stats
        .iter()
        .map(|s| s.reconnects.load(Ordering::Relaxed))
        .sum();
    let polls0 = fleet.counters.polls_empty.load(Ordering::Relaxed);
    let t_sustain = Instant::now();
    let mut min_connected = n;
    while t_sustain.elapsed() < Duration::from_secs(o.sustain_secs) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let c = fleet
            .stats
            .iter()
            .filter(|s| s.connected.load(Ordering::Relaxed))
            .count();
        min_connected = min_connected.min(c);
    }
    let sustain_elapsed = t_sustain.elapsed().as_secs_f64();
    let reconnects: u64 = fleet
        .stats
        .iter()
        .map(|s| s.reconnects.load(Ordering::Relaxed))
        .sum::<u64>()
        - reconnects0;
    let empty_polls = fleet.counters.polls_empty.load(Ordering::Relaxed) - polls0;
    let rssn = o.center_pid.and_then(rss_kib);
    eprintln!(
        "held: at least {min_connected}/{n} connected throughout, {reconnects} reconnects, \
         {empty_polls} empty long-polls answered; center RSS {rssn:?} KiB"
    );

    // Fan-out: publish one change for every site, as fast as the API allows.
    eprintln!("publishing one change for {n} sites");
    let published_at: Arc<Vec<AtomicI64>> = Arc::new((0..n).map(|_| AtomicI64::new(0)).collect());
    let t_first = now_us();
    let token = Arc::new(o.publisher.clone());
    let policy = Arc::new(o.policy.clone());
    let pa = published_at.clone();
    let generations = on_panel(
        &o,
        sites.iter().copied().enumerate().collect(),
        move |mut c, (i, site)| {
            let (t, p, pa) = (token.clone(), policy.clone(), pa.clone());
            async move {
                let r = publish_site(&mut c, &t, site, &p).await;
                pa[i].store(now_us(), Ordering::Relaxed);
                (c, r)
            }
        },
    )
    .await?;
    let t_published = now_us();
    eprintln!(
        "published {n} changes in {:.1} s; waiting for the applied reports",
        (t_published - t_first) as f64 / 1e6
    );
    let deadline = Instant::now() + Duration::from_secs(o.fanout_timeout_secs);
    loop {
        let done = fleet
            .stats
            .iter()
            .zip(&generations)
            .filter(|(s, g)| s.applied.load(Ordering::Relaxed) >= **g)
            .count();
        if done == n || Instant::now() > deadline {
            eprintln!("{done}/{n} agents reported the change applied");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut fanout: Vec<f64> = Vec::with_capacity(n);
    let mut last_applied = 0i64;
    for (i, s) in fleet.stats.iter().enumerate() {
        if s.applied.load(Ordering::Relaxed) >= generations[i] {
            let at = s.applied_at_us.load(Ordering::Relaxed);
            last_applied = last_applied.max(at);
            fanout.push((at - published_at[i].load(Ordering::Relaxed)) as f64 / 1e6);
        }
    }
    fanout.sort_by(|a, b| a.total_cmp(b));
    let applied = fanout.len();
    let fanout_reports_per_s = if last_applied > t_first {
        applied as f64 / ((last_applied - t_first) as f64 / 1e6)
    } else {
        f64::NAN
    };

    // Report burst: a few agents post single-report batches back to back on their own
    // second connection while every agent keeps its long-poll open.
    let burst = o.burst_conns.min(n);
    let sent = Arc::new(AtomicU64::new(0));
    let burst_errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut set = tokio::task::JoinSet::new();
    for (i, (config, &g)) in fleet
        .configs
        .iter()
        .zip(&generations)
        .take(burst)
        .enumerate()
    {
        let (config, addr) = (config.clone(), o.agent);
        let (sent, errors, stop) = (sent.clone(), burst_errors.clone(), stop.clone());
        set.spawn(async move {
            let Ok(mut c) = tls_connect(addr, config).await else {
                errors.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let mut k = 1_000_000u64;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                match post_report(&mut c, i, g, k).await {
                    Ok(()) => {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("report burst: {e}");
                        }
                        return;
                    }
                }
            }
        });
    }
    let t_burst = Instant::now();
    tokio::time::sleep(Duration::from_secs(o.burst_secs)).await;
    stop.store(true, Ordering::Relaxed);
    let burst_count = sent.load(Ordering::Relaxed);
    let burst_secs = t_burst.elapsed().as_secs_f64();
    while set.join_next().await.is_some() {}
    let still = fleet
        .stats
        .iter()
        .filter(|s| s.connected.load(Ordering::Relaxed))
        .count();
    fleet.tasks.abort_all();
    let errors: u64 = fleet
        .stats
        .iter()
        .map(|s| s.errors.load(Ordering::Relaxed))
        .sum();
    let rss_self = rss_kib(std::process::id());
    Ok(json!({
        "agents": n,
        "seed_secs": seed_secs,
        "enrol_connect_secs": fleet.enrol_secs,
        "sustain_secs": sustain_elapsed,
        "min_connected_during_sustain": min_connected,
        "reconnects_during_sustain": reconnects,
        "empty_polls_during_sustain": empty_polls,
        "connected_at_end": still,
        "agent_errors": errors,
        "center_rss_kib_0": rss0,
        "center_rss_kib_n": rssn,
        "generator_rss_kib": rss_self,
        "publish_secs": (t_published - t_first) as f64 / 1e6,
        "applied": applied,
        "fanout_p50_s": percentile(&fanout, 50.0),
        "fanout_p99_s": percentile(&fanout, 99.0),
        "fanout_max_s": fanout.last().copied().unwrap_or(f64::NAN),
        "fanout_total_s": if applied > 0 { (last_applied - t_first) as f64 / 1e6 } else { f64::NAN },
        "fanout_reports_per_s": fanout_reports_per_s,
        "burst_conns": burst,
        "burst_reports": burst_count,
        "burst_reports_per_s": burst_count as f64 / burst_secs,
        "burst_errors": burst_errors.load(Ordering::Relaxed),
    }))
}

fn raise_nofile(agents: usize) -> Result<()> {
    let want = (agents as u64) * 2 + 1024;
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft < want {
        let to = want.min(hard);
        rlimit::Resource::NOFILE.set(to, hard)?;
        if to < want {
            eprintln!(
                "warning: open files limited to {to} (hard limit); {agents} agents need about {want}"
            );
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let o = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Err(e) = raise_nofile(o.agents) {
        eprintln!("error: raising the open-files limit: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(o)) {
        Ok(v) => {
            println!("{v}");
            rt.shutdown_timeout(Duration::from_secs(1));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            rt.shutdown_timeout(Duration::from_secs(1));
            std::process::ExitCode::FAILURE
        }
    }
}
