//! Packet decoding: link layer (Ethernet, 802.1Q/QinQ VLAN, Linux cooked SLL/SLL2, BSD
//! loopback, Cisco HDLC, raw IP), IPv4 (fragments go to [`defrag`]), IPv6 with its
//! extension headers, TCP, UDP, ICMP and ICMPv6.
//!
//! Decoding never panics: every length is checked. A packet whose IP header is too short
//! or inconsistent yields a [`DecodeError`] naming the layer and the problem (and the
//! Suricata decoder event, [`DecodeError::event`]); a packet whose IP header is sound but
//! whose transport header or IPv6 extension headers are not is returned marked
//! [`Packet::invalid`], with its addresses and its [`Packet::events`], so that rules on
//! decoder events can still match it (it is not inspected as traffic otherwise).

pub mod defrag;
pub mod events;

pub use events::{Event, Events};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::detect::Layer4;
use crate::pcap::linktype;

/// A decoded packet, borrowing the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number of the transport (after IPv6 extension headers).
    pub proto: u8,
    /// TTL / hop limit.
    pub ttl: u8,
    /// Outer VLAN ids (0 when absent), as part of the flow key.
    pub vlan: [u16; 2],
    pub l4: Layer4,
    /// Transport payload (after the TCP/UDP/ICMP header); for fragments, the
    /// fragment's part of the IP payload.
    pub payload: &'a [u8],
    /// Set when this is an IP fragment that needs reassembly before L4 decoding.
    pub fragment: Option<Fragment<'a>>,
    /// Decoder events raised by this packet.
    pub events: Events,
    /// The transport header (or an IPv6 extension header) is malformed: the packet has
    /// addresses and events but no usable transport layer.
    pub invalid: bool,
    /// The IP header (IPv4 with options, or the fixed IPv6 header) and the transport
    /// header (empty when there is none).
    pub ip_header: &'a [u8],
    pub l4_header: &'a [u8],
}

/// An IPv4 or IPv6 fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub id: u32,
    /// Offset of this fragment's data in the original payload, in bytes.
    pub offset: usize,
    pub more: bool,
    /// The IP header(s) before the fragmentable part (IPv4 header; IPv6 header with the
    /// unfragmentable extension headers), used to rebuild the packet.
    pub header: &'a [u8],
    /// The next-header value of the fragmentable part (IPv6) or the IPv4 protocol.
    pub next_proto: u8,
    pub v6: bool,
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{layer}: packet too short ({len} bytes, need {need})")]
    Short {
        layer: &'static str,
        len: usize,
        need: usize,
    },
    #[error("{layer}: {detail}")]
    Invalid { layer: &'static str, detail: String },
    #[error("link type {0} is not supported")]
    UnsupportedLink(u16),
    #[error("not an IP packet (ethertype {0:#06x})")]
    NotIp(u16),
    /// A malformed IP header, with the decoder event Suricata raises for it.
    #[error("{}: {detail}", event.name())]
    Event { event: Event, detail: String },
}

impl DecodeError {
    /// The decoder event this error raises, if any.
    pub fn event(&self) -> Option<Event> {
        match self {
            DecodeError::Event { event, .. } => Some(*event),
            _ => None,
        }
    }
}

fn ev(event: Event, detail: impl Into<String>) -> DecodeError {
    DecodeError::Event {
        event,
        detail: detail.into(),
    }
}

