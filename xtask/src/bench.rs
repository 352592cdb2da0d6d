//! `cargo xtask bench policy`: compile and apply time of big policies, and forwarding
//! throughput across the testbed's gateway with an empty ruleset, with the big policy
//! compiled to sets, and with the same policy compiled naively (one rule per object), all
//! in the same run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mamori_policy as policy;

use crate::testbed::{Host, Testbed, addr};

/// Options of `cargo xtask bench policy`.
#[derive(Debug, Clone)]
pub struct Options {
    pub objects: Vec<usize>,
    pub rules: usize,
    /// Seconds per iperf3 run.
    pub seconds: u32,
    /// Objects of the policy used for the throughput runs.
    pub throughput_objects: usize,
    /// Objects of the policy whose naive compilation is the throughput baseline. The naive
    /// form grows as objects x rules (1,000 objects: 51,000 nft rules; 100,000: about 5
    /// million, more than `nft` loads in reasonable time and memory), so the baseline uses a
    /// smaller policy, measured next to the same policy compiled to sets.
    pub naive_objects: usize,
    /// Skip the throughput runs.
    pub no_throughput: bool,
    /// Rounds of throughput runs: every round measures every ruleset once, in turn, so
    /// slow drifts of a shared machine touch all rulesets alike; the table gives the
    /// median of the rounds and their range.
    pub repeat: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            objects: vec![10, 1_000, 10_000, 100_000],
            rules: 1_000,
            seconds: 10,
            throughput_objects: 100_000,
            naive_objects: 1_000,
            no_throughput: false,
            repeat: 3,
        }
    }
}

/// Builds `mamori` in release mode and returns its path.
pub fn build_release_mamori() -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "-p", "mamori"])
        .current_dir(root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p mamori failed");
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    Ok(target.join("release/mamori"))
}

/// Compiles a policy file with the release binary: (nft text, wall time).
fn compile(tb: &Testbed, mamori: &str, file: &Path, naive: bool) -> Result<(String, Duration)> {
    let mut args = vec![mamori, "policy", "compile", "--format", "nft"];
    if naive {
        args.push("--naive");
    }
    args.push(file.to_str().unwrap());
    let t = Instant::now();
    let text = tb.run_ok(Host::Gw, &args)?;
    Ok((text, t.elapsed()))
}

/// Whether the gateway's kernel can run a flowtable on the testbed's interfaces.
fn kernel_has_flowtables(tb: &Testbed) -> Result<bool> {
    let f = tb.dir().join("probe.nft");
    std::fs::write(
        &f,
        "table inet bench_probe {\n\tflowtable ft {\n\t\thook ingress priority 0; devices = { \"lan0\", \"wan0\", \"dmz0\" };\n\t}\n}\n",
    )?;
    Ok(tb
        .exec(Host::Gw, &["nft", "-c", "-f", f.to_str().unwrap()])?
        .status
        .success())
}

/// The generated policy, with the fast path on (the default) or off.
fn big_policy(objects: usize, rules: usize, fast_path: bool) -> String {
    let mut s = policy::generate::big_policy(objects, rules);
    if !fast_path {
        s.push_str("\n[options]\nfast_path = false\n");
    }
    s
}

/// Median and range of a list of measurements.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (med, v[0], v[n - 1])
}

