//! End to end, as the quick start shows it: a connector with both OS types gives a Linux and
//! a Windows virtual node; the example Deployments run on them as ACI container groups (in
//! the emulator), one group per pod through scaling and deletion; a pod without the
//! virtual-kubelet toleration is not scheduled there.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use anyhow::{Context, Result, ensure};
use e2e_support::{E2e, NODE_TAG, eventually, node, node_of, phase, pod_ip};
use integration_tests::local_stack::{Os, examples, node_is_ready};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

fn label<'a>(node: &'a k8s_openapi::api::core::v1::Node, key: &str) -> Option<&'a str> {
    node.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_connectors_run_the_example_deployments_on_the_node_of_their_os() -> Result<()> {
    let e2e = E2e::start("e2e-examples").await?;
    let mut linux = e2e.sidecar("vk-e2e-linux", Os::Linux).await?;
    let mut windows = e2e.sidecar("vk-e2e-windows", Os::Windows).await?;
    let linux_node = linux.agent.node_name().to_string();
    let windows_node = windows.agent.node_name().to_string();

    for (name, os) in [(&linux_node, "linux"), (&windows_node, "windows")] {
        let node = node(&e2e.client, name).await?.context("the node is registered")?;
        ensure!(node_is_ready(&node), "{name} is Ready");
        ensure!(label(&node, "type") == Some("virtual-kubelet"), "{name} has type=virtual-kubelet");
        ensure!(label(&node, "kubernetes.io/role") == Some("agent"), "{name} has kubernetes.io/role=agent");
        ensure!(label(&node, "beta.kubernetes.io/os") == Some(os), "{name} has beta.kubernetes.io/os={os}");
        let taints = node.spec.and_then(|spec| spec.taints).unwrap_or_default();
        ensure!(
            taints.iter().any(|t| t.key == "virtual-kubelet.io/provider"
                && t.value.as_deref() == Some("azure")
                && t.effect == "NoSchedule"),
            "{name} is tainted virtual-kubelet.io/provider=azure:NoSchedule: {taints:?}"
        );
    }
    let nodes = e2e.plane.kubectl(&["get", "nodes"]).await?;
    for name in [&linux_node, &windows_node] {
        let line =
            nodes.lines().find(|line| line.starts_with(name.as_str())).context("kubectl lists the node")?;
        ensure!(line.split_whitespace().nth(1) == Some("Ready"), "kubectl get nodes: {line}");
    }

    e2e.apply(examples::ACI_HELLOWORLD).await?;
    e2e.apply(examples::NANOSERVER_IIS).await?;
    let hello = e2e.running_pods("aci-helloworld", 1).await?;
    let iis = e2e.running_pods("nanoserver-iis", 1).await?;
    ensure!(node_of(&hello[0]) == Some(linux_node.as_str()), "aci-helloworld runs on the Linux node");
    ensure!(node_of(&iis[0]) == Some(windows_node.as_str()), "nanoserver-iis runs on the Windows node");
    let wide = e2e.kubectl(&["get", "pods", "-o", "wide"]).await?;
    for (pod, node) in [(&hello[0], &linux_node), (&iis[0], &windows_node)] {
        let name = pod.metadata.name.as_deref().context("a pod name")?;
        let ip = pod_ip(pod).context("a pod IP")?;
        let line = wide.lines().find(|line| line.starts_with(name)).context("kubectl lists the pod")?;
        let columns: Vec<&str> = line.split_whitespace().collect();
        ensure!(
            columns.get(2) == Some(&"Running") && columns.contains(&ip) && columns.contains(&node.as_str()),
            "kubectl get pods -o wide shows {name} Running with {ip} on {node}: {line}"
        );
    }
    let groups = e2e.groups_match_pods(2).await?;
    for group in &groups {
        let expected = if group.name.contains("aci-helloworld") { &linux_node } else { &windows_node };
        ensure!(group.tags.get(NODE_TAG) == Some(expected), "{} belongs to {expected}", group.name);
    }

    let untolerated: Pod = serde_json::from_value(json!({
        "metadata": { "name": "no-toleration" },
        "spec": {
            "containers": [{ "name": "main", "image": "microsoft/aci-helloworld" }],
            "nodeSelector": {
                "beta.kubernetes.io/os": "linux", "kubernetes.io/role": "agent", "type": "virtual-kubelet",
            },
        },
    }))?;
    e2e.pods().create(&Default::default(), &untolerated).await?;
    let unschedulable = eventually("the scheduler to refuse the pod", e2e_support::READY_TIMEOUT, || async {
        let pod = e2e.pods().get("no-toleration").await?;
        let refused = pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            })
        });
        Ok(refused.then_some(pod))
    })
    .await?;
    ensure!(node_of(&unschedulable).is_none() && phase(&unschedulable) == Some("Pending"));
    e2e.kubectl(&["delete", "pod", "no-toleration", "--wait=false"]).await?;

    e2e.kubectl(&["scale", "deployment", "aci-helloworld", "--replicas=3"]).await?;
    e2e.running_pods("aci-helloworld", 3).await?;
    e2e.groups_match_pods(4).await?;
    e2e.kubectl(&["scale", "deployment", "aci-helloworld", "--replicas=1"]).await?;
    e2e.running_pods("aci-helloworld", 1).await?;
    e2e.groups_match_pods(2).await?;

    e2e.kubectl(&["delete", "deployment", "aci-helloworld", "nanoserver-iis"]).await?;
    eventually("every pod to be gone", e2e_support::READY_TIMEOUT, || async {
        Ok(e2e.pods().list(&Default::default()).await?.items.is_empty().then_some(()))
    })
    .await?;
    e2e.groups_match_pods(0).await?;

    linux.stop().await?;
    windows.stop().await?;
    for name in [&linux_node, &windows_node] {
        eventually("the node to be removed", e2e_support::READY_TIMEOUT, || async {
            Ok(node(&e2e.client, name).await?.is_none().then_some(()))
        })
        .await?;
    }
    e2e.finish().await
}
