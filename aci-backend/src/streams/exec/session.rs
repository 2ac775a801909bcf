//! Exec on ACI. ACI runs one executable without arguments under a terminal, merges stderr into
//! stdout and reports no exit status. So on Linux the container's own `/bin/sh` is started without
//! arguments and told (one typed line, see [`super::script`]) to run the command with its arguments
//! intact between a start and an exit marker; output is relayed between the two and the exit
//! marker gives the real status. Without a shell, a lone executable is run directly (status
//! unknown); anything else is refused with the reason.
//!
//! ACI has no way to resize a terminal after it opened: the start frame's size is used, later
//! resize frames are dropped.

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, Stream, StreamExt as _};
use vk_proto::v1;

use super::driver::{Relay, SessionStream, close, spawn, started};
use super::error::ExecError;
use super::script::{Markers, Wiring, posix_script, random_nonce};
use super::state::{Action, Event, State};
use super::stdin::StdinEncoder;
use super::windows::cmd_script;
use crate::streams::terminal::{TermSize, Terminal, TerminalOpener};

/// How long `/bin/sh` may take to start the command.
pub const SHELL_START: Duration = Duration::from_secs(30);
/// The shell ACI runs for a Linux exec.
pub const POSIX_SHELL: &str = "/bin/sh";
/// The shell ACI runs for a Windows exec with arguments.
pub const WINDOWS_SHELL: &str = "cmd.exe";

/// The container's operating system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetOs {
    /// Linux: driven through `/bin/sh`.
    Linux,
    /// Windows: a lone executable directly, anything else through `cmd.exe`.
    Windows,
}

fn validate(start: &v1::ExecStart) -> Result<(), ExecError> {
    if start.command.is_empty() {
        return Err(ExecError::InvalidStart("exec needs a command".into()));
    }
    if start.tty && start.stderr {
        return Err(ExecError::InvalidStart(
            "with a terminal stderr is part of stdout: the start frame must not ask for stderr".into(),
        ));
    }
    Ok(())
}

/// The initial terminal size of `start` (24x80 when absent or zero).
pub fn term_size(start: &v1::ExecStart) -> TermSize {
    match start.terminal_size {
        Some(s) if s.width > 0 && s.height > 0 => TermSize { rows: s.height, cols: s.width },
        _ => TermSize::default(),
    }
}

fn lone_executable(command: &[String]) -> Option<&str> {
    match command {
        [one] if !one.is_empty() && !one.chars().any(char::is_whitespace) => Some(one),
        _ => None,
    }
}

/// Starts `start.command` in the container `opener` reaches. Errors come before any frame; then
/// the stream sends one `started`, output, and one final `exit`. Dropping the stream closes the
/// container's terminal.
pub async fn exec<R>(
    opener: &dyn TerminalOpener,
    os: TargetOs,
    start: v1::ExecStart,
    requests: R,
) -> Result<SessionStream, ExecError>
where
    R: Stream<Item = v1::ExecRequest> + Send + Unpin + 'static,
{
    validate(&start)?;
    let size = term_size(&start);
    let relay = Relay {
        output: start.stdout || start.stderr,
        stdin: start.stdin,
        eof: true,
        unknown_reason: "ACI reports no exit status for a command run without a shell",
        detach_at_stdin_end: false,
    };
    let lone = lone_executable(&start.command);
    if os == TargetOs::Windows {
        return windows(opener, &start, size, requests, relay).await;
    }
    let markers = Markers::new(random_nonce());
    let script = posix_script(&start.command, Wiring { tty: start.tty, stdin: start.stdin }, &markers)?;
    let mut terminal = opener.exec(POSIX_SHELL, size).await?;
    match start_shell(&mut terminal, &markers, &script, StdinEncoder::new(start.tty)).await {
        Ok((state, actions)) => Ok(spawn(terminal, state, started(true), actions, requests, relay)),
        Err(ShellFailed::Timeout) => {
            close(terminal).await;
            Err(ExecError::ShellTimeout(SHELL_START))
        }
        Err(ShellFailed::NoStart(said)) => {
            close(terminal).await;
            let Some(lone) = lone else {
                return Err(ExecError::NoShell { said, args: start.command.len() });
            };
            tracing::debug!(command = lone, "no /bin/sh in the container: running the lone executable");
            let terminal = opener.exec(lone, size).await?;
            Ok(spawn(
                terminal,
                State::direct(StdinEncoder::new(start.tty)),
                started(false),
                Vec::new(),
                requests,
                relay,
            ))
        }
    }
}

