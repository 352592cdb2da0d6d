//! The nftables adapter: applies a ruleset to the `inet mamori` table atomically with one
//! `nft -f` transaction, reads the live table back, and removes it.
//!
//! Every apply is one transaction that (1) creates the table if it is missing, (2) deletes
//! it, and (3) defines it anew from the ruleset. Either all of it takes effect or none of
//! it: a ruleset that `nft` rejects leaves the running table as it was.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// The family and name of the table the agent owns. Nothing outside it is touched.
pub const FAMILY: &str = "inet";
pub const TABLE: &str = "mamori";

/// The start of every apply transaction: make sure the table exists, then delete it.
const TEXT_PREAMBLE: &str = "table inet mamori {}\ndelete table inet mamori\n";

/// A ruleset for the `inet mamori` table, in one of the two syntaxes `nft` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", content = "text", rename_all = "lowercase")]
pub enum Ruleset {
    /// nft's text syntax, defining `table inet mamori { ... }`.
    Nft(String),
    /// libnftables JSON (`{"nftables": [...]}`), adding the table and its contents.
    Json(String),
}

impl Ruleset {
    /// The whole transaction given to `nft -f`: create, delete and redefine the table.
    /// A ruleset that already starts that way (the policy compiler's output) is kept as is.
    pub fn transaction(&self) -> Result<String, NftError> {
        match self {
            Ruleset::Nft(body) if body.starts_with(TEXT_PREAMBLE) => Ok(body.clone()),
            Ruleset::Nft(body) => Ok(format!("{TEXT_PREAMBLE}{body}\n")),
            Ruleset::Json(text) => {
                let doc: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| NftError::BadJson {
                        detail: e.to_string(),
                    })?;
                let items = doc
                    .get("nftables")
                    .and_then(|v| v.as_array())
                    .ok_or_else(|| NftError::BadJson {
                        detail: "the top level must be an object with an `nftables` array".into(),
                    })?;
                let table = serde_json::json!({"family": FAMILY, "name": TABLE});
                let mut out = vec![
                    serde_json::json!({"add": {"table": table.clone()}}),
                    serde_json::json!({"delete": {"table": table}}),
                ];
                let rest: Vec<&serde_json::Value> = items
                    .iter()
                    .filter(|i| i.get("metainfo").is_none())
                    .collect();
                let has_preamble = rest.len() >= 2 && rest[0] == &out[0] && rest[1] == &out[1];
                if has_preamble {
                    out.clear();
                }
                out.extend(rest.into_iter().cloned());
                Ok(serde_json::json!({ "nftables": out }).to_string())
            }
        }
    }

    fn is_json(&self) -> bool {
        matches!(self, Ruleset::Json(_))
    }
}

/// What went wrong talking to nftables.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("cannot run `{program}` (hint: install the nftables package and run as root)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("nft rejected the ruleset; the running ruleset is unchanged:\n{stderr}")]
    Rejected { stderr: String },
    #[error("nft failed: {stderr}")]
    Failed { stderr: String },
    #[error("the ruleset is not valid nftables JSON: {detail}")]
    BadJson { detail: String },
}

/// Runs `nft` (by default the one on `PATH`) in the current network namespace.
#[derive(Debug, Clone)]
pub struct Nft {
    program: PathBuf,
}

impl Default for Nft {
    fn default() -> Self {
        Nft {
            program: PathBuf::from("nft"),
        }
    }
}

impl Nft {
    pub fn with_program(program: impl Into<PathBuf>) -> Nft {
        Nft {
            program: program.into(),
        }
    }

    /// Replaces the `inet mamori` table with `ruleset`, atomically.
    pub fn apply(&self, ruleset: &Ruleset) -> Result<(), NftError> {
        self.apply_from(ruleset, "ruleset")
    }

    /// Like [`Nft::apply`]; nft's error positions are given as `source:line:col` of the
    /// ruleset (not of the transaction around it).
    pub fn apply_from(&self, ruleset: &Ruleset, source: &str) -> Result<(), NftError> {
        let tx = ruleset.transaction()?;
        self.run_script(&tx, ruleset.is_json(), false)
            .map_err(|e| match e {
                NftError::Failed { stderr } => NftError::Rejected {
                    stderr: relocate(&stderr, source, ruleset),
                },
                e => e,
            })
    }

