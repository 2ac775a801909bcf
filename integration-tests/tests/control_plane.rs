//! The local control plane schedules with the real kube-scheduler: virtual-kubelet pods land
//! on a Node carrying the `type: virtual-kubelet` label and the
//! `virtual-kubelet.io/provider=azure:NoSchedule` taint, and nowhere else.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use integration_tests::control_plane::{ControlPlane, KEEP_ENV, Options, unique_name};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::json;

const RUN_LABEL: &str = "vk-aci.test/run";
const SCHEDULING_TIMEOUT: Duration = Duration::from_secs(60);

/// A Ready node; `virtual` adds the virtual-kubelet label and taint. Both kinds carry the
/// run label so that only the virtual-kubelet label and taint tell them apart.
async fn register_node(client: &kube::Client, name: &str, run: &str, virtual_kubelet: bool) -> Result<()> {
    let now = Timestamp::now().to_string();
    let mut labels = json!({ "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", RUN_LABEL: run });
    let mut taints = json!([]);
    if virtual_kubelet {
        labels["type"] = json!("virtual-kubelet");
        labels["kubernetes.io/role"] = json!("agent");
        taints = json!([{ "key": "virtual-kubelet.io/provider", "value": "azure", "effect": "NoSchedule" }]);
    }
    let resources = json!({ "cpu": "4", "memory": "16Gi", "pods": "110" });
    let node: Node = serde_json::from_value(json!({
        "metadata": { "name": name, "labels": labels },
        "spec": { "taints": taints },
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [{ "type": "InternalIP", "address": "127.0.0.1" }],
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "KubeletReady",
                "lastHeartbeatTime": now, "lastTransitionTime": now,
            }],
        },
    }))?;
    Api::<Node>::all(client.clone())
        .create(&PostParams::default(), &node)
        .await
        .context("creating a node")?;
    let lease: Lease = serde_json::from_value(json!({
        "metadata": { "name": name, "namespace": "kube-node-lease" },
        "spec": { "holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now },
    }))?;
    Api::<Lease>::namespaced(client.clone(), "kube-node-lease")
        .create(&PostParams::default(), &lease)
        .await
        .context("creating a node lease")?;
    Ok(())
}

async fn delete_nodes(client: &kube::Client, names: &[&str]) -> Result<()> {
    for name in names {
        Api::<Node>::all(client.clone()).delete(name, &DeleteParams::default()).await?;
        Api::<Lease>::namespaced(client.clone(), "kube-node-lease")
            .delete(name, &DeleteParams::default())
            .await?;
    }
    Ok(())
}

fn pod_template_spec(run: &str, tolerate: bool) -> serde_json::Value {
    let tolerations = if tolerate {
        json!([{ "key": "virtual-kubelet.io/provider", "operator": "Equal", "value": "azure", "effect": "NoSchedule" }])
    } else {
        json!([])
    };
    json!({
        "nodeSelector": { "type": "virtual-kubelet", RUN_LABEL: run },
        "tolerations": tolerations,
        "containers": [{ "name": "app", "image": "nginx:1.25" }],
    })
}

/// Polls the pods matching `selector` until `done` accepts them.
async fn wait_for_pods(
    pods: &Api<Pod>,
    selector: &str,
    what: &str,
    done: impl Fn(&[Pod]) -> bool,
) -> Result<Vec<Pod>> {
    let deadline = tokio::time::Instant::now() + SCHEDULING_TIMEOUT;
    loop {
        let listed = pods.list(&ListParams::default().labels(selector)).await?.items;
        if done(&listed) {
            return Ok(listed);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out waiting for {what}; pods: {}", serde_json::to_string(&listed)?);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.node_name.as_deref()
}

#[tokio::test]
async fn a_virtual_kubelet_deployment_is_scheduled_only_onto_the_tainted_virtual_node() -> Result<()> {
    let plane = ControlPlane::shared().await?;
    let client = plane.client()?;
    let namespace = plane.create_namespace("scheduling").await?;
    let run = unique_name("run");
    let (virtual_node, plain_node) = (unique_name("vk-node"), unique_name("plain-node"));
    register_node(&client, &virtual_node, &run, true).await?;
    register_node(&client, &plain_node, &run, false).await?;

    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": {
            "replicas": 3,
            "selector": { "matchLabels": { "app": "web" } },
            "template": { "metadata": { "labels": { "app": "web" } }, "spec": pod_template_spec(&run, true) },
        },
    }))?;
    Api::<Deployment>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &deployment)
        .await
        .context("creating the deployment")?;

    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let scheduled = wait_for_pods(&pods, "app=web", "three scheduled replicas", |pods| {
        pods.len() == 3 && pods.iter().all(|pod| node_name(pod).is_some())
    })
    .await?;
    for pod in &scheduled {
        assert_eq!(node_name(pod), Some(virtual_node.as_str()), "pod {:?}", pod.metadata.name);
    }

    // kubectl sees the same placement through the admin kubeconfig.
    let placed = plane
        .kubectl(&[
            "get",
            "pods",
            "-n",
            &namespace,
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.nodeName}",
        ])
        .await?;
    assert_eq!(placed.split_whitespace().collect::<Vec<_>>(), vec![virtual_node.as_str(); 3]);

    delete_nodes(&client, &[&virtual_node, &plain_node]).await
}

