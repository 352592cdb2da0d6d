//! The differential test: random policies and random packets (the policy crate's
//! generators); the evaluator's answer against what really happens in the testbed.
//!
//! For each policy, `mamori agent apply` applies it in the gateway namespace. For each
//! packet, the testbed gives the sending namespace (the one behind the packet's input
//! interface) the packet's source address, gives the destination its address, sends the
//! packet for real (a TCP SYN, a UDP datagram, or an ICMP echo with a chosen id), and
//! looks at what arrived: every namespace records, in an nftables set of its own
//! (`ip mtbobs`, hooked before anything else, or after the gateway's filter for packets
//! to the gateway itself), the addresses and ports of every packet it receives.
//!
//! Compared: delivered, rejected or dropped, and for delivered packets the addresses and
//! ports the destination saw (DNAT and SNAT/masquerade). A reject is told from a drop by
//! the gateway's answer (TCP RST or ICMP unreachable) arriving at the source, which is
//! possible only when the source address is on the link the packet came in by; for other
//! packets reject and drop both count as "not delivered".

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use mamori_policy as policy;
use policy::generate::{GenConfig, GenInterface};
use policy::{Action, Health, Packet, Proto};

use crate::testbed::{Host, Testbed};

/// The generators' view of the testbed's gateway.
pub fn gen_config() -> GenConfig {
    let i = |name: &str, zone: &str, address: &str, default_route| GenInterface {
        name: name.into(),
        zone: zone.into(),
        address: address.into(),
        default_route,
    };
    GenConfig {
        interfaces: vec![
            i("lan0", "lan", "192.0.2.1/24", false),
            i("dmz0", "dmz", "203.0.113.1/24", false),
            i("wan0", "wan", "198.51.100.1/24", true),
        ],
        center: "198.51.100.50".into(),
        outside: "198.51.100.0/24".into(),
    }
}

/// The namespace behind each gateway interface.
fn host_of(iface: &str) -> Option<Host> {
    match iface {
        "lan0" => Some(Host::Lan),
        "dmz0" => Some(Host::Dmz),
        "wan0" => Some(Host::Wan),
        _ => None,
    }
}

/// The interface whose network holds `a` (gateway-side view).
fn iface_of(a: Ipv4Addr) -> Option<&'static str> {
    match a.octets() {
        [192, 0, 2, _] => Some("lan0"),
        [203, 0, 113, _] => Some("dmz0"),
        [198, 51, 100, _] => Some("wan0"),
        _ => None,
    }
}

const GW_ADDRS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(192, 0, 2, 1),
    Ipv4Addr::new(203, 0, 113, 1),
    Ipv4Addr::new(198, 51, 100, 1),
];

/// Addresses the testbed has anyway (never added or removed by a case).
fn fixed_owner(a: Ipv4Addr) -> Option<Host> {
    match a.to_string().as_str() {
        "192.0.2.10" => Some(Host::Lan),
        "203.0.113.10" => Some(Host::Dmz),
        "198.51.100.2" => Some(Host::Wan),
        "198.51.100.50" => Some(Host::Center),
        _ => None,
    }
}

const OBSERVE_HOSTS: [Host; 5] = [Host::Lan, Host::Dmz, Host::Wan, Host::Center, Host::Gw];

fn observe_table(h: Host, ipv6: bool) -> String {
    let (fam, ip, icmp) = if ipv6 {
        ("ip6", "ip6", "icmpv6")
    } else {
        ("ip", "ip", "icmp")
    };
    let hook = if h == Host::Gw {
        // After the gateway's own filter (priority 0): only what it accepted for itself.
        "type filter hook input priority 10; policy accept;"
    } else {
        "type filter hook prerouting priority -300; policy accept;"
    };
    format!(
        "table {fam} mtbobs {{}}\ndelete table {fam} mtbobs\ntable {fam} mtbobs {{
  set l4 {{ typeof {ip} saddr . {ip} daddr . meta l4proto . th sport . th dport; flags dynamic; size 65536; }}
  set echo {{ typeof {ip} saddr . {ip} daddr . {icmp} id; flags dynamic; size 65536; }}
  set unreach {{ typeof {ip} saddr . {ip} daddr; flags dynamic; size 65536; }}
  set rst {{ typeof {ip} saddr . {ip} daddr . th sport . th dport; flags dynamic; size 65536; }}
  chain c {{
    {hook}
    meta l4proto {{ tcp, udp }} add @l4 {{ {ip} saddr . {ip} daddr . meta l4proto . th sport . th dport }}
    {icmp} type echo-request add @echo {{ {ip} saddr . {ip} daddr . {icmp} id }}
    {icmp} type destination-unreachable add @unreach {{ {ip} saddr . {ip} daddr }}
    tcp flags & rst == rst add @rst {{ {ip} saddr . {ip} daddr . th sport . th dport }}
  }}
}}
"
    )
}

