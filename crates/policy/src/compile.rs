//! The compiler: a checked [`Policy`] to one nftables table, `inet mamori`.
//!
//! Shape of the output (see ARCHITECTURE.md for the invariants):
//! - `forward` and `input` (filter): loopback (input), established/related accepted,
//!   invalid dropped, then (input) the management rules and ICMPv6 neighbour discovery,
//!   then a verdict map on the interface names (`dispatch_forward` on `iifname .
//!   oifname`, `dispatch_input` on `iifname`) that jumps to one chain per zone pair,
//!   `z_FROM_TO`, holding that pair's rules in order, then (forward) the accept rules of
//!   the port forwards and load balancers of zone FROM (`ct status dnat` and the
//!   translated destination), then the pair's default. Pairs without a chain get those
//!   accept rules and the global default at the end of the base chain.
//! - A rule naming several objects looks them up in one named interval set; a rule
//!   naming one object uses that object's shared set (`a4_NAME`, `a6_NAME`); a single
//!   address, prefix or range is matched directly, without a set. Rules naming the same
//!   services share one service set. The number of rules a packet traverses does not
//!   depend on the number of addresses.
//! - Each rule counts its hits in a named counter (`rule_NAME`, or `rule-N` for the N-th
//!   rule without a name); port forwards in `pf_NAME`, load balancers in `lb_NAME`,
//!   management access in `mgmt`.
//! - `prerouting` (dstnat): management traffic (ping, SSH, SNMP, HTTPS) from the center
//!   to the gateway's own addresses is left alone (`fib daddr type local`), then 1:1
//!   NAT, port forwards, then
//!   a jump to each load balancer's
//!   chain `lb_NAME`, whose single rule DNATs through `numgen random` and an anonymous
//!   map of the healthy backends (see [`lb_update`]).
//! - `postrouting` (srcnat): 1:1 NAT, SNAT, then IPv4 masquerade.
//! - The fast path (unless the policy turns it off): a flowtable `ft` on all the
//!   policy's interfaces, and, first in `forward`, `meta l4proto { tcp, udp } ct state
//!   established flow add @ft`. Later packets of such a connection skip the hooks
//!   (conntrack, NAT, this table) from ingress on; the flowtable translates NAT itself.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

use crate::addr::{Family, IpRange, IpSet};
use crate::model::*;
use crate::nft::{self, BaseChain, Chain, Expr, Flowtable, Set, Stmt, Table, Val};

/// The table every compiled policy lives in: `inet mamori`.
pub const TABLE: &str = "mamori";

/// The flowtable of the fast path (see [`Policy::fast_path`]).
pub const FLOWTABLE: &str = "ft";

/// How objects are compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Named sets and maps: the production compiler.
    Sets,
    /// One rule per address and service element, linear. Only a benchmark baseline.
    Naive,
}

/// What a named counter counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterInfo {
    pub counter: String,
    /// `rule`, `port_forward`, `load_balancer` or `management`.
    pub kind: &'static str,
    pub name: String,
    /// Line of the rule in the document, for rules.
    pub line: Option<usize>,
}

/// A compiled policy.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub table: Table,
    pub counters: Vec<CounterInfo>,
}

impl Compiled {
    /// `nft -f` input that atomically replaces table `inet mamori`.
    pub fn to_text(&self) -> String {
        self.table.to_text()
    }
    /// libnftables JSON (`nft -j -f`) that atomically replaces table `inet mamori`.
    pub fn to_json(&self) -> Value {
        self.table.to_json()
    }
    /// The same JSON as compact text, rendered without building a `Value` (fast for
    /// big rulesets): what `mamori policy compile` prints.
    pub fn to_json_string(&self) -> String {
        self.table.to_json_string()
    }
    /// Number of rules in all chains.
    pub fn rule_count(&self) -> usize {
        self.table.chains.iter().map(|c| c.rules.len()).sum()
    }

    /// Starts this table's counters at the values of the running table (from
    /// [`parse_counters`]), so rule hits survive an apply, which recreates the table.
    /// Counters this policy no longer has are dropped; new ones start at zero. Hits
    /// between reading the values and applying are not carried over.
    pub fn keep_counters(&mut self, running: &BTreeMap<String, (u64, u64)>) {
        self.table.counter_values = self
            .table
            .counters
            .iter()
            .filter_map(|c| running.get(c).map(|v| (c.clone(), *v)))
            .collect();
    }
}

/// Why the output of `nft -j list counters` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountersError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("no `nftables` array at the top level")]
    NoArray,
    #[error("counter entry {0} lacks `name`, `packets` or `bytes`")]
    BadEntry(usize),
}

