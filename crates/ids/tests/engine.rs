//! End-to-end tests of the engine on synthetic traffic: real rules through the real
//! decoder, flow table, stream reassembly, HTTP/DNS/TLS parsers and detection.

use std::net::Ipv4Addr;

use mamori_ids::detect::Detector;
use mamori_ids::engine::{Engine, EngineConfig, Mode, Verdict};
use mamori_ids::pcap::linktype;
use mamori_ids::rules::{Vars, parse_rules};
use serde_json::Value;

/// Builds Ethernet/IPv4 frames of one TCP or UDP conversation.
struct Conv {
    client: (Ipv4Addr, u16),
    server: (Ipv4Addr, u16),
    cseq: u32,
    sseq: u32,
}

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + l4.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(l4);
    f
}

fn tcp(
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    data: &[u8],
) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&src.1.to_be_bytes());
    t.extend_from_slice(&dst.1.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(data);
    ipv4(src.0, dst.0, 6, &t)
}

fn udp(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), data: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&src.1.to_be_bytes());
    u.extend_from_slice(&dst.1.to_be_bytes());
    u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    ipv4(src.0, dst.0, 17, &u)
}

impl Conv {
    fn new(port: u16) -> Conv {
        Conv {
            client: (Ipv4Addr::new(10, 0, 0, 1), 40000),
            server: (Ipv4Addr::new(10, 0, 0, 2), port),
            cseq: 1000,
            sseq: 5000,
        }
    }
    fn handshake(&mut self) -> Vec<Vec<u8>> {
        let v = vec![
            tcp(self.client, self.server, self.cseq, 0, 0x02, b""),
            tcp(
                self.server,
                self.client,
                self.sseq,
                self.cseq + 1,
                0x12,
                b"",
            ),
            tcp(
                self.client,
                self.server,
                self.cseq + 1,
                self.sseq + 1,
                0x10,
                b"",
            ),
        ];
        self.cseq += 1;
        self.sseq += 1;
        v
    }
    fn send_to_server(&mut self, data: &[u8]) -> Vec<u8> {
        let f = tcp(self.client, self.server, self.cseq, self.sseq, 0x18, data);
        self.cseq += data.len() as u32;
        f
    }
    fn send_to_client(&mut self, data: &[u8]) -> Vec<u8> {
        let f = tcp(self.server, self.client, self.sseq, self.cseq, 0x18, data);
        self.sseq += data.len() as u32;
        f
    }
    fn fin(&mut self) -> Vec<Vec<u8>> {
        vec![
            tcp(self.client, self.server, self.cseq, self.sseq, 0x11, b""),
            tcp(
                self.server,
                self.client,
                self.sseq,
                self.cseq + 1,
                0x11,
                b"",
            ),
        ]
    }
}

fn engine(rules: &str, mode: Mode) -> Engine {
    let set = parse_rules("test.rules", rules, &Vars::suricata_defaults());
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    Engine::new(
        Detector::new(set.rules),
        EngineConfig {
            mode,
            iface: Some("eth0".into()),
            ..EngineConfig::default()
        },
    )
}

fn run(e: &mut Engine, frames: &[Vec<u8>]) -> (Vec<Value>, Vec<Verdict>) {
    let mut verdicts = Vec::new();
    let mut events = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        verdicts.push(e.process(
            1_700_000_000_000_000 + i as i64 * 1000,
            linktype::ETHERNET,
            f,
        ));
        events.extend(e.take_events());
    }
    e.finish();
    events.extend(e.take_events());
    (events, verdicts)
}

fn sids(ev: &[Value]) -> Vec<u64> {
    ev.iter()
        .map(|e| e["alert"]["signature_id"].as_u64().unwrap())
        .collect()
}

