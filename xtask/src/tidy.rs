//! Tidy checks: the layout and dependency rules of `ARCHITECTURE.md`, enforced by
//! `cargo test -p xtask`. Each check names the rule it enforces.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Crates that do no I/O: no runtime, database, network, processes or clocks.
const PURE: &[&str] = &[
    "mamori-policy",
    "mamori-billing",
    "mamori-ids",
    "mamori-api",
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

/// Source patterns that mean I/O or a clock, forbidden in the `src/` of pure crates.
const IO_PATTERNS: &[&str] = &[
    "std::fs",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "std::process",
    "std::env",
    "SystemTime::now",
    "Instant::now",
    "thread::sleep",
    "File::open",
    "File::create",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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

/// Removes `#[cfg(test)] mod ... { ... }` blocks at the end of a file, roughly: everything
/// from the first `#[cfg(test)]` on. Unit tests of pure crates may use fixtures.
fn non_test_part(text: &str) -> &str {
    match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    }
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
                d != "mamori-center" && d != "mamori-agent" && d != "mamori",
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
            let text = fs::read_to_string(&f).unwrap();
            let text = non_test_part(&text);
            for pat in IO_PATTERNS {
                assert!(
                    !text.contains(pat),
                    "{}: `{pat}` in a pure crate; time and data come in as values",
                    rel(&f)
                );
            }
        }
    }
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
            allowed.contains(&d.as_str()),
            "mamori-api depends on `{d}`; it holds wire types only"
        );
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

#[test]
fn sql_lives_only_in_the_center_store() {
    let store = root().join("crates/center/src/store");
    for k in crates().iter().filter(|k| k.name != "xtask") {
        for f in rust_files(&k.dir.join("src")) {
            if f.starts_with(&store) || f == root().join("crates/center/src/store.rs") {
                continue;
            }
            let text = fs::read_to_string(&f).unwrap();
            assert!(
                !text.contains("sqlx::"),
                "{}: uses sqlx outside crates/center/src/store",
                rel(&f)
            );
        }
    }
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
            let text = fs::read_to_string(&f).unwrap();
            let text = non_test_part(&text);
            for pat in ["process::Command", "Command::new("] {
                assert!(
                    !text.contains(pat),
                    "{}: runs a process outside crates/agent/src/host",
                    rel(&f)
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
