//! The floor of the pod burst: a minimal client that creates the same pods and writes the same
//! two status updates a kubelet writes (Pending with the container creating, then Running)
//! straight to the apiserver, with as many workers as node-agent has. What remains is the
//! apiserver's own cost.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};

use crate::error::BenchError;
use crate::pods::{RunningWatch, create_pods, remove_all};
use crate::world::World;

/// node-agent's default `--pod-sync-workers`.
const WORKERS: usize = 10;

/// The two status updates: the container being created, then running.
fn statuses(index: usize) -> [Value; 2] {
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let ip = format!("10.{}.{}.{}", (index >> 16) & 255, (index >> 8) & 255, index & 255);
    let condition =
        |kind: &str, status: &str| json!({ "type": kind, "status": status, "lastTransitionTime": now });
    let pending = json!({ "status": {
        "phase": "Pending", "hostIP": "127.0.0.1", "startTime": now,
        "conditions": [condition("PodScheduled", "True"), condition("Initialized", "True"),
            condition("ContainersReady", "False"), condition("Ready", "False")],
        "containerStatuses": [{ "name": "main", "image": "nginx", "imageID": "", "ready": false,
            "restartCount": 0, "started": false, "state": { "waiting": { "reason": "ContainerCreating" } } }],
    }});
    let running = json!({ "status": {
        "phase": "Running", "hostIP": "127.0.0.1", "podIP": ip, "podIPs": [{ "ip": ip }], "startTime": now,
        "conditions": [condition("PodScheduled", "True"), condition("Initialized", "True"),
            condition("ContainersReady", "True"), condition("Ready", "True")],
        "containerStatuses": [{ "name": "main", "image": "nginx", "imageID": "", "ready": true,
            "restartCount": 0, "started": true, "containerID": format!("aci://floor-{index}"),
            "state": { "running": { "startedAt": now } } }],
    }});
    [pending, running]
}

/// Seconds from the first create until all `n` pods are Running in the API.
pub async fn run(world: &World, n: usize) -> Result<f64, BenchError> {
    let node_name = integration_tests::control_plane::unique_name("vk-bench-floor");
    let nodes: Api<Node> = Api::all(world.client.clone());
    let node: Node = serde_json::from_value(json!({ "metadata": { "name": node_name } }))?;
    nodes.create(&PostParams::default(), &node).await.map_err(BenchError::kube("creating the floor node"))?;
    let namespace = world.plane.create_namespace("vk-bench-floor").await?;
    let pods: Api<Pod> = Api::namespaced(world.client.clone(), &namespace);
    let watch = RunningWatch::start(pods.clone()).await;
    let kubelet = tokio::spawn(kubelet(pods.clone()));
    let started = Instant::now();
    let result = async {
        create_pods(&pods, &node_name, 0..n).await?;
        watch.wait_for(n, Duration::from_secs(60 + n as u64)).await
    }
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    kubelet.abort();
    remove_all(&pods).await?;
    let _ = nodes.delete(&node_name, &DeleteParams::default()).await;
    let _ = world.plane.kubectl(&["delete", "namespace", &namespace, "--wait=false"]).await;
    result.map(|_| elapsed)
}

/// Writes the two statuses of every new pod, `WORKERS` pods at a time.
async fn kubelet(pods: Api<Pod>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (pods, rx) = (pods.clone(), rx.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(name) = rx.lock().await.recv().await else { return };
                let index = name.trim_start_matches("p-").parse().unwrap_or(0);
                for status in statuses(index) {
                    if let Err(error) =
                        pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(status)).await
                    {
                        tracing::warn!(%error, pod = %name, "floor status update");
                    }
                }
            }
        }));
    }
    let mut seen = BTreeSet::new();
    let mut stream = watcher(pods, watcher::Config::default()).boxed();
    while let Some(event) = stream.next().await {
        if let Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) = event
            && let Some(name) = pod.metadata.name
            && seen.insert(name.clone())
            && tx.send(name).is_err()
        {
            break;
        }
    }
    drop(workers);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_writes_pending_then_running_with_an_ip_per_pod() {
        let [pending, running] = statuses(258);
        assert_eq!(pending["status"]["phase"], "Pending");
        assert_eq!(running["status"]["phase"], "Running");
        assert_eq!(running["status"]["podIP"], "10.0.1.2");
        assert_eq!(running["status"]["containerStatuses"][0]["ready"], true);
    }
}
