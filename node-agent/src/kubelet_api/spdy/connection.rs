//! The server side of a SPDY/3.1 connection: accepts the peer's streams, answers PINGs,
//! keeps flow-control windows and ends cleanly with GOAWAY.
//!
//! [`Connection::new`] returns the application handle and a [`Driver`] future that must be
//! polled (spawned) for anything to happen. A malformed frame ends the connection with
//! GOAWAY(PROTOCOL_ERROR) and an error from the driver; it never panics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, mpsc};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;

use super::codec::{FrameDecoder, FrameEncoder, FrameError};
use super::frame::{Frame, GoAwayStatus};
use super::reader::FrameHandler;
use super::shared::{Outbound, PeerWindowPolicy, Shared, State, StreamError};
use super::stream::SpdyStream;

/// Tunables of a connection.
#[derive(Clone, Debug)]
pub struct Config {
    /// Initial flow-control window of each stream and of the connection (64 KiB in SPDY/3.1).
    pub initial_window: u32,
    /// Streams open at once; more are refused with RST_STREAM(REFUSED_STREAM).
    pub max_concurrent_streams: usize,
    /// Largest DATA payload we send in one frame.
    pub max_data_frame: usize,
    /// Whether the peer's windows limit our sending.
    pub peer_window_policy: PeerWindowPolicy,
    /// After our GOAWAY, how long to wait for the peer to close and for queued frames to go out.
    pub linger: Duration,
    /// End the connection (GOAWAY) when no frame was read or written for this long, like the
    /// kubelet's `--streaming-connection-idle-timeout`. `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Control frames (PING replies, WINDOW_UPDATE, RST_STREAM) that may wait for the writer;
    /// a peer that makes us exceed this is flooding us and is disconnected.
    pub max_queued_control_frames: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            initial_window: 64 * 1024,
            max_concurrent_streams: 100,
            max_data_frame: 32 * 1024,
            peer_window_policy: PeerWindowPolicy::AfterFirstUpdate,
            linger: Duration::from_secs(5),
            idle_timeout: None,
            max_queued_control_frames: 1024,
        }
    }
}

/// How a connection ended badly.
#[derive(Debug, Error)]
pub enum ConnectionError {
    /// The peer sent bytes that are not valid SPDY/3.1.
    #[error("spdy connection: malformed input: {0}")]
    Malformed(#[source] FrameError),
    /// The peer broke a protocol rule with well-formed frames.
    #[error("spdy connection: protocol violation: {0}")]
    Protocol(String),
    /// Reading from or writing to the transport failed.
    #[error("spdy connection: transport: {0}")]
    Io(#[source] std::io::Error),
    /// No frame went either way for the idle timeout.
    #[error("spdy connection: idle for {0:?}")]
    Idle(Duration),
    /// The frame encoder could not be created or failed.
    #[error("spdy connection: encoding frame: {0}")]
    Encode(#[source] FrameError),
}

/// The application's handle: accept streams, shut down.
pub struct Connection {
    incoming: mpsc::Receiver<SpdyStream>,
    shared: Arc<Shared>,
}

/// The future that runs the connection: reads and writes frames until the end.
pub struct Driver<IO> {
    io: IO,
    shared: Arc<Shared>,
    incoming: mpsc::Sender<SpdyStream>,
    data_rx: mpsc::Receiver<Outbound>,
    control_rx: mpsc::Receiver<Outbound>,
    config: Config,
}

impl Connection {
    /// Starts a server-side connection over `io` (the upgraded HTTP connection).
    pub fn new<IO>(io: IO, config: Config) -> (Connection, Driver<IO>)
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (data_tx, data_rx) = mpsc::channel(32);
        let (control_tx, control_rx) = mpsc::channel(config.max_queued_control_frames.max(1));
        let (incoming_tx, incoming_rx) = mpsc::channel(config.max_concurrent_streams.max(1));
        let state = State {
            streams: HashMap::new(),
            conn_send_window: i64::from(config.initial_window),
            conn_recv_unacked: 0,
            peer_initial_window: i64::from(config.initial_window),
            enforce_peer_window: config.peer_window_policy == PeerWindowPolicy::Always,
            last_peer_stream: 0,
            going_away: false,
            closed: false,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            window_changed: Notify::new(),
            data_tx,
            control_tx,
            ended: CancellationToken::new(),
            initial_window: config.initial_window,
            max_data_frame: config.max_data_frame.max(1),
        });
        let connection = Connection { incoming: incoming_rx, shared: shared.clone() };
        let driver = Driver { io, shared, incoming: incoming_tx, data_rx, control_rx, config };
        (connection, driver)
    }

    /// The next stream the peer opens; `None` once the connection ended or is going away.
    pub async fn accept(&mut self) -> Option<SpdyStream> {
        tokio::select! {
            stream = self.incoming.recv() => stream,
            () = self.shared.ended.cancelled() => None,
        }
    }

    /// Sends GOAWAY(OK) after everything already queued, then closes our side. Streams
    /// still open get no more data from us.
    pub async fn shutdown(&self) {
        let last_good_stream_id = {
            let mut state = self.shared.lock();
            if state.going_away {
                return;
            }
            state.going_away = true;
            state.last_peer_stream
        };
        let goaway = Frame::GoAway { last_good_stream_id, status: GoAwayStatus::Ok };
        if self.shared.data_tx.send(Outbound::Frame(goaway)).await.is_ok() {
            let _ = self.shared.data_tx.send(Outbound::Shutdown).await;
        }
    }

    /// Resolves when the driver has finished.
    pub async fn closed(&self) {
        self.shared.ended.cancelled().await;
    }
}

impl<IO> Driver<IO>
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    /// Runs the connection to its end.
    pub async fn run(self) -> Result<(), ConnectionError> {
        let Driver { io, shared, incoming, data_rx, control_rx, config } = self;
        let encoder = match FrameEncoder::new() {
            Ok(encoder) => encoder,
            Err(err) => {
                finish(&shared);
                return Err(ConnectionError::Encode(err));
            }
        };
        let (read, write) = tokio::io::split(io);
        let writer_done = CancellationToken::new();
        let activity = Arc::new(Activity::default());
        let write_fut = write_loop(
            FramedWrite::new(write, encoder),
            data_rx,
            control_rx,
            writer_done.clone(),
            activity.clone(),
        );
        tokio::pin!(write_fut);

        let handler = FrameHandler::new(shared.clone(), incoming, config.clone());
        let frames = FramedRead::new(read, FrameDecoder::new());
        let read_fut = read_loop(frames, handler, writer_done, &config, activity);
        tokio::pin!(read_fut);

        let mut write_result = None;
        let read_result = loop {
            tokio::select! {
                result = &mut read_fut => break result,
                result = &mut write_fut, if write_result.is_none() => write_result = Some(result),
            }
        };
        if write_result.is_none() {
            // Give queued frames (a final GOAWAY) a bounded time to leave.
            write_result = tokio::time::timeout(config.linger, &mut write_fut).await.ok();
        }
        finish(&shared);
        read_result?;
        match write_result {
            Some(Err(err)) => Err(err),
            _ => Ok(()),
        }
    }
}

