//! What can go wrong while benchmarking, named by the operation that failed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("starting the local stack: {0}")]
    Stack(#[from] integration_tests::local_stack::LocalStackError),
    #[error("the control plane: {0}")]
    ControlPlane(#[from] integration_tests::control_plane::Error),
    #[error("Kubernetes API call: {what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("emulator admin call: {what}: {source}")]
    Emulator {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("provider API call: {what}: {source}")]
    Provider {
        what: String,
        #[source]
        source: tonic::Status,
    },
    #[error("connecting to the provider API: {0}")]
    Connect(String),
    #[error("{what}: {path}: {source}")]
    File {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {seconds} s waiting for {what}")]
    Timeout { what: String, seconds: u64 },
    #[error("drawing {path}: {message}")]
    Plot { path: PathBuf, message: String },
    #[error("writing the result: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the process {0} was not found in /proc")]
    NoProcess(String),
}

impl BenchError {
    /// A `map_err` helper for Kubernetes calls.
    pub fn kube(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Self {
        let what = what.into();
        move |source| Self::Kube { what, source }
    }

    /// A `map_err` helper for emulator admin calls.
    pub fn emulator(what: impl Into<String>) -> impl FnOnce(reqwest::Error) -> Self {
        let what = what.into();
        move |source| Self::Emulator { what, source }
    }
}
