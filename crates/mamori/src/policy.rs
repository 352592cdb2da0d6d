//! `mamori policy`: check, compile and evaluate gateway policies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use mamori_policy as policy;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Report every problem in a policy (exit status 1 when there are errors).
    Check {
        /// The policy document (TOML).
        file: PathBuf,
        #[command(flatten)]
        lists: ListArgs,
        /// Print the diagnostics as JSON.
        #[arg(long)]
        json: bool,
        /// The operations center's addresses or networks (e.g. the center's
        /// `operations_center`): a warning when `[management] center` leaves one out,
        /// which the center refuses in a revision.
        #[arg(long, value_delimiter = ',', value_name = "ADDR,...")]
        management: Vec<String>,
    },
    /// Print the nftables ruleset of a policy.
    Compile {
        /// The policy document (TOML).
        file: PathBuf,
        #[command(flatten)]
        lists: ListArgs,
        /// Output format: libnftables JSON or `nft` text.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// One rule per object, linear (a benchmark baseline, not for use).
        #[arg(long)]
        naive: bool,
    },
    /// Say what the compiled ruleset does with one packet, without touching the system.
    Eval {
        /// The policy document (TOML).
        file: PathBuf,
        #[command(flatten)]
        lists: ListArgs,
        /// E.g. "tcp 192.0.2.10:40000 -> 198.51.100.7:443 in lan [out wan] [established]".
        #[arg(long)]
        packet: String,
        /// Healthy backends of a load balancer, NAME=ADDR:PORT,...; unnamed balancers
        /// have all backends healthy.
        #[arg(long = "healthy", value_name = "NAME=ADDR:PORT,...")]
        healthy: Vec<String>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Time the compiler on generated policies of growing size.
    Bench {
        /// Address-object counts to measure.
        #[arg(long, value_delimiter = ',', default_value = "10,1000,10000,100000")]
        objects: Vec<usize>,
        /// Rules per policy.
        #[arg(long, default_value_t = 1000)]
        rules: usize,
        /// Write each generated policy and its compiled ruleset (nft text) into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Json,
    Nft,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Contents of an external list, NAME=FILE (overrides the list's `file`).
    #[arg(long = "list", value_name = "NAME=FILE")]
    list: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Check {
            file,
            lists,
            json,
            management,
        } => {
            let mut required = Vec::new();
            for a in management
                .iter()
                .map(|a| a.trim())
                .filter(|a| !a.is_empty())
            {
                required.push(policy::addr::parse_range(a).with_context(|| {
                    format!("bad --management `{a}`: write addresses or networks, e.g. 192.0.2.0/24,2001:db8::/64")
                })?);
            }
            let (src, mut checked) = load(&file, &lists)?;
            if let Some(gap) = checked
                .policy
                .as_ref()
                .and_then(|p| policy::management_gap(&src, p, &required, policy::Severity::Warning))
            {
                checked.diagnostics.push(gap.diagnostic);
            }
            if json {
                println!(
                    "{}",
                    policy::serde_json::to_string_pretty(&checked.diagnostics)?
                );
            } else {
                for d in &checked.diagnostics {
                    eprintln!("{}", d.display(&file.display().to_string()));
                }
                let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
                let warnings = checked.diagnostics.len() - errors;
                eprintln!(
                    "{}: {errors} error(s), {warnings} warning(s)",
                    file.display()
                );
            }
            Ok(if checked.has_errors() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Compile {
            file,
            lists,
            format,
            naive,
        } => {
            let p = checked_policy(&file, &lists)?;
            let mode = if naive {
                policy::Mode::Naive
            } else {
                policy::Mode::Sets
            };
            let c = policy::compile(&p, mode);
            match format {
                Format::Json => println!("{}", c.to_json_string()),
                Format::Nft => print!("{}", c.to_text()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            file,
            lists,
            packet,
            healthy,
            json,
        } => {
            let p = checked_policy(&file, &lists)?;
            let pkt = policy::Packet::parse(&packet)
                .with_context(|| format!("bad --packet `{packet}`"))?;
            let mut health = policy::Health::all_healthy();
            for h in &healthy {
                let (name, list) = h
                    .split_once('=')
                    .with_context(|| format!("bad --healthy `{h}`: write NAME=ADDR:PORT,..."))?;
                let mut set = Vec::new();
                for b in list.split(',').filter(|b| !b.is_empty()) {
                    let sa: std::net::SocketAddr =
                        b.parse().with_context(|| format!("bad backend `{b}` in --healthy: write 192.0.2.21:443 or [2001:db8::1]:443"))?;
                    set.push((sa.ip(), sa.port()));
                }
                health.set(name, set);
            }
            let outcome = policy::eval(&p, &pkt, &health).context("cannot evaluate the packet")?;
            if json {
                println!("{}", policy::serde_json::to_string_pretty(&outcome)?);
            } else {
                print!("{outcome}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            objects,
            rules,
            out,
        } => bench::run(&objects, rules, out.as_deref()),
    }
}

/// Reads the document, and each external list it declares from `--list` or the list's
/// `file` (relative to the policy), and checks it.
fn load(file: &Path, lists: &ListArgs) -> anyhow::Result<(String, policy::Checked)> {
    let src = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read policy {}", file.display()))?;
    let mut given = std::collections::BTreeMap::new();
    for l in &lists.list {
        let (name, path) = l
            .split_once('=')
            .with_context(|| format!("bad --list `{l}`: write NAME=FILE"))?;
        given.insert(name.to_string(), PathBuf::from(path));
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let mut declared = Vec::new();
    let checked = policy::check_with(&src, &mut |decl: &policy::ListDecl| {
        declared.push(decl.name.clone());
        let path = match (given.get(&decl.name), &decl.file) {
            (Some(p), _) => p.clone(),
            (None, Some(f)) => base.join(f),
            (None, None) => return Ok(None),
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        policy::parse_list(&text).map(Some).map_err(|errors| {
            let lines: Vec<String> = errors
                .iter()
                .map(|(line, e)| format!("{}:{line}: {e}", path.display()))
                .collect();
            format!("bad entries:\n{}", lines.join("\n"))
        })
    });
    let toml_ok = !checked
        .diagnostics
        .iter()
        .any(|d| d.message.starts_with("not valid TOML"));
    if let Some(name) = given.keys().find(|n| toml_ok && !declared.contains(n)) {
        bail!("--list names `{name}`, which the policy does not declare under [lists]");
    }
    Ok((src, checked))
}

fn checked_policy(file: &Path, lists: &ListArgs) -> anyhow::Result<policy::Policy> {
    let (_, checked) = load(file, lists)?;
    for d in checked.diagnostics.iter().filter(|d| d.is_error()) {
        eprintln!("{}", d.display(&file.display().to_string()));
    }
    match checked.policy {
        Some(p) => Ok(p),
        None => bail!(
            "{} has errors; nothing was compiled\nhint: run `mamori policy check {}` for every problem",
            file.display(),
            file.display()
        ),
    }
}

/// `mamori policy bench`: compile time of generated policies, with the naive baseline.
mod bench {
    use std::path::Path;
    use std::process::ExitCode;
    use std::time::Instant;

    use anyhow::{Context, bail};
    use mamori_policy as policy;

    pub fn run(objects: &[usize], rules: usize, out: Option<&Path>) -> anyhow::Result<ExitCode> {
        println!(
            "{:>8} {:>6} {:>9} {:>10} {:>8} {:>8} {:>9} {:>9} {:>11}",
            "objects",
            "rules",
            "check ms",
            "compile ms",
            "text ms",
            "json ms",
            "nft rules",
            "naive ms",
            "naive rules"
        );
        for &n in objects {
            let src = policy::generate::big_policy(n, rules);
            let t0 = Instant::now();
            let checked = policy::check(&src, &policy::Lists::new());
            let t1 = Instant::now();
            let Some(p) = checked.policy else {
                bail!(
                    "the generated policy with {n} objects has errors: {:?}",
                    checked.diagnostics.first()
                );
            };
            let c = policy::compile(&p, policy::Mode::Sets);
            let t2 = Instant::now();
            let text = c.to_text();
            let t3 = Instant::now();
            let json = c.to_json_string();
            let t4 = Instant::now();
            let naive = policy::compile(&p, policy::Mode::Naive);
            let naive_text = naive.to_text();
            let t5 = Instant::now();
            let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
            println!(
                "{n:>8} {rules:>6} {:>9.1} {:>10.1} {:>8.1} {:>8.1} {:>9} {:>9.1} {:>11}",
                ms(t0, t1),
                ms(t1, t2),
                ms(t2, t3),
                ms(t3, t4),
                c.rule_count(),
                ms(t4, t5),
                naive.rule_count()
            );
            if let Some(dir) = out {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                std::fs::write(dir.join(format!("policy-{n}.toml")), &src)?;
                std::fs::write(dir.join(format!("ruleset-{n}.nft")), &text)?;
                std::fs::write(dir.join(format!("ruleset-{n}.json")), &json)?;
                std::fs::write(dir.join(format!("ruleset-{n}-naive.nft")), &naive_text)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
