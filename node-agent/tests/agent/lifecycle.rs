//! Changes after creation: image updates, provider events, transient backend errors and a
//! backend that comes back empty.

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use provider_testkit::reference::{ReferenceBackend, ReferenceConfig, Rpc};
use serde_json::json;

use crate::support::{Harness, eventually};

async fn create_pod(harness: &Harness, name: &str) -> Result<String> {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "nodeName": harness.node_name, "containers": [{ "name": "app", "image": "busybox:1" }] },
    }))?;
    let created = harness.pods().create(&PostParams::default(), &pod).await?;
    created.metadata.uid.context("uid")
}

async fn wait_running(harness: &Harness, name: &str) -> Result<()> {
    eventually(&format!("{name} to run"), Duration::from_secs(60), || async {
        let status = harness.pods().get(name).await?.status.unwrap_or_default();
        Ok((status.phase.as_deref() == Some("Running")).then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_change_updates_the_backend_and_provider_events_become_events() -> Result<()> {
    let harness = Harness::start("lifecycle-update").await?;
    let uid = create_pod(&harness, "web").await?;
    wait_running(&harness, "web").await?;

    let events: Api<Event> = Api::namespaced(harness.client.clone(), &harness.namespace);
    let started = eventually("a Started event from the backend", Duration::from_secs(60), || async {
        let list = events.list(&ListParams::default()).await?.items;
        Ok(list.into_iter().find(|e| {
            e.reason.as_deref() == Some("Started") && e.involved_object.uid.as_deref() == Some(uid.as_str())
        }))
    })
    .await?;
    assert_eq!(started.involved_object.field_path.as_deref(), Some("spec.containers{app}"));

    let before = harness.pods().get("web").await?.metadata.resource_version;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = harness.pods().get("web").await?.metadata.resource_version;
    assert_eq!(before, after, "an unchanged status is not written again");

    let patch = json!({ "spec": { "containers": [{ "name": "app", "image": "busybox:2" }] } });
    harness.pods().patch("web", &PatchParams::default(), &Patch::Strategic(&patch)).await?;
    eventually("the backend to receive the new image", Duration::from_secs(60), || async {
        let state = harness.backend.pod(&harness.scope, &uid);
        let image = state.and_then(|s| s.pod).and_then(|p| p.spec).map(|s| s.containers[0].image.clone());
        Ok((image.as_deref() == Some("busybox:2")).then_some(()))
    })
    .await?;
    let sends = harness
        .backend
        .received_pods()
        .iter()
        .filter(|(_, p)| p.meta.as_ref().is_some_and(|m| m.uid == uid))
        .count();
    assert_eq!(sends, 2, "one CreatePod and one UpdatePod, no resends on status changes");
    harness.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_backend_errors_are_retried() -> Result<()> {
    let harness = Harness::start("lifecycle-retry").await?;
    harness.backend.inject_error(
        Rpc::CreatePod,
        tonic::Code::ResourceExhausted,
        "quota of 100 groups reached",
    );
    harness.backend.inject_error(Rpc::CreatePod, tonic::Code::Unavailable, "ARM is unreachable");
    create_pod(&harness, "patient").await?;
    wait_running(&harness, "patient").await?;
    harness.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_are_created_again_in_a_backend_that_comes_back_empty() -> Result<()> {
    let mut harness = Harness::start("lifecycle-reconnect").await?;
    let uid = create_pod(&harness, "durable").await?;
    wait_running(&harness, "durable").await?;
    harness
        .replace_backend(ReferenceBackend::new(ReferenceConfig {
            start_delay: Duration::from_millis(200),
            default_bookmark_interval: Duration::from_secs(2),
            ..ReferenceConfig::default()
        }))
        .await?;
    eventually("the pod to be created in the new backend", Duration::from_secs(60), || async {
        Ok(harness.backend.pod(&harness.scope, &uid).map(|_| ()))
    })
    .await?;
    harness.finish().await
}
