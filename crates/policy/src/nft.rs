//! A small model of an nftables ruleset, rendered two ways: `nft` text and libnftables
//! JSON. The compiler builds this model once, so both outputs say the same thing.

use std::fmt::Write as _;

use serde_json::{Value, json};

/// A left-hand expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Payload(&'static str, &'static str),
    Meta(&'static str),
    Ct(&'static str),
    Concat(Vec<Expr>),
    Numgen(u32),
    /// `fib daddr type`: `local` for the gateway's own addresses.
    FibDaddrType,
}

/// A right-hand value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// A bare symbol or address: `tcp`, `echo-request`, `192.0.2.1`.
    Sym(String),
    /// A quoted string (interface names).
    Str(String),
    Num(u64),
    Prefix(String, u32),
    Range(Box<Val>, Box<Val>),
    Concat(Vec<Val>),
    SetRef(String),
    /// An anonymous set.
    Set(Vec<Val>),
    /// A list of flags, e.g. ct states.
    Flags(Vec<&'static str>),
    /// Verdict data of a verdict map.
    Jump(String),
    Verdict(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// `left == right` (a set reference or anonymous set means "is in").
    Match(Expr, Val),
    /// `left in flags` (ct state and ct status).
    In(Expr, Val),
    Counter(String),
    Accept,
    Drop,
    Reject,
    Jump(String),
    Log(String),
    Limit {
        rate: u32,
        per: &'static str,
        over: bool,
    },
    /// Add the key to a dynamic set with a per-element limit (`over` the rate).
    SetLimit {
        set: String,
        key: Expr,
        rate: u32,
        per: &'static str,
    },
    Vmap(Expr, String),
    Dnat {
        family: &'static str,
        addr: String,
        port: Option<u16>,
    },
    /// DNAT to `addr . port` looked up in an anonymous map keyed by `key`.
    DnatMap {
        family: &'static str,
        key: Expr,
        map: Vec<(Val, Val)>,
    },
    Snat {
        family: &'static str,
        addr: String,
    },
    Masquerade,
    /// `flow add @NAME`: offload the packet's connection to a flowtable.
    FlowAdd(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChain {
    pub kind: &'static str,
    pub hook: &'static str,
    /// Priority as nft spells it (`filter`, `dstnat`, `srcnat`) and as a number.
    pub prio_name: &'static str,
    pub prio: i32,
    pub policy: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    pub base: Option<BaseChain>,
    pub rules: Vec<Vec<Stmt>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub name: String,
    /// Key type names; more than one means a concatenation.
    pub key: Vec<&'static str>,
    /// Map data type (`verdict` for verdict maps).
    pub data: Option<&'static str>,
    pub interval: bool,
    /// A dynamic set filled from the packet path, with this timeout in seconds.
    pub dynamic_timeout: Option<u32>,
    pub size: Option<u32>,
    pub elems: Vec<Val>,
    /// Map elements (key, data) when `data` is set.
    pub map_elems: Vec<(Val, Val)>,
}

impl Set {
    /// The set's flags as nft names them: `timeout` for a dynamic set, `interval`.
    fn flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.dynamic_timeout.is_some() {
            flags.push("timeout");
        }
        if self.interval {
            flags.push("interval");
        }
        flags
    }
}

/// A software flowtable on the ingress hook of some interfaces: connections added to
/// it (`flow add`) are forwarded from ingress straight to the output interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flowtable {
    pub name: String,
    pub prio: i32,
    pub devices: Vec<String>,
}

/// One nftables table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub family: &'static str,
    pub name: String,
    pub counters: Vec<String>,
    /// Starting values (packets, bytes) of named counters, e.g. carried over from the
    /// table this one replaces; counters not named here start at zero.
    pub counter_values: std::collections::BTreeMap<String, (u64, u64)>,
    pub sets: Vec<Set>,
    pub flowtables: Vec<Flowtable>,
    pub chains: Vec<Chain>,
}

fn text_expr(e: &Expr, out: &mut String) {
    match e {
        Expr::Payload(p, f) => {
            let _ = write!(out, "{p} {f}");
        }
        Expr::Meta(k) => {
            if *k == "l4proto" || *k == "nfproto" {
                let _ = write!(out, "meta {k}");
            } else {
                out.push_str(k);
            }
        }
        Expr::Ct(k) => {
            let _ = write!(out, "ct {k}");
        }
        Expr::Concat(v) => joined(out, v, " . ", |out, x| text_expr(x, out)),
        Expr::Numgen(m) => {
            let _ = write!(out, "numgen random mod {m}");
        }
        Expr::FibDaddrType => out.push_str("fib daddr type"),
    }
}

fn text_val(v: &Val, out: &mut String) {
    match v {
        Val::Sym(s) => out.push_str(s),
        Val::Str(s) => {
            let _ = write!(out, "\"{s}\"");
        }
        Val::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Val::Prefix(a, l) => {
            let _ = write!(out, "{a}/{l}");
        }
        Val::Range(a, b) => {
            text_val(a, out);
            out.push('-');
            text_val(b, out);
        }
        Val::Concat(v) => joined(out, v, " . ", |out, x| text_val(x, out)),
        Val::SetRef(s) => {
            let _ = write!(out, "@{s}");
        }
        Val::Set(v) => {
            out.push_str("{ ");
            joined(out, v, ", ", |out, x| text_val(x, out));
            out.push_str(" }");
        }
        Val::Flags(f) => out.push_str(&f.join(",")),
        Val::Jump(c) => {
            let _ = write!(out, "jump {c}");
        }
        Val::Verdict(v) => out.push_str(v),
    }
}

/// One rule as `nft` text (without the chain).
pub fn text_rule(stmts: &[Stmt]) -> String {
    let mut out = String::new();
    for (i, s) in stmts.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match s {
            Stmt::Match(e, v) | Stmt::In(e, v) => {
                text_expr(e, &mut out);
                out.push(' ');
                text_val(v, &mut out);
            }
            Stmt::Counter(n) => {
                let _ = write!(out, "counter name \"{n}\"");
            }
            Stmt::Accept => out.push_str("accept"),
            Stmt::Drop => out.push_str("drop"),
            Stmt::Reject => out.push_str("reject"),
            Stmt::Jump(c) => {
                let _ = write!(out, "jump {c}");
            }
            Stmt::Log(p) => {
                let _ = write!(out, "log prefix \"{p}\"");
            }
            Stmt::Limit { rate, per, over } => {
                let _ = write!(
                    out,
                    "limit rate {}{rate}/{per}",
                    if *over { "over " } else { "" }
                );
            }
            Stmt::SetLimit {
                set,
                key,
                rate,
                per,
            } => {
                let _ = write!(out, "add @{set} {{ ");
                text_expr(key, &mut out);
                let _ = write!(out, " limit rate over {rate}/{per} }}");
            }
            Stmt::Vmap(e, m) => {
                text_expr(e, &mut out);
                let _ = write!(out, " vmap @{m}");
            }
            Stmt::Dnat { family, addr, port } => {
                let a = if *family == "ip6" && port.is_some() {
                    format!("[{addr}]")
                } else {
                    addr.clone()
                };
                let _ = write!(out, "dnat {family} to {a}");
                if let Some(p) = port {
                    let _ = write!(out, ":{p}");
                }
            }
            Stmt::DnatMap { family, key, map } => {
                let _ = write!(out, "dnat {family} to ");
                text_expr(key, &mut out);
                out.push_str(" map { ");
                joined(&mut out, map, ", ", |out, (k, d)| {
                    text_val(k, out);
                    out.push_str(" : ");
                    text_val(d, out);
                });
                out.push_str(" }");
            }
            Stmt::Snat { family, addr } => {
                let _ = write!(out, "snat {family} to {addr}");
            }
            Stmt::Masquerade => out.push_str("masquerade"),
            Stmt::FlowAdd(f) => {
                let _ = write!(out, "flow add @{f}");
            }
        }
    }
    out
}