/// Marks the connection ended and wakes everyone waiting on it.
fn finish(shared: &Shared) {
    {
        let mut state = shared.lock();
        state.closed = true;
        for (_, stream) in state.streams.drain() {
            if let Some(inbound) = stream.inbound.filter(|_| !stream.remote_closed) {
                let _ = inbound.try_send(Err(StreamError::ConnectionClosed));
            }
        }
    }
    shared.window_changed.notify_waiters();
    shared.ended.cancel();
}

/// When a frame last went either way.
struct Activity {
    last: Mutex<tokio::time::Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Self { last: Mutex::new(tokio::time::Instant::now()) }
    }
}

impl Activity {
    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = tokio::time::Instant::now();
    }

    fn last(&self) -> tokio::time::Instant {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves once nothing happened for `timeout`; never without one.
    async fn idle_for(&self, timeout: Option<Duration>) {
        let Some(timeout) = timeout else { return std::future::pending().await };
        loop {
            let deadline = self.last() + timeout;
            if deadline <= tokio::time::Instant::now() {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

async fn read_loop<R>(
    mut frames: FramedRead<R, FrameDecoder>,
    mut handler: FrameHandler,
    writer_done: CancellationToken,
    config: &Config,
    activity: Arc<Activity>,
) -> Result<(), ConnectionError>
where
    R: AsyncRead + Unpin,
{
    let linger_after_writer = async {
        writer_done.cancelled().await;
        tokio::time::sleep(config.linger).await;
    };
    tokio::pin!(linger_after_writer);
    let idle = activity.idle_for(config.idle_timeout);
    tokio::pin!(idle);
    loop {
        let next = tokio::select! {
            next = frames.next() => next,
            () = &mut linger_after_writer => return Ok(()),
            () = &mut idle => {
                handler.fail(GoAwayStatus::Ok).await;
                return Err(ConnectionError::Idle(config.idle_timeout.unwrap_or_default()));
            }
        };
        activity.touch();
        match next {
            None => {
                handler.peer_closed().await;
                return Ok(());
            }
            Some(Err(FrameError::Io(err))) => {
                handler.peer_closed().await;
                return Err(ConnectionError::Io(err));
            }
            Some(Err(err)) => {
                handler.fail(GoAwayStatus::ProtocolError).await;
                return Err(ConnectionError::Malformed(err));
            }
            Some(Ok(frame)) => {
                if let Err(violation) = handler.handle(frame).await {
                    handler.fail(GoAwayStatus::ProtocolError).await;
                    return Err(violation);
                }
            }
        }
    }
}

async fn write_loop<W>(
    mut sink: FramedWrite<W, FrameEncoder>,
    mut data_rx: mpsc::Receiver<Outbound>,
    mut control_rx: mpsc::Receiver<Outbound>,
    done: CancellationToken,
    activity: Arc<Activity>,
) -> Result<(), ConnectionError>
where
    W: AsyncWrite + Unpin,
{
    let result = async {
        loop {
            let next = tokio::select! {
                biased;
                Some(item) = control_rx.recv() => item,
                Some(item) = data_rx.recv() => item,
                else => return Ok(()),
            };
            match next {
                Outbound::Frame(frame) => {
                    sink.feed(frame).await.map_err(write_error)?;
                    activity.touch();
                    if control_rx.is_empty() && data_rx.is_empty() {
                        sink.flush().await.map_err(write_error)?;
                    }
                }
                Outbound::Shutdown => {
                    while let Ok(Outbound::Frame(frame)) = control_rx.try_recv() {
                        sink.feed(frame).await.map_err(write_error)?;
                    }
                    sink.close().await.map_err(write_error)?;
                    return Ok(());
                }
            }
        }
    }
    .await;
    done.cancel();
    result
}

fn write_error(err: FrameError) -> ConnectionError {
    match err {
        FrameError::Io(err) => ConnectionError::Io(err),
        other => ConnectionError::Encode(other),
    }
}
