//! SNMP against the real net-snmp: snmpd polled over v2c and v3 authPriv (SHA-256,
//! AES-128) in a gateway namespace, faults injected for real (an interface taken down,
//! an nft drop rule, snmpd killed); `snmptrap`/`snmpinform` sending v2c and v3
//! notifications to the trap receiver.

#![cfg(feature = "external")]

mod monitor_testbed;

use mamori_center::adapters::monitor::snmp::{
    self, AuthProtocol, Credentials, PrivProtocol, Target,
};
use mamori_center::adapters::monitor::trap::{Received, Settings, TrapReceiver, User};
use mamori_monitor::trap::{IfStatus, Oid, TrapEvent, Value, Version};
use monitor_testbed::*;
use std::time::Duration;

const AUTH: &str = "authpass-123";
const PRIV: &str = "privpass-123";

fn v2c() -> Target {
    Target {
        addr: format!("{GW_IP}:161").parse().unwrap(),
        credentials: Credentials::V2c {
            community: "public".into(),
        },
        timeout: Duration::from_millis(700),
        retries: 1,
    }
}

fn v3(auth_password: &str) -> Target {
    Target {
        credentials: Credentials::V3 {
            user: "mamori".into(),
            auth: AuthProtocol::Sha256,
            auth_password: auth_password.into(),
            privacy: PrivProtocol::Aes128,
            privacy_password: PRIV.into(),
        },
        ..v2c()
    }
}

fn start_snmpd(tb: &Testbed) {
    let dir = tb.dir.path().display().to_string();
    std::fs::create_dir_all(tb.path("snmp")).unwrap();
    tb.write(
        "snmpd.conf",
        &format!(
            "agentAddress udp:{GW_IP}:161\n\
             rocommunity public 10.77.0.0/24\n\
             createUser mamori SHA-256 \"{AUTH}\" AES \"{PRIV}\"\n\
             rouser mamori priv\n\
             disk / 1\n\
             load 12 10 5\n"
        ),
    );
    tb.spawn_env(
        "snmpd",
        &[
            "snmpd",
            "-f",
            "-Lo",
            "-C",
            "-c",
            &format!("{dir}/snmpd.conf"),
            "-p",
            &format!("{dir}/snmpd.pid"),
        ],
        &[
            ("SNMP_PERSISTENT_DIR", &format!("{dir}/snmp")),
            ("MIBS", ""),
        ],
    );
    wait_for("snmpd listening", Duration::from_secs(10), || {
        gw_listens(tb, "udp", 161)
    });
}

fn if_index(tb: &Testbed, name: &str) -> u32 {
    let out = tb.gw_run(&["ip", "-o", "link", "show", name]);
    out.split(':').next().unwrap().trim().parse().unwrap()
}

