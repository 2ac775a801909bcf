use std::collections::HashSet;
use std::time::Duration;

use anyhow::Result;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::json;

use crate::support::{Harness, eventually};

const PODS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_agent_mid_creation_loses_and_duplicates_nothing() -> Result<()> {
    let mut harness = Harness::start("restart").await?;
    for index in 0..PODS {
        let pod = serde_json::from_value(json!({
            "metadata": { "name": format!("p{index}"), "labels": { "batch": "restart" } },
            "spec": { "nodeName": harness.node_name, "containers": [{ "name": "app", "image": "busybox" }] },
        }))?;
        harness.pods().create(&PostParams::default(), &pod).await?;
    }
    eventually("some pods to reach the backend", Duration::from_secs(60), || async {
        Ok((harness.backend.pods(&harness.scope).len() >= 10).then_some(()))
    })
    .await?;
    harness.kill_agent();
    // While the agent is away, some pods are force-deleted: their backend pods become orphans.
    let force = DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() };
    for index in 0..10 {
        harness.pods().delete(&format!("p{index}"), &force).await?;
    }
    harness.start_agent();

    let api_uids = eventually("all remaining pods to run", Duration::from_secs(120), || async {
        let pods = harness.pods().list(&ListParams::default().labels("batch=restart")).await?.items;
        let running =
            pods.iter().filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
        let uids: HashSet<String> = running.filter_map(|p| p.metadata.uid.clone()).collect();
        Ok((uids.len() == PODS - 10).then_some(uids))
    })
    .await?;
    let backend_uids =
        eventually("the backend to hold exactly the API's pods", Duration::from_secs(60), || async {
            let uids: HashSet<String> = harness
                .backend
                .pods(&harness.scope)
                .into_iter()
                .filter_map(|s| s.pod.and_then(|p| p.meta).map(|m| m.uid))
                .collect();
            Ok((uids == api_uids).then_some(uids))
        })
        .await?;
    assert_eq!(backend_uids.len(), PODS - 10);
    harness.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_pod_whose_config_map_vanished_meanwhile_is_adopted_untouched() -> Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::Api;

    let mut harness = Harness::start("restart-adopt").await?;
    let maps: Api<ConfigMap> = Api::namespaced(harness.client.clone(), &harness.namespace);
    let map = serde_json::from_value(json!({ "metadata": { "name": "settings" }, "data": { "x": "1" } }))?;
    maps.create(&PostParams::default(), &map).await?;
    let pod = serde_json::from_value(json!({
        "metadata": { "name": "steady" },
        "spec": {
            "nodeName": harness.node_name,
            "containers": [{
                "name": "app",
                "image": "busybox",
                "env": [{ "name": "X", "valueFrom": { "configMapKeyRef": { "name": "settings", "key": "x" } } }],
            }],
        },
    }))?;
    let uid = harness.pods().create(&PostParams::default(), &pod).await?.metadata.uid.unwrap_or_default();
    let running = || async {
        let status = harness.pods().get("steady").await?.status.unwrap_or_default();
        Ok((status.phase.as_deref() == Some("Running")).then_some(()))
    };
    eventually("the pod to run", Duration::from_secs(60), running).await?;
    harness.kill_agent();
    maps.delete("settings", &DeleteParams::default()).await?;
    harness.start_agent();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let status = harness.pods().get("steady").await?.status.unwrap_or_default();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    let sends = harness
        .backend
        .received_pods()
        .iter()
        .filter(|(_, p)| p.meta.as_ref().is_some_and(|m| m.uid == uid))
        .count();
    assert_eq!(sends, 1, "the running pod was neither updated nor recreated");
    let events: Api<k8s_openapi::api::core::v1::Event> =
        Api::namespaced(harness.client.clone(), &harness.namespace);
    let failures: Vec<_> = events
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object.uid.as_deref() == Some(uid.as_str()) && e.type_.as_deref() == Some("Warning")
        })
        .filter_map(|e| e.message)
        .collect();
    assert!(failures.is_empty(), "no failure is reported for a pod that runs: {failures:?}");
    harness.finish().await
}
