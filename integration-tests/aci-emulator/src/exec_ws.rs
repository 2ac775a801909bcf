//! The websocket behind exec and attach, behaving as ACI's: the first client frame is the password, then
//! stdin as binary (or text) frames; output comes back as binary frames with stderr merged into stdout and
//! no exit status. Exec runs one executable without arguments under a terminal of the requested size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::config::Runtime;
use crate::groups::GroupKey;
use crate::groups::model::OsType;
use crate::runtime::{ExecProcess, resolve_executable, spawn_exec};
use crate::state::Shared;

const SESSION_TTL: Duration = Duration::from_secs(300);

#[derive(Clone, Debug)]
pub enum SessionKind {
    Exec { command: String, rows: u16, cols: u16 },
    Attach,
}

#[derive(Clone, Debug)]
pub struct Session {
    password: String,
    key: GroupKey,
    container: String,
    kind: SessionKind,
    created: Instant,
}

/// Sessions opened by exec/attach requests, each usable once.
#[derive(Debug, Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn open(&self, key: GroupKey, container: &str, kind: SessionKind) -> (String, String) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let secret: [u8; 16] = rand::rng().random();
        let password: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        if let Ok(mut open) = self.open.lock() {
            open.retain(|_, s| s.created.elapsed() < SESSION_TTL);
            let session = Session {
                password: password.clone(),
                key,
                container: container.to_owned(),
                kind,
                created: Instant::now(),
            };
            open.insert(id.clone(), session);
        }
        (id, password)
    }

    fn take(&self, id: &str) -> Option<Session> {
        self.open.lock().ok()?.remove(id).filter(|s| s.created.elapsed() < SESSION_TTL)
    }
}

/// `GET /_aci/ws/{id}`.
pub async fn websocket(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(session) = shared.sessions.take(&id) else {
        return (StatusCode::NOT_FOUND, "unknown or expired session").into_response();
    };
    ws.on_upgrade(move |socket| serve(shared, session, socket))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: reason.to_owned().into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn serve(shared: Arc<Shared>, session: Session, mut socket: WebSocket) {
    let first = tokio::time::timeout(Duration::from_secs(30), socket.recv()).await;
    let authenticated = match first {
        Ok(Some(Ok(Message::Text(t)))) => t.as_str() == session.password,
        Ok(Some(Ok(Message::Binary(b)))) => b.as_ref() == session.password.as_bytes(),
        _ => false,
    };
    if !authenticated {
        close(&mut socket, 1008, "invalid password").await;
        return;
    }
    match session.kind.clone() {
        SessionKind::Exec { command, rows, cols } => {
            exec(shared, &session, socket, &command, rows, cols).await
        }
        SessionKind::Attach => attach(shared, &session, socket).await,
    }
}

/// The message a container runtime prints when the exec command is not one executable.
fn not_found(command: &str) -> String {
    format!(
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{command}\": executable \
         file not found in $PATH: unknown\r\n"
    )
}

fn container_env(shared: &Shared, session: &Session) -> Vec<(String, String)> {
    let Some(group) = shared.store.get(&session.key) else { return Vec::new() };
    let props = &group.spec.properties;
    props
        .containers
        .iter()
        .find(|c| c.name == session.container)
        .map(|c| c.properties.environment_variables.iter().map(|v| (v.name.clone(), v.effective())).collect())
        .unwrap_or_default()
}

/// The running instance of the session's container: (group generation, restart count), or None.
fn running_instance(shared: &Shared, session: &Session) -> Option<(u64, u32)> {
    let group = shared.store.get(&session.key)?;
    let container = group.container(&session.container)?;
    (container.current.state == "Running").then_some((group.generation, container.restart_count))
}

/// Resolves once the instance running when the session began is gone (exited, stopped, restarted, deleted).
async fn container_ended(shared: &Shared, session: &Session) {
    let instance = running_instance(shared, session);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = running_instance(shared, session);
        if now.is_none() || now != instance {
            return;
        }
    }
}

