//! Address and port values: parsing of hosts, CIDRs and ranges, and interval sets used by
//! validation (containment, for shadowing), the compiler (set elements) and the evaluator.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
    fn max(self) -> u128 {
        match self {
            Family::V4 => u32::MAX as u128,
            Family::V6 => u128::MAX,
        }
    }
    fn bits(self) -> u32 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

pub(crate) fn ip_to_u128(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

pub(crate) fn u128_to_ip(f: Family, v: u128) -> IpAddr {
    match f {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpRange {
    pub family: Family,
    pub lo: u128,
    pub hi: u128,
}

impl IpRange {
    pub fn host(ip: IpAddr) -> IpRange {
        let v = ip_to_u128(&ip);
        IpRange {
            family: Family::of(&ip),
            lo: v,
            hi: v,
        }
    }
    pub fn contains(&self, ip: &IpAddr) -> bool {
        Family::of(ip) == self.family && {
            let v = ip_to_u128(ip);
            self.lo <= v && v <= self.hi
        }
    }
    pub fn lo_ip(&self) -> IpAddr {
        u128_to_ip(self.family, self.lo)
    }
    pub fn hi_ip(&self) -> IpAddr {
        u128_to_ip(self.family, self.hi)
    }
    /// The prefix length if the range is exactly one CIDR block.
    pub fn as_prefix(&self) -> Option<u32> {
        let size = self.hi.wrapping_sub(self.lo).wrapping_add(1);
        let bits = self.family.bits();
        if self.lo == 0 && self.hi == self.family.max() {
            return Some(0);
        }
        if size == 0 || !size.is_power_of_two() || !self.lo.is_multiple_of(size) {
            return None;
        }
        Some(bits - size.trailing_zeros())
    }
}

impl serde::Serialize for IpRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo_ip())
        } else if let Some(p) = self.as_prefix() {
            write!(f, "{}/{p}", self.lo_ip())
        } else {
            write!(f, "{}-{}", self.lo_ip(), self.hi_ip())
        }
    }
}

/// Why an address text is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("`{0}` is not an IPv4 or IPv6 address")]
    BadAddress(String),
    #[error("prefix length `{0}` is not a number from 0 to {1}")]
    BadPrefix(String, u32),
    #[error("`{0}` has host bits set after the prefix; the network is {1}")]
    HostBits(String, String),
    #[error("range `{0}` mixes IPv4 and IPv6")]
    MixedRange(String),
    #[error("range `{0}` ends before it starts")]
    ReversedRange(String),
}

/// Parses a host (`192.0.2.1`), a CIDR (`192.0.2.0/24`) or a range (`192.0.2.1-192.0.2.9`).
pub fn parse_range(text: &str) -> Result<IpRange, AddrError> {
    let t = text.trim();
    if let Some((a, b)) = t.split_once('-') {
        let a: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| AddrError::BadAddress(a.trim().to_string()))?;
        let b: IpAddr = b
            .trim()
            .parse()
            .map_err(|_| AddrError::BadAddress(b.trim().to_string()))?;
        if Family::of(&a) != Family::of(&b) {
            return Err(AddrError::MixedRange(t.to_string()));
        }
        let (lo, hi) = (ip_to_u128(&a), ip_to_u128(&b));
        if hi < lo {
            return Err(AddrError::ReversedRange(t.to_string()));
        }
        return Ok(IpRange {
            family: Family::of(&a),
            lo,
            hi,
        });
    }
    if let Some((a, p)) = t.split_once('/') {
        let ip: IpAddr = a
            .parse()
            .map_err(|_| AddrError::BadAddress(a.to_string()))?;
        let f = Family::of(&ip);
        let len: u32 = p
            .parse()
            .ok()
            .filter(|l| *l <= f.bits())
            .ok_or_else(|| AddrError::BadPrefix(p.to_string(), f.bits()))?;
        let v = ip_to_u128(&ip);
        let host_bits = f.bits() - len;
        let mask: u128 = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        if v & mask != 0 {
            let net = IpRange {
                family: f,
                lo: v & !mask,
                hi: (v & !mask) | mask,
            };
            return Err(AddrError::HostBits(t.to_string(), net.to_string()));
        }
        return Ok(IpRange {
            family: f,
            lo: v,
            hi: v | mask,
        });
    }
    let ip: IpAddr = t
        .parse()
        .map_err(|_| AddrError::BadAddress(t.to_string()))?;
    Ok(IpRange::host(ip))
}

