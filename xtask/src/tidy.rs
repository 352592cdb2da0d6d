//! Tidy checks: the layout and dependency rules of `ARCHITECTURE.md`, enforced by
//! `cargo test -p xtask`. Each check names the rule it enforces.

mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Crates that do no I/O: no runtime, database, network, processes or clocks.
const PURE: &[&str] = &[
    "mamori-policy",
    "mamori-billing",
    "mamori-ids",
    "mamori-api",
    "mamori-center-model",
    "mamori-monitor",
];

/// Dependencies that bring I/O and so may not appear in a pure crate.
const IO_CRATES: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "mio",
    "sqlx",
    "rusqlite",
    "postgres",
    "tokio-postgres",
    "reqwest",
    "ureq",
    "hyper",
    "axum",
    "tower",
    "socket2",
    "nix",
    "rustix",
    "libc",
    "lettre",
    "nfq",
];

/// Modules of `std` that mean I/O, processes, the environment or threads: no path into
/// them may appear in the code of a pure crate (use trees are expanded, so
/// `use std::{fs, io}` counts as `std::fs`).
/// (`std::net` is allowed for its address types; its sockets are caught by name below.)
const IO_STD_MODULES: &[&str] = &["fs", "process", "env", "thread", "os"];

/// Sockets, wherever they come from.
const SOCKET_NAMES: &[&str] = &["TcpStream", "TcpListener", "UdpSocket", "ToSocketAddrs"];

/// Names that read a clock, wherever they come from (`std::time`, `jiff`, ...).
const CLOCK_NAMES: &[&str] = &["SystemTime", "Instant", "UNIX_EPOCH"];

fn root() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .parent()
        .unwrap()
        .to_path_buf()
}

struct Krate {
    name: String,
    dir: PathBuf,
    /// Normal (non-dev) dependencies, by package name.
    deps: Vec<String>,
}

fn crates() -> Vec<Krate> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.push(root().join("xtask"));
    dirs.sort();
    for dir in dirs {
        let text = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let doc: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let name = doc["package"]["name"].as_str().unwrap().to_string();
        let mut deps = Vec::new();
        let mut tables = vec![doc.get("dependencies")];
        if let Some(targets) = doc.get("target").and_then(|t| t.as_table()) {
            for t in targets.values() {
                tables.push(t.get("dependencies"));
            }
        }
        for table in tables.into_iter().flatten() {
            for (key, value) in table.as_table().unwrap() {
                let package = value
                    .get("package")
                    .and_then(|p| p.as_str())
                    .unwrap_or(key)
                    .to_string();
                deps.push(package);
            }
        }
        out.push(Krate { name, dir, deps });
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(p);
                }
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// The code of a file outside its `#[cfg(test)]` items, without comments and literals.
fn non_test_code(f: &Path) -> String {
    source::non_test_code(&fs::read_to_string(f).unwrap())
}

/// Where the code of a pure crate does I/O or reads a clock: each finding with its line.
fn io_in_code(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, path) in source::paths_from(code, "std") {
        let module = path.split("::").nth(1).unwrap_or("");
        if IO_STD_MODULES.contains(&module) {
            found.push((source::line_of(code, at), path));
        }
    }
    for (at, id) in source::idents(code) {
        let after_path = code[..at].trim_end().ends_with("::");
        if CLOCK_NAMES.contains(&id) || SOCKET_NAMES.contains(&id) || (id == "now" && after_path) {
            found.push((source::line_of(code, at), id.to_string()));
        }
        if ["tokio", "sqlx", "mio", "socket2", "libc", "nix", "rustix"].contains(&id) {
            found.push((source::line_of(code, at), id.to_string()));
        }
    }
    found
}

#[test]
fn every_crate_has_a_module_doc() {
    for k in crates() {
        let lib = k.dir.join("src/lib.rs");
        let main = k.dir.join("src/main.rs");
        let entry = if lib.exists() { lib } else { main };
        let text = fs::read_to_string(&entry).unwrap();
        assert!(
            text.trim_start().starts_with("//!"),
            "{}: a crate's root file starts with a `//!` module doc saying what the crate is for",
            rel(&entry)
        );
    }
}

