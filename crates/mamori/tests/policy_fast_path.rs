//! The forwarding fast path with a real kernel: the agent applies the policy's flowtable
//! when the kernel can run it, and otherwise applies the policy without it, with a note.
//! Either way, masqueraded TCP and UDP traffic crosses the gateway as the policy says.

// Needs network namespaces and nft, as root: only with `external`.
#![cfg(feature = "external")]

mod agent_support;

use agent_support::*;
use xtask::testbed::{Host, Testbed, addr};

/// Whether the gateway's kernel can create a flowtable on its interfaces (`nft -c`).
fn kernel_has_flowtables(tb: &Testbed) -> bool {
    let probe = write(
        tb,
        "probe.nft",
        "table inet fastpath_probe {\n\tflowtable ft {\n\t\thook ingress priority 0; devices = { \"lan0\", \"wan0\", \"dmz0\" };\n\t}\n}\n",
    );
    tb.exec(Host::Gw, &["nft", "-c", "-f", probe.to_str().unwrap()])
        .unwrap()
        .status
        .success()
}

#[test]
fn fast_path_is_applied_when_the_kernel_has_flowtables_and_left_out_with_a_note_otherwise() {
    let tb = Testbed::up().unwrap();
    let state = tb.dir().join("state").display().to_string();
    let f = write(&tb, "p.toml", &gateway_policy(addr::CENTER));
    let out = mamori(
        &tb,
        &["agent", "apply", f.to_str().unwrap(), "--state-dir", &state],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let table = live(&tb);
    assert!(table.contains("chain forward"), "{table}");
    let offloading = kernel_has_flowtables(&tb);
    if offloading {
        assert!(table.contains("flowtable ft"), "{table}");
        assert!(
            table.contains("meta l4proto { tcp, udp } ct state established flow add @ft"),
            "{table}"
        );
        assert!(!stderr.contains("fast path is off"), "{stderr}");
    } else {
        assert!(
            stderr.contains("note: the forwarding fast path is off"),
            "{stderr}"
        );
        assert!(stderr.contains("wan0"), "{stderr}");
        assert!(!table.contains("flowtable"), "{table}");
        assert!(!table.contains("flow add"), "{table}");
    }

    // A bulk TCP transfer (most of its packets take the fast path when there is one) is
    // masqueraded for its whole length: the server sees the gateway's address, and every
    // byte arrives (an untranslated packet would break the connection).
    let server = tb
        .spawn(
            Host::Wan,
            &[
                "iperf3",
                "-s",
                "-1",
                "-J",
                "-B",
                addr::WAN_SERVER,
                "-p",
                "7000",
            ],
        )
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let client = tb
        .run_ok(
            Host::Lan,
            &[
                "iperf3",
                "-c",
                addr::WAN_SERVER,
                "-p",
                "7000",
                "-n",
                "20M",
                "-J",
            ],
        )
        .unwrap();
    let v: mamori_policy::serde_json::Value = mamori_policy::serde_json::from_str(&client).unwrap();
    assert!(v.get("error").is_none(), "{client}");
    let sent = v["end"]["sum_sent"]["bytes"].as_u64().unwrap();
    assert!(sent >= 20 * 1024 * 1024, "{sent} bytes sent: {client}");
    assert!(
        eventually(std::time::Duration::from_secs(5), || !tb
            .stdout_of(server)
            .is_empty()),
        "the iperf3 server printed nothing"
    );
    let s: mamori_policy::serde_json::Value =
        mamori_policy::serde_json::from_str(&tb.stdout_of(server)).unwrap();
    assert_eq!(
        s["start"]["connected"][0]["remote_host"],
        addr::GW_WAN,
        "{s}"
    );
    // Data crossed the gateway. (Neither side's byte count is exact: each stops at
    // its last interval report, so under load it can miss the last megabytes; the
    // client finishing its 20 MiB without error is what says the transfer went through.)
    let received = s["end"]["sum_received"]["bytes"].as_u64().unwrap();
    assert!(received > 0, "nothing received: {s}");
    if offloading {
        // The connection was offloaded while it ran (it stays listed while it times out).
        let ct = tb
            .run_ok(Host::Gw, &["cat", "/proc/net/nf_conntrack"])
            .unwrap();
        assert!(
            ct.lines()
                .any(|l| l.contains("dport=7000") && l.contains("[OFFLOAD]")),
            "{ct}"
        );
    }

    // UDP both ways, masqueraded too.
    let _obs = tb.observer(Host::Wan, "0.0.0.0", 7000).unwrap();
    let udp = tb
        .probe(
            Host::Lan,
            "udp",
            None,
            0,
            addr::WAN_SERVER,
            7000,
            std::time::Duration::from_secs(2),
        )
        .unwrap();
    assert_eq!(udp, xtask::testbed::Probe::Reply(addr::GW_WAN.to_string()));
}