/// Windows: a lone executable runs directly; a command with arguments through `cmd.exe`.
async fn windows<R>(
    opener: &dyn TerminalOpener,
    start: &v1::ExecStart,
    size: TermSize,
    requests: R,
    relay: Relay,
) -> Result<SessionStream, ExecError>
where
    R: Stream<Item = v1::ExecRequest> + Send + Unpin + 'static,
{
    if let Some(lone) = lone_executable(&start.command) {
        let terminal = opener.exec(lone, size).await?;
        let state = State::direct(StdinEncoder::new(start.tty));
        return Ok(spawn(terminal, state, started(false), Vec::new(), requests, relay));
    }
    let markers = Markers::plain(random_nonce());
    let script = cmd_script(&start.command, &markers)?;
    let mut terminal = opener.exec(WINDOWS_SHELL, size).await?;
    let stdin = if start.tty { StdinEncoder::new(true) } else { StdinEncoder::console() };
    match start_shell(&mut terminal, &markers, &script, stdin).await {
        Ok((state, actions)) => Ok(spawn(terminal, state, started(true), actions, requests, relay)),
        Err(ShellFailed::Timeout) => {
            close(terminal).await;
            Err(ExecError::ShellTimeout(SHELL_START))
        }
        Err(ShellFailed::NoStart(said)) => {
            close(terminal).await;
            Err(ExecError::NoShell { said, args: start.command.len() })
        }
    }
}

enum ShellFailed {
    Timeout,
    NoStart(String),
}

