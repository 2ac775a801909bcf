//! WebSocket transport of the Kubernetes channel protocols (`channel.k8s.io`,
//! `base64.channel.k8s.io`, `v4.channel.k8s.io`, `v4.base64.channel.k8s.io`,
//! `v5.channel.k8s.io`).

mod channel;
mod connection;
mod handshake;

pub use channel::{CLOSE_CHANNEL, ChannelError, ChannelProtocol, Inbound};
pub use connection::{ChannelConnError, ChannelReader, ChannelWriter, server};
pub use handshake::{Accepted, HandshakeError, accept, is_websocket_request};
pub use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[cfg(test)]
mod connection_tests;
