//! One sync of one pod: decide with [`plan`], then act (resolve, call the backend, write the
//! status, record Events). Runs inside a `tracing` span naming the pod.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use tracing::{Instrument, info, info_span, warn};
use vk_proto::v1::PodState;

use super::controller::Shared;
use super::events::EventRecord;
use super::plan::{Backoff, Memory, Observed, Plan, plan};
use super::status::{differs, from_backend, provider_failed, waiting};
use crate::backend::BackendError;
use crate::resolve::{ResolveError, ResolvedPod, resolve_pod};

/// Fingerprint of what the agent sends for a pod: metadata it copies and the spec.
pub fn input_fingerprint(pod: &Pod) -> String {
    let value = serde_json::json!([pod.metadata.labels, pod.metadata.annotations, pod.spec]);
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

/// The status fields the agent owns: absent ones are cleared with an explicit null.
const OWNED_STATUS_FIELDS: &[&str] = &[
    "phase",
    "reason",
    "message",
    "conditions",
    "containerStatuses",
    "initContainerStatuses",
    "podIP",
    "podIPs",
    "startTime",
    "hostIP",
];

fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.min(6)).min(Duration::from_secs(60))
}

/// Counts one more failed attempt; the wait before the next is `hint`, or the backoff.
fn next_attempt(memory: &mut Memory, hint: Option<Duration>) -> Duration {
    let delay = hint.unwrap_or_else(|| backoff(memory.attempts));
    memory.attempts = memory.attempts.saturating_add(1);
    delay
}

fn waiting_reason(error: &BackendError) -> &'static str {
    match error.code() {
        tonic::Code::ResourceExhausted if error.is_rate_limit() => "ProviderThrottled",
        tonic::Code::ResourceExhausted => "ProviderQuotaExceeded",
        tonic::Code::FailedPrecondition => "ProviderNotReady",
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => "ProviderUnauthorized",
        _ => "ProviderUnavailable",
    }
}

impl Shared {
    fn memory(&self, uid: &str) -> Memory {
        self.views().memory.get(uid).cloned().unwrap_or_default()
    }

    fn remember<T>(&self, uid: &str, change: impl FnOnce(&mut Memory) -> T) -> T {
        change(self.views().memory.entry(uid.to_owned()).or_default())
    }

    /// Syncs one pod.
    pub async fn sync(self: &Arc<Self>, uid: &str) {
        let (kube, backend, memory) = {
            let views = self.views();
            if !views.kube_synced || !views.backend_synced {
                return;
            }
            (
                views.kube.get(uid).cloned(),
                views.backend.get(uid).cloned(),
                views.memory.get(uid).cloned().unwrap_or_default(),
            )
        };
        let input = kube.as_deref().map(input_fingerprint);
        let next = plan(&Observed {
            kube: kube.as_deref(),
            backend: backend.as_ref(),
            input: input.as_deref(),
            memory: &memory,
            now: Timestamp::now(),
        });
        let name = kube
            .as_deref()
            .map(|p| {
                format!(
                    "{}/{}",
                    p.metadata.namespace.as_deref().unwrap_or(""),
                    p.metadata.name.as_deref().unwrap_or("")
                )
            })
            .unwrap_or_default();
        let operation = next.name();
        let span = info_span!("pod_sync", pod = %name, uid, operation);
        let started = Instant::now();
        self.act(uid, next, kube, backend, input).instrument(span).await;
        self.metrics.observe_pod_sync(operation, started.elapsed());
    }

