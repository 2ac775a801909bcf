//! The provider API read directly over the backend's Unix socket, as node-agent does, for the
//! streams case's side-by-side figures.

use std::path::Path;
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use tokio_stream::StreamExt as _;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;
use vk_proto::scope::ScopeInterceptor;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self, exec_request, exec_response};
use vk_proto::{Endpoint, Scope};

use crate::error::BenchError;
use crate::stats::Summary;

type Client = ProviderClient<InterceptedService<Channel, ScopeInterceptor>>;

pub struct Direct {
    client: Client,
    pod_uid: String,
}

fn provider(what: &str) -> impl FnOnce(tonic::Status) -> BenchError + '_ {
    move |source| BenchError::Provider { what: what.to_string(), source }
}

impl Direct {
    pub fn connect(socket: &Path, cluster_id: &str, node: &str, pod_uid: &str) -> Result<Self, BenchError> {
        let endpoint = Endpoint::from_str(&format!("unix://{}", socket.display()))
            .map_err(|e| BenchError::Connect(e.to_string()))?;
        let channel = endpoint.channel(None).map_err(|e| BenchError::Connect(e.to_string()))?;
        let interceptor = ScopeInterceptor::new(&Scope::new(cluster_id, node))
            .map_err(|e| BenchError::Connect(e.to_string()))?;
        Ok(Self {
            client: ProviderClient::with_interceptor(channel, interceptor),
            pod_uid: pod_uid.to_string(),
        })
    }

    fn logs_request(&self, follow: bool) -> v1::ContainerLogsRequest {
        v1::ContainerLogsRequest {
            pod_uid: self.pod_uid.clone(),
            container: "main".into(),
            follow,
            ..Default::default()
        }
    }

    /// Bytes of the container's log now.
    pub async fn log_size(&self) -> Result<u64, BenchError> {
        let mut stream = self
            .client
            .clone()
            .get_container_logs(self.logs_request(false))
            .await
            .map_err(provider("GetContainerLogs"))?
            .into_inner();
        let mut size = 0;
        while let Some(chunk) = stream.next().await {
            size += chunk.map_err(provider("reading logs"))?.data.len() as u64;
        }
        Ok(size)
    }

    /// Follows the log from the start until `expected` bytes arrived; the time from the request.
    pub async fn follow_logs(&self, expected: u64) -> Result<Duration, BenchError> {
        let started = Instant::now();
        let mut stream = self
            .client
            .clone()
            .get_container_logs(self.logs_request(true))
            .await
            .map_err(provider("GetContainerLogs"))?
            .into_inner();
        let mut seen = 0;
        while seen < expected {
            let Some(chunk) = stream.next().await else {
                return Err(BenchError::Timeout {
                    what: format!("{expected} log bytes over gRPC"),
                    seconds: 0,
                });
            };
            seen += chunk.map_err(provider("reading logs"))?.data.len() as u64;
        }
        Ok(started.elapsed())
    }

    /// Median round trip (ms) of `count` lines through one `cat` exec session (the first is
    /// not counted).
    pub async fn exec_round_trips(&self, count: usize) -> Result<f64, BenchError> {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let frame = |frame| v1::ExecRequest { frame: Some(frame) };
        let start = v1::ExecStart {
            pod_uid: self.pod_uid.clone(),
            container: "main".into(),
            command: vec!["cat".into()],
            stdin: true,
            stdout: true,
            ..Default::default()
        };
        let send = |what| move |_| BenchError::Connect(format!("exec stream closed while sending {what}"));
        tx.send(frame(exec_request::Frame::Start(start))).await.map_err(send("the start"))?;
        let mut responses = self
            .client
            .clone()
            .exec(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .map_err(provider("Exec"))?
            .into_inner();
        let mut pending = Vec::new();
        let mut trips = Vec::new();
        for i in 0..=count {
            let token = format!("rt-{i}-end");
            let started = Instant::now();
            tx.send(frame(exec_request::Frame::Stdin(format!("{token}\n").into_bytes())))
                .await
                .map_err(send("stdin"))?;
            loop {
                if let Some(at) = pending.windows(token.len()).position(|w| w == token.as_bytes()) {
                    pending.drain(..at + token.len());
                    break;
                }
                let next = tokio::time::timeout(Duration::from_secs(60), responses.next()).await;
                let Ok(Some(response)) = next else {
                    return Err(BenchError::Timeout {
                        what: format!("the echo of {token} over gRPC"),
                        seconds: 60,
                    });
                };
                if let Some(exec_response::Frame::Stdout(bytes) | exec_response::Frame::Stderr(bytes)) =
                    response.map_err(provider("reading exec output"))?.frame
                {
                    pending.extend_from_slice(&bytes);
                }
            }
            if i > 0 {
                trips.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let _ = tx.send(frame(exec_request::Frame::StdinClose(v1::StdinClose {}))).await;
        Ok(Summary::of(&trips).median)
    }
}
