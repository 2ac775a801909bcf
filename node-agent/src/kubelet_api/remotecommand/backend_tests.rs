//! `open` against a real gRPC provider served over a Unix socket in a temp dir, and a whole
//! SPDY exec through it.

use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tonic::{Request, Response, Status, Streaming};
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::provider_server::{Provider, ProviderServer};
use vk_proto::v1::{self as pb, ExecResponse, exec_exit, exec_request, exec_response};

use super::backend::{SessionKind, open};
use super::options::ExecOptions;
use super::over_spdy::{SpdySessionConfig, serve};
use super::protocol::StreamProtocol;
use super::session::{ClientIo, run};
use super::status::Outcome;
use crate::kubelet_api::spdy::Frame;
use crate::kubelet_api::spdy::test_client::TestClient;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Exec: reads the start frame before answering, prints the command and stdin, exits 3.
/// Attach: exits 0 at once. It reports on `ended` when the client side of a call ends.
struct ScriptedProvider {
    ended: mpsc::Sender<&'static str>,
}

fn unimplemented<T>() -> Result<T, Status> {
    Err(Status::unimplemented("not offered by the test provider"))
}

fn frame(frame: exec_response::Frame) -> Result<ExecResponse, Status> {
    Ok(ExecResponse { frame: Some(frame) })
}

#[tonic::async_trait]
impl Provider for ScriptedProvider {
    async fn create_pod(
        &self,
        _: Request<pb::CreatePodRequest>,
    ) -> Result<Response<pb::CreatePodResponse>, Status> {
        unimplemented()
    }
    async fn update_pod(
        &self,
        _: Request<pb::UpdatePodRequest>,
    ) -> Result<Response<pb::UpdatePodResponse>, Status> {
        unimplemented()
    }
    async fn delete_pod(
        &self,
        _: Request<pb::DeletePodRequest>,
    ) -> Result<Response<pb::DeletePodResponse>, Status> {
        unimplemented()
    }
    async fn get_pod(&self, _: Request<pb::GetPodRequest>) -> Result<Response<pb::GetPodResponse>, Status> {
        unimplemented()
    }
    async fn list_pods(
        &self,
        _: Request<pb::ListPodsRequest>,
    ) -> Result<Response<pb::ListPodsResponse>, Status> {
        unimplemented()
    }
    type WatchPodsStream = BoxStream<pb::WatchPodsResponse>;
    async fn watch_pods(
        &self,
        _: Request<pb::WatchPodsRequest>,
    ) -> Result<Response<Self::WatchPodsStream>, Status> {
        unimplemented()
    }
    type GetContainerLogsStream = BoxStream<pb::ContainerLogsChunk>;
    async fn get_container_logs(
        &self,
        _: Request<pb::ContainerLogsRequest>,
    ) -> Result<Response<Self::GetContainerLogsStream>, Status> {
        unimplemented()
    }
    type ExecStream = BoxStream<ExecResponse>;
    async fn exec(
        &self,
        request: Request<Streaming<pb::ExecRequest>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        let mut frames = request.into_inner();
        let Some(Ok(pb::ExecRequest { frame: Some(exec_request::Frame::Start(start)) })) =
            frames.next().await
        else {
            return Err(Status::invalid_argument("the first frame must be start"));
        };
        if start.container != "app" {
            return Err(Status::not_found(format!("container {} not found", start.container)));
        }
        let (tx, rx) = mpsc::channel(8);
        let ended = self.ended.clone();
        tokio::spawn(async move {
            let _ = tx.send(frame(exec_response::Frame::Stdout(start.command.join(" ").into_bytes()))).await;
            let mut client_ended = true;
            loop {
                match frames.next().await {
                    Some(Ok(pb::ExecRequest { frame: Some(exec_request::Frame::Stdin(bytes)) })) => {
                        let _ = tx.send(frame(exec_response::Frame::Stdout(bytes))).await;
                    }
                    Some(Ok(pb::ExecRequest { frame: Some(exec_request::Frame::StdinClose(_)) })) => {
                        client_ended = false;
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
            if client_ended {
                let _ = ended.send("exec cancelled").await;
                return;
            }
            let exit = pb::ExecExit { outcome: Some(exec_exit::Outcome::ExitCode(3)) };
            let _ = tx.send(frame(exec_response::Frame::Exit(exit))).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
    type AttachStream = BoxStream<ExecResponse>;
    async fn attach(
        &self,
        _: Request<Streaming<pb::ExecRequest>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        let exit = pb::ExecExit { outcome: Some(exec_exit::Outcome::ExitCode(0)) };
        let frames = vec![frame(exec_response::Frame::Exit(exit))];
        Ok(Response::new(Box::pin(futures::stream::iter(frames))))
    }
    async fn get_node_info(
        &self,
        _: Request<pb::GetNodeInfoRequest>,
    ) -> Result<Response<pb::NodeInfo>, Status> {
        unimplemented()
    }
    async fn get_stats_summary(
        &self,
        _: Request<pb::GetStatsSummaryRequest>,
    ) -> Result<Response<pb::StatsSummary>, Status> {
        unimplemented()
    }
}

struct Served {
    client: ProviderClient<tonic::transport::Channel>,
    ended: mpsc::Receiver<&'static str>,
    _dir: tempfile::TempDir,
}

async fn serve_provider() -> Served {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("provider.sock");
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    let (ended_tx, ended) = mpsc::channel(4);
    let router = tonic::transport::Server::builder()
        .add_service(ProviderServer::new(ScriptedProvider { ended: ended_tx }));
    tokio::spawn(router.serve_with_incoming(UnixListenerStream::new(listener)));
    let channel = vk_proto::Endpoint::Unix(path).channel(None).expect("channel");
    Served { client: ProviderClient::new(channel), ended, _dir: dir }
}

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
