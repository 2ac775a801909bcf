//! How vkctl prints pods, node info and watch events: an aligned table or JSON.

use serde_json::{Value, json};
use vk_proto::v1::container_state::State as StateKind;
use vk_proto::v1::watch_pods_response::Event;
use vk_proto::v1::{self as pb, PodPhase};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON for scripts (watch prints one object per line).
    Json,
}

fn time(timestamp: Option<&prost_types::Timestamp>) -> Value {
    timestamp
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

fn phase(status: Option<&pb::PodStatus>) -> &'static str {
    match status.and_then(|s| PodPhase::try_from(s.phase).ok()) {
        Some(PodPhase::Pending) => "Pending",
        Some(PodPhase::Running) => "Running",
        Some(PodPhase::Succeeded) => "Succeeded",
        Some(PodPhase::Failed) => "Failed",
        Some(PodPhase::Unknown) => "Unknown",
        Some(PodPhase::Unspecified) | None => "",
    }
}

fn container_state(state: Option<&pb::ContainerState>) -> Value {
    match state.and_then(|s| s.state.as_ref()) {
        Some(StateKind::Waiting(w)) => json!({"waiting": {"reason": w.reason, "message": w.message}}),
        Some(StateKind::Running(r)) => json!({"running": {"startedAt": time(r.started_at.as_ref())}}),
        Some(StateKind::Terminated(t)) => json!({"terminated": {
            "exitCode": t.exit_code, "signal": t.signal, "reason": t.reason, "message": t.message,
            "startedAt": time(t.started_at.as_ref()), "finishedAt": time(t.finished_at.as_ref()),
        }}),
        None => Value::Null,
    }
}

fn container_statuses(list: &[pb::ContainerStatus]) -> Value {
    list.iter()
        .map(|c| {
            json!({
                "name": c.name, "ready": c.ready, "started": c.started, "restartCount": c.restart_count,
                "image": c.image, "containerID": c.container_id,
                "state": container_state(c.state.as_ref()), "lastState": container_state(c.last_state.as_ref()),
            })
        })
        .collect()
}

