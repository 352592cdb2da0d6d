//! Validation: every problem reported, with line:column and a hint; never a panic.

use mamori_policy::{Lists, Severity, check, parse_list};
use proptest::prelude::*;

fn data(name: &str) -> String {
    let path = format!(
        "{}/tests/data/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn office_lists() -> Lists {
    let mut l = Lists::new();
    l.insert("threats".into(), parse_list(&data("threats.txt")).unwrap());
    l
}

fn render(src: &str, lists: &Lists, file: &str) -> String {
    check(src, lists)
        .diagnostics
        .iter()
        .map(|d| format!("{}\n", d.display(file)))
        .collect()
}

#[test]
fn reports_every_problem_with_position_and_hint() {
    insta::assert_snapshot!(render(&data("bad.toml"), &Lists::new(), "bad.toml"));
}

#[test]
fn a_document_with_errors_gives_no_policy() {
    let c = check(&data("bad.toml"), &Lists::new());
    assert!(c.has_errors());
    assert!(c.policy.is_none());
}

#[test]
fn the_office_policy_is_valid_with_one_warning() {
    let c = check(&data("office.toml"), &office_lists());
    let msgs: Vec<String> = c
        .diagnostics
        .iter()
        .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
        .collect();
    assert_eq!(msgs, vec!["30:1 service `ipp` is not used"]);
    let p = c.policy.expect("valid");
    assert_eq!(p.rules.len(), 5, "the disabled rule is dropped");
    assert_eq!(p.zones, vec!["dmz", "lan", "wan"]);
}

#[test]
fn unsupplied_list_is_a_warning_not_an_error() {
    let c = check(&data("office.toml"), &Lists::new());
    assert!(!c.has_errors());
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Warning && d.message.contains("list `threats`"))
    );
}

fn with_rules(rules: &str) -> String {
    format!(
        "[interfaces]\nlan0 = \"lan\"\nwan0 = \"wan\"\n[management]\ncenter = \"203.0.113.10\"\n\
         [addresses]\nnet = \"192.0.2.0/24\"\nhost = \"192.0.2.7\"\nv6 = \"2001:db8::/32\"\n\
         [services]\nweb = [\"tcp/80\", \"tcp/443\"]\nhttps = \"tcp/443\"\n{rules}"
    )
}

#[test]
fn shadowed_rule_is_reported_with_the_rule_that_shadows_it() {
    let src = with_rules(
        "[[rules]]\nname = \"broad\"\nfrom = \"lan\"\nto = \"wan\"\nsource = \"net\"\nservice = \"web\"\naction = \"accept\"\n\
         [[rules]]\nname = \"narrow\"\nfrom = \"lan\"\nto = \"wan\"\nsource = [\"host\"]\nservice = \"https\"\naction = \"drop\"\n\
         [[rules]]\nname = \"other\"\nfrom = \"lan\"\nto = \"wan\"\nsource = \"v6\"\nservice = \"https\"\naction = \"drop\"\n",
    );
    let c = check(&src, &Lists::new());
    let w: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("never used"))
        .collect();
    assert_eq!(w.len(), 1, "{:#?}", c.diagnostics);
    assert!(
        w[0].message
            .starts_with("narrow is never used: broad (line")
    );
    assert_eq!(w[0].severity, Severity::Warning);
}

#[test]
fn group_cycles_are_errors() {
    let src = with_rules(
        "[address_groups]\na = [\"b\"]\nb = [\"c\", \"net\"]\nc = [\"a\"]\n[[rules]]\nfrom = \"lan\"\nto = \"wan\"\nsource = \"a\"\naction = \"accept\"\n",
    );
    let c = check(&src, &Lists::new());
    assert!(c.has_errors());
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.message.contains("contains itself")),
        "{:#?}",
        c.diagnostics
    );
}

#[test]
fn missing_management_is_an_error() {
    let c = check("[interfaces]\nlan0 = \"lan\"\n", &Lists::new());
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.is_error() && d.message.contains("[management]"))
    );
}

#[test]
fn invalid_toml_is_reported_with_position() {
    let c = check("[interfaces]\nlan0 = \"lan\n", &Lists::new());
    assert!(c.has_errors());
    assert_eq!(c.diagnostics[0].line, 2);
    assert!(c.diagnostics[0].message.starts_with("not valid TOML"));
}

