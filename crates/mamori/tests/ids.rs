//! `mamori ids` as a user runs it: the real binary on real captures from the shared
//! corpus, writing a real EVE file.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn shared() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../../../shared")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mamori-ids-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mamori() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
}

fn eve(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn pcap_to_eve_with_summary() {
    let case = shared().join("conformance/http-evader/http-evader__http-evader-200");
    let dir = tmp("evader");
    let out = dir.join("eve.json");
    let r = mamori()
        .args(["ids", "--pcap"])
        .arg(case.join("input.pcap"))
        .arg("--rules")
        .arg(case.join("rules.rules"))
        .arg("--eve")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(
        r.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(stdout.contains("packets: "), "{stdout}");
    assert!(stdout.contains("rules loaded: 2"), "{stdout}");
    let ev = eve(&out);
    let mut sids: Vec<u64> = ev
        .iter()
        .map(|e| e["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    sids.sort();
    assert_eq!(sids, vec![1, 2]);
    for e in &ev {
        assert_eq!(e["event_type"], "alert");
        assert_eq!(e["app_proto"], "http");
        assert_eq!(e["proto"], "TCP");
        assert!(e["flow_id"].as_u64().unwrap() > 0);
        assert!(
            e["http"]["url"]
                .as_str()
                .unwrap()
                .starts_with("/compressed/")
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn ips_mode_blocks_and_several_rule_files() {
    let case = shared().join("conformance/suricata-verify/iponly-ipv6-range-01");
    let dir = tmp("ips");
    let extra = dir.join("extra.rules");
    std::fs::write(
        &extra,
        "alert ip any any -> any any (msg:\"broken\"; nosuchkeyword; sid:77;)\n",
    )
    .unwrap();
    let out = dir.join("eve.json");
    let r = mamori()
        .args(["ids", "--mode", "ips", "--pcap"])
        .arg(case.join("input.pcap"))
        .arg("--rules")
        .arg(case.join("rules.rules"))
        .arg("--rules")
        .arg(&extra)
        .arg("--eve")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(r.status.success(), "{stdout}");
    assert!(stdout.contains("rules skipped: 1"), "{stdout}");
    assert!(stdout.contains("extra.rules:1 sid 77"), "{stdout}");
    let ev = eve(&out);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["alert"]["action"], "blocked");
    assert_eq!(ev[0]["alert"]["signature_id"], 1000001);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_signature_in_two_rule_files_is_loaded_once() {
    // The same sid in a second file (a newer rev) replaces the first: one alert per
    // match, the older revision reported as skipped.
    let case = shared().join("conformance/suricata-verify/iponly-ipv6-range-01");
    let dir = tmp("dup");
    let first = dir.join("first.rules");
    let second = dir.join("second.rules");
    let rule = std::fs::read_to_string(case.join("rules.rules")).unwrap();
    let line = rule
        .lines()
        .find(|l| l.contains("sid:1000001;"))
        .expect("the case's rule");
    std::fs::write(&first, format!("{line}\n")).unwrap();
    std::fs::write(&second, format!("{}\n", line.replace("rev:1;", "rev:9;"))).unwrap();
    let out = dir.join("eve.json");
    let r = mamori()
        .args(["ids", "--pcap"])
        .arg(case.join("input.pcap"))
        .args(["--rules"])
        .arg(&first)
        .arg("--rules")
        .arg(&second)
        .arg("--eve")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(r.status.success(), "{stdout}");
    assert!(
        stdout.contains("rules loaded: 1  rules skipped: 1"),
        "{stdout}"
    );
    let ev = eve(&out);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["alert"]["signature_id"], 1000001);
    assert_eq!(ev[0]["alert"]["rev"], 9);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn no_usable_rule_inspects_without_rules_and_exits_zero() {
    // As Suricata: rules that fail to load are reported, the capture is inspected
    // anyway, the run succeeds and the EVE file holds no alert.
    let dir = tmp("norules");
    let bad = dir.join("bad.rules");
    std::fs::write(
        &bad,
        "alert tcp any any -> any any (msg:\"x\"; bogus_kw; sid:1;)\n",
    )
    .unwrap();
    let empty = dir.join("empty.rules");
    std::fs::write(&empty, "# nothing here\n\n").unwrap();
    let pcap = shared().join("conformance/suricata-verify/bug-1045/input.pcap");
    for (rules, mention) in [(&bad, "bad.rules:1"), (&empty, "empty.rules")] {
        let eve_path = dir.join("eve.json");
        std::fs::write(&eve_path, "stale\n").unwrap();
        let r = mamori()
            .args(["ids", "--pcap"])
            .arg(&pcap)
            .arg("--rules")
            .arg(rules)
            .arg("--eve")
            .arg(&eve_path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(r.status.success(), "{err}");
        assert!(err.contains("no usable rule"), "{err}");
        assert!(err.contains(mention), "{err}");
        let text = std::fs::read_to_string(&eve_path).unwrap();
        assert!(!text.contains("\"alert\""), "no rule, no alert: {text}");
        assert!(!text.contains("stale"), "the EVE file is rewritten: {text}");
        let stdout = String::from_utf8_lossy(&r.stdout);
        assert!(stdout.contains("rules loaded: 0"), "{stdout}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn errors_are_reported_with_a_non_zero_exit() {
    let dir = tmp("errors");
    let rules = dir.join("bad.rules");
    std::fs::write(
        &rules,
        "alert tcp any any -> any any (msg:\"x\"; bogus_kw; sid:1;)\n",
    )
    .unwrap();
    // A capture that is not one.
    std::fs::write(
        dir.join("good.rules"),
        "alert tcp any any -> any any (msg:\"x\"; sid:1;)\n",
    )
    .unwrap();
    let r = mamori()
        .args(["ids", "--pcap"])
        .arg(&rules)
        .arg("--rules")
        .arg(dir.join("good.rules"))
        .arg("--eve")
        .arg(dir.join("eve.json"))
        .output()
        .unwrap();
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("not a pcap or pcapng file"), "{err}");
    // A missing file.
    let r = mamori()
        .args(["ids", "--pcap", "/nonexistent.pcap", "--rules"])
        .arg(dir.join("good.rules"))
        .arg("--eve")
        .arg(dir.join("eve.json"))
        .output()
        .unwrap();
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("cannot open the capture /nonexistent.pcap")
    );
    std::fs::remove_dir_all(dir).ok();
}

/// A classic pcap (Ethernet) of one TCP session to port 9999: handshake, then `data`
/// to the server in 1400-byte segments, then FIN.
fn session_pcap(path: &Path, data: &[u8]) {
    fn frame(seq: u32, ack: u32, flags: u8, to_server: bool, data: &[u8]) -> Vec<u8> {
        let (src, dst, sp, dp) = if to_server {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 9999u16)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 9999, 40000)
        };
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&((40 + data.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(data);
        f
    }
    let (mut c, s) = (1000u32, 5000u32);
    let mut frames = vec![
        frame(c, 0, 0x02, true, b""),
        frame(s, c + 1, 0x12, false, b""),
        frame(c + 1, s + 1, 0x10, true, b""),
    ];
    c += 1;
    for seg in data.chunks(1400) {
        frames.push(frame(c, s + 1, 0x18, true, seg));
        c += seg.len() as u32;
    }
    frames.push(frame(c, s + 1, 0x11, true, b""));
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn stream_depth_option_bounds_stream_inspection() {
    let dir = tmp("depth");
    let pcap = dir.join("long.pcap");
    let mut data = vec![b'a'; 1_300_000];
    data[1_200_000..1_200_009].copy_from_slice(b"DEPTHMARK");
    session_pcap(&pcap, &data);
    let rules = dir.join("depth.rules");
    std::fs::write(
        &rules,
        "alert tcp any any -> any 9999 (msg:\"marker\"; flow:established,to_server; content:\"DEPTHMARK\"; sid:7;)\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let out = dir.join("eve.json");
        let r = mamori()
            .args(["ids", "--pcap"])
            .arg(&pcap)
            .arg("--rules")
            .arg(&rules)
            .arg("--eve")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        );
        eve(&out)
            .iter()
            .map(|e| e["alert"]["signature_id"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    // Default depth (1 MiB): the marker at 1.2 MB is not inspected.
    assert_eq!(run(&[]), Vec::<u64>::new());
    assert_eq!(run(&["--stream-depth", "2mb"]), vec![7]);
    assert_eq!(run(&["--stream-depth", "0"]), vec![7]);
    assert_eq!(run(&["--stream-depth", "1048576"]), Vec::<u64>::new());
    let r = mamori()
        .args(["ids", "--pcap"])
        .arg(&pcap)
        .arg("--rules")
        .arg(&rules)
        .arg("--eve")
        .arg(dir.join("x.json"))
        .args(["--stream-depth", "1 megabyte"])
        .output()
        .unwrap();
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("is not a size"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn eve_records_besides_alerts_on_request() {
    let case = shared().join("conformance/suricata-verify-wide/fileext-01");
    let dir = tmp("eve-records");
    let out = dir.join("eve.json");
    let rules = dir.join("r.rules");
    std::fs::write(
        &rules,
        "alert http any any -> any any (fileext:\"pdf\"; sid:1;)\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let r = mamori()
            .args(["ids", "--pcap"])
            .arg(case.join("input.pcap"))
            .arg("--rules")
            .arg(&rules)
            .arg("--eve")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let mut types: Vec<String> = eve(&out)
            .iter()
            .map(|e| e["event_type"].as_str().unwrap().to_string())
            .collect();
        types.sort();
        types.dedup();
        types
    };
    assert_eq!(run(&[]), vec!["alert"]);
    assert_eq!(
        run(&["--eve-records", "fileinfo,flow"]),
        vec!["alert", "fileinfo", "flow"]
    );
    assert_eq!(
        run(&["--eve-records", "all"]),
        vec!["alert", "fileinfo", "flow", "http"]
    );
    let bad = mamori()
        .args(["ids", "--no-rules", "--eve-records", "alerts", "--eve"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown EVE record type 'alerts'"));
    std::fs::remove_dir_all(dir).ok();
}
