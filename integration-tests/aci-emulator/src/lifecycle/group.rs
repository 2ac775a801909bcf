//! A group's lifecycle: provisioning (Pending, Creating, Succeeded), images pulled, init containers in
//! order, then every container with restarts by restart policy; stop, start and restart.

use std::sync::Arc;

use chrono::Utc;
use tokio::task::JoinSet;

use super::instance::run_once;
use crate::groups::model::{OsType, RestartPolicy};
use crate::groups::{ContainerState, GroupKey, Provisioning, record_event};
use crate::state::Shared;

/// Why a group is (re)deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deploy {
    Create,
    Start,
    Restart,
}

/// What one container runs.
#[derive(Clone, Debug)]
pub(super) struct ContainerSpec {
    pub(super) name: String,
    pub(super) image: String,
    pub(super) command: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    pub(super) init: bool,
}

/// Starts (or restarts) the group's lifecycle from the beginning.
pub fn deploy(shared: &Arc<Shared>, key: &GroupKey, mode: Deploy) {
    shared.controls.abort(key);
    let generation = shared.store.update(key, |g| {
        g.generation += 1;
        if mode == Deploy::Create {
            g.provisioning = Provisioning::Pending;
        }
        g.state = "Pending".into();
        for c in g.containers.iter_mut().chain(g.init_containers.iter_mut()) {
            if mode == Deploy::Restart {
                c.restart_count += 1;
            }
            if !c.current.state.is_empty() && c.current.state != "Waiting" {
                c.previous = Some(c.current.clone());
            }
            c.current = ContainerState::waiting("Waiting");
            c.logs.clear();
        }
        g.generation
    });
    let Some(generation) = generation else { return };
    let task = tokio::spawn(run_group(shared.clone(), key.clone(), generation, mode));
    shared.controls.with(key, |g| g.task = Some(task.abort_handle()));
}

/// Stops every container; the group keeps its definition (state Stopped).
pub fn stop(shared: &Arc<Shared>, key: &GroupKey) {
    shared.controls.abort(key);
    shared.store.update(key, |g| {
        g.generation += 1;
        g.state = "Stopped".into();
        for c in g.containers.iter_mut().chain(g.init_containers.iter_mut()) {
            if c.current.state == "Running" || c.current.state == "Waiting" {
                c.current = ContainerState {
                    state: "Terminated".into(),
                    detail_status: "Stopped".into(),
                    start_time: c.current.start_time,
                    finish_time: Some(Utc::now()),
                    exit_code: None,
                };
                record_event(&mut c.events, "Killing", "Killing container with id", "Normal");
            }
        }
        record_event(&mut g.events, "Stopped", "The container group was stopped", "Normal");
    });
}

async fn run_group(shared: Arc<Shared>, key: GroupKey, generation: u64, mode: Deploy) {
    let store = &shared.store;
    let config = &shared.config;
    let Some(group) = store.get(&key) else { return };
    let os = group.spec.os_type();
    let policy = group.spec.restart_policy();
    let specs = container_specs(&group.spec);

    tokio::time::sleep(shared.scaled_ms(config.pending_delay_ms)).await;
    store.update_at(&key, generation, |g| {
        if mode == Deploy::Create {
            g.provisioning = Provisioning::Creating;
        }
        for spec in &specs {
            if let Some(c) = g.container_mut(&spec.name) {
                let message = format!("pulling image \"{}\"", spec.image);
                record_event(&mut c.events, "Pulling", &message, "Normal");
            }
        }
    });
    tokio::time::sleep(shared.scaled_ms(config.pull_delay_ms)).await;
    store.update_at(&key, generation, |g| {
        for spec in &specs {
            if let Some(c) = g.container_mut(&spec.name) {
                let message = format!("Successfully pulled image \"{}\"", spec.image);
                record_event(&mut c.events, "Pulled", &message, "Normal");
            }
        }
    });
    tokio::time::sleep(shared.scaled_ms(config.start_delay_ms)).await;
    store.update_at(&key, generation, |g| g.provisioning = Provisioning::Succeeded);

    for spec in specs.iter().filter(|s| s.init) {
        let code = run_once(&shared, &key, generation, spec, os).await;
        if code != 0 {
            store.update_at(&key, generation, |g| g.state = "Failed".into());
            return;
        }
    }
    let mut set = JoinSet::new();
    for spec in specs.into_iter().filter(|s| !s.init) {
        set.spawn(run_container(shared.clone(), key.clone(), generation, spec, os, policy));
    }
    let mut failed = false;
    while let Some(result) = set.join_next().await {
        failed |= result.map_or(true, |code| code != 0);
    }
    store.update_at(&key, generation, |g| g.state = if failed { "Failed" } else { "Succeeded" }.into());
}