#[test]
fn list_files_report_bad_lines() {
    assert_eq!(
        parse_list("# feed\n192.0.2.1\n\n10.0.0.0/8 # comment\n")
            .unwrap()
            .len(mamori_policy::addr::Family::V4),
        2
    );
    let e = parse_list("192.0.2.1\nnonsense\n").unwrap_err();
    assert_eq!(e[0].0, 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC*") {
        let _ = check(&s, &Lists::new());
    }

    #[test]
    fn never_panics_on_toml_like_text(s in "(\\[{1,2}[a-z_.]{1,12}\\]{1,2}\n|[a-z_]{1,10} = (\"[a-z0-9./:*>-]{0,20}\"|[0-9]{1,6}|true|\\[\"[a-z0-9./-]{0,12}\"\\]|\\{ [a-z]{1,6} = \"[a-z0-9./]{0,10}\" \\})\n){0,30}") {
        let _ = check(&s, &Lists::new());
    }

    #[test]
    fn never_panics_on_a_damaged_valid_policy(cut in 0usize..4000, len in 0usize..40, insert in "\\PC{0,8}") {
        let src = data("office.toml");
        let mut start = cut.min(src.len());
        while !src.is_char_boundary(start) { start -= 1; }
        let mut end = (start + len).min(src.len());
        while !src.is_char_boundary(end) { end -= 1; }
        let damaged = format!("{}{insert}{}", &src[..start], &src[end..]);
        let c = check(&damaged, &office_lists());
        // Every diagnostic points inside the text.
        for d in &c.diagnostics {
            prop_assert!(d.span.start <= damaged.len());
            prop_assert!(d.line >= 1 && d.column >= 1);
        }
    }
}

#[test]
fn port_forward_across_ip_families_is_an_error() {
    let src = "[interfaces]\nlan0 = { zone = \"lan\", addresses = [\"192.0.2.1/24\", \"2001:db8::1/64\"] }\n\
               wan0 = { zone = \"wan\", addresses = [\"198.51.100.1/24\"] }\n\
               [management]\ncenter = \"203.0.113.10\"\n\
               [[nat.port_forwards]]\nname = \"x\"\nzone = \"wan\"\ndestination = \"198.51.100.1\"\nport = 80\nto = \"2001:db8::7\"\n";
    let c = check(src, &Lists::new());
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.is_error() && d.message.contains("changes the IP family")),
        "{:#?}",
        c.diagnostics
    );
}

#[test]
fn unknown_names_suggest_the_nearest_known_one() {
    let src = with_rules(
        "[[rules]]\nfrom = \"lna\"\nto = \"wan\"\nsource = \"nett\"\nservice = \"htps\"\naction = \"accept\"\n",
    );
    let c = check(&src, &Lists::new());
    let hints: Vec<String> = c
        .diagnostics
        .iter()
        .filter_map(|d| d.hint.clone())
        .collect();
    assert!(
        hints.iter().any(|h| h.starts_with("did you mean `lan`?")),
        "{hints:#?}"
    );
    assert!(
        hints.iter().any(|h| h == "did you mean `net`?"),
        "{hints:#?}"
    );
    assert!(
        hints.iter().any(|h| h == "did you mean `https`?"),
        "{hints:#?}"
    );
}

#[test]
fn deeply_nested_groups_are_an_error_not_a_crash() {
    let mut src = String::from(
        "[interfaces]\nlan0 = \"lan\"\n[management]\ncenter = \"203.0.113.10\"\n[address_groups]\n",
    );
    for i in 0..10_000 {
        src.push_str(&format!("g{i} = [\"g{}\"]\n", i + 1));
    }
    src.push_str("g10000 = [\"192.0.2.1\"]\n[service_groups]\n");
    for i in 0..10_000 {
        src.push_str(&format!("s{i} = [\"s{}\"]\n", i + 1));
    }
    src.push_str("s10000 = [\"tcp/1\"]\n[[rules]]\nfrom = \"lan\"\nto = \"lan\"\nsource = \"g0\"\nservice = \"s0\"\naction = \"drop\"\n");
    let c = check(&src, &Lists::new());
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.message.contains("address group")
                && d.message.contains("nested more than 64"))
    );
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.message.contains("service group")
                && d.message.contains("nested more than 64"))
    );
}

#[test]
fn one_to_one_on_the_gateways_own_address_is_a_warning() {
    let src = "[interfaces]\nlan0 = { zone = \"lan\", addresses = [\"192.0.2.1/24\"] }\n\
               wan0 = { zone = \"wan\", addresses = [\"198.51.100.1/24\"] }\n\
               [management]\ncenter = \"203.0.113.10\"\n\
               [[nat.one_to_one]]\nzone = \"wan\"\npublic = \"198.51.100.1\"\nprivate = \"192.0.2.9\"\n";
    let c = check(src, &Lists::new());
    assert!(!c.has_errors());
    assert!(c.diagnostics.iter().any(|d| d.severity == Severity::Warning
        && d.message.contains("an address of the gateway itself")));
}

#[test]
fn options_are_checked() {
    let src = with_rules("[options]\nfast_path = \"yes\"\nturbo = true\n");
    let out = render(&src, &Lists::new(), "p.toml");
    assert!(
        out.contains("`fast_path` must be true or false, found a string"),
        "{out}"
    );
    assert!(out.contains("unknown key `turbo` in [options]"), "{out}");
    let ok = check(&with_rules("[options]\nfast_path = false\n"), &Lists::new());
    assert!(!ok.policy.expect("valid").fast_path);
    let default = check(&with_rules(""), &Lists::new());
    assert!(default.policy.expect("valid").fast_path);
}
