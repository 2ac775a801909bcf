//! One ACI container instance view → a Kubernetes container status.
//!
//! ACI reports `Waiting`, `Running` or `Terminated` with a free-text `detailStatus` that often
//! starts with a Kubernetes-style reason (`CrashLoopBackOff: Back-off restarting failed`).
//! The leading CamelCase word becomes the reason; a bare `Waiting` (or nothing) means the
//! container is being created. ACI has no readiness results, so a running container is ready.

use prost_types::Timestamp;
use vk_proto::v1;

use crate::model::{ContainerInstanceView, ContainerState, Event};

pub(crate) fn timestamp(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<Timestamp> {
    t.map(|t| Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 })
}

/// Splits `Reason: message` (or a lone `Reason`) into its parts when it starts with a CamelCase word.
fn reason_and_message(detail: &str) -> (Option<&str>, &str) {
    let (head, rest) = match detail.split_once(':') {
        Some((head, rest)) => (head.trim(), rest.trim()),
        None => (detail.trim(), ""),
    };
    let camel = !head.is_empty()
        && head.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && head.chars().all(|c| c.is_ascii_alphanumeric());
    if camel { (Some(head), rest) } else { (None, detail.trim()) }
}

/// Why a container waits, from its detail and its latest events.
fn waiting_reason(detail: &str, events: &[Event], restart_count: i32) -> (String, String) {
    let (reason, message) = reason_and_message(detail);
    if let Some(reason) = reason.filter(|r| *r != "Waiting") {
        return (reason.to_string(), message.to_string());
    }
    let latest = events.iter().max_by_key(|e| e.last_timestamp);
    if let Some(e) = latest {
        let pull = e.message.to_ascii_lowercase().contains("pull");
        match e.name.as_str() {
            "Failed" if pull => return ("ErrImagePull".into(), e.message.clone()),
            "BackOff" if pull => return ("ImagePullBackOff".into(), e.message.clone()),
            "BackOff" => return ("CrashLoopBackOff".into(), e.message.clone()),
            _ => {}
        }
    }
    if restart_count > 0 {
        return ("CrashLoopBackOff".into(), message.to_string());
    }
    ("ContainerCreating".into(), message.to_string())
}

fn state(s: &ContainerState, events: &[Event], restart_count: i32) -> v1::ContainerState {
    let detail = s.detail_status.as_deref().unwrap_or("");
    let state = match s.state.as_deref() {
        Some("Running") => v1::container_state::State::Running(v1::ContainerStateRunning {
            started_at: timestamp(s.start_time),
        }),
        Some("Terminated") => {
            let exit_code = s.exit_code.unwrap_or(0);
            let (reason, message) = reason_and_message(detail);
            let reason = reason
                .map(str::to_string)
                .unwrap_or_else(|| if exit_code == 0 { "Completed" } else { "Error" }.into());
            v1::container_state::State::Terminated(v1::ContainerStateTerminated {
                exit_code,
                signal: 0,
                reason,
                message: message.to_string(),
                started_at: timestamp(s.start_time),
                finished_at: timestamp(s.finish_time),
            })
        }
        _ => {
            let (reason, message) = waiting_reason(detail, events, restart_count);
            v1::container_state::State::Waiting(v1::ContainerStateWaiting { reason, message })
        }
    };
    v1::ContainerState { state: Some(state) }
}

/// The status of one container from its instance view (absent while ACI has none).
pub fn container_status(
    name: &str,
    image: &str,
    view: Option<&ContainerInstanceView>,
) -> v1::ContainerStatus {
    let empty = ContainerInstanceView::default();
    let view = view.unwrap_or(&empty);
    let current = view.current_state.clone().unwrap_or_default();
    let state = state(&current, &view.events, view.restart_count);
    let running = matches!(state.state, Some(v1::container_state::State::Running(_)));
    v1::ContainerStatus {
        name: name.to_string(),
        state: Some(state),
        last_state: view
            .previous_state
            .as_ref()
            .filter(|p| p.state.is_some())
            .map(|p| self::state(p, &[], 0)),
        ready: running,
        started: running,
        restart_count: view.restart_count,
        image: image.to_string(),
        image_id: String::new(),
        container_id: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: &str, detail: &str, exit: Option<i32>, restarts: i32) -> ContainerInstanceView {
        ContainerInstanceView {
            restart_count: restarts,
            current_state: Some(ContainerState {
                state: Some(state.into()),
                detail_status: Some(detail.into()),
                exit_code: exit,
                start_time: chrono::DateTime::from_timestamp(1_700_000_000, 0),
                finish_time: None,
            }),
            previous_state: None,
            events: vec![],
        }
    }

    fn which(s: &v1::ContainerStatus) -> &v1::container_state::State {
        s.state.as_ref().and_then(|s| s.state.as_ref()).expect("a state")
    }

    #[test]
    fn a_running_container_is_ready_and_started() {
        let s = container_status("c", "nginx", Some(&view("Running", "", None, 0)));
        assert!(s.ready && s.started);
        assert!(
            matches!(which(&s), v1::container_state::State::Running(r) if r.started_at.as_ref().map(|t| t.seconds) == Some(1_700_000_000))
        );
    }

    #[test]
    fn a_terminated_container_keeps_exit_code_and_reason() {
        let s = container_status("c", "i", Some(&view("Terminated", "OOMKilled", Some(137), 2)));
        match which(&s) {
            v1::container_state::State::Terminated(t) => {
                assert_eq!((t.exit_code, t.reason.as_str()), (137, "OOMKilled"))
            }
            other => panic!("expected terminated, got {other:?}"),
        }
        assert_eq!(s.restart_count, 2);
        let s = container_status("c", "i", Some(&view("Terminated", "", Some(3), 0)));
        assert!(matches!(which(&s), v1::container_state::State::Terminated(t) if t.reason == "Error"));
    }

    #[test]
    fn waiting_reasons_come_from_the_detail_or_events() {
        let s = container_status(
            "c",
            "i",
            Some(&view("Waiting", "CrashLoopBackOff: Back-off restarting", None, 1)),
        );
        assert!(
            matches!(which(&s), v1::container_state::State::Waiting(w) if w.reason == "CrashLoopBackOff" && w.message == "Back-off restarting")
        );
        let s = container_status("c", "i", Some(&view("Waiting", "Waiting", None, 0)));
        assert!(
            matches!(which(&s), v1::container_state::State::Waiting(w) if w.reason == "ContainerCreating")
        );
        let mut v = view("Waiting", "", None, 0);
        v.events.push(Event {
            name: "Failed".into(),
            message: "Failed to pull image \"x\"".into(),
            ..Default::default()
        });
        let s = container_status("c", "i", Some(&v));
        assert!(matches!(which(&s), v1::container_state::State::Waiting(w) if w.reason == "ErrImagePull"));
    }

    #[test]
    fn no_instance_view_means_creating() {
        let s = container_status("c", "i", None);
        assert!(!s.ready);
        assert!(
            matches!(which(&s), v1::container_state::State::Waiting(w) if w.reason == "ContainerCreating")
        );
    }
}
