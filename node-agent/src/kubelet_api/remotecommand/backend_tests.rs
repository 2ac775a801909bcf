//! `open` against a real gRPC provider served over a Unix socket in a temp dir, and a whole
//! SPDY exec through it.

use std::time::Duration;

use tokio::sync::mpsc;

use super::backend::{SessionKind, open};
use super::options::ExecOptions;
use super::over_spdy::{SpdySessionConfig, serve};
use super::protocol::StreamProtocol;
use super::session::{ClientIo, run};
use super::status::Outcome;
use crate::kubelet_api::spdy::Frame;
use crate::kubelet_api::spdy::test_client::TestClient;
use crate::kubelet_api::test_provider::serve_provider;

fn quiet_client() -> ClientIo {
    ClientIo { stdin: None, resize: None, stdout: None, stderr: None, gone: Default::default() }
}

#[tokio::test]
async fn open_sends_start_first_so_providers_may_read_it_before_answering() {
    let served = serve_provider().await;
    let options = ExecOptions::for_exec("command=echo&command=hi&output=1").expect("options");
    let backend =
        open(served.client.clone(), SessionKind::Exec, options.start("uid", "app")).await.expect("open");
    let (stdout_tx, mut stdout_rx) = mpsc::channel(8);
    let (stdin_tx, stdin_rx) = mpsc::channel(8);
    drop(stdin_tx);
    let io = ClientIo { stdin: Some(stdin_rx), stdout: Some(stdout_tx), ..quiet_client() };
    assert_eq!(run(io, backend).await, Outcome::Exited(3));
    assert_eq!(stdout_rx.recv().await.expect("output"), "echo hi");
}

#[tokio::test]
async fn a_refused_start_surfaces_as_the_providers_status() {
    let served = serve_provider().await;
    let options = ExecOptions::for_exec("command=ls&output=1").expect("options");
    let err = open(served.client.clone(), SessionKind::Exec, options.start("uid", "nope")).await.err();
    assert_eq!(err.map(|s| s.code()), Some(tonic::Code::NotFound));
}

#[tokio::test]
async fn attach_uses_the_attach_call() {
    let served = serve_provider().await;
    let options = ExecOptions::from_query("output=1").expect("options");
    let backend =
        open(served.client.clone(), SessionKind::Attach, options.start("uid", "app")).await.expect("open");
    assert_eq!(run(quiet_client(), backend).await, Outcome::Exited(0));
}

#[tokio::test]
async fn a_spdy_exec_reaches_the_grpc_provider_and_a_disconnect_cancels_it() {
    let mut served = serve_provider().await;
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let mut client = TestClient::over(client_io);
    let options = ExecOptions::for_exec("command=cat&input=1&output=1").expect("options");
    let provider = served.client.clone();
    let start = options.start("uid", "app");
    let server = tokio::spawn(async move {
        let open_backend = open(provider, SessionKind::Exec, start);
        serve(server_io, StreamProtocol::V4, &options, open_backend, SpdySessionConfig::default()).await
    });
    client.open(1, "error").await;
    client.open(3, "stdin").await;
    client.open(5, "stdout").await;
    client.data(3, b"typed", false).await;
    let mut stdout = Vec::new();
    while stdout.len() < "cattyped".len() {
        if let Some(Frame::Data { stream_id: 5, data, .. }) = client.next().await {
            stdout.extend_from_slice(&data);
        }
    }
    assert_eq!(stdout, b"cattyped");
    client.close().await;
    drop(client);
    let outcome = tokio::time::timeout(Duration::from_secs(10), server).await.expect("session ended");
    assert_eq!(outcome.expect("task").expect("session"), Outcome::ClientGone);
    let ended =
        tokio::time::timeout(Duration::from_secs(10), served.ended.recv()).await.expect("provider saw it");
    assert_eq!(ended, Some("exec cancelled"));
}
