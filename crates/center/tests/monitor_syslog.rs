//! The syslog receivers against real senders: util-linux `logger` (RFC 5424 and RFC
//! 3164, UDP, TCP with both framings) and rsyslog forwarding over UDP, TCP
//! (octet-counted and LF) and TLS (RFC 5425), from a gateway namespace to the center's.
//! Malformed input is counted and dropped; oversized messages are cut.

#![cfg(feature = "external")]

mod monitor_testbed;

use mamori_center::adapters::monitor::Counters;
use mamori_center::adapters::monitor::syslog::{self, Received, Settings, Sink};
use mamori_center_model::clock::Clock;
use mamori_monitor::syslog::Format;
use monitor_testbed::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto::ring};

struct Listener {
    rx: mpsc::Receiver<Received>,
    counters: Arc<Counters>,
}

fn sink(clock: &Clock) -> (Sink, Listener) {
    let (tx, rx) = mpsc::channel(1000);
    let counters = Arc::new(Counters::default());
    (
        Sink {
            clock: clock.clone(),
            settings: Settings::default(),
            tx,
            counters: counters.clone(),
        },
        Listener { rx, counters },
    )
}

/// The next message whose MSG contains `needle` (others are skipped), within 10 s.
async fn expect(l: &mut Listener, needle: &str) -> Received {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = tokio::time::timeout_at(deadline, l.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no message with {needle:?}"))
            .expect("the receiver runs");
        if r.message.msg.contains(needle) {
            return r;
        }
    }
}

fn tls_config(p: &Pki) -> Arc<ServerConfig> {
    let provider = Arc::new(ring::default_provider());
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(p.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(p.key_der.clone())),
            )
            .unwrap(),
    )
}

