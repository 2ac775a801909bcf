//! The whole local stack of the quick start: a control plane, the ACI emulator, and for
//! Linux and Windows one sidecar connector (aci-backend on a Unix socket + node-agent),
//! all keeping their files under one state directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::control_plane::{ControlPlane, Options};

use super::connector::{SidecarConnector, SidecarSettings};
use super::emulator::{AzureTarget, EmulatorProcess};
use super::error::LocalStackError;
use super::os::Os;

/// The connector name of the local stack's agents.
pub const CONNECTOR_NAME: &str = "local";

/// The local stack's region (and the agents' `--region`).
pub const REGION: &str = "local";

/// The resource group of the local stack's container groups in the emulator.
pub const RESOURCE_GROUP: &str = "vk-local";

/// The node-agent's default name for `os`: `virtual-kubelet-<connector>-<os>-<region>`.
pub fn node_name(os: Os) -> String {
    format!("virtual-kubelet-{CONNECTOR_NAME}-{os}-{REGION}")
}

/// Files of the local stack under its state directory (`./.vk-local` by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackPaths {
    root: PathBuf,
}

impl StackPaths {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The admin kubeconfig (`KUBECONFIG=<this>`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    /// The Unix sockets of the backends.
    pub fn sockets(&self) -> PathBuf {
        self.root.join("run")
    }
    /// The PID of the process that owns the stack.
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("vk-local.pid")
    }
    /// Written once every part is up.
    pub fn ready_file(&self) -> PathBuf {
        self.root.join("ready")
    }
    /// The owner's own log.
    pub fn owner_log(&self) -> PathBuf {
        self.logs().join("vk-local.log")
    }
}

/// A running local stack.
#[derive(Debug)]
pub struct LocalStack {
    plane: ControlPlane,
    emulator: EmulatorProcess,
    connectors: Vec<SidecarConnector>,
}

impl LocalStack {
    /// Starts every part; each lives as long as this process (or until [`LocalStack::stop`]).
    pub async fn start(paths: &StackPaths) -> Result<Self, LocalStackError> {
        let options = Options {
            state_parent: Some(paths.root().to_path_buf()),
            keep_state_dir: true,
            ..Options::default()
        };
        let plane = ControlPlane::start(options).await?;
        let copy = |from: &Path, to: PathBuf| {
            std::fs::copy(from, &to)
                .map(|_| ())
                .map_err(|source| LocalStackError::WriteFile { path: to, source })
        };
        copy(plane.kubeconfig_path(), paths.kubeconfig())?;
        let kubelet_client_ca = paths.root().join("kubelet-client-ca.crt");
        std::fs::write(&kubelet_client_ca, plane.kubelet_client_ca_pem())
            .map_err(|source| LocalStackError::WriteFile { path: kubelet_client_ca.clone(), source })?;
        let emulator = EmulatorProcess::start(&paths.root().join("emulator"), &paths.logs()).await?;
        let mut stack = Self { plane, emulator, connectors: Vec::new() };
        let client = stack.plane.client()?;
        let target = AzureTarget::local(RESOURCE_GROUP);
        for os in Os::BOTH {
            let name = node_name(os);
            let settings = SidecarSettings {
                node_name: &name,
                os,
                target: &target,
                kubeconfig: &paths.kubeconfig(),
                socket_dir: &paths.sockets(),
                log_dir: &paths.logs(),
                ready_timeout: Duration::from_secs(120),
            };
            let connector = SidecarConnector::start(settings, &stack.emulator, &client, |options| {
                options.connector_name = CONNECTOR_NAME.into();
                options.region = REGION.into();
                options.kubelet_client_ca = Some(kubelet_client_ca.clone());
            })
            .await;
            match connector {
                Ok(connector) => stack.connectors.push(connector),
                Err(error) => {
                    stack.stop().await;
                    return Err(error);
                }
            }
        }
        Ok(stack)
    }

    pub fn control_plane(&self) -> &ControlPlane {
        &self.plane
    }

    /// Stops agents, backends, the emulator and the control plane, in that order, and waits
    /// until each has exited. Failures are logged; every part is stopped regardless.
    pub async fn stop(mut self) {
        for connector in &mut self.connectors {
            if let Err(error) = connector.stop().await {
                tracing::warn!(%error, "stopping a connector");
            }
        }
        if let Err(error) = self.emulator.stop().await {
            tracing::warn!(%error, "stopping the emulator");
        }
        let plane = self.plane;
        if let Err(error) = tokio::task::spawn_blocking(move || drop(plane)).await {
            tracing::warn!(%error, "stopping the control plane");
        }
    }
}
