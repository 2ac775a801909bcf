//! Pod status for the API: from the backend's `PodState`, or for a pod that waits (a missing
//! reference, a transient backend error) or can never run (`ProviderFailed`). Statuses are
//! compared after normalization so an unchanged status is never written again.

use k8s_openapi::api::core::v1::{
    ContainerState as KubeState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus as KubeContainerStatus, Pod, PodCondition as KubeCondition, PodIP,
    PodStatus as KubeStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use vk_proto::v1::container_state::State;
use vk_proto::v1::{ConditionStatus, ContainerState, ContainerStatus, PodPhase, PodState};

/// A protobuf timestamp as an API time (whole seconds, as the API stores them).
pub fn time(ts: &prost_types::Timestamp) -> Option<Time> {
    Timestamp::from_second(ts.seconds).ok().map(Time)
}

/// The current time in whole seconds.
pub fn now() -> Time {
    Time(Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn text(value: &str) -> Option<String> {
    Some(value.to_owned()).filter(|v| !v.is_empty())
}

fn phase(phase: i32) -> &'static str {
    match PodPhase::try_from(phase).unwrap_or(PodPhase::Unspecified) {
        PodPhase::Pending => "Pending",
        PodPhase::Running => "Running",
        PodPhase::Succeeded => "Succeeded",
        PodPhase::Failed => "Failed",
        PodPhase::Unknown | PodPhase::Unspecified => "Unknown",
    }
}

fn state(state: Option<&ContainerState>) -> KubeState {
    match state.and_then(|s| s.state.as_ref()) {
        Some(State::Waiting(w)) => KubeState {
            waiting: Some(ContainerStateWaiting { reason: text(&w.reason), message: text(&w.message) }),
            ..KubeState::default()
        },
        Some(State::Running(r)) => KubeState {
            running: Some(ContainerStateRunning { started_at: r.started_at.as_ref().and_then(time) }),
            ..KubeState::default()
        },
        Some(State::Terminated(t)) => KubeState {
            terminated: Some(ContainerStateTerminated {
                exit_code: t.exit_code,
                signal: Some(t.signal).filter(|s| *s != 0),
                reason: text(&t.reason),
                message: text(&t.message),
                started_at: t.started_at.as_ref().and_then(time),
                finished_at: t.finished_at.as_ref().and_then(time),
                container_id: None,
            }),
            ..KubeState::default()
        },
        None => KubeState::default(),
    }
}

fn container_status(status: &ContainerStatus) -> KubeContainerStatus {
    KubeContainerStatus {
        name: status.name.clone(),
        state: Some(state(status.state.as_ref())),
        last_state: Some(state(status.last_state.as_ref())),
        ready: status.ready,
        started: Some(status.started),
        restart_count: status.restart_count,
        image: status.image.clone(),
        image_id: status.image_id.clone(),
        container_id: text(&status.container_id),
        ..KubeContainerStatus::default()
    }
}

/// PodScheduled as the API has it, or True since the pod's creation (a pod bound by
/// `nodeName` never met the scheduler; the kubelet reports it scheduled all the same).
fn pod_scheduled(pod: &Pod) -> KubeCondition {
    let existing = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    existing.and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled")).cloned().unwrap_or_else(|| {
        KubeCondition {
            type_: "PodScheduled".to_owned(),
            status: "True".to_owned(),
            last_transition_time: pod.metadata.creation_timestamp.clone(),
            ..KubeCondition::default()
        }
    })
}

/// PodScheduled first, then `ours` (PodScheduled among `ours` wins).
fn merge_conditions(pod: &Pod, ours: Vec<KubeCondition>) -> Vec<KubeCondition> {
    let mut conditions = Vec::with_capacity(ours.len() + 1);
    if !ours.iter().any(|o| o.type_ == "PodScheduled") {
        conditions.push(pod_scheduled(pod));
    }
    conditions.extend(ours);
    conditions
}

