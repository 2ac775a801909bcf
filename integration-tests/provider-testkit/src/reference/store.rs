//! The in-memory state of a reference backend: pods by scope, each with its spec as given,
//! status, events and the runtime of its containers; every change is broadcast to watchers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::AbortHandle;
use vk_proto::Scope;
use vk_proto::v1::{EventType, Pod, PodRemoved, PodState, PodStatus, ProviderEvent};

use super::config::ReferenceConfig;
use super::logs::LogBuffer;

/// A change every watcher of the scope hears about.
#[derive(Debug, Clone)]
pub enum Change {
    /// A pod was created or changed.
    Changed(Scope, Box<PodState>),
    /// A pod left the backend.
    Removed(Scope, PodRemoved),
}

/// The runtime of one container instance.
#[derive(Debug, Default)]
pub struct ContainerRuntime {
    /// Log of the current instance.
    pub logs: Option<Arc<LogBuffer>>,
    /// Log of the previous instance, after a restart.
    pub previous_logs: Option<Arc<LogBuffer>>,
    /// Stdin of the main process, when the container keeps one open.
    pub stdin: Option<mpsc::Sender<Vec<u8>>>,
    /// Ends the current instance with the given exit code.
    pub stop: Option<oneshot::Sender<i32>>,
    /// The container terminated and will not restart.
    pub finished: bool,
}

/// One pod of a scope.
#[derive(Debug)]
pub struct PodRecord {
    /// The pod exactly as last given.
    pub pod: Pod,
    /// Current status.
    pub status: PodStatus,
    /// Provider events, oldest first.
    pub events: Vec<ProviderEvent>,
    /// DeletePod was called.
    pub deleting: bool,
    /// Runtimes by container name (init containers included).
    pub containers: BTreeMap<String, ContainerRuntime>,
    /// The task simulating the lifecycle.
    pub lifecycle: Option<AbortHandle>,
}

impl PodRecord {
    /// A new pod as given.
    pub fn new(pod: Pod, status: PodStatus) -> Self {
        Self {
            pod,
            status,
            events: Vec::new(),
            deleting: false,
            containers: BTreeMap::new(),
            lifecycle: None,
        }
    }

    /// The wire form.
    pub fn state(&self, scope: &Scope) -> PodState {
        let uid = self.pod.meta.as_ref().map(|m| m.uid.as_str()).unwrap_or_default();
        PodState {
            pod: Some(self.pod.clone()),
            status: Some(self.status.clone()),
            events: self.events.clone(),
            deleting: self.deleting,
            provider_resource_id: format!("reference://{}/{}/{uid}", scope.cluster_id, scope.node_name),
        }
    }

    /// The removal notice.
    pub fn removed(&self) -> PodRemoved {
        let meta = self.pod.meta.clone().unwrap_or_default();
        PodRemoved { uid: meta.uid, namespace: meta.namespace, name: meta.name }
    }

    /// Records an event; an event with the same reason and container counts up.
    pub fn event(&mut self, reason: &str, message: String, warning: bool, container: &str) {
        let now = super::lifecycle::now();
        let key = format!("{reason}/{container}");
        if let Some(existing) = self.events.iter_mut().find(|e| e.key == key) {
            existing.count += 1;
            existing.message = message;
            existing.last_timestamp = Some(now);
            return;
        }
        let kind = if warning { EventType::Warning } else { EventType::Normal };
        self.events.push(ProviderEvent {
            key,
            reason: reason.to_owned(),
            message,
            r#type: kind as i32,
            count: 1,
            first_timestamp: Some(now),
            last_timestamp: Some(now),
            container_name: container.to_owned(),
        });
        if self.events.len() > 50 {
            self.events.remove(0);
        }
    }

    /// Stops everything running for the pod and closes its logs.
    pub fn stop_everything(&mut self) {
        if let Some(task) = self.lifecycle.take() {
            task.abort();
        }
        for runtime in self.containers.values_mut() {
            runtime.stdin = None;
            runtime.stop = None;
            if let Some(logs) = &runtime.logs {
                logs.close();
            }
        }
    }
}

/// A recorded resize frame of an exec or attach session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResizeRecord {
    /// Pod UID.
    pub pod_uid: String,
    /// Container.
    pub container: String,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

/// Everything behind the lock.
#[derive(Debug, Default)]
pub struct State {
    /// Pods by scope, then UID.
    pub scopes: HashMap<Scope, BTreeMap<String, PodRecord>>,
    /// Pods as received by CreatePod/UpdatePod, in order.
    pub received: Vec<(Scope, Pod)>,
    /// Errors to answer instead of the next calls of an rpc.
    pub injected: Vec<(super::Rpc, tonic::Code, String)>,
    /// Resize frames received.
    pub resizes: Vec<ResizeRecord>,
    /// Exec and attach sessions running now.
    pub active_sessions: usize,
    next_ip: u32,
}

impl State {
    /// The next pod IP.
    pub fn allocate_ip(&mut self) -> String {
        self.next_ip += 1;
        format!("10.244.{}.{}", (self.next_ip / 250) % 250, self.next_ip % 250 + 2)
    }
}

/// The shared store.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    changes: broadcast::Sender<Change>,
    /// Settings.
    pub config: ReferenceConfig,
    /// When the backend started.
    pub started_at: prost_types::Timestamp,
}

impl Store {
    /// An empty store.
    pub fn new(config: ReferenceConfig) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            changes: broadcast::channel(4096).0,
            config,
            started_at: super::lifecycle::now(),
        })
    }

    /// Locks the state.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscribes to changes; call with the lock held to line up with a snapshot.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Broadcasts the current state of a pod; call with the lock held.
    pub fn publish(&self, state: &State, scope: &Scope, uid: &str) {
        if let Some(record) = state.scopes.get(scope).and_then(|pods| pods.get(uid)) {
            let _ = self.changes.send(Change::Changed(scope.clone(), Box::new(record.state(scope))));
        }
    }

    /// Broadcasts a removal; call with the lock held.
    pub fn publish_removed(&self, scope: &Scope, removed: PodRemoved) {
        let _ = self.changes.send(Change::Removed(scope.clone(), removed));
    }

    /// Applies `change` to a pod and broadcasts it; false when the pod is gone.
    pub fn update(&self, scope: &Scope, uid: &str, change: impl FnOnce(&mut PodRecord)) -> bool {
        let mut state = self.lock();
        let Some(record) = state.scopes.get_mut(scope).and_then(|pods| pods.get_mut(uid)) else {
            return false;
        };
        change(record);
        self.publish(&state, scope, uid);
        true
    }
}