#[test]
fn pure_crates_depend_on_no_io() {
    for k in crates().iter().filter(|k| PURE.contains(&k.name.as_str())) {
        for d in &k.deps {
            assert!(
                !IO_CRATES.contains(&d.as_str()),
                "{} is pure (no I/O) but depends on `{d}`",
                k.name
            );
            assert!(
                ![
                    "mamori-center",
                    "mamori-center-db",
                    "mamori-agent",
                    "mamori"
                ]
                .contains(&d.as_str()),
                "{} is pure but depends on `{d}`: dependencies point toward the pure crates",
                k.name
            );
        }
    }
}

#[test]
fn pure_crates_do_no_io_in_source() {
    for k in crates().iter().filter(|k| PURE.contains(&k.name.as_str())) {
        for f in rust_files(&k.dir.join("src")) {
            if let Some((line, what)) = io_in_code(&non_test_code(&f)).first() {
                panic!(
                    "{}:{line}: `{what}` in a pure crate; time and data come in as values",
                    rel(&f)
                );
            }
        }
    }
}

#[test]
fn the_io_check_sees_through_use_trees_comments_and_test_items() {
    let io = |text: &str| io_in_code(&source::non_test_code(text));
    assert!(!io("use std::{fs, io};").is_empty());
    assert!(!io("let t = jiff::Timestamp::now();").is_empty());
    assert!(!io("#[cfg(test)]\nmod t {}\nfn f() { std::env::var(\"X\"); }").is_empty());
    assert!(io("// std::fs\nlet s = \"std::process\"; use std::io::Read;").is_empty());
    assert!(io("#[cfg(test)]\nmod t { use std::fs; }").is_empty());
    assert!(io("fn f(now: i64) -> i64 { now }").is_empty());
    assert!(io("use std::net::{IpAddr, Ipv6Addr};").is_empty());
    assert!(!io("use std::net::{IpAddr, UdpSocket};").is_empty());
}

/// Every crate each pure crate may pull in, directly or not (normal dependencies of the
/// resolved graph, proc-macros included). A new dependency of a pure crate, or of one
/// of its dependencies, fails this list until it is looked at and added.
const PURE_CLOSURES: &[(&str, &[&str])] = &[
    (
        "mamori-center-model",
        &[
            "equivalent",
            "hashbrown",
            "indexmap",
            "itoa",
            "jiff",
            "jiff-core",
            "jiff-static",
            "log",
            "mamori-api",
            "mamori-billing",
            "memchr",
            "portable-atomic",
            "portable-atomic-util",
            "proc-macro2",
            "quote",
            "serde",
            "serde_core",
            "serde_derive",
            "serde_json",
            "serde_spanned",
            "syn",
            "thiserror",
            "thiserror-impl",
            "toml",
            "toml_datetime",
            "toml_parser",
            "toml_writer",
            "unicode-ident",
            "utoipa",
            "utoipa-gen",
            "winnow",
            "zmij",
        ],
    ),
    (
        "mamori-api",
        &[
            // Only with the `openapi` feature, which only the center turns on
            // (`api_is_serde_only`): the OpenAPI schema derive and what it needs.
            "equivalent",
            "hashbrown",
            "indexmap",
            "utoipa",
            "utoipa-gen",
            // Always.
            "itoa",
            "memchr",
            "proc-macro2",
            "quote",
            "serde",
            "serde_core",
            "serde_derive",
            "serde_json",
            "syn",
            "unicode-ident",
            "zmij",
        ],
    ),
    (
        "mamori-policy",
        &[
            "equivalent",
            "foldhash",
            "hashbrown",
            "indexmap",
            "itoa",
            "memchr",
            "proc-macro2",
            "quote",
            "serde",
            "serde_core",
            "serde_derive",
            "serde_json",
            "serde_spanned",
            "syn",
            "thiserror",
            "thiserror-impl",
            "toml",
            "toml_datetime",
            "toml_parser",
            "toml_writer",
            "unicode-ident",
            "winnow",
            "zmij",
        ],
    ),
    (
        "mamori-billing",
        &[
            "equivalent",
            "hashbrown",
            "indexmap",
            "jiff",
            "jiff-core",
            "jiff-static",
            "log",
            "portable-atomic",
            "portable-atomic-util",
            "proc-macro2",
            "quote",
            "serde",
            "serde_core",
            "serde_derive",
            "serde_spanned",
            "syn",
            "thiserror",
            "thiserror-impl",
            "toml",
            "toml_datetime",
            "toml_parser",
            "toml_writer",
            "unicode-ident",
            "winnow",
        ],
    ),
    (
        "mamori-monitor",
        &[
            // Time as values (jiff, without time zone data; the graph lists what its
            // optional parts and targets may pull) and error derives.
            "jiff",
            "jiff-core",
            "jiff-static",
            "log",
            "portable-atomic",
            "portable-atomic-util",
            "proc-macro2",
            "quote",
            "serde_core",
            "serde_derive",
            "syn",
            "thiserror",
            "thiserror-impl",
            "unicode-ident",
        ],
    ),
    (
        "mamori-ids",
        &[
            // pcre2-sys binds the PCRE2 C library: `libc` for its types, `cc` at build time.
            // `const-oid`: the hash algorithms' OID constants, digest's `oid` feature,
            // which the center's SNMP library turns on (features unify in the workspace).
            // sha1/sha2 (file digests, certificate fingerprints, the to_sha1 / to_sha256
            // transforms) use `cpufeatures` to pick their SIMD code: CPUID, no I/O.
            "adler2",
            "block-buffer",
            "cfg-if",
            "cmov",
            "const-oid",
            "cpufeatures",
            "crc32fast",
            "crypto-common",
            "ctutils",
            "digest",
            "flate2",
            "hybrid-array",
            "itoa",
            "libc",
            "log",
            "md-5",
            "memchr",
            "miniz_oxide",
            "pcre2",
            "pcre2-sys",
            "proc-macro2",
            "quote",
            "serde",
            "serde_core",
            "serde_derive",
            "serde_json",
            "sha1",
            "sha2",
            "simd-adler32",
            "syn",
            "thiserror",
            "thiserror-impl",
            "typenum",
            "unicode-ident",
            "zlib-rs",
            "zmij",
        ],
    ),
];

