//! `cargo xtask bench agents`: many simulated agents (the `agent_load` example of the
//! agent crate) against one real `mamori center` (release build) on loopback, on SQLite
//! and on a throwaway PostgreSQL cluster: agents connected and held, reports per second,
//! center memory with none and with all agents connected, and the fan-out time of one
//! change published for every site. A small run (the baseline) goes first in the same
//! invocation. Everything it starts, it stops.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Options of `cargo xtask bench agents`.
#[derive(Debug, Clone)]
pub struct Options {
    pub agents: usize,
    /// The same-run baseline (0: none).
    pub baseline: usize,
    pub databases: Vec<Database>,
    /// Seconds all agents are held connected before publishing.
    pub sustain: u64,
    /// Extra arguments for the generator.
    pub extra: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    pub fn parse(s: &str) -> Result<Vec<Database>> {
        match s {
            "sqlite" => Ok(vec![Database::Sqlite]),
            "postgres" => Ok(vec![Database::Postgres]),
            "both" => Ok(vec![Database::Sqlite, Database::Postgres]),
            _ => bail!("--database {s}: expected sqlite, postgres or both"),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres => "postgres",
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            agents: 10_000,
            baseline: 100,
            databases: vec![Database::Sqlite, Database::Postgres],
            sustain: 40,
            extra: Vec::new(),
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"))
}

fn cargo_release(args: &[&str]) -> Result<()> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet"])
        .args(args)
        .current_dir(root())
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release {} failed", args.join(" "));
    }
    Ok(())
}

/// A free loopback port (bound and released; the center binds it right after).
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Processes and directories to remove when the benchmark ends, however it ends.
struct Cleanup {
    children: Vec<Child>,
    pg: Option<(PathBuf, PathBuf)>,
    dir: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some((bin, data)) = &self.pg {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(bin.join("pg_ctl"))
                .arg("-D")
                .arg(data)
                .args(["-m", "fast", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pg_bin() -> Result<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (/usr/lib/postgresql)")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no initdb under /usr/lib/postgresql/*/bin"))
}

fn run_ok(cmd: &mut Command, what: &str) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// Starts a throwaway PostgreSQL cluster on a loopback port; its URL.
fn start_pg(cleanup: &mut Cleanup) -> Result<String> {
    let bin = pg_bin()?;
    let data = cleanup.dir.join("pg");
    std::fs::create_dir_all(&data)?;
    run_ok(
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&cleanup.dir),
        "chown",
    )?;
    run_ok(
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        "initdb",
    )?;
    let port = free_port()?;
    run_ok(
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(cleanup.dir.join("pg.log"))
            .args(["-w", "-o"])
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=on",
                cleanup.dir.display()
            ))
            .arg("start"),
        "pg_ctl start",
    )?;
    cleanup.pg = Some((bin.clone(), data));
    run_ok(
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .args(["-qc", "CREATE DATABASE bench"]),
        "createdb",
    )?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/bench"))
}

