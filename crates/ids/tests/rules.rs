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
        err("alert tcp any any => any any (sid:1;)")
            .reason
            .contains("=>")
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
                alert tcp any any -> any any (content:\"x\"; byte_math:bytes 2, offset 0, oper +, rvalue 1, result r; sid:2;)\n\
                alert tcp any any -> any any (asn1:oversize_length 100; sid:3;)\n";
    let set = parse_rules("f.rules", text, &Vars::suricata_defaults());
    assert_eq!(set.rules.len(), 1);
    assert_eq!(set.skipped.len(), 2);
    // Forms whose meaning differs from what is implemented are skipped, not loaded.
    for (text, kw) in [
        ("alert ipv4 any any -> any any (sid:5;)", "ipv4"),
        ("alert icmpv6 any any -> any any (sid:5;)", "icmpv6"),
        (
            "alert tcp any any -> any any (app-layer-protocol:http,final; sid:5;)",
            "app-layer-protocol final",
        ),
        (
            "alert tcp any any -> any any (content:\"x\"; threshold:type backoff, track by_flow, count 1, multiplier 10; sid:5;)",
            "backoff",
        ),
        (
            "alert tcp any any -> any any (content:\"x\"; tag:session,10,packets; sid:5;)",
            "tag",
        ),
        (
            "alert tcp any any -> any any (pcre:\"/(x)/, flow:v\"; sid:5;)",
            "pcre capture",
        ),
        (
            "alert tcp any any -> any any (content:\"x\"; byte_test:2,>,len,0; sid:5;)",
            "len",
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
    assert_eq!(s.keyword.as_deref(), Some("byte_math"));
    assert_eq!(s.reason, "unsupported keyword `byte_math`");
    assert_eq!(
        s.to_string(),
        "f.rules:2: sid 2: unsupported keyword `byte_math`"
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
        };
        let mut flow = Default::default();
        let mut out = Vec::new();
        det.inspect(&input, &mut flow, &mut out);
    }
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