#[test]
fn http_transaction_over_split_segments_alerts_once_with_metadata() {
    let mut c = Conv::new(80);
    let mut frames = c.handshake();
    frames.push(c.send_to_server(b"GET /adm"));
    frames.push(c.send_to_server(
        b"in/%2e%2e/login.php HTTP/1.1\r\nHost: Example.COM\r\nUser-Agent: evil\r\n\r\n",
    ));
    let body = b"secret body";
    frames.push(
        c.send_to_client(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/html\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        ),
    );
    frames.push(c.send_to_client(body));
    frames.extend(c.fin());
    let mut e = engine(
        r#"alert http any any -> any any (msg:"login"; flow:established,to_server; http.uri; content:"/login.php"; http.host; content:"example.com"; sid:1; rev:2;)
alert http any any -> any any (msg:"body"; flow:to_client; file.data; content:"secret"; sid:2;)
alert http any any -> any any (msg:"ua"; http.user_agent; content:"evil"; sid:3;)
"#,
        Mode::Ids,
    );
    let (ev, _) = run(&mut e, &frames);
    let mut s = sids(&ev);
    s.sort();
    assert_eq!(s, vec![1, 2, 3]);
    let a = ev.iter().find(|e| e["alert"]["signature_id"] == 1).unwrap();
    assert_eq!(a["event_type"], "alert");
    assert_eq!(a["src_ip"], "10.0.0.1");
    assert_eq!(a["dest_port"], 80);
    assert_eq!(a["proto"], "TCP");
    assert_eq!(a["app_proto"], "http");
    assert_eq!(a["in_iface"], "eth0");
    assert_eq!(a["alert"]["action"], "allowed");
    assert_eq!(a["alert"]["rev"], 2);
    assert_eq!(a["alert"]["signature"], "login");
    assert_eq!(a["http"]["hostname"], "example.com");
    assert_eq!(a["http"]["url"], "/admin/%2e%2e/login.php");
    assert!(
        a["timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-14T22:13:20.")
    );
    let b = ev.iter().find(|e| e["alert"]["signature_id"] == 2).unwrap();
    assert_eq!(b["src_ip"], "10.0.0.2");
    assert_eq!(b["flow_id"], a["flow_id"]);
}

#[test]
fn gzip_chunked_body_is_decoded_for_file_data() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"<html>MALWARE-MARKER</html>").unwrap();
    let z = gz.finish().unwrap();
    let mut resp =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
    for part in z.chunks(7) {
        resp.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        resp.extend_from_slice(part);
        resp.extend_from_slice(b"\r\n");
    }
    resp.extend_from_slice(b"0\r\n\r\n");
    let mut c = Conv::new(8080);
    let mut frames = c.handshake();
    frames.push(c.send_to_server(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    for part in resp.chunks(20) {
        frames.push(c.send_to_client(part));
    }
    let mut e = engine(
        r#"alert http any any -> any any (msg:"m"; file.data; content:"MALWARE-MARKER"; sid:9;)"#,
        Mode::Ids,
    );
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![9]);
}

#[test]
fn out_of_order_and_retransmitted_segments_are_reassembled() {
    let mut c = Conv::new(80);
    let mut frames = c.handshake();
    let a = c.send_to_server(b"GET /one");
    let b = c.send_to_server(b"/two HTTP/1.1\r\n\r\n");
    frames.push(b.clone());
    frames.push(a.clone());
    frames.push(a);
    frames.push(b);
    let mut e = engine(
        r#"alert http any any -> any any (msg:"u"; http.uri; content:"/one/two"; sid:4;)"#,
        Mode::Ids,
    );
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![4]);
}

#[test]
fn ips_drop_blocks_the_rest_of_the_flow() {
    let mut c = Conv::new(80);
    let mut frames = c.handshake();
    frames.push(c.send_to_server(b"GET /bad HTTP/1.1\r\nHost: x\r\n\r\n"));
    frames.push(c.send_to_client(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd"));
    let rules = r#"drop http any any -> any any (msg:"bad"; http.uri; content:"/bad"; sid:5;)
alert tcp any any -> any any (msg:"any data from server"; flow:to_client; content:"abcd"; sid:6;)"#;
    let mut e = engine(rules, Mode::Ips);
    let (ev, verdicts) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![5]);
    assert_eq!(ev[0]["alert"]["action"], "blocked");
    assert_eq!(verdicts[3], Verdict::Drop);
    assert_eq!(verdicts[4], Verdict::Drop);
    assert_eq!(verdicts[..3], [Verdict::Accept; 3]);
    // The same traffic in IDS mode: the drop rule only alerts, the flow goes on.
    let mut e = engine(rules, Mode::Ids);
    let (ev, verdicts) = run(&mut e, &frames);
    let mut s = sids(&ev);
    s.sort();
    assert_eq!(s, vec![5, 6]);
    assert_eq!(ev[0]["alert"]["action"], "allowed");
    assert!(verdicts.iter().all(|v| *v == Verdict::Accept));
}

#[test]
fn established_needs_the_handshake() {
    let rule = r#"alert tcp any any -> any any (msg:"e"; flow:established,to_server; content:"HELLO"; sid:7;)"#;
    // Mid-stream data without a handshake is not established.
    let mut c = Conv::new(7000);
    let mut e = engine(rule, Mode::Ids);
    let (ev, _) = run(&mut e, &[c.send_to_server(b"HELLO")]);
    assert!(ev.is_empty());
    let mut c = Conv::new(7000);
    let mut frames = c.handshake();
    frames.push(c.send_to_server(b"HELLO"));
    let mut e = engine(rule, Mode::Ids);
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![7]);
}

fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut v = vec![(id >> 8) as u8, id as u8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in name.split('.') {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.extend_from_slice(&[0, 0, 1, 0, 1]);
    v
}

#[test]
fn dns_over_udp_and_tcp() {
    let cl = (Ipv4Addr::new(10, 0, 0, 1), 5353);
    let sv = (Ipv4Addr::new(10, 0, 0, 53), 53);
    let rule =
        r#"alert dns any any -> any any (msg:"d"; dns.query; content:"evil.example"; sid:8;)"#;
    let mut e = engine(rule, Mode::Ids);
    let q = dns_query(1, "www.evil.example");
    let (ev, _) = run(&mut e, &[udp(cl, sv, &q)]);
    assert_eq!(sids(&ev), vec![8]);
    assert_eq!(ev[0]["dns"]["query"][0]["rrname"], "www.evil.example");
    assert_eq!(ev[0]["proto"], "UDP");
    let mut c = Conv::new(53);
    let mut frames = c.handshake();
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    frames.push(c.send_to_server(&framed[..3]));
    frames.push(c.send_to_server(&framed[3..]));
    let mut e = engine(rule, Mode::Ids);
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![8]);
    assert_eq!(ev[0]["app_proto"], "dns");
}

fn client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let mut sn = vec![0u8];
    sn.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sn.extend_from_slice(name);
    let mut list = (sn.len() as u16).to_be_bytes().to_vec();
    list.extend_from_slice(&sn);
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
    ext.extend_from_slice(&list);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7u8; 32]);
    body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1, 0];
    hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[test]
fn tls_sni_on_any_port_by_content() {
    let mut c = Conv::new(8443);
    let mut frames = c.handshake();
    let hello = client_hello("bad.example.net");
    frames.push(c.send_to_server(&hello[..9]));
    frames.push(c.send_to_server(&hello[9..]));
    let mut e = engine(
        r#"alert tls any any -> any any (msg:"t"; tls.sni; content:"bad.example.net"; sid:10;)"#,
        Mode::Ids,
    );
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![10]);
    assert_eq!(ev[0]["tls"]["sni"], "bad.example.net");
    assert_eq!(ev[0]["app_proto"], "tls");
}

#[test]
fn malformed_frames_are_counted_not_fatal() {
    let mut e = engine(
        r#"alert ip any any -> any any (msg:"x"; sid:11;)"#,
        Mode::Ids,
    );
    // Too short for Ethernet, too short for IPv4 (ethertype 0x0800), an IPv4 header
    // claiming a bad header length; then an ARP frame, which is not an error.
    let mut bad_ihl = vec![0u8; 12];
    bad_ihl.extend_from_slice(&[0x08, 0x00, 0x41]);
    bad_ihl.extend_from_slice(&[0u8; 19]);
    let mut short_ip = vec![0u8; 12];
    short_ip.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
    for f in [&b""[..], &short_ip, &bad_ihl] {
        assert_eq!(e.process(0, linktype::ETHERNET, f), Verdict::Accept);
    }
    let mut arp = vec![0xffu8; 12];
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0u8; 28]);
    assert_eq!(e.process(0, linktype::ETHERNET, &arp), Verdict::Accept);
    let s = e.stats();
    assert_eq!(s.decode_errors, 3);
    assert_eq!(s.non_ip, 1);
    assert_eq!(s.packets, 4);
    assert_eq!(s.alerts, 0);
}

#[test]
fn tls_certificate_subject_is_inspected() {
    let hex = include_str!("data/tls-cert.hex").trim();
    let der: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut list = vec![0, (der.len() >> 8) as u8, der.len() as u8];
    list.extend_from_slice(&der);
    let mut msg = vec![0, (list.len() >> 8) as u8, list.len() as u8];
    msg.extend_from_slice(&list);
    let mut hs = vec![11, 0, (msg.len() >> 8) as u8, msg.len() as u8];
    hs.extend_from_slice(&msg);
    let mut rec = vec![0x16, 3, 3, (hs.len() >> 8) as u8, hs.len() as u8];
    rec.extend_from_slice(&hs);
    let mut c = Conv::new(443);
    let mut frames = c.handshake();
    frames.push(c.send_to_server(&client_hello("x.example")));
    frames.push(c.send_to_client(&rec));
    let mut e = engine(
        r#"alert tls any any -> any any (msg:"c"; tls.cert_subject; content:"O=Mamori Test"; sid:12;)"#,
        Mode::Ids,
    );
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![12]);
    assert_eq!(
        ev[0]["tls"]["subject"],
        "C=JP, O=Mamori Test, CN=tls.example.test"
    );
    assert_eq!(ev[0]["src_ip"], "10.0.0.2");
}