fn count_rules(nft_text: &str) -> usize {
    let mut in_chain = false;
    let mut n = 0;
    for l in nft_text.lines() {
        let t = l.trim();
        if t.starts_with("chain ") {
            in_chain = true;
        } else if t == "}" {
            in_chain = false;
        } else if in_chain && !t.is_empty() && !t.starts_with("type ") {
            n += 1;
        }
    }
    n
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Runs the benchmark and prints its tables (Markdown).
pub fn policy(opts: &Options) -> Result<String> {
    let mamori = build_release_mamori()?;
    let tb = Testbed::up_named(&format!("bench{}", std::process::id()))?;
    let mut out = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let kernel = Command::new("uname")
        .arg("-r")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let nft_version = tb
        .run_ok(Host::Gw, &["nft", "--version"])
        .unwrap_or_default();
    let offload = kernel_has_flowtables(&tb)?;
    let _ = writeln!(
        out,
        "machine: {cpu}, {} cores, kernel {kernel}, {}; flowtables: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        nft_version.trim(),
        if offload {
            "yes"
        } else {
            "no (the kernel lacks them: the fast path is left out, as the agent does)"
        }
    );

    // 1. Compile and apply time.
    let _ = writeln!(
        out,
        "\n| objects | rules | nft rules | `mamori policy compile` (ms) | `nft -f` of the result (ms) | `mamori agent apply` total (ms) |\n|---:|---:|---:|---:|---:|---:|"
    );
    let state = tb.dir().join("state");
    let state_s = state.display().to_string();
    let mamori_s = mamori.display().to_string();
    for &n in &opts.objects {
        let src = big_policy(n, opts.rules, offload);
        let toml_file = tb.dir().join(format!("big-{n}.toml"));
        std::fs::write(&toml_file, &src)?;
        let (text, compile_time) = compile(&tb, &mamori_s, &toml_file, false)?;
        let nft_file = tb.dir().join(format!("big-{n}.nft"));
        std::fs::write(&nft_file, &text)?;
        // nft -f alone, on a precompiled ruleset.
        let t = Instant::now();
        tb.run_ok(Host::Gw, &["nft", "-f", nft_file.to_str().unwrap()])?;
        let apply = t.elapsed();
        tb.run_ok(Host::Gw, &["nft", "delete", "table", "inet", "mamori"])?;
        // The agent end to end: read, check, compile, apply, keep state.
        let t = Instant::now();
        tb.run_ok(
            Host::Gw,
            &[
                &mamori_s,
                "agent",
                "apply",
                toml_file.to_str().unwrap(),
                "--state-dir",
                &state_s,
            ],
        )?;
        let total = t.elapsed();
        let _ = writeln!(
            out,
            "| {n} | {} | {} | {} | {} | {} |",
            opts.rules,
            count_rules(&text),
            ms(compile_time),
            ms(apply),
            ms(total)
        );
        eprint!(
            "{}",
            out.lines()
                .last()
                .map(|l| format!("{l}\n"))
                .unwrap_or_default()
        );
    }
    if opts.no_throughput {
        return Ok(out);
    }

    // 2. Throughput: every ruleset in turn, `repeat` rounds, same testbed.
    let big = |fast: bool, tag: &str| -> Result<PathBuf> {
        let f = tb.dir().join(format!("tp-{tag}.toml"));
        std::fs::write(&f, big_policy(opts.throughput_objects, opts.rules, fast))?;
        Ok(f)
    };
    let small_file = tb.dir().join("tp-small.toml");
    std::fs::write(
        &small_file,
        big_policy(opts.naive_objects, opts.rules, false),
    )?;
    let mut runs: Vec<(String, Option<PathBuf>)> = vec![("empty ruleset".into(), None)];
    // The floor of any stateful NAT gateway: connection tracking, established accepted
    // first, masquerade on the WAN; no policy.
    let floor = tb.dir().join("tp-floor.nft");
    std::fs::write(&floor, STATEFUL_FLOOR)?;
    runs.push((
        "stateful floor (conntrack + masquerade, no policy)".into(),
        Some(floor),
    ));
    let mut variants = Vec::new();
    if offload {
        variants.push((
            format!("{} objects, sets, fast path", opts.throughput_objects),
            big(true, "fast")?,
            false,
        ));
    }
    variants.extend([
        (
            format!("{} objects, sets", opts.throughput_objects),
            big(false, "slow")?,
            false,
        ),
        (
            format!("{} objects, sets", opts.naive_objects),
            small_file.clone(),
            false,
        ),
        (
            format!("{} objects, naive (baseline)", opts.naive_objects),
            small_file,
            true,
        ),
    ]);
    for (label, file, naive) in variants {
        let (text, _) = compile(&tb, &mamori_s, &file, naive)?;
        let out_file = tb.dir().join(format!("tp-{}.nft", runs.len()));
        std::fs::write(&out_file, &text)?;
        runs.push((
            format!("{label}: {} nft rules", count_rules(&text)),
            Some(out_file),
        ));
    }
    let _iperf = tb.spawn(Host::Wan, &["iperf3", "-s", "-B", addr::WAN_SERVER])?;
    let _accept = tb.spawn(
        Host::Wan,
        &["python3", "-c", ACCEPT_PY, addr::WAN_SERVER, "7100"],
    )?;
    std::thread::sleep(Duration::from_millis(300));
    let rounds = opts.repeat.max(1);
    let _ = writeln!(
        out,
        "\nthroughput, LAN client -> WAN server through the gateway, {} policy rules, none of which matches: the first packet of every flow passes them all, later ones are accepted as established before any rule. iperf3 {} s per run (one flow); new TCP connections per second (each one a new flow) for the same time. {rounds} rounds, each measuring every ruleset in turn; median of the rounds (range in brackets), and the median as a share of the empty ruleset's median\n\n| ruleset | TCP (Gbit/s) | vs empty | UDP 64 B (kpps) | vs empty | new TCP conn/s | vs empty |\n|---|---:|---:|---:|---:|---:|---:|",
        opts.rules, opts.seconds
    );
    let mut results: Vec<[Vec<f64>; 3]> = vec![Default::default(); runs.len()];
    for round in 0..rounds {
        for (i, (name, file)) in runs.iter().enumerate() {
            let _ = tb.exec(Host::Gw, &["nft", "delete", "table", "inet", "mamori"]);
            if let Some(f) = file {
                tb.run_ok(Host::Gw, &["nft", "-f", f.to_str().unwrap()])?;
            }
            let tcp = iperf(&tb, opts.seconds, false)?;
            let udp = iperf(&tb, opts.seconds, true)?;
            let conn = conn_rate(&tb, opts.seconds)?;
            eprintln!(
                "round {}/{rounds} {name}: TCP {:.2} Gbit/s, UDP {:.0} kpps, {conn:.0} conn/s",
                round + 1,
                tcp / 1e9,
                udp / 1e3
            );
            results[i][0].push(tcp / 1e9);
            results[i][1].push(udp / 1e3);
            results[i][2].push(conn);
        }
    }
    let base: Vec<f64> = results[0].iter().map(|v| stats(v).0).collect();
    for ((name, _), r) in runs.iter().zip(&results) {
        let mut row = format!("| {name} |");
        for (k, (v, prec)) in r.iter().zip([2usize, 0, 0]).enumerate() {
            let (med, lo, hi) = stats(v);
            let _ = write!(
                row,
                " {med:.prec$} ({lo:.prec$}-{hi:.prec$}) | {:.0}% |",
                100.0 * med / base[k]
            );
        }
        let _ = writeln!(out, "{row}");
    }
    let _ = tb.exec(Host::Gw, &["nft", "delete", "table", "inet", "mamori"]);
    Ok(out)
}

/// Connection tracking with established traffic accepted first, and masquerade: what
/// every stateful NAT gateway does for a packet, without any policy.
const STATEFUL_FLOOR: &str = "table inet mamori {}
delete table inet mamori
table inet mamori {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state established,related accept
\t\tct state invalid drop
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tmeta nfproto ipv4 oifname \"wan0\" masquerade
\t}
}
";