#[test]
fn logger_and_rsyslog_over_udp_tcp_and_tls_are_received_and_parsed() {
    let tb = Testbed::new("sys");
    let p = pki(&["center.test", CENTER_IP], 30);
    std::fs::write(tb.path("ca.pem"), &p.ca_pem).unwrap();
    std::fs::create_dir(tb.path("rs")).unwrap();
    let dir = tb.dir.path().display().to_string();
    let conf = format!(
        r#"
global(workDirectory="{dir}/rs" DefaultNetstreamDriverCAFile="{dir}/ca.pem")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{dir}/log.sock")
*.* action(type="omfwd" target="{CENTER_IP}" port="5514" protocol="udp" template="RSYSLOG_SyslogProtocol23Format")
*.* action(type="omfwd" target="{CENTER_IP}" port="5515" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
*.* action(type="omfwd" target="{CENTER_IP}" port="5516" protocol="tcp" template="RSYSLOG_ForwardFormat")
*.* action(type="omfwd" target="{CENTER_IP}" port="6514" protocol="tcp" TCP_Framing="octet-counted"
      StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
      StreamDriverPermittedPeers="center.test" template="RSYSLOG_SyslogProtocol23Format")
"#
    );
    tb.write("rsyslog.conf", &conf);
    let clock = Clock::fixed(now_ms());

    tb.in_center(async || {
        let (s_udp, mut udp) = sink(&clock);
        let (s_tcp, mut tcp) = sink(&clock);
        let (s_lf, mut lf) = sink(&clock);
        let (s_tls, mut tls) = sink(&clock);
        let u = syslog::bind_udp(format!("{CENTER_IP}:5514").parse().unwrap(), 4 << 20).unwrap();
        tokio::spawn(syslog::serve_udp(u, s_udp));
        let t = TcpListener::bind((CENTER_IP, 5515)).await.unwrap();
        tokio::spawn(syslog::serve_tcp(t, s_tcp));
        let t = TcpListener::bind((CENTER_IP, 5516)).await.unwrap();
        tokio::spawn(syslog::serve_tcp(t, s_lf));
        let t = TcpListener::bind((CENTER_IP, 6514)).await.unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(tls_config(&p));
        tokio::spawn(syslog::serve_tls(t, acceptor, s_tls));

        // logger, RFC 5424 over UDP with structured data and a MSGID.
        tb.gw_ok(&[
            "logger",
            "-n",
            CENTER_IP,
            "-P",
            "5514",
            "-d",
            "--rfc5424",
            "-t",
            "mmtest",
            "-p",
            "local3.warning",
            "--msgid",
            "M1",
            "--sd-id",
            "origin@32473",
            "--sd-param",
            "site=\"osaka\"",
            "udp 5424 hello",
        ])
        .await;
        let r = expect(&mut udp, "udp 5424 hello").await;
        let m = &r.message;
        assert_eq!(m.format, Format::Rfc5424);
        assert_eq!((m.facility, m.severity), (19, 4));
        assert_eq!(m.app_name.as_deref(), Some("mmtest"));
        assert_eq!(m.msg_id.as_deref(), Some("M1"));
        assert_eq!(r.peer.ip().to_string(), GW_IP);
        assert_eq!(
            r.received_at.as_millisecond(),
            clock.now_ms(),
            "stamped by the clock"
        );
        let origin = m
            .structured_data
            .iter()
            .find(|e| e.id == "origin@32473")
            .expect("logger's --sd-id element");
        assert_eq!(origin.params, vec![("site".into(), "osaka".into())]);
        let age = now_ms() - m.timestamp.unwrap().as_millisecond();
        assert!((-5_000..60_000).contains(&age), "timestamp {age} ms old");

        // logger, RFC 3164 over UDP.
        tb.gw_ok(&[
            "logger",
            "-n",
            CENTER_IP,
            "-P",
            "5514",
            "-d",
            "--rfc3164",
            "-t",
            "bsdtag",
            "-p",
            "auth.err",
            "udp 3164 hello",
        ])
        .await;
        let m = expect(&mut udp, "udp 3164 hello").await.message;
        assert_eq!(m.format, Format::Rfc3164);
        assert_eq!((m.facility, m.severity), (4, 3));
        assert_eq!(m.app_name.as_deref(), Some("bsdtag"));
        assert!(m.hostname.is_some(), "logger sends its hostname");
        assert!(m.timestamp.is_some());

        // logger over TCP: octet counting, then LF framing, on the same listener.
        tb.gw_ok(&[
            "logger",
            "-n",
            CENTER_IP,
            "-P",
            "5515",
            "-T",
            "--octet-count",
            "--rfc5424",
            "-t",
            "mmtest",
            "tcp counted",
        ])
        .await;
        assert_eq!(
            expect(&mut tcp, "tcp counted").await.message.format,
            Format::Rfc5424
        );
        tb.gw_ok(&[
            "logger",
            "-n",
            CENTER_IP,
            "-P",
            "5515",
            "-T",
            "--rfc5424",
            "-t",
            "mmtest",
            "tcp lf",
        ])
        .await;
        assert_eq!(
            expect(&mut tcp, "tcp lf").await.message.app_name.as_deref(),
            Some("mmtest")
        );

        // rsyslog forwarding what a local program logs, over all four transports.
        tb.spawn(
            "rsyslogd",
            &[
                "rsyslogd",
                "-n",
                "-f",
                &format!("{dir}/rsyslog.conf"),
                "-i",
                &format!("{dir}/rsyslog.pid"),
            ],
        );
        let sock = tb.path("log.sock");
        let s2 = sock.clone();
        tokio::task::spawn_blocking(move || wait_file(&s2, Duration::from_secs(10)))
            .await
            .unwrap();
        for i in 0..3 {
            tb.gw_ok(&[
                "logger",
                "-u",
                &sock.display().to_string(),
                "-t",
                "rstest",
                "-p",
                "daemon.notice",
                &format!("via rsyslog {i}"),
            ])
            .await;
        }
        for (name, l) in [
            ("udp", &mut udp),
            ("tcp", &mut tcp),
            ("lf", &mut lf),
            ("tls", &mut tls),
        ] {
            for i in 0..3 {
                let r = expect(l, &format!("via rsyslog {i}")).await;
                let m = &r.message;
                assert_eq!((m.facility, m.severity), (3, 5), "{name}: {m:?}");
                assert_eq!(m.app_name.as_deref(), Some("rstest"), "{name}: {m:?}");
                // rsyslog's %msg% keeps the space that followed the tag's colon; RFC 5424
                // makes it part of MSG, and so does the parser.
                assert_eq!(m.msg.trim_start(), format!("via rsyslog {i}"), "{name}");
                let expected = if name == "lf" {
                    Format::Rfc3164
                } else {
                    Format::Rfc5424
                };
                assert_eq!(m.format, expected, "{name}");
            }
            assert_eq!(Counters::get(&l.counters.malformed), 0, "{name}");
        }

        // Malformed input: counted and dropped, the receivers go on.
        let c = UdpSocket::bind((CENTER_IP, 0)).await.unwrap();
        c.send_to(b"<999>1 - - - - - - bad pri", (CENTER_IP, 5514))
            .await
            .unwrap();
        c.send_to(b"<13>1 - h a p m [unclosed x", (CENTER_IP, 5514))
            .await
            .unwrap();
        c.send_to(b"<13>1 - h a p m - good after bad", (CENTER_IP, 5514))
            .await
            .unwrap();
        expect(&mut udp, "good after bad").await;
        assert_eq!(Counters::get(&udp.counters.malformed), 2);

        let mut s = TcpStream::connect((CENTER_IP, 5515)).await.unwrap();
        s.write_all(b"12x <13>1 - - - - - -\n").await.unwrap();
        s.flush().await.unwrap();
        let big = format!("<13>1 - h big - - - {}\n", "x".repeat(10_000));
        let mut s = TcpStream::connect((CENTER_IP, 5515)).await.unwrap();
        s.write_all(big.as_bytes()).await.unwrap();
        s.write_all(b"<13>1 - h a - - - after big\n").await.unwrap();
        let r = expect(&mut tcp, "xxxx").await;
        assert!(r.truncated);
        assert_eq!(r.message.msg.len(), 8192 - "<13>1 - h big - - - ".len());
        expect(&mut tcp, "after big").await;
        assert_eq!(Counters::get(&tcp.counters.broken_streams), 1);
        assert_eq!(Counters::get(&tcp.counters.truncated), 1);
    });
    assert!(
        !tb.log("rsyslogd").contains("error"),
        "rsyslogd: {}",
        tb.log("rsyslogd")
    );
}
