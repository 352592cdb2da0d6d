//! `mamori policy check|compile|eval` from the command line.

use std::path::PathBuf;
use std::process::{Command, Output};

fn data(name: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../policy/tests/data")
        .join(name)
}

fn mamori(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(args)
        .output()
        .expect("run mamori")
}

#[test]
fn check_reports_all_errors_with_positions_and_fails() {
    let bad = data("bad.toml");
    let out = mamori(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "bad.toml:3:57: error: unknown key `colour` in an interface",
        "bad.toml:21:6: error: unknown zone `mars`",
        "bad.toml:22:10: error: unknown address object `nope`",
        "bad.toml:41:6: error: port forward target 10.9.9.9 is not reachable",
        "bad.toml:47:12: error: load balancer pool has no backends",
        "hint: use accept, drop or reject",
        "10 error(s), 5 warning(s)",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

#[test]
fn check_passes_with_warnings_only_and_reads_the_list_file() {
    let out = mamori(&["policy", "check", data("office.toml").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("0 error(s), 1 warning(s)"), "{err}");
    assert!(
        !err.contains("list `threats`"),
        "the list file was read: {err}"
    );
}

#[test]
fn check_json_lists_diagnostics() {
    let out = mamori(&[
        "policy",
        "check",
        "--json",
        data("bad.toml").to_str().unwrap(),
    ]);
    let v: mamori_policy::serde_json::Value =
        mamori_policy::serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 15);
    assert_eq!(arr[0]["line"], 3);
    assert_eq!(arr[0]["severity"], "error");
}

#[test]
fn compile_refuses_an_invalid_policy() {
    let out = mamori(&["policy", "compile", data("bad.toml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has errors; nothing was compiled"));
}

#[test]
fn compile_prints_json_and_nft_text() {
    let f = data("office.toml");
    let json = mamori(&["policy", "compile", f.to_str().unwrap()]);
    assert!(json.status.success());
    let v: mamori_policy::serde_json::Value =
        mamori_policy::serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["nftables"][1]["add"]["table"]["name"], "mamori");
    let text = mamori(&["policy", "compile", "--format", "nft", f.to_str().unwrap()]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("table inet mamori {}\ndelete table inet mamori\n"));
    assert!(text.contains("198.18.0.0/15"), "list contents compiled in");
}

#[test]
fn eval_answers_verdict_rule_and_nat() {
    let f = data("office.toml");
    let out = mamori(&[
        "policy",
        "eval",
        f.to_str().unwrap(),
        "--packet",
        "tcp 203.0.113.5:40000 -> 198.51.100.1:8080 in wan",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text,
        "verdict: accept\nmatched: port forward cam\npath: forward wan0 (wan) -> dmz0 (dmz)\ndnat: port_forward cam to 192.0.2.71:80\n"
    );
    let out = mamori(&[
        "policy",
        "eval",
        f.to_str().unwrap(),
        "--json",
        "--packet",
        "tcp 192.0.2.41:40000 -> 203.0.113.7:443 in lan",
    ]);
    let v: mamori_policy::serde_json::Value =
        mamori_policy::serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "reject");
    assert_eq!(v["matched"]["name"], "no-printing-out");
    assert_eq!(v["matched"]["counter"], "rule_no-printing-out");
}

#[test]
fn eval_explains_a_bad_packet() {
    let out = mamori(&[
        "policy",
        "eval",
        data("office.toml").to_str().unwrap(),
        "--packet",
        "tcp 192.0.2.1 -> nowhere",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad --packet"), "{err}");
    assert!(err.contains("write e.g."), "{err}");
}

#[test]
fn an_unreadable_list_is_an_error_at_its_declaration() {
    let dir = std::env::temp_dir().join(format!("mamori-policy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("office.toml");
    std::fs::copy(data("office.toml"), &f).unwrap();
    let out = mamori(&["policy", "check", f.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("office.toml:23:1: error: cannot use list `threats`: cannot read"),
        "{err}"
    );
    // `--list` supplies it instead.
    let out = mamori(&[
        "policy",
        "check",
        f.to_str().unwrap(),
        "--list",
        &format!("threats={}", data("threats.txt").display()),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = mamori(&[
        "policy",
        "check",
        f.to_str().unwrap(),
        "--list",
        "nope=/dev/null",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not declare"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_warns_when_management_leaves_out_the_operations_center() {
    let f = data("office.toml");
    let f = f.to_str().unwrap();
    // The office admits 203.0.113.10 and 2001:db8:ff::/48, not 192.0.2.0/24.
    let out = mamori(&[
        "policy",
        "check",
        f,
        "--management",
        "203.0.113.10,192.0.2.0/24",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "a warning, not an error: {err}");
    assert!(
        err.contains("office.toml:9:10: warning: `center` leaves out the operations center's address 192.0.2.0/24: the center would lose ping, SSH, SNMP and HTTPS to the gateway"),
        "{err}"
    );
    assert!(
        err.contains("hint: add \"192.0.2.0/24\" to [management] center"),
        "{err}"
    );
    assert!(err.contains("0 error(s), 2 warning(s)"), "{err}");
    // JSON too.
    let out = mamori(&[
        "policy",
        "check",
        "--json",
        f,
        "--management",
        "192.0.2.0/24",
    ]);
    let v: mamori_policy::serde_json::Value =
        mamori_policy::serde_json::from_slice(&out.stdout).unwrap();
    let gap = v
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("leaves out"))
        .expect("the management warning");
    assert_eq!(
        (&gap["severity"], &gap["line"], &gap["column"]),
        (&"warning".into(), &9.into(), &10.into())
    );
    // Addresses inside the management set: no warning.
    let out = mamori(&[
        "policy",
        "check",
        f,
        "--management",
        "203.0.113.10,2001:db8:ff:1::/64",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0 error(s), 1 warning(s)"), "{err}");
    assert!(!err.contains("leaves out"), "{err}");
    // A bad address is an error that says what to write.
    let out = mamori(&["policy", "check", f, "--management", "center.example.jp"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("bad --management `center.example.jp`"),
        "{err}"
    );
}
