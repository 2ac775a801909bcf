//! Attach on ACI: the container's output and stdin through ACI's attach websocket (same framing
//! as exec: password first, then binary frames; stderr merged into stdout). ACI cannot close the
//! container's stdin nor resize anything, and reports no exit status: the session ends with
//! `exit_code_unknown` when ACI closes the websocket, or shortly after the client's stdin ends
//! (the session detaches, since that end cannot reach the process).

use futures::Stream;
use vk_proto::v1;

use super::exec::state::State;
use super::exec::stdin::StdinEncoder;
use super::exec::{ExecError, Relay, SessionStream, spawn, started};
use super::terminal::TerminalOpener;

/// Attaches to the main process of the container `opener` reaches. Errors come before any frame.
pub async fn attach<R>(
    opener: &dyn TerminalOpener,
    start: v1::ExecStart,
    requests: R,
) -> Result<SessionStream, ExecError>
where
    R: Stream<Item = v1::ExecRequest> + Send + Unpin + 'static,
{
    if !start.command.is_empty() {
        return Err(ExecError::InvalidStart("attach takes no command".into()));
    }
    if start.tty && start.stderr {
        return Err(ExecError::InvalidStart(
            "with a terminal stderr is part of stdout: the start frame must not ask for stderr".into(),
        ));
    }
    let terminal = opener.attach().await?;
    let relay = Relay {
        output: start.stdout || start.stderr,
        stdin: start.stdin,
        eof: false,
        unknown_reason: "ACI's attach reports no exit status",
        detach_at_stdin_end: true,
    };
    Ok(spawn(terminal, State::direct(StdinEncoder::new(true)), started(false), Vec::new(), requests, relay))
}