/// An interface address with its prefix, e.g. `192.0.2.1/24`: the gateway's own address
/// and the network it makes reachable.
pub fn parse_iface_net(text: &str) -> Result<(IpAddr, IpRange), AddrError> {
    let t = text.trim();
    let (a, p) = match t.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (t, None),
    };
    let ip: IpAddr = a
        .parse()
        .map_err(|_| AddrError::BadAddress(a.to_string()))?;
    let f = Family::of(&ip);
    let len: u32 = match p {
        None => f.bits(),
        Some(p) => p
            .parse()
            .ok()
            .filter(|l| *l <= f.bits())
            .ok_or_else(|| AddrError::BadPrefix(p.to_string(), f.bits()))?,
    };
    let host_bits = f.bits() - len;
    let mask: u128 = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let v = ip_to_u128(&ip);
    Ok((
        ip,
        IpRange {
            family: f,
            lo: v & !mask,
            hi: (v & !mask) | mask,
        },
    ))
}

/// A normalised set of addresses: sorted, merged, non-overlapping ranges per family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IpSet {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
}

fn normalise(v: &mut Vec<(u128, u128)>) {
    v.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
    for &(lo, hi) in v.iter() {
        if let Some(last) = out.last_mut()
            && (lo <= last.1 || lo == last.1.wrapping_add(1) && last.1 != u128::MAX)
        {
            last.1 = last.1.max(hi);
            continue;
        }
        out.push((lo, hi));
    }
    *v = out;
}

fn covers(outer: &[(u128, u128)], lo: u128, hi: u128) -> bool {
    // outer is normalised: find the range starting at or before lo.
    let i = outer.partition_point(|r| r.0 <= lo);
    i > 0 && outer[i - 1].1 >= hi
}

impl IpSet {
    pub fn from_ranges(ranges: impl IntoIterator<Item = IpRange>) -> IpSet {
        let mut s = IpSet::default();
        for r in ranges {
            match r.family {
                Family::V4 => s.v4.push((r.lo, r.hi)),
                Family::V6 => s.v6.push((r.lo, r.hi)),
            }
        }
        normalise(&mut s.v4);
        normalise(&mut s.v6);
        s
    }
    pub fn union(&self, other: &IpSet) -> IpSet {
        let mut s = self.clone();
        s.v4.extend_from_slice(&other.v4);
        s.v6.extend_from_slice(&other.v6);
        normalise(&mut s.v4);
        normalise(&mut s.v6);
        s
    }
    /// The union of many sets, normalised once.
    pub fn union_all<'a>(sets: impl IntoIterator<Item = &'a IpSet>) -> IpSet {
        let mut s = IpSet::default();
        for x in sets {
            s.v4.extend_from_slice(&x.v4);
            s.v6.extend_from_slice(&x.v6);
        }
        normalise(&mut s.v4);
        normalise(&mut s.v6);
        s
    }
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
    pub fn has(&self, f: Family) -> bool {
        match f {
            Family::V4 => !self.v4.is_empty(),
            Family::V6 => !self.v6.is_empty(),
        }
    }
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let v = ip_to_u128(ip);
        let list = match Family::of(ip) {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        };
        covers(list, v, v)
    }
    /// Whether every address of `other` is in `self`.
    pub fn is_superset(&self, other: &IpSet) -> bool {
        // Quick answers from the bounds before looking at every range.
        let outside = |outer: &[(u128, u128)], inner: &[(u128, u128)]| match (
            outer.first(),
            outer.last(),
            inner.first(),
            inner.last(),
        ) {
            (_, _, None, _) => false,
            (None, _, Some(_), _) => true,
            (Some(a), Some(b), Some(c), Some(d)) => c.0 < a.0 || d.1 > b.1,
            _ => false,
        };
        if outside(&self.v4, &other.v4) || outside(&self.v6, &other.v6) {
            return false;
        }
        other.v4.iter().all(|&(l, h)| covers(&self.v4, l, h))
            && other.v6.iter().all(|&(l, h)| covers(&self.v6, l, h))
    }
    /// The ranges of one family, in order.
    pub fn ranges(&self, f: Family) -> impl Iterator<Item = IpRange> + '_ {
        let list = match f {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        };
        list.iter()
            .map(move |&(lo, hi)| IpRange { family: f, lo, hi })
    }
    pub fn len(&self, f: Family) -> usize {
        match f {
            Family::V4 => self.v4.len(),
            Family::V6 => self.v6.len(),
        }
    }
    /// The same set reduced to one family.
    pub fn only(&self, f: Family) -> IpSet {
        match f {
            Family::V4 => IpSet {
                v4: self.v4.clone(),
                v6: vec![],
            },
            Family::V6 => IpSet {
                v4: vec![],
                v6: self.v6.clone(),
            },
        }
    }
}

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

