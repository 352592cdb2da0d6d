//! The capture reader never panics and never loops.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::pcap::PcapReader;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = PcapReader::new(data) {
        for p in r.take(10_000) {
            let _ = p;
        }
    }
});