/// Reads the counters of table `inet mamori` (name to packets and bytes) from the output
/// of `nft -j list counters table inet mamori`. Entries of other tables are ignored.
pub fn parse_counters(json: &str) -> Result<BTreeMap<String, (u64, u64)>, CountersError> {
    let v: Value = serde_json::from_str(json).map_err(|e| CountersError::NotJson(e.to_string()))?;
    let items = v
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or(CountersError::NoArray)?;
    let mut out = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(c) = item.get("counter") else {
            continue;
        };
        if c.get("family").and_then(Value::as_str) != Some("inet")
            || c.get("table").and_then(Value::as_str) != Some(TABLE)
        {
            continue;
        }
        let (Some(name), Some(p), Some(b)) = (
            c.get("name").and_then(Value::as_str),
            c.get("packets").and_then(Value::as_u64),
            c.get("bytes").and_then(Value::as_u64),
        ) else {
            return Err(CountersError::BadEntry(i));
        };
        out.insert(name.to_string(), (p, b));
    }
    Ok(out)
}

fn fam_str(f: Family) -> &'static str {
    match f {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    }
}

fn addr_type(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4_addr",
        Family::V6 => "ipv6_addr",
    }
}

pub(crate) fn range_val(r: &IpRange) -> Val {
    if r.lo == r.hi {
        Val::Sym(r.lo_ip().to_string())
    } else if let Some(p) = r.as_prefix() {
        Val::Prefix(r.lo_ip().to_string(), p)
    } else {
        Val::Range(
            Box::new(Val::Sym(r.lo_ip().to_string())),
            Box::new(Val::Sym(r.hi_ip().to_string())),
        )
    }
}

fn port_val(lo: u16, hi: u16) -> Val {
    if lo == hi {
        Val::Num(lo as u64)
    } else {
        Val::Range(Box::new(Val::Num(lo as u64)), Box::new(Val::Num(hi as u64)))
    }
}

fn verdict(a: Action) -> Stmt {
    match a {
        Action::Accept => Stmt::Accept,
        Action::Drop => Stmt::Drop,
        Action::Reject => Stmt::Reject,
    }
}

pub(crate) fn zone_chain(from: &str, to: &str) -> String {
    format!("z_{from}_{to}")
}

/// The chain of a load balancer; [`lb_update`] replaces its one rule.
pub fn lb_chain(name: &str) -> String {
    format!("lb_{name}")
}

fn ifset(zone: &str) -> String {
    format!("if_{zone}")
}

struct Cx {
    mode: Mode,
    sets: BTreeMap<String, Set>,
    counters: Vec<CounterInfo>,
    /// Service sets by contents: rules naming the same services share one set.
    svc_sets: BTreeMap<Vec<(L4, crate::addr::PortRange)>, String>,
}

/// Which protocol part of a rule a compiled nft rule covers.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Any,
    Ports,
    Icmp,
    Icmpv6,
}

impl Cx {
    /// Registers the counter `PREFIX_NAME` of the `kind` (a port forward, a load
    /// balancer) named `name`; returns the counter's name.
    fn named_counter(&mut self, prefix: &str, kind: &'static str, name: &str) -> String {
        let counter = format!("{prefix}_{name}");
        self.counters.push(CounterInfo {
            counter: counter.clone(),
            kind,
            name: name.to_string(),
            line: None,
        });
        counter
    }

    /// A named set of the addresses of family `f`: a hash set when they are all single
    /// hosts (loads faster, looks up in constant time), an interval set otherwise.
    ///
    /// A hash set declares its size (its element count: object sets are never added to
    /// after the apply), so the kernel can choose its fixed-size hash, which it fills
    /// faster than the resizable one (1,000,000 hosts: 2.6 s of kernel CPU down to 1.2).
    fn set_of(&mut self, name: String, f: Family, set: &IpSet) -> Val {
        self.sets.entry(name.clone()).or_insert_with(|| {
            let interval = set.ranges(f).any(|r| r.lo != r.hi);
            let elems: Vec<Val> = set.ranges(f).map(|r| range_val(&r)).collect();
            let size = if interval || elems.is_empty() {
                None
            } else {
                u32::try_from(elems.len()).ok()
            };
            Set {
                name: name.clone(),
                key: vec![addr_type(f)],
                data: None,
                interval,
                dynamic_timeout: None,
                size,
                elems,
                map_elems: vec![],
            }
        });
        Val::SetRef(name)
    }