/// The resolved dependency graph: for each workspace crate, the names of every package
/// it pulls in through normal dependencies, directly or not.
fn resolved_closures() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of: BTreeMap<&str, &str> = m["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: BTreeMap<&str, &serde_json::Value> = m["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let mut closures = BTreeMap::new();
    for member in m["workspace_members"].as_array().unwrap() {
        let member = member.as_str().unwrap();
        let mut seen = BTreeSet::new();
        let mut stack = vec![member];
        while let Some(id) = stack.pop() {
            for d in nodes[id]["deps"].as_array().unwrap() {
                let normal = d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null());
                let pkg = d["pkg"].as_str().unwrap();
                if normal && seen.insert(pkg) {
                    stack.push(pkg);
                }
            }
        }
        closures.insert(
            name_of[member].to_string(),
            seen.iter().map(|id| name_of[id].to_string()).collect(),
        );
    }
    closures
}

#[test]
fn pure_crates_pull_in_only_their_allowed_dependencies() {
    let closures = resolved_closures();
    for (krate, allowed) in PURE_CLOSURES {
        let closure = &closures[*krate];
        let extra: Vec<_> = closure
            .iter()
            .filter(|d| !allowed.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "{krate} is pure but its resolved dependencies include {extra:?}; a pure crate does \
             no I/O, so every crate it pulls in is reviewed and listed in PURE_CLOSURES"
        );
        for io in IO_CRATES {
            assert!(
                !closure.contains(*io) || (*io == "libc" && *krate == "mamori-ids"),
                "{krate} is pure but pulls in `{io}`"
            );
        }
        for own in [
            "mamori-center",
            "mamori-center-db",
            "mamori-agent",
            "mamori",
        ] {
            assert!(
                !closure.contains(own),
                "{krate} is pure but pulls in `{own}`"
            );
        }
    }
    for k in crates().iter().filter(|k| PURE.contains(&k.name.as_str())) {
        assert!(
            PURE_CLOSURES.iter().any(|(n, _)| *n == k.name),
            "{} is pure but has no entry in PURE_CLOSURES",
            k.name
        );
    }
    let center = &closures["mamori-center"];
    let agent = &closures["mamori-agent"];
    assert!(!center.contains("mamori-agent") && !agent.contains("mamori-center"));
}

