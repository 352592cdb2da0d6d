//! The rule header: addresses and ports, with variables, lists, negation, ranges and
//! CIDR blocks.

use super::Vars;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address expression. A list matches when one of its positive elements matches
/// (or it has none) and none of its negated elements does, as Suricata reads
/// `[10.0.0.0/8,!10.1.1.1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrExpr {
    Any,
    /// An inclusive range of addresses of one family (a CIDR block or `a-b`).
    Range(IpAddr, IpAddr),
    Not(Box<AddrExpr>),
    List(Vec<AddrExpr>),
}

/// A port expression, with the same list semantics as [`AddrExpr`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortExpr {
    Any,
    /// Inclusive range.
    Range(u16, u16),
    Not(Box<PortExpr>),
    List(Vec<PortExpr>),
}

impl AddrExpr {
    pub fn matches(&self, ip: IpAddr) -> bool {
        match self {
            AddrExpr::Any => true,
            AddrExpr::Range(lo, hi) => match (ip, lo, hi) {
                (IpAddr::V4(ip), IpAddr::V4(lo), IpAddr::V4(hi)) => *lo <= ip && ip <= *hi,
                (IpAddr::V6(ip), IpAddr::V6(lo), IpAddr::V6(hi)) => *lo <= ip && ip <= *hi,
                (IpAddr::V6(ip), IpAddr::V4(lo), IpAddr::V4(hi)) => match ip.to_ipv4_mapped() {
                    Some(ip) => *lo <= ip && ip <= *hi,
                    None => false,
                },
                _ => false,
            },
            AddrExpr::Not(inner) => !inner.matches(ip),
            AddrExpr::List(items) => list_matches(
                items,
                |e| e.matches(ip),
                |e| match e {
                    AddrExpr::Not(inner) => Some(inner),
                    _ => None,
                },
            ),
        }
    }
}

impl PortExpr {
    pub fn matches(&self, port: u16) -> bool {
        match self {
            PortExpr::Any => true,
            PortExpr::Range(lo, hi) => *lo <= port && port <= *hi,
            PortExpr::Not(inner) => !inner.matches(port),
            PortExpr::List(items) => list_matches(
                items,
                |e| e.matches(port),
                |e| match e {
                    PortExpr::Not(inner) => Some(inner),
                    _ => None,
                },
            ),
        }
    }
}

fn list_matches<T>(
    items: &[T],
    matches: impl Fn(&T) -> bool,
    negated: impl Fn(&T) -> Option<&Box<T>>,
) -> bool {
    let mut any_positive = false;
    let mut positive_hit = false;
    for item in items {
        match negated(item) {
            Some(inner) => {
                if matches(inner) {
                    return false;
                }
            }
            None => {
                any_positive = true;
                if !positive_hit && matches(item) {
                    positive_hit = true;
                }
            }
        }
    }
    !any_positive || positive_hit
}

/// Variable nesting deeper than this is taken for a cycle.
const MAX_DEPTH: usize = 16;

/// Parses an address expression such as `[$HOME_NET,!10.0.0.0/8]`.
pub fn parse_addr(text: &str, vars: &Vars) -> Result<AddrExpr, String> {
    parse_addr_depth(text.trim(), vars, 0)
}

fn parse_addr_depth(text: &str, vars: &Vars, depth: usize) -> Result<AddrExpr, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "address variables nested too deep (a cycle?) at `{text}`"
        ));
    }
    if text.is_empty() {
        return Err("empty address".to_string());
    }
    if let Some(rest) = text.strip_prefix('!') {
        return Ok(AddrExpr::Not(Box::new(parse_addr_depth(
            rest.trim(),
            vars,
            depth,
        )?)));
    }
    if text.starts_with('[') {
        let inner = strip_brackets(text)?;
        let mut items = Vec::new();
        for part in split_list(inner)? {
            items.push(parse_addr_depth(part.trim(), vars, depth + 1)?);
        }
        if items.is_empty() {
            return Err("empty address list `[]`".to_string());
        }
        return Ok(AddrExpr::List(items));
    }
    if let Some(name) = text.strip_prefix('$') {
        let value = vars
            .address_groups
            .get(name)
            .ok_or_else(|| format!("undefined address variable `${name}`"))?;
        return parse_addr_depth(value.trim(), vars, depth + 1);
    }
    if text.eq_ignore_ascii_case("any") {
        return Ok(AddrExpr::Any);
    }
    parse_ip_range(text)
}

