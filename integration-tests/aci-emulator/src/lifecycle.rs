//! Simulated lifecycle of a container group: provisioning (Pending, Creating, Succeeded), images pulled,
//! init containers run in order, containers Running then Terminated, restarts by restart policy.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::Utc;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

use crate::config::Runtime;
use crate::groups::model::{OsType, RestartPolicy};
use crate::groups::{ContainerState, GroupKey, Provisioning, record_event};
use crate::images::{ImageBehaviour, behaviour};
use crate::runtime::spawn_container;
use crate::state::Shared;

/// Run-time handles of one container instance.
#[derive(Debug, Clone)]
struct ContainerControl {
    exit: mpsc::UnboundedSender<i32>,
    stdin: mpsc::UnboundedSender<Bytes>,
}

#[derive(Debug, Default)]
struct GroupControl {
    task: Option<AbortHandle>,
    containers: HashMap<String, ContainerControl>,
    workdirs: HashMap<String, Arc<tempfile::TempDir>>,
}

/// Lifecycle tasks and per-container controls of every group.
#[derive(Debug, Default)]
pub struct Controls {
    groups: Mutex<HashMap<GroupKey, GroupControl>>,
}

impl Controls {
    fn with<R>(&self, key: &GroupKey, f: impl FnOnce(&mut GroupControl) -> R) -> Option<R> {
        let mut groups = self.groups.lock().ok()?;
        Some(f(groups.entry(key.clone()).or_default()))
    }

    /// Stops the group's tasks (and so its processes); keeps working directories.
    fn abort(&self, key: &GroupKey) {
        self.with(key, |g| {
            if let Some(task) = g.task.take() {
                task.abort();
            }
            g.containers.clear();
        });
    }

    /// Stops every group's tasks (on shutdown), so no process outlives the emulator.
    pub fn abort_all(&self) {
        if let Ok(mut groups) = self.groups.lock() {
            for group in groups.values_mut() {
                if let Some(task) = group.task.take() {
                    task.abort();
                }
            }
            groups.clear();
        }
    }

    /// Forgets the group entirely (on delete).
    pub fn forget(&self, key: &GroupKey) {
        self.abort(key);
        if let Ok(mut groups) = self.groups.lock() {
            groups.remove(key);
        }
    }

    /// Makes a running container exit with `code`; false when it is not running.
    pub fn request_exit(&self, key: &GroupKey, container: &str) -> Option<mpsc::UnboundedSender<i32>> {
        self.with(key, |g| g.containers.get(container).map(|c| c.exit.clone())).flatten()
    }

    /// Stdin of a running container (attach).
    pub fn stdin(&self, key: &GroupKey, container: &str) -> Option<mpsc::UnboundedSender<Bytes>> {
        self.with(key, |g| g.containers.get(container).map(|c| c.stdin.clone())).flatten()
    }

    /// The container's working directory, made on first use.
    pub fn workdir(&self, key: &GroupKey, container: &str) -> Option<PathBuf> {
        self.with(key, |g| {
            if let Some(dir) = g.workdirs.get(container) {
                return Some(dir.path().to_path_buf());
            }
            let dir = tempfile::Builder::new().prefix("aci-emulator-").tempdir().ok()?;
            let path = dir.path().to_path_buf();
            g.workdirs.insert(container.to_owned(), Arc::new(dir));
            Some(path)
        })
        .flatten()
    }
}

/// Why a group is (re)deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deploy {
    Create,
    Start,
    Restart,
}

/// What one container runs.
#[derive(Clone, Debug)]
struct ContainerSpec {
    name: String,
    image: String,
    command: Vec<String>,
    env: Vec<(String, String)>,
    init: bool,
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

/// Runs one instance of a container until it exits; returns the exit code.
async fn run_once(
    shared: &Arc<Shared>,
    key: &GroupKey,
    generation: u64,
    spec: &ContainerSpec,
    os: OsType,
) -> i32 {
    let (exit_tx, mut exit_rx) = mpsc::unbounded_channel();
    let (stdin_tx, mut stdin_rx) = mpsc::unbounded_channel::<Bytes>();
    shared.controls.with(key, |g| {
        g.containers.insert(spec.name.clone(), ContainerControl { exit: exit_tx, stdin: stdin_tx });
    });
    let Some(logs) = shared.store.get(key).and_then(|g| g.container(&spec.name).map(|c| c.logs.clone()))
    else {
        return 1;
    };
    let started = Utc::now();
    let set_running = || {
        shared.store.update_at(key, generation, |g| {
            g.state = "Running".into();
            if let Some(c) = g.container_mut(&spec.name) {
                c.current = ContainerState {
                    state: "Running".into(),
                    start_time: Some(started),
                    ..ContainerState::default()
                };
                record_event(&mut c.events, "Started", "Started container", "Normal");
            }
        });
    };
    let local = shared.config.runtime == Runtime::Process && !spec.command.is_empty() && os == OsType::Linux;
    let (code, detail) = if local {
        let workdir = shared.controls.workdir(key, &spec.name).unwrap_or_else(std::env::temp_dir);
        match spawn_container(&spec.command, &spec.env, &workdir, logs.clone()) {
            Ok(mut process) => {
                set_running();
                let mut stdin = process.stdin.take();
                let forward = async {
                    while let Some(bytes) = stdin_rx.recv().await {
                        if let Some(s) = stdin.as_mut()
                            && s.write_all(&bytes).await.is_err()
                        {
                            stdin = None;
                        }
                    }
                    std::future::pending::<()>().await
                };
                let code = tokio::select! {
                    status = process.child.wait() => status.ok().and_then(|s| s.code()).unwrap_or(137),
                    Some(code) = exit_rx.recv() => { let _ = process.child.start_kill(); code }
                    _ = forward => 1,
                };
                (code, None)
            }
            Err(e) => {
                logs.line(&e.to_string());
                (127, Some(format!("ContainerCannotRun: {e}")))
            }
        }
    } else {
        set_running();
        logs.line(&format!("[aci-emulator] container {} started from image {}", spec.name, spec.image));
        let behaviour = behaviour(&spec.image);
        let natural = async {
            match behaviour {
                ImageBehaviour::RunForever if !spec.init => std::future::pending::<i32>().await,
                ImageBehaviour::RunForever => 0,
                ImageBehaviour::Inaccessible => 1,
                ImageBehaviour::CrashLoop => {
                    tokio::time::sleep(shared.scaled_ms(shared.config.crash_after_ms)).await;
                    1
                }
                ImageBehaviour::ExitAfter { code, after } => {
                    tokio::time::sleep(shared.scaled(after)).await;
                    code
                }
            }
        };
        let echo = async {
            while let Some(bytes) = stdin_rx.recv().await {
                logs.append(&bytes);
            }
            std::future::pending::<()>().await
        };
        let code = tokio::select! {
            code = natural => code,
            Some(code) = exit_rx.recv() => code,
            _ = echo => 1,
        };
        (code, None)
    };
    shared.store.update_at(key, generation, |g| {
        if let Some(c) = g.container_mut(&spec.name) {
            c.current = ContainerState {
                state: "Terminated".into(),
                detail_status: detail.unwrap_or_else(|| if code == 0 { "Completed" } else { "Error" }.into()),
                start_time: Some(started),
                finish_time: Some(Utc::now()),
                exit_code: Some(code),
            };
        }
    });
    code
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