#[test]
fn api_is_serde_only() {
    let allowed = ["serde", "serde_json", "jiff", "uuid"];
    let k = crates()
        .into_iter()
        .find(|k| k.name == "mamori-api")
        .unwrap();
    for d in &k.deps {
        assert!(
            allowed.contains(&d.as_str()) || d == "utoipa",
            "mamori-api depends on `{d}`; it holds wire types only"
        );
    }
    // The one exception: the OpenAPI schema derive, optional, behind the feature
    // `openapi` and nothing else, off by default, turned on by the center alone.
    let toml: toml::Table = fs::read_to_string(k.dir.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    if let Some(u) = toml["dependencies"].get("utoipa") {
        assert_eq!(
            u.get("optional").and_then(|o| o.as_bool()),
            Some(true),
            "mamori-api's utoipa is optional"
        );
        let features = toml.get("features").and_then(|f| f.as_table());
        let features: Vec<(&String, &toml::Value)> =
            features.map(|f| f.iter().collect()).unwrap_or_default();
        let names: Vec<&str> = features.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["openapi"],
            "mamori-api has the one feature `openapi`"
        );
        assert_eq!(
            features[0].1.as_array().map(|a| a.len()),
            Some(1),
            "`openapi` turns on utoipa and nothing else"
        );
        assert_eq!(features[0].1[0].as_str(), Some("dep:utoipa"));
    }
    for other in crates().iter().filter(|o| o.name != "mamori-center") {
        let text = fs::read_to_string(other.dir.join("Cargo.toml")).unwrap();
        let line = text.lines().find(|l| l.starts_with("mamori-api"));
        assert!(
            line.is_none_or(|l| !l.contains("openapi")),
            "{} turns on mamori-api's `openapi`; only the center does",
            other.name
        );
    }
    // What the agent builds with: no schema derive.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "-p",
            "mamori-agent",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--locked",
        ])
        .current_dir(root())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        !tree.lines().any(|l| l.starts_with("utoipa")),
        "the agent pulls in utoipa"
    );
}

/// Only the router assembly (`http/mod.rs`) reaches into the API's module tree: the
/// panel and everything else go through `app`, never through the API's handlers,
/// problems or extractors.
#[test]
fn only_the_router_assembly_imports_the_api() {
    let center = root().join("crates/center/src");
    let api = center.join("http/api");
    for f in rust_files(&center) {
        if f.starts_with(&api) || f == center.join("http/mod.rs") {
            continue;
        }
        let code = source::code_only(&fs::read_to_string(&f).unwrap());
        for needle in ["http::api", "super::api::", "super::api;", "super::api}"] {
            if let Some(at) = code.find(needle) {
                panic!(
                    "{}:{}: imports from http::api; only http/mod.rs may",
                    rel(&f),
                    source::line_of(&code, at)
                );
            }
        }
    }
}

#[test]
fn center_and_agent_are_independent() {
    let all = crates();
    let by_name: BTreeMap<_, _> = all.iter().map(|k| (k.name.as_str(), k)).collect();
    assert!(
        !by_name["mamori-center"]
            .deps
            .iter()
            .any(|d| d == "mamori-agent")
    );
    assert!(
        !by_name["mamori-agent"]
            .deps
            .iter()
            .any(|d| d == "mamori-center")
    );
}

/// The crate that holds all SQL.
const DB_CRATE: &str = "mamori-center-db";

#[test]
fn sql_lives_only_in_center_db() {
    for k in crates().iter().filter(|k| k.name != DB_CRATE) {
        assert!(
            !k.deps.iter().any(|d| d == "sqlx"),
            "{} depends on sqlx; SQL lives only in {DB_CRATE} (tests may use it as a dev-dependency)",
            k.name
        );
        for f in rust_files(&k.dir.join("src")) {
            let code = non_test_code(&f);
            if let Some((at, _)) = source::idents(&code)
                .into_iter()
                .find(|(_, id)| *id == "sqlx")
            {
                panic!(
                    "{}:{}: uses sqlx outside {DB_CRATE}",
                    rel(&f),
                    source::line_of(&code, at)
                );
            }
        }
    }
}

/// Crates whose functions are namespaced by capability types (`store.backoffice()`,
/// `tx.backoffice()`), not by name prefixes.
const NO_PREFIX_NAMESPACES: &[&str] = &["crates/center-db/src", "crates/center/src"];

/// Name prefixes that once stood for a capability's namespace.
const NAMESPACE_PREFIXES: &[&str] = &["bo_"];

#[test]
fn capabilities_are_namespaced_by_types_not_name_prefixes() {
    for dir in NO_PREFIX_NAMESPACES {
        for f in rust_files(&root().join(dir)) {
            let code = non_test_code(&f);
            for (at, id) in source::idents(&code) {
                let is_fn = code[..at].trim_end().ends_with("fn");
                if is_fn && NAMESPACE_PREFIXES.iter().any(|p| id.starts_with(p)) {
                    panic!(
                        "{}:{}: `{id}`: a capability's functions live on its own type \
                         (e.g. `store.backoffice().contract(..)`), not behind a name prefix",
                        rel(&f),
                        source::line_of(&code, at)
                    );
                }
            }
        }
    }
}

