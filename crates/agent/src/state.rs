//! The agent's state directory and its one state file, written atomically
//! (write a temporary file, fsync, rename, fsync the directory): a kill at any point
//! leaves either the old or the new state, never a mix.
//!
//! | file | what |
//! |---|---|
//! | `identity.json` | [`Identity`]: the center's URL, the site and unit the certificate names |
//! | `key.pem` | the agent's private key (mode 0600) |
//! | `cert.pem` | the agent's certificate, issued by the center's CA |
//! | `ca.pem` | the center's CA (the only root the agent trusts) |
//! | `reconcile.json` | [`ReconcileState`]: safe-apply state, the rulesets it can restore, the applied generation, queued reports |
//! | `lock` | held (flock) by the running agent, so two never run on one directory |

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::host::nft::Ruleset;
use crate::queue::Queue;
use crate::safe_apply;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{path}: the file is damaged: {detail} (hint: inspect it; enrol again if it cannot be repaired)"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{dir} holds no enrolled agent (hint: enrol first: mamori agent enrol --center https://HOST:PORT --token TOKEN --state-dir {dir})"
    )]
    NotEnrolled { dir: PathBuf },
    #[error("another agent is running on {dir}")]
    Locked { dir: PathBuf },
}

/// Writes `bytes` to `path` atomically and durably; `private` makes the file 0600.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), StateError> {
    replace_file(path, bytes, private).map_err(|source| StateError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// [`write_atomic`] with the bare I/O error, for state files of other kinds (the
/// standalone executor's).
pub(crate) fn replace_file(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes).and_then(|_| f.sync_all())?;
    drop(f);
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all())?;
    }
    Ok(())
}

/// Who this agent is (written at enrolment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub center: String,
    pub site_id: i64,
    pub equipment_id: i64,
}

/// The files of a state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>) -> StateDir {
        StateDir { dir: dir.into() }
    }
    pub fn identity(&self) -> PathBuf {
        self.dir.join("identity.json")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn reconcile(&self) -> PathBuf {
        self.dir.join("reconcile.json")
    }

    pub fn create(&self) -> Result<(), StateError> {
        fs::create_dir_all(&self.dir).map_err(|source| StateError::Io {
            path: self.dir.clone(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(
                |source| StateError::Io {
                    path: self.dir.clone(),
                    source,
                },
            )?;
        }
        Ok(())
    }

    pub fn read(&self, path: &Path) -> Result<String, StateError> {
        fs::read_to_string(path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                StateError::NotEnrolled {
                    dir: self.dir.clone(),
                }
            } else {
                StateError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })
    }

    pub fn load_identity(&self) -> Result<Identity, StateError> {
        let path = self.identity();
        let text = self.read(&path)?;
        serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path,
            detail: e.to_string(),
        })
    }

    /// The reconcile state; the default (nothing applied) when there is none yet.
    pub fn load_reconcile(&self) -> Result<ReconcileState, StateError> {
        let path = self.reconcile();
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                path,
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(ReconcileState::default()),
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    pub fn save_reconcile(&self, s: &ReconcileState) -> Result<(), StateError> {
        let text = serde_json::to_vec_pretty(s).expect("the state serializes");
        write_atomic(&self.reconcile(), &text, true)
    }

    /// Holds the directory's lock for as long as the returned file lives.
    pub fn lock(&self) -> Result<File, StateError> {
        let path = self.dir.join("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StateError::Io {
                path: path.clone(),
                source,
            })?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(fs::TryLockError::WouldBlock) => Err(StateError::Locked {
                dir: self.dir.clone(),
            }),
            Err(fs::TryLockError::Error(source)) => Err(StateError::Io { path, source }),
        }
    }
}

/// One configuration the agent can run: a generation's compiled ruleset and settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applied {
    pub generation: i64,
    pub ruleset: Ruleset,
    /// The gateway settings (JSON) of the generation.
    pub settings: serde_json::Value,
    /// The live table as read back after the apply, normalised ([`crate::drift`]): what
    /// the drift check compares with.
    #[serde(default)]
    pub live: Option<serde_json::Value>,
}

/// Everything the reconcile loop keeps across restarts, in one file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileState {
    /// Safe apply: current, previous and pending revision numbers (agent-local).
    pub safe: safe_apply::State,
    /// The configurations of the revisions the state can still run or restore.
    pub revisions: BTreeMap<u64, Applied>,
    /// The newest generation tried (applied, failed or rolled back): the long-poll asks
    /// for newer ones only, so a failed generation is not tried again and again.
    pub attempted: i64,
    /// The newest older generation refused, so each is reported once.
    #[serde(default)]
    pub refused: Option<i64>,
    /// Drift of the current revision was seen and reported (cleared when the live table
    /// matches again or another revision runs).
    #[serde(default)]
    pub drift_reported: bool,
    /// Reports not yet acknowledged by the center.
    #[serde(default)]
    pub queue: Queue,
}

impl ReconcileState {
    /// The generation running now (0: none).
    pub fn applied_generation(&self) -> i64 {
        self.revisions
            .get(&self.safe.current)
            .map(|a| a.generation)
            .unwrap_or(0)
    }

    /// The configuration running now.
    pub fn current(&self) -> Option<&Applied> {
        self.revisions.get(&self.safe.current)
    }

    /// What the long-poll asks for: generations after this one.
    pub fn after(&self) -> i64 {
        self.applied_generation().max(self.attempted)
    }

    /// Drops the configurations the state can no longer run or restore.
    pub fn prune(&mut self) {
        let keep = [
            Some(self.safe.current),
            self.safe.previous,
            self.safe.pending.map(|p| p.restore),
        ];
        self.revisions.retain(|n, _| keep.contains(&Some(*n)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_whole_file_and_keeps_keys_private() {
        let dir = std::env::temp_dir().join(format!("mamori-state-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("key.pem");
        write_atomic(&p, b"first", true).unwrap();
        write_atomic(&p, b"second", true).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "second");
        assert!(!p.with_extension("tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn after_is_the_newest_of_applied_and_attempted() {
        let mut s = ReconcileState::default();
        assert_eq!(s.after(), 0);
        s.safe.current = 1;
        s.revisions.insert(
            1,
            Applied {
                generation: 4,
                ruleset: Ruleset::Nft(String::new()),
                settings: serde_json::Value::Null,
                live: None,
            },
        );
        assert_eq!(s.after(), 4);
        s.attempted = 6;
        assert_eq!(s.after(), 6);
    }
}