/// Parses `443` or `1024-65535`. Port 0 is not a port.
pub fn parse_ports(text: &str) -> Result<PortRange, String> {
    let one = |s: &str| -> Result<u16, String> {
        match s.trim().parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            _ => Err(format!("`{}` is not a port number (1 to 65535)", s.trim())),
        }
    };
    match text.split_once('-') {
        Some((a, b)) => {
            let (lo, hi) = (one(a)?, one(b)?);
            if hi < lo {
                return Err(format!("port range `{text}` ends before it starts"));
            }
            Ok(PortRange { lo, hi })
        }
        None => {
            let p = one(text)?;
            Ok(PortRange { lo: p, hi: p })
        }
    }
}

pub(crate) const ICMP_TYPES: &[(&str, u8)] = &[
    ("echo-reply", 0),
    ("destination-unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("info-request", 15),
    ("info-reply", 16),
    ("address-mask-request", 17),
    ("address-mask-reply", 18),
];

pub(crate) const ICMPV6_TYPES: &[(&str, u8)] = &[
    ("destination-unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo-request", 128),
    ("echo-reply", 129),
    ("mld-listener-query", 130),
    ("mld-listener-report", 131),
    ("mld-listener-done", 132),
    ("nd-router-solicit", 133),
    ("nd-router-advert", 134),
    ("nd-neighbor-solicit", 135),
    ("nd-neighbor-advert", 136),
    ("nd-redirect", 137),
    ("router-renumbering", 138),
    ("ind-neighbor-solicit", 141),
    ("ind-neighbor-advert", 142),
    ("mld2-listener-report", 143),
];

/// The nft name of an ICMP (`v6` false) or ICMPv6 type number.
pub fn icmp_name(v6: bool, t: u8) -> &'static str {
    let table = if v6 { ICMPV6_TYPES } else { ICMP_TYPES };
    table
        .iter()
        .find(|(_, n)| *n == t)
        .map(|(s, _)| *s)
        .unwrap_or("?")
}

/// The number of an ICMP or ICMPv6 type name.
pub fn icmp_type(v6: bool, name: &str) -> Option<u8> {
    let table = if v6 { ICMPV6_TYPES } else { ICMP_TYPES };
    table.iter().find(|(s, _)| *s == name).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_cidrs_ranges() {
        assert_eq!(
            parse_range("192.0.2.0/24").unwrap().to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(parse_range("192.0.2.7").unwrap().to_string(), "192.0.2.7");
        assert_eq!(
            parse_range("192.0.2.1-192.0.2.9").unwrap().to_string(),
            "192.0.2.1-192.0.2.9"
        );
        assert_eq!(
            parse_range("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(parse_range("0.0.0.0/0").unwrap().as_prefix(), Some(0));
        assert!(matches!(
            parse_range("192.0.2.1/24"),
            Err(AddrError::HostBits(_, n)) if n == "192.0.2.0/24"
        ));
        assert!(parse_range("192.0.2.9-192.0.2.1").is_err());
        assert!(parse_range("192.0.2.1-2001:db8::1").is_err());
        assert!(parse_range("192.0.2.0/33").is_err());
        assert!(parse_range("web").is_err());
        assert!(parse_iface_net("192.0.2.1/").is_err());
        assert_eq!(
            parse_iface_net("192.0.2.1/24").unwrap().1.to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            parse_iface_net("192.0.2.1").unwrap().1.to_string(),
            "192.0.2.1"
        );
    }

    #[test]
    fn sets_merge_and_contain() {
        let s = IpSet::from_ranges([
            parse_range("192.0.2.0/25").unwrap(),
            parse_range("192.0.2.128/25").unwrap(),
            parse_range("2001:db8::1").unwrap(),
        ]);
        assert_eq!(s.len(Family::V4), 1);
        let sub = IpSet::from_ranges([parse_range("192.0.2.10-192.0.2.200").unwrap()]);
        assert!(s.is_superset(&sub));
        assert!(!sub.is_superset(&s));
        assert!(s.contains(&"2001:db8::1".parse().unwrap()));
        assert!(!s.contains(&"2001:db8::2".parse().unwrap()));
    }

    #[test]
    fn ports() {
        assert_eq!(parse_ports("443").unwrap(), PortRange { lo: 443, hi: 443 });
        assert!(parse_ports("0").is_err());
        assert!(parse_ports("70000").is_err());
        assert!(parse_ports("9-1").is_err());
    }
}