/// The only methods of the center's `App` itself: plumbing, not use cases.
const APP_OWN_METHODS: &[&str] = &["ping", "now_ms"];

/// Where `code` implements methods directly on `App` (`impl App {`), and the public
/// functions of those blocks.
fn app_impls(code: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(i) = code[rest..].find("impl App {") {
        let at = rest + i;
        let body_start = at + "impl App {".len();
        let mut depth = 1;
        let mut end = body_start;
        for (j, ch) in code[body_start..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = body_start + j;
                break;
            }
        }
        let body = &code[body_start..end];
        let fns = source::idents(body)
            .into_iter()
            .filter(|(k, _)| {
                let before = body[..*k].trim_end();
                before.ends_with("fn")
                    && body[..*k].contains("pub")
                    && body[..before.len() - 2]
                        .trim_end()
                        .trim_end_matches("async")
                        .trim_end()
                        .ends_with("pub")
            })
            .map(|(_, id)| id.to_string())
            .collect();
        found.push((source::line_of(code, at), fns));
        rest = end;
    }
    found
}

/// `App` is the root of the use cases, not a god type: each capability is a handle type
/// declared with `capability!` (`app.users().create(..)`), and `App`'s own methods are the
/// plumbing in `APP_OWN_METHODS`, in `app/mod.rs`.
#[test]
fn the_center_s_use_cases_live_on_capability_handles_not_on_app() {
    for f in rust_files(&root().join("crates/center/src")) {
        let code = non_test_code(&f);
        for (line, fns) in app_impls(&code) {
            let r = rel(&f);
            assert!(
                r.ends_with("crates/center/src/app/mod.rs"),
                "{r}:{line}: `impl App` outside app/mod.rs: declare the capability's handle \
                 with `capability!` and put its use cases on it"
            );
            for f in fns {
                assert!(
                    APP_OWN_METHODS.contains(&f.as_str()),
                    "{r}:{line}: `App::{f}`: a use case belongs on its capability's handle, \
                     not on `App`"
                );
            }
        }
    }
}

#[test]
fn the_app_check_finds_use_cases_on_app() {
    let code = "impl App {\n    pub async fn create_user(&self) {}\n    fn helper() {}\n    pub fn ping(&self) { if x { } }\n}\nimpl Other { pub fn no(&self) {} }";
    let found = app_impls(code);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].1,
        vec!["create_user".to_string(), "ping".to_string()]
    );
}

/// Where the center's model and use cases take or hold an entity's id as a bare
/// integer (`customer_id: i64`, `site: Option<i64>`) instead of its typed id.
fn bare_entity_ids(code: &str) -> Vec<(usize, String)> {
    const ENTITIES: &[&str] = &[
        "customer",
        "site",
        "user",
        "author",
        "equipment",
        "unit",
        "instruction",
        "incident",
        "application",
        "contract",
        "invoice",
    ];
    let mut found = Vec::new();
    for (at, id) in source::idents(code) {
        let base = id.strip_suffix("_id").unwrap_or(id);
        if !ENTITIES.contains(&base) {
            continue;
        }
        let rest = code[at + id.len()..].trim_start();
        let Some(ty) = rest.strip_prefix(':') else {
            continue;
        };
        let ty = ty.trim_start();
        let ty = ty.strip_prefix("Option<").unwrap_or(ty).trim_start();
        if ty.starts_with("i64") && !ty[3..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            found.push((source::line_of(code, at), id.to_string()));
        }
    }
    found
}

/// Where entity ids are typed (`center-model`'s `ids.rs`): the model and the center's
/// use cases. The message catalog formats ids as numbers and is left out.
const TYPED_ID_DIRS: &[&str] = &[
    "crates/center-model/src",
    "crates/center/src/app",
    "crates/center/src/gateways",
    "crates/center/src/backoffice",
];

#[test]
fn entity_ids_are_typed_in_the_model_and_the_use_cases() {
    for dir in TYPED_ID_DIRS {
        for f in rust_files(&root().join(dir)) {
            if rel(&f).contains("/messages/") {
                continue;
            }
            let code = non_test_code(&f);
            if let Some((line, id)) = bare_entity_ids(&code).first() {
                panic!(
                    "{}:{line}: `{id}` is a bare integer; use the entity's typed id \
                     (`mamori_center_model::ids`)",
                    rel(&f)
                );
            }
        }
    }
}

