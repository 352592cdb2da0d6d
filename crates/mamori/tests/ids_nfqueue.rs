//! `mamori ids --nfqueue` inline, in a testbed of three network namespaces (client,
//! gateway, server) that the test creates and deletes: the gateway's nftables queues
//! forwarded TCP to the engine; a request matching a drop rule never reaches the
//! server, other requests do.

// Needs network namespaces, nft and NFQUEUE, as root: only with `external`.
#![cfg(feature = "external")]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Testbed {
    ns: [String; 3],
    children: Vec<Child>,
    dir: PathBuf,
}

fn sh(cmd: &[&str]) {
    let out = Command::new(cmd[0]).args(&cmd[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Testbed {
    fn new(tag: &str) -> Testbed {
        let id = std::process::id();
        let ns = [
            format!("mic{tag}{id}"),
            format!("mig{tag}{id}"),
            format!("mis{tag}{id}"),
        ];
        let dir = std::env::temp_dir().join(format!("mamori-nfq-{tag}-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        let tb = Testbed {
            ns: ns.clone(),
            children: Vec::new(),
            dir,
        };
        for n in &ns {
            sh(&["ip", "netns", "add", n]);
            sh(&["ip", "-n", n, "link", "set", "lo", "up"]);
        }
        let (c, g, s) = (&ns[0], &ns[1], &ns[2]);
        let (lan_c, lan_g) = (format!("qc{tag}{id}"), format!("qg{tag}{id}"));
        let (wan_g, wan_s) = (format!("qw{tag}{id}"), format!("qs{tag}{id}"));
        sh(&[
            "ip", "link", "add", &lan_c, "netns", c, "type", "veth", "peer", "name", &lan_g,
            "netns", g,
        ]);
        sh(&[
            "ip", "link", "add", &wan_g, "netns", g, "type", "veth", "peer", "name", &wan_s,
            "netns", s,
        ]);
        sh(&[
            "ip",
            "-n",
            c,
            "addr",
            "add",
            "192.168.50.2/24",
            "dev",
            &lan_c,
        ]);
        sh(&[
            "ip",
            "-n",
            g,
            "addr",
            "add",
            "192.168.50.1/24",
            "dev",
            &lan_g,
        ]);
        sh(&[
            "ip",
            "-n",
            g,
            "addr",
            "add",
            "198.51.100.1/24",
            "dev",
            &wan_g,
        ]);
        sh(&[
            "ip",
            "-n",
            s,
            "addr",
            "add",
            "198.51.100.2/24",
            "dev",
            &wan_s,
        ]);
        for (n, d) in [(c, &lan_c), (g, &lan_g), (g, &wan_g), (s, &wan_s)] {
            sh(&["ip", "-n", n, "link", "set", d, "up"]);
        }
        sh(&[
            "ip",
            "-n",
            c,
            "route",
            "add",
            "default",
            "via",
            "192.168.50.1",
        ]);
        sh(&[
            "ip",
            "-n",
            s,
            "route",
            "add",
            "default",
            "via",
            "198.51.100.1",
        ]);
        sh(&[
            "ip",
            "netns",
            "exec",
            g,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]);
        tb
    }

    fn exec(&self, ns: usize, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns[ns]]).args(args);
        c
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.ns {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Fetches a URL from the client; `None` when it did not complete within `secs`
/// (generous for requests that must pass: the machine may be busy).
fn curl(tb: &Testbed, url: &str, secs: u32) -> Option<String> {
    let out = tb
        .exec(0, &["curl", "-s", "--max-time", &secs.to_string(), url])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn start_server(tb: &mut Testbed) -> PathBuf {
    let www = tb.dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("ok.txt"), "fine content\n").unwrap();
    std::fs::write(www.join("blocked.txt"), "should never be served\n").unwrap();
    let log = tb.dir.join("server.log");
    let child = tb
        .exec(
            2,
            &[
                "python3",
                "-m",
                "http.server",
                "80",
                "--bind",
                "198.51.100.2",
                "--directory",
            ],
        )
        .arg(&www)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    tb.children.push(child);
    log
}

fn start_ids(tb: &mut Testbed, queue: u16, fail_open: bool) -> (PathBuf, Child) {
    let rules = tb.dir.join("inline.rules");
    std::fs::write(
        &rules,
        "drop http any any -> any any (msg:\"blocked path\"; http.uri; content:\"/blocked\"; sid:100; rev:1;)\n\
         alert http any any -> any any (msg:\"ok path\"; http.uri; content:\"/ok.txt\"; sid:101; rev:1;)\n",
    )
    .unwrap();
    let eve = tb.dir.join("eve.json");
    let mut cmd = tb.exec(
        1,
        &[
            env!("CARGO_BIN_EXE_mamori"),
            "ids",
            "--nfqueue",
            &queue.to_string(),
        ],
    );
    cmd.arg("--rules").arg(&rules).arg("--eve").arg(&eve);
    if fail_open {
        cmd.arg("--fail-open");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(tb.dir.join("ids.stderr")).unwrap())
        .spawn()
        .unwrap();
    // Wait for the bind message.
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    wait_for("the engine to bind its queue", || {
        let mut buf = [0u8; 256];
        let n = stdout.read(&mut buf).unwrap_or(0);
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        seen.contains("inspecting NFQUEUE") || n == 0
    });
    assert!(seen.contains("inspecting NFQUEUE"), "{seen}");
    (eve, child)
}

/// Queues forwarded TCP on the gateway: the nftables `queue` statement where the
/// kernel has it, otherwise the xtables NFQUEUE target through iptables-nft.
fn queue_forwarded_tcp(tb: &Testbed, queue: u16) {
    let ruleset = format!(
        "table inet mamori_ids_test {{\n  chain ids_forward {{\n    type filter hook forward priority 0; policy accept;\n    meta l4proto tcp queue num {queue}\n  }}\n}}\n"
    );
    let file = tb.dir.join("queue.nft");
    std::fs::write(&file, ruleset).unwrap();
    let nft = tb.exec(1, &["nft", "-f"]).arg(&file).output().unwrap();
    if nft.status.success() {
        return;
    }
    let q = queue.to_string();
    let ipt = tb
        .exec(
            1,
            &[
                "iptables-nft",
                "-A",
                "FORWARD",
                "-p",
                "tcp",
                "-j",
                "NFQUEUE",
                "--queue-num",
                &q,
            ],
        )
        .output()
        .unwrap();
    assert!(
        ipt.status.success(),
        "nft: {}\niptables-nft: {}",
        String::from_utf8_lossy(&nft.stderr),
        String::from_utf8_lossy(&ipt.stderr)
    );
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn drop_rule_traffic_never_reaches_the_server() {
    let mut tb = Testbed::new("d");
    let queue = 40 + (std::process::id() % 1000) as u16;
    let log = start_server(&mut tb);
    wait_for("the server", || {
        tb.exec(
            2,
            &[
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "http://198.51.100.2/ok.txt",
            ],
        )
        .status()
        .unwrap()
        .success()
    });
    let (eve, child) = start_ids(&mut tb, queue, false);
    tb.children.push(child);
    queue_forwarded_tcp(&tb, queue);

    assert_eq!(
        curl(&tb, "http://198.51.100.2/ok.txt", 20).as_deref(),
        Some("fine content\n")
    );
    assert_eq!(curl(&tb, "http://198.51.100.2/blocked.txt", 4), None);
    // The allowed request still works after the blocked flow.
    assert_eq!(
        curl(&tb, "http://198.51.100.2/ok.txt", 20).as_deref(),
        Some("fine content\n"),
        "engine stderr: {}\neve: {}",
        read(&tb.dir.join("ids.stderr")),
        read(&eve)
    );

    let server_log = read(&log);
    assert!(server_log.contains("GET /ok.txt"), "{server_log}");
    assert!(!server_log.contains("/blocked"), "{server_log}");
    wait_for("the EVE records", || read(&eve).lines().count() >= 3);
    let records: Vec<serde_json::Value> = read(&eve)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let blocked: Vec<_> = records
        .iter()
        .filter(|r| r["alert"]["signature_id"] == 100)
        .collect();
    assert_eq!(blocked.len(), 1, "{records:?}");
    assert_eq!(blocked[0]["alert"]["action"], "blocked");
    assert_eq!(blocked[0]["src_ip"], "192.168.50.2");
    assert_eq!(blocked[0]["dest_ip"], "198.51.100.2");
    let allowed = records
        .iter()
        .filter(|r| r["alert"]["signature_id"] == 101)
        .count();
    assert_eq!(allowed, 2, "{records:?}");
    assert!(
        records
            .iter()
            .filter(|r| r["alert"]["signature_id"] == 101)
            .all(|r| r["alert"]["action"] == "allowed")
    );
}

#[test]
fn without_the_engine_fail_closed_drops_and_bypass_is_not_implied() {
    // Queued traffic with no engine bound is dropped by the kernel (nftables `queue`
    // without `bypass`): the inline path fails closed.
    let mut tb = Testbed::new("c");
    let queue = 2000 + (std::process::id() % 1000) as u16;
    start_server(&mut tb);
    wait_for("the server", || {
        tb.exec(
            2,
            &[
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "http://198.51.100.2/ok.txt",
            ],
        )
        .status()
        .unwrap()
        .success()
    });
    queue_forwarded_tcp(&tb, queue);
    assert_eq!(curl(&tb, "http://198.51.100.2/ok.txt", 4), None);
    // With the engine bound, the same request passes.
    let (eve, child) = start_ids(&mut tb, queue, true);
    tb.children.push(child);
    assert_eq!(
        curl(&tb, "http://198.51.100.2/ok.txt", 20).as_deref(),
        Some("fine content\n"),
        "engine stderr: {}\neve: {}",
        read(&tb.dir.join("ids.stderr")),
        read(&eve)
    );
}
