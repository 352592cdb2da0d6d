//! The checked policy: names resolved, groups flattened, disabled rules dropped. The
//! compiler and the evaluator both read this, never the document text.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::addr::{Family, IpRange, IpSet, PortRange};

/// The zone name that means "the gateway itself" (the input path).
pub const SELF_ZONE: &str = "self";

/// What a rule or a default does with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Accept,
    Drop,
    Reject,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Drop => "drop",
            Action::Reject => "reject",
        }
    }
}

/// A packet rate: `count` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rate {
    pub count: u32,
    pub per: RateUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RateUnit {
    Second,
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            RateUnit::Second => "second",
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
            RateUnit::Day => "day",
        }
    }
}

/// A network interface of the gateway and the zone it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub name: String,
    pub zone: String,
    /// The gateway's own addresses on this interface.
    pub addresses: Vec<IpAddr>,
    /// The networks directly reachable through it (from the address prefixes).
    pub networks: Vec<IpRange>,
    /// Traffic to addresses in no interface network leaves here.
    pub default_route: bool,
}

/// Layer-4 protocol of a port service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum L4 {
    Tcp,
    Udp,
}

impl L4 {
    pub fn as_str(self) -> &'static str {
        match self {
            L4::Tcp => "tcp",
            L4::Udp => "udp",
        }
    }
    pub fn number(self) -> u8 {
        match self {
            L4::Tcp => 6,
            L4::Udp => 17,
        }
    }
}

/// Which ICMP (or ICMPv6) types a service set admits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IcmpSel {
    #[default]
    None,
    All,
    Types(Vec<u8>),
}

impl IcmpSel {
    pub fn is_none(&self) -> bool {
        matches!(self, IcmpSel::None)
    }
    pub fn admits(&self, t: u8) -> bool {
        match self {
            IcmpSel::None => false,
            IcmpSel::All => true,
            IcmpSel::Types(v) => v.contains(&t),
        }
    }
    pub fn is_superset(&self, other: &IcmpSel) -> bool {
        match (self, other) {
            (_, IcmpSel::None) | (IcmpSel::All, _) => true,
            (IcmpSel::None, _) | (IcmpSel::Types(_), IcmpSel::All) => false,
            (IcmpSel::Types(a), IcmpSel::Types(b)) => b.iter().all(|t| a.contains(t)),
        }
    }
    pub(crate) fn add(&mut self, t: Option<u8>) {
        match (t, &mut *self) {
            (_, IcmpSel::All) => {}
            (None, _) => *self = IcmpSel::All,
            (Some(t), IcmpSel::None) => *self = IcmpSel::Types(vec![t]),
            (Some(t), IcmpSel::Types(v)) => {
                if !v.contains(&t) {
                    v.push(t);
                    v.sort_unstable();
                }
            }
        }
    }
}

/// A set of services: port ranges per protocol, and ICMP types.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ServiceSet {
    /// Sorted, merged per protocol.
    pub ports: Vec<(L4, PortRange)>,
    pub icmp: IcmpSel,
    pub icmpv6: IcmpSel,
}

impl ServiceSet {
    pub(crate) fn normalise(&mut self) {
        self.ports.sort_unstable();
        let mut out: Vec<(L4, PortRange)> = Vec::new();
        for &(p, r) in &self.ports {
            if let Some((lp, lr)) = out.last_mut()
                && *lp == p
                && (r.lo as u32) <= lr.hi as u32 + 1
            {
                lr.hi = lr.hi.max(r.hi);
                continue;
            }
            out.push((p, r));
        }
        self.ports = out;
    }
    pub fn admits_port(&self, p: L4, port: u16) -> bool {
        self.ports
            .iter()
            .any(|(q, r)| *q == p && r.lo <= port && port <= r.hi)
    }
    pub fn is_superset(&self, other: &ServiceSet) -> bool {
        other.ports.iter().all(|(p, r)| {
            self.ports
                .iter()
                .any(|(q, s)| q == p && s.lo <= r.lo && r.hi <= s.hi)
        }) && self.icmp.is_superset(&other.icmp)
            && self.icmpv6.is_superset(&other.icmpv6)
    }
}

/// The addresses a rule field matches: any, or a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddrMatch {
    /// `None` means any address of any family.
    #[serde(skip)]
    pub set: Option<Arc<IpSet>>,
    /// When the field names exactly one object (address, group or list), its name: the
    /// compiler then uses that object's shared set.
    pub object: Option<String>,
}

impl AddrMatch {
    pub fn any() -> AddrMatch {
        AddrMatch {
            set: None,
            object: None,
        }
    }
    pub fn matches(&self, ip: &IpAddr) -> bool {
        self.set.as_ref().is_none_or(|s| s.contains(ip))
    }
    /// Whether some address of family `f` can match.
    pub fn admits_family(&self, f: Family) -> bool {
        self.set.as_ref().is_none_or(|s| s.has(f))
    }
    pub fn is_superset(&self, other: &AddrMatch) -> bool {
        match (&self.set, &other.set) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => a.is_superset(b),
        }
    }
}