async fn exec(
    shared: Arc<Shared>,
    session: &Session,
    mut socket: WebSocket,
    command: &str,
    rows: u16,
    cols: u16,
) {
    if command.chars().any(char::is_whitespace) {
        let _ = socket.send(Message::Binary(Bytes::from(not_found(command)))).await;
        close(&mut socket, 1000, "").await;
        return;
    }
    let windows = shared.store.get(&session.key).is_some_and(|g| g.spec.os_type() == OsType::Windows);
    if shared.config.runtime == Runtime::Simulate || windows {
        echo_terminal(socket).await;
        return;
    }
    let Some(program) = resolve_executable(command) else {
        let _ = socket.send(Message::Binary(Bytes::from(not_found(command)))).await;
        close(&mut socket, 1000, "").await;
        return;
    };
    let workdir =
        shared.controls.workdir(&session.key, &session.container).unwrap_or_else(std::env::temp_dir);
    let env = container_env(&shared, session);
    let ExecProcess { pty, mut child } = match spawn_exec(&program, &env, &workdir, rows, cols) {
        Ok(process) => process,
        Err(e) => {
            let _ = socket.send(Message::Binary(Bytes::from(format!("{e}\r\n")))).await;
            close(&mut socket, 1000, "").await;
            return;
        }
    };
    let (mut reader, mut writer) = pty.into_split();
    // The pty is written by its own task: a write that waits for the process to read its input
    // must never stop this loop from draining the process's output, or both sides wait forever.
    // Unbounded: a development tool on loopback, fed by one client.
    let (stdin, mut stdin_queue) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let stdin_writer = tokio::spawn(async move {
        while let Some(bytes) = stdin_queue.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let (mut tx, mut rx) = socket.split();
    let mut buf = vec![0u8; 8192];
    let ended = container_ended(&shared, session);
    tokio::pin!(ended);
    let why = loop {
        tokio::select! {
            _ = &mut ended => break "the container instance ended".to_owned(),
            read = reader.read(&mut buf) => match read {
                Ok(n) if n > 0 => {
                    if tx.send(Message::Binary(Bytes::copy_from_slice(&buf[..n]))).await.is_err() {
                        break "the client stopped reading".to_owned();
                    }
                }
                other => break format!("the terminal closed ({other:?})"),
            },
            message = rx.next() => match message {
                Some(Ok(Message::Binary(b))) => { let _ = stdin.send(b); }
                Some(Ok(Message::Text(t))) => { let _ = stdin.send(Bytes::copy_from_slice(t.as_bytes())); }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => break format!("the client ended the session ({other:?})"),
            },
        }
    };
    tracing::debug!(command, %why, "exec session ended");
    stdin_writer.abort();
    let _ = child.start_kill();
    let _ = child.wait().await;
    let _ = tx.send(Message::Close(Some(CloseFrame { code: 1000, reason: "".into() }))).await;
}

/// Simulated containers have no processes: their terminal echoes what it is sent.
async fn echo_terminal(socket: WebSocket) {
    let (mut tx, mut rx) = socket.split();
    while let Some(Ok(message)) = rx.next().await {
        let bytes = match message {
            Message::Binary(b) => b.to_vec(),
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Close(_) => break,
            _ => continue,
        };
        let echoed = String::from_utf8_lossy(&bytes).replace('\r', "\r\n");
        if tx.send(Message::Binary(Bytes::from(echoed))).await.is_err() {
            break;
        }
    }
}

async fn attach(shared: Arc<Shared>, session: &Session, socket: WebSocket) {
    let logs =
        shared.store.get(&session.key).and_then(|g| g.container(&session.container).map(|c| c.logs.clone()));
    let Some(logs) = logs else { return };
    let mut output = logs.subscribe();
    let stdin = shared.controls.stdin(&session.key, &session.container);
    let (mut tx, mut rx) = socket.split();
    let ended = container_ended(&shared, session);
    tokio::pin!(ended);
    loop {
        tokio::select! {
            _ = &mut ended => {
                while let Ok(bytes) = output.try_recv() {
                    let _ = tx.send(Message::Binary(bytes)).await;
                }
                let _ = tx.send(Message::Close(Some(CloseFrame { code: 1000, reason: "".into() }))).await;
                break;
            }
            out = output.recv() => match out {
                Ok(bytes) => {
                    if tx.send(Message::Binary(bytes)).await.is_err() {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            },
            message = rx.next() => {
                let bytes = match message {
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Text(t))) => Bytes::copy_from_slice(t.as_bytes()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    _ => break,
                };
                if let Some(stdin) = &stdin {
                    let _ = stdin.send(bytes);
                }
            }
        }
    }
}