fn text_set(s: &Set, out: &mut String) {
    let kw = if s.data.is_some() { "map" } else { "set" };
    let _ = writeln!(out, "\t{kw} {} {{", s.name);
    let _ = write!(out, "\t\ttype {}", s.key.join(" . "));
    if let Some(d) = s.data {
        let _ = write!(out, " : {d}");
    }
    out.push('\n');
    let mut flags = Vec::new();
    if s.dynamic_timeout.is_some() {
        flags.push("dynamic");
        flags.push("timeout");
    }
    if s.interval {
        flags.push("interval");
    }
    if !flags.is_empty() {
        let _ = writeln!(out, "\t\tflags {}", flags.join(","));
    }
    if let Some(t) = s.dynamic_timeout {
        let _ = writeln!(out, "\t\ttimeout {t}s");
    }
    if let Some(n) = s.size {
        let _ = writeln!(out, "\t\tsize {n}");
    }
    if !s.elems.is_empty() || !s.map_elems.is_empty() {
        // Eight elements a line: `nft` reads big sets about 7% faster than with one
        // padded element a line.
        out.push_str("\t\telements = { ");
        let mut n = 0usize;
        let mut sep = |out: &mut String| {
            if n > 0 {
                out.push_str(if n.is_multiple_of(8) {
                    ",\n\t\t\t"
                } else {
                    ", "
                });
            }
            n += 1;
        };
        for e in &s.elems {
            sep(out);
            text_val(e, out);
        }
        for (k, d) in &s.map_elems {
            sep(out);
            text_val(k, out);
            out.push_str(" : ");
            text_val(d, out);
        }
        out.push_str(" }\n");
    }
    out.push_str("\t}\n");
}