#[test]
fn smtp_commands_are_inspected() {
    let mut c = Conv::new(25);
    let mut frames = c.handshake();
    frames.push(c.send_to_client(b"220 mx.example ESMTP\r\n"));
    frames.push(c.send_to_server(b"EHLO evil.example\r\n"));
    frames.push(c.send_to_client(b"250 ok\r\n"));
    frames.push(
        c.send_to_server(b"MAIL FROM:<boss@example.org>\r\nRCPT TO:<victim@example.net>\r\n"),
    );
    frames.push(c.send_to_server(b"DATA\r\nSubject: invoice\r\n\r\nopen the attachment\r\n.\r\n"));
    let mut e = engine(
        r#"alert smtp any any -> any any (msg:"helo"; smtp.helo; content:"evil.example"; sid:13;)
alert smtp any any -> any any (msg:"rcpt"; smtp.rcpt_to; content:"victim@"; sid:14;)
alert smtp any any -> any any (msg:"body"; file.data; content:"open the attachment"; sid:15;)
"#,
        Mode::Ids,
    );
    let (ev, _) = run(&mut e, &frames);
    let mut s = sids(&ev);
    s.sort();
    assert_eq!(s, vec![13, 14, 15]);
    let r = ev
        .iter()
        .find(|e| e["alert"]["signature_id"] == 14)
        .unwrap();
    assert_eq!(r["app_proto"], "smtp");
    assert_eq!(r["smtp"]["mail_from"], "boss@example.org");
    assert_eq!(r["smtp"]["rcpt_to"][0], "victim@example.net");
}

#[test]
fn a_new_syn_after_close_starts_a_new_flow() {
    let rule = r#"alert http any any -> any any (msg:"u"; http.uri; content:"/second"; sid:16;)"#;
    let mut c = Conv::new(80);
    let mut frames = c.handshake();
    frames.push(c.send_to_server(b"GET /first HTTP/1.1\r\n\r\n"));
    frames.extend(c.fin());
    // Same ports, a new connection with an unrelated sequence number.
    let mut c2 = Conv::new(80);
    c2.cseq = 900_000;
    c2.sseq = 7_000_000;
    frames.extend(c2.handshake());
    frames.push(c2.send_to_server(b"GET /second HTTP/1.1\r\n\r\n"));
    let mut e = engine(rule, Mode::Ids);
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![16]);
    assert_eq!(e.stats().flows, 2);
}

#[test]
fn fragmented_datagram_is_reassembled_before_inspection() {
    let cl = (Ipv4Addr::new(10, 0, 0, 1), 5353);
    let sv = (Ipv4Addr::new(10, 0, 0, 53), 53);
    let q = dns_query(3, "fragmented.evil.example");
    let whole = udp(cl, sv, &q);
    // Split the IP payload (UDP header + DNS) at 16 bytes into two fragments, sent in
    // reverse order.
    let ip = &whole[14..];
    let payload = &ip[20..];
    let frag = |off: usize, more: bool, data: &[u8]| {
        let mut f = whole[..14].to_vec();
        let mut h = ip[..20].to_vec();
        h[2..4].copy_from_slice(&((20 + data.len()) as u16).to_be_bytes());
        let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&fo.to_be_bytes());
        f.extend_from_slice(&h);
        f.extend_from_slice(data);
        f
    };
    let frames = vec![
        frag(16, false, &payload[16..]),
        frag(0, true, &payload[..16]),
    ];
    let mut e = engine(
        r#"alert dns any any -> any any (msg:"d"; dns.query; content:"fragmented.evil"; sid:17;)"#,
        Mode::Ids,
    );
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![17]);
    assert_eq!(e.stats().fragments, 2);
}

