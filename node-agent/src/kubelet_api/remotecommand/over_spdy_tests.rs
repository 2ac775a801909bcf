//! Exec over SPDY end to end: the SPDY test client plays kubectl, a script plays the provider.

use std::collections::HashMap;
use std::time::Duration;

use crate::kubelet_api::spdy::Frame;
use crate::kubelet_api::spdy::test_client::TestClient;
use vk_proto::v1::{TerminalSize, exec_request};

use super::fake_backend::fake_backend;
use super::options::ExecOptions;
use super::over_spdy::{SpdySessionConfig, SpdySessionError, serve};
use super::protocol::StreamProtocol;
use super::status::Outcome;

/// Everything the client got, per stream id, and whether each stream ended with FIN.
#[derive(Default, Debug)]
struct Received {
    data: HashMap<u32, Vec<u8>>,
    fin: HashMap<u32, bool>,
    goaway: bool,
}

impl Received {
    fn text(&self, id: u32) -> String {
        String::from_utf8_lossy(self.data.get(&id).map(Vec::as_slice).unwrap_or_default()).into_owned()
    }
}

async fn receive_all(client: &mut TestClient) -> Received {
    let mut received = Received::default();
    while let Some(frame) = client.next().await {
        match frame {
            Frame::Data { stream_id, fin, data } => {
                received.data.entry(stream_id).or_default().extend_from_slice(&data);
                if fin {
                    received.fin.insert(stream_id, true);
                }
            }
            Frame::GoAway { .. } => {
                received.goaway = true;
                client.close().await;
            }
            _ => {}
        }
    }
    received
}

fn duplex() -> (TestClient, tokio::io::DuplexStream) {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    (TestClient::over(client_io), server_io)
}

#[tokio::test(start_paused = true)]
async fn v4_exec_separates_stdout_and_stderr_and_reports_exit_code_3() {
    let (mut client, server_io) = duplex();
    let options = ExecOptions::for_exec("command=sh&output=1&error=1").expect("options");
    let (backend, _script) = fake_backend(|script| async move {
        script.started().await;
        script.stdout("out\n").await;
        script.stderr("err\n").await;
        script.exit(3).await;
    });
    let server = tokio::spawn(async move {
        serve(server_io, StreamProtocol::V4, &options, async { Ok(backend) }, SpdySessionConfig::default())
            .await
    });
    client.open(1, "error").await;
    client.open(3, "stdout").await;
    client.open(5, "stderr").await;
    let received = receive_all(&mut client).await;
    assert_eq!(received.text(3), "out\n");
    assert_eq!(received.text(5), "err\n");
    let status: serde_json::Value = serde_json::from_slice(&received.data[&1]).expect("status json");
    assert_eq!(status["reason"], "NonZeroExitCode");
    assert_eq!(status["details"]["causes"][0]["message"], "3");
    assert!(received.fin[&1] && received.fin[&3] && received.fin[&5], "{received:?}");
    assert!(received.goaway);
    assert_eq!(server.await.expect("server task").expect("session"), Outcome::Exited(3));
}

