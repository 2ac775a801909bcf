//! The streaming commands: watch, logs, exec and attach.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use vk_proto::v1::exec_exit::Outcome;
use vk_proto::v1::exec_request::Frame as In;
use vk_proto::v1::exec_response::Frame as Out;
use vk_proto::v1::{self as pb, ExecRequest};

use super::VkctlError;
use super::output::{self, Format};
use crate::connect::Client;

/// Flags of `vkctl logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Pod UID.
    uid: String,
    /// Container (default: the pod's first container).
    #[arg(short = 'c', long)]
    container: Option<String>,
    /// Keep streaming new output.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Only the last N lines (0 is a real value).
    #[arg(long)]
    tail: Option<i64>,
    /// Only lines newer than this many seconds.
    #[arg(long)]
    since_seconds: Option<i64>,
    /// Only lines written at or after this RFC 3339 time.
    #[arg(long)]
    since_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Prefix lines with their time.
    #[arg(long)]
    timestamps: bool,
    /// Stop after this many bytes.
    #[arg(long)]
    limit_bytes: Option<i64>,
    /// The previous instance's log.
    #[arg(short = 'p', long)]
    previous: bool,
}

/// Flags of `vkctl exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Pod UID.
    uid: String,
    /// Container (default: the pod's first container).
    #[arg(short = 'c', long)]
    container: Option<String>,
    /// Pass stdin to the command.
    #[arg(short = 'i', long)]
    stdin: bool,
    /// Run under a terminal (stdin is passed through as read; the local terminal is not put
    /// in raw mode).
    #[arg(short = 't', long)]
    tty: bool,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Flags of `vkctl attach`.
#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// Pod UID.
    uid: String,
    /// Container (default: the pod's first container).
    #[arg(short = 'c', long)]
    container: Option<String>,
    /// Pass stdin to the main process.
    #[arg(short = 'i', long)]
    stdin: bool,
    /// The container runs under a terminal.
    #[arg(short = 't', long)]
    tty: bool,
}

async fn container(client: &mut Client, uid: &str, chosen: Option<String>) -> Result<String, VkctlError> {
    if let Some(chosen) = chosen {
        return Ok(chosen);
    }
    let state =
        client.get_pod(pb::GetPodRequest { uid: uid.to_owned() }).await.map_err(VkctlError::rpc("GetPod"))?;
    let spec = state.into_inner().state.and_then(|s| s.pod).and_then(|p| p.spec).unwrap_or_default();
    spec.containers
        .first()
        .map(|c| c.name.clone())
        .ok_or_else(|| VkctlError::Container(format!("pod {uid} has no containers")))
}

pub async fn watch(mut client: Client, bookmark_seconds: u32, format: Format) -> Result<i32, VkctlError> {
    let mut stream = client
        .watch_pods(pb::WatchPodsRequest { bookmark_interval_seconds: bookmark_seconds })
        .await
        .map_err(VkctlError::rpc("WatchPods"))?
        .into_inner();
    let mut stdout = tokio::io::stdout();
    while let Some(message) = stream.message().await.map_err(VkctlError::rpc("WatchPods"))? {
        if let Some(event) = &message.event {
            stdout.write_all(output::watch_event(message.sequence, event, format).as_bytes()).await?;
            stdout.flush().await?;
        }
    }
    Ok(0)
}