impl Table {
    /// The table as an `nft -f` file that atomically replaces any previous version of it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "table {} {} {{}}", self.family, self.name);
        let _ = writeln!(out, "delete table {} {}", self.family, self.name);
        let _ = writeln!(out, "table {} {} {{", self.family, self.name);
        for c in &self.counters {
            match self.counter_values.get(c) {
                Some((p, b)) => {
                    let _ = writeln!(out, "\tcounter {c} {{ packets {p} bytes {b} }}");
                }
                None => {
                    let _ = writeln!(out, "\tcounter {c} {{}}");
                }
            }
        }
        for s in &self.sets {
            text_set(s, &mut out);
        }
        for f in &self.flowtables {
            let devices: Vec<String> = f.devices.iter().map(|d| format!("\"{d}\"")).collect();
            let _ = writeln!(
                out,
                "\tflowtable {} {{\n\t\thook ingress priority {}; devices = {{ {} }};\n\t}}",
                f.name,
                f.prio,
                devices.join(", ")
            );
        }
        for c in &self.chains {
            let _ = writeln!(out, "\tchain {} {{", c.name);
            if let Some(b) = &c.base {
                let _ = writeln!(
                    out,
                    "\t\ttype {} hook {} priority {}; policy {};",
                    b.kind, b.hook, b.prio_name, b.policy
                );
            }
            for r in &c.rules {
                let _ = writeln!(out, "\t\t{}", text_rule(r));
            }
            out.push_str("\t}\n");
        }
        out.push_str("}\n");
        out
    }

    /// The table as libnftables JSON commands that atomically replace any previous
    /// version of it.
    pub fn to_json(&self) -> Value {
        let (fam, tab) = (self.family, self.name.as_str());
        let mut cmds = vec![
            json!({"metainfo": {"json_schema_version": 1}}),
            json!({"add": {"table": {"family": fam, "name": tab}}}),
            json!({"delete": {"table": {"family": fam, "name": tab}}}),
            json!({"add": {"table": {"family": fam, "name": tab}}}),
        ];
        for c in &self.counters {
            let mut o = json!({"family": fam, "table": tab, "name": c});
            if let Some((p, b)) = self.counter_values.get(c) {
                o["packets"] = json!(p);
                o["bytes"] = json!(b);
            }
            cmds.push(json!({"add": {"counter": o}}));
        }
        for f in &self.flowtables {
            cmds.push(json!({"add": {"flowtable": json_flowtable(fam, tab, f)}}));
        }
        // Chains before sets: verdict maps name chains.
        for c in &self.chains {
            let mut o = json!({"family": fam, "table": tab, "name": c.name});
            if let Some(b) = &c.base {
                o["type"] = json!(b.kind);
                o["hook"] = json!(b.hook);
                o["prio"] = json!(b.prio);
                o["policy"] = json!(b.policy);
            }
            cmds.push(json!({"add": {"chain": o}}));
        }
        for s in &self.sets {
            cmds.push(json!({"add": {(if s.data.is_some() { "map" } else { "set" }): json_set(fam, tab, s)}}));
        }
        for c in &self.chains {
            for r in &c.rules {
                cmds.push(json!({"add": {"rule": json_rule(fam, tab, &c.name, r)}}));
            }
        }
        json!({ "nftables": cmds })
    }
}

