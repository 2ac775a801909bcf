//! The transport-independent bridge against a scripted provider.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vk_proto::v1::{ExecError, ExecExit, TerminalSize, exec_exit, exec_request, exec_response};

use super::fake_backend::fake_backend;
use super::session::{ClientIo, run};
use super::status::Outcome;

struct Client {
    stdin: mpsc::Sender<Bytes>,
    resize: mpsc::Sender<TerminalSize>,
    stdout: mpsc::Receiver<Bytes>,
    stderr: mpsc::Receiver<Bytes>,
    gone: CancellationToken,
}

fn client() -> (Client, ClientIo) {
    let (stdin, stdin_rx) = mpsc::channel(8);
    let (resize, resize_rx) = mpsc::channel(8);
    let (stdout_tx, stdout) = mpsc::channel(8);
    let (stderr_tx, stderr) = mpsc::channel(8);
    let gone = CancellationToken::new();
    let io = ClientIo {
        stdin: Some(stdin_rx),
        resize: Some(resize_rx),
        stdout: Some(stdout_tx),
        stderr: Some(stderr_tx),
        gone: gone.clone(),
    };
    (Client { stdin, resize, stdout, stderr, gone }, io)
}

async fn drain(rx: &mut mpsc::Receiver<Bytes>) -> String {
    let mut out = Vec::new();
    while let Some(chunk) = rx.recv().await {
        out.extend_from_slice(&chunk);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn output_goes_to_its_stream_and_the_exit_code_is_the_outcome() {
    let (mut client, io) = client();
    let (backend, _script) = fake_backend(|script| async move {
        script.started().await;
        script.stdout("out\n").await;
        script.stderr("err\n").await;
        script.exit(3).await;
    });
    assert_eq!(run(io, backend).await, Outcome::Exited(3));
    assert_eq!(drain(&mut client.stdout).await, "out\n");
    assert_eq!(drain(&mut client.stderr).await, "err\n");
}

#[tokio::test]
async fn stdin_is_forwarded_and_its_end_reported() {
    let (client, io) = client();
    let (backend, script) = fake_backend(|mut script| async move {
        let stdin = script.read_stdin().await;
        script.exit(0).await;
        stdin
    });
    client.stdin.send(Bytes::from_static(b"hello ")).await.expect("send");
    client.stdin.send(Bytes::from_static(b"world")).await.expect("send");
    drop(client.stdin);
    assert_eq!(run(io, backend).await, Outcome::Exited(0));
    assert_eq!(script.await.expect("script"), (b"hello world".to_vec(), true));
}

#[tokio::test]
async fn resizes_are_forwarded() {
    let (client, io) = client();
    let (backend, script) = fake_backend(|mut script| async move {
        let frame = script.next().await;
        script.exit(0).await;
        frame
    });
    client.resize.send(TerminalSize { width: 100, height: 40 }).await.expect("send");
    assert_eq!(run(io, backend).await, Outcome::Exited(0));
    let frame = script.await.expect("script");
    assert_eq!(frame, Some(exec_request::Frame::Resize(TerminalSize { width: 100, height: 40 })));
}

#[tokio::test]
async fn a_provider_error_fails_the_session() {
    let (_client, io) = client();
    let (backend, _script) = fake_backend(|script| async move {
        let _ = script.responses.send(Err(tonic::Status::not_found("no such container"))).await;
    });
    let outcome = run(io, backend).await;
    assert_eq!(outcome, Outcome::Failed("NotFound: no such container".into()));
}

#[tokio::test]
async fn an_error_exit_and_a_silent_end_fail_the_session() {
    let (_client, io) = client();
    let (backend, _script) = fake_backend(|script| async move {
        let error = ExecError { code: 14, message: "connection to the container lost".into() };
        script
            .say(exec_response::Frame::Exit(ExecExit { outcome: Some(exec_exit::Outcome::Error(error)) }))
            .await;
    });
    assert_eq!(run(io, backend).await, Outcome::Failed("connection to the container lost".into()));

    let (_client, io) = client();
    let (backend, _script) = fake_backend(|script| async move { drop(script) });
    assert!(matches!(run(io, backend).await, Outcome::Failed(_)));
}

#[tokio::test]
async fn a_departed_client_cancels_the_provider_call() {
    let (client, io) = client();
    let (backend, script) = fake_backend(|mut script| async move {
        script.started().await;
        // Runs until the bridge drops its end of the call.
        while script.next().await.is_some() {}
        script.responses.closed().await;
    });
    let session = tokio::spawn(run(io, backend));
    tokio::time::sleep(Duration::from_millis(20)).await;
    client.gone.cancel();
    assert_eq!(session.await.expect("session"), Outcome::ClientGone);
    tokio::time::timeout(Duration::from_secs(5), script)
        .await
        .expect("provider saw the cancel")
        .expect("script");
}
