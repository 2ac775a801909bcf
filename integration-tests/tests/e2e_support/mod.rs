//! What every end-to-end test binary shares: the shared control plane, a namespace and an
//! ACI emulator per test, and connectors (aci-backend + node-agent processes from
//! `target/debug`) with unique node names.

#![allow(dead_code)] // each test binary uses a different part

pub mod exec;
pub mod reference;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use integration_tests::control_plane::{ControlPlane, unique_name};
use integration_tests::local_stack::{
    AgentOptions, AzureTarget, EmulatorProcess, ListedGroup, Os, SidecarConnector, SidecarSettings,
};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::ListParams;
use serde_json::json;

/// Set to `1` to keep each test's directory (process logs, certificates) after the test.
pub const KEEP_ENV: &str = "VK_E2E_KEEP";

/// How long a node may take to be Ready and a pod to be Running.
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// One test's world on the shared control plane.
pub struct E2e {
    pub plane: &'static ControlPlane,
    pub client: kube::Client,
    pub namespace: String,
    pub emulator: EmulatorProcess,
    pub target: AzureTarget,
    pub dir: tempfile::TempDir,
    pub kubelet_client_ca: PathBuf,
}

impl E2e {
    pub async fn start(prefix: &str) -> Result<Self> {
        let plane = ControlPlane::shared().await.context("starting the shared control plane")?;
        let client = plane.client()?;
        let namespace = plane.create_namespace(prefix).await?;
        let keep = std::env::var(KEEP_ENV).is_ok_and(|value| value == "1");
        let dir = tempfile::Builder::new()
            .prefix("vk-e2e-")
            .disable_cleanup(keep)
            .tempdir()
            .context("a temp dir")?;
        if keep {
            eprintln!("keeping {} (logs in logs/)", dir.path().display());
        }
        let emulator = EmulatorProcess::start(&dir.path().join("emulator"), &dir.path().join("logs"))
            .await
            .context("starting the emulator")?;
        let kubelet_client_ca = dir.path().join("kubelet-client-ca.crt");
        std::fs::write(&kubelet_client_ca, plane.kubelet_client_ca_pem())?;
        Ok(Self {
            plane,
            client,
            target: AzureTarget::local(&namespace),
            namespace,
            emulator,
            dir,
            kubelet_client_ca,
        })
    }

    /// A sidecar connector for `os` on a new node named after `prefix`.
    pub async fn sidecar(&self, prefix: &str, os: Os) -> Result<SidecarConnector> {
        self.sidecar_with(prefix, os, |_| {}).await
    }

    pub async fn sidecar_with(
        &self,
        prefix: &str,
        os: Os,
        configure: impl FnOnce(&mut AgentOptions),
    ) -> Result<SidecarConnector> {
        let node_name = unique_name(prefix);
        let settings = SidecarSettings {
            node_name: &node_name,
            os,
            target: &self.target,
            kubeconfig: self.plane.kubeconfig_path(),
            socket_dir: self.dir.path(),
            log_dir: &self.dir.path().join("logs"),
            ready_timeout: READY_TIMEOUT,
        };
        let client_ca = self.kubelet_client_ca.clone();
        let configure = move |options: &mut AgentOptions| {
            options.kubelet_client_ca = Some(client_ca);
            configure(options);
        };
        let connector = SidecarConnector::start(settings, &self.emulator, &self.client, configure)
            .await
            .with_context(|| format!("starting the {os} connector {node_name}"))?;
        Ok(connector)
    }

    /// `kubectl <args> -n <namespace>`.
    pub async fn kubectl(&self, args: &[&str]) -> Result<String> {
        let mut all = args.to_vec();
        all.extend(["-n", &self.namespace]);
        Ok(self.plane.kubectl(&all).await?)
    }

