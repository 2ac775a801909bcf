//! A provider served over a Unix socket in a temp dir, for tests: exec reads the start frame
//! before answering, prints the command and echoes stdin, then exits 3; attach exits 0; logs
//! describe the request; stats report one pod.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tonic::{Request, Response, Status, Streaming};
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::provider_server::{Provider, ProviderServer};
use vk_proto::v1::{self as pb, ExecResponse, exec_exit, exec_request, exec_response};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Exec: reads the start frame before answering, prints the command and stdin, exits 3.
/// Attach: exits 0 at once. It reports on `ended` when the client side of a call ends.
pub(crate) struct ScriptedProvider {
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
        request: Request<pb::ContainerLogsRequest>,
    ) -> Result<Response<Self::GetContainerLogsStream>, Status> {
        let request = request.into_inner();
        if request.container != "app" {
            return Err(Status::not_found(format!("container {} not found", request.container)));
        }
        let lines = [
            format!("pod {} container {}\n", request.pod_uid, request.container),
            format!(
                "tail {:?} follow {} timestamps {}\n",
                request.tail_lines, request.follow, request.timestamps
            ),
        ];
        let chunks =
            futures::stream::iter(lines.map(|line| Ok(pb::ContainerLogsChunk { data: line.into_bytes() })));
        if request.follow {
            // Following: the stream stays open until the caller goes away, which is reported.
            let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
            let ended = self.ended.clone();
            tokio::spawn(async move {
                let _ = closed_rx.await;
                let _ = ended.send("logs follow cancelled").await;
            });
            let stream = chunks.chain(futures::stream::pending()).map(move |item| {
                let _alive = &closed_tx;
                item
            });
            return Ok(Response::new(Box::pin(stream)));
        }
        Ok(Response::new(Box::pin(chunks)))
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
        let memory = pb::MemoryStats {
            time: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
            working_set_bytes: Some(4096),
            usage_bytes: None,
            rss_bytes: None,
        };
        let pod = pb::PodStats {
            uid: "u1".into(),
            namespace: "default".into(),
            name: "p".into(),
            memory: Some(memory),
            ..Default::default()
        };
        Ok(Response::new(pb::StatsSummary { node: None, pods: vec![pod] }))
    }
}

pub(crate) struct Served {
    pub client: ProviderClient<tonic::transport::Channel>,
    pub ended: mpsc::Receiver<&'static str>,
    _dir: tempfile::TempDir,
}

pub(crate) async fn serve_provider() -> Served {
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
