//! The application-layer parsers on real captures (from the shared suricata-verify
//! corpus): rules on each protocol's buffers, and the EVE records besides alerts.
//! The expected values are read from the captures themselves (banners, headers,
//! Content-Length), not from the engine.

use std::fs;
use std::path::{Path, PathBuf};

use mamori_ids::detect::Detector;
use mamori_ids::engine::{Engine, EngineConfig, EveTypes};
use mamori_ids::pcap::PcapReader;
use mamori_ids::rules::{Vars, parse_rules};
use serde_json::Value;

fn case(name: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../../shared/conformance/suricata-verify-wide")
        .join(name)
}

/// Runs a case's capture with the given rules; returns every EVE record.
fn run(name: &str, rules: &str, eve: EveTypes) -> Vec<Value> {
    let dir = case(name);
    let set = parse_rules("test.rules", rules, &Vars::default());
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    let cfg = EngineConfig {
        eve,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(Detector::new(set.rules), cfg);
    let bytes = fs::read(dir.join("input.pcap")).expect("capture");
    let mut out = Vec::new();
    for p in PcapReader::new(&bytes[..]).expect("pcap") {
        // Some captures end with a truncated record, as the corpus harness allows.
        let Ok(p) = p else { break };
        engine.process(p.ts_micros, p.linktype, &p.data);
        out.extend(engine.take_events());
    }
    engine.finish();
    out.extend(engine.take_events());
    out
}

fn sids(events: &[Value]) -> Vec<u64> {
    let mut v: Vec<u64> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| e["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn ssh_banners_of_both_sides() {
    let ev = run(
        "ssh-hassh-only",
        "alert ssh any any -> any any (flow:to_server; ssh.software; content:\"OpenSSH_for_Windows_7.7\"; bsize:23; sid:1;)\n\
         alert ssh any any -> any any (flow:to_client; ssh.software; content:\"OpenSSH_7.4\"; bsize:11; sid:2;)\n\
         alert ssh any any -> any any (ssh.proto; content:\"2.0\"; bsize:3; sid:3;)\n\
         alert ssh any any -> any any (ssh.software; content:\"OpenSSH_7.4\"; flow:to_server; sid:4;)",
        EveTypes::default(),
    );
    assert_eq!(sids(&ev), vec![1, 2, 3, 3]);
}

#[test]
fn http_file_keywords_and_fileinfo_record() {
    let ev = run(
        "fileext-01",
        "alert http any any -> any any (file.name; content:\"/~regit/r.pdf\"; startswith; endswith; sid:1;)\n\
         alert http any any -> any any (filesize:12419; sid:2;)\n\
         alert http any any -> any any (filesize:>12419; sid:3;)\n\
         alert http any any -> any any (filemagic:\"pdf document, version 1.5\"; sid:4;)",
        EveTypes::all(),
    );
    assert_eq!(sids(&ev), vec![1, 2, 4]);
    let files: Vec<&Value> = ev
        .iter()
        .filter(|e| e["event_type"] == "fileinfo")
        .collect();
    assert_eq!(files.len(), 1, "one fileinfo record: {files:?}");
    let f = &files[0]["fileinfo"];
    assert_eq!(f["filename"], "/~regit/r.pdf");
    assert_eq!(f["size"], 12419);
    assert_eq!(f["magic"], "PDF document, version 1.5");
    assert_eq!(files[0]["http"]["url"], "/~regit/r.pdf");
    // The transaction's record, and the flow's at its end.
    let http: Vec<&Value> = ev.iter().filter(|e| e["event_type"] == "http").collect();
    assert_eq!(http.len(), 1);
    assert_eq!(http[0]["http"]["http_method"], "GET");
    let flows: Vec<&Value> = ev.iter().filter(|e| e["event_type"] == "flow").collect();
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0]["app_proto"], "http");
    assert!(flows[0]["flow"]["bytes_toclient"].as_u64().unwrap() > 12419);
    assert_eq!(flows[0]["flow"]["alerted"], true);
}

