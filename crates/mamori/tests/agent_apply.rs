//! Safe apply with a real `nft` in the gateway namespace: an unconfirmed policy that cuts
//! the management path is rolled back by itself, a confirmed one stays, and an invalid
//! policy, an invalid ruleset or a failing `nft` leaves the running ruleset untouched.

// Needs network namespaces and nft, as root: only with `external`.
#![cfg(feature = "external")]

mod agent_support;

use std::time::Duration;

use agent_support::*;
use xtask::testbed::{Host, Testbed, addr};

struct Gw {
    tb: Testbed,
    state: String,
}

impl Gw {
    fn new() -> Gw {
        let tb = Testbed::up().unwrap();
        let state = state_dir(&tb);
        Gw { tb, state }
    }

    /// Writes `text` to file `name` and applies it.
    fn apply(&self, name: &str, text: &str, extra: &[&str]) -> std::process::Output {
        agent_apply(&self.tb, &write(&self.tb, name, text), extra)
    }

    /// [`Gw::apply`], which must succeed.
    fn apply_ok(&self, name: &str, text: &str, extra: &[&str]) {
        agent_apply_ok(&self.tb, &write(&self.tb, name, text), extra);
    }

    fn center_reaches_ssh(&self) -> bool {
        self.tb.tcp_ok(Host::Center, addr::GW_WAN, 22).unwrap()
    }
}

#[test]
fn unconfirmed_policy_cutting_management_is_rolled_back_by_itself() {
    let gw = Gw::new();
    let _ssh = gw.tb.observer(Host::Gw, "0.0.0.0", 22).unwrap();
    gw.apply_ok("good.toml", &gateway_policy(addr::CENTER), &[]);
    let good = live(&gw.tb);
    assert!(gw.center_reaches_ssh());

    // A mistake: the center's address is wrong, which cuts the management path. Applied
    // from a shell in its own session that then hangs up its whole process group, as a
    // closing SSH session does: the waiter must outlive it.
    let bad = write(&gw.tb, "lockout.toml", &gateway_policy("198.51.100.60"));
    let out = gw
        .tb
        .exec(
            Host::Gw,
            &[
                "setsid",
                "-w",
                "sh",
                "-c",
                &format!(
                    "{MAMORI} agent apply {} --state-dir {} --confirm-within 3s && kill -HUP 0",
                    bad.display(),
                    gw.state
                ),
            ],
        )
        .unwrap();
    assert!(
        !out.status.success(),
        "the shell should have been hung up: {out:?}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("rolls back in"),
        "{out:?}"
    );
    assert_ne!(live(&gw.tb), good, "the lock-out was not applied");
    assert!(!gw.center_reaches_ssh(), "management should be cut now");

    // Nobody confirms. After the deadline the previous ruleset is back by itself.
    assert!(
        eventually(Duration::from_secs(10), || live(&gw.tb) == good),
        "not rolled back; live ruleset:\n{}",
        live(&gw.tb)
    );
    assert!(gw.center_reaches_ssh());
    let status = mamori_ok(&gw.tb, &["agent", "status", "--state-dir", &gw.state]);
    assert!(status.contains("current revision: 1"), "{status}");
    assert!(status.contains("pending: none"), "{status}");
    assert!(status.contains("live table inet mamori: "), "{status}");
    assert!(!status.contains("live table inet mamori: none"), "{status}");
}

