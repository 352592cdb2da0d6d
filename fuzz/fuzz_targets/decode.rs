//! The packet decoder and fragment reassembly never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::decode::{decode, defrag::Defrag};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let link = [0u16, 1, 101, 104, 113, 276][data[0] as usize % 6];
    if let Ok(p) = decode(link, &data[1..])
        && p.fragment.is_some()
    {
        let mut d = Defrag::default();
        let _ = d.add(0, &p);
    }
});
