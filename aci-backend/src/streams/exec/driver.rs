//! The running part of an exec or attach session: a task that moves bytes between the container's
//! terminal and the client and carries out what the [`State`] machine decides. Dropping the
//! response stream (the client went away) closes the terminal.

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, Stream, StreamExt as _};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use vk_proto::v1::{self, exec_exit, exec_request, exec_response};

use super::state::{Action, Event, State};
use crate::streams::terminal::Terminal;

/// The response frames of a session.
pub type SessionStream = ReceiverStream<v1::ExecResponse>;

/// Frames the session sends to the client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Relay {
    /// Output is wanted (stdout or stderr asked for).
    pub output: bool,
    /// Client stdin is connected.
    pub stdin: bool,
    /// The end of client stdin can be signalled (a terminal's end-of-file character).
    pub eof: bool,
    /// Why the status is unknown when a session without markers ends.
    pub unknown_reason: &'static str,
}

pub(crate) fn started(exit_code_reported: bool) -> v1::ExecResponse {
    let started = v1::ExecStarted { stderr_merged: true, exit_code_reported };
    v1::ExecResponse { frame: Some(exec_response::Frame::Started(started)) }
}

fn exit(outcome: exec_exit::Outcome) -> v1::ExecResponse {
    v1::ExecResponse { frame: Some(exec_response::Frame::Exit(v1::ExecExit { outcome: Some(outcome) })) }
}

fn unknown(reason: &str) -> v1::ExecResponse {
    exit(exec_exit::Outcome::ExitCodeUnknown(v1::ExitCodeUnknown { reason: reason.into() }))
}

fn failed(message: String) -> v1::ExecResponse {
    exit(exec_exit::Outcome::Error(v1::ExecError { code: tonic::Code::Unavailable as i32, message }))
}

/// Runs the session in a task; the first frame is `first`.
pub(crate) fn spawn<R>(
    terminal: Terminal,
    state: State,
    first: v1::ExecResponse,
    actions: Vec<Action>,
    requests: R,
    relay: Relay,
) -> SessionStream
where
    R: Stream<Item = v1::ExecRequest> + Send + Unpin + 'static,
{
    let (tx, rx) = mpsc::channel(32);
    tokio::spawn(async move {
        if tx.send(first).await.is_ok() {
            drive(terminal, state, actions, requests, tx, relay).await;
        } else {
            close(terminal).await;
        }
    });
    ReceiverStream::new(rx)
}

/// Closes the terminal (the websocket's close frame), bounded in time.
pub(crate) async fn close(mut terminal: Terminal) {
    let _ = tokio::time::timeout(Duration::from_secs(5), terminal.input.close()).await;
}

/// Carries out one action; false when the session is over.
async fn apply(
    action: Action,
    terminal: &mut Terminal,
    tx: &mpsc::Sender<v1::ExecResponse>,
    relay: Relay,
) -> bool {
    let frame = match action {
        Action::Send(bytes) => {
            return match terminal.input.send(bytes).await {
                Ok(()) => true,
                Err(e) => {
                    let _ = tx.send(failed(format!("exec on ACI: {e}"))).await;
                    false
                }
            };
        }
        Action::Started => return true,
        Action::Stdout(bytes) if relay.output => {
            v1::ExecResponse { frame: Some(exec_response::Frame::Stdout(bytes.to_vec())) }
        }
        Action::Stdout(_) => return true,
        Action::Exit(code) => exit(exec_exit::Outcome::ExitCode(code)),
        Action::ExitUnreadable(text) => failed(format!("exec on ACI: unreadable exit status {text:?}")),
        Action::NoStart(said) => {
            failed(format!("exec on ACI: the shell ended early: {}", String::from_utf8_lossy(&said)))
        }
        Action::Lost => {
            failed("exec on ACI: the container's terminal closed before the command ended".into())
        }
        Action::Ended => unknown(relay.unknown_reason),
    };
    let last = matches!(frame.frame, Some(exec_response::Frame::Exit(_)));
    tx.send(frame).await.is_ok() && !last
}

/// What a client frame means for the session (None: nothing).
fn client_event(frame: Option<v1::ExecRequest>, relay: Relay, open: &mut bool) -> Option<Event> {
    match frame.and_then(|f| f.frame) {
        Some(exec_request::Frame::Stdin(bytes)) if relay.stdin => Some(Event::Stdin(Bytes::from(bytes))),
        Some(exec_request::Frame::StdinClose(_)) if relay.stdin && relay.eof => Some(Event::StdinClose),
        Some(exec_request::Frame::Resize(size)) => {
            tracing::debug!(?size, "ACI cannot resize a terminal after it opened: resize dropped");
            None
        }
        Some(_) => None,
        None => {
            *open = false;
            (relay.stdin && relay.eof).then_some(Event::StdinClose)
        }
    }
}

async fn drive<R>(
    mut terminal: Terminal,
    mut state: State,
    mut actions: Vec<Action>,
    mut requests: R,
    tx: mpsc::Sender<v1::ExecResponse>,
    relay: Relay,
) where
    R: Stream<Item = v1::ExecRequest> + Send + Unpin + 'static,
{
    let mut requests_open = true;
    loop {
        for action in std::mem::take(&mut actions) {
            if !apply(action, &mut terminal, &tx, relay).await {
                close(terminal).await;
                return;
            }
        }
        if state.is_done() {
            close(terminal).await;
            return;
        }
        let event = tokio::select! {
            _ = tx.closed() => {
                tracing::debug!("exec client went away: closing the container terminal");
                close(terminal).await;
                return;
            }
            out = terminal.output.next() => match out {
                Some(Ok(bytes)) => Some(Event::Output(bytes)),
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "container terminal failed");
                    Some(Event::Closed)
                }
                None => Some(Event::Closed),
            },
            frame = requests.next(), if requests_open && !state.is_starting() => {
                client_event(frame, relay, &mut requests_open)
            }
        };
        if let Some(event) = event {
            let (next, more) = state.step(event);
            state = next;
            actions = more;
        }
    }
}
