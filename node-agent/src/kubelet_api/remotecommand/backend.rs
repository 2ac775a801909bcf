//! The provider side of a session: the Exec or Attach bidirectional gRPC stream.

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::{Body, Bytes, StdError};
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{ExecRequest, ExecResponse, ExecStart, exec_request};

/// Frames queued towards the provider before the writer waits.
const REQUEST_QUEUE: usize = 16;

/// An open provider session: frames to send and the provider's answers.
pub struct Backend<S> {
    /// Client frames (stdin, resize, stdin close). Dropping it ends the request stream.
    pub requests: mpsc::Sender<ExecRequest>,
    /// Provider frames. Dropping it cancels the call.
    pub responses: S,
}

/// Exec runs a new process; attach joins the container's main process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// `Exec`.
    Exec,
    /// `Attach`.
    Attach,
}

/// Opens the provider call and sends `start` as its first frame. The start frame is queued
/// before the call so that providers may read it before answering with headers.
pub async fn open<T>(
    mut client: ProviderClient<T>,
    kind: SessionKind,
    start: ExecStart,
) -> Result<Backend<impl Stream<Item = Result<ExecResponse, tonic::Status>> + Unpin>, tonic::Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let (requests, rx) = mpsc::channel(REQUEST_QUEUE);
    let first = ExecRequest { frame: Some(exec_request::Frame::Start(start)) };
    requests.try_send(first).map_err(|_| tonic::Status::internal("queueing the start frame"))?;
    let frames = ReceiverStream::new(rx);
    let response = match kind {
        SessionKind::Exec => client.exec(frames).await?,
        SessionKind::Attach => client.attach(frames).await?,
    };
    Ok(Backend { requests, responses: response.into_inner() })
}
