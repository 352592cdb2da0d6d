//! `mamori agent`: the managed agent (`enrol`, then `run`: reconcile with the center over
//! mutual TLS), and standalone enforcement on a gateway. `apply` compiles a policy (or takes
//! a ready nftables ruleset) and applies it atomically with safe apply; `confirm` keeps
//! it; `rollback` restores the previous one; `run-lb` health-checks the policy's load
//! balancers and keeps each one's backends limited to the healthy ones.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use mamori_agent::host::nft::{Nft, Ruleset};
use mamori_agent::host::{probe, process};
use mamori_agent::lb::{self, Health, Thresholds};
use mamori_agent::policy_file;
use mamori_agent::safe_apply::{Millis, Note};
use mamori_agent::standalone::{Standalone, StandaloneError};
use mamori_agent::state::StateDir;
use mamori_agent::{enrol, reconcile};

const DEFAULT_STATE_DIR: &str = "/var/lib/mamori/agent";

/// The environment variable an enrolment token may come in.
const TOKEN_ENV: &str = "MAMORI_AGENT_TOKEN";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Enrol with the center: make a key pair, send a signing request with the one-time
    /// token, and keep the certificate in the state directory.
    Enrol {
        /// The center's agent listener, https://HOST:PORT.
        #[arg(long)]
        center: String,
        /// The enrolment token the center printed (SECRET.CA-FINGERPRINT; it may start
        /// with '-'). Other local users can read command lines: prefer --token-file or
        /// MAMORI_AGENT_TOKEN.
        #[arg(long, allow_hyphen_values = true, conflicts_with = "token_file")]
        token: Option<String>,
        /// A file holding the enrolment token (mode 0600).
        #[arg(long)]
        token_file: Option<PathBuf>,
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
    },
    /// Run the managed agent: long-poll the center, apply each new generation with safe
    /// apply, report, check for drift, renew the certificate (runs until killed). With
    /// --center and a token (--token-file, MAMORI_AGENT_TOKEN or --token) it enrols
    /// first when the state directory holds no agent.
    Run {
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
        /// Talk to this center (enrol there, or use another center process of the same
        /// database and CA instead of the enrolled one).
        #[arg(long)]
        center: Option<String>,
        /// Enrol with this token first when not enrolled yet (prefer --token-file or
        /// MAMORI_AGENT_TOKEN: other local users can read command lines).
        #[arg(long, allow_hyphen_values = true, conflicts_with = "token_file")]
        token: Option<String>,
        /// A file holding the enrolment token (mode 0600), used when not enrolled yet.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Where the gateway settings' fragments (rsyslog, snmpd, chrony, resolv) go.
        #[arg(long, default_value = "/etc/mamori/agent.d")]
        settings_dir: PathBuf,
        /// Roll back an apply not proven within this time.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        confirm_within: Duration,
        /// The longest wait of one long-poll.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        poll_wait: Duration,
        /// How often the live ruleset is compared with the applied one.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        drift_interval: Duration,
        /// Report drift but leave it (by default the applied ruleset is put back).
        #[arg(long)]
        keep_drift: bool,
        /// Renew the certificate when less than this is left of its validity.
        #[arg(long, default_value = "10d", value_parser = parse_duration)]
        renew_before: Duration,
    },
    /// Show the managed agent's identity, applied generation and queued reports.
    Show {
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
    },
    /// Compile a policy and apply it atomically; with --confirm-within, roll back by
    /// itself unless `mamori agent confirm` runs in time.
    Apply {
        /// A policy file (.toml), or a ready ruleset: nft text (.nft) or nftables JSON (.json).
        file: PathBuf,
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
        /// Roll back unless confirmed within this time (e.g. 60s, 500ms, 2m).
        #[arg(long, value_parser = parse_duration)]
        confirm_within: Option<Duration>,
    },
    /// Keep the applied ruleset that is waiting for confirmation.
    Confirm {
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
    },
    /// Restore the previous ruleset now.
    Rollback {
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
    },
    /// Show the current, previous and pending revisions.
    Status {
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
    },
    /// (internal) Wait for a revision's confirmation deadline, then roll back if needed.
    #[command(hide = true)]
    WaitConfirm {
        #[arg(long)]
        state_dir: PathBuf,
        #[arg(long)]
        revision: u64,
    },
    /// Health-check the load balancers of a policy and keep each one's DNAT rule on its
    /// healthy backends (runs until killed).
    RunLb {
        /// The policy file (the one applied).
        file: PathBuf,
        /// Only these balancers (repeat; default: all of them).
        #[arg(long = "balancer")]
        balancers: Vec<String>,
        /// Timeout of one check.
        #[arg(long, default_value = "500ms", value_parser = parse_duration)]
        timeout: Duration,
        /// Consecutive successes that bring a backend back.
        #[arg(long, default_value_t = 2)]
        rise: u32,
        /// Consecutive failures that take a backend out.
        #[arg(long, default_value_t = 2)]
        fall: u32,
        /// Stop after this many rounds (default: run until killed).
        #[arg(long)]
        rounds: Option<u64>,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Sub::Enrol {
            center,
            token,
            token_file,
            state_dir,
        } => {
            let Some(token) = token_of(token, token_file.as_deref())? else {
                bail!(
                    "no enrolment token\nhint: pass --token-file FILE (a file only root reads), or set {TOKEN_ENV}"
                );
            };
            let id = enrol::enrol(&center, &token, &StateDir::new(&state_dir))?;
            println!(
                "enrolled: site {} unit {} at {} (state in {})",
                id.site_id,
                id.equipment_id,
                id.center,
                state_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Sub::Run {
            state_dir,
            center,
            token,
            token_file,
            settings_dir,
            confirm_within,
            poll_wait,
            drift_interval,
            keep_drift,
            renew_before,
        } => {
            let dir = StateDir::new(&state_dir);
            let mut enrolled_now = false;
            if !dir.identity().exists() {
                match (&center, token_of(token, token_file.as_deref())?) {
                    (Some(c), Some(t)) => {
                        let id = enrol::enrol(c, &t, &dir)?;
                        enrolled_now = true;
                        eprintln!(
                            "mamori agent: enrolled: site {} unit {}",
                            id.site_id, id.equipment_id
                        );
                    }
                    _ => bail!(
                        "{} holds no enrolled agent\nhint: pass --center https://HOST:PORT --token-file FILE (or set {TOKEN_ENV}), or run `mamori agent enrol` first",
                        state_dir.display()
                    ),
                }
            }
            let opts = reconcile::Options {
                settings_dir,
                confirm_within,
                poll_wait,
                drift_interval,
                restore_drift: !keep_drift,
                // Just enrolled: the identity names that center already.
                center: if enrolled_now { None } else { center },
                renew_before,
            };
            let mut agent = reconcile::Agent::start(dir, Nft::default(), opts)?;
            let stop = std::sync::atomic::AtomicBool::new(false);
            agent.run(&stop);
            Ok(ExitCode::SUCCESS)
        }
        Sub::Show { state_dir } => {
            let dir = StateDir::new(&state_dir);
            let id = dir.load_identity()?;
            let s = dir.load_reconcile()?;
            println!("center: {}", id.center);
            println!("site: {}  unit: {}", id.site_id, id.equipment_id);
            println!("applied generation: {}", s.applied_generation());
            println!("newest generation tried: {}", s.attempted);
            match s.safe.pending {
                Some(p) => println!(
                    "pending apply: revision {} (until {} Unix ms)",
                    p.revision, p.deadline.0
                ),
                None => println!("pending apply: none"),
            }
            println!("queued reports: {}", s.queue.len());
            Ok(ExitCode::SUCCESS)
        }
        Sub::Apply {
            file,
            state_dir,
            confirm_within,
        } => apply(&file, &state_dir, confirm_within),
        Sub::Confirm { state_dir } => {
            let r = open(&state_dir)?.confirm(now())?;
            println!("{}", describe(r.note));
            Ok(ExitCode::SUCCESS)
        }
        Sub::Rollback { state_dir } => {
            let r = open(&state_dir)?.rollback(now())?;
            println!("{}", describe(r.note));
            Ok(ExitCode::SUCCESS)
        }
        Sub::Status { state_dir } => {
            let s = open(&state_dir)?.state()?;
            println!("current revision: {}", s.current);
            match s.previous {
                Some(p) => println!("previous revision: {p}"),
                None => println!("previous revision: none"),
            }
            match s.pending {
                Some(p) => println!(
                    "pending: revision {} rolls back to {} unless confirmed by {} (Unix ms)",
                    p.revision, p.restore, p.deadline.0
                ),
                None => println!("pending: none"),
            }
            match Nft::default().list_json()? {
                Some(live) => println!(
                    "live table inet mamori: {} rules",
                    mamori_agent::host::nft::rule_count(&live)
                ),
                None => println!("live table inet mamori: none"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Sub::WaitConfirm {
            state_dir,
            revision,
        } => wait_confirm(&state_dir, revision),
        Sub::RunLb {
            file,
            balancers,
            timeout,
            rise,
            fall,
            rounds,
        } => run_lb(
            &file,
            &balancers,
            timeout,
            Thresholds { rise, fall },
            rounds,
        ),
    }
}

/// The enrolment token: from --token, else --token-file, else `MAMORI_AGENT_TOKEN`.
fn token_of(token: Option<String>, file: Option<&Path>) -> anyhow::Result<Option<String>> {
    if let Some(t) = token {
        return Ok(Some(t));
    }
    if let Some(f) = file {
        let (t, warning) = enrol::read_token_file(f)?;
        if let Some(w) = warning {
            eprintln!("mamori agent: {w}");
        }
        return Ok(Some(t));
    }
    match std::env::var(TOKEN_ENV) {
        Ok(t) if !t.trim().is_empty() => Ok(Some(t.trim().to_string())),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{TOKEN_ENV} is not valid text"),
    }
}

fn open(dir: &Path) -> anyhow::Result<Standalone> {
    Ok(Standalone::open(dir, Nft::default())?)
}

fn now() -> Millis {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Millis(d.as_millis() as u64)
}

fn describe(note: Note) -> String {
    match note {
        Note::Applied {
            revision,
            deadline: None,
        } => format!("applied revision {revision}"),
        Note::Applied {
            revision,
            deadline: Some(d),
        } => {
            let left = d.0.saturating_sub(now().0) as f64 / 1000.0;
            format!(
                "applied revision {revision}; it rolls back in {left:.1} s unless `mamori agent confirm` runs"
            )
        }
        Note::Confirmed { revision } => format!("confirmed revision {revision}"),
        Note::RolledBack { from, to } => format!("rolled back from revision {from} to {to}"),
        Note::Nothing => "nothing to do".into(),
        Note::NotYet => "the deadline has not come yet".into(),
    }
}

/// Reads FILE as a ready ruleset (.nft, .json) or compiles it as a policy.
fn load_ruleset(file: &Path) -> anyhow::Result<Ruleset> {
    let read =
        || std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()));
    match file.extension().and_then(|e| e.to_str()) {
        Some("nft") => Ok(Ruleset::Nft(read()?)),
        Some("json") => Ok(Ruleset::Json(read()?)),
        _ => compile_policy(file),
    }
}

fn compile_policy(file: &Path) -> anyhow::Result<Ruleset> {
    let loaded = policy_file::load(file)?;
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    let mut p = loaded.policy;
    if let Some(note) = Nft::default().fit_fast_path(&mut p)? {
        eprintln!("{note}");
    }
    Ok(policy_file::ruleset(&p))
}

fn apply(file: &Path, dir: &Path, within: Option<Duration>) -> anyhow::Result<ExitCode> {
    // Compile before touching anything: an invalid policy leaves the running ruleset alone.
    let ruleset = load_ruleset(file)?;
    let sa = open(dir)?;
    let exe = std::env::current_exe().context("cannot find the agent's own executable")?;
    let log = sa.waiter_log();
    let state_dir = dir.to_path_buf();
    let report = sa
        .apply(
            &ruleset,
            &file.display().to_string(),
            now(),
            within.map(|d| d.as_millis() as u64),
            |revision, _deadline| {
                process::spawn_detached(
                    &exe,
                    [
                        "agent".as_ref(),
                        "wait-confirm".as_ref(),
                        "--state-dir".as_ref(),
                        state_dir.as_os_str(),
                        "--revision".as_ref(),
                        revision.to_string().as_ref(),
                    ] as [&std::ffi::OsStr; 6],
                    &log,
                )
                .map(|_| ())
                .map_err(|e| e.to_string())
            },
        )
        .with_context(|| format!("applying {}", file.display()))?;
    println!("{}", describe(report.note));
    Ok(ExitCode::SUCCESS)
}

fn wait_confirm(dir: &Path, revision: u64) -> anyhow::Result<ExitCode> {
    let sa = open(dir)?;
    let mut failures = 0;
    loop {
        let r = match sa.on_deadline(revision, now()) {
            Ok(r) => r,
            // A failed rollback leaves the revision pending: try again, it is the one
            // thing standing between the gateway and a lock-out.
            Err(e @ StandaloneError::Nft(_)) if failures < 30 => {
                failures += 1;
                eprintln!("revision {revision}: rollback failed, retrying in 1 s: {e}");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        match r.wait_until {
            Some(at) => {
                let left = at.0.saturating_sub(now().0);
                std::thread::sleep(Duration::from_millis(left.max(1)));
            }
            None => {
                println!("revision {revision}: {}", describe(r.note));
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}

fn run_lb(
    file: &Path,
    only: &[String],
    timeout: Duration,
    th: Thresholds,
    rounds: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let loaded = policy_file::load(file)?;
    let p = &loaded.policy;
    for name in only {
        if !p.load_balancers.iter().any(|l| &l.name == name) {
            bail!("{}: no load balancer named `{name}`", file.display());
        }
    }
    let chosen: Vec<&mamori_policy::LoadBalancer> = p
        .load_balancers
        .iter()
        .filter(|l| only.is_empty() || only.contains(&l.name))
        .collect();
    if chosen.is_empty() {
        bail!(
            "{}: the policy has no load balancer to check",
            file.display()
        );
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = chosen
            .iter()
            .map(|lb| s.spawn(move || run_one_lb(p, lb, timeout, th, rounds)))
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a health-check loop panicked"))??;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_one_lb(
    p: &mamori_policy::Policy,
    lb: &mamori_policy::LoadBalancer,
    timeout: Duration,
    th: Thresholds,
    rounds: Option<u64>,
) -> anyhow::Result<()> {
    let nft = Nft::default();
    let (targets, check, interval_ms) = lb::checks_of(lb);
    let interval = Duration::from_millis(interval_ms.max(1));
    let mut health = Health::new(targets.len(), th);
    let start = std::time::Instant::now();
    let mut round: u64 = 0;
    let name = &lb.name;
    loop {
        let results: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = targets
                .iter()
                .map(|t| {
                    let check = &check;
                    s.spawn(move || probe::check(*t, check, timeout))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(false))
                .collect()
        });
        let mut changed = false;
        for (i, ok) in results.iter().enumerate() {
            if health.record(i, *ok) {
                changed = true;
                let b = &lb.backends[i];
                let state = if health.is_up(i) { "up" } else { "down" };
                println!(
                    "balancer {name}: backend {}:{} is {state}",
                    b.address, b.port
                );
            }
        }
        // Push on every change, and every round while a backend is out: an apply in the
        // meantime puts the compiled rule (all backends) back.
        let degraded = health.up().len() != targets.len();
        if changed || degraded {
            let healthy: Vec<(std::net::IpAddr, u16)> = health
                .up()
                .into_iter()
                .map(|i| (lb.backends[i].address, lb.backends[i].port))
                .collect();
            let update = mamori_policy::lb_update(p, name, &healthy)?;
            match nft.run_script(&update.text, false, false) {
                Ok(()) if changed => {
                    println!("balancer {name}: {} healthy backends", healthy.len())
                }
                Ok(()) => {}
                // Keep checking: the table may be being replaced by an apply.
                Err(e) => eprintln!("balancer {name}: update failed: {e}"),
            }
        }
        round += 1;
        if rounds.is_some_and(|n| round >= n) {
            return Ok(());
        }
        // Fixed ticks: a backend that dies is seen down within `fall` intervals.
        let next = interval * u32::try_from(round).unwrap_or(u32::MAX);
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    mamori_agent::duration::parse(s)
}
