//! A virtual node backed by the in-memory reference backend (provider-testkit), run inside
//! the test process so the test can read its hooks (resize frames, running sessions), with a
//! node-agent process from `target/debug` in front of it.

use anyhow::{Context, Result};
use integration_tests::control_plane::unique_name;
use integration_tests::local_stack::{AgentOptions, AgentProcess, Os};
use provider_testkit::reference::{ReferenceBackend, ReferenceConfig, ServerHandle};

use super::{E2e, READY_TIMEOUT};

/// The reference backend and the node-agent that uses it.
pub struct ReferenceNode {
    pub backend: ReferenceBackend,
    pub server: Option<ServerHandle>,
    pub agent: AgentProcess,
}

impl ReferenceNode {
    /// Stops the agent (it removes its node), then the backend.
    pub async fn stop(mut self) -> Result<()> {
        self.agent.stop().await?;
        if let Some(server) = self.server.take() {
            server.shutdown().await?;
        }
        Ok(())
    }
}

impl E2e {
    /// A Linux node named after `prefix` whose agent serves the kubelet API (trusting the
    /// apiserver's kubelet client CA) in front of an in-process reference backend.
    pub async fn reference_node(&self, prefix: &str) -> Result<ReferenceNode> {
        let node_name = unique_name(prefix);
        let backend = ReferenceBackend::new(ReferenceConfig::default());
        let socket = self.dir.path().join(format!("{node_name}.sock"));
        let server = backend.serve_unix(&socket).await.context("serving the reference backend")?;
        let mut options = AgentOptions::new(
            &node_name,
            Os::Linux,
            server.endpoint().to_string(),
            self.plane.kubeconfig_path(),
        );
        options.kubelet_client_ca = Some(self.kubelet_client_ca.clone());
        let agent = AgentProcess::start(&options, &self.client, &self.dir.path().join("logs"), READY_TIMEOUT)
            .await
            .with_context(|| format!("starting the agent of {node_name}"))?;
        Ok(ReferenceNode { backend, server: Some(server), agent })
    }
}
