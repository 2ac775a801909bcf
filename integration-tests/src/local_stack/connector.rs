//! A connector in the sidecar shape: one aci-backend on a Unix socket and the node-agent
//! that uses it, for one operating system.

use std::path::Path;
use std::time::Duration;

use super::agent::{AgentOptions, AgentProcess};
use super::backend::{BackendProcess, Listen};
use super::emulator::{AzureTarget, EmulatorProcess};
use super::error::LocalStackError;
use super::os::Os;

/// Where and as what a sidecar connector runs.
#[derive(Clone, Debug)]
pub struct SidecarSettings<'a> {
    pub node_name: &'a str,
    pub os: Os,
    pub target: &'a AzureTarget,
    /// The agent's kubeconfig.
    pub kubeconfig: &'a Path,
    /// Holds the Unix socket (keep the path short: sockets allow about 100 bytes).
    pub socket_dir: &'a Path,
    pub log_dir: &'a Path,
    pub ready_timeout: Duration,
}

/// A running backend and agent pair.
#[derive(Debug)]
pub struct SidecarConnector {
    pub backend: BackendProcess,
    pub agent: AgentProcess,
}

impl SidecarConnector {
    /// Starts the backend, then the agent (adjusted by `configure`), and waits until the node
    /// is Ready.
    pub async fn start(
        settings: SidecarSettings<'_>,
        emulator: &EmulatorProcess,
        client: &kube::Client,
        configure: impl FnOnce(&mut AgentOptions),
    ) -> Result<Self, LocalStackError> {
        let socket = settings.socket_dir.join(format!("{}.sock", settings.node_name));
        let mut backend = BackendProcess::start(
            &format!("aci-backend-{}", settings.node_name),
            settings.os,
            Listen::Unix(socket),
            emulator,
            settings.target,
            settings.log_dir,
        )
        .await?;
        let mut options = AgentOptions::new(
            settings.node_name,
            settings.os,
            backend.listen().endpoint(),
            settings.kubeconfig,
        );
        configure(&mut options);
        match AgentProcess::start(&options, client, settings.log_dir, settings.ready_timeout).await {
            Ok(agent) => Ok(Self { backend, agent }),
            Err(error) => {
                // Best effort: the start error is what matters.
                let _ = backend.stop().await;
                Err(error)
            }
        }
    }

    /// Stops the agent (SIGTERM: it removes its node with `--remove-node-on-exit`), then the
    /// backend.
    pub async fn stop(&mut self) -> Result<(), LocalStackError> {
        let agent = self.agent.stop().await;
        let backend = self.backend.stop().await;
        agent.and(backend)
    }
}