#[test]
fn confirmed_policy_stays_after_the_deadline() {
    let gw = Gw::new();
    gw.apply_ok("a.nft", &gateway_ruleset(true), &[]);
    gw.apply_ok(
        "b.nft",
        &gateway_ruleset(false),
        &["--confirm-within", "2s"],
    );
    let applied = live(&gw.tb);
    mamori_ok(&gw.tb, &["agent", "confirm", "--state-dir", &gw.state]);
    std::thread::sleep(Duration::from_millis(3000));
    assert_eq!(live(&gw.tb), applied);
    // A second confirm has nothing to confirm.
    let out = mamori(&gw.tb, &["agent", "confirm", "--state-dir", &gw.state]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to confirm"));
}

#[test]
fn manual_rollback_restores_the_previous_ruleset() {
    let gw = Gw::new();
    gw.apply_ok("a.nft", &gateway_ruleset(true), &[]);
    let first = live(&gw.tb);
    gw.apply_ok("b.nft", &gateway_ruleset(false), &[]);
    assert_ne!(live(&gw.tb), first);
    mamori_ok(&gw.tb, &["agent", "rollback", "--state-dir", &gw.state]);
    assert_eq!(live(&gw.tb), first);
}

#[test]
fn invalid_ruleset_leaves_the_running_one_untouched_with_a_located_error() {
    let gw = Gw::new();
    gw.apply_ok("a.nft", &gateway_ruleset(true), &[]);
    let before = live(&gw.tb);
    let broken = "table inet mamori {\n  chain input {\n    type filter hook input priority filter; policy drop;\n    tcp dport 22 acept\n  }\n}\n";
    let out = gw.apply("broken.nft", broken, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.nft:4:"),
        "error should point at line 4: {err}"
    );
    assert!(err.contains("running ruleset is unchanged"), "{err}");
    assert_eq!(live(&gw.tb), before);
    // Valid syntax that the kernel side rejects (an unknown set) fails the same way.
    let unknown = "table inet mamori {\n  chain input {\n    type filter hook input priority filter; policy drop;\n    ip saddr @nope accept\n  }\n}\n";
    let out = gw.apply("unknown.nft", unknown, &[]);
    assert!(!out.status.success());
    assert_eq!(live(&gw.tb), before);
    // The state still names the first revision, and a rollback is still possible.
    let status = mamori_ok(&gw.tb, &["agent", "status", "--state-dir", &gw.state]);
    assert!(status.contains("current revision: 1"), "{status}");
}

#[test]
fn rollback_of_the_first_apply_removes_the_table() {
    let gw = Gw::new();
    gw.apply_ok("a.nft", &gateway_ruleset(true), &["--confirm-within", "1s"]);
    assert!(!live(&gw.tb).is_empty());
    assert!(
        eventually(Duration::from_secs(8), || live(&gw.tb).is_empty()),
        "table still there: {}",
        live(&gw.tb)
    );
    // Traffic flows as without any ruleset.
    assert!(gw.tb.ping(Host::Wan, addr::LAN_CLIENT).unwrap());
}

#[test]
fn apply_while_waiting_for_confirmation_is_refused() {
    let gw = Gw::new();
    gw.apply_ok(
        "a.nft",
        &gateway_ruleset(true),
        &["--confirm-within", "30s"],
    );
    let before = live(&gw.tb);
    let out = gw.apply("b.nft", &gateway_ruleset(false), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("waiting for confirmation"));
    assert_eq!(live(&gw.tb), before);
    mamori_ok(&gw.tb, &["agent", "confirm", "--state-dir", &gw.state]);
}

#[test]
fn invalid_policy_is_reported_with_positions_and_nothing_is_applied() {
    let gw = Gw::new();
    gw.apply_ok("a.toml", &gateway_policy(addr::CENTER), &[]);
    let before = live(&gw.tb);
    let bad = gateway_policy(addr::CENTER)
        .replace("service = \"closed\"", "service = \"nosuch\"")
        .replace("port = 8080\nto = ", "port = 70000\nto = ");
    let out = gw.apply("bad.toml", &bad, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:31:11: error: unknown service `nosuch`"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:42:8: error: `port`"),
        "every error is reported: {err}"
    );
    assert!(err.contains("2 error(s)"), "{err}");
    assert!(err.contains("nothing was applied"), "{err}");
    assert_eq!(live(&gw.tb), before);
}

#[test]
fn compiled_json_and_policy_apply_to_the_same_live_table() {
    let gw = Gw::new();
    // Without the fast path: the compiled JSON has the flowtable the policy asks for,
    // which a kernel without flowtables refuses (the agent leaves it out by itself when
    // it compiles a policy; see policy_fast_path.rs).
    let src = format!(
        "{}\n[options]\nfast_path = false\n",
        gateway_policy(addr::CENTER)
    );
    let policy = write(&gw.tb, "p.toml", &src);
    let json = mamori_ok(
        &gw.tb,
        &[
            "policy",
            "compile",
            "--format",
            "json",
            policy.to_str().unwrap(),
        ],
    );
    gw.apply_ok("p.json", &json, &[]);
    let from_json = live(&gw.tb);
    assert!(from_json.contains("chain forward"), "{from_json}");
    gw.apply_ok("p2.toml", &src, &[]);
    assert_eq!(live(&gw.tb), from_json);
}
