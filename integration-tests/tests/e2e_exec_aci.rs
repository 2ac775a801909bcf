//! End to end on the product path: `kubectl exec -- sh -c 'echo out; echo err >&2; exit 3'`
//! through the shared control plane's kube-apiserver (1.20.2), the node-agent's kubelet API
//! and aci-backend against the ACI emulator in process-runtime mode, over WebSocket and over
//! SPDY. ACI runs exec sessions on a terminal, so stderr arrives merged into stdout; the exit
//! code still comes back. The same pod's CPU and memory (Azure Monitor's metrics, emulated)
//! reach the node proxy's `/stats/summary` and `/metrics/resource`, which `kubectl top` reads
//! through metrics-server.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use anyhow::{Context, Result, ensure};
use e2e_support::exec::Protocol;
use e2e_support::{E2e, pinned_deployment};
use integration_tests::local_stack::Os;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_on_aci_merges_stderr_and_returns_the_exit_code_over_both_protocols() -> Result<()> {
    let e2e = E2e::start("e2e-exec-aci").await?;
    let mut connector = e2e.sidecar("vk-e2e-exec-aci", Os::Linux).await?;
    let node = connector.agent.node_name().to_string();
    e2e.apply(&pinned_deployment("sleeper", &node, 1, Some(&["/bin/sh", "-c", "sleep 3600"]))).await?;
    let pods = e2e.running_pods("sleeper", 1).await?;
    let pod = pods[0].metadata.name.clone().context("a pod name")?;

    for protocol in Protocol::BOTH {
        let exec = e2e.exec(protocol, &pod, None, &["sh", "-c", "echo out; echo err >&2; exit 3"]).await?;
        let lines: Vec<&str> = exec.stdout.lines().map(str::trim_end).collect();
        ensure!(
            exec.code == 3 && lines == ["out", "err"] && exec.stderr.is_empty(),
            "{protocol:?}: gave {exec:?}"
        );
        ensure!(
            exec.used_websocket() == (protocol == Protocol::WebSocket),
            "{protocol:?}: kubectl used the other protocol: {}",
            exec.kubectl_log
        );
    }

    // The pod asks for nothing, so it got the backend's default of 1 core and 1.5 GB; the
    // emulator reports 10% and 25% of the requests.
    let proxy = |path: &str| format!("/api/v1/nodes/{node}/proxy/{path}");
    let summary: serde_json::Value =
        serde_json::from_str(&e2e.plane.kubectl(&["get", "--raw", &proxy("stats/summary")]).await?)?;
    let stats = summary["pods"]
        .as_array()
        .and_then(|pods| pods.iter().find(|p| p["podRef"]["name"] == pod.as_str()))
        .with_context(|| format!("/stats/summary has the pod: {summary}"))?;
    let main = &stats["containers"][0];
    ensure!(
        main["name"] == "main"
            && main["cpu"]["usageNanoCores"] == 100_000_000
            && main["cpu"]["usageCoreNanoSeconds"].as_u64().is_some_and(|n| n >= 6_000_000_000)
            && main["memory"]["workingSetBytes"] == 402_653_184,
        "/stats/summary has the container's usage: {stats}"
    );
    let metrics = e2e.plane.kubectl(&["get", "--raw", &proxy("metrics/resource")]).await?;
    let series = format!(
        "container_cpu_usage_seconds_total{{container=\"main\",namespace=\"{}\",pod=\"{pod}\"}}",
        e2e.namespace
    );
    ensure!(metrics.contains(&series), "/metrics/resource has {series}: {metrics}");

    e2e.kubectl(&["delete", "deployment", "sleeper"]).await?;
    e2e.groups_match_pods(0).await?;
    connector.stop().await?;
    e2e.finish().await
}
