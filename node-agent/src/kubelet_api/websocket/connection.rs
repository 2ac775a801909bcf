//! A WebSocket connection speaking a channel protocol, split into a reader and a writer.

use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{self, Message};

use super::channel::{ChannelError, ChannelProtocol, Inbound};

/// Why a channel connection failed.
#[derive(Debug, Error)]
pub enum ChannelConnError {
    /// The client sent a malformed channel message.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The WebSocket layer failed (I/O, protocol).
    #[error("websocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
}

/// Reads client messages as channel data.
pub struct ChannelReader<S> {
    stream: SplitStream<WebSocketStream<S>>,
    protocol: ChannelProtocol,
}

/// Writes channel data to the client.
pub struct ChannelWriter<S> {
    sink: SplitSink<WebSocketStream<S>, Message>,
    protocol: ChannelProtocol,
}

/// Wraps an upgraded connection (the handshake already answered) as the server side.
pub async fn server<S>(io: S, protocol: ChannelProtocol) -> (ChannelReader<S>, ChannelWriter<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
    let (sink, stream) = ws.split();
    (ChannelReader { stream, protocol }, ChannelWriter { sink, protocol })
}

impl<S> ChannelReader<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The next data or CLOSE message; `None` when the client closed the connection.
    /// Pings are answered by the WebSocket layer.
    pub async fn next(&mut self) -> Option<Result<Inbound, ChannelConnError>> {
        loop {
            let message = match self.stream.next().await? {
                Ok(message) => message,
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => return None,
                Err(err) => return Some(Err(err.into())),
            };
            if let Message::Close(_) = message {
                return None;
            }
            match self.protocol.decode(&message) {
                Ok(Some(inbound)) => return Some(Ok(inbound)),
                Ok(None) => continue,
                Err(err) => return Some(Err(err.into())),
            }
        }
    }
}

impl<S> ChannelWriter<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The negotiated protocol.
    pub fn protocol(&self) -> ChannelProtocol {
        self.protocol
    }

    /// Sends `data` on `channel`.
    pub async fn send(&mut self, channel: u8, data: &[u8]) -> Result<(), ChannelConnError> {
        Ok(self.sink.send(self.protocol.encode(channel, data)).await?)
    }

    /// Sends the v5 CLOSE signal for `channel` (nothing on older protocols).
    pub async fn close_channel(&mut self, channel: u8) -> Result<(), ChannelConnError> {
        match self.protocol.encode_close(channel) {
            Some(message) => Ok(self.sink.send(message).await?),
            None => Ok(()),
        }
    }

    /// Ends the connection with a close frame (`Normal`, or `Protocol` after bad input).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), ChannelConnError> {
        let frame = CloseFrame { code, reason: reason.to_owned().into() };
        match self.sink.send(Message::Close(Some(frame))).await {
            Ok(()) | Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Sends raw data bytes as a message on `channel` (convenience for `Bytes`).
    pub async fn send_bytes(&mut self, channel: u8, data: Bytes) -> Result<(), ChannelConnError> {
        self.send(channel, &data).await
    }
}
