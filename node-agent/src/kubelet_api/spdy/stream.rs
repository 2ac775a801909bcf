//! A stream the peer opened, split into a receiving and a sending half.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use super::frame::{Frame, RstStatus};
use super::header_block::HeaderBlock;
use super::shared::{Outbound, Shared, StreamError};

/// Header that names a stream's role in the Kubernetes protocols.
pub const STREAM_TYPE_HEADER: &str = "streamtype";

/// A stream opened by the peer and already accepted with SYN_REPLY.
pub struct SpdyStream {
    headers: HeaderBlock,
    recv: RecvHalf,
    send: SendHalf,
}

impl SpdyStream {
    pub(super) fn new(
        id: u32,
        headers: HeaderBlock,
        rx: mpsc::Receiver<Result<Bytes, StreamError>>,
        shared: Arc<Shared>,
    ) -> Self {
        let recv = RecvHalf { id, rx, shared: shared.clone(), pending: Bytes::new(), done: false };
        let send = SendHalf { id, shared, finished: false };
        Self { headers, recv, send }
    }

    /// Stream id.
    pub fn id(&self) -> u32 {
        self.send.id
    }

    /// Headers of the SYN_STREAM.
    pub fn headers(&self) -> &HeaderBlock {
        &self.headers
    }

    /// The `streamType` header (`stdin`, `stdout`, `stderr`, `error`, `resize`, `data`...).
    pub fn stream_type(&self) -> Option<&str> {
        self.headers.get(STREAM_TYPE_HEADER)
    }

    /// Splits into the half that reads the peer's data and the half that sends ours.
    pub fn split(self) -> (RecvHalf, SendHalf) {
        (self.recv, self.send)
    }
}

/// Data the peer sends on one stream. Also an [`AsyncRead`].
pub struct RecvHalf {
    id: u32,
    rx: mpsc::Receiver<Result<Bytes, StreamError>>,
    shared: Arc<Shared>,
    pending: Bytes,
    done: bool,
}

impl RecvHalf {
    /// Stream id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The next chunk; `Ok(None)` once the peer sent FIN.
    pub async fn recv(&mut self) -> Result<Option<Bytes>, StreamError> {
        if !self.pending.is_empty() {
            return Ok(Some(std::mem::take(&mut self.pending)));
        }
        if self.done {
            return Ok(None);
        }
        match self.rx.recv().await {
            Some(Ok(chunk)) => {
                self.shared.consumed(self.id, chunk.len());
                Ok(Some(chunk))
            }
            Some(Err(err)) => {
                self.done = true;
                Err(err)
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }
}

impl AsyncRead for RecvHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        while this.pending.is_empty() && !this.done {
            match ready!(this.rx.poll_recv(cx)) {
                Some(Ok(chunk)) => {
                    this.shared.consumed(this.id, chunk.len());
                    this.pending = chunk;
                }
                Some(Err(err)) => {
                    this.done = true;
                    return Poll::Ready(Err(std::io::Error::other(err)));
                }
                None => this.done = true,
            }
        }
        let n = this.pending.len().min(buf.remaining());
        buf.put_slice(&this.pending[..n]);
        this.pending.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// Our data on one stream. Dropping it unfinished resets the stream (CANCEL).
pub struct SendHalf {
    id: u32,
    shared: Arc<Shared>,
    finished: bool,
}

impl SendHalf {
    /// Stream id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Sends `data` in DATA frames, within the peer's flow-control windows.
    pub async fn send(&mut self, mut data: Bytes) -> Result<(), StreamError> {
        if self.finished {
            return Err(StreamError::AlreadyFinished);
        }
        while !data.is_empty() {
            let n = self.shared.acquire_send_window(self.id, data.len()).await?;
            let chunk = data.split_to(n);
            self.queue(Frame::Data { stream_id: self.id, fin: false, data: chunk }).await?;
        }
        Ok(())
    }

    /// Sends FIN: we will send nothing more on this stream.
    pub async fn finish(&mut self) -> Result<(), StreamError> {
        if self.finished {
            return Ok(());
        }
        self.shared.acquire_send_window(self.id, 0).await?;
        self.finished = true;
        self.queue(Frame::Data { stream_id: self.id, fin: true, data: Bytes::new() }).await?;
        let mut state = self.shared.lock();
        if let Some(stream) = state.streams.get_mut(&self.id) {
            stream.local_closed = true;
        }
        Shared::forget_if_done(&mut state, self.id);
        Ok(())
    }

    /// Aborts the stream in both directions.
    pub async fn reset(mut self, status: RstStatus) -> Result<(), StreamError> {
        self.finished = true;
        self.shared.lock().streams.remove(&self.id);
        self.queue(Frame::RstStream { stream_id: self.id, status }).await
    }

    async fn queue(&self, frame: Frame) -> Result<(), StreamError> {
        self.shared.data_tx.send(Outbound::Frame(frame)).await.map_err(|_| StreamError::ConnectionClosed)
    }
}

impl Drop for SendHalf {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let open = self.shared.lock().streams.remove(&self.id).is_some();
        if open {
            let _ =
                self.shared.send_control(Frame::RstStream { stream_id: self.id, status: RstStatus::Cancel });
        }
    }
}
