//! Keyword semantics of detection against hand-built inputs. Each test names the
//! Suricata behaviour it checks (Suricata's rule documentation, "Payload Keywords",
//! "HTTP Keywords", "Flow Keywords", "Thresholding", ...).

use mamori_ids::detect::{
    Action, Alert, AppProto, BufferKind, Detector, Direction, FlowDetectState, Input, Layer4,
};
use mamori_ids::rules::{Vars, parse_rules};
use std::net::IpAddr;

fn detector(rules: &str) -> Detector {
    let set = parse_rules("test.rules", rules, &Vars::suricata_defaults());
    assert!(set.skipped.is_empty(), "skipped: {:?}", set.skipped);
    Detector::new(set.rules)
}

struct Pkt<'a> {
    input: Input<'a>,
}

fn tcp<'a>(payload: &'a [u8]) -> Pkt<'a> {
    Pkt {
        input: Input {
            ts_micros: 1_700_000_000_000_000,
            src_ip: "192.168.1.10".parse().unwrap(),
            dst_ip: "203.0.113.5".parse().unwrap(),
            ip_proto: 6,
            ttl: 64,
            l4: Layer4::Tcp {
                src_port: 40000,
                dst_port: 80,
                flags: 0x18,
                seq: 1,
                ack: 1,
                window: 1000,
            },
            payload,
            // An in-order segment of an established session: its payload is also the
            // new stream data (as the traffic side hands it over).
            stream: (!payload.is_empty()).then_some(payload),
            direction: Direction::ToServer,
            established: true,
            flow_id: 1,
            app_proto: AppProto::Unknown,
            tx_id: None,
            buffers: &[],
            events: Default::default(),
            invalid: false,
            ip_header: &[],
            l4_header: &[],
            flow_counts: Default::default(),
        },
    }
}

impl<'a> Pkt<'a> {
    fn tx(mut self, id: u64, proto: AppProto, bufs: &'a [(BufferKind, &'a [u8])]) -> Self {
        self.input.tx_id = Some(id);
        self.input.app_proto = proto;
        self.input.buffers = bufs;
        self
    }
    fn reply(mut self) -> Self {
        self.input.direction = Direction::ToClient;
        std::mem::swap(&mut self.input.src_ip, &mut self.input.dst_ip);
        if let Layer4::Tcp {
            src_port, dst_port, ..
        } = &mut self.input.l4
        {
            std::mem::swap(src_port, dst_port);
        }
        self
    }
    fn at(mut self, secs: i64) -> Self {
        self.input.ts_micros = secs * 1_000_000;
        self
    }
    fn from(mut self, ip: &str) -> Self {
        self.input.src_ip = ip.parse::<IpAddr>().unwrap();
        self
    }
}

fn run(det: &mut Detector, flow: &mut FlowDetectState, p: &Pkt<'_>) -> Vec<Alert> {
    let mut out = Vec::new();
    det.inspect(&p.input, flow, &mut out);
    out
}

fn sids(det: &mut Detector, p: &Pkt<'_>) -> Vec<u32> {
    let mut flow = FlowDetectState::default();
    run(det, &mut flow, p).iter().map(|a| a.sid).collect()
}

fn hits(rule: &str, payload: &[u8]) -> bool {
    let mut d = detector(rule);
    !sids(&mut d, &tcp(payload)).is_empty()
}

#[test]
fn content_hex_and_nocase() {
    // content: "|..|" is hex; nocase makes the match case-insensitive.
    let r = r#"alert tcp any any -> any any (content:"GET |2f|index"; sid:1;)"#;
    assert!(hits(r, b"xx GET /index.html"));
    assert!(!hits(r, b"xx get /index.html"));
    let r = r#"alert tcp any any -> any any (content:"get |2f|INDEX"; nocase; sid:1;)"#;
    assert!(hits(r, b"xx GET /index.html"));
}

#[test]
fn depth_and_offset() {
    // offset: where to start looking; depth: how far from there (Snort semantics).
    let r = r#"alert tcp any any -> any any (content:"abc"; offset:2; depth:4; sid:1;)"#;
    assert!(hits(r, b"xxabcyyy"));
    assert!(hits(r, b"xxxabcyy"));
    assert!(!hits(r, b"xxxxabcy"));
    assert!(!hits(r, b"xabcxxxx"));
}

#[test]
fn distance_within_backtrack() {
    // distance/within are relative to the end of the previous match; when the relative
    // content fails, the previous one is tried at its next occurrence.
    let r =
        r#"alert tcp any any -> any any (content:"a"; content:"b"; distance:1; within:1; sid:1;)"#;
    assert!(hits(r, b"a_b"));
    assert!(!hits(r, b"ab"));
    assert!(!hits(r, b"a__b"));
    assert!(hits(r, b"a__b a_b"), "second `a` must be tried");
    // Negative distance looks back.
    let r = r#"alert tcp any any -> any any (content:"def"; content:"abc"; distance:-6; within:3; sid:1;)"#;
    assert!(hits(r, b"abcdef"));
}

#[test]
fn startswith_endswith() {
    let r = r#"alert tcp any any -> any any (content:"GET"; startswith; content:"end"; endswith; sid:1;)"#;
    assert!(hits(r, b"GET the end"));
    assert!(!hits(r, b" GET the end"));
    assert!(!hits(r, b"GET the end "));
}

#[test]
fn negated_content() {
    let r =
        r#"alert tcp any any -> any any (content:"user"; content:!"admin"; distance:0; sid:1;)"#;
    assert!(hits(r, b"user bob"));
    assert!(!hits(r, b"user admin"));
    assert!(hits(r, b"admin user bob"), "only after `user`");
}

#[test]
fn isdataat() {
    // isdataat:N — byte N exists; relative: N bytes after the previous match.
    let r = r#"alert tcp any any -> any any (content:"ab"; isdataat:2,relative; sid:1;)"#;
    assert!(hits(r, b"abcd"));
    assert!(!hits(r, b"abc"));
    let r = r#"alert tcp any any -> any any (content:"ab"; isdataat:!5; sid:1;)"#;
    assert!(hits(r, b"abcde"));
    assert!(!hits(r, b"abcdef"));
}

#[test]
fn dsize() {
    let r = r#"alert tcp any any -> any any (dsize:3<>6; sid:1;)"#;
    assert!(hits(r, b"abcd"));
    assert!(!hits(r, b"abc"));
    assert!(!hits(r, b"abcdef"));
    assert!(hits(
        r#"alert tcp any any -> any any (dsize:>2; sid:1;)"#,
        b"abc"
    ));
    // `!N` needs a payload.
    let r = r#"alert tcp any any -> any any (dsize:!9; sid:1;)"#;
    assert!(hits(r, b"abc"));
    assert!(!hits(r, b""));
    assert!(hits(
        r#"alert tcp any any -> any any (dsize:<9; sid:1;)"#,
        b""
    ));
}

#[test]
fn pcre_flags_and_relative() {
    let r = r#"alert tcp any any -> any any (pcre:"/^get\s+\/a+/i"; sid:1;)"#;
    assert!(hits(r, b"GET /aaa"));
    assert!(!hits(r, b" GET /aaa"));
    // R: relative to the previous match, `^` anchors there.
    let r = r#"alert tcp any any -> any any (content:"key="; pcre:"/^\d{3}&/R"; sid:1;)"#;
    assert!(hits(r, b"x key=123&"));
    assert!(!hits(r, b"x key=12&"));
    // Negated pcre.
    let r = r#"alert tcp any any -> any any (content:"a"; pcre:!"/b/"; sid:1;)"#;
    assert!(hits(r, b"aaa"));
    assert!(!hits(r, b"ab"));
}

#[test]
fn pcre_buffer_flags() {
    // U: the normalised URI buffer.
    let mut d = detector(r#"alert http any any -> any any (pcre:"/\/admin\.php$/U"; sid:1;)"#);
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, b"/site/admin.php")];
    assert_eq!(sids(&mut d, &tcp(b"").tx(0, AppProto::Http, bufs)), [1]);
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, b"/admin.php?x")];
    assert!(sids(&mut d, &tcp(b"").tx(0, AppProto::Http, bufs)).is_empty());
}

#[test]
fn byte_test_and_byte_jump() {
    // byte_test: 2 bytes big-endian at offset 0 compared to 0x0102.
    let r = r#"alert tcp any any -> any any (byte_test:2,=,0x0102,0; sid:1;)"#;
    assert!(hits(r, b"\x01\x02rest"));
    assert!(!hits(r, b"\x01\x03rest"));
    let r = r#"alert tcp any any -> any any (content:"len="; byte_test:3,>,100,0,relative,string,dec; sid:1;)"#;
    assert!(hits(r, b"len=250;"));
    assert!(!hits(r, b"len=050;"));
    // byte_jump: read a length, jump over that many bytes, match right after.
    let r = r#"alert tcp any any -> any any (byte_jump:1,0; content:"X"; within:1; sid:1;)"#;
    assert!(hits(r, b"\x03abcX"));
    assert!(!hits(r, b"\x02abcX"));
}

