//! Conformance against the shared corpora (`../shared/conformance/`): every case of
//! suricata-verify, suricata-verify-wide and http-evader runs through the engine (pcap →
//! EVE records), and its checks are evaluated with the corpus README's semantics. Each
//! test prints the pass rate and the failing cases with their reason (rules skipped for
//! an unsupported keyword or protocol, or a wrong count), grouped, and fails if the
//! number of passing cases falls below the ratchet (the level reached so far; raise it
//! when more cases pass).
//!
//! As in Suricata, a case whose rules are all skipped still runs (with no rules): the
//! engine exits 0 and writes whatever it logs without rules, so its `count: 0` checks
//! can pass.

use std::fs;
use std::path::{Path, PathBuf};

use mamori_ids::detect::Detector;
use mamori_ids::engine::{Engine, EngineConfig, Mode};
use mamori_ids::pcap::PcapReader;
use mamori_ids::rules::{Skipped, Vars, parse_rules_with_files};
use serde_json::Value;

/// Passing cases reached so far (suricata-verify: 45 cases, suricata-verify-wide: 231,
/// http-evader: 346).
const SURICATA_VERIFY_RATCHET: usize = 44;
const SURICATA_VERIFY_WIDE_RATCHET: usize = 211;
const HTTP_EVADER_RATCHET: usize = 346;

fn corpus(name: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../../shared/conformance")
        .join(name)
}

/// What one case's run produced: the EVE records and the rules skipped on loading.
struct Run {
    events: Vec<Value>,
    skipped: Vec<Skipped>,
}

/// Runs one case; returns the EVE records and the skipped rules.
fn run_case(dir: &Path, root: &Path, mode: &str) -> Result<Run, String> {
    let vars_path = if dir.join("vars.json").exists() {
        dir.join("vars.json")
    } else {
        root.join("default-vars.json")
    };
    let vars_text = fs::read_to_string(&vars_path).map_err(|e| format!("vars: {e}"))?;
    let vars = Vars::from_json(&vars_text).map_err(|e| e.to_string())?;
    let rules_path = dir.join("rules.rules");
    let text = fs::read_to_string(&rules_path).map_err(|e| format!("rules: {e}"))?;
    // Data files (datasets, hash lists) are read next to the rule file, as the binary reads them.
    let files = |name: &str| -> Result<Option<String>, String> {
        let p = dir.join(name);
        if !p.exists() {
            return Ok(None);
        }
        fs::read_to_string(&p).map(Some).map_err(|e| e.to_string())
    };
    let set = parse_rules_with_files(&rules_path.display().to_string(), &text, &vars, &files);
    // No usable rule: the engine runs without rules, as the binary does.
    let cfg = EngineConfig {
        mode: if mode == "ips" { Mode::Ips } else { Mode::Ids },
        pcap_cnt: true,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(Detector::new(set.rules), cfg);
    let bytes = fs::read(dir.join("input.pcap")).map_err(|e| format!("pcap: {e}"))?;
    let reader = PcapReader::new(&bytes[..]).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    for p in reader {
        let Ok(p) = p else { break };
        engine.process(p.ts_micros, p.linktype, &p.data);
        events.extend(engine.take_events());
    }
    engine.finish();
    events.extend(engine.take_events());
    // What the binary writes and the checker reads: JSON lines.
    let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
    let events = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("EVE lines are JSON"))
        .collect();
    Ok(Run {
        events,
        skipped: set.skipped,
    })
}

fn lookup<'a>(rec: &'a Value, key: &str) -> Option<&'a Value> {
    let mut v = rec;
    for part in key.split('.') {
        v = v.as_object()?.get(part)?;
    }
    Some(v)
}

