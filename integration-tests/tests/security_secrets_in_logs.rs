//! No secret value reaches a log line in a full end-to-end run: a pod with an env var from a
//! Secret, a secret volume and an image pull secret is created, runs (it proves the value
//! arrived by printing only its length), has its logs read and is exec'd into through the
//! apiserver, and is deleted; then every log file of every process (node-agent, aci-backend,
//! the ACI emulator, kube-apiserver, scheduler, controller-manager, etcd) is searched for each
//! secret value, raw and base64-encoded.
//!
//! The processes log at their default level; for the strictest run, give them every level:
//! `RUST_LOG=trace cargo test -p integration-tests --test security_secrets_in_logs`.
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use base64::Engine as _;
use e2e_support::{E2e, READY_TIMEOUT, eventually, phase};
use integration_tests::local_stack::Os;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files_under(&path, found)?;
        } else {
            found.push(path);
        }
    }
    Ok(())
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_appears_in_any_process_log() -> Result<()> {
    let e2e = E2e::start("sec-secrets").await?;
    let mut connector = e2e.sidecar("vk-sec-secrets", Os::Linux).await?;
    let node = connector.agent.node_name().to_string();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (env_value, file_value, registry_password) =
        (format!("vk-env-{id}"), format!("vk-file-{id}"), format!("vk-registry-{id}"));
    let registry_auth = format!("puller:{registry_password}");
    let docker_config = json!({ "auths": { "registry.example.com": {
        "username": "puller", "password": registry_password, "auth": base64(&registry_auth),
    } } });

    let secrets: Api<Secret> = Api::namespaced(e2e.client.clone(), &e2e.namespace);
    let app_secret = serde_json::from_value(json!({
        "metadata": { "name": "app-secret" },
        "stringData": { "password": env_value, "key.pem": file_value },
    }))?;
    secrets.create(&PostParams::default(), &app_secret).await?;
    let pull_secret = serde_json::from_value(json!({
        "metadata": { "name": "pull-secret" },
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": { ".dockerconfigjson": docker_config.to_string() },
    }))?;
    secrets.create(&PostParams::default(), &pull_secret).await?;

    let script = "echo started; echo password-length=${#PASSWORD}; sleep 3600";
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": "secret-holder" },
        "spec": {
            "nodeName": node,
            "tolerations": [{ "key": "virtual-kubelet.io/provider", "operator": "Exists" }],
            "imagePullSecrets": [{ "name": "pull-secret" }],
            "containers": [{
                "name": "main",
                "image": "registry.example.com/app:1",
                "command": ["/bin/sh", "-c", script],
                "env": [{ "name": "PASSWORD", "valueFrom": { "secretKeyRef": { "name": "app-secret", "key": "password" } } }],
                "volumeMounts": [{ "name": "creds", "mountPath": "/etc/creds" }],
            }],
            "volumes": [{ "name": "creds", "secret": { "secretName": "app-secret" } }],
        },
    }))?;
    e2e.pods().create(&PostParams::default(), &pod).await?;
    eventually("the pod Running", READY_TIMEOUT, || async {
        let pod = e2e.pods().get("secret-holder").await?;
        Ok((phase(&pod) == Some("Running")).then_some(()))
    })
    .await?;
    let expected = format!("password-length={}", env_value.len());
    let logs = eventually("the pod's log", READY_TIMEOUT, || async {
        let logs = e2e.kubectl(&["logs", "secret-holder"]).await?;
        Ok(logs.contains("password-length=").then_some(logs))
    })
    .await?;
    ensure!(logs.contains(&expected), "the secret env value reached the container: {logs:?}");
    let exec = e2e
        .plane
        .kubectl(&["exec", "-n", &e2e.namespace, "secret-holder", "--", "sh", "-c", "echo exec-ok"])
        .await?;
    ensure!(exec.trim() == "exec-ok", "exec runs: {exec:?}");
    e2e.kubectl(&["delete", "pod", "secret-holder", "--wait=false"]).await?;
    e2e.groups_match_pods(0).await?;
    connector.stop().await?;

    let mut files = Vec::new();
    files_under(&e2e.dir.path().join("logs"), &mut files)?;
    files_under(e2e.plane.log_dir(), &mut files)?;
    let needles = [
        env_value.clone(),
        base64(&env_value),
        file_value.clone(),
        base64(&file_value),
        registry_password.clone(),
        base64(&registry_auth),
    ];
    let mut sizes = BTreeMap::new();
    let mut pod_mentioned = 0;
    for file in &files {
        let bytes = std::fs::read(file)?;
        let text = String::from_utf8_lossy(&bytes);
        for needle in &needles {
            if let Some(line) = text.lines().find(|line| line.contains(needle.as_str())) {
                anyhow::bail!("{} leaks a secret value: {line}", file.display());
            }
        }
        pod_mentioned += usize::from(text.contains("secret-holder"));
        sizes.insert(file.file_name().map(|name| name.to_string_lossy().into_owned()), bytes.len());
    }
    println!("searched {} log files for {} secret forms: {sizes:?}", files.len(), needles.len());
    ensure!(files.len() >= 6, "the agent, backend, emulator and control plane logs were searched: {sizes:?}");
    ensure!(pod_mentioned >= 1, "the logs searched are those of this run: none mentions the pod");
    e2e.finish().await
}