fn json_flowtable(fam: &str, tab: &str, f: &Flowtable) -> Value {
    json!({"family": fam, "table": tab, "name": f.name, "hook": "ingress", "prio": f.prio, "dev": f.devices})
}

pub(crate) fn json_set(fam: &str, tab: &str, s: &Set) -> Value {
    let mut o = json!({"family": fam, "table": tab, "name": s.name});
    o["type"] = if s.key.len() == 1 {
        json!(s.key[0])
    } else {
        json!(s.key)
    };
    if let Some(d) = s.data {
        o["map"] = json!(d);
    }
    let flags = s.flags();
    if !flags.is_empty() {
        o["flags"] = json!(flags);
    }
    if let Some(t) = s.dynamic_timeout {
        o["timeout"] = json!(t);
    }
    if let Some(n) = s.size {
        o["size"] = json!(n);
    }
    if !s.elems.is_empty() {
        o["elem"] = Value::Array(s.elems.iter().map(json_val).collect());
    }
    if !s.map_elems.is_empty() {
        o["elem"] = Value::Array(
            s.map_elems
                .iter()
                .map(|(k, d)| json!([json_val(k), json_val(d)]))
                .collect(),
        );
    }
    o
}

fn json_expr(e: &Expr) -> Value {
    match e {
        Expr::Payload(p, f) => json!({"payload": {"protocol": p, "field": f}}),
        Expr::Meta(k) => json!({"meta": {"key": k}}),
        Expr::Ct(k) => json!({"ct": {"key": k}}),
        Expr::Concat(v) => json!({"concat": v.iter().map(json_expr).collect::<Vec<_>>()}),
        Expr::Numgen(m) => json!({"numgen": {"mode": "random", "mod": m, "offset": 0}}),
        Expr::FibDaddrType => json!({"fib": {"result": "type", "flags": ["daddr"]}}),
    }
}

pub(crate) fn json_val(v: &Val) -> Value {
    match v {
        Val::Sym(s) | Val::Str(s) => json!(s),
        Val::Num(n) => json!(n),
        Val::Prefix(a, l) => json!({"prefix": {"addr": a, "len": l}}),
        Val::Range(a, b) => json!({"range": [json_val(a), json_val(b)]}),
        Val::Concat(v) => json!({"concat": v.iter().map(json_val).collect::<Vec<_>>()}),
        Val::SetRef(s) => json!(format!("@{s}")),
        Val::Set(v) => json!({"set": v.iter().map(json_val).collect::<Vec<_>>()}),
        Val::Flags(f) => {
            if f.len() == 1 {
                json!(f[0])
            } else {
                json!(f)
            }
        }
        Val::Jump(c) => json!({"jump": {"target": c}}),
        Val::Verdict(v) => json!({ *v: null }),
    }
}