fn http_ok(addr: SocketAddr, path: &str) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .is_err()
    {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

/// One case: a fresh center on `db`, `agents` simulated agents; the generator's figures.
fn case(
    mamori: &Path,
    seed: &Path,
    load: &Path,
    db: Database,
    agents: usize,
    o: &Options,
) -> Result<Value> {
    let dir = std::env::temp_dir().join(format!(
        "mamori-bench-agents-{}-{}-{agents}",
        std::process::id(),
        db.name()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut cleanup = Cleanup {
        children: Vec::new(),
        pg: None,
        dir: dir.clone(),
    };
    let url = match db {
        Database::Sqlite => format!("sqlite://{}/center.db?mode=rwc", dir.display()),
        Database::Postgres => start_pg(&mut cleanup)?,
    };
    let tokens = run_ok(
        Command::new(seed).args([
            &url,
            &(agents.div_ceil(10)).to_string(),
            "1",
            "0",
            "--admin",
        ]),
        "seeding customers and an administrator (bench_seed --admin)",
    )?
    .trim()
    .to_string();
    let (token, publisher) = tokens
        .split_once(' ')
        .ok_or_else(|| anyhow::anyhow!("bench_seed --admin printed {tokens:?}, not two tokens"))?;
    let (panel, agent) = (free_port()?, free_port()?);
    let data = dir.join("data");
    let log = std::fs::File::create(dir.join("center.log"))?;
    let child = Command::new(mamori)
        .arg("center")
        .arg("--data-dir")
        .arg(&data)
        .args(["--database-url", &url])
        .args(["--listen", &format!("127.0.0.1:{panel}")])
        .env("MAMORI_AGENT_LISTEN", format!("127.0.0.1:{agent}"))
        .env("MAMORI_FOUR_EYES", "false")
        .env("MAMORI_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting mamori center")?;
    let pid = child.id();
    cleanup.children.push(child);
    let panel_addr: SocketAddr = format!("127.0.0.1:{panel}").parse()?;
    let agent_addr: SocketAddr = format!("127.0.0.1:{agent}").parse()?;
    let t = Instant::now();
    while !(http_ok(panel_addr, "/readyz")
        && TcpStream::connect_timeout(&agent_addr, Duration::from_millis(500)).is_ok())
    {
        if t.elapsed() > Duration::from_secs(60) {
            let log = std::fs::read_to_string(dir.join("center.log")).unwrap_or_default();
            bail!("the center did not become ready in 60 s; its log:\n{log}");
        }
        if let Ok(Some(s)) = cleanup.children[0].try_wait() {
            let log = std::fs::read_to_string(dir.join("center.log")).unwrap_or_default();
            bail!("the center exited ({s}); its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "== {} with {agents} agents (center pid {pid}, panel :{panel}, agents :{agent})",
        db.name()
    );
    let ca = data.join("ca/ca.pem");
    let out = Command::new(load)
        .args(["--panel", &panel_addr.to_string()])
        .args(["--agent", &agent_addr.to_string()])
        .arg("--ca")
        .arg(&ca)
        .args(["--token", token, "--publisher-token", publisher])
        .args(["--agents", &agents.to_string()])
        .args(["--center-pid", &pid.to_string()])
        .args(["--sustain", &o.sustain.to_string()])
        .args(&o.extra)
        .stderr(Stdio::inherit())
        .output()
        .context("running the agent_load generator")?;
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.join("center.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        bail!(
            "the generator failed ({}); the center's last log lines:\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim())
        .with_context(|| format!("the generator's output is not JSON: {text}"))?;
    drop(cleanup);
    Ok(v)
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(f64::NAN)
}

fn row(db: Database, v: &Value) -> String {
    let n = f(v, "agents");
    let (r0, rn) = (f(v, "center_rss_kib_0"), f(v, "center_rss_kib_n"));
    format!(
        "| {} | {} | {} / {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} / {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
        db.name(),
        n,
        v["min_connected_during_sustain"],
        v["connected_at_end"],
        f(v, "sustain_secs"),
        f(v, "reconnects_during_sustain"),
        f(v, "enrol_connect_secs"),
        r0 / 1024.0,
        rn / 1024.0,
        (rn - r0) / n,
        f(v, "generator_rss_kib") / n,
        f(v, "fanout_p50_s"),
        f(v, "fanout_p99_s"),
        f(v, "fanout_total_s"),
        f(v, "fanout_reports_per_s"),
        f(v, "burst_reports_per_s"),
    )
}

/// Runs the benchmark; the table (Markdown) and the raw figures.
pub fn agents(o: &Options) -> Result<String> {
    let want = (o.agents.max(o.baseline) as u64) * 3 + 4096;
    if let Ok((soft, hard)) = rlimit::Resource::NOFILE.get()
        && soft < want
    {
        // Inherited by the center it starts: one descriptor per agent connection.
        rlimit::Resource::NOFILE
            .set(want.min(hard), hard)
            .context("raising the open-files limit")?;
    }
    cargo_release(&["-p", "mamori", "--bin", "mamori"])?;
    cargo_release(&["-p", "mamori-center", "--example", "bench_seed"])?;
    cargo_release(&["-p", "mamori-agent", "--example", "agent_load"])?;
    let t = target_dir().join("release");
    let (mamori, seed, load) = (
        t.join("mamori"),
        t.join("examples/bench_seed"),
        t.join("examples/agent_load"),
    );
    let mut rows = Vec::new();
    let mut raw = Vec::new();
    for &db in &o.databases {
        for n in [o.baseline, o.agents] {
            if n == 0 {
                continue;
            }
            let v = case(&mamori, &seed, &load, db, n, o)?;
            rows.push(row(db, &v));
            raw.push(format!("{} {n}: {v}", db.name()));
        }
    }
    let mut out = String::from(
        "| database | agents | connected min / at end | held s | reconnects | enrol+connect s | center RSS 0 MiB | center RSS N MiB | center KiB/agent / generator KiB/agent | fan-out p50 s | fan-out p99 s | fan-out total s | reports/s (fan-out) | reports/s (burst) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out.push_str("\nraw figures:\n");
    for r in raw {
        out.push_str(&r);
        out.push('\n');
    }
    Ok(out)
}
