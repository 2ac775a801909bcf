//! Exec and Attach: frames, arguments, stdin, exit codes, errors and cancellation.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status, Streaming};
use vk_proto::v1::exec_exit::Outcome;
use vk_proto::v1::exec_request::Frame as In;
use vk_proto::v1::exec_response::Frame as Out;
use vk_proto::v1::{self as pb, ExecRequest, ExecResponse, PodPhase};

use crate::conformance::context::{
    CaseError, CaseResult, Context, Expect, ExpectValue, broken, ensure, expect_code,
};
use crate::conformance::fixtures;
use crate::connect::Client;

const CONTAINER: &str = "main";

/// The shared pod exec runs in.
async fn exec_pod(context: &Context) -> Result<(Client, String), CaseError> {
    const RULE: &str = "a created pod reaches Running so that exec can run in it";
    let scope = context.scope("");
    let client = context.client(&scope)?;
    let uid = context
        .exec_pod
        .get_or_init(|| async {
            let mut client = client.clone();
            let uid = context.uid("exec");
            let setup = async {
                context.create(&mut client, &scope, fixtures::sleeper(&uid, "exec"), RULE).await?;
                context.wait_phase(&client, &uid, PodPhase::Running, RULE).await.map(|_| ())
            };
            setup.await.map(|()| uid.clone()).map_err(|e| e.to_string())
        })
        .await
        .clone()
        .map_err(|message| broken(RULE, message))?;
    Ok((client, uid))
}

fn start(uid: &str, command: &[&str]) -> pb::ExecStart {
    pb::ExecStart {
        pod_uid: uid.to_owned(),
        container: CONTAINER.to_owned(),
        command: command.iter().map(|s| (*s).to_owned()).collect(),
        stdout: true,
        stderr: true,
        ..Default::default()
    }
}

struct Session {
    tx: mpsc::Sender<ExecRequest>,
    stream: Streaming<ExecResponse>,
    started: pb::ExecStarted,
}

/// What a session produced up to its exit frame.
struct Ended {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    outcome: Outcome,
}

async fn open(
    client: &mut Client,
    start: pb::ExecStart,
    attach: bool,
    rule: &'static str,
) -> Result<Result<Session, Status>, CaseError> {
    let (tx, rx) = mpsc::channel(16);
    let _ = tx.send(ExecRequest { frame: Some(In::Start(start)) }).await;
    let call = if attach {
        client.attach(ReceiverStream::new(rx)).await
    } else {
        client.exec(ReceiverStream::new(rx)).await
    };
    let mut stream = match call {
        Ok(response) => response.into_inner(),
        Err(status) => return Ok(Err(status)),
    };
    let first = match tokio::time::timeout(Duration::from_secs(30), stream.message()).await {
        Err(_) => return Err(broken(rule, "no frame within 30s of the start frame")),
        Ok(Err(status)) => return Ok(Err(status)),
        Ok(Ok(first)) => first,
    };
    match first.and_then(|f| f.frame) {
        Some(Out::Started(started)) => Ok(Ok(Session { tx, stream, started })),
        other => Err(broken(rule, format!("the first server frame is {other:?}, not `started`"))),
    }
}

impl Session {
    async fn send(&self, frame: In) {
        let _ = self.tx.send(ExecRequest { frame: Some(frame) }).await;
    }

