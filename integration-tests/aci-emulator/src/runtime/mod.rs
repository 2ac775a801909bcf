//! Local process runtime: container commands and exec sessions as real processes (development tool).

mod process;
mod pty;

pub use process::{RunningProcess, spawn_container};
pub use pty::{ExecProcess, resolve_executable, spawn_exec};

/// Failures of the process runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("starting container command {command:?}: {source}")]
    SpawnContainer { command: String, source: std::io::Error },
    #[error("opening a pty for exec: {0}")]
    OpenPty(#[source] pty_process::Error),
    #[error("setting the exec terminal size: {0}")]
    ResizePty(#[source] pty_process::Error),
    #[error("starting exec command {command:?}: {source}")]
    SpawnExec { command: String, source: pty_process::Error },
}

/// Environment every local process gets: PATH from the emulator, HOME in the container's directory.
fn base_env(workdir: &std::path::Path) -> Vec<(String, String)> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    vec![("PATH".into(), path), ("HOME".into(), workdir.display().to_string())]
}
