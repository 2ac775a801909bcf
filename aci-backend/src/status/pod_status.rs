//! A container group → the pod's phase, conditions and container statuses.
//!
//! Phase follows Kubernetes: Pending until every container has started once; Running while
//! any container runs or will be restarted by the restart policy; Succeeded / Failed once all
//! have terminated for good (a `Stopped` group never restarts). A group ACI failed to
//! provision is Failed with reason `ProviderFailed` and ACI's latest warning as message.

use prost_types::Timestamp;
use vk_proto::v1;
use vk_proto::v1::container_state::State;

use super::container_state::container_status;
use crate::model::ContainerGroup;

fn terminated(s: &v1::ContainerStatus) -> Option<&v1::ContainerStateTerminated> {
    match s.state.as_ref().and_then(|s| s.state.as_ref()) {
        Some(State::Terminated(t)) => Some(t),
        _ => None,
    }
}

fn running(s: &v1::ContainerStatus) -> bool {
    matches!(s.state.as_ref().and_then(|s| s.state.as_ref()), Some(State::Running(_)))
}

fn condition(kind: &str, ok: bool, reason: &str, at: Option<Timestamp>) -> v1::PodCondition {
    let status = if ok { v1::ConditionStatus::True } else { v1::ConditionStatus::False };
    v1::PodCondition {
        r#type: kind.to_string(),
        status: status as i32,
        reason: if ok { String::new() } else { reason.to_string() },
        message: String::new(),
        last_transition_time: at,
    }
}

