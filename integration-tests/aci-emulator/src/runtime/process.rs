//! A container command run as a local process: own working directory, the group's environment, stdout and
//! stderr merged into the container's log.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, Command};

use super::{RuntimeError, base_env};
use crate::logs::LogBuffer;

/// A started container process.
#[derive(Debug)]
pub struct RunningProcess {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
}

fn pump(mut reader: impl tokio::io::AsyncRead + Unpin + Send + 'static, logs: Arc<LogBuffer>) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
            logs.append(&buf[..n]);
        }
    });
}

/// Starts `command` (executable plus arguments) in `workdir` with `env`; output goes to `logs`.
pub fn spawn_container(
    command: &[String],
    env: &[(String, String)],
    workdir: &Path,
    logs: Arc<LogBuffer>,
) -> Result<RunningProcess, RuntimeError> {
    let joined = command.join(" ");
    let Some((program, args)) = command.split_first() else {
        return Err(RuntimeError::SpawnContainer {
            command: joined,
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
        });
    };
    // One pipe for stdout and stderr keeps their interleaving, as a container runtime's log does.
    let (reader, writer) =
        std::io::pipe().map_err(|source| RuntimeError::SpawnContainer { command: joined.clone(), source })?;
    let stderr_writer = writer
        .try_clone()
        .map_err(|source| RuntimeError::SpawnContainer { command: joined.clone(), source })?;
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(base_env(workdir))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(workdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(stderr_writer))
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| RuntimeError::SpawnContainer { command: joined, source })?;
    let output = tokio::net::unix::pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(reader))
        .map_err(|source| RuntimeError::SpawnContainer { command: command.join(" "), source })?;
    pump(output, logs);
    let stdin = child.stdin.take();
    Ok(RunningProcess { child, stdin })
}
