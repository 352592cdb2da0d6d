//! The compiler: snapshots of a reviewed policy's ruleset, determinism, and the shape
//! that keeps a packet's path independent of the number of objects.

use mamori_policy::generate::{GenConfig, big_policy, random_policy};
use mamori_policy::{Lists, Mode, Policy, check, compile, lb_update, parse_list};

fn data(name: &str) -> String {
    let path = format!(
        "{}/tests/data/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn office() -> Policy {
    let mut l = Lists::new();
    l.insert("threats".into(), parse_list(&data("threats.txt")).unwrap());
    check(&data("office.toml"), &l)
        .policy
        .expect("office.toml is valid")
}

fn policy(src: &str) -> Policy {
    let c = check(src, &Lists::new());
    match c.policy {
        Some(p) => p,
        None => panic!("invalid: {:#?}\n{src}", c.diagnostics),
    }
}

#[test]
fn office_ruleset_as_nft_text() {
    insta::assert_snapshot!(compile(&office(), Mode::Sets).to_text());
}

#[test]
fn office_ruleset_as_json() {
    insta::assert_json_snapshot!(compile(&office(), Mode::Sets).to_json());
}

#[test]
fn counters_name_every_rule_and_nat_object() {
    let c = compile(&office(), Mode::Sets);
    let names: Vec<(&str, &str)> = c
        .counters
        .iter()
        .map(|c| (c.counter.as_str(), c.kind))
        .collect();
    assert_eq!(
        names,
        vec![
            ("rule_block-threats", "rule"),
            ("rule_web-in", "rule"),
            ("rule_lan-dns", "rule"),
            ("rule_no-printing-out", "rule"),
            ("rule-5", "rule"),
            ("mgmt", "management"),
            ("pf_cam", "port_forward"),
            ("lb_app", "load_balancer"),
        ]
    );
    assert_eq!(c.table.counters.len(), names.len());
}

#[test]
fn output_is_deterministic() {
    let cfg = GenConfig::default();
    for seed in 0..50 {
        let src = random_policy(seed, &cfg);
        let c = check(&src, &Lists::new());
        let Some(p) = c.policy else { continue };
        let a = compile(&p, Mode::Sets);
        let b = compile(&policy(&src), Mode::Sets);
        assert_eq!(a.to_text(), b.to_text());
        assert_eq!(a.to_json(), b.to_json());
    }
}

#[test]
fn management_comes_before_any_rule() {
    let c = compile(&office(), Mode::Sets);
    let input = c.table.chains.iter().find(|c| c.name == "input").unwrap();
    let text: Vec<String> = input
        .rules
        .iter()
        .map(|r| mamori_policy::nft::text_rule(r))
        .collect();
    let mgmt = text
        .iter()
        .position(|r| r.contains("@mgmt4"))
        .expect("management rule");
    let dispatch = text
        .iter()
        .position(|r| r.contains("vmap @dispatch_input"))
        .unwrap();
    assert!(mgmt < dispatch, "{text:#?}");
    assert!(
        text[3].starts_with("ip saddr @mgmt4 icmp type echo-request"),
        "{text:#?}"
    );
}

#[test]
fn rule_count_does_not_grow_with_objects_but_naive_does() {
    let small = policy(&big_policy(10, 100));
    let large = policy(&big_policy(10_000, 100));
    let (s, l) = (compile(&small, Mode::Sets), compile(&large, Mode::Sets));
    assert_eq!(s.rule_count(), l.rule_count());
    let naive = compile(&large, Mode::Naive);
    assert!(
        naive.rule_count() > 10 * l.rule_count(),
        "{} vs {}",
        naive.rule_count(),
        l.rule_count()
    );
}

#[test]
fn load_balancer_update_renders_only_the_healthy_backends() {
    let p = office();
    let ip = |s: &str| s.parse().unwrap();
    let u = lb_update(
        &p,
        "app",
        &[(ip("192.0.2.81"), 8443), (ip("192.0.2.83"), 8443)],
    )
    .unwrap();
    insta::assert_snapshot!(u.text, @r"
    flush chain inet mamori lb_app
    add rule inet mamori lb_app iifname @if_wan ip daddr 198.51.100.1 tcp dport 443 dnat ip to numgen random mod 3 map { 0-1 : 192.0.2.81 . 8443, 2 : 192.0.2.83 . 8443 }
    ");
    let none = lb_update(&p, "app", &[]).unwrap();
    assert_eq!(none.text, "flush chain inet mamori lb_app\n");
    assert_eq!(none.json["nftables"].as_array().unwrap().len(), 2);
    assert!(lb_update(&p, "nope", &[]).is_err());
    assert!(lb_update(&p, "app", &[(ip("192.0.2.99"), 8443)]).is_err());
}

#[test]
fn streaming_json_equals_the_value_json() {
    let cfg = GenConfig::default();
    let mut policies = vec![office(), policy(&big_policy(100, 20))];
    for seed in 0..40 {
        policies.push(policy(&random_policy(seed, &cfg)));
    }
    for p in &policies {
        for mode in [Mode::Sets, Mode::Naive] {
            let c = compile(p, mode);
            let streamed: mamori_policy::serde_json::Value =
                mamori_policy::serde_json::from_str(&c.to_json_string()).unwrap();
            assert_eq!(streamed, c.to_json());
        }
    }
}

/// Counters carried over from the running table: kept for the counters the new policy
/// still has, dropped for the others; the three renderings agree.
#[test]
fn kept_counters_start_where_the_running_table_was() {
    let listed = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
        {"counter": {"family": "inet", "name": "rule_web-in", "table": "mamori", "handle": 1, "packets": 12, "bytes": 3400}},
        {"counter": {"family": "inet", "name": "rule_gone", "table": "mamori", "handle": 2, "packets": 5, "bytes": 50}},
        {"counter": {"family": "inet", "name": "rule_web-in", "table": "other", "handle": 1, "packets": 99, "bytes": 99}}]}"#;
    let running = mamori_policy::parse_counters(listed).unwrap();
    assert_eq!(running.get("rule_web-in"), Some(&(12, 3400)));
    assert_eq!(running.len(), 2, "other tables are ignored: {running:?}");
    let mut c = compile(&office(), Mode::Sets);
    c.keep_counters(&running);
    let text = c.to_text();
    assert!(
        text.contains("\tcounter rule_web-in { packets 12 bytes 3400 }\n"),
        "{text}"
    );
    assert!(!text.contains("rule_gone"), "{text}");
    assert!(text.contains("\tcounter mgmt {}\n"), "{text}");
    let streamed: mamori_policy::serde_json::Value =
        mamori_policy::serde_json::from_str(&c.to_json_string()).unwrap();
    assert_eq!(streamed, c.to_json());
    let json = c.to_json_string();
    assert!(
        json.contains(r#""name":"rule_web-in","packets":12,"bytes":3400"#),
        "{json}"
    );
}

#[test]
fn counter_listings_that_are_not_nft_output_are_errors() {
    use mamori_policy::{CountersError, parse_counters};
    assert!(matches!(
        parse_counters("table inet"),
        Err(CountersError::NotJson(_))
    ));
    assert_eq!(parse_counters("{}"), Err(CountersError::NoArray));
    assert_eq!(
        parse_counters(
            r#"{"nftables":[{"counter":{"family":"inet","table":"mamori","name":"x"}}]}"#
        ),
        Err(CountersError::BadEntry(0))
    );
    assert_eq!(parse_counters(r#"{"nftables":[]}"#).map(|m| m.len()), Ok(0));
}

#[test]
fn fast_path_offloads_established_tcp_and_udp_before_any_other_forward_rule() {
    let p = office();
    assert!(p.fast_path, "the fast path is on by default");
    let c = compile(&p, Mode::Sets);
    let text = c.to_text();
    assert!(
        text.contains(
            "\tflowtable ft {\n\t\thook ingress priority 0; devices = { \"dmz0\", \"lan0\", \"wan0\" };\n\t}\n"
        ),
        "{text}"
    );
    let forward = c
        .table
        .chains
        .iter()
        .find(|ch| ch.name == "forward")
        .unwrap();
    let rules: Vec<String> = forward
        .rules
        .iter()
        .map(|r| mamori_policy::nft::text_rule(r))
        .collect();
    assert_eq!(
        rules[..3],
        [
            "meta l4proto { tcp, udp } ct state established flow add @ft",
            "ct state established,related accept",
            "ct state invalid drop",
        ]
    );
    // Nothing else offloads: no other chain adds flows.
    let adds = c
        .table
        .chains
        .iter()
        .flat_map(|ch| ch.rules.iter())
        .filter(|r| {
            r.iter()
                .any(|s| matches!(s, mamori_policy::nft::Stmt::FlowAdd(_)))
        })
        .count();
    assert_eq!(adds, 1);
    let json = c.to_json_string();
    assert!(
        json.contains(r#"{"add":{"flowtable":{"family":"inet","table":"mamori","name":"ft","hook":"ingress","prio":0,"dev":["dmz0","lan0","wan0"]}}}"#),
        "{json}"
    );
    assert!(json.contains(r#"{"flow":{"op":"add","flowtable":"@ft"}}"#));
}

#[test]
fn fast_path_off_compiles_without_a_flowtable() {
    let src = data("office.toml").replacen(
        "[management]",
        "[options]\nfast_path = false\n\n[management]",
        1,
    );
    let mut l = Lists::new();
    l.insert("threats".into(), parse_list(&data("threats.txt")).unwrap());
    let p = check(&src, &l).policy.expect("valid");
    assert!(!p.fast_path);
    let off = compile(&p, Mode::Sets);
    assert!(off.table.flowtables.is_empty());
    assert!(!off.to_text().contains("flow"), "{}", off.to_text());
    // Otherwise the same ruleset: the fast path only adds the flowtable and one rule.
    let on = compile(&office(), Mode::Sets);
    assert_eq!(on.rule_count(), off.rule_count() + 1);
    assert_eq!(on.table.sets, off.table.sets);
}