/// What a namespace saw: (src, dst, proto, sport-or-id, dport).
type Seen = (String, String, String, u16, u16);

fn observed(tb: &Testbed, h: Host, ipv6: bool) -> Result<Vec<Seen>> {
    let mut out = Vec::new();
    let fam = if ipv6 { "ip6" } else { "ip" };
    let text = tb.run_ok(h, &["nft", "-j", "list", "table", fam, "mtbobs"])?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let items = v["nftables"].as_array().cloned().unwrap_or_default();
    for item in items {
        let set = item["set"]["name"].as_str().unwrap_or("");
        let Some(elems) = item["set"]["elem"].as_array() else {
            continue;
        };
        for e in elems {
            // Either {"concat": [...]} or {"elem": {"val": {"concat": [...]}}}.
            let concat = e
                .get("concat")
                .or_else(|| e.get("elem").and_then(|x| x["val"].get("concat")))
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default();
            let s = |i: usize| -> String {
                concat
                    .get(i)
                    .map(|x| x.as_str().map(String::from).unwrap_or(x.to_string()))
                    .unwrap_or_default()
            };
            let n = |i: usize| -> u16 {
                concat
                    .get(i)
                    .and_then(|x| x.as_u64())
                    .map(|x| x as u16)
                    .unwrap_or(0)
            };
            match set {
                "l4" => out.push((s(0), s(1), s(2), n(3), n(4))),
                "echo" => out.push((s(0), s(1), "icmp".into(), n(2), 0)),
                "unreach" => out.push((s(0), s(1), "unreach".into(), 0, 0)),
                "rst" => out.push((s(0), s(1), "rst".into(), n(2), n(3))),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Sends one packet from the host: a TCP SYN, a UDP datagram, or an ICMP echo request
/// with id `sport`.
const SEND_PY: &str = r#"
import socket, struct, sys, time
proto, src, sport, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
if proto == 'icmp' and fam == socket.AF_INET6:
    # The kernel fills in the ICMPv6 checksum.
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.bind((src, 0))
    s.sendto(struct.pack('!BBHHH', 128, 0, 0, sport, 1) + b'mamori', (dst, 0))
elif proto == 'icmp':
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.bind((src, 0))
    def csum(b):
        if len(b) % 2: b += b'\0'
        t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
        t = (t >> 16) + (t & 0xffff); t += t >> 16
        return ~t & 0xffff
    hdr = struct.pack('!BBHHH', 8, 0, 0, sport, 1) + b'mamori'
    pkt = struct.pack('!BBHHH', 8, 0, csum(hdr), sport, 1) + b'mamori'
    s.sendto(pkt, (dst, 0))
elif proto == 'udp':
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((src, sport))
    s.sendto(b'probe', (dst, dport))
else:
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport))
    s.setblocking(False)
    try:
        s.connect((dst, dport))
    except BlockingIOError:
        pass
    except OSError:
        pass
time.sleep(0.05)
"#;

/// One compared case.
#[derive(Debug, Clone)]
pub struct Case {
    pub policy_seed: u64,
    pub packet: String,
    pub expected: String,
    pub seen: String,
    pub agree: bool,
}

/// Totals of a run.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub policies: usize,
    pub cases: usize,
    pub skipped: usize,
    pub accepted: usize,
    /// Not delivered, and the gateway's answer (RST or ICMP unreachable) seen at the source.
    pub rejected: usize,
    pub disagreements: Vec<Case>,
    /// Every compared case, in order.
    pub all: Vec<Case>,
}

impl Summary {
    pub fn report(&self) -> String {
        let mut s = format!(
            "{} policies, {} packets compared ({} delivered, {} rejected, {} dropped), {} generated packets skipped (not sendable in the testbed), {} disagreements",
            self.policies,
            self.cases,
            self.accepted,
            self.rejected,
            self.cases - self.accepted - self.rejected,
            self.skipped,
            self.disagreements.len()
        );
        for c in &self.disagreements {
            let _ = write!(
                s,
                "\n  policy seed {}: {}\n    evaluator: {}\n    testbed:   {}",
                c.policy_seed, c.packet, c.expected, c.seen
            );
        }
        s
    }
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

/// Why a generated packet cannot be sent for real in the testbed (so it is skipped).
fn unsendable(pkt: &Packet) -> Option<&'static str> {
    let (Some(src), Some(dst)) = (v4(pkt.src), v4(pkt.dst)) else {
        return Some("IPv6");
    };
    if src == dst {
        return Some("source is destination");
    }
    for a in [src, dst] {
        let last = a.octets()[3];
        if last == 0 || last == 255 {
            return Some("network or broadcast address");
        }
        if iface_of(a).is_none() {
            return Some("address outside the testbed's networks");
        }
    }
    if GW_ADDRS.contains(&src) {
        return Some("source is the gateway's own address");
    }
    if !GW_ADDRS.contains(&dst) && iface_of(dst) == Some(pkt.input.as_str()) {
        return Some("destination on the input link (never crosses the gateway)");
    }
    if let Some(owner) = fixed_owner(src)
        && Some(owner) != host_of(&pkt.input)
        && !(owner == Host::Center && pkt.input == "wan0")
    {
        return Some("source address belongs to another host of the testbed");
    }
    if !matches!(
        pkt.proto,
        Proto::Tcp { .. } | Proto::Udp { .. } | Proto::Icmp { r#type: 8 }
    ) {
        return Some("protocol not sent by the harness");
    }
    None
}

/// Runs the random policies numbered `policies` (policy `i` of `seed` is always the same)
/// with `packets` random packets each.
///
/// With `sabotage`, the applied table is deleted again before the packets are sent (the
/// kernel then forwards everything): a check that the harness does see disagreements.
pub fn run(
    tb: &Testbed,
    mamori: &Path,
    seed: u64,
    policies: std::ops::Range<usize>,
    packets: usize,
    sabotage: bool,
) -> Result<Summary> {
    run_family(tb, mamori, seed, policies, packets, sabotage, false)
}

/// Like [`run`]; with `ipv6`, every policy and packet is its IPv6 twin
/// ([`policy::generate::to_ipv6`]: `2001:db8::/96` plus the IPv4 address), and the
/// gateway's interfaces get the twins of their addresses.
pub fn run_family(
    tb: &Testbed,
    mamori: &Path,
    seed: u64,
    policies: std::ops::Range<usize>,
    packets: usize,
    sabotage: bool,
    ipv6: bool,
) -> Result<Summary> {
    let cfg = gen_config();
    if ipv6 {
        for (dev, a) in [
            ("lan0", "192.0.2.1"),
            ("dmz0", "203.0.113.1"),
            ("wan0", "198.51.100.1"),
        ] {
            let twin = policy::generate::ipv6_twin(a.parse()?);
            let cidr = format!("{twin}/120");
            let out = tb.exec(
                Host::Gw,
                &["ip", "addr", "replace", &cidr, "dev", dev, "nodad"],
            )?;
            if !out.status.success() {
                bail!(
                    "cannot add {cidr} to {dev}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    // The evaluator models no reverse-path filter.
    tb.sh(
        Host::Gw,
        "sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
         net.ipv4.conf.lan0.rp_filter=0 net.ipv4.conf.wan0.rp_filter=0 net.ipv4.conf.dmz0.rp_filter=0",
    )?;
    let state = tb.dir().join("diff-state");
    let mut sum = Summary::default();
    let mut next_port: u16 = 30000;
    for pi in policies {
        let pseed = seed.wrapping_mul(1_000_003).wrapping_add(pi as u64);
        let text4 = policy::generate::random_policy(pseed, &cfg);
        let check = |text: &str| -> Result<policy::Policy> {
            let checked = policy::check(text, &policy::Lists::new());
            match checked.policy {
                Some(p) if !checked.diagnostics.iter().any(|d| d.is_error()) => Ok(p),
                _ => bail!("generated policy (seed {pseed}) does not check:\n{text}"),
            }
        };
        // Packets are drawn (and placed in the testbed) in IPv4 terms, then twinned.
        let p4 = check(&text4)?;
        let text = if ipv6 {
            policy::generate::to_ipv6(&text4)
        } else {
            text4.clone()
        };
        let p = if ipv6 { check(&text)? } else { p4.clone() };
        let file = tb.dir().join(format!("diff-{pseed}.toml"));
        std::fs::write(&file, &text)?;
        let out = tb.exec(
            Host::Gw,
            &[
                mamori.to_str().unwrap(),
                "agent",
                "apply",
                file.to_str().unwrap(),
                "--state-dir",
                state.to_str().unwrap(),
            ],
        )?;
        if !out.status.success() {
            bail!(
                "mamori agent apply failed for policy seed {pseed}: {}\n{text}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if sabotage {
            tb.run_ok(Host::Gw, &["nft", "delete", "table", "inet", "mamori"])?;
        }
        sum.policies += 1;
        let mut done = 0;
        let mut k = 0u64;
        while done < packets && k < (packets as u64) * 20 {
            let mut pkt = policy::generate::random_packet(&p4, &cfg, pseed.wrapping_add(k * 7919));
            k += 1;
            if unsendable(&pkt).is_some() {
                sum.skipped += 1;
                continue;
            }
            next_port = if next_port >= 60000 {
                30000
            } else {
                next_port + 1
            };
            pkt.proto = match pkt.proto {
                Proto::Tcp { dport, .. } => Proto::Tcp {
                    sport: next_port,
                    dport,
                },
                Proto::Udp { dport, .. } => Proto::Udp {
                    sport: next_port,
                    dport,
                },
                other => other,
            };
            let real = if ipv6 {
                policy::generate::packet_to_ipv6(&pkt)
            } else {
                pkt.clone()
            };
            let case = one_case(tb, &p, &real, &pkt, next_port, pseed, ipv6)
                .with_context(|| format!("policy seed {pseed}, packet {real:?}"))?;
            sum.cases += 1;
            done += 1;
            if case.seen.starts_with("delivered") {
                sum.accepted += 1;
            }
            if case.seen == "rejected" {
                sum.rejected += 1;
            }
            if !case.agree {
                sum.disagreements.push(case.clone());
            }
            sum.all.push(case);
        }
    }
    Ok(sum)
}

fn describe_packet(pkt: &Packet, id: u16) -> String {
    match pkt.proto {
        Proto::Tcp { sport, dport } => {
            format!(
                "tcp {}:{sport} -> {}:{dport} in {}",
                pkt.src, pkt.dst, pkt.input
            )
        }
        Proto::Udp { sport, dport } => {
            format!(
                "udp {}:{sport} -> {}:{dport} in {}",
                pkt.src, pkt.dst, pkt.input
            )
        }
        _ => format!(
            "icmp {} -> {} in {} (echo id {id})",
            pkt.src, pkt.dst, pkt.input
        ),
    }
}

/// The IPv4 address an address stands for (itself, or the IPv4 part of an IPv6 twin).
fn as_v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(a) => {
            let n = u128::from(a);
            (n >> 32 == 0x2001_0db8_u128 << 64).then(|| Ipv4Addr::from(n as u32))
        }
    }
}

/// Compares one packet: `pkt` is what is sent and evaluated; `pkt4` is its IPv4 form,
/// by which addresses are placed in the testbed (the same packet unless `ipv6`).
fn one_case(
    tb: &Testbed,
    p: &policy::Policy,
    pkt: &Packet,
    pkt4: &Packet,
    id: u16,
    seed: u64,
    ipv6: bool,
) -> Result<Case> {
    let outcome = policy::eval(p, pkt, &Health::all_healthy())?;
    let src = v4(pkt4.src).unwrap();
    let dst = v4(pkt4.dst).unwrap();
    // The address as the testbed uses it, and its host prefix.
    let real = |a: Ipv4Addr| -> String {
        if ipv6 {
            policy::generate::ipv6_twin(a).to_string()
        } else {
            a.to_string()
        }
    };
    let host_len = if ipv6 { "128" } else { "32" };
    // Hosts that own an address from the start (IPv4 only; twins are all added).
    let fixed_owner = |a: Ipv4Addr| if ipv6 { None } else { fixed_owner(a) };
    let sender = host_of(&pkt.input).context("unknown input interface")?;

    // What the destination should see when the packet is delivered.
    let (exp_dst, exp_dport) = match &outcome.dnat {
        Some(d) => (
            d.to,
            d.port.unwrap_or(match pkt.proto {
                Proto::Tcp { dport, .. } | Proto::Udp { dport, .. } => dport,
                _ => 0,
            }),
        ),
        None => (
            pkt.dst,
            match pkt.proto {
                Proto::Tcp { dport, .. } | Proto::Udp { dport, .. } => dport,
                _ => 0,
            },
        ),
    };
    let exp_src = match &outcome.snat {
        Some(s) => s.to.unwrap_or(pkt.src),
        None => pkt.src,
    };
    let delivered = outcome.verdict == Action::Accept;
    // A reject's answer goes back to the source address: it reaches a host of the testbed
    // only when the source is on the link the packet came in by.
    let answer_host =
        (iface_of(src) == Some(pkt.input.as_str())).then(|| fixed_owner(src).unwrap_or(sender));
    let rejected = outcome.verdict == Action::Reject && answer_host.is_some();
    let expected = if delivered {
        format!("delivered as {exp_src} -> {exp_dst}:{exp_dport}")
    } else if rejected {
        "rejected".to_string()
    } else {
        "not delivered".to_string()
    };

    // Set up addresses: the source in the sender, the destination (and a DNAT target)
    // where the gateway will look for it.
    let mut added: Vec<(Host, String)> = Vec::new();
    if fixed_owner(src).is_none() {
        added.push((sender, format!("{}/{host_len}", real(src))));
    }
    let mut targets: BTreeSet<Ipv4Addr> = BTreeSet::new();
    targets.insert(dst);
    if let Some(d) = &outcome.dnat
        && let Some(t) = as_v4(d.to)
    {
        targets.insert(t);
    }
    for t in targets {
        if GW_ADDRS.contains(&t) || fixed_owner(t).is_some() || t == src {
            continue;
        }
        if let Some(h) = iface_of(t).and_then(host_of) {
            added.push((h, format!("{}/{host_len}", real(t))));
        }
    }
    for (h, a) in &added {
        if ipv6 {
            tb.ip(*h, &["addr", "add", a, "dev", h.uplink(), "nodad"])?;
        } else {
            tb.ip(*h, &["addr", "add", a, "dev", h.uplink()])?;
        }
    }
    // Forget what the gateway learnt about these addresses in earlier cases (a failed
    // resolution while the address was elsewhere would delay this packet).
    for (_, a) in &added {
        let ip = a.split('/').next().unwrap_or(a);
        let _ = tb.ip(Host::Gw, &["neigh", "flush", "to", ip]);
    }
    for h in OBSERVE_HOSTS {
        tb.nft(h, &observe_table(h, ipv6))?;
    }

    let (proto, sport, dport) = match pkt.proto {
        Proto::Tcp { sport, dport } => ("tcp", sport, dport),
        Proto::Udp { sport, dport } => ("udp", sport, dport),
        _ => ("icmp", id, 0),
    };
    let send = tb.run_ok(
        sender,
        &[
            "python3",
            "-c",
            SEND_PY,
            proto,
            &real(src),
            &sport.to_string(),
            &real(dst),
            &dport.to_string(),
        ],
    );
    // Let the packet cross (and the neighbour resolution happen).
    let mut seen: Vec<(Host, Seen)> = Vec::new();
    if send.is_ok() {
        // Within the testbed a packet arrives in well under a millisecond; the first one to
        // a new address waits for neighbour resolution. Look twice.
        let waits: &[u64] = if delivered || rejected {
            // Expected to arrive: give it time before calling it lost.
            &[150, 350, 1000]
        } else {
            &[150, 350]
        };
        for &wait in waits {
            thread::sleep(Duration::from_millis(wait));
            seen.clear();
            for h in OBSERVE_HOSTS {
                if h == sender {
                    continue;
                }
                for s in observed(tb, h, ipv6)? {
                    if s.2 == proto && s.3 == sport {
                        seen.push((h, s));
                    }
                }
            }
            if let Some(h) = answer_host {
                for s in observed(tb, h, ipv6)? {
                    let answer = match s.2.as_str() {
                        "unreach" => s.1 == real(src),
                        "rst" => proto == "tcp" && s.1 == real(src) && s.4 == sport,
                        _ => false,
                    };
                    if answer {
                        seen.push((h, s));
                    }
                }
            }
            if !seen.is_empty() {
                break;
            }
        }
    }
    for (h, a) in &added {
        let _ = tb.ip(*h, &["addr", "del", a, "dev", h.uplink()]);
    }
    send?;

    let arrived = seen.iter().find(|(_, s)| s.2 == proto);
    let seen_text = match (arrived, seen.first()) {
        (Some((_, s)), _) => format!("delivered as {} -> {}:{}", s.0, s.1, s.4),
        (None, Some(_)) => "rejected".to_string(),
        (None, None) => "not delivered".to_string(),
    };
    let agree = seen_text == expected;
    Ok(Case {
        policy_seed: seed,
        packet: describe_packet(pkt, id),
        expected: format!("{expected} ({:?})", outcome.matched),
        seen: seen_text,
        agree,
    })
}
