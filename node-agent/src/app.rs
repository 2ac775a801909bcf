//! Wiring: from flags to a running agent (node controller, pod controller, metrics).

use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Taint};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::info;
use vk_proto::Scope;
use vk_proto::v1::OsType;

use crate::backend::{Backend, BackendSettings, ConnectError, TlsFiles};
use crate::flags::Flags;
use crate::metrics::Metrics;
use crate::node::{NodeConfig, NodeController, NodeError, NodeIntervals};
use crate::pods::{BoundPods, PodController, PodSettings};
use crate::resolve::Sensitive;

/// Why the agent could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The kubeconfig could not be loaded.
    #[error("loading the Kubernetes client configuration failed: {0}")]
    KubeConfig(String),
    /// The cluster id could not be read from the kube-system namespace.
    #[error("reading the kube-system namespace for the cluster id failed: {0}")]
    ClusterId(kube::Error),
    /// The backend address or credentials are unusable.
    #[error(transparent)]
    Backend(#[from] ConnectError),
    /// The backend address does not parse.
    #[error("--backend: {0}")]
    Endpoint(#[from] vk_proto::endpoint::Error),
    /// The token file could not be read.
    #[error("reading the backend token file {path}: {source}")]
    TokenFile {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The metrics port could not be bound.
    #[error("binding the metrics address {address}: {source}")]
    Metrics {
        /// The address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The node controller failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Everything the agent needs, independent of how it was configured.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The Node's settings.
    pub node: NodeConfig,
    /// Heartbeat timing.
    pub intervals: NodeIntervals,
    /// How to reach the backend.
    pub backend: BackendSettings,
    /// Cluster id; `None` reads the kube-system namespace's UID.
    pub cluster_id: Option<String>,
    /// Pods synced concurrently at most.
    pub pod_sync_workers: usize,
    /// WatchPods bookmark interval.
    pub bookmark_interval: Duration,
    /// Delete the Node on exit.
    pub remove_node_on_exit: bool,
    /// Where to serve metrics, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
}

impl AgentConfig {
    /// The configuration the flags describe.
    pub fn from_flags(flags: &Flags) -> Result<Self, AppError> {
        let token = match &flags.backend_token_file {
            None => None,
            Some(path) => Some(Sensitive::new(
                std::fs::read_to_string(path)
                    .map_err(|source| AppError::TokenFile { path: path.clone(), source })?
                    .trim()
                    .to_owned(),
            )),
        };
        let tls_wanted = flags.backend_tls_ca.is_some() || flags.backend_tls_cert.is_some();
        let tls = tls_wanted.then(|| TlsFiles {
            ca: flags.backend_tls_ca.clone(),
            cert: flags.backend_tls_cert.clone(),
            key: flags.backend_tls_key.clone(),
            server_name: flags.backend_tls_server_name.clone(),
        });
        let taint = (!flags.disable_taint).then(|| Taint {
            key: flags.taint_key.clone(),
            value: Some(flags.taint_value.clone()).filter(|v| !v.is_empty()),
            effect: flags.taint_effect.clone(),
            time_added: None,
        });
        Ok(Self {
            node: NodeConfig {
                name: flags.node_name(),
                os: flags.os.clone(),
                internal_ip: flags.internal_ip.clone(),
                kubelet_port: i32::from(flags.kubelet_port),
                taint,
            },
            intervals: NodeIntervals {
                lease_renew: flags.lease_renew(),
                info_poll: flags.node_status_poll(),
                ..NodeIntervals::default()
            },
            backend: BackendSettings { endpoint: flags.backend.parse()?, tls, token },
            cluster_id: flags.cluster_id.clone(),
            pod_sync_workers: flags.pod_sync_workers,
            bookmark_interval: Duration::from_secs(30),
            remove_node_on_exit: flags.remove_node_on_exit,
            metrics_addr: Some(flags.metrics_addr),
        })
    }
}

/// A Kubernetes client from `--kubeconfig`, else in-cluster or the default kubeconfig.
pub async fn kube_client(kubeconfig: Option<&std::path::Path>) -> Result<Client, AppError> {
    vk_proto::tls::install_crypto_provider();
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path).map_err(|e| AppError::KubeConfig(e.to_string()))?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|e| AppError::KubeConfig(e.to_string()))?
        }
        None => Config::infer().await.map_err(|e| AppError::KubeConfig(e.to_string()))?,
    };
    Client::try_from(config).map_err(|e| AppError::KubeConfig(e.to_string()))
}

