//! The compiled rulesets are accepted by the real `nft`, in a network namespace the test
//! creates and deletes; the JSON and the text forms load into the same kernel ruleset;
//! load-balancer updates apply.

// Needs a network namespace and nft, as root: only with `external`.
#![cfg(feature = "external")]

use std::path::PathBuf;
use std::process::Command;

use mamori_policy::generate::{GenConfig, big_policy, random_policy};
use mamori_policy::{Lists, Mode, Policy, check, compile, lb_update, parse_list};

/// A throwaway network namespace, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("mpol-{}-{tag}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip (iproute2)");
        assert!(st.success(), "ip netns add {name}");
        Netns(name)
    }
    /// Runs `nft ARGS` in the namespace; returns (success, stdout, stderr).
    fn nft(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0, "nft"])
            .args(args)
            .output()
            .expect("run nft (nftables)");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    fn load(&self, file: &PathBuf, json: bool) {
        let f = file.to_str().unwrap();
        let args: Vec<&str> = if json {
            vec!["-j", "-f", f]
        } else {
            vec!["-f", f]
        };
        let (ok, _, err) = self.nft(&args);
        assert!(
            ok,
            "nft {args:?} failed: {err}\n{}",
            std::fs::read_to_string(file).unwrap()
        );
    }
    /// Whether this kernel can create a flowtable on the policy's interfaces (`nft -c`).
    /// When it cannot, the tests load the policy without its fast path, as the agent does.
    fn can_offload(&self, p: &Policy) -> bool {
        let devs: Vec<String> = p
            .interfaces
            .iter()
            .map(|i| format!("\"{}\"", i.name))
            .collect();
        let f = temp(
            &format!("probe-{}.nft", self.0),
            &format!(
                "table inet probe {{\n\tflowtable ft {{\n\t\thook ingress priority 0; devices = {{ {} }};\n\t}}\n}}\n",
                devs.join(", ")
            ),
        );
        let (ok, _, _) = self.nft(&["-c", "-f", f.to_str().unwrap()]);
        let _ = std::fs::remove_file(f);
        ok
    }
    fn list(&self) -> String {
        let (ok, out, err) = self.nft(&["list", "table", "inet", "mamori"]);
        assert!(ok, "{err}");
        out
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn temp(name: &str, content: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("mamori-policy-{}-{name}", std::process::id()));
    std::fs::write(&p, content).unwrap();
    p
}

fn office() -> Policy {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../policy/tests/data");
    let src = std::fs::read_to_string(dir.join("office.toml")).unwrap();
    let mut l = Lists::new();
    l.insert(
        "threats".into(),
        parse_list(&std::fs::read_to_string(dir.join("threats.txt")).unwrap()).unwrap(),
    );
    check(&src, &l).policy.unwrap()
}

/// Loads the text form, lists it, loads the JSON form over it (each replaces the table
/// atomically), lists again: both must give the same kernel ruleset.
fn same_in_kernel(ns: &Netns, name: &str, p: &Policy, mode: Mode) -> String {
    let mut p = p.clone();
    if p.fast_path && !p.interfaces.is_empty() && !ns.can_offload(&p) {
        p.fast_path = false;
    }
    let c = compile(&p, mode);
    let text = temp(&format!("{name}.nft"), &c.to_text());
    // What `mamori policy compile` prints (streamed), and the `Value` form.
    let json = temp(&format!("{name}.json"), &c.to_json_string());
    let value = temp(
        &format!("{name}.value.json"),
        &mamori_policy::serde_json::to_string(&c.to_json()).unwrap(),
    );
    ns.load(&text, false);
    let from_text = ns.list();
    ns.load(&json, true);
    let from_json = ns.list();
    ns.load(&value, true);
    assert_eq!(
        from_json,
        ns.list(),
        "{name}: streamed and Value JSON load differently"
    );
    let _ = std::fs::remove_file(&value);
    let _ = std::fs::remove_file(&text);
    let _ = std::fs::remove_file(&json);
    assert_eq!(
        from_text, from_json,
        "{name}: text and JSON load differently"
    );
    from_text
}

#[test]
fn office_ruleset_loads_and_json_equals_text() {
    let ns = Netns::new("office");
    let p = office();
    let listed = same_in_kernel(&ns, "office", &p, Mode::Sets);
    assert!(listed.contains("counter rule_web-in"), "{listed}");
    assert!(listed.contains("jump lb_app"), "{listed}");
    // Loading again replaces the table: the result is the same, not doubled.
    let again = same_in_kernel(&ns, "office2", &p, Mode::Sets);
    assert_eq!(listed, again);
}