    /// The value an address match compares with, for family `f`: the address, prefix or
    /// range itself when it is one, else the object's shared set or a set of its own
    /// named `own`. `None` when the match is any address.
    ///
    /// Every named set costs the kernel a walk of the table's set list when it is
    /// added, filled and referenced, so single values are not made sets.
    fn addr_val(&mut self, m: &AddrMatch, f: Family, own: &str) -> Option<Val> {
        let set = m.set.as_ref()?;
        let mut ranges = set.ranges(f);
        if let (Some(r), None) = (ranges.next(), ranges.next()) {
            return Some(range_val(&r));
        }
        let suffix = if f == Family::V4 { "4" } else { "6" };
        Some(match &m.object {
            Some(obj) => self.set_of(format!("a{suffix}_{obj}"), f, set),
            None => self.set_of(format!("{own}{suffix}"), f, set),
        })
    }

    fn ifset_match(&self, zone: &str, out: bool) -> Stmt {
        Stmt::Match(
            Expr::Meta(if out { "oifname" } else { "iifname" }),
            Val::SetRef(ifset(zone)),
        )
    }

    fn compile_rule(&mut self, r: &Rule) -> Vec<Vec<Stmt>> {
        let mut fams: Vec<Option<Family>> = if r.src.set.is_none() && r.dst.set.is_none() {
            vec![None]
        } else {
            [Family::V4, Family::V6]
                .into_iter()
                .filter(|f| r.src.admits_family(*f) && r.dst.admits_family(*f))
                .map(Some)
                .collect()
        };
        if r.rate_limit.is_some() && fams == [None] {
            fams = vec![Some(Family::V4), Some(Family::V6)];
        }
        let parts: Vec<Part> = match &r.services {
            None => vec![Part::Any],
            Some(s) => {
                let mut v = vec![];
                if !s.ports.is_empty() {
                    v.push(Part::Ports);
                }
                if !s.icmp.is_none() {
                    v.push(Part::Icmp);
                }
                if !s.icmpv6.is_none() {
                    v.push(Part::Icmpv6);
                }
                v
            }
        };
        let mut out = Vec::new();
        for fam in &fams {
            for part in &parts {
                match (fam, part) {
                    (Some(Family::V6), Part::Icmp) | (Some(Family::V4), Part::Icmpv6) => continue,
                    _ => {}
                }
                if self.mode == Mode::Naive {
                    self.naive_rule(r, *fam, *part, &mut out);
                    continue;
                }
                let mut m = Vec::new();
                if let Some(f) = fam {
                    let s = self.addr_val(&r.src, *f, &format!("{}_src", r.counter));
                    let d = self.addr_val(&r.dst, *f, &format!("{}_dst", r.counter));
                    if s.is_none() && d.is_none() {
                        m.push(Stmt::Match(
                            Expr::Meta("nfproto"),
                            Val::Sym(nfproto(*f).into()),
                        ));
                    }
                    if let Some(s) = s {
                        m.push(Stmt::Match(Expr::Payload(fam_str(*f), "saddr"), s));
                    }
                    if let Some(d) = d {
                        m.push(Stmt::Match(Expr::Payload(fam_str(*f), "daddr"), d));
                    }
                }
                let svc = r.services.as_ref();
                match part {
                    Part::Any => {}
                    Part::Ports => {
                        let ports = &svc.map(|s| s.ports.clone()).unwrap_or_default();
                        m.push(self.ports_match(ports, &format!("{}_svc", r.counter)));
                    }
                    Part::Icmp => m.extend(icmp_match(
                        false,
                        &svc.map(|s| s.icmp.clone()).unwrap_or_default(),
                    )),
                    Part::Icmpv6 => m.extend(icmp_match(
                        true,
                        &svc.map(|s| s.icmpv6.clone()).unwrap_or_default(),
                    )),
                }
                self.finish_rule(r, *fam, m, &mut out);
            }
        }
        out
    }

    fn finish_rule(
        &mut self,
        r: &Rule,
        fam: Option<Family>,
        m: Vec<Stmt>,
        out: &mut Vec<Vec<Stmt>>,
    ) {
        if let Some(log) = &r.log {
            let mut x = m.clone();
            if let Some(rate) = log.rate {
                x.push(Stmt::Limit {
                    rate: rate.count,
                    per: rate.per.as_str(),
                    over: false,
                });
            }
            x.push(Stmt::Log(log.prefix.clone()));
            out.push(x);
        }
        if let (Some(rate), Some(f)) = (r.rate_limit, fam) {
            let suffix = if f == Family::V4 { "4" } else { "6" };
            let set = format!("{}_rl{suffix}", r.counter);
            self.sets.entry(set.clone()).or_insert_with(|| Set {
                name: set.clone(),
                key: vec![addr_type(f)],
                data: None,
                interval: false,
                dynamic_timeout: Some(60),
                size: Some(65535),
                elems: vec![],
                map_elems: vec![],
            });
            let mut x = m.clone();
            x.push(Stmt::SetLimit {
                set,
                key: Expr::Payload(fam_str(f), "saddr"),
                rate: rate.count,
                per: rate.per.as_str(),
            });
            x.push(Stmt::Counter(r.counter.clone()));
            x.push(Stmt::Drop);
            out.push(x);
        }
        let mut x = m;
        x.push(Stmt::Counter(r.counter.clone()));
        x.push(verdict(r.action));
        out.push(x);
    }