/// A session of `total` bytes to the server (in 1400-byte segments) with `marker` at
/// `at`, then an HTTP download whose body holds the marker at the same offset.
fn long_session(total: usize, at: usize, marker: &[u8]) -> Vec<Vec<u8>> {
    let mut data = vec![b'a'; total];
    data[at..at + marker.len()].copy_from_slice(marker);
    let mut c = Conv::new(9999);
    let mut frames = c.handshake();
    for seg in data.chunks(1400) {
        frames.push(c.send_to_server(seg));
    }
    frames.extend(c.fin());
    let mut h = Conv::new(80);
    h.client.1 = 40001;
    frames.extend(h.handshake());
    frames.push(h.send_to_server(b"GET /big HTTP/1.1\r\nHost: example.com\r\n\r\n"));
    frames.push(
        h.send_to_client(format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n").as_bytes()),
    );
    for seg in data.chunks(1400) {
        frames.push(h.send_to_client(seg));
    }
    frames.extend(h.fin());
    frames
}

fn depth_engine(depth: u64) -> Engine {
    let rules = r#"alert tcp any any -> any 9999 (msg:"raw"; flow:established,to_server; content:"DEPTHMARK"; sid:1;)
alert http any any -> any any (msg:"body"; flow:to_client; file.data; content:"DEPTHMARK"; sid:2;)
"#;
    let set = parse_rules("test.rules", rules, &Vars::suricata_defaults());
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    Engine::new(
        Detector::new(set.rules),
        EngineConfig {
            stream: mamori_ids::stream::StreamConfig {
                depth,
                ..Default::default()
            },
            // Body limits above the depth, so that the depth is what bounds file.data.
            http: mamori_ids::app::http::HttpConfig {
                max_body_bytes: 4 << 20,
                max_decoded_bytes: 4 << 20,
                ..Default::default()
            },
            ..EngineConfig::default()
        },
    )
}

#[test]
fn stream_depth_bounds_raw_stream_and_app_layer_inspection() {
    let mib = 1024 * 1024;
    // The default is Suricata's 1 MiB per direction.
    assert_eq!(EngineConfig::default().stream.depth, mib as u64);
    // Within the depth (and spanning a segment boundary): both rules alert.
    let near = long_session(mib + 200_000, 100_000 - 4, b"DEPTHMARK");
    let (ev, _) = run(&mut depth_engine(mib as u64), &near);
    let mut s = sids(&ev);
    s.sort();
    assert_eq!(s, vec![1, 2]);
    // Beyond the depth: neither the raw stream nor the HTTP body is inspected.
    let far = long_session(mib + 200_000, mib + 100_000, b"DEPTHMARK");
    let (ev, _) = run(&mut depth_engine(mib as u64), &far);
    assert_eq!(sids(&ev), Vec::<u64>::new());
    // Unlimited (0): both alert.
    let (ev, _) = run(&mut depth_engine(0), &far);
    let mut s = sids(&ev);
    s.sort();
    assert_eq!(s, vec![1, 2]);
    // Straddling the depth: the part before it alone cannot match.
    let edge = long_session(mib + 200_000, mib - 4, b"DEPTHMARK");
    let (ev, _) = run(&mut depth_engine(mib as u64), &edge);
    assert_eq!(sids(&ev), Vec::<u64>::new());
}

/// An Ethernet/IPv6 frame from 2001:db8::1 to 2001:db8::2 with the given next header and
/// payload (extension headers included).
fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    f.extend_from_slice(&[next, 64]);
    let a: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let b: std::net::Ipv6Addr = "2001:db8::2".parse().unwrap();
    f.extend_from_slice(&a.octets());
    f.extend_from_slice(&b.octets());
    f.extend_from_slice(payload);
    f
}