#[test]
fn bsize_and_sticky_buffers() {
    let mut d = detector(
        r#"alert http any any -> any any (http.method; content:"POST"; http.uri; content:"/up"; startswith; bsize:<10; sid:1;)"#,
    );
    let ok: &[(BufferKind, &[u8])] = &[
        (BufferKind::HttpMethod, b"POST"),
        (BufferKind::HttpUri, b"/up.php"),
    ];
    let long: &[(BufferKind, &[u8])] = &[
        (BufferKind::HttpMethod, b"POST"),
        (BufferKind::HttpUri, b"/upload.php"),
    ];
    let get: &[(BufferKind, &[u8])] = &[
        (BufferKind::HttpMethod, b"GET"),
        (BufferKind::HttpUri, b"/up.php"),
    ];
    assert_eq!(sids(&mut d, &tcp(b"").tx(0, AppProto::Http, ok)), [1]);
    assert!(sids(&mut d, &tcp(b"").tx(0, AppProto::Http, long)).is_empty());
    assert!(sids(&mut d, &tcp(b"").tx(0, AppProto::Http, get)).is_empty());
}

#[test]
fn legacy_modifiers_move_the_content() {
    let mut d = detector(
        r#"alert tcp any any -> any any (content:"POST"; http_method; content:"/up"; http_uri; sid:1;)"#,
    );
    let ok: &[(BufferKind, &[u8])] = &[
        (BufferKind::HttpMethod, b"POST"),
        (BufferKind::HttpUri, b"/up"),
    ];
    assert_eq!(sids(&mut d, &tcp(b"").tx(0, AppProto::Http, ok)), [1]);
    // On the packet payload the rule is not evaluated: it is a transaction rule.
    assert!(sids(&mut d, &tcp(b"POST /up")).is_empty());
}

#[test]
fn once_per_transaction() {
    let mut d = detector(r#"alert http any any -> any any (http.uri; content:"/x"; sid:1;)"#);
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, b"/x")];
    let mut flow = FlowDetectState::default();
    assert_eq!(
        run(&mut d, &mut flow, &tcp(b"").tx(0, AppProto::Http, bufs)).len(),
        1
    );
    assert_eq!(
        run(&mut d, &mut flow, &tcp(b"").tx(0, AppProto::Http, bufs)).len(),
        0
    );
    assert_eq!(
        run(&mut d, &mut flow, &tcp(b"").tx(1, AppProto::Http, bufs)).len(),
        1
    );
}

#[test]
fn request_and_response_buffers_of_one_transaction() {
    let mut d = detector(
        r#"alert http any any -> any any (flow:to_client; http.uri; content:"/dl"; http.stat_code; content:"200"; sid:1;)"#,
    );
    let mut flow = FlowDetectState::default();
    let req: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, b"/dl")];
    let resp: &[(BufferKind, &[u8])] = &[(BufferKind::HttpStatCode, b"200")];
    assert!(run(&mut d, &mut flow, &tcp(b"").tx(3, AppProto::Http, req)).is_empty());
    let a = run(
        &mut d,
        &mut flow,
        &tcp(b"").reply().tx(3, AppProto::Http, resp),
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].tx_id, Some(3));
}

#[test]
fn app_layer_protocol_and_header_protocol() {
    let mut d = detector(
        "alert tcp any any -> any any (app-layer-protocol:tls; content:\"x\"; sid:1;)\n\
         alert tcp any any -> any any (app-layer-protocol:!tls; content:\"x\"; sid:2;)",
    );
    let mut p = tcp(b"x");
    p.input.app_proto = AppProto::Tls;
    assert_eq!(sids(&mut d, &p), [1]);
    p.input.app_proto = AppProto::Http;
    assert_eq!(sids(&mut d, &p), [2]);
    // Neither matches before the protocol is known (Suricata waits for detection).
    assert!(sids(&mut d, &tcp(b"x")).is_empty());
    let mut d = detector(r#"alert udp any any -> any any (content:"x"; sid:1;)"#);
    assert!(sids(&mut d, &tcp(b"x")).is_empty());
}

#[test]
fn ip_only_rules_once_per_flow_direction() {
    // Suricata's `ip_only` type (addresses only, no negation, no flow keyword) is
    // inspected once per flow and direction; with a negated address (`like_ip_only`)
    // or a `flow` keyword it is inspected on every packet.
    let mut d = detector(
        "alert ip any any -> 203.0.113.5 any (sid:1;)\n\
         alert ip any any -> !10.0.0.0/8 any (sid:2;)\n\
         alert ip any any -> 203.0.113.5 any (flow:to_server; sid:3;)\n\
         alert ip any any <> 203.0.113.5 any (sid:4;)",
    );
    let mut flow = FlowDetectState::default();
    let a = |d: &mut Detector, flow: &mut FlowDetectState, p: &Pkt<'_>| {
        run(d, flow, p).iter().map(|a| a.sid).collect::<Vec<_>>()
    };
    assert_eq!(a(&mut d, &mut flow, &tcp(b"")), [1, 2, 3, 4]);
    assert_eq!(a(&mut d, &mut flow, &tcp(b"")), [2, 3]);
    assert_eq!(a(&mut d, &mut flow, &tcp(b"").reply()), [2, 4]);
    assert_eq!(a(&mut d, &mut flow, &tcp(b"").reply()), [2]);
    let mut other = FlowDetectState::default();
    assert_eq!(a(&mut d, &mut other, &tcp(b"")), [1, 2, 3, 4]);
}

#[test]
fn protocol_only_rules_are_per_packet() {
    // Suricata's `app_layer` rule type: only the header names the protocol; it is
    // inspected on every packet of flows of that protocol, not per transaction.
    let mut d = detector("alert http any any -> any any (flow:to_server; sid:1;)");
    let mut flow = FlowDetectState::default();
    let mut p = tcp(b"");
    assert!(
        run(&mut d, &mut flow, &p).is_empty(),
        "protocol not known yet"
    );
    p.input.app_proto = AppProto::Http;
    assert_eq!(run(&mut d, &mut flow, &p).len(), 1);
    assert_eq!(run(&mut d, &mut flow, &p).len(), 1);
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, b"/")];
    assert!(run(&mut d, &mut flow, &tcp(b"").tx(0, AppProto::Http, bufs)).is_empty());
}

#[test]
fn flow_direction_and_state() {
    let r = "alert tcp any any -> any any (flow:to_client,established; content:\"x\"; sid:1;)";
    let mut d = detector(r);
    assert!(sids(&mut d, &tcp(b"x")).is_empty());
    assert_eq!(sids(&mut d, &tcp(b"x").reply()), [1]);
    let mut p = tcp(b"x").reply();
    p.input.established = false;
    assert!(sids(&mut d, &p).is_empty());
}

#[test]
fn only_stream_and_no_stream() {
    let mut d = detector(
        "alert tcp any any -> any any (flow:only_stream; content:\"abc\"; sid:1;)\n\
         alert tcp any any -> any any (flow:no_stream; content:\"abc\"; sid:2;)",
    );
    let mut p = tcp(b"c");
    p.input.stream = Some(b"abc");
    assert_eq!(sids(&mut d, &p), [1]);
    let mut p = tcp(b"abc");
    p.input.stream = None;
    assert_eq!(sids(&mut d, &p), [2]);
}

#[test]
fn content_split_over_segments_matches_once() {
    // The stream is inspected behind the tail of earlier data: a content (and a
    // relative match) split over two segments is found, and not found again later.
    let mut d = detector(
        "alert tcp any any -> any any (content:\"attack-pattern\"; sid:1;)\n\
         alert tcp any any -> any any (content:\"user \"; content:\"root\"; distance:0; within:6; sid:2;)",
    );
    let mut flow = FlowDetectState::default();
    let segs: [&[u8]; 5] = [
        b"xx atta",
        b"ck-pattern yy",
        b"login: user",
        b" root",
        b" more data",
    ];
    let got: Vec<Vec<u32>> = segs
        .iter()
        .map(|s| {
            run(&mut d, &mut flow, &tcp(s))
                .iter()
                .map(|a| a.sid)
                .collect()
        })
        .collect();
    assert_eq!(got, [vec![], vec![1], vec![], vec![2], vec![]]);
}

#[test]
fn fast_pattern_in_an_earlier_segment_and_the_rest_later_matches_once() {
    // The fast pattern ("marker-one", the longest content) arrives in one segment and
    // the other content two segments later; the rule is found on the stream then, once.
    let mut d = detector(
        "alert tcp any any -> any any (content:\"marker-one\"; content:\"xyz\"; distance:0; sid:1;)",
    );
    let mut flow = FlowDetectState::default();
    let segs: [&[u8]; 5] = [
        b"head marker-one and",
        b" some filler",
        b" then xyz",
        b" xyz again",
        b" tail",
    ];
    let got: Vec<Vec<u32>> = segs
        .iter()
        .map(|s| {
            run(&mut d, &mut flow, &tcp(s))
                .iter()
                .map(|a| a.sid)
                .collect()
        })
        .collect();
    // Once: with the segment that completes it, not again while the match found
    // then is still in the inspected tail.
    assert_eq!(got, [vec![], vec![], vec![1], vec![], vec![]]);
}