fn need(layer: &'static str, b: &[u8], n: usize) -> Result<(), DecodeError> {
    if b.len() < n {
        Err(DecodeError::Short {
            layer,
            len: b.len(),
            need: n,
        })
    } else {
        Ok(())
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;

/// Decodes one frame of the given link type.
pub fn decode(link: u16, frame: &[u8]) -> Result<Packet<'_>, DecodeError> {
    decode_at(link, frame, 0)
}

/// Tunnels nested deeper than this are not decapsulated.
const MAX_TUNNEL_DEPTH: u8 = 4;

fn decode_at(link: u16, frame: &[u8], depth: u8) -> Result<Packet<'_>, DecodeError> {
    let mut vlan = [0u16; 2];
    let (ethertype, rest) = match link {
        linktype::ETHERNET => {
            need("ethernet", frame, 14)?;
            let mut et = be16(frame, 12);
            let mut rest = &frame[14..];
            let mut n = 0;
            while matches!(et, ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD) {
                need("vlan", rest, 4)?;
                if n < 2 {
                    vlan[n] = be16(rest, 0) & 0x0fff;
                }
                n += 1;
                if n > 3 {
                    return Err(DecodeError::Invalid {
                        layer: "vlan",
                        detail: "more than 3 stacked VLAN tags".into(),
                    });
                }
                et = be16(rest, 2);
                rest = &rest[4..];
            }
            (et, rest)
        }
        linktype::LINUX_SLL => {
            need("linux sll", frame, 16)?;
            (be16(frame, 14), &frame[16..])
        }
        linktype::LINUX_SLL2 => {
            need("linux sll2", frame, 20)?;
            (be16(frame, 0), &frame[20..])
        }
        linktype::NULL | linktype::LOOP => {
            need("loopback", frame, 4)?;
            let le = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
            let be = be32(frame, 0);
            let fam = if le < 256 { le } else { be };
            let et = match fam {
                2 => ETH_IPV4,
                24 | 28 | 30 => ETH_IPV6,
                other => {
                    return Err(DecodeError::Invalid {
                        layer: "loopback",
                        detail: format!("address family {other}"),
                    });
                }
            };
            (et, &frame[4..])
        }
        linktype::C_HDLC => {
            need("cisco hdlc", frame, 4)?;
            (be16(frame, 2), &frame[4..])
        }
        linktype::RAW | linktype::IPV4 | linktype::IPV6 | 12 | 14 => {
            need("raw ip", frame, 1)?;
            match frame[0] >> 4 {
                4 => (ETH_IPV4, frame),
                6 => (ETH_IPV6, frame),
                v => {
                    return Err(DecodeError::Invalid {
                        layer: "raw ip",
                        detail: format!("IP version {v}"),
                    });
                }
            }
        }
        other => return Err(DecodeError::UnsupportedLink(other)),
    };
    let mut p = match ethertype {
        ETH_IPV4 => decode_ipv4(rest, depth)?,
        ETH_IPV6 => decode_ipv6(rest, depth)?,
        ETH_NSH => decode_nsh(rest, depth)?,
        other => return Err(DecodeError::NotIp(other)),
    };
    p.vlan = vlan;
    Ok(p)
}

/// Decodes an IP packet (v4 or v6, by its version nibble).
pub fn decode_ip(b: &[u8]) -> Result<Packet<'_>, DecodeError> {
    need("ip", b, 1)?;
    match b[0] >> 4 {
        4 => decode_ipv4(b, 0),
        6 => decode_ipv6(b, 0),
        v => Err(DecodeError::Invalid {
            layer: "ip",
            detail: format!("IP version {v}"),
        }),
    }
}

fn decode_ipv4(b: &[u8], depth: u8) -> Result<Packet<'_>, DecodeError> {
    if b.len() < 20 {
        return Err(ev(
            Event::Ipv4PktTooSmall,
            format!("packet too short ({} bytes, need 20)", b.len()),
        ));
    }
    if b[0] >> 4 != 4 {
        return Err(ev(Event::Ipv4WrongIpVer, format!("version {}", b[0] >> 4)));
    }
    let ihl = (b[0] & 0x0f) as usize * 4;
    if ihl < 20 || b.len() < ihl {
        return Err(ev(
            Event::Ipv4HlenTooSmall,
            format!("header length {ihl} (packet {} bytes)", b.len()),
        ));
    }
    let total = be16(b, 2) as usize;
    if total < ihl {
        return Err(ev(
            Event::Ipv4IplenSmallerThanHlen,
            format!("total length {total} below header length {ihl}"),
        ));
    }
    if b.len() < total {
        return Err(ev(
            Event::Ipv4TruncPkt,
            format!("total length {total}, only {} bytes captured", b.len()),
        ));
    }
    // Ethernet padding after the datagram is not payload.
    let end = total;
    let ttl = b[8];
    let proto = b[9];
    let src = IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19]));
    let frag = be16(b, 6);
    let more = frag & 0x2000 != 0;
    let offset = (frag & 0x1fff) as usize * 8;
    let body = &b[ihl..end];
    if more || offset != 0 {
        let mut events = Events::default();
        if ihl + offset + body.len() > 65_535 {
            events.insert(Event::Ipv4FragPktTooLarge);
        }
        return Ok(Packet {
            src,
            dst,
            proto,
            ttl,
            vlan: [0; 2],
            l4: Layer4::Other,
            payload: body,
            fragment: Some(Fragment {
                id: be16(b, 4) as u32,
                offset,
                more,
                header: &b[..ihl],
                next_proto: proto,
                v6: false,
            }),
            events,
            invalid: false,
            ip_header: &b[..ihl],
            l4_header: &[],
        });
    }
    if matches!(proto, 4 | 41 | 47)
        && let Some(inner) = decode_tunnel(proto, body, depth)
    {
        return inner;
    }
    Ok(transport(
        (src, dst, proto, ttl),
        &b[..ihl],
        body,
        (false, depth),
        Events::default(),
    ))
}