    /// Reads to the exit frame and checks the stream ends right after it.
    async fn finish(mut self, within: Duration, rule: &'static str) -> Result<Ended, CaseError> {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        loop {
            let frame = tokio::time::timeout(within, self.stream.message())
                .await
                .map_err(|_| broken(rule, format!("no exit frame within {within:?}")))?
                .map_err(|status| broken(rule, format!("the stream failed: {status}")))?
                .ok_or_else(|| broken(rule, "the stream ended without an exit frame"))?;
            match frame.frame {
                Some(Out::Stdout(bytes)) => stdout.extend(bytes),
                Some(Out::Stderr(bytes)) => stderr.extend(bytes),
                Some(Out::Started(_)) => return Err(broken(rule, "a second `started` frame")),
                Some(Out::Exit(exit)) => {
                    let outcome =
                        exit.outcome.ok_or_else(|| broken(rule, "an exit frame without an outcome"))?;
                    let after = tokio::time::timeout(within, self.stream.message()).await;
                    ensure(matches!(after, Ok(Ok(None))), rule, || {
                        "the stream went on after the exit frame".into()
                    })?;
                    return Ok(Ended { stdout, stderr, outcome });
                }
                None => return Err(broken(rule, "a frame without content")),
            }
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub async fn exec_frames_and_arguments(context: &Context) -> CaseResult {
    const RULE: &str = "Exec sends `started`, the output, then exactly one exit frame; arguments reach the process unchanged";
    let (mut client, uid) = exec_pod(context).await?;
    let opened = open(&mut client, start(&uid, &["echo", "a  b", "c'd"]), false, RULE).await?;
    let ended = opened.or_rule(RULE)?.finish(context.settings.timeout, RULE).await?;
    ensure(ended.stdout == b"a  b c'd\n", RULE, || {
        format!("stdout {:?}, expected \"a  b c'd\\n\"", text(&ended.stdout))
    })?;
    match ended.outcome {
        Outcome::ExitCode(0) | Outcome::ExitCodeUnknown(_) => Ok(()),
        other => Err(broken(RULE, format!("echo ended with {other:?}"))),
    }
}

pub async fn exec_exit_code_and_stderr(context: &Context) -> CaseResult {
    const RULE: &str =
        "Exec reports the command's real exit code and keeps stderr apart unless it says stderr_merged";
    let (mut client, uid) = exec_pod(context).await?;
    let opened =
        open(&mut client, start(&uid, &["sh", "-c", "echo out; echo err >&2; exit 3"]), false, RULE).await?;
    let session = opened.or_rule(RULE)?;
    let started = session.started;
    let ended = session.finish(context.settings.timeout, RULE).await?;
    if started.stderr_merged {
        let all = text(&ended.stdout);
        ensure(all.contains("out") && all.contains("err"), RULE, || format!("merged output {all:?}"))?;
    } else {
        ensure(ended.stdout == b"out\n", RULE, || format!("stdout {:?}", text(&ended.stdout)))?;
        ensure(ended.stderr == b"err\n", RULE, || format!("stderr {:?}", text(&ended.stderr)))?;
    }
    match ended.outcome {
        Outcome::ExitCode(3) => Ok(()),
        Outcome::ExitCodeUnknown(unknown) if !started.exit_code_reported => {
            Err(CaseError::Skipped(format!("the backend cannot report exit codes: {}", unknown.reason)))
        }
        other => Err(broken(RULE, format!("`exit 3` ended with {other:?}, expected exit code 3"))),
    }
}

pub async fn exec_stdin(context: &Context) -> CaseResult {
    const RULE: &str = "Exec delivers stdin frames to the process and stdin_close as end of file";
    let (mut client, uid) = exec_pod(context).await?;
    let mut cat = start(&uid, &["cat"]);
    cat.stdin = true;
    let session = open(&mut client, cat, false, RULE).await?.or_rule(RULE)?;
    session.send(In::Stdin(b"ping\n".to_vec())).await;
    session.send(In::StdinClose(pb::StdinClose {})).await;
    let ended = session.finish(context.settings.timeout, RULE).await?;
    ensure(ended.stdout == b"ping\n", RULE, || format!("cat echoed {:?}", text(&ended.stdout)))?;
    ensure(matches!(ended.outcome, Outcome::ExitCode(0) | Outcome::ExitCodeUnknown(_)), RULE, || {
        format!("cat ended with {:?}", ended.outcome)
    })
}

pub async fn exec_tty_size(context: &Context) -> CaseResult {
    const RULE: &str = "Exec with a tty gives the process a terminal of the initial size";
    let (mut client, uid) = exec_pod(context).await?;
    let mut stty = start(&uid, &["stty", "size"]);
    stty.tty = true;
    stty.stderr = false;
    stty.terminal_size = Some(pb::TerminalSize { width: 100, height: 30 });
    let ended = open(&mut client, stty, false, RULE)
        .await?
        .or_rule(RULE)?
        .finish(context.settings.timeout, RULE)
        .await?;
    let output = text(&ended.stdout);
    ensure(output.trim() == "30 100", RULE, || format!("`stty size` printed {output:?}, expected \"30 100\""))
}

pub async fn exec_errors(context: &Context) -> CaseResult {
    const RULE: &str = "Exec errors before the start are the rpc status: unknown pod NOT_FOUND, a first frame other than start INVALID_ARGUMENT";
    let (mut client, uid) = exec_pod(context).await?;
    let unknown = open(&mut client, start(&context.uid("never-created"), &["true"]), false, RULE).await?;
    expect_code(unknown.map(|_| ()), Code::NotFound, RULE)?;
    let unknown_container = pb::ExecStart { container: "no-such-container".into(), ..start(&uid, &["true"]) };
    expect_code(open(&mut client, unknown_container, false, RULE).await?.map(|_| ()), Code::NotFound, RULE)?;
    let (tx, rx) = mpsc::channel(2);
    let _ = tx.send(ExecRequest { frame: Some(In::Stdin(b"x".to_vec())) }).await;
    let result = match client.exec(ReceiverStream::new(rx)).await {
        Ok(response) => response.into_inner().message().await.map(|_| ()),
        Err(status) => Err(status),
    };
    expect_code(result, Code::InvalidArgument, RULE)?;
    Ok(())
}

pub async fn attach(context: &Context) -> CaseResult {
    const RULE: &str =
        "Attach joins the main process: its stdin and output, and one exit frame when it exits";
    let scope = context.scope("");
    let mut client = context.client(&scope)?;
    let info = client.get_node_info(pb::GetNodeInfoRequest {}).await.under(RULE)?;
    if !info.capabilities.is_some_and(|c| c.attach) {
        return Err(CaseError::Skipped("the backend's capabilities say attach = false".into()));
    }
    let uid = context.uid("attach");
    context.create(&mut client, &scope, fixtures::stdin_pod(&uid, "attach"), RULE).await?;
    context.wait_phase(&client, &uid, PodPhase::Running, RULE).await?;
    let attach = pb::ExecStart { stdin: true, stdout: true, stderr: false, ..start(&uid, &[]) };
    let session = open(&mut client, attach, true, RULE).await?.or_rule(RULE)?;
    let reported = session.started.exit_code_reported;
    session.send(In::Stdin(b"hello\n".to_vec())).await;
    session.send(In::StdinClose(pb::StdinClose {})).await;
    let ended = session.finish(context.settings.timeout, RULE).await?;
    ensure(text(&ended.stdout).contains("hello"), RULE, || format!("attach saw {:?}", text(&ended.stdout)))?;
    match ended.outcome {
        Outcome::ExitCode(0) => Ok(()),
        Outcome::ExitCodeUnknown(_) if !reported => Ok(()),
        other => {
            Err(broken(RULE, format!("`cat` ending at end of stdin gave {other:?}, expected exit code 0")))
        }
    }
}

pub async fn cancellation(context: &Context) -> CaseResult {
    const RULE: &str =
        "a client that goes away ends its exec session and following log stream; the container keeps serving";
    let (mut client, uid) = exec_pod(context).await?;
    let mut cat = start(&uid, &["cat"]);
    cat.stdin = true;
    let session = open(&mut client, cat, false, RULE).await?.or_rule(RULE)?;
    drop(session);
    let follow = pb::ContainerLogsRequest {
        pod_uid: uid.clone(),
        container: CONTAINER.into(),
        follow: true,
        ..Default::default()
    };
    let stream = client.get_container_logs(follow).await.under(RULE)?;
    drop(stream);
    let opened = open(&mut client, start(&uid, &["echo", "still here"]), false, RULE).await?;
    let ended = opened.or_rule(RULE)?.finish(context.settings.timeout, RULE).await?;
    ensure(ended.stdout == b"still here\n", RULE, || {
        format!("a new exec printed {:?}", text(&ended.stdout))
    })?;
    let state = client.get_pod(pb::GetPodRequest { uid }).await.under(RULE)?.state.and_then(|s| s.status);
    ensure(state.is_some_and(|s| s.phase == PodPhase::Running as i32), RULE, || {
        "the pod stopped running".into()
    })
}
