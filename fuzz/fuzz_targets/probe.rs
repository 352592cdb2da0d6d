//! The probe replies (ICMP echo, NTP, DNS, SSH, SMTP, HTTP status) are read without a
//! panic whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_monitor::probe::{self, Family};

fuzz_target!(|data: &[u8]| {
    for (family, header) in [(Family::V4, true), (Family::V4, false), (Family::V6, false)] {
        let _ = probe::echo_reply(family, data, header);
    }
    let t1 = 1_800_000_000_000_000_000i128;
    let _ = probe::ntp_reply(data, t1, t1 + 1_000_000);
    let _ = probe::dns_response(data, 0x4d4d);
    let _ = probe::ssh_banner(data);
    if let Ok(Some((_, used))) = probe::smtp_reply(data) {
        assert!(used <= data.len());
    }
    let _ = probe::http_status(data);
    let _ = probe::dns_query(1, &String::from_utf8_lossy(data), 1);
});