/// The packet with its transport layer decoded, or marked invalid with the event.
fn transport<'a>(
    (src, dst, proto, ttl): (IpAddr, IpAddr, u8, u8),
    ip_header: &'a [u8],
    body: &'a [u8],
    (v6, depth): (bool, u8),
    mut events: Events,
) -> Packet<'a> {
    if proto == 17
        && let Some(inner) = udp_tunnel(body, depth)
    {
        return inner;
    }
    let (l4, payload, invalid) = match decode_l4(proto, body, v6, &mut events) {
        Ok((l4, payload)) => (l4, payload, false),
        Err(e) => {
            if let Some(e) = e.event() {
                events.insert(e);
            }
            (Layer4::Other, &body[body.len()..], true)
        }
    };
    Packet {
        src,
        dst,
        proto,
        ttl,
        vlan: [0; 2],
        l4,
        payload,
        fragment: None,
        events,
        invalid,
        ip_header,
        l4_header: &body[..match l4 {
            Layer4::Tcp { .. } => (body[12] >> 4) as usize * 4,
            Layer4::Udp { .. } | Layer4::Icmp { .. } => 8,
            Layer4::Sctp { .. } => 12,
            Layer4::Other => 0,
        }],
    }
}

fn decode_ipv6(b: &[u8], depth: u8) -> Result<Packet<'_>, DecodeError> {
    if b.len() < 40 {
        return Err(ev(
            Event::Ipv6PktTooSmall,
            format!("packet too short ({} bytes, need 40)", b.len()),
        ));
    }
    if b[0] >> 4 != 6 {
        return Err(ev(Event::Ipv6WrongIpVer, format!("version {}", b[0] >> 4)));
    }
    let plen = be16(b, 4) as usize;
    if b.len() < 40 + plen {
        return Err(ev(
            Event::Ipv6TruncPkt,
            format!(
                "payload length {plen}, only {} bytes captured",
                b.len() - 40
            ),
        ));
    }
    let end = 40 + plen;
    let mut next = b[6];
    let ttl = b[7];
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[8..24]);
    let src = IpAddr::V6(Ipv6Addr::from(a));
    a.copy_from_slice(&b[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(a));
    let mut events = Events::default();
    let invalid = |next: u8, events: Events, e: Event| {
        let mut events = events;
        events.insert(e);
        Ok(Packet {
            src,
            dst,
            proto: next,
            ttl,
            vlan: [0; 2],
            l4: Layer4::Other,
            payload: &b[end..end],
            fragment: None,
            events,
            invalid: true,
            ip_header: &b[..40],
            l4_header: &[],
        })
    };
    let mut off = 40;
    // Extension headers as Suricata's decoder walks them: duplicates of a header that
    // may appear once are skipped with an event; a header longer than the rest of the
    // packet makes the packet invalid.
    let (mut seen_fh, mut seen_hh, mut seen_rh, mut seen_ah, mut dstopts) =
        (false, false, false, false, 0u8);
    let mut hops = 0;
    loop {
        hops += 1;
        if hops > 32 {
            return invalid(next, events, Event::Ipv6TruncExthdr);
        }
        let plen = end - off;
        if next == 59 {
            // No next header.
            if plen > 0 {
                events.insert(Event::Ipv6DataAfterNoneHeader);
            }
            break;
        }
        // Once past an extension header, whatever follows needs 2 bytes at least.
        if hops > 1 && plen < 2 {
            return invalid(next, events, Event::Ipv6TruncExthdr);
        }
        if !matches!(next, 0 | 43 | 60 | 44 | 51 | 50 | 135 | 139 | 140) {
            break;
        }
        if plen < 2 {
            return invalid(next, events, Event::Ipv6TruncExthdr);
        }
        let h = &b[off..end];
        match next {
            // hop-by-hop, destination options
            0 | 60 => {
                let hlen = (h[1] as usize + 1) * 8;
                if hlen > plen {
                    return invalid(next, events, Event::Ipv6TruncExthdr);
                }
                let dup = if next == 0 {
                    std::mem::replace(&mut seen_hh, true)
                } else {
                    dstopts += 1;
                    dstopts > 2
                };
                if dup {
                    events.insert(if next == 0 {
                        Event::Ipv6ExthdrDuplHh
                    } else {
                        Event::Ipv6ExthdrDuplDh
                    });
                } else {
                    ipv6_options(next, &h[2..hlen], &mut events);
                }
                next = h[0];
                off += hlen;
            }
            // routing; mobility, HIP, shim6 (skipped)
            43 | 135 | 139 | 140 => {
                let hlen = 8 + h[1] as usize * 8;
                if hlen > plen {
                    return invalid(next, events, Event::Ipv6TruncExthdr);
                }
                if next == 43 {
                    if std::mem::replace(&mut seen_rh, true) {
                        events.insert(Event::Ipv6ExthdrDuplRh);
                    } else if h.get(2) == Some(&0) {
                        events.insert(Event::Ipv6ExthdrRhType0);
                    }
                }
                next = h[0];
                off += hlen;
            }
            // authentication header
            51 => {
                let mut hlen = 12;
                if h[1] > 0 {
                    hlen += (h[1] as usize - 1) * 4;
                }
                if hlen > plen {
                    return invalid(next, events, Event::Ipv6TruncExthdr);
                }
                if be16(h, 2) != 0 {
                    events.insert(Event::Ipv6ExthdrAhResNotNull);
                }
                if std::mem::replace(&mut seen_ah, true) {
                    events.insert(Event::Ipv6ExthdrDuplAh);
                }
                next = h[0];
                off += hlen;
            }
            // ESP: the rest is encrypted.
            50 => {
                if plen < 8 {
                    return invalid(next, events, Event::Ipv6TruncExthdr);
                }
                break;
            }
            // fragment
            44 => {
                if plen < 8 {
                    return invalid(next, events, Event::Ipv6TruncExthdr);
                }
                if h[1] != 0 {
                    events.insert(Event::Ipv6FhNonZeroResField);
                }
                if std::mem::replace(&mut seen_fh, true) {
                    events.insert(Event::Ipv6ExthdrDuplFh);
                    next = h[0];
                    off += 8;
                    continue;
                }
                let nh = h[0];
                let fo = be16(h, 2);
                let offset = (fo >> 3) as usize * 8;
                let more = fo & 1 != 0;
                if offset == 0 && !more {
                    // Atomic fragment: a useless header, skipped.
                    events.insert(Event::Ipv6ExthdrUselessFh);
                    next = nh;
                    off += 8;
                    continue;
                }
                let body = &b[off + 8..end];
                if more && (body.is_empty() || !body.len().is_multiple_of(8)) {
                    events.insert(Event::Ipv6FragInvalidLength);
                }
                if offset + body.len() > 65_535 {
                    events.insert(Event::Ipv6FragPktTooLarge);
                }
                return Ok(Packet {
                    src,
                    dst,
                    proto: nh,
                    ttl,
                    vlan: [0; 2],
                    l4: Layer4::Other,
                    payload: body,
                    fragment: Some(Fragment {
                        id: be32(h, 4),
                        offset,
                        more,
                        header: &b[..off],
                        next_proto: nh,
                        v6: true,
                    }),
                    events,
                    invalid: false,
                    ip_header: &b[..40],
                    l4_header: &[],
                });
            }
            _ => unreachable!("only extension headers reach here"),
        }
    }
    let body = &b[off..end];
    if next == 1 {
        events.insert(Event::Ipv6WithIcmpv4);
    }
    if matches!(next, 4 | 41 | 47)
        && let Some(inner) = decode_tunnel(next, body, depth)
    {
        return inner;
    }
    Ok(transport(
        (src, dst, next, ttl),
        &b[..40],
        body,
        (true, depth),
        events,
    ))
}

