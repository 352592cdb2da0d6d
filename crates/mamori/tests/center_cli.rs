//! `mamori center` as a user runs it: the real binary, its configuration, a crash
//! (kill -9) during a burst of writes, and `mamori center audit verify` after the audit
//! table was changed with SQL; on SQLite and on a throwaway PostgreSQL.

// PostgreSQL is installed software: with the feature `external` the real cluster, without
// it a stand-in that cannot be made (its tests exist only with the feature).
#[cfg_attr(feature = "external", path = "../../center/tests/support/pg.rs")]
#[cfg_attr(
    not(feature = "external"),
    path = "../../center/tests/support/no_pg.rs"
)]
#[allow(dead_code)]
mod pg;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const BIN: &str = env!("CARGO_BIN_EXE_mamori");
const PASSWORD: &str = "correct horse battery staple";

fn mamori(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("MAMORI_")) {
        c.env_remove(k);
    }
    // The agent listener is on by default on a fixed port; off unless a test sets it.
    c.env("MAMORI_AGENT_LISTEN", "");
    c
}

/// A minimal HTTP/1.1 exchange over loopback; (status, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    let body = body.unwrap_or("");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {out:?}")))?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn json_str(body: &str, key: &str) -> String {
    let pat = format!("\"{key}\":\"");
    let i = body.find(&pat).unwrap_or_else(|| panic!("{key} in {body}")) + pat.len();
    body[i..].split('"').next().unwrap().to_string()
}

