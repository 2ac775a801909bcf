//! Errors of the control plane harness.

use std::path::PathBuf;

use super::binaries::BinariesError;
use super::certs::CertError;
use super::process::ProcessError;

/// Starting, using or stopping a control plane failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("finding or building the control-plane binaries")]
    Binaries(#[from] BinariesError),
    #[error("generating the control plane's certificates")]
    Certs(#[from] CertError),
    #[error("creating the state directory under {base}")]
    CreateStateDir {
        base: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {path}")]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("picking free loopback ports")]
    PickPorts(#[source] std::io::Error),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("{component} exited ({status}); last log lines:\n{log_tail}")]
    ComponentExited { component: String, status: std::process::ExitStatus, log_tail: String },
    #[error("timed out after {seconds} s waiting for {what} (last observation: {last})")]
    Timeout { what: String, seconds: u64, last: String },
    #[error("loading the kubeconfig {path}")]
    LoadKubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("building a Kubernetes client")]
    BuildClient(#[source] kube::Error),
    #[error("creating namespace {name}")]
    CreateNamespace {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("running kubectl {args}")]
    SpawnKubectl {
        args: String,
        #[source]
        source: std::io::Error,
    },
    #[error("kubectl {args} failed ({status}): {stderr}")]
    KubectlFailed { args: String, status: std::process::ExitStatus, stderr: String },
    #[error("the apiserver is already {0}")]
    ApiserverState(&'static str),
    #[error("stopping the control plane's {0} in the background")]
    StopTask(&'static str, #[source] tokio::task::JoinError),
    #[error("the shared control plane failed to start: {0}")]
    SharedStartFailed(String),
}
