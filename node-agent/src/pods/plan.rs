//! The per-pod decision: given the API object, the backend's view and what the agent
//! remembers, what to do next. Pure, so every case is tested without a cluster.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use vk_proto::v1::PodState;

/// What the agent remembers about one pod between syncs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Memory {
    /// Fingerprint of the API pod last sent successfully (create or update).
    pub sent_input: Option<String>,
    /// Fingerprint of an API pod the backend (or resolution) refused for good.
    pub refused_input: Option<String>,
    /// DeletePod was called for this pod.
    pub delete_sent: bool,
    /// Failed attempts in a row (for backoff).
    pub attempts: u32,
    /// The last attempt failed: no new create or update of the same input before then.
    pub backoff: Option<Backoff>,
}

/// A failed create or update waiting for its retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    /// When the retry is due.
    pub until: Timestamp,
    /// Fingerprint of the API pod that failed (a changed pod is tried at once).
    pub input: Option<String>,
}

/// Everything the decision looks at.
pub struct Observed<'a> {
    /// The API object, `None` when it no longer exists.
    pub kube: Option<&'a Pod>,
    /// The backend's pod, `None` when the backend does not have it.
    pub backend: Option<&'a PodState>,
    /// Fingerprint of `kube`'s metadata and spec.
    pub input: Option<&'a str>,
    /// What the agent remembers.
    pub memory: &'a Memory,
    /// Wall-clock time now.
    pub now: Timestamp,
}

/// The next step for a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Neither side has the pod: forget it.
    Forget,
    /// Delete the pod in the backend (its API object is gone or being deleted).
    DeleteInBackend {
        /// Grace period to pass along.
        grace_period_seconds: Option<i64>,
    },
    /// The backend is deleting the pod; wait for `removed` or until the grace period ends.
    AwaitRemoval {
        /// End of the grace period.
        until: Timestamp,
    },
    /// Remove the API object with grace 0 and a UID precondition.
    Finalize,
    /// Resolve the pod and create it in the backend.
    Create,
    /// Resolve the pod and update it in the backend when its spec hash changed.
    Update,
    /// Bring the API status up to date from the backend.
    ReportStatus,
    /// The last create or update of this same pod failed and its retry is not due yet.
    /// Without this, the status the failure wrote would come back as a watch event and try
    /// again at once, every time: no backoff at all.
    AwaitRetry {
        /// When the retry is due.
        until: Timestamp,
    },
    /// Nothing to do (a finished or refused pod, or a deletion in progress).
    Idle,
}

impl Plan {
    /// A short name for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Forget => "forget",
            Self::DeleteInBackend { .. } => "delete",
            Self::AwaitRemoval { .. } => "await_removal",
            Self::Finalize => "finalize",
            Self::Create => "create",
            Self::Update => "update",
            Self::ReportStatus => "report_status",
            Self::AwaitRetry { .. } => "await_retry",
            Self::Idle => "idle",
        }
    }
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

/// The retry of a failed create or update that is not due yet, if the pod has not changed.
fn backing_off(observed: &Observed<'_>) -> Option<Plan> {
    let backoff = observed.memory.backoff.as_ref()?;
    (backoff.until > observed.now && backoff.input.as_deref() == observed.input)
        .then_some(Plan::AwaitRetry { until: backoff.until })
}