#[test]
fn established_tcp_inspects_plain_content_on_the_stream_only() {
    // Suricata's `stream` rule type: on a reassembled session a plain content is
    // matched on the stream, so an out-of-order or retransmitted segment (no new
    // stream data) does not alert again; an anchored rule (`pkt_stream`: depth,
    // offset, startswith) is also matched on the packet.
    let mut d = detector(
        "alert tcp any any -> any any (content:\"evil\"; sid:1;)\n\
         alert tcp any any -> any any (content:\"evil\"; depth:4; sid:2;)",
    );
    let mut p = tcp(b"evil");
    assert_eq!(sids(&mut d, &p), [1, 2]);
    p.input.stream = None;
    assert_eq!(sids(&mut d, &p), [2]);
    p.input.established = false;
    assert_eq!(sids(&mut d, &p), [1, 2], "not reassembled: packet payload");
    let mut udp = tcp(b"evil");
    udp.input.ip_proto = 17;
    udp.input.stream = None;
    assert_eq!(sids(&mut d, &udp), Vec::<u32>::new(), "tcp rules");
}

#[test]
fn flowbits_set_before_isset_and_noalert() {
    // Suricata orders rules that set a flowbit before those that check it, so both
    // fire on the same packet; `flowbits:noalert` sets without alerting.
    let mut d = detector(
        "alert tcp any any -> any any (flowbits:isset,seen; content:\"b\"; sid:2;)\n\
         alert tcp any any -> any any (content:\"a\"; flowbits:set,seen; flowbits:noalert; sid:1;)",
    );
    let mut flow = FlowDetectState::default();
    let a = run(&mut d, &mut flow, &tcp(b"ab"));
    assert_eq!(a.iter().map(|a| a.sid).collect::<Vec<_>>(), [2]);
    assert!(flow.flowbits.contains("seen"));
    let mut fresh = FlowDetectState::default();
    assert!(run(&mut d, &mut fresh, &tcp(b"b")).is_empty());
    // isnotset, unset, toggle
    let mut d = detector(
        "alert tcp any any -> any any (content:\"u\"; flowbits:unset,x; flowbits:noalert; sid:1;)\n\
         alert tcp any any -> any any (content:\"t\"; flowbits:toggle,x; flowbits:noalert; sid:2;)\n\
         alert tcp any any -> any any (content:\"q\"; flowbits:isnotset,x; sid:3;)",
    );
    let mut flow = FlowDetectState::default();
    assert_eq!(run(&mut d, &mut flow, &tcp(b"q")).len(), 1);
    run(&mut d, &mut flow, &tcp(b"t"));
    assert!(flow.flowbits.contains("x"));
    assert!(run(&mut d, &mut flow, &tcp(b"q")).is_empty());
    run(&mut d, &mut flow, &tcp(b"u"));
    assert!(!flow.flowbits.contains("x"));
}

#[test]
fn ttl_icmp_and_tcp_flags() {
    let mut d = detector("alert ip any any -> any any (ttl:<10; sid:1;)");
    let mut p = tcp(b"");
    p.input.ttl = 5;
    assert_eq!(sids(&mut d, &p), [1]);
    assert!(sids(&mut d, &tcp(b"")).is_empty());

    let mut d = detector("alert icmp any any -> any any (itype:8; icode:0; sid:1;)");
    let mut p = tcp(b"");
    p.input.ip_proto = 1;
    p.input.l4 = Layer4::Icmp {
        icmp_type: 8,
        icmp_code: 0,
    };
    assert_eq!(sids(&mut d, &p), [1]);
    p.input.l4 = Layer4::Icmp {
        icmp_type: 0,
        icmp_code: 0,
    };
    assert!(sids(&mut d, &p).is_empty());

    // flags:S exactly SYN; flags:S,12 ignores the reserved bits; +: at least; *: any.
    let with = |flags: u8| {
        let mut p = tcp(b"");
        if let Layer4::Tcp { flags: f, .. } = &mut p.input.l4 {
            *f = flags;
        }
        p
    };
    let mut d = detector(
        "alert tcp any any -> any any (flags:S; sid:1;)\n\
         alert tcp any any -> any any (flags:SA+; sid:2;)\n\
         alert tcp any any -> any any (flags:*FR; sid:3;)\n\
         alert tcp any any -> any any (flags:!A; sid:4;)",
    );
    assert_eq!(sids(&mut d, &with(0x02)), [1, 4]);
    assert_eq!(sids(&mut d, &with(0x12)), [2]);
    assert_eq!(sids(&mut d, &with(0x1a)), [2]);
    assert_eq!(sids(&mut d, &with(0x11)), [3]);
}

#[test]
fn addresses_ports_and_bidirectional() {
    let mut d = detector(
        "alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (content:\"x\"; sid:1;)\n\
         alert tcp $EXTERNAL_NET $HTTP_PORTS <> $HOME_NET any (content:\"x\"; sid:2;)\n\
         alert tcp $EXTERNAL_NET any -> $HOME_NET any (content:\"x\"; sid:3;)",
    );
    assert_eq!(sids(&mut d, &tcp(b"x")), [1, 2]);
    assert_eq!(sids(&mut d, &tcp(b"x").reply()), [2, 3]);
}

#[test]
fn action_order_and_severity() {
    let mut d = detector(
        "alert tcp any any -> any any (msg:\"a\"; content:\"x\"; classtype:trojan-activity; sid:1;)\n\
         drop tcp any any -> any any (msg:\"d\"; content:\"x\"; priority:2; sid:2;)\n\
         reject tcp any any -> any any (msg:\"r\"; content:\"x\"; sid:3;)",
    );
    let a = {
        let mut flow = FlowDetectState::default();
        run(&mut d, &mut flow, &tcp(b"x"))
    };
    assert_eq!(
        a.iter().map(|a| (a.sid, a.action)).collect::<Vec<_>>(),
        [(2, Action::Drop), (3, Action::Reject), (1, Action::Alert)]
    );
    assert_eq!(a[2].category, "A Network Trojan was detected");
    assert_eq!(a[2].severity, 1);
    assert_eq!(a[0].severity, 2);
    assert_eq!(a[1].severity, 3);
}

#[test]
fn pass_stops_detection_for_the_flow() {
    let mut d = detector(
        "alert tcp any any -> any any (content:\"x\"; sid:1;)\n\
         pass tcp any any -> any any (content:\"ok\"; sid:2;)",
    );
    let mut flow = FlowDetectState::default();
    assert!(run(&mut d, &mut flow, &tcp(b"ok x")).is_empty());
    assert!(flow.passed);
    assert!(run(&mut d, &mut flow, &tcp(b"x")).is_empty());
    let mut other = FlowDetectState::default();
    assert_eq!(run(&mut d, &mut other, &tcp(b"x")).len(), 1);
    // A packet-type pass rule (here: dsize) passes the packet only.
    let mut d = detector(
        "alert tcp any any -> any any (content:\"x\"; sid:1;)\n\
         pass tcp any any -> any any (dsize:<3; sid:2;)",
    );
    let mut flow = FlowDetectState::default();
    assert!(run(&mut d, &mut flow, &tcp(b"x")).is_empty());
    assert!(!flow.passed);
    assert_eq!(run(&mut d, &mut flow, &tcp(b"xxxx")).len(), 1);
}

fn count_alerts(rule: &str, times: &[(i64, &str)]) -> Vec<usize> {
    let mut d = detector(rule);
    let mut flow = FlowDetectState::default();
    times
        .iter()
        .map(|(t, src)| run(&mut d, &mut flow, &tcp(b"x").at(*t).from(src)).len())
        .collect()
}

#[test]
fn threshold_limit_threshold_both() {
    let a = "192.168.1.1";
    let b = "192.168.1.2";
    // limit: at most `count` alerts per `seconds`, per source.
    let r = "alert tcp any any -> any any (content:\"x\"; threshold:type limit, track by_src, count 2, seconds 60; sid:1;)";
    assert_eq!(
        count_alerts(r, &[(0, a), (1, a), (2, a), (3, b), (61, a)]),
        [1, 1, 0, 1, 1]
    );
    // threshold: every `count`-th match within `seconds`.
    let r = "alert tcp any any -> any any (content:\"x\"; threshold:type threshold, track by_src, count 3, seconds 60; sid:1;)";
    assert_eq!(
        count_alerts(r, &[(0, a), (1, a), (2, a), (3, a), (4, a), (5, a)]),
        [0, 0, 1, 0, 0, 1]
    );
    // both: once per period, after `count` matches.
    let r = "alert tcp any any -> any any (content:\"x\"; threshold:type both, track by_dst, count 2, seconds 60; sid:1;)";
    assert_eq!(
        count_alerts(r, &[(0, a), (1, b), (2, a), (70, a), (71, a)]),
        [0, 1, 0, 0, 1]
    );
}