    fn ports_match(&mut self, ports: &[(L4, crate::addr::PortRange)], own: &str) -> Stmt {
        if let [(p, r)] = ports {
            if r.lo == 0 && r.hi == 65535 {
                return Stmt::Match(Expr::Meta("l4proto"), Val::Sym(p.as_str().into()));
            }
            return Stmt::Match(Expr::Payload(p.as_str(), "dport"), port_val(r.lo, r.hi));
        }
        if let Some(name) = self.svc_sets.get(ports) {
            return svc_set_match(name.clone());
        }
        let name = own.to_string();
        self.svc_sets.insert(ports.to_vec(), name.clone());
        self.sets.entry(name.clone()).or_insert_with(|| Set {
            name: name.clone(),
            key: vec!["inet_proto", "inet_service"],
            data: None,
            interval: true,
            dynamic_timeout: None,
            size: None,
            elems: ports
                .iter()
                .map(|(p, r)| Val::Concat(vec![Val::Sym(p.as_str().into()), port_val(r.lo, r.hi)]))
                .collect(),
            map_elems: vec![],
        });
        svc_set_match(name)
    }

    /// The naive baseline: every (source element, destination element, service element)
    /// becomes its own rule.
    fn naive_rule(&mut self, r: &Rule, fam: Option<Family>, part: Part, out: &mut Vec<Vec<Stmt>>) {
        let elems = |m: &AddrMatch, f: Option<Family>| -> Vec<Option<IpRange>> {
            match (&m.set, f) {
                (Some(s), Some(f)) => s.ranges(f).map(Some).collect(),
                _ => vec![None],
            }
        };
        let svc: Vec<Vec<Stmt>> = match part {
            Part::Any => vec![vec![]],
            Part::Ports => r
                .services
                .as_ref()
                .map(|s| s.ports.clone())
                .unwrap_or_default()
                .iter()
                .map(|(p, pr)| vec![self.ports_match(&[(*p, *pr)], "")])
                .collect(),
            Part::Icmp => vec![icmp_match(
                false,
                &r.services
                    .as_ref()
                    .map(|s| s.icmp.clone())
                    .unwrap_or_default(),
            )],
            Part::Icmpv6 => vec![icmp_match(
                true,
                &r.services
                    .as_ref()
                    .map(|s| s.icmpv6.clone())
                    .unwrap_or_default(),
            )],
        };
        for s in elems(&r.src, fam) {
            for d in elems(&r.dst, fam) {
                for sv in &svc {
                    let mut m = Vec::new();
                    if let Some(f) = fam
                        && s.is_none()
                        && d.is_none()
                    {
                        m.push(Stmt::Match(
                            Expr::Meta("nfproto"),
                            Val::Sym(nfproto(f).into()),
                        ));
                    }
                    if let Some(s) = s {
                        m.push(Stmt::Match(
                            Expr::Payload(fam_str(s.family), "saddr"),
                            range_val(&s),
                        ));
                    }
                    if let Some(d) = d {
                        m.push(Stmt::Match(
                            Expr::Payload(fam_str(d.family), "daddr"),
                            range_val(&d),
                        ));
                    }
                    m.extend(sv.iter().cloned());
                    self.finish_rule(r, fam, m, out);
                }
            }
        }
    }
}

fn svc_set_match(name: String) -> Stmt {
    Stmt::Match(
        Expr::Concat(vec![Expr::Meta("l4proto"), Expr::Payload("th", "dport")]),
        Val::SetRef(name),
    )
}

