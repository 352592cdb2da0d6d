//! Real traffic through the gateway namespace after `mamori agent apply POLICY`: TCP, UDP
//! and ICMP allowed and denied, a port forward, masquerade, the management rule, and a
//! load-balanced service whose dead backend is taken out by the health checks.

// Needs network namespaces, nft and the testbed's tools, as root: only with `external`.
#![cfg(feature = "external")]

mod agent_support;

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use agent_support::*;
use xtask::testbed::{Host, Probe, Testbed, addr};

const T: Duration = Duration::from_millis(1500);

fn gateway() -> Testbed {
    let tb = Testbed::up().unwrap();
    let file = write(&tb, "gw.toml", &gateway_policy(addr::CENTER));
    agent_apply_ok(&tb, &file, &[]);
    tb
}

#[test]
fn tcp_udp_and_icmp_are_allowed_and_denied_as_the_ruleset_says() {
    let tb = gateway();
    let _o1 = tb.observer(Host::Wan, "0.0.0.0", 7000).unwrap();
    let o2 = tb.observer(Host::Wan, "0.0.0.0", 7002).unwrap();
    let _o3 = tb.observer(Host::Wan, "0.0.0.0", 7003).unwrap();
    let w = addr::WAN_SERVER;
    // Allowed.
    assert!(
        tb.probe(Host::Lan, "tcp", None, 0, w, 7000, T)
            .unwrap()
            .is_reply()
    );
    assert!(
        tb.probe(Host::Lan, "udp", None, 0, w, 7000, T)
            .unwrap()
            .is_reply()
    );
    assert!(tb.ping(Host::Lan, w).unwrap());
    // Denied by the default drop: nothing comes back, and the server never sees it.
    assert_eq!(
        tb.probe(Host::Lan, "tcp", None, 0, w, 7002, T).unwrap(),
        Probe::Timeout
    );
    assert_eq!(
        tb.probe(Host::Lan, "udp", None, 0, w, 7002, T).unwrap(),
        Probe::Timeout
    );
    assert!(o2.seen().is_empty(), "{:?}", o2.seen());
    // Rejected: the gateway answers with a reset.
    assert_eq!(
        tb.probe(Host::Lan, "tcp", None, 0, w, 7003, T).unwrap(),
        Probe::Refused
    );
    // IPv6 too: ping allowed, TCP 7002 dropped.
    assert!(tb.ping(Host::Lan, addr::WAN_SERVER6).unwrap());
    let o6 = tb.observer(Host::Wan, addr::WAN_SERVER6, 7002).unwrap();
    assert_eq!(
        tb.probe(Host::Lan, "tcp", None, 0, addr::WAN_SERVER6, 7002, T)
            .unwrap(),
        Probe::Timeout
    );
    assert!(o6.seen().is_empty());
    // No rule for LAN -> DMZ ping, nor for WAN -> LAN.
    assert!(!tb.ping(Host::Lan, addr::DMZ_SERVER).unwrap());
    assert!(!tb.ping(Host::Wan, addr::LAN_CLIENT).unwrap());
}

#[test]
fn masquerade_makes_the_lan_appear_as_the_gateway_on_the_wan() {
    let tb = gateway();
    let obs = tb.observer(Host::Wan, "0.0.0.0", 7000).unwrap();
    let r = tb
        .probe(Host::Lan, "tcp", None, 0, addr::WAN_SERVER, 7000, T)
        .unwrap();
    assert_eq!(r, Probe::Reply(addr::GW_WAN.to_string()));
    let r = tb
        .probe(Host::Lan, "udp", None, 0, addr::WAN_SERVER, 7000, T)
        .unwrap();
    assert_eq!(r, Probe::Reply(addr::GW_WAN.to_string()));
    assert!(
        obs.seen().iter().all(|l| l.contains(" 198.51.100.1 ")),
        "{:?}",
        obs.seen()
    );
}

#[test]
fn port_forward_is_reached_from_the_wan() {
    let tb = gateway();
    let obs = tb.observer(Host::Dmz, addr::DMZ_SERVER, 80).unwrap();
    let r = tb
        .probe(Host::Wan, "tcp", None, 0, addr::GW_WAN, 8080, T)
        .unwrap();
    // The DMZ server sees the real client (no source NAT on a port forward).
    assert_eq!(r, Probe::Reply(addr::WAN_SERVER.to_string()));
    assert_eq!(obs.seen().len(), 1);
    // Other ports of the gateway's WAN address stay closed.
    assert_eq!(
        tb.probe(Host::Wan, "tcp", None, 0, addr::GW_WAN, 8081, T)
            .unwrap(),
        Probe::Timeout
    );
}

