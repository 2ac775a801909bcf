//! Exec as ACI does it: one executable without arguments, always under a terminal of the requested size.

use std::path::{Path, PathBuf};

use super::{RuntimeError, base_env};

/// A running exec session.
pub struct ExecProcess {
    pub pty: pty_process::Pty,
    pub child: tokio::process::Child,
}

/// Finds `command` as ACI's runtime would: the whole string is the executable (no argument splitting).
pub fn resolve_executable(command: &str) -> Option<PathBuf> {
    if command.is_empty() || command.chars().any(char::is_whitespace) {
        return None;
    }
    let is_file = |p: &Path| p.is_file();
    if command.contains('/') {
        let p = PathBuf::from(command);
        return is_file(&p).then_some(p);
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    path.split(':').map(|dir| Path::new(dir).join(command)).find(|p| is_file(p))
}

/// Starts `program` under a new pty of `rows` x `cols`.
pub fn spawn_exec(
    program: &Path,
    env: &[(String, String)],
    workdir: &Path,
    rows: u16,
    cols: u16,
) -> Result<ExecProcess, RuntimeError> {
    let (pty, pts) = pty_process::open().map_err(RuntimeError::OpenPty)?;
    pty.resize(pty_process::Size::new(rows, cols)).map_err(RuntimeError::ResizePty)?;
    let child = pty_process::Command::new(program)
        .env_clear()
        .envs(base_env(workdir))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("TERM", "xterm")
        .current_dir(workdir)
        .kill_on_drop(true)
        .spawn(pts)
        .map_err(|source| RuntimeError::SpawnExec { command: program.display().to_string(), source })?;
    Ok(ExecProcess { pty, child })
}
