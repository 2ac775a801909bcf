//! Errors of the local stack.

use std::path::PathBuf;

use crate::control_plane;

/// Starting, using or stopping a part of the local stack failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalStackError {
    #[error("finding the directory of the workspace binaries")]
    FindBinaryDir(#[source] std::io::Error),
    #[error("{binary} does not exist; run `cargo build --workspace --bins` first")]
    MissingBinary { binary: PathBuf },
    #[error("picking free loopback ports")]
    PickPorts(#[source] std::io::Error),
    #[error("creating {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {path}")]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting {name}")]
    Spawn {
        name: String,
        #[source]
        source: control_plane::ProcessError,
    },
    #[error("stopping {name}")]
    Stop {
        name: String,
        #[source]
        source: control_plane::ProcessError,
    },
    #[error("sending {signal} to {name}")]
    Signal {
        name: String,
        signal: &'static str,
        #[source]
        source: control_plane::ProcessError,
    },
    #[error("{name} is running: stop or kill it before starting it again")]
    StillRunning { name: String },
    #[error("{name} exited ({status}) while starting; last log lines:\n{log_tail}")]
    ExitedEarly { name: String, status: std::process::ExitStatus, log_tail: String },
    #[error("timed out after {seconds} s waiting for {what}; last log lines:\n{log_tail}")]
    StartTimeout { what: String, seconds: u64, log_tail: String },
    #[error("building an HTTP client for the emulator")]
    HttpClient(#[source] reqwest::Error),
    #[error("calling the emulator: {what}")]
    EmulatorCall {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("generating certificates for the remote backend: {what}")]
    Certificates {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error(transparent)]
    ControlPlane(#[from] control_plane::Error),
    #[error("stopping a process in the background")]
    StopTask(#[source] tokio::task::JoinError),
}