/// ICMPv4 types Suricata knows, and the codes each allows: any other type is
/// `icmpv4.unknown_type`, another code `icmpv4.unknown_code` (neither is fatal).
fn icmpv4_events(t: u8, code: u8, events: &mut Events) {
    let max_code = match t {
        // echo reply, source quench, echo, parameter problem, timestamp (reply),
        // information (reply), address mask (reply)
        0 | 4 | 8 | 12 | 13 | 14 | 15 | 16 | 17 | 18 => 0,
        // destination unreachable
        3 => 15,
        // redirect
        5 => 3,
        // time exceeded
        11 => 1,
        _ => {
            events.insert(Event::Icmpv4UnknownType);
            return;
        }
    };
    if code > max_code {
        events.insert(Event::Icmpv4UnknownCode);
    }
}

/// The TCP timestamps option (value, echo reply) of a TCP header, if present.
pub fn tcp_timestamps(hdr: &[u8]) -> Option<(u32, u32)> {
    let mut opts = hdr.get(20..)?;
    while let [kind, rest @ ..] = opts {
        match kind {
            0 => return None,
            1 => opts = rest,
            _ => {
                let len = *rest.first()? as usize;
                if len < 2 || len > opts.len() {
                    return None;
                }
                if *kind == 8 && len == 10 {
                    return Some((be32(opts, 2), be32(opts, 6)));
                }
                opts = &opts[len..];
            }
        }
    }
    None
}

/// TCP options, checked as Suricata checks them: a length below 2 or beyond the header,
/// or wrong for a known option, is `tcp.opt_invalid_len` (and ends the walk); a known
/// option given twice is `tcp.opt_duplicate`. Neither makes the packet invalid.
fn tcp_options(mut opts: &[u8], events: &mut Events) {
    let mut seen = [false; 256];
    while let [kind, rest @ ..] = opts {
        match kind {
            0 => break,
            1 => {
                opts = rest;
                continue;
            }
            _ => {}
        }
        let Some(&olen) = rest.first() else { break };
        let olen = olen as usize;
        if olen < 2 || olen > opts.len() {
            events.insert(Event::TcpOptInvalidLen);
            return;
        }
        let ok = match kind {
            2 => olen == 4,                                                          // MSS
            3 => olen == 3,                                                          // window scale
            4 => olen == 2, // SACK permitted
            5 => (10..=34).contains(&olen) && (olen - 2).is_multiple_of(8), // SACK
            8 => olen == 10, // timestamps
            19 => olen == 18, // MD5 signature
            29 => olen >= 4, // TCP-AO
            34 => olen == 2 || ((6..=18).contains(&olen) && olen.is_multiple_of(2)), // fast open cookie
            _ => true,
        };
        if !ok {
            events.insert(Event::TcpOptInvalidLen);
        } else if matches!(kind, 2 | 3 | 4 | 5 | 8 | 19 | 29 | 34)
            && std::mem::replace(&mut seen[*kind as usize], true)
        {
            events.insert(Event::TcpOptDuplicate);
        }
        opts = &opts[olen..];
    }
}

