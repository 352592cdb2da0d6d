//! The network-namespace testbed: a LAN client, the gateway, a WAN ("internet") side with
//! servers, a DMZ, and the provider's operations center on the WAN side, joined by veth
//! pairs, with addresses from the documentation ranges only.
//!
//! ```text
//!   lan (192.0.2.10)           dmz (203.0.113.10)
//!    eth0                       eth0
//!     |                          |
//!    lan0 ---- gw (forwarding) -- dmz0
//!              wan0 (198.51.100.1)
//!               |
//!    wan: br0 (198.51.100.2, the "internet" server) -- center (198.51.100.50)
//! ```
//!
//! Every namespace name starts with a prefix unique to the instance (`mtb-<tag>-`), so
//! tests running in parallel never collide. Interfaces are created directly inside the
//! namespaces (`ip -n NS link add ... netns PEER`), so the root namespace's network is
//! never touched. Dropping a [`Testbed`] kills the processes it started and deletes its
//! namespaces; [`down`] removes leftovers of crashed runs.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The prefix of every testbed namespace; `down` removes namespaces that start with it.
pub const NS_PREFIX: &str = "mtb-";

/// Addresses of the testbed (documentation ranges only).
pub mod addr {
    /// The LAN: 192.0.2.0/24, 2001:db8:1::/64.
    pub const LAN_NET: &str = "192.0.2.0/24";
    pub const LAN_CLIENT: &str = "192.0.2.10";
    pub const LAN_CLIENT6: &str = "2001:db8:1::10";
    pub const GW_LAN: &str = "192.0.2.1";
    pub const GW_LAN6: &str = "2001:db8:1::1";
    /// The WAN segment: 198.51.100.0/24, 2001:db8:2::/64.
    pub const WAN_NET: &str = "198.51.100.0/24";
    pub const GW_WAN: &str = "198.51.100.1";
    pub const GW_WAN6: &str = "2001:db8:2::1";
    /// The "internet" server on the WAN side.
    pub const WAN_SERVER: &str = "198.51.100.2";
    pub const WAN_SERVER6: &str = "2001:db8:2::2";
    /// The provider's operations center, also on the WAN side.
    pub const CENTER: &str = "198.51.100.50";
    pub const CENTER6: &str = "2001:db8:2::50";
    /// The DMZ: 203.0.113.0/24, 2001:db8:3::/64.
    pub const DMZ_NET: &str = "203.0.113.0/24";
    pub const GW_DMZ: &str = "203.0.113.1";
    pub const GW_DMZ6: &str = "2001:db8:3::1";
    pub const DMZ_SERVER: &str = "203.0.113.10";
    pub const DMZ_SERVER6: &str = "2001:db8:3::10";
}

/// One namespace of the testbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    /// A client on the LAN (interface `eth0`).
    Lan,
    /// The gateway (interfaces `lan0`, `wan0`, `dmz0`); forwarding is on.
    Gw,
    /// The "internet": a bridge `br0` joining the gateway and the center, and servers.
    Wan,
    /// A server network behind the gateway (interface `eth0`).
    Dmz,
    /// The provider's operations center (interface `eth0`), on the WAN segment.
    Center,
}

impl Host {
    pub const ALL: [Host; 5] = [Host::Lan, Host::Gw, Host::Wan, Host::Dmz, Host::Center];

    pub fn short(self) -> &'static str {
        match self {
            Host::Lan => "lan",
            Host::Gw => "gw",
            Host::Wan => "wan",
            Host::Dmz => "dmz",
            Host::Center => "center",
        }
    }

    /// The interface of this host that faces the gateway (or, for the gateway, none).
    pub fn uplink(self) -> &'static str {
        match self {
            Host::Wan => "br0",
            _ => "eth0",
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

/// What a probe from one namespace to a server observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The server answered; the text is what it replied (the source address it saw).
    Reply(String),
    /// The connection was refused (TCP reset, or ICMP port unreachable for UDP).
    Refused,
    /// An ICMP error other than port unreachable came back (e.g. admin prohibited).
    Unreachable(String),
    /// Nothing came back within the timeout (dropped).
    Timeout,
}

impl Probe {
    pub fn is_reply(&self) -> bool {
        matches!(self, Probe::Reply(_))
    }
}

/// A UDP/TCP observer: a small server that records every packet it receives and answers
/// with the source address it saw.
const OBSERVER_PY: &str = r#"
import socket, sys, threading
bind, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ':' in bind else socket.AF_INET
lock = threading.Lock()
def record(line):
    with lock:
        with open(log, 'a') as f:
            f.write(line + '\n')
