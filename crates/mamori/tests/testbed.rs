//! The netns testbed itself: topology, reachability, servers and probes, teardown.

// All but the name check need network namespaces, as root: they exist with `external`.
#![cfg_attr(not(feature = "external"), allow(unused_imports))]

use std::path::Path;
use std::time::Duration;

use xtask::testbed::{Host, Probe, Testbed, addr};

#[cfg(feature = "external")]
#[test]
fn testbed_routes_between_all_sides_through_the_gateway() {
    let tb = Testbed::up().unwrap();
    for (from, to) in [
        (Host::Lan, addr::WAN_SERVER),
        (Host::Lan, addr::DMZ_SERVER),
        (Host::Lan, addr::CENTER),
        (Host::Center, addr::LAN_CLIENT),
        (Host::Dmz, addr::WAN_SERVER),
        (Host::Lan, addr::WAN_SERVER6),
        (Host::Lan, addr::DMZ_SERVER6),
        (Host::Center, addr::LAN_CLIENT6),
    ] {
        assert!(tb.ping(from, to).unwrap(), "{from} cannot ping {to}");
    }
    // Forwarding is on in the gateway only.
    let fwd = tb
        .run_ok(Host::Gw, &["sysctl", "-n", "net.ipv4.ip_forward"])
        .unwrap();
    assert_eq!(fwd.trim(), "1");
    let fwd = tb
        .run_ok(Host::Lan, &["sysctl", "-n", "net.ipv4.ip_forward"])
        .unwrap();
    assert_eq!(fwd.trim(), "0");
}

#[cfg(feature = "external")]
#[test]
fn observer_sees_tcp_and_udp_with_the_source_address() {
    let tb = Testbed::up().unwrap();
    let obs = tb.observer(Host::Wan, "0.0.0.0", 7000).unwrap();
    let t = Duration::from_secs(2);
    let r = tb
        .probe(Host::Lan, "tcp", None, 0, addr::WAN_SERVER, 7000, t)
        .unwrap();
    assert_eq!(r, Probe::Reply(addr::LAN_CLIENT.to_string()));
    let r = tb
        .probe(Host::Lan, "udp", None, 40001, addr::WAN_SERVER, 7000, t)
        .unwrap();
    assert_eq!(r, Probe::Reply(addr::LAN_CLIENT.to_string()));
    let seen = obs.seen();
    assert!(
        seen.iter().any(|l| l.starts_with("tcp 192.0.2.10 ")),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"udp 192.0.2.10 40001".to_string()),
        "{seen:?}"
    );
    // Nothing listens on 7001: TCP is refused, UDP gets port unreachable.
    let r = tb
        .probe(Host::Lan, "tcp", None, 0, addr::WAN_SERVER, 7001, t)
        .unwrap();
    assert_eq!(r, Probe::Refused);
    let r = tb
        .probe(Host::Lan, "udp", None, 0, addr::WAN_SERVER, 7001, t)
        .unwrap();
    assert_eq!(r, Probe::Refused);
}

#[cfg(feature = "external")]
#[test]
fn http_server_serves_its_body_and_dies_when_killed() {
    let tb = Testbed::up().unwrap();
    let pid = tb
        .http_server(Host::Dmz, addr::DMZ_SERVER, 8080, "hello-dmz")
        .unwrap();
    let url = format!("http://{}:8080/", addr::DMZ_SERVER);
    assert_eq!(
        tb.http_get(Host::Lan, &url).unwrap().as_deref(),
        Some("hello-dmz")
    );
    tb.kill(pid).unwrap();
    assert_eq!(tb.http_get(Host::Lan, &url).unwrap(), None);
}

#[cfg(feature = "external")]
#[test]
fn dropping_the_testbed_deletes_its_namespaces() {
    let tb = Testbed::up().unwrap();
    let names: Vec<String> = Host::ALL.iter().map(|h| tb.ns(*h)).collect();
    for n in &names {
        assert!(Path::new("/run/netns").join(n).exists(), "{n} missing");
    }
    drop(tb);
    for n in &names {
        assert!(!Path::new("/run/netns").join(n).exists(), "{n} left behind");
    }
}

#[cfg(feature = "external")]
#[test]
fn down_removes_a_kept_testbed_and_nothing_else() {
    let name = format!("keep{}", std::process::id());
    let tb = Testbed::up_named(&name).unwrap();
    let names: Vec<String> = Host::ALL.iter().map(|h| tb.ns(*h)).collect();
    tb.keep();
    let other = Testbed::up().unwrap();
    for n in &names {
        assert!(Path::new("/run/netns").join(n).exists(), "{n} missing");
    }
    let mut deleted = xtask::testbed::down(Some(&name)).unwrap();
    deleted.sort();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(deleted, expected);
    for n in &names {
        assert!(!Path::new("/run/netns").join(n).exists(), "{n} left behind");
    }
    // Another instance is not touched.
    assert!(Path::new("/run/netns").join(other.ns(Host::Gw)).exists());
}

#[test]
fn a_bad_testbed_name_is_refused_with_a_clear_error() {
    let err = Testbed::up_named("no spaces").err().unwrap();
    assert!(err.to_string().contains("must be non-empty ASCII"), "{err}");
}