/// The options of a hop-by-hop (`nh` 0) or destination options (60) header.
fn ipv6_options(nh: u8, opts: &[u8], events: &mut Events) {
    let (mut padding, mut other) = (0, 0);
    let mut i = 0;
    while i < opts.len() {
        let t = opts[i];
        if t == 0 {
            // Pad1
            padding += 1;
            i += 1;
            continue;
        }
        if i + 1 >= opts.len() {
            events.insert(Event::Ipv6ExthdrInvalidOptlen);
            break;
        }
        let olen = opts[i + 1] as usize;
        if i + 1 + olen > opts.len() {
            events.insert(Event::Ipv6ExthdrInvalidOptlen);
            break;
        }
        match t {
            1 => {
                // PadN
                padding += 1;
                if olen == 0 {
                    events.insert(Event::Ipv6ExthdrZeroLenPadn);
                }
            }
            // router alert (2 bytes), jumbo (4), home address (16)
            5 | 0xc2 | 0xc9 => {
                let need = match t {
                    5 => 2,
                    0xc2 => 4,
                    _ => 16,
                };
                if olen < need {
                    events.insert(Event::Ipv6ExthdrInvalidOptlen);
                    break;
                }
                if t != 0xc2 {
                    other += 1;
                }
            }
            _ => {
                events.insert(if nh == 0 {
                    Event::Ipv6HopoptsUnknownOpt
                } else {
                    Event::Ipv6DstoptsUnknownOpt
                });
                other += 1;
            }
        }
        i += olen + 2;
    }
    if padding > 0 && other == 0 {
        events.insert(if nh == 0 {
            Event::Ipv6HopoptsOnlyPadding
        } else {
            Event::Ipv6DstoptsOnlyPadding
        });
    }
}

/// UDP ports of the tunnels decapsulated, as Suricata's defaults.
const VXLAN_PORT: u16 = 4789;
const GENEVE_PORT: u16 = 6081;
const TEREDO_PORT: u16 = 3544;
const ETH_NSH: u16 = 0x894f;

/// Decapsulates VXLAN (to port 4789), Geneve (to port 6081) and Teredo (either port
/// 3544) carried by a UDP datagram (`b`: the UDP header and payload): the inner packet
/// is inspected as a packet of its own. `None` when it is not one of them, or the inner
/// packet does not decode (the datagram is then inspected as UDP).
fn udp_tunnel(b: &[u8], depth: u8) -> Option<Packet<'_>> {
    if depth >= MAX_TUNNEL_DEPTH || b.len() < 8 {
        return None;
    }
    let (sp, dp) = (be16(b, 0), be16(b, 2));
    let len = be16(b, 4) as usize;
    let data = b.get(8..len.max(8).min(b.len()))?;
    let depth = depth + 1;
    let inner = if dp == VXLAN_PORT {
        // Flags with the I bit (valid VNI), 3 reserved bytes, VNI, reserved; Ethernet.
        if data.len() < 8 || data[0] & 0x08 == 0 {
            return None;
        }
        decode_at(linktype::ETHERNET, &data[8..], depth)
    } else if dp == GENEVE_PORT {
        // Version 0, options length in 4-byte words, protocol type as an ethertype.
        if data.len() < 8 || data[0] >> 6 != 0 {
            return None;
        }
        let opts = (data[0] & 0x3f) as usize * 4;
        let rest = data.get(8 + opts..)?;
        match be16(data, 2) {
            0x6558 => decode_at(linktype::ETHERNET, rest, depth),
            ETH_IPV4 => decode_ipv4(rest, depth),
            ETH_IPV6 => decode_ipv6(rest, depth),
            _ => return None,
        }
    } else if sp == TEREDO_PORT || dp == TEREDO_PORT {
        // Optional authentication and origin indication headers, then IPv6 whose
        // length fills the datagram exactly (anything else is not Teredo).
        let mut d = data;
        if d.len() >= 4 && d[0] == 0 && d[1] == 1 {
            let auth = 13 + d[2] as usize + d[3] as usize;
            d = d.get(auth..)?;
        }
        if d.len() >= 8 && d[0] == 0 && d[1] == 0 {
            d = &d[8..];
        }
        if d.len() < 40 || d[0] >> 4 != 6 || d.len() != 40 + be16(d, 4) as usize {
            return None;
        }
        decode_ipv6(d, depth)
    } else {
        return None;
    };
    inner.ok().filter(|p| !p.invalid)
}