/// Types the script and waits for the start marker.
async fn start_shell(
    terminal: &mut Terminal,
    markers: &Markers,
    script: &str,
    stdin: StdinEncoder,
) -> Result<(State, Vec<Action>), ShellFailed> {
    // A terminal that is already gone still holds what it said (ACI's reason), so read on.
    let typed = terminal.input.send(Bytes::copy_from_slice(script.as_bytes())).await;
    let deadline = tokio::time::Instant::now() + SHELL_START;
    let mut state = State::starting(markers, stdin);
    loop {
        let next = tokio::time::timeout_at(deadline, terminal.output.next()).await;
        let event = match next {
            Err(_) => return Err(ShellFailed::Timeout),
            Ok(Some(Ok(bytes))) => Event::Output(bytes),
            Ok(_) => Event::Closed,
        };
        let (next, actions) = state.step(event);
        state = next;
        if let Some(Action::NoStart(said)) = actions.first() {
            // The end of what the terminal said is ACI's reason; keep it short.
            let said = String::from_utf8_lossy(said);
            let said = said.trim();
            let from = said.char_indices().rev().nth(299).map_or(0, |(i, _)| i);
            let said = said[from..].to_owned();
            return Err(ShellFailed::NoStart(match typed {
                Err(e) if said.is_empty() => e.to_string(),
                _ => said,
            }));
        }
        if actions.first() == Some(&Action::Started) {
            return Ok((state, actions.into_iter().skip(1).collect()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vk_proto::v1::{exec_exit, exec_response};

    use super::*;
    use crate::streams::terminal::memory::{Far, Scripted, read_nonce};

    fn start(command: &[&str]) -> v1::ExecStart {
        v1::ExecStart {
            command: command.iter().map(|s| s.to_string()).collect(),
            stdout: true,
            stderr: true,
            ..Default::default()
        }
    }

    fn no_requests() -> futures::stream::Pending<v1::ExecRequest> {
        futures::stream::pending()
    }

    /// A container without /bin/sh whose `date` prints a line.
    fn shell_less() -> Scripted {
        Scripted::new(Arc::new(|command: &str, far: Far| {
            let text = if command == POSIX_SHELL {
                "exec failed: \"/bin/sh\": executable file not found in $PATH\r\n".to_string()
            } else {
                "Fri Nov 27\r\n".to_string()
            };
            let _ = far.output.unbounded_send(Ok(Bytes::from(text)));
        }))
    }

    async fn frames(stream: SessionStream) -> Vec<exec_response::Frame> {
        stream.filter_map(|f| std::future::ready(f.frame)).collect().await
    }

    #[tokio::test]
    async fn without_a_shell_a_lone_executable_runs_directly_with_an_unknown_status() {
        let container = shell_less();
        let stream = exec(&container, TargetOs::Linux, start(&["date"]), no_requests()).await.expect("runs");
        let frames = frames(stream).await;
        assert_eq!(container.opened.lock().expect("lock").clone(), vec!["/bin/sh", "date"]);
        assert_eq!(
            frames[0],
            exec_response::Frame::Started(v1::ExecStarted { stderr_merged: true, exit_code_reported: false })
        );
        assert_eq!(frames[1], exec_response::Frame::Stdout(b"Fri Nov 27\r\n".to_vec()));
        assert!(matches!(
            &frames[2],
            exec_response::Frame::Exit(v1::ExecExit {
                outcome: Some(exec_exit::Outcome::ExitCodeUnknown(_))
            })
        ));
    }

    #[tokio::test]
    async fn without_a_shell_a_command_with_arguments_is_refused_with_what_aci_said() {
        let container = shell_less();
        let err = exec(&container, TargetOs::Linux, start(&["ls", "-l"]), no_requests())
            .await
            .expect_err("refused");
        assert_eq!(err.code(), tonic::Code::FailedPrecondition);
        assert!(err.to_string().contains("executable file not found"), "{err}");
        assert_eq!(container.opened.lock().expect("lock").len(), 1, "nothing else is tried");
    }

    #[tokio::test]
    async fn a_client_that_goes_away_closes_the_container_terminal() {
        let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<bool>();
        let closed_tx = Arc::new(std::sync::Mutex::new(Some(closed_tx)));
        let container = Scripted::new(Arc::new(move |_: &str, mut far: Far| {
            let closed_tx = closed_tx.clone();
            tokio::spawn(async move {
                let nonce = read_nonce(&mut far).await.expect("a driver script is typed");
                let started = format!("noise\x1evkS{nonce}\nworking\n");
                let _ = far.output.unbounded_send(Ok(Bytes::from(started)));
                let ended = far.input.next().await.is_none();
                if let Some(tx) = closed_tx.lock().expect("lock").take() {
                    let _ = tx.send(ended);
                }
            });
        }));
        let mut stream =
            exec(&container, TargetOs::Linux, start(&["sleep", "600"]), no_requests()).await.expect("starts");
        assert!(matches!(stream.next().await.and_then(|f| f.frame), Some(exec_response::Frame::Started(_))));
        let out = stream.next().await.and_then(|f| f.frame);
        assert_eq!(
            out,
            Some(exec_response::Frame::Stdout(b"working\n".to_vec())),
            "noise before the marker is dropped"
        );
        drop(stream);
        let closed = tokio::time::timeout(Duration::from_secs(5), closed_rx).await.expect("in time");
        assert_eq!(closed, Ok(true), "the terminal is closed when the client goes away");
    }

    #[tokio::test]
    async fn a_windows_command_with_arguments_runs_through_cmd_and_reports_its_status() {
        let container = Scripted::new(Arc::new(|_: &str, mut far: Far| {
            tokio::spawn(async move {
                let mut typed = String::new();
                while !typed.ends_with("&exit\r") {
                    let Some(bytes) = far.input.next().await else { return };
                    typed.push_str(&String::from_utf8_lossy(&bytes));
                }
                let nonce: String = typed
                    .split_once("vk!__vk!S")
                    .map(|(_, rest)| rest.chars().take_while(char::is_ascii_alphanumeric).collect())
                    .unwrap_or_default();
                let console = format!("C:\\>{typed}\nvkS{nonce}\r\nfile list\r\nvkE{nonce}:2\r\nC:\\>");
                let _ = far.output.unbounded_send(Ok(Bytes::from(console)));
            });
        }));
        let stream = exec(&container, TargetOs::Windows, start(&["cmd", "/c", "dir", "x y"]), no_requests())
            .await
            .expect("runs");
        let frames = frames(stream).await;
        assert_eq!(container.opened.lock().expect("lock").clone(), vec![WINDOWS_SHELL]);
        let started = v1::ExecStarted { stderr_merged: true, exit_code_reported: true };
        assert_eq!(frames[0], exec_response::Frame::Started(started));
        assert_eq!(frames[1], exec_response::Frame::Stdout(b"file list\r\n".to_vec()));
        let exit = v1::ExecExit { outcome: Some(exec_exit::Outcome::ExitCode(2)) };
        assert_eq!(frames[2], exec_response::Frame::Exit(exit));
    }

    #[tokio::test]
    async fn a_terminal_that_stops_taking_input_ends_the_session_with_an_error() {
        let container = Scripted::new(Arc::new(|_: &str, mut far: Far| {
            tokio::spawn(async move {
                let nonce = read_nonce(&mut far).await.expect("a driver script is typed");
                let Far { output, input } = far;
                drop(input);
                let _ = output.unbounded_send(Ok(Bytes::from(format!("\x1evkS{nonce}\n"))));
                // Output stays open: only the failed write can end the session.
                tokio::time::sleep(Duration::from_secs(60)).await;
                drop(output);
            });
        }));
        let mut begin = start(&["cat"]);
        begin.stdin = true;
        let stdin = v1::ExecRequest { frame: Some(v1::exec_request::Frame::Stdin(b"data\n".to_vec())) };
        let requests = futures::stream::iter(vec![stdin]).chain(futures::stream::pending());
        let stream = exec(&container, TargetOs::Linux, begin, requests).await.expect("starts");
        let frames =
            tokio::time::timeout(Duration::from_secs(10), frames(stream)).await.expect("ends in time");
        let Some(exec_response::Frame::Exit(v1::ExecExit { outcome: Some(exec_exit::Outcome::Error(e)) })) =
            frames.last()
        else {
            panic!("an error ends the session: {frames:?}")
        };
        assert_eq!(e.code, tonic::Code::Unavailable as i32, "{}", e.message);
    }
}