#[test]
fn the_typed_id_check_finds_bare_ids() {
    let found = bare_entity_ids(
        "fn f(customer_id: i64, site: Option<i64>, n: i64, user_id: UserId, unit: i64x) {}",
    );
    assert_eq!(
        found,
        vec![(1, "customer_id".to_string()), (1, "site".to_string())]
    );
}

/// Where a file reaches the store itself (`x.store` as a value, not a `.store(..)` call
/// such as an atomic's).
fn store_accesses(code: &str) -> Vec<usize> {
    source::idents(code)
        .into_iter()
        .filter(|(at, id)| {
            *id == "store"
                && code[..*at].trim_end().ends_with('.')
                && !code[at + id.len()..].trim_start().starts_with('(')
        })
        .map(|(at, _)| source::line_of(code, at))
        .collect()
}

#[test]
fn the_center_s_http_layer_calls_use_cases_not_the_store() {
    for f in rust_files(&root().join("crates/center/src/http")) {
        let code = non_test_code(&f);
        if let Some(line) = store_accesses(&code).first() {
            panic!(
                "{}:{line}: the HTTP layer reaches the store; call a use case of `App` instead",
                rel(&f)
            );
        }
    }
    assert_eq!(store_accesses("s.app.store.ping()"), [1]);
    assert_eq!(
        store_accesses("let s = app\n    .store\n    .clone();"),
        [2]
    );
    assert!(store_accesses("self.late.store(true, Ordering::Relaxed)").is_empty());
    assert!(store_accesses("use crate::store::StoreError;").is_empty());
}

/// The center's crates, whose time comes from the one clock adapter.
const CENTER_CRATES: &[&str] = &["mamori-center", "mamori-center-db", "mamori-center-model"];

/// The center's one clock adapter: the only file that reads the wall clock.
const CLOCK_ADAPTER: &str = "crates/center/src/clock.rs";

/// Where code reads the wall clock: `SystemTime`, `std::time::UNIX_EPOCH`, `X::now()`
/// of a calendar type, or the system clock adapter itself (`clock::system()`).
/// Monotonic `Instant`s (I/O deadlines and timers) are not the time of day.
fn wall_clock_reads(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, id) in source::idents(code) {
        let before = code[..at].trim_end();
        let after = code[at + id.len()..].trim_start();
        let called_on = |types: &[&str]| {
            before.strip_suffix("::").is_some_and(|b| {
                let b = b.trim_end();
                types.iter().any(|t| b.ends_with(t))
            })
        };
        let read = match id {
            "SystemTime" => true,
            "UNIX_EPOCH" => !called_on(&["Timestamp"]),
            "now" => called_on(&[
                "Timestamp",
                "Zoned",
                "Utc",
                "Local",
                "OffsetDateTime",
                "Date",
            ]),
            "system" => called_on(&["clock"]) && after.starts_with('('),
            _ => false,
        };
        if read {
            found.push((source::line_of(code, at), id.to_string()));
        }
    }
    found
}

#[test]
fn the_center_reads_the_wall_clock_only_in_its_clock_adapter() {
    let adapter = root().join(CLOCK_ADAPTER);
    // Where the system clock is handed in: the center's start and its defaults.
    let hands_in = [
        root().join("crates/center/src/lib.rs"),
        root().join("crates/center/src/app/mod.rs"),
    ];
    for k in crates()
        .iter()
        .filter(|k| CENTER_CRATES.contains(&k.name.as_str()))
    {
        for f in rust_files(&k.dir.join("src")) {
            if f == adapter {
                continue;
            }
            let code = non_test_code(&f);
            for (line, what) in wall_clock_reads(&code) {
                if what == "system" && hands_in.contains(&f) {
                    continue;
                }
                panic!(
                    "{}:{line}: `{what}` reads the wall clock outside {CLOCK_ADAPTER}; take the \
                     time from the `Clock` in the settings (`app.now_ms()`, `s.now_ms()`)",
                    rel(&f)
                );
            }
        }
    }
}