#[test]
fn load_balancer_updates_apply_atomically() {
    let ns = Netns::new("lb");
    let p = office();
    same_in_kernel(&ns, "lb", &p, Mode::Sets);
    let ip = |s: &str| s.parse().unwrap();
    let u = lb_update(
        &p,
        "app",
        &[(ip("192.0.2.82"), 8443), (ip("192.0.2.83"), 8443)],
    )
    .unwrap();
    let f = temp("lb-update.nft", &u.text);
    ns.load(&f, false);
    let (_, chain, _) = ns.nft(&["list", "chain", "inet", "mamori", "lb_app"]);
    assert!(
        chain.contains("mod 2 map { 0 : 192.0.2.82 . 8443, 1 : 192.0.2.83 . 8443 }"),
        "{chain}"
    );
    let down = lb_update(&p, "app", &[]).unwrap();
    let f2 = temp(
        "lb-down.json",
        &mamori_policy::serde_json::to_string(&down.json).unwrap(),
    );
    ns.load(&f2, true);
    let (_, chain, _) = ns.nft(&["list", "chain", "inet", "mamori", "lb_app"]);
    assert!(!chain.contains("dnat"), "{chain}");
    let up = lb_update(&p, "app", &[(ip("192.0.2.81"), 8443)]).unwrap();
    let f3 = temp(
        "lb-up.json",
        &mamori_policy::serde_json::to_string(&up.json).unwrap(),
    );
    ns.load(&f3, true);
    let (_, chain, _) = ns.nft(&["list", "chain", "inet", "mamori", "lb_app"]);
    assert!(
        chain.contains("mod 2 map { 0-1 : 192.0.2.81 . 8443 }"),
        "{chain}"
    );
    for f in [f, f2, f3] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn random_policies_load_in_both_forms_and_both_modes() {
    let ns = Netns::new("random");
    let cfg = GenConfig::default();
    for seed in 0..25 {
        let src = random_policy(seed, &cfg);
        let p = check(&src, &Lists::new()).policy.unwrap();
        same_in_kernel(&ns, &format!("random{seed}"), &p, Mode::Sets);
        same_in_kernel(&ns, &format!("random{seed}n"), &p, Mode::Naive);
        // Its IPv6 twin too (ip6 matches, ICMPv6, IPv6 NAT and balancing).
        let p6 = check(&mamori_policy::generate::to_ipv6(&src), &Lists::new())
            .policy
            .unwrap();
        same_in_kernel(&ns, &format!("random{seed}v6"), &p6, Mode::Sets);
    }
}

#[test]
fn a_big_policy_loads() {
    let ns = Netns::new("big");
    let p = check(&big_policy(10_000, 200), &Lists::new())
        .policy
        .unwrap();
    let listed = same_in_kernel(&ns, "big", &p, Mode::Sets);
    assert!(
        listed.contains("10.0.156.60/30"),
        "the last objects are in the sets"
    );
}

#[test]
fn an_invalid_ruleset_is_refused_by_nft() {
    // The check above can fail: nft refuses a ruleset naming a chain that does not exist.
    let ns = Netns::new("neg");
    let f = temp(
        "neg.nft",
        "table inet mamori {\n\tchain forward {\n\t\tjump nowhere\n\t}\n}\n",
    );
    let (ok, _, err) = ns.nft(&["-c", "-f", f.to_str().unwrap()]);
    let _ = std::fs::remove_file(f);
    assert!(!ok, "{err}");
}

/// Counters read from the running table and kept by the next apply survive it, in both
/// forms; a plain apply starts them at zero.
#[test]
fn kept_counters_survive_an_apply() {
    let ns = Netns::new("counters");
    let mut p = office();
    p.fast_path = ns.can_offload(&p);
    let first = temp("counters0.nft", &compile(&p, Mode::Sets).to_text());
    ns.load(&first, false);
    // Hits as if traffic had passed: a table whose counters start at given values.
    let seeded = temp("counters1.nft", &{
        let mut c = compile(&p, Mode::Sets);
        let mut v = std::collections::BTreeMap::new();
        v.insert("rule_web-in".to_string(), (12u64, 3400u64));
        v.insert("mgmt".to_string(), (3u64, 180u64));
        c.keep_counters(&v);
        c.to_text()
    });
    ns.load(&seeded, false);
    let read = |ns: &Netns| {
        let (ok, out, err) = ns.nft(&["-j", "list", "counters", "table", "inet", "mamori"]);
        assert!(ok, "{err}");
        mamori_policy::parse_counters(&out).unwrap()
    };
    let before = read(&ns);
    assert_eq!(before.get("rule_web-in"), Some(&(12, 3400)));
    for json in [false, true] {
        let mut c = compile(&p, Mode::Sets);
        c.keep_counters(&read(&ns));
        let f = if json {
            temp("counters2.json", &c.to_json_string())
        } else {
            temp("counters2.nft", &c.to_text())
        };
        ns.load(&f, json);
        let _ = std::fs::remove_file(&f);
        assert_eq!(read(&ns), before, "json: {json}");
    }
    ns.load(&first, false);
    assert_eq!(read(&ns).get("rule_web-in"), Some(&(0, 0)));
    for f in [first, seeded] {
        let _ = std::fs::remove_file(&f);
    }
}