    /// Checks that `nft` would accept the ruleset, without applying it (`nft -c`).
    pub fn check(&self, ruleset: &Ruleset) -> Result<(), NftError> {
        let tx = ruleset.transaction()?;
        self.run_script(&tx, ruleset.is_json(), true)
            .map_err(|e| match e {
                NftError::Failed { stderr } => NftError::Rejected { stderr },
                e => e,
            })
    }

    /// Whether this kernel can run a flowtable on these interfaces (the policy's fast
    /// path): `Ok(None)` when it can, `Ok(Some(reason))` with nft's message when it
    /// cannot (a kernel without `CONFIG_NF_FLOW_TABLE`, or an interface that does not
    /// exist). Checked with `nft -c` on a table of its own: nothing is changed.
    pub fn flowtable_unsupported(&self, devices: &[String]) -> Result<Option<String>, NftError> {
        let quoted: Vec<String> = devices.iter().map(|d| format!("\"{d}\"")).collect();
        let script = format!(
            "table {FAMILY} {TABLE}_probe {{\n\tflowtable ft {{\n\t\thook ingress priority 0; devices = {{ {} }};\n\t}}\n}}\n",
            quoted.join(", ")
        );
        match self.run_script(&script, false, true) {
            Ok(()) => Ok(None),
            Err(NftError::Failed { stderr }) => Ok(Some(
                stderr
                    .lines()
                    .find(|l| l.contains("Error:"))
                    .map(|l| l.split("Error:").nth(1).unwrap_or(l).trim().to_string())
                    .unwrap_or(stderr),
            )),
            Err(e) => Err(e),
        }
    }

    /// Turns the policy's forwarding fast path off when this host cannot create its
    /// flowtable (a kernel without `CONFIG_NF_FLOW_TABLE`, or an interface of the policy
    /// missing), and says why; the rest of the policy is unchanged.
    pub fn fit_fast_path(
        &self,
        p: &mut mamori_policy::model::Policy,
    ) -> Result<Option<String>, NftError> {
        if !p.fast_path {
            return Ok(None);
        }
        let devices: Vec<String> = p.interfaces.iter().map(|i| i.name.clone()).collect();
        let Some(why) = self.flowtable_unsupported(&devices)? else {
            return Ok(None);
        };
        p.fast_path = false;
        Ok(Some(format!(
            "note: the forwarding fast path is off: nftables cannot create a flowtable on {} ({why}); \
             the policy is applied without it (hint: a kernel with CONFIG_NF_FLOW_TABLE, and every \
             interface of the policy present; or `[options] fast_path = false` to silence this)",
            devices.join(", ")
        )))
    }

    /// Removes the `inet mamori` table (no error when it is absent).
    pub fn remove_table(&self) -> Result<(), NftError> {
        self.run_script(
            &format!("table {FAMILY} {TABLE} {{}}\ndelete table {FAMILY} {TABLE}\n"),
            false,
            false,
        )
    }

    /// Runs an nft script (text) as one transaction, e.g. an update of a set or map.
    pub fn run_script(&self, script: &str, json: bool, check_only: bool) -> Result<(), NftError> {
        let mut cmd = Command::new(&self.program);
        if json {
            cmd.arg("-j");
        }
        if check_only {
            cmd.arg("-c");
        }
        cmd.args(["-f", "-"]);
        let out = self.run(cmd, Some(script.as_bytes()))?;
        if !out.status.success() {
            return Err(NftError::Failed {
                stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
            });
        }
        Ok(())
    }

    /// The live `inet mamori` table as libnftables JSON, `None` when there is no table.
    pub fn list_json(&self) -> Result<Option<serde_json::Value>, NftError> {
        let mut cmd = Command::new(&self.program);
        cmd.args(["-j", "list", "table", FAMILY, TABLE]);
        let Some(text) = self.list(cmd)? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| NftError::Failed {
                stderr: format!("nft printed JSON that does not parse: {e}"),
            })
    }

    /// The live `inet mamori` table in nft's text syntax, `None` when there is no table.
    pub fn list_text(&self) -> Result<Option<String>, NftError> {
        let mut cmd = Command::new(&self.program);
        cmd.args(["list", "table", FAMILY, TABLE]);
        self.list(cmd)
    }

    fn list(&self, cmd: Command) -> Result<Option<String>, NftError> {
        let out = self.run(cmd, None)?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("No such file or directory") {
                return Ok(None);
            }
            return Err(NftError::Failed {
                stderr: stderr.trim_end().to_string(),
            });
        }
        Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    fn run(
        &self,
        mut cmd: Command,
        stdin: Option<&[u8]>,
    ) -> Result<std::process::Output, NftError> {
        let spawn_err = |source| NftError::Spawn {
            program: self.program.display().to_string(),
            source,
        };
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(spawn_err)?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            // nft reads all of stdin before it acts; a write error means it died early,
            // and its stderr says why.
            let _ = pipe.write_all(input);
        }
        child.wait_with_output().map_err(spawn_err)
    }
}

