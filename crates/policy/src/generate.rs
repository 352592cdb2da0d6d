//! Generators of policies: small random ones (for property and differential tests,
//! reproducible from a seed) and big ones (for benchmarks). Both produce document text,
//! so what they make goes through the same reader as a person's policy.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use crate::addr::Family;
use crate::eval::{Packet, Proto, State};
use crate::model::*;

/// A small, fast, seeded pseudo-random generator (SplitMix64): the same seed gives the
/// same sequence on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// One interface of the generated policies' gateway.
#[derive(Debug, Clone)]
pub struct GenInterface {
    pub name: String,
    pub zone: String,
    /// Gateway address with prefix, e.g. `192.0.2.1/26`.
    pub address: String,
    pub default_route: bool,
}

/// The fixed part of generated policies: the gateway's interfaces and the center.
#[derive(Debug, Clone)]
pub struct GenConfig {
    pub interfaces: Vec<GenInterface>,
    pub center: String,
    /// Addresses beyond the default route (the "internet"), as a CIDR.
    pub outside: String,
}

impl Default for GenConfig {
    /// LAN 192.0.2.0/26, DMZ 192.0.2.64/26, WAN 198.51.100.0/24 (default route),
    /// center 203.0.113.10, the internet 203.0.113.0/24.
    fn default() -> GenConfig {
        let i = |name: &str, zone: &str, address: &str, default_route| GenInterface {
            name: name.into(),
            zone: zone.into(),
            address: address.into(),
            default_route,
        };
        GenConfig {
            interfaces: vec![
                i("lan0", "lan", "192.0.2.1/26", false),
                i("dmz0", "dmz", "192.0.2.65/26", false),
                i("wan0", "wan", "198.51.100.1/24", true),
            ],
            center: "203.0.113.10".into(),
            outside: "203.0.113.0/24".into(),
        }
    }
}

fn net_of(text: &str) -> (u32, u32) {
    let (ip, len) = crate::addr::parse_iface_net(text)
        .map(|(_, n)| (n.lo as u32, n.hi as u32))
        .unwrap_or((0xC000_0200, 0xC000_02FF));
    (ip, len)
}

/// Addresses the generators use: every interface network and the outside network.
fn pools(cfg: &GenConfig) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = cfg.interfaces.iter().map(|i| net_of(&i.address)).collect();
    if let Ok(r) = crate::addr::parse_range(&cfg.outside) {
        v.push((r.lo as u32, r.hi as u32));
    }
    v
}

fn ip(v: u32) -> Ipv4Addr {
    Ipv4Addr::from(v)
}

fn random_host(rng: &mut Rng, pools: &[(u32, u32)]) -> u32 {
    let (lo, hi) = *rng.pick(pools);
    // Avoid the network and broadcast addresses.
    let span = (hi - lo).saturating_sub(1).max(1);
    lo + 1 + rng.below(span as u64) as u32
}

fn random_addr_text(rng: &mut Rng, pools: &[(u32, u32)]) -> String {
    let h = random_host(rng, pools);
    match rng.below(3) {
        0 => ip(h).to_string(),
        1 => {
            let len = 26 + rng.below(5) as u32;
            let mask = u32::MAX << (32 - len);
            format!("{}/{len}", ip(h & mask))
        }
        _ => {
            let end = h.saturating_add(rng.below(12) as u32);
            format!("{}-{}", ip(h), ip(end))
        }
    }
}

const PORTS: &[u16] = &[22, 53, 80, 443, 8080, 8443, 5000];