pub(crate) fn json_rule(fam: &str, tab: &str, chain: &str, stmts: &[Stmt]) -> Value {
    let expr: Vec<Value> = stmts
        .iter()
        .map(|s| match s {
            Stmt::Match(e, v) => json!({"match": {"op": "==", "left": json_expr(e), "right": json_val(v)}}),
            Stmt::In(e, v) => json!({"match": {"op": "in", "left": json_expr(e), "right": json_val(v)}}),
            Stmt::Counter(n) => json!({ "counter": n }),
            Stmt::Accept => json!({"accept": null}),
            Stmt::Drop => json!({"drop": null}),
            Stmt::Reject => json!({"reject": null}),
            Stmt::Jump(c) => json!({"jump": {"target": c}}),
            Stmt::Log(p) => json!({"log": {"prefix": p}}),
            Stmt::Limit { rate, per, over } => {
                let mut l = json!({"rate": rate, "per": per});
                if *over {
                    l["inv"] = json!(true);
                }
                json!({ "limit": l })
            }
            Stmt::SetLimit { set, key, rate, per } => json!({"set": {
                "op": "add", "elem": json_expr(key), "set": format!("@{set}"),
                "stmt": [{"limit": {"rate": rate, "per": per, "inv": true}}]
            }}),
            Stmt::Vmap(e, m) => json!({"vmap": {"key": json_expr(e), "data": format!("@{m}")}}),
            Stmt::Dnat { family, addr, port } => {
                let mut d = json!({"family": family, "addr": addr});
                if let Some(p) = port {
                    d["port"] = json!(p);
                }
                json!({ "dnat": d })
            }
            Stmt::DnatMap { family, key, map } => json!({"dnat": {"family": family, "addr": {"map": {
                "key": json_expr(key),
                "data": {"set": map.iter().map(|(k, d)| json!([json_val(k), json_val(d)])).collect::<Vec<_>>()}
            }}}}),
            Stmt::Snat { family, addr } => json!({"snat": {"family": family, "addr": addr}}),
            Stmt::Masquerade => json!({"masquerade": null}),
            Stmt::FlowAdd(f) => json!({"flow": {"op": "add", "flowtable": format!("@{f}")}}),
        })
        .collect();
    json!({"family": fam, "table": tab, "chain": chain, "expr": expr})
}

// ---- streaming JSON --------------------------------------------------------------
//
// The same JSON as `Table::to_json`, written straight into a string: a ruleset with
// 100,000 set elements would otherwise build a million small `Value`s.

fn w_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes each of `items` with `f`, `sep` between two.
fn joined<T>(out: &mut String, items: &[T], sep: &str, mut f: impl FnMut(&mut String, &T)) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        f(out, x);
    }
}

fn w_list<T>(out: &mut String, items: &[T], f: impl FnMut(&mut String, &T)) {
    out.push('[');
    joined(out, items, ",", f);
    out.push(']');
}

fn w_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Payload(p, f) => {
            out.push_str("{\"payload\":{\"protocol\":");
            w_str(out, p);
            out.push_str(",\"field\":");
            w_str(out, f);
            out.push_str("}}");
        }
        Expr::Meta(k) => {
            out.push_str("{\"meta\":{\"key\":");
            w_str(out, k);
            out.push_str("}}");
        }
        Expr::Ct(k) => {
            out.push_str("{\"ct\":{\"key\":");
            w_str(out, k);
            out.push_str("}}");
        }
        Expr::Concat(v) => {
            out.push_str("{\"concat\":");
            w_list(out, v, w_expr);
            out.push('}');
        }
        Expr::Numgen(m) => {
            let _ = write!(
                out,
                "{{\"numgen\":{{\"mode\":\"random\",\"mod\":{m},\"offset\":0}}}}"
            );
        }
        Expr::FibDaddrType => out.push_str("{\"fib\":{\"result\":\"type\",\"flags\":[\"daddr\"]}}"),
    }
}

fn w_val(out: &mut String, v: &Val) {
    match v {
        Val::Sym(s) | Val::Str(s) => w_str(out, s),
        Val::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Val::Prefix(a, l) => {
            out.push_str("{\"prefix\":{\"addr\":");
            w_str(out, a);
            let _ = write!(out, ",\"len\":{l}}}}}");
        }
        Val::Range(a, b) => {
            out.push_str("{\"range\":[");
            w_val(out, a);
            out.push(',');
            w_val(out, b);
            out.push_str("]}");
        }
        Val::Concat(v) => {
            out.push_str("{\"concat\":");
            w_list(out, v, w_val);
            out.push('}');
        }
        Val::SetRef(s) => w_str(out, &format!("@{s}")),
        Val::Set(v) => {
            out.push_str("{\"set\":");
            w_list(out, v, w_val);
            out.push('}');
        }
        Val::Flags(f) => {
            if f.len() == 1 {
                w_str(out, f[0]);
            } else {
                w_list(out, f, |o, x| w_str(o, x));
            }
        }
        Val::Jump(c) => {
            out.push_str("{\"jump\":{\"target\":");
            w_str(out, c);
            out.push_str("}}");
        }
        Val::Verdict(v) => {
            out.push('{');
            w_str(out, v);
            out.push_str(":null}");
        }
    }
}