/// Decapsulates NSH (network service header): base header with the length in 4-byte
/// words and the next protocol (IPv4, IPv6, Ethernet, NSH).
fn decode_nsh(b: &[u8], depth: u8) -> Result<Packet<'_>, DecodeError> {
    need("nsh", b, 8)?;
    if depth >= MAX_TUNNEL_DEPTH {
        return Err(DecodeError::Invalid {
            layer: "nsh",
            detail: "nested too deep".into(),
        });
    }
    if b[0] >> 6 != 0 {
        return Err(DecodeError::Invalid {
            layer: "nsh",
            detail: format!("version {}", b[0] >> 6),
        });
    }
    let len = (b[1] & 0x3f) as usize * 4;
    if len < 8 {
        return Err(DecodeError::Invalid {
            layer: "nsh",
            detail: format!("header length {len} below 8"),
        });
    }
    need("nsh", b, len)?;
    let rest = &b[len..];
    match b[3] {
        1 => decode_ipv4(rest, depth + 1),
        2 => decode_ipv6(rest, depth + 1),
        3 => decode_at(linktype::ETHERNET, rest, depth + 1),
        4 => decode_nsh(rest, depth + 1),
        other => Err(DecodeError::Invalid {
            layer: "nsh",
            detail: format!("next protocol {other}"),
        }),
    }
}

