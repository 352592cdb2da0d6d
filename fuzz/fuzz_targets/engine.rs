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