/// The pod status of a group read with its instance view. `start_time` is when the backend
/// accepted the pod.
pub fn pod_status(group: &ContainerGroup, start_time: Option<Timestamp>) -> v1::PodStatus {
    let p = &group.properties;
    let init: Vec<_> = p
        .init_containers
        .iter()
        .map(|c| container_status(&c.name, &c.properties.image, c.properties.instance_view.as_ref()))
        .collect();
    let apps: Vec<_> = p
        .containers
        .iter()
        .map(|c| container_status(&c.name, &c.properties.image, c.properties.instance_view.as_ref()))
        .collect();
    let policy = p.restart_policy.as_deref().unwrap_or("Always");
    let stopped = p.instance_view.as_ref().and_then(|v| v.state.as_deref()) == Some("Stopped");
    let will_restart = |t: &v1::ContainerStateTerminated| {
        !stopped && (policy == "Always" || (policy == "OnFailure" && t.exit_code != 0))
    };
    let init_done = init.iter().all(|s| terminated(s).is_some_and(|t| t.exit_code == 0));
    let init_failed =
        init.iter().any(|s| terminated(s).is_some_and(|t| t.exit_code != 0 && !will_restart(t)));
    let all_started = apps.iter().all(|s| running(s) || terminated(s).is_some());
    let all_final = apps.iter().all(|s| terminated(s).is_some_and(|t| !will_restart(t)));
    let ready = !apps.is_empty() && apps.iter().all(|s| s.ready);

    let mut reason = String::new();
    let mut message = String::new();
    let phase = if p.provisioning_state.as_deref() == Some("Failed") {
        reason = "ProviderFailed".into();
        message = p
            .instance_view
            .iter()
            .flat_map(|v| v.events.iter())
            .filter(|e| e.event_type.eq_ignore_ascii_case("Warning"))
            .max_by_key(|e| e.last_timestamp)
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "ACI could not provision the container group".into());
        v1::PodPhase::Failed
    } else if init_failed {
        v1::PodPhase::Failed
    } else if !apps.is_empty() && all_final {
        let ok = apps.iter().all(|s| terminated(s).is_some_and(|t| t.exit_code == 0));
        if ok { v1::PodPhase::Succeeded } else { v1::PodPhase::Failed }
    } else if init_done && all_started && !apps.is_empty() {
        v1::PodPhase::Running
    } else {
        v1::PodPhase::Pending
    };

    let latest_start = apps
        .iter()
        .filter_map(|s| match s.state.as_ref().and_then(|s| s.state.as_ref()) {
            Some(State::Running(r)) => r.started_at,
            _ => None,
        })
        .max_by_key(|t| (t.seconds, t.nanos));
    let init_at = init
        .iter()
        .filter_map(|s| terminated(s).and_then(|t| t.finished_at))
        .max_by_key(|t| (t.seconds, t.nanos))
        .or(start_time);
    let ip = p.ip_address.as_ref().and_then(|ip| ip.ip.clone()).unwrap_or_default();
    v1::PodStatus {
        phase: phase as i32,
        reason,
        message,
        conditions: vec![
            condition(
                "Initialized",
                init_done,
                "ContainersNotInitialized",
                if init_done { init_at } else { None },
            ),
            condition(
                "ContainersReady",
                ready,
                "ContainersNotReady",
                if ready { latest_start } else { None },
            ),
            condition("Ready", ready, "ContainersNotReady", if ready { latest_start } else { None }),
        ],
        init_container_statuses: init,
        container_statuses: apps,
        pod_ips: if ip.is_empty() { vec![] } else { vec![ip.clone()] },
        pod_ip: ip,
        start_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Container, ContainerInstanceView, ContainerProperties, ContainerState, GroupInstanceView,
        InitContainer, InitContainerProperties, IpAddress,
    };

    fn state(kind: &str, exit: Option<i32>) -> Option<ContainerInstanceView> {
        Some(ContainerInstanceView {
            current_state: Some(ContainerState {
                state: Some(kind.into()),
                exit_code: exit,
                start_time: chrono::DateTime::from_timestamp(1_700_000_000, 0),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    fn group(policy: &str, views: Vec<Option<ContainerInstanceView>>) -> ContainerGroup {
        let mut g = ContainerGroup::default();
        g.properties.restart_policy = Some(policy.into());
        g.properties.provisioning_state = Some("Succeeded".into());
        g.properties.containers = views
            .into_iter()
            .enumerate()
            .map(|(i, v)| Container {
                name: format!("c{i}"),
                properties: ContainerProperties { instance_view: v, ..Default::default() },
            })
            .collect();
        g
    }

    fn phase(g: &ContainerGroup) -> v1::PodPhase {
        v1::PodPhase::try_from(pod_status(g, None).phase).expect("a known phase")
    }

    #[test]
    fn running_containers_make_a_ready_running_pod_with_its_ip() {
        let mut g = group("Always", vec![state("Running", None), state("Running", None)]);
        g.properties.ip_address =
            Some(IpAddress { ip: Some("10.0.0.4".into()), ip_type: "Private".into(), ..Default::default() });
        let s = pod_status(&g, None);
        assert_eq!(s.phase, v1::PodPhase::Running as i32);
        assert_eq!((s.pod_ip.as_str(), s.pod_ips.clone()), ("10.0.0.4", vec!["10.0.0.4".to_string()]));
        let ready = s.conditions.iter().find(|c| c.r#type == "Ready").expect("Ready condition");
        assert_eq!(ready.status, v1::ConditionStatus::True as i32);
    }

    #[test]
    fn phases_follow_the_restart_policy() {
        assert_eq!(phase(&group("Never", vec![state("Terminated", Some(0))])), v1::PodPhase::Succeeded);
        assert_eq!(phase(&group("Never", vec![state("Terminated", Some(1))])), v1::PodPhase::Failed);
        assert_eq!(phase(&group("OnFailure", vec![state("Terminated", Some(1))])), v1::PodPhase::Running);
        assert_eq!(phase(&group("Always", vec![state("Terminated", Some(0))])), v1::PodPhase::Running);
        assert_eq!(phase(&group("Always", vec![None])), v1::PodPhase::Pending);
        assert_eq!(
            phase(&group("Always", vec![state("Running", None), state("Waiting", None)])),
            v1::PodPhase::Pending
        );
    }

    #[test]
    fn a_stopped_group_never_restarts() {
        let mut g = group("Always", vec![state("Terminated", Some(0))]);
        g.properties.instance_view =
            Some(GroupInstanceView { state: Some("Stopped".into()), events: vec![] });
        assert_eq!(phase(&g), v1::PodPhase::Succeeded);
    }

    #[test]
    fn a_failed_provisioning_is_a_provider_failure_with_aci_message() {
        let mut g = group("Always", vec![None]);
        g.properties.provisioning_state = Some("Failed".into());
        g.properties.instance_view = Some(GroupInstanceView {
            state: None,
            events: vec![crate::model::Event {
                name: "Failed".into(),
                message: "subnet is full".into(),
                event_type: "Warning".into(),
                ..Default::default()
            }],
        });
        let s = pod_status(&g, None);
        assert_eq!(
            (s.phase, s.reason.as_str(), s.message.as_str()),
            (v1::PodPhase::Failed as i32, "ProviderFailed", "subnet is full")
        );
    }

    #[test]
    fn pending_init_containers_keep_the_pod_uninitialized() {
        let mut g = group("Always", vec![None]);
        g.properties.init_containers = vec![InitContainer {
            name: "init".into(),
            properties: InitContainerProperties {
                instance_view: state("Running", None),
                ..Default::default()
            },
        }];
        let s = pod_status(&g, None);
        assert_eq!(s.phase, v1::PodPhase::Pending as i32);
        let init = s.conditions.iter().find(|c| c.r#type == "Initialized").expect("Initialized");
        assert_eq!(init.status, v1::ConditionStatus::False as i32);
        assert_eq!(s.init_container_statuses.len(), 1);
    }
}
