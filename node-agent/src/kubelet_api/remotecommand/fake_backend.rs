//! A scripted provider session for tests: the script sees the client's frames and answers.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use vk_proto::v1::{
    ExecExit, ExecRequest, ExecResponse, ExecStarted, exec_exit, exec_request, exec_response,
};

use super::backend::Backend;

pub(crate) type Responses = ReceiverStream<Result<ExecResponse, tonic::Status>>;

/// What the script can do.
pub(crate) struct Script {
    pub requests: mpsc::Receiver<ExecRequest>,
    pub responses: mpsc::Sender<Result<ExecResponse, tonic::Status>>,
}

impl Script {
    pub async fn say(&self, frame: exec_response::Frame) {
        let _ = self.responses.send(Ok(ExecResponse { frame: Some(frame) })).await;
    }

    pub async fn started(&self) {
        self.say(exec_response::Frame::Started(ExecStarted {
            stderr_merged: false,
            exit_code_reported: true,
        }))
        .await;
    }

    pub async fn stdout(&self, text: &str) {
        self.say(exec_response::Frame::Stdout(text.as_bytes().to_vec())).await;
    }

    pub async fn stderr(&self, text: &str) {
        self.say(exec_response::Frame::Stderr(text.as_bytes().to_vec())).await;
    }

    pub async fn exit(&self, code: i32) {
        self.say(exec_response::Frame::Exit(ExecExit { outcome: Some(exec_exit::Outcome::ExitCode(code)) }))
            .await;
    }

    /// The next client frame; `None` once the client side of the call ended.
    pub async fn next(&mut self) -> Option<exec_request::Frame> {
        self.requests.recv().await.and_then(|r| r.frame)
    }

    /// Stdin until StdinClose (true) or the end of the call (false).
    pub async fn read_stdin(&mut self) -> (Vec<u8>, bool) {
        let mut data = Vec::new();
        while let Some(frame) = self.next().await {
            match frame {
                exec_request::Frame::Stdin(bytes) => data.extend_from_slice(&bytes),
                exec_request::Frame::StdinClose(_) => return (data, true),
                _ => {}
            }
        }
        (data, false)
    }
}

/// A backend driven by `script`; the handle yields what the script returns.
pub(crate) fn fake_backend<T, F, Fut>(script: F) -> (Backend<Responses>, JoinHandle<T>)
where
    T: Send + 'static,
    F: FnOnce(Script) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let (requests, requests_rx) = mpsc::channel(16);
    let (responses_tx, responses_rx) = mpsc::channel(16);
    let task = tokio::spawn(script(Script { requests: requests_rx, responses: responses_tx }));
    (Backend { requests, responses: ReceiverStream::new(responses_rx) }, task)
}
