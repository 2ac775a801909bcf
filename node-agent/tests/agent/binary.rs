//! The `node-agent` binary itself: flags, kubeconfig, registration, and node removal on
//! SIGTERM with `--remove-node-on-exit`.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use integration_tests::control_plane::{ControlPlane, unique_name};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use provider_testkit::reference::{ReferenceBackend, ReferenceConfig};

use crate::support::{eventually, ready_status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_registers_its_node_and_removes_it_on_sigterm() -> Result<()> {
    let plane = ControlPlane::shared().await?;
    let nodes: Api<Node> = Api::all(plane.client()?);
    let dir = tempfile::tempdir()?;
    let socket = dir.path().join("provider.sock");
    let backend = ReferenceBackend::new(ReferenceConfig::default());
    let server = backend.serve_unix(&socket).await?;
    let name = unique_name("vk-binary");
    // Several agents share this machine: give this one its own kubelet API port.
    let kubelet_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port().to_string();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_node-agent"))
        .args(["--kubeconfig", &plane.kubeconfig_path().display().to_string()])
        .args(["--nodename", &name, "--backend", &format!("unix://{}", socket.display())])
        .args(["--metrics-addr", "127.0.0.1:0", "--node-status-poll-seconds", "1", "--remove-node-on-exit"])
        .args(["--kubelet-port", &kubelet_port])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    eventually("the node to be Ready", Duration::from_secs(60), || async {
        Ok(nodes.get_opt(&name).await?.filter(|n| ready_status(n).as_deref() == Some("True")))
    })
    .await?;
    let pid = child.id().context("the agent runs")?;
    let killed = tokio::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().await?;
    ensure!(killed.success(), "kill -TERM failed");
    let exit =
        tokio::time::timeout(Duration::from_secs(30), child.wait()).await.context("the agent exits")??;
    assert!(exit.success(), "exit status {exit}");
    assert!(nodes.get_opt(&name).await?.is_none(), "the node was removed");
    drop(server);
    Ok(())
}