#[test]
fn detection_filter() {
    // Alerts on every match after the first `count` within `seconds`.
    let a = "192.168.1.1";
    let r = "alert tcp any any -> any any (content:\"x\"; detection_filter:track by_src, count 2, seconds 10; sid:1;)";
    assert_eq!(
        count_alerts(r, &[(0, a), (1, a), (2, a), (3, a), (20, a)]),
        [0, 0, 1, 1, 0]
    );
}

#[test]
fn detection_filter_unique_on_ports() {
    // unique_on dst_port: only distinct destination ports count.
    let mut d = detector(
        "alert tcp any any -> any any (content:\"x\"; detection_filter:track by_src, count 2, seconds 60, unique_on dst_port; sid:1;)",
    );
    let mut flow = FlowDetectState::default();
    let mut n = Vec::new();
    for port in [1u16, 1, 2, 2, 3, 3, 4] {
        let mut p = tcp(b"x");
        if let Layer4::Tcp { dst_port, .. } = &mut p.input.l4 {
            *dst_port = port;
        }
        n.push(run(&mut d, &mut flow, &p).len());
    }
    assert_eq!(n, [0, 0, 0, 0, 1, 0, 1]);
}

#[test]
fn payload_and_buffer_keywords_in_one_rule() {
    // The payload part matches on a packet of the flow, the buffer part on the
    // transaction; `dns_query` is a sticky buffer, not a modifier of the content
    // before it.
    let mut d = detector(
        r#"alert dns any any -> any any (content:"|01 00 00 01|"; offset:2; depth:4; dns_query; content:"update"; sid:1;)"#,
    );
    let mut flow = FlowDetectState::default();
    let mut pkt = tcp(b"\x12\x34\x01\x00\x00\x01rest");
    pkt.input.app_proto = AppProto::Dns;
    assert!(run(&mut d, &mut flow, &pkt).is_empty());
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::DnsQuery, b"drivres-update.com")];
    assert_eq!(
        run(&mut d, &mut flow, &tcp(b"").tx(0, AppProto::Dns, bufs)).len(),
        1
    );
    // Without the payload part on this flow, the transaction alone does not match.
    let mut other = FlowDetectState::default();
    assert!(run(&mut d, &mut other, &tcp(b"").tx(0, AppProto::Dns, bufs)).is_empty());
}

#[test]
fn dotprefix_and_multi_buffers() {
    // dotprefix prepends a `.` so `.example.com` with endswith matches the domain and
    // its subdomains only.
    let mut d = detector(
        r#"alert dns any any -> any any (dns.query; dotprefix; content:".example.com"; endswith; sid:1;)"#,
    );
    for (q, hit) in [
        (&b"example.com"[..], true),
        (b"www.example.com", true),
        (b"badexample.com", false),
    ] {
        let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::DnsQuery, q)];
        let mut p = tcp(b"").tx(0, AppProto::Dns, bufs);
        p.input.ip_proto = 17;
        assert_eq!(
            !sids(&mut d, &p).is_empty(),
            hit,
            "{}",
            String::from_utf8_lossy(q)
        );
    }
    // tls.certs: each certificate is one instance; any may match.
    let mut d = detector(r#"alert tls any any -> any any (tls.certs; content:"EVIL"; sid:1;)"#);
    let bufs: &[(BufferKind, &[u8])] = &[
        (BufferKind::TlsCerts, b"good"),
        (BufferKind::TlsCerts, b"xEVILx"),
    ];
    assert_eq!(
        sids(&mut d, &tcp(b"").reply().tx(0, AppProto::Tls, bufs)),
        [1]
    );
}

#[test]
fn file_data_uses_the_http_body() {
    let mut d = detector(
        r#"alert http any any -> any any (flow:to_client; file.data; content:"EICAR"; sid:1;)"#,
    );
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpResponseBody, b"X5O EICAR")];
    assert_eq!(
        sids(&mut d, &tcp(b"").reply().tx(0, AppProto::Http, bufs)),
        [1]
    );
}

#[test]
fn prefilter_keeps_rules_without_fast_pattern() {
    // IP-only rules are found through the address index; pcre-only rules are always
    // candidates.
    let mut d = detector(
        "alert ip [203.0.113.0/24,198.51.100.7] any -> any any (sid:1;)\n\
         alert tcp any any -> any any (pcre:\"/zz+/\"; sid:2;)\n\
         alert ip any any -> [198.51.100.7,203.0.113.5] any (sid:3;)",
    );
    // 192.168.1.10 -> 203.0.113.5
    assert_eq!(sids(&mut d, &tcp(b"azzz")), [2, 3]);
    let mut p = tcp(b"azzz");
    p.input.dst_ip = "10.0.0.1".parse().unwrap();
    assert_eq!(sids(&mut d, &p), [2]);
    // 203.0.113.5 -> 192.168.1.10
    assert_eq!(sids(&mut d, &tcp(b"azzz").reply()), [1, 2]);
    assert_eq!(sids(&mut d, &tcp(b"a").reply()), [1]);
}

#[test]
fn prefilter_selects_by_fast_pattern() {
    // Only rules whose fast pattern occurs are evaluated; an explicit fast_pattern
    // wins over the longest content.
    let mut d = detector(
        "alert tcp any any -> any any (content:\"needle-one\"; sid:1;)\n\
         alert tcp any any -> any any (content:\"ab\"; fast_pattern; content:\"longer-content\"; sid:2;)\n\
         alert http any any -> any any (http.uri; content:\"/admin\"; sid:3;)\n\
         alert http any any -> any any (file.data; content:\"EICAR\"; sid:4;)",
    );
    let flow = FlowDetectState::default();
    assert_eq!(d.candidate_sids(&tcp(b"xx NEEDLE-ONE").input, &flow), [1]);
    assert_eq!(
        d.candidate_sids(&tcp(b"longer-content").input, &flow),
        Vec::<u32>::new()
    );
    assert_eq!(d.candidate_sids(&tcp(b"ab").input, &flow), [2]);
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, b"/x/admin")];
    assert_eq!(
        d.candidate_sids(&tcp(b"").tx(0, AppProto::Http, bufs).input, &flow),
        [3]
    );
    // Response body and file.data share one automaton.
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpResponseBody, b"..eicar..")];
    let p = tcp(b"").reply().tx(0, AppProto::Http, bufs);
    assert_eq!(d.candidate_sids(&p.input, &flow), [4]);
    assert_eq!(
        sids(&mut d, &p),
        Vec::<u32>::new(),
        "case differs: no match"
    );
}

#[test]
fn xbits_per_host_across_flows_with_expiry() {
    // xbits are kept per host (here the source) across flows, until `expire`.
    let mut d = detector(
        "alert tcp any any -> any any (content:\"login\"; xbits:set,seen,track ip_src,expire 10; xbits:noalert; sid:1;)\n\
         alert tcp any any -> any any (content:\"data\"; xbits:isset,seen,track ip_src; sid:2;)",
    );
    let mut f1 = FlowDetectState::default();
    let mut f2 = FlowDetectState::default();
    assert!(run(&mut d, &mut f2, &tcp(b"data").at(0)).is_empty());
    assert!(run(&mut d, &mut f1, &tcp(b"login").at(1)).is_empty());
    assert_eq!(
        run(&mut d, &mut f2, &tcp(b"data").at(5)).len(),
        1,
        "other flow, same host"
    );
    assert!(
        run(&mut d, &mut f2, &tcp(b"data").at(5).from("192.168.9.9")).is_empty(),
        "other host"
    );
    assert!(
        run(&mut d, &mut f2, &tcp(b"data").at(12)).is_empty(),
        "expired"
    );
}

#[test]
fn flowint_counts_per_flow() {
    // flowint: `+` adds after the rule matched; comparisons are conditions.
    let mut d = detector(
        "alert tcp any any -> any any (content:\"try\"; flowint:tries,+,1; noalert; sid:1;)\n\
         alert tcp any any -> any any (content:\"try\"; flowint:tries,>,2; sid:2;)\n\
         alert tcp any any -> any any (content:\"reset\"; flowint:tries,=,0; noalert; sid:3;)\n\
         alert tcp any any -> any any (content:\"new\"; flowint:tries,notset; sid:4;)",
    );
    let mut flow = FlowDetectState::default();
    assert_eq!(run(&mut d, &mut flow, &tcp(b"new")).len(), 1);
    let n: Vec<usize> = (0..4)
        .map(|_| run(&mut d, &mut flow, &tcp(b"try")).len())
        .collect();
    assert_eq!(
        n,
        [0, 0, 1, 1],
        "alerts once the count, added after each match, exceeds 2"
    );
    run(&mut d, &mut flow, &tcp(b"reset"));
    assert_eq!(flow.flowints.get("tries"), Some(&0));
    assert!(run(&mut d, &mut flow, &tcp(b"new")).is_empty(), "set now");
}

