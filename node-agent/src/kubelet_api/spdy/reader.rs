//! What the connection does with each frame the peer sends.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::connection::{Config, ConnectionError};
use super::frame::{
    Frame, GoAwayStatus, MAX_WINDOW, RstStatus, SETTINGS_INITIAL_WINDOW_SIZE, Setting, SynStream,
};
use super::header_block::HeaderBlock;
use super::shared::{Outbound, PeerWindowPolicy, Shared, StreamError, StreamState};
use super::stream::SpdyStream;

/// Chunks buffered per stream before the reader waits for the application.
const INBOUND_CHUNKS: usize = 16;

pub(super) struct FrameHandler {
    shared: Arc<Shared>,
    incoming: mpsc::Sender<SpdyStream>,
    config: Config,
}

impl FrameHandler {
    pub fn new(shared: Arc<Shared>, incoming: mpsc::Sender<SpdyStream>, config: Config) -> Self {
        Self { shared, incoming, config }
    }

    /// Handles one frame; an error is a session-level protocol violation.
    pub async fn handle(&mut self, frame: Frame) -> Result<(), ConnectionError> {
        match frame {
            Frame::SynStream(syn) => self.on_syn_stream(syn).await,
            Frame::Data { stream_id, fin, data } => self.on_data(stream_id, fin, data).await,
            Frame::RstStream { stream_id, status } => {
                self.on_reset(stream_id, status);
                Ok(())
            }
            Frame::Ping { id } => {
                // Odd ids come from the client; even ids would answer our own pings (none).
                if id % 2 == 1 {
                    self.control(Frame::Ping { id })?;
                }
                Ok(())
            }
            Frame::Settings { entries, .. } => {
                self.on_settings(&entries);
                Ok(())
            }
            Frame::WindowUpdate { stream_id, delta } => self.on_window_update(stream_id, delta),
            Frame::Headers { stream_id, fin, .. } => {
                if fin {
                    self.remote_finished(stream_id);
                }
                Ok(())
            }
            Frame::GoAway { .. } => {
                // The peer opens no more streams; the open ones carry on until they end.
                Ok(())
            }
            Frame::SynReply { stream_id, .. } => {
                Err(ConnectionError::Protocol(format!("SYN_REPLY for stream {stream_id} we never opened")))
            }
            Frame::Unknown { .. } => Ok(()),
        }
    }

    /// The peer closed the transport: close our side after what is queued.
    pub async fn peer_closed(&mut self) {
        let _ = self.shared.control_tx.try_send(Outbound::Shutdown);
    }

    /// Ends the session after a violation: GOAWAY with `status`, then close.
    pub async fn fail(&mut self, status: GoAwayStatus) {
        let last_good_stream_id = {
            let mut state = self.shared.lock();
            state.going_away = true;
            state.last_peer_stream
        };
        let _ = self.shared.send_control(Frame::GoAway { last_good_stream_id, status });
        let _ = self.shared.control_tx.try_send(Outbound::Shutdown);
    }

    fn control(&self, frame: Frame) -> Result<(), ConnectionError> {
        if self.shared.send_control(frame) {
            Ok(())
        } else {
            Err(ConnectionError::Protocol("peer floods control frames faster than it reads".into()))
        }
    }

    async fn on_syn_stream(&mut self, syn: SynStream) -> Result<(), ConnectionError> {
        let id = syn.stream_id;
        let (rx, refused) = {
            let mut state = self.shared.lock();
            if id.is_multiple_of(2) || id <= state.last_peer_stream {
                return Err(ConnectionError::Protocol(format!(
                    "SYN_STREAM with stream id {id} after {}",
                    state.last_peer_stream
                )));
            }
            state.last_peer_stream = id;
            if state.going_away {
                // After our GOAWAY new streams are ignored.
                return Ok(());
            }
            if state.streams.len() >= self.config.max_concurrent_streams || self.incoming.is_closed() {
                (None, true)
            } else {
                let (tx, rx) = mpsc::channel(INBOUND_CHUNKS);
                let stream = StreamState {
                    send_window: state.peer_initial_window,
                    recv_unacked: 0,
                    inbound: (!syn.fin).then_some(tx),
                    local_closed: syn.unidirectional,
                    remote_closed: syn.fin,
                    reset: None,
                };
                state.streams.insert(id, stream);
                (Some(rx), false)
            }
        };
        if refused {
            return self.control(Frame::RstStream { stream_id: id, status: RstStatus::RefusedStream });
        }
        let Some(rx) = rx else { return Ok(()) };
        if !syn.unidirectional {
            let reply = Frame::SynReply { stream_id: id, fin: false, headers: HeaderBlock::new() };
            self.control(reply)?;
        }
        let stream = SpdyStream::new(id, syn.headers, rx, self.shared.clone());
        if let Err(err) = self.incoming.try_send(stream) {
            // Nobody accepts streams any more (or too many wait): refuse this one.
            let stream = match err {
                mpsc::error::TrySendError::Full(s) | mpsc::error::TrySendError::Closed(s) => s,
            };
            drop(stream);
        }
        Ok(())
    }

