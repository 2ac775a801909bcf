//! End to end on the product path: `kubectl exec -- sh -c 'echo out; echo err >&2; exit 3'`
//! through the shared control plane's kube-apiserver (1.20.2), the node-agent's kubelet API
//! and aci-backend against the ACI emulator in process-runtime mode, over WebSocket and over
//! SPDY. ACI runs exec sessions on a terminal, so stderr arrives merged into stdout; the exit
//! code still comes back.
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

    e2e.kubectl(&["delete", "deployment", "sleeper"]).await?;
    e2e.groups_match_pods(0).await?;
    connector.stop().await?;
    e2e.finish().await
}