    /// `kubectl apply -f -` of `manifest` in the namespace.
    pub async fn apply(&self, manifest: &str) -> Result<()> {
        use tokio::io::AsyncWriteExt as _;
        let mut child = self
            .plane
            .kubectl_command()
            .args(["apply", "-n", &self.namespace, "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take().context("kubectl's stdin")?;
        stdin.write_all(manifest.as_bytes()).await?;
        drop(stdin);
        let output = child.wait_with_output().await?;
        if !output.status.success() {
            bail!("kubectl apply failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// The pods with label `app=<app>`.
    pub async fn pods_of(&self, app: &str) -> Result<Vec<Pod>> {
        Ok(self.pods().list(&ListParams::default().labels(&format!("app={app}"))).await?.items)
    }

    /// Waits until exactly `count` pods of `app` exist and all are Running with an IP.
    pub async fn running_pods(&self, app: &str, count: usize) -> Result<Vec<Pod>> {
        eventually(&format!("{count} running pods of {app}"), READY_TIMEOUT, || async {
            let pods = self.pods_of(app).await?;
            let all_running = pods.iter().all(|pod| phase(pod) == Some("Running") && pod_ip(pod).is_some());
            Ok((pods.len() == count && all_running).then_some(pods))
        })
        .await
    }

    /// The container groups in this test's resource group.
    pub async fn groups(&self) -> Result<Vec<ListedGroup>> {
        Ok(self.emulator.container_groups(&self.target).await?)
    }

    /// Waits until there are exactly `count` container groups, one for each pod of the
    /// namespace that is bound to a node and not being deleted (matched by the pod-name tag).
    pub async fn groups_match_pods(&self, count: usize) -> Result<Vec<ListedGroup>> {
        eventually(&format!("{count} container groups, one per pod"), READY_TIMEOUT, || async {
            let groups = self.groups().await?;
            let mut tagged: Vec<String> = groups.iter().map(pod_name_of_group).collect();
            let mut pods: Vec<String> = self
                .pods()
                .list(&ListParams::default())
                .await?
                .items
                .iter()
                .filter(|pod| node_of(pod).is_some() && pod.metadata.deletion_timestamp.is_none())
                .filter_map(|pod| pod.metadata.name.clone())
                .collect();
            tagged.sort();
            pods.sort();
            Ok((tagged.len() == count && tagged == pods).then_some(groups))
        })
        .await
    }

    /// Removes the namespace without waiting.
    pub async fn finish(mut self) -> Result<()> {
        let _ = self.plane.kubectl(&["delete", "namespace", &self.namespace, "--wait=false"]).await;
        self.emulator.stop().await?;
        Ok(())
    }
}

/// aci-backend's tags on each container group: the pod, node and cluster it belongs to.
pub const POD_TAG: &str = "vk-pod-name";
pub const NODE_TAG: &str = "vk-node-name";
pub const CLUSTER_TAG: &str = "vk-cluster-id";

/// The pod name a container group's tags name (empty when untagged).
pub fn pod_name_of_group(group: &ListedGroup) -> String {
    group.tags.get(POD_TAG).cloned().unwrap_or_default()
}

pub fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

pub fn pod_ip(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.pod_ip.as_deref()
}

pub fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.node_name.as_deref()
}

pub async fn node(client: &kube::Client, name: &str) -> Result<Option<Node>> {
    Ok(Api::<Node>::all(client.clone()).get_opt(name).await?)
}

/// A Deployment of `replicas` pods labelled `app=<name>` pinned to `node` by hostname, with
/// the virtual-kubelet toleration; `command` runs under the emulator's process runtime.
pub fn pinned_deployment(name: &str, node: &str, replicas: i32, command: Option<&[&str]>) -> String {
    let mut container = json!({ "name": "main", "image": "busybox", "ports": [{ "containerPort": 80 }] });
    if let Some(command) = command {
        container["command"] = json!(command);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": {
                    "containers": [container],
                    "nodeSelector": { "kubernetes.io/hostname": node, "type": "virtual-kubelet" },
                    "tolerations": [{
                        "key": "virtual-kubelet.io/provider", "operator": "Equal",
                        "value": "azure", "effect": "NoSchedule",
                    }],
                },
            },
        },
    })
    .to_string()
}

/// Polls `check` every 250 ms until it returns `Some`, failing after `timeout` with the
/// last error.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last_error = Some(error),
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what} (last error: {last_error:?})");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
