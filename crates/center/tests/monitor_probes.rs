//! ICMP echo and the service probes against real servers in a gateway namespace:
//! chrony (NTP), unbound (DNS), openssl s_server (HTTPS), OpenSSH (SSH), aiosmtpd
//! (SMTP); faults injected for real (nft drop rules, a link taken down, a server
//! killed) and seen by the probes.

#![cfg(feature = "external")]

mod monitor_testbed;

use mamori_center::adapters::monitor::icmp::Pinger;
use mamori_center::adapters::monitor::probes;
use mamori_center_model::clock::Clock;
use monitor_testbed::*;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::RootCertStore;
use tokio_rustls::rustls::pki_types::CertificateDer;

const MS: Duration = Duration::from_millis(1);

fn gw(port: u16) -> SocketAddr {
    format!("{GW_IP}:{port}").parse().unwrap()
}

async fn ping(p: &Pinger, addr: &str) -> std::io::Result<mamori_monitor::probe::RoundSummary> {
    p.ping(addr.parse::<IpAddr>().unwrap(), 3, 20 * MS, 500 * MS)
        .await
}

#[test]
fn ping_over_v4_and_v6_sees_nft_drops_and_a_link_down() {
    let tb = Testbed::new("icmp");
    // 50 more addresses on the gateway, probed at once.
    for i in 1..=50 {
        sh(&[
            "ip",
            "-n",
            &tb.gw,
            "addr",
            "add",
            &format!("10.77.1.{i}/32"),
            "dev",
            &tb.gw_if,
        ]);
    }
    sh(&[
        "ip",
        "-n",
        &tb.center,
        "route",
        "add",
        "10.77.1.0/24",
        "via",
        GW_IP,
    ]);
    tb.in_center(async || {
        // A fresh namespace allows no ping sockets: the raw socket is used.
        let p = Pinger::new().unwrap();
        assert_eq!(p.raw_v4(), Some(true));
        for addr in [GW_IP, GW_IP6] {
            let r = ping(&p, addr).await.unwrap();
            assert_eq!((r.sent, r.received, r.loss_percent), (3, 3, 0.0), "{addr}");
            let (lo, avg, hi) = (
                r.rtt_min_ms.unwrap(),
                r.rtt_avg_ms.unwrap(),
                r.rtt_max_ms.unwrap(),
            );
            assert!(
                0.0 < lo && lo <= avg && avg <= hi && hi < 500.0,
                "{addr}: {r:?}"
            );
        }
        let all = futures_util::future::join_all((1..=50).map(|i| {
            let p = &p;
            async move { ping(p, &format!("10.77.1.{i}")).await.unwrap() }
        }))
        .await;
        assert!(all.iter().all(|r| r.loss_percent == 0.0), "{all:?}");

        // nft drops every other echo request... then all of them.
        tb.gw_ok(&[
            "nft",
            "add table inet mmon; add chain inet mmon in { type filter hook input priority 0; }; \
             add rule inet mmon in icmp type echo-request numgen inc mod 2 0 drop",
        ])
        .await;
        let r = p
            .ping(GW_IP.parse().unwrap(), 10, 10 * MS, 500 * MS)
            .await
            .unwrap();
        assert_eq!(r.loss_percent, 50.0, "{r:?}");
        tb.gw_ok(&[
            "nft",
            "add rule inet mmon in meta l4proto { icmp, ipv6-icmp } drop",
        ])
        .await;
        for addr in [GW_IP, GW_IP6] {
            let r = ping(&p, addr).await.unwrap();
            assert_eq!(
                (r.received, r.loss_percent, r.rtt_avg_ms),
                (0, 100.0, None),
                "{addr}"
            );
        }
        tb.gw_ok(&["nft", "delete table inet mmon"]).await;
        assert_eq!(ping(&p, GW_IP).await.unwrap().loss_percent, 0.0);

        // The gateway's link goes down: nothing comes back (or nothing can be sent).
        tb.gw_ok(&["ip", "link", "set", &tb.gw_if, "down"]).await;
        match ping(&p, GW_IP).await {
            Ok(r) => assert_eq!(r.loss_percent, 100.0),
            Err(e) => assert!(e.raw_os_error().is_some(), "{e}"),
        }
        tb.gw_ok(&["ip", "link", "set", &tb.gw_if, "up"]).await;
        // IPv6 addresses go with the link (keep_addr_on_down is off): put it back.
        tb.gw_ok(&[
            "ip",
            "-6",
            "addr",
            "add",
            &format!("{GW_IP6}/64"),
            "dev",
            &tb.gw_if,
            "nodad",
        ])
        .await;
        assert_eq!(p.malformed(), 0);
    });

    // With ping sockets allowed, the unprivileged socket is used and works the same.
    sh(&[
        "ip",
        "netns",
        "exec",
        &tb.center,
        "sysctl",
        "-qw",
        "net.ipv4.ping_group_range=0 2147483647",
    ]);
    tb.in_center(async || {
        let p = Pinger::new().unwrap();
        assert_eq!(p.raw_v4(), Some(false));
        let mut last = None;
        // The link was just brought up again: allow it a moment.
        for _ in 0..20 {
            let r = ping(&p, GW_IP).await.unwrap();
            last = Some(r);
            if r.loss_percent == 0.0 {
                break;
            }
        }
        assert_eq!(last.unwrap().loss_percent, 0.0, "{last:?}");
        assert_eq!(ping(&p, GW_IP6).await.unwrap().loss_percent, 0.0);
    });
}