fn w_pair(out: &mut String, (k, d): &(Val, Val)) {
    out.push('[');
    w_val(out, k);
    out.push(',');
    w_val(out, d);
    out.push(']');
}

fn w_stmt(out: &mut String, s: &Stmt) {
    match s {
        Stmt::Match(e, v) | Stmt::In(e, v) => {
            let op = if matches!(s, Stmt::Match(..)) {
                "=="
            } else {
                "in"
            };
            let _ = write!(out, "{{\"match\":{{\"op\":\"{op}\",\"left\":");
            w_expr(out, e);
            out.push_str(",\"right\":");
            w_val(out, v);
            out.push_str("}}");
        }
        Stmt::Counter(n) => {
            out.push_str("{\"counter\":");
            w_str(out, n);
            out.push('}');
        }
        Stmt::Accept => out.push_str("{\"accept\":null}"),
        Stmt::Drop => out.push_str("{\"drop\":null}"),
        Stmt::Reject => out.push_str("{\"reject\":null}"),
        Stmt::Jump(c) => {
            out.push_str("{\"jump\":{\"target\":");
            w_str(out, c);
            out.push_str("}}");
        }
        Stmt::Log(p) => {
            out.push_str("{\"log\":{\"prefix\":");
            w_str(out, p);
            out.push_str("}}");
        }
        Stmt::Limit { rate, per, over } => {
            let _ = write!(out, "{{\"limit\":{{\"rate\":{rate},\"per\":\"{per}\"");
            if *over {
                out.push_str(",\"inv\":true");
            }
            out.push_str("}}");
        }
        Stmt::SetLimit {
            set,
            key,
            rate,
            per,
        } => {
            out.push_str("{\"set\":{\"op\":\"add\",\"elem\":");
            w_expr(out, key);
            out.push_str(",\"set\":");
            w_str(out, &format!("@{set}"));
            let _ = write!(
                out,
                ",\"stmt\":[{{\"limit\":{{\"rate\":{rate},\"per\":\"{per}\",\"inv\":true}}}}]}}}}"
            );
        }
        Stmt::Vmap(e, m) => {
            out.push_str("{\"vmap\":{\"key\":");
            w_expr(out, e);
            out.push_str(",\"data\":");
            w_str(out, &format!("@{m}"));
            out.push_str("}}");
        }
        Stmt::Dnat { family, addr, port } => {
            out.push_str("{\"dnat\":{\"family\":");
            w_str(out, family);
            out.push_str(",\"addr\":");
            w_str(out, addr);
            if let Some(p) = port {
                let _ = write!(out, ",\"port\":{p}");
            }
            out.push_str("}}");
        }
        Stmt::DnatMap { family, key, map } => {
            out.push_str("{\"dnat\":{\"family\":");
            w_str(out, family);
            out.push_str(",\"addr\":{\"map\":{\"key\":");
            w_expr(out, key);
            out.push_str(",\"data\":{\"set\":");
            w_list(out, map, w_pair);
            out.push_str("}}}}}");
        }
        Stmt::Snat { family, addr } => {
            out.push_str("{\"snat\":{\"family\":");
            w_str(out, family);
            out.push_str(",\"addr\":");
            w_str(out, addr);
            out.push_str("}}");
        }
        Stmt::Masquerade => out.push_str("{\"masquerade\":null}"),
        Stmt::FlowAdd(f) => {
            out.push_str("{\"flow\":{\"op\":\"add\",\"flowtable\":");
            w_str(out, &format!("@{f}"));
            out.push_str("}}");
        }
    }
}

fn w_head(out: &mut String, fam: &str, tab: &str) {
    out.push_str("\"family\":");
    w_str(out, fam);
    out.push_str(",\"table\":");
    w_str(out, tab);
}

