//! Case 2, steady state: with L pods running (ARM throttling on, quotas off), ARM requests
//! per pod-minute over a window, and how long a container state change (the container exits
//! and is restarted) takes to show in the API. Each window is one run.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use serde::{Deserialize, Serialize};

use crate::emulator_admin::arm_requests;
use crate::error::BenchError;
use crate::pods::{RunningWatch, create_pods, pod_name};
use crate::stats::Summary;
use crate::world::{Connector, World, unpaced_backend};

#[derive(Clone, Debug)]
pub struct SteadyPlan {
    pub levels: Vec<usize>,
    pub runs: usize,
    pub settle: Duration,
    pub window: Duration,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SteadyResult {
    pub pods: usize,
    pub window_s: f64,
    pub arm_requests_per_pod_minute: Summary,
    pub arm_reads_per_pod_minute: Summary,
    pub change_to_api_s: Summary,
}

pub async fn run(world: &World, plan: &SteadyPlan) -> Result<Vec<SteadyResult>, BenchError> {
    world.admin.limits(true, false).await?;
    let connector = world.connector("vk-bench-steady", &unpaced_backend()).await?;
    let result = levels(world, &connector, plan).await;
    connector.stop().await;
    result
}

async fn levels(
    world: &World,
    connector: &Connector,
    plan: &SteadyPlan,
) -> Result<Vec<SteadyResult>, BenchError> {
    let pods: Api<Pod> = Api::namespaced(world.client.clone(), &connector.namespace);
    let watch = RunningWatch::start(pods.clone()).await;
    let mut have = 0;
    let mut exited = 0;
    let mut results = Vec::new();
    for &level in &plan.levels {
        create_pods(&pods, &connector.node, have..level).await?;
        have = level;
        watch.wait_for(level, Duration::from_secs(300 + level as u64)).await?;
        tokio::time::sleep(plan.settle).await;
        let mut per_pod = Vec::new();
        let mut reads = Vec::new();
        let mut changes = Vec::new();
        for run in 0..plan.runs {
            let before = world.admin.counters().await?;
            let started = Instant::now();
            let change = state_change(world, connector, &pods, &pod_name(exited)).await?;
            exited += 1;
            tokio::time::sleep(plan.window.saturating_sub(started.elapsed())).await;
            let after = world.admin.counters().await?;
            let minutes = started.elapsed().as_secs_f64() / 60.0;
            let (all, read) = arm_requests(&before, &after);
            per_pod.push(all as f64 / level as f64 / minutes);
            reads.push(read as f64 / level as f64 / minutes);
            changes.push(change);
            eprintln!(
                "steady pods={level} run={run}: {:.2} ARM requests/pod-minute ({:.2} reads), change->API {change:.2} s",
                per_pod[run], reads[run]
            );
        }
        results.push(SteadyResult {
            pods: level,
            window_s: plan.window.as_secs_f64(),
            arm_requests_per_pod_minute: Summary::of(&per_pod),
            arm_reads_per_pod_minute: Summary::of(&reads),
            change_to_api_s: Summary::of(&changes),
        });
    }
    Ok(results)
}

/// Ends the container of pod `name` in the emulator and returns the seconds until the API
/// shows the change (a restart or a terminated state).
async fn state_change(
    world: &World,
    connector: &Connector,
    pods: &Api<Pod>,
    name: &str,
) -> Result<f64, BenchError> {
    let timeline = world.admin.timeline(&connector.target.resource_group).await?;
    let group = timeline
        .get(name)
        .map(|g| g.name.clone())
        .ok_or_else(|| BenchError::Timeout { what: format!("the container group of {name}"), seconds: 0 })?;
    let target = &connector.target;
    let started = Instant::now();
    if !world.admin.exit(&target.subscription_id, &target.resource_group, &group, "main", 7).await? {
        tracing::warn!(pod = name, "the emulator did not end the container");
    }
    let deadline = Duration::from_secs(180);
    while started.elapsed() < deadline {
        let pod = pods.get(name).await.map_err(BenchError::kube(format!("reading {name}")))?;
        if changed(&pod) {
            return Ok(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(BenchError::Timeout {
        what: format!("the exit of {name} to reach the API"),
        seconds: deadline.as_secs(),
    })
}

/// A restart counted, or a terminated state (current or last).
fn changed(pod: &Pod) -> bool {
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref());
    statuses.into_iter().flatten().any(|c| {
        c.restart_count > 0
            || c.last_state.as_ref().is_some_and(|s| s.terminated.is_some())
            || c.state.as_ref().is_some_and(|s| s.terminated.is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_or_a_termination_is_a_change_and_a_running_container_is_not() {
        let pod = |status: serde_json::Value| -> Pod {
            serde_json::from_value(serde_json::json!({ "metadata": { "name": "p" }, "status": status }))
                .expect("a pod")
        };
        let running = json_status(0, serde_json::json!({ "running": {} }));
        assert!(!changed(&pod(running)));
        assert!(changed(&pod(json_status(1, serde_json::json!({ "running": {} })))));
        assert!(changed(&pod(json_status(0, serde_json::json!({ "terminated": { "exitCode": 7 } })))));
    }

    fn json_status(restarts: i32, state: serde_json::Value) -> serde_json::Value {
        serde_json::json!({ "containerStatuses": [{ "name": "main", "image": "nginx", "imageID": "",
            "ready": true, "restartCount": restarts, "state": state }] })
    }
}