#[tokio::test(start_paused = true)]
async fn v5_stdin_reaches_the_provider_and_success_is_reported() {
    let (mut client, server_io) = duplex();
    let options = ExecOptions::for_exec("command=cat&input=1&output=1").expect("options");
    let (backend, _script) = fake_backend(|mut script| async move {
        let (stdin, closed) = script.read_stdin().await;
        assert!(closed, "stdin end reported");
        script.stdout(&String::from_utf8_lossy(&stdin)).await;
        script.exit(0).await;
    });
    let server = tokio::spawn(async move {
        serve(server_io, StreamProtocol::V5, &options, async { Ok(backend) }, SpdySessionConfig::default())
            .await
    });
    client.open(1, "error").await;
    client.open(3, "stdin").await;
    client.open(5, "stdout").await;
    client.data(3, b"through stdin", true).await;
    let received = receive_all(&mut client).await;
    assert_eq!(received.text(5), "through stdin");
    assert_eq!(received.text(1), r#"{"metadata":{},"status":"Success"}"#);
    assert_eq!(server.await.expect("server task").expect("session"), Outcome::Exited(0));
}

#[tokio::test(start_paused = true)]
async fn v2_reports_a_failure_as_text() {
    let (mut client, server_io) = duplex();
    let options = ExecOptions::for_exec("command=false&output=1").expect("options");
    let (backend, _script) = fake_backend(|script| async move { script.exit(3).await });
    let server = tokio::spawn(async move {
        serve(server_io, StreamProtocol::V2, &options, async { Ok(backend) }, SpdySessionConfig::default())
            .await
    });
    client.open(1, "error").await;
    client.open(3, "stdout").await;
    let received = receive_all(&mut client).await;
    assert_eq!(received.text(1), "command terminated with non-zero exit code: exit status 3");
    assert!(server.await.expect("server task").is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_tty_session_forwards_resizes() {
    let (mut client, server_io) = duplex();
    let options = ExecOptions::for_exec("command=sh&input=1&output=1&tty=1").expect("options");
    let (backend, script) = fake_backend(|mut script| async move {
        let mut sizes = Vec::new();
        while let Some(frame) = script.next().await {
            match frame {
                exec_request::Frame::Resize(size) => {
                    sizes.push(size);
                    break;
                }
                exec_request::Frame::Start(_) => {}
                _ => {}
            }
        }
        script.exit(0).await;
        sizes
    });
    let server = tokio::spawn(async move {
        serve(server_io, StreamProtocol::V4, &options, async { Ok(backend) }, SpdySessionConfig::default())
            .await
    });
    client.open(1, "error").await;
    client.open(3, "stdin").await;
    client.open(5, "stdout").await;
    client.open(7, "resize").await;
    client.data(7, br#"{"Width":132,"Height":43}"#, false).await;
    let _ = receive_all(&mut client).await;
    assert_eq!(script.await.expect("script"), vec![TerminalSize { width: 132, height: 43 }]);
    assert!(server.await.expect("server task").is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_client_that_disconnects_cancels_the_command() {
    let (mut client, server_io) = duplex();
    let options = ExecOptions::for_exec("command=sleep&output=1").expect("options");
    let (backend, script) = fake_backend(|mut script| async move {
        script.started().await;
        while script.next().await.is_some() {}
        "cancelled"
    });
    let server = tokio::spawn(async move {
        serve(server_io, StreamProtocol::V4, &options, async { Ok(backend) }, SpdySessionConfig::default())
            .await
    });
    client.open(1, "error").await;
    client.open(3, "stdout").await;
    client.expect(|f| matches!(f, Frame::SynReply { stream_id: 3, .. }).then_some(())).await;
    client.close().await;
    drop(client);
    assert_eq!(server.await.expect("server task").expect("session"), Outcome::ClientGone);
    let seen = tokio::time::timeout(Duration::from_secs(5), script).await.expect("provider call ended");
    assert_eq!(seen.expect("script"), "cancelled");
}

#[tokio::test(start_paused = true)]
async fn missing_streams_time_out() {
    let (mut client, server_io) = duplex();
    let options = ExecOptions::for_exec("command=ls&output=1").expect("options");
    let (backend, _script) = fake_backend(|script| async move { script.exit(0).await });
    let server = tokio::spawn(async move {
        serve(server_io, StreamProtocol::V4, &options, async { Ok(backend) }, SpdySessionConfig::default())
            .await
    });
    client.open(1, "error").await;
    let result = server.await.expect("server task");
    assert!(matches!(result, Err(SpdySessionError::StreamCreationTimeout)), "{result:?}");
}

#[tokio::test(start_paused = true)]
async fn unknown_stream_types_are_ignored() {
    let (mut client, server_io) = duplex();
    let options = ExecOptions::for_exec("command=ls&output=1").expect("options");
    let (backend, _script) = fake_backend(|script| async move {
        script.stdout("listing").await;
        script.exit(0).await;
    });
    let server = tokio::spawn(async move {
        serve(server_io, StreamProtocol::V4, &options, async { Ok(backend) }, SpdySessionConfig::default())
            .await
    });
    client.open(1, "bogus").await;
    client.open(3, "error").await;
    client.open(5, "stdout").await;
    let received = receive_all(&mut client).await;
    assert_eq!(received.text(5), "listing");
    assert!(server.await.expect("server task").is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_provider_that_cannot_start_is_reported_as_internal_error() {
    let (mut client, server_io) = duplex();
    let options = ExecOptions::for_exec("command=ls&output=1").expect("options");
    let open = async {
        Err::<super::backend::Backend<super::fake_backend::Responses>, _>(tonic::Status::not_found("no pod"))
    };
    let server = tokio::spawn(async move {
        serve(server_io, StreamProtocol::V4, &options, open, SpdySessionConfig::default()).await
    });
    client.open(1, "error").await;
    client.open(3, "stdout").await;
    let received = receive_all(&mut client).await;
    let status: serde_json::Value = serde_json::from_slice(&received.data[&1]).expect("status json");
    assert_eq!(status["reason"], "InternalError");
    assert!(status["message"].as_str().is_some_and(|m| m.contains("no pod")), "{status}");
    assert!(server.await.expect("server task").is_ok());
}
