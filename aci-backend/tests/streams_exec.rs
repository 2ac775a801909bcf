//! Exec through the ACI emulator's real exec websocket (TLS, password frame, one executable under a
//! pty, stderr merged, no exit status): the backend drives `/bin/sh` and gets the real status back.

mod streams_support;

use std::time::Duration;

use aci_backend::streams::exec::{ExecError, TargetOs, exec};
use futures::StreamExt as _;
use streams_support::World;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use vk_proto::v1::{self, exec_exit, exec_request, exec_response};

/// What a session sent: the started frame, all output, the final outcome.
#[derive(Debug)]
struct Transcript {
    started: v1::ExecStarted,
    output: String,
    outcome: exec_exit::Outcome,
}

fn start(command: &[&str], tty: bool, stdin: bool) -> v1::ExecStart {
    v1::ExecStart {
        pod_uid: "uid-streams".into(),
        container: "main".into(),
        command: command.iter().map(|s| s.to_string()).collect(),
        tty,
        stdin,
        stdout: true,
        stderr: !tty,
        terminal_size: Some(v1::TerminalSize { width: 34, height: 12 }),
    }
}

fn frame(f: exec_request::Frame) -> v1::ExecRequest {
    v1::ExecRequest { frame: Some(f) }
}

async fn session(world: &World, start: v1::ExecStart, input: Vec<v1::ExecRequest>) -> Transcript {
    let (tx, rx) = mpsc::channel(input.len().max(1));
    for request in input {
        tx.send(request).await.expect("queued");
    }
    let mut stream =
        exec(&world.terminals, TargetOs::Linux, start, ReceiverStream::new(rx)).await.expect("exec starts");
    let mut frames = Vec::new();
    while let Some(f) = tokio::time::timeout(Duration::from_secs(20), stream.next()).await.expect("in time") {
        frames.push(f.frame.expect("a frame"));
    }
    drop(tx);
    let mut frames = frames.into_iter();
    let Some(exec_response::Frame::Started(started)) = frames.next() else { panic!("started comes first") };
    let mut output = String::new();
    let mut outcome = None;
    for f in frames {
        assert!(outcome.is_none(), "nothing follows the exit frame");
        match f {
            exec_response::Frame::Stdout(b) => output.push_str(&String::from_utf8_lossy(&b)),
            exec_response::Frame::Exit(e) => outcome = e.outcome,
            other => panic!("unexpected frame {other:?}"),
        }
    }
    Transcript { started, output, outcome: outcome.expect("an exit frame ends the stream") }
}

#[tokio::test]
async fn exec_through_the_emulator_keeps_arguments_stdin_and_exit_codes() {
    let world = World::start(&["/bin/sh", "-c", "sleep 600"]).await;

    let t = session(&world, start(&["sh", "-c", "echo out; exit 3"], false, false), vec![]).await;
    assert_eq!(t.output, "out\n");
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(3));
    assert!(t.started.stderr_merged && t.started.exit_code_reported, "{:?}", t.started);

    let t =
        session(&world, start(&["printf", "%s\\n", "a b", "it's", "$HOME \"q\" `x`"], false, false), vec![])
            .await;
    assert_eq!(t.output, "a b\nit's\n$HOME \"q\" `x`\n");
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(0));

    let stdin = vec![
        frame(exec_request::Frame::Stdin(b"hello\nctrl-c \x03 tab \t no newline".to_vec())),
        frame(exec_request::Frame::StdinClose(v1::StdinClose {})),
    ];
    let t = session(&world, start(&["cat"], false, true), stdin).await;
    assert_eq!(t.output, "hello\nctrl-c \x03 tab \t no newline");
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(0));

    let t =
        session(&world, start(&["printf", "%s|", "a\nb", "\u{e9}\t", "", "-"], false, false), vec![]).await;
    assert_eq!(t.output, "a\nb|\u{e9}\t||-|", "newlines, tabs, empty and non-ASCII arguments arrive intact");

    let marker = std::env::temp_dir().join(format!("vk-streams-leftover-{}", std::process::id()));
    let leftover = format!("first\ntouch {}\n", marker.display());
    let stdin = vec![
        frame(exec_request::Frame::Stdin(leftover.into_bytes())),
        frame(exec_request::Frame::StdinClose(v1::StdinClose {})),
    ];
    let t = session(&world, start(&["head", "-n", "1"], false, true), stdin).await;
    assert_eq!(t.output, "first\n");
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(0));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!marker.exists(), "stdin the command left unread is never run by the shell");

    let t = session(&world, start(&["sh", "-c", "echo err >&2; exit 0"], false, false), vec![]).await;
    assert_eq!(t.output, "err\n", "stderr arrives merged into stdout");

    let t = session(&world, start(&["no-such-command-here"], false, false), vec![]).await;
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(127), "{}", t.output);
    assert!(t.output.contains("no-such-command-here"), "{}", t.output);

    let t = session(&world, start(&["cat"], false, false), vec![]).await;
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(0), "without stdin the command reads nothing");

    world.emulator.shutdown().await;
}