/// The status of `pod` as the backend reports it in `backend`.
pub fn from_backend(pod: &Pod, backend: &PodState, host_ip: &str) -> KubeStatus {
    let existing = pod.status.as_ref();
    let Some(status) = backend.status.as_ref() else { return existing.cloned().unwrap_or_default() };
    let conditions = status
        .conditions
        .iter()
        .map(|c| KubeCondition {
            type_: c.r#type.clone(),
            status: match ConditionStatus::try_from(c.status).unwrap_or(ConditionStatus::Unspecified) {
                ConditionStatus::True => "True",
                ConditionStatus::False => "False",
                _ => "Unknown",
            }
            .to_owned(),
            reason: text(&c.reason),
            message: text(&c.message),
            last_transition_time: c.last_transition_time.as_ref().and_then(time),
            ..KubeCondition::default()
        })
        .collect();
    KubeStatus {
        phase: Some(phase(status.phase).to_owned()),
        reason: text(&status.reason),
        message: text(&status.message),
        conditions: Some(merge_conditions(pod, conditions)),
        init_container_statuses: Some(status.init_container_statuses.iter().map(container_status).collect()),
        container_statuses: Some(status.container_statuses.iter().map(container_status).collect()),
        pod_ip: text(&status.pod_ip),
        pod_ips: Some(status.pod_ips.iter().map(|ip| PodIP { ip: ip.clone() }).collect()),
        start_time: status.start_time.as_ref().and_then(time),
        host_ip: text(host_ip),
        qos_class: existing.and_then(|s| s.qos_class.clone()),
        ..KubeStatus::default()
    }
}

/// A pod that cannot start yet: Pending, every container waiting with `reason`, and a
/// Ready=False condition saying why.
pub fn waiting(pod: &Pod, reason: &str, message: &str, host_ip: &str) -> KubeStatus {
    let existing = pod.status.as_ref();
    let spec = pod.spec.as_ref();
    let waiting_status = |name: &String, image: &Option<String>| KubeContainerStatus {
        name: name.clone(),
        image: image.clone().unwrap_or_default(),
        state: Some(KubeState {
            waiting: Some(ContainerStateWaiting { reason: text(reason), message: text(message) }),
            ..KubeState::default()
        }),
        last_state: Some(KubeState::default()),
        started: Some(false),
        ..KubeContainerStatus::default()
    };
    let at = existing
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready" && c.reason.as_deref() == Some(reason)))
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(now);
    let condition = |kind: &str| KubeCondition {
        type_: kind.to_owned(),
        status: "False".to_owned(),
        reason: text(reason),
        message: text(message),
        last_transition_time: Some(at.clone()),
        ..KubeCondition::default()
    };
    KubeStatus {
        phase: Some("Pending".to_owned()),
        conditions: Some(merge_conditions(pod, vec![condition("ContainersReady"), condition("Ready")])),
        init_container_statuses: Some(
            spec.and_then(|s| s.init_containers.as_ref())
                .into_iter()
                .flatten()
                .map(|c| waiting_status(&c.name, &c.image))
                .collect(),
        ),
        container_statuses: Some(
            spec.map(|s| s.containers.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|c| waiting_status(&c.name, &c.image))
                .collect(),
        ),
        host_ip: text(host_ip),
        start_time: existing.and_then(|s| s.start_time.clone()).or_else(|| Some(now())),
        qos_class: existing.and_then(|s| s.qos_class.clone()),
        ..KubeStatus::default()
    }
}

/// A pod that can never run: phase Failed, reason `ProviderFailed`, the given message.
pub fn provider_failed(pod: &Pod, message: &str, host_ip: &str) -> KubeStatus {
    KubeStatus {
        phase: Some("Failed".to_owned()),
        reason: Some("ProviderFailed".to_owned()),
        message: text(message),
        ..waiting(pod, "ProviderFailed", message, host_ip)
    }
}

/// Drops nulls, empty strings, empty arrays and empty objects, so statuses compare equal
/// when they differ only in how absent values are written.
fn normalized(value: serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value;
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().map(|v| normalized(v).unwrap_or(Value::Null)).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let map: serde_json::Map<String, Value> =
                map.into_iter().filter_map(|(k, v)| normalized(v).map(|v| (k, v))).collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        other => Some(other),
    }
}

/// True when writing `desired` would change the stored `current` status.
pub fn differs(current: Option<&KubeStatus>, desired: &KubeStatus) -> bool {
    let as_value = |s: Option<&KubeStatus>| s.and_then(|s| serde_json::to_value(s).ok()).and_then(normalized);
    as_value(current) != as_value(Some(desired))
}