#[test]
fn management_rule_admits_the_center_and_nothing_else() {
    let tb = gateway();
    let _ssh = tb.observer(Host::Gw, "0.0.0.0", 22).unwrap();
    let _https = tb.observer(Host::Gw, "0.0.0.0", 443).unwrap();
    let _other = tb.observer(Host::Gw, "0.0.0.0", 2323).unwrap();
    let gw = addr::GW_WAN;
    assert!(tb.ping(Host::Center, gw).unwrap());
    assert!(tb.tcp_ok(Host::Center, gw, 22).unwrap());
    assert!(tb.tcp_ok(Host::Center, gw, 443).unwrap());
    // SNMP (udp 161): the observer answers on udp too.
    let _snmp = tb.observer(Host::Gw, "0.0.0.0", 161).unwrap();
    assert!(
        tb.probe(Host::Center, "udp", None, 0, gw, 161, T)
            .unwrap()
            .is_reply()
    );
    // The center, on a port outside the management services: dropped.
    assert_eq!(
        tb.probe(Host::Center, "tcp", None, 0, gw, 2323, T).unwrap(),
        Probe::Timeout
    );
    // Another host on the WAN, even on the same segment: nothing.
    assert!(!tb.ping(Host::Wan, gw).unwrap());
    assert_eq!(
        tb.probe(Host::Wan, "tcp", None, 0, gw, 22, T).unwrap(),
        Probe::Timeout
    );
    // Nor from the LAN.
    assert_eq!(
        tb.probe(Host::Lan, "tcp", None, 0, addr::GW_LAN, 22, T)
            .unwrap(),
        Probe::Timeout
    );
}

fn served_by(tb: &Testbed, n: usize) -> Vec<String> {
    let url = format!("http://{}/", addr::GW_WAN);
    (0..n)
        .filter_map(|_| tb.http_get(Host::Wan, &url).unwrap())
        .collect()
}

#[test]
fn load_balancer_spreads_over_three_backends_and_drops_a_dead_one_within_two_intervals() {
    let tb = gateway();
    let backends = ["203.0.113.11", "203.0.113.12", "203.0.113.13"];
    let mut pids = Vec::new();
    for b in backends {
        tb.add_address(Host::Dmz, &format!("{b}/24")).unwrap();
        pids.push(tb.http_server(Host::Dmz, b, 8080, b).unwrap());
    }
    // The policy's health check runs every second.
    let interval = Duration::from_millis(1000);
    let policy = tb.dir().join("gw.toml");
    let args = [
        MAMORI,
        "agent",
        "run-lb",
        policy.to_str().unwrap(),
        "--timeout",
        "800ms",
        "--fall",
        "2",
        "--rise",
        "2",
    ];
    let lb = tb.spawn(Host::Gw, &args).unwrap();
    assert!(
        eventually(Duration::from_secs(5), || tb
            .stdout_of(lb)
            .contains("app: 3 healthy backends")),
        "run-lb did not fill the map: {} {}",
        tb.stdout_of(lb),
        tb.stderr_of(lb)
    );
    let seen: BTreeSet<String> = served_by(&tb, 40).into_iter().collect();
    assert_eq!(
        seen,
        backends.iter().map(|b| b.to_string()).collect(),
        "40 connections should reach all 3 backends"
    );

    tb.kill(pids[1]).unwrap();
    // Two health-check intervals (plus the time a check itself takes).
    thread::sleep(interval * 2 + Duration::from_millis(400));
    let after = served_by(&tb, 30);
    assert_eq!(after.len(), 30, "every request is still served: {after:?}");
    assert!(
        after.iter().all(|b| b != backends[1]),
        "the killed backend is still used: {after:?}\n{}",
        tb.stdout_of(lb)
    );
    let seen: BTreeSet<&str> = after.iter().map(String::as_str).collect();
    assert_eq!(seen, [backends[0], backends[2]].into_iter().collect());

    // A re-apply of the policy puts the compiled rule (all three) back; the health checks
    // take the dead backend out again within an interval.
    agent_apply_ok(&tb, &policy, &[]);
    thread::sleep(interval + Duration::from_millis(400));
    let after = served_by(&tb, 20);
    assert!(after.iter().all(|b| b != backends[1]), "{after:?}");

    // The backend comes back: after `rise` (2) good checks it is used again.
    tb.http_server(Host::Dmz, backends[1], 8080, backends[1])
        .unwrap();
    assert!(
        eventually(interval * 4, || tb
            .stdout_of(lb)
            .matches("app: 3 healthy backends")
            .count()
            == 2),
        "the backend did not come back: {}",
        tb.stdout_of(lb)
    );
    let seen: BTreeSet<String> = served_by(&tb, 40).into_iter().collect();
    assert!(seen.contains(backends[1]), "{seen:?}");
}