#[test]
fn stream_size_by_sequence_numbers() {
    // stream_size compares next_seq - isn of a direction (the SYN counts one).
    let mut d = detector("alert tcp any any -> any any (stream_size:client,>,5; sid:1;)");
    let seg = |seq: u32, flags: u8, payload: &'static [u8]| {
        let mut p = tcp(payload);
        p.input.l4 = Layer4::Tcp {
            src_port: 40000,
            dst_port: 80,
            flags,
            seq,
            ack: 0,
            window: 100,
        };
        p
    };
    let mut flow = FlowDetectState::default();
    assert!(run(&mut d, &mut flow, &seg(1000, 0x02, b"")).is_empty());
    assert!(run(&mut d, &mut flow, &seg(1001, 0x18, b"abc")).is_empty());
    assert!(
        run(&mut d, &mut flow, &seg(1001, 0x18, b"abc")).is_empty(),
        "retransmission"
    );
    assert_eq!(run(&mut d, &mut flow, &seg(1004, 0x18, b"de")).len(), 1);
}

#[test]
fn base64_decode_and_base64_data() {
    // base64_decode decodes from the previous match (relative) and base64_data
    // inspects the decoded bytes.
    let mut d = detector(
        r#"alert http any any -> any any (http.uri; content:"q="; base64_decode:offset 0, relative; base64_data; content:"cmd.exe"; nocase; sid:1;)"#,
    );
    // "run CMD.EXE now" in base64
    let enc = b"/x?q=cnVuIENNRC5FWEUgbm93";
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, enc)];
    assert_eq!(sids(&mut d, &tcp(b"").tx(0, AppProto::Http, bufs)), [1]);
    let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, b"/x?q=aGFybWxlc3M=")];
    assert!(sids(&mut d, &tcp(b"").tx(0, AppProto::Http, bufs)).is_empty());
    // bytes and offset limit what is decoded.
    let mut d = detector(
        r#"alert tcp any any -> any any (content:"B64:"; base64_decode:bytes 8, offset 0, relative; base64_data; content:"abcdef"; sid:1;)"#,
    );
    assert!(hits_det(&mut d, b"B64:YWJjZGVmZ2g="));
    let mut d = detector(
        r#"alert tcp any any -> any any (content:"B64:"; base64_decode:bytes 4, relative; base64_data; content:"abcdef"; sid:1;)"#,
    );
    assert!(!hits_det(&mut d, b"B64:YWJjZGVmZ2g="));
}

fn hits_det(d: &mut Detector, payload: &[u8]) -> bool {
    !sids(d, &tcp(payload)).is_empty()
}

#[test]
fn byte_options_and_pcre_modes() {
    // byte_test: little endian, bitmask (shifted by its trailing zeros), hex strings.
    assert!(hits(
        r#"alert tcp any any -> any any (byte_test:2,=,0x0201,0,little; sid:1;)"#,
        b"\x01\x02"
    ));
    assert!(hits(
        r#"alert tcp any any -> any any (byte_test:1,=,3,0,bitmask 0x30; sid:1;)"#,
        b"\x3f"
    ));
    assert!(hits(
        r#"alert tcp any any -> any any (byte_test:2,>,0x1f,0,string,hex; sid:1;)"#,
        b"ff"
    ));
    assert!(hits(
        r#"alert tcp any any -> any any (byte_test:1,!&,0x80,0; sid:1;)"#,
        b"\x7f"
    ));
    // byte_jump: multiplier, post_offset, from_beginning.
    let r = r#"alert tcp any any -> any any (byte_jump:1,0,multiplier 2,post_offset -1; content:"Z"; within:1; sid:1;)"#;
    assert!(hits(r, b"\x02abcZ"));
    assert!(!hits(r, b"\x02abZc"));
    let r = r#"alert tcp any any -> any any (content:"L"; byte_jump:1,0,relative,from_beginning; content:"Z"; within:1; sid:1;)"#;
    assert!(hits(r, b"xL\x04.Z"));
    // Out of bounds never matches and never panics.
    assert!(!hits(
        r#"alert tcp any any -> any any (byte_jump:4,0; content:"Z"; sid:1;)"#,
        b"\xff\xff\xff\xffZ"
    ));
    assert!(!hits(
        r#"alert tcp any any -> any any (byte_test:8,>,1,100; sid:1;)"#,
        b"short"
    ));
    // pcre s and m: `.` spans newlines, `^` anchors at line starts.
    assert!(hits(
        r#"alert tcp any any -> any any (pcre:"/a.b/s"; sid:1;)"#,
        b"a\nb"
    ));
    assert!(!hits(
        r#"alert tcp any any -> any any (pcre:"/a.b/"; sid:1;)"#,
        b"a\nb"
    ));
    assert!(hits(
        r#"alert tcp any any -> any any (pcre:"/^host:/mi"; sid:1;)"#,
        b"GET /\r\nHost: x"
    ));
    assert!(hits(
        r#"alert tcp any any -> any any (pcre:"/a b c/x"; sid:1;)"#,
        b"abc"
    ));
    // A: anchored at the start of the buffer; G: ungreedy (decides where a relative
    // match continues).
    assert!(hits(
        r#"alert tcp any any -> any any (pcre:"/ab/A"; sid:1;)"#,
        b"abc"
    ));
    assert!(!hits(
        r#"alert tcp any any -> any any (pcre:"/ab/A"; sid:1;)"#,
        b"cab"
    ));
    assert!(hits(
        r#"alert tcp any any -> any any (pcre:"/a.+b/G"; content:"b"; distance:0; within:1; sid:1;)"#,
        b"a1bb2b"
    ));
    assert!(!hits(
        r#"alert tcp any any -> any any (pcre:"/a.+b/"; content:"b"; distance:0; within:1; sid:1;)"#,
        b"a1bb2b"
    ));
    // fast_pattern:offset,length chops the pattern; the full content still decides.
    let r = r#"alert tcp any any -> any any (content:"abcdefgh"; fast_pattern:2,3; sid:1;)"#;
    assert!(hits(r, b"__abcdefgh"));
    assert!(!hits(r, b"__cde"));
    // urilen
    let mut d = detector("alert http any any -> any any (urilen:3<>6; sid:1;)");
    for (uri, hit) in [(&b"/abcd"[..], true), (b"/abcdefg", false), (b"/a", false)] {
        let bufs: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, uri)];
        assert_eq!(
            !sids(&mut d, &tcp(b"").tx(0, AppProto::Http, bufs)).is_empty(),
            hit
        );
    }
}

#[test]
fn needs_reports_buffers_and_stream() {
    let d = detector(
        "alert tcp any any -> any any (content:\"x\"; sid:1;)\n\
         alert http any any -> any any (http.host; content:\"h\"; sid:2;)",
    );
    let n = d.needs();
    assert!(n.stream && n.app_layer);
    assert!(n.buffers.contains(&BufferKind::HttpHost));
    let d = detector("alert udp any any -> any any (content:\"x\"; sid:1;)");
    assert!(!d.needs().stream && !d.needs().app_layer);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    const RULES: &str = r#"
alert tcp any any -> any any (content:"a"; byte_jump:4,-3,relative,multiplier 1000,post_offset -100; content:"b"; distance:-5; within:3; sid:1;)
alert tcp any any -> any any (byte_test:0,>,5,0,string,dec; byte_test:8,&,0xff,-2,relative,little; sid:2;)
alert tcp any any -> any any (content:"x"; isdataat:!65535,relative; pcre:"/(a|b)*c$/R"; sid:3;)
alert tcp any any -> any any (content:"k"; base64_decode:bytes 3, offset 7, relative; base64_data; content:"q"; distance:-1; sid:4;)
alert tcp any any -> any any (byte_jump:2,0,from_end,post_offset -70000; content:"z"; within:1; sid:5;)
alert http any any -> any any (http.uri; dotprefix; content:"."; startswith; content:"x"; endswith; bsize:<5; sid:6;)
alert tcp any any -> any any (byte_jump:8,9223372036854775807,relative,post_offset 9223372036854775807; byte_test:8,>,1,-9223372036854775808,relative; sid:8;)
alert tcp any any -> any any (byte_jump:8,0,multiplier 4294967295,align; sid:9;)
alert tcp any any -> any any (dsize:!0; stream_size:either,>,1; threshold:type both, track by_flow, count 2, seconds 1; sid:7;)
"#;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn on_arbitrary_payloads_and_buffers(
            payload in prop::collection::vec(any::<u8>(), 0..64),
            uri in prop::collection::vec(any::<u8>(), 0..16),
            seq in any::<u32>(),
            flags in any::<u8>(),
            ts in any::<i64>(),
            ts2 in any::<i64>(),
        ) {
            let mut d = detector(RULES);
            let mut flow = FlowDetectState::default();
            let mut p = tcp(&payload);
            p.input.ts_micros = ts;
            p.input.l4 = Layer4::Tcp { src_port: 1, dst_port: 80, flags, seq, ack: 0, window: 0 };
            p.input.stream = Some(&payload);
            run(&mut d, &mut flow, &p);
            p.input.ts_micros = ts2;
            run(&mut d, &mut flow, &p);
            let bufs: Vec<(BufferKind, &[u8])> = vec![(BufferKind::HttpUri, &uri)];
            let t = tcp(b"").tx(0, AppProto::Http, &bufs);
            run(&mut d, &mut flow, &t);
        }
    }
}

