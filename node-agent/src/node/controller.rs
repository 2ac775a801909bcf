//! Keeps the Node object current: registers it, renews its Lease, polls the backend's node
//! info, writes the status when it changed or is a minute old, and removes the node on exit
//! when asked to.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeStatus, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use vk_proto::v1::NodeInfo;

use super::builder::{NodeConfig, build_node, node_status, own_labels, own_taints, status_fingerprint};
use super::events;
use super::lease::{LEASE_NAMESPACE, renew};
use super::readiness::{BackendView, readiness};
use super::status_policy::StatusPolicy;
use crate::backend::Backend;

/// Timing of the node's heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIntervals {
    /// How often the Lease is renewed (10 s).
    pub lease_renew: Duration,
    /// The Lease duration (40 s).
    pub lease_duration_seconds: i32,
    /// How often GetNodeInfo is called (10 s).
    pub info_poll: Duration,
    /// Longest time an unchanged status goes unwritten (60 s).
    pub status_max_age: Duration,
}

impl Default for NodeIntervals {
    fn default() -> Self {
        Self {
            lease_renew: Duration::from_secs(10),
            lease_duration_seconds: 40,
            info_poll: Duration::from_secs(10),
            status_max_age: Duration::from_secs(60),
        }
    }
}

/// Why the node could not be registered or updated.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Creating, reading or patching the Node failed.
    #[error("{operation} node {name} failed: {source}")]
    Api {
        /// What was attempted.
        operation: &'static str,
        /// The node.
        name: String,
        /// The cause.
        source: kube::Error,
    },
}

fn now() -> Time {
    Time(Timestamp::now())
}

/// The node's controller.
pub struct NodeController {
    client: Client,
    nodes: Api<Node>,
    leases: Api<Lease>,
    backend: Backend,
    config: NodeConfig,
    intervals: NodeIntervals,
    info: watch::Sender<Option<NodeInfo>>,
}

impl NodeController {
    /// A controller; `info` receives every NodeInfo the backend gives (for resolution).
    pub fn new(
        client: Client,
        backend: Backend,
        config: NodeConfig,
        intervals: NodeIntervals,
        info: watch::Sender<Option<NodeInfo>>,
    ) -> Self {
        Self {
            client: client.clone(),
            nodes: Api::all(client.clone()),
            leases: Api::namespaced(client, LEASE_NAMESPACE),
            backend,
            config,
            intervals,
            info,
        }
    }