/// A JSON view of a pod state: identity, the containers as given (without environment
/// values), status and events.
pub fn pod_json(state: &pb::PodState) -> Value {
    let pod = state.pod.clone().unwrap_or_default();
    let meta = pod.meta.unwrap_or_default();
    let spec = pod.spec.unwrap_or_default();
    let status = state.status.clone().unwrap_or_default();
    json!({
        "uid": meta.uid, "namespace": meta.namespace, "name": meta.name,
        "labels": meta.labels, "annotations": meta.annotations, "specHash": pod.spec_hash,
        "containers": spec.containers.iter().map(|c| json!({
            "name": c.name, "image": c.image, "command": c.command, "args": c.args,
            "env": c.env.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "deleting": state.deleting,
        "providerResourceId": state.provider_resource_id,
        "status": {
            "phase": phase(state.status.as_ref()), "reason": status.reason, "message": status.message,
            "podIP": status.pod_ip, "podIPs": status.pod_ips, "startTime": time(status.start_time.as_ref()),
            "conditions": status.conditions.iter().map(|c| json!({
                "type": c.r#type,
                "status": match pb::ConditionStatus::try_from(c.status) {
                    Ok(pb::ConditionStatus::True) => "True", Ok(pb::ConditionStatus::False) => "False", _ => "Unknown" },
                "reason": c.reason, "message": c.message, "lastTransitionTime": time(c.last_transition_time.as_ref()),
            })).collect::<Vec<_>>(),
            "initContainerStatuses": container_statuses(&status.init_container_statuses),
            "containerStatuses": container_statuses(&status.container_statuses),
        },
        "events": state.events.iter().map(|e| json!({
            "key": e.key, "reason": e.reason, "message": e.message,
            "type": if e.r#type == pb::EventType::Warning as i32 { "Warning" } else { "Normal" },
            "count": e.count, "container": e.container_name,
            "firstTimestamp": time(e.first_timestamp.as_ref()), "lastTimestamp": time(e.last_timestamp.as_ref()),
        })).collect::<Vec<_>>(),
    })
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("   ").trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

fn pod_row(state: &pb::PodState) -> Vec<String> {
    let meta = state.pod.as_ref().and_then(|p| p.meta.clone()).unwrap_or_default();
    let status = state.status.clone().unwrap_or_default();
    let ready = status.container_statuses.iter().filter(|c| c.ready).count();
    let restarts: i32 = status.container_statuses.iter().map(|c| c.restart_count).sum();
    let shown_phase = if state.deleting { "Terminating" } else { phase(state.status.as_ref()) };
    vec![
        meta.uid,
        meta.namespace,
        meta.name,
        format!("{ready}/{}", status.container_statuses.len()),
        shown_phase.to_owned(),
        restarts.to_string(),
        if status.pod_ip.is_empty() { "<none>".into() } else { status.pod_ip },
    ]
}

const POD_HEADER: &[&str] = &["UID", "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "IP"];

/// Pods as a table or a JSON array.
pub fn pods(states: &[pb::PodState], format: Format) -> String {
    match format {
        Format::Table => table(POD_HEADER, &states.iter().map(pod_row).collect::<Vec<_>>()),
        Format::Json => pretty(&Value::Array(states.iter().map(pod_json).collect())),
    }
}

/// One pod: a table row plus its containers and events, or JSON.
pub fn pod(state: &pb::PodState, format: Format) -> String {
    match format {
        Format::Json => pretty(&pod_json(state)),
        Format::Table => {
            let mut out = table(POD_HEADER, &[pod_row(state)]);
            let status = state.status.clone().unwrap_or_default();
            let containers: Vec<Vec<String>> = status
                .init_container_statuses
                .iter()
                .map(|c| (c, "init"))
                .chain(status.container_statuses.iter().map(|c| (c, "")))
                .map(|(c, kind)| {
                    let state = container_state(c.state.as_ref());
                    let state = state.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
                    vec![c.name.clone(), kind.to_owned(), state, c.restart_count.to_string(), c.image.clone()]
                })
                .collect();
            out += "\n";
            out += &table(&["CONTAINER", "KIND", "STATE", "RESTARTS", "IMAGE"], &containers);
            if !state.events.is_empty() {
                let events: Vec<Vec<String>> = state
                    .events
                    .iter()
                    .map(|e| {
                        vec![
                            e.reason.clone(),
                            e.count.to_string(),
                            e.container_name.clone(),
                            e.message.clone(),
                        ]
                    })
                    .collect();
                out += "\n";
                out += &table(&["EVENT", "COUNT", "CONTAINER", "MESSAGE"], &events);
            }
            out
        }
    }
}

/// One watch message: a line for people, or one JSON object per line.
pub fn watch_event(sequence: u64, event: &Event, format: Format) -> String {
    let (kind, value) = match event {
        Event::Initial(state) => ("initial", pod_json(state)),
        Event::Changed(state) => ("changed", pod_json(state)),
        Event::SnapshotComplete(complete) => ("snapshot_complete", json!({"podCount": complete.pod_count})),
        Event::Removed(removed) => {
            ("removed", json!({"uid": removed.uid, "namespace": removed.namespace, "name": removed.name}))
        }
        Event::Bookmark(bookmark) => ("bookmark", json!({"time": time(bookmark.time.as_ref())})),
    };
    match format {
        Format::Json => json!({"sequence": sequence, "type": kind, "object": value}).to_string() + "\n",
        Format::Table => {
            let detail = match event {
                Event::Initial(state) | Event::Changed(state) => pod_row(state).join(" "),
                Event::SnapshotComplete(complete) => format!("{} pods", complete.pod_count),
                Event::Removed(removed) => format!("{} {} {}", removed.uid, removed.namespace, removed.name),
                Event::Bookmark(_) => value["time"].as_str().unwrap_or_default().to_owned(),
            };
            format!("{sequence:>6} {kind:<17} {detail}\n")
        }
    }
}

/// Node info as a summary or JSON.
pub fn node_info(info: &pb::NodeInfo, format: Format) -> String {
    let resources = |r: Option<&pb::NodeResources>| {
        let r = r.cloned().unwrap_or_default();
        json!({"cpuMillis": r.cpu_millis, "memoryBytes": r.memory_bytes, "pods": r.pods,
               "ephemeralStorageBytes": r.ephemeral_storage_bytes, "extended": r.extended})
    };
    let caps = info.capabilities.unwrap_or_default();
    let system = info.system_info.clone().unwrap_or_default();
    let value = json!({
        "os": match pb::OsType::try_from(info.os) { Ok(pb::OsType::Windows) => "windows", Ok(pb::OsType::Linux) => "linux", _ => "" },
        "region": info.region, "providerID": info.provider_id,
        "capacity": resources(info.capacity.as_ref()), "allocatable": resources(info.allocatable.as_ref()),
        "conditions": info.conditions.iter().map(|c| json!({
            "type": c.r#type, "healthy": c.healthy, "reason": c.reason, "message": c.message,
        })).collect::<Vec<_>>(),
        "labels": info.labels,
        "taints": info.taints.iter().map(|t| json!({"key": t.key, "value": t.value, "effect": t.effect})).collect::<Vec<_>>(),
        "systemInfo": {"operatingSystem": system.operating_system, "architecture": system.architecture,
                       "kernelVersion": system.kernel_version, "osImage": system.os_image,
                       "containerRuntimeVersion": system.container_runtime_version},
        "capabilities": {"execExitCodes": caps.exec_exit_codes, "separateStderr": caps.separate_stderr,
                         "attach": caps.attach, "previousLogs": caps.previous_logs,
                         "portForward": caps.port_forward, "stats": caps.stats},
    });
    match format {
        Format::Json => pretty(&value),
        Format::Table => {
            let mut rows = vec![
                vec!["os".to_owned(), value["os"].as_str().unwrap_or_default().to_owned()],
                vec!["region".to_owned(), info.region.clone()],
                vec!["providerID".to_owned(), info.provider_id.clone()],
                vec!["capacity".to_owned(), value["capacity"].to_string()],
                vec!["allocatable".to_owned(), value["allocatable"].to_string()],
                vec!["capabilities".to_owned(), value["capabilities"].to_string()],
            ];
            for condition in &info.conditions {
                let health = if condition.healthy { "healthy" } else { "UNHEALTHY" };
                rows.push(vec![
                    format!("condition {}", condition.r#type),
                    format!("{health} {} {}", condition.reason, condition.message),
                ]);
            }
            table(&["FIELD", "VALUE"], &rows)
        }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}