/// Decapsulates GRE (IPv4, IPv6, transparent Ethernet bridging, ERSPAN), IP-in-IP and
/// 6in4: the inner packet is inspected as a packet of its own. `None` when the
/// payload is not a tunnel this decoder knows (the outer packet is then kept).
fn decode_tunnel(proto: u8, b: &[u8], depth: u8) -> Option<Result<Packet<'_>, DecodeError>> {
    if depth >= MAX_TUNNEL_DEPTH {
        return None;
    }
    let depth = depth + 1;
    match proto {
        4 => Some(decode_ipv4(b, depth)),
        41 => Some(decode_ipv6(b, depth)),
        47 => {
            if b.len() < 4 {
                return None;
            }
            let flags = be16(b, 0);
            let version = flags & 0x7;
            if version != 0 {
                return None;
            }
            let et = be16(b, 2);
            let mut off = 4;
            if flags & 0x8000 != 0 {
                off += 4;
            }
            if flags & 0x2000 != 0 {
                off += 4;
            }
            if flags & 0x1000 != 0 {
                off += 4;
            }
            let inner = b.get(off..)?;
            match et {
                ETH_IPV4 => Some(decode_ipv4(inner, depth)),
                ETH_IPV6 => Some(decode_ipv6(inner, depth)),
                0x6558 => Some(decode_at(linktype::ETHERNET, inner, depth)),
                // ERSPAN type II: an 8-byte header, then Ethernet.
                0x88be => Some(decode_at(linktype::ETHERNET, inner.get(8..)?, depth)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The transport header. Errors carry the decoder event; non-fatal anomalies are added
/// to `events`.
fn decode_l4<'a>(
    proto: u8,
    b: &'a [u8],
    v6: bool,
    events: &mut Events,
) -> Result<(Layer4, &'a [u8]), DecodeError> {
    match proto {
        6 => {
            if b.len() < 20 {
                return Err(ev(
                    Event::TcpPktTooSmall,
                    format!("header too short ({} bytes, need 20)", b.len()),
                ));
            }
            let doff = (b[12] >> 4) as usize * 4;
            if b.len() < doff {
                return Err(ev(
                    Event::TcpHlenTooSmall,
                    format!("data offset {doff} beyond the {} bytes", b.len()),
                ));
            }
            if doff < 20 {
                return Err(ev(
                    Event::TcpInvalidOptlen,
                    format!("data offset {doff} below 20"),
                ));
            }
            tcp_options(&b[20..doff], events);
            Ok((
                Layer4::Tcp {
                    src_port: be16(b, 0),
                    dst_port: be16(b, 2),
                    flags: b[13],
                    seq: be32(b, 4),
                    ack: be32(b, 8),
                    window: be16(b, 14),
                },
                &b[doff..],
            ))
        }
        17 => {
            if b.len() < 8 {
                return Err(ev(
                    Event::UdpHlenTooSmall,
                    format!("header too short ({} bytes, need 8)", b.len()),
                ));
            }
            let len = be16(b, 4) as usize;
            if b.len() < len {
                return Err(ev(
                    Event::UdpPktTooSmall,
                    format!("length {len} beyond the {} bytes", b.len()),
                ));
            }
            if len < 8 {
                return Err(ev(Event::UdpLenInvalid, format!("length {len} below 8")));
            }
            if len != b.len() {
                events.insert(Event::UdpHlenInvalid);
            }
            Ok((
                Layer4::Udp {
                    src_port: be16(b, 0),
                    dst_port: be16(b, 2),
                },
                &b[8..len],
            ))
        }
        1 | 58 => {
            if b.len() < 8 {
                let e = if v6 || proto == 58 {
                    Event::Icmpv6PktTooSmall
                } else {
                    Event::Icmpv4PktTooSmall
                };
                return Err(ev(
                    e,
                    format!("header too short ({} bytes, need 8)", b.len()),
                ));
            }
            if proto == 1 && !v6 {
                icmpv4_events(b[0], b[1], events);
            }
            Ok((
                Layer4::Icmp {
                    icmp_type: b[0],
                    icmp_code: b[1],
                },
                &b[8..],
            ))
        }
        // SCTP: the common header (ports, verification tag, checksum); chunks follow.
        132 if b.len() >= 12 => Ok((
            Layer4::Sctp {
                src_port: be16(b, 0),
                dst_port: be16(b, 2),
            },
            &b[12..],
        )),
        132 => Err(ev(
            Event::SctpPktTooSmall,
            format!("header too short ({} bytes, need 12)", b.len()),
        )),
        47 if b.len() < 4 => Err(ev(
            Event::GrePktTooSmall,
            format!("header too short ({} bytes, need 4)", b.len()),
        )),
        _ => Ok((Layer4::Other, b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0x45, 0, 0, 0, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let total = 20 + 20 + payload.len();
        v[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        v.extend_from_slice(&[
            0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 1, 0, 0, 0, 0, 0,
        ]);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn decodes_ethernet_vlan_ipv4_tcp() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00]);
        f.extend_from_slice(&ipv4_tcp(b"GET /"));
        f.extend_from_slice(&[0, 0, 0]); // ethernet padding
        let p = decode(linktype::ETHERNET, &f).unwrap();
        assert_eq!(p.vlan, [5, 7]);
        assert_eq!(p.payload, b"GET /");
        assert!(matches!(
            p.l4,
            Layer4::Tcp {
                src_port: 12345,
                dst_port: 80,
                flags: 0x18,
                ..
            }
        ));
    }

    #[test]
    fn decodes_ipv6_with_extension_headers_udp() {
        let mut f = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
        f.extend_from_slice(&[0u8; 15]);
        f.push(1);
        f.extend_from_slice(&[0u8; 15]);
        f.push(2);
        // hop-by-hop (8 bytes) then UDP
        f.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&[0, 53, 0x10, 0x00, 0, 11, 0, 0, b'a', b'b', b'c']);
        let plen = (f.len() - 40) as u16;
        f[4..6].copy_from_slice(&plen.to_be_bytes());
        let p = decode(linktype::RAW, &f).unwrap();
        assert_eq!(p.proto, 17);
        assert_eq!(p.payload, b"abc");
        assert_eq!(
            p.l4,
            Layer4::Udp {
                src_port: 53,
                dst_port: 4096
            }
        );
    }

    #[test]
    fn truncated_capture_is_an_ipv4_event() {
        let f = ipv4_tcp(b"");
        let e = decode(linktype::RAW, &f[..30]).unwrap_err();
        assert_eq!(e.event(), Some(Event::Ipv4TruncPkt), "{e}");
    }

    #[test]
    fn short_tcp_header_is_an_invalid_packet_with_its_event() {
        let mut f = ipv4_tcp(b"");
        f.truncate(30);
        f[2..4].copy_from_slice(&30u16.to_be_bytes());
        let p = decode(linktype::RAW, &f).unwrap();
        assert!(p.invalid);
        assert!(p.events.contains(Event::TcpPktTooSmall));
        assert_eq!(p.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(p.l4, Layer4::Other);
    }

    #[test]
    fn fragment_is_flagged() {
        let mut f = ipv4_tcp(b"xxxxxxxx");
        f[6] = 0x20; // MF
        let p = decode(linktype::RAW, &f).unwrap();
        let fr = p.fragment.unwrap();
        assert!(fr.more);
        assert_eq!(fr.offset, 0);
        assert_eq!(p.payload.len(), 28);
    }

    /// IPv4/UDP to `dport` carrying `payload`.
    fn ipv4_udp(dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
        ];
        let total = 20 + 8 + payload.len();
        v[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        v.extend_from_slice(&[0x30, 0x39]);
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn inner_is_the_tcp_packet(p: &Packet<'_>) {
        assert_eq!(p.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(p.payload, b"GET /");
        assert!(matches!(p.l4, Layer4::Tcp { dst_port: 80, .. }));
    }

    #[test]
    fn vxlan_geneve_and_nsh_are_decapsulated() {
        let inner = ethernet(ETH_IPV4, &ipv4_tcp(b"GET /"));
        let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        vxlan.extend_from_slice(&inner);
        let f = ethernet(ETH_IPV4, &ipv4_udp(VXLAN_PORT, &vxlan));
        inner_is_the_tcp_packet(&decode(linktype::ETHERNET, &f).unwrap());
        // Without the VNI flag it is plain UDP.
        vxlan[0] = 0;
        let f = ethernet(ETH_IPV4, &ipv4_udp(VXLAN_PORT, &vxlan));
        assert!(matches!(
            decode(linktype::ETHERNET, &f).unwrap().l4,
            Layer4::Udp {
                dst_port: VXLAN_PORT,
                ..
            }
        ));
        // Geneve with one 4-byte option, carrying IPv4.
        let mut geneve = vec![0x01, 0, 0x08, 0x00, 0, 0, 7, 0, 1, 2, 3, 4];
        geneve.extend_from_slice(&ipv4_tcp(b"GET /"));
        let f = ethernet(ETH_IPV4, &ipv4_udp(GENEVE_PORT, &geneve));
        inner_is_the_tcp_packet(&decode(linktype::ETHERNET, &f).unwrap());
        // NSH (length 2 words, next protocol IPv4).
        let mut nsh = vec![0x00, 0x02, 0x01, 0x01, 0, 0, 1, 255];
        nsh.extend_from_slice(&ipv4_tcp(b"GET /"));
        inner_is_the_tcp_packet(&decode(linktype::ETHERNET, &ethernet(ETH_NSH, &nsh)).unwrap());
        let bad = [0xc0u8, 0x02, 0x01, 0x01, 0, 0, 1, 255];
        assert!(decode(linktype::ETHERNET, &ethernet(ETH_NSH, &bad)).is_err());
    }

    #[test]
    fn teredo_carries_ipv6_of_exact_length() {
        let mut v6 = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
        v6.extend_from_slice(&[0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v6.extend_from_slice(&[0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        v6.extend_from_slice(&[0, 53, 0, 53, 0, 8, 0, 0]);
        let f = ethernet(ETH_IPV4, &ipv4_udp(TEREDO_PORT, &v6));
        let p = decode(linktype::ETHERNET, &f).unwrap();
        assert!(p.src.is_ipv6());
        assert_eq!(
            p.l4,
            Layer4::Udp {
                src_port: 53,
                dst_port: 53
            }
        );
        // With an origin indication in front.
        let mut o = vec![0, 0, 0, 0, 0, 0, 0, 0];
        o.extend_from_slice(&v6);
        let f = ethernet(ETH_IPV4, &ipv4_udp(TEREDO_PORT, &o));
        assert!(decode(linktype::ETHERNET, &f).unwrap().src.is_ipv6());
        // A length that does not fill the datagram: not Teredo, plain UDP.
        v6.push(0);
        let f = ethernet(ETH_IPV4, &ipv4_udp(TEREDO_PORT, &v6));
        assert!(decode(linktype::ETHERNET, &f).unwrap().src.is_ipv4());
    }

    #[test]
    fn tcp_option_events() {
        let with_opts = |opts: &[u8]| {
            let mut f = ipv4_tcp(b"");
            let doff = 20 + opts.len();
            assert!(doff.is_multiple_of(4));
            f[32] = ((doff / 4) as u8) << 4;
            f.splice(40..40, opts.iter().copied());
            let total = f.len() as u16;
            f[2..4].copy_from_slice(&total.to_be_bytes());
            decode(linktype::RAW, &f).unwrap().events
        };
        // MSS, NOP, window scale: fine.
        assert!(with_opts(&[2, 4, 5, 0xb4, 1, 3, 3, 7]).is_empty());
        // MSS twice.
        let e = with_opts(&[2, 4, 5, 0xb4, 2, 4, 5, 0xb4]);
        assert!(e.contains(Event::TcpOptDuplicate) && !e.contains(Event::TcpOptInvalidLen));
        // Timestamps with length 8, and an option running past the header.
        assert!(with_opts(&[8, 8, 0, 0, 0, 0, 0, 0]).contains(Event::TcpOptInvalidLen));
        assert!(with_opts(&[1, 1, 30, 9]).contains(Event::TcpOptInvalidLen));
        // End of options: what follows is not looked at.
        assert!(with_opts(&[0, 30, 9, 9]).is_empty());
    }

    #[test]
    fn icmpv4_unknown_type_and_code() {
        let icmp = |t: u8, code: u8| {
            let mut v = vec![
                0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
            ];
            v.extend_from_slice(&[t, code, 0, 0, 0, 1, 0, 1]);
            decode(linktype::RAW, &v).unwrap().events
        };
        assert!(icmp(8, 0).is_empty());
        assert!(icmp(3, 15).is_empty());
        assert!(icmp(8, 1).contains(Event::Icmpv4UnknownCode));
        assert!(icmp(3, 16).contains(Event::Icmpv4UnknownCode));
        assert!(icmp(9, 0).contains(Event::Icmpv4UnknownType));
        assert!(!icmp(9, 0).contains(Event::Icmpv4UnknownCode));
    }
}