#[tokio::test]
async fn a_pod_without_the_provider_toleration_stays_unscheduled() -> Result<()> {
    let plane = ControlPlane::shared().await?;
    let client = plane.client()?;
    let namespace = plane.create_namespace("untolerated").await?;
    let run = unique_name("run");
    let (virtual_node, plain_node) = (unique_name("vk-node"), unique_name("plain-node"));
    register_node(&client, &virtual_node, &run, true).await?;
    register_node(&client, &plain_node, &run, false).await?;

    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": "no-toleration", "labels": { "app": "no-toleration" } },
        "spec": pod_template_spec(&run, false),
    }))?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    pods.create(&PostParams::default(), &pod).await.context("creating the pod")?;

    let seen = wait_for_pods(&pods, "app=no-toleration", "the scheduler to give up on the pod", |pods| {
        pods.iter().any(|pod| {
            let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
            conditions.into_iter().flatten().any(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            })
        })
    })
    .await?;
    let pod = &seen[0];
    assert_eq!(node_name(pod), None);
    let message = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"))
        .and_then(|c| c.message.clone())
        .unwrap_or_default();
    assert!(message.contains("virtual-kubelet.io/provider"), "{message}");

    delete_nodes(&client, &[&virtual_node, &plain_node]).await
}

#[tokio::test]
async fn a_private_control_plane_survives_an_apiserver_restart_and_leaves_no_process_behind() -> Result<()> {
    let plane = ControlPlane::start(Options::default()).await?;
    let state_dir = plane.state_dir().to_path_buf();
    let namespace = plane.create_namespace("restart").await?;

    plane.restart_apiserver().await?;
    let listed = plane.kubectl(&["get", "namespace", &namespace, "-o", "name"]).await?;
    assert_eq!(listed.trim(), format!("namespace/{namespace}"));
    let version = plane.kubectl(&["version", "-o", "json"]).await?;
    let version: serde_json::Value = serde_json::from_str(&version)?;
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.20.2");

    drop(plane);
    let leftovers = tokio::process::Command::new("pgrep").arg("-f").arg(&state_dir).output().await?;
    let leftovers = String::from_utf8_lossy(&leftovers.stdout);
    assert!(leftovers.trim().is_empty(), "processes still using {}: {leftovers}", state_dir.display());
    if std::env::var(KEEP_ENV).as_deref() != Ok("1") {
        assert!(!state_dir.exists(), "{} was not removed", state_dir.display());
    }
    Ok(())
}

#[tokio::test]
async fn a_node_identity_may_register_only_its_own_node_and_strangers_are_refused() -> Result<()> {
    let plane = ControlPlane::shared().await?;
    let (own, other) = (unique_name("own-node"), unique_name("other-node"));
    let node_config = plane.kube_config_for(&format!("system:node:{own}"), Some("system:nodes")).await?;
    let nodes = Api::<Node>::all(kube::Client::try_from(node_config)?);
    let node =
        |name: &str| -> Result<Node> { Ok(serde_json::from_value(json!({ "metadata": { "name": name } }))?) };

    nodes.create(&PostParams::default(), &node(&own)?).await.context("a node registering itself")?;
    match nodes.create(&PostParams::default(), &node(&other)?).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 403, "{status:?}"),
        other => bail!("registering another node's object was not refused: {other:?}"),
    }

    let stranger = plane.write_kubeconfig("alice", None)?;
    let stranger = stranger.to_str().context("a UTF-8 path")?;
    match plane.kubectl(&["--kubeconfig", stranger, "get", "pods", "-n", "default"]).await {
        Err(error) => assert!(error.to_string().contains("Forbidden"), "{error}"),
        Ok(listed) => bail!("a user without roles listed pods: {listed}"),
    }

    Api::<Node>::all(plane.client()?).delete(&own, &DeleteParams::default()).await?;
    Ok(())
}