    async fn act(
        self: &Arc<Self>,
        uid: &str,
        next: Plan,
        kube: Option<Arc<Pod>>,
        backend: Option<PodState>,
        input: Option<String>,
    ) {
        match (next, kube) {
            (Plan::Forget, _) => {
                self.views().memory.remove(uid);
                self.events.forget(uid);
            }
            (Plan::Idle, _) => {}
            (Plan::DeleteInBackend { grace_period_seconds }, _) => {
                self.delete_in_backend(uid, grace_period_seconds).await
            }
            (Plan::AwaitRemoval { until } | Plan::AwaitRetry { until }, _) => {
                let left = until.duration_since(Timestamp::now()).unsigned_abs();
                self.queue.add_after(uid, left + Duration::from_millis(100));
            }
            (Plan::Finalize, Some(pod)) => self.finalize(uid, &pod).await,
            (Plan::Create, Some(pod)) => self.create(uid, &pod, input).await,
            (Plan::Update, Some(pod)) => {
                if let Some(state) = backend {
                    self.update(uid, &pod, &state, input).await;
                }
            }
            (Plan::ReportStatus, Some(pod)) => {
                if let Some(state) = backend {
                    self.report(uid, &pod, &state).await;
                }
            }
            (_, None) => {}
        }
    }

    fn retry(&self, uid: &str, hint: Option<Duration>) {
        let delay = self.remember(uid, |m| next_attempt(m, hint));
        self.queue.add_after(uid, delay);
    }

    /// Retries a failed create or update of `input` after `hint` or the backoff; until then,
    /// watch events of the unchanged pod (the status the failure wrote) do not try again.
    fn retry_input(&self, uid: &str, input: Option<&str>, hint: Option<Duration>) {
        let delay = self.remember(uid, |m| {
            let delay = next_attempt(m, hint);
            let until = k8s_openapi::jiff::SignedDuration::try_from(delay)
                .ok()
                .and_then(|d| Timestamp::now().checked_add(d).ok())
                .unwrap_or(Timestamp::MAX);
            m.backoff = Some(Backoff { until, input: input.map(str::to_owned) });
            delay
        });
        self.queue.add_after(uid, delay);
    }

    async fn delete_in_backend(&self, uid: &str, grace_period_seconds: Option<i64>) {
        match self.backend.delete_pod(uid, grace_period_seconds).await {
            Ok(response) => {
                info!(found = response.found, gone = response.gone, "deleted in the backend");
                self.remember(uid, |m| m.delete_sent = true);
                if response.gone || !response.found {
                    self.views().backend.remove(uid);
                }
                self.queue.add(uid);
            }
            Err(error) => {
                warn!(%error, "deleting in the backend failed; retrying");
                self.retry(uid, error.retry_after());
            }
        }
    }