#[test]
fn eve_records_are_off_by_default() {
    let ev = run(
        "fileext-01",
        "alert http any any -> any any (filesize:12419; sid:2;)",
        EveTypes::default(),
    );
    assert!(ev.iter().all(|e| e["event_type"] == "alert"));
}

#[test]
fn tls_anomaly_records_once_each() {
    let ev = run(
        "bug-1450-02",
        "alert tls any any -> any any (app-layer-event:tls.invalid_handshake_message; sid:1;)",
        EveTypes {
            anomaly: true,
            ..EveTypes::default()
        },
    );
    assert_eq!(sids(&ev), vec![1]);
    let anomalies: Vec<&str> = ev
        .iter()
        .filter(|e| e["event_type"] == "anomaly")
        .map(|e| e["anomaly"]["event"].as_str().unwrap())
        .collect();
    assert!(
        anomalies.contains(&"INVALID_HANDSHAKE_MESSAGE"),
        "{anomalies:?}"
    );
    let mut dedup = anomalies.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(
        dedup.len(),
        anomalies.len(),
        "each event once: {anomalies:?}"
    );
}

#[test]
fn smb_file_and_dcerpc_over_named_pipes() {
    // The EICAR test file written over SMB1 (WriteAndX after an AndX chain).
    let ev = run(
        "smb-eicar-andx",
        "alert smb any any -> any any (file_data; content:\"X5O!P%@AP\"; startswith; sid:1;)\n\
         alert smb any any -> any any (smb.version:1; flow:to_server; sid:2;)",
        EveTypes::default(),
    );
    let s = sids(&ev);
    assert!(s.contains(&1) && s.contains(&2), "{s:?}");
    // SMB2 IOCTL pipe transceive carrying DCERPC calls to the SVCCTL interface.
    let ev = run(
        "dcerpc-smb-test-01",
        "alert smb any any -> any any (flow:to_server; dcerpc.iface:367abb81-9844-35f1-ad32-98f038001003; dcerpc.opnum:15; sid:1;)\n\
         alert smb any any -> any any (flow:to_server; dcerpc.iface:367abb81-9844-35f1-ad32-98f038001003; dcerpc.opnum:999; sid:2;)",
        EveTypes::default(),
    );
    assert_eq!(sids(&ev), vec![1, 1]);
}

#[test]
fn sip_krb5_ntp_on_udp() {
    let ev = run(
        "sip-content-length",
        "alert sip any any -> any any (flow:to_client; sip.content_length; content:\"199\"; sid:1;)",
        EveTypes::default(),
    );
    assert_eq!(sids(&ev), vec![1]);
    let ev = run(
        "krb5-krb5_msg_type",
        "alert krb5 any any -> any any (krb5_msg_type:10; sid:10;)\n\
         alert krb5 any any -> any any (krb5_msg_type:30; sid:30;)",
        EveTypes::default(),
    );
    assert_eq!(sids(&ev), vec![10, 10, 30]);
    let ev = run(
        "ntp-keywords",
        "alert ntp any any -> any any (ntp.reference_id; content:\"LOCL\"; sid:1;)",
        EveTypes::default(),
    );
    assert_eq!(sids(&ev), vec![1, 1]);
}

#[test]
fn ftp_reply_line_limit() {
    let ev = run(
        "ftp__ftp-too-long-response",
        "alert ftp any any -> any any (ftp.command; content:\"PASV\"; app-layer-event:ftp.response_command_too_long; sid:1;)\n\
         alert ftp any any -> any any (ftp.command; content:\"USER\"; ftp.command_data; content:\"user\"; sid:2;)",
        EveTypes::default(),
    );
    assert_eq!(sids(&ev), vec![1, 2]);
}

mod never_panic {
    use mamori_ids::app::TxParser;
    use mamori_ids::app::{
        dcerpc, dhcp, ftp, ikev2, krb5, ntp, quic, rfb, sip, smb, ssh, websocket,
    };
    use mamori_ids::detect::Direction;
    use proptest::prelude::*;

