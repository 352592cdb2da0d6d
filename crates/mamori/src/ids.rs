//! `mamori ids`: inspect a capture file with Suricata-format rules and write EVE JSON.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use mamori_ids::detect::Detector;
use mamori_ids::engine::{Engine, EngineConfig, Mode};
use mamori_ids::pcap::PcapReader;
use mamori_ids::rules::{Vars, parse_rules};

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
    #[arg(long, value_name = "FILE")]
    pub pcap: PathBuf,
    /// Rule file (Suricata format); may be given several times.
    #[arg(long = "rules", value_name = "FILE", required = true)]
    pub rules: Vec<PathBuf>,
    /// Address and port groups as JSON ({"address-groups": {...}, "port-groups": {...}});
    /// Suricata's defaults otherwise.
    #[arg(long, value_name = "FILE")]
    pub vars: Option<PathBuf>,
    /// Where to write the EVE JSON records (one per line).
    #[arg(long, value_name = "FILE")]
    pub eve: PathBuf,
    /// ids (observe) or ips (drop rules drop).
    #[arg(long, value_enum, default_value = "ids")]
    pub mode: ModeArg,
    /// Accept TCP sessions whose handshake is not in the capture.
    #[arg(long)]
    pub midstream: bool,
    /// Print each skipped rule with its reason.
    #[arg(long)]
    pub verbose: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let vars = match &args.vars {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the vars file {}", p.display()))?;
            Vars::from_json(&text).with_context(|| format!("{}", p.display()))?
        }
        None => Vars::suricata_defaults(),
    };
    let mut rules = Vec::new();
    let mut skipped = Vec::new();
    for p in &args.rules {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the rule file {}", p.display()))?;
        let set = parse_rules(&p.display().to_string(), &text, &vars);
        rules.extend(set.rules);
        skipped.extend(set.skipped);
    }
    if rules.is_empty() {
        for s in &skipped {
            eprintln!("{}:{}: skipped: {}", s.file, s.line, s.reason);
        }
        bail!(
            "no usable rule in {} (hint: see the reasons above; every rule was skipped or the files are empty)",
            args.rules
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let file = File::open(&args.pcap)
        .with_context(|| format!("cannot open the capture {}", args.pcap.display()))?;
    let mut reader = PcapReader::new(BufReader::with_capacity(1 << 20, file))
        .with_context(|| format!("{}", args.pcap.display()))?;
    let out = File::create(&args.eve)
        .with_context(|| format!("cannot create the EVE file {}", args.eve.display()))?;
    let mut out = BufWriter::new(out);
    let loaded = rules.len();
    let cfg = EngineConfig {
        mode: match args.mode {
            ModeArg::Ids => Mode::Ids,
            ModeArg::Ips => Mode::Ips,
        },
        pcap_cnt: true,
        flow: mamori_ids::flow::FlowConfig {
            midstream: args.midstream,
            ..Default::default()
        },
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(Detector::new(rules), cfg);
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
    let s = engine.stats();
    println!(
        "packets: {}  flows: {}  alerts: {}  dropped: {}  decode errors: {}",
        s.packets, s.flows, s.alerts, s.dropped_packets, s.decode_errors
    );
    println!("rules loaded: {}  rules skipped: {}", loaded, skipped.len());
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
        }
    }
    if let Some(w) = warning {
        eprintln!(
            "warning: {}: {w}; the packets before it were inspected",
            args.pcap.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
