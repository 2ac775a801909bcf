//! Exec and Attach sessions. Exec runs the command through the script interpreter with the
//! container's environment; Attach joins the main process: its new output, and its stdin
//! when the container keeps one open.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use vk_proto::Scope;
use vk_proto::v1::container_state::State as StateKind;
use vk_proto::v1::exec_exit::Outcome;
use vk_proto::v1::exec_request::Frame as In;
use vk_proto::v1::exec_response::Frame as Out;
use vk_proto::v1::{ExecExit, ExecRequest, ExecResponse, ExecStart, ExecStarted, ExitCodeUnknown};

use super::logs::LogBuffer;
use super::script::{self, Io, Output, Program};
use super::store::{ResizeRecord, Store};

type Responses = ReceiverStream<Result<ExecResponse, Status>>;

/// Counts a running session for as long as it lives.
struct SessionGuard(Arc<Store>);

impl SessionGuard {
    fn new(store: Arc<Store>) -> Self {
        store.lock().active_sessions += 1;
        Self(store)
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.active_sessions = state.active_sessions.saturating_sub(1);
    }
}

/// What a session needs from the container.
struct Target {
    env: Vec<(String, String)>,
    logs: Option<Arc<LogBuffer>>,
    main_stdin: Option<mpsc::Sender<Vec<u8>>>,
}

async fn first_frame(inbound: &mut Streaming<ExecRequest>, attach: bool) -> Result<ExecStart, Status> {
    let start = match inbound.message().await? {
        Some(ExecRequest { frame: Some(In::Start(start)) }) => start,
        _ => return Err(Status::invalid_argument("the first frame must be `start`")),
    };
    let mut problems = Vec::new();
    if start.pod_uid.is_empty() {
        problems.push("start.pod_uid: required");
    }
    if start.container.is_empty() {
        problems.push("start.container: required");
    }
    if attach && !start.command.is_empty() {
        problems.push("start.command: must be empty for attach");
    }
    if !attach && start.command.is_empty() {
        problems.push("start.command: at least one element is required");
    }
    if start.tty && start.stderr {
        problems.push("start.stderr: must be false with a tty (stderr is part of stdout)");
    }
    if problems.is_empty() { Ok(start) } else { Err(Status::invalid_argument(problems.join("; "))) }
}

fn target(store: &Store, scope: &Scope, start: &ExecStart) -> Result<Target, Status> {
    let state = store.lock();
    let record = state
        .scopes
        .get(scope)
        .and_then(|pods| pods.get(&start.pod_uid))
        .ok_or_else(|| Status::not_found(format!("pod {} not found in this scope", start.pod_uid)))?;
    let spec = record.pod.spec.clone().unwrap_or_default();
    let container =
        spec.containers.iter().chain(&spec.init_containers).find(|c| c.name == start.container).ok_or_else(
            || Status::not_found(format!("container {} not found in pod {}", start.container, start.pod_uid)),
        )?;
    let runtime = record.containers.get(&start.container).filter(|r| r.stop.is_some() && !record.deleting);
    let Some(runtime) = runtime else {
        return Err(Status::failed_precondition(format!("container {} is not running", start.container)));
    };
    Ok(Target {
        env: container.env.iter().map(|e| (e.name.clone(), e.value.clone())).collect(),
        logs: runtime.logs.clone(),
        main_stdin: runtime.stdin.clone(),
    })
}

/// Reads stdin, resize and stdin_close frames until the client's stream ends.
async fn read_frames(
    store: Arc<Store>,
    start: ExecStart,
    mut inbound: Streaming<ExecRequest>,
    mut stdin: Option<mpsc::Sender<Vec<u8>>>,
    size: watch::Sender<(u32, u32)>,
    on_stdin_close: impl FnOnce() + Send + 'static,
) {
    let mut on_stdin_close = Some(on_stdin_close);
    while let Ok(Some(request)) = inbound.message().await {
        match request.frame {
            Some(In::Stdin(bytes)) => {
                if let Some(stdin) = &stdin {
                    let _ = stdin.send(bytes).await;
                }
            }
            Some(In::Resize(resize)) => {
                let _ = size.send((resize.width, resize.height));
                store.lock().resizes.push(ResizeRecord {
                    pod_uid: start.pod_uid.clone(),
                    container: start.container.clone(),
                    width: resize.width,
                    height: resize.height,
                });
            }
            Some(In::StdinClose(_)) => {
                stdin = None;
                if let Some(close) = on_stdin_close.take() {
                    close();
                }
            }
            Some(In::Start(_)) | None => {}
        }
    }
}

fn exit_frame(outcome: Outcome) -> Result<ExecResponse, Status> {
    Ok(ExecResponse { frame: Some(Out::Exit(ExecExit { outcome: Some(outcome) })) })
}