/// The phase the API shows.
pub fn api_phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use kube::api::ObjectMeta;
    use vk_proto::v1::{ContainerStateRunning as Running, PodStatus as ProtoStatus};

    use super::*;

    fn pod() -> Pod {
        Pod {
            metadata: ObjectMeta { name: Some("p".into()), ..ObjectMeta::default() },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    image: Some("nginx".into()),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            status: Some(KubeStatus {
                phase: Some("Pending".into()),
                qos_class: Some("BestEffort".into()),
                conditions: Some(vec![KubeCondition {
                    type_: "PodScheduled".into(),
                    status: "True".into(),
                    ..KubeCondition::default()
                }]),
                ..KubeStatus::default()
            }),
        }
    }

    fn running() -> PodState {
        let started = prost_types::Timestamp { seconds: 1_700_000_000, nanos: 123_456_789 };
        PodState {
            status: Some(ProtoStatus {
                phase: PodPhase::Running as i32,
                pod_ip: "20.1.2.3".into(),
                pod_ips: vec!["20.1.2.3".into()],
                start_time: Some(started),
                container_statuses: vec![ContainerStatus {
                    name: "app".into(),
                    ready: true,
                    started: true,
                    image: "nginx".into(),
                    state: Some(ContainerState {
                        state: Some(State::Running(Running { started_at: Some(started) })),
                    }),
                    ..ContainerStatus::default()
                }],
                ..ProtoStatus::default()
            }),
            ..PodState::default()
        }
    }

    #[test]
    fn a_running_backend_pod_becomes_a_running_api_status_with_ip() {
        let status = from_backend(&pod(), &running(), "10.0.0.4");
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert_eq!(status.pod_ip.as_deref(), Some("20.1.2.3"));
        assert_eq!(status.host_ip.as_deref(), Some("10.0.0.4"));
        assert_eq!(status.qos_class.as_deref(), Some("BestEffort"), "the API's qosClass is kept");
        let conditions = status.conditions.as_ref().expect("conditions");
        assert!(conditions.iter().any(|c| c.type_ == "PodScheduled"), "PodScheduled is kept");
        let started = status.container_statuses.as_ref().expect("statuses")[0]
            .state
            .as_ref()
            .and_then(|s| s.running.clone());
        let started_at = started.and_then(|r| r.started_at).expect("started");
        assert_eq!(started_at.0.as_second(), 1_700_000_000);
        assert_eq!(started_at.0.subsec_nanosecond(), 0, "times are whole seconds as the API stores them");
    }

    #[test]
    fn a_status_read_back_from_the_api_does_not_differ() {
        let desired = from_backend(&pod(), &running(), "10.0.0.4");
        let json = serde_json::to_string(&desired).expect("serializable");
        let read_back: KubeStatus = serde_json::from_str(&json).expect("deserializable");
        assert!(!differs(Some(&read_back), &desired));
        let mut stored = pod();
        stored.status = Some(read_back);
        assert!(!differs(stored.status.as_ref(), &from_backend(&stored, &running(), "10.0.0.4")));
        assert!(differs(pod().status.as_ref(), &desired));
    }

    #[test]
    fn a_pod_bound_without_the_scheduler_is_reported_scheduled() {
        let mut bound = pod();
        bound.status = None;
        let status = from_backend(&bound, &running(), "10.0.0.4");
        let scheduled = status.conditions.unwrap_or_default().into_iter().find(|c| c.type_ == "PodScheduled");
        assert_eq!(scheduled.map(|c| c.status).as_deref(), Some("True"));
    }

    #[test]
    fn a_refused_pod_is_failed_with_provider_failed_and_the_message() {
        let status = provider_failed(&pod(), "spec.volumes[0].hostPath: host paths do not exist on ACI", "");
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        assert_eq!(status.reason.as_deref(), Some("ProviderFailed"));
        assert!(status.message.as_deref().is_some_and(|m| m.contains("hostPath")));
    }

    #[test]
    fn a_waiting_pod_says_why_in_its_ready_condition_and_containers() {
        let status = waiting(&pod(), "CreateContainerConfigError", "configmap \"x\" not found", "10.0.0.4");
        assert_eq!(status.phase.as_deref(), Some("Pending"));
        let ready = status
            .conditions
            .as_ref()
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready").cloned())
            .expect("Ready");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_deref()),
            ("False", Some("CreateContainerConfigError"))
        );
        let waiting =
            status.container_statuses.as_ref().expect("statuses")[0].state.clone().and_then(|s| s.waiting);
        assert_eq!(waiting.and_then(|w| w.message).as_deref(), Some("configmap \"x\" not found"));
    }
}
