//! The running part of an exec or attach session: a task that moves bytes between the container's
//! terminal and the client and carries out what the [`State`] machine decides. Dropping the
//! response stream (the client went away) closes the terminal.

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, Stream, StreamExt as _};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use vk_proto::v1::{self, exec_exit, exec_request, exec_response};

use super::state::{Action, Event, State};
use crate::streams::terminal::{Terminal, TerminalInput};

/// The response frames of a session.
pub type SessionStream = ReceiverStream<v1::ExecResponse>;

/// The client frames of a gRPC request stream (after the start frame was taken from it), ending at
/// the first transport error.
pub fn client_frames<S>(frames: S) -> impl Stream<Item = v1::ExecRequest> + Send + Unpin + 'static
where
    S: Stream<Item = Result<v1::ExecRequest, tonic::Status>> + Send + Unpin + 'static,
{
    frames.take_while(|r| std::future::ready(r.is_ok())).filter_map(|r| std::future::ready(r.ok()))
}

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
    /// End the session soon after client stdin ends, because that end cannot reach the process
    /// (ACI's attach cannot close a container's stdin): output keeps flowing until it has been
    /// quiet for [`DETACH_QUIET`] (at most [`DETACH_LIMIT`]), then the session ends with
    /// `exit_code_unknown`.
    pub detach_at_stdin_end: bool,
}

/// Quiet output time after the end of client stdin before a detaching session ends.
pub(crate) const DETACH_QUIET: Duration = Duration::from_millis(500);
/// Longest a detaching session goes on after the end of client stdin.
pub(crate) const DETACH_LIMIT: Duration = Duration::from_secs(5);
const DETACHED: &str = "ACI cannot close a container's stdin: the session detached at the end of stdin";

/// True when `frame` ends the client's stdin: an explicit close, or the request stream ending.
fn ends_stdin(frame: &Option<v1::ExecRequest>) -> bool {
    match frame {
        None => true,
        Some(request) => matches!(request.frame, Some(exec_request::Frame::StdinClose(_))),
    }
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

fn failed_frame(message: String) -> v1::ExecResponse {
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

/// The terminal's input, written by its own task so output keeps flowing while input waits.
struct Writer {
    bytes: mpsc::Sender<Bytes>,
    failed: oneshot::Receiver<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    fn start(mut input: TerminalInput) -> Self {
        let (bytes, mut queue) = mpsc::channel::<Bytes>(16);
        let (report, failed) = oneshot::channel();
        let task = tokio::spawn(async move {
            while let Some(b) = queue.recv().await {
                if let Err(e) = input.send(b).await {
                    let _ = report.send(e.to_string());
                    return;
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), input.close()).await;
        });
        Writer { bytes, failed, task }
    }

    /// Closes the terminal once everything queued was written.
    async fn finish(self) {
        drop(self.bytes);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

/// Carries out one action; false when the session is over.
async fn apply(action: Action, writer: &Writer, tx: &mpsc::Sender<v1::ExecResponse>, relay: Relay) -> bool {
    let frame = match action {
        Action::Send(bytes) => {
            // A writer that failed says so through `failed`; the loop ends the session then.
            let _ = writer.bytes.send(bytes).await;
            return true;
        }
        Action::Started => return true,
        Action::Stdout(bytes) if relay.output => {
            v1::ExecResponse { frame: Some(exec_response::Frame::Stdout(bytes.to_vec())) }
        }
        Action::Stdout(_) => return true,
        Action::Exit(code) => exit(exec_exit::Outcome::ExitCode(code)),
        Action::ExitUnreadable(text) => failed_frame(format!("exec on ACI: unreadable exit status {text:?}")),
        Action::NoStart(said) => {
            failed_frame(format!("exec on ACI: the shell ended early: {}", String::from_utf8_lossy(&said)))
        }
        Action::Lost => {
            failed_frame("exec on ACI: the container's terminal closed before the command ended".into())
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
    terminal: Terminal,
    mut state: State,
    mut actions: Vec<Action>,
    mut requests: R,
    tx: mpsc::Sender<v1::ExecResponse>,
    relay: Relay,
) where
    R: Stream<Item = v1::ExecRequest> + Send + Unpin + 'static,
{
    let Terminal { mut output, input } = terminal;
    let mut writer = Writer::start(input);
    let mut writer_alive = true;
    let mut requests_open = true;
    // Set once a detaching session saw the end of client stdin: (quiet deadline, hard limit).
    let mut detach: Option<(tokio::time::Instant, tokio::time::Instant)> = None;
    loop {
        for action in std::mem::take(&mut actions) {
            if !apply(action, &writer, &tx, relay).await {
                writer.finish().await;
                return;
            }
        }
        if state.is_done() {
            writer.finish().await;
            return;
        }
        // One client frame makes at most one write, so read one only while the queue has room.
        let can_read = requests_open && !state.is_starting() && writer.bytes.capacity() > 0;
        let detach_deadline = detach.map(|(quiet, limit)| quiet.min(limit));
        let event = tokio::select! {
            _ = sleep_until_some(detach_deadline) => {
                let _ = tx.send(unknown(DETACHED)).await;
                writer.finish().await;
                return;
            }
            _ = tx.closed() => {
                tracing::debug!("exec client went away: closing the container terminal");
                writer.finish().await;
                return;
            }
            failed = &mut writer.failed, if writer_alive => {
                writer_alive = false;
                if let Ok(e) = failed {
                    let _ = tx.send(failed_frame(format!("exec on ACI: {e}"))).await;
                    writer.finish().await;
                    return;
                }
                None
            }
            out = output.next() => match out {
                Some(Ok(bytes)) => {
                    if let Some((quiet, _)) = detach.as_mut() {
                        *quiet = tokio::time::Instant::now() + DETACH_QUIET;
                    }
                    Some(Event::Output(bytes))
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "container terminal failed");
                    Some(Event::Closed)
                }
                None => Some(Event::Closed),
            },
            frame = requests.next(), if can_read => {
                if relay.detach_at_stdin_end && relay.stdin && detach.is_none() && ends_stdin(&frame) {
                    let now = tokio::time::Instant::now();
                    detach = Some((now + DETACH_QUIET, now + DETACH_LIMIT));
                }
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

/// Completes at `deadline`, never without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_end_at_the_first_transport_error() {
        let stdin = |b: &[u8]| v1::ExecRequest { frame: Some(exec_request::Frame::Stdin(b.to_vec())) };
        let frames = futures::stream::iter(vec![
            Ok(stdin(b"a")),
            Err(tonic::Status::cancelled("gone")),
            Ok(stdin(b"b")),
        ]);
        let got: Vec<v1::ExecRequest> = futures::executor::block_on(client_frames(frames).collect());
        assert_eq!(got, vec![stdin(b"a")]);
    }
}
