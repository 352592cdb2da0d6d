//! The rule parser never panics; whatever it loads compiles into a detector.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::detect::Detector;
use mamori_ids::rules::{Vars, parse_rules};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let set = parse_rules("fuzz.rules", &text, &Vars::suricata_defaults());
    let _ = Detector::new(set.rules);
});
