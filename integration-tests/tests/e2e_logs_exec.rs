//! End to end: `kubectl logs` and `kubectl exec` reach a pod on the virtual node through the
//! apiserver and the node-agent's kubelet API, over WebSocket (kubectl's default) and over
//! SPDY (`KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`). The emulator runs the pod's command as a
//! local process, so the bytes are real.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use anyhow::{Context, Result, ensure};
use e2e_support::exec::Protocol;
use e2e_support::{E2e, eventually, pinned_deployment};
use integration_tests::local_stack::Os;

const SCRIPT: &str = "echo hello-from-aci; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_and_exec_reach_a_running_pod_over_both_protocols() -> Result<()> {
    let e2e = E2e::start("e2e-streams").await?;
    let mut connector = e2e.sidecar("vk-e2e-streams", Os::Linux).await?;
    let node = connector.agent.node_name().to_string();
    e2e.apply(&pinned_deployment("shell", &node, 1, Some(&["/bin/sh", "-c", SCRIPT]))).await?;
    let pods = e2e.running_pods("shell", 1).await?;
    let pod = pods[0].metadata.name.clone().context("a pod name")?;

    let logs = eventually("the pod's first lines in kubectl logs", e2e_support::READY_TIMEOUT, || async {
        let logs = e2e.kubectl(&["logs", &pod]).await?;
        Ok((logs.contains("hello-from-aci") && logs.contains("tick 1")).then_some(logs))
    })
    .await?;
    ensure!(logs.starts_with("hello-from-aci\n"), "the log starts with the first line: {logs:?}");
    let tail = e2e.kubectl(&["logs", &pod, "--tail=1"]).await?;
    ensure!(tail.lines().count() == 1 && tail.starts_with("tick "), "--tail=1 gives one line: {tail:?}");

    for protocol in Protocol::BOTH {
        let echo = e2e.exec(protocol, &pod, None, &["echo", "exec-works"]).await?;
        ensure!(
            echo.code == 0 && echo.stdout.trim() == "exec-works",
            "{protocol:?}: echo gave {} {:?} {:?}",
            echo.code,
            echo.stdout,
            echo.stderr
        );
        ensure!(
            echo.used_websocket() == (protocol == Protocol::WebSocket),
            "{protocol:?}: kubectl used the other protocol ({:?})",
            echo.kubectl_log
        );
        let failing = e2e.exec(protocol, &pod, None, &["sh", "-c", "exit 3"]).await?;
        ensure!(
            failing.code == 3,
            "{protocol:?}: the exit code comes back: {} {:?}",
            failing.code,
            failing.stderr
        );
        let cat = e2e.exec(protocol, &pod, Some("piped-in\n"), &["cat"]).await?;
        ensure!(
            cat.code == 0 && cat.stdout.contains("piped-in"),
            "{protocol:?}: stdin reaches the command: {} {:?} {:?}",
            cat.code,
            cat.stdout,
            cat.stderr
        );
    }

    e2e.kubectl(&["delete", "deployment", "shell"]).await?;
    e2e.groups_match_pods(0).await?;
    connector.stop().await?;
    e2e.finish().await
}
