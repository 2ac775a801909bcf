//! One run of one container: a local process (process runtime) or a simulated one driven by its image name.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::controls::ContainerControl;
use super::group::ContainerSpec;
use crate::config::Runtime;
use crate::groups::model::OsType;
use crate::groups::{ContainerState, GroupKey, record_event};
use crate::images::{ImageBehaviour, behaviour};
use crate::runtime::spawn_container;
use crate::state::Shared;

/// Runs one instance of a container until it exits; returns the exit code.
pub(super) async fn run_once(
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