/// Rewrites nft's `/dev/stdin:LINE:COL` positions to `source:LINE:COL` of the ruleset:
/// the text transaction has two lines before the ruleset.
fn relocate(stderr: &str, source: &str, ruleset: &Ruleset) -> String {
    let shift = match ruleset {
        Ruleset::Nft(body) if !body.starts_with(TEXT_PREAMBLE) => 2,
        _ => 0,
    };
    let mut out = String::new();
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("/dev/stdin:") {
            let (pos, msg) = rest.split_once(": ").unwrap_or((rest, ""));
            let mut parts = pos.splitn(2, ':');
            let l = parts.next().and_then(|l| l.parse::<usize>().ok());
            let col = parts.next().unwrap_or("");
            match l {
                Some(l) if !ruleset.is_json() && l > shift => {
                    out.push_str(&format!("{source}:{}:{col}: {msg}\n", l - shift))
                }
                _ => out.push_str(&format!("{source}: {msg}\n")),
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.trim_end().to_string()
}

/// Counts the rules of the live table (for status and tests).
pub fn rule_count(live: &serde_json::Value) -> usize {
    live.get("nftables")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter(|i| i.get("rule").is_some()).count())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_transaction_creates_deletes_and_redefines_the_table() {
        let tx = Ruleset::Nft("table inet mamori { }".into())
            .transaction()
            .unwrap();
        assert_eq!(
            tx,
            "table inet mamori {}\ndelete table inet mamori\ntable inet mamori { }\n"
        );
    }

    #[test]
    fn json_transaction_prepends_add_and_delete_and_drops_metainfo() {
        let rs = Ruleset::Json(
            r#"{"nftables":[{"metainfo":{"json_schema_version":1}},{"add":{"table":{"family":"inet","name":"mamori"}}}]}"#
                .into(),
        );
        let tx: serde_json::Value = serde_json::from_str(&rs.transaction().unwrap()).unwrap();
        let items = tx["nftables"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert!(items[0].get("add").is_some());
        assert!(items[1].get("delete").is_some());
        assert!(items[2].get("add").is_some());
    }

    #[test]
    fn error_positions_point_into_the_ruleset() {
        let e = "/dev/stdin:4:71-71: Error: syntax error\n  chain input { bogus }\n";
        assert_eq!(
            relocate(e, "r.nft", &Ruleset::Nft("table inet mamori {}".into())),
            "r.nft:2:71-71: Error: syntax error\n  chain input { bogus }"
        );
    }

    #[test]
    fn ruleset_with_its_own_preamble_is_not_wrapped_twice() {
        let body = format!("{TEXT_PREAMBLE}table inet mamori {{ }}\n");
        assert_eq!(Ruleset::Nft(body.clone()).transaction().unwrap(), body);
        let json = r#"{"nftables":[{"metainfo":{}},{"add":{"table":{"family":"inet","name":"mamori"}}},{"delete":{"table":{"family":"inet","name":"mamori"}}},{"add":{"table":{"family":"inet","name":"mamori"}}}]}"#;
        let tx: serde_json::Value =
            serde_json::from_str(&Ruleset::Json(json.into()).transaction().unwrap()).unwrap();
        assert_eq!(tx["nftables"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn json_without_nftables_array_is_a_clear_error() {
        let err = Ruleset::Json("{}".into()).transaction().unwrap_err();
        assert!(err.to_string().contains("`nftables` array"), "{err}");
        let err = Ruleset::Json("{".into()).transaction().unwrap_err();
        assert!(err.to_string().contains("not valid nftables JSON"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn relocate_never_panics(stderr in ".{0,200}", body in ".{0,50}") {
            let _ = relocate(&stderr, "f.nft", &Ruleset::Nft(body));
            let _ = relocate(&stderr, "f.json", &Ruleset::Json(String::new()));
        }

        #[test]
        fn json_transaction_never_panics(text in ".{0,200}") {
            let _ = Ruleset::Json(text).transaction();
        }
    }
}