#[tokio::test]
async fn a_terminal_session_has_the_requested_size_and_terminal_line_ends() {
    let world = World::start(&["/bin/sh", "-c", "sleep 600"]).await;
    let t =
        session(&world, start(&["sh", "-c", "stty size; test -t 1 && echo tty"], true, false), vec![]).await;
    assert_eq!(t.output, "12 34\r\ntty\r\n", "{t:?}");
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(0), "{t:?}");

    let input = vec![
        frame(exec_request::Frame::Stdin(b"echo typed-$((6*7))\r".to_vec())),
        frame(exec_request::Frame::Stdin(b"exit 5\r".to_vec())),
    ];
    let t = session(&world, start(&["sh"], true, true), input).await;
    assert!(t.output.contains("typed-42\r\n"), "an interactive shell runs what is typed: {:?}", t.output);
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(5));
    world.emulator.shutdown().await;
}

#[tokio::test]
async fn a_start_frame_asking_for_stderr_with_a_terminal_is_refused() {
    let world = World::start(&["/bin/sh", "-c", "sleep 600"]).await;
    let mut bad = start(&["true"], true, false);
    bad.stderr = true;
    let (_tx, rx) = mpsc::channel(1);
    let err =
        exec(&world.terminals, TargetOs::Linux, bad, ReceiverStream::new(rx)).await.expect_err("refused");
    assert!(matches!(err, ExecError::InvalidStart(_)), "{err}");
    let (_tx, rx) = mpsc::channel(1);
    let windows = start(&["cmd", "/c", "dir"], false, false);
    let err = exec(&world.terminals, TargetOs::Windows, windows, ReceiverStream::new(rx))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "no cmd.exe in this container: {err}");
    let (_tx, rx) = mpsc::channel(1);
    let percent = start(&["cmd", "/c", "echo", "100%"], false, false);
    let err = exec(&world.terminals, TargetOs::Windows, percent, ReceiverStream::new(rx))
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
    world.emulator.shutdown().await;
}

#[tokio::test]
async fn large_output_and_large_stdin_with_long_lines_pass_unchanged() {
    let world = World::start(&["/bin/sh", "-c", "sleep 600"]).await;
    let t = session(&world, start(&["seq", "1", "20000"], false, false), vec![]).await;
    let want: String = (1..=20000).map(|i| format!("{i}\n")).collect();
    assert!(t.output == want, "seq output differs ({} bytes vs {})", t.output.len(), want.len());
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(0));

    // About 30 KB: lines up to 5.4 KB (beyond the terminal's 4 KiB line buffer), and less than a
    // pipe buffer in total, because the emulator stops reading output while its write of input to
    // the pty blocks (a deadlock with more data in flight; ACI itself moves both ways at once).
    let mut input = String::new();
    for i in 0..10 {
        input.push_str(&format!("{i}:{}\n", "x".repeat(i * 600)));
    }
    input.push_str("tail without newline");
    let mut frames: Vec<v1::ExecRequest> =
        input.as_bytes().chunks(3000).map(|c| frame(exec_request::Frame::Stdin(c.to_vec()))).collect();
    frames.push(frame(exec_request::Frame::StdinClose(v1::StdinClose {})));
    let t = session(&world, start(&["cat"], false, true), frames).await;
    assert!(t.output == input, "cat echoed {} of {} bytes", t.output.len(), input.len());
    assert_eq!(t.outcome, exec_exit::Outcome::ExitCode(0));
    world.emulator.shutdown().await;
}
