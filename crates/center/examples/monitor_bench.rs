//! Monitoring benchmarks (docs/benchmarks.md), run as root by `scripts/monitor-bench`:
//!
//! - `syslog [--messages N]`: one loader sends the same N RFC 5424 messages over TCP
//!   (LF framing) to Mamori's TCP receiver (which parses each one) and to rsyslog
//!   (imtcp, writing each message to a file), one after the other in the same run;
//!   msg/s from the first byte sent to the last message counted, and loss.
//! - `ping [--gateways N] [--rounds R]`: N addresses on a gateway namespace's interface,
//!   each a check on a 30 s interval (3 probes, spread over the interval by the
//!   schedule's jitter), R rounds; rounds missed, loss, CPU time and peak memory of the
//!   process; baseline in the same run: one `fping` round over the same addresses.
//!
//! Everything runs in network namespaces the benchmark creates (`mmon-bench-*`) and
//! removes.

use mamori_center::adapters::monitor::Counters;
use mamori_center::adapters::monitor::icmp::Pinger;
use mamori_center::adapters::monitor::syslog::{self, Settings, Sink};
use mamori_center_model::clock::Clock;
use mamori_monitor::schedule::{Catalog, CheckDef, Probe, Schedule, Settings as Probing, Template};
use std::io::Write;
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Ns(Vec<String>);

impl Drop for Ns {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn netns(name: &str) -> String {
    let n = format!("mmon-bench-{name}");
    let _ = Command::new("ip")
        .args(["netns", "del", &n])
        .stderr(Stdio::null())
        .status();
    sh(&["ip", "netns", "add", &n]);
    sh(&["ip", "-n", &n, "link", "set", "lo", "up"]);
    n
}

fn enter(ns: &str) {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
    rustix::thread::move_into_link_name_space(
        f.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .unwrap();
}

/// (user + system CPU seconds, peak RSS in MiB) of this process so far.
fn usage() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    (ticks / 100.0, hwm / 1024.0)
}

fn messages(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 130);
    for i in 0..n {
        writeln!(
            out,
            "<134>1 2026-12-07T22:19:47.123456+00:00 gw-{} mamori-bench 4242 BENCH - message number {i} from the loader",
            i % 1000
        )
        .unwrap();
    }
    out
}

/// Sends `data` over one TCP connection from its own thread; returns when written.
fn load(port: u16, data: Arc<Vec<u8>>, ns: String) -> std::thread::JoinHandle<Instant> {
    std::thread::spawn(move || {
        enter(&ns);
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let start = Instant::now();
        s.write_all(&data).unwrap();
        s.flush().unwrap();
        start
    })
}