#[test]
fn snmpd_polled_over_v2c_and_v3_authpriv_and_faults_are_seen() {
    let tb = Testbed::new("snmp");
    start_snmpd(&tb);
    let veth = if_index(&tb, &tb.gw_if);
    tb.in_center(async || {
        for (name, t) in [("v2c", v2c()), ("v3", v3(AUTH))] {
            let p = snmp::poll(&t)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}\n{}", tb.log("snmpd")));
            assert!(p.uptime.is_some_and(|u| u < 60 * 100 * 5), "{name}: {p:?}");
            let lo = &p.interfaces[&1];
            assert_eq!(lo.oper, Some(IfStatus::Up), "{name}");
            let v = &p.interfaces[&veth];
            // net-snmp's own reading of the veth's status (it reports a veth that was
            // up before it started as down): ours must say the same.
            let theirs = tb
                .gw_ok(&["snmpget", "-v2c", "-c", "public", "-Oqv", GW_IP, &format!("1.3.6.1.2.1.2.2.1.8.{veth}")])
                .await;
            let code: i64 = theirs.trim().parse().unwrap_or_else(|_| panic!("{theirs:?}"));
            assert_eq!(v.oper, IfStatus::from_code(code), "{name}");
            assert!(v.in_octets.unwrap() > 0, "{name}: {v:?}");
            assert!(p.cpu_ticks.is_some(), "{name}: ssCpuRaw*");
            assert!(p.mem_total_kb.unwrap() > p.mem_available_kb.unwrap(), "{name}");
            assert!(
                p.disks.iter().any(|(path, pct)| path == "/" && *pct <= 100),
                "{name}: {:?}",
                p.disks
            );
            assert_eq!(p.load.len(), 3, "{name}");
            let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
            let names: Vec<String> = p.samples(at).into_iter().map(|(n, _)| n).collect();
            for n in ["uptime_s", "mem.used_percent", "disk./.used_percent", "load.15"] {
                assert!(names.iter().any(|x| x == n), "{name}: {n} in {names:?}");
            }
            assert!(names.contains(&format!("if.{veth}.in_octets")));
        }
        // The counters move with the traffic (net-snmp caches its interface table for a
        // few seconds, hence the wait).
        let first = snmp::poll(&v2c()).await.unwrap();
        let a = first.interfaces[&veth].clone();
        tokio::time::sleep(Duration::from_secs(6)).await;
        let b = snmp::poll(&v2c()).await.unwrap().interfaces[&veth].clone();
        assert!(b.in_octets > a.in_octets, "ifHCInOctets {a:?} -> {b:?}");
        assert!(b.out_octets > a.out_octets, "ifHCOutOctets {a:?} -> {b:?}");
        let (ta, tb2) = (first.cpu_ticks.unwrap(), snmp::poll(&v2c()).await.unwrap().cpu_ticks.unwrap());
        let busy = mamori_monitor::metrics::cpu_busy_percent(&ta, &tb2).expect("ticks passed");
        assert!((0.0..=100.0).contains(&busy));

        // Wrong v3 password: refused, an error, not data.
        assert!(snmp::poll(&v3("wrong-password-1")).await.is_err());

        // An interface taken down is seen in ifOperStatus (once net-snmp's interface
        // cache has expired: a few seconds).
        tb.gw_ok(&["ip", "link", "set", "lo", "down"]).await;
        let mut seen = Vec::new();
        for _ in 0..20 {
            let p = snmp::poll(&v3(AUTH)).await.unwrap();
            seen.push(p.interfaces[&1].oper);
            if seen.last() == Some(&Some(IfStatus::Down)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(seen.last(), Some(&Some(IfStatus::Down)), "{seen:?}");
        tb.gw_ok(&["ip", "link", "set", "lo", "up"]).await;

        // nft drops SNMP: the poll fails; without the rule it works again.
        tb.gw_ok(&["nft", "add table inet mmon; add chain inet mmon in { type filter hook input priority 0; }; add rule inet mmon in udp dport 161 drop"]).await;
        let e = snmp::poll(&v2c()).await.unwrap_err();
        assert!(e.to_string().contains(GW_IP), "{e}");
        tb.gw_ok(&["nft", "delete table inet mmon"]).await;
        snmp::poll(&v2c()).await.unwrap();

        // snmpd killed: the poll fails.
        tb.kill("snmpd");
        assert!(snmp::poll(&v2c()).await.is_err());
    });
}

async fn next(r: &TrapReceiver) -> Received {
    tokio::time::timeout(Duration::from_secs(10), r.recv())
        .await
        .expect("a notification within 10 s")
        .unwrap()
}

/// `line` split on spaces, then `more` as they are.
fn cmd<'a>(line: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    line.split_whitespace()
        .chain(more.iter().copied())
        .collect()
}

const V3_SENDER: &str = "-v 3 -u mamori -l authPriv -a SHA-256 -x AES -X privpass-123";