#[test]
fn decoder_events_alert_on_invalid_and_valid_packets() {
    let mut e = engine(
        r#"alert pkthdr any any -> any any (msg:"trunc"; decode-event:ipv4.trunc_pkt; sid:1;)
alert tcp any any -> any any (msg:"tcp small"; decode-event:tcp.pkt_too_small; sid:2;)
alert pkthdr any any -> any any (msg:"useless fh"; decode-event:ipv6.exthdr_useless_fh; sid:3;)
alert pkthdr any any -> any any (msg:"overlap"; decode-event:ipv6.frag_overlap; sid:4;)
alert udp any any -> any any (msg:"udp"; content:"hello"; sid:5;)
alert ip any any -> any any (msg:"any ip"; sid:6;)
alert icmpv6 any any -> any any (msg:"icmpv6"; itype:128; sid:7;)
alert icmpv4 any any -> any any (msg:"icmpv4"; sid:8;)"#,
        Mode::Ids,
    );
    let (c, s) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    // IPv4 claiming 100 bytes with 20 captured: invalid, no addresses.
    let mut trunc = ipv4(c, s, 6, &[]);
    trunc[16..18].copy_from_slice(&100u16.to_be_bytes());
    // IPv4 with a 4-byte TCP header: addresses known, TCP invalid.
    let small_tcp = ipv4(c, s, 6, &[0, 80, 0, 81]);
    // IPv6: an atomic fragment header (offset 0, no more fragments) before an ICMPv6
    // echo request; then two overlapping fragments of one datagram.
    let mut atomic = vec![58, 0, 0, 0, 0, 0, 0, 9];
    atomic.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]);
    let frag = |off: u16, more: bool, data: &[u8]| {
        let mut h = vec![17, 0];
        h.extend_from_slice(&((off / 8) << 3 | u16::from(more)).to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 7]);
        h.extend_from_slice(data);
        ipv6(44, &h)
    };
    let frames = vec![
        trunc,
        small_tcp,
        ipv6(44, &atomic),
        frag(0, true, &[0u8; 16]),
        frag(8, false, &[0u8; 16]),
    ];
    let (ev, _) = run(&mut e, &frames);
    let mut got = sids(&ev);
    got.sort();
    // sid 6 (any ip) sees the valid IPv6 packet only: its flow's first packet.
    assert_eq!(got, vec![1, 2, 3, 4, 6, 7], "{ev:?}");
    let by = |sid: u64| {
        ev.iter()
            .find(|r| r["alert"]["signature_id"] == sid)
            .unwrap()
    };
    // No IP header to speak of: null addresses and ports, no flow.
    for k in ["src_ip", "dest_ip", "src_port", "dest_port"] {
        assert_eq!(by(1)[k], Value::Null, "{k}: {}", by(1));
    }
    assert!(by(1).get("flow_id").is_none());
    assert_eq!(by(2)["src_ip"], "10.0.0.1");
    assert_eq!(by(2)["proto"], "TCP");
    // IPv6 addresses are written in full, as Suricata writes them.
    assert_eq!(by(3)["src_ip"], "2001:0db8:0000:0000:0000:0000:0000:0001");
    // The truncated IPv4 packet, the short TCP header, and the reassembled datagram
    // (its UDP header is zeros: length 0 is invalid).
    assert_eq!(e.stats().decode_errors, 3);
}

#[test]
fn data_on_the_syn_is_stream_data_continued_by_the_next_segment() {
    // TCP Fast Open: the SYN carries the start of the request; a content spanning the
    // SYN's data and the next segment is found once, on the stream.
    let mut e = engine(
        r#"alert tcp any any -> any any (msg:"span"; content:"d2d3"; sid:1;)
alert tcp-pkt any any -> any any (msg:"pkt"; content:"d2d3"; sid:2;)"#,
        Mode::Ids,
    );
    let c = (Ipv4Addr::new(10, 0, 0, 1), 40000);
    let s = (Ipv4Addr::new(10, 0, 0, 2), 80);
    let frames = vec![
        tcp(c, s, 100, 0, 0x02, b"GET /a1d2"),
        tcp(s, c, 500, 110, 0x12, b""),
        tcp(c, s, 110, 501, 0x10, b"d3 HTTP/1.1\r\n\r\n"),
        tcp(c, s, 125, 501, 0x10, b"d2d3"),
    ];
    let (ev, _) = run(&mut e, &frames);
    let mut got = sids(&ev);
    got.sort();
    // sid 1: across the SYN's data and the third packet, then again in the last
    // packet; sid 2 (packets only): the last packet alone.
    assert_eq!(got, vec![1, 1, 2], "{ev:?}");
}

#[test]
fn sctp_ports_and_a_pass_rule_that_alerts() {
    let mut e = engine(
        r#"alert sctp any 7 -> any 7 (msg:"sctp"; sid:1;)
pass udp any any -> any 53 (msg:"allowed dns"; alert; sid:2;)
alert udp any any -> any 53 (msg:"dns"; sid:3;)"#,
        Mode::Ids,
    );
    // SCTP common header: ports 7 -> 7, tag, checksum; then a DATA chunk.
    let mut sctp = vec![0, 7, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0];
    sctp.extend_from_slice(&[0, 3, 0, 8, b'a', b'b', b'c', b'd']);
    let frames = vec![
        ipv4(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            132,
            &sctp,
        ),
        udp(
            (Ipv4Addr::new(10, 0, 0, 1), 5000),
            (Ipv4Addr::new(10, 0, 0, 2), 53),
            b"q",
        ),
    ];
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![1, 2], "{ev:?}");
    assert_eq!(ev[0]["proto"], "SCTP");
    assert_eq!(
        (ev[0]["src_port"].as_u64(), ev[0]["dest_port"].as_u64()),
        (Some(7), Some(7))
    );
    // The pass rule is logged (allowed) and stops detection on its flow: no sid 3.
    assert_eq!(ev[1]["alert"]["action"], "allowed");
}

