//! The monitoring testbed: two network namespaces made by the test (`mmon-...`), a
//! "center" and a "gateway" joined by a veth pair (10.77.0.1 and 10.77.0.2, fd77::1 and
//! fd77::2), real daemons started in the gateway, and the center's adapters run on a
//! thread moved into the center namespace. Everything is removed on drop.

#![allow(dead_code)]

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const CENTER_IP: &str = "10.77.0.1";
pub const GW_IP: &str = "10.77.0.2";
pub const CENTER_IP6: &str = "fd77::1";
pub const GW_IP6: &str = "fd77::2";

static N: AtomicU32 = AtomicU32::new(0);

pub struct Testbed {
    pub center: String,
    pub gw: String,
    /// The gateway's end of the veth pair.
    pub gw_if: String,
    pub dir: tempfile::TempDir,
    children: std::sync::Mutex<Vec<(String, Child)>>,
}

pub fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Testbed {
    pub fn new(tag: &str) -> Testbed {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}{n}", std::process::id() % 100_000);
        let center = format!("mmon-{tag}-c-{id}");
        let gw = format!("mmon-{tag}-g-{id}");
        for ns in [&center, &gw] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
            sh(&["ip", "netns", "add", ns]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        let (c_if, gw_if) = (format!("mmc{id}"), format!("mmg{id}"));
        sh(&[
            "ip", "link", "add", &c_if, "netns", &center, "type", "veth", "peer", "name", &gw_if,
            "netns", &gw,
        ]);
        for (ns, itf, v4, v6) in [
            (&center, &c_if, CENTER_IP, CENTER_IP6),
            (&gw, &gw_if, GW_IP, GW_IP6),
        ] {
            sh(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                itf,
            ]);
            sh(&[
                "ip",
                "-n",
                ns,
                "-6",
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                itf,
                "nodad",
            ]);
            sh(&["ip", "-n", ns, "link", "set", itf, "up"]);
        }
        Testbed {
            center,
            gw,
            gw_if,
            dir: tempfile::tempdir().unwrap(),
            children: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A command run in the gateway namespace.
    pub fn gw_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.gw]).args(args);
        c
    }

    /// Runs to the end in the gateway namespace; its output, or a panic with stderr.
    pub fn gw_run(&self, args: &[&str]) -> String {
        let out = self.gw_cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A command run to its end in the gateway namespace, off the runtime's thread (so
    /// the adapters under test keep running meanwhile).
    pub async fn gw_async(&self, args: &[&str]) -> std::process::Output {
        let gw = self.gw.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            Command::new("ip")
                .args(["netns", "exec", &gw])
                .args(&args)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }

    /// Like `gw_async`, panicking with the output when the command fails.
    pub async fn gw_ok(&self, args: &[&str]) -> String {
        let out = self.gw_async(args).await;
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a daemon in the gateway namespace (its output in `<name>.log`).
    pub fn spawn(&self, name: &str, args: &[&str]) {
        self.spawn_env(name, args, &[]);
    }

    pub fn spawn_env(&self, name: &str, args: &[&str], env: &[(&str, &str)]) {
        let log = std::fs::File::create(self.path(&format!("{name}.log"))).unwrap();
        let mut c = self.gw_cmd(args);
        c.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in env {
            c.env(k, v);
        }
        let child = c.spawn().unwrap();
        self.children
            .lock()
            .unwrap()
            .push((name.to_string(), child));
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.log"))).unwrap_or_default()
    }

    /// Kills a daemon started with `spawn` (SIGKILL, then waits for it).
    pub fn kill(&self, name: &str) {
        let mut children = self.children.lock().unwrap();
        if let Some(i) = children.iter().position(|(n, _)| n == name) {
            let (_, mut c) = children.remove(i);
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs `f` on a thread inside the center namespace, in a Tokio runtime of its own.
    pub fn in_center<T: Send>(&self, f: impl AsyncFnOnce() -> T + Send) -> T {
        let ns = format!("/run/netns/{}", self.center);
        std::thread::scope(|s| {
            s.spawn(move || {
                let file = std::fs::File::open(&ns).unwrap();
                rustix::thread::move_into_link_name_space(
                    file.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .unwrap();
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(f())
            })
            .join()
            .unwrap()
        })
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for (_, c) in self.children.lock().unwrap().iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.center, &self.gw] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Waits until `ok` holds (checked every 50 ms), or panics with `what`.
pub fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until a file exists.
pub fn wait_file(p: &Path, timeout: Duration) {
    wait_for(&p.display().to_string(), timeout, || p.exists());
}

/// Whether something listens on `port` (UDP or TCP) in the gateway namespace.
pub fn gw_listens(tb: &Testbed, proto: &str, port: u16) -> bool {
    let flag = if proto == "udp" { "-lunH" } else { "-ltnH" };
    let out = tb.gw_cmd(&["ss", flag]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!(":{port} "))
}

/// A test CA and a server identity signed by it, valid `days` days from now, in PEM
/// (certificate, key) and DER (for rustls).
pub struct Pki {
    pub ca_pem: String,
    pub ca_der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
    /// Another identity for the same names from the same CA, expired two days ago.
    pub expired_cert_pem: String,
    pub expired_key_pem: String,
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn pki(names: &[&str], days: i64) -> Pki {
    let now = now_ms();
    let ca = mamori_center::ca::Ca::generate("mmon test CA", now, 3650 * 86_400_000).unwrap();
    let (cert_der, key_der) = ca
        .server_identity(
            names.iter().map(|s| s.to_string()).collect(),
            now,
            days * 86_400_000,
        )
        .unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        ca.cert_pem(),
        rcgen::KeyPair::from_pem(ca.key_pem()).unwrap(),
    )
    .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    let day = 86_400;
    params.not_before = time::OffsetDateTime::from_unix_timestamp(now / 1000 - 10 * day).unwrap();
    params.not_after = time::OffsetDateTime::from_unix_timestamp(now / 1000 - 2 * day).unwrap();
    let expired = params.signed_by(&key, &issuer).unwrap();
    Pki {
        expired_cert_pem: expired.pem(),
        expired_key_pem: key.serialize_pem(),
        ca_pem: ca.cert_pem().to_string(),
        ca_der: ca.cert_der().unwrap(),
        cert_pem: pem("CERTIFICATE", &cert_der),
        key_pem: pem("PRIVATE KEY", &key_der),
        cert_der,
        key_der,
    }
}
