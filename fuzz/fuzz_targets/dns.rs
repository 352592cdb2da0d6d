//! The DNS parser (UDP messages and TCP framing) never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::app::dns::{DnsState, parse_message};
use mamori_ids::detect::Direction;

fuzz_target!(|data: &[u8]| {
    let _ = parse_message(data);
    let mut s = DnsState::default();
    s.message(data);
    let mut out = Vec::new();
    for c in data.chunks(7) {
        s.feed_stream(Direction::ToServer, c, &mut out);
    }
});