fn nfproto(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

fn icmp_match(v6: bool, sel: &IcmpSel) -> Vec<Stmt> {
    let (proto, l4) = if v6 {
        ("icmpv6", "ipv6-icmp")
    } else {
        ("icmp", "icmp")
    };
    match sel {
        IcmpSel::None | IcmpSel::All => {
            vec![Stmt::Match(Expr::Meta("l4proto"), Val::Sym(l4.into()))]
        }
        IcmpSel::Types(t) if t.len() == 1 => vec![Stmt::Match(
            Expr::Payload(proto, "type"),
            Val::Sym(crate::addr::icmp_name(v6, t[0]).into()),
        )],
        IcmpSel::Types(t) => vec![Stmt::Match(
            Expr::Payload(proto, "type"),
            Val::Set(
                t.iter()
                    .map(|x| Val::Sym(crate::addr::icmp_name(v6, *x).into()))
                    .collect(),
            ),
        )],
    }
}

/// ICMPv6 types the gateway always accepts (neighbour discovery), in order.
pub const ND_TYPES: &[u8] = &[133, 134, 135, 136];

fn base(
    kind: &'static str,
    hook: &'static str,
    prio_name: &'static str,
    prio: i32,
    policy: &'static str,
) -> Option<BaseChain> {
    Some(BaseChain {
        kind,
        hook,
        prio_name,
        prio,
        policy,
    })
}

/// The DNAT rule of a load balancer over `healthy` backends (all of the pool's, or a
/// subset); `None` when no backend is healthy (the chain is then empty, and traffic to
/// the virtual address is not translated).
fn lb_rule(lb: &LoadBalancer, healthy: &[&Backend]) -> Option<Vec<Stmt>> {
    if healthy.is_empty() {
        return None;
    }
    let f = Family::of(&lb.address);
    let mut m = Vec::new();
    if let Some(z) = &lb.zone {
        m.push(Stmt::Match(Expr::Meta("iifname"), Val::SetRef(ifset(z))));
    }
    m.push(Stmt::Match(
        Expr::Payload(fam_str(f), "daddr"),
        Val::Sym(lb.address.to_string()),
    ));
    m.push(Stmt::Match(
        Expr::Payload(lb.protocol.as_str(), "dport"),
        Val::Num(lb.port as u64),
    ));
    let total: u32 = healthy.iter().map(|b| b.weight).sum();
    let mut slot = 0u32;
    let mut map = Vec::new();
    for b in healthy {
        let key = if b.weight == 1 {
            Val::Num(slot as u64)
        } else {
            Val::Range(
                Box::new(Val::Num(slot as u64)),
                Box::new(Val::Num((slot + b.weight - 1) as u64)),
            )
        };
        map.push((
            key,
            Val::Concat(vec![
                Val::Sym(b.address.to_string()),
                Val::Num(b.port as u64),
            ]),
        ));
        slot += b.weight;
    }
    m.push(Stmt::DnatMap {
        family: fam_str(f),
        key: Expr::Numgen(total),
        map,
    });
    Some(m)
}

/// Why a load-balancer update cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LbError {
    #[error("no load balancer named `{0}` in the policy")]
    UnknownBalancer(String),
    #[error("{1}:{2} is not a backend of load balancer `{0}`")]
    UnknownBackend(String, IpAddr, u16),
}

/// An atomic update of one load balancer's healthy backends.
#[derive(Debug, Clone, PartialEq)]
pub struct LbUpdate {
    /// `nft -f` input: flush chain `lb_NAME`, add its rule over the healthy backends.
    pub text: String,
    /// The same as libnftables JSON.
    pub json: Value,
}

/// Renders the transaction that points load balancer `name` at exactly the `healthy`
/// backends (given by address and port; weights come from the policy). Applied with one
/// `nft -f`, it is atomic: connections already set up keep their backend (conntrack),
/// new ones are spread over the healthy backends only. With no healthy backend the chain
/// is left empty and traffic to the virtual address is no longer translated.
pub fn lb_update(p: &Policy, name: &str, healthy: &[(IpAddr, u16)]) -> Result<LbUpdate, LbError> {
    let lb = p
        .load_balancers
        .iter()
        .find(|l| l.name == name)
        .ok_or_else(|| LbError::UnknownBalancer(name.to_string()))?;
    for (a, port) in healthy {
        if !lb
            .backends
            .iter()
            .any(|b| b.address == *a && b.port == *port)
        {
            return Err(LbError::UnknownBackend(name.to_string(), *a, *port));
        }
    }
    // Keep the policy's order, so the same healthy set always renders the same.
    let chosen: Vec<&Backend> = lb
        .backends
        .iter()
        .filter(|b| healthy.contains(&(b.address, b.port)))
        .collect();
    let chain = lb_chain(name);
    let rule = lb_rule(lb, &chosen);
    let mut text = format!("flush chain inet {TABLE} {chain}\n");
    let mut cmds = vec![
        serde_json::json!({"metainfo": {"json_schema_version": 1}}),
        serde_json::json!({"flush": {"chain": {"family": "inet", "table": TABLE, "name": chain}}}),
    ];
    if let Some(r) = &rule {
        text.push_str(&format!(
            "add rule inet {TABLE} {chain} {}\n",
            nft::text_rule(r)
        ));
        cmds.push(serde_json::json!({"add": {"rule": nft::json_rule("inet", TABLE, &chain, r)}}));
    }
    Ok(LbUpdate {
        text,
        json: serde_json::json!({ "nftables": cmds }),
    })
}

