//! The evaluator: what the compiled ruleset does with one packet, computed from the
//! checked policy without touching the system. It follows the kernel's path through
//! table `inet mamori`: prerouting (destination NAT), routing (from the interfaces'
//! networks), the `input` or `forward` filter chain, and postrouting (source NAT).
//! In `forward`, translated traffic of port forwards and load balancers is let through
//! after the zone pair's rules (so a rule may still drop it) and before its default.
//!
//! Assumptions, the same as the compiled ruleset's at the first packet of a connection:
//! the packet is a new connection unless the packet says otherwise; rate limits are not
//! exceeded (a packet over a rule's per-source rate limit is dropped instead); the route
//! is the interface whose network holds the destination (longest prefix), else the
//! `default_route` interface, unless the packet names its `out` interface.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::addr::{Family, icmp_type};
use crate::compile::ND_TYPES;
use crate::model::*;

/// Protocol of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum Proto {
    Tcp {
        sport: u16,
        dport: u16,
    },
    Udp {
        sport: u16,
        dport: u16,
    },
    Icmp {
        r#type: u8,
    },
    Icmpv6 {
        r#type: u8,
    },
    /// Any other IP protocol, by number.
    Other {
        number: u8,
    },
}

/// Connection-tracking state of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    New,
    Established,
    Related,
    Invalid,
}

/// One packet, as it arrives at the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Packet {
    pub proto: Proto,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Interface (or zone) it arrives on.
    pub input: String,
    /// Interface (or zone) it leaves by, when the caller knows the route.
    pub output: Option<String>,
    pub state: State,
}

/// Why a packet text is not a packet, or a packet cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error(
        "{0}; write e.g. \"tcp 192.0.2.10:40000 -> 198.51.100.7:443 in lan [out wan] [established]\""
    )]
    Syntax(String),
    #[error("`{0}` is neither an interface nor a zone of the policy")]
    UnknownInterface(String),
    #[error(
        "no route to {0}: it is in no interface's network and no interface has `default_route = true`; give the packet an `out` interface"
    )]
    NoRoute(IpAddr),
}

fn split_hostport(s: &str) -> Result<(IpAddr, Option<u16>), EvalError> {
    let bad = || EvalError::Syntax(format!("`{s}` is not ADDRESS or ADDRESS:PORT"));
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| EvalError::Syntax(format!("`{p}` is not a port number")))
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once("]:").ok_or_else(bad)?;
        return Ok((a.parse().map_err(|_| bad())?, Some(port(p)?)));
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Ok((a, None));
    }
    let (a, p) = s.rsplit_once(':').ok_or_else(bad)?;
    let a: IpAddr = a.parse().map_err(|_| bad())?;
    if a.is_ipv6() {
        return Err(bad());
    }
    Ok((a, Some(port(p)?)))
}

