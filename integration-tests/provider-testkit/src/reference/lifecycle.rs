//! The simulated lifecycle of a pod: Pending, then an IP and its init containers one after
//! another, then its containers, each run by the script interpreter and restarted by the
//! pod's restart policy.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinSet};
use vk_proto::Scope;
use vk_proto::v1::container_state::State as StateKind;
use vk_proto::v1::{
    ConditionStatus, Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus, RestartPolicy,
};

use super::logs::LogBuffer;
use super::script::{self, Io, Output, Program};
use super::store::{PodRecord, Store};

/// The current time as a protobuf timestamp.
pub fn now() -> prost_types::Timestamp {
    SystemTime::now().into()
}

fn waiting(reason: &str) -> Option<ContainerState> {
    Some(ContainerState {
        state: Some(StateKind::Waiting(ContainerStateWaiting {
            reason: reason.to_owned(),
            message: String::new(),
        })),
    })
}

/// The status of a pod the backend just accepted.
pub fn initial_status(pod: &Pod) -> PodStatus {
    let spec = pod.spec.clone().unwrap_or_default();
    let statuses = |containers: &[Container], reason: &str| -> Vec<ContainerStatus> {
        containers
            .iter()
            .map(|c| ContainerStatus {
                name: c.name.clone(),
                state: waiting(reason),
                image: c.image.clone(),
                ..Default::default()
            })
            .collect()
    };
    let main_reason = if spec.init_containers.is_empty() { "ContainerCreating" } else { "PodInitializing" };
    PodStatus {
        phase: PodPhase::Pending as i32,
        init_container_statuses: statuses(&spec.init_containers, "PodInitializing"),
        container_statuses: statuses(&spec.containers, main_reason),
        start_time: Some(now()),
        ..Default::default()
    }
}

/// Starts simulating the pod's lifecycle.
pub fn start(store: Arc<Store>, scope: Scope, uid: String) -> AbortHandle {
    tokio::spawn(run_pod(store, scope, uid)).abort_handle()
}

fn restart_policy(pod: &Pod) -> RestartPolicy {
    let value = pod.spec.as_ref().map(|s| s.restart_policy).unwrap_or_default();
    match RestartPolicy::try_from(value) {
        Ok(RestartPolicy::Never) => RestartPolicy::Never,
        Ok(RestartPolicy::OnFailure) => RestartPolicy::OnFailure,
        _ => RestartPolicy::Always,
    }
}

async fn run_pod(store: Arc<Store>, scope: Scope, uid: String) {
    tokio::time::sleep(store.config.start_delay).await;
    let pod = {
        let mut state = store.lock();
        let ip = state.allocate_ip();
        let Some(record) = state.scopes.get_mut(&scope).and_then(|pods| pods.get_mut(&uid)) else { return };
        record.status.pod_ip = ip.clone();
        record.status.pod_ips = vec![ip];
        record.event("Scheduled", "Accepted by the reference backend".into(), false, "");
        recompute(record);
        let pod = record.pod.clone();
        store.publish(&state, &scope, &uid);
        pod
    };
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = restart_policy(&pod);
    for init in &spec.init_containers {
        loop {
            let Some(code) = run_instance(&store, &scope, &uid, init, true).await else { return };
            if code == 0 {
                store.update(&scope, &uid, |record| finish(record, &init.name));
                break;
            }
            if policy == RestartPolicy::Never {
                store.update(&scope, &uid, |record| {
                    record.containers.values_mut().for_each(|runtime| runtime.finished = true);
                    record.status.phase = PodPhase::Failed as i32;
                    record.status.reason = "InitContainerFailed".into();
                    record.status.message = format!("init container {} exited with {code}", init.name);
                });
                return;
            }
            tokio::time::sleep(store.config.restart_delay).await;
        }
    }
    let mut containers = JoinSet::new();
    for container in spec.containers {
        containers.spawn(container_loop(store.clone(), scope.clone(), uid.clone(), container, policy));
    }
    while containers.join_next().await.is_some() {}
}

fn finish(record: &mut PodRecord, name: &str) {
    record.containers.entry(name.to_owned()).or_default().finished = true;
    recompute(record);
}

async fn container_loop(
    store: Arc<Store>,
    scope: Scope,
    uid: String,
    container: Container,
    policy: RestartPolicy,
) {
    loop {
        let Some(code) = run_instance(&store, &scope, &uid, &container, false).await else { return };
        let restart = match policy {
            RestartPolicy::Never => false,
            RestartPolicy::OnFailure => code != 0,
            _ => true,
        };
        if !restart {
            store.update(&scope, &uid, |record| finish(record, &container.name));
            return;
        }
        store.update(&scope, &uid, |record| {
            record.event(
                "BackOff",
                format!("Back-off restarting container {}", container.name),
                true,
                &container.name,
            );
        });
        tokio::time::sleep(store.config.restart_delay).await;
    }
}