fn container_specs(spec: &crate::groups::model::GroupRequest) -> Vec<ContainerSpec> {
    let env = |vars: &[crate::groups::model::EnvironmentVariable]| {
        vars.iter().map(|v| (v.name.clone(), v.effective())).collect::<Vec<_>>()
    };
    let init = spec.properties.init_containers.iter().map(|c| ContainerSpec {
        name: c.name.clone(),
        image: c.properties.image.clone().unwrap_or_default(),
        command: c.properties.command.clone(),
        env: env(&c.properties.environment_variables),
        init: true,
    });
    let main = spec.properties.containers.iter().map(|c| ContainerSpec {
        name: c.name.clone(),
        image: c.properties.image.clone().unwrap_or_default(),
        command: c.properties.command.clone(),
        env: env(&c.properties.environment_variables),
        init: false,
    });
    init.chain(main).collect()
}

async fn run_container(
    shared: Arc<Shared>,
    key: GroupKey,
    generation: u64,
    spec: ContainerSpec,
    os: OsType,
    policy: RestartPolicy,
) -> i32 {
    loop {
        let code = run_once(&shared, &key, generation, &spec, os).await;
        let restart = match policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => code != 0,
            RestartPolicy::Never => false,
        };
        if !restart {
            return code;
        }
        shared.store.update_at(&key, generation, |g| {
            if let Some(c) = g.container_mut(&spec.name) {
                record_event(&mut c.events, "BackOff", "Back-off restarting failed container", "Warning");
            }
        });
        tokio::time::sleep(shared.scaled_ms(shared.config.restart_backoff_ms)).await;
        shared.store.update_at(&key, generation, |g| {
            if let Some(c) = g.container_mut(&spec.name) {
                c.previous = Some(c.current.clone());
                c.restart_count += 1;
                c.current = ContainerState::waiting("Waiting");
                c.logs.clear();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::arm::GroupRef;
    use crate::config::Config;
    use crate::faults::Faults;
    use crate::groups::{ContainerStatus, Group, GroupLimits, validate};

    fn shared_with_group(image: &str, policy: &str) -> (Arc<Shared>, GroupKey) {
        let shared = Arc::new(Shared::new(Config::default(), Faults::default()));
        let raw = json!({
            "location": "westus",
            "properties": { "osType": "Linux", "restartPolicy": policy, "containers": [{ "name": "c", "properties": {
                "image": image, "resources": { "requests": { "cpu": 1, "memoryInGB": 1 } } } }] }
        });
        let spec =
            validate("g", &raw, GroupLimits { max_cpu: 4.0, max_memory_gb: 16.0 }).expect("a valid group");
        let gref = GroupRef { subscription: "s".into(), resource_group: "rg".into(), name: "g".into() };
        shared.store.insert(Group {
            gref: gref.clone(),
            location: "westus".into(),
            raw,
            spec,
            provisioning: Provisioning::Pending,
            state: "Pending".into(),
            ip: "20.0.0.1".into(),
            containers: vec![ContainerStatus { name: "c".into(), ..ContainerStatus::default() }],
            init_containers: Vec::new(),
            events: Vec::new(),
            generation: 0,
        });
        (shared, gref.key())
    }

    fn container(shared: &Shared, key: &GroupKey) -> ContainerStatus {
        shared.store.get(key).and_then(|g| g.containers.first().cloned()).expect("the container exists")
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_loop_restarts_on_the_configured_schedule() {
        // Defaults: running after 0.5 s; each run lasts 1 s; each back-off lasts 1 s.
        let (shared, key) = shared_with_group("crash-loop", "OnFailure");
        deploy(&shared, &key, Deploy::Create);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let c = container(&shared, &key);
        assert_eq!((c.current.state.as_str(), c.restart_count), ("Running", 0));
        tokio::time::sleep(Duration::from_millis(9000)).await;
        let c = container(&shared, &key);
        assert_eq!(
            (c.current.state.as_str(), c.restart_count, c.current.exit_code),
            ("Terminated", 4, Some(1))
        );
        assert_eq!(c.previous.and_then(|p| p.exit_code), Some(1));
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_ends_the_lifecycle_and_a_start_begins_it_again() {
        let (shared, key) = shared_with_group("exit-0-after-5s", "Never");
        deploy(&shared, &key, Deploy::Create);
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop(&shared, &key);
        tokio::time::sleep(Duration::from_secs(10)).await;
        let group = shared.store.get(&key).expect("the group exists");
        assert_eq!(group.state, "Stopped");
        assert_eq!(container(&shared, &key).current.detail_status, "Stopped");
        deploy(&shared, &key, Deploy::Start);
        tokio::time::sleep(Duration::from_secs(6)).await;
        let group = shared.store.get(&key).expect("the group exists");
        assert_eq!(group.state, "Succeeded");
        assert_eq!(container(&shared, &key).current.exit_code, Some(0));
    }
}