    fn api_error(&self, operation: &'static str) -> impl FnOnce(kube::Error) -> NodeError + '_ {
        move |source| NodeError::Api { operation, name: self.config.name.clone(), source }
    }

    async fn poll(&self) -> BackendView {
        match self.backend.get_node_info().await {
            Ok(info) => BackendView::Reachable(Box::new(info)),
            Err(error) => BackendView::Unreachable {
                unauthorized: matches!(
                    error.code(),
                    tonic::Code::Unauthenticated | tonic::Code::PermissionDenied
                ),
                error: error.to_string(),
            },
        }
    }

    /// Creates the Node, or brings an existing one up to date; returns it.
    pub async fn register(&self, info: Option<&NodeInfo>, view: &BackendView) -> Result<Node, NodeError> {
        let node = build_node(&self.config, info, &readiness(view), &now());
        if let Some(existing) =
            self.nodes.get_opt(&self.config.name).await.map_err(self.api_error("reading"))?
        {
            self.update_metadata(&existing, info).await?;
            let status = node.status.unwrap_or_default();
            return self.write_status(&status).await;
        }
        let created =
            self.nodes.create(&PostParams::default(), &node).await.map_err(self.api_error("creating"))?;
        info!(node = %self.config.name, "registered the node");
        Ok(created)
    }

    async fn update_metadata(&self, existing: &Node, info: Option<&NodeInfo>) -> Result<(), NodeError> {
        let mut labels: std::collections::BTreeMap<String, String> =
            info.map(|i| i.labels.clone().into_iter().collect()).unwrap_or_default();
        labels.extend(own_labels(&self.config));
        let ours = own_taints(&self.config, info);
        let mut taints: Vec<Taint> = existing
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| !ours.iter().any(|o| o.key == t.key && o.effect == t.effect))
            .collect();
        taints.extend(ours);
        let current_labels = existing.metadata.labels.clone().unwrap_or_default();
        let labels_current = labels.iter().all(|(k, v)| current_labels.get(k) == Some(v));
        let taints_current = existing.spec.as_ref().and_then(|s| s.taints.as_ref()).is_some_and(|t| {
            t.len() == taints.len()
                && taints
                    .iter()
                    .all(|n| t.iter().any(|o| o.key == n.key && o.effect == n.effect && o.value == n.value))
        });
        if labels_current && taints_current {
            return Ok(());
        }
        let patch = serde_json::json!({ "metadata": { "labels": labels }, "spec": { "taints": taints } });
        self.nodes
            .patch(&self.config.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(self.api_error("patching"))?;
        Ok(())
    }

    async fn write_status(&self, status: &NodeStatus) -> Result<Node, NodeError> {
        let patch = serde_json::json!({ "status": status });
        self.nodes
            .patch_status(&self.config.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(self.api_error("updating the status of"))
    }

    /// Runs until `shutdown` is cancelled; then removes the node when `remove_on_exit`.
    pub async fn run(self, shutdown: CancellationToken, remove_on_exit: bool) -> Result<(), NodeError> {
        let mut view = self.poll().await;
        let mut last_info = match &view {
            BackendView::Reachable(info) => Some((**info).clone()),
            _ => None,
        };
        self.info.send_replace(last_info.clone());
        let mut backoff = Duration::from_secs(1);
        let mut node = loop {
            match self.register(last_info.as_ref(), &view).await {
                Ok(node) => break node,
                Err(error) => {
                    warn!(%error, "registering the node failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        };
        events::record(&self.client, &node, "Starting", "Started node-agent.", false).await;
        let mut was_ready = None;
        let mut previous = node.status.clone();
        let mut policy = StatusPolicy::new(self.intervals.status_max_age);
        if let Some(status) = &previous {
            policy.written(Instant::now(), status_fingerprint(status));
        }
        let mut lease_tick = tokio::time::interval(self.intervals.lease_renew);
        let mut info_tick = tokio::time::interval(self.intervals.info_poll);
        lease_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        info_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = lease_tick.tick() => {
                    let renewed = MicroTime(Timestamp::now());
                    if let Err(error) = renew(&self.leases, &node, self.intervals.lease_duration_seconds, renewed).await {
                        warn!(%error, "renewing the node lease failed");
                    }
                }
                _ = info_tick.tick() => {
                    view = self.poll().await;
                    if let BackendView::Reachable(info) = &view {
                        let changed_metadata = last_info.as_ref().is_none_or(|old| old.labels != info.labels || old.taints != info.taints);
                        last_info = Some((**info).clone());
                        self.info.send_replace(last_info.clone());
                        if changed_metadata && let Err(error) = self.update_metadata(&node, last_info.as_ref()).await {
                            warn!(%error, "updating node labels and taints failed");
                        }
                    }
                    let readiness = readiness(&view);
                    if was_ready != Some(readiness.ready) {
                        let (reason, warning) = if readiness.ready { ("NodeReady", false) } else { ("NodeNotReady", true) };
                        events::record(&self.client, &node, reason, &readiness.message, warning).await;
                        was_ready = Some(readiness.ready);
                    }
                    let status = node_status(&self.config, last_info.as_ref(), &readiness, previous.as_ref(), &now());
                    let fingerprint = status_fingerprint(&status);
                    if policy.due(Instant::now(), &fingerprint) {
                        match self.write_status(&status).await {
                            Ok(updated) => {
                                policy.written(Instant::now(), fingerprint);
                                previous = Some(status);
                                node = updated;
                            }
                            Err(error) => warn!(%error, "writing the node status failed"),
                        }
                    }
                }
            }
        }
        if remove_on_exit {
            match self.nodes.delete(&self.config.name, &DeleteParams::default()).await {
                Ok(_) => info!(node = %self.config.name, "removed the node on exit"),
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => {
                    return Err(NodeError::Api {
                        operation: "deleting",
                        name: self.config.name.clone(),
                        source,
                    });
                }
            }
        }
        Ok(())
    }
}
