//! Properties of the syslog decoders: any RFC 5424 message written from its fields
//! parses back to those fields; any sequence of messages framed either way and cut into
//! arbitrary reads comes out of the deframer whole, in order, or cut by the stated rule.

use jiff::Timestamp;
use mamori_monitor::framing::{Deframer, Framing};
use mamori_monitor::syslog::{Format, Options, SdElement, parse};
use proptest::prelude::*;

fn token(max: usize) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(proptest::string::string_regex(&format!("[!-~]{{1,{max}}}")).unwrap())
        .prop_map(|t| t.filter(|s| s != "-"))
}

fn sd_name() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9@._-]{1,32}").unwrap()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

prop_compose! {
    fn element()(id in sd_name(), params in proptest::collection::vec((sd_name(), "\\PC{0,12}"), 0..4)) -> SdElement {
        SdElement { id, params }
    }
}

proptest! {
    #[test]
    fn rfc5424_written_from_fields_parses_back(
        pri in 0u8..192,
        secs in 0i64..4_000_000_000,
        micros in 0i64..1_000_000,
        hostname in token(255), app in token(48), proc_id in token(128), msg_id in token(32),
        sd in proptest::collection::vec(element(), 0..3),
        msg in proptest::option::of("\\PC{0,80}"),
    ) {
        let ts = Timestamp::from_microsecond(secs * 1_000_000 + micros).unwrap();
        let nil = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
        let mut text = format!(
            "<{pri}>1 {} {} {} {} {} ",
            ts, nil(&hostname), nil(&app), nil(&proc_id), nil(&msg_id)
        );
        if sd.is_empty() {
            text.push('-');
        }
        for e in &sd {
            text.push('[');
            text.push_str(&e.id);
            for (n, v) in &e.params {
                text.push_str(&format!(" {n}=\"{}\"", escape(v)));
            }
            text.push(']');
        }
        if let Some(m) = &msg {
            text.push(' ');
            text.push_str(m);
        }
        let m = parse(text.as_bytes(), &Options::utc(ts)).unwrap();
        prop_assert_eq!(m.format, Format::Rfc5424);
        prop_assert_eq!((m.facility, m.severity), (pri / 8, pri % 8));
        prop_assert_eq!(m.timestamp, Some(ts));
        prop_assert_eq!(m.hostname, hostname);
        prop_assert_eq!(m.app_name, app);
        prop_assert_eq!(m.proc_id, proc_id);
        prop_assert_eq!(m.msg_id, msg_id);
        prop_assert_eq!(m.structured_data, sd);
        // (No control or format characters in the generated MSG: no BOM, no LF, which
        // the parser removes by rule.)
        prop_assert_eq!(m.msg, msg.unwrap_or_default());
    }

    #[test]
    fn framed_messages_come_out_whole_or_cut_by_the_rule(
        msgs in proptest::collection::vec(("<[0-9]{1,2}>[ -~]{0,60}", any::<bool>()), 0..20),
        max in 8usize..80,
        read in 1usize..50,
    ) {
        let mut stream = Vec::new();
        for (m, counted) in &msgs {
            if *counted {
                stream.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
            } else {
                stream.extend_from_slice(format!("{m}\n").as_bytes());
            }
        }
        let mut d = Deframer::new(max);
        let mut out = Vec::new();
        for chunk in stream.chunks(read) {
            d.push(chunk);
            while let Some(f) = d.next_frame() {
                out.push(f.unwrap());
            }
        }
        prop_assert_eq!(d.finish(), None);
        prop_assert_eq!(out.len(), msgs.len());
        for (f, (m, counted)) in out.iter().zip(&msgs) {
            let framing = if *counted { Framing::OctetCounting } else { Framing::LineFeed };
            prop_assert_eq!(f.framing, framing);
            if m.len() <= max {
                prop_assert!(!f.truncated);
                prop_assert_eq!(&f.bytes[..], m.as_bytes());
            } else {
                prop_assert!(f.truncated);
                prop_assert_eq!(&f.bytes[..], &m.as_bytes()[..max]);
            }
        }
    }
}
