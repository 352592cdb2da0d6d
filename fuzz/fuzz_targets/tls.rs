//! The TLS record and handshake parser never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::app::tls::TlsState;
use mamori_ids::detect::Direction;

fuzz_target!(|data: &[u8]| {
    let mut t = TlsState::default();
    let seg = data.first().map_or(1, |b| (*b as usize % 32) + 1);
    for c in data.get(1..).unwrap_or(&[]).chunks(seg) {
        t.feed(Direction::ToServer, c);
        t.feed(Direction::ToClient, c);
    }
});
