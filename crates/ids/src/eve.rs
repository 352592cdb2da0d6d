//! EVE JSON records with Suricata's field names (one JSON object per line).

use std::net::IpAddr;

use serde_json::{Map, Value, json};

/// Suricata's EVE timestamp, in UTC: `2026-04-01T09:30:00.123456+0000`.
pub fn timestamp(ts_micros: i64) -> String {
    let secs = ts_micros.div_euclid(1_000_000);
    let micros = ts_micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+0000",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Suricata's name of an IP protocol in EVE `proto`.
pub fn proto_name(p: u8) -> String {
    match p {
        1 => "ICMP".into(),
        2 => "IGMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        47 => "GRE".into(),
        50 => "ESP".into(),
        51 => "AH".into(),
        58 => "IPv6-ICMP".into(),
        132 => "SCTP".into(),
        n => n.to_string(),
    }
}

/// An address as Suricata writes it: IPv4 dotted, IPv6 as eight groups of four
/// lower-case hex digits, never shortened (`2001:0db8:0000:...`).
pub fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => a
            .segments()
            .iter()
            .map(|s| format!("{s:04x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// What an alert record says about the packet and flow.
#[derive(Debug, Clone)]
pub struct AlertContext<'a> {
    pub ts_micros: i64,
    pub flow_id: u64,
    pub pcap_cnt: Option<u64>,
    pub in_iface: Option<&'a str>,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    /// Ports (TCP/UDP) or None.
    pub ports: Option<(u16, u16)>,
    /// ICMP type and code.
    pub icmp: Option<(u8, u8)>,
    pub proto: u8,
    pub app_proto: Option<&'a str>,
    pub to_server: bool,
    pub tx_id: Option<u64>,
    /// App-layer metadata: ("http", {...}).
    pub metadata: Option<(&'static str, Value)>,
}

/// The `alert` object.
#[derive(Debug, Clone)]
pub struct AlertInfo<'a> {
    /// "allowed" or "blocked".
    pub action: &'a str,
    pub gid: u32,
    pub sid: u32,
    pub rev: u32,
    pub signature: &'a str,
    pub category: &'a str,
    pub severity: u8,
}

/// Builds one EVE alert record.
pub fn alert_record(c: &AlertContext<'_>, a: &AlertInfo<'_>) -> Value {
    let mut m = Map::new();
    m.insert("timestamp".into(), json!(timestamp(c.ts_micros)));
    m.insert("flow_id".into(), json!(c.flow_id));
    if let Some(n) = c.pcap_cnt {
        m.insert("pcap_cnt".into(), json!(n));
    }
    if let Some(i) = c.in_iface {
        m.insert("in_iface".into(), json!(i));
    }
    m.insert("event_type".into(), json!("alert"));
    m.insert("src_ip".into(), json!(ip_text(c.src_ip)));
    if let Some((sp, _)) = c.ports {
        m.insert("src_port".into(), json!(sp));
    }
    m.insert("dest_ip".into(), json!(ip_text(c.dst_ip)));
    if let Some((_, dp)) = c.ports {
        m.insert("dest_port".into(), json!(dp));
    }
    m.insert("proto".into(), json!(proto_name(c.proto)));
    if let Some((t, code)) = c.icmp {
        m.insert("icmp_type".into(), json!(t));
        m.insert("icmp_code".into(), json!(code));
    }
    if let Some(ap) = c.app_proto {
        m.insert("app_proto".into(), json!(ap));
    }
    m.insert(
        "direction".into(),
        json!(if c.to_server {
            "to_server"
        } else {
            "to_client"
        }),
    );
    if let Some(tx) = c.tx_id {
        m.insert("tx_id".into(), json!(tx));
    }
    m.insert(
        "alert".into(),
        json!({
            "action": a.action,
            "gid": a.gid,
            "signature_id": a.sid,
            "rev": a.rev,
            "signature": a.signature,
            "category": a.category,
            "severity": a.severity,
        }),
    );
    if let Some((k, v)) = &c.metadata {
        m.insert((*k).into(), v.clone());
    }
    Value::Object(m)
}

/// The common head of a record (timestamp, flow, addresses, protocol) with its
/// `event_type`.
fn head(c: &AlertContext<'_>, event_type: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("timestamp".into(), json!(timestamp(c.ts_micros)));
    m.insert("flow_id".into(), json!(c.flow_id));
    if let Some(n) = c.pcap_cnt {
        m.insert("pcap_cnt".into(), json!(n));
    }
    if let Some(i) = c.in_iface {
        m.insert("in_iface".into(), json!(i));
    }
    m.insert("event_type".into(), json!(event_type));
    m.insert("src_ip".into(), json!(c.src_ip.to_string()));
    if let Some((sp, _)) = c.ports {
        m.insert("src_port".into(), json!(sp));
    }
    m.insert("dest_ip".into(), json!(c.dst_ip.to_string()));
    if let Some((_, dp)) = c.ports {
        m.insert("dest_port".into(), json!(dp));
    }
    m.insert("proto".into(), json!(proto_name(c.proto)));
    if let Some(ap) = c.app_proto {
        m.insert("app_proto".into(), json!(ap));
    }
    if let Some(tx) = c.tx_id {
        m.insert("tx_id".into(), json!(tx));
    }
    m
}

/// An application-layer anomaly: `{"anomaly": {"type": "applayer", "event":
/// "INVALID_RECORD_TYPE", "layer": "proto_parser"}}` for the engine's
/// `tls.invalid_record_type`.
pub fn anomaly_record(c: &AlertContext<'_>, event: &str) -> Value {
    let name = event.split_once('.').map_or(event, |(_, n)| n);
    let mut m = head(c, "anomaly");
    m.insert(
        "anomaly".into(),
        json!({"type": "applayer", "event": name.to_ascii_uppercase(), "layer": "proto_parser"}),
    );
    Value::Object(m)
}

/// A transaction's own record: `event_type` is the protocol (`http`, `dns`, `tls`,
/// ...) and the object of that name its metadata.
pub fn app_record(c: &AlertContext<'_>, name: &str, metadata: &Value) -> Value {
    let mut m = head(c, name);
    m.insert(name.into(), metadata.clone());
    Value::Object(m)
}

/// A file seen in a transaction (`fileinfo`), with the transaction's metadata.
pub fn fileinfo_record(c: &AlertContext<'_>, fileinfo: Value) -> Value {
    let mut m = head(c, "fileinfo");
    if let Some((k, v)) = &c.metadata {
        m.insert((*k).into(), v.clone());
    }
    m.insert("fileinfo".into(), fileinfo);
    Value::Object(m)
}

/// The counters of a flow at its end.
#[derive(Debug, Clone, Copy)]
pub struct FlowSummary {
    pub start_micros: i64,
    pub end_micros: i64,
    /// [to_server, to_client].
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// `new`, `established` or `closed`.
    pub state: &'static str,
    /// `timeout` or `shutdown` (end of input).
    pub reason: &'static str,
    pub alerted: bool,
}

/// A `flow` record (written when the flow ends); `c` is oriented client to server.
pub fn flow_record(c: &AlertContext<'_>, f: &FlowSummary) -> Value {
    let mut m = head(c, "flow");
    m.insert(
        "flow".into(),
        json!({
            "pkts_toserver": f.packets[0],
            "pkts_toclient": f.packets[1],
            "bytes_toserver": f.bytes[0],
            "bytes_toclient": f.bytes[1],
            "start": timestamp(f.start_micros),
            "end": timestamp(f.end_micros),
            "age": (f.end_micros - f.start_micros).max(0) / 1_000_000,
            "state": f.state,
            "reason": f.reason,
            "alerted": f.alerted,
        }),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_suricata_format() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(
            timestamp(1_775_035_800_123_456),
            "2026-04-01T09:30:00.123456+0000"
        );
        assert_eq!(
            timestamp(951_782_400_000_001),
            "2000-02-29T00:00:00.000001+0000"
        );
    }

    #[test]
    fn alert_record_fields() {
        let c = AlertContext {
            ts_micros: 0,
            flow_id: 42,
            pcap_cnt: Some(3),
            in_iface: Some("eth0"),
            src_ip: "10.0.0.1".parse().unwrap(),
            dst_ip: "10.0.0.2".parse().unwrap(),
            ports: Some((1234, 80)),
            icmp: None,
            proto: 6,
            app_proto: Some("http"),
            to_server: true,
            tx_id: Some(0),
            metadata: Some(("http", json!({"hostname": "example.com"}))),
        };
        let a = AlertInfo {
            action: "blocked",
            gid: 1,
            sid: 7,
            rev: 2,
            signature: "test",
            category: "Misc activity",
            severity: 3,
        };
        let v = alert_record(&c, &a);
        assert_eq!(v["event_type"], "alert");
        assert_eq!(v["src_port"], 1234);
        assert_eq!(v["proto"], "TCP");
        assert_eq!(v["alert"]["action"], "blocked");
        assert_eq!(v["alert"]["signature_id"], 7);
        assert_eq!(v["http"]["hostname"], "example.com");
        assert_eq!(v["in_iface"], "eth0");
        let an = anomaly_record(&c, "tls.invalid_record_type");
        assert_eq!(an["event_type"], "anomaly");
        assert_eq!(an["anomaly"]["event"], "INVALID_RECORD_TYPE");
        assert_eq!(an["app_proto"], "http");
        let fi = fileinfo_record(&c, json!({"filename": "/a.pdf", "size": 3}));
        assert_eq!(fi["fileinfo"]["size"], 3);
        assert_eq!(fi["http"]["hostname"], "example.com");
        let fl = flow_record(
            &c,
            &FlowSummary {
                start_micros: 0,
                end_micros: 2_500_000,
                packets: [3, 2],
                bytes: [100, 50],
                state: "closed",
                reason: "shutdown",
                alerted: true,
            },
        );
        assert_eq!(fl["flow"]["pkts_toclient"], 2);
        assert_eq!(fl["flow"]["age"], 2);
        assert_eq!(fl["flow"]["end"], "1970-01-01T00:00:02.500000+0000");
    }
}