#[test]
fn data_on_a_rst_is_inspected_with_the_packet_not_the_stream() {
    let mut e = engine(
        r#"alert tcp-pkt any any -> any any (msg:"pkt"; tcp.flags:R,A; content:"Denied"; sid:1;)
alert tcp any any -> any any (msg:"stream"; flow:only_stream; content:"Denied"; sid:2;)
alert tcp any any -> any any (msg:"span"; content:"In!Denied"; sid:3;)"#,
        Mode::Ids,
    );
    let c = (Ipv4Addr::new(10, 0, 0, 1), 40000);
    let s = (Ipv4Addr::new(10, 0, 0, 2), 80);
    let frames = vec![
        tcp(c, s, 100, 0, 0x02, b""),
        tcp(s, c, 500, 101, 0x12, b""),
        tcp(c, s, 101, 501, 0x10, b""),
        tcp(c, s, 101, 501, 0x18, b"Let Me In!"),
        tcp(s, c, 501, 111, 0x14, b"Denied"),
    ];
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![1], "{ev:?}");
}

#[test]
fn syns_with_new_sequence_numbers_queue_then_flood_and_the_session_follows_the_last() {
    let mut e = engine(
        r#"alert tcp any any -> any any (msg:"flood"; stream-event:3whs_syn_flood; sid:1;)
alert tcp any any -> any any (msg:"data"; content:"hello"; sid:2;)"#,
        Mode::Ids,
    );
    let c = (Ipv4Addr::new(10, 0, 0, 1), 40000);
    let s = (Ipv4Addr::new(10, 0, 0, 2), 80);
    // The first SYN, 10 more with new sequence numbers (queued), then 2 beyond the
    // queue, one of them twice: 3 floods. The server answers the last.
    let mut frames: Vec<Vec<u8>> = (0..13u32)
        .map(|i| tcp(c, s, 1000 * i, 0, 0x02, b""))
        .collect();
    frames.push(tcp(c, s, 12_000, 0, 0x02, b""));
    frames.push(tcp(s, c, 7, 12_001, 0x12, b""));
    frames.push(tcp(c, s, 12_001, 8, 0x10, b""));
    frames.push(tcp(c, s, 12_001, 8, 0x18, b"hello"));
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![1, 1, 1, 2], "{ev:?}");
}

/// A TCP segment with the timestamps option (value, echo reply).
fn tcp_ts(
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    ts: (u32, u32),
) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&src.1.to_be_bytes());
    t.extend_from_slice(&dst.1.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x80, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(&[1, 1, 8, 10]);
    t.extend_from_slice(&ts.0.to_be_bytes());
    t.extend_from_slice(&ts.1.to_be_bytes());
    ipv4(src.0, dst.0, 6, &t)
}

#[test]
fn a_forged_reply_before_the_handshake_has_an_invalid_timestamp_and_is_ignored() {
    let mut e = engine(
        r#"alert tcp any any -> any any (msg:"ts"; stream-event:pkt_invalid_timestamp; sid:1;)
alert tcp any any -> any any (msg:"data"; flow:established; content:"hello"; sid:2;)"#,
        Mode::Ids,
    );
    let c = (Ipv4Addr::new(10, 0, 0, 1), 40000);
    let s = (Ipv4Addr::new(10, 0, 0, 2), 80);
    let frames = vec![
        tcp_ts(c, s, 100, 0, 0x02, (5000, 0)),
        // Echoes a timestamp the client never sent: rejected, the session stays.
        tcp_ts(s, c, 0, 101, 0x14, (100, 100)),
        // Echoes the SYN's: fine.
        tcp_ts(s, c, 500, 101, 0x12, (7000, 5000)),
        tcp_ts(c, s, 101, 501, 0x10, (5001, 7000)),
        tcp_ts(c, s, 101, 501, 0x18, (5002, 7000)),
    ];
    let mut frames = frames;
    let last = frames.len() - 1;
    frames[last].extend_from_slice(b"hello");
    let total = (frames[last].len() - 14) as u16;
    frames[last][16..18].copy_from_slice(&total.to_be_bytes());
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![1, 2], "{ev:?}");
}

