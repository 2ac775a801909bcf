//! A remote-command session over SPDY: the client opens one stream per role (identified
//! by `streamType`), we bridge them to the provider and report the outcome on the error
//! stream before closing the connection.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vk_proto::v1::ExecResponse;

use super::backend::Backend;
use super::options::ExecOptions;
use super::protocol::StreamProtocol;
use super::resize::ResizeDecoder;
use super::session::{self, ClientIo};
use super::status::Outcome;
use crate::kubelet_api::spdy::{self, Connection, RecvHalf, SendHalf, SpdyStream};

/// Longest wait for the connection to end after the session.
const END_TIMEOUT: Duration = Duration::from_secs(15);

/// Timing of a SPDY session.
#[derive(Clone, Debug)]
pub struct SpdySessionConfig {
    /// How long the client has to open all its streams (the kubelet's default is 30 s).
    pub stream_creation_timeout: Duration,
    /// How long queued output may take to reach the client at the end.
    pub drain_timeout: Duration,
    /// The SPDY connection's tunables.
    pub connection: spdy::Config,
}

impl Default for SpdySessionConfig {
    fn default() -> Self {
        Self {
            stream_creation_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
            // The kubelet's default --streaming-connection-idle-timeout.
            connection: spdy::Config {
                idle_timeout: Some(Duration::from_secs(4 * 3600)),
                ..spdy::Config::default()
            },
        }
    }
}

/// Why a SPDY session could not run.
#[derive(Debug, Error)]
pub enum SpdySessionError {
    /// The client did not open the expected streams in time.
    #[error("remote command over spdy: timed out waiting for the client to create streams")]
    StreamCreationTimeout,
    /// The client left before opening its streams.
    #[error("remote command over spdy: connection closed while waiting for streams")]
    ClosedBeforeStreams,
    /// The client opened no error stream.
    #[error("remote command over spdy: the client opened no error stream")]
    NoErrorStream,
}

#[derive(Default)]
struct Streams {
    error: Option<SpdyStream>,
    stdin: Option<SpdyStream>,
    stdout: Option<SpdyStream>,
    stderr: Option<SpdyStream>,
    resize: Option<SpdyStream>,
}

/// Runs a session on an upgraded connection (after answering 101 with `protocol`).
/// `open_backend` is awaited once the client's streams exist.
pub async fn serve<IO, F, S>(
    io: IO,
    protocol: StreamProtocol,
    options: &ExecOptions,
    open_backend: F,
    config: SpdySessionConfig,
) -> Result<Outcome, SpdySessionError>
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
    F: Future<Output = Result<Backend<S>, tonic::Status>>,
    S: Stream<Item = Result<ExecResponse, tonic::Status>> + Unpin,
{
    let (mut conn, driver) = Connection::new(io, config.connection.clone());
    let driver = tokio::spawn(driver.run());
    let streams = match collect_streams(&mut conn, protocol, options, config.stream_creation_timeout).await {
        Ok(streams) => streams,
        Err(err) => {
            end_connection(&conn, driver).await;
            return Err(err);
        }
    };
    let Streams { error, stdin, stdout, stderr, resize } = streams;
    let Some(error) = error else {
        end_connection(&conn, driver).await;
        return Err(SpdySessionError::NoErrorStream);
    };
    let (_, mut error_send) = error.split();
    let gone = CancellationToken::new();
    let mut our_halves = Vec::new();

    let stdin_rx = stdin.filter(|_| options.stdin).map(|stream| {
        let (recv, send) = stream.split();
        our_halves.push(send);
        pump_in(recv, |chunk| Some(vec![chunk]))
    });
    let resize_rx = resize.filter(|_| options.tty && protocol.supports_resize()).map(|stream| {
        let (recv, send) = stream.split();
        our_halves.push(send);
        let mut decoder = ResizeDecoder::default();
        pump_in(recv, move |chunk: Bytes| decoder.push(&chunk).ok())
    });
    if protocol == StreamProtocol::V1 {
        // v1 kubelets close their side of stdin at once.
        for half in &mut our_halves {
            let _ = half.finish().await;
        }
    }
    let (stdout_tx, stdout_pump) = pump_out(stdout.filter(|_| options.stdout), gone.clone());
    let (stderr_tx, stderr_pump) = pump_out(stderr.filter(|_| options.stderr), gone.clone());

    let io = ClientIo { stdin: stdin_rx, resize: resize_rx, stdout: stdout_tx, stderr: stderr_tx, gone };
    let outcome = match open_backend.await {
        Err(status) => {
            // Closes the output channels, so the pumps send FIN.
            drop(io);
            Outcome::Failed(format!("{:?}: {}", status.code(), status.message()))
        }
        Ok(backend) => {
            tokio::select! {
                outcome = session::run(io, backend) => outcome,
                () = conn.closed() => Outcome::ClientGone,
            }
        }
    };

    // Output already queued reaches the client before the status.
    for pump in [stdout_pump, stderr_pump].into_iter().flatten() {
        let _ = tokio::time::timeout(config.drain_timeout, pump).await;
    }
    let report = async {
        if let Some(bytes) = outcome.error_stream_bytes(protocol.json_status()) {
            let _ = error_send.send(Bytes::from(bytes)).await;
        }
        let _ = error_send.finish().await;
        for half in &mut our_halves {
            let _ = half.finish().await;
        }
    };
    // A client that stops reading cannot hold the session open.
    let _ = tokio::time::timeout(config.drain_timeout, report).await;
    end_connection(&conn, driver).await;
    Ok(outcome)
}