#[test]
fn detector_can_move_between_threads() {
    // The inline (NFQUEUE) front-end runs detection off the main thread.
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Detector>();
    send_sync::<FlowDetectState>();
    send_sync::<mamori_ids::rules::Rule>();
}

#[test]
fn rule_outside_the_address_group_is_never_a_candidate() {
    // Suricata's signature group heads: the addresses decide the group before any
    // payload scan; a rule whose address sets cannot hold them is not scanned for.
    let mut d = detector(
        "alert tcp $EXTERNAL_NET any -> $HOME_NET any (content:\"needle\"; sid:1;)\n\
         alert tcp $HOME_NET any -> $HOME_NET any (content:\"needle\"; sid:2;)\n\
         alert tcp any any -> any any (content:\"needle\"; sid:3;)\n\
         alert tcp $HOME_NET any <> $EXTERNAL_NET any (content:\"needle\"; sid:4;)\n\
         alert ip $EXTERNAL_NET any -> any any (sid:5;)",
    );
    let flow = FlowDetectState::default();
    // 192.168.1.20 -> 192.168.1.10: both in $HOME_NET.
    let p = tcp(b"a needle").reply().from("192.168.1.20");
    assert_eq!(d.candidate_sids(&p.input, &flow), [2, 3]);
    // The ungrouped prefilter would have scanned for 1 and 4 and evaluated 5 as well.
    assert_eq!(d.ungrouped_candidate_sids(&p.input, &flow), [1, 2, 3, 4, 5]);
    // 203.0.113.5 -> 192.168.1.10: the external side; `<>` holds either way.
    let p = tcp(b"a needle").reply();
    assert_eq!(d.candidate_sids(&p.input, &flow), [1, 3, 4, 5]);
    assert_eq!(d.group_count(), 2);
    // A flow keeps its group per direction: the same addresses again build none.
    let mut flow = FlowDetectState::default();
    assert_eq!(run(&mut d, &mut flow, &p).len(), 4);
    assert_eq!(run(&mut d, &mut flow, &tcp(b"needle")).len(), 2);
    assert_eq!(d.group_count(), 3);
    assert!(flow.group[0].is_some() && flow.group[1].is_some());
}

#[test]
fn rule_outside_the_port_group_is_never_a_candidate() {
    // Suricata's port grouping: a rule for `$HTTP_PORTS` is not a candidate for a DNS
    // flow, nor a rule for source port 53 for a request to port 80.
    let mut d = detector(
        "alert tcp any any -> any $HTTP_PORTS (content:\"needle\"; sid:1;)\n\
         alert udp any any -> any 53 (content:\"needle\"; sid:2;)\n\
         alert tcp any 53 -> any any (content:\"needle\"; sid:3;)\n\
         alert tcp any any -> any ![80,443] (content:\"needle\"; sid:4;)\n\
         alert tcp any any <> any 8080 (content:\"needle\"; sid:5;)\n\
         alert tcp any any -> any any (content:\"needle\"; sid:6;)\n\
         alert ip any any -> any 7000 (sid:7;)\n\
         alert tcp any any -> any 7000 (sid:8;)",
    );
    let flow = FlowDetectState::default();
    // 192.168.1.10:40000 -> 203.0.113.5:80.
    let p = tcp(b"a needle");
    assert_eq!(d.candidate_sids(&p.input, &flow), [1, 6]);
    assert_eq!(
        d.ungrouped_candidate_sids(&p.input, &flow),
        [1, 3, 4, 5, 6, 7, 8]
    );
    // The reply, 203.0.113.5:80 -> 192.168.1.10:40000.
    let p = tcp(b"a needle").reply();
    assert_eq!(d.candidate_sids(&p.input, &flow), [4, 6]);
    // To port 8080 (not one of the default `$HTTP_PORTS`): `<>` holds either way.
    let mut p = tcp(b"a needle");
    p.input.l4 = Layer4::Tcp {
        src_port: 40000,
        dst_port: 8080,
        flags: 0x18,
        seq: 1,
        ack: 1,
        window: 1000,
    };
    assert_eq!(d.candidate_sids(&p.input, &flow), [4, 5, 6]);
    let p = p.reply();
    assert_eq!(d.candidate_sids(&p.input, &flow), [4, 5, 6]);
    // A DNS query over UDP: only the UDP rule for port 53 and the `ip` rule's group.
    let mut p = tcp(b"a needle");
    p.input.ip_proto = 17;
    p.input.l4 = Layer4::Udp {
        src_port: 40000,
        dst_port: 53,
    };
    assert_eq!(d.candidate_sids(&p.input, &flow), [2]);
    // Without ports (ICMP), port expressions do not apply: the rules without content
    // for port 7000 are candidates (the full evaluation checks the protocol).
    let mut p = tcp(b"");
    p.input.ip_proto = 1;
    p.input.stream = None;
    p.input.l4 = Layer4::Icmp {
        icmp_type: 8,
        icmp_code: 0,
    };
    assert_eq!(d.candidate_sids(&p.input, &flow), [7, 8]);
    // Many source ports of the same class share one group.
    let before = d.group_count();
    for sp in 40001..40100 {
        let mut p = tcp(b"a needle");
        p.input.l4 = Layer4::Tcp {
            src_port: sp,
            dst_port: 80,
            flags: 0x18,
            seq: 1,
            ack: 1,
            window: 1000,
        };
        assert_eq!(d.candidate_sids(&p.input, &flow), [1, 6]);
    }
    assert_eq!(d.group_count(), before);
}

mod grouping_loses_no_alert {
    use super::*;
    use proptest::prelude::*;

    const ADDRS: &[&str] = &[
        "any",
        "$HOME_NET",
        "$EXTERNAL_NET",
        "192.168.1.10",
        "[10.0.0.0/8,!10.1.0.0/16]",
        "!203.0.113.5",
    ];
    const IPS: &[&str] = &[
        "192.168.1.10",
        "192.168.1.20",
        "203.0.113.5",
        "10.1.2.3",
        "10.2.0.1",
    ];

    fn rule_text(
        sid: usize,
        (proto, src, bidir, dst, body): (usize, usize, bool, usize, usize),
    ) -> String {
        let arrow = if bidir { "<>" } else { "->" };
        let (proto, body) = match (proto, body) {
            (0, 0) => ("tcp", "content:\"ab\";"),
            (0, 1) => ("tcp", "flow:to_server; content:\"cd\";"),
            (0, _) => ("ip", ""),
            (1, 0) => ("http", "http.uri; content:\"ab\";"),
            (1, 1) => (
                "http",
                "flow:to_client; http.uri; content:\"dc\"; http.stat_code; content:\"2\";",
            ),
            (1, _) => (
                "http",
                "http.uri; content:\"dc\"; http.stat_code; content:\"2\";",
            ),
            (_, 0) => ("tcp", "flow:to_client; content:\"ba\";"),
            _ => ("tcp", "content:\"a\"; pcre:\"/c+d/\";"),
        };
        format!(
            "alert {proto} {} {} {arrow} {} {} ({body} sid:{sid};)",
            ADDRS[src],
            PORTS[sid % PORTS.len()],
            ADDRS[dst],
            PORTS[(sid / PORTS.len()) % PORTS.len()],
        )
    }

    const PORTS: &[&str] = &[
        "any",
        "$HTTP_PORTS",
        "80",
        "![80,443]",
        "1024:",
        "any",
        "[53,40000:40010]",
    ];
    const PORT_VALUES: &[u16] = &[80, 443, 53, 8080, 40000, 40005, 50000, 1000];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn against_the_ungrouped_matcher(
            rules in prop::collection::vec((0..4usize, 0..ADDRS.len(), any::<bool>(), 0..ADDRS.len(), 0..3usize), 1..12),
            client in 0..IPS.len(),
            server in 0..IPS.len(),
            cport in 0..PORT_VALUES.len(),
            sport in 0..PORT_VALUES.len(),
            inputs in prop::collection::vec((any::<bool>(), any::<bool>(), "[abcd2]{0,8}"), 1..8),
        ) {
            let text: Vec<String> = rules.iter().enumerate().map(|(i, r)| rule_text(i + 1, *r)).collect();
            let mut grouped = detector(&text.join("\n"));
            let mut plain = detector(&text.join("\n")).without_groups();
            let (mut fg, mut fp) = (FlowDetectState::default(), FlowDetectState::default());
            for (i, (reply, is_tx, data)) in inputs.iter().enumerate() {
                let mut p = tcp(data.as_bytes()).from(IPS[client]);
                p.input.dst_ip = IPS[server].parse().unwrap();
                p.input.l4 = Layer4::Tcp {
                    src_port: PORT_VALUES[cport],
                    dst_port: PORT_VALUES[sport],
                    flags: 0x18,
                    seq: 1,
                    ack: 1,
                    window: 1000,
                };
                if *reply {
                    p = p.reply();
                }
                // Requests carry the URI, responses the status code: a rule over both
                // collects its matches from the inputs of both directions.
                let kind = if *reply { BufferKind::HttpStatCode } else { BufferKind::HttpUri };
                let bufs: Vec<(BufferKind, &[u8])> = vec![(kind, data.as_bytes())];
                if *is_tx {
                    p = p.tx(0, AppProto::Http, &bufs);
                }
                let a: Vec<u32> = run(&mut grouped, &mut fg, &p).iter().map(|a| a.sid).collect();
                let b: Vec<u32> = run(&mut plain, &mut fp, &p).iter().map(|a| a.sid).collect();
                prop_assert_eq!(a, b, "rules {:?}, input {}", text, i);
            }
        }
    }
}