    async fn finalize(&self, uid: &str, pod: &Pod) {
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), pod.metadata.namespace.as_deref().unwrap_or_default());
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: Some(uid.to_owned()), resource_version: None }),
            ..DeleteParams::default()
        };
        match api.delete(pod.metadata.name.as_deref().unwrap_or_default(), &params).await {
            Ok(_) => info!("removed the pod object"),
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {}
            Err(error) => {
                warn!(%error, "removing the pod object failed; retrying");
                self.retry(uid, None);
            }
        }
    }

    async fn resolve(&self, uid: &str, pod: &Pod, input: Option<&str>) -> Option<ResolvedPod> {
        match resolve_pod(&self.source, pod, &self.facts()).await {
            Ok(resolution) => {
                for warning in resolution.warnings {
                    self.events
                        .record(pod, EventRecord::agent(&warning.reason, &warning.message, true))
                        .await;
                }
                Some(resolution.pod)
            }
            Err(error) => {
                self.resolution_failed(uid, pod, input, &error).await;
                None
            }
        }
    }

    async fn resolution_failed(&self, uid: &str, pod: &Pod, input: Option<&str>, error: &ResolveError) {
        let message = error.to_string();
        if error.is_permanent() {
            warn!(%message, "the pod can never be resolved");
            self.refuse(uid, pod, input, &message).await;
            return;
        }
        warn!(%message, "resolving the pod failed; retrying");
        self.events.record(pod, EventRecord::agent("Failed", &format!("Error: {message}"), true)).await;
        if !self.views().backend.contains_key(uid) {
            self.write_status(pod, waiting(pod, error.reason(), &message, &self.settings.host_ip)).await;
        }
        self.retry_input(uid, input, None);
    }

    /// Marks the pod failed for good. Only once that status is written does the agent stop
    /// looking at this input: a write lost to an apiserver outage is tried again.
    async fn refuse(&self, uid: &str, pod: &Pod, input: Option<&str>, message: &str) {
        self.events.record(pod, EventRecord::agent("ProviderFailed", message, true)).await;
        match self.write_status(pod, provider_failed(pod, message, &self.settings.host_ip)).await {
            Written::Done => self.remember(uid, |m| m.refused_input = input.map(str::to_owned)),
            Written::Retry => self.retry(uid, None),
        }
    }

    async fn backend_failed(
        &self,
        uid: &str,
        pod: &Pod,
        input: Option<&str>,
        error: BackendError,
        creating: bool,
    ) {
        if error.code() == tonic::Code::InvalidArgument {
            warn!(%error, "the backend refused the pod");
            self.refuse(uid, pod, input, error.status.message()).await;
            return;
        }
        if error.code() == tonic::Code::NotFound && !creating {
            self.views().backend.remove(uid);
            self.queue.add(uid);
            return;
        }
        warn!(%error, "the backend call failed; retrying");
        let reason = waiting_reason(&error);
        self.events.record(pod, EventRecord::agent(reason, &error.to_string(), true)).await;
        if creating {
            self.write_status(pod, waiting(pod, reason, &error.to_string(), &self.settings.host_ip)).await;
        }
        self.retry_input(uid, input, error.retry_after());
    }

    async fn create(&self, uid: &str, pod: &Pod, input: Option<String>) {
        let Some(resolved) = self.resolve(uid, pod, input.as_deref()).await else { return };
        match self.backend.create_pod(resolved.into_proto()).await {
            Ok(response) => {
                info!(already_existed = response.already_existed, "created in the backend");
                self.remember(uid, |m| {
                    m.sent_input = input;
                    m.attempts = 0;
                    m.backoff = None;
                });
                if let Some(state) = response.state {
                    self.views().backend.insert(uid.to_owned(), state.clone());
                    self.report(uid, pod, &state).await;
                }
            }
            Err(error) => self.backend_failed(uid, pod, input.as_deref(), error, true).await,
        }
    }

    async fn update(&self, uid: &str, pod: &Pod, current: &PodState, input: Option<String>) {
        let resolved = if self.memory(uid).sent_input.is_none() {
            // First sight since the agent started: the backend already runs this pod. A
            // reference that vanished since it started is no reason to touch it (the kubelet
            // does not restart containers for that either), so adopt it as it is.
            match resolve_pod(&self.source, pod, &self.facts()).await {
                Ok(resolution) => Some(resolution.pod),
                Err(error) => {
                    warn!(%error, "cannot resolve a running pod; keeping it as the backend runs it");
                    None
                }
            }
        } else {
            let Some(resolved) = self.resolve(uid, pod, input.as_deref()).await else { return };
            Some(resolved)
        };
        let Some(resolved) = resolved else {
            self.remember(uid, |m| m.sent_input = input);
            return self.report(uid, pod, current).await;
        };
        let stored_hash = current.pod.as_ref().map(|p| p.spec_hash.as_str()).unwrap_or_default();
        let state = if stored_hash == resolved.spec_hash() {
            current.clone()
        } else {
            match self.backend.update_pod(resolved.into_proto()).await {
                Ok(response) => {
                    info!(recreated = response.recreated, "updated in the backend");
                    let state = response.state.unwrap_or_else(|| current.clone());
                    self.views().backend.insert(uid.to_owned(), state.clone());
                    state
                }
                Err(error) => return self.backend_failed(uid, pod, input.as_deref(), error, false).await,
            }
        };
        self.remember(uid, |m| {
            m.sent_input = input;
            m.attempts = 0;
            m.backoff = None;
        });
        self.report(uid, pod, &state).await;
    }

    /// Writes the backend's view of the pod into its API status. A write that did not reach
    /// the apiserver is tried again later: no watch event would bring the pod back otherwise
    /// (the backend's state has not changed, and a watch resumed after an apiserver restart
    /// does not replay the pod).
    async fn report(&self, uid: &str, pod: &Pod, state: &PodState) {
        for event in &state.events {
            self.events.record(pod, EventRecord::provider(event)).await;
        }
        match self.write_status(pod, from_backend(pod, state, &self.settings.host_ip)).await {
            Written::Done => {
                // Only a pod with a memory has attempts to forget; others get no entry.
                if let Some(memory) = self.views().memory.get_mut(uid) {
                    memory.attempts = 0;
                }
            }
            Written::Retry => self.retry(uid, None),
        }
    }

    async fn write_status(&self, pod: &Pod, desired: PodStatus) -> Written {
        if !differs(pod.status.as_ref(), &desired) {
            return Written::Done;
        }
        let mut status = match serde_json::to_value(&desired) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Written::Done,
        };
        for field in OWNED_STATUS_FIELDS {
            status.entry(field.to_string()).or_insert(serde_json::Value::Null);
        }
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), pod.metadata.namespace.as_deref().unwrap_or_default());
        let patch = serde_json::json!({ "status": status });
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        match api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => {
                info!(phase = desired.phase.as_deref().unwrap_or(""), "wrote the pod status");
                Written::Done
            }
            Err(kube::Error::Api(status)) if status.code == 404 => Written::Done,
            Err(error) if worth_retrying(&error) => {
                warn!(%error, "writing the pod status failed; retrying");
                Written::Retry
            }
            Err(error) => {
                warn!(%error, "the apiserver refused the pod status");
                Written::Done
            }
        }
    }
}

