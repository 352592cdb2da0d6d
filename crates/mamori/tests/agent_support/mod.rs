//! Helpers shared by the agent's testbed tests: running `mamori agent` inside the
//! gateway namespace, and reading the live ruleset there.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::thread;
use std::time::{Duration, Instant};

use xtask::testbed::{Host, Testbed};

pub const MAMORI: &str = env!("CARGO_BIN_EXE_mamori");

/// Runs `mamori ARGS` inside the gateway namespace.
pub fn mamori(tb: &Testbed, args: &[&str]) -> Output {
    let mut full = vec![MAMORI];
    full.extend_from_slice(args);
    tb.exec(Host::Gw, &full).unwrap()
}

/// Runs `mamori ARGS` in the gateway; panics with its stderr unless it succeeds.
pub fn mamori_ok(tb: &Testbed, args: &[&str]) -> String {
    let out = mamori(tb, args);
    assert!(
        out.status.success(),
        "mamori {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The agent's state directory in a testbed.
pub fn state_dir(tb: &Testbed) -> String {
    tb.dir().join("state").display().to_string()
}

/// Runs `mamori agent apply FILE --state-dir STATE EXTRA...` in the gateway.
pub fn agent_apply(tb: &Testbed, file: &Path, extra: &[&str]) -> Output {
    let state = state_dir(tb);
    let mut args = vec![
        "agent",
        "apply",
        file.to_str().unwrap(),
        "--state-dir",
        &state,
    ];
    args.extend_from_slice(extra);
    mamori(tb, &args)
}

/// [`agent_apply`]; panics with its stderr unless it succeeds.
pub fn agent_apply_ok(tb: &Testbed, file: &Path, extra: &[&str]) {
    let out = agent_apply(tb, file, extra);
    assert!(
        out.status.success(),
        "apply {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The gateway's live `inet mamori` table as nft text (empty when there is none).
pub fn live(tb: &Testbed) -> String {
    let out = tb
        .exec(Host::Gw, &["nft", "list", "table", "inet", "mamori"])
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A file in the testbed's scratch directory with the given contents.
pub fn write(tb: &Testbed, name: &str, text: &str) -> PathBuf {
    let p = tb.dir().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Polls `cond` every 100 ms for up to `limit`; true once it holds.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// A gateway ruleset in the shape the policy compiler produces: stateful filtering with
/// default drop, the management rule (center only: ping, SSH, SNMP, HTTPS), LAN to WAN
/// TCP 7000/80/443, UDP 7000 and ping, a port forward WAN:8080 -> DMZ:80, a load-balanced
/// service WAN:80 over the `lb_web` map, and masquerade of the LAN on the WAN.
/// With `management = false` the management rule is left out (a lock-out).
pub fn gateway_ruleset(management: bool) -> String {
    let mgmt = if management {
        "ip saddr @mgmt4 icmp type echo-request accept
    ip saddr @mgmt4 tcp dport { 22, 443 } accept
    ip saddr @mgmt4 udp dport 161 accept"
    } else {
        ""
    };
    format!(
        r#"table inet mamori {{
  set mgmt4 {{ type ipv4_addr; flags interval; elements = {{ 198.51.100.50 }} }}
  map lb_web {{
    typeof numgen random mod 1000 : ip daddr . tcp dport
    flags interval
  }}
  chain input {{
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    iif "lo" accept
    {mgmt}
  }}
  chain forward {{
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    ct status dnat accept
    iifname "lan0" oifname "wan0" tcp dport {{ 80, 443, 7000 }} counter accept
    iifname "lan0" oifname "wan0" udp dport 7000 counter accept
    iifname "lan0" oifname "wan0" icmp type echo-request counter accept
    iifname "lan0" oifname "wan0" tcp dport 7003 counter reject with tcp reset
  }}
  chain prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan0" ip daddr 198.51.100.1 tcp dport 8080 dnat ip to 203.0.113.10:80
    ip daddr 198.51.100.1 tcp dport 80 dnat ip to numgen random mod 1000 map @lb_web
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" ip saddr 192.0.2.0/24 masquerade
  }}
}}
"#
    )
}

/// The testbed gateway's policy: default drop; LAN to WAN TCP/UDP 7000, web and ping;
/// TCP 7003 rejected; masquerade on the WAN; a port forward WAN:8080 -> DMZ:80; a load
/// balancer WAN:80 over three DMZ backends (HTTP health check every second); management
/// from `center` (the real center is 198.51.100.50: any other value locks it out).
pub fn gateway_policy(center: &str) -> String {
    POLICY.replace("{center}", center)
}

const POLICY: &str = r#"# The testbed gateway: LAN, DMZ and WAN; the center at 198.51.100.50.

[interfaces]
lan0 = { zone = "lan", addresses = ["192.0.2.1/24", "2001:db8:1::1/64"] }
dmz0 = { zone = "dmz", addresses = ["203.0.113.1/24", "2001:db8:3::1/64"] }
wan0 = { zone = "wan", addresses = ["198.51.100.1/24", "2001:db8:2::1/64"], default_route = true }

[management]
center = ["{center}"]

[services]
echo = ["tcp/7000", "udp/7000"]
web = ["tcp/80", "tcp/443"]
ping = ["icmp/echo-request", "icmpv6/echo-request"]
closed = "tcp/7003"

[defaults]
"*" = "drop"

[[rules]]
name = "lan-out"
from = "lan"
to = "wan"
service = ["echo", "web", "ping"]
action = "accept"

[[rules]]
name = "lan-closed"
from = "lan"
to = "wan"
service = "closed"
action = "reject"

[nat]
masquerade = ["wan"]

[[nat.port_forwards]]
name = "web"
zone = "wan"
destination = "198.51.100.1"
protocol = "tcp"
port = 8080
to = "203.0.113.10"
to_port = 80

[[load_balancers]]
name = "app"
zone = "wan"
protocol = "tcp"
address = "198.51.100.1"
port = 80
health = { check = "http", path = "/health", interval = "1s" }
backends = [
  { address = "203.0.113.11", port = 8080 },
  { address = "203.0.113.12", port = 8080 },
  { address = "203.0.113.13", port = 8080 },
]
"#;