#[test]
fn the_clock_check_finds_each_way_of_reading_the_clock() {
    let reads = |text: &str| wall_clock_reads(&source::non_test_code(text));
    assert!(!reads("let t = std::time::SystemTime::now();").is_empty());
    assert!(!reads("use std::time::{SystemTime, UNIX_EPOCH};").is_empty());
    assert!(!reads("let t = jiff::Timestamp::now();").is_empty());
    assert!(!reads("let z = Zoned :: now();").is_empty());
    assert!(!reads("let c = crate::clock::system();").is_empty());
    assert!(reads("let t = jiff::Timestamp::UNIX_EPOCH;").is_empty());
    assert!(reads("let d = tokio::time::Instant::now() + wait;").is_empty());
    assert!(reads("let n = app.now_ms(); // SystemTime::now()").is_empty());
    assert!(reads("#[cfg(test)]\nmod t { fn f() { std::time::SystemTime::now(); } }").is_empty());
}

#[test]
fn processes_run_only_in_agent_host_adapters() {
    let host = root().join("crates/agent/src/host");
    for k in crates()
        .iter()
        .filter(|k| k.name != "mamori" && k.name != "xtask")
    {
        for f in rust_files(&k.dir.join("src")) {
            if f.starts_with(&host) || f == root().join("crates/agent/src/host.rs") {
                continue;
            }
            let code = non_test_code(&f);
            // `std::process::id()` or `exit` run nothing; `Command`, `Child` and all of
            // `tokio::process` do.
            let mut found: Vec<usize> = ["std", "tokio"]
                .into_iter()
                .flat_map(|r| source::paths_from(&code, r))
                .filter(|(_, p)| {
                    let seg: Vec<&str> = p.split("::").collect();
                    seg.get(1) == Some(&"process")
                        && (seg[0] == "tokio"
                            || matches!(
                                seg.get(2).copied(),
                                None | Some("*" | "self" | "Command" | "Child" | "Stdio")
                            ))
                })
                .map(|(at, _)| at)
                .collect();
            found.extend(
                source::idents(&code)
                    .into_iter()
                    .filter(|(at, id)| {
                        let rest = code[at + id.len()..].trim_start();
                        *id == "Command"
                            && rest
                                .strip_prefix("::")
                                .is_some_and(|r| r.trim_start().starts_with("new"))
                    })
                    .map(|(at, _)| at),
            );
            if let Some(at) = found.first() {
                panic!(
                    "{}:{}: runs a process outside crates/agent/src/host",
                    rel(&f),
                    source::line_of(&code, *at)
                );
            }
        }
    }
}

#[test]
fn no_skipped_tests() {
    let needle = ["#[", "ignore"].concat();
    for f in rust_files(&root()) {
        let text = fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains(&needle),
            "{}: a skipped test is not a test; make it pass or delete it",
            rel(&f)
        );
    }
}

/// The places of the panel that may hand the templates raw HTML (`PreEscaped`): each
/// file with how many times, and why the markup is safe.
const RAW_HTML_ALLOWED: &[(&str, usize, &str)] = &[(
    "crates/center/src/http/panel/accounts.rs",
    1,
    "the TOTP QR code: SVG that auth::qr_svg draws from the otpauth URI",
)];

/// Where panel code builds markup outside the templates: `push_str` at all, a
/// `format!` whose text holds a tag, a hand-written escaping function, and each use of
/// `PreEscaped` (counted against [`RAW_HTML_ALLOWED`] by the caller). `text` is the
/// file; `code` is its non-test code (same offsets, literals blanked).
fn markup_outside_templates(text: &str, code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, id) in source::idents(code) {
        let rest = code[at + id.len()..].trim_start();
        let line = source::line_of(code, at);
        match id {
            "push_str" => found.push((line, "push_str".to_string())),
            "esc" | "escape_html" | "html_escape" if rest.starts_with('(') => {
                found.push((line, format!("{id}(")));
            }
            "PreEscaped" if rest.starts_with('(') => found.push((line, "PreEscaped(".into())),
            "format" if rest.starts_with('!') => {
                // The format string: the first literal after `format!(`, read from the
                // file (the code has it blanked).
                let open = at + id.len() + code[at + id.len()..].find('(').unwrap_or(0);
                let lit = text[open..]
                    .find('"')
                    .map(|q| open + q + 1)
                    .map(|from| {
                        // Up to the first quote that no backslash escapes.
                        let b = text.as_bytes();
                        let mut end = from;
                        while end < b.len() && b[end] != b'"' {
                            end += if b[end] == b'\\' { 2 } else { 1 };
                        }
                        String::from_utf8_lossy(&b[from..end.min(b.len())]).into_owned()
                    })
                    .unwrap_or_default();
                let tag = lit.as_bytes().windows(2).any(|w| {
                    w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!')
                });
                if tag {
                    found.push((line, "format! with markup".into()));
                }
            }
            _ => {}
        }
    }
    found
}

