//! The executor of safe apply in standalone mode: it keeps the state and the rulesets of
//! the revisions in a state directory, asks the pure state machine
//! ([`crate::safe_apply`]) what to do, does it with the nft adapter, and persists the new
//! state only when that succeeded.
//!
//! State directory layout:
//!
//! | file | what |
//! |---|---|
//! | `state.json` | [`State`]: current, previous and pending revisions |
//! | `revisions/N.json` | the ruleset of revision N (0, the empty ruleset, has no file) |
//! | `lock` | held (flock) while a command reads and changes the state |
//! | `waiter.log` | output of background rollback waiters |

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::host::nft::{Nft, NftError, Ruleset};
use crate::safe_apply::{Action, Command, EMPTY, Millis, Note, SafeApplyError, State};

/// What went wrong in a standalone command.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    #[error("{path}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{path}: the state file is damaged: {detail} (hint: inspect it, or move it away to start afresh)"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(transparent)]
    State(#[from] SafeApplyError),
    #[error(transparent)]
    Nft(#[from] NftError),
    #[error(
        "cannot start the rollback waiter: {detail}; the previous ruleset was restored \
         (hint: check that the agent binary can be executed)"
    )]
    Arm { detail: String },
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub note: Note,
    /// For a waiter: sleep until then and call [`Standalone::on_deadline`] again.
    pub wait_until: Option<Millis>,
}

/// Safe apply over a state directory.
pub struct Standalone {
    dir: PathBuf,
    nft: Nft,
}

impl Standalone {
    /// Opens (creating if needed) the state directory.
    pub fn open(dir: impl Into<PathBuf>, nft: Nft) -> Result<Standalone, StandaloneError> {
        let dir = dir.into();
        let revs = dir.join("revisions");
        fs::create_dir_all(&revs).map_err(|source| StandaloneError::Io {
            path: revs.clone(),
            source,
        })?;
        Ok(Standalone { dir, nft })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log file background waiters write to.
    pub fn waiter_log(&self) -> PathBuf {
        self.dir.join("waiter.log")
    }

    /// The persisted state (the default state when none was saved yet).
    pub fn state(&self) -> Result<State, StandaloneError> {
        let path = self.dir.join("state.json");
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| StandaloneError::Corrupt {
                path,
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StandaloneError::Io { path, source }),
        }
    }

    /// The stored ruleset of a revision (`None` for revision 0, the empty ruleset).
    pub fn revision(&self, n: u64) -> Result<Option<Ruleset>, StandaloneError> {
        if n == EMPTY {
            return Ok(None);
        }
        let path = self.rev_path(n);
        let text = fs::read_to_string(&path).map_err(|source| StandaloneError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StandaloneError::Corrupt {
                path,
                detail: e.to_string(),
            })
    }

    /// Applies `ruleset` as a new revision. With `confirm_within_ms`, `arm` is called to
    /// start a waiter that calls [`Standalone::on_deadline`] at the deadline; if it cannot
    /// be started, the previous ruleset is restored and the apply fails.
    pub fn apply(
        &self,
        ruleset: &Ruleset,
        source: &str,
        now: Millis,
        confirm_within_ms: Option<u64>,
        arm: impl FnOnce(u64, Millis) -> Result<(), String>,
    ) -> Result<Report, StandaloneError> {
        let _lock = self.lock()?;
        let state = self.state()?;
        let t = state.step(now, Command::Apply { confirm_within_ms })?;
        let revision = state.next_revision();
        self.write_json(&self.rev_path(revision), ruleset)?;
        let mut arm = Some(arm);
        for action in &t.actions {
            match *action {
                Action::Apply { revision: r } => {
                    if let Err(e) = self.nft.apply_from(ruleset, source) {
                        debug_assert_eq!(r, revision);
                        let _ = fs::remove_file(self.rev_path(revision));
                        return Err(e.into());
                    }
                }
                Action::ArmRollback {
                    revision: r,
                    deadline,
                } => {
                    let arm = arm.take().expect("one rollback is armed per apply");
                    if let Err(detail) = arm(r, deadline) {
                        self.apply_revision(state.current)?;
                        let _ = fs::remove_file(self.rev_path(revision));
                        return Err(StandaloneError::Arm { detail });
                    }
                }
                Action::WaitUntil(_) => {}
            }
        }
        self.save(&t.state)?;
        Ok(Report {
            note: t.note,
            wait_until: None,
        })
    }

    /// Keeps the pending revision.
    pub fn confirm(&self, now: Millis) -> Result<Report, StandaloneError> {
        self.run(now, Command::Confirm)
    }

    /// Restores the previous revision (or, while one is pending, the one it replaced).
    pub fn rollback(&self, now: Millis) -> Result<Report, StandaloneError> {
        self.run(now, Command::Rollback)
    }

    /// The waiter of `revision` woke up at `now`.
    pub fn on_deadline(&self, revision: u64, now: Millis) -> Result<Report, StandaloneError> {
        self.run(now, Command::Deadline { revision })
    }

    fn run(&self, now: Millis, cmd: Command) -> Result<Report, StandaloneError> {
        let _lock = self.lock()?;
        let state = self.state()?;
        let t = state.step(now, cmd)?;
        let mut wait_until = None;
        for action in &t.actions {
            match *action {
                Action::Apply { revision } => self.apply_revision(revision)?,
                Action::WaitUntil(at) => wait_until = Some(at),
                Action::ArmRollback { .. } => {
                    unreachable!("only Apply arms a rollback")
                }
            }
        }
        if t.state != state {
            self.save(&t.state)?;
        }
        Ok(Report {
            note: t.note,
            wait_until,
        })
    }

    fn apply_revision(&self, n: u64) -> Result<(), StandaloneError> {
        match self.revision(n)? {
            None => self.nft.remove_table()?,
            Some(rs) => self.nft.apply(&rs)?,
        }
        Ok(())
    }

    fn save(&self, state: &State) -> Result<(), StandaloneError> {
        self.write_json(&self.dir.join("state.json"), state)?;
        // Keep only the revisions the state can still restore.
        let keep = [
            Some(state.current),
            state.previous,
            state.pending.map(|p| p.restore),
        ];
        let revs = self.dir.join("revisions");
        if let Ok(entries) = fs::read_dir(&revs) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name
                    .strip_suffix(".json")
                    .and_then(|s| s.parse::<u64>().ok());
                if let Some(n) = n
                    && !keep.contains(&Some(n))
                {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }

    fn write_json<T: serde::Serialize>(
        &self,
        path: &Path,
        value: &T,
    ) -> Result<(), StandaloneError> {
        let text = serde_json::to_string_pretty(value).expect("state serializes");
        crate::state::replace_file(path, text.as_bytes(), false).map_err(|source| {
            StandaloneError::Io {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    fn rev_path(&self, n: u64) -> PathBuf {
        self.dir.join("revisions").join(format!("{n}.json"))
    }

    fn lock(&self) -> Result<File, StandaloneError> {
        let path = self.dir.join("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StandaloneError::Io {
                path: path.clone(),
                source,
            })?;
        f.lock()
            .map_err(|source| StandaloneError::Io { path, source })?;
        Ok(f)
    }
}