fn start_servers(tb: &Testbed, p: &Pki) {
    let dir = tb.dir.path().display().to_string();
    // chrony as an NTP server of its own local clock (-x: never touches the clock).
    std::fs::create_dir(tb.path("chrony")).unwrap();
    sh(&["chmod", "700", &format!("{dir}/chrony")]);
    tb.write(
        "chrony.conf",
        &format!(
            "bindaddress {GW_IP}\nallow 10.77.0.0/24\nlocal stratum 8\ncmdport 0\n\
             bindcmdaddress {dir}/chrony/chronyd.sock\npidfile {dir}/chrony/chronyd.pid\n\
             driftfile {dir}/chrony/drift\n"
        ),
    );
    tb.spawn(
        "chronyd",
        &[
            "chronyd",
            "-x",
            "-d",
            "-u",
            "root",
            "-f",
            &format!("{dir}/chrony.conf"),
        ],
    );
    tb.write(
        "unbound.conf",
        &format!(
            "server:\n  interface: {GW_IP}\n  port: 53\n  access-control: 10.77.0.0/24 allow\n\
             \x20 do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"{dir}\"\n\
             \x20 pidfile: \"{dir}/unbound.pid\"\n  use-syslog: no\n  do-ip6: no\n\
             \x20 local-zone: \"gw.test.\" static\n  local-data: \"gw.test. A {GW_IP}\"\n\
             remote-control:\n  control-enable: no\n"
        ),
    );
    tb.spawn(
        "unbound",
        &["unbound", "-d", "-c", &format!("{dir}/unbound.conf")],
    );
    std::fs::write(tb.path("cert.pem"), &p.cert_pem).unwrap();
    std::fs::write(tb.path("key.pem"), &p.key_pem).unwrap();
    std::fs::write(tb.path("expired.pem"), &p.expired_cert_pem).unwrap();
    std::fs::write(tb.path("expired-key.pem"), &p.expired_key_pem).unwrap();
    tb.spawn(
        "s_server_expired",
        &[
            "openssl",
            "s_server",
            "-accept",
            &format!("{GW_IP}:8444"),
            "-cert",
            &format!("{dir}/expired.pem"),
            "-key",
            &format!("{dir}/expired-key.pem"),
            "-www",
            "-quiet",
        ],
    );
    tb.spawn(
        "s_server",
        &[
            "openssl",
            "s_server",
            "-accept",
            &format!("{GW_IP}:8443"),
            "-cert",
            &format!("{dir}/cert.pem"),
            "-key",
            &format!("{dir}/key.pem"),
            "-www",
            "-quiet",
        ],
    );
    // OpenSSH checks that its privilege separation directory exists (Debian creates it
    // when the service starts; the service is not running here).
    std::fs::create_dir_all("/run/sshd").unwrap();
    sh(&[
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-f",
        &format!("{dir}/hostkey"),
    ]);
    tb.write(
        "sshd_config",
        &format!(
            "ListenAddress {GW_IP}\nPort 2222\nHostKey {dir}/hostkey\nPidFile {dir}/sshd.pid\n\
             UsePAM no\n"
        ),
    );
    tb.spawn(
        "sshd",
        &[
            "/usr/sbin/sshd",
            "-D",
            "-e",
            "-f",
            &format!("{dir}/sshd_config"),
        ],
    );
    // aiosmtpd with a fixed host name (its default looks up our FQDN for every
    // connection, which has no resolver to ask in a fresh namespace).
    tb.spawn(
        "smtpd",
        &[
            "/usr/bin/python3",
            "-c",
            &format!(
                "import time\nfrom aiosmtpd.controller import Controller\n\
                 class H:\n    async def handle_DATA(self, *a): return '250 OK'\n\
                 Controller(H(), hostname='{GW_IP}', port=2525, server_hostname='gw.test').start()\n\
                 while True: time.sleep(3600)\n"
            ),
        ],
    );
    for (proto, port) in [
        ("udp", 123),
        ("udp", 53),
        ("tcp", 8443),
        ("tcp", 2222),
        ("tcp", 2525),
    ] {
        wait_for(&format!("{proto} {port}"), Duration::from_secs(15), || {
            gw_listens(tb, proto, port)
        });
    }
}

