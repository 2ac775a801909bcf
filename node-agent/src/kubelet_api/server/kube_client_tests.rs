//! The kube crate's kubelet client (`kubelet-debug`: WebSocket straight to the kubelet port)
//! against the kubelet API on 127.0.0.1, with a real gRPC provider behind it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, LogParams};
use kube::core::kubelet_debug::KubeletDebugParams;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vk_proto::v1::provider_client::ProviderClient;

use super::auth::{Gate, User};
use super::serve::serve_connection;
use super::service::{KubeletApi, PodDirectory};
use crate::kubelet_api::remotecommand::over_spdy::SpdySessionConfig;
use crate::kubelet_api::test_provider::{Served, serve_provider};

struct OnePod;

impl PodDirectory for OnePod {
    fn pods(&self) -> Vec<Pod> {
        let pod = serde_json::json!({
            "metadata": {"name": "p", "namespace": "default", "uid": "u1"},
            "spec": {"containers": [{"name": "app"}]},
        });
        vec![serde_json::from_value(pod).expect("pod")]
    }
}

/// A kube client for the kubelet API served over plain TCP (the gate is open; TLS and
/// authentication have their own tests).
async fn client(served: &Served) -> kube::Client {
    let api = Arc::new(KubeletApi {
        node_name: "vk".into(),
        gate: Gate::Open,
        pods: Arc::new(OnePod),
        provider: ProviderClient::clone(&served.client),
        spdy: SpdySessionConfig::default(),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let user = Some(User { name: "test".into(), groups: vec![], uid: None });
            tokio::spawn(serve_connection(stream, api.clone(), user));
        }
    });
    // Several crypto providers are linked into the test binary; kube needs one chosen.
    vk_proto::tls::install_crypto_provider();
    let url = format!("http://127.0.0.1:{port}").parse().expect("url");
    kube::Client::try_from(kube::Config::new(url)).expect("client")
}

fn target() -> KubeletDebugParams<'static> {
    KubeletDebugParams { name: "p", namespace: "default", pod_uid: Some("u1") }
}

#[tokio::test]
async fn kube_kubelet_exec_carries_stdin_and_the_exit_code() {
    let served = serve_provider().await;
    let client = client(&served).await;
    let params = AttachParams::default().stdin(true).stdout(true).stderr(false);
    let mut process = client.kubelet_node_exec(&target(), "app", vec!["cat"], &params).await.expect("exec");
    let mut stdin = process.stdin().expect("stdin");
    let mut stdout = process.stdout().expect("stdout");
    let status = process.take_status().expect("status");
    stdin.write_all(b" typed").await.expect("write stdin");
    // With v5 the end of stdin travels as a CLOSE signal.
    stdin.shutdown().await.expect("close stdin");
    let mut output = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stdout.read_to_end(&mut output))
        .await
        .expect("output in time")
        .expect("read stdout");
    assert_eq!(output, b"cat typed");
    let status =
        tokio::time::timeout(Duration::from_secs(10), status).await.expect("status in time").expect("status");
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let code =
        status.details.and_then(|d| d.causes).and_then(|c| c.into_iter().next()).and_then(|c| c.message);
    assert_eq!(code.as_deref(), Some("3"));
}

#[tokio::test]
async fn kube_kubelet_logs_read_the_container_log() {
    let served = serve_provider().await;
    let client = client(&served).await;
    let params = LogParams { tail_lines: Some(0), ..LogParams::default() };
    let mut logs = client.kubelet_node_logs(&target(), "app", &params).await.expect("logs");
    let mut text = String::new();
    futures::AsyncReadExt::read_to_string(&mut logs, &mut text).await.expect("read logs");
    assert_eq!(text, "pod u1 container app\ntail Some(0) follow false timestamps false\n");
}
