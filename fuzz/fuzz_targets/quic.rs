//! The QUIC long header parser never panics on any datagram; every update's buffers and EVE
//! metadata can be read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::app::TxParser;
use mamori_ids::app::quic::QuicState;
use mamori_ids::detect::Direction;

fuzz_target!(|data: &[u8]| {
    let mut p = QuicState::default();
    let mut out = Vec::new();
    p.feed(Direction::ToServer, data, &mut out);
    p.feed(Direction::ToClient, data.get(1..).unwrap_or(&[]), &mut out);
    for u in &out {
        let mut bufs = Vec::new();
        p.buffers(u, &mut bufs);
        let _ = p.eve(u.tx_id);
    }
});