/// A random, valid policy over `cfg`'s interfaces: address objects and groups, services,
/// 1 to 12 rules between random zones (including `self`), defaults, masquerade, and
/// sometimes a port forward. Reproducible from `seed`.
pub fn random_policy(seed: u64, cfg: &GenConfig) -> String {
    let mut rng = Rng::new(seed);
    let pools = pools(cfg);
    let mut s = String::new();
    s.push_str("[interfaces]\n");
    for i in &cfg.interfaces {
        let _ = writeln!(
            s,
            "{} = {{ zone = \"{}\", addresses = [\"{}\"]{} }}",
            i.name,
            i.zone,
            i.address,
            if i.default_route {
                ", default_route = true"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(s, "\n[management]\ncenter = [\"{}\"]\n", cfg.center);
    let n_obj = 1 + rng.below(6) as usize;
    s.push_str("[addresses]\n");
    for o in 0..n_obj {
        let k = 1 + rng.below(2);
        let items: Vec<String> = (0..k)
            .map(|_| format!("\"{}\"", random_addr_text(&mut rng, &pools)))
            .collect();
        let _ = writeln!(s, "o{o} = [{}]", items.join(", "));
    }
    let n_grp = rng.below(3) as usize;
    s.push_str("\n[address_groups]\n");
    for g in 0..n_grp {
        let mut members = vec![format!("\"o{}\"", rng.below(n_obj as u64))];
        if g > 0 && rng.chance(50) {
            members.push(format!("\"g{}\"", rng.below(g as u64)));
        }
        if rng.chance(50) {
            members.push(format!("\"o{}\"", rng.below(n_obj as u64)));
        }
        let _ = writeln!(s, "g{g} = [{}]", members.join(", "));
    }
    let svc_text = |rng: &mut Rng| -> String {
        match rng.below(6) {
            0 => format!("udp/{}", rng.pick(PORTS)),
            1 => "icmp/echo-request".into(),
            2 => {
                let a = *rng.pick(PORTS);
                format!("tcp/{a}-{}", a + rng.below(100) as u16)
            }
            _ => format!("tcp/{}", rng.pick(PORTS)),
        }
    };
    let n_svc = 1 + rng.below(4) as usize;
    s.push_str("\n[services]\n");
    for i in 0..n_svc {
        let k = 1 + rng.below(2);
        let items: Vec<String> = (0..k)
            .map(|_| format!("\"{}\"", svc_text(&mut rng)))
            .collect();
        let _ = writeln!(s, "s{i} = [{}]", items.join(", "));
    }
    let zones: Vec<String> = cfg.interfaces.iter().map(|i| i.zone.clone()).collect();
    let actions = ["accept", "drop", "reject"];
    s.push_str("\n[defaults]\n");
    let mut pairs = Vec::new();
    for _ in 0..rng.below(3) {
        let from = rng.pick(&zones).clone();
        let to = if rng.chance(25) {
            "self".to_string()
        } else {
            rng.pick(&zones).clone()
        };
        let action = rng.pick(&actions);
        if !pairs.contains(&(from.clone(), to.clone())) {
            let _ = writeln!(s, "\"{from}->{to}\" = \"{action}\"");
            pairs.push((from, to));
        }
    }
    let _ = writeln!(
        s,
        "\"*\" = \"{}\"",
        if rng.chance(70) { "drop" } else { "accept" }
    );
    let addr_ref = |rng: &mut Rng| -> String {
        match rng.below(5) {
            0 if n_grp > 0 => format!("\"g{}\"", rng.below(n_grp as u64)),
            1 => format!("\"{}\"", random_addr_text(rng, &pools)),
            _ => format!("\"o{}\"", rng.below(n_obj as u64)),
        }
    };
    let n_rules = 1 + rng.below(12);
    for _ in 0..n_rules {
        s.push_str("\n[[rules]]\n");
        let from = rng.pick(&zones).clone();
        let to = if rng.chance(20) {
            "self".to_string()
        } else {
            rng.pick(&zones).clone()
        };
        let _ = writeln!(s, "from = \"{from}\"\nto = \"{to}\"");
        if rng.chance(60) {
            let _ = writeln!(s, "source = [{}]", addr_ref(&mut rng));
        }
        if rng.chance(60) {
            let _ = writeln!(s, "destination = [{}]", addr_ref(&mut rng));
        }
        if rng.chance(70) {
            let svc = if rng.chance(70) {
                format!("\"s{}\"", rng.below(n_svc as u64))
            } else {
                format!("\"{}\"", svc_text(&mut rng))
            };
            let _ = writeln!(s, "service = [{svc}]");
        }
        let _ = writeln!(s, "action = \"{}\"", rng.pick(&actions));
        if rng.chance(20) {
            s.push_str("log = true\n");
        }
        if rng.chance(10) {
            s.push_str("rate_limit = \"1000/second\"\n");
        }
    }
    let wan = cfg.interfaces.iter().find(|i| i.default_route);
    if let Some(w) = wan {
        s.push_str("\n[nat]\n");
        if rng.chance(70) {
            let _ = writeln!(s, "masquerade = [\"{}\"]", w.zone);
        }
        let inner: Vec<&GenInterface> =
            cfg.interfaces.iter().filter(|i| !i.default_route).collect();
        if !inner.is_empty() && rng.chance(50) {
            let target = rng.pick(&inner);
            let (lo, hi) = net_of(&target.address);
            let host = lo + 2 + rng.below((hi - lo).saturating_sub(3).max(1) as u64) as u32;
            let gw = w.address.split('/').next().unwrap_or("");
            let _ = writeln!(
                s,
                "\n[[nat.port_forwards]]\nname = \"pf\"\nzone = \"{}\"\ndestination = \"{gw}\"\nport = {}\nto = \"{}\"\nto_port = {}",
                w.zone,
                8000 + rng.below(100),
                ip(host),
                rng.pick(PORTS)
            );
        }
        let (wlo, _) = net_of(&w.address);
        if !inner.is_empty() && rng.chance(30) {
            let (lo, hi) = net_of(&rng.pick(&inner).address);
            let private = lo + 2 + rng.below((hi - lo).saturating_sub(3).max(1) as u64) as u32;
            let _ = writeln!(
                s,
                "\n[[nat.one_to_one]]\nzone = \"{}\"\npublic = \"{}\"\nprivate = \"{}\"",
                w.zone,
                ip(wlo + 20),
                ip(private)
            );
        }
        if rng.chance(30) {
            let _ = writeln!(
                s,
                "\n[[nat.snat]]\nzone = \"{}\"\nsource = \"o{}\"\nto = \"{}\"",
                w.zone,
                rng.below(n_obj as u64),
                ip(wlo + 30)
            );
        }
        if !inner.is_empty() && rng.chance(30) {
            let (lo, hi) = net_of(&rng.pick(&inner).address);
            let _ = writeln!(
                s,
                "\n[[load_balancers]]\nname = \"lb\"\nzone = \"{}\"\naddress = \"{}\"\nport = {}\nbackends = [",
                w.zone,
                ip(wlo + 1),
                rng.pick(PORTS)
            );
            for _ in 0..1 + rng.below(3) {
                let b = lo + 2 + rng.below((hi - lo).saturating_sub(3).max(1) as u64) as u32;
                let _ = writeln!(
                    s,
                    "  {{ address = \"{}\", port = {}, weight = {} }},",
                    ip(b),
                    9000 + rng.below(1000),
                    1 + rng.below(3)
                );
            }
            s.push_str("]\n");
        }
    }
    s
}

/// A random new-connection packet for `p`: addresses drawn from the policy's objects,
/// interfaces and the outside, ports from the common ones, arriving on a random
/// interface. Reproducible from `seed`.
pub fn random_packet(p: &Policy, cfg: &GenConfig, seed: u64) -> Packet {
    let mut rng = Rng::new(seed);
    let pools = pools(cfg);
    let mut candidates: Vec<u32> = Vec::new();
    for set in p.objects.values() {
        for r in set.ranges(Family::V4) {
            candidates.push(r.lo as u32);
            candidates.push(r.hi as u32);
        }
    }
    for i in &p.interfaces {
        for a in &i.addresses {
            if let IpAddr::V4(a) = a {
                candidates.push(u32::from(*a));
            }
        }
    }
    for pf in &p.port_forwards {
        if let Some(IpAddr::V4(d)) = pf.destination {
            candidates.push(u32::from(d));
        }
    }
    for o in &p.one_to_one {
        if let IpAddr::V4(d) = o.public {
            candidates.push(u32::from(d));
        }
    }
    let pick_addr = |rng: &mut Rng| -> u32 {
        if !candidates.is_empty() && rng.chance(60) {
            *rng.pick(&candidates)
        } else {
            random_host(rng, &pools)
        }
    };
    let src = ip(pick_addr(&mut rng));
    let dst = ip(pick_addr(&mut rng));
    let dport = if rng.chance(10) {
        p.load_balancers.first().map(|lb| lb.port).unwrap_or(80)
    } else if rng.chance(20) {
        p.port_forwards.first().map(|pf| pf.ports.lo).unwrap_or(80)
    } else {
        *rng.pick(PORTS)
    };
    let sport = 20000 + rng.below(40000) as u16;
    let proto = match rng.below(6) {
        0 => Proto::Udp { sport, dport },
        1 => Proto::Icmp { r#type: 8 },
        _ => Proto::Tcp { sport, dport },
    };
    let input = rng.pick(&cfg.interfaces).name.clone();
    Packet {
        proto,
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        input,
        output: None,
        state: State::New,
    }
}

/// A big policy for benchmarks: `objects` IPv4 host objects (10.0.0.0/8, each a /32 or
/// a small CIDR), gathered into 10 groups; `rules` rules from `lan` to `wan`, each
/// naming a group or a single object as source, an object and a /30 of its own as
/// destination (172.16.0.0/12),
/// and a service. None of them matches traffic between the interfaces' own networks
/// (192.0.2.0/26 to 198.51.100.0/24), which reaches the end of the chain and the
/// `lan->wan` default, accept: so that traffic traverses every rule.
pub fn big_policy(objects: usize, rules: usize) -> String {
    let mut s = String::with_capacity(objects * 32 + rules * 128);
    s.push_str(
        "[interfaces]\nlan0 = { zone = \"lan\", addresses = [\"192.0.2.1/26\"] }\n\
         wan0 = { zone = \"wan\", addresses = [\"198.51.100.1/24\"], default_route = true }\n\n\
         [management]\ncenter = [\"203.0.113.10\"]\n\n[addresses]\n",
    );
    let objects = objects.max(1);
    for i in 0..objects {
        let base = 0x0A00_0000u32 + (i as u32) * 4;
        if i % 2 == 0 {
            let _ = writeln!(s, "h{i} = \"{}\"", ip(base));
        } else {
            let _ = writeln!(s, "h{i} = \"{}/30\"", ip(base));
        }
    }
    let _ = writeln!(
        s,
        "d0 = \"172.16.0.0/16\"\nd1 = \"172.17.0.1-172.17.3.200\""
    );
    let groups = 10.min(objects);
    s.push_str("\n[address_groups]\n");
    for g in 0..groups {
        let _ = write!(s, "g{g} = [");
        let mut first = true;
        for i in (g..objects).step_by(groups) {
            if !first {
                s.push_str(", ");
            }
            first = false;
            let _ = write!(s, "\"h{i}\"");
        }
        s.push_str("]\n");
    }
    s.push_str("\n[services]\nweb = [\"tcp/80\", \"tcp/443\"]\ndns = [\"udp/53\", \"tcp/53\"]\nhigh = \"tcp/10000-10999\"\n");
    s.push_str("\n[defaults]\n\"lan->wan\" = \"accept\"\n\"*\" = \"drop\"\n\n[nat]\nmasquerade = [\"wan\"]\n");
    let services = ["web", "dns", "high", "tcp/22"];
    let actions = ["accept", "drop", "reject"];
    for r in 0..rules {
        let src = if r % 3 == 0 {
            format!("g{}", r % groups)
        } else {
            format!("h{}", (r * 7919) % objects)
        };
        let _ = writeln!(
            s,
            "\n[[rules]]\nname = \"r{r}\"\nfrom = \"lan\"\nto = \"wan\"\nsource = \"{src}\"\ndestination = [\"d{}\", \"{}/30\"]\nservice = \"{}\"\naction = \"{}\"",
            r % 2,
            ip(0xAC12_0000 + (r as u32) * 4),
            services[r % services.len()],
            actions[r % actions.len()]
        );
    }
    s
}

/// The IPv6 twin of an IPv4 address: `2001:db8::/96` plus the 32 bits of `v4`.
pub fn ipv6_twin(v4: Ipv4Addr) -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | u32::from(v4) as u128)
}

fn twin_text(text: &str) -> Option<String> {
    let twin = |a: &str| -> Option<String> {
        a.parse::<Ipv4Addr>().ok().map(|a| ipv6_twin(a).to_string())
    };
    if let Some((a, b)) = text.split_once('-') {
        return Some(format!("{}-{}", twin(a)?, twin(b)?));
    }
    if let Some((a, l)) = text.split_once('/') {
        let l: u32 = l.parse().ok().filter(|l| *l <= 32)?;
        return Some(format!("{}/{}", twin(a)?, l + 96));
    }
    twin(text)
}

/// The same document in IPv6: every IPv4 address, CIDR and range in a quoted string
/// becomes its [`ipv6_twin`] (prefix lengths plus 96), and `icmp` services become
/// `icmpv6`. Meant for the generators' output, so random policies also test IPv6.
pub fn to_ipv6(policy: &str) -> String {
    let mut out = String::with_capacity(policy.len() * 2);
    let mut rest = policy;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..=start]);
        rest = &rest[start + 1..];
        let Some(end) = rest.find('"') else { break };
        let inner = &rest[..end];
        let mapped = if let Some(t) = inner.strip_prefix("icmp/") {
            Some(format!("icmpv6/{}", icmp_twin(t)))
        } else if inner == "icmp" {
            Some("icmpv6".to_string())
        } else {
            twin_text(inner)
        };
        out.push_str(mapped.as_deref().unwrap_or(inner));
        out.push('"');
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn icmp_twin(name: &str) -> &str {
    match name {
        "echo-request"
        | "echo-reply"
        | "destination-unreachable"
        | "time-exceeded"
        | "parameter-problem" => name,
        _ => "echo-request",
    }
}

/// The IPv6 twin of a packet made for an IPv4 policy (see [`to_ipv6`]): addresses become
/// their twins, ICMP becomes ICMPv6 (echo request and reply keep their meaning).
pub fn packet_to_ipv6(pkt: &Packet) -> Packet {
    let twin = |a: IpAddr| match a {
        IpAddr::V4(a) => IpAddr::V6(ipv6_twin(a)),
        v6 => v6,
    };
    let proto = match pkt.proto {
        Proto::Icmp { r#type } => Proto::Icmpv6 {
            r#type: match r#type {
                8 => 128,
                0 => 129,
                3 => 1,
                11 => 3,
                12 => 4,
                _ => 128,
            },
        },
        other => other,
    };
    Packet {
        proto,
        src: twin(pkt.src),
        dst: twin(pkt.dst),
        ..pkt.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_reproducible() {
        let cfg = GenConfig::default();
        assert_eq!(random_policy(7, &cfg), random_policy(7, &cfg));
        assert_ne!(random_policy(7, &cfg), random_policy(8, &cfg));
    }

    #[test]
    fn ipv6_twins() {
        assert_eq!(
            ipv6_twin("192.0.2.1".parse().unwrap()).to_string(),
            "2001:db8::c000:201"
        );
        let doc = "a = \"192.0.2.0/26\"\nb = [\"192.0.2.1-192.0.2.9\", \"tcp/443\", \"icmp/echo-request\", \"lan->wan\"]\n";
        assert_eq!(
            to_ipv6(doc),
            "a = \"2001:db8::c000:200/122\"\nb = [\"2001:db8::c000:201-2001:db8::c000:209\", \"tcp/443\", \"icmpv6/echo-request\", \"lan->wan\"]\n"
        );
    }
}
