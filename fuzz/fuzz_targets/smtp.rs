//! The SMTP command parser never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::app::smtp::SmtpState;

fuzz_target!(|data: &[u8]| {
    let mut s = SmtpState::default();
    let mut out = Vec::new();
    let seg = data.first().map_or(1, |b| (*b as usize % 32) + 1);
    for c in data.get(1..).unwrap_or(&[]).chunks(seg) {
        s.feed_client(c, &mut out);
    }
});
