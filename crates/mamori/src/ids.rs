//! `mamori ids`: inspect a capture file with Suricata-format rules and write EVE JSON.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use mamori_ids::detect::Detector;
use mamori_ids::engine::{Engine, EngineConfig, EveTypes, Mode};
use mamori_ids::pcap::PcapReader;
use mamori_ids::rules::{RuleSet, Vars, parse_rules_with_files};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Detect and log only.
    Ids,
    /// Simulate inline prevention: drop rules drop the packet and the rest of its flow.
    Ips,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Capture file to read (pcap or pcapng).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "nfqueue",
        conflicts_with = "nfqueue"
    )]
    pub pcap: Option<PathBuf>,
    /// Inline prevention: give a verdict to each packet the kernel queues to this
    /// NFQUEUE number (nftables `queue num N`, or iptables `-j NFQUEUE --queue-num N`).
    #[arg(long, value_name = "N")]
    pub nfqueue: Option<u16>,
    /// With --nfqueue: when the queue is full (the engine cannot keep up), the kernel
    /// accepts packets uninspected instead of dropping them (fail-open). The default is
    /// fail-closed.
    #[arg(long, requires = "nfqueue")]
    pub fail_open: bool,
    /// Interface name written as EVE `in_iface`.
    #[arg(long, value_name = "NAME")]
    pub iface: Option<String>,
    /// Rule file (Suricata format); may be given several times.
    #[arg(
        long = "rules",
        value_name = "FILE",
        required_unless_present = "no_rules"
    )]
    pub rules: Vec<PathBuf>,
    /// Run without rules (decoding, flows, streams and app layers only): the baseline
    /// of a throughput measurement.
    #[arg(long, conflicts_with = "rules")]
    pub no_rules: bool,
    /// Address and port groups as JSON ({"address-groups": {...}, "port-groups": {...}});
    /// Suricata's defaults otherwise.
    #[arg(long, value_name = "FILE")]
    pub vars: Option<PathBuf>,
    /// Where to write the EVE JSON records (one per line).
    #[arg(long, value_name = "FILE")]
    pub eve: PathBuf,
    /// ids (observe) or ips (drop rules drop). With --nfqueue the engine always
    /// prevents (ips).
    #[arg(long, value_enum, default_value = "ids")]
    pub mode: ModeArg,
    /// Accept TCP sessions whose handshake is not in the capture.
    #[arg(long)]
    pub midstream: bool,
    /// Reassembly depth per direction of a TCP session, like Suricata's
    /// stream.reassembly.depth: stream data beyond it is not inspected, neither as raw
    /// stream nor by the application layer. Bytes, or with kb, mb, gb (1024-based);
    /// 0 = unlimited.
    #[arg(long, value_name = "SIZE", default_value = "1mb", value_parser = parse_size)]
    pub stream_depth: u64,
    /// Print each skipped rule with its reason.
    #[arg(long)]
    pub verbose: bool,
    /// EVE records besides alerts, comma-separated: anomaly (application-layer
    /// events), app (the transaction records: http, dns, tls, smb, ...), fileinfo,
    /// flow; or all.
    #[arg(long, value_name = "LIST", value_parser = parse_eve_types)]
    pub eve_records: Option<EveTypes>,
}

/// `anomaly,app,fileinfo,flow` or `all`.
fn parse_eve_types(s: &str) -> Result<EveTypes, String> {
    let mut t = EveTypes::default();
    for w in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        match w {
            "anomaly" => t.anomaly = true,
            "app" => t.app = true,
            "fileinfo" => t.fileinfo = true,
            "flow" => t.flow = true,
            "all" => t = EveTypes::all(),
            other => {
                return Err(format!(
                    "unknown EVE record type '{other}' (hint: anomaly, app, fileinfo, flow or all)"
                ));
            }
        }
    }
    Ok(t)
}

/// A size: bytes, or a number with kb, mb or gb (1024-based, as in Suricata's
/// configuration).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = [("kb", 1u64 << 10), ("mb", 1 << 20), ("gb", 1 << 30)]
        .iter()
        .find_map(|(suf, m)| t.strip_suffix(suf).map(|n| (n.trim(), *m)))
        .unwrap_or((t.as_str(), 1));
    let n: u64 = num.parse().map_err(|_| {
        format!("'{s}' is not a size (hint: a number of bytes, or with kb, mb or gb, e.g. 1mb; 0 = unlimited)")
    })?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// Largest data file (dataset list) a rule may load.
const MAX_DATA_FILE: u64 = 256 << 20;

