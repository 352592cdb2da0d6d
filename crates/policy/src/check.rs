//! Reading and validating a policy document: TOML in, [`Policy`] and every diagnostic out.
//!
//! The document is parsed with spans (`toml::de::DeTable`), so each problem points at the
//! exact key or value. Reading never stops at the first problem: every table is read,
//! every name resolved, and all problems are reported together.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::addr::{self, Family, IpRange, IpSet, PortRange};
use crate::diag::{Diagnostic, Sink};
use crate::model::*;

type Span = Range<usize>;
type V<'i> = Spanned<DeValue<'i>>;

/// Contents of the external address lists named in `[lists]`, supplied by the caller
/// (the crate reads no files). Build entries with [`parse_list`].
pub type Lists = BTreeMap<String, IpSet>;

/// The result of checking a document: the policy when there are no errors, and all
/// diagnostics (errors and warnings) in document order.
#[derive(Debug)]
pub struct Checked {
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
}

/// An external list declared by the document, with the file it names (relative to the
/// policy file), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListDecl {
    pub name: String,
    pub file: Option<String>,
}

/// The external lists a document declares (best effort: an unreadable document declares
/// none; [`check`] reports why).
pub fn declared_lists(src: &str) -> Vec<ListDecl> {
    let (doc, _) = DeTable::parse_recoverable(src);
    let mut out = Vec::new();
    if let Some(lists) = get(doc.get_ref(), "lists").and_then(|v| as_table(v)) {
        for (k, v) in lists.iter() {
            let file = match v.get_ref() {
                DeValue::String(s) => Some(s.to_string()),
                DeValue::Table(t) => {
                    get(t, "file").and_then(|f| f.get_ref().as_str().map(String::from))
                }
                _ => None,
            };
            out.push(ListDecl {
                name: k.get_ref().to_string(),
                file,
            });
        }
    }
    out
}

/// Parses an external list: one address, CIDR or range per line; `#` starts a comment.
/// Errors carry the 1-based line number.
pub fn parse_list(text: &str) -> Result<IpSet, Vec<(usize, String)>> {
    let mut ranges = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match addr::parse_range(line) {
            Ok(r) => ranges.push(r),
            Err(e) => errors.push((i + 1, e.to_string())),
        }
    }
    if errors.is_empty() {
        Ok(IpSet::from_ranges(ranges))
    } else {
        Err(errors)
    }
}

/// Checks a policy document: parses it, resolves every name, and validates it.
pub fn check(src: &str, lists: &Lists) -> Checked {
    check_with(src, &mut |decl: &ListDecl| {
        Ok(lists.get(&decl.name).cloned())
    })
}

/// Where the contents of the external lists come from: called once per list the
/// document declares; `Ok(None)` means "not supplied" (a warning, the list is empty),
/// `Err(message)` becomes an error at the list's declaration (e.g. an unreadable file).
pub type ListSource<'f> = dyn FnMut(&ListDecl) -> Result<Option<IpSet>, String> + 'f;

/// Like [`check`], with list contents supplied on demand (the binary reads each list's
/// `file` here, so the document is parsed once).
pub fn check_with(src: &str, lists: &mut ListSource<'_>) -> Checked {
    let mut cx = Cx {
        s: Sink::new(src),
        addrs: HashMap::new(),
        svc_defs: HashMap::new(),
        svc_cache: HashMap::new(),
        zones: BTreeSet::new(),
        resolving: BTreeSet::new(),
        resolving_svc: BTreeSet::new(),
        used_svc: HashSet::new(),
    };
    let (doc, errors) = DeTable::parse_recoverable(src);
    for e in &errors {
        let span = e.span().unwrap_or(0..0);
        cx.s.error(
            span,
            format!("not valid TOML: {}", e.message().trim()),
            "see https://toml.io for the syntax",
        );
    }
    let policy = if errors.is_empty() {
        cx.document(doc.get_ref(), lists)
    } else {
        None
    };
    let mut diagnostics = cx.s.diags;
    diagnostics.sort_by_key(|d| (d.span.start, d.severity));
    let has_errors = diagnostics.iter().any(|d| d.is_error());
    Checked {
        policy: if has_errors { None } else { policy },
        diagnostics,
    }
}

pub(crate) fn get<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a V<'i>> {
    t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

pub(crate) fn as_table<'a, 'i>(v: &'a V<'i>) -> Option<&'a DeTable<'i>> {
    match v.get_ref() {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

fn kind(v: &DeValue) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic())
        && n.len() <= 63
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
}

fn valid_zone(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_lowercase())
        && n.len() <= 31
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
}

fn valid_ifname(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 15
        && n.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' || ch == '.')
}

// Allowed keys of each table; `policy.schema.json` must list the same (a test checks).
pub(crate) const KEYS_POLICY: &[&str] = &[
    "interfaces",
    "management",
    "addresses",
    "address_groups",
    "lists",
    "services",
    "service_groups",
    "defaults",
    "rules",
    "nat",
    "load_balancers",
    "options",
];
pub(crate) const KEYS_OPTIONS: &[&str] = &["fast_path"];
pub(crate) const KEYS_INTERFACE: &[&str] = &["zone", "addresses", "default_route"];
pub(crate) const KEYS_LIST: &[&str] = &["file", "comment"];
pub(crate) const KEYS_MANAGEMENT: &[&str] = &["center"];
pub(crate) const KEYS_RULE: &[&str] = &[
    "name",
    "from",
    "to",
    "source",
    "destination",
    "service",
    "action",
    "log",
    "rate_limit",
    "comment",
    "enabled",
];
pub(crate) const KEYS_LOG: &[&str] = &["prefix", "rate"];
pub(crate) const KEYS_NAT: &[&str] = &["masquerade", "snat", "port_forwards", "one_to_one"];
pub(crate) const KEYS_SNAT: &[&str] = &["zone", "source", "to"];
pub(crate) const KEYS_PORT_FORWARD: &[&str] = &[
    "name",
    "zone",
    "protocol",
    "destination",
    "port",
    "source",
    "to",
    "to_port",
];
pub(crate) const KEYS_ONE_TO_ONE: &[&str] = &["zone", "public", "private"];
pub(crate) const KEYS_LOAD_BALANCER: &[&str] = &[
    "name", "zone", "protocol", "address", "port", "backends", "health",
];
pub(crate) const KEYS_BACKEND: &[&str] = &["address", "port", "weight"];
pub(crate) const KEYS_HEALTH: &[&str] = &["check", "interval", "port", "path", "expect_status"];

/// Deepest nesting of groups (bounds the reader's recursion).
const MAX_NESTING: usize = 64;

const RESERVED: &[&str] = &["any", "self", "tcp", "udp", "icmp", "icmpv6"];

/// One address name: its definition, its resolved set (`None` until resolved,
/// `Some(None)` while being resolved (cycle detection) or when broken), and whether
/// anything referred to it (lists are resolved unreferenced). One map, so resolving a
/// name costs one lookup.
struct AddrEntry<'a, 'i> {
    def: AddrDef<'a, 'i>,
    set: Option<Option<Arc<IpSet>>>,
    used: bool,
}

#[derive(Clone)]
enum AddrDef<'a, 'i> {
    Addresses(Span, &'a V<'i>),
    Group(Span, &'a V<'i>),
    List(Span),
}

#[derive(Clone)]
enum SvcDef<'a, 'i> {
    Service(Span, &'a V<'i>),
    Group(Span, &'a V<'i>),
}

struct Cx<'s, 'a, 'i> {
    s: Sink<'s>,
    /// Address objects, groups and lists by name, with their resolution.
    addrs: HashMap<String, AddrEntry<'a, 'i>>,
    svc_defs: HashMap<String, SvcDef<'a, 'i>>,
    svc_cache: HashMap<String, Option<ServiceSet>>,
    zones: BTreeSet<String>,
    resolving: BTreeSet<String>,
    resolving_svc: BTreeSet<String>,
    used_svc: HashSet<String>,
}

