//! End to end: removing a connector as the chart's uninstall does it (cordon its node, delete
//! the pods bound to it, stop node-agent with `--remove-node-on-exit`, stop its backend)
//! removes the node and leaves no container group of it; another connector's groups stay.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use anyhow::{Result, ensure};
use e2e_support::{E2e, NODE_TAG, eventually, node, node_of, pinned_deployment};
use integration_tests::local_stack::Os;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_connector_removes_its_node_and_every_container_group_of_it() -> Result<()> {
    let e2e = E2e::start("e2e-removal").await?;
    let mut removed = e2e.sidecar("vk-e2e-removed", Os::Linux).await?;
    let mut kept = e2e.sidecar("vk-e2e-kept", Os::Linux).await?;
    let removed_node = removed.agent.node_name().to_string();
    let kept_node = kept.agent.node_name().to_string();
    e2e.apply(&pinned_deployment("on-removed", &removed_node, 2, None)).await?;
    e2e.apply(&pinned_deployment("on-kept", &kept_node, 1, None)).await?;
    e2e.running_pods("on-removed", 2).await?;
    e2e.running_pods("on-kept", 1).await?;
    e2e.groups_match_pods(3).await?;

    e2e.plane.kubectl(&["cordon", &removed_node]).await?;
    let field = format!("spec.nodeName={removed_node}");
    e2e.kubectl(&["delete", "pods", "--field-selector", &field, "--wait=true", "--timeout=90s"]).await?;
    eventually("no pod bound to the removed node", e2e_support::READY_TIMEOUT, || async {
        let pods = e2e.pods_of("on-removed").await?;
        Ok(pods.iter().all(|pod| node_of(pod) != Some(removed_node.as_str())).then_some(()))
    })
    .await?;
    removed.stop().await?;

    ensure!(node(&e2e.client, &removed_node).await?.is_none(), "the removed connector's node is gone");
    let groups = e2e.groups().await?;
    ensure!(
        groups.iter().all(|group| group.tags.get(NODE_TAG) != Some(&removed_node)),
        "no container group of the removed connector remains: {groups:?}"
    );
    ensure!(
        groups.len() == 1 && groups[0].tags.get(NODE_TAG) == Some(&kept_node),
        "the other connector's group stays: {groups:?}"
    );
    let pending = e2e.pods_of("on-removed").await?;
    ensure!(pending.iter().all(|pod| node_of(pod).is_none()), "replacement pods find no node");

    e2e.kubectl(&["delete", "deployment", "on-removed", "on-kept"]).await?;
    e2e.groups_match_pods(0).await?;
    kept.stop().await?;
    e2e.finish().await
}
