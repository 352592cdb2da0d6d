//! The DCERPC PDU parser never panics, whatever the bytes and however they are split
//! between the two directions; every update's buffers and EVE metadata can be read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::app::dcerpc::DcerpcState;
use mamori_ids::detect::Direction;

fuzz_target!(|data: &[u8]| {
    let mut p = DcerpcState::default();
    let mut out = Vec::new();
    let seg = data.first().map_or(1, |b| (*b as usize % 64) + 1);
    for (i, c) in data.get(1..).unwrap_or(&[]).chunks(seg).enumerate() {
        let dir = if c.first().is_some_and(|b| b & 1 == 1) && i % 3 == 0 {
            Direction::ToClient
        } else {
            Direction::ToServer
        };
        p.feed(dir, c, &mut out);
    }
    for u in &out {
        let mut bufs = Vec::new();
        p.buffers(u, &mut bufs);
        let _ = p.eve(u.tx_id);
    }
});
