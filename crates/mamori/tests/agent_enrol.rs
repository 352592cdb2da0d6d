//! `mamori agent enrol` against the real `mamori center` on loopback (SQLite), as an
//! operator runs it on a gateway: the token comes from a file (`--token-file`) or the
//! `MAMORI_AGENT_TOKEN` variable, so it never shows on a command line other local users
//! can read; a refused enrolment leaves no private key behind. Tokens are made through
//! the center's use cases on the same database.

use mamori_center::domain::{CustomerId, EquipmentId, SiteId};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use mamori_center::app::{App, Settings};
use mamori_center::domain::{Actor, Role, Scope};
use mamori_center::gateways::inventory::{EquipmentState, Move};
use mamori_center::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_mamori");

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `mamori ARGS` without any `MAMORI_*` variable of the test's environment.
fn mamori(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).stdin(Stdio::null());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("MAMORI_")) {
        c.env_remove(k);
    }
    c
}

/// A directory of its own under the system's temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d =
            std::env::temp_dir().join(format!("mamori-agent-enrol-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real center with its agent listener on loopback; killed on drop.
struct CenterProc {
    child: Child,
    url: String,
}

impl CenterProc {
    fn start(data: &Path) -> CenterProc {
        // A free loopback port for the agent listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = mamori(&[
            "center",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("MAMORI_AGENT_LISTEN", format!("127.0.0.1:{port}"))
        .env("MAMORI_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        // The first line is printed once both listeners are up.
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(
            first.contains("http://"),
            "the center did not start: {first:?}"
        );
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        CenterProc {
            child,
            url: format!("https://127.0.0.1:{port}"),
        }
    }
}

impl Drop for CenterProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The center's use cases on its database, as an administrator.
struct World {
    app: App,
    admin: Actor,
    site: i64,
    customer: i64,
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

impl World {
    fn open(data: &Path) -> World {
        block_on(async {
            let url = format!("sqlite://{}", data.join("center.db").display());
            // The running center's key: the officer's setup link carries a TOTP secret.
            let key = mamori_center::secrets::read_key_file(data)
                .unwrap()
                .expect("the center made secret.key");
            let store = Store::open(&url, 2).await.unwrap().with_secret_key(key);
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
            let admin = Actor {
                user_id: id,
                label: "admin@provider.example.jp".into(),
                role: Role::Admin,
                customer_id: None,
                source: "test".into(),
                locale: None,
            };
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
            World {
                app,
                admin,
                site: site.id.get(),
                customer: cust.id.get(),
            }
        })
    }

    /// A unit lent and installed at the site, and an enrolment token for it.
    fn unit(&self, serial: &str) -> (EquipmentId, String) {
        block_on(async {
            let u = self
                .app
                .inventory()
                .stock(&self.admin, serial, "MG-100", now())
                .await
                .unwrap();
            for m in [
                Move {
                    to: EquipmentState::Lent,
                    customer_id: Some(CustomerId::new(self.customer)),
                    site_id: None,
                },
                Move {
                    to: EquipmentState::Installed,
                    customer_id: None,
                    site_id: Some(SiteId::new(self.site)),
                },
            ] {
                self.app
                    .inventory()
                    .apply_move(&self.admin, u.id, m, "test", now())
                    .await
                    .unwrap();
            }
            let (token, _) = self
                .app
                .enrolment()
                .create_token(&self.admin, SiteId::new(self.site), u.id, 600_000, now())
                .await
                .unwrap();
            assert!(token.contains('.'), "the token pins the CA: {token}");
            (u.id, token)
        })
    }

    /// How many unrevoked certificates the unit holds.
    fn certified(&self, unit: i64) -> usize {
        block_on(async {
            self.app
                .store
                .agent_certs_of(Scope::All, EquipmentId::new(unit))
                .await
                .unwrap()
                .iter()
                .filter(|c| c.revoked_at.is_none())
                .count()
        })
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `token` to a file only its owner reads.
fn token_file(dir: &Path, name: &str, token: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let f = dir.join(name);
    std::fs::write(&f, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
    f
}

#[test]
fn enrol_reads_the_token_from_a_file_or_the_environment() {
    let scratch = Scratch::new("sources");
    let data = scratch.0.join("center");
    std::fs::create_dir_all(&data).unwrap();
    let center = CenterProc::start(&data);
    let w = World::open(&data);
    let (u1, t1) = w.unit("SN-FILE");
    let (u2, t2) = w.unit("SN-ENV");

    // From a file (mode 0600): enrolled, nothing to warn about.
    let f = token_file(&scratch.0, "t1", &t1, 0o600);
    let s1 = scratch.0.join("state-file");
    let out = mamori(&[
        "agent",
        "enrol",
        "--center",
        &center.url,
        "--token-file",
        f.to_str().unwrap(),
        "--state-dir",
        s1.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("unit {u1}")), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(s1.join("identity.json").exists() && s1.join("key.pem").exists());
    assert_eq!(w.certified(u1.get()), 1);

    // From the environment.
    let s2 = scratch.0.join("state-env");
    let out = mamori(&[
        "agent",
        "enrol",
        "--center",
        &center.url,
        "--state-dir",
        s2.to_str().unwrap(),
    ])
    .env("MAMORI_AGENT_TOKEN", &t2)
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("unit {u2}")), "{stdout}");
    assert!(s2.join("identity.json").exists());
    assert_eq!(w.certified(u2.get()), 1);

    // A file others may read is used, with a warning; a file and --token together are
    // refused; no token at all is refused with a hint, and nothing is written.
    let (u3, t3) = w.unit("SN-OPEN");
    let open = token_file(&scratch.0, "t3", &t3, 0o644);
    let s3 = scratch.0.join("state-open");
    let out = mamori(&[
        "agent",
        "enrol",
        "--center",
        &center.url,
        "--token-file",
        open.to_str().unwrap(),
        "--state-dir",
        s3.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("may be read by other users (mode 0644)"),
        "{stderr}"
    );
    assert_eq!(w.certified(u3.get()), 1);
    let s4 = scratch.0.join("state-none");
    let out = mamori(&[
        "agent",
        "enrol",
        "--center",
        &center.url,
        "--token",
        "x.y",
        "--token-file",
        f.to_str().unwrap(),
        "--state-dir",
        s4.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("cannot be used with"),
        "{:?}",
        text(&out)
    );
    let out = mamori(&[
        "agent",
        "enrol",
        "--center",
        &center.url,
        "--state-dir",
        s4.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("no enrolment token") && stderr.contains("--token-file"),
        "{stderr}"
    );
    assert!(!s4.exists());
    let out = mamori(&[
        "agent",
        "run",
        "--center",
        &center.url,
        "--state-dir",
        s4.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let (_, stderr) = text(&out);
    assert!(stderr.contains("MAMORI_AGENT_TOKEN"), "{stderr}");
    assert!(!s4.exists());
    drop(center);
}

#[test]
fn a_refused_enrolment_leaves_no_key_behind() {
    let scratch = Scratch::new("refused");
    let data = scratch.0.join("center");
    std::fs::create_dir_all(&data).unwrap();
    let center = CenterProc::start(&data);
    let w = World::open(&data);
    let (unit, token) = w.unit("SN-REFUSED");
    let fingerprint = token.rsplit_once('.').unwrap().1;

    // An unknown secret with the right CA fingerprint (on the command line, as before
    // tokens came from files): the center refuses it. The state directory this
    // enrolment made is gone again, key and all.
    let made = scratch.0.join("state-made");
    let out = mamori(&[
        "agent",
        "enrol",
        "--center",
        &center.url,
        "--token",
        &format!("no-such-secret.{fingerprint}"),
        "--state-dir",
        made.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stderr.contains("the enrolment token is unknown"),
        "{stderr}"
    );
    assert!(
        !made.join("key.pem").exists(),
        "a refused enrolment left its key in {}",
        made.display()
    );
    assert!(!made.exists(), "the state directory it made is removed");

    // In a state directory that was there before: the directory stays, without a key.
    let kept = scratch.0.join("state-kept");
    std::fs::create_dir_all(&kept).unwrap();
    let f = token_file(
        &scratch.0,
        "bad",
        &format!("no-such-secret.{fingerprint}"),
        0o600,
    );
    let out = mamori(&[
        "agent",
        "enrol",
        "--center",
        &center.url,
        "--token-file",
        f.to_str().unwrap(),
        "--state-dir",
        kept.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(kept.is_dir());
    let left: Vec<_> = std::fs::read_dir(&kept).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // The good token still enrols afterwards; used again, it is refused without a key.
    let good = scratch.0.join("state-good");
    let out = mamori(&[
        "agent",
        "enrol",
        "--center",
        &center.url,
        "--state-dir",
        good.to_str().unwrap(),
    ])
    .env("MAMORI_AGENT_TOKEN", &token)
    .output()
    .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(w.certified(unit.get()), 1);
    let replay = scratch.0.join("state-replay");
    let out = mamori(&[
        "agent",
        "enrol",
        "--center",
        &center.url,
        "--state-dir",
        replay.to_str().unwrap(),
    ])
    .env("MAMORI_AGENT_TOKEN", &token)
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).1.contains("already used"), "{:?}", text(&out));
    assert!(!replay.join("key.pem").exists() && !replay.exists());
    drop(center);
}