/// Log matching packets, at most `rate` lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Log {
    pub prefix: String,
    pub rate: Option<Rate>,
}

/// One enabled filter rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// 1-based position among all `[[rules]]` of the document (disabled ones included).
    pub index: usize,
    pub name: Option<String>,
    /// Name of the nftables named counter that counts this rule's hits.
    pub counter: String,
    /// Line of the rule in the document.
    pub line: usize,
    pub from: String,
    pub to: String,
    pub src: AddrMatch,
    pub dst: AddrMatch,
    /// `None` means any protocol.
    pub services: Option<ServiceSet>,
    pub action: Action,
    pub log: Option<Log>,
    /// Per source address: packets over this rate are dropped.
    pub rate_limit: Option<Rate>,
    pub comment: Option<String>,
}

impl Rule {
    /// A short human label: the name, or `rule #N`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("rule #{}", self.index),
        }
    }
}

/// Source NAT to a fixed address for traffic leaving through a zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snat {
    pub zone: String,
    pub src: AddrMatch,
    pub to: IpAddr,
}

/// A port forward: destination NAT of traffic arriving in `zone`, and the filter rule
/// that lets the translated traffic through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortForward {
    pub name: String,
    pub zone: String,
    pub protocol: L4,
    /// Original destination address; `None` means any.
    pub destination: Option<IpAddr>,
    pub ports: PortRange,
    pub src: AddrMatch,
    pub to: IpAddr,
    /// New destination port; `None` keeps the port.
    pub to_port: Option<u16>,
}

/// 1:1 NAT: `public` is translated to `private` inbound, and back outbound, in `zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OneToOne {
    pub zone: String,
    pub public: IpAddr,
    pub private: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "lowercase")]
pub enum HealthCheck {
    Tcp {
        interval_ms: u64,
        port: Option<u16>,
    },
    Http {
        interval_ms: u64,
        port: Option<u16>,
        path: String,
        /// Expected status; `None` means any 2xx or 3xx.
        expect_status: Option<u16>,
    },
}

impl HealthCheck {
    pub fn interval_ms(&self) -> u64 {
        match self {
            HealthCheck::Tcp { interval_ms, .. } | HealthCheck::Http { interval_ms, .. } => {
                *interval_ms
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Backend {
    pub address: IpAddr,
    pub port: u16,
    pub weight: u32,
}

/// An L4 load balancer: a virtual `address:port` spread over weighted backends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancer {
    pub name: String,
    /// Only traffic arriving in this zone is balanced; `None` means any zone.
    pub zone: Option<String>,
    pub protocol: L4,
    pub address: IpAddr,
    pub port: u16,
    pub backends: Vec<Backend>,
    pub health: HealthCheck,
}

impl LoadBalancer {
    /// Number of slots of the backend map: the sum of all weights.
    pub fn slots(&self) -> u32 {
        self.backends.iter().map(|b| b.weight).sum()
    }
}

/// The checked policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub interfaces: Vec<Interface>,
    /// Zone names of the interfaces, sorted (without `self`).
    pub zones: Vec<String>,
    /// The operations center's addresses: ping, SSH, SNMP and HTTPS from them into the
    /// gateway are accepted before any rule.
    #[serde(skip)]
    pub management: IpSet,
    pub rules: Vec<Rule>,
    /// Default action per (from zone, to zone).
    pub defaults: BTreeMap<(String, String), Action>,
    /// Default for zone pairs without their own default.
    pub default_action: Action,
    /// Zones whose outgoing IPv4 traffic is masqueraded.
    pub masquerade: Vec<String>,
    pub snat: Vec<Snat>,
    pub port_forwards: Vec<PortForward>,
    pub one_to_one: Vec<OneToOne>,
    pub load_balancers: Vec<LoadBalancer>,
    /// The forwarding fast path (`[options] fast_path`, on by default): established TCP
    /// and UDP connections that the policy accepted are offloaded to a software
    /// flowtable on the policy's interfaces. It changes no verdict.
    pub fast_path: bool,
    /// Address objects, groups and lists by name, resolved (for the compiler's shared sets).
    #[serde(skip)]
    pub objects: BTreeMap<String, Arc<IpSet>>,
}

impl Policy {
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
    pub fn zone_interfaces(&self, zone: &str) -> impl Iterator<Item = &Interface> {
        self.interfaces.iter().filter(move |i| i.zone == zone)
    }
    /// The default action of a zone pair.
    pub fn default_for(&self, from: &str, to: &str) -> Action {
        self.defaults
            .get(&(from.to_string(), to.to_string()))
            .copied()
            .unwrap_or(self.default_action)
    }
}

/// Management services (Art. 5): what the center may use into the gateway.
pub const MANAGEMENT_TCP: &[(u16, &str)] = &[(22, "ssh"), (443, "https")];
pub const MANAGEMENT_UDP: &[(u16, &str)] = &[(161, "snmp")];