def tcp(s):
    while True:
        c, a = s.accept()
        record('tcp %s %d' % (a[0], a[1]))
        try:
            c.sendall((a[0] + '\n').encode())
            c.close()
        except OSError:
            pass
def udp(s):
    while True:
        data, a = s.recvfrom(4096)
        record('udp %s %d' % (a[0], a[1]))
        try:
            s.sendto((a[0] + '\n').encode(), a)
        except OSError:
            pass
t = socket.socket(fam, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((bind, port))
t.listen(512)
u = socket.socket(fam, socket.SOCK_DGRAM)
u.bind((bind, port))
threading.Thread(target=tcp, args=(t,), daemon=True).start()
threading.Thread(target=udp, args=(u,), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
"#;

/// A client: connects (TCP) or sends a datagram (UDP) and prints what happened.
const CLIENT_PY: &str = r#"
import errno, socket, sys
proto, src, sport, dst, dport, timeout = sys.argv[1:7]
fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
kind = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
s = socket.socket(fam, kind)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if proto == 'udp':
    s.setsockopt(socket.SOL_IP if fam == socket.AF_INET else socket.SOL_IPV6,
                 11 if fam == socket.AF_INET else 25, 1)  # IP_RECVERR / IPV6_RECVERR
s.settimeout(float(timeout))
if src != '-' or sport != '0':
    s.bind(('' if src == '-' else src, int(sport)))
try:
    s.connect((dst, int(dport)))
    if proto == 'udp':
        s.send(b'probe\n')
    data = s.recv(4096)
    print('reply ' + data.decode().strip())
except socket.timeout:
    print('timeout')
except ConnectionRefusedError:
    print('refused')
except OSError as e:
    if e.errno in (errno.ETIMEDOUT,):
        print('timeout')
    else:
        print('unreachable ' + (e.strerror or str(e.errno)))
"#;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running testbed. Dropping it tears it down (unless [`Testbed::keep`] was called).
pub struct Testbed {
    prefix: String,
    keep: bool,
    dir: PathBuf,
    children: Mutex<Vec<(u32, Child)>>,
}

impl Testbed {
    /// Builds a testbed with a prefix unique to this process and call.
    pub fn up() -> Result<Testbed> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Testbed::up_named(&format!("{}-{n}", std::process::id()))
    }

    /// Builds a testbed whose namespaces are named `mtb-<name>-<host>`.
    pub fn up_named(name: &str) -> Result<Testbed> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("testbed name `{name}` must be non-empty ASCII letters, digits, `-` or `_`");
        }
        let prefix = format!("{NS_PREFIX}{name}-");
        let dir = std::env::temp_dir().join(format!("mamori-testbed-{name}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let tb = Testbed {
            prefix,
            keep: false,
            dir,
            children: Mutex::new(Vec::new()),
        };
        tb.build()
            .with_context(|| format!("building testbed {}", tb.prefix))?;
        Ok(tb)
    }

    fn build(&self) -> Result<()> {
        for h in Host::ALL {
            if Path::new("/run/netns").join(self.ns(h)).exists() {
                bail!(
                    "namespace {} exists already (hint: `cargo xtask testbed down`)",
                    self.ns(h)
                );
            }
        }
        for h in Host::ALL {
            ip(&["netns", "add", &self.ns(h)])?;
            self.ip(h, &["link", "set", "lo", "up"])?;
            // No duplicate address detection: addresses (link-local ones too) are usable at
            // once, so the first packet of a test does not wait for it.
            self.run_ok(
                h,
                &[
                    "sysctl",
                    "-q",
                    "-w",
                    "net.ipv6.conf.default.accept_dad=0",
                    "net.ipv6.conf.all.accept_dad=0",
                ],
            )?;
        }
        let (gw, lan, wan, dmz, center) = (
            self.ns(Host::Gw),
            self.ns(Host::Lan),
            self.ns(Host::Wan),
            self.ns(Host::Dmz),
            self.ns(Host::Center),
        );
        // veth pairs, created inside the namespaces.
        ip(&[
            "-n", &gw, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", &lan,
        ])?;
        ip(&[
            "-n", &gw, "link", "add", "dmz0", "type", "veth", "peer", "name", "eth0", "netns", &dmz,
        ])?;
        ip(&[
            "-n", &gw, "link", "add", "wan0", "type", "veth", "peer", "name", "gw0", "netns", &wan,
        ])?;
        ip(&[
            "-n", &wan, "link", "add", "ctr0", "type", "veth", "peer", "name", "eth0", "netns",
            &center,
        ])?;
        self.ip(Host::Wan, &["link", "add", "br0", "type", "bridge"])?;
        self.ip(Host::Wan, &["link", "set", "gw0", "master", "br0"])?;
        self.ip(Host::Wan, &["link", "set", "ctr0", "master", "br0"])?;

        use addr::*;
        let plan: &[(Host, &str, &[&str])] = &[
            (Host::Lan, "eth0", &["192.0.2.10/24", "2001:db8:1::10/64"]),
            (Host::Gw, "lan0", &["192.0.2.1/24", "2001:db8:1::1/64"]),
            (Host::Gw, "wan0", &["198.51.100.1/24", "2001:db8:2::1/64"]),
            (Host::Gw, "dmz0", &["203.0.113.1/24", "2001:db8:3::1/64"]),
            (Host::Wan, "br0", &["198.51.100.2/24", "2001:db8:2::2/64"]),
            (Host::Wan, "gw0", &[]),
            (Host::Wan, "ctr0", &[]),
            (
                Host::Center,
                "eth0",
                &["198.51.100.50/24", "2001:db8:2::50/64"],
            ),
            (Host::Dmz, "eth0", &["203.0.113.10/24", "2001:db8:3::10/64"]),
        ];
        for (h, dev, addrs) in plan {
            for a in *addrs {
                self.add_address_on(*h, dev, a)?;
            }
            self.ip(*h, &["link", "set", dev, "up"])?;
        }
        for (h, v4, v6) in [
            (Host::Lan, GW_LAN, GW_LAN6),
            (Host::Dmz, GW_DMZ, GW_DMZ6),
            (Host::Wan, GW_WAN, GW_WAN6),
            (Host::Center, GW_WAN, GW_WAN6),
        ] {
            self.ip(h, &["route", "add", "default", "via", v4])?;
            self.ip(h, &["-6", "route", "add", "default", "via", v6])?;
        }
        self.run_ok(
            Host::Gw,
            &[
                "sysctl",
                "-q",
                "-w",
                "net.ipv4.ip_forward=1",
                "net.ipv6.conf.all.forwarding=1",
            ],
        )?;
        // Wait until every link carries IPv4 and IPv6 (IPv6 needs a moment after link-up).
        for (h, v4, v6) in [
            (Host::Lan, GW_LAN, GW_LAN6),
            (Host::Dmz, GW_DMZ, GW_DMZ6),
            (Host::Wan, GW_WAN, GW_WAN6),
            (Host::Center, GW_WAN, GW_WAN6),
        ] {
            for dst in [v4, v6] {
                self.wait_for(&format!("{h} reaching {dst}"), || {
                    Ok(self
                        .exec(h, &["ping", "-n", "-q", "-c", "1", "-W", "1", dst])?
                        .status
                        .success())
                })?;
            }
        }
        Ok(())
    }

    /// Leaves the namespaces in place when this value is dropped (`cargo xtask testbed up`).
    pub fn keep(mut self) {
        self.keep = true;
    }

    /// The namespace name of a host.
    pub fn ns(&self, h: Host) -> String {
        format!("{}{}", self.prefix, h.short())
    }

    /// The namespace name prefix of this instance.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A scratch directory of this instance (removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds an address (with prefix length) to the host's uplink interface.
    pub fn add_address(&self, h: Host, cidr: &str) -> Result<()> {
        self.add_address_on(h, h.uplink(), cidr)
    }

    fn add_address_on(&self, h: Host, dev: &str, cidr: &str) -> Result<()> {
        if cidr.contains(':') {
            self.ip(h, &["addr", "add", cidr, "dev", dev, "nodad"])
        } else {
            self.ip(h, &["addr", "add", cidr, "dev", dev])
        }
    }

    /// Runs `ip ARGS` inside the host's namespace.
    pub fn ip(&self, h: Host, args: &[&str]) -> Result<()> {
        let mut full = vec!["-n", &*self.ns(h)]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        full.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        ip(&refs)
    }

    /// A command that runs `program` inside the host's namespace.
    pub fn command(&self, h: Host, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(h), program]);
        c
    }

    /// Runs a command inside the host's namespace and returns its output (any status).
    pub fn exec(&self, h: Host, args: &[&str]) -> Result<Output> {
        let (program, rest) = args.split_first().context("empty command")?;
        self.command(h, program)
            .args(rest)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {args:?} in {}", self.ns(h)))
    }

    /// Runs a command inside the host's namespace; fails unless it exits 0. Returns stdout.
    pub fn run_ok(&self, h: Host, args: &[&str]) -> Result<String> {
        let out = self.exec(h, args)?;
        if !out.status.success() {
            bail!(
                "{args:?} in {} failed ({}): {}",
                self.ns(h),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a shell script inside the host's namespace; fails unless it exits 0.
    pub fn sh(&self, h: Host, script: &str) -> Result<String> {
        self.run_ok(h, &["sh", "-c", script])
    }

    /// Starts a long-running process inside the host's namespace; it is killed when the
    /// testbed is dropped (or by [`Testbed::kill`]). Its stdout and stderr go to files in
    /// [`Testbed::dir`], named after the returned pid.
    pub fn spawn(&self, h: Host, args: &[&str]) -> Result<u32> {
        let (program, rest) = args.split_first().context("empty command")?;
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let out = fs::File::create(self.dir.join(format!("spawn-{n}.out")))?;
        let err = fs::File::create(self.dir.join(format!("spawn-{n}.err")))?;
        let child = self
            .command(h, program)
            .args(rest)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {args:?} in {}", self.ns(h)))?;
        let pid = child.id();
        let _ = fs::rename(
            self.dir.join(format!("spawn-{n}.out")),
            self.dir.join(format!("{pid}.out")),
        );
        let _ = fs::rename(
            self.dir.join(format!("spawn-{n}.err")),
            self.dir.join(format!("{pid}.err")),
        );
        self.children.lock().unwrap().push((pid, child));
        Ok(pid)
    }

    /// What a spawned process wrote to stdout so far.
    pub fn stdout_of(&self, pid: u32) -> String {
        fs::read_to_string(self.dir.join(format!("{pid}.out"))).unwrap_or_default()
    }

    /// What a spawned process wrote to stderr so far.
    pub fn stderr_of(&self, pid: u32) -> String {
        fs::read_to_string(self.dir.join(format!("{pid}.err"))).unwrap_or_default()
    }

    /// Kills a process started by [`Testbed::spawn`] and waits for it.
    pub fn kill(&self, pid: u32) -> Result<()> {
        let mut children = self.children.lock().unwrap();
        let Some(i) = children.iter().position(|(p, _)| *p == pid) else {
            bail!("no process {pid} was started by this testbed");
        };
        let (_, mut child) = children.remove(i);
        let _ = child.kill();
        let _ = child.wait();
        Ok(())
    }

    /// Starts an HTTP server (`python3 -m http.server`) on `bind:port` in the host's
    /// namespace, serving `body` at `/` (as `index.html`) and `/health`. Returns its pid
    /// once it accepts connections.
    pub fn http_server(&self, h: Host, bind: &str, port: u16, body: &str) -> Result<u32> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root = self.dir.join(format!("www-{n}"));
        fs::create_dir_all(&root)?;
        fs::write(root.join("index.html"), format!("{body}\n"))?;
        fs::write(root.join("health"), "ok\n")?;
        let port_s = port.to_string();
        let root_s = root.display().to_string();
        let pid = self.spawn(
            h,
            &[
                "python3",
                "-m",
                "http.server",
                "--bind",
                bind,
                "--directory",
                &root_s,
                &port_s,
            ],
        )?;
        let host = if bind.contains(':') {
            format!("[{bind}]")
        } else {
            bind.to_string()
        };
        let url = format!("http://{host}:{port}/health");
        self.wait_for(&format!("HTTP server on {bind}:{port}"), || {
            Ok(self
                .exec(
                    h,
                    &["curl", "-s", "-o", "/dev/null", "--max-time", "1", &url],
                )?
                .status
                .success())
        })?;
        Ok(pid)
    }

    /// Starts an observer on `bind:port` (TCP and UDP) in the host's namespace: it records
    /// every connection and datagram (see [`Testbed::observed`]) and answers with the
    /// source address it saw.
    pub fn observer(&self, h: Host, bind: &str, port: u16) -> Result<Observer> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let log = self.dir.join(format!("observer-{n}.log"));
        fs::write(&log, "")?;
        let port_s = port.to_string();
        let log_s = log.display().to_string();
        let pid = self.spawn(h, &["python3", "-c", OBSERVER_PY, bind, &port_s, &log_s])?;
        self.wait_for(&format!("observer on {bind}:{port}"), || {
            Ok(self.stdout_of(pid).contains("ready"))
        })
        .with_context(|| self.stderr_of(pid))?;
        Ok(Observer { pid, log })
    }

    /// Connects (TCP) or sends a datagram (UDP) from the host's namespace to `dst:dport`,
    /// optionally from a given source address and port, and reports what happened.
    #[allow(clippy::too_many_arguments)]
    pub fn probe(
        &self,
        h: Host,
        proto: &str,
        src: Option<&str>,
        sport: u16,
        dst: &str,
        dport: u16,
        timeout: Duration,
    ) -> Result<Probe> {
        if proto != "tcp" && proto != "udp" {
            bail!("probe protocol must be tcp or udp, not `{proto}`");
        }
        let out = self.run_ok(
            h,
            &[
                "python3",
                "-c",
                CLIENT_PY,
                proto,
                src.unwrap_or("-"),
                &sport.to_string(),
                dst,
                &dport.to_string(),
                &format!("{:.3}", timeout.as_secs_f64()),
            ],
        )?;
        let line = out.trim();
        Ok(if let Some(r) = line.strip_prefix("reply ") {
            Probe::Reply(r.to_string())
        } else if line == "reply" {
            Probe::Reply(String::new())
        } else if line == "refused" {
            Probe::Refused
        } else if line == "timeout" {
            Probe::Timeout
        } else if let Some(r) = line.strip_prefix("unreachable ") {
            Probe::Unreachable(r.to_string())
        } else {
            bail!("unexpected probe output: {line:?}")
        })
    }

    /// A TCP connection from the host to `dst:port`: true when the server answered.
    pub fn tcp_ok(&self, h: Host, dst: &str, port: u16) -> Result<bool> {
        Ok(self
            .probe(h, "tcp", None, 0, dst, port, Duration::from_secs(2))?
            .is_reply())
    }

    /// One ICMP echo from the host to `dst` (IPv4 or IPv6): true when answered.
    pub fn ping(&self, h: Host, dst: &str) -> Result<bool> {
        self.ping_from(h, None, dst)
    }

    /// One ICMP echo from the host to `dst`, from a given source address.
    pub fn ping_from(&self, h: Host, src: Option<&str>, dst: &str) -> Result<bool> {
        let mut args = vec!["ping", "-n", "-q", "-c", "1", "-W", "1"];
        if let Some(s) = src {
            args.extend(["-I", s]);
        }
        args.push(dst);
        Ok(self.exec(h, &args)?.status.success())
    }

    /// `curl` from the host; the body on success, `None` when the request failed.
    pub fn http_get(&self, h: Host, url: &str) -> Result<Option<String>> {
        let out = self.exec(h, &["curl", "-s", "-f", "--max-time", "2", url])?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
    }

    /// Applies an nft script inside the host's namespace (test helper; the agent has its
    /// own adapter).
    pub fn nft(&self, h: Host, script: &str) -> Result<()> {
        use std::io::Write;
        let mut child = self
            .command(h, "nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().unwrap().write_all(script.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "nft -f in {} failed: {}",
                self.ns(h),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    fn wait_for(&self, what: &str, mut ready: impl FnMut() -> Result<bool>) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if ready()? {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(50));
        }
        bail!("{what} did not come up within 10 s")
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        for (_, mut child) in self.children.lock().unwrap().drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = delete_namespaces(&self.prefix);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A running observer (see [`Testbed::observer`]).
pub struct Observer {
    pub pid: u32,
    log: PathBuf,
}

impl Observer {
    /// Everything seen so far, one line each: `tcp|udp SRC SPORT`.
    pub fn seen(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// Forgets what was seen so far.
    pub fn clear(&self) -> Result<()> {
        fs::write(&self.log, "")?;
        Ok(())
    }
}

/// Deletes every namespace whose name starts with `mtb-<name>-` (or `mtb-` when `name`
/// is `None`), killing the processes inside first. Returns the names deleted.
pub fn down(name: Option<&str>) -> Result<Vec<String>> {
    let prefix = match name {
        Some(n) => format!("{NS_PREFIX}{n}-"),
        None => NS_PREFIX.to_string(),
    };
    delete_namespaces(&prefix)
}

fn delete_namespaces(prefix: &str) -> Result<Vec<String>> {
    let mut deleted = Vec::new();
    let entries = match fs::read_dir("/run/netns") {
        Ok(e) => e,
        Err(_) => return Ok(deleted),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    for ns in &names {
        if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
    }
    for ns in names {
        ip(&["netns", "del", &ns])?;
        deleted.push(ns);
    }
    Ok(deleted)
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running `ip` (hint: install iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
