//! Bridges a client (over SPDY or WebSocket) and a provider session, independent of the
//! transport: the transport feeds stdin and resize in and drains stdout and stderr.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vk_proto::v1::{
    ExecRequest, ExecResponse, StdinClose, TerminalSize, exec_exit, exec_request, exec_response,
};

use super::backend::Backend;
use super::status::Outcome;

/// The client's streams, as channels the transport pumps.
pub struct ClientIo {
    /// Stdin bytes; the channel closing is end of file. `None` when not requested.
    pub stdin: Option<mpsc::Receiver<Bytes>>,
    /// Terminal sizes. `None` without a terminal or a resize stream.
    pub resize: Option<mpsc::Receiver<TerminalSize>>,
    /// Stdout bytes for the client.
    pub stdout: Option<mpsc::Sender<Bytes>>,
    /// Stderr bytes for the client.
    pub stderr: Option<mpsc::Sender<Bytes>>,
    /// Cancelled by the transport when the client disconnects.
    pub gone: CancellationToken,
}

/// Runs the session until the provider reports the end or the client goes away. Returning
/// drops the provider call (cancelling it if still running) and the client's channels.
pub async fn run<S>(io: ClientIo, backend: Backend<S>) -> Outcome
where
    S: Stream<Item = Result<ExecResponse, tonic::Status>> + Unpin,
{
    let ClientIo { mut stdin, mut resize, stdout, stderr, gone } = io;
    let Backend { requests, mut responses } = backend;
    let mut requests = Some(requests);
    loop {
        tokio::select! {
            () = gone.cancelled() => return Outcome::ClientGone,
            chunk = recv_opt(&mut stdin) => {
                let frame = match chunk {
                    Some(bytes) => exec_request::Frame::Stdin(bytes.to_vec()),
                    None => {
                        stdin = None;
                        exec_request::Frame::StdinClose(StdinClose {})
                    }
                };
                forward(&mut requests, frame).await;
            }
            size = recv_opt(&mut resize) => match size {
                Some(size) => forward(&mut requests, exec_request::Frame::Resize(size)).await,
                None => resize = None,
            },
            response = responses.next() => {
                let frame = match response {
                    Some(Ok(ExecResponse { frame: Some(frame) })) => frame,
                    Some(Ok(ExecResponse { frame: None })) => continue,
                    Some(Err(status)) => {
                        return Outcome::Failed(format!("{:?}: {}", status.code(), status.message()));
                    }
                    None => return Outcome::Failed("the provider ended the session without an exit status".into()),
                };
                match frame {
                    exec_response::Frame::Started(_) => {}
                    exec_response::Frame::Stdout(bytes) => {
                        if !deliver(stdout.as_ref(), bytes).await {
                            return Outcome::ClientGone;
                        }
                    }
                    exec_response::Frame::Stderr(bytes) => {
                        if !deliver(stderr.as_ref(), bytes).await {
                            return Outcome::ClientGone;
                        }
                    }
                    exec_response::Frame::Exit(exit) => return outcome(exit.outcome),
                }
            }
        }
    }
}

fn outcome(exit: Option<exec_exit::Outcome>) -> Outcome {
    match exit {
        Some(exec_exit::Outcome::ExitCode(code)) => Outcome::Exited(code),
        Some(exec_exit::Outcome::ExitCodeUnknown(unknown)) => Outcome::ExitUnknown(unknown.reason),
        Some(exec_exit::Outcome::Error(error)) => Outcome::Failed(error.message),
        None => Outcome::Failed("the provider sent an exit frame without an outcome".into()),
    }
}

/// Receives from an optional channel; a missing one never yields.
async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends a frame to the provider; once the provider stops reading, frames are dropped
/// (its answer stream reports why).
async fn forward(requests: &mut Option<mpsc::Sender<ExecRequest>>, frame: exec_request::Frame) {
    if let Some(tx) = requests
        && tx.send(ExecRequest { frame: Some(frame) }).await.is_err()
    {
        *requests = None;
    }
}

/// Passes output to the client; false when the client is gone. Output for a stream the
/// client did not ask for is dropped.
async fn deliver(to: Option<&mpsc::Sender<Bytes>>, bytes: Vec<u8>) -> bool {
    match to {
        Some(tx) if !bytes.is_empty() => tx.send(Bytes::from(bytes)).await.is_ok(),
        _ => true,
    }
}
