//! Test hooks: look inside a reference backend and steer it.

use vk_proto::Scope;
use vk_proto::v1::{Pod, PodState, PodStatus};

use super::store::ResizeRecord;
use super::{ReferenceBackend, Rpc};

/// Why a hook could not act.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HookError {
    /// No such pod in the scope.
    #[error("setting state failed: pod {uid} not found in scope {scope}")]
    PodNotFound {
        /// The scope.
        scope: String,
        /// The pod UID.
        uid: String,
    },
    /// The container has no running instance.
    #[error("ending container {container} of pod {uid} failed: it is not running")]
    ContainerNotRunning {
        /// The pod UID.
        uid: String,
        /// The container.
        container: String,
    },
}

impl ReferenceBackend {
    fn pod_not_found(scope: &Scope, uid: &str) -> HookError {
        HookError::PodNotFound { scope: scope.to_string(), uid: uid.to_owned() }
    }

    /// Every pod given to CreatePod or UpdatePod (valid ones), in the order received.
    pub fn received_pods(&self) -> Vec<(Scope, Pod)> {
        self.store.lock().received.clone()
    }

    /// The pods of a scope as GetPod would return them, ordered by UID.
    pub fn pods(&self, scope: &Scope) -> Vec<PodState> {
        let state = self.store.lock();
        state
            .scopes
            .get(scope)
            .map(|pods| pods.values().map(|record| record.state(scope)).collect())
            .unwrap_or_default()
    }

    /// One pod as GetPod would return it.
    pub fn pod(&self, scope: &Scope, uid: &str) -> Option<PodState> {
        let state = self.store.lock();
        state.scopes.get(scope).and_then(|pods| pods.get(uid)).map(|record| record.state(scope))
    }

    /// Replaces a pod's status and stops its simulated lifecycle, so the status stays as set.
    /// Watchers see the change.
    pub fn set_pod_status(&self, scope: &Scope, uid: &str, status: PodStatus) -> Result<(), HookError> {
        let found = self.store.update(scope, uid, |record| {
            if let Some(task) = record.lifecycle.take() {
                task.abort();
            }
            record.status = status;
        });
        if found { Ok(()) } else { Err(Self::pod_not_found(scope, uid)) }
    }

    /// Ends the running instance of a container with `exit_code`; the restart policy then
    /// applies as if the process had exited by itself.
    pub fn exit_container(
        &self,
        scope: &Scope,
        uid: &str,
        container: &str,
        exit_code: i32,
    ) -> Result<(), HookError> {
        let mut state = self.store.lock();
        let record = state
            .scopes
            .get_mut(scope)
            .and_then(|pods| pods.get_mut(uid))
            .ok_or_else(|| Self::pod_not_found(scope, uid))?;
        let stop = record.containers.get_mut(container).and_then(|runtime| runtime.stop.take());
        let not_running =
            || HookError::ContainerNotRunning { uid: uid.to_owned(), container: container.to_owned() };
        stop.ok_or_else(not_running)?.send(exit_code).map_err(|_| not_running())
    }

    /// Makes a pod vanish as if deleted behind the backend's back; watchers see `removed`.
    pub fn vanish(&self, scope: &Scope, uid: &str) -> Result<(), HookError> {
        let mut state = self.store.lock();
        let mut record = state
            .scopes
            .get_mut(scope)
            .and_then(|pods| pods.remove(uid))
            .ok_or_else(|| Self::pod_not_found(scope, uid))?;
        record.stop_everything();
        self.store.publish_removed(scope, record.removed());
        Ok(())
    }

    /// Answers the next call of `rpc` with this error instead of serving it.
    pub fn inject_error(&self, rpc: Rpc, code: tonic::Code, message: impl Into<String>) {
        self.store.lock().injected.push((rpc, code, message.into()));
    }

    /// Resize frames received by exec and attach sessions, in order.
    pub fn resizes(&self) -> Vec<ResizeRecord> {
        self.store.lock().resizes.clone()
    }

    /// Exec and attach sessions running now.
    pub fn active_sessions(&self) -> usize {
        self.store.lock().active_sessions
    }

    /// The log of a container's current instance.
    pub fn container_log(&self, scope: &Scope, uid: &str, container: &str) -> Option<String> {
        let state = self.store.lock();
        let runtime = state.scopes.get(scope)?.get(uid)?.containers.get(container)?;
        runtime.logs.as_ref().map(|logs| logs.text())
    }
}
