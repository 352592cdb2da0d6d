//! The real `mamori center` and its two listeners, over loopback: under an open-file
//! limit of 1,024, thousands of idle connections to both listeners leave /healthz and an
//! enrolled agent (the agent's own client) served; accept failures (the process out of
//! descriptors) are logged once per burst; SIGTERM with a waiting long-poll answers it
//! at once and the process exits within about a second (SQLite and PostgreSQL).

// PostgreSQL is installed software: with the feature `external` the real cluster, without
// it a stand-in that cannot be made (its tests exist only with the feature).
#[cfg_attr(feature = "external", path = "../../center/tests/support/pg.rs")]
#[cfg_attr(
    not(feature = "external"),
    path = "../../center/tests/support/no_pg.rs"
)]
#[allow(dead_code)]
mod pg;

use mamori_center::domain::UserId;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mamori_agent::enrol;
use mamori_agent::state::StateDir;
use mamori_center::app::{App, Settings};
use mamori_center::domain::{Actor, Role};
use mamori_center::gateways::inventory::{EquipmentState, Move};
use mamori_center::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_mamori");

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "mamori-listeners-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running `mamori center` with its agent listener; killed on drop.
struct CenterProc {
    child: Child,
    panel: SocketAddr,
    agent: SocketAddr,
    stderr: PathBuf,
}