/// A data file named by a rule (`dataset ... load FILE`), read next to the rule file:
/// `None` when it does not exist; regular files of at most 256 MiB only.
fn data_file(dir: &std::path::Path, name: &str) -> Result<Option<String>, String> {
    let path = dir.join(name);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        Ok(m) if !m.is_file() || m.len() > MAX_DATA_FILE => Err(format!(
            "{} is not a regular file of at most {} MiB",
            path.display(),
            MAX_DATA_FILE >> 20
        )),
        Ok(_) => std::fs::read_to_string(&path)
            .map(Some)
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
    }
}

/// Peak resident memory of this process, from /proc (Linux), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time this thread has run, from /proc (Linux): on a shared machine the
/// throughput is stated against it as well as against wall time.
fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let load_start = Instant::now();
    let vars = match &args.vars {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the vars file {}", p.display()))?;
            Vars::from_json(&text).with_context(|| format!("{}", p.display()))?
        }
        None => Vars::suricata_defaults(),
    };
    // Files are merged as one: a signature (gid, sid) in several files is loaded once
    // (the highest rev), the others reported as skipped.
    let mut all = RuleSet::default();
    for p in &args.rules {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the rule file {}", p.display()))?;
        // Data files a rule names (datasets, `filemd5` hash lists) are read next to its
        // file.
        let dir = p.parent().map(|d| d.to_path_buf()).unwrap_or_default();
        let files = |name: &str| data_file(&dir, name);
        all.extend(parse_rules_with_files(
            &p.display().to_string(),
            &text,
            &vars,
            &files,
        ));
    }
    let RuleSet { rules, skipped } = all;
    if rules.is_empty() && !args.no_rules {
        // As Suricata: rules that fail to load are reported, and the capture is still
        // inspected (with no rules, nothing alerts): exit 0, the EVE file is written.
        for s in &skipped {
            eprintln!("{}:{}: skipped: {}", s.file, s.line, s.reason);
        }
        eprintln!(
            "warning: no usable rule in {} (see the reasons above; every rule was skipped or the files are empty): inspecting without rules",
            args.rules
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let out = File::create(&args.eve)
        .with_context(|| format!("cannot create the EVE file {}", args.eve.display()))?;
    let mut out = BufWriter::new(out);
    let loaded = rules.len();
    let cfg = EngineConfig {
        mode: match args.mode {
            ModeArg::Ids if args.nfqueue.is_none() => Mode::Ids,
            _ => Mode::Ips,
        },
        pcap_cnt: args.pcap.is_some(),
        iface: args.iface.clone(),
        flow: mamori_ids::flow::FlowConfig {
            midstream: args.midstream,
            ..Default::default()
        },
        stream: mamori_ids::stream::StreamConfig {
            depth: args.stream_depth,
            ..Default::default()
        },
        eve: args.eve_records.unwrap_or_default(),
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(Detector::new(rules), cfg);
    let load_time = load_start.elapsed();
    let Some(pcap) = args.pcap.clone() else {
        let num = args.nfqueue.unwrap_or_default();
        println!(
            "rules loaded: {loaded}  rules skipped: {}  (load {:.2} s)",
            skipped.len(),
            load_time.as_secs_f64()
        );
        return nfqueue::run(engine, num, args.fail_open, &mut out);
    };
    let file =
        File::open(&pcap).with_context(|| format!("cannot open the capture {}", pcap.display()))?;
    let mut reader = PcapReader::new(BufReader::with_capacity(1 << 20, file))
        .with_context(|| format!("{}", pcap.display()))?;
    let run_start = Instant::now();
    let cpu_start = thread_cpu_secs();
    let mut warning = None;
    for pkt in reader.by_ref() {
        let pkt = match pkt {
            Ok(p) => p,
            Err(e) => {
                // A capture cut short (the usual case of a live capture copied while
                // written): inspect what was read and say so.
                warning = Some(e);
                break;
            }
        };
        engine.process(pkt.ts_micros, pkt.linktype, &pkt.data);
        for ev in engine.take_events() {
            writeln!(out, "{ev}").context("cannot write the EVE file")?;
        }
    }
    engine.finish();
    for ev in engine.take_events() {
        writeln!(out, "{ev}").context("cannot write the EVE file")?;
    }
    out.flush().context("cannot write the EVE file")?;
    let run_time = run_start.elapsed().as_secs_f64();
    let cpu_time = thread_cpu_secs()
        .zip(cpu_start)
        .map(|(end, start)| end - start);
    let s = engine.stats();
    println!(
        "packets: {}  flows: {}  alerts: {}  dropped: {}  decode errors: {}  non-IP: {}",
        s.packets, s.flows, s.alerts, s.dropped_packets, s.decode_errors, s.non_ip
    );
    println!("rules loaded: {}  rules skipped: {}", loaded, skipped.len());
    println!(
        "rule load: {:.2} s  inspection: {:.2} s, {:.3} Gbit/s, {:.0} packets/s  peak memory: {} MiB",
        load_time.as_secs_f64(),
        run_time,
        s.bytes as f64 * 8.0 / run_time.max(1e-9) / 1e9,
        s.packets as f64 / run_time.max(1e-9),
        peak_rss().map_or("?".to_string(), |b| (b / (1024 * 1024)).to_string()),
    );
    if let Some(cpu) = cpu_time {
        println!(
            "inspection CPU time: {:.2} s, {:.3} Gbit/s, {:.0} packets/s",
            cpu,
            s.bytes as f64 * 8.0 / cpu.max(1e-9) / 1e9,
            s.packets as f64 / cpu.max(1e-9),
        );
    }
    for sk in &skipped {
        if args.verbose {
            println!(
                "  skipped {}:{} sid {}: {}",
                sk.file,
                sk.line,
                sk.sid.map_or("-".to_string(), |s| s.to_string()),
                sk.reason
            );
        }
    }
    if !args.verbose {
        for sk in skipped.iter().take(20) {
            println!(
                "  skipped {}:{} sid {}: {}",
                sk.file,
                sk.line,
                sk.sid.map_or("-".to_string(), |s| s.to_string()),
                sk.reason
            );
        }
        if skipped.len() > 20 {
            println!("  ... {} more (--verbose lists all)", skipped.len() - 20);
            let mut by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
            for sk in &skipped {
                *by_reason.entry(sk.reason.as_str()).or_default() += 1;
            }
            let mut counts: Vec<(&str, usize)> = by_reason.into_iter().collect();
            counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            println!("  skipped by reason:");
            for (reason, n) in counts.iter().take(15) {
                println!("  {n:>6}  {reason}");
            }
        }
    }
    if let Some(w) = warning {
        eprintln!(
            "warning: {}: {w}; the packets before it were inspected",
            pcap.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Inline mode: packets from an NFQUEUE, a verdict for each.
mod nfqueue {
    use std::io::Write;
    use std::process::ExitCode;
    use std::time::{SystemTime, UNIX_EPOCH};

    use anyhow::Context;
    use mamori_ids::engine::{Engine, Verdict};
    use mamori_ids::pcap::linktype;

    pub fn run(
        mut engine: Engine,
        num: u16,
        fail_open: bool,
        out: &mut impl Write,
    ) -> anyhow::Result<ExitCode> {
        let mut q = nfq::Queue::open()
            .context("cannot open a netfilter queue socket (hint: run as root, with the nfnetlink_queue module)")?;
        q.bind(num).with_context(|| {
            format!("cannot bind NFQUEUE {num} (hint: is another process bound to it?)")
        })?;
        q.set_fail_open(num, fail_open)
            .with_context(|| format!("cannot set fail-open on NFQUEUE {num}"))?;
        println!(
            "inspecting NFQUEUE {num} ({})",
            if fail_open {
                "fail-open"
            } else {
                "fail-closed"
            }
        );
        let mut overruns = 0u64;
        loop {
            let mut msg = match q.recv() {
                Ok(m) => m,
                // The kernel's queue overflowed (ENOBUFS): packets were lost (or, with
                // --fail-open, accepted uninspected); keep going.
                Err(e) if e.raw_os_error() == Some(105) => {
                    overruns += 1;
                    eprintln!("warning: NFQUEUE {num} overran ({overruns} times so far)");
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("receiving from the netfilter queue"),
            };
            // The arrival time is read here rather than from the message: nfq 0.2.5's
            // `get_timestamp` reads a misaligned pointer (caught by debug assertions).
            let ts = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as i64);
            let verdict = engine.process(ts, linktype::RAW, msg.get_payload());
            msg.set_verdict(match verdict {
                Verdict::Accept => nfq::Verdict::Accept,
                Verdict::Drop => nfq::Verdict::Drop,
            });
            q.verdict(msg)
                .context("sending a verdict to the netfilter queue")?;
            let events = engine.take_events();
            if !events.is_empty() {
                for ev in events {
                    writeln!(out, "{ev}").context("cannot write the EVE file")?;
                }
                out.flush().context("cannot write the EVE file")?;
            }
        }
    }
}