    /// Feeds the bytes in pieces, alternating directions by `pattern`, and reads back
    /// every update's buffers and EVE metadata.
    fn drive(p: &mut dyn TxParser, data: &[u8], split: usize, pattern: u8) {
        let mut out = Vec::new();
        for (i, c) in data.chunks(split).enumerate() {
            let dir = if pattern >> (i % 8) & 1 == 1 {
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
    }

    /// Bytes that often look like the protocols' headers.
    fn protocolish() -> impl Strategy<Value = Vec<u8>> {
        let tokens = prop::sample::select(vec![
            &b"SSH-2.0-x\r\n"[..],
            b"\x00\x00\x00\x2c\x06\x14",
            b"\x00\x00\x00\x40\xfeSMB\x40\x00",
            b"\x00\x00\x00\x40\xffSMB\x2f",
            b"\x05\x00\x0b\x03\x10\x00\x00\x00\x48\x00",
            b"\x05\x00\x00\x03\x10\x00\x00\x00",
            b"INVITE sip:a SIP/2.0\r\n",
            b"SIP/2.0 200 OK\r\nl: 5\r\n\r\n",
            b"\x6a\x81\x10\x30\x0e\xa1\x03\x02\x01\x05",
            b"USER x\r\n",
            b"227 ",
            b"RFB 003.008\n",
            b"\x01\x02",
            b"\xff\xff\xff\xff",
            b"\r\n",
        ]);
        prop::collection::vec(
            prop_oneof![
                tokens.prop_map(|t| t.to_vec()),
                prop::collection::vec(any::<u8>(), 0..24)
            ],
            0..24,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn stream_parsers_never_panic(data in protocolish(), split in 1usize..40, pattern in any::<u8>()) {
            drive(&mut ssh::SshState::default(), &data, split, pattern);
            drive(&mut smb::SmbState::new(), &data, split, pattern);
            drive(&mut dcerpc::DcerpcState::default(), &data, split, pattern);
            drive(&mut sip::SipState::default(), &data, split, pattern);
            drive(&mut krb5::Krb5State::default(), &data, split, pattern);
            drive(&mut ftp::FtpState::default(), &data, split, pattern);
            drive(&mut rfb::RfbState::default(), &data, split, pattern);
            drive(&mut websocket::WebSocketState::default(), &data, split, pattern);
        }

        #[test]
        fn datagram_parsers_never_panic(data in prop::collection::vec(any::<u8>(), 0..600), pattern in any::<u8>()) {
            drive(&mut ntp::NtpState::default(), &data, data.len().max(1), pattern);
            drive(&mut dhcp::DhcpState::default(), &data, data.len().max(1), pattern);
            drive(&mut ikev2::Ikev2State::default(), &data, data.len().max(1), pattern);
            drive(&mut quic::QuicState::default(), &data, data.len().max(1), pattern);
            let _ = krb5::parse_message(&data);
            let _ = sip::parse_message(&data);
        }
    }
}

#[test]
fn tls_ja4_of_the_client_hello() {
    // The JA4 Suricata computes for this capture's ClientHello (from the corpus rule).
    let ev = run(
        "ja4-rules",
        "alert tls any any -> any any (ja4.hash; content:\"t13d1516h2_8daaf6152771_e5627efa2ab1\"; bsize:36; sid:2;)\n\
         alert tls any any -> any any (ja4.hash; content:\"t13d1516h2_8daaf6152771_e5627efa2ab1X\"; sid:4;)",
        EveTypes::default(),
    );
    assert_eq!(sids(&ev), vec![2]);
}

#[test]
fn frame_alerts_carry_no_transaction_id() {
    let ev = run(
        "ssh-frames",
        "alert ssh any any -> any 22 (frame:ssh.record.hdr; content:\"|15|\"; endswith; bsize:6; sid:2;)",
        EveTypes::default(),
    );
    assert_eq!(sids(&ev), vec![2]);
    let a = ev.iter().find(|e| e["event_type"] == "alert").unwrap();
    assert!(a.get("tx_id").is_none(), "{a}");
}
