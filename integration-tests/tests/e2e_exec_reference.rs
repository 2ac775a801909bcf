//! End to end against a provider that reports separate stdout and stderr and real exit codes:
//! the in-memory reference backend (provider-testkit) in the test process, behind a node-agent
//! process on the shared control plane (kube-apiserver 1.20.2).
//!
//! - `kubectl exec` through the apiserver, over WebSocket and over SPDY
//!   (`KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`): stdout and stderr arrive apart, the exit code
//!   comes back, `-i` carries stdin through.
//! - The kube crate's kubelet client (`kubelet-debug`: WebSocket straight to the kubelet port,
//!   presenting the apiserver's kubelet client certificate) passes the same cases, plus a
//!   terminal whose sizes reach the provider.
//! - The agent process's kubelet port answers 401 without credentials and 403 to a user
//!   without `nodes/proxy` (decided by the apiserver), and lets the apiserver's certificate in.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use base64::Engine as _;
use e2e_support::exec::Protocol;
use e2e_support::{E2e, pinned_deployment};
use kube::api::{AttachParams, AttachedProcess, TerminalSize};
use kube::core::kubelet_debug::KubeletDebugParams;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};

const SEPARATE: &str = "echo out; echo err >&2; exit 3";
const STDIN_THEN_SEPARATE: &str = "cat; echo err >&2; exit 3";
const STDIN: &str = "piped-in\nsecond line\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_keeps_stdout_stderr_and_the_exit_code_apart_through_the_apiserver_and_the_kubelet_port()
-> Result<()> {
    let e2e = E2e::start("e2e-exec-ref").await?;
    let node = e2e.reference_node("vk-e2e-ref").await?;
    let node_name = node.agent.node_name().to_string();
    e2e.apply(&pinned_deployment("ref", &node_name, 1, None)).await?;
    let pods = e2e.running_pods("ref", 1).await?;
    let pod = pods[0].metadata.name.clone().context("a pod name")?;
    let uid = pods[0].metadata.uid.clone().context("a pod uid")?;

    for protocol in Protocol::BOTH {
        let separate = e2e.exec(protocol, &pod, None, &["sh", "-c", SEPARATE]).await?;
        ensure!(
            (separate.code, separate.stdout.as_str(), separate.stderr.as_str()) == (3, "out\n", "err\n"),
            "{protocol:?}: separate streams gave {separate:?}"
        );
        ensure!(
            separate.used_websocket() == (protocol == Protocol::WebSocket),
            "{protocol:?}: kubectl used the other protocol: {}",
            separate.kubectl_log
        );
        let piped = e2e.exec(protocol, &pod, Some(STDIN), &["sh", "-c", STDIN_THEN_SEPARATE]).await?;
        ensure!(
            (piped.code, piped.stdout.as_str(), piped.stderr.as_str()) == (3, STDIN, "err\n"),
            "{protocol:?}: -i gave {piped:?}"
        );
    }

    let port = node.agent.kubelet_port();
    let plane = e2e.plane;
    let client =
        kubelet_client(port, Some((plane.kubelet_client_cert_pem(), plane.kubelet_client_key_pem())))?;
    kubelet_port_refuses_strangers(&e2e, port, &client).await?;
    let target = KubeletDebugParams { name: &pod, namespace: &e2e.namespace, pod_uid: Some(&uid) };
    kube_client_cases(&client, &target, &node.backend).await?;

    e2e.kubectl(&["delete", "deployment", "ref"]).await?;
    node.stop().await?;
    e2e.finish().await
}

/// A kube client for the agent's kubelet port with a client certificate and key (PEM), or
/// none; the agent's serving certificate is self-signed, so it is not verified.
fn kubelet_client(port: u16, identity: Option<(&str, &str)>) -> Result<kube::Client> {
    vk_proto::tls::install_crypto_provider();
    let mut config = kube::Config::new(format!("https://127.0.0.1:{port}").parse()?);
    config.accept_invalid_certs = true;
    if let Some((cert, key)) = identity {
        let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
        config.auth_info = serde_json::from_value(serde_json::json!({
            "client-certificate-data": encode(cert),
            "client-key-data": encode(key),
        }))?;
    }
    Ok(kube::Client::try_from(config)?)
}

/// The HTTP status `GET /pods` on the kubelet port gets.
async fn pods_status(client: &kube::Client) -> Result<u16> {
    match client.request_text(http::Request::get("/pods").body(Vec::new())?).await {
        Ok(_) => Ok(200),
        Err(kube::Error::Api(status)) => Ok(status.code),
        Err(error) => Err(error.into()),
    }
}

