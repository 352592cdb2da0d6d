//! Rule load time, resident memory and detection speed with a rule file (ET Open by
//! default), against a baseline with no rules measured in the same run.
//!
//! cargo run --release -p mamori-ids --example rules_bench -- [RULES_FILE]

use mamori_ids::detect::{
    AppProto, BufferKind, Detector, Direction, FlowDetectState, Input, Layer4,
};
use mamori_ids::rules::{Vars, parse_rules};
use std::time::{Duration, Instant};

/// CPU time this thread has run (the machine may be shared: wall time would count the
/// time other processes held the core).
fn cpu_time() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = s
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

const REQUEST: &[u8] = b"GET /static/js/app.min.js?v=3.2.1 HTTP/1.1\r\nHost: www.example.co.jp\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: */*\r\nAccept-Language: ja,en-US;q=0.7,en;q=0.3\r\nAccept-Encoding: gzip, deflate, br\r\nReferer: https://www.example.co.jp/\r\nConnection: keep-alive\r\n\r\n";

fn body() -> Vec<u8> {
    let mut b = Vec::new();
    let mut i = 0u32;
    while b.len() < 1400 {
        b.extend_from_slice(
            format!("<div class=\"item-{i}\"><a href=\"/products/{i}.html\">製品 {i} のご案内</a></div>\n").as_bytes(),
        );
        i += 1;
    }
    b.truncate(1400);
    b
}

/// Inspects a mix of one request packet, one request transaction, ten 1400-byte
/// response packets and one response transaction per round; returns (bytes, inputs, time).
fn run(det: &mut Detector, rounds: usize) -> (usize, usize, Duration) {
    let body = body();
    let base = |payload: &'static [u8], dir: Direction| Input {
        ts_micros: 1_700_000_000_000_000,
        src_ip: "192.168.1.10".parse().unwrap(),
        dst_ip: "203.0.113.80".parse().unwrap(),
        ip_proto: 6,
        ttl: 64,
        l4: Layer4::Tcp {
            src_port: 50000,
            dst_port: 80,
            flags: 0x18,
            seq: 1,
            ack: 1,
            window: 500,
        },
        payload,
        stream: None,
        direction: dir,
        established: true,
        flow_id: 7,
        app_proto: AppProto::Http,
        tx_id: None,
        buffers: &[],
        events: Default::default(),
        invalid: false,
        ip_header: &[],
        l4_header: &[],
        flow_counts: Default::default(),
    };
    let req_bufs: Vec<(BufferKind, &[u8])> = vec![
        (BufferKind::HttpMethod, b"GET"),
        (BufferKind::HttpUri, b"/static/js/app.min.js?v=3.2.1"),
        (BufferKind::HttpUriRaw, b"/static/js/app.min.js?v=3.2.1"),
        (BufferKind::HttpHost, b"www.example.co.jp"),
        (BufferKind::HttpUserAgent, b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        (BufferKind::HttpHeader, &REQUEST[44..REQUEST.len() - 2]),
        (BufferKind::HttpHeaderNames, b"\r\nHost\r\nUser-Agent\r\nAccept\r\nAccept-Language\r\nAccept-Encoding\r\nReferer\r\nConnection\r\n\r\n"),
        (BufferKind::HttpRequestLine, b"GET /static/js/app.min.js?v=3.2.1 HTTP/1.1"),
    ];
    let resp_bufs: Vec<(BufferKind, &[u8])> = vec![
        (BufferKind::HttpStatCode, b"200"),
        (BufferKind::HttpStatMsg, b"OK"),
        (
            BufferKind::HttpHeader,
            b"Server: nginx\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 14000\r\n",
        ),
        (BufferKind::HttpContentType, b"text/html; charset=utf-8"),
        (BufferKind::HttpResponseBody, &body),
        (BufferKind::FileData, &body),
    ];
    let (mut bytes, mut inputs) = (0, 0);
    let start = cpu_time();
    for round in 0..rounds {
        let mut flow = FlowDetectState::default();
        let mut out = Vec::new();
        let mut req = base(REQUEST, Direction::ToServer);
        req.stream = Some(REQUEST);
        det.inspect(&req, &mut flow, &mut out);
        let mut tx = base(&[], Direction::ToServer);
        tx.tx_id = Some(round as u64);
        tx.buffers = &req_bufs;
        det.inspect(&tx, &mut flow, &mut out);
        bytes += REQUEST.len();
        inputs += 2;
        for _ in 0..10 {
            let mut p = base(&[], Direction::ToClient);
            p.payload = &body;
            p.stream = Some(&body);
            std::mem::swap(&mut p.src_ip, &mut p.dst_ip);
            det.inspect(&p, &mut flow, &mut out);
            bytes += body.len();
            inputs += 1;
        }
        let mut tx = base(&[], Direction::ToClient);
        std::mem::swap(&mut tx.src_ip, &mut tx.dst_ip);
        tx.tx_id = Some(round as u64);
        tx.buffers = &resp_bufs;
        if round == 0 && std::env::var_os("SHOW").is_some() {
            println!("candidates req pkt {:?}", det.candidate_sids(&req, &flow));
            let mut p = base(&[], Direction::ToClient);
            p.payload = &body;
            println!("candidates resp pkt {:?}", det.candidate_sids(&p, &flow));
            println!("candidates resp tx {:?}", det.candidate_sids(&tx, &flow));
        }
        det.inspect(&tx, &mut flow, &mut out);
        inputs += 1;
    }
    (bytes, inputs, cpu_time() - start)
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/et-open/et-open.rules"
        )
        .to_string()
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rss0 = rss_kib("VmRSS:");
    let (t, wall) = (cpu_time(), Instant::now());
    let set = parse_rules(&path, &text, &Vars::suricata_defaults());
    let parsed = cpu_time() - t;
    let (loaded, skipped) = (set.rules.len(), set.skipped.len());
    let mut det = Detector::new(set.rules);
    let load = cpu_time() - t;
    let load_wall = wall.elapsed();
    let rss1 = rss_kib("VmRSS:");
    println!("rules: {loaded} loaded, {skipped} skipped");
    println!(
        "load: {:.2} s of CPU (parse {:.2} s, compile {:.2} s), {:.2} s wall",
        load.as_secs_f64(),
        parsed.as_secs_f64(),
        (load - parsed).as_secs_f64(),
        load_wall.as_secs_f64()
    );
    println!(
        "memory: resident {} MiB after load ({} MiB for the rules), peak {} MiB",
        rss1 / 1024,
        rss1.saturating_sub(rss0) / 1024,
        rss_kib("VmHWM:") / 1024
    );
    let mut empty = Detector::new(Vec::new());
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    run(&mut det, 50);
    let (b0, n0, d0) = run(&mut empty, rounds);
    let (b1, n1, d1) = run(&mut det, rounds);
    let gbps = |b: usize, d: Duration| b as f64 * 8.0 / d.as_secs_f64() / 1e9;
    println!(
        "detection (CPU time), no rules: {:.2} Gbit/s of payload, {:.0} inputs/s",
        gbps(b0, d0),
        n0 as f64 / d0.as_secs_f64()
    );
    println!(
        "detection (CPU time), with the rules: {:.2} Gbit/s of payload, {:.0} inputs/s ({:.1} µs per input)",
        gbps(b1, d1),
        n1 as f64 / d1.as_secs_f64(),
        d1.as_secs_f64() * 1e6 / n1 as f64
    );
    let s = det.stats();
    println!(
        "prefilter: {:.1} rules evaluated per input, {:.2} matched",
        s.evaluated as f64 / s.inputs as f64,
        s.matched as f64 / s.inputs as f64
    );
}