/// Whether a status write is finished with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// Written, not needed, or refused for good (a retry would be refused the same way).
    Done,
    /// Did not reach the apiserver, or the apiserver could not take it now.
    Retry,
}

/// Whether a failed API write may succeed when tried again: the apiserver was unreachable,
/// overloaded or starting, or asked to be tried again (409 on a status merge patch, 429,
/// 5xx, 408).
fn worth_retrying(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 408 | 409 | 429) || status.code >= 500,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_writes_do_not_change_the_input_fingerprint() {
        let mut pod = Pod::default();
        let before = input_fingerprint(&pod);
        pod.status = Some(PodStatus { phase: Some("Running".into()), ..PodStatus::default() });
        pod.metadata.resource_version = Some("42".into());
        assert_eq!(before, input_fingerprint(&pod));
        pod.metadata.labels = Some([("a".to_owned(), "b".to_owned())].into());
        assert_ne!(before, input_fingerprint(&pod));
    }

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status::failure("refused", "Reason").with_code(code)))
    }

    #[test]
    fn status_writes_are_retried_when_the_apiserver_could_not_take_them() {
        for code in [408, 409, 429, 500, 503] {
            assert!(worth_retrying(&api_error(code)), "{code}");
        }
        assert!(worth_retrying(&kube::Error::LinesCodecMaxLineLengthExceeded));
    }

    #[test]
    fn status_writes_the_apiserver_refused_for_good_are_not_retried() {
        for code in [400, 403, 422] {
            assert!(!worth_retrying(&api_error(code)), "{code}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(20), Duration::from_secs(60));
    }

    #[test]
    fn each_failed_attempt_counts_and_waits_for_the_hint_or_the_backoff() {
        let mut memory = Memory::default();
        assert_eq!(next_attempt(&mut memory, None), Duration::from_secs(1));
        assert_eq!(next_attempt(&mut memory, None), Duration::from_secs(2));
        let hint = Duration::from_millis(300);
        assert_eq!(next_attempt(&mut memory, Some(hint)), hint);
        assert_eq!(memory.attempts, 3);
        assert_eq!(next_attempt(&mut memory, None), Duration::from_secs(8));
    }
}
