//! The pod controller: two watches (the API's pods bound to this node, the backend's
//! WatchPods) feed one view; every change queues the pod's UID; a bounded set of workers
//! syncs one UID at a time each. Nothing is decided before both watches have delivered a
//! full snapshot; each new snapshot (start, backend reconnect) requeues every known UID,
//! which reconciles both ways.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use vk_proto::v1::{NodeInfo, OsType};

use super::backend_watch::BackendStates;
use super::events::EventRecorder;
use super::plan::Memory;
use super::queue::WorkQueue;
use super::status::api_phase;
use crate::backend::Backend;
use crate::metrics::Metrics;
use crate::resolve::{KubeSource, NodeFacts};

/// Settings of the pod controller.
#[derive(Debug, Clone)]
pub struct PodSettings {
    /// This node's name.
    pub node_name: String,
    /// This node's InternalIP (the pods' `hostIP`).
    pub host_ip: String,
    /// The node's OS.
    pub os: OsType,
    /// Pods synced at the same time at most.
    pub workers: usize,
    /// Bookmark interval asked of WatchPods; the stream counts as lost after three
    /// intervals of silence.
    pub bookmark_interval: Duration,
}

/// What the controller knows about every pod.
#[derive(Default)]
pub(crate) struct Views {
    pub kube: HashMap<String, Arc<Pod>>,
    pub kube_synced: bool,
    pub backend: BackendStates,
    pub backend_synced: bool,
    pub memory: HashMap<String, Memory>,
}

/// State shared by the watches and the workers.
pub(crate) struct Shared {
    pub settings: PodSettings,
    pub client: Client,
    pub backend: Backend,
    pub source: KubeSource,
    pub metrics: Metrics,
    pub events: EventRecorder,
    pub queue: Arc<WorkQueue>,
    pub node_info: watch::Receiver<Option<NodeInfo>>,
    views: Mutex<Views>,
}

impl Shared {
    pub fn views(&self) -> MutexGuard<'_, Views> {
        // A poisoned lock means a panic elsewhere; the maps themselves stay consistent.
        self.views.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues every UID either side knows.
    pub fn queue_all(&self) {
        let uids: HashSet<String> = {
            let views = self.views();
            views.kube.keys().chain(views.backend.keys()).chain(views.memory.keys()).cloned().collect()
        };
        for uid in uids {
            self.queue.add(&uid);
        }
    }

    /// What resolution needs to know about the node now.
    pub fn facts(&self) -> NodeFacts {
        let info = self.node_info.borrow();
        let resources = info.as_ref().and_then(|i| i.allocatable.clone().or_else(|| i.capacity.clone()));
        NodeFacts {
            node_name: self.settings.node_name.clone(),
            host_ip: self.settings.host_ip.clone(),
            os: self.settings.os,
            allocatable_cpu_millis: resources.as_ref().map(|r| r.cpu_millis).unwrap_or(0),
            allocatable_memory_bytes: resources.as_ref().map(|r| r.memory_bytes).unwrap_or(0),
            allocatable_ephemeral_storage_bytes: resources
                .as_ref()
                .map(|r| r.ephemeral_storage_bytes)
                .unwrap_or(0),
        }
    }

    fn count_phases(&self) {
        let mut counts: HashMap<String, i64> = HashMap::new();
        for pod in self.views().kube.values() {
            *counts.entry(api_phase(pod).to_owned()).or_default() += 1;
        }
        let pairs: Vec<(&str, i64)> = counts.iter().map(|(p, c)| (p.as_str(), *c)).collect();
        self.metrics.set_pods_by_phase(&pairs);
    }
}

/// A read-only view of the pods bound to this node, as last seen in the API (for the
/// kubelet API's `/pods` and name lookups).
#[derive(Clone)]
pub struct BoundPods {
    shared: Arc<Shared>,
}

impl BoundPods {
    /// The pods bound to this node.
    pub fn list(&self) -> Vec<Pod> {
        self.shared.views().kube.values().map(|pod| Pod::clone(pod)).collect()
    }
}

/// The pod controller.
pub struct PodController {
    shared: Arc<Shared>,
}

impl PodController {
    /// A controller for the pods bound to `settings.node_name`.
    pub fn new(
        client: Client,
        backend: Backend,
        metrics: Metrics,
        settings: PodSettings,
        node_info: watch::Receiver<Option<NodeInfo>>,
    ) -> Self {
        let shared = Shared {
            events: EventRecorder::new(client.clone(), settings.node_name.clone()),
            source: KubeSource::new(client.clone()),
            settings,
            client,
            backend,
            metrics,
            queue: Arc::new(WorkQueue::default()),
            node_info,
            views: Mutex::new(Views::default()),
        };
        Self { shared: Arc::new(shared) }
    }

    /// A view of the bound pods that stays valid while the controller runs.
    pub fn bound_pods(&self) -> BoundPods {
        BoundPods { shared: self.shared.clone() }
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        let shared = self.shared;
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(super::kube_watch::run(shared.clone(), shutdown.clone()));
        tasks.spawn(super::backend_watch::run(shared.clone(), shutdown.clone()));
        for _ in 0..shared.settings.workers.max(1) {
            let shared = shared.clone();
            tasks.spawn(async move {
                while let Some(uid) = shared.queue.next().await {
                    shared.sync(&uid).await;
                    shared.queue.done(&uid);
                }
            });
        }
        let counting = shared.clone();
        let stop_counting = shutdown.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tokio::select! {
                    () = stop_counting.cancelled() => return,
                    _ = tick.tick() => counting.count_phases(),
                }
            }
        });
        shutdown.cancelled().await;
        shared.queue.close();
        while tasks.join_next().await.is_some() {}
    }
}