impl Packet {
    /// Parses `PROTO SRC[:PORT] -> DST[:PORT] in IFACE [out IFACE] [STATE]`, where PROTO is
    /// `tcp`, `udp`, `icmp[/TYPE]`, `icmpv6[/TYPE]` (default type echo-request) or
    /// `proto/N`, IPv6 addresses with a port are written `[2001:db8::1]:443`, and STATE is
    /// `new` (the default), `established`, `related` or `invalid`.
    pub fn parse(text: &str) -> Result<Packet, EvalError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let [proto, src, arrow, dst, rest @ ..] = words.as_slice() else {
            return Err(EvalError::Syntax("too few words".into()));
        };
        if *arrow != "->" {
            return Err(EvalError::Syntax(format!("expected `->`, found `{arrow}`")));
        }
        let (src, sport) = split_hostport(src)?;
        let (dst, dport) = split_hostport(dst)?;
        if src.is_ipv4() != dst.is_ipv4() {
            return Err(EvalError::Syntax(
                "source and destination are of different IP families".into(),
            ));
        }
        let (pname, parg) = match proto.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (*proto, None),
        };
        let need_ports = |what: &str| -> Result<(u16, u16), EvalError> {
            match (sport, dport) {
                (Some(s), Some(d)) => Ok((s, d)),
                _ => Err(EvalError::Syntax(format!(
                    "{what} needs ports: ADDRESS:PORT on both sides"
                ))),
            }
        };
        let proto = match pname {
            "tcp" => {
                let (sport, dport) = need_ports("tcp")?;
                Proto::Tcp { sport, dport }
            }
            "udp" => {
                let (sport, dport) = need_ports("udp")?;
                Proto::Udp { sport, dport }
            }
            "icmp" | "icmpv6" => {
                let v6 = pname == "icmpv6";
                if v6 != src.is_ipv6() {
                    return Err(EvalError::Syntax(format!(
                        "{pname} with {} addresses",
                        if src.is_ipv6() { "IPv6" } else { "IPv4" }
                    )));
                }
                let t = match parg {
                    None => icmp_type(v6, "echo-request"),
                    Some(n) => icmp_type(v6, n).or_else(|| n.parse().ok()),
                }
                .ok_or_else(|| {
                    EvalError::Syntax(format!("unknown {pname} type `{}`", parg.unwrap_or("")))
                })?;
                if v6 {
                    Proto::Icmpv6 { r#type: t }
                } else {
                    Proto::Icmp { r#type: t }
                }
            }
            "proto" => {
                let n: u8 = parg
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| EvalError::Syntax("write proto/NUMBER".into()))?;
                match n {
                    6 | 17 | 1 | 58 => {
                        return Err(EvalError::Syntax(format!(
                            "use the protocol's name for proto/{n}"
                        )));
                    }
                    _ => Proto::Other { number: n },
                }
            }
            other => return Err(EvalError::Syntax(format!("unknown protocol `{other}`"))),
        };
        let mut input = None;
        let mut output = None;
        let mut state = State::New;
        let mut it = rest.iter();
        while let Some(w) = it.next() {
            match *w {
                "in" => input = it.next().map(|s| s.to_string()),
                "out" => output = it.next().map(|s| s.to_string()),
                "new" => state = State::New,
                "established" => state = State::Established,
                "related" => state = State::Related,
                "invalid" => state = State::Invalid,
                other => return Err(EvalError::Syntax(format!("unexpected `{other}`"))),
            }
        }
        let input = input.ok_or_else(|| EvalError::Syntax("missing `in IFACE`".into()))?;
        Ok(Packet {
            proto,
            src,
            dst,
            input,
            output,
            state,
        })
    }

    fn dport(&self) -> Option<u16> {
        match self.proto {
            Proto::Tcp { dport, .. } | Proto::Udp { dport, .. } => Some(dport),
            _ => None,
        }
    }
    fn l4(&self) -> Option<L4> {
        match self.proto {
            Proto::Tcp { .. } => Some(L4::Tcp),
            Proto::Udp { .. } => Some(L4::Udp),
            _ => None,
        }
    }
}

/// Which load-balancer backends are healthy. By default every backend is.
#[derive(Debug, Clone, Default)]
pub struct Health {
    healthy: BTreeMap<String, Vec<(IpAddr, u16)>>,
}

impl Health {
    pub fn all_healthy() -> Health {
        Health::default()
    }
    /// Only these backends of balancer `name` are healthy.
    pub fn set(&mut self, name: &str, healthy: Vec<(IpAddr, u16)>) {
        self.healthy.insert(name.to_string(), healthy);
    }
    fn backends<'a>(&self, lb: &'a LoadBalancer) -> Vec<&'a Backend> {
        match self.healthy.get(&lb.name) {
            None => lb.backends.iter().collect(),
            Some(h) => lb
                .backends
                .iter()
                .filter(|b| h.contains(&(b.address, b.port)))
                .collect(),
        }
    }
}

/// What decided the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Matched {
    /// A policy rule.
    Rule {
        index: usize,
        name: Option<String>,
        counter: String,
        line: usize,
    },
    /// The default of a zone pair (`pair` true) or the global default.
    Default {
        from: String,
        to: String,
        pair: bool,
    },
    Loopback,
    /// Established or related traffic, accepted early.
    Established,
    Invalid,
    /// Management access from the operations center (Art. 5).
    Management,
    /// IPv6 neighbour discovery to the gateway.
    NeighbourDiscovery,
    /// The filter rule of a port forward.
    PortForward {
        name: String,
    },
    /// The filter rule of a load balancer.
    LoadBalancer {
        name: String,
    },
}

