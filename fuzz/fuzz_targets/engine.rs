//! The whole engine (decode, flows, streams, app layers, detection) never panics on
//! a sequence of arbitrary frames.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::detect::Detector;
use mamori_ids::engine::{Engine, EngineConfig};
use mamori_ids::rules::{Vars, parse_rules};

const RULES: &str = r#"alert http any any -> any any (msg:"u"; http.uri; content:"/a"; sid:1;)
alert tcp any any -> any any (msg:"p"; content:"GET"; sid:2;)
alert dns any any -> any any (msg:"d"; dns.query; content:"x"; sid:3;)
alert tls any any -> any any (msg:"t"; tls.sni; content:"x"; sid:4;)
alert pkthdr any any -> any any (msg:"e"; decode-event:ipv6.frag_overlap; sid:5;)
alert tcp any any -> any any (msg:"tr"; decode-event:tcp.pkt_too_small; sid:6;)
alert http any any -> any any (msg:"x"; http.uri; url_decode; from_base64: offset 1; gunzip; content:"a"; sid:7;)
alert ip any any -> any any (msg:"h"; ipv4.hdr; byte_extract:1,0,v,relative; byte_math:bytes 1, offset 1, oper *, rvalue v, result r; tcp.hdr; byte_test:1,>,r,0; sid:8;)
alert tcp:flow_start any any -> any any (msg:"f"; flow.pkts:either,>0; tcp.mss:>0; sid:9;)
alert http any any -> any any (msg:"a"; http.referer; absent: or_else; content:!"x"; sid:10;)
"#;

fuzz_target!(|data: &[u8]| {
    let set = parse_rules("fuzz.rules", RULES, &Vars::suricata_defaults());
    let mut e = Engine::new(Detector::new(set.rules), EngineConfig::default());
    // Frames separated by the byte sequence 0xde 0xad.
    let mut ts = 0;
    let mut start = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        if data[i] == 0xde && data[i + 1] == 0xad {
            e.process(ts, 101, &data[start..i]);
            ts += 1000;
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    e.process(ts, 101, &data[start..]);
    e.finish();
    let _ = e.take_events();
});