impl CenterProc {
    /// Starts the center in `data` (database `db`, or SQLite), with `nofile` as its
    /// open-file limit (soft and hard) when given, and `env` besides.
    fn start(data: &Path, db: Option<&str>, nofile: Option<u32>, env: &[(&str, &str)]) -> Self {
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        cmd.args([
            "center",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ]);
        if let Some(u) = db {
            cmd.args(["--database-url", u]);
        }
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("MAMORI_")) {
            cmd.env_remove(k);
        }
        let stderr = data.join("stderr.log");
        cmd.env("MAMORI_AGENT_LISTEN", "127.0.0.1:0")
            .env("MAMORI_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let mut child = cmd.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let (mut panel, mut agent) = (None, None);
        while panel.is_none() || agent.is_none() {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!(
                    "the center ended: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            if let Some(a) = line.split("http://").nth(1) {
                panel = Some(a.trim().trim_end_matches('/').parse().unwrap());
            }
            if let Some(a) = line.split("agent listener: https://").nth(1) {
                agent = Some(a.trim().parse().unwrap());
            }
        }
        // Keep reading, so the center never writes into a closed pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        CenterProc {
            child,
            panel: panel.unwrap(),
            agent: agent.unwrap(),
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Descriptors the process has open.
    fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn sigterm(&self) {
        // The shell's own `kill` (procps may not be installed).
        let ok = Command::new("sh")
            .args(["-c", "kill -TERM \"$0\"", &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits up to `limit` for the process to end: its exit status and when it ended.
    fn wait(&mut self, limit: Duration) -> Option<(std::process::ExitStatus, Instant)> {
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some((s, Instant::now()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for CenterProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn actor(id: i64, label: &str) -> Actor {
    Actor {
        user_id: UserId::new(id),
        label: label.into(),
        role: Role::Admin,
        customer_id: None,
        source: "test".into(),
        locale: None,
    }
}

/// A unit lent and installed at a new customer's site, and an enrolment token for it,
/// written to the center's database directly (with the key of its TOTP secrets, from
/// the center's data directory `data`).
fn token_for_a_unit(url: &str, data: &Path) -> String {
    block_on(async {
        let key = mamori_center::secrets::read_key_file(data)
            .unwrap()
            .expect("the center made secret.key");
        let store = Store::open(url, 2).await.unwrap().with_secret_key(key);
        let app = App {
            store: store.clone(),
            settings: Settings::default(),
        };
        let mut tx = store.begin().await.unwrap();
        let id = tx
            .insert_user(
                None,
                "admin@provider.example.jp",
                "Admin",
                Role::Admin,
                now(),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let admin = actor(id.get(), "admin@provider.example.jp");
        let (cust, _, _) = app
            .customers()
            .create(&admin, "Alpha", "o@alpha.example.jp", "Officer", now())
            .await
            .unwrap();
        let site = app
            .sites()
            .create(&admin, cust.id, "HQ", "Tokyo", now())
            .await
            .unwrap();
        let u = app
            .inventory()
            .stock(&admin, "SN-L1", "MG-100", now())
            .await
            .unwrap();
        for m in [
            Move {
                to: EquipmentState::Lent,
                customer_id: Some(cust.id),
                site_id: None,
            },
            Move {
                to: EquipmentState::Installed,
                customer_id: None,
                site_id: Some(site.id),
            },
        ] {
            app.inventory()
                .apply_move(&admin, u.id, m, "test", now())
                .await
                .unwrap();
        }
        let (token, _) = app
            .enrolment()
            .create_token(&admin, site.id, u.id, 600_000, now())
            .await
            .unwrap();
        store.close().await;
        token
    })
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Enrols an agent with the agent's own code; its state directory.
fn enrolled_agent(center: &CenterProc, url: &str, dir: &Path) -> StateDir {
    let token = token_for_a_unit(url, dir);
    let state = StateDir::new(dir.join("agent"));
    enrol::enrol(&format!("https://{}", center.agent), &token, &state).unwrap();
    state
}

/// `GET path` on the agent listener with the agent's certificate: the status.
fn agent_get(state: &StateDir, path: &str, timeout: Duration) -> Result<u16, String> {
    let client = enrol::client(state, None).map_err(|e| e.to_string())?;
    client
        .request("GET", path, None, timeout)
        .map(|a| a.status)
        .map_err(|e| e.to_string())
}

/// `GET /healthz` on a new connection: the status (0 when it failed).
fn healthz(panel: SocketAddr) -> u16 {
    let Ok(mut s) = TcpStream::connect_timeout(&panel, Duration::from_secs(5)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {panel}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// `n` idle TCP connections to `to` from each of the loopback sources `from`.
fn idle_connections(
    rt: &tokio::runtime::Runtime,
    from: std::ops::RangeInclusive<u8>,
    n: usize,
    to: SocketAddr,
) -> Vec<tokio::net::TcpStream> {
    rt.block_on(async {
        let mut v = Vec::new();
        for src in from {
            for _ in 0..n {
                let s = tokio::net::TcpSocket::new_v4().unwrap();
                s.bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, src), 0)))
                    .unwrap();
                v.push(s.connect(to).await.unwrap());
            }
        }
        v
    })
}

fn raise_own_limit() {
    let (_, hard) = rlimit::Resource::NOFILE.get().unwrap();
    // As root the hard limit can be raised too.
    let want = hard.max(16_384);
    rlimit::Resource::NOFILE
        .set(want, want)
        .or_else(|_| rlimit::Resource::NOFILE.set(hard, hard))
        .unwrap();
}

fn sqlite_url(data: &Path) -> String {
    format!("sqlite://{}", data.join("center.db").display())
}

/// Log lines that report a failed accept.
fn accept_failure_lines(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("accept") && l.contains("failed"))
        .count()
}

/// With `ulimit -n 1024`, 5,040 idle connections from twelve source addresses (420 from
/// each, six sources per listener; the header-read timeout is 60 s so that they stay):
/// the center closes what its fitted caps do not admit, keeps below its limit, logs no
/// accept failure, and serves /healthz and the enrolled agent (whoami and a long-poll)
/// on new connections while the flood is held.
#[test]
fn idle_floods_on_both_listeners_under_a_low_open_file_limit() {
    raise_own_limit();
    let data = temp_dir();
    let center = CenterProc::start(
        &data,
        None,
        Some(1024),
        &[("MAMORI_HEADER_READ_TIMEOUT_SECS", "60")],
    );
    let state = enrolled_agent(&center, &sqlite_url(&data), &data);
    assert_eq!(
        agent_get(&state, "/agent/v1/whoami", Duration::from_secs(10)),
        Ok(200)
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = Instant::now();
    let mut held = idle_connections(&rt, 2..=7, 420, center.panel);
    held.extend(idle_connections(&rt, 8..=13, 420, center.agent));
    println!(
        "{} idle connections opened in {:.2} s",
        held.len(),
        t.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_millis(500));
    let fds = center.open_files();
    println!("the center holds {fds} descriptors (limit 1024)");
    assert!(fds < 1024, "{fds}");
    let t = Instant::now();
    assert_eq!(healthz(center.panel), 200, "{}", center.log());
    assert_eq!(
        agent_get(&state, "/agent/v1/whoami", Duration::from_secs(10)),
        Ok(200)
    );
    assert_eq!(
        agent_get(
            &state,
            "/agent/v1/desired?after=0&wait=1",
            Duration::from_secs(10)
        ),
        Ok(204)
    );
    println!(
        "served during the flood in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let log = center.log();
    assert_eq!(accept_failure_lines(&log), 0, "{log}");
    assert!(
        log.contains("does not fit the connection caps"),
        "the lowered caps are logged: {log}"
    );
    drop(held);
    let _ = std::fs::remove_dir_all(&data);
}

/// The center runs out of descriptors (its limit lowered to what it holds) while
/// connections wait on both listeners for 3 s: each listener logs the failure once, not
/// every few milliseconds, and once more when accepting works again (limit restored);
/// then /healthz is served.
#[test]
fn accept_failures_are_logged_once_per_burst() {
    let data = temp_dir();
    let center = CenterProc::start(&data, None, None, &[]);
    assert_eq!(healthz(center.panel), 200);
    let pid = center.pid() as i32;
    let (mut soft, mut hard) = (0u64, 0u64);
    rlimit::prlimit(
        pid,
        rlimit::Resource::NOFILE,
        None,
        Some((&mut soft, &mut hard)),
    )
    .unwrap();
    let open = center.open_files() as u64;
    rlimit::prlimit(pid, rlimit::Resource::NOFILE, Some((open, hard)), None).unwrap();
    let waiting: Vec<TcpStream> = (0..5)
        .flat_map(|_| [center.panel, center.agent])
        .map(|a| TcpStream::connect(a).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    rlimit::prlimit(pid, rlimit::Resource::NOFILE, Some((soft, hard)), None).unwrap();
    let t = Instant::now();
    while healthz(center.panel) != 200 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(healthz(center.panel), 200);
    std::thread::sleep(Duration::from_millis(500));
    let log = center.log();
    let failures = accept_failure_lines(&log);
    println!("{failures} log lines for 3 s of failing accepts:\n{log}");
    assert!((1..=2).contains(&failures), "{log}");
    let recovered = log.matches("accepting connections again after").count();
    assert!((1..=2).contains(&recovered), "{log}");
    drop(waiting);
    let _ = std::fs::remove_dir_all(&data);
}

/// SIGTERM while an enrolled agent's long-poll waits (60 s): the long-poll is answered
/// at once (204, so the agent asks again, here or elsewhere) and the process exits
/// cleanly within about a second.
fn sigterm_answers_the_long_poll_and_exits_at_once(db: Option<&pg::PgCluster>) {
    let data = temp_dir();
    let url = db.map(|p| p.url());
    let mut center = CenterProc::start(&data, url.as_deref(), None, &[]);
    let state = enrolled_agent(
        &center,
        &url.clone().unwrap_or_else(|| sqlite_url(&data)),
        &data,
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let poll_state = StateDir::new(state.dir.clone());
    std::thread::spawn(move || {
        let r = agent_get(
            &poll_state,
            "/agent/v1/desired?after=0&wait=60",
            Duration::from_secs(90),
        );
        let _ = tx.send((r, Instant::now()));
    });
    std::thread::sleep(Duration::from_millis(700));
    assert!(rx.try_recv().is_err(), "the long-poll is waiting");
    let t = Instant::now();
    center.sigterm();
    let (status, exited) = center
        .wait(Duration::from_secs(30))
        .expect("the center exits well before the long-poll's 60 s");
    let (answer, answered) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the long-poll is answered");
    let exit_s = exited.duration_since(t).as_secs_f64();
    let answer_s = answered.saturating_duration_since(t).as_secs_f64();
    println!(
        "SIGTERM: long-poll answered after {answer_s:.3} s, process exited after {exit_s:.3} s"
    );
    assert!(status.success(), "{status:?}: {}", center.log());
    assert_eq!(answer, Ok(204));
    assert!(answer_s < 5.0 && exit_s < 5.0, "{answer_s} / {exit_s}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn sigterm_answers_the_long_poll_and_exits_at_once_sqlite() {
    sigterm_answers_the_long_poll_and_exits_at_once(None);
}

#[cfg(feature = "external")]
#[test]
fn sigterm_answers_the_long_poll_and_exits_at_once_postgres() {
    let pg = pg::PgCluster::start();
    sigterm_answers_the_long_poll_and_exits_at_once(Some(&pg));
}