/// The agent process asks the apiserver: nobody gets 401, a user without `nodes/proxy` gets
/// 403, the apiserver's kubelet client certificate gets through.
async fn kubelet_port_refuses_strangers(e2e: &E2e, port: u16, apiserver: &kube::Client) -> Result<()> {
    ensure!(pods_status(&kubelet_client(port, None)?).await? == 401, "no credentials: 401");
    let user = integration_tests::control_plane::unique_name("kubelet-api-nobody");
    let nobody = e2e.plane.issue_client_certificate(&user, None)?;
    let nobody = kubelet_client(port, Some((&nobody.cert_pem, &nobody.key_pem)))?;
    ensure!(pods_status(&nobody).await? == 403, "no nodes/proxy: 403");
    ensure!(pods_status(apiserver).await? == 200, "the apiserver's certificate gets through");
    Ok(())
}

async fn read_all(reader: Option<impl AsyncRead + Unpin>) -> Result<String> {
    let mut bytes = Vec::new();
    if let Some(mut reader) = reader {
        tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut bytes)).await??;
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The exit code an exec's status carries: 0 for Success, the NonZeroExitCode cause otherwise.
async fn exit_code(process: &mut AttachedProcess) -> Result<i32> {
    let status = process.take_status().context("the status future")?;
    let status = tokio::time::timeout(Duration::from_secs(30), status)
        .await
        .context("the status in time")?
        .context("a status")?;
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    ensure!(status.reason.as_deref() == Some("NonZeroExitCode"), "unexpected status {status:?}");
    let causes = status.details.and_then(|details| details.causes).unwrap_or_default();
    let code = causes.iter().find(|cause| cause.reason.as_deref() == Some("ExitCode"));
    Ok(code.and_then(|cause| cause.message.as_deref()).context("an ExitCode cause")?.parse()?)
}

/// stdout, stderr and the exit code of a finished process.
async fn finish(mut process: AttachedProcess) -> Result<(i32, String, String)> {
    let (stdout, stderr) = tokio::join!(read_all(process.stdout()), read_all(process.stderr()));
    let code = exit_code(&mut process).await?;
    Ok((code, stdout?, stderr?))
}

async fn kube_client_cases(
    client: &kube::Client,
    target: &KubeletDebugParams<'_>,
    backend: &provider_testkit::reference::ReferenceBackend,
) -> Result<()> {
    let process =
        client.kubelet_node_exec(target, "main", ["sh", "-c", SEPARATE], &AttachParams::default()).await?;
    let separate = finish(process).await?;
    ensure!(
        separate == (3, "out\n".into(), "err\n".into()),
        "kube client: separate streams gave {separate:?}"
    );

    let params = AttachParams::default().stdin(true);
    let mut process =
        client.kubelet_node_exec(target, "main", ["sh", "-c", STDIN_THEN_SEPARATE], &params).await?;
    let mut stdin = process.stdin().context("stdin")?;
    stdin.write_all(STDIN.as_bytes()).await?;
    stdin.shutdown().await?;
    let piped = finish(process).await?;
    ensure!(piped == (3, STDIN.into(), "err\n".into()), "kube client: stdin gave {piped:?}");

    let mut process =
        client.kubelet_node_exec(target, "main", ["cat"], &AttachParams::interactive_tty()).await?;
    let mut sizes = process.terminal_size().context("a terminal size sender")?;
    let mut stdin = process.stdin().context("stdin")?;
    let mut stdout = process.stdout().context("stdout")?;
    for (width, height) in [(101, 31), (132, 43)] {
        sizes.try_send(TerminalSize { width, height })?;
        e2e_support::eventually("the resize at the provider", Duration::from_secs(10), || async {
            let seen = backend.resizes().iter().any(|r| (r.width, r.height) == (width.into(), height.into()));
            Ok(seen.then_some(()))
        })
        .await?;
    }
    stdin.write_all(b"typed at a terminal\r").await?;
    let mut echoed = Vec::new();
    while !String::from_utf8_lossy(&echoed).contains("typed at a terminal") {
        let mut chunk = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(10), stdout.read(&mut chunk)).await??;
        ensure!(read > 0, "kube client: tty output ended early: {:?}", String::from_utf8_lossy(&echoed));
        echoed.extend_from_slice(&chunk[..read]);
    }
    stdin.shutdown().await?;
    read_all(Some(stdout)).await?;
    let code = exit_code(&mut process).await?;
    ensure!(code == 0, "kube client: tty cat ended with {code}");
    Ok(())
}
