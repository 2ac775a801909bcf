//! State shared by a connection's driver and its streams: the stream table, flow-control
//! windows and the queues towards the frame writer.
//!
//! Flow control (SPDY/3.1): each stream and the whole connection start with a 64 KiB
//! window in each direction. We grant the peer more with WINDOW_UPDATE as the application
//! consumes data. The peer's windows bound what we send, but only once the peer shows that
//! it implements flow control by sending a WINDOW_UPDATE: the SPDY/3 clients Kubernetes
//! uses (moby/spdystream) never send one and would otherwise stall after 64 KiB.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::frame::{Frame, RstStatus};

/// Why a stream operation failed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum StreamError {
    /// The peer aborted the stream with RST_STREAM.
    #[error("spdy stream: reset by peer ({0:?})")]
    Reset(RstStatus),
    /// The connection ended before the stream did.
    #[error("spdy stream: connection closed")]
    ConnectionClosed,
    /// We already sent FIN (or the stream was opened unidirectional).
    #[error("spdy stream: already finished")]
    AlreadyFinished,
}

/// Whether the peer's flow-control windows limit what we send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerWindowPolicy {
    /// Always honour them.
    Always,
    /// Honour them once the peer has sent a WINDOW_UPDATE (default).
    AfterFirstUpdate,
    /// Never (SPDY/3 without flow control).
    Never,
}

/// A frame for the writer. Data frames travel on a bounded queue (backpressure for
/// writers); control frames on their own queue that the writer drains first.
#[derive(Debug)]
pub(super) enum Outbound {
    Frame(Frame),
    /// Flush everything before this, then close our sending side.
    Shutdown,
}

#[derive(Debug)]
pub(super) struct StreamState {
    pub send_window: i64,
    pub recv_unacked: u32,
    pub inbound: Option<mpsc::Sender<Result<Bytes, StreamError>>>,
    pub local_closed: bool,
    pub remote_closed: bool,
    pub reset: Option<StreamError>,
}

#[derive(Debug)]
pub(super) struct State {
    pub streams: HashMap<u32, StreamState>,
    pub conn_send_window: i64,
    pub conn_recv_unacked: u32,
    pub peer_initial_window: i64,
    pub enforce_peer_window: bool,
    pub last_peer_stream: u32,
    pub going_away: bool,
    pub closed: bool,
}

pub(super) struct Shared {
    pub state: Mutex<State>,
    pub window_changed: Notify,
    pub data_tx: mpsc::Sender<Outbound>,
    pub control_tx: mpsc::Sender<Outbound>,
    pub ended: CancellationToken,
    pub initial_window: u32,
    pub max_data_frame: usize,
}

impl Shared {
    /// Locks the state; a poisoned lock (a panic elsewhere) still yields the data.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a control frame without waiting; false when the queue is full or closed.
    pub fn send_control(&self, frame: Frame) -> bool {
        self.control_tx.try_send(Outbound::Frame(frame)).is_ok()
    }

    /// Removes a stream once both directions are closed.
    pub fn forget_if_done(state: &mut State, id: u32) {
        if state.streams.get(&id).is_some_and(|s| s.local_closed && s.remote_closed) {
            state.streams.remove(&id);
        }
    }

    /// Records that the application consumed `n` bytes of stream `id` and grants the peer
    /// more window once half of it has been used.
    pub fn consumed(&self, id: u32, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let threshold = (self.initial_window / 2).max(1);
        let mut updates = Vec::new();
        {
            let mut state = self.lock();
            state.conn_recv_unacked = state.conn_recv_unacked.saturating_add(n);
            if state.conn_recv_unacked >= threshold {
                updates.push((0, state.conn_recv_unacked));
                state.conn_recv_unacked = 0;
            }
            if let Some(stream) = state.streams.get_mut(&id) {
                stream.recv_unacked = stream.recv_unacked.saturating_add(n);
                if stream.recv_unacked >= threshold && !stream.remote_closed {
                    updates.push((id, stream.recv_unacked));
                    stream.recv_unacked = 0;
                }
            }
        }
        for (stream_id, delta) in updates {
            // A full control queue only delays the grant; the peer gets a larger one later.
            let _ = self.send_control(Frame::WindowUpdate { stream_id, delta });
        }
    }

    /// Takes up to `want` bytes of send window for stream `id`, waiting while the windows
    /// are exhausted.
    pub async fn acquire_send_window(&self, id: u32, want: usize) -> Result<usize, StreamError> {
        let want = want.min(self.max_data_frame);
        loop {
            let notified = self.window_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if state.closed {
                    return Err(StreamError::ConnectionClosed);
                }
                let enforce = state.enforce_peer_window;
                let conn_window = state.conn_send_window;
                let Some(stream) = state.streams.get_mut(&id) else {
                    return Err(StreamError::ConnectionClosed);
                };
                if let Some(err) = &stream.reset {
                    return Err(err.clone());
                }
                if stream.local_closed {
                    return Err(StreamError::AlreadyFinished);
                }
                let available = if enforce { stream.send_window.min(conn_window) } else { want as i64 };
                if available > 0 || want == 0 {
                    let take = (want as i64).min(available.max(0)) as usize;
                    stream.send_window -= take as i64;
                    state.conn_send_window -= take as i64;
                    return Ok(take);
                }
            }
            notified.await;
        }
    }
}
