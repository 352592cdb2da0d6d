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
    /// Skip the throughput runs.
    pub no_throughput: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            objects: vec![10, 1_000, 10_000, 100_000],
            rules: 1_000,
            seconds: 5,
            throughput_objects: 100_000,
            no_throughput: false,
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

struct Compiled {
    text: String,
    naive_text: Option<String>,
    check: Duration,
    compile: Duration,
    rules: usize,
}

fn compile(src: &str, naive: bool) -> Result<Compiled> {
    let t0 = Instant::now();
    let checked = policy::check(src, &policy::Lists::new());
    let check = t0.elapsed();
    let Some(p) = checked.policy else {
        bail!(
            "the generated policy does not check: {:?}",
            checked.diagnostics.first()
        );
    };
    let t1 = Instant::now();
    let c = policy::compile(&p, policy::Mode::Sets);
    let text = c.to_text();
    let compile = t1.elapsed();
    let naive_text = naive.then(|| policy::compile(&p, policy::Mode::Naive).to_text());
    Ok(Compiled {
        text,
        naive_text,
        check,
        compile,
        rules: c.rule_count(),
    })
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
    let _ = writeln!(
        out,
        "machine: {cpu}, {} cores, kernel {kernel}, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        nft_version.trim()
    );

    // 1. Compile and apply time.
    let _ = writeln!(
        out,
        "\n| objects | rules | nft rules | check (ms) | compile (ms) | nft -f apply (ms) | `mamori agent apply` total (ms) |\n|---:|---:|---:|---:|---:|---:|---:|"
    );
    let state = tb.dir().join("state");
    let state_s = state.display().to_string();
    let mamori_s = mamori.display().to_string();
    let mut throughput_policy = None;
    for &n in &opts.objects {
        let src = policy::generate::big_policy(n, opts.rules);
        let c = compile(&src, false)?;
        let nft_file = tb.dir().join(format!("big-{n}.nft"));
        std::fs::write(&nft_file, &c.text)?;
        let toml_file = tb.dir().join(format!("big-{n}.toml"));
        std::fs::write(&toml_file, &src)?;
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
            "| {n} | {} | {} | {} | {} | {} | {} |",
            opts.rules,
            c.rules,
            ms(c.check),
            ms(c.compile),
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
        if n == opts.throughput_objects {
            throughput_policy = Some(src);
        }
    }
    if opts.no_throughput {
        return Ok(out);
    }

    // 2. Throughput: empty, sets, naive; same run, same testbed.
    let src = match throughput_policy {
        Some(s) => s,
        None => policy::generate::big_policy(opts.throughput_objects, opts.rules),
    };
    let c = compile(&src, true)?;
    let sets_file = tb.dir().join("tp-sets.nft");
    std::fs::write(&sets_file, &c.text)?;
    let naive_file = tb.dir().join("tp-naive.nft");
    let naive_text = c.naive_text.as_deref().unwrap_or_default();
    std::fs::write(&naive_file, naive_text)?;
    let naive_rules = naive_text
        .lines()
        .filter(|l| l.starts_with("\t\t") && !l.contains("type "))
        .count();
    let _iperf = tb.spawn(Host::Wan, &["iperf3", "-s", "-B", addr::WAN_SERVER])?;
    std::thread::sleep(Duration::from_millis(300));
    let _ = writeln!(
        out,
        "\nthroughput, LAN client -> WAN server through the gateway ({} objects, {} rules; naive: {naive_rules} rules), iperf3 {} s per run\n\n| ruleset | TCP (Gbit/s) | vs empty | UDP 64 B (kpps) | vs empty |\n|---|---:|---:|---:|---:|",
        opts.throughput_objects, opts.rules, opts.seconds
    );
    let mut base: Option<(f64, f64)> = None;
    for (name, file) in [
        ("empty", None),
        ("sets (compiled)", Some(&sets_file)),
        ("naive (one rule per object)", Some(&naive_file)),
    ] {
        let _ = tb.exec(Host::Gw, &["nft", "delete", "table", "inet", "mamori"]);
        if let Some(f) = file {
            tb.run_ok(Host::Gw, &["nft", "-f", f.to_str().unwrap()])?;
        }
        let tcp = iperf(&tb, opts.seconds, false)?;
        let udp = iperf(&tb, opts.seconds, true)?;
        let (bt, bu) = *base.get_or_insert((tcp, udp));
        let _ = writeln!(
            out,
            "| {name} | {:.2} | {:.0}% | {:.0} | {:.0}% |",
            tcp / 1e9,
            100.0 * tcp / bt,
            udp / 1e3,
            100.0 * udp / bu
        );
        eprint!(
            "{}",
            out.lines()
                .last()
                .map(|l| format!("{l}\n"))
                .unwrap_or_default()
        );
    }
    let _ = tb.exec(Host::Gw, &["nft", "delete", "table", "inet", "mamori"]);
    Ok(out)
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
