//! Reading a policy document from disk for enforcement: the document, the external
//! address lists it declares (files relative to the document), validation, compilation.
//! An invalid policy yields every error, located, and nothing is applied.

use std::fs;
use std::path::{Path, PathBuf};

use mamori_policy as policy;

use crate::host::nft::Ruleset;

/// Why a policy file cannot be enforced.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read list `{name}` from {path}")]
    List {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "list `{name}` has bad entries:\n{lines}\nhint: one address, CIDR or range per line; `#` starts a comment"
    )]
    BadList { name: String, lines: String },
    #[error(
        "{file} has {count} error(s); nothing was applied:\n{report}\nhint: `mamori policy check {file}` lists every problem"
    )]
    Invalid {
        file: String,
        count: usize,
        report: String,
    },
}

/// A checked policy with its warnings (rendered `file:line:col: ...`).
pub struct Loaded {
    pub policy: policy::Policy,
    pub warnings: Vec<String>,
}

/// Reads and checks a policy document and the external lists it declares.
pub fn load(file: &Path) -> Result<Loaded, PolicyFileError> {
    let src = fs::read_to_string(file).map_err(|source| PolicyFileError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut lists = policy::Lists::new();
    for decl in policy::declared_lists(&src) {
        let Some(f) = decl.file else { continue };
        let path = base.join(f);
        let text = fs::read_to_string(&path).map_err(|source| PolicyFileError::List {
            name: decl.name.clone(),
            path: path.clone(),
            source,
        })?;
        match policy::parse_list(&text) {
            Ok(set) => {
                lists.insert(decl.name, set);
            }
            Err(errors) => {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|(line, e)| format!("{}:{line}: {e}", path.display()))
                    .collect();
                return Err(PolicyFileError::BadList {
                    name: decl.name,
                    lines: lines.join("\n"),
                });
            }
        }
    }
    let checked = policy::check(&src, &lists);
    let name = file.display().to_string();
    let render = |errors: bool| -> Vec<String> {
        checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error() == errors)
            .map(|d| d.display(&name).to_string())
            .collect()
    };
    let errors = render(true);
    match checked.policy {
        Some(p) if errors.is_empty() => Ok(Loaded {
            policy: p,
            warnings: render(false),
        }),
        _ => Err(PolicyFileError::Invalid {
            count: errors.len().max(1),
            report: errors.join("\n"),
            file: name,
        }),
    }
}

/// The production compilation of a checked policy, as `nft -f` text.
pub fn ruleset(p: &policy::Policy) -> Ruleset {
    Ruleset::Nft(policy::compile(p, policy::Mode::Sets).to_text())
}
