//! The evaluator is the specification of the compiled ruleset. This test checks that
//! they agree: an interpreter of the compiled nftables model (written from nftables'
//! documented semantics, independent of the evaluator) runs random packets through the
//! compiled ruleset of random policies, and its verdict, matched counter and NAT must
//! equal the evaluator's. The real kernel is compared in the agent's testbed.

use std::net::IpAddr;

use mamori_policy::addr::icmp_name;
use mamori_policy::generate::{GenConfig, random_packet, random_policy};
use mamori_policy::nft::{Expr, Stmt, Table, Val};
use mamori_policy::{
    Action, Health, Lists, Matched, Mode, Outcome, Packet, Policy, Proto, State, check, compile,
    eval, parse_list,
};

#[derive(Debug, Clone, PartialEq)]
enum Pv {
    Addr(IpAddr),
    Num(u64),
    Name(String),
    Vec(Vec<Pv>),
    Flags(Vec<&'static str>),
}

struct Run<'t> {
    t: &'t Table,
    /// The gateway's own addresses (what `fib daddr type` calls local).
    local: Vec<IpAddr>,
    pkt: &'t Packet,
    iif: String,
    oif: Option<String>,
    dst: IpAddr,
    dport: Option<u16>,
    dnat: bool,
    counter: Option<String>,
    /// A `flow add` matched: the connection's later packets take the fast path.
    offloaded: bool,
}

