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
        eventually("the backend to hold exactly the API's pods", Duration::from_secs(30), || async {
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
