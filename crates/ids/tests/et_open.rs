//! The Emerging Threats Open ruleset loads: at least 95% of its active rules, the rest
//! reported by keyword.

use mamori_ids::detect::Detector;
use mamori_ids::rules::{Vars, parse_rules};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn et_open_path() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../../shared/data/et-open/et-open.rules")
}

#[test]
fn et_open_loads_at_least_95_percent() {
    let path = et_open_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared data folder is expected beside the repository)",
            path.display()
        )
    });
    let set = parse_rules("et-open.rules", &text, &Vars::suricata_defaults());
    let total = set.rules.len() + set.skipped.len();
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for s in &set.skipped {
        let key = match &s.keyword {
            Some(k) => format!("keyword {k}"),
            None => format!("malformed: {}", s.reason),
        };
        *by_reason.entry(key).or_default() += 1;
    }
    let mut rows: Vec<_> = by_reason.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!(
        "ET Open: {} of {} rules loaded ({:.2}%), {} skipped",
        set.rules.len(),
        total,
        100.0 * set.rules.len() as f64 / total as f64,
        set.skipped.len()
    );
    for (reason, n) in &rows {
        println!("{n:6}  {reason}");
    }
    assert!(
        total > 14_000,
        "expected about 15,000 active rules, found {total}"
    );
    assert!(
        set.rules.len() * 100 >= total * 95,
        "only {} of {total} ET Open rules loaded",
        set.rules.len()
    );
    let malformed: Vec<_> = set.skipped.iter().filter(|s| s.keyword.is_none()).collect();
    assert!(
        malformed.len() * 1000 < total,
        "{} ET Open rules rejected as malformed, e.g. {}",
        malformed.len(),
        malformed.first().map(|s| s.to_string()).unwrap_or_default()
    );
    let det = Detector::new(set.rules);
    println!(
        "prefilter: {} distinct fast patterns, {} rules found by address, {} always evaluated",
        det.pattern_count(),
        det.address_indexed(),
        det.always_candidates()
    );
    assert!(
        det.always_candidates() * 100 < det.len() * 5,
        "{} of {} rules have no usable fast pattern",
        det.always_candidates(),
        det.len()
    );
}
