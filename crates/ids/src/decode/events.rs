//! Decoder, defragmentation and stream events: anomalies found while decoding a packet
//! or tracking its TCP session, named as Suricata names them for the `decode-event` and
//! `stream-event` rule keywords (`ipv6.frag_overlap`, `stream.suspected_rst_inject`).
//!
//! Only the events this engine really raises are listed: a rule that names another one
//! is skipped (it would never match), not loaded with a different meaning.

macro_rules! events {
    ($($variant:ident => $name:literal,)*) => {
        /// One event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Event {
            $($variant,)*
        }

        impl Event {
            /// Every event, in declaration order.
            pub const ALL: &'static [Event] = &[$(Event::$variant,)*];

            /// Suricata's name (`layer.event`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Event::$variant => $name,)*
                }
            }
        }
    };
}

events! {
    Ipv4PktTooSmall => "ipv4.pkt_too_small",
    Ipv4HlenTooSmall => "ipv4.hlen_too_small",
    Ipv4IplenSmallerThanHlen => "ipv4.iplen_smaller_than_hlen",
    Ipv4TruncPkt => "ipv4.trunc_pkt",
    Ipv4WrongIpVer => "ipv4.wrong_ip_version",
    Ipv4FragPktTooLarge => "ipv4.frag_pkt_too_large",
    Ipv4FragOverlap => "ipv4.frag_overlap",
    Ipv6PktTooSmall => "ipv6.pkt_too_small",
    Ipv6TruncPkt => "ipv6.trunc_pkt",
    Ipv6WrongIpVer => "ipv6.wrong_ip_version",
    Ipv6TruncExthdr => "ipv6.trunc_exthdr",
    Ipv6ExthdrDuplFh => "ipv6.exthdr_dupl_fh",
    Ipv6ExthdrUselessFh => "ipv6.exthdr_useless_fh",
    Ipv6ExthdrDuplRh => "ipv6.exthdr_dupl_rh",
    Ipv6ExthdrDuplHh => "ipv6.exthdr_dupl_hh",
    Ipv6ExthdrDuplDh => "ipv6.exthdr_dupl_dh",
    Ipv6ExthdrDuplAh => "ipv6.exthdr_dupl_ah",
    Ipv6ExthdrDuplEh => "ipv6.exthdr_dupl_eh",
    Ipv6ExthdrInvalidOptlen => "ipv6.exthdr_invalid_optlen",
    Ipv6ExthdrRhType0 => "ipv6.rh_type_0",
    Ipv6ExthdrZeroLenPadn => "ipv6.zero_len_padn",
    Ipv6ExthdrAhResNotNull => "ipv6.exthdr_ah_res_not_null",
    Ipv6HopoptsUnknownOpt => "ipv6.hopopts_unknown_opt",
    Ipv6HopoptsOnlyPadding => "ipv6.hopopts_only_padding",
    Ipv6DstoptsUnknownOpt => "ipv6.dstopts_unknown_opt",
    Ipv6DstoptsOnlyPadding => "ipv6.dstopts_only_padding",
    Ipv6FhNonZeroResField => "ipv6.fh_non_zero_reserved_field",
    Ipv6DataAfterNoneHeader => "ipv6.data_after_none_header",
    Ipv6UnknownNextHeader => "ipv6.unknown_next_header",
    Ipv6WithIcmpv4 => "ipv6.icmpv4",
    Ipv6FragPktTooLarge => "ipv6.frag_pkt_too_large",
    Ipv6FragOverlap => "ipv6.frag_overlap",
    Ipv6FragInvalidLength => "ipv6.frag_invalid_length",
    TcpPktTooSmall => "tcp.pkt_too_small",
    TcpHlenTooSmall => "tcp.hlen_too_small",
    TcpInvalidOptlen => "tcp.invalid_optlen",
    TcpOptInvalidLen => "tcp.opt_invalid_len",
    TcpOptDuplicate => "tcp.opt_duplicate",
    UdpPktTooSmall => "udp.pkt_too_small",
    UdpHlenTooSmall => "udp.hlen_too_small",
    UdpHlenInvalid => "udp.hlen_invalid",
    UdpLenInvalid => "udp.len_invalid",
    Icmpv4PktTooSmall => "icmpv4.pkt_too_small",
    Icmpv4UnknownType => "icmpv4.unknown_type",
    Icmpv4UnknownCode => "icmpv4.unknown_code",
    Icmpv6PktTooSmall => "icmpv6.pkt_too_small",
    GrePktTooSmall => "gre.pkt_too_small",
    SctpPktTooSmall => "sctp.pkt_too_small",
    Stream3whsSynFlood => "stream.3whs_syn_flood",
    StreamPktInvalidTimestamp => "stream.pkt_invalid_timestamp",
    StreamSuspectedRstInject => "stream.suspected_rst_inject",
}

impl Event {
    /// The event of a `decode-event` name (`ipv6.frag_overlap`), or of a `stream-event`
    /// name given with its `stream.` prefix.
    pub fn from_name(name: &str) -> Option<Event> {
        Event::ALL.iter().copied().find(|e| e.name() == name)
    }

    fn bit(self) -> u128 {
        1u128 << (self as u32)
    }
}

/// A set of events (of one packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Events(u128);

const _: () = assert!(Event::ALL.len() <= 128, "events fit the bit set");

impl Events {
    pub fn insert(&mut self, e: Event) {
        self.0 |= e.bit();
    }

    pub fn contains(self, e: Event) -> bool {
        self.0 & e.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn extend(&mut self, other: Events) {
        self.0 |= other.0;
    }

    pub fn iter(self) -> impl Iterator<Item = Event> {
        Event::ALL
            .iter()
            .copied()
            .filter(move |e| self.contains(*e))
    }
}

impl From<Event> for Events {
    fn from(e: Event) -> Events {
        let mut s = Events::default();
        s.insert(e);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &e in Event::ALL {
            assert!(seen.insert(e.name()), "{} twice", e.name());
            assert_eq!(Event::from_name(e.name()), Some(e));
            assert!(e.name().contains('.'), "{}", e.name());
        }
        assert_eq!(Event::from_name("ipv6.no_such_event"), None);
    }

    #[test]
    fn set_holds_what_was_inserted() {
        let mut s = Events::default();
        assert!(s.is_empty());
        s.insert(Event::GrePktTooSmall);
        s.insert(Event::Ipv4PktTooSmall);
        assert!(s.contains(Event::GrePktTooSmall));
        assert!(!s.contains(Event::TcpPktTooSmall));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Event::Ipv4PktTooSmall, Event::GrePktTooSmall]
        );
    }
}