fn json_int(body: &str, key: &str) -> i64 {
    let pat = format!("\"{key}\":");
    let i = body.find(&pat).unwrap_or_else(|| panic!("{key} in {body}")) + pat.len();
    body[i..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap()
}

/// A TOTP code for `secret` not used yet by this test process (the center takes each
/// code once): previous, current and next step in turn, then it waits for the clock.
fn code(secret: &str) -> String {
    static USED: std::sync::Mutex<std::collections::BTreeMap<String, i64>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let cur = now / 30;
        {
            let mut used = USED.lock().unwrap();
            let last = used.get(secret).copied().unwrap_or(i64::MIN);
            let lowest = if now % 30 < 20 { cur - 1 } else { cur };
            let step = last.saturating_add(1).max(lowest);
            if step <= cur + 1 {
                used.insert(secret.to_string(), step);
                return mamori_center::auth::totp_code(secret, step * 30).unwrap();
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "mamori-cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

struct Server {
    child: Child,
    addr: String,
    bootstrap: Option<String>,
}

fn start(data_dir: &Path, db: Option<&str>) -> Server {
    let mut args = vec![
        "center",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ];
    if let Some(u) = db {
        args.extend(["--database-url", u]);
    }
    let mut child = mamori(&args)
        .env("MAMORI_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let mut bootstrap = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(i) = line.find("/setup/") {
            bootstrap = Some(line[i + 7..].trim().to_string());
            break;
        }
        if line.starts_with("Sign in at") {
            break;
        }
    }
    Server {
        child,
        addr,
        bootstrap,
    }
}

fn verify(data_dir: &Path, db: Option<&str>) -> (i32, String) {
    let mut args = vec![
        "center",
        "audit",
        "verify",
        "--data-dir",
        data_dir.to_str().unwrap(),
    ];
    if let Some(u) = db {
        args.extend(["--database-url", u]);
    }
    let out = mamori(&args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn crash_and_tamper(dir: &Path, db: Option<&str>, sql: &dyn Fn(&str)) {
    let s = start(dir, db);
    let t = s.bootstrap.clone().expect("bootstrap link printed");
    let (st, info) = http(&s.addr, "GET", &format!("/api/v1/setup/{t}"), None, None).unwrap();
    assert_eq!(st, 200, "{info}");
    let secret = json_str(&info, "totp_secret");
    let body = format!(
        r#"{{"email":"admin@provider.example.jp","display_name":"Admin","password":"{PASSWORD}","totp_code":"{}"}}"#,
        code(&secret)
    );
    let (st, v) = http(
        &s.addr,
        "POST",
        &format!("/api/v1/setup/{t}"),
        None,
        Some(&body),
    )
    .unwrap();
    assert_eq!(st, 201, "{v}");
    let login = || {
        format!(
            r#"{{"email":"admin@provider.example.jp","password":"{PASSWORD}","totp_code":"{}"}}"#,
            code(&secret)
        )
    };
    let (st, v) = http(&s.addr, "POST", "/api/v1/login", None, Some(&login())).unwrap();
    assert_eq!(st, 200, "{v}");
    let token = json_str(&v, "token");
    let (st, v) = http(
        &s.addr,
        "POST",
        "/api/v1/customers",
        Some(&token),
        Some(r#"{"name":"Alpha","officer":{"email":"o@alpha.example.jp","display_name":"O"}}"#),
    )
    .unwrap();
    assert_eq!(st, 201, "{v}");
    let customer = json_int(&v, "id");

    // A burst of writes from four clients; kill -9 once 60 have been acknowledged.
    let acked = Arc::new(Mutex::new(Vec::<i64>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, count, stop, addr, token) = (
                acked.clone(),
                count.clone(),
                stop.clone(),
                s.addr.clone(),
                token.clone(),
            );
            std::thread::spawn(move || {
                for n in 0..100_000 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let body = format!(r#"{{"customer_id":{customer},"name":"site {w}-{n}"}}"#);
                    match http(&addr, "POST", "/api/v1/sites", Some(&token), Some(&body)) {
                        Ok((201, v)) => {
                            acked.lock().unwrap().push(json_int(&v, "id"));
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok((st, v)) => panic!("unexpected answer {st}: {v}"),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    while count.load(Ordering::SeqCst) < 60 {
        assert!(
            !workers.iter().all(|w| w.is_finished()),
            "the writers stopped before 60 acknowledged writes"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut child = s.child;
    child.kill().unwrap(); // SIGKILL, in the middle of the burst
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 60);

    // The chain is intact and holds at least every acknowledged write.
    let (rc, out) = verify(dir, db);
    assert_eq!(rc, 0, "{out}");
    let verified: usize = out
        .split("verified: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(verified >= acked.len() + 4, "{out}");
    // Every acknowledged write is there after a restart.
    let s = start(dir, db);
    assert!(
        s.bootstrap.is_none(),
        "an administrator exists after the restart"
    );
    let (st, v) = http(&s.addr, "POST", "/api/v1/login", None, Some(&login())).unwrap();
    assert_eq!(st, 200, "{v}");
    let token = json_str(&v, "token");
    let (st, sites) = http(&s.addr, "GET", "/api/v1/sites", Some(&token), None).unwrap();
    assert_eq!(st, 200);
    for id in &acked {
        assert!(
            sites.contains(&format!("\"id\":{id},")),
            "acknowledged site {id} was lost"
        );
    }
    // ... and so is the audit entry of every acknowledged write.
    let mut trail = String::new();
    let mut before = i64::MAX;
    loop {
        let path = format!("/api/v1/audit?limit=500&before={before}");
        let (st, page) = http(&s.addr, "GET", &path, Some(&token), None).unwrap();
        assert_eq!(st, 200, "{page}");
        let Some(i) = page.rfind("\"seq\":") else {
            break;
        };
        before = json_int(&page[i..], "seq");
        trail.push_str(&page);
    }
    for id in &acked {
        assert!(
            trail.contains(&format!("\"object\":\"site/{id}\"")),
            "the audit entry of acknowledged site {id} was lost"
        );
    }
    let mut child = s.child;
    child.kill().unwrap();
    child.wait().unwrap();

    // Change one entry with SQL: verify fails and names it.
    sql("UPDATE audit_log SET detail = 'forged' WHERE seq = 5");
    let (rc, out) = verify(dir, db);
    assert_eq!(rc, 2, "{out}");
    assert!(out.contains("audit entry 5:"), "{out}");
}

#[test]
fn crash_loses_no_acknowledged_write_and_tamper_is_named_sqlite() {
    // The default database: SQLite in the data directory.
    let dir = temp_dir();
    let file = dir.join("center.db");
    crash_and_tamper(&dir, None, &|sql| {
        sqlite_sql(&file, sql);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs one SQL statement on the center's SQLite file while no center runs, as whoever
/// can write the file would (the store's raw statement; no `sqlite3` program needed).
fn sqlite_sql(file: &Path, sql: &str) {
    let url = format!("sqlite://{}", file.display());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = mamori_center::store::Store::open(&url, 1).await.unwrap();
            store
                .execute_raw(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            store.close().await;
        });
}

#[cfg(feature = "external")]
#[test]
fn crash_loses_no_acknowledged_write_and_tamper_is_named_postgres() {
    let cluster = pg::PgCluster::start();
    let dir = temp_dir();
    let url = cluster.url();
    crash_and_tamper(&dir, Some(&url), &|sql| {
        cluster.psql(sql);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Creates the first administrator through the bootstrap link and a customer (audit
/// entries), then stops the center as an operator does (SIGTERM), which writes the
/// last checkpoint of the audit chain's head. The public key it printed at start.
fn write_and_stop(dir: &Path, db: Option<&str>) -> String {
    let key = {
        // The key the center will sign with (created here, used by the center).
        let out = mamori(&[
            "center",
            "audit",
            "key",
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert!(key.starts_with("ed25519:") && key.len() == 8 + 64, "{key}");
    let s = start(dir, db);
    let t = s.bootstrap.clone().expect("bootstrap link printed");
    let (st, info) = http(&s.addr, "GET", &format!("/api/v1/setup/{t}"), None, None).unwrap();
    assert_eq!(st, 200, "{info}");
    let secret = json_str(&info, "totp_secret");
    let body = format!(
        r#"{{"email":"admin@provider.example.jp","display_name":"Admin","password":"{PASSWORD}","totp_code":"{}"}}"#,
        code(&secret)
    );
    let (st, v) = http(
        &s.addr,
        "POST",
        &format!("/api/v1/setup/{t}"),
        None,
        Some(&body),
    )
    .unwrap();
    assert_eq!(st, 201, "{v}");
    let login = format!(
        r#"{{"email":"admin@provider.example.jp","password":"{PASSWORD}","totp_code":"{}"}}"#,
        code(&secret)
    );
    let (st, v) = http(&s.addr, "POST", "/api/v1/login", None, Some(&login)).unwrap();
    assert_eq!(st, 200, "{v}");
    let token = json_str(&v, "token");
    let (st, v) = http(
        &s.addr,
        "POST",
        "/api/v1/customers",
        Some(&token),
        Some(r#"{"name":"Alpha","officer":{"email":"o@alpha.example.jp","display_name":"O"}}"#),
    )
    .unwrap();
    assert_eq!(st, 201, "{v}");
    let mut child = s.child;
    // The shell's own `kill` (procps may not be installed).
    let term = Command::new("sh")
        .args(["-c", "kill -TERM \"$0\"", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success(), "a clean stop on SIGTERM");
    key
}

/// The two newest audit rows deleted with SQL: the chain alone still verifies, and
/// `audit verify` names the entries by the checkpoint; the center refuses to start on
/// the cut chain; a copy of the checkpoint kept elsewhere says the same.
fn cut_end_is_named(dir: &Path, db: Option<&str>, sql: &dyn Fn(&str)) {
    let key = write_and_stop(dir, db);
    let (rc, out) = verify(dir, db);
    assert_eq!(rc, 0, "{out}");
    let n: i64 = out
        .split("checkpoint reached: entry ")
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"))
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        out.contains(&format!("audit log verified: {n} entries")),
        "{out}"
    );
    assert!(out.contains(&format!("signed by {key}")), "{out}");
    let elsewhere = temp_dir();
    let copy = elsewhere.join("head.json");
    std::fs::copy(dir.join("audit-head.json"), &copy).unwrap();

    sql(&format!("DELETE FROM audit_log WHERE seq >= {}", n - 1));
    let (rc, out) = verify(dir, db);
    assert_eq!(rc, 2, "{out}");
    assert!(
        out.contains(&format!(
            "audit log verification FAILED: audit entries {}..{n} are missing (checkpoint at seq {n}, ",
            n - 1
        )),
        "{out}"
    );
    // The copy kept elsewhere, with the key printed at the start, says the same.
    let mut args = vec![
        "center",
        "audit",
        "verify",
        "--data-dir",
        dir.to_str().unwrap(),
        "--checkpoint",
        copy.to_str().unwrap(),
        "--public-key",
        &key,
    ];
    if let Some(u) = db {
        args.extend(["--database-url", u]);
    }
    let out = mamori(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("audit entries {}..{n} are missing", n - 1)),
        "{text}"
    );
    // The center does not start on it.
    let mut args = vec![
        "center",
        "--data-dir",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ];
    if let Some(u) = db {
        args.extend(["--database-url", u]);
    }
    let out = mamori(&args).env("MAMORI_LOG", "warn").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("audit entries {}..{n} are missing", n - 1)),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&elsewhere);
}

#[test]
fn cutting_the_end_of_the_audit_trail_is_named_sqlite() {
    let dir = temp_dir();
    let file = dir.join("center.db");
    cut_end_is_named(&dir, None, &|sql| {
        sqlite_sql(&file, sql);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "external")]
#[test]
fn cutting_the_end_of_the_audit_trail_is_named_postgres() {
    let cluster = pg::PgCluster::start();
    let dir = temp_dir();
    let url = cluster.url();
    cut_end_is_named(&dir, Some(&url), &|sql| {
        cluster.psql(sql);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn print_config_shows_file_env_and_flags() {
    let dir = temp_dir();
    std::fs::write(
        dir.join("center.toml"),
        "log = \"debug\"\nlockout_failures = 7\n",
    )
    .unwrap();
    let out = mamori(&[
        "center",
        "--data-dir",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:9999",
        "--print-config",
    ])
    .env("MAMORI_LOCKOUT_FAILURES", "9")
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("listen = \"127.0.0.1:9999\""), "{text}");
    assert!(text.contains("log = \"debug\""), "{text}");
    assert!(text.contains("lockout_failures = 9"), "{text}");
    assert!(
        text.contains("secret.key encrypts the TOTP secrets") && text.contains("same file"),
        "{text}"
    );

    std::fs::write(
        dir.join("center.toml"),
        "log = \"debug\"\nlisten_addr = \"x\"\n",
    )
    .unwrap();
    let out = mamori(&[
        "center",
        "--data-dir",
        dir.to_str().unwrap(),
        "--print-config",
    ])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("center.toml:2:1") && err.contains("listen_addr"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A data directory an earlier run left open to other users (directory 0755, database,
/// key and CA files 0644): `mamori center` tightens it at start and says so on standard
/// error, one line per path; a file that is not the center's is left as it is.
#[test]
fn a_loose_data_directory_is_tightened_at_start_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let set =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    let run = || {
        let mut child = mamori(&[
            "center",
            "--data-dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("MAMORI_LOG", "warn")
        .env("MAMORI_AGENT_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(
            first.contains("http://"),
            "the center did not start: {first:?}"
        );
        child.kill().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        child.wait().unwrap();
        err
    };
    run();
    let ours = [
        "center.db",
        "center.db-wal",
        "center.db-shm",
        "secret.key",
        "ca/ca.key",
        "ca/ca.pem",
    ];
    assert_eq!(mode(&dir), 0o700);
    for f in ours {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    set(&dir, 0o755);
    set(&dir.join("ca"), 0o755);
    for f in ours {
        set(&dir.join(f), 0o644);
    }
    std::fs::write(dir.join("backup.tar"), "someone else's").unwrap();
    set(&dir.join("backup.tar"), 0o644);
    let err = run();
    for f in ours {
        let line = format!(
            "{} was readable by other users (mode 0644); it is now 0600",
            dir.join(f).display()
        );
        assert!(err.contains(&line), "no warning for {f}: {err}");
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    assert!(
        err.contains(&format!(
            "{} was readable by other users (mode 0755); it is now 0700",
            dir.display()
        )),
        "{err}"
    );
    assert!(err.contains("backup.tar is not the center's"), "{err}");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("ca")), 0o700);
    assert_eq!(mode(&dir.join("backup.tar")), 0o644);
    let _ = std::fs::remove_dir_all(&dir);
}