/// An Exec call.
pub async fn exec(
    store: Arc<Store>,
    scope: Scope,
    mut inbound: Streaming<ExecRequest>,
) -> Result<Responses, Status> {
    let start = first_frame(&mut inbound, false).await?;
    let target = target(&store, &scope, &start)?;
    let program = Program::for_exec(&start.command).map_err(|e| Status::invalid_argument(e.to_string()))?;
    let (tx, rx) = mpsc::channel(64);
    let started = ExecStarted { stderr_merged: false, exit_code_reported: true };
    let _ = tx.try_send(Ok(ExecResponse { frame: Some(Out::Started(started)) }));
    let guard = SessionGuard::new(store.clone());
    tokio::spawn(async move {
        let _guard = guard;
        let (stdin_tx, stdin_rx) = if start.stdin {
            let (tx, rx) = mpsc::channel(64);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let size = start.terminal_size.map(|s| (s.width, s.height)).unwrap_or((80, 24));
        let (size_tx, size_rx) = watch::channel(size);
        let reader =
            tokio::spawn(read_frames(store.clone(), start.clone(), inbound, stdin_tx, size_tx, || {}));
        let (out_tx, mut out_rx) = mpsc::channel::<Output>(64);
        let mut io =
            Io { out: out_tx, stdin: stdin_rx, terminal: start.tty.then_some(size_rx), env: target.env };
        let run = async move { script::run(&program, &mut io).await };
        let forward = async {
            loop {
                let output = tokio::select! {
                    output = out_rx.recv() => output,
                    () = tx.closed() => return false,
                };
                let frame = match output {
                    None => return true,
                    Some(Output::Stdout(bytes)) if start.stdout => Out::Stdout(bytes),
                    Some(Output::Stderr(bytes)) if start.tty && start.stdout => Out::Stdout(bytes),
                    Some(Output::Stderr(bytes)) if start.stderr => Out::Stderr(bytes),
                    Some(_) => continue,
                };
                if tx.send(Ok(ExecResponse { frame: Some(frame) })).await.is_err() {
                    return false;
                }
            }
        };
        let (code, delivered) = tokio::join!(run, forward);
        reader.abort();
        if delivered {
            let code = if store.config.faults.wrong_exit_code { code + 1 } else { code };
            let _ = tx.send(exit_frame(Outcome::ExitCode(code))).await;
        }
    });
    Ok(ReceiverStream::new(rx))
}

/// An Attach call.
pub async fn attach(
    store: Arc<Store>,
    scope: Scope,
    mut inbound: Streaming<ExecRequest>,
) -> Result<Responses, Status> {
    let start = first_frame(&mut inbound, true).await?;
    let target = target(&store, &scope, &start)?;
    let Some(logs) = target.logs else {
        return Err(Status::failed_precondition(format!("container {} is not running", start.container)));
    };
    let (tx, rx) = mpsc::channel(64);
    let started = ExecStarted { stderr_merged: true, exit_code_reported: true };
    let _ = tx.try_send(Ok(ExecResponse { frame: Some(Out::Started(started)) }));
    let guard = SessionGuard::new(store.clone());
    tokio::spawn(async move {
        let _guard = guard;
        let (size_tx, _size_rx) = watch::channel((80, 24));
        let stdin = if start.stdin { target.main_stdin } else { None };
        let close_store = store.clone();
        let (close_scope, close_uid, close_container) =
            (scope.clone(), start.pod_uid.clone(), start.container.clone());
        let close_main_stdin = move || {
            close_store.update(&close_scope, &close_uid, |record| {
                if let Some(runtime) = record.containers.get_mut(&close_container) {
                    runtime.stdin = None;
                }
            });
        };
        let reader = tokio::spawn(read_frames(
            store.clone(),
            start.clone(),
            inbound,
            stdin,
            size_tx,
            close_main_stdin,
        ));
        let mut changes = logs.subscribe();
        let (existing, mut closed) = logs.read_from(0);
        let mut seen = existing.len();
        loop {
            let (lines, now_closed) = logs.read_from(seen);
            seen += lines.len();
            let bytes: Vec<u8> = lines.into_iter().flat_map(|line| line.bytes).collect();
            if start.stdout
                && !bytes.is_empty()
                && tx.send(Ok(ExecResponse { frame: Some(Out::Stdout(bytes)) })).await.is_err()
            {
                break;
            }
            if closed || now_closed {
                closed = true;
                break;
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { closed = true; },
                () = tx.closed() => break,
            }
        }
        reader.abort();
        if closed {
            let outcome = exit_code(&store, &scope, &start).map_or_else(
                || Outcome::ExitCodeUnknown(ExitCodeUnknown { reason: "the container is gone".into() }),
                Outcome::ExitCode,
            );
            let _ = tx.send(exit_frame(outcome)).await;
        }
    });
    Ok(ReceiverStream::new(rx))
}

fn exit_code(store: &Store, scope: &Scope, start: &ExecStart) -> Option<i32> {
    let state = store.lock();
    let record = state.scopes.get(scope)?.get(&start.pod_uid)?;
    let status = record.status.container_statuses.iter().find(|c| c.name == start.container)?;
    match status.state.as_ref()?.state.as_ref()? {
        StateKind::Terminated(terminated) => Some(terminated.exit_code),
        _ => None,
    }
}
