//! End to end: `kubectl logs` and `kubectl exec` reach a pod on the virtual node through the
//! apiserver and the node-agent's kubelet API, over WebSocket (kubectl's default) and over
//! SPDY (`KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`). The emulator runs the pod's command as a
//! local process, so the bytes are real.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use std::process::Stdio;

use anyhow::{Context, Result, ensure};
use e2e_support::{E2e, eventually, pinned_deployment};
use integration_tests::local_stack::Os;
use tokio::io::AsyncWriteExt as _;

const SCRIPT: &str = "echo hello-from-aci; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done";

/// What `kubectl exec` gave.
struct Exec {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `kubectl exec` with `stdin` piped in.
async fn exec(e2e: &E2e, websockets: bool, pod: &str, stdin: Option<&str>, command: &[&str]) -> Result<Exec> {
    let mut kubectl = e2e.plane.kubectl_command();
    kubectl
        .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", if websockets { "true" } else { "false" })
        // -v=4 makes kubectl log the WebSocket subprotocol it agreed on (or its fallback).
        .args(["exec", "-v=4", "-n", &e2e.namespace, pod])
        .args(stdin.map(|_| "-i"))
        .arg("--")
        .args(command)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = kubectl.spawn()?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().context("kubectl's stdin")?;
        pipe.write_all(input.as_bytes()).await?;
        drop(pipe);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .context("kubectl exec finishes")??;
    Ok(Exec {
        code: output.status.code().context("kubectl exited normally")?,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

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

    for websockets in [true, false] {
        let protocol = if websockets { "WebSocket" } else { "SPDY" };
        let echo = exec(&e2e, websockets, &pod, None, &["echo", "exec-works"]).await?;
        ensure!(
            echo.code == 0 && echo.stdout.trim() == "exec-works",
            "{protocol}: echo gave {} {:?} {:?}",
            echo.code,
            echo.stdout,
            echo.stderr
        );
        let websocket_used = echo.stderr.contains("The subprotocol is v5.channel.k8s.io");
        ensure!(
            websocket_used == websockets,
            "{protocol}: kubectl used {} ({:?})",
            if websocket_used { "WebSocket" } else { "SPDY" },
            echo.stderr
        );
        let failing = exec(&e2e, websockets, &pod, None, &["sh", "-c", "exit 3"]).await?;
        ensure!(
            failing.code == 3,
            "{protocol}: the exit code comes back: {} {:?}",
            failing.code,
            failing.stderr
        );
        let cat = exec(&e2e, websockets, &pod, Some("piped-in\n"), &["cat"]).await?;
        ensure!(
            cat.code == 0 && cat.stdout.contains("piped-in"),
            "{protocol}: stdin reaches the command: {} {:?} {:?}",
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
