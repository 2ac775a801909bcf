use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;
use vk_proto::v1::volume::Source;

use crate::support::{Harness, eventually};

async fn create<K>(api: &Api<K>, value: serde_json::Value) -> Result<K>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    Ok(api.create(&PostParams::default(), &serde_json::from_value(value)?).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_pod_reaches_the_backend_resolved_runs_and_is_deleted_gracefully() -> Result<()> {
    let harness = Harness::start("pods-resolve").await?;
    let ns = harness.namespace.clone();
    let client = harness.client.clone();
    create(
        &Api::<ConfigMap>::namespaced(client.clone(), &ns),
        json!({ "metadata": { "name": "settings" }, "data": { "MODE": "fast", "app.conf": "listen 80" } }),
    )
    .await?;
    create(
        &Api::<Secret>::namespaced(client.clone(), &ns),
        json!({ "metadata": { "name": "db" }, "stringData": { "PASSWORD": "hunter2" } }),
    )
    .await?;
    create(
        &Api::<Secret>::namespaced(client.clone(), &ns),
        json!({
            "metadata": { "name": "registry" },
            "type": "kubernetes.io/dockerconfigjson",
            "stringData": { ".dockerconfigjson": r#"{"auths":{"my.azurecr.io":{"username":"u","password":"p"}}}"# },
        }),
    )
    .await?;
    create(
        &Api::<Service>::namespaced(client.clone(), &ns),
        json!({ "metadata": { "name": "cart" }, "spec": { "ports": [{ "port": 8080 }] } }),
    )
    .await?;
    let pod: Pod = create(
        &harness.pods(),
        json!({
            "metadata": { "name": "web", "labels": { "app": "web" } },
            "spec": {
                "nodeName": harness.node_name,
                "imagePullSecrets": [{ "name": "registry" }],
                "containers": [{
                    "name": "app",
                    "image": "busybox",
                    "command": ["sh", "-c", "echo $(MODE)"],
                    "resources": { "limits": { "memory": "256Mi", "cpu": "500m" } },
                    "env": [
                        { "name": "PLAIN", "value": "v-$(MODE)" },
                        { "name": "MODE", "valueFrom": { "configMapKeyRef": { "name": "settings", "key": "MODE" } } },
                        { "name": "PW", "valueFrom": { "secretKeyRef": { "name": "db", "key": "PASSWORD" } } },
                        { "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } },
                        { "name": "MEM", "valueFrom": { "resourceFieldRef": { "resource": "limits.memory", "divisor": "1Mi" } } },
                    ],
                    "envFrom": [{ "prefix": "CFG_", "configMapRef": { "name": "settings" } }],
                    "volumeMounts": [{ "name": "conf", "mountPath": "/etc/app" }],
                }],
                "volumes": [
                    { "name": "conf", "configMap": { "name": "settings", "items": [{ "key": "app.conf", "path": "app.conf" }] } },
                    { "name": "creds", "secret": { "secretName": "db" } },
                    { "name": "info", "downwardAPI": { "items": [{ "path": "labels", "fieldRef": { "fieldPath": "metadata.labels" } }] } },
                    { "name": "token", "projected": { "sources": [{ "serviceAccountToken": { "path": "token", "audience": "api://test" } }] } },
                ],
            },
        }),
    )
    .await?;
    let uid = pod.metadata.uid.clone().context("uid")?;

    let received = eventually("the backend to receive the pod", Duration::from_secs(60), || async {
        Ok(harness
            .backend
            .received_pods()
            .into_iter()
            .map(|(_, p)| p)
            .find(|p| p.meta.as_ref().is_some_and(|m| m.uid == uid)))
    })
    .await?;
    let spec = received.spec.context("spec")?;
    let env: BTreeMap<String, (String, bool)> =
        spec.containers[0].env.iter().map(|e| (e.name.clone(), (e.value.clone(), e.secret))).collect();
    let value = |name: &str| env.get(name).cloned();
    assert_eq!(value("MODE"), Some(("fast".into(), false)));
    assert_eq!(value("PLAIN"), Some(("v-$(MODE)".into(), false)), "MODE is defined after PLAIN");
    assert_eq!(value("PW"), Some(("hunter2".into(), true)));
    assert_eq!(value("POD_NAME"), Some(("web".into(), false)));
    assert_eq!(value("MEM"), Some(("256".into(), false)));
    assert_eq!(value("CFG_MODE"), Some(("fast".into(), false)));
    assert_eq!(value("CART_SERVICE_PORT"), Some(("8080".into(), false)));
    assert!(env.contains_key("KUBERNETES_SERVICE_HOST"));
    assert_eq!(spec.containers[0].command, ["sh", "-c", "echo fast"]);
    assert_eq!(spec.image_registry_credentials.len(), 1);
    assert_eq!(spec.image_registry_credentials[0].server, "my.azurecr.io");
    let files = |name: &str| {
        spec.volumes.iter().find(|v| v.name == name).and_then(|v| match &v.source {
            Some(Source::Files(files)) => Some(files.clone()),
            _ => None,
        })
    };
    let conf = files("conf").context("conf volume")?;
    assert_eq!(conf.files[0].content, b"listen 80");
    let creds = files("creds").context("creds volume")?;
    assert!(creds.secret);
    assert_eq!(creds.files[0].content, b"hunter2");
    assert_eq!(files("info").context("info volume")?.files[0].content, b"app=\"web\"");
    let token = files("token").context("token volume")?;
    assert!(token.secret);
    let jwt = String::from_utf8(token.files[0].content.clone())?;
    assert_eq!(jwt.split('.').count(), 3, "a JWT from the TokenRequest API");

    let running = eventually("the pod to be Running in the API", Duration::from_secs(60), || async {
        let pod = harness.pods().get("web").await?;
        let status = pod.status.clone().unwrap_or_default();
        Ok((status.phase.as_deref() == Some("Running") && status.pod_ip.is_some()).then_some(status))
    })
    .await?;
    let bound = harness.agent_parts().context("the agent handed out its parts")?.pods.list();
    assert!(
        bound.iter().any(|p| p.metadata.uid.as_deref() == Some(uid.as_str())),
        "the kubelet API sees the pod"
    );
    let containers = running.container_statuses.unwrap_or_default();
    assert_eq!(containers.len(), 1);
    assert_eq!(running.host_ip.as_deref(), Some("127.0.0.1"));

    harness.pods().delete("web", &DeleteParams::default()).await?;
    eventually("the pod object to be removed", Duration::from_secs(60), || async {
        Ok(harness.pods().get_opt("web").await?.is_none().then_some(()))
    })
    .await?;
    assert!(harness.backend.pod(&harness.scope, &uid).is_none(), "the backend pod is gone");
    harness.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_the_backend_refuses_fails_with_provider_failed() -> Result<()> {
    let harness = Harness::start("pods-refused").await?;
    create(
        &harness.pods(),
        json!({
            "metadata": { "name": "hosty" },
            "spec": {
                "nodeName": harness.node_name,
                "containers": [{ "name": "app", "image": "busybox" }],
                "volumes": [{ "name": "host", "hostPath": { "path": "/var/run" } }],
            },
        }),
    )
    .await?;
    let status = eventually("the pod to fail", Duration::from_secs(60), || async {
        let status = harness.pods().get("hosty").await?.status.unwrap_or_default();
        Ok((status.phase.as_deref() == Some("Failed")).then_some(status))
    })
    .await?;
    assert_eq!(status.reason.as_deref(), Some("ProviderFailed"));
    let message = status.message.unwrap_or_default();
    assert!(message.contains("hostPath"), "{message}");
    let described = harness.plane.kubectl(&["describe", "pod", "hosty", "-n", &harness.namespace]).await?;
    assert!(described.contains("ProviderFailed"), "{described}");
    harness.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_config_map_leaves_the_pod_waiting_until_it_appears() -> Result<()> {
    let harness = Harness::start("pods-missing").await?;
    create(
        &harness.pods(),
        json!({
            "metadata": { "name": "needy" },
            "spec": {
                "nodeName": harness.node_name,
                "containers": [{
                    "name": "app",
                    "image": "busybox",
                    "env": [{ "name": "X", "valueFrom": { "configMapKeyRef": { "name": "later", "key": "x" } } }],
                }],
            },
        }),
    )
    .await?;
    let waiting = eventually("the pod to wait", Duration::from_secs(60), || async {
        let status = harness.pods().get("needy").await?.status.unwrap_or_default();
        let waiting =
            status.container_statuses.unwrap_or_default().first().and_then(|c| c.state.clone()?.waiting);
        Ok(waiting.filter(|w| w.reason.as_deref() == Some("CreateContainerConfigError")))
    })
    .await?;
    assert!(waiting.message.unwrap_or_default().contains("configmap \"later\" not found"));
    create(
        &Api::<ConfigMap>::namespaced(harness.client.clone(), &harness.namespace),
        json!({ "metadata": { "name": "later" }, "data": { "x": "1" } }),
    )
    .await?;
    eventually("the pod to run", Duration::from_secs(60), || async {
        let status = harness.pods().get("needy").await?.status.unwrap_or_default();
        Ok((status.phase.as_deref() == Some("Running")).then_some(()))
    })
    .await?;
    harness.finish().await
}