#[test]
fn grouping_keeps_a_transaction_rule_across_directions() {
    // A rule over request and response buffers collects the request's match on an
    // input whose addresses are the reverse of the header's, which it checks on the
    // response that completes it: it belongs to the groups of both orientations.
    let rule = "alert http $HOME_NET any -> $EXTERNAL_NET any (http.uri; content:\"dc\"; http.stat_code; content:\"2\"; sid:1;)";
    for mut d in [detector(rule), detector(rule).without_groups()] {
        let mut flow = FlowDetectState::default();
        let req: &[(BufferKind, &[u8])] = &[(BufferKind::HttpUri, b"/dc")];
        let resp: &[(BufferKind, &[u8])] = &[(BufferKind::HttpStatCode, b"200")];
        // Client 203.0.113.5 (external) -> server 192.168.1.10 (home).
        let p = tcp(b"").reply();
        let mut q = p.tx(0, AppProto::Http, req);
        q.input.direction = Direction::ToServer;
        assert!(run(&mut d, &mut flow, &q).is_empty());
        let r = tcp(b"").tx(0, AppProto::Http, resp);
        let mut r = r;
        r.input.direction = Direction::ToClient;
        assert_eq!(
            run(&mut d, &mut flow, &r)
                .iter()
                .map(|a| a.sid)
                .collect::<Vec<_>>(),
            [1]
        );
    }
}

#[test]
fn transformed_buffers_match_and_the_raw_buffer_keeps_its_contents() {
    // Suricata: a transform rewrites its sticky buffer for the keywords after it; the
    // contents written before it inspect the buffer as it was.
    let mut det = detector(
        r#"alert http any any -> any any (http.uri; content:"/?arg="; from_base64: offset 6; content:"thisisatest"; sid:1;)
alert http any any -> any any (http.uri; content:"thisisatest"; sid:2;)
alert http any any -> any any (http.uri; url_decode; to_uppercase; content:"/?ARG=DGHP"; sid:3;)
alert http any any -> any any (http.uri; to_sha256; content:"|9f 86 d0 81|"; startswith; sid:4;)
alert http any any -> any any (http.uri; from_base64: offset 6; content:"/?arg="; sid:5;)"#,
    );
    let bufs = [(BufferKind::HttpUri, &b"/%3farg=dGhpc2lzYXRlc3QK"[..])];
    let mut got = sids(&mut det, &tcp(b"").tx(1, AppProto::Http, &bufs));
    got.sort();
    assert_eq!(got, vec![3]);
    let bufs = [(BufferKind::HttpUri, &b"/?arg=dGhpc2lzYXRlc3QK"[..])];
    let mut got = sids(&mut det, &tcp(b"").tx(2, AppProto::Http, &bufs));
    got.sort();
    assert_eq!(got, vec![1, 3]);
    let bufs = [(BufferKind::HttpUri, &b"test"[..])];
    assert_eq!(
        sids(&mut det, &tcp(b"").tx(3, AppProto::Http, &bufs)),
        vec![4]
    );
}