/// Decides the next step.
pub fn plan(observed: &Observed<'_>) -> Plan {
    let memory = observed.memory;
    match (observed.kube, observed.backend) {
        (None, None) => Plan::Forget,
        (None, Some(backend)) => {
            if memory.delete_sent || backend.deleting {
                Plan::Idle
            } else {
                Plan::DeleteInBackend { grace_period_seconds: Some(0) }
            }
        }
        (Some(pod), backend) if pod.metadata.deletion_timestamp.is_some() => {
            let Some(backend) = backend else { return Plan::Finalize };
            if !memory.delete_sent && !backend.deleting {
                return Plan::DeleteInBackend {
                    grace_period_seconds: pod.metadata.deletion_grace_period_seconds,
                };
            }
            let until = pod.metadata.deletion_timestamp.as_ref().map(|t| t.0).unwrap_or(observed.now);
            if observed.now >= until { Plan::Finalize } else { Plan::AwaitRemoval { until } }
        }
        (Some(pod), None) => {
            if is_terminal(pod)
                || (memory.refused_input.is_some() && memory.refused_input.as_deref() == observed.input)
            {
                Plan::Idle
            } else {
                backing_off(observed).unwrap_or(Plan::Create)
            }
        }
        (Some(_), Some(_)) => {
            if memory.sent_input.as_deref() == observed.input {
                Plan::ReportStatus
            } else {
                backing_off(observed).unwrap_or(Plan::Update)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::PodStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use kube::api::ObjectMeta;

    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("valid time")
    }

    fn pod(phase: &str, deleted_at: Option<i64>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                deletion_timestamp: deleted_at.map(|s| Time(at(s))),
                deletion_grace_period_seconds: deleted_at.map(|_| 30),
                ..ObjectMeta::default()
            },
            status: Some(PodStatus { phase: Some(phase.into()), ..PodStatus::default() }),
            ..Pod::default()
        }
    }

    fn decide(kube: Option<&Pod>, backend: Option<&PodState>, memory: &Memory, now: i64) -> Plan {
        plan(&Observed { kube, backend, input: Some("fp1"), memory, now: at(now) })
    }

    #[test]
    fn a_new_pod_is_created_and_a_known_one_reports_status() {
        let (pending, state) = (pod("Pending", None), PodState::default());
        assert_eq!(decide(Some(&pending), None, &Memory::default(), 0), Plan::Create);
        let sent = Memory { sent_input: Some("fp1".into()), ..Memory::default() };
        assert_eq!(decide(Some(&pending), Some(&state), &sent, 0), Plan::ReportStatus);
    }

    #[test]
    fn after_a_restart_or_a_change_the_pod_is_compared_by_update() {
        let (pending, state) = (pod("Running", None), PodState::default());
        assert_eq!(decide(Some(&pending), Some(&state), &Memory::default(), 0), Plan::Update);
        let old = Memory { sent_input: Some("fp0".into()), ..Memory::default() };
        assert_eq!(decide(Some(&pending), Some(&state), &old, 0), Plan::Update);
    }

    #[test]
    fn finished_and_refused_pods_are_not_created_again() {
        assert_eq!(decide(Some(&pod("Succeeded", None)), None, &Memory::default(), 0), Plan::Idle);
        assert_eq!(decide(Some(&pod("Failed", None)), None, &Memory::default(), 0), Plan::Idle);
        let refused = Memory { refused_input: Some("fp1".into()), ..Memory::default() };
        assert_eq!(decide(Some(&pod("Pending", None)), None, &refused, 0), Plan::Idle);
        let refused_before_change = Memory { refused_input: Some("fp0".into()), ..Memory::default() };
        assert_eq!(decide(Some(&pod("Pending", None)), None, &refused_before_change, 0), Plan::Create);
    }

    #[test]
    fn a_failed_create_waits_for_its_retry_unless_the_pod_changed() {
        let pending = pod("Pending", None);
        let failed = Memory {
            backoff: Some(Backoff { until: at(10), input: Some("fp1".into()) }),
            ..Memory::default()
        };
        assert_eq!(decide(Some(&pending), None, &failed, 5), Plan::AwaitRetry { until: at(10) });
        assert_eq!(decide(Some(&pending), None, &failed, 10), Plan::Create, "the retry is due");
        let changed = Memory {
            backoff: Some(Backoff { until: at(10), input: Some("fp0".into()) }),
            ..Memory::default()
        };
        assert_eq!(decide(Some(&pending), None, &changed, 5), Plan::Create, "the pod changed since");
    }

    #[test]
    fn a_failed_update_waits_but_status_and_deletion_do_not() {
        let running = pod("Running", None);
        let state = PodState::default();
        let backoff = Some(Backoff { until: at(10), input: Some("fp1".into()) });
        let failed = Memory { sent_input: Some("fp0".into()), backoff: backoff.clone(), ..Memory::default() };
        assert_eq!(decide(Some(&running), Some(&state), &failed, 5), Plan::AwaitRetry { until: at(10) });
        let reporting =
            Memory { sent_input: Some("fp1".into()), backoff: backoff.clone(), ..Memory::default() };
        assert_eq!(decide(Some(&running), Some(&state), &reporting, 5), Plan::ReportStatus);
        let deleting = pod("Running", Some(100));
        let deleting_memory = Memory { backoff, ..Memory::default() };
        assert_eq!(
            decide(Some(&deleting), Some(&state), &deleting_memory, 5),
            Plan::DeleteInBackend { grace_period_seconds: Some(30) }
        );
    }

    #[test]
    fn a_running_pod_missing_in_the_backend_is_created_again() {
        assert_eq!(decide(Some(&pod("Running", None)), None, &Memory::default(), 0), Plan::Create);
    }

    #[test]
    fn backend_pods_without_an_api_object_are_deleted_once() {
        let state = PodState::default();
        assert_eq!(
            decide(None, Some(&state), &Memory::default(), 0),
            Plan::DeleteInBackend { grace_period_seconds: Some(0) }
        );
        let sent = Memory { delete_sent: true, ..Memory::default() };
        assert_eq!(decide(None, Some(&state), &sent, 0), Plan::Idle);
        assert_eq!(decide(None, None, &sent, 0), Plan::Forget);
    }

    #[test]
    fn graceful_deletion_deletes_in_the_backend_then_waits_then_finalizes() {
        let deleting = pod("Running", Some(100));
        let state = PodState::default();
        assert_eq!(
            decide(Some(&deleting), Some(&state), &Memory::default(), 70),
            Plan::DeleteInBackend { grace_period_seconds: Some(30) }
        );
        let sent = Memory { delete_sent: true, ..Memory::default() };
        assert_eq!(decide(Some(&deleting), Some(&state), &sent, 80), Plan::AwaitRemoval { until: at(100) });
        assert_eq!(
            decide(Some(&deleting), Some(&state), &sent, 100),
            Plan::Finalize,
            "the grace period ended"
        );
        assert_eq!(decide(Some(&deleting), None, &sent, 80), Plan::Finalize, "the backend reported it gone");
        let in_progress = PodState { deleting: true, ..PodState::default() };
        assert_eq!(
            decide(Some(&deleting), Some(&in_progress), &Memory::default(), 80),
            Plan::AwaitRemoval { until: at(100) }
        );
    }
}