fn parse_ip_range(text: &str) -> Result<AddrExpr, String> {
    if let Some((net, len)) = text.split_once('/') {
        let ip: IpAddr = net
            .parse()
            .map_err(|_| format!("invalid address `{net}` in `{text}`"))?;
        let (lo, hi) = match ip {
            IpAddr::V4(a) => {
                let bits = parse_prefix(len, 32, text)?;
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                let a = u32::from(a);
                (
                    IpAddr::V4(Ipv4Addr::from(a & mask)),
                    IpAddr::V4(Ipv4Addr::from(a | !mask)),
                )
            }
            IpAddr::V6(a) => {
                let bits = parse_prefix(len, 128, text)?;
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                let a = u128::from(a);
                (
                    IpAddr::V6(Ipv6Addr::from(a & mask)),
                    IpAddr::V6(Ipv6Addr::from(a | !mask)),
                )
            }
        };
        return Ok(AddrExpr::Range(lo, hi));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(AddrExpr::Range(ip, ip));
    }
    if let Some((a, b)) = text.split_once('-') {
        let (a, b) = (a.trim(), b.trim());
        let lo: IpAddr = a
            .parse()
            .map_err(|_| format!("invalid address `{a}` in range `{text}`"))?;
        let hi: IpAddr = b
            .parse()
            .map_err(|_| format!("invalid address `{b}` in range `{text}`"))?;
        if lo.is_ipv4() != hi.is_ipv4() || lo > hi {
            return Err(format!("invalid address range `{text}`"));
        }
        return Ok(AddrExpr::Range(lo, hi));
    }
    Err(format!(
        "invalid address `{text}` (expected an IP, CIDR block, range, list, variable or `any`)"
    ))
}

fn parse_prefix(len: &str, max: u32, text: &str) -> Result<u32, String> {
    // Suricata also accepts a dotted netmask for IPv4.
    if let Ok(n) = len.parse::<u32>() {
        if n <= max {
            return Ok(n);
        }
    } else if max == 32
        && let Ok(mask) = len.parse::<Ipv4Addr>()
    {
        let m = u32::from(mask);
        if m.leading_ones() + m.trailing_zeros() == 32 {
            return Ok(m.leading_ones());
        }
    }
    Err(format!("invalid prefix length `/{len}` in `{text}`"))
}

/// Parses a port expression such as `[80,8000:8080,!8081]`.
pub fn parse_ports(text: &str, vars: &Vars) -> Result<PortExpr, String> {
    parse_ports_depth(text.trim(), vars, 0)
}