/// Compiles a checked policy to the `inet mamori` table.
pub fn compile(p: &Policy, mode: Mode) -> Compiled {
    let mut cx = Cx {
        mode,
        sets: BTreeMap::new(),
        counters: Vec::new(),
        svc_sets: BTreeMap::new(),
    };
    // Interface sets per zone.
    for z in &p.zones {
        let name = ifset(z);
        cx.sets.insert(
            name.clone(),
            Set {
                name,
                key: vec!["ifname"],
                data: None,
                interval: false,
                dynamic_timeout: None,
                size: None,
                elems: p
                    .zone_interfaces(z)
                    .map(|i| Val::Str(i.name.clone()))
                    .collect(),
                map_elems: vec![],
            },
        );
    }

    // Zone-pair chains.
    let mut pair_rules: BTreeMap<(String, String), Vec<Vec<Stmt>>> = BTreeMap::new();
    for r in &p.rules {
        cx.counters.push(CounterInfo {
            counter: r.counter.clone(),
            kind: "rule",
            name: r.label(),
            line: Some(r.line),
        });
        let compiled = cx.compile_rule(r);
        pair_rules
            .entry((r.from.clone(), r.to.clone()))
            .or_default()
            .extend(compiled);
    }
    for pair in p.defaults.keys() {
        pair_rules.entry(pair.clone()).or_default();
    }
    // The filter rules of port forwards and load balancers: after the user rules of a
    // zone pair (so a rule can still drop, say, a blocklisted source), before its
    // default; and in `forward` for pairs without a chain.
    cx.counters.push(CounterInfo {
        counter: "mgmt".into(),
        kind: "management",
        name: "management".into(),
        line: None,
    });
    let mut nat_accepts: Vec<(Option<String>, Vec<Stmt>)> = Vec::new();
    for pf in &p.port_forwards {
        let counter = cx.named_counter("pf", "port_forward", &pf.name);
        let f = Family::of(&pf.to);
        let port = match pf.to_port {
            Some(tp) => Val::Num(tp as u64),
            None => port_val(pf.ports.lo, pf.ports.hi),
        };
        nat_accepts.push((
            Some(pf.zone.clone()),
            vec![
                cx.ifset_match(&pf.zone, false),
                Stmt::In(Expr::Ct("status"), Val::Flags(vec!["dnat"])),
                Stmt::Match(
                    Expr::Payload(fam_str(f), "daddr"),
                    Val::Sym(pf.to.to_string()),
                ),
                Stmt::Match(Expr::Payload(pf.protocol.as_str(), "dport"), port),
                Stmt::Counter(counter),
                Stmt::Accept,
            ],
        ));
    }
    for lb in &p.load_balancers {
        let counter = cx.named_counter("lb", "load_balancer", &lb.name);
        let f = Family::of(&lb.address);
        let mut r = Vec::new();
        if let Some(z) = &lb.zone {
            r.push(cx.ifset_match(z, false));
        }
        r.push(Stmt::In(Expr::Ct("status"), Val::Flags(vec!["dnat"])));
        r.push(Stmt::Match(
            Expr::Concat(vec![
                Expr::Payload(fam_str(f), "daddr"),
                Expr::Payload(lb.protocol.as_str(), "dport"),
            ]),
            Val::Set(
                lb.backends
                    .iter()
                    .map(|b| {
                        Val::Concat(vec![
                            Val::Sym(b.address.to_string()),
                            Val::Num(b.port as u64),
                        ])
                    })
                    .collect(),
            ),
        ));
        r.push(Stmt::Counter(counter));
        r.push(Stmt::Accept);
        nat_accepts.push((lb.zone.clone(), r));
    }
    let mut zone_chains = Vec::new();
    let mut fwd_map = Vec::new();
    let mut in_map = Vec::new();
    for ((from, to), mut rules) in pair_rules {
        let name = zone_chain(&from, &to);
        if to != SELF_ZONE {
            for (z, r) in &nat_accepts {
                if z.as_ref().is_none_or(|z| *z == from) {
                    rules.push(r.clone());
                }
            }
        }
        rules.push(vec![verdict(p.default_for(&from, &to))]);
        for i in p.zone_interfaces(&from) {
            if to == SELF_ZONE {
                in_map.push((Val::Str(i.name.clone()), Val::Jump(name.clone())));
            } else {
                for o in p.zone_interfaces(&to) {
                    fwd_map.push((
                        Val::Concat(vec![Val::Str(i.name.clone()), Val::Str(o.name.clone())]),
                        Val::Jump(name.clone()),
                    ));
                }
            }
        }
        zone_chains.push(Chain {
            name,
            base: None,
            rules,
        });
    }
    for (name, key, elems) in [
        ("dispatch_forward", vec!["ifname", "ifname"], fwd_map),
        ("dispatch_input", vec!["ifname"], in_map),
    ] {
        cx.sets.insert(
            name.to_string(),
            Set {
                name: name.to_string(),
                key,
                data: Some("verdict"),
                interval: false,
                dynamic_timeout: None,
                size: None,
                elems: vec![],
                map_elems: elems,
            },
        );
    }

    let stateful = || {
        vec![
            vec![
                Stmt::In(
                    Expr::Ct("state"),
                    Val::Flags(vec!["established", "related"]),
                ),
                Stmt::Accept,
            ],
            vec![
                Stmt::In(Expr::Ct("state"), Val::Flags(vec!["invalid"])),
                Stmt::Drop,
            ],
        ]
    };

    // input
    let mut input = vec![vec![
        Stmt::Match(Expr::Meta("iifname"), Val::Str("lo".into())),
        Stmt::Accept,
    ]];
    input.extend(stateful());
    // Management traffic to the gateway itself is never translated by destination NAT
    // (a port forward or balancer on the gateway's SSH or HTTPS port must not take the
    // center's connections away): these rules open `prerouting`.
    let mut mgmt_pre = Vec::new();
    for f in [Family::V4, Family::V6] {
        if !p.management.has(f) {
            continue;
        }
        let src = cx.set_of(
            format!("mgmt{}", if f == Family::V4 { "4" } else { "6" }),
            f,
            &p.management,
        );
        let from = Stmt::Match(Expr::Payload(fam_str(f), "saddr"), src);
        let (icmp, l4) = if f == Family::V4 {
            ("icmp", 8u8)
        } else {
            ("icmpv6", 128u8)
        };
        let echo = Stmt::Match(
            Expr::Payload(icmp, "type"),
            Val::Sym(crate::addr::icmp_name(f == Family::V6, l4).into()),
        );
        // Ping to the gateway itself too: a 1:1 NAT of a gateway address would take it.
        mgmt_pre.push(vec![
            from.clone(),
            Stmt::Match(Expr::FibDaddrType, Val::Sym("local".into())),
            echo.clone(),
            Stmt::Accept,
        ]);
        input.push(vec![
            from.clone(),
            echo,
            Stmt::Counter("mgmt".into()),
            Stmt::Accept,
        ]);
        let mut svcs: Vec<Val> = MANAGEMENT_TCP
            .iter()
            .map(|(p, _)| Val::Concat(vec![Val::Sym("tcp".into()), Val::Num(*p as u64)]))
            .collect();
        svcs.extend(
            MANAGEMENT_UDP
                .iter()
                .map(|(p, _)| Val::Concat(vec![Val::Sym("udp".into()), Val::Num(*p as u64)])),
        );
        let svc_match = Stmt::Match(
            Expr::Concat(vec![Expr::Meta("l4proto"), Expr::Payload("th", "dport")]),
            Val::Set(svcs),
        );
        mgmt_pre.push(vec![
            from.clone(),
            Stmt::Match(Expr::FibDaddrType, Val::Sym("local".into())),
            svc_match.clone(),
            Stmt::Accept,
        ]);
        input.push(vec![
            from,
            svc_match,
            Stmt::Counter("mgmt".into()),
            Stmt::Accept,
        ]);
    }
    input.push(vec![
        Stmt::Match(
            Expr::Payload("icmpv6", "type"),
            Val::Set(
                ND_TYPES
                    .iter()
                    .map(|t| Val::Sym(crate::addr::icmp_name(true, *t).into()))
                    .collect(),
            ),
        ),
        Stmt::Accept,
    ]);
    input.push(vec![Stmt::Vmap(
        Expr::Meta("iifname"),
        "dispatch_input".into(),
    )]);
    input.push(vec![verdict(p.default_action)]);

    // forward
    let mut forward = Vec::new();
    let mut flowtables = Vec::new();
    let mut devices: Vec<String> = p.interfaces.iter().map(|i| i.name.clone()).collect();
    devices.sort();
    devices.dedup();
    if p.fast_path && !devices.is_empty() {
        // The fast path: an established TCP or UDP connection was accepted by this chain
        // when it began (a later packet of it is accepted by the next rule whatever the
        // policy says), so offloading it changes no verdict. Rules, logs and rate limits
        // only ever see a connection's first packet; NAT is carried out by the flowtable.
        flowtables.push(Flowtable {
            name: FLOWTABLE.into(),
            prio: 0,
            devices,
        });
        forward.push(vec![
            Stmt::Match(
                Expr::Meta("l4proto"),
                Val::Set(vec![Val::Sym("tcp".into()), Val::Sym("udp".into())]),
            ),
            Stmt::In(Expr::Ct("state"), Val::Flags(vec!["established"])),
            Stmt::FlowAdd(FLOWTABLE.into()),
        ]);
    }
    forward.extend(stateful());
    forward.push(vec![Stmt::Vmap(
        Expr::Concat(vec![Expr::Meta("iifname"), Expr::Meta("oifname")]),
        "dispatch_forward".into(),
    )]);
    forward.extend(nat_accepts.into_iter().map(|(_, r)| r));
    forward.push(vec![verdict(p.default_action)]);

    // prerouting
    let mut pre = mgmt_pre;
    for o in &p.one_to_one {
        let f = fam_str(Family::of(&o.public));
        pre.push(vec![
            cx.ifset_match(&o.zone, false),
            Stmt::Match(Expr::Payload(f, "daddr"), Val::Sym(o.public.to_string())),
            Stmt::Dnat {
                family: f,
                addr: o.private.to_string(),
                port: None,
            },
        ]);
    }
    for pf in &p.port_forwards {
        let fam = Family::of(&pf.to);
        if !pf.src.admits_family(fam) {
            continue;
        }
        let mut r = vec![cx.ifset_match(&pf.zone, false)];
        if let Some(s) = cx.addr_val(&pf.src, fam, &format!("pf_{}_src", pf.name)) {
            r.push(Stmt::Match(Expr::Payload(fam_str(fam), "saddr"), s));
        } else {
            r.push(Stmt::Match(
                Expr::Meta("nfproto"),
                Val::Sym(nfproto(fam).into()),
            ));
        }
        if let Some(d) = pf.destination {
            r.push(Stmt::Match(
                Expr::Payload(fam_str(fam), "daddr"),
                Val::Sym(d.to_string()),
            ));
        }
        r.push(Stmt::Match(
            Expr::Payload(pf.protocol.as_str(), "dport"),
            port_val(pf.ports.lo, pf.ports.hi),
        ));
        r.push(Stmt::Dnat {
            family: fam_str(fam),
            addr: pf.to.to_string(),
            port: pf.to_port,
        });
        pre.push(r);
    }
    let mut lb_chains = Vec::new();
    for lb in &p.load_balancers {
        let name = lb_chain(&lb.name);
        pre.push(vec![Stmt::Jump(name.clone())]);
        let all: Vec<&Backend> = lb.backends.iter().collect();
        lb_chains.push(Chain {
            name,
            base: None,
            rules: lb_rule(lb, &all).into_iter().collect(),
        });
    }

    // postrouting
    let mut post = Vec::new();
    for o in &p.one_to_one {
        let f = fam_str(Family::of(&o.public));
        post.push(vec![
            cx.ifset_match(&o.zone, true),
            Stmt::Match(Expr::Payload(f, "saddr"), Val::Sym(o.private.to_string())),
            Stmt::Snat {
                family: f,
                addr: o.public.to_string(),
            },
        ]);
    }
    for (i, s) in p.snat.iter().enumerate() {
        let fam = Family::of(&s.to);
        if !s.src.admits_family(fam) {
            continue;
        }
        let mut r = vec![cx.ifset_match(&s.zone, true)];
        match cx.addr_val(&s.src, fam, &format!("snat{}_src", i + 1)) {
            Some(v) => r.push(Stmt::Match(Expr::Payload(fam_str(fam), "saddr"), v)),
            None => r.push(Stmt::Match(
                Expr::Meta("nfproto"),
                Val::Sym(nfproto(fam).into()),
            )),
        }
        r.push(Stmt::Snat {
            family: fam_str(fam),
            addr: s.to.to_string(),
        });
        post.push(r);
    }
    for z in &p.masquerade {
        post.push(vec![
            Stmt::Match(Expr::Meta("nfproto"), Val::Sym("ipv4".into())),
            cx.ifset_match(z, true),
            Stmt::Masquerade,
        ]);
    }

    let mut chains = vec![
        Chain {
            name: "input".into(),
            base: base("filter", "input", "filter", 0, "drop"),
            rules: input,
        },
        Chain {
            name: "forward".into(),
            base: base("filter", "forward", "filter", 0, "drop"),
            rules: forward,
        },
        Chain {
            name: "output".into(),
            base: base("filter", "output", "filter", 0, "accept"),
            rules: vec![],
        },
        Chain {
            name: "prerouting".into(),
            base: base("nat", "prerouting", "dstnat", -100, "accept"),
            rules: pre,
        },
        Chain {
            name: "postrouting".into(),
            base: base("nat", "postrouting", "srcnat", 100, "accept"),
            rules: post,
        },
    ];
    chains.extend(zone_chains);
    chains.extend(lb_chains);
    let counters: Vec<String> = cx.counters.iter().map(|c| c.counter.clone()).collect();
    Compiled {
        table: Table {
            family: "inet",
            name: TABLE.to_string(),
            counters,
            counter_values: BTreeMap::new(),
            sets: cx.sets.into_values().collect(),
            flowtables,
            chains,
        },
        counters: cx.counters,
    }
}
