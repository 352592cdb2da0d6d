//! The rule parser: headers, options with their quoting and escaping, multi-line rules,
//! comments, skipped rules and clear errors. Never panics on arbitrary text.

use mamori_ids::detect::{AppProto, BufferKind};
use mamori_ids::rules::{
    Action, AddrExpr, Buf, Item, Proto, Rule, Skipped, Vars, parse_rule, parse_rules,
};
use proptest::prelude::*;

fn one(text: &str) -> Rule {
    match parse_rule(text, &Vars::suricata_defaults()) {
        Ok(r) => r,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn err(text: &str) -> Skipped {
    match parse_rule(text, &Vars::suricata_defaults()) {
        Ok(_) => panic!("{text}: loaded, expected an error"),
        Err(e) => e,
    }
}

#[test]
fn header_actions_and_protocols() {
    for (a, want) in [
        ("alert", Action::Alert),
        ("drop", Action::Drop),
        ("pass", Action::Pass),
        ("reject", Action::Reject),
    ] {
        assert_eq!(
            one(&format!("{a} ip any any -> any any (sid:1;)")).action,
            want
        );
    }
    assert_eq!(
        one("alert tcp any any -> any any (sid:1;)").header.proto,
        Proto::Tcp
    );
    assert_eq!(
        one("alert udp any any -> any any (sid:1;)").header.proto,
        Proto::Udp
    );
    assert_eq!(
        one("alert icmp any any -> any any (sid:1;)").header.proto,
        Proto::Icmp
    );
    assert_eq!(
        one("alert http any any -> any any (sid:1;)").header.proto,
        Proto::App(AppProto::Http)
    );
    assert_eq!(
        one("alert dns any any -> any any (sid:1;)").header.proto,
        Proto::App(AppProto::Dns)
    );
    assert_eq!(
        one("alert tls any any -> any any (sid:1;)").header.proto,
        Proto::App(AppProto::Tls)
    );
    assert_eq!(
        one("alert smtp any any -> any any (sid:1;)").header.proto,
        Proto::App(AppProto::Smtp)
    );
    assert!(
        one("alert ip any any <> any any (sid:1;)")
            .header
            .bidirectional
    );
    assert_eq!(
        one("alert ftp any any -> any any (sid:1;)").header.proto,
        Proto::App(AppProto::Ftp)
    );
    let e = err("alert enip any any -> any any (sid:7;)");
    assert_eq!(e.keyword.as_deref(), Some("enip"));
    assert_eq!(e.sid, Some(7));
}

#[test]
fn header_addresses_and_ports() {
    let r = one(
        "alert tcp [1.2.3.4, 10.0.0.0/8,!10.1.0.0/16] [80,1024:] -> !$HOME_NET ![22,23] (sid:1;)",
    );
    let ip = |s: &str| s.parse().unwrap();
    assert!(r.header.src.matches(ip("10.2.0.1")));
    assert!(!r.header.src.matches(ip("10.1.0.1")));
    assert!(r.header.src.matches(ip("1.2.3.4")));
    assert!(r.header.src_ports.matches(80));
    assert!(r.header.src_ports.matches(2000));
    assert!(!r.header.src_ports.matches(81));
    assert!(r.header.dst.matches(ip("8.8.8.8")));
    assert!(!r.header.dst.matches(ip("192.168.0.1")));
    assert!(!r.header.dst_ports.matches(22));
    assert!(r.header.dst_ports.matches(443));
    let r = one("alert ip any any -> 2001:db8::/32 any (sid:1;)");
    assert!(matches!(r.header.dst, AddrExpr::Range(..)));
    assert!(
        err("alert tcp $NOPE any -> any any (sid:1;)")
            .reason
            .contains("$NOPE")
    );
    assert!(
        err("alert tcp any 99999 -> any any (sid:1;)")
            .reason
            .contains("99999")
    );
    assert!(
        err("alert tcp any any >> any any (sid:1;)")
            .reason
            .contains(">>")
    );
    assert!(
        err("alert tcp any any -> any (sid:1;)")
            .reason
            .contains("7")
    );
}

#[test]
fn meta_options_and_escapes() {
    let r = one(
        r#"alert tcp any any -> any any (msg:"a \"quoted\" \; semi"; content:"x\;y|3a|\\"; sid:42; rev:3; gid:2; classtype:attempted-admin; reference:url,example.com; metadata:created_at 2020, deployment Perimeter; target:dest_ip;)"#,
    );
    assert_eq!(r.msg, r#"a "quoted" ; semi"#);
    assert_eq!((r.sid, r.rev, r.gid), (42, 3, 2));
    assert_eq!(r.category, "Attempted Administrator Privilege Gain");
    assert_eq!(r.priority, 1);
    assert_eq!(r.metadata.len(), 2);
    let Item::Content(c) = &r.groups[0].items[0] else {
        panic!("content expected")
    };
    assert_eq!(c.pattern, b"x;y:\\");
    // priority overrides the classtype's.
    assert_eq!(
        one("alert tcp any any -> any any (priority:4; classtype:trojan-activity; sid:1;)")
            .priority,
        4
    );
    assert_eq!(one("alert tcp any any -> any any (sid:1;)").priority, 3);
}

#[test]
fn sticky_buffers_and_pcre_flags_group_by_buffer() {
    let r = one(
        r#"alert http any any -> any any (http.uri; content:"/a"; content:"b"; distance:0; http.header; content:"X-"; pcre:"/c/U"; file.data; content:"body"; sid:1;)"#,
    );
    let bufs: Vec<Buf> = r.groups.iter().map(|g| g.buf).collect();
    assert_eq!(
        bufs,
        [
            Buf::Kind(BufferKind::HttpUri),
            Buf::Kind(BufferKind::HttpHeader),
            Buf::Kind(BufferKind::FileData)
        ]
    );
    assert_eq!(r.groups[0].items.len(), 3, "the U pcre goes to the URI");
    assert!(r.is_tx_rule());
}

#[test]
fn every_sticky_buffer_and_legacy_modifier_names_its_buffer() {
    use BufferKind as K;
    let sticky = [
        ("http.uri", K::HttpUri),
        ("http.uri.raw", K::HttpUriRaw),
        ("http.method", K::HttpMethod),
        ("http.host", K::HttpHost),
        ("http.host.raw", K::HttpHostRaw),
        ("http.user_agent", K::HttpUserAgent),
        ("http.header", K::HttpHeader),
        ("http.header.raw", K::HttpHeaderRaw),
        ("http.header_names", K::HttpHeaderNames),
        ("http.cookie", K::HttpCookie),
        ("http.request_body", K::HttpRequestBody),
        ("http.stat_code", K::HttpStatCode),
        ("http.stat_msg", K::HttpStatMsg),
        ("http.response_body", K::HttpResponseBody),
        ("http.content_type", K::HttpContentType),
        ("http.content_len", K::HttpContentLen),
        ("http.referer", K::HttpReferer),
        ("http.start", K::HttpStart),
        ("http.location", K::HttpLocation),
        ("http.server", K::HttpServer),
        ("http.connection", K::HttpConnection),
        ("http.accept", K::HttpAccept),
        ("http.accept_lang", K::HttpAcceptLang),
        ("http.accept_enc", K::HttpAcceptEnc),
        ("http.protocol", K::HttpProtocol),
        ("http.request_line", K::HttpRequestLine),
        ("http.response_line", K::HttpResponseLine),
        ("file.data", K::FileData),
        ("file_data", K::FileData),
        ("dns.query", K::DnsQuery),
        ("dns_query", K::DnsQuery),
        ("tls.sni", K::TlsSni),
        ("tls_sni", K::TlsSni),
        ("tls.cert_subject", K::TlsCertSubject),
        ("tls.cert_issuer", K::TlsCertIssuer),
        ("tls.cert_serial", K::TlsCertSerial),
        ("tls.certs", K::TlsCerts),
        ("ja3.hash", K::Ja3Hash),
        ("ja3_hash", K::Ja3Hash),
        ("ja3s.hash", K::Ja3sHash),
    ];
    for (kw, kind) in sticky {
        let r = one(&format!(
            "alert tcp any any -> any any ({kw}; content:\"x\"; sid:1;)"
        ));
        assert_eq!(r.groups[0].buf, Buf::Kind(kind), "{kw}");
    }
    let modifiers = [
        ("http_uri", K::HttpUri),
        ("http_raw_uri", K::HttpUriRaw),
        ("http_method", K::HttpMethod),
        ("http_header", K::HttpHeader),
        ("http_raw_header", K::HttpHeaderRaw),
        ("http_cookie", K::HttpCookie),
        ("http_client_body", K::HttpRequestBody),
        ("http_server_body", K::HttpResponseBody),
        ("http_stat_code", K::HttpStatCode),
        ("http_stat_msg", K::HttpStatMsg),
        ("http_user_agent", K::HttpUserAgent),
        ("http_host", K::HttpHost),
        ("http_raw_host", K::HttpHostRaw),
    ];
    for (kw, kind) in modifiers {
        let r = one(&format!(
            "alert tcp any any -> any any (content:\"a\"; content:\"x\"; {kw}; sid:1;)"
        ));
        assert_eq!(
            r.groups[0].buf,
            Buf::Payload,
            "{kw}: the first content stays"
        );
        assert_eq!(r.groups[1].buf, Buf::Kind(kind), "{kw}");
    }
    // urilen is bsize on the URI (normalised, or raw).
    let r = one("alert http any any -> any any (urilen:>10,raw; sid:1;)");
    assert_eq!(r.groups[0].buf, Buf::Kind(K::HttpUriRaw));
    assert!(matches!(r.groups[0].items[0], Item::Bsize(_)));
}

#[test]
fn multi_line_rules_and_comments() {
    let text = "# a comment\n\
                \n\
                alert tcp any any -> any any (msg:\"one\"; \\\n\
                    content:\"x\"; \\\n\
                    sid:1;)\n\
                # alert tcp any any -> any any (msg:\"commented out\"; sid:2;)\n\
                   alert tcp any any -> any any (msg:\"three\"; sid:3;)\n";
    let set = parse_rules("f.rules", text, &Vars::suricata_defaults());
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    assert_eq!(set.rules.len(), 2);
    assert_eq!((set.rules[0].sid, set.rules[0].line), (1, 3));
    assert_eq!((set.rules[1].sid, set.rules[1].line), (3, 7));
    assert_eq!(set.rules[1].file, "f.rules");
}

#[test]
fn out_of_scope_rules_are_skipped_with_sid_line_and_keyword() {
    let text = "alert tcp any any -> any any (content:\"x\"; sid:1;)\n\
                alert tcp any any -> any any (content:\"x\"; ftpbounce; sid:2;)\n\
                alert tcp any any -> any any (asn1:oversize_length 100; sid:3;)\n";
    let set = parse_rules("f.rules", text, &Vars::suricata_defaults());
    assert_eq!(set.rules.len(), 1);
    assert_eq!(set.skipped.len(), 2);
    // Forms whose meaning differs from what is implemented are skipped, not loaded.
    for (text, kw) in [
        ("alert ipv4 any any -> any any (sid:5;)", "ipv4"),
        ("alert dnp3 any any -> any any (sid:5;)", "dnp3"),
        (
            "alert pkthdr any any -> any any (decode-event:ipv4.opt_invalid; sid:5;)",
            "decode-event:ipv4.opt_invalid",
        ),
        (
            "alert tcp any any -> any any (stream-event:est_packet_out_of_window; sid:5;)",
            "stream-event:est_packet_out_of_window",
        ),
        (
            "alert tcp any any -> any any (requires: feature output::file-store; sid:5;)",
            "requires feature output::file-store",
        ),
        (
            "alert tcp any any -> any any (requires: version >= 9; sid:5;)",
            "requires version >= 9",
        ),
        (
            "alert tcp any any -> any any (app-layer-protocol:http,final; sid:5;)",
            "app-layer-protocol final",
        ),
        (
            "alert tcp any any -> any any (hostbits:set,a,both; sid:5;)",
            "hostbits both",
        ),
        (
            "alert tcp any any -> any any (pcre:\"/(x)/, flow:v\"; sid:5;)",
            "pcre capture",
        ),
    ] {
        let e = err(text);
        assert_eq!(e.keyword.as_deref(), Some(kw), "{text}: {}", e.reason);
        assert_eq!(e.sid, Some(5));
    }
    let e = err("alert http any any -> any any (dsize:>5; http.uri; content:\"x\"; sid:5;)");
    assert!(e.reason.contains("dsize"), "{}", e.reason);
    let s = &set.skipped[0];
    assert_eq!((s.line, s.sid), (2, Some(2)));
    assert_eq!(s.keyword.as_deref(), Some("ftpbounce"));
    assert_eq!(s.reason, "unsupported keyword `ftpbounce`");
    assert_eq!(
        s.to_string(),
        "f.rules:2: sid 2: unsupported keyword `ftpbounce`"
    );
    assert_eq!(set.skipped[1].keyword.as_deref(), Some("asn1"));
}

#[test]
fn malformed_rules_get_clear_errors() {
    for (text, needle) in [
        ("alert tcp any any -> any any (content:\"x\"; sid:1;", "`)`"),
        ("alert tcp any any -> any any content:\"x\"; sid:1;", "`(`"),
        (
            "alert tcp any any -> any any (content:\"x\";)",
            "missing `sid`",
        ),
        (
            "alert tcp any any -> any any (content:\"x\"; sid:1)",
            "`sid` is not terminated with `;`",
        ),
        (
            "alert tcp any any -> any any (sid:1; nocase)",
            "`nocase` is not terminated",
        ),
        (
            "alert tcp any any -> any any (content:\"x|4\"; sid:1;)",
            "hex",
        ),
        (
            "alert tcp any any -> any any (content:\"x|zz|\"; sid:1;)",
            "hex digit",
        ),
        (
            "alert tcp any any -> any any (content:x; sid:1;)",
            "double quotes",
        ),
        (
            "alert tcp any any -> any any (nocase; content:\"x\"; sid:1;)",
            "must follow a `content`",
        ),
        (
            "alert tcp any any -> any any (content:\"abc\"; depth:2; sid:1;)",
            "depth:2",
        ),
        (
            "alert tcp any any -> any any (pcre:\"/(/\"; sid:1;)",
            "pcre",
        ),
        (
            "alert tcp any any -> any any (content:\"x\"; classtype:nope; sid:1;)",
            "classtype `nope`",
        ),
        (
            "alert tcp any any -> any any (flow:sideways; sid:1;)",
            "sideways",
        ),
        ("alert tcp any any -> any any (dsize:abc; sid:1;)", "dsize"),
        (
            "alert tcp any any -> any any (threshold:type limit, count 1; sid:1;)",
            "track",
        ),
        (
            "alert tcp any any -> any any (bsize:10; sid:1;)",
            "sticky buffer",
        ),
        ("yell tcp any any -> any any (sid:1;)", "yell"),
    ] {
        let e = err(text);
        assert!(
            e.reason.contains(needle),
            "{text}: `{}` lacks `{needle}`",
            e.reason
        );
        assert!(e.keyword.is_none(), "{text}: malformed, not unsupported");
    }
    let set = parse_rules(
        "bad.rules",
        "\n\nalert tcp any any -> any any (content:\"x\"; sid:9;",
        &Vars::suricata_defaults(),
    );
    assert_eq!(set.skipped[0].line, 3);
    assert_eq!(set.skipped[0].sid, Some(9));
    assert!(
        set.skipped[0]
            .to_string()
            .starts_with("bad.rules:3: sid 9: ")
    );
}

#[test]
fn duplicate_signatures_keep_the_highest_rev() {
    let a = "alert tcp any any -> any any (content:\"a\"; sid:7; rev:2;)\n\
             alert tcp any any -> any any (content:\"b\"; sid:7; rev:1;)\n\
             alert tcp any any -> any any (content:\"c\"; sid:7; gid:3; rev:1;)";
    let mut set = parse_rules("a.rules", a, &Vars::suricata_defaults());
    assert_eq!(set.rules.len(), 2, "gid 3 is another signature");
    assert_eq!(set.skipped.len(), 1);
    assert_eq!(set.skipped[0].line, 2);
    assert!(
        set.skipped[0]
            .reason
            .contains("duplicate signature gid 1 sid 7")
    );
    assert!(set.skipped[0].reason.contains("a.rules:1"));
    let b = "alert tcp any any -> any any (content:\"d\"; sid:7; rev:5;)";
    set.extend(parse_rules("b.rules", b, &Vars::suricata_defaults()));
    assert_eq!(set.rules.len(), 2);
    let r = set.rules.iter().find(|r| r.sid == 7 && r.gid == 1).unwrap();
    assert_eq!((r.rev, r.file.as_str()), (5, "b.rules"));
    assert_eq!(set.skipped.len(), 2);
    assert_eq!(set.skipped[1].file, "a.rules");
}

#[test]
fn vars_from_json() {
    let v = Vars::from_json(
        r#"{"address-groups": {"HOME_NET": "[10.0.0.0/8]", "EXTERNAL_NET": "any"}, "port-groups": {"HTTP_PORTS": "[80,8080]"}}"#,
    )
    .unwrap();
    let r = parse_rule(
        "alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (sid:1;)",
        &v,
    )
    .unwrap();
    assert!(r.header.dst_ports.matches(8080));
    assert!(r.header.dst.matches("10.0.0.1".parse().unwrap()));
    let e = Vars::from_json("{\"address-groups\": [1]}").unwrap_err();
    assert!(e.to_string().contains("address-groups"));
    let e = Vars::from_json("{\n  oops").unwrap_err();
    assert!(e.to_string().contains("line 2"));
    let corpus = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../../shared/conformance/suricata-verify/default-vars.json");
    let text =
        std::fs::read_to_string(&corpus).unwrap_or_else(|e| panic!("{}: {e}", corpus.display()));
    assert_eq!(Vars::from_json(&text).unwrap(), Vars::suricata_defaults());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = parse_rules("p.rules", &text, &Vars::suricata_defaults());
    }

    #[test]
    fn never_panics_on_rule_like_text(
        action in prop::sample::select(vec!["alert", "drop", "pass", "x"]),
        proto in prop::sample::select(vec!["tcp", "http", "dns", "ip", "foo"]),
        src in "[\\[\\]!$,.:/0-9a-zA-Z_ -]{0,20}",
        opts in prop::collection::vec(
            (prop::sample::select(vec![
                "content", "pcre", "depth", "offset", "distance", "within", "byte_test",
                "byte_jump", "isdataat", "flow", "flowbits", "threshold", "dsize", "flags",
                "http.uri", "nocase", "bsize", "fast_pattern", "sid", "msg", "http_uri",
                "dotprefix", "urilen", "detection_filter", "app-layer-protocol", "ttl",
                "base64_decode", "base64_data", "xbits", "flowint", "stream_size", "byte_test",
                "isdataat", "threshold", "tls.certs", "http.header_names", "pcre",
            ]), "[\\\\\"|;:,!<>0-9a-zA-Z /^$()*+?.-]{0,16}"),
            0..8,
        ),
    ) {
        let mut text = format!("{action} {proto} {src} any -> any any (");
        for (k, v) in &opts {
            text.push_str(k);
            if !v.is_empty() {
                text.push(':');
                text.push_str(v);
            }
            text.push_str("; ");
        }
        text.push_str("sid:1;)");
        let set = parse_rules("p.rules", &text, &Vars::suricata_defaults());
        // Whatever loads can be compiled and run against a packet without panicking.
        let mut det = mamori_ids::detect::Detector::new(set.rules);
        let input = mamori_ids::detect::Input {
            ts_micros: 0,
            src_ip: "10.0.0.1".parse().unwrap(),
            dst_ip: "10.0.0.2".parse().unwrap(),
            ip_proto: 6,
            ttl: 1,
            l4: mamori_ids::detect::Layer4::Tcp { src_port: 1, dst_port: 2, flags: 2, seq: 0, ack: 0, window: 0 },
            payload: text.as_bytes(),
            stream: Some(text.as_bytes()),
            direction: mamori_ids::detect::Direction::ToServer,
            established: true,
            flow_id: 1,
            app_proto: AppProto::Http,
            tx_id: None,
            buffers: &[],
            events: Default::default(),
            invalid: false,
            ip_header: &[],
            l4_header: &[],
            flow_counts: Default::default(),
        };
        let mut flow = Default::default();
        let mut out = Vec::new();
        det.inspect(&input, &mut flow, &mut out);
    }
}

#[test]
fn decoder_event_rules_and_packet_protocols() {
    use mamori_ids::decode::Event;
    let r = one("alert pkthdr any any -> any any (decode-event:ipv6.frag_overlap; sid:1;)");
    assert_eq!(r.header.proto, Proto::Pkthdr);
    assert_eq!(r.events, vec![Event::Ipv6FragOverlap]);
    assert!(!r.is_ip_only(), "an event rule looks at every packet");
    let r = one("alert ip any any -> any any (decode-event: gre.pkt_too_small ; sid:1;)");
    assert_eq!(r.events, vec![Event::GrePktTooSmall]);
    assert_eq!(
        one("alert icmpv6 any any -> any any (itype:4; sid:1;)")
            .header
            .proto,
        Proto::Icmpv6
    );
    assert_eq!(
        one("alert icmpv4 any any -> any any (sid:1;)").header.proto,
        Proto::Icmpv4
    );
    // `prefilter` is a hint; `requires` met by an 8.0 engine loads the rule.
    let r = one(
        "alert tcp any any -> any any (decode-event:tcp.pkt_too_small; prefilter; requires: version >= 7.0.3 < 9, version >= 8; sid:1; rev:2;)",
    );
    assert_eq!(r.rev, 2);
    let e = err("alert pkthdr any any -> any any (decode-event; sid:9;)");
    assert!(e.reason.contains("decode-event"), "{}", e.reason);
    assert_eq!(e.sid, Some(9));
    let e = err("alert pkthdr any any -> any any (decode-event:a, b; sid:9;)");
    assert!(e.reason.contains("not an event name"), "{}", e.reason);
    let e = err("alert tcp any any -> any any (requires: version >= x; sid:9;)");
    assert!(e.reason.contains("requires version"), "{}", e.reason);
    let e = err("alert tcp any any -> any any (requires: colour blue; sid:9;)");
    assert!(
        e.reason.contains("unknown condition `colour`"),
        "{}",
        e.reason
    );
}

#[test]
fn transforms_attach_to_their_buffer_and_start_a_new_group_after_content() {
    use mamori_ids::rules::{Base64Mode, Transform};
    let r = one(
        r#"alert http any any -> any any (http.uri; content:"/?arg="; from_base64: bytes 6, offset 6, mode strict; content:"this"; http.request_body; url_decode; strip_whitespace; content:"a b"; sid:1;)"#,
    );
    assert_eq!(r.groups.len(), 3);
    assert!(r.groups[0].transforms.is_empty());
    assert!(matches!(
        r.groups[1].transforms.as_slice(),
        [Transform::FromBase64 {
            bytes: Some(6),
            offset: 6,
            mode: Base64Mode::Strict
        }]
    ));
    assert!(matches!(
        r.groups[2].transforms.as_slice(),
        [Transform::UrlDecode, Transform::StripWhitespace]
    ));
    let r = one(
        r#"alert http any any -> any any (http.uri; pcrexform:"/get\?data=(.*)"; xor:"0d0ac8ff"; gunzip: max-size 8; content:"x"; sid:2;)"#,
    );
    assert!(matches!(
        r.groups[0].transforms.as_slice(),
        [Transform::Pcrexform(_), Transform::Xor(k), Transform::Gunzip { max_size: 8 }] if k == &[0x0d, 0x0a, 0xc8, 0xff]
    ));
    for (text, want) in [
        (
            "alert tcp any any -> any any (url_decode; content:\"x\"; sid:3;)",
            "needs a sticky buffer",
        ),
        (
            "alert http any any -> any any (http.uri; to_md5:x; content:\"x\"; sid:3;)",
            "takes no value",
        ),
        (
            "alert http any any -> any any (http.uri; xor:\"abc\"; content:\"x\"; sid:3;)",
            "`xor`",
        ),
        (
            "alert http any any -> any any (http.uri; pcrexform:\"abc\"; content:\"x\"; sid:3;)",
            "capture group",
        ),
        (
            "alert http any any -> any any (http.uri; from_base64: mode x; content:\"x\"; sid:3;)",
            "unknown mode",
        ),
        (
            "alert http any any -> any any (http.uri; gunzip: max-size 0; content:\"x\"; sid:3;)",
            "max-size",
        ),
    ] {
        let e = err(text);
        assert!(e.reason.contains(want), "{text}: {}", e.reason);
        assert_eq!(e.sid, Some(3));
    }
}

#[test]
fn header_keywords_parse_and_reject_bad_values() {
    use mamori_ids::rules::UintMatch;
    let r = one("alert tcp any any -> any any (tcp.mss:<536; ip_proto:!udp; sid:1;)");
    assert_eq!(r.tcp_mss, Some(UintMatch::Lt(536)));
    assert_eq!(r.ip_proto, Some(UintMatch::Ne(17)));
    assert!(!r.is_ip_only());
    let r = one("alert icmp any any -> any any (icmp_id:0; icmp_seq:65535; sid:1;)");
    assert_eq!((r.icmp_id, r.icmp_seq), (Some(0), Some(65535)));
    let r = one("alert ip any any -> any any (ipv4.hdr; content:\"|00|\"; dsize:>0; sid:1;)");
    assert!(!r.is_tx_rule(), "header buffers are inspected on packets");
    for (text, want) in [
        (
            "alert ip any any -> any any (ip_proto:300; sid:3;)",
            "ip_proto",
        ),
        (
            "alert ip any any -> any any (icmp_id:70000; sid:3;)",
            "icmp_id",
        ),
        ("alert ip any any -> any any (tcp.mss:x; sid:3;)", "tcp.mss"),
    ] {
        let e = err(text);
        assert!(e.reason.contains(want), "{text}: {}", e.reason);
        assert_eq!(e.sid, Some(3));
    }
}

#[test]
fn tag_hostbits_and_transactional_direction() {
    use mamori_ids::rules::{FlowbitOp, Tag, TagMetric, XbitTrack};
    let r = one(
        "alert tcp any any -> any any (flags:S; tag:host,100,packets,dst; tag:session; sid:1;)",
    );
    assert_eq!(
        r.tags,
        vec![
            Tag {
                host: true,
                count: 100,
                metric: TagMetric::Packets,
                dst: true
            },
            Tag {
                host: false,
                count: 256,
                metric: TagMetric::Packets,
                dst: false
            }
        ]
    );
    let r = one("alert ip any any -> any any (hostbits:isnotset,abc,dst; hostbits:set,x; sid:1;)");
    assert_eq!(r.xbits[0].op, FlowbitOp::IsNotSet);
    assert_eq!(r.xbits[0].track, XbitTrack::IpDst);
    assert_eq!(r.xbits[1].track, XbitTrack::IpSrc);
    assert!(one("alert ip any any -> any any (hostbits:noalert; sid:1;)").noalert);
    let r = one(
        "alert tls $HOME_NET any => any any (ja3.hash; content:\"a\"; ja3s.hash; content:\"b\"; sid:1;)",
    );
    assert!(r.header.transactional && !r.header.bidirectional);
    for (text, want) in [
        (
            "alert tcp any any -> any any (tag:flow; sid:3;)",
            "unknown type",
        ),
        (
            "alert tcp any any -> any any (tag:host,1,minutes; sid:3;)",
            "unknown metric",
        ),
        (
            "alert tcp any any -> any any (tag:session,1,packets,src; sid:3;)",
            "expected session",
        ),
        (
            "alert tcp any any -> any any (hostbits:set; sid:3;)",
            "hostbits",
        ),
        (
            "alert tcp any any -> any any (hostbits:flip,a; sid:3;)",
            "hostbits",
        ),
    ] {
        let e = err(text);
        assert!(e.reason.contains(want), "{text}: {}", e.reason);
    }
}

#[test]
fn byte_variables_parse_and_unknown_names_are_errors() {
    use mamori_ids::rules::{MathOp, NumFormat};
    let r = one(
        "alert tcp any any -> any any (content:\"a\"; byte_extract:2,0,len,relative,little,multiplier 4,align 4; byte_math:bytes 1, offset 2, oper <<, rvalue len, result r, relative, string hex; byte_test:1,=,r,0; byte_jump:len,0; sid:1;)",
    );
    let items = &r.groups[0].items;
    let Item::ByteExtract(x) = &items[1] else {
        panic!("{items:?}")
    };
    assert_eq!((x.nbytes, x.multiplier, x.align, x.var), (2, 4, 4, 0));
    assert_eq!(x.format, NumFormat::Little);
    let Item::ByteMath(m) = &items[2] else {
        panic!("{items:?}")
    };
    assert_eq!((m.op, m.rvalue_var, m.var), (MathOp::Shl, Some(0), 1));
    assert_eq!(m.format, NumFormat::String(16));
    let Item::ByteTest(t) = &items[3] else {
        panic!("{items:?}")
    };
    assert_eq!(t.value_var, Some(1));
    let Item::ByteJump(j) = &items[4] else {
        panic!("{items:?}")
    };
    assert_eq!(j.nbytes_var, Some(0));
    for (text, want) in [
        (
            "alert tcp any any -> any any (byte_test:1,=,nope,0; sid:3;)",
            "neither a number nor a variable",
        ),
        (
            "alert tcp any any -> any any (byte_extract:1,0; sid:3;)",
            "expected bytes, offset, name",
        ),
        (
            "alert tcp any any -> any any (byte_extract:1,0,9x; sid:3;)",
            "not a variable name",
        ),
        (
            "alert tcp any any -> any any (byte_math:bytes 1, offset 0, oper %, rvalue 1, result r; sid:3;)",
            "unknown operator",
        ),
        (
            "alert tcp any any -> any any (byte_math:bytes 1, offset 0, oper +, result r; sid:3;)",
            "rvalue",
        ),
        (
            "alert tcp any any -> any any (byte_math:bytes 1, offset 0, oper /, rvalue 0, result r; sid:3;)",
            "division by 0",
        ),
    ] {
        let e = err(text);
        assert!(e.reason.contains(want), "{text}: {}", e.reason);
        assert_eq!(e.sid, Some(3));
    }
}

#[test]
fn absent_needs_a_sticky_buffer_and_stands_alone_without_or_else() {
    let r = one("alert http any any -> any any (http.referer; absent; sid:1;)");
    assert_eq!(r.groups.len(), 1);
    assert_eq!(r.groups[0].absent, Some(false));
    assert!(r.groups[0].items.is_empty());
    let r =
        one("alert http any any -> any any (http.referer; absent:or_else; content:!\"x\"; sid:1;)");
    assert_eq!(r.groups[0].absent, Some(true));
    for (text, want) in [
        (
            "alert http any any -> any any (absent; sid:3;)",
            "needs a sticky buffer",
        ),
        (
            "alert http any any -> any any (http.referer; absent; content:\"x\"; sid:3;)",
            "cannot be followed",
        ),
        (
            "alert http any any -> any any (http.referer; content:\"x\"; absent; sid:3;)",
            "right after",
        ),
        (
            "alert http any any -> any any (http.referer; absent:maybe; sid:3;)",
            "unknown option",
        ),
    ] {
        let e = err(text);
        assert!(e.reason.contains(want), "{text}: {}", e.reason);
        assert_eq!(e.sid, Some(3));
    }
}

#[test]
fn datasets_load_data_files_through_the_caller_and_report_bad_lines() {
    use mamori_ids::rules::parse_rules_with_files;
    let files = |name: &str| -> Result<Option<String>, String> {
        Ok(match name {
            "rep.csv" => Some("Z29vZ2xlLmNvbQ==,255\nbWFpbA==,10\n".into()),
            "bad.csv" => Some("Z29vZ2xlLmNvbQ==,255\n!!!,3\n".into()),
            "absent.csv" => None,
            _ => return Err(format!("cannot read {name}")),
        })
    };
    let text = "alert dns any any -> any any (dns.query; datarep:r, >, 200, load rep.csv, type string; sid:1;)\n\
                alert dns any any -> any any (dns.query; dataset:isset,r,type string; sid:2;)\n\
                alert dns any any -> any any (dns.query; dataset:set,seen,type string, load absent.csv; sid:3;)\n\
                alert dns any any -> any any (dns.query; datarep:b, >, 1, load bad.csv, type string; sid:4;)\n\
                alert dns any any -> any any (dns.query; datarep:m, >, 1, load absent.csv, type string; sid:5;)\n\
                alert dns any any -> any any (dns.query; dataset:isset,r,type md5; sid:6;)\n\
                alert dns any any -> any any (dataset:isset,x,type string; sid:7;)\n\
                alert dns any any -> any any (dns.query; dataset:isset,y,type string, load other.csv; sid:8;)\n";
    let set = parse_rules_with_files("t.rules", text, &Vars::suricata_defaults(), &files);
    let loaded: Vec<u32> = set.rules.iter().map(|r| r.sid).collect();
    assert_eq!(loaded, vec![1, 2, 3]);
    let why = |sid: u32| {
        set.skipped
            .iter()
            .find(|s| s.sid == Some(sid))
            .map(|s| s.reason.clone())
            .unwrap()
    };
    assert!(why(4).contains("bad.csv:2"), "{}", why(4));
    assert!(why(5).contains("absent.csv"), "{}", why(5));
    assert!(why(6).contains("another type"), "{}", why(6));
    assert!(why(7).contains("sticky buffer"), "{}", why(7));
    assert!(why(8).contains("cannot read other.csv"), "{}", why(8));
    // The sets work: rep 255 > 200 for google.com, 10 is not.
    let Item::Dataset(op) = &set.rules[0].groups[0].items[0] else {
        panic!()
    };
    assert!(op.matches(b"google.com"));
    assert!(!op.matches(b"mail"));
    assert!(!op.matches(b"other"));
    // Without a way to read files, a rule that loads one is skipped, saying why.
    let e = err(
        "alert dns any any -> any any (dns.query; dataset:isset,z,type string, load f.csv; sid:9;)",
    );
    assert!(e.reason.contains("no data files"), "{}", e.reason);
}

#[test]
fn backoff_and_flow_counter_keywords_parse() {
    use mamori_ids::rules::{FlowDir, ThresholdKind, UintMatch};
    let r = one(
        "alert ip any any -> any any (flow.pkts:either,=10; flow.bytes_toclient:>3000; flow.age:>20; threshold: type backoff, track by_flow, count 2, multiplier 10; sid:1;)",
    );
    assert_eq!(r.flow_pkts, vec![(FlowDir::Either, UintMatch::Eq(10))]);
    assert_eq!(r.flow_bytes, vec![(FlowDir::ToClient, UintMatch::Gt(3000))]);
    assert_eq!(r.flow_age, Some(UintMatch::Gt(20)));
    let th = r.threshold.unwrap();
    assert_eq!(
        (th.kind, th.count, th.multiplier),
        (ThresholdKind::Backoff, 2, 10)
    );
    assert!(!r.is_ip_only());
    for (text, want) in [
        (
            "alert ip any any -> any any (threshold: type backoff, track by_src, count 1, multiplier 10; sid:3;)",
            "by_flow",
        ),
        (
            "alert ip any any -> any any (threshold: type backoff, track by_flow, count 1, multiplier 1; sid:3;)",
            "multiplier",
        ),
        (
            "alert ip any any -> any any (threshold: type limit, track by_flow, count 1, seconds 5, multiplier 3; sid:3;)",
            "only for type backoff",
        ),
        (
            "alert ip any any -> any any (flow.pkts:sideways,=1; sid:3;)",
            "unknown direction",
        ),
        (
            "alert ip any any -> any any (flow.bytes:10; sid:3;)",
            "expected toserver",
        ),
    ] {
        let e = err(text);
        assert!(e.reason.contains(want), "{text}: {}", e.reason);
        assert_eq!(e.sid, Some(3));
    }
}

#[test]
fn packet_hook_and_sequence_keywords() {
    let r = one("alert tcp:flow_start any any -> any any (seq:123; ack:0; sid:1;)");
    assert!(r.flow_start);
    assert_eq!((r.tcp_seq, r.tcp_ack), (Some(123), Some(0)));
    assert!(!r.is_ip_only());
    assert!(one("alert ip:flow_start any any -> any any (sid:1;)").flow_start);
    let e = err("alert tcp:flow_end any any -> any any (sid:3;)");
    assert_eq!(e.keyword.as_deref(), Some("tcp:flow_end"));
    let e = err("alert tcp any any -> any any (seq:-1; sid:3;)");
    assert!(e.reason.contains("seq"), "{}", e.reason);
}

#[test]
fn alert_keyword_is_for_pass_rules() {
    assert!(one("pass tcp any any -> any any (content:\"x\"; alert; sid:1;)").pass_alert);
    let e = err("alert tcp any any -> any any (content:\"x\"; alert; sid:3;)");
    assert!(e.reason.contains("pass rules"), "{}", e.reason);
    assert_eq!(
        one("alert sctp any 7 -> any 7 (sid:1;)").header.proto,
        Proto::Sctp
    );
}

#[test]
fn a_multi_buffer_named_again_is_a_new_instance() {
    // Two instances of file.data: each may match another file of the transaction.
    let r = one(
        "alert http any any -> any any (file.data; content:\"a\"; file.data; content:\"b\"; sid:1;)",
    );
    assert_eq!(r.groups.len(), 2);
    // One instance: both contents in the same file.
    let r = one("alert http any any -> any any (file.data; content:\"a\"; content:\"b\"; sid:1;)");
    assert_eq!(r.groups.len(), 1);
    // A single buffer named again keeps adding to the same group.
    let r = one(
        "alert http any any -> any any (http.uri; content:\"a\"; http.method; content:\"G\"; http.uri; content:\"b\"; sid:1;)",
    );
    assert_eq!(r.groups.len(), 2);
    assert_eq!(r.groups[0].items.len(), 2);
}

#[test]
fn ipv4_keywords_parse_and_reject_bad_values() {
    use mamori_ids::rules::UintMatch;
    let r =
        one("alert ip any any -> any any (id:1; tos:!0x10; fragbits:+MD; fragoffset:<8; sid:1;)");
    assert_eq!(r.ip_id, Some(1));
    assert_eq!(r.tos, Some((true, 16)));
    assert_eq!(r.fragbits.map(|f| f.bits), Some(3));
    assert_eq!(r.fragoffset, Some(UintMatch::Lt(8)));
    assert!(r.fragment_keywords() && !r.is_ip_only());
    assert_eq!(
        one("alert tcp any any -> any any (window:!0; sid:1;)").tcp_window,
        Some((true, 0))
    );
    for (text, want) in [
        (
            "alert ip any any -> any any (fragbits:X; sid:3;)",
            "unknown flag",
        ),
        (
            "alert ip any any -> any any (fragbits:+; sid:3;)",
            "needs one of",
        ),
        (
            "alert ip any any -> any any (fragoffset:70000; sid:3;)",
            "fragoffset",
        ),
        ("alert ip any any -> any any (tos:0x1ff; sid:3;)", "tos"),
        ("alert ip any any -> any any (id:65536; sid:3;)", "id"),
    ] {
        let e = err(text);
        assert!(e.reason.contains(want), "{text}: {}", e.reason);
        assert_eq!(e.sid, Some(3));
    }
}
