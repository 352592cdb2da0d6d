//! The data directory's permissions: the directory and the CA directory in it are 0700,
//! the center's files in it (the SQLite database and its `-wal`/`-shm` companions,
//! `secret.key`, `center.toml`, the CA's files) 0600. A new directory is created so; an
//! existing one is checked at every start and tightened, with a warning for each
//! change. Only the directory itself and the center's own entries are changed: a data
//! directory pointed at by mistake at a shared place (`/tmp`) is refused, and other
//! people's files in it are left alone (the 0700 directory keeps others out of them).
//!
//! The SQLite database file is created 0600 before SQLite opens it; SQLite gives its
//! `-wal`, `-shm` and `-journal` files the database file's mode.

use std::path::{Path, PathBuf};

/// The center's own entries in the data directory.
const OWN_FILES: &[&str] = &[
    "center.db",
    "center.db-wal",
    "center.db-shm",
    "center.db-journal",
    "secret.key",
    "center.toml",
    crate::audit_head::KEY_FILE,
    crate::audit_head::CHECKPOINT_FILE,
];
/// The center's own directories in the data directory (and everything in them).
const OWN_DIRS: &[&str] = &["ca"];

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "cannot create the data directory {path}: {source}\nhint: pass --data-dir with a writable directory"
    )]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is shared with other users (mode {mode:04o}, sticky), so it cannot be the data directory\nhint: pass --data-dir with a directory of its own, e.g. {path}/mamori-data"
    )]
    Shared { path: PathBuf, mode: u32 },
    #[error("{path} is not a directory\nhint: pass --data-dir with a directory")]
    NotADirectory { path: PathBuf },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Creates the data directory (0700) or tightens it and the center's files in it;
/// creates the SQLite database file `sqlite_file` (0600) when it is missing. Returns one
/// warning per permission changed.
pub fn secure(dir: &Path, sqlite_file: Option<&Path>) -> Result<Vec<String>, DataDirError> {
    let mut warnings = Vec::new();
    secure_dir(dir, &mut warnings)?;
    for name in OWN_FILES {
        tighten(&dir.join(name), true, &mut warnings)?;
    }
    for name in OWN_DIRS {
        tighten(&dir.join(name), true, &mut warnings)?;
    }
    others_open(dir, &mut warnings);
    if let Some(db) = sqlite_file {
        create_private(db)?;
        let name = db.file_name().map(|n| n.to_string_lossy().into_owned());
        for suffix in ["", "-wal", "-shm", "-journal"] {
            if let Some(n) = &name {
                tighten(
                    &db.with_file_name(format!("{n}{suffix}")),
                    false,
                    &mut warnings,
                )?;
            }
        }
    }
    Ok(warnings)
}

/// The SQLite file of a `sqlite:` database URL (`None` for memory databases and other
/// databases).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

#[cfg(unix)]
fn mode_of(m: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode()
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> u32 {
    0o700
}

fn set_mode(path: &Path, mode: u32) -> Result<(), DataDirError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
            DataDirError::Io {
                what: "change the permissions of",
                path: path.to_path_buf(),
                source,
            }
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

fn secure_dir(dir: &Path, warnings: &mut Vec<String>) -> Result<(), DataDirError> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(dir).map_err(|source| DataDirError::Create {
                path: dir.to_path_buf(),
                source,
            })?;
            // The mode given is filtered by the umask; make it exact.
            set_mode(dir, 0o700)
        }
        Err(source) => Err(DataDirError::Create {
            path: dir.to_path_buf(),
            source,
        }),
        Ok(m) if !m.is_dir() => Err(DataDirError::NotADirectory {
            path: dir.to_path_buf(),
        }),
        Ok(m) => {
            let mode = mode_of(&m);
            if mode & 0o1000 != 0 || dir.parent().is_none() {
                return Err(DataDirError::Shared {
                    path: dir.to_path_buf(),
                    mode: mode & 0o7777,
                });
            }
            // The directory itself only: its entries are taken one by one.
            tighten(dir, false, warnings)
        }
    }
}

/// Takes the group's and others' permissions from `path` and, for a directory when
/// `inside`, from everything in it. A missing path or a symbolic link is left alone.
fn tighten(path: &Path, inside: bool, warnings: &mut Vec<String>) -> Result<(), DataDirError> {
    let m = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(DataDirError::Io {
                what: "read the permissions of",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if m.file_type().is_symlink() {
        return Ok(());
    }
    let mode = mode_of(&m) & 0o7777;
    if mode & 0o077 != 0 {
        let tight = mode & 0o700;
        set_mode(path, tight)?;
        warnings.push(format!(
            "{} was readable by other users (mode {mode:04o}); it is now {tight:04o}",
            path.display()
        ));
    }
    if inside && m.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|source| DataDirError::Io {
            what: "list",
            path: path.to_path_buf(),
            source,
        })?;
        for e in entries {
            let e = e.map_err(|source| DataDirError::Io {
                what: "list",
                path: path.to_path_buf(),
                source,
            })?;
            tighten(&e.path(), true, warnings)?;
        }
    }
    Ok(())
}

/// Warns about entries of the data directory that are not the center's and are open to
/// other users; they are left as they are.
fn others_open(dir: &Path, warnings: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if OWN_FILES.contains(&name.as_str()) || OWN_DIRS.contains(&name.as_str()) {
            continue;
        }
        if let Ok(m) = std::fs::symlink_metadata(e.path())
            && !m.file_type().is_symlink()
            && mode_of(&m) & 0o077 != 0
        {
            warnings.push(format!(
                "{} is not the center's and is open to other users (mode {:04o}); it was left as it is (the data directory's 0700 keeps others out)",
                e.path().display(),
                mode_of(&m) & 0o7777
            ));
        }
    }
}

/// Creates `path` empty with mode 0600 unless it exists.
fn create_private(path: &Path) -> Result<(), DataDirError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => set_mode(path, 0o600),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(DataDirError::Io {
            what: "create",
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_shared_sticky_directory_is_refused_and_left_as_it_is() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("mamori-datadir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let e = secure(&base, None).unwrap_err().to_string();
        assert!(
            e.contains("shared with other users") && e.contains("--data-dir"),
            "{e}"
        );
        let mode = std::fs::metadata(&base).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o1777);
        // A directory of its own inside it is made 0700, parents and all.
        let own = base.join("a/b");
        assert_eq!(
            secure(&own, Some(&own.join("center.db"))).unwrap(),
            Vec::<String>::new()
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&own), 0o700);
        assert_eq!(mode(&own.join("center.db")), 0o600);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn sqlite_files_of_urls() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/m/center.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/m/center.db"))
        );
        assert_eq!(
            sqlite_file("sqlite://./d/center.db"),
            Some(PathBuf::from("./d/center.db"))
        );
        assert_eq!(sqlite_file("sqlite:rel.db"), Some(PathBuf::from("rel.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x.db?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