#[test]
fn header_buffers_and_header_keywords() {
    // Suricata: `ipv4.hdr`, `tcp.hdr` inspect the raw headers of each packet; `tcp.mss`
    // reads the MSS option; `ip_proto` the protocol number; `icmp_id`/`icmp_seq` the
    // identifier and sequence of echo messages.
    let mut det = detector(
        r#"alert ip any any -> any any (ipv4.hdr; content:"|40 06|"; offset:8; depth:2; sid:1;)
alert tcp any any -> any any (tcp.hdr; content:"|02 04|"; offset:20; byte_test:2,<,536,0,big,relative; sid:2;)
alert tcp any any -> any any (tcp.mss:<536; sid:3;)
alert tcp any any -> any any (tcp.mss:>1000; sid:4;)
alert ip any any -> any any (ip_proto:!tcp; sid:5;)
alert ip any any -> any any (ip_proto:6; ipv6.hdr; content:"|60|"; sid:6;)
alert icmp any any -> any any (icmp_id:21781; icmp_seq:7; sid:7;)"#,
    );
    let ip: Vec<u8> = vec![
        0x45, 0, 0, 44, 0, 1, 0, 0, 0x40, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    // TCP header of 24 bytes: MSS 500.
    let mut tcph = vec![
        0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 4, 0, 0, 0, 0, 0,
    ];
    tcph.extend_from_slice(&[2, 4, 0x01, 0xf4]);
    let mut p = tcp(b"");
    p.input.ip_header = &ip;
    p.input.l4_header = &tcph;
    let mut got = sids(&mut det, &p);
    got.sort();
    assert_eq!(got, vec![1, 2, 3]);
    // ICMP echo request, id 21781 (0x5515), seq 7.
    let icmph = [8u8, 0, 0, 0, 0x55, 0x15, 0, 7];
    let mut ip1 = ip.clone();
    ip1[9] = 1;
    let mut p = tcp(b"");
    p.input.ip_proto = 1;
    p.input.l4 = Layer4::Icmp {
        icmp_type: 8,
        icmp_code: 0,
    };
    p.input.ip_header = &ip1;
    p.input.l4_header = &icmph;
    let mut got = sids(&mut det, &p);
    got.sort();
    assert_eq!(got, vec![5, 7]);
}

#[test]
fn transactional_rule_header_names_client_and_server() {
    // Suricata 8 `=>`: the source is the transaction's client whichever direction the
    // completing input travels in.
    let mut det = detector(
        r#"alert http 192.168.1.10 any => 203.0.113.5 80 (http.method; content:"GET"; http.stat_code; content:"200"; sid:1;)
alert http 203.0.113.5 any => 192.168.1.10 any (http.method; content:"GET"; http.stat_code; content:"200"; sid:2;)"#,
    );
    let mut flow = FlowDetectState::default();
    let req = [(BufferKind::HttpMethod, &b"GET"[..])];
    let resp = [(BufferKind::HttpStatCode, &b"200"[..])];
    assert!(run(&mut det, &mut flow, &tcp(b"").tx(1, AppProto::Http, &req)).is_empty());
    let got: Vec<u32> = run(
        &mut det,
        &mut flow,
        &tcp(b"").reply().tx(1, AppProto::Http, &resp),
    )
    .iter()
    .map(|a| a.sid)
    .collect();
    assert_eq!(got, vec![1]);
}

#[test]
fn byte_extract_and_byte_math_variables() {
    // Suricata: byte_extract stores a number for later keywords and moves the relative
    // position past it; byte_math combines a number with a value into a variable.
    let hits = |rule: &str, payload: &[u8]| !sids(&mut detector(rule), &tcp(payload)).is_empty();
    // Length-prefixed field: the length (3) then the data.
    let p = b"LEN\x03abcXYZ";
    assert!(hits(
        r#"alert tcp any any -> any any (content:"LEN"; byte_extract:1,0,n,relative; content:"abc"; within:3; byte_test:1,=,n,-4,relative; sid:1;)"#,
        p
    ));
    assert!(!hits(
        r#"alert tcp any any -> any any (content:"LEN"; byte_extract:1,0,n,relative; byte_test:1,=,n,0; sid:1;)"#,
        p
    ));
    // byte_math: 3 * 2 = 6, compared with a byte of 6.
    assert!(hits(
        r#"alert tcp any any -> any any (content:"LEN"; byte_math:bytes 1, offset 0, oper *, rvalue 2, result r, relative; byte_test:1,=,r,0,relative; sid:1;)"#,
        b"LEN\x03\x06"
    ));
    assert!(!hits(
        r#"alert tcp any any -> any any (content:"LEN"; byte_extract:1,1,z,relative; byte_math:bytes 1, offset 0, oper /, rvalue z, result r; sid:1;)"#,
        b"LEN\x03\x00"
    ));
    // A variable number of bytes for byte_jump, with 0 meaning "no jump".
    assert!(hits(
        r#"alert tcp any any -> any any (content:"|00 00 00|"; byte_extract:1,4,len,relative; byte_jump:len,0,relative; isdataat:1,relative; sid:1;)"#,
        b"\x00\x00\x00\x05\x34\x23\x06\x00\x21\x0a"
    ));
}

#[test]
fn absent_matches_a_missing_buffer_or_else_its_keywords() {
    // Suricata 8 `absent`: the buffer is not there (an empty one counts as missing);
    // `absent: or_else` also lets the buffer's keywords match when it is there.
    let mut det = detector(
        r#"alert http any any -> any any (http.referer; absent; http.method; content:"GET"; sid:1;)
alert http any any -> any any (http.referer; absent: or_else; content:"example"; http.method; content:"GET"; sid:2;)
alert http any any -> any any (http.referer; absent: or_else; content:!"example"; sid:3;)"#,
    );
    let none = [(BufferKind::HttpMethod, &b"GET"[..])];
    let mut got = sids(&mut det, &tcp(b"").tx(1, AppProto::Http, &none));
    got.sort();
    assert_eq!(got, vec![1, 2, 3]);
    let empty = [
        (BufferKind::HttpMethod, &b"GET"[..]),
        (BufferKind::HttpReferer, &b""[..]),
    ];
    let mut got = sids(&mut det, &tcp(b"").tx(2, AppProto::Http, &empty));
    got.sort();
    assert_eq!(got, vec![1, 2, 3]);
    let with = [
        (BufferKind::HttpMethod, &b"GET"[..]),
        (BufferKind::HttpReferer, &b"http://example.com/"[..]),
    ];
    assert_eq!(
        sids(&mut det, &tcp(b"").tx(3, AppProto::Http, &with)),
        vec![2]
    );
    let other = [
        (BufferKind::HttpMethod, &b"GET"[..]),
        (BufferKind::HttpReferer, &b"http://other/"[..]),
    ];
    assert_eq!(
        sids(&mut det, &tcp(b"").tx(4, AppProto::Http, &other)),
        vec![3]
    );
}

#[test]
fn backoff_threshold_and_flow_counters() {
    // Suricata `type backoff, count 2, multiplier 3`: the 2nd match alerts, then the
    // 6th, the 18th, ... (per flow). `flow.pkts` / `flow.bytes` / `flow.age` read the
    // flow's counters, this packet included.
    let mut det = detector(
        r#"alert tcp any any -> any any (content:"x"; threshold: type backoff, track by_flow, count 2, multiplier 3; sid:1;)
alert tcp any any -> any any (flow.pkts:toserver,>=3; flow.bytes:either,>100; flow.age:<5; sid:2;)"#,
    );
    let mut flow = FlowDetectState::default();
    let mut alerted = Vec::new();
    for n in 1..=20u64 {
        let mut p = tcp(b"x");
        p.input.flow_counts = mamori_ids::detect::FlowCounts {
            pkts: [n, 0],
            bytes: [n * 60, 0],
            age_secs: n / 4,
        };
        for a in run(&mut det, &mut flow, &p) {
            alerted.push((a.sid, n));
        }
    }
    let backoff: Vec<u64> = alerted.iter().filter(|a| a.0 == 1).map(|a| a.1).collect();
    assert_eq!(backoff, vec![2, 6, 18]);
    let counters: Vec<u64> = alerted.iter().filter(|a| a.0 == 2).map(|a| a.1).collect();
    assert_eq!(
        counters,
        vec![3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    );
}

#[test]
fn flow_start_hook_sees_the_first_packet_of_each_direction() {
    let mut det = detector(
        r#"alert tcp:flow_start any any -> any any (sid:1;)
alert tcp any any -> any any (seq:1; ack:1; sid:2;)"#,
    );
    let mut flow = FlowDetectState::default();
    let mut got = Vec::new();
    for (n, reply) in [(1, false), (1, true), (2, false), (2, true)] {
        let mut p = tcp(b"");
        if reply {
            p = p.reply();
        }
        p.input.flow_counts.pkts = if reply { [2, n] } else { [n, n - 1] };
        for a in run(&mut det, &mut flow, &p) {
            got.push((a.sid, n, reply));
        }
    }
    // The test packets carry seq 1 and ack 1 (sid 2 on each).
    assert_eq!(
        got.iter().filter(|g| g.0 == 1).collect::<Vec<_>>(),
        vec![&(1, 1, false), &(1, 1, true)]
    );
    assert_eq!(got.iter().filter(|g| g.0 == 2).count(), 4);
}

mod transform_properties {
    use mamori_ids::detect::transform::apply;
    use mamori_ids::rules::{Base64Mode, Transform};
    use proptest::prelude::*;

    fn space(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn whitespace_transforms_keep_the_other_bytes(d in proptest::collection::vec(any::<u8>(), 0..200)) {
            let stripped = apply(&[Transform::StripWhitespace], &d).into_owned();
            prop_assert!(!stripped.iter().any(|&b| space(b)));
            let kept: Vec<u8> = d.iter().copied().filter(|&b| !space(b)).collect();
            prop_assert_eq!(&stripped, &kept);
            let compressed = apply(&[Transform::CompressWhitespace], &d).into_owned();
            prop_assert!(!compressed.windows(2).any(|w| space(w[0]) && space(w[1])));
            let non_space: Vec<u8> = compressed.iter().copied().filter(|&b| !space(b)).collect();
            prop_assert_eq!(non_space, kept);
        }

        #[test]
        fn url_decode_inverts_percent_encoding(d in proptest::collection::vec(any::<u8>(), 0..100)) {
            let encoded: Vec<u8> = d.iter().flat_map(|b| format!("%{b:02X}").into_bytes()).collect();
            prop_assert_eq!(apply(&[Transform::UrlDecode], &encoded).into_owned(), d);
        }

        #[test]
        fn from_base64_inverts_base64(d in proptest::collection::vec(any::<u8>(), 0..100)) {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut enc = Vec::new();
            for c in d.chunks(3) {
                let n = c.iter().enumerate().fold(0u32, |a, (i, &b)| a | u32::from(b) << (16 - 8 * i));
                for i in 0..=c.len() {
                    enc.push(A[(n >> (18 - 6 * i) & 63) as usize]);
                }
                enc.extend(std::iter::repeat_n(b'=', 3 - c.len()));
            }
            for mode in [Base64Mode::Rfc4648, Base64Mode::Rfc2045, Base64Mode::Strict] {
                let t = Transform::FromBase64 { bytes: None, offset: 0, mode };
                prop_assert_eq!(apply(std::slice::from_ref(&t), &enc).into_owned(), d.clone());
            }
        }

        #[test]
        fn xor_twice_is_identity(
            d in proptest::collection::vec(any::<u8>(), 0..100),
            key in proptest::collection::vec(any::<u8>(), 1..8),
        ) {
            let t = [Transform::Xor(key.clone()), Transform::Xor(key)];
            prop_assert_eq!(apply(&t, &d).into_owned(), d);
        }
    }
}

#[test]
fn ip_src_and_ip_dst_buffers_hold_the_addresses() {
    let mut det = detector(
        r#"alert ip any any -> any any (ip.src; content:"|0a 00 00 01|"; bsize:4; sid:1;)
alert ip any any -> any any (ip.dst; content:"|0a 00 00 02|"; bsize:4; sid:2;)
alert ip any any -> any any (ip.dst; content:"|0a 00 00 01|"; sid:3;)"#,
    );
    let ip: Vec<u8> = vec![
        0x45, 0, 0, 40, 0, 1, 0, 0, 0x40, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let mut p = tcp(b"");
    p.input.ip_header = &ip;
    let mut got = sids(&mut det, &p);
    got.sort();
    assert_eq!(got, vec![1, 2]);
}

#[test]
fn ipv4_header_and_window_keywords() {
    // id, tos, fragbits (M, D, R with + * !), fragoffset (bytes), window.
    let mut det = detector(
        r#"alert ip any any -> any any (id:4660; sid:1;)
alert ip any any -> any any (tos:!0; sid:2;)
alert ip any any -> any any (fragbits:D; sid:3;)
alert ip any any -> any any (fragbits:*MR; sid:4;)
alert ip any any -> any any (fragoffset:>0; sid:5;)
alert tcp any any -> any any (window:1000; sid:6;)
alert tcp any any -> any any (window:!1000; sid:7;)"#,
    );
    // id 0x1234, tos 0x10, DF set, offset 0.
    let ip: Vec<u8> = vec![
        0x45, 0x10, 0, 40, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let mut p = tcp(b"");
    p.input.ip_header = &ip;
    let mut got = sids(&mut det, &p);
    got.sort();
    assert_eq!(got, vec![1, 2, 3, 6]);
    // MF and offset 8 bytes, tos 0, another id: fragbits *MR and fragoffset.
    let frag: Vec<u8> = vec![
        0x45, 0, 0, 40, 0, 1, 0x20, 1, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let mut p = tcp(b"");
    p.input.ip_header = &frag;
    p.input.l4 = Layer4::Tcp {
        src_port: 1,
        dst_port: 2,
        flags: 0x10,
        seq: 1,
        ack: 1,
        window: 5,
    };
    let mut got = sids(&mut det, &p);
    got.sort();
    assert_eq!(got, vec![4, 5, 7]);
}