/// A destination translation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dnat {
    /// `one_to_one`, `port_forward` or `load_balancer`.
    pub kind: &'static str,
    pub name: String,
    pub to: IpAddr,
    pub port: Option<u16>,
    /// For a load balancer: every healthy backend the connection may go to (random,
    /// by weight); `to` and `port` are the first of them.
    pub backends: Vec<Backend>,
}

/// A source translation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnatOut {
    /// `one_to_one`, `snat` or `masquerade`.
    pub kind: &'static str,
    /// The new source address; for masquerade, the outgoing interface's first IPv4
    /// address when the policy names it.
    pub to: Option<IpAddr>,
}

/// The answer for one packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub verdict: Action,
    /// `input` (to the gateway) or `forward` (through it).
    pub chain: &'static str,
    pub in_interface: String,
    pub in_zone: String,
    /// `None` for the input path.
    pub out_interface: Option<String>,
    /// `self` for the input path.
    pub out_zone: String,
    pub matched: Matched,
    pub dnat: Option<Dnat>,
    pub snat: Option<SnatOut>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "verdict: {}", self.verdict.as_str())?;
        let m = match &self.matched {
            Matched::Rule {
                index,
                name,
                counter,
                line,
            } => format!(
                "rule {} (line {line}, counter {counter})",
                name.clone().unwrap_or_else(|| format!("#{index}"))
            ),
            Matched::Default {
                from,
                to,
                pair: true,
            } => format!("default of {from}->{to}"),
            Matched::Default {
                from,
                to,
                pair: false,
            } => format!("global default (no rule or default for {from}->{to})"),
            Matched::Loopback => "loopback".into(),
            Matched::Established => "established/related connection".into(),
            Matched::Invalid => "invalid packet".into(),
            Matched::Management => "management access from the operations center".into(),
            Matched::NeighbourDiscovery => "IPv6 neighbour discovery".into(),
            Matched::PortForward { name } => format!("port forward {name}"),
            Matched::LoadBalancer { name } => format!("load balancer {name}"),
        };
        writeln!(f, "matched: {m}")?;
        writeln!(
            f,
            "path: {} {} ({}) -> {} ({})",
            self.chain,
            self.in_interface,
            self.in_zone,
            self.out_interface.as_deref().unwrap_or("gateway"),
            self.out_zone
        )?;
        if let Some(d) = &self.dnat {
            let to = match d.port {
                Some(p) if d.to.is_ipv6() => format!("[{}]:{p}", d.to),
                Some(p) => format!("{}:{p}", d.to),
                None => d.to.to_string(),
            };
            write!(f, "dnat: {} {} to {to}", d.kind, d.name)?;
            if d.backends.len() > 1 {
                let all: Vec<String> = d
                    .backends
                    .iter()
                    .map(|b| format!("{}:{} (weight {})", b.address, b.port, b.weight))
                    .collect();
                write!(f, " (one of {})", all.join(", "))?;
            }
            writeln!(f)?;
        }
        if let Some(s) = &self.snat {
            match s.to {
                Some(a) => writeln!(f, "snat: {} to {a}", s.kind)?,
                None => writeln!(f, "snat: {} (address of the outgoing interface)", s.kind)?,
            }
        }
        Ok(())
    }
}

fn find_iface<'p>(p: &'p Policy, name: &str) -> Result<&'p Interface, EvalError> {
    p.interface(name)
        .or_else(|| p.zone_interfaces(name).next())
        .ok_or_else(|| EvalError::UnknownInterface(name.to_string()))
}