pub async fn logs(mut client: Client, args: LogsArgs) -> Result<i32, VkctlError> {
    let container = container(&mut client, &args.uid, args.container).await?;
    let request = pb::ContainerLogsRequest {
        pod_uid: args.uid,
        container,
        follow: args.follow,
        tail_lines: args.tail,
        since_seconds: args.since_seconds,
        since_time: args.since_time.map(|t| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        timestamps: args.timestamps,
        limit_bytes: args.limit_bytes,
        previous: args.previous,
    };
    let mut stream =
        client.get_container_logs(request).await.map_err(VkctlError::rpc("GetContainerLogs"))?.into_inner();
    let mut stdout = tokio::io::stdout();
    while let Some(chunk) = stream.message().await.map_err(VkctlError::rpc("GetContainerLogs"))? {
        stdout.write_all(&chunk.data).await?;
        stdout.flush().await?;
    }
    Ok(0)
}

fn terminal_size() -> pb::TerminalSize {
    let read =
        |name: &str, default: u32| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    pb::TerminalSize { width: read("COLUMNS", 80), height: read("LINES", 24) }
}

/// Copies local stdin into stdin frames, then sends stdin_close.
fn pump_stdin(tx: mpsc::Sender<ExecRequest>) {
    tokio::spawn(async move {
        let mut stdin = tokio::io::stdin();
        let mut buffer = vec![0u8; 8192];
        loop {
            match stdin.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(ExecRequest { frame: Some(In::Stdin(buffer[..n].to_vec())) }).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(ExecRequest { frame: Some(In::StdinClose(pb::StdinClose {})) }).await;
    });
}

async fn session(mut client: Client, start: pb::ExecStart, attach: bool) -> Result<i32, VkctlError> {
    let operation = if attach { "Attach" } else { "Exec" };
    let (tx, rx) = mpsc::channel(16);
    let wants_stdin = start.stdin;
    let _ = tx.send(ExecRequest { frame: Some(In::Start(start)) }).await;
    let _keep_open = if wants_stdin {
        pump_stdin(tx);
        None
    } else {
        Some(tx)
    };
    let requests = ReceiverStream::new(rx);
    let call = if attach { client.attach(requests).await } else { client.exec(requests).await };
    let mut stream = call.map_err(VkctlError::rpc(operation))?.into_inner();
    let (mut stdout, mut stderr) = (tokio::io::stdout(), tokio::io::stderr());
    while let Some(frame) = stream.message().await.map_err(VkctlError::rpc(operation))? {
        match frame.frame {
            Some(Out::Started(_)) | None => {}
            Some(Out::Stdout(bytes)) => {
                stdout.write_all(&bytes).await?;
                stdout.flush().await?;
            }
            Some(Out::Stderr(bytes)) => {
                stderr.write_all(&bytes).await?;
                stderr.flush().await?;
            }
            Some(Out::Exit(exit)) => {
                return match exit.outcome {
                    Some(Outcome::ExitCode(code)) => Ok(code),
                    Some(Outcome::ExitCodeUnknown(unknown)) => {
                        stderr
                            .write_all(format!("vkctl: exit code unknown: {}\n", unknown.reason).as_bytes())
                            .await?;
                        Ok(0)
                    }
                    Some(Outcome::Error(error)) => {
                        Err(VkctlError::Session(format!("code {}: {}", error.code, error.message)))
                    }
                    None => Err(VkctlError::Session("an exit frame without an outcome".into())),
                };
            }
        }
    }
    Err(VkctlError::Session("the stream ended without an exit frame".into()))
}

pub async fn exec(mut client: Client, args: ExecArgs) -> Result<i32, VkctlError> {
    let container = container(&mut client, &args.uid, args.container).await?;
    let start = pb::ExecStart {
        pod_uid: args.uid,
        container,
        command: args.command,
        tty: args.tty,
        stdin: args.stdin,
        stdout: true,
        stderr: !args.tty,
        terminal_size: args.tty.then(terminal_size),
    };
    session(client, start, false).await
}

pub async fn attach(mut client: Client, args: AttachArgs) -> Result<i32, VkctlError> {
    let container = container(&mut client, &args.uid, args.container).await?;
    let start = pb::ExecStart {
        pod_uid: args.uid,
        container,
        command: Vec::new(),
        tty: args.tty,
        stdin: args.stdin,
        stdout: true,
        stderr: !args.tty,
        terminal_size: args.tty.then(terminal_size),
    };
    session(client, start, true).await
}
