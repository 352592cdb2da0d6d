//! Development tasks: `cargo xtask <task>`. The tidy checks live in `tidy.rs` and run as
//! tests (`cargo test -p xtask`).

use std::process::ExitCode;

use xtask::testbed::{self, Host, Testbed};

#[cfg(test)]
mod tidy;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  testbed up [--name NAME]     build the netns testbed (namespaces mtb-NAME-*, default NAME=dev)
  testbed down [--name NAME]   delete a testbed (every mtb-* namespace without --name)
  bench policy [--objects 10,1000,10000,100000] [--rules 1000] [--seconds 10]
               [--repeat 3] [--no-throughput]
                               compile+apply time of big policies; iperf3 TCP and
                               small-UDP throughput across the gateway: empty ruleset,
                               the compiled policy, and the naive compilation
  bench agents [--agents 10000] [--baseline 100] [--database sqlite|postgres|both]
               [--sustain 40] [-- GENERATOR-OPTIONS...]
                               simulated agents (mutual TLS, long-poll, reports) against a
                               release center: connections held, memory per agent,
                               fan-out p50/p99 of one change for every site, reports/s
  bench differential [--seed N] [--start 0] [--policies 50] [--packets 20] [--ipv6]
                               the differential test (evaluator vs kernel), longer
  help                         this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["help"] => {
            println!("{USAGE}");
            Ok(())
        }
        ["testbed", "up", rest @ ..] => name_arg(rest).and_then(|n| testbed_up(n.unwrap_or("dev"))),
        ["testbed", "down", rest @ ..] => name_arg(rest).and_then(testbed_down),
        ["bench", "policy", rest @ ..] => bench_policy(rest),
        ["bench", "differential", rest @ ..] => bench_differential(rest),
        ["bench", "agents", rest @ ..] => bench_agents(rest),
        [other, ..] => Err(anyhow::anyhow!(
            "unknown task `{}` (try `cargo xtask help`)",
            other
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn name_arg<'a>(rest: &[&'a str]) -> anyhow::Result<Option<&'a str>> {
    match rest {
        [] => Ok(None),
        ["--name", n] => Ok(Some(n)),
        _ => anyhow::bail!("expected `--name NAME`, got {rest:?}"),
    }
}

fn testbed_up(name: &str) -> anyhow::Result<()> {
    let tb = Testbed::up_named(name)?;
    println!("testbed up; namespaces:");
    for h in Host::ALL {
        println!("  {:<7} {}", h.short(), tb.ns(h));
    }
    println!(
        "run a command inside: ip netns exec {} COMMAND; remove with: cargo xtask testbed down --name {name}",
        tb.ns(Host::Gw)
    );
    tb.keep();
    Ok(())
}

fn testbed_down(name: Option<&str>) -> anyhow::Result<()> {
    let deleted = testbed::down(name)?;
    if deleted.is_empty() {
        println!("no testbed namespaces found");
    }
    for ns in deleted {
        println!("deleted {ns}");
    }
    Ok(())
}

/// `--flag VALUE` pairs and lone `--switch`es.
fn flags<'a>(rest: &[&'a str], switches: &[&str]) -> anyhow::Result<Vec<(&'a str, &'a str)>> {
    let mut out = Vec::new();
    let mut it = rest.iter();
    while let Some(f) = it.next() {
        if switches.contains(f) {
            out.push((*f, ""));
        } else if f.starts_with("--") {
            let v = it
                .next()
                .ok_or_else(|| anyhow::anyhow!("`{f}` needs a value"))?;
            out.push((*f, *v));
        } else {
            anyhow::bail!("unexpected `{f}` (try `cargo xtask help`)");
        }
    }
    Ok(out)
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> anyhow::Result<T> {
    v.parse()
        .map_err(|_| anyhow::anyhow!("`{flag} {v}`: expected a number"))
}

fn bench_policy(rest: &[&str]) -> anyhow::Result<()> {
    let mut o = xtask::bench::Options::default();
    for (f, v) in flags(rest, &["--no-throughput"])? {
        match f {
            "--objects" => {
                o.objects = v
                    .split(',')
                    .map(|n| num(f, n))
                    .collect::<anyhow::Result<_>>()?
            }
            "--rules" => o.rules = num(f, v)?,
            "--seconds" => o.seconds = num(f, v)?,
            "--repeat" => o.repeat = num(f, v)?,
            "--throughput-objects" => o.throughput_objects = num(f, v)?,
            "--no-throughput" => o.no_throughput = true,
            _ => anyhow::bail!("unknown option `{f}` of `bench policy`"),
        }
    }
    let report = xtask::bench::policy(&o)?;
    println!("{report}");
    Ok(())
}

fn bench_agents(rest: &[&str]) -> anyhow::Result<()> {
    let mut o = xtask::bench_agents::Options::default();
    let (ours, extra) = match rest.iter().position(|a| *a == "--") {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    o.extra = extra.iter().map(|s| s.to_string()).collect();
    for (f, v) in flags(ours, &[])? {
        match f {
            "--agents" => o.agents = num(f, v)?,
            "--baseline" => o.baseline = num(f, v)?,
            "--database" => o.databases = xtask::bench_agents::Database::parse(v)?,
            "--sustain" => o.sustain = num(f, v)?,
            _ => anyhow::bail!("unknown option `{f}` of `bench agents`"),
        }
    }
    println!("{}", xtask::bench_agents::agents(&o)?);
    Ok(())
}

fn bench_differential(rest: &[&str]) -> anyhow::Result<()> {
    let (mut seed, mut start, mut policies, mut packets) = (1u64, 0usize, 50usize, 20usize);
    let mut ipv6 = false;
    for (f, v) in flags(rest, &["--ipv6"])? {
        match f {
            "--seed" => seed = num(f, v)?,
            "--policies" => policies = num(f, v)?,
            "--start" => start = num(f, v)?,
            "--ipv6" => ipv6 = true,
            "--packets" => packets = num(f, v)?,
            _ => anyhow::bail!("unknown option `{f}` of `bench differential`"),
        }
    }
    let mamori = xtask::bench::build_release_mamori()?;
    let tb = Testbed::up_named(&format!("diff{}", std::process::id()))?;
    let t0 = std::time::Instant::now();
    let sum = xtask::differential::run_family(
        &tb,
        &mamori,
        seed,
        start..start + policies,
        packets,
        false,
        ipv6,
    )?;
    println!(
        "seed {seed}: {} ({:.0} s)",
        sum.report(),
        t0.elapsed().as_secs_f64()
    );
    if !sum.disagreements.is_empty() {
        anyhow::bail!("the evaluator and the kernel disagree");
    }
    Ok(())
}