fn bench_syslog(n: usize) {
    let ns = netns("syslog");
    let _guard = Ns(vec![ns.clone()]);
    let data = Arc::new(messages(n));
    println!(
        "syslog: {n} messages, {} bytes, one TCP connection, LF framing",
        data.len()
    );

    // Mamori: the TCP receiver parses every message; a task counts them.
    let ns2 = ns.clone();
    let data2 = data.clone();
    let (mamori_secs, mamori_got, cpu) = std::thread::spawn(move || {
        enter(&ns2);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(65_536);
            let counters = Arc::new(Counters::default());
            let sink = Sink {
                clock: Clock::fixed(1_796_681_987_000),
                settings: Settings::default(),
                tx,
                counters: counters.clone(),
            };
            let l = tokio::net::TcpListener::bind(("127.0.0.1", 10514))
                .await
                .unwrap();
            tokio::spawn(syslog::serve_tcp(l, sink));
            let got = Arc::new(AtomicU64::new(0));
            let g = got.clone();
            tokio::spawn(async move {
                while rx.recv().await.is_some() {
                    g.fetch_add(1, Ordering::Relaxed);
                }
            });
            let cpu0 = usage().0;
            let loader = load(10514, data2, ns2.clone());
            let deadline = Instant::now() + Duration::from_secs(120);
            while got.load(Ordering::Relaxed) < n as u64 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let end = Instant::now();
            let start = tokio::task::spawn_blocking(move || loader.join().unwrap())
                .await
                .unwrap();
            let got = got.load(Ordering::Relaxed) + Counters::get(&counters.malformed);
            ((end - start).as_secs_f64(), got, usage().0 - cpu0)
        })
    })
    .join()
    .unwrap();

    // rsyslog: imtcp, each message to a file.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::write(
        dir.path().join("rsyslog.conf"),
        format!(
            "global(workDirectory=\"{d}\")\n\
             module(load=\"imtcp\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"10515\")\n\
             *.* action(type=\"omfile\" file=\"{d}/out.log\" template=\"RSYSLOG_FileFormat\")\n"
        ),
    )
    .unwrap();
    let mut rsyslogd = Command::new("ip")
        .args(["netns", "exec", &ns, "rsyslogd", "-n", "-f"])
        .arg(dir.path().join("rsyslog.conf"))
        .arg("-i")
        .arg(dir.path().join("rsyslog.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let listening = || {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns, "ss", "-ltnH"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(":10515 ")
    };
    let t = Instant::now();
    while !listening() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "rsyslogd did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = dir.path().join("out.log");
    let lines = |p: &std::path::Path| {
        std::fs::read(p)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .unwrap_or(0)
    };
    let loader = load(10515, data.clone(), ns.clone());
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = 0;
    while Instant::now() < deadline {
        last = lines(&out);
        if last >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let end = Instant::now();
    let start = loader.join().unwrap();
    let rsyslog_secs = (end - start).as_secs_f64();
    let _ = rsyslogd.kill();
    let _ = rsyslogd.wait();

    println!("| receiver | messages received | lost | seconds | msg/s |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| Mamori TCP receiver (parse, hand on) | {mamori_got} | {} | {mamori_secs:.2} | {:.0} |",
        n as u64 - mamori_got.min(n as u64),
        mamori_got as f64 / mamori_secs
    );
    println!(
        "| rsyslog imtcp -> omfile | {last} | {} | {rsyslog_secs:.2} | {:.0} |",
        n - last.min(n),
        last as f64 / rsyslog_secs
    );
    println!("Mamori receiver CPU: {cpu:.2} s for {n} messages");
}

fn bench_ping(gateways: usize, rounds: u32) {
    let center = netns("pc");
    let gw = netns("pg");
    let _guard = Ns(vec![center.clone(), gw.clone()]);
    sh(&[
        "ip", "link", "add", "mmbc", "netns", &center, "type", "veth", "peer", "name", "mmbg",
        "netns", &gw,
    ]);
    sh(&[
        "ip",
        "-n",
        &center,
        "addr",
        "add",
        "10.77.0.1/24",
        "dev",
        "mmbc",
    ]);
    sh(&[
        "ip",
        "-n",
        &gw,
        "addr",
        "add",
        "10.77.0.2/24",
        "dev",
        "mmbg",
    ]);
    sh(&["ip", "-n", &center, "link", "set", "mmbc", "up"]);
    sh(&["ip", "-n", &gw, "link", "set", "mmbg", "up"]);
    sh(&[
        "ip",
        "-n",
        &center,
        "route",
        "add",
        "10.78.0.0/16",
        "via",
        "10.77.0.2",
    ]);
    let addrs: Vec<String> = (0..gateways)
        .map(|i| format!("10.78.{}.{}", i / 250, i % 250 + 1))
        .collect();
    let batch: String = addrs
        .iter()
        .map(|a| format!("addr add {a}/32 dev mmbg\n"))
        .collect();
    let mut ip = Command::new("ip")
        .args(["-n", &gw, "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    ip.stdin
        .take()
        .unwrap()
        .write_all(batch.as_bytes())
        .unwrap();
    assert!(ip.wait().unwrap().success());

    // Baseline: one fping round (3 probes each) over the same addresses.
    let t = Instant::now();
    let mut fping = Command::new("ip")
        .args([
            "netns", "exec", &center, "fping", "-q", "-c", "3", "-i", "1", "-p", "20",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    fping
        .stdin
        .take()
        .unwrap()
        .write_all(addrs.join("\n").as_bytes())
        .unwrap();
    let out = fping.wait_with_output().unwrap();
    let fping_secs = t.elapsed().as_secs_f64();
    let fping_lossy = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("3/3/0%"))
        .count();
    println!(
        "baseline fping -c 3: {gateways} addresses in {fping_secs:.2} s, {fping_lossy} with loss"
    );

    let center2 = center.clone();
    std::thread::spawn(move || {
        enter(&center2);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let pinger = Arc::new(Pinger::new().unwrap());
            let mut catalog = Catalog::default();
            catalog.templates.insert(
                "ping".into(),
                Template {
                    probe: Probe::Ping,
                    settings: Probing {
                        interval_secs: 30,
                        probes: 3,
                        timeout_ms: 2000,
                        jitter_secs: 30,
                    },
                },
            );
            let checks: Vec<CheckDef> = addrs
                .iter()
                .map(|a| CheckDef {
                    id: a.clone(),
                    customer: "bench".into(),
                    site: a.clone(),
                    template: "ping".into(),
                    target: a.clone(),
                })
                .collect();
            // The schedule runs on the monotonic clock: seconds since the start.
            let t0 = Instant::now();
            let at = |i: Instant| {
                jiff::Timestamp::from_millisecond((i - t0).as_millis() as i64 + 1_800_000_000_000)
                    .unwrap()
            };
            let mut schedule = Schedule::new(&catalog, &checks, at(t0)).unwrap();
            let (cpu0, _) = usage();
            let done = Arc::new(AtomicU64::new(0));
            let lossy = Arc::new(AtomicU64::new(0));
            let late = Arc::new(AtomicU64::new(0));
            let end = t0 + Duration::from_secs(30 * u64::from(rounds));
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while Instant::now() < end {
                tick.tick().await;
                let now = Instant::now();
                for due in schedule.due(at(now)) {
                    let (p, d, l, lt) = (pinger.clone(), done.clone(), lossy.clone(), late.clone());
                    let lag = at(now) - due.at;
                    if lag.as_millis() > 1000 {
                        lt.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::spawn(async move {
                        let r = p
                            .ping(
                                due.check.parse().unwrap(),
                                due.probes,
                                Duration::from_millis(200),
                                Duration::from_millis(u64::from(due.timeout_ms)),
                            )
                            .await;
                        d.fetch_add(1, Ordering::Relaxed);
                        if !matches!(r, Ok(s) if s.loss_percent == 0.0) {
                            l.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            let (cpu1, hwm) = usage();
            let elapsed = t0.elapsed().as_secs_f64();
            println!("| gateways | rounds run | rounds missed | rounds >1 s late | rounds with loss | CPU s | CPU % of one core | peak RSS MiB |");
            println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
            println!(
                "| {gateways} | {} | {} | {} | {} | {:.2} | {:.1} | {:.0} |",
                done.load(Ordering::Relaxed),
                schedule.missed(),
                late.load(Ordering::Relaxed),
                lossy.load(Ordering::Relaxed),
                cpu1 - cpu0,
                (cpu1 - cpu0) * 100.0 / elapsed,
                hwm
            );
            println!("malformed replies: {}", pinger.malformed());
        })
    })
    .join()
    .unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("syslog") => bench_syslog(opt("--messages", 1_000_000)),
        Some("ping") => bench_ping(opt("--gateways", 1000), opt("--rounds", 3) as u32),
        _ => {
            eprintln!(
                "usage: monitor_bench syslog [--messages N] | ping [--gateways N] [--rounds R]"
            );
            std::process::exit(2);
        }
    }
}