    async fn on_data(&mut self, id: u32, fin: bool, data: bytes::Bytes) -> Result<(), ConnectionError> {
        let inbound = {
            let state = self.shared.lock();
            match state.streams.get(&id) {
                None => None,
                Some(stream) if stream.remote_closed => {
                    drop(state);
                    return self
                        .control(Frame::RstStream { stream_id: id, status: RstStatus::StreamAlreadyClosed });
                }
                Some(stream) => Some(stream.inbound.clone()),
            }
        };
        let Some(inbound) = inbound else {
            // Unknown or already reset stream: tell the peer, credit the connection window.
            self.shared.consumed(id, data.len());
            return self.control(Frame::RstStream { stream_id: id, status: RstStatus::InvalidStream });
        };
        if !data.is_empty() {
            let len = data.len();
            let delivered = match &inbound {
                Some(tx) => tx.send(Ok(data)).await.is_ok(),
                None => false,
            };
            if !delivered {
                // The application dropped its reader: discard, but keep the windows open.
                self.shared.consumed(id, len);
            }
        }
        if fin {
            self.remote_finished(id);
        }
        Ok(())
    }

    fn remote_finished(&self, id: u32) {
        let mut state = self.shared.lock();
        if let Some(stream) = state.streams.get_mut(&id) {
            stream.remote_closed = true;
            stream.inbound = None;
        }
        Shared::forget_if_done(&mut state, id);
    }

    fn on_reset(&self, id: u32, status: RstStatus) {
        let removed = self.shared.lock().streams.remove(&id);
        if let Some(inbound) = removed.and_then(|stream| stream.inbound) {
            let _ = inbound.try_send(Err(StreamError::Reset(status)));
        }
        // Writers blocked on this stream's window re-check and see it gone.
        self.shared.window_changed.notify_waiters();
    }

    fn on_settings(&self, entries: &[Setting]) {
        let mut state = self.shared.lock();
        for entry in entries {
            if entry.id == SETTINGS_INITIAL_WINDOW_SIZE && entry.value <= MAX_WINDOW {
                let delta = i64::from(entry.value) - state.peer_initial_window;
                state.peer_initial_window = i64::from(entry.value);
                for stream in state.streams.values_mut() {
                    stream.send_window += delta;
                }
            }
        }
        drop(state);
        self.shared.window_changed.notify_waiters();
    }

    fn on_window_update(&self, id: u32, delta: u32) -> Result<(), ConnectionError> {
        let mut state = self.shared.lock();
        if self.config.peer_window_policy == PeerWindowPolicy::AfterFirstUpdate {
            state.enforce_peer_window = true;
        }
        let delta = i64::from(delta);
        if id == 0 {
            state.conn_send_window += delta;
            if state.conn_send_window > i64::from(MAX_WINDOW) {
                return Err(ConnectionError::Protocol("connection window overflow".into()));
            }
        } else if let Some(stream) = state.streams.get_mut(&id) {
            stream.send_window += delta;
            if stream.send_window > i64::from(MAX_WINDOW) {
                stream.reset = Some(StreamError::Reset(RstStatus::FlowControlError));
                state.streams.remove(&id);
                drop(state);
                self.shared.window_changed.notify_waiters();
                return self.control(Frame::RstStream { stream_id: id, status: RstStatus::FlowControlError });
            }
        }
        drop(state);
        self.shared.window_changed.notify_waiters();
        Ok(())
    }
}