#[test]
fn the_panel_builds_html_only_with_templates() {
    let dir = root().join("crates/center/src/http/panel");
    let mut files = rust_files(&dir);
    files.push(root().join("crates/center/src/backoffice/document.rs"));
    assert!(files.len() > 5, "the panel's files moved: {files:?}");
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        let code = source::non_test_code(&text);
        let name = rel(&f);
        // The invoice document also builds plain text (its PDF lines): `push_str` is
        // markup only in the panel's own files.
        let strict = f.starts_with(&dir);
        let found: Vec<_> = markup_outside_templates(&text, &code)
            .into_iter()
            .filter(|(_, w)| strict || w != "push_str")
            .collect();
        let raw = found.iter().filter(|(_, w)| w == "PreEscaped(").count();
        let allowed = RAW_HTML_ALLOWED
            .iter()
            .find(|(p, _, _)| *p == name)
            .map_or(0, |(_, n, _)| *n);
        assert!(
            raw <= allowed,
            "{name}: {raw} uses of PreEscaped, {allowed} allowed; raw HTML goes only \
             where RAW_HTML_ALLOWED names it, with why it is safe"
        );
        if let Some((line, what)) = found.iter().find(|(_, w)| w != "PreEscaped(") {
            panic!(
                "{name}:{line}: {what} builds HTML by hand; the panel's markup is written \
                 in maud templates, which escape every value"
            );
        }
    }
}

#[test]
fn the_markup_check_sees_hand_built_html() {
    let check = |text: &str| {
        let code = source::non_test_code(text);
        markup_outside_templates(text, &code)
            .into_iter()
            .map(|(_, w)| w)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        check("fn f(n: &str) -> String { format!(\"<p>{}</p>\", esc(n)) }"),
        ["format! with markup", "esc("]
    );
    assert_eq!(
        check("fn f(b: &mut String) { b.push_str(\"x\"); }"),
        ["push_str"]
    );
    assert_eq!(
        check("fn f(s: String) -> Markup { html! { (PreEscaped(s)) } }"),
        ["PreEscaped("]
    );
    // Text, comments, a `use` and test code are not markup.
    assert!(
        check(
            "use maud::PreEscaped;\n// format!(\"<p>\")\nfn f(a: i64) -> String { format!(\"{a} < 5 — {}\", 1) }\n#[cfg(test)]\nmod tests { fn t() { let _ = format!(\"<b>\"); } }"
        )
        .is_empty()
    );
}
/// The feature that makes tests using software installed on the machine exist.
const EXTERNAL: &str = "external";

#[test]
fn scripts_test_enables_every_external_feature() {
    // Crates that declare the feature; it must enable nothing (it only makes tests exist).
    let mut declaring = BTreeSet::new();
    for k in crates() {
        let doc: toml::Table = fs::read_to_string(k.dir.join("Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        let Some(f) = doc.get("features").and_then(|f| f.get(EXTERNAL)) else {
            continue;
        };
        assert!(
            f.as_array().is_some_and(|a| a.is_empty()),
            "{}: the feature `{EXTERNAL}` only makes tests exist; it enables nothing",
            k.name
        );
        declaring.insert(format!("{}/{EXTERNAL}", k.name));
    }
    assert!(!declaring.is_empty(), "no crate declares `{EXTERNAL}`");
    // The list in scripts/test, and the cargo commands that take it.
    let script = fs::read_to_string(root().join("scripts/test")).unwrap();
    let list = script
        .lines()
        .find_map(|l| l.strip_prefix("EXTERNAL_FEATURES="))
        .expect("scripts/test sets EXTERNAL_FEATURES=");
    let named: BTreeSet<String> = list
        .trim_matches('"')
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        named, declaring,
        "scripts/test: EXTERNAL_FEATURES must name exactly the crates that declare `{EXTERNAL}`"
    );
    for command in ["cargo clippy --workspace", "cargo nextest run --workspace"] {
        assert!(
            script
                .lines()
                .any(|l| l.starts_with(command) && l.contains("--features \"$EXTERNAL_FEATURES\"")),
            "scripts/test: `{command}` runs with --features \"$EXTERNAL_FEATURES\""
        );
    }
}