/// Accepts and closes connections, as fast as it can.
const ACCEPT_PY: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1024)
while True:
    c, _ = s.accept()
    c.close()
"#;

/// Opens and closes TCP connections in a loop for a given time; prints the count.
const CONNECT_PY: &str = r#"
import socket, sys, time
dst, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
n = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
    c.settimeout(2)
    try:
        c.connect((dst, port))
        n += 1
    except OSError:
        pass
    c.close()
print(n / secs)
"#;

/// New TCP connections per second from the LAN client to the WAN server.
fn conn_rate(tb: &Testbed, seconds: u32) -> Result<f64> {
    let out = tb.run_ok(
        Host::Lan,
        &[
            "python3",
            "-c",
            CONNECT_PY,
            addr::WAN_SERVER,
            "7100",
            &seconds.to_string(),
        ],
    )?;
    out.trim()
        .parse()
        .with_context(|| format!("connection-rate client printed {out:?}"))
}

/// One iperf3 run from the LAN client to the WAN server: TCP bits/s received, or UDP
/// (64-byte datagrams, unlimited rate) packets/s received.
fn iperf(tb: &Testbed, seconds: u32, udp: bool) -> Result<f64> {
    let secs = seconds.to_string();
    let mut args = vec![
        "iperf3",
        "-c",
        addr::WAN_SERVER,
        "-B",
        addr::LAN_CLIENT,
        "-t",
        &secs,
        "-J",
    ];
    if udp {
        args.extend(["-u", "-b", "0", "-l", "64"]);
    }
    let text = tb.run_ok(Host::Lan, &args)?;
    let v: serde_json::Value = serde_json::from_str(&text).context("iperf3 -J output")?;
    let end = &v["end"];
    if udp {
        let sum = &end["sum"];
        let packets = sum["packets"].as_f64().unwrap_or(0.0);
        let lost = sum["lost_packets"].as_f64().unwrap_or(0.0);
        let secs = sum["seconds"].as_f64().unwrap_or(f64::from(seconds));
        Ok((packets - lost) / secs)
    } else {
        end["sum_received"]["bits_per_second"]
            .as_f64()
            .context("iperf3 reported no received throughput")
    }
}