async fn collect_streams(
    conn: &mut Connection,
    protocol: StreamProtocol,
    options: &ExecOptions,
    timeout: Duration,
) -> Result<Streams, SpdySessionError> {
    let expected = 1
        + usize::from(options.stdin)
        + usize::from(options.stdout)
        + usize::from(options.stderr)
        + usize::from(options.tty && protocol.supports_resize());
    let mut streams = Streams::default();
    let mut received = 0;
    let collect = async {
        while received < expected {
            let stream = conn.accept().await.ok_or(SpdySessionError::ClosedBeforeStreams)?;
            let slot = match stream.stream_type() {
                Some("error") => &mut streams.error,
                Some("stdin") => &mut streams.stdin,
                Some("stdout") => &mut streams.stdout,
                Some("stderr") => &mut streams.stderr,
                Some("resize") if protocol.supports_resize() => &mut streams.resize,
                other => {
                    tracing::debug!(stream_type = ?other, "ignoring unexpected spdy stream");
                    continue;
                }
            };
            *slot = Some(stream);
            received += 1;
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, collect).await {
        Ok(Ok(())) => Ok(streams),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(SpdySessionError::StreamCreationTimeout),
    }
}

/// Pumps a client stream into a channel, mapping each chunk to zero or more items. The
/// channel closes at the client's FIN (or reset, or an undecodable chunk).
fn pump_in<T, M>(mut recv: RecvHalf, mut map: M) -> mpsc::Receiver<T>
where
    T: Send + 'static,
    M: FnMut(Bytes) -> Option<Vec<T>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        while let Ok(Some(chunk)) = recv.recv().await {
            let Some(items) = map(chunk) else { break };
            for item in items {
                if tx.send(item).await.is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// A channel whose bytes go out on a client stream; FIN once the channel closes. A failed
/// send means the client is gone.
fn pump_out(
    stream: Option<SpdyStream>,
    gone: CancellationToken,
) -> (Option<mpsc::Sender<Bytes>>, Option<JoinHandle<()>>) {
    let Some(stream) = stream else { return (None, None) };
    let (_, mut send): (RecvHalf, SendHalf) = stream.split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(8);
    let task = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if send.send(bytes).await.is_err() {
                gone.cancel();
                return;
            }
        }
        let _ = send.finish().await;
    });
    (Some(tx), Some(task))
}

/// GOAWAY, then wait for the driver; a peer that neither reads nor closes is cut off.
async fn end_connection(conn: &Connection, driver: JoinHandle<Result<(), spdy::ConnectionError>>) {
    let abort = driver.abort_handle();
    let ending = async {
        conn.shutdown().await;
        driver.await
    };
    match tokio::time::timeout(END_TIMEOUT, ending).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => tracing::debug!(error = %err, "spdy connection ended with an error"),
        Ok(Err(err)) => tracing::warn!(error = %err, "spdy connection task failed"),
        Err(_) => {
            tracing::debug!("spdy connection did not end in time; closing it");
            abort.abort();
        }
    }
}