/// Packets the interpreted rulesets offloaded to the fast path (all accepted).
static OFFLOADED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[derive(Debug, PartialEq)]
enum Flow {
    Continue,
    Verdict(&'static str),
    Nat(Option<(IpAddr, Option<u16>)>, &'static str),
}

impl Run<'_> {
    fn value(&self, e: &Expr) -> Option<Pv> {
        let p = self.pkt;
        let v4 = p.src.is_ipv4();
        Some(match e {
            Expr::Payload("ip", f) | Expr::Payload("ip6", f) => {
                if (matches!(e, Expr::Payload("ip", _))) != v4 {
                    return None;
                }
                Pv::Addr(if *f == "saddr" { p.src } else { self.dst })
            }
            Expr::Payload(l4 @ ("tcp" | "udp" | "th"), "dport") => match (l4, p.proto) {
                (&"tcp" | &"th", Proto::Tcp { .. }) | (&"udp" | &"th", Proto::Udp { .. }) => {
                    Pv::Num(self.dport? as u64)
                }
                _ => return None,
            },
            Expr::Payload("icmp", "type") => match p.proto {
                Proto::Icmp { r#type } => Pv::Name(icmp_name(false, r#type).into()),
                _ => return None,
            },
            Expr::Payload("icmpv6", "type") => match p.proto {
                Proto::Icmpv6 { r#type } => Pv::Name(icmp_name(true, r#type).into()),
                _ => return None,
            },
            Expr::Meta("iifname") => Pv::Name(self.iif.clone()),
            Expr::Meta("oifname") => Pv::Name(self.oif.clone()?),
            Expr::Meta("nfproto") => Pv::Name(if v4 { "ipv4" } else { "ipv6" }.into()),
            Expr::Meta("l4proto") => Pv::Name(match p.proto {
                Proto::Tcp { .. } => "tcp".into(),
                Proto::Udp { .. } => "udp".into(),
                Proto::Icmp { .. } => "icmp".into(),
                Proto::Icmpv6 { .. } => "ipv6-icmp".into(),
                Proto::Other { number } => number.to_string(),
            }),
            Expr::Ct("state") => Pv::Flags(vec![match p.state {
                State::New => "new",
                State::Established => "established",
                State::Related => "related",
                State::Invalid => "invalid",
            }]),
            Expr::Ct("status") => Pv::Flags(if self.dnat { vec!["dnat"] } else { vec![] }),
            Expr::Concat(v) => Pv::Vec(v.iter().map(|x| self.value(x)).collect::<Option<_>>()?),
            Expr::FibDaddrType => Pv::Name(
                if self.local.contains(&self.dst) {
                    "local"
                } else {
                    "unicast"
                }
                .into(),
            ),
            other => panic!("interpreter does not know {other:?}"),
        })
    }

    fn matches(&self, v: &Val, pv: &Pv) -> bool {
        match (v, pv) {
            (Val::Sym(s), Pv::Addr(a)) => s.parse::<IpAddr>().ok() == Some(*a),
            (Val::Sym(s) | Val::Str(s), Pv::Name(n)) => s == n,
            (Val::Num(n), Pv::Num(m)) => n == m,
            (Val::Prefix(a, l), Pv::Addr(x)) => {
                let a: IpAddr = a.parse().unwrap();
                let (a, x, bits) = match (a, x) {
                    (IpAddr::V4(a), IpAddr::V4(x)) => {
                        (u32::from(a) as u128, u32::from(*x) as u128, 32)
                    }
                    (IpAddr::V6(a), IpAddr::V6(x)) => (u128::from(a), u128::from(*x), 128),
                    _ => return false,
                };
                *l == 0 || (a ^ x) >> (bits - l) == 0
            }
            (Val::Range(a, b), Pv::Addr(_) | Pv::Num(_)) => {
                let key = |v: &Val| -> Option<u128> {
                    match v {
                        Val::Num(n) => Some(*n as u128),
                        Val::Sym(s) => match s.parse::<IpAddr>().ok()? {
                            IpAddr::V4(a) => Some(u32::from(a) as u128),
                            IpAddr::V6(a) => Some(u128::from(a)),
                        },
                        _ => None,
                    }
                };
                let x = match pv {
                    Pv::Num(n) => *n as u128,
                    Pv::Addr(IpAddr::V4(a)) => u32::from(*a) as u128,
                    Pv::Addr(IpAddr::V6(a)) => u128::from(*a),
                    _ => unreachable!(),
                };
                let same_family = match (&**a, pv) {
                    (Val::Sym(s), Pv::Addr(p)) => s
                        .parse::<IpAddr>()
                        .map(|a| a.is_ipv4() == p.is_ipv4())
                        .unwrap_or(false),
                    _ => true,
                };
                same_family && key(a).is_some_and(|lo| lo <= x) && key(b).is_some_and(|hi| x <= hi)
            }
            (Val::Concat(vs), Pv::Vec(ps)) => {
                vs.len() == ps.len() && vs.iter().zip(ps).all(|(v, p)| self.matches(v, p))
            }
            (Val::SetRef(name), _) => {
                let s = self
                    .t
                    .sets
                    .iter()
                    .find(|s| s.name == *name)
                    .expect("set exists");
                s.elems.iter().any(|e| self.matches(e, pv))
            }
            (Val::Set(vs), _) => vs.iter().any(|e| self.matches(e, pv)),
            (Val::Flags(f), Pv::Flags(have)) => f.iter().any(|x| have.contains(x)),
            _ => false,
        }
    }

    fn chain(&mut self, name: &str) -> Flow {
        let c = self
            .t
            .chains
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("chain {name}"));
        'rules: for rule in &c.rules {
            for s in rule {
                match s {
                    Stmt::Match(e, v) | Stmt::In(e, v) => match self.value(e) {
                        Some(pv) if self.matches(v, &pv) => {}
                        _ => continue 'rules,
                    },
                    Stmt::Counter(n) => self.counter = Some(n.clone()),
                    Stmt::Log(_) | Stmt::Limit { over: false, .. } => {}
                    // Under the rate: `limit rate over` does not match.
                    Stmt::SetLimit { .. } | Stmt::Limit { over: true, .. } => continue 'rules,
                    Stmt::Accept => return Flow::Verdict("accept"),
                    Stmt::Drop => return Flow::Verdict("drop"),
                    Stmt::Reject => return Flow::Verdict("reject"),
                    Stmt::Jump(c) => match self.chain(c) {
                        Flow::Continue => continue 'rules,
                        f => return f,
                    },
                    Stmt::Vmap(e, m) => {
                        let Some(pv) = self.value(e) else {
                            continue 'rules;
                        };
                        let map = self.t.sets.iter().find(|s| s.name == *m).unwrap();
                        let hit = map
                            .map_elems
                            .iter()
                            .find(|(k, _)| self.matches(k, &pv))
                            .map(|(_, d)| d.clone());
                        match hit {
                            Some(Val::Jump(c)) => match self.chain(&c) {
                                Flow::Continue => continue 'rules,
                                f => return f,
                            },
                            Some(other) => panic!("verdict map data {other:?}"),
                            None => continue 'rules,
                        }
                    }
                    Stmt::Dnat { addr, port, .. } => {
                        return Flow::Nat(Some((addr.parse().unwrap(), *port)), "dnat");
                    }
                    Stmt::DnatMap { map, .. } => {
                        // numgen gives 0 for this run: the backend in slot 0.
                        let (_, d) = map
                            .iter()
                            .find(|(k, _)| self.matches(k, &Pv::Num(0)))
                            .unwrap();
                        let Val::Concat(v) = d else { panic!() };
                        let (Val::Sym(a), Val::Num(p)) = (&v[0], &v[1]) else {
                            panic!()
                        };
                        return Flow::Nat(Some((a.parse().unwrap(), Some(*p as u16))), "dnat");
                    }
                    Stmt::Snat { addr, .. } => {
                        return Flow::Nat(Some((addr.parse().unwrap(), None)), "snat");
                    }
                    Stmt::Masquerade => return Flow::Nat(None, "masquerade"),
                    // Not a verdict: the connection is offloaded and evaluation goes on.
                    Stmt::FlowAdd(_) => self.offloaded = true,
                }
            }
        }
        match &c.base {
            Some(b) => Flow::Verdict(b.policy),
            None => Flow::Continue,
        }
    }
}

/// What the interpreter reports: verdict, chain, last counter, DNAT, SNAT.
type Observed = (
    &'static str,
    &'static str,
    Option<String>,
    Option<(IpAddr, Option<u16>)>,
    Option<(&'static str, Option<IpAddr>)>,
);

fn interpret(p: &Policy, t: &Table, pkt: &Packet) -> Observed {
    let iif = p
        .interface(&pkt.input)
        .or_else(|| p.zone_interfaces(&pkt.input).next())
        .unwrap();
    let mut run = Run {
        t,
        local: p
            .interfaces
            .iter()
            .flat_map(|i| i.addresses.iter().copied())
            .collect(),
        pkt,
        iif: iif.name.clone(),
        oif: None,
        dst: pkt.dst,
        dport: match pkt.proto {
            Proto::Tcp { dport, .. } | Proto::Udp { dport, .. } => Some(dport),
            _ => None,
        },
        dnat: false,
        counter: None,
        offloaded: false,
    };
    let mut dnat = None;
    if pkt.state == State::New
        && let Flow::Nat(Some((a, port)), "dnat") = run.chain("prerouting")
    {
        run.dst = a;
        run.dport = port.or(run.dport);
        run.dnat = true;
        dnat = Some((a, port.or(run.dport)));
    }
    // Routing: local address, else longest prefix, else the default route.
    let local = p.interfaces.iter().any(|i| i.addresses.contains(&run.dst));
    let oif = if local {
        None
    } else if let Some(o) = &pkt.output {
        Some(
            p.interface(o)
                .or_else(|| p.zone_interfaces(o).next())
                .unwrap(),
        )
    } else {
        let best = p
            .interfaces
            .iter()
            .flat_map(|i| i.networks.iter().map(move |n| (i, n)))
            .filter(|(_, n)| n.contains(&run.dst))
            .max_by_key(|(_, n)| n.lo.wrapping_sub(n.hi));
        Some(
            best.map(|(i, _)| i)
                .or_else(|| p.interfaces.iter().find(|i| i.default_route))
                .unwrap(),
        )
    };
    run.oif = oif.map(|o| o.name.clone());
    let chain = if oif.is_some() { "forward" } else { "input" };
    run.counter = None;
    let verdict = match run.chain(chain) {
        Flow::Verdict(v) => v,
        f => panic!("filter chain ended with {f:?}"),
    };
    if run.offloaded {
        // The fast path only ever carries traffic the table accepts anyway, and only
        // established forwarded TCP and UDP.
        assert_eq!(verdict, "accept", "offloaded but not accepted: {pkt:?}");
        assert_eq!(chain, "forward");
        assert_eq!(pkt.state, State::Established);
        assert!(matches!(pkt.proto, Proto::Tcp { .. } | Proto::Udp { .. }));
        OFFLOADED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let counter = run.counter.clone();
    let mut snat = None;
    if oif.is_some()
        && verdict == "accept"
        && pkt.state == State::New
        && let Flow::Nat(to, kind) = run.chain("postrouting")
    {
        {
            let to = match (kind, to) {
                ("masquerade", _) => {
                    oif.and_then(|o| o.addresses.iter().find(|a| a.is_ipv4()).copied())
                }
                (_, t) => t.map(|t| t.0),
            };
            snat = Some((kind, to));
        }
    }
    (verdict, chain, counter, dnat, snat)
}

fn expected(o: &Outcome) -> Observed {
    let counter = match &o.matched {
        Matched::Rule { counter, .. } => Some(counter.clone()),
        Matched::Management => Some("mgmt".into()),
        Matched::PortForward { name } => Some(format!("pf_{name}")),
        Matched::LoadBalancer { name } => Some(format!("lb_{name}")),
        _ => None,
    };
    (
        o.verdict.as_str(),
        o.chain,
        counter,
        o.dnat.as_ref().map(|d| (d.to, d.port)),
        // The ruleset says `snat` for both SNAT rules and the outbound half of 1:1 NAT.
        o.snat.as_ref().map(|s| {
            (
                if s.kind == "one_to_one" {
                    "snat"
                } else {
                    s.kind
                },
                s.to,
            )
        }),
    )
}

#[test]
fn evaluator_equals_the_compiled_ruleset_on_random_policies() {
    let cfg = GenConfig::default();
    let mut policies = 0;
    let mut verdicts = std::collections::BTreeMap::new();
    for seed in 0..300u64 {
        let src = random_policy(seed, &cfg);
        let c = check(&src, &Lists::new());
        let p = c.policy.unwrap_or_else(|| {
            panic!(
                "generated policy {seed} is invalid: {:#?}\n{src}",
                c.diagnostics
            )
        });
        policies += 1;
        for mode in [Mode::Sets, Mode::Naive] {
            let t = compile(&p, mode).table;
            for k in 0..40u64 {
                let mut pkt = random_packet(&p, &cfg, seed * 1000 + k);
                if k % 13 == 0 {
                    pkt.state = State::Established;
                }
                let o = eval(&p, &pkt, &Health::all_healthy()).unwrap();
                *verdicts.entry(o.verdict.as_str()).or_insert(0) += 1;
                if let Some(d) = &o.dnat {
                    *verdicts.entry(d.kind).or_insert(0) += 1;
                }
                if let Some(n) = &o.snat {
                    *verdicts.entry(n.kind).or_insert(0) += 1;
                }
                if let Matched::Rule { .. } = o.matched {
                    *verdicts.entry("rule").or_insert(0) += 1;
                }
                let got = interpret(&p, &t, &pkt);
                assert_eq!(
                    got,
                    expected(&o),
                    "seed {seed} packet {pkt:?} mode {mode:?}\n{src}\n{}",
                    compile(&p, mode).to_text()
                );
            }
        }
    }
    assert_eq!(policies, 300);
    // Established TCP and UDP took the fast path (the policies have it on by default).
    assert!(
        OFFLOADED.load(std::sync::atomic::Ordering::Relaxed) > 100,
        "{:?}",
        OFFLOADED
    );
    // The generator exercises every verdict.
    for v in ["accept", "drop", "reject", "rule"] {
        assert!(verdicts.get(v).copied().unwrap_or(0) > 100, "{verdicts:?}");
    }
    // ... and every kind of NAT.
    for v in [
        "port_forward",
        "load_balancer",
        "one_to_one",
        "snat",
        "masquerade",
    ] {
        assert!(verdicts.get(v).copied().unwrap_or(0) > 10, "{verdicts:?}");
    }
}

#[test]
fn evaluator_equals_the_compiled_ruleset_on_the_office_policy() {
    let src = std::fs::read_to_string(format!(
        "{}/tests/data/office.toml",
        std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
    ))
    .unwrap();
    let mut l = Lists::new();
    l.insert(
        "threats".into(),
        parse_list("198.18.0.0/15\n203.0.113.200\n").unwrap(),
    );
    let p = check(&src, &l).policy.unwrap();
    let t = compile(&p, Mode::Sets).table;
    let packets = [
        "tcp 192.0.2.10:40000 -> 203.0.113.7:443 in lan",
        "tcp 192.0.2.41:40000 -> 203.0.113.7:443 in lan",
        "tcp 203.0.113.5:40000 -> 198.51.100.1:8080 in wan",
        "tcp 198.18.0.5:40000 -> 198.51.100.1:8080 in wan",
        "tcp 203.0.113.5:40000 -> 198.51.100.1:443 in wan",
        "tcp 203.0.113.10:40000 -> 198.51.100.1:22 in wan",
        "udp 203.0.113.10:40000 -> 198.51.100.1:161 in wan",
        "icmp 203.0.113.10 -> 198.51.100.1 in wan",
        "tcp 203.0.113.10:40000 -> 198.51.100.1:80 in wan",
        "tcp 203.0.113.11:40000 -> 198.51.100.1:22 in wan",
        "icmp 192.0.2.10 -> 192.0.2.70 in lan",
        "udp [2001:db8:1::5]:5000 -> [2001:db8:1::1]:53 in lan",
        "icmpv6/nd-neighbor-solicit 2001:db8:1::5 -> 2001:db8:1::1 in lan",
        "tcp 198.18.0.5:40000 -> 192.0.2.70:443 in wan",
        "tcp 203.0.113.9:40000 -> 192.0.2.70:443 in wan",
        "tcp 203.0.113.9:40000 -> 198.51.100.20:25 in wan",
        "tcp 192.0.2.72:40000 -> 203.0.113.9:25 in dmz",
        "tcp 192.0.2.70:40000 -> 203.0.113.9:25 in dmz",
        "tcp [2001:db8:1::5]:4000 -> [2001:db8:77::1]:443 in lan",
        "udp [2001:db8:1::5]:4000 -> [2001:db8:77::1]:53 in lan",
        "icmpv6 2001:db8:1::5 -> 2001:db8:1::1 in lan",
        "icmpv6 2001:db8:ff::1 -> 2001:db8:1::1 in lan",
        "tcp [2001:db8:ff::1]:4000 -> [2001:db8:1::1]:22 in lan",
        "tcp [2001:db8:ff::1]:4000 -> [2001:db8:1::1]:80 in lan",
        "tcp [2001:db8:1::5]:4000 -> [2001:db8:2::1]:443 in lan out dmz",
        "icmpv6 2001:db8:1::5 -> 2001:db8:2::1 in lan out dmz",
        "tcp [2001:db8:1::5]:4000 -> [2001:db8:2::1]:8080 in lan out dmz",
        "proto/47 192.0.2.10 -> 192.0.2.70 in lan",
        "tcp 198.18.0.5:40000 -> 192.0.2.70:443 in wan established",
        "tcp 198.18.0.5:40000 -> 192.0.2.70:443 in wan invalid",
    ];
    for text in packets {
        let pkt = Packet::parse(text).unwrap();
        let o = eval(&p, &pkt, &Health::all_healthy()).unwrap();
        assert_eq!(interpret(&p, &t, &pkt), expected(&o), "{text}");
    }
}

#[test]
fn management_access_survives_any_policy() {
    // Art. 5: a policy that drops everything still admits ping, SSH, SNMP and HTTPS from
    // the center, and nothing else from it.
    let src = "[interfaces]\nwan0 = { zone = \"wan\", addresses = [\"198.51.100.1/24\"], default_route = true }\n\
               [management]\ncenter = \"203.0.113.10\"\n[defaults]\n\"*\" = \"drop\"\n\
               [[rules]]\nfrom = \"wan\"\nto = \"self\"\naction = \"drop\"\n";
    let p = check(src, &Lists::new()).policy.unwrap();
    let t = compile(&p, Mode::Sets).table;
    for (text, verdict) in [
        ("icmp 203.0.113.10 -> 198.51.100.1 in wan", Action::Accept),
        (
            "tcp 203.0.113.10:5000 -> 198.51.100.1:22 in wan",
            Action::Accept,
        ),
        (
            "tcp 203.0.113.10:5000 -> 198.51.100.1:443 in wan",
            Action::Accept,
        ),
        (
            "udp 203.0.113.10:5000 -> 198.51.100.1:161 in wan",
            Action::Accept,
        ),
        (
            "tcp 203.0.113.10:5000 -> 198.51.100.1:80 in wan",
            Action::Drop,
        ),
        (
            "udp 203.0.113.10:5000 -> 198.51.100.1:53 in wan",
            Action::Drop,
        ),
        (
            "tcp 203.0.113.11:5000 -> 198.51.100.1:22 in wan",
            Action::Drop,
        ),
    ] {
        let pkt = Packet::parse(text).unwrap();
        let o = eval(&p, &pkt, &Health::all_healthy()).unwrap();
        assert_eq!(o.verdict, verdict, "{text}");
        assert_eq!(interpret(&p, &t, &pkt), expected(&o), "{text}");
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn packet_parser(s in "\\PC{0,60}") {
            let _ = Packet::parse(&s);
        }

        #[test]
        fn packet_parser_on_near_packets(
            proto in "(tcp|udp|icmp|icmpv6|icmp/[a-z-]{0,12}|proto/[0-9]{1,3}|x)",
            a in "[0-9a-f:.\\[\\]]{0,20}",
            b in "[0-9a-f:.\\[\\]]{0,20}",
            rest in "( (in|out|established|new|lan|wan0|zz))*",
        ) {
            let _ = Packet::parse(&format!("{proto} {a} -> {b}{rest}"));
        }

        #[test]
        fn evaluator_and_compiler(seed in any::<u64>(), k in any::<u64>()) {
            let cfg = GenConfig::default();
            let p = check(&random_policy(seed, &cfg), &Lists::new()).policy.unwrap();
            let _ = compile(&p, Mode::Sets).to_json();
            let pkt = random_packet(&p, &cfg, k);
            prop_assert!(eval(&p, &pkt, &Health::all_healthy()).is_ok());
        }
    }
}

#[test]
fn rules_of_the_zone_pair_apply_to_port_forwarded_traffic() {
    let src = std::fs::read_to_string(format!(
        "{}/tests/data/office.toml",
        std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
    ))
    .unwrap();
    let mut l = Lists::new();
    l.insert("threats".into(), parse_list("198.18.0.0/15\n").unwrap());
    let p = check(&src, &l).policy.unwrap();
    let ok = eval(
        &p,
        &Packet::parse("tcp 203.0.113.5:40000 -> 198.51.100.1:8080 in wan").unwrap(),
        &Health::all_healthy(),
    )
    .unwrap();
    assert_eq!(
        (ok.verdict, &ok.matched),
        (Action::Accept, &Matched::PortForward { name: "cam".into() })
    );
    let blocked = eval(
        &p,
        &Packet::parse("tcp 198.18.0.5:40000 -> 198.51.100.1:8080 in wan").unwrap(),
        &Health::all_healthy(),
    )
    .unwrap();
    assert_eq!(blocked.verdict, Action::Drop);
    assert!(
        matches!(&blocked.matched, Matched::Rule { name: Some(n), .. } if n == "block-threats"),
        "{blocked:?}"
    );
}

#[test]
fn evaluator_equals_the_compiled_ruleset_on_random_ipv6_policies() {
    use mamori_policy::generate::{packet_to_ipv6, to_ipv6};
    let cfg = GenConfig::default();
    let mut seen = std::collections::BTreeMap::new();
    for seed in 0..300u64 {
        let src4 = random_policy(seed, &cfg);
        let p4 = check(&src4, &Lists::new()).policy.unwrap();
        let src = to_ipv6(&src4);
        let c = check(&src, &Lists::new());
        let p = c.policy.unwrap_or_else(|| {
            panic!(
                "IPv6 twin of policy {seed} is invalid: {:#?}\n{src}",
                c.diagnostics
            )
        });
        for mode in [Mode::Sets, Mode::Naive] {
            let t = compile(&p, mode).table;
            for k in 0..40u64 {
                let pkt = packet_to_ipv6(&random_packet(&p4, &cfg, seed * 1000 + k));
                let o = eval(&p, &pkt, &Health::all_healthy()).unwrap();
                *seen.entry(o.verdict.as_str()).or_insert(0) += 1;
                if let Some(d) = &o.dnat {
                    *seen.entry(d.kind).or_insert(0) += 1;
                }
                if let Some(n) = &o.snat {
                    *seen.entry(n.kind).or_insert(0) += 1;
                }
                assert_eq!(
                    interpret(&p, &t, &pkt),
                    expected(&o),
                    "seed {seed} packet {pkt:?} mode {mode:?}\n{src}"
                );
            }
        }
    }
    for v in [
        "accept",
        "drop",
        "reject",
        "port_forward",
        "load_balancer",
        "one_to_one",
        "snat",
    ] {
        assert!(seen.get(v).copied().unwrap_or(0) > 10, "{seen:?}");
    }
    // IPv6 is never masqueraded.
    assert!(!seen.contains_key("masquerade"), "{seen:?}");
}

#[test]
fn zones_with_several_interfaces() {
    let src = "[interfaces]\n\
               lan0 = { zone = \"lan\", addresses = [\"192.0.2.1/26\"] }\n\
               lan1 = { zone = \"lan\", addresses = [\"192.0.2.65/26\"] }\n\
               wan0 = { zone = \"wan\", addresses = [\"198.51.100.1/24\"], default_route = true }\n\
               [management]\ncenter = \"203.0.113.10\"\n\
               [defaults]\n\"lan->lan\" = \"accept\"\n\"*\" = \"drop\"\n\
               [[rules]]\nfrom = \"lan\"\nto = \"wan\"\nservice = \"tcp/443\"\naction = \"accept\"\n";
    let p = check(src, &Lists::new()).policy.unwrap();
    let t = compile(&p, Mode::Sets).table;
    for (text, verdict) in [
        (
            "tcp 192.0.2.70:5000 -> 203.0.113.9:443 in lan1",
            Action::Accept,
        ),
        (
            "tcp 192.0.2.10:5000 -> 203.0.113.9:443 in lan0",
            Action::Accept,
        ),
        (
            "tcp 192.0.2.10:5000 -> 203.0.113.9:80 in lan0",
            Action::Drop,
        ),
        (
            "tcp 192.0.2.10:5000 -> 192.0.2.70:80 in lan0",
            Action::Accept,
        ),
        (
            "tcp 192.0.2.70:5000 -> 192.0.2.10:80 in lan1",
            Action::Accept,
        ),
        (
            "tcp 203.0.113.9:5000 -> 192.0.2.70:80 in wan0",
            Action::Drop,
        ),
    ] {
        let pkt = Packet::parse(text).unwrap();
        let o = eval(&p, &pkt, &Health::all_healthy()).unwrap();
        assert_eq!(o.verdict, verdict, "{text}");
        assert_eq!(interpret(&p, &t, &pkt), expected(&o), "{text}");
    }
}

#[test]
fn destination_nat_never_takes_the_centers_management_connections() {
    // Art. 5: the office balances 198.51.100.1:443, the gateway's own address; the
    // center's HTTPS to that address still reaches the gateway.
    let src = std::fs::read_to_string(format!(
        "{}/tests/data/office.toml",
        std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
    ))
    .unwrap();
    let p = check(&src, &Lists::new()).policy.unwrap();
    let t = compile(&p, Mode::Sets).table;
    let center = Packet::parse("tcp 203.0.113.10:40000 -> 198.51.100.1:443 in wan").unwrap();
    let o = eval(&p, &center, &Health::all_healthy()).unwrap();
    assert_eq!(
        (o.verdict, &o.matched, &o.dnat, o.chain),
        (Action::Accept, &Matched::Management, &None, "input")
    );
    assert_eq!(interpret(&p, &t, &center), expected(&o));
    let client = Packet::parse("tcp 203.0.113.11:40000 -> 198.51.100.1:443 in wan").unwrap();
    let o = eval(&p, &client, &Health::all_healthy()).unwrap();
    assert_eq!(o.dnat.as_ref().map(|d| d.kind), Some("load_balancer"));
    assert_eq!(interpret(&p, &t, &client), expected(&o));
}

/// Art. 5, for any policy the center accepts: a new packet from an operations-center
/// address to any of the gateway's own addresses, on ping, SSH, SNMP or HTTPS, arriving
/// on any interface, is accepted by the management rules in `input`, is never taken by
/// destination NAT, and the compiled ruleset does the same. The random policies get,
/// on top of what the generator makes, a 1:1 NAT, a port forward and a load balancer on
/// the gateway's own WAN address and on exactly these ports, and a rule dropping
/// everything from the center first (IPv4 and the IPv6 twins).
#[test]
fn the_centers_management_access_reaches_the_gateway_under_any_policy() {
    use mamori_policy::generate::{packet_to_ipv6, to_ipv6};
    let cfg = GenConfig::default();
    let hostile = |wan: &str, lan_host: &str| {
        format!(
            "\n[[nat.one_to_one]]\nzone = \"wan\"\npublic = \"{wan}\"\nprivate = \"{lan_host}\"\n\
             \n[[nat.port_forwards]]\nname = \"ssh-in\"\nzone = \"wan\"\nport = 22\nto = \"{lan_host}\"\n\
             \n[[nat.port_forwards]]\nname = \"snmp-in\"\nzone = \"wan\"\nprotocol = \"udp\"\nport = 161\nto = \"{lan_host}\"\n\
             \n[[load_balancers]]\nname = \"web-in\"\nzone = \"wan\"\naddress = \"{wan}\"\nport = 443\n\
             backends = [{{ address = \"{lan_host}\", port = 443 }}]\n"
        )
    };
    let mut checked = 0;
    for seed in 0..200u64 {
        let base = random_policy(seed, &cfg);
        // The center's traffic is dropped by the first rule and by every default.
        let base = base
            .replacen(
                "\n[[rules]]\n",
                "\n[[rules]]\nfrom = \"wan\"\nto = \"self\"\nsource = \"203.0.113.10\"\naction = \"drop\"\n\n[[rules]]\n",
                1,
            )
            .replace("\"*\" = \"accept\"", "\"*\" = \"drop\"");
        let with_nat = if seed % 2 == 0 {
            format!("{base}{}", hostile("198.51.100.1", "192.0.2.9"))
        } else {
            base.clone()
        };
        for (v6, src) in [(false, with_nat.clone()), (true, to_ipv6(&with_nat))] {
            let c = check(&src, &Lists::new());
            let p = c.policy.unwrap_or_else(|| {
                panic!(
                    "policy {seed} (v6 {v6}) is invalid: {:#?}\n{src}",
                    c.diagnostics
                )
            });
            let t = compile(&p, Mode::Sets).table;
            let locals: Vec<IpAddr> = p
                .interfaces
                .iter()
                .flat_map(|i| i.addresses.iter().copied())
                .collect();
            for dst in locals {
                for iface in &cfg.interfaces {
                    for proto in ["icmp", "tcp/22", "tcp/443", "udp/161"] {
                        let text = match proto {
                            "icmp" => {
                                format!("icmp 203.0.113.10 -> {} in {}", v4_of(dst), iface.name)
                            }
                            _ => {
                                let (l4, port) = proto.split_once('/').unwrap();
                                format!(
                                    "{l4} 203.0.113.10:40000 -> {}:{port} in {}",
                                    v4_of(dst),
                                    iface.name
                                )
                            }
                        };
                        let Some(mut pkt) = Packet::parse(&text).ok() else {
                            continue;
                        };
                        if v6 != dst.is_ipv6() {
                            continue;
                        }
                        if v6 {
                            pkt = packet_to_ipv6(&pkt);
                            pkt.dst = dst;
                        }
                        let o = eval(&p, &pkt, &Health::all_healthy()).unwrap();
                        assert_eq!(
                            (o.verdict, &o.matched, o.chain, o.dnat.is_none()),
                            (Action::Accept, &Matched::Management, "input", true),
                            "seed {seed} v6 {v6}: {pkt:?}\n{src}"
                        );
                        assert_eq!(
                            interpret(&p, &t, &pkt),
                            expected(&o),
                            "seed {seed} v6 {v6}: {pkt:?}\n{src}\n{}",
                            compile(&p, Mode::Sets).to_text()
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 5000, "{checked}");
}

/// An IPv6 gateway address is written as the IPv4 address it is the twin of (the
/// packet is turned into IPv6 afterwards); IPv4 addresses as they are.
fn v4_of(a: IpAddr) -> String {
    match a {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => {
            let low = (u128::from(a) & 0xffff_ffff) as u32;
            std::net::Ipv4Addr::from(low).to_string()
        }
    }
}
