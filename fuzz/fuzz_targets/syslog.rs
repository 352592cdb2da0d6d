//! The syslog decoders never panic: RFC 5424 and RFC 3164 messages, and the stream
//! deframer (octet counting and LF framing) fed in arbitrary pieces with an arbitrary
//! size limit; every frame it yields is within the limit and decoded in turn.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_monitor::framing::Deframer;
use mamori_monitor::syslog::{Options, parse};

fuzz_target!(|data: &[u8]| {
    let opts = Options::utc(jiff::Timestamp::from_second(1_800_000_000).unwrap());
    let _ = parse(data, &opts);
    let (head, rest) = data.split_at(data.len().min(2));
    let max = head.first().map_or(64, |b| *b as usize * 4 + 1);
    let piece = head.get(1).map_or(7, |b| *b as usize % 64 + 1);
    let mut d = Deframer::new(max);
    for chunk in rest.chunks(piece) {
        d.push(chunk);
        while let Some(f) = d.next_frame() {
            match f {
                Ok(f) => {
                    assert!(f.bytes.len() <= max);
                    let _ = parse(&f.bytes, &opts);
                }
                Err(_) => break,
            }
        }
    }
    if let Some(Ok(f)) = d.finish() {
        let _ = parse(&f.bytes, &opts);
    }
});