/// JSON equality with the README's typing: numbers by value, otherwise same type.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Evaluates a case's checks; `Err` lists the failing ones.
fn check(expected: &Value, events: &[Value]) -> Result<(), String> {
    let mut bad = Vec::new();
    for c in expected["checks"].as_array().into_iter().flatten() {
        let want = c["count"].as_u64().unwrap_or(0) as usize;
        let m = c["match"].as_object().cloned().unwrap_or_default();
        let got = events
            .iter()
            .filter(|r| {
                m.iter()
                    .all(|(k, v)| lookup(r, k).is_some_and(|x| json_eq(x, v)))
            })
            .count();
        if got != want {
            bad.push(format!("{} want {want} got {got}", Value::Object(m)));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

/// Why a case failed, for grouping: the rules skipped (by keyword or protocol), or,
/// when every rule loaded, a wrong count (or a run error).
fn failure_group(skipped: &[Skipped]) -> String {
    let mut keys: Vec<String> = skipped
        .iter()
        .map(|s| match &s.keyword {
            Some(k) if s.reason.starts_with("unsupported protocol") => format!("protocol `{k}`"),
            Some(k) => format!("keyword `{k}`"),
            None => format!("malformed: {}", s.reason),
        })
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        "wrong count (all rules loaded)".to_string()
    } else {
        format!("skipped {}", keys.join(", "))
    }
}

struct Failure {
    name: String,
    why: String,
    group: String,
}

fn run_corpus(name: &str) -> (usize, usize, Vec<Failure>) {
    let root = corpus(name);
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e} (the shared corpus is missing)", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").exists())
        .collect();
    dirs.sort();
    let mut passed = 0;
    let mut failed = Vec::new();
    for d in &dirs {
        let expected: Value =
            serde_json::from_str(&fs::read_to_string(d.join("expected.json")).unwrap()).unwrap();
        let mode = expected["mode"].as_str().unwrap_or("ids");
        let name = d.file_name().unwrap().to_string_lossy().to_string();
        match run_case(d, &root, mode) {
            Err(why) => failed.push(Failure {
                name,
                why,
                group: "run error".to_string(),
            }),
            Ok(run) => match check(&expected, &run.events) {
                Ok(()) => passed += 1,
                Err(why) => failed.push(Failure {
                    name,
                    why,
                    group: failure_group(&run.skipped),
                }),
            },
        }
    }
    (passed, dirs.len(), failed)
}

fn report(name: &str, passed: usize, total: usize, failed: &[Failure], ratchet: usize) {
    println!(
        "{name}: {passed}/{total} passed ({:.1}%)",
        100.0 * passed as f64 / total.max(1) as f64
    );
    for f in failed {
        println!("  FAIL {}: {}", f.name, f.why);
    }
    if !failed.is_empty() {
        // Failures grouped by reason, largest group first.
        let mut groups: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for f in failed {
            groups.entry(&f.group).or_default().push(&f.name);
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        println!("{name}: failures by reason");
        println!("  {:>5}  reason: cases", "cases");
        for (group, names) in &groups {
            println!("  {:>5}  {group}: {}", names.len(), names.join(" "));
        }
        // Each skipped keyword or protocol with the number of failing cases that need it.
        let mut needs: std::collections::BTreeMap<String, usize> = Default::default();
        for f in failed {
            if let Some(list) = f.group.strip_prefix("skipped ") {
                for k in list.split(", ") {
                    *needs.entry(k.to_string()).or_default() += 1;
                }
            }
        }
        let mut needs: Vec<_> = needs.into_iter().collect();
        needs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        println!("{name}: failing cases that skip each keyword or protocol");
        for (k, n) in &needs {
            println!("  {n:>5}  {k}");
        }
    }
    assert!(
        passed >= ratchet,
        "{name}: {passed} cases pass, fewer than the {ratchet} reached before"
    );
}

#[test]
fn suricata_verify_corpus() {
    let (passed, total, failed) = run_corpus("suricata-verify");
    assert!(total >= 40, "suricata-verify corpus has {total} cases");
    report(
        "suricata-verify",
        passed,
        total,
        &failed,
        SURICATA_VERIFY_RATCHET,
    );
}

#[test]
fn suricata_verify_wide_corpus() {
    let (passed, total, failed) = run_corpus("suricata-verify-wide");
    assert!(
        total >= 200,
        "suricata-verify-wide corpus has {total} cases"
    );
    report(
        "suricata-verify-wide",
        passed,
        total,
        &failed,
        SURICATA_VERIFY_WIDE_RATCHET,
    );
}

#[test]
fn http_evader_corpus() {
    let (passed, total, failed) = run_corpus("http-evader");
    assert!(total >= 300, "http-evader corpus has {total} cases");
    report("http-evader", passed, total, &failed, HTTP_EVADER_RATCHET);
}

#[test]
fn check_semantics_are_typed_and_exact() {
    let rec: Value = serde_json::json!({"event_type": "alert", "alert": {"signature_id": 1}});
    let exp = |count: u64, v: Value| serde_json::json!({"checks": [{"count": count, "match": {"alert.signature_id": v}}]});
    assert!(check(&exp(1, serde_json::json!(1)), std::slice::from_ref(&rec)).is_ok());
    assert!(check(&exp(1, serde_json::json!(1.0)), std::slice::from_ref(&rec)).is_ok());
    assert!(check(&exp(1, serde_json::json!("1")), std::slice::from_ref(&rec)).is_err());
    assert!(check(&exp(1, serde_json::json!(1)), &[rec.clone(), rec.clone()]).is_err());
    assert!(check(&exp(0, serde_json::json!(2)), &[rec]).is_ok());
}
