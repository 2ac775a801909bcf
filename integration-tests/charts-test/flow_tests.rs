//! node-agent run as the connector chart renders it, with only the chart's ServiceAccount
//! token: the whole kubelet flow passes; without single rules a named part fails; with osType
//! Both two nodes turn Ready and the cleanup Job leaves no node and no container group.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use integration_tests::control_plane::unique_name;
use serde_json::{Value, json};

use crate::agent_flow::{
    PARTS, create_plain_pod, forget_node, grants, node_ready, pod_running, remove_rules, run_flow,
    start_agent,
};
use crate::sidecar;
use crate::support::Release;
use crate::uninstall_flow::run_cleanup_job;

/// A Linux connector whose node name is unique to this run. The kubelet client CA is left
/// out: its default path exists only inside the chart's pod, not on this machine, where the
/// agent runs as a plain process (bearer tokens still authenticate).
fn flow_values() -> Value {
    let mut values = sidecar("Linux");
    values["connectorName"] = json!(unique_name("rbac"));
    values["location"] = json!("local");
    values["kubelet"] = json!({ "clientCaFile": "" });
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_agent_runs_the_whole_flow_with_only_the_charts_service_account() -> Result<()> {
    let release = Release::install("virtual-kubelet-aci", &flow_values()).await?;
    let run = start_agent(&release, "linux").await?;
    let (passed, failed) = run_flow(&release, &run, None).await?;
    ensure!(failed.is_none(), "{failed:?} failed after {passed:?}; agent log:\n{}", run.log_tail());
    ensure!(passed == PARTS);
    let node = run.node.clone();
    drop(run);
    forget_node(&release, &node).await?;
    release.remove().await
}

/// Installs, removes the rules `unwanted` picks from the agent's `kind`, runs the flow and expects
/// it to break exactly at `part`.
async fn without_rule(kind: &str, unwanted: impl Fn(&Value) -> bool, part: &str) -> Result<()> {
    let release = Release::install("virtual-kubelet-aci", &flow_values()).await?;
    let role = release.one(kind, "-node-agent")?;
    let name = role["metadata"]["name"].as_str().context("role name")?.to_string();
    let namespace = role["metadata"]["namespace"].as_str().map(str::to_owned);
    remove_rules(&release, kind, &name, namespace.as_deref(), unwanted).await?;
    let run = start_agent(&release, "linux").await?;
    let (passed, failed) = run_flow(&release, &run, Some(part)).await?;
    ensure!(
        failed == Some(part),
        "expected {part} to fail, got {failed:?} after {passed:?}\n{}",
        run.log_tail()
    );
    // It failed for the missing permission, not for slowness.
    let log = run.log().to_lowercase();
    ensure!(log.contains("forbidden"), "no permission error in the agent log:\n{}", run.log_tail());
    let node = run.node.clone();
    drop(run);
    forget_node(&release, &node).await?;
    release.remove().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_creating_nodes_the_agent_cannot_register() -> Result<()> {
    without_rule("ClusterRole", |r| grants(r, "create", "nodes"), "registration").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_creating_leases_the_node_has_no_heartbeat() -> Result<()> {
    without_rule("Role", |r| grants(r, "create", "leases"), "lease").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_patching_pod_status_no_pod_is_seen_running() -> Result<()> {
    without_rule("ClusterRole", |r| grants(r, "patch", "pods/status"), "pod start").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_reading_config_maps_a_pod_referencing_one_never_starts() -> Result<()> {
    without_rule("ClusterRole", |r| grants(r, "get", "configmaps"), "pod start").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_token_requests_a_pod_with_a_projected_token_never_starts() -> Result<()> {
    without_rule("ClusterRole", |r| grants(r, "create", "serviceaccounts/token"), "pod start").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_brings_up_two_ready_nodes_and_uninstall_leaves_no_node_and_no_container_group() -> Result<()> {
    let mut values = flow_values();
    values["osType"] = json!("Both");
    let release = Release::install("virtual-kubelet-aci", &values).await?;
    let cluster_id =
        release.plane.kubectl(&["get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"]).await?;
    let mut agents = BTreeMap::new();
    for os in ["linux", "windows"] {
        agents.insert(os.to_string(), start_agent(&release, os).await?);
    }
    let wait = Duration::from_secs(60);
    for (os, run) in &agents {
        ensure!(node_ready(&release, &run.node, wait).await, "{} not Ready\n{}", run.node, run.log_tail());
        create_plain_pod(&release, &format!("app-{os}"), &run.node).await?;
    }
    for (os, run) in &agents {
        ensure!(pod_running(&release, &format!("app-{os}"), wait).await, "app-{os} not Running");
        ensure!(run.backend_pods(&cluster_id).await? == 1, "{os}: one container group expected");
    }
    let steps = run_cleanup_job(&release, &mut agents).await?;
    ensure!(steps.last().is_some_and(|s| s == "delete-nodes"), "{steps:?}");
    for (os, run) in &agents {
        ensure!(release.plane.kubectl(&["get", "node", &run.node]).await.is_err(), "node {} left", run.node);
        let lease = release.plane.kubectl(&["get", "lease", &run.node, "-n", "kube-node-lease"]).await;
        ensure!(lease.is_err(), "lease {} left", run.node);
        ensure!(run.backend_pods(&cluster_id).await? == 0, "{os}: a container group is left");
        let pod =
            release.plane.kubectl(&["get", "pod", &format!("app-{os}"), "-n", &release.namespace]).await;
        ensure!(pod.is_err(), "pod app-{os} left");
    }
    drop(agents);
    release.remove().await
}
