//! The benchmark's pods: bare pods bound straight to a node, created in bulk, watched until
//! Running, and removed with grace 0.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

use crate::error::BenchError;

/// Concurrent create calls of one bulk create.
pub const CREATE_CONCURRENCY: usize = 32;

/// `p-00042`: pod names sort in creation order.
pub fn pod_name(index: usize) -> String {
    format!("p-{index:05}")
}

/// A bare pod bound to `node`, tolerating the virtual node's taint; `command` runs under the
/// emulator's process runtime (none: a simulated container that runs until stopped).
pub fn bare_pod(name: &str, node: &str, command: Option<&[&str]>) -> Result<Pod, BenchError> {
    let mut container = json!({
        "name": "main",
        "image": "nginx",
        "resources": { "requests": { "cpu": "100m", "memory": "128Mi" } },
    });
    if let Some(command) = command {
        container["command"] = json!(command);
    }
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "labels": { "app": "vk-bench" } },
        "spec": {
            "nodeName": node,
            "containers": [container],
            "tolerations": [{
                "key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule",
            }],
        },
    });
    Ok(serde_json::from_value(pod)?)
}

/// Creates pods `range` bound to `node`, `CREATE_CONCURRENCY` at a time; returns when each
/// create call returned.
pub async fn create_pods(
    pods: &Api<Pod>,
    node: &str,
    range: std::ops::Range<usize>,
) -> Result<BTreeMap<String, DateTime<Utc>>, BenchError> {
    create_pods_with(pods, node, range, CREATE_CONCURRENCY).await
}

/// Like [`create_pods`] with `concurrency` calls at a time (1: in index order).
pub async fn create_pods_with(
    pods: &Api<Pod>,
    node: &str,
    range: std::ops::Range<usize>,
    concurrency: usize,
) -> Result<BTreeMap<String, DateTime<Utc>>, BenchError> {
    let created = futures::stream::iter(range.map(|index| {
        let name = pod_name(index);
        async move {
            let pod = bare_pod(&name, node, None)?;
            pods.create(&PostParams::default(), &pod)
                .await
                .map_err(BenchError::kube(format!("creating {name}")))?;
            Ok::<_, BenchError>((name, Utc::now()))
        }
    }))
    .buffer_unordered(concurrency.max(1))
    .try_collect::<BTreeMap<_, _>>()
    .await?;
    Ok(created)
}

/// Deletes every pod of the namespace with grace 0 and waits until none is left.
pub async fn remove_all(pods: &Api<Pod>) -> Result<(), BenchError> {
    let params = DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() };
    pods.delete_collection(&params, &ListParams::default())
        .await
        .map_err(BenchError::kube("deleting the pods"))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let left = pods
            .list_metadata(&ListParams::default().limit(1))
            .await
            .map_err(BenchError::kube("listing pods"))?;
        if left.items.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(BenchError::Timeout { what: "the pods to be removed".into(), seconds: 300 });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub fn is_running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// Watches a namespace and remembers when each pod was first seen Running.
pub struct RunningWatch {
    seen: Arc<Mutex<BTreeMap<String, DateTime<Utc>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningWatch {
    /// Starts watching; returns once the watch is established.
    pub async fn start(pods: Api<Pod>) -> Self {
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let record = seen.clone();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut stream = watcher(pods, watcher::Config::default()).boxed();
            while let Some(event) = stream.next().await {
                let now = Utc::now();
                let pod = match event {
                    Ok(watcher::Event::InitDone) => {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        continue;
                    }
                    Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                    Ok(_) => continue,
                    Err(error) => {
                        tracing::warn!(%error, "pod watch");
                        continue;
                    }
                };
                if is_running(&pod)
                    && let Some(name) = pod.metadata.name
                    && let Ok(mut seen) = record.lock()
                {
                    seen.entry(name).or_insert(now);
                }
            }
        });
        let _ = tokio::time::timeout(Duration::from_secs(30), ready_rx).await;
        Self { seen, task }
    }

    pub fn count(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Waits until `count` pods were seen Running; returns when each was first seen.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<BTreeMap<String, DateTime<Utc>>, BenchError> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.count() < count {
            if tokio::time::Instant::now() > deadline {
                return Err(BenchError::Timeout {
                    what: format!("{count} pods Running (saw {})", self.count()),
                    seconds: timeout.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(self.seen.lock().map(|s| s.clone()).unwrap_or_default())
    }
}

impl Drop for RunningWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_pod_is_bound_to_its_node_and_tolerates_the_virtual_kubelet_taint() {
        let pod = bare_pod(&pod_name(7), "vk-node", Some(&["sh", "-c", "echo hi"])).expect("a valid pod");
        assert_eq!(pod.metadata.name.as_deref(), Some("p-00007"));
        let spec = pod.spec.expect("a spec");
        assert_eq!(spec.node_name.as_deref(), Some("vk-node"));
        assert_eq!(
            spec.containers[0].command.as_deref(),
            Some(&["sh".into(), "-c".into(), "echo hi".into()][..])
        );
        let toleration = &spec.tolerations.expect("tolerations")[0];
        assert_eq!(toleration.key.as_deref(), Some("virtual-kubelet.io/provider"));
        assert!(pod_name(2) > pod_name(1) && pod_name(10) > pod_name(9), "names sort in creation order");
    }
}