fn parse_ports_depth(text: &str, vars: &Vars, depth: usize) -> Result<PortExpr, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "port variables nested too deep (a cycle?) at `{text}`"
        ));
    }
    if text.is_empty() {
        return Err("empty port".to_string());
    }
    if let Some(rest) = text.strip_prefix('!') {
        return Ok(PortExpr::Not(Box::new(parse_ports_depth(
            rest.trim(),
            vars,
            depth,
        )?)));
    }
    if text.starts_with('[') {
        let inner = strip_brackets(text)?;
        let mut items = Vec::new();
        for part in split_list(inner)? {
            items.push(parse_ports_depth(part.trim(), vars, depth + 1)?);
        }
        if items.is_empty() {
            return Err("empty port list `[]`".to_string());
        }
        return Ok(PortExpr::List(items));
    }
    if let Some(name) = text.strip_prefix('$') {
        let value = vars
            .port_groups
            .get(name)
            .ok_or_else(|| format!("undefined port variable `${name}`"))?;
        return parse_ports_depth(value.trim(), vars, depth + 1);
    }
    if text.eq_ignore_ascii_case("any") {
        return Ok(PortExpr::Any);
    }
    let port = |s: &str| -> Result<u16, String> {
        s.trim()
            .parse::<u16>()
            .map_err(|_| format!("invalid port `{s}` in `{text}` (expected 0-65535)"))
    };
    if let Some((a, b)) = text.split_once(':') {
        let lo = if a.trim().is_empty() { 0 } else { port(a)? };
        let hi = if b.trim().is_empty() {
            u16::MAX
        } else {
            port(b)?
        };
        if lo > hi {
            return Err(format!("invalid port range `{text}` (start above end)"));
        }
        return Ok(PortExpr::Range(lo, hi));
    }
    let p = port(text)?;
    Ok(PortExpr::Range(p, p))
}

fn strip_brackets(text: &str) -> Result<&str, String> {
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| format!("unbalanced brackets in `{text}`"))
}

/// Splits a list body on top-level commas.
fn split_list(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced brackets in `[{text}]`"))?
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced brackets in `[{text}]`"));
    }
    parts.push(&text[start..]);
    Ok(parts.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn home_and_external_net() {
        let v = Vars::suricata_defaults();
        let home = parse_addr("$HOME_NET", &v).unwrap();
        let ext = parse_addr("$EXTERNAL_NET", &v).unwrap();
        assert!(home.matches(ip("10.1.2.3")));
        assert!(home.matches(ip("172.31.255.255")));
        assert!(!home.matches(ip("172.32.0.0")));
        assert!(ext.matches(ip("8.8.8.8")));
        assert!(!ext.matches(ip("192.168.1.1")));
    }

    #[test]
    fn lists_with_negation() {
        let v = Vars::default();
        let e = parse_addr("[10.0.0.0/8,!10.1.1.1]", &v).unwrap();
        assert!(e.matches(ip("10.2.2.2")));
        assert!(!e.matches(ip("10.1.1.1")));
        assert!(!e.matches(ip("11.0.0.1")));
        let only_neg = parse_addr("[!1.1.1.1]", &v).unwrap();
        assert!(only_neg.matches(ip("2.2.2.2")));
        assert!(!only_neg.matches(ip("1.1.1.1")));
        let v6 = parse_addr("[2001:db8::/32, 1.2.3.4-1.2.3.10]", &v).unwrap();
        assert!(v6.matches(ip("2001:db8::1")));
        assert!(v6.matches(ip("1.2.3.7")));
        assert!(!v6.matches(ip("1.2.3.11")));
    }

    #[test]
    fn ports() {
        let v = Vars::suricata_defaults();
        let p = parse_ports("[$HTTP_PORTS,8000:8080,!8001]", &v).unwrap();
        assert!(p.matches(80));
        assert!(p.matches(8080));
        assert!(!p.matches(8001));
        assert!(!p.matches(443));
        assert!(parse_ports("1024:", &v).unwrap().matches(65535));
        assert!(!parse_ports(":1023", &v).unwrap().matches(1024));
        assert!(parse_ports("$SHELLCODE_PORTS", &v).unwrap().matches(81));
        assert!(parse_ports("$SIP_PORTS", &v).unwrap().matches(5061));
    }

    #[test]
    fn errors_say_what() {
        let v = Vars::default();
        assert!(parse_addr("$NOPE", &v).unwrap_err().contains("$NOPE"));
        assert!(parse_ports("70000", &v).unwrap_err().contains("70000"));
        assert!(parse_addr("[1.1.1.1", &v).is_err());
        let mut cyc = Vars::default();
        cyc.address_groups.insert("A".into(), "$A".into());
        assert!(parse_addr("$A", &cyc).unwrap_err().contains("cycle"));
    }
}