#[test]
fn a_side_that_goes_on_after_its_reset_makes_the_reset_suspect() {
    let mut e = engine(
        r#"alert tcp any any -> any any (msg:"rst"; stream-event:suspected_rst_inject; sid:1;)"#,
        Mode::Ids,
    );
    let c = (Ipv4Addr::new(10, 0, 0, 1), 40000);
    let s = (Ipv4Addr::new(10, 0, 0, 2), 80);
    let frames = vec![
        tcp(c, s, 100, 0, 0x02, b""),
        tcp(s, c, 500, 101, 0x12, b""),
        tcp(c, s, 101, 501, 0x10, b""),
        // A RST in sequence from the client, then the client goes on: once.
        tcp(c, s, 101, 501, 0x14, b""),
        tcp(c, s, 101, 501, 0x18, b"GET / HTTP/1.0\r\n\r\n"),
        tcp(c, s, 119, 501, 0x10, b""),
        // A RST out of sequence is not counted.
        tcp(s, c, 9999, 119, 0x14, b""),
        tcp(s, c, 501, 119, 0x10, b""),
    ];
    let (ev, _) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![1], "{ev:?}");
}

#[test]
fn a_packet_type_drop_rule_drops_the_packet_not_the_flow() {
    // Suricata's action scope: a rule with a packet keyword (dsize) acts on the packet
    // alone; a rule on the reassembled stream drops the rest of the flow.
    let mut e = engine(
        r#"drop tcp any any -> any any (msg:"empty"; flow:established; dsize:0; sid:1;)
drop tcp any any -> any any (msg:"evil"; flow:established; content:"evil"; sid:2;)"#,
        Mode::Ips,
    );
    let c = (Ipv4Addr::new(10, 0, 0, 1), 40000);
    let s = (Ipv4Addr::new(10, 0, 0, 2), 80);
    let frames = vec![
        tcp(c, s, 100, 0, 0x02, b""),
        tcp(s, c, 500, 101, 0x12, b""),
        tcp(c, s, 101, 501, 0x10, b""),
        tcp(c, s, 101, 501, 0x10, b""),
        tcp(c, s, 101, 501, 0x18, b"ok"),
        tcp(c, s, 103, 501, 0x10, b""),
        tcp(c, s, 103, 501, 0x18, b"evil"),
        tcp(c, s, 107, 501, 0x18, b"more"),
    ];
    let (ev, verdicts) = run(&mut e, &frames);
    assert_eq!(sids(&ev), vec![1, 1, 2], "{ev:?}");
    use Verdict::{Accept as A, Drop as D};
    assert_eq!(verdicts, vec![A, A, A, D, A, D, D, D]);
}

#[test]
fn a_pass_on_the_transaction_voids_the_packet_rules_of_its_packet() {
    // Suricata orders a packet's packet rules and transaction rules together, pass
    // first: the pass on the request the packet completes wins over an alert on it.
    let mut e = engine(
        r#"pass http any any -> any any (http.host; content:"good.example"; sid:1;)
alert tcp any any -> any any (msg:"get"; content:"GET"; sid:2;)"#,
        Mode::Ids,
    );
    let c = (Ipv4Addr::new(10, 0, 0, 1), 40000);
    let c2 = (Ipv4Addr::new(10, 0, 0, 1), 40001);
    let s = (Ipv4Addr::new(10, 0, 0, 2), 80);
    let mut frames = Vec::new();
    for (cl, host) in [(c, "good.example"), (c2, "other.example")] {
        frames.push(tcp(cl, s, 100, 0, 0x02, b""));
        frames.push(tcp(s, cl, 500, 101, 0x12, b""));
        frames.push(tcp(cl, s, 101, 501, 0x10, b""));
        let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        frames.push(tcp(cl, s, 101, 501, 0x18, req.as_bytes()));
    }
    let (ev, _) = run(&mut e, &frames);
    // The second connection, not passed, alerts.
    assert_eq!(sids(&ev), vec![2], "{ev:?}");
    assert_eq!(ev[0]["src_port"], 40001);
}

#[test]
fn fragments_reach_fragbits_rules() {
    let mut e = engine(
        r#"alert ip any any -> any any (msg:"mf"; fragbits:M; sid:1;)
alert ip any any -> any any (msg:"any"; flow:to_server; sid:2;)"#,
        Mode::Ids,
    );
    let (c, s) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    let mut first = ipv4(c, s, 17, &[0u8; 16]);
    first[20] = 0x20; // more fragments
    let mut last = ipv4(c, s, 17, &[0u8; 8]);
    last[21] = 2; // offset 16 bytes
    let (ev, _) = run(&mut e, &[first, last]);
    // The first fragment (MF) alerts sid 1; the datagram is never complete (a gap).
    assert_eq!(sids(&ev), vec![1], "{ev:?}");
}