#[test]
fn traps_and_informs_v2c_and_v3_are_received_and_interpreted() {
    let tb = Testbed::new("trap");
    tb.in_center(async || {
        let settings = Settings {
            bind: format!("{CENTER_IP}:1162").parse().unwrap(),
            communities: vec!["mmon-traps".into()],
            users: vec![User {
                name: "mamori".into(),
                auth: AuthProtocol::Sha256,
                auth_password: AUTH.into(),
                privacy: PrivProtocol::Aes128,
                privacy_password: PRIV.into(),
            }],
            engine_id: b"\x80\x00\x1f\x88\x04mmon-center".to_vec(),
        };
        let r = TrapReceiver::bind(&settings).await.unwrap();
        let to = format!("udp:{CENTER_IP}:1162");
        let to = to.as_str();

        // A datagram that is not SNMP, and a trap under a community not listed: dropped.
        let junk = tokio::net::UdpSocket::bind((CENTER_IP, 0)).await.unwrap();
        junk.send_to(b"\x30\x03\x02\x01", (CENTER_IP, 1162))
            .await
            .unwrap();
        tb.gw_ok(&cmd(
            "snmptrap -v 2c -c other",
            &[to, "", "1.3.6.1.6.3.1.1.5.1"],
        ))
        .await;

        // v2c linkDown with the IF-MIB bindings.
        tb.gw_ok(&cmd(
            "snmptrap -v 2c -c mmon-traps",
            &[
                to,
                "",
                "1.3.6.1.6.3.1.1.5.3",
                "1.3.6.1.2.1.2.2.1.1.3",
                "i",
                "3",
                "1.3.6.1.2.1.2.2.1.7.3",
                "i",
                "1",
                "1.3.6.1.2.1.2.2.1.8.3",
                "i",
                "2",
            ],
        ))
        .await;
        let got = next(&r).await;
        assert_eq!(got.source.ip().to_string(), GW_IP);
        assert_eq!(got.notification.version, Version::V2c);
        assert_eq!(got.notification.security_name, "mmon-traps");
        let Ok(TrapEvent::LinkDown(link)) = &got.event else {
            panic!("{got:?}")
        };
        assert_eq!(
            (link.if_index, link.admin, link.oper),
            (Some(3), Some(IfStatus::Up), Some(IfStatus::Down))
        );
        assert_eq!(
            r.dropped(),
            1,
            "the foreign community was refused and counted"
        );

        // v2c inform: snmpinform succeeds only with our acknowledgement, which goes out
        // while the receiver is being read.
        let inform = cmd(
            "snmpinform -v 2c -c mmon-traps -t 2 -r 1",
            &[to, "", "1.3.6.1.6.3.1.1.5.1"],
        );
        let (sent, got) = tokio::join!(tb.gw_async(&inform), next(&r));
        assert!(
            sent.status.success(),
            "{}",
            String::from_utf8_lossy(&sent.stderr)
        );
        assert!(got.notification.confirmed);
        assert_eq!(got.event, Ok(TrapEvent::ColdStart));

        // v3 authPriv trap from the sender's own engine, with an enterprise OID.
        let mut trap = vec!["snmptrap"];
        trap.extend(cmd(
            V3_SENDER,
            &[
                "-A",
                AUTH,
                "-e",
                "0x80001f8804676174657761792d31",
                to,
                "",
                "1.3.6.1.4.1.99999.0.7",
                "1.3.6.1.4.1.99999.1.1",
                "s",
                "fan failed",
            ],
        ));
        tb.gw_ok(&trap).await;
        let got = next(&r).await;
        assert_eq!(got.notification.version, Version::V3);
        assert_eq!(got.notification.security_name, "mamori");
        assert_eq!(
            got.event,
            Ok(TrapEvent::Enterprise {
                trap_oid: "1.3.6.1.4.1.99999.0.7".parse::<Oid>().unwrap(),
                varbinds: vec![(
                    "1.3.6.1.4.1.99999.1.1".parse().unwrap(),
                    Value::OctetString(b"fan failed".to_vec())
                )]
            })
        );

        // v3 inform: snmpinform discovers our engine and gets its acknowledgement.
        let mut inform = vec!["snmpinform"];
        inform.extend(cmd(
            V3_SENDER,
            &[
                "-A",
                AUTH,
                "-t",
                "2",
                "-r",
                "1",
                to,
                "",
                "1.3.6.1.6.3.1.1.5.4",
            ],
        ));
        inform.extend(["1.3.6.1.2.1.2.2.1.8.5", "i", "1"]);
        let (sent, got) = tokio::join!(tb.gw_async(&inform), next(&r));
        assert!(
            sent.status.success(),
            "{}",
            String::from_utf8_lossy(&sent.stderr)
        );
        assert!(got.notification.confirmed);
        let Ok(TrapEvent::LinkUp(link)) = &got.event else {
            panic!("{got:?}")
        };
        assert_eq!((link.if_index, link.oper), (Some(5), Some(IfStatus::Up)));

        // A v3 trap with the wrong password is dropped and counted.
        let before = r.dropped();
        let mut bad = vec!["snmptrap"];
        bad.extend(cmd(
            V3_SENDER,
            &[
                "-A",
                "not-the-password",
                "-e",
                "0x80001f8804676174657761792d31",
                to,
                "",
                "1.3.6.1.6.3.1.1.5.2",
            ],
        ));
        tb.gw_ok(&bad).await;
        tb.gw_ok(&cmd(
            "snmptrap -v 2c -c mmon-traps",
            &[to, "", "1.3.6.1.6.3.1.1.5.5"],
        ))
        .await;
        let got = next(&r).await;
        assert_eq!(
            got.event,
            Ok(TrapEvent::AuthenticationFailure),
            "the trap with the wrong password never came"
        );
        assert!(r.dropped() > before);
    });
}
