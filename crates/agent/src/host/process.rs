//! Starting the agent's own background processes (the rollback waiter).

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Starts `program args...` detached from the caller: in its own process group, with no
/// terminal on stdin, output appended to `log`. It keeps running when the shell that
/// started the caller exits. Returns its pid.
pub fn spawn_detached<I, S>(program: &Path, args: I, log: &Path) -> std::io::Result<u32>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = OpenOptions::new().create(true).append(true).open(log)?;
    let err = out.try_clone()?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()?;
    Ok(child.id())
}