fn services_match(s: &Option<ServiceSet>, pkt: &Packet) -> bool {
    let Some(s) = s else { return true };
    match pkt.proto {
        Proto::Tcp { dport, .. } => s.admits_port(L4::Tcp, dport),
        Proto::Udp { dport, .. } => s.admits_port(L4::Udp, dport),
        Proto::Icmp { r#type } => s.icmp.admits(r#type),
        Proto::Icmpv6 { r#type } => s.icmpv6.admits(r#type),
        Proto::Other { .. } => false,
    }
}

/// Evaluates one packet against the policy, as the compiled ruleset would.
pub fn eval(p: &Policy, pkt: &Packet, health: &Health) -> Result<Outcome, EvalError> {
    let lo = pkt.input == "lo";
    let iif = if lo {
        None
    } else {
        Some(find_iface(p, &pkt.input)?)
    };
    let mut out = Outcome {
        verdict: Action::Accept,
        chain: "input",
        in_interface: iif.map(|i| i.name.clone()).unwrap_or_else(|| "lo".into()),
        in_zone: iif.map(|i| i.zone.clone()).unwrap_or_default(),
        out_interface: None,
        out_zone: SELF_ZONE.into(),
        matched: Matched::Loopback,
        dnat: None,
        snat: None,
    };
    let Some(iif) = iif else { return Ok(out) };
    let fam = Family::of(&pkt.src);

    // prerouting: destination NAT, new connections only.
    let mut dst = pkt.dst;
    let mut dport = pkt.dport();
    if pkt.state == State::New {
        out.dnat = prerouting(p, pkt, iif, health);
        if let Some(d) = &out.dnat {
            dst = d.to;
            dport = d.port.or(dport);
        }
    }

    // routing
    let local = p.interfaces.iter().any(|i| i.addresses.contains(&dst));
    let oif = if local {
        None
    } else if let Some(o) = &pkt.output {
        Some(find_iface(p, o)?)
    } else {
        let best = p
            .interfaces
            .iter()
            .flat_map(|i| i.networks.iter().map(move |n| (i, n)))
            .filter(|(_, n)| n.contains(&dst))
            .max_by_key(|(_, n)| n.lo.wrapping_sub(n.hi));
        match best {
            Some((i, _)) => Some(i),
            None => Some(
                p.interfaces
                    .iter()
                    .find(|i| i.default_route)
                    .ok_or(EvalError::NoRoute(dst))?,
            ),
        }
    };
    if let Some(o) = oif {
        out.chain = "forward";
        out.out_interface = Some(o.name.clone());
        out.out_zone = o.zone.clone();
    }

    // filter: connection state first.
    match pkt.state {
        State::Established | State::Related => {
            out.matched = Matched::Established;
            return Ok(out);
        }
        State::Invalid => {
            out.matched = Matched::Invalid;
            out.verdict = Action::Drop;
            return Ok(out);
        }
        State::New => {}
    }
    let l4 = pkt.l4();
    // input: management access and neighbour discovery come before the rules.
    // forward: the filter rules of port forwards and load balancers come after the
    // rules of the zone pair, before its default.
    let mut nat_accept = None;
    let system = if oif.is_none() {
        // input: management access, then neighbour discovery.
        let mgmt = p.management.contains(&pkt.src) && management_service(pkt);
        if mgmt {
            Some(Matched::Management)
        } else if matches!(pkt.proto, Proto::Icmpv6 { r#type } if ND_TYPES.contains(&r#type)) {
            Some(Matched::NeighbourDiscovery)
        } else {
            None
        }
    } else {
        // forward: the filter rules of port forwards and load balancers.
        let dnatted = out.dnat.is_some();
        let pf = p.port_forwards.iter().find(|pf| {
            dnatted
                && pf.zone == iif.zone
                && pf.to == dst
                && Some(pf.protocol) == l4
                && match pf.to_port {
                    Some(tp) => dport == Some(tp),
                    None => dport.is_some_and(|d| pf.ports.lo <= d && d <= pf.ports.hi),
                }
        });
        let lb = p.load_balancers.iter().find(|lb| {
            dnatted
                && lb.zone.as_ref().is_none_or(|z| *z == iif.zone)
                && Some(lb.protocol) == l4
                && lb
                    .backends
                    .iter()
                    .any(|b| b.address == dst && Some(b.port) == dport)
        });
        nat_accept = match (pf, lb) {
            (Some(pf), _) => Some(Matched::PortForward {
                name: pf.name.clone(),
            }),
            (None, Some(lb)) => Some(Matched::LoadBalancer {
                name: lb.name.clone(),
            }),
            _ => None,
        };
        None
    };
    match system {
        Some(m) => {
            out.matched = m;
            out.verdict = Action::Accept;
        }
        None => {
            let (from, to) = (iif.zone.clone(), out.out_zone.clone());
            let has_chain = p.defaults.contains_key(&(from.clone(), to.clone()))
                || p.rules.iter().any(|r| r.from == from && r.to == to);
            let hit = p.rules.iter().find(|r| {
                r.from == from
                    && r.to == to
                    && r.src.matches(&pkt.src)
                    && r.dst.matches(&dst)
                    && r.src.admits_family(fam)
                    && r.dst.admits_family(fam)
                    && services_match(&r.services, pkt)
            });
            match hit {
                Some(r) => {
                    out.verdict = r.action;
                    out.matched = Matched::Rule {
                        index: r.index,
                        name: r.name.clone(),
                        counter: r.counter.clone(),
                        line: r.line,
                    };
                }
                None => match nat_accept {
                    Some(m) => {
                        out.verdict = Action::Accept;
                        out.matched = m;
                    }
                    None => {
                        out.verdict = p.default_for(&from, &to);
                        out.matched = Matched::Default {
                            from,
                            to,
                            pair: has_chain,
                        };
                    }
                },
            }
        }
    }

    // postrouting: source NAT of accepted, forwarded traffic.
    if let (Some(o), Action::Accept) = (oif, out.verdict) {
        out.snat = postrouting(p, pkt.src, o);
    }
    Ok(out)
}

/// Whether the packet uses a management service the center may reach the gateway on:
/// ping (ICMP or ICMPv6 echo request), SSH, HTTPS, SNMP.
fn management_service(pkt: &Packet) -> bool {
    match pkt.proto {
        Proto::Icmp { r#type } => r#type == 8,
        Proto::Icmpv6 { r#type } => r#type == 128,
        Proto::Tcp { dport, .. } => MANAGEMENT_TCP.iter().any(|(q, _)| *q == dport),
        Proto::Udp { dport, .. } => MANAGEMENT_UDP.iter().any(|(q, _)| *q == dport),
        Proto::Other { .. } => false,
    }
}

fn prerouting(p: &Policy, pkt: &Packet, iif: &Interface, health: &Health) -> Option<Dnat> {
    // The center's management traffic to the gateway itself (ping included: a 1:1 NAT
    // of a gateway address would take it) is never translated.
    if p.management.contains(&pkt.src)
        && management_service(pkt)
        && p.interfaces.iter().any(|i| i.addresses.contains(&pkt.dst))
    {
        return None;
    }
    let fam = Family::of(&pkt.src);
    for o in &p.one_to_one {
        if o.zone == iif.zone && o.public == pkt.dst {
            return Some(Dnat {
                kind: "one_to_one",
                name: format!("{} -> {}", o.public, o.private),
                to: o.private,
                port: pkt.dport(),
                backends: vec![],
            });
        }
    }
    let l4 = pkt.l4();
    let dport = pkt.dport();
    for pf in &p.port_forwards {
        if pf.zone == iif.zone
            && Family::of(&pf.to) == fam
            && pf.src.matches(&pkt.src)
            && pf.destination.is_none_or(|d| d == pkt.dst)
            && Some(pf.protocol) == l4
            && dport.is_some_and(|d| pf.ports.lo <= d && d <= pf.ports.hi)
        {
            return Some(Dnat {
                kind: "port_forward",
                name: pf.name.clone(),
                to: pf.to,
                port: pf.to_port.or(dport),
                backends: vec![],
            });
        }
    }
    for lb in &p.load_balancers {
        if lb.zone.as_ref().is_none_or(|z| *z == iif.zone)
            && lb.address == pkt.dst
            && Some(lb.protocol) == l4
            && dport == Some(lb.port)
        {
            let healthy = health.backends(lb);
            if let Some(first) = healthy.first() {
                return Some(Dnat {
                    kind: "load_balancer",
                    name: lb.name.clone(),
                    to: first.address,
                    port: Some(first.port),
                    backends: healthy.into_iter().cloned().collect(),
                });
            }
        }
    }
    None
}

fn postrouting(p: &Policy, src: IpAddr, oif: &Interface) -> Option<SnatOut> {
    for o in &p.one_to_one {
        if o.zone == oif.zone && o.private == src {
            return Some(SnatOut {
                kind: "one_to_one",
                to: Some(o.public),
            });
        }
    }
    for s in &p.snat {
        if s.zone == oif.zone && Family::of(&s.to) == Family::of(&src) && s.src.matches(&src) {
            return Some(SnatOut {
                kind: "snat",
                to: Some(s.to),
            });
        }
    }
    if src.is_ipv4() && p.masquerade.contains(&oif.zone) {
        return Some(SnatOut {
            kind: "masquerade",
            to: oif.addresses.iter().find(|a| a.is_ipv4()).copied(),
        });
    }
    None
}