/// A value that is a string or an array of strings, with spans.
type Strs = Vec<(String, Span)>;

impl<'s, 'a, 'i> Cx<'s, 'a, 'i> {
    // ---- typed readers -------------------------------------------------------------

    fn keys(&mut self, t: &DeTable, allowed: &[&str], what: &str) {
        for (k, _) in t.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                self.s.error(
                    k.span(),
                    format!("unknown key `{}` in {what}", k.get_ref()),
                    &format!("allowed keys: {}", allowed.join(", ")),
                );
            }
        }
    }

    fn table(&mut self, v: &'a V<'i>, what: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.s.error(
                    v.span(),
                    format!("{what} must be a table, found {}", kind(other)),
                    "",
                );
                None
            }
        }
    }

    fn string(&mut self, v: &V, what: &str) -> Option<(String, Span)> {
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span())),
            other => {
                self.s.error(
                    v.span(),
                    format!("{what} must be a string, found {}", kind(other)),
                    "",
                );
                None
            }
        }
    }

    fn strings(&mut self, v: &V, what: &str) -> Strs {
        match v.get_ref() {
            DeValue::String(s) => vec![(s.to_string(), v.span())],
            DeValue::Array(a) => {
                let mut out = Vec::new();
                for e in a.iter() {
                    if let Some(x) = self.string(e, what) {
                        out.push(x);
                    }
                }
                out
            }
            other => {
                self.s.error(
                    v.span(),
                    format!(
                        "{what} must be a string or an array of strings, found {}",
                        kind(other)
                    ),
                    "",
                );
                vec![]
            }
        }
    }

    fn bool(&mut self, v: &V, what: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.s.error(
                    v.span(),
                    format!("{what} must be true or false, found {}", kind(other)),
                    "",
                );
                None
            }
        }
    }

    fn int(&mut self, v: &V, what: &str, lo: i64, hi: i64) -> Option<i64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => {
                i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok()
            }
            _ => None,
        };
        match n {
            Some(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                self.s.error(
                    v.span(),
                    format!("{what} must be an integer from {lo} to {hi}"),
                    "",
                );
                None
            }
        }
    }

    fn port_value(&mut self, v: &V, what: &str) -> Option<PortRange> {
        match v.get_ref() {
            DeValue::Integer(_) => {
                let p = self.int(v, what, 1, 65535)? as u16;
                Some(PortRange { lo: p, hi: p })
            }
            DeValue::String(s) => match addr::parse_ports(s) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.s.error(
                        v.span(),
                        format!("bad {what}: {e}"),
                        "write 443 or \"8000-8099\"",
                    );
                    None
                }
            },
            other => {
                self.s.error(
                    v.span(),
                    format!(
                        "{what} must be a port number or a range string, found {}",
                        kind(other)
                    ),
                    "",
                );
                None
            }
        }
    }

    fn required(
        &mut self,
        t: &'a DeTable<'i>,
        span: &Span,
        key: &str,
        what: &str,
    ) -> Option<&'a V<'i>> {
        let v = get(t, key);
        if v.is_none() {
            self.s.error(
                span.clone(),
                format!("{what} has no `{key}`"),
                &format!("add `{key} = ...`"),
            );
        }
        v
    }

    /// The required `name` of an item (`the`: "the port forward"), which must be a valid
    /// name not already in `names` (`kind` names the list in the duplicate error). A bad
    /// name is reported and still returned, so that the item's other errors show too.
    fn item_name(
        &mut self,
        t: &'a DeTable<'i>,
        span: &Span,
        the: &str,
        kind: &str,
        names: &mut HashMap<String, Span>,
    ) -> Option<(String, Span)> {
        let name = self
            .required(t, span, "name", the)
            .and_then(|n| self.string(n, "`name`"));
        if let Some((n, s)) = &name {
            if !valid_name(n) {
                self.s.error(
                    s.clone(),
                    format!("`{n}` is not a valid name"),
                    "start with a letter; letters, digits, `_` and `-`",
                );
            } else if names.insert(n.clone(), s.clone()).is_some() {
                self.s
                    .error(s.clone(), format!("duplicate {kind} name `{n}`"), "");
            }
        }
        name
    }

    /// The required `zone` of an item (`the`: "the SNAT rule"), which must be a zone of
    /// the policy other than `self`.
    fn item_zone(&mut self, t: &'a DeTable<'i>, span: &Span, the: &str) -> Option<(String, Span)> {
        self.required(t, span, "zone", the)
            .and_then(|z| self.string(z, "`zone`"))
            .filter(|(z, s)| self.zone_ref(z, s.clone(), false))
    }

    fn zone_ref(&mut self, name: &str, span: Span, allow_self: bool) -> bool {
        if allow_self && name == SELF_ZONE || self.zones.contains(name) {
            return true;
        }
        let mut known: Vec<&str> = self.zones.iter().map(String::as_str).collect();
        if allow_self {
            known.push(SELF_ZONE);
        }
        let owned: Vec<String> = known.iter().map(|k| k.to_string()).collect();
        let near = closest(name, owned.iter())
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        self.s.error(
            span,
            format!("unknown zone `{name}`"),
            &format!(
                "{near}zones come from [interfaces]; known zones: {}",
                if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                }
            ),
        );
        false
    }

    // ---- the document --------------------------------------------------------------

    fn document(&mut self, doc: &'a DeTable<'i>, lists: &mut ListSource<'_>) -> Option<Policy> {
        self.keys(doc, KEYS_POLICY, "the policy");
        let interfaces = self.interfaces(get(doc, "interfaces"));
        self.declare_objects(doc);
        self.lists(doc, lists);
        let management = self.management(get(doc, "management"));
        let (defaults, default_action) = self.defaults(get(doc, "defaults"));
        let rules = self.rules(get(doc, "rules"));
        let nat = get(doc, "nat").map(|v| self.nat(v, &interfaces));
        let load_balancers = self.load_balancers(get(doc, "load_balancers"));
        let fast_path = self.options(get(doc, "options"));
        self.unused_objects();
        // Everything resolved: build the object table for shared sets.
        // Lists are in the cache too (resolved when declared); collecting a sorted
        // vector builds the map in one pass.
        let mut v: Vec<(String, Arc<IpSet>)> = self
            .addrs
            .drain()
            .filter_map(|(name, e)| e.set.flatten().map(|s| (name, s)))
            .collect();
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let objects: BTreeMap<String, Arc<IpSet>> = v.into_iter().collect();
        let (masquerade, snat, port_forwards, one_to_one) = nat.unwrap_or_default();
        let policy = Policy {
            zones: self.zones.iter().cloned().collect(),
            interfaces,
            management: management?,
            rules,
            defaults,
            default_action,
            masquerade,
            snat,
            port_forwards,
            one_to_one,
            load_balancers,
            fast_path,
            objects,
        };
        Some(policy)
    }

    /// `[options]`: returns `fast_path` (default true).
    fn options(&mut self, v: Option<&'a V<'i>>) -> bool {
        let Some(t) = v.and_then(|v| self.table(v, "[options]")) else {
            return true;
        };
        self.keys(t, KEYS_OPTIONS, "[options]");
        get(t, "fast_path")
            .and_then(|v| self.bool(v, "`fast_path`"))
            .unwrap_or(true)
    }

    fn interfaces(&mut self, v: Option<&'a V<'i>>) -> Vec<Interface> {
        let Some(v) = v else {
            self.s.error(
                0..0,
                "the policy has no [interfaces]",
                "map each interface to a zone, e.g. [interfaces] lan0 = \"lan\"",
            );
            return vec![];
        };
        let Some(t) = self.table(v, "[interfaces]") else {
            return vec![];
        };
        let mut out = Vec::new();
        let mut default_routes = Vec::new();
        for (k, v) in t.iter() {
            let name = k.get_ref().to_string();
            if !valid_ifname(&name) {
                self.s.error(
                    k.span(),
                    format!("`{name}` is not a valid interface name"),
                    "up to 15 letters, digits, `_`, `-` or `.`",
                );
            }
            let mut iface = Interface {
                name,
                zone: String::new(),
                addresses: vec![],
                networks: vec![],
                default_route: false,
            };
            let zone = match v.get_ref() {
                DeValue::String(_) => self.string(v, "the zone"),
                DeValue::Table(it) => {
                    self.keys(it, KEYS_INTERFACE, "an interface");
                    if let Some(a) = get(it, "addresses") {
                        for (text, span) in self.strings(a, "`addresses`") {
                            match addr::parse_iface_net(&text) {
                                Ok((ip, net)) => {
                                    iface.addresses.push(ip);
                                    iface.networks.push(net);
                                }
                                Err(e) => self.s.error(
                                    span,
                                    format!("bad interface address: {e}"),
                                    "write the gateway's address with its prefix, e.g. \"192.0.2.1/24\"",
                                ),
                            }
                        }
                    }
                    if let Some(d) = get(it, "default_route") {
                        iface.default_route = self.bool(d, "`default_route`").unwrap_or(false);
                        if iface.default_route {
                            default_routes.push(d.span());
                        }
                    }
                    let span = v.span();
                    self.required(it, &span, "zone", "the interface")
                        .and_then(|z| self.string(z, "`zone`"))
                }
                other => {
                    self.s.error(
                        v.span(),
                        format!("an interface must be a zone name or a table, found {}", kind(other)),
                        "write lan0 = \"lan\" or lan0 = { zone = \"lan\", addresses = [\"192.0.2.1/24\"] }",
                    );
                    None
                }
            };
            if let Some((z, span)) = zone {
                if !valid_zone(&z) || z == SELF_ZONE || z == "any" {
                    self.s.error(
                        span,
                        format!("`{z}` is not a valid zone name"),
                        "lower-case letters, digits and `-`, starting with a letter; `self` and `any` are reserved",
                    );
                } else {
                    self.zones.insert(z.clone());
                    iface.zone = z;
                    out.push(iface);
                }
            }
        }
        if default_routes.len() > 1 {
            for span in default_routes.into_iter().skip(1) {
                self.s.error(
                    span,
                    "more than one interface has `default_route = true`",
                    "keep one",
                );
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn declare(&mut self, name: &str, span: Span, svc: bool) -> bool {
        if !valid_name(name) || RESERVED.contains(&name) {
            self.s.error(
                span,
                format!("`{name}` is not a valid object name"),
                "start with a letter; letters, digits, `_` and `-`; up to 63; not any, self, tcp, udp, icmp, icmpv6",
            );
            return false;
        }
        let taken = if svc {
            self.svc_defs.get(name).map(|d| match d {
                SvcDef::Service(s, _) | SvcDef::Group(s, _) => s.clone(),
            })
        } else {
            self.addrs.get(name).map(|e| match &e.def {
                AddrDef::Addresses(s, _) | AddrDef::Group(s, _) | AddrDef::List(s) => s.clone(),
            })
        };
        if let Some(first) = taken {
            let (line, col) = self.s.line_col(first.start);
            self.s.error(
                span,
                format!("duplicate name `{name}`"),
                &format!("first defined at {line}:{col}; names of addresses, groups and lists share one namespace, as do services and service groups"),
            );
            return false;
        }
        true
    }

    fn declare_objects(&mut self, doc: &'a DeTable<'i>) {
        for (section, svc, group) in [
            ("addresses", false, false),
            ("address_groups", false, true),
            ("services", true, false),
            ("service_groups", true, true),
        ] {
            let Some(v) = get(doc, section) else { continue };
            let Some(t) = self.table(v, &format!("[{section}]")) else {
                continue;
            };
            for (k, v) in t.iter() {
                let name = k.get_ref().to_string();
                if !self.declare(&name, k.span(), svc) {
                    continue;
                }
                let span = k.span();
                if svc {
                    let d = if group {
                        SvcDef::Group(span, v)
                    } else {
                        SvcDef::Service(span, v)
                    };
                    self.svc_defs.insert(name, d);
                } else {
                    let d = if group {
                        AddrDef::Group(span, v)
                    } else {
                        AddrDef::Addresses(span, v)
                    };
                    self.addrs.insert(
                        name,
                        AddrEntry {
                            def: d,
                            set: None,
                            used: false,
                        },
                    );
                }
            }
        }
    }

    /// Declares the external lists and resolves their contents (into the cache).
    fn lists(&mut self, doc: &'a DeTable<'i>, supplied: &mut ListSource<'_>) {
        let Some(v) = get(doc, "lists") else {
            return;
        };
        let Some(t) = self.table(v, "[lists]") else {
            return;
        };
        for (k, v) in t.iter() {
            let name = k.get_ref().to_string();
            let mut file = None;
            match v.get_ref() {
                DeValue::String(f) => file = Some(f.to_string()),
                DeValue::Table(lt) => {
                    self.keys(lt, KEYS_LIST, "a list");
                    if let Some(f) = get(lt, "file") {
                        file = self.string(f, "`file`").map(|f| f.0);
                    }
                    if let Some(c) = get(lt, "comment") {
                        self.string(c, "`comment`");
                    }
                }
                other => {
                    self.s.error(
                        v.span(),
                        format!(
                            "a list must be a file name or a table, found {}",
                            kind(other)
                        ),
                        "write threats = \"threats.txt\" or threats = { file = \"threats.txt\" }",
                    );
                }
            }
            if !self.declare(&name, k.span(), false) {
                continue;
            }

            let decl = ListDecl {
                name: name.clone(),
                file,
            };
            let set = match supplied(&decl) {
                Ok(Some(s)) => s,
                Err(e) => {
                    self.s.error(
                        k.span(),
                        format!("cannot use list `{name}`: {e}"),
                        "fix the list file: one address, CIDR or range per line, `#` starts a comment",
                    );
                    IpSet::default()
                }
                Ok(None) => {
                    self.s.warning(
                        k.span(),
                        format!("the contents of list `{name}` were not supplied; it is treated as empty"),
                        "give the list a `file`, or pass its contents to the compiler",
                    );
                    IpSet::default()
                }
            };
            self.addrs.insert(
                name,
                AddrEntry {
                    def: AddrDef::List(k.span()),
                    set: Some(Some(Arc::new(set))),
                    used: false,
                },
            );
        }
    }

    // ---- name resolution -----------------------------------------------------------

    /// Resolves one address reference: a literal or a name.
    fn addr_ref(&mut self, text: &str, span: Span) -> Option<Arc<IpSet>> {
        let first = text.chars().next().unwrap_or(' ');
        if first.is_ascii_digit() || text.contains(':') {
            return match addr::parse_range(text) {
                Ok(r) => Some(Arc::new(IpSet::from_ranges([r]))),
                Err(e) => {
                    self.s.error(
                        span,
                        format!("bad address: {e}"),
                        "write a host, CIDR or range, e.g. 192.0.2.0/24",
                    );
                    None
                }
            };
        }
        let def = match self.addrs.get_mut(text) {
            Some(e) => {
                e.used = true;
                if let Some(set) = &e.set {
                    return set.clone();
                }
                e.set = Some(None);
                Some(e.def.clone())
            }
            None => None,
        };
        let Some(def) = def else {
            let hint = if self.svc_defs.contains_key(text) {
                format!("`{text}` is a service, not an address")
            } else if let Some(near) = closest(text, self.addrs.keys()) {
                format!("did you mean `{near}`?")
            } else {
                "declare it under [addresses], [address_groups] or [lists], or write an address"
                    .to_string()
            };
            self.s
                .error(span, format!("unknown address object `{text}`"), &hint);
            return None;
        };
        let result = match def {
            // Lists are resolved when declared, so they are in the cache before any
            // reference; the empty set is the safe answer regardless.
            AddrDef::List(_) => Some(Arc::new(IpSet::default())),
            AddrDef::Addresses(_, v) => {
                let mut ranges = Vec::new();
                let mut ok = true;
                for (t, sp) in self.strings(v, "an address") {
                    match addr::parse_range(&t) {
                        Ok(r) => ranges.push(r),
                        Err(e) => {
                            ok = false;
                            self.s.error(
                                sp,
                                format!("bad address: {e}"),
                                "write a host, CIDR or range, e.g. 192.0.2.0/24",
                            );
                        }
                    }
                }
                ok.then(|| Arc::new(IpSet::from_ranges(ranges)))
            }
            AddrDef::Group(def_span, _) if self.resolving.len() >= MAX_NESTING => {
                self.s.error(
                    def_span,
                    format!("address group `{text}` is nested more than {MAX_NESTING} groups deep"),
                    "flatten the groups",
                );
                None
            }
            AddrDef::Group(def_span, v) => {
                self.resolving.insert(text.to_string());
                let mut set: Option<Vec<Arc<IpSet>>> = Some(Vec::new());
                for (m, sp) in self.strings(v, "a group member") {
                    if self.resolving.contains(&m) {
                        self.s.error(
                            def_span.clone(),
                            format!("address group `{text}` contains itself through `{m}`"),
                            "remove the cycle: a group may not contain itself, directly or through other groups",
                        );
                        set = None;
                        continue;
                    }
                    match (self.addr_ref(&m, sp), set.as_mut()) {
                        (Some(s), Some(acc)) => acc.push(s),
                        _ => set = None,
                    }
                }
                self.resolving.remove(text);
                set.map(|v| Arc::new(IpSet::union_all(v.iter().map(|s| &**s))))
            }
        };
        if let Some(e) = self.addrs.get_mut(text) {
            e.set = Some(result.clone());
        }
        result
    }

    /// A source or destination field: `"any"`, one reference, or an array of them.
    fn addr_match(&mut self, v: Option<&V>, what: &str) -> Option<AddrMatch> {
        let Some(v) = v else {
            return Some(AddrMatch::any());
        };
        let refs = self.strings(v, what);
        if refs.iter().any(|(r, _)| r == "any") {
            if refs.len() > 1 {
                self.s.warning(
                    v.span(),
                    format!("{what} lists `any` with other objects; it matches any address"),
                    "write just \"any\"",
                );
            }
            return Some(AddrMatch::any());
        }
        if refs.is_empty() {
            self.s.error(
                v.span(),
                format!("{what} is empty, so nothing would match"),
                "name at least one object, or write \"any\"",
            );
            return None;
        }
        let mut set: Option<Vec<Arc<IpSet>>> = Some(Vec::new());
        for (r, sp) in &refs {
            match (self.addr_ref(r, sp.clone()), set.as_mut()) {
                (Some(s), Some(acc)) => acc.push(s),
                _ => set = None,
            }
        }
        // One reference shares the object's set; several are merged once.
        let set = set.map(|mut v| {
            if v.len() == 1 {
                v.remove(0)
            } else {
                Arc::new(IpSet::union_all(v.iter().map(|s| &**s)))
            }
        });
        let object = match refs.as_slice() {
            [(name, _)] if self.addrs.contains_key(name) => Some(name.clone()),
            _ => None,
        };
        set.map(|s| AddrMatch {
            set: Some(s),
            object,
        })
    }

    fn svc_atom(&mut self, text: &str, span: Span, out: &mut ServiceSet) -> bool {
        let (proto, rest) = match text.split_once('/') {
            Some((p, r)) => (p, Some(r)),
            None => (text, None),
        };
        match proto {
            "tcp" | "udp" => {
                let l4 = if proto == "tcp" { L4::Tcp } else { L4::Udp };
                let range = match rest {
                    None => PortRange { lo: 0, hi: 65535 },
                    Some(r) => match addr::parse_ports(r) {
                        Ok(r) => r,
                        Err(e) => {
                            self.s.error(
                                span,
                                format!("bad service `{text}`: {e}"),
                                "write tcp/443 or udp/1000-2000",
                            );
                            return false;
                        }
                    },
                };
                out.ports.push((l4, range));
                true
            }
            "icmp" | "icmpv6" => {
                let v6 = proto == "icmpv6";
                let t = match rest {
                    None => None,
                    Some(name) => match addr::icmp_type(v6, name) {
                        Some(t) => Some(t),
                        None => {
                            let table = if v6 {
                                addr::ICMPV6_TYPES
                            } else {
                                addr::ICMP_TYPES
                            };
                            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
                            self.s.error(
                                span,
                                format!("unknown {proto} type `{name}`"),
                                &format!("known types: {}", names.join(", ")),
                            );
                            return false;
                        }
                    },
                };
                if v6 {
                    out.icmpv6.add(t)
                } else {
                    out.icmp.add(t)
                }
                true
            }
            _ => false,
        }
    }

    fn svc_ref(&mut self, text: &str, span: Span) -> Option<ServiceSet> {
        let mut lit = ServiceSet::default();
        if text.contains('/') || ["tcp", "udp", "icmp", "icmpv6"].contains(&text) {
            if self.svc_atom(text, span.clone(), &mut lit) {
                lit.normalise();
                return Some(lit);
            }
            if !text.starts_with("tcp") && !text.starts_with("udp") && !text.starts_with("icmp") {
                self.s.error(
                    span,
                    format!("bad service `{text}`: unknown protocol"),
                    "protocols: tcp, udp, icmp, icmpv6; e.g. tcp/443",
                );
            }
            return None;
        }
        if let Some(c) = self.svc_cache.get(text) {
            if !self.used_svc.contains(text) {
                self.used_svc.insert(text.to_string());
            }
            return c.clone();
        }
        let Some(def) = self.svc_defs.get(text).cloned() else {
            let hint = if self.addrs.contains_key(text) {
                format!("`{text}` is an address object, not a service")
            } else if let Some(near) = closest(text, self.svc_defs.keys()) {
                format!("did you mean `{near}`?")
            } else {
                "declare it under [services] or [service_groups], or write e.g. tcp/443".to_string()
            };
            self.s
                .error(span, format!("unknown service `{text}`"), &hint);
            return None;
        };
        self.svc_cache.insert(text.to_string(), None);
        self.used_svc.insert(text.to_string());
        let result = match def {
            SvcDef::Service(_, v) => {
                let mut set = ServiceSet::default();
                let mut ok = true;
                for (t, sp) in self.strings(v, "a service") {
                    if !self.svc_atom(&t, sp.clone(), &mut set) {
                        if !t.starts_with("tcp") && !t.starts_with("udp") && !t.starts_with("icmp")
                        {
                            self.s.error(
                                sp,
                                format!("bad service `{t}`: unknown protocol"),
                                "protocols: tcp, udp, icmp, icmpv6; e.g. tcp/443",
                            );
                        }
                        ok = false;
                    }
                }
                set.normalise();
                ok.then_some(set)
            }
            SvcDef::Group(def_span, _) if self.resolving_svc.len() >= MAX_NESTING => {
                self.s.error(
                    def_span,
                    format!("service group `{text}` is nested more than {MAX_NESTING} groups deep"),
                    "flatten the groups",
                );
                None
            }
            SvcDef::Group(def_span, v) => {
                self.resolving_svc.insert(text.to_string());
                let mut set = Some(ServiceSet::default());
                for (m, sp) in self.strings(v, "a group member") {
                    if self.resolving_svc.contains(&m) {
                        self.s.error(
                            def_span.clone(),
                            format!("service group `{text}` contains itself through `{m}`"),
                            "remove the cycle: a group may not contain itself, directly or through other groups",
                        );
                        set = None;
                        continue;
                    }
                    match (self.svc_ref(&m, sp), set.as_mut()) {
                        (Some(s), Some(acc)) => {
                            acc.ports.extend(s.ports);
                            merge_icmp(&mut acc.icmp, &s.icmp);
                            merge_icmp(&mut acc.icmpv6, &s.icmpv6);
                        }
                        _ => set = None,
                    }
                }
                self.resolving_svc.remove(text);
                set.map(|mut s| {
                    s.normalise();
                    s
                })
            }
        };
        self.svc_cache.insert(text.to_string(), result.clone());
        result
    }
}

fn merge_icmp(acc: &mut IcmpSel, s: &IcmpSel) {
    match s {
        IcmpSel::None => {}
        IcmpSel::All => acc.add(None),
        IcmpSel::Types(v) => {
            for t in v {
                acc.add(Some(*t));
            }
        }
    }
}

/// The known name nearest to `name` (edit distance at most 2, or a different case), for
/// "did you mean" hints. Looks at no more than 5,000 names.
fn closest<'n>(name: &str, known: impl Iterator<Item = &'n String>) -> Option<&'n str> {
    let mut best: Option<(usize, &str)> = None;
    for k in known.take(5000) {
        let d = if k.eq_ignore_ascii_case(name) {
            0
        } else {
            edit_distance(name, k, 2)
        };
        if d <= 2 && best.is_none_or(|(bd, bk)| (d, k.as_str()) < (bd, bk)) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

/// Levenshtein distance, or `limit + 1` when it is larger than `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()].min(limit + 1)
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    let (n, unit) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a rate"))?;
    let count: u32 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{}` is not a positive count", n.trim()))?;
    let per = match unit.trim() {
        "second" | "s" => RateUnit::Second,
        "minute" | "m" => RateUnit::Minute,
        "hour" | "h" => RateUnit::Hour,
        "day" | "d" => RateUnit::Day,
        u => return Err(format!("`{u}` is not a time unit")),
    };
    Ok(Rate { count, per })
}

fn parse_interval(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000)
    } else {
        return Err(format!("`{t}` has no unit"));
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a whole number", num.trim()))?;
    let ms = n.saturating_mul(mult);
    if !(100..=3_600_000).contains(&ms) {
        return Err(format!("`{t}` is outside 100ms to 60m"));
    }
    Ok(ms)
}

fn fam_possible(src: &AddrMatch, dst: &AddrMatch, svc: &Option<ServiceSet>, f: Family) -> bool {
    src.admits_family(f)
        && dst.admits_family(f)
        && match svc {
            None => true,
            Some(s) => {
                !s.ports.is_empty()
                    || match f {
                        Family::V4 => !s.icmp.is_none(),
                        Family::V6 => !s.icmpv6.is_none(),
                    }
            }
        }
}

impl<'s, 'a, 'i> Cx<'s, 'a, 'i> {
    fn host_ref(&mut self, v: &V, what: &str) -> Option<IpAddr> {
        let (text, span) = self.string(v, what)?;
        let set = self.addr_ref(&text, span.clone())?;
        let mut all = set.ranges(Family::V4).chain(set.ranges(Family::V6));
        match (all.next(), all.next()) {
            (Some(r), None) if r.lo == r.hi => Some(r.lo_ip()),
            _ => {
                self.s.error(
                    span,
                    format!("{what} must be a single address, `{text}` is not"),
                    "name one host, e.g. 192.0.2.10",
                );
                None
            }
        }
    }

    fn management(&mut self, v: Option<&'a V<'i>>) -> Option<IpSet> {
        let Some(v) = v else {
            self.s.error(
                0..0,
                "the policy has no [management] section",
                "name the operations center's addresses: [management] center = [\"203.0.113.10\"]; ping, SSH, SNMP and HTTPS from them always reach the gateway (Art. 5)",
            );
            return None;
        };
        let t = self.table(v, "[management]")?;
        self.keys(t, KEYS_MANAGEMENT, "[management]");
        let span = v.span();
        let c = self.required(t, &span, "center", "[management]")?;
        let m = self.addr_match(Some(c), "`center`")?;
        match m.set {
            None => {
                self.s.warning(
                    c.span(),
                    "management access is open to any address",
                    "name the operations center's addresses instead of `any`",
                );
                Some(IpSet::from_ranges([
                    addr::parse_range("0.0.0.0/0").ok()?,
                    addr::parse_range("::/0").ok()?,
                ]))
            }
            Some(s) if s.is_empty() => {
                self.s.error(
                    c.span(),
                    "`center` names no address",
                    "name the operations center's addresses",
                );
                None
            }
            Some(s) => Some((*s).clone()),
        }
    }

    fn defaults(&mut self, v: Option<&'a V<'i>>) -> (BTreeMap<(String, String), Action>, Action) {
        let mut map = BTreeMap::new();
        let mut global = Action::Drop;
        let Some(v) = v else { return (map, global) };
        let Some(t) = self.table(v, "[defaults]") else {
            return (map, global);
        };
        for (k, v) in t.iter() {
            let Some(action) = self.action(v) else {
                continue;
            };
            let key = k.get_ref().to_string();
            if key == "*" {
                global = action;
                continue;
            }
            let Some((from, to)) = key.split_once("->") else {
                self.s.error(
                    k.span(),
                    format!("`{key}` is not a zone pair"),
                    "write \"lan->wan\" = \"accept\", or \"*\" for every other pair",
                );
                continue;
            };
            let (from, to) = (from.trim().to_string(), to.trim().to_string());
            let ok_from = self.zone_ref(&from, k.span(), false);
            let ok_to = self.zone_ref(&to, k.span(), true);
            if ok_from && ok_to {
                map.insert((from, to), action);
            }
        }
        (map, global)
    }

    fn action(&mut self, v: &V) -> Option<Action> {
        let (a, span) = self.string(v, "an action")?;
        match a.as_str() {
            "accept" => Some(Action::Accept),
            "drop" => Some(Action::Drop),
            "reject" => Some(Action::Reject),
            _ => {
                self.s.error(
                    span,
                    format!("unknown action `{a}`"),
                    "use accept, drop or reject",
                );
                None
            }
        }
    }

    fn rate(&mut self, v: &V, what: &str) -> Option<Rate> {
        let (t, span) = self.string(v, what)?;
        match parse_rate(&t) {
            Ok(r) => Some(r),
            Err(e) => {
                self.s.error(
                    span,
                    format!("bad {what}: {e}"),
                    "write e.g. \"10/second\" (units: second, minute, hour, day)",
                );
                None
            }
        }
    }

    fn rules(&mut self, v: Option<&'a V<'i>>) -> Vec<Rule> {
        let mut out: Vec<(Rule, Span)> = Vec::new();
        let Some(v) = v else { return vec![] };
        let DeValue::Array(arr) = v.get_ref() else {
            self.s.error(
                v.span(),
                format!(
                    "`rules` must be an array of tables ([[rules]]), found {}",
                    kind(v.get_ref())
                ),
                "",
            );
            return vec![];
        };
        let mut names: HashMap<String, Span> = HashMap::new();
        for (n, rv) in arr.iter().enumerate() {
            let index = n + 1;
            let Some(t) = self.table(rv, "a rule") else {
                continue;
            };
            let span = rv.span();
            self.keys(t, KEYS_RULE, "a rule");
            let mut ok = true;
            let name = get(t, "name").and_then(|v| self.string(v, "`name`"));
            if let Some((nm, sp)) = &name {
                if !valid_name(nm) {
                    self.s.error(
                        sp.clone(),
                        format!("`{nm}` is not a valid rule name"),
                        "start with a letter; letters, digits, `_` and `-`; up to 63",
                    );
                    ok = false;
                } else if let Some(first) = names.get(nm) {
                    let (l, c) = self.s.line_col(first.start);
                    self.s.error(
                        sp.clone(),
                        format!("duplicate rule name `{nm}`"),
                        &format!("first used at {l}:{c}"),
                    );
                    ok = false;
                } else {
                    names.insert(nm.clone(), sp.clone());
                }
            }
            let from = self
                .required(t, &span, "from", "the rule")
                .and_then(|v| self.string(v, "`from`"))
                .filter(|(z, sp)| {
                    if z == SELF_ZONE {
                        self.s.error(
                            sp.clone(),
                            "traffic from the gateway itself is not filtered",
                            "rules filter traffic from a zone; use a zone from [interfaces]",
                        );
                        false
                    } else {
                        self.zone_ref(z, sp.clone(), false)
                    }
                });
            let to = self
                .required(t, &span, "to", "the rule")
                .and_then(|v| self.string(v, "`to`"))
                .filter(|(z, sp)| self.zone_ref(z, sp.clone(), true));
            let src = self.addr_match(get(t, "source"), "`source`");
            let dst = self.addr_match(get(t, "destination"), "`destination`");
            let services = match get(t, "service") {
                None => Some(None),
                Some(v) => {
                    let refs = self.strings(v, "`service`");
                    if refs.iter().any(|(r, _)| r == "any") {
                        Some(None)
                    } else if refs.is_empty() {
                        self.s.error(
                            v.span(),
                            "`service` is empty, so nothing would match",
                            "name at least one service, or write \"any\"",
                        );
                        None
                    } else {
                        let mut acc = Some(ServiceSet::default());
                        for (r, sp) in refs {
                            match (self.svc_ref(&r, sp), acc.as_mut()) {
                                (Some(s), Some(a)) => {
                                    a.ports.extend(s.ports);
                                    merge_icmp(&mut a.icmp, &s.icmp);
                                    merge_icmp(&mut a.icmpv6, &s.icmpv6);
                                }
                                _ => acc = None,
                            }
                        }
                        acc.map(|mut s| {
                            s.normalise();
                            Some(s)
                        })
                    }
                }
            };
            let action = self
                .required(t, &span, "action", "the rule")
                .and_then(|v| self.action(v));
            let label = match &name {
                Some((n, _)) => n.clone(),
                None => format!("r{index}"),
            };
            let log = match get(t, "log") {
                None => Some(None),
                Some(lv) => match lv.get_ref() {
                    DeValue::Boolean(false) => Some(None),
                    DeValue::Boolean(true) => Some(Some(Log {
                        prefix: format!("mamori {label}: "),
                        rate: Some(Rate {
                            count: 1,
                            per: RateUnit::Second,
                        }),
                    })),
                    DeValue::Table(lt) => {
                        self.keys(lt, KEYS_LOG, "`log`");
                        let prefix = match get(lt, "prefix")
                            .and_then(|p| self.string(p, "`prefix`"))
                        {
                            Some((p, sp)) => {
                                if p.len() > 100
                                    || p.chars()
                                        .any(|c| !(' '..='~').contains(&c) || c == '"' || c == '\\')
                                {
                                    self.s.error(
                                        sp,
                                        "bad log prefix",
                                        "up to 100 printable ASCII characters, no `\"` or `\\`",
                                    );
                                    ok = false;
                                }
                                p
                            }
                            None => format!("mamori {label}: "),
                        };
                        let rate = match get(lt, "rate") {
                            None => Some(Rate {
                                count: 1,
                                per: RateUnit::Second,
                            }),
                            Some(r) => self.rate(r, "log rate"),
                        };
                        Some(Some(Log { prefix, rate }))
                    }
                    other => {
                        self.s.error(
                            lv.span(),
                            format!(
                                "`log` must be true, false or a table, found {}",
                                kind(other)
                            ),
                            "write log = true or log = { rate = \"10/minute\" }",
                        );
                        None
                    }
                },
            };
            let rate_limit = match get(t, "rate_limit") {
                None => Some(None),
                Some(r) => self.rate(r, "`rate_limit`").map(Some),
            };
            let comment = get(t, "comment")
                .and_then(|c| self.string(c, "`comment`"))
                .map(|c| c.0);
            let enabled = get(t, "enabled")
                .and_then(|e| self.bool(e, "`enabled`"))
                .unwrap_or(true);
            let (
                Some((from, _)),
                Some((to, _)),
                Some(src),
                Some(dst),
                Some(services),
                Some(action),
                Some(log),
                Some(rate_limit),
                true,
            ) = (from, to, src, dst, services, action, log, rate_limit, ok)
            else {
                continue;
            };
            if !enabled {
                continue;
            }
            let (line, _) = self.s.line_col(span.start);
            // Named rules count in `rule_NAME`, unnamed ones in `rule-N`: never equal,
            // since names start with a letter.
            let counter = match &name {
                Some((n, _)) => format!("rule_{n}"),
                None => format!("rule-{index}"),
            };
            out.push((
                Rule {
                    index,
                    name: name.map(|n| n.0),
                    counter,
                    line,
                    from,
                    to,
                    src,
                    dst,
                    services,
                    action,
                    log,
                    rate_limit,
                    comment,
                },
                span,
            ));
        }
        // Rules that can never match, and rules fully shadowed by an earlier one.
        for j in 0..out.len() {
            let (r, span) = &out[j];
            let empty = |m: &AddrMatch| m.set.as_ref().is_some_and(|s| s.is_empty());
            if empty(&r.src) || empty(&r.dst) {
                self.s.warning(
                    span.clone(),
                    format!(
                        "{} can never match: its {} names no address (an empty list?)",
                        r.label(),
                        if empty(&r.src) {
                            "source"
                        } else {
                            "destination"
                        }
                    ),
                    "fill the list, or remove the rule",
                );
                continue;
            }
            if !fam_possible(&r.src, &r.dst, &r.services, Family::V4)
                && !fam_possible(&r.src, &r.dst, &r.services, Family::V6)
            {
                self.s.warning(
                    span.clone(),
                    format!("{} can never match: its sources, destinations and services have no IP family in common", r.label()),
                    "check that sources and destinations are both IPv4 or both IPv6, and that ICMP services match the family",
                );
                continue;
            }
            for (e, _) in &out[..j] {
                if e.from == r.from
                    && e.to == r.to
                    && match (&e.services, &r.services) {
                        (None, _) => true,
                        (Some(_), None) => false,
                        (Some(a), Some(b)) => a.is_superset(b),
                    }
                    && e.dst.is_superset(&r.dst)
                    && e.src.is_superset(&r.src)
                {
                    self.s.warning(
                        span.clone(),
                        format!(
                            "{} is never used: {} (line {}) matches all of its traffic first",
                            r.label(),
                            e.label(),
                            e.line
                        ),
                        "remove it, or move it above the broader rule",
                    );
                    break;
                }
            }
        }
        out.into_iter().map(|(r, _)| r).collect()
    }

    #[allow(clippy::type_complexity)]
    fn nat(
        &mut self,
        v: &'a V<'i>,
        ifaces: &[Interface],
    ) -> (Vec<String>, Vec<Snat>, Vec<PortForward>, Vec<OneToOne>) {
        let mut out = (vec![], vec![], vec![], vec![]);
        let Some(t) = self.table(v, "[nat]") else {
            return out;
        };
        self.keys(t, KEYS_NAT, "[nat]");
        if let Some(m) = get(t, "masquerade") {
            for (z, sp) in self.strings(m, "`masquerade`") {
                if self.zone_ref(&z, sp, false) && !out.0.contains(&z) {
                    out.0.push(z);
                }
            }
        }
        for (item, sp) in self.array_of_tables(get(t, "snat"), "`snat`") {
            self.keys(item, KEYS_SNAT, "an SNAT rule");
            let zone = self.item_zone(item, &sp, "the SNAT rule");
            let src = self.addr_match(get(item, "source"), "`source`");
            let to = self
                .required(item, &sp, "to", "the SNAT rule")
                .and_then(|v| self.host_ref(v, "`to`"));
            if let (Some((zone, _)), Some(src), Some(to)) = (zone, src, to) {
                out.1.push(Snat { zone, src, to });
            }
        }
        let nets: Vec<(&Interface, IpRange)> = ifaces
            .iter()
            .flat_map(|i| i.networks.iter().map(move |n| (i, *n)))
            .collect();
        let mut pf_names: HashMap<String, Span> = HashMap::new();
        for (item, sp) in self.array_of_tables(get(t, "port_forwards"), "`port_forwards`") {
            self.keys(item, KEYS_PORT_FORWARD, "a port forward");
            let name = self.item_name(item, &sp, "the port forward", "port forward", &mut pf_names);
            let zone = self.item_zone(item, &sp, "the port forward");
            let protocol = self.protocol(item);
            let destination = match get(item, "destination") {
                None => Some(None),
                Some(d) => self.host_ref(d, "`destination`").map(Some),
            };
            let ports = self
                .required(item, &sp, "port", "the port forward")
                .and_then(|p| self.port_value(p, "`port`"));
            let src = self.addr_match(get(item, "source"), "`source`");
            let to_v = self.required(item, &sp, "to", "the port forward");
            let to = to_v.and_then(|v| self.host_ref(v, "`to`"));
            let to_port = match get(item, "to_port") {
                None => Some(None),
                Some(p) => {
                    let r = self.int(p, "`to_port`", 1, 65535).map(|n| Some(n as u16));
                    if let Some(pr) = &ports
                        && pr.lo != pr.hi
                    {
                        self.s.error(p.span(), "`to_port` with a port range", "forward a single port to `to_port`, or drop `to_port` to keep the ports");
                    }
                    r
                }
            };
            let mut family_ok = true;
            if let (Some(Some(d)), Some(t), Some(tv)) = (&destination, &to, to_v)
                && Family::of(d) != Family::of(t)
            {
                self.s.error(
                    tv.span(),
                    format!("port forward from {d} to {t} changes the IP family"),
                    "forward IPv4 to IPv4 and IPv6 to IPv6",
                );
                family_ok = false;
            }
            if let (Some(to), Some(to_v), Some((zone, _)), true) = (to, to_v, &zone, family_ok) {
                // Reachability: the target must lie in a network of an interface.
                if nets.is_empty() {
                    self.s.warning(
                        to_v.span(),
                        "cannot check that the port forward's target is reachable",
                        "give the interfaces their `addresses` so targets can be checked",
                    );
                } else {
                    match nets.iter().find(|(_, n)| n.contains(&to)) {
                        None => self.s.error(
                            to_v.span(),
                            format!("port forward target {to} is not reachable: it is in no interface's network"),
                            "forward to a host on a network of the gateway (see [interfaces] addresses)",
                        ),
                        Some((i, _)) if i.zone == *zone && !i.addresses.contains(&to) => self.s.warning(
                            to_v.span(),
                            format!("port forward target {to} is in zone `{zone}`, where the traffic comes from"),
                            "forward to a host in another zone",
                        ),
                        Some(_) => {}
                    }
                }
            }
            if let (
                Some((name, _)),
                Some((zone, _)),
                Some(protocol),
                Some(destination),
                Some(ports),
                Some(src),
                Some(to),
                Some(to_port),
            ) = (name, zone, protocol, destination, ports, src, to, to_port)
            {
                if !family_ok {
                    continue;
                }
                out.2.push(PortForward {
                    name,
                    zone,
                    protocol,
                    destination,
                    ports,
                    src,
                    to,
                    to_port,
                });
            }
        }
        for (item, sp) in self.array_of_tables(get(t, "one_to_one"), "`one_to_one`") {
            self.keys(item, KEYS_ONE_TO_ONE, "a 1:1 NAT");
            let zone = self.item_zone(item, &sp, "the 1:1 NAT");
            let public = self
                .required(item, &sp, "public", "the 1:1 NAT")
                .and_then(|v| self.host_ref(v, "`public`"));
            let private = self
                .required(item, &sp, "private", "the 1:1 NAT")
                .and_then(|v| self.host_ref(v, "`private`"));
            if let (Some(p), Some(q)) = (public, private)
                && Family::of(&p) != Family::of(&q)
            {
                self.s.error(
                    sp.clone(),
                    "1:1 NAT between IPv4 and IPv6",
                    "map an address to one of the same family",
                );
                continue;
            }
            if let Some(public) = public
                && ifaces.iter().any(|i| i.addresses.contains(&public))
            {
                self.s.warning(
                    sp.clone(),
                    format!("1:1 NAT takes {public}, an address of the gateway itself: all its traffic goes to the private host"),
                    "give the 1:1 NAT an address of its own (management access is kept either way)",
                );
            }
            if let (Some((zone, _)), Some(public), Some(private)) = (zone, public, private) {
                out.3.push(OneToOne {
                    zone,
                    public,
                    private,
                });
            }
        }
        out
    }

    fn protocol(&mut self, t: &DeTable) -> Option<L4> {
        let (p, sp) = match get(t, "protocol") {
            None => return Some(L4::Tcp),
            Some(v) => self.string(v, "`protocol`")?,
        };
        match p.as_str() {
            "tcp" => Some(L4::Tcp),
            "udp" => Some(L4::Udp),
            _ => {
                self.s
                    .error(sp, format!("unknown protocol `{p}`"), "use tcp or udp");
                None
            }
        }
    }

    fn array_of_tables(
        &mut self,
        v: Option<&'a V<'i>>,
        what: &str,
    ) -> Vec<(&'a DeTable<'i>, Span)> {
        let Some(v) = v else { return vec![] };
        let DeValue::Array(a) = v.get_ref() else {
            self.s.error(
                v.span(),
                format!(
                    "{what} must be an array of tables, found {}",
                    kind(v.get_ref())
                ),
                "",
            );
            return vec![];
        };
        let mut out = Vec::new();
        for e in a.iter() {
            if let Some(t) = self.table(e, what) {
                out.push((t, e.span()));
            }
        }
        out
    }

    fn load_balancers(&mut self, v: Option<&'a V<'i>>) -> Vec<LoadBalancer> {
        let mut out: Vec<LoadBalancer> = Vec::new();
        let mut names: HashMap<String, Span> = HashMap::new();
        for (t, sp) in self.array_of_tables(v, "`load_balancers`") {
            self.keys(t, KEYS_LOAD_BALANCER, "a load balancer");
            let name = self.item_name(t, &sp, "the load balancer", "load balancer", &mut names);
            let zone = match get(t, "zone") {
                None => Some(None),
                Some(z) => self
                    .string(z, "`zone`")
                    .filter(|(z, s)| self.zone_ref(z, s.clone(), false))
                    .map(|z| Some(z.0)),
            };
            let protocol = self.protocol(t);
            let address = self
                .required(t, &sp, "address", "the load balancer")
                .and_then(|v| self.host_ref(v, "`address`"));
            let port = self
                .required(t, &sp, "port", "the load balancer")
                .and_then(|p| self.int(p, "`port`", 1, 65535))
                .map(|p| p as u16);
            let mut backends = Vec::new();
            let mut ok = true;
            match get(t, "backends") {
                None => {
                    self.s.error(
                        sp.clone(),
                        "load balancer pool has no backends",
                        "add backends = [{ address = \"192.0.2.21\", port = 443 }]",
                    );
                    ok = false;
                }
                Some(bv) => {
                    let items = self.array_of_tables(Some(bv), "`backends`");
                    if items.is_empty() {
                        self.s.error(
                            bv.span(),
                            "load balancer pool has no backends",
                            "add at least one { address = ..., port = ... }",
                        );
                        ok = false;
                    }
                    for (b, bsp) in items {
                        self.keys(b, KEYS_BACKEND, "a backend");
                        let a = self
                            .required(b, &bsp, "address", "the backend")
                            .and_then(|v| self.host_ref(v, "`address`"));
                        let p = match get(b, "port") {
                            None => port,
                            Some(p) => self.int(p, "`port`", 1, 65535).map(|p| p as u16),
                        };
                        let w = match get(b, "weight") {
                            None => Some(1),
                            Some(w) => self.int(w, "`weight`", 1, 100).map(|w| w as u32),
                        };
                        match (a, p, w) {
                            (Some(address), Some(port), Some(weight)) => {
                                let be = Backend {
                                    address,
                                    port,
                                    weight,
                                };
                                if backends
                                    .iter()
                                    .any(|x: &Backend| x.address == be.address && x.port == be.port)
                                {
                                    self.s.error(
                                        bsp,
                                        format!("backend {}:{} listed twice", be.address, be.port),
                                        "list each backend once; use `weight` to send it more",
                                    );
                                    ok = false;
                                } else {
                                    backends.push(be);
                                }
                            }
                            _ => ok = false,
                        }
                    }
                }
            }
            if let Some(vip) = address {
                for b in &backends {
                    if Family::of(&b.address) != Family::of(&vip) {
                        self.s.error(
                            sp.clone(),
                            format!(
                                "backend {} and virtual address {vip} are of different IP families",
                                b.address
                            ),
                            "balance IPv4 over IPv4 backends, IPv6 over IPv6",
                        );
                        ok = false;
                    }
                }
            }
            let health = match get(t, "health") {
                None => Some(HealthCheck::Tcp {
                    interval_ms: 5000,
                    port: None,
                }),
                Some(h) => self.health(h),
            };
            if let (
                Some((name, _)),
                Some(zone),
                Some(protocol),
                Some(address),
                Some(port),
                Some(health),
                true,
            ) = (name, zone, protocol, address, port, health, ok)
            {
                if let Some(prev) = out
                    .iter()
                    .find(|l| l.address == address && l.port == port && l.protocol == protocol)
                {
                    self.s.warning(sp.clone(), format!("load balancer `{name}` is never used: `{}` has the same address and port", prev.name), "give it another address or port");
                }
                out.push(LoadBalancer {
                    name,
                    zone,
                    protocol,
                    address,
                    port,
                    backends,
                    health,
                });
            }
        }
        out
    }

    fn health(&mut self, v: &'a V<'i>) -> Option<HealthCheck> {
        let t = self.table(v, "`health`")?;
        self.keys(t, KEYS_HEALTH, "`health`");
        let interval_ms = match get(t, "interval") {
            None => Some(5000),
            Some(i) => {
                let (text, sp) = self.string(i, "`interval`")?;
                match parse_interval(&text) {
                    Ok(ms) => Some(ms),
                    Err(e) => {
                        self.s.error(
                            sp,
                            format!("bad health-check interval: {e}"),
                            "write e.g. \"5s\", \"500ms\" or \"1m\"",
                        );
                        None
                    }
                }
            }
        };
        let port = match get(t, "port") {
            None => Some(None),
            Some(p) => self.int(p, "`port`", 1, 65535).map(|p| Some(p as u16)),
        };
        let check = match get(t, "check") {
            None => "tcp".to_string(),
            Some(c) => self.string(c, "`check`")?.0,
        };
        match check.as_str() {
            "tcp" => {
                for k in ["path", "expect_status"] {
                    if let Some(x) = get(t, k) {
                        self.s.error(
                            x.span(),
                            format!("`{k}` is only for HTTP checks"),
                            "set check = \"http\"",
                        );
                    }
                }
                Some(HealthCheck::Tcp {
                    interval_ms: interval_ms?,
                    port: port?,
                })
            }
            "http" => {
                let path = match get(t, "path") {
                    None => "/".to_string(),
                    Some(p) => {
                        let (p, sp) = self.string(p, "`path`")?;
                        if !p.starts_with('/')
                            || p.chars().any(|c| c.is_whitespace() || c.is_control())
                        {
                            self.s.error(
                                sp,
                                format!("`{p}` is not an HTTP path"),
                                "start with `/`, no spaces",
                            );
                            return None;
                        }
                        p
                    }
                };
                let expect_status = match get(t, "expect_status") {
                    None => Some(None),
                    Some(s) => self
                        .int(s, "`expect_status`", 100, 599)
                        .map(|s| Some(s as u16)),
                };
                Some(HealthCheck::Http {
                    interval_ms: interval_ms?,
                    port: port?,
                    path,
                    expect_status: expect_status?,
                })
            }
            other => {
                let sp = get(t, "check").map(|c| c.span()).unwrap_or(v.span());
                self.s.error(
                    sp,
                    format!("unknown health check `{other}`"),
                    "use \"tcp\" (connect) or \"http\" (GET)",
                );
                None
            }
        }
    }

    fn unused_objects(&mut self) {
        let mut unused: Vec<(Span, String)> = Vec::new();
        for (name, e) in &self.addrs {
            if !e.used {
                let span = match &e.def {
                    AddrDef::Addresses(s, _) | AddrDef::Group(s, _) | AddrDef::List(s) => s.clone(),
                };
                unused.push((span, format!("address object `{name}` is not used")));
            }
        }
        for (name, def) in &self.svc_defs {
            if !self.used_svc.contains(name) {
                let span = match def {
                    SvcDef::Service(s, _) | SvcDef::Group(s, _) => s.clone(),
                };
                unused.push((span, format!("service `{name}` is not used")));
            }
        }
        unused.sort_by(|a, b| (a.0.start, &a.1).cmp(&(b.0.start, &b.1)));
        // In document order, so the diagnostics are the same on every run.
        let mut names: Vec<(usize, bool, String)> = Vec::new();
        for (n, e) in &self.addrs {
            if !e.used {
                let start = match &e.def {
                    AddrDef::Addresses(s, _) | AddrDef::Group(s, _) | AddrDef::List(s) => s.start,
                };
                names.push((start, false, n.clone()));
            }
        }
        for (n, d) in &self.svc_defs {
            if !self.used_svc.contains(n) {
                let start = match d {
                    SvcDef::Service(s, _) | SvcDef::Group(s, _) => s.start,
                };
                names.push((start, true, n.clone()));
            }
        }
        names.sort();
        for (_, svc, n) in names {
            if svc {
                self.svc_ref(&n, 0..0);
            } else {
                self.addr_ref(&n, 0..0);
            }
        }
        for (span, msg) in unused {
            // Unused objects are still checked, so their mistakes are reported.
            self.s.warning(span, msg, "remove it, or use it in a rule");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON Schema published for editors lists exactly the keys the reader accepts.
    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("web", "wbe", 2), 2);
        assert_eq!(edit_distance("office", "ofice", 2), 1);
        assert_eq!(edit_distance("a", "abcdef", 2), 3);
        let names = ["office".to_string(), "web".to_string()];
        assert_eq!(closest("ofice", names.iter()), Some("office"));
        assert_eq!(closest("Web", names.iter()), Some("web"));
        assert_eq!(closest("printer", names.iter()), None);
    }

    #[test]
    fn schema_and_reader_agree_on_keys() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../policy.schema.json")).unwrap();
        let props = |ptr: &str| -> Vec<String> {
            let v = schema.pointer(ptr).unwrap_or_else(|| panic!("{ptr}"));
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let sorted = |k: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = k.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        };
        let cases: &[(&str, &[&str])] = &[
            ("/properties", KEYS_POLICY),
            (
                "/properties/interfaces/additionalProperties/oneOf/1/properties",
                KEYS_INTERFACE,
            ),
            (
                "/properties/lists/additionalProperties/oneOf/1/properties",
                KEYS_LIST,
            ),
            ("/properties/management/properties", KEYS_MANAGEMENT),
            ("/properties/options/properties", KEYS_OPTIONS),
            ("/properties/rules/items/properties", KEYS_RULE),
            (
                "/properties/rules/items/properties/log/oneOf/1/properties",
                KEYS_LOG,
            ),
            ("/properties/nat/properties", KEYS_NAT),
            (
                "/properties/nat/properties/snat/items/properties",
                KEYS_SNAT,
            ),
            (
                "/properties/nat/properties/port_forwards/items/properties",
                KEYS_PORT_FORWARD,
            ),
            (
                "/properties/nat/properties/one_to_one/items/properties",
                KEYS_ONE_TO_ONE,
            ),
            (
                "/properties/load_balancers/items/properties",
                KEYS_LOAD_BALANCER,
            ),
            (
                "/properties/load_balancers/items/properties/backends/items/properties",
                KEYS_BACKEND,
            ),
            (
                "/properties/load_balancers/items/properties/health/properties",
                KEYS_HEALTH,
            ),
        ];
        for (ptr, keys) in cases {
            assert_eq!(props(ptr), sorted(keys), "{ptr}");
        }
    }
}