/// The UID of the kube-system namespace.
pub async fn default_cluster_id(client: &Client) -> Result<String, AppError> {
    let namespace =
        Api::<Namespace>::all(client.clone()).get("kube-system").await.map_err(AppError::ClusterId)?;
    Ok(namespace.metadata.uid.unwrap_or_default())
}

/// What other servers of the agent (the kubelet API) need from the running agent.
#[derive(Clone)]
pub struct AgentParts {
    /// The Kubernetes client.
    pub client: Client,
    /// The backend, with the scope attached.
    pub backend: Backend,
    /// The pods bound to the node, as last seen in the API.
    pub pods: BoundPods,
    /// The node's settings.
    pub node: NodeConfig,
    /// Cancelled when the agent stops.
    pub shutdown: CancellationToken,
}

/// Runs the agent until `shutdown` is cancelled.
pub async fn run_agent(
    client: Client,
    config: AgentConfig,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    run_agent_with(client, config, shutdown, |_| async {}).await
}

/// Runs the agent plus `extra` (for example the kubelet API server), started with the
/// agent's parts, until `shutdown` is cancelled.
pub async fn run_agent_with<F, Fut>(
    client: Client,
    config: AgentConfig,
    shutdown: CancellationToken,
    extra: F,
) -> Result<(), AppError>
where
    F: FnOnce(AgentParts) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let cluster_id = match &config.cluster_id {
        Some(id) => id.clone(),
        None => default_cluster_id(&client).await?,
    };
    let scope = Scope::new(cluster_id, config.node.name.clone());
    info!(%scope, backend = %config.backend.endpoint, "starting node-agent");
    let metrics = Metrics::new();
    let backend =
        Backend::new(config.backend.channel()?, config.backend.interceptor(&scope)?, metrics.clone());
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(address) = config.metrics_addr {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| AppError::Metrics { address, source })?;
        let stop = shutdown.clone();
        let served = metrics.clone();
        tasks.spawn(async move {
            if let Err(error) = served.serve(listener, async move { stop.cancelled().await }).await {
                tracing::warn!(%error, "the metrics server stopped");
            }
            Ok(())
        });
    }
    let (info_tx, info_rx) = watch::channel(None);
    let os = if config.node.os == "windows" { OsType::Windows } else { OsType::Linux };
    let pods = PodController::new(
        client.clone(),
        backend.clone(),
        metrics,
        PodSettings {
            node_name: config.node.name.clone(),
            host_ip: config.node.internal_ip.clone(),
            os,
            workers: config.pod_sync_workers,
            bookmark_interval: config.bookmark_interval,
        },
        info_rx,
    );
    let parts = AgentParts {
        client: client.clone(),
        backend: backend.clone(),
        pods: pods.bound_pods(),
        node: config.node.clone(),
        shutdown: shutdown.clone(),
    };
    let extra = extra(parts);
    tasks.spawn(async move {
        extra.await;
        Ok(())
    });
    let node = NodeController::new(client, backend, config.node.clone(), config.intervals.clone(), info_tx);
    let pod_shutdown = shutdown.clone();
    tasks.spawn(async move {
        pods.run(pod_shutdown).await;
        Ok(())
    });
    let remove = config.remove_node_on_exit;
    let node_shutdown = shutdown.clone();
    tasks.spawn(async move { node.run(node_shutdown, remove).await.map_err(AppError::from) });
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        if let Ok(Err(error)) = joined {
            shutdown.cancel();
            result = Err(error);
        }
    }
    result
}