fn status_of<'a>(status: &'a mut PodStatus, name: &str, init: bool) -> Option<&'a mut ContainerStatus> {
    let list = if init { &mut status.init_container_statuses } else { &mut status.container_statuses };
    list.iter_mut().find(|c| c.name == name)
}

/// Runs one instance of a container; `None` when the pod went away meanwhile.
async fn run_instance(
    store: &Store,
    scope: &Scope,
    uid: &str,
    container: &Container,
    init: bool,
) -> Option<i32> {
    let logs = LogBuffer::new();
    let (stop_tx, stop_rx) = oneshot::channel::<i32>();
    let (stdin_tx, stdin_rx) = if container.stdin {
        let (tx, rx) = mpsc::channel(64);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let started_at = now();
    let name = container.name.clone();
    let alive = store.update(scope, uid, |record| {
        let runtime = record.containers.entry(name.clone()).or_default();
        let restarted = runtime.logs.is_some();
        runtime.previous_logs = runtime.logs.replace(logs.clone());
        runtime.stdin = stdin_tx;
        runtime.stop = Some(stop_tx);
        runtime.finished = false;
        if let Some(status) = status_of(&mut record.status, &name, init) {
            if restarted {
                status.restart_count += 1;
                status.last_state = status.state.take();
            }
            status.state = Some(ContainerState {
                state: Some(StateKind::Running(ContainerStateRunning { started_at: Some(started_at) })),
            });
            status.ready = !init;
            status.started = true;
            status.container_id = format!("reference://{uid}/{name}/{}", status.restart_count);
        }
        record.event("Started", format!("Started container {name}"), false, &name);
        recompute(record);
    });
    if !alive {
        return None;
    }
    let env = container.env.iter().map(|e| (e.name.clone(), e.value.clone())).collect();
    let (out_tx, mut out_rx) = mpsc::channel::<Output>(64);
    let forward_logs = logs.clone();
    let forward = async move {
        while let Some(output) = out_rx.recv().await {
            match output {
                Output::Stdout(bytes) | Output::Stderr(bytes) => forward_logs.append(&bytes),
            }
        }
    };
    let run = async move {
        let mut io = Io { out: out_tx, stdin: stdin_rx, terminal: None, env };
        let program = match Program::for_container(&container.command, &container.args) {
            Ok(program) => program,
            Err(error) => {
                let _ = io.out.send(Output::Stderr(format!("{error}\n").into_bytes())).await;
                return 2;
            }
        };
        tokio::select! {
            code = script::run(&program, &mut io) => code,
            Ok(code) = stop_rx => code,
        }
    };
    let (code, ()) = tokio::join!(run, forward);
    let alive = store.update(scope, uid, |record| {
        if let Some(runtime) = record.containers.get_mut(&name) {
            runtime.stop = None;
            runtime.stdin = None;
        }
        if let Some(status) = status_of(&mut record.status, &name, init) {
            status.ready = false;
            status.state = Some(ContainerState {
                state: Some(StateKind::Terminated(ContainerStateTerminated {
                    exit_code: code,
                    signal: 0,
                    reason: if code == 0 { "Completed" } else { "Error" }.into(),
                    message: String::new(),
                    started_at: Some(started_at),
                    finished_at: Some(now()),
                })),
            });
        }
        record.event("Exited", format!("Container {name} exited with code {code}"), code != 0, &name);
        recompute(record);
    });
    logs.close();
    alive.then_some(code)
}

fn set_condition(conditions: &mut Vec<PodCondition>, kind: &str, value: bool) {
    let status = if value { ConditionStatus::True } else { ConditionStatus::False } as i32;
    match conditions.iter_mut().find(|c| c.r#type == kind) {
        Some(existing) if existing.status == status => {}
        Some(existing) => {
            existing.status = status;
            existing.last_transition_time = Some(now());
        }
        None => conditions.push(PodCondition {
            r#type: kind.to_owned(),
            status,
            last_transition_time: Some(now()),
            ..Default::default()
        }),
    }
}

/// Derives phase and conditions from the container states, as the kubelet does.
pub fn recompute(record: &mut PodRecord) {
    let spec = record.pod.spec.clone().unwrap_or_default();
    let status = &mut record.status;
    if status.phase == PodPhase::Failed as i32 && status.reason == "InitContainerFailed" {
        return;
    }
    let finished = |name: &str| record.containers.get(name).is_some_and(|r| r.finished);
    let initialized = !status.pod_ip.is_empty() && spec.init_containers.iter().all(|c| finished(&c.name));
    let running = |c: &ContainerStatus| {
        matches!(c.state.as_ref().and_then(|s| s.state.as_ref()), Some(StateKind::Running(_)))
    };
    let waiting = |c: &ContainerStatus| {
        matches!(c.state.as_ref().and_then(|s| s.state.as_ref()), None | Some(StateKind::Waiting(_)))
    };
    let all_running = status.container_statuses.iter().all(running);
    let all_finished = spec.containers.iter().all(|c| finished(&c.name));
    let phase = if !initialized || status.container_statuses.iter().any(waiting) {
        PodPhase::Pending
    } else if all_finished {
        let succeeded = status.container_statuses.iter().all(|c| {
            matches!(c.state.as_ref().and_then(|s| s.state.as_ref()), Some(StateKind::Terminated(t)) if t.exit_code == 0)
        });
        if succeeded { PodPhase::Succeeded } else { PodPhase::Failed }
    } else {
        PodPhase::Running
    };
    status.phase = phase as i32;
    set_condition(&mut status.conditions, "Initialized", initialized);
    set_condition(&mut status.conditions, "ContainersReady", initialized && all_running);
    set_condition(&mut status.conditions, "Ready", initialized && all_running);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic::Request;
    use vk_proto::Scope;
    use vk_proto::v1::provider_server::Provider;
    use vk_proto::v1::{self as pb};

    use crate::reference::service::ProviderService;
    use crate::reference::{ReferenceBackend, ReferenceConfig};

    fn scoped<T>(scope: &Scope, body: T) -> Request<T> {
        let mut request = Request::new(body);
        scope.insert_into(request.metadata_mut()).expect("ascii scope");
        request
    }

    fn pod(restart: pb::RestartPolicy) -> pb::Pod {
        pb::Pod {
            meta: Some(pb::PodMeta {
                uid: "u".into(),
                namespace: "ns".into(),
                name: "p".into(),
                ..Default::default()
            }),
            spec: Some(pb::PodSpec {
                containers: vec![pb::Container {
                    name: "app".into(),
                    image: "busybox".into(),
                    ..Default::default()
                }],
                restart_policy: restart as i32,
                ..Default::default()
            }),
            spec_hash: "h".into(),
        }
    }

    fn phase(backend: &ReferenceBackend, scope: &Scope) -> i32 {
        backend.pod(scope, "u").and_then(|p| p.status).map(|s| s.phase).unwrap_or_default()
    }

    fn restarts(backend: &ReferenceBackend, scope: &Scope) -> i32 {
        let status = backend.pod(scope, "u").and_then(|p| p.status).unwrap_or_default();
        status.container_statuses.first().map(|c| c.restart_count).unwrap_or_default()
    }

    async fn started(config: ReferenceConfig, restart: pb::RestartPolicy) -> (ReferenceBackend, Scope) {
        let backend = ReferenceBackend::new(config);
        let scope = Scope::new("c", "n");
        let service = ProviderService::new(backend.store.clone());
        service
            .create_pod(scoped(&scope, pb::CreatePodRequest { pod: Some(pod(restart)) }))
            .await
            .expect("created");
        (backend, scope)
    }

    #[tokio::test(start_paused = true)]
    async fn a_pod_stays_pending_for_the_start_delay_then_runs() {
        let config = ReferenceConfig { start_delay: Duration::from_secs(10), ..Default::default() };
        let (backend, scope) = started(config, pb::RestartPolicy::Always).await;
        tokio::time::sleep(Duration::from_secs(9)).await;
        assert_eq!(phase(&backend, &scope), pb::PodPhase::Pending as i32);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(phase(&backend, &scope), pb::PodPhase::Running as i32);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_container_restarts_after_the_restart_delay_under_on_failure() {
        let config = ReferenceConfig {
            start_delay: Duration::from_secs(1),
            restart_delay: Duration::from_secs(5),
            ..Default::default()
        };
        let (backend, scope) = started(config, pb::RestartPolicy::OnFailure).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        backend.exit_container(&scope, "u", "app", 2).expect("running");
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(restarts(&backend, &scope), 0, "not before the restart delay");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(restarts(&backend, &scope), 1);
        assert_eq!(phase(&backend, &scope), pb::PodPhase::Running as i32);
        backend.exit_container(&scope, "u", "app", 0).expect("running again");
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(restarts(&backend, &scope), 1, "a clean exit is not restarted under OnFailure");
        assert_eq!(phase(&backend, &scope), pb::PodPhase::Succeeded as i32);
    }
}
