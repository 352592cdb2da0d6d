//! The HTTP parser never panics, whatever the data and its split between directions
//! and segments.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::app::http::{HttpState, normalize_uri};
use mamori_ids::detect::Direction;

fuzz_target!(|data: &[u8]| {
    let mut h = HttpState::default();
    let mut out = Vec::new();
    // First byte: segment size; then alternate directions on 0xff bytes.
    let seg = data.first().map_or(1, |b| (*b as usize % 64) + 1);
    let mut dir = Direction::ToServer;
    for part in data.get(1..).unwrap_or(&[]).split(|&b| b == 0xff) {
        for c in part.chunks(seg) {
            h.feed(dir, c, &mut out);
        }
        dir = match dir {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        };
    }
    h.close(Direction::ToServer, &mut out);
    h.close(Direction::ToClient, &mut out);
    let _ = normalize_uri(data);
});