impl Table {
    /// [`Table::to_json`] as compact JSON text, written without building a `Value`.
    pub fn to_json_string(&self) -> String {
        let (fam, tab) = (self.family, self.name.as_str());
        let mut out = String::with_capacity(1 << 16);
        out.push_str("{\"nftables\":[{\"metainfo\":{\"json_schema_version\":1}}");
        for op in ["add", "delete", "add"] {
            let _ = write!(out, ",{{\"{op}\":{{\"table\":{{\"family\":");
            w_str(&mut out, fam);
            out.push_str(",\"name\":");
            w_str(&mut out, tab);
            out.push_str("}}}");
        }
        for c in &self.counters {
            out.push_str(",{\"add\":{\"counter\":{");
            w_head(&mut out, fam, tab);
            out.push_str(",\"name\":");
            w_str(&mut out, c);
            if let Some((p, b)) = self.counter_values.get(c) {
                let _ = write!(out, ",\"packets\":{p},\"bytes\":{b}");
            }
            out.push_str("}}}");
        }
        for f in &self.flowtables {
            out.push_str(",{\"add\":{\"flowtable\":{");
            w_head(&mut out, fam, tab);
            out.push_str(",\"name\":");
            w_str(&mut out, &f.name);
            let _ = write!(out, ",\"hook\":\"ingress\",\"prio\":{},\"dev\":", f.prio);
            w_list(&mut out, &f.devices, |o, d| w_str(o, d));
            out.push_str("}}}");
        }
        // Chains before sets: verdict maps name chains.
        for c in &self.chains {
            out.push_str(",{\"add\":{\"chain\":{");
            w_head(&mut out, fam, tab);
            out.push_str(",\"name\":");
            w_str(&mut out, &c.name);
            if let Some(b) = &c.base {
                let _ = write!(
                    out,
                    ",\"type\":\"{}\",\"hook\":\"{}\",\"prio\":{},\"policy\":\"{}\"",
                    b.kind, b.hook, b.prio, b.policy
                );
            }
            out.push_str("}}}");
        }
        for s in &self.sets {
            let kw = if s.data.is_some() { "map" } else { "set" };
            let _ = write!(out, ",{{\"add\":{{\"{kw}\":{{");
            w_head(&mut out, fam, tab);
            out.push_str(",\"name\":");
            w_str(&mut out, &s.name);
            out.push_str(",\"type\":");
            if s.key.len() == 1 {
                w_str(&mut out, s.key[0]);
            } else {
                w_list(&mut out, &s.key, |o, k| w_str(o, k));
            }
            if let Some(d) = s.data {
                out.push_str(",\"map\":");
                w_str(&mut out, d);
            }
            let flags = s.flags();
            if !flags.is_empty() {
                out.push_str(",\"flags\":");
                w_list(&mut out, &flags, |o, k| w_str(o, k));
            }
            if let Some(t) = s.dynamic_timeout {
                let _ = write!(out, ",\"timeout\":{t}");
            }
            if let Some(n) = s.size {
                let _ = write!(out, ",\"size\":{n}");
            }
            if !s.elems.is_empty() {
                out.push_str(",\"elem\":");
                w_list(&mut out, &s.elems, w_val);
            }
            if !s.map_elems.is_empty() {
                out.push_str(",\"elem\":");
                w_list(&mut out, &s.map_elems, w_pair);
            }
            out.push_str("}}}");
        }
        for c in &self.chains {
            for r in &c.rules {
                out.push_str(",{\"add\":{\"rule\":{");
                w_head(&mut out, fam, tab);
                out.push_str(",\"chain\":");
                w_str(&mut out, &c.name);
                out.push_str(",\"expr\":");
                w_list(&mut out, r, w_stmt);
                out.push_str("}}}");
            }
        }
        out.push_str("]}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_json_escapes_strings() {
        let mut s = String::new();
        w_str(&mut s, "a\"b\\c\n");
        assert_eq!(s, r#""a\"b\\c\u000a""#);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v, json!("a\"b\\c\n"));
    }
}
