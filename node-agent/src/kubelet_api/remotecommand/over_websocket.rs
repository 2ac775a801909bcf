//! A remote-command session over WebSocket: channel 0 stdin, 1 stdout, 2 stderr, 3 error,
//! 4 resize, multiplexed on one connection.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vk_proto::v1::{ExecResponse, TerminalSize};

use super::backend::Backend;
use super::options::ExecOptions;
use super::resize::ResizeDecoder;
use super::session::{self, ClientIo};
use super::status::Outcome;
use crate::kubelet_api::websocket::{
    ChannelConnError, ChannelProtocol, ChannelReader, CloseCode, Inbound, server,
};

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;

/// How long the client gets to answer our close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Runs a session on an upgraded connection (after answering 101 with the subprotocol).
/// `open_backend` is awaited once the connection is set up.
pub async fn serve<IO, F, S>(
    io: IO,
    protocol: ChannelProtocol,
    options: &ExecOptions,
    open_backend: F,
) -> Outcome
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Future<Output = Result<Backend<S>, tonic::Status>>,
    S: Stream<Item = Result<ExecResponse, tonic::Status>> + Unpin,
{
    let (reader, mut writer) = server(io, protocol).await;
    // An empty message on the lowest writable channel tells the client we are ready.
    let hello = if options.stdout {
        STDOUT
    } else if options.stderr {
        STDERR
    } else {
        ERROR
    };
    let gone = CancellationToken::new();
    if writer.send(hello, &[]).await.is_err() {
        return Outcome::ClientGone;
    }
    let (stdin_tx, stdin_rx) = mpsc::channel(8);
    let (resize_tx, resize_rx) = mpsc::channel(8);
    let bad_input = CancellationToken::new();
    let reading = tokio::spawn(read_client(
        reader,
        options.stdin.then_some(stdin_tx),
        options.tty.then_some(resize_tx),
        gone.clone(),
        bad_input.clone(),
    ));
    let (stdout_tx, mut stdout_rx) = mpsc::channel::<Bytes>(8);
    let (stderr_tx, mut stderr_rx) = mpsc::channel::<Bytes>(8);

    let io = ClientIo {
        stdin: options.stdin.then_some(stdin_rx),
        resize: options.tty.then_some(resize_rx),
        stdout: options.stdout.then_some(stdout_tx),
        stderr: options.stderr.then_some(stderr_tx),
        gone: gone.clone(),
    };
    let outcome = match open_backend.await {
        Err(status) => {
            drop(io);
            Outcome::Failed(format!("{:?}: {}", status.code(), status.message()))
        }
        Ok(backend) => {
            let writing = async {
                let mut failed = false;
                loop {
                    let (channel, bytes) = tokio::select! {
                        Some(bytes) = stdout_rx.recv() => (STDOUT, bytes),
                        Some(bytes) = stderr_rx.recv() => (STDERR, bytes),
                        else => break,
                    };
                    if !failed && writer.send(channel, &bytes).await.is_err() {
                        failed = true;
                        gone.cancel();
                    }
                }
            };
            let (outcome, ()) = tokio::join!(session::run(io, backend), writing);
            outcome
        }
    };

    let report = async {
        if bad_input.is_cancelled() {
            let _ = writer.close(CloseCode::Protocol, "malformed channel message").await;
        } else if outcome != Outcome::ClientGone {
            if let Some(bytes) = outcome.error_stream_bytes(protocol.json_status()) {
                let _ = writer.send(ERROR, &bytes).await;
            }
            let _ = writer.close(CloseCode::Normal, "").await;
        }
    };
    // A client that stops reading cannot hold the session open.
    let _ = tokio::time::timeout(CLOSE_WAIT, report).await;
    finish_reading(reading).await;
    outcome
}

/// Waits a little for the client to answer our close, then stops reading.
async fn finish_reading(reading: tokio::task::JoinHandle<()>) {
    let abort = reading.abort_handle();
    if tokio::time::timeout(CLOSE_WAIT, reading).await.is_err() {
        abort.abort();
    }
}

/// Routes client messages to stdin and resize until the client closes.
async fn read_client<IO>(
    mut reader: ChannelReader<IO>,
    mut stdin: Option<mpsc::Sender<Bytes>>,
    mut resize: Option<mpsc::Sender<TerminalSize>>,
    gone: CancellationToken,
    bad_input: CancellationToken,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut decoder = ResizeDecoder::default();
    loop {
        let message = tokio::select! {
            message = reader.next() => message,
            () = gone.cancelled() => return,
        };
        match message {
            None => break,
            Some(Err(ChannelConnError::Channel(err))) => {
                tracing::debug!(error = %err, "malformed websocket channel message");
                bad_input.cancel();
                break;
            }
            Some(Err(err)) => {
                tracing::debug!(error = %err, "websocket read failed");
                break;
            }
            Some(Ok(Inbound::Data(STDIN, bytes))) => {
                if let Some(tx) = stdin.as_ref().filter(|_| !bytes.is_empty())
                    && tx.send(bytes).await.is_err()
                {
                    stdin = None;
                }
            }
            Some(Ok(Inbound::Data(RESIZE, bytes))) => {
                let Some(tx) = &resize else { continue };
                match decoder.push(&bytes) {
                    Ok(sizes) => {
                        for size in sizes {
                            let _ = tx.send(size).await;
                        }
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "ignoring the resize stream from now on");
                        resize = None;
                    }
                }
            }
            Some(Ok(Inbound::Close(STDIN))) => stdin = None,
            Some(Ok(Inbound::Close(RESIZE))) => resize = None,
            Some(Ok(_)) => {}
        }
    }
    gone.cancel();
}