fn roots(p: &Pki) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(p.ca_der.clone())).unwrap();
    Arc::new(roots)
}

#[test]
fn https_dns_ntp_ssh_and_smtp_probes_against_real_servers() {
    let tb = Testbed::new("svc");
    let p = pki(&["gw.test"], 30);
    start_servers(&tb, &p);
    let tls = roots(&p);
    let clock = Clock::fixed(now_ms());
    tb.in_center(async || {
        let t = Duration::from_secs(3);

        let h = probes::https(gw(8443), "gw.test", "/", tls.clone(), t, &clock)
            .await
            .unwrap();
        assert_eq!(h.status, 200);
        assert!(h.response_ms > 0.0 && h.response_ms < 3000.0);
        assert!(
            (29.9..30.1).contains(&h.certificate_days_left),
            "{}",
            h.certificate_days_left
        );
        let at = jiff::Timestamp::from_millisecond(clock.now_ms()).unwrap();
        assert_eq!(h.samples(at)[0].1.value, 200.0);
        // The certificate is not for this name: a TLS error, not a result.
        let e = probes::https(gw(8443), "other.test", "/", tls.clone(), t, &clock)
            .await
            .unwrap_err();
        let probes::ProbeError::Tls {
            certificate_days_left: Some(days),
            ..
        } = e
        else {
            panic!("{e}")
        };
        assert!(
            (29.9..30.1).contains(&days),
            "refused, its expiry still told: {days}"
        );
        // An expired certificate: refused, and how long ago it expired.
        let e = probes::https(gw(8444), "gw.test", "/", tls.clone(), t, &clock)
            .await
            .unwrap_err();
        let probes::ProbeError::Tls {
            certificate_days_left: Some(days),
            what,
            ..
        } = e
        else {
            panic!("{e}")
        };
        assert!((-2.1..-1.9).contains(&days), "{days}");
        assert!(what.contains("xpired"), "{what}");

        let d = probes::dns(gw(53), "gw.test", 1, 0x4d4d, t).await.unwrap();
        assert_eq!((d.answer.rcode, d.answer.answers), (0, 1));
        assert!(d.answer.answered());
        let d = probes::dns(gw(53), "nothing.gw.test", 1, 7, t)
            .await
            .unwrap();
        assert_eq!((d.answer.rcode, d.answer.answers), (3, 0), "NXDOMAIN");

        // chrony serves its local clock once it has settled on it.
        let mut last = None;
        for _ in 0..40 {
            match probes::ntp(gw(123), Duration::from_millis(500), &Clock::fixed(now_ms())).await {
                Ok(r) => {
                    last = Some(Ok(r));
                    break;
                }
                Err(e) => last = Some(Err(e.to_string())),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let n = last
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}\n{}", tb.log("chronyd")));
        assert_eq!(n.stratum, 8);
        assert!(n.offset_ms.abs() < 50.0, "same machine, same clock: {n:?}");
        // A clock an hour behind sees the server an hour ahead.
        let n = probes::ntp(gw(123), t, &Clock::fixed(now_ms() - 3_600_000))
            .await
            .unwrap();
        assert!((n.offset_ms - 3_600_000.0).abs() < 1000.0, "{n:?}");

        let s = probes::ssh(gw(2222), t).await.unwrap();
        assert_eq!(s.proto, "2.0");
        assert!(s.software.starts_with("OpenSSH_"), "{s}");

        let m = probes::smtp(gw(2525), "center.test", t).await.unwrap();
        assert_eq!((m.greeting.code, m.ehlo.code), (220, 250));
        assert!(m.ehlo.lines.len() > 1, "{m:?}");

        // Faults: DNS dropped by nft, sshd killed.
        tb.gw_ok(&[
            "nft",
            "add table inet mmon; add chain inet mmon in { type filter hook input priority 0; }; \
             add rule inet mmon in udp dport 53 drop",
        ])
        .await;
        let e = probes::dns(gw(53), "gw.test", 1, 9, Duration::from_millis(500))
            .await
            .unwrap_err();
        assert!(matches!(e, probes::ProbeError::Timeout { .. }), "{e}");
        tb.gw_ok(&["nft", "delete table inet mmon"]).await;
        tb.kill("sshd");
        let e = probes::ssh(gw(2222), t).await.unwrap_err();
        assert!(matches!(e, probes::ProbeError::Io { .. }), "{e}");
        // A server that speaks first but is not SSH: its lines may come before the
        // identification (RFC 4253 §4.2), so the probe waits for one, in vain.
        let e = probes::ssh(gw(2525), Duration::from_millis(500))
            .await
            .unwrap_err();
        assert!(matches!(e, probes::ProbeError::Timeout { .. }), "{e}");
    });
}
