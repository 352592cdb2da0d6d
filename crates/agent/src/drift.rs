//! Drift: the live `inet mamori` table (`nft -j list table inet mamori`) compared with the
//! one the agent applied. Both are normalised first: handles, counter values and nft's
//! metainfo change without anyone changing the ruleset, so they are left out.

use serde_json::Value;

/// Keys whose values change while the ruleset stays the same.
const VOLATILE: &[&str] = &["handle", "packets", "bytes", "metainfo", "used"];

/// The live table without its volatile parts (`None`: no table).
pub fn normalise(live: Option<&Value>) -> Value {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(
                a.iter()
                    .filter(|i| i.get("metainfo").is_none())
                    .map(strip)
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    match live {
        Some(v) => strip(v),
        None => Value::Null,
    }
}

/// What differs between the applied (normalised) table and the live one, in words;
/// `None` when they are the same.
pub fn difference(applied: &Value, live: &Value) -> Option<String> {
    if applied == live {
        return None;
    }
    if live.is_null() {
        return Some("the table inet mamori is gone".into());
    }
    let items = |v: &Value| -> Vec<Value> {
        v.get("nftables")
            .and_then(|a| a.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let (a, l) = (items(applied), items(live));
    let kind = |i: &Value| {
        i.as_object()
            .and_then(|m| m.keys().next().cloned())
            .unwrap_or_default()
    };
    let missing: Vec<&Value> = a.iter().filter(|i| !l.contains(i)).collect();
    let added: Vec<&Value> = l.iter().filter(|i| !a.contains(i)).collect();
    let count = |v: &[&Value], k: &str| v.iter().filter(|i| kind(i) == k).count();
    let mut parts = Vec::new();
    for k in ["rule", "chain", "set", "map", "counter"] {
        let (m, n) = (count(&missing, k), count(&added, k));
        if m > 0 {
            parts.push(format!("{m} {k}(s) missing"));
        }
        if n > 0 {
            parts.push(format!("{n} {k}(s) added"));
        }
    }
    if parts.is_empty() {
        parts.push("the table differs".into());
    }
    Some(format!(
        "live ruleset differs from the applied one: {}",
        parts.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(rules: &[&str], packets: u64) -> Value {
        let mut items = vec![
            json!({"metainfo": {"version": "1.1"}}),
            json!({"table": {"family": "inet", "name": "mamori", "handle": 3}}),
        ];
        for (i, r) in rules.iter().enumerate() {
            items.push(json!({"rule": {"chain": "input", "handle": 10 + i,
                "expr": [{"counter": {"packets": packets, "bytes": packets * 60}}, {"match": r}]}}));
        }
        json!({ "nftables": items })
    }

    #[test]
    fn counters_and_handles_are_not_drift() {
        let a = normalise(Some(&table(&["a", "b"], 0)));
        let l = normalise(Some(&table(&["a", "b"], 999)));
        assert_eq!(difference(&a, &l), None);
    }

    #[test]
    fn a_removed_rule_or_table_is_drift_and_says_what() {
        let a = normalise(Some(&table(&["a", "b"], 0)));
        let l = normalise(Some(&table(&["a"], 0)));
        let d = difference(&a, &l).unwrap();
        assert!(d.contains("1 rule(s) missing"), "{d}");
        let d = difference(&a, &normalise(None)).unwrap();
        assert!(d.contains("gone"), "{d}");
    }
}
