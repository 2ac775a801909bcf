//! A node-agent with its own reference backend, on the shared control plane.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use integration_tests::control_plane::{ControlPlane, unique_name};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Taint};
use kube::{Api, Client};
use node_agent::app::{AgentConfig, AgentParts, run_agent_with};
use node_agent::backend::BackendSettings;
use node_agent::node::{NodeConfig, NodeIntervals};
use provider_testkit::reference::{ReferenceBackend, ReferenceConfig, ServerHandle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vk_proto::{Endpoint, Scope};

use crate::proxy::Proxy;

/// One agent, its backend and its namespace.
pub struct Harness {
    pub plane: &'static ControlPlane,
    pub client: Client,
    pub namespace: String,
    pub node_name: String,
    pub backend: ReferenceBackend,
    pub scope: Scope,
    /// Where the agent connects (the relay).
    socket: PathBuf,
    /// Where the backend listens.
    backend_socket: PathBuf,
    _dir: tempfile::TempDir,
    server: Option<ServerHandle>,
    proxy: Option<Proxy>,
    parts: std::sync::Arc<std::sync::Mutex<Option<AgentParts>>>,
    agent: Option<(CancellationToken, JoinHandle<Result<(), node_agent::app::AppError>>)>,
}

impl Harness {
    /// Starts a backend and an agent for a new node and namespace.
    pub async fn start(prefix: &str) -> Result<Self> {
        let plane = ControlPlane::shared().await.context("starting the control plane")?;
        let client = plane.client()?;
        let namespace = plane.create_namespace(prefix).await?;
        let cluster_id = Api::<Namespace>::all(client.clone())
            .get("kube-system")
            .await?
            .metadata
            .uid
            .context("kube-system has a uid")?;
        let node_name = unique_name("vk");
        let dir = tempfile::tempdir()?;
        let socket = dir.path().join("agent.sock");
        let backend_socket = dir.path().join("backend.sock");
        let backend = ReferenceBackend::new(ReferenceConfig {
            start_delay: Duration::from_millis(200),
            delete_delay: Duration::from_millis(300),
            default_bookmark_interval: Duration::from_secs(2),
            ..ReferenceConfig::default()
        });
        let mut harness = Self {
            plane,
            client,
            namespace,
            scope: Scope::new(cluster_id, node_name.clone()),
            node_name,
            backend,
            socket,
            backend_socket,
            _dir: dir,
            server: None,
            proxy: None,
            parts: Default::default(),
            agent: None,
        };
        harness.start_backend().await?;
        harness.start_agent();
        Ok(harness)
    }

    fn config(&self) -> AgentConfig {
        agent_config(
            &self.node_name,
            BackendSettings { endpoint: Endpoint::Unix(self.socket.clone()), tls: None, token: None },
        )
    }

    /// Serves the backend (when it is not served yet) and opens the relay to it.
    pub async fn start_backend(&mut self) -> Result<()> {
        if self.server.is_none() {
            self.server = Some(self.backend.serve_unix(&self.backend_socket).await?);
        }
        self.proxy = Some(Proxy::start(&self.socket, self.backend_socket.clone())?);
        Ok(())
    }

    /// The backend goes away: every connection to it is cut and new ones are refused.
    pub fn stop_backend(&mut self) {
        self.proxy = None;
    }

    /// Replaces the backend with `backend` (the old one stops for good).
    pub async fn replace_backend(&mut self, backend: ReferenceBackend) -> Result<()> {
        self.stop_backend();
        if let Some(server) = self.server.take() {
            // A timeout drops the handle, which aborts the server.
            let _ = tokio::time::timeout(Duration::from_secs(2), server.shutdown()).await;
        }
        self.backend = backend;
        self.start_backend().await
    }

    pub fn start_agent(&mut self) {
        let shutdown = CancellationToken::new();
        let parts = self.parts.clone();
        let task =
            tokio::spawn(run_agent_with(self.client.clone(), self.config(), shutdown.clone(), move |p| {
                if let Ok(mut slot) = parts.lock() {
                    *slot = Some(p);
                }
                async {}
            }));
        self.agent = Some((shutdown, task));
    }

    /// Stops the agent as SIGTERM would (it removes its node).
    pub async fn stop_agent(&mut self) -> Result<()> {
        if let Some((shutdown, task)) = self.agent.take() {
            shutdown.cancel();
            tokio::time::timeout(Duration::from_secs(30), task).await.context("agent stops")???;
        }
        Ok(())
    }

    /// Stops the agent abruptly, as a crash would (the node stays).
    pub fn kill_agent(&mut self) {
        if let Some((_, task)) = self.agent.take() {
            task.abort();
        }
    }

    /// The parts the running agent handed to its extra servers.
    pub fn agent_parts(&self) -> Option<AgentParts> {
        self.parts.lock().ok().and_then(|p| p.clone())
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    pub async fn node(&self) -> Result<Option<Node>> {
        Ok(Api::<Node>::all(self.client.clone()).get_opt(&self.node_name).await?)
    }

    /// Stops everything and removes the namespace.
    pub async fn finish(mut self) -> Result<()> {
        self.stop_agent().await?;
        self.stop_backend();
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), server.shutdown()).await;
        }
        let _ = self.plane.kubectl(&["delete", "namespace", &self.namespace, "--wait=false"]).await;
        Ok(())
    }
}

/// An agent configuration for tests: short heartbeats, the default taint, node removal on exit.
pub fn agent_config(node_name: &str, backend: BackendSettings) -> AgentConfig {
    AgentConfig {
        node: NodeConfig {
            name: node_name.to_owned(),
            os: "linux".into(),
            internal_ip: "127.0.0.1".into(),
            kubelet_port: 10250,
            taint: Some(Taint {
                key: "virtual-kubelet.io/provider".into(),
                value: Some("azure".into()),
                effect: "NoSchedule".into(),
                time_added: None,
            }),
        },
        intervals: NodeIntervals {
            lease_renew: Duration::from_secs(2),
            info_poll: Duration::from_secs(1),
            ..NodeIntervals::default()
        },
        backend,
        cluster_id: None,
        pod_sync_workers: 4,
        bookmark_interval: Duration::from_secs(2),
        remove_node_on_exit: true,
        metrics_addr: None,
    }
}

/// Polls `check` every 250 ms until it returns `Some`, failing after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last_error = Some(error),
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what} (last error: {last_error:?})");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The Ready condition status of a node.
pub fn ready_status(node: &Node) -> Option<String> {
    node.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready").map(|c| c.status.clone())
}
