use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::ListParams;

use crate::support::{Harness, eventually, ready_status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_registers_ready_with_labels_taint_and_a_renewed_lease() -> Result<()> {
    let mut harness = Harness::start("node-ready").await?;
    let node = eventually("the node to be Ready", Duration::from_secs(60), || async {
        Ok(harness.node().await?.filter(|n| ready_status(n).as_deref() == Some("True")))
    })
    .await?;
    let labels = node.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("type").map(String::as_str), Some("virtual-kubelet"));
    assert_eq!(labels.get("kubernetes.io/role").map(String::as_str), Some("agent"));
    assert_eq!(labels.get("kubernetes.io/os").map(String::as_str), Some("linux"));
    assert_eq!(labels.get("kubernetes.io/hostname"), Some(&harness.node_name));
    let taints = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    assert!(
        taints.iter().any(|t| t.key == "virtual-kubelet.io/provider"
            && t.value.as_deref() == Some("azure")
            && t.effect == "NoSchedule"),
        "{taints:?}"
    );
    let status = node.status.clone().context("status")?;
    let info = status.node_info.context("node info")?;
    assert!(info.kubelet_version.contains("vk-aci"), "{}", info.kubelet_version);
    assert_eq!(status.daemon_endpoints.and_then(|d| d.kubelet_endpoint).map(|e| e.port), Some(10250));
    let cpu = status.capacity.context("capacity")?.get("cpu").map(|q| q.0.clone()).context("cpu capacity")?;
    assert_eq!(node_agent::resolve::cpu_millis(&cpu)?, 64_000);

    let leases: Api<Lease> = Api::namespaced(harness.client.clone(), "kube-node-lease");
    let renew_time = |lease: &Lease| lease.spec.as_ref().and_then(|s| s.renew_time.clone());
    let first = eventually("the lease", Duration::from_secs(20), || async {
        Ok(leases.get_opt(&harness.node_name).await?.and_then(|l| renew_time(&l)))
    })
    .await?;
    eventually("the lease to be renewed", Duration::from_secs(20), || async {
        Ok(leases.get_opt(&harness.node_name).await?.and_then(|l| renew_time(&l)).filter(|t| *t != first))
    })
    .await?;
    let lease = leases.get(&harness.node_name).await?;
    assert_eq!(lease.spec.and_then(|s| s.lease_duration_seconds), Some(40));

    harness.stop_agent().await?;
    assert!(harness.node().await?.is_none(), "--remove-node-on-exit removes the node");
    harness.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_turns_not_ready_without_its_backend_and_ready_again_after() -> Result<()> {
    let mut harness = Harness::start("node-backend").await?;
    eventually("the node to be Ready", Duration::from_secs(60), || async {
        Ok(harness.node().await?.filter(|n| ready_status(n).as_deref() == Some("True")))
    })
    .await?;
    harness.stop_backend();
    let node = eventually("the node to be NotReady", Duration::from_secs(60), || async {
        Ok(harness.node().await?.filter(|n| ready_status(n).as_deref() == Some("False")))
    })
    .await?;
    let ready = node
        .status
        .and_then(|s| s.conditions)
        .and_then(|c| c.into_iter().find(|c| c.type_ == "Ready"))
        .context("Ready condition")?;
    assert_eq!(ready.reason.as_deref(), Some("BackendUnreachable"));
    let events: Api<Event> = Api::namespaced(harness.client.clone(), "default");
    let node_events = |reason: &'static str| {
        let (events, name) = (events.clone(), harness.node_name.clone());
        move || {
            let (events, name) = (events.clone(), name.clone());
            async move {
                let list = events.list(&ListParams::default()).await?.items;
                Ok(list.into_iter().find(|e| {
                    e.involved_object.name.as_deref() == Some(name.as_str())
                        && e.reason.as_deref() == Some(reason)
                }))
            }
        }
    };
    let not_ready =
        eventually("a NodeNotReady event", Duration::from_secs(20), node_events("NodeNotReady")).await?;
    assert_eq!(not_ready.type_.as_deref(), Some("Warning"));
    eventually("a Starting event", Duration::from_secs(20), node_events("Starting")).await?;
    harness.start_backend().await?;
    eventually("the node to be Ready again", Duration::from_secs(60), || async {
        Ok(harness.node().await?.filter(|n| ready_status(n).as_deref() == Some("True")))
    })
    .await?;
    harness.finish().await
}
