//! End to end: the kubelet API's other routes, reached through the shared control plane's
//! kube-apiserver (1.20.2) the way clusters reach them, on a node backed by the in-memory
//! reference backend (in the test process):
//!
//! - `kubectl attach -i` over WebSocket and over SPDY carries stdin to the container's main
//!   process (`cat`) and its new output back;
//! - `kubectl port-forward` is refused with the agent's clear message (501);
//! - the node proxy serves `/healthz`, `/pods`, `/stats/summary` and `/metrics/resource`.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use e2e_support::exec::Protocol;
use e2e_support::{E2e, pinned_deployment};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A Deployment whose one container runs `cat` with stdin kept open.
fn cat_deployment(node: &str) -> Result<String> {
    let mut deployment: serde_json::Value =
        serde_json::from_str(&pinned_deployment("cat", node, 1, Some(&["cat"])))?;
    let container = deployment
        .pointer_mut("/spec/template/spec/containers/0")
        .and_then(serde_json::Value::as_object_mut)
        .context("the container")?;
    container.insert("stdin".into(), true.into());
    Ok(deployment.to_string())
}

/// `kubectl attach -i` over `protocol`: writes `line`, waits for it to come back on stdout,
/// then disconnects.
async fn attach_echoes(e2e: &E2e, protocol: Protocol, pod: &str, line: &str) -> Result<()> {
    let mut kubectl = e2e
        .plane
        .kubectl_command()
        .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", protocol.websockets_env())
        .args(["attach", "-i", "-n", &e2e.namespace, pod])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = kubectl.stdin.take().context("kubectl's stdin")?;
    let mut stdout = kubectl.stdout.take().context("kubectl's stdout")?;
    let mut seen = Vec::new();
    let echoed = tokio::time::timeout(Duration::from_secs(30), async {
        // The session may start after the first write: repeat it until the echo shows.
        loop {
            stdin.write_all(format!("{line}\n").as_bytes()).await?;
            let mut chunk = [0u8; 1024];
            match tokio::time::timeout(Duration::from_secs(2), stdout.read(&mut chunk)).await {
                Ok(Ok(0)) => bail!("kubectl attach ended: {:?}", String::from_utf8_lossy(&seen)),
                Ok(Ok(n)) => seen.extend_from_slice(&chunk[..n]),
                Ok(Err(error)) => return Err(error.into()),
                Err(_) => {}
            }
            if String::from_utf8_lossy(&seen).contains(line) {
                return Ok(());
            }
        }
    })
    .await;
    kubectl.start_kill()?;
    echoed.with_context(|| format!("{protocol:?}: attach echoes {line:?}"))?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_port_forward_and_the_node_proxy_routes_answer_through_the_apiserver() -> Result<()> {
    let e2e = E2e::start("e2e-kubelet-routes").await?;
    let node = e2e.reference_node("vk-e2e-routes").await?;
    let node_name = node.agent.node_name().to_string();
    e2e.apply(&cat_deployment(&node_name)?).await?;
    let pods = e2e.running_pods("cat", 1).await?;
    let pod = pods[0].metadata.name.clone().context("a pod name")?;

    for protocol in Protocol::BOTH {
        attach_echoes(&e2e, protocol, &pod, &format!("attached over {protocol:?}")).await?;
    }

    let forward = tokio::time::timeout(
        Duration::from_secs(30),
        e2e.plane
            .kubectl_command()
            .args(["port-forward", "-n", &e2e.namespace, &format!("pod/{pod}"), ":80"])
            .output(),
    )
    .await
    .context("kubectl port-forward gives up")??;
    let said = String::from_utf8_lossy(&forward.stderr);
    ensure!(
        !forward.status.success() && said.contains("port forwarding is not supported"),
        "port-forward is refused clearly: {forward:?}"
    );

    let proxy = |path: &str| format!("/api/v1/nodes/{node_name}/proxy/{path}");
    let healthz = e2e.plane.kubectl(&["get", "--raw", &proxy("healthz")]).await?;
    ensure!(healthz.trim_end() == "ok", "/healthz: {healthz:?}");
    let listed: serde_json::Value =
        serde_json::from_str(&e2e.plane.kubectl(&["get", "--raw", &proxy("pods")]).await?)?;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .context("/pods items")?
        .iter()
        .filter_map(|item| item["metadata"]["name"].as_str())
        .collect();
    ensure!(names == [pod.as_str()], "/pods lists the node's pod: {names:?}");
    let summary: serde_json::Value =
        serde_json::from_str(&e2e.plane.kubectl(&["get", "--raw", &proxy("stats/summary")]).await?)?;
    ensure!(summary["node"]["nodeName"] == node_name.as_str(), "/stats/summary names the node: {summary}");
    let stats_pods: Vec<&str> = summary["pods"]
        .as_array()
        .context("/stats/summary pods")?
        .iter()
        .filter_map(|pod| pod["podRef"]["name"].as_str())
        .collect();
    ensure!(stats_pods == [pod.as_str()], "/stats/summary has the pod: {summary}");
    let metrics = e2e.plane.kubectl(&["get", "--raw", &proxy("metrics/resource")]).await?;
    let series = format!(
        "container_memory_working_set_bytes{{container=\"main\",namespace=\"{}\",pod=\"{pod}\"}}",
        e2e.namespace
    );
    ensure!(metrics.contains(&series), "/metrics/resource has {series}: {metrics}");

    e2e.kubectl(&["delete", "deployment", "cat"]).await?;
    node.stop().await?;
    e2e.finish().await
}
