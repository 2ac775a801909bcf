//! The Kubernetes channel protocols over WebSocket: each message carries one channel's data.
//!
//! - `channel.k8s.io` (and no subprotocol), `v4.channel.k8s.io`, `v5.channel.k8s.io`: binary
//!   messages, first byte the channel number, the rest the data.
//! - `base64.channel.k8s.io`, `v4.base64.channel.k8s.io`: text messages, first character the
//!   channel number as an ASCII digit, the rest the data in standard base64.
//! - v4 and later carry the exit status on the error channel as a JSON `metav1.Status`.
//! - v5 adds CLOSE: a message `[255, channel]` half-closes that channel (stdin EOF).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use thiserror::Error;
use tokio_tungstenite::tungstenite::Message;

/// Channel number reserved for the v5 CLOSE signal.
pub const CLOSE_CHANNEL: u8 = 255;

/// A negotiated channel subprotocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelProtocol {
    /// `channel.k8s.io`, also used when the client asks for no subprotocol.
    Channel,
    /// `base64.channel.k8s.io`.
    Base64Channel,
    /// `v4.channel.k8s.io`.
    V4Channel,
    /// `v4.base64.channel.k8s.io`.
    V4Base64Channel,
    /// `v5.channel.k8s.io`.
    V5Channel,
}

/// Subprotocols we accept, each with its protocol.
const SUPPORTED: [(&str, ChannelProtocol); 5] = [
    ("v5.channel.k8s.io", ChannelProtocol::V5Channel),
    ("v4.channel.k8s.io", ChannelProtocol::V4Channel),
    ("v4.base64.channel.k8s.io", ChannelProtocol::V4Base64Channel),
    ("channel.k8s.io", ChannelProtocol::Channel),
    ("base64.channel.k8s.io", ChannelProtocol::Base64Channel),
];

impl ChannelProtocol {
    /// The subprotocol name.
    pub fn name(self) -> &'static str {
        SUPPORTED.iter().find(|(_, p)| *p == self).map(|(name, _)| *name).unwrap_or("channel.k8s.io")
    }

    /// Every subprotocol name we accept, most preferred first.
    pub fn supported_names() -> impl Iterator<Item = &'static str> {
        SUPPORTED.iter().map(|(name, _)| *name)
    }

    /// The protocol for a subprotocol name.
    pub fn from_name(name: &str) -> Option<Self> {
        SUPPORTED.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }

    /// Data travels base64-encoded in text messages.
    pub fn is_base64(self) -> bool {
        matches!(self, Self::Base64Channel | Self::V4Base64Channel)
    }

    /// The error channel carries a JSON `metav1.Status` (v4 and later).
    pub fn json_status(self) -> bool {
        matches!(self, Self::V4Channel | Self::V4Base64Channel | Self::V5Channel)
    }

    /// The CLOSE signal exists (v5).
    pub fn supports_close(self) -> bool {
        self == Self::V5Channel
    }

    /// The first offered subprotocol we support (the client's order wins); an empty offer
    /// means plain `channel.k8s.io` without echoing a subprotocol.
    pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Result<Option<Self>, ChannelError> {
        let offered: Vec<&str> = offered.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect();
        if offered.is_empty() {
            return Ok(None);
        }
        offered
            .iter()
            .find_map(|name| Self::from_name(name))
            .map(Some)
            .ok_or_else(|| ChannelError::Unsupported(offered.join(", ")))
    }

    /// The message carrying `data` on `channel`.
    pub fn encode(self, channel: u8, data: &[u8]) -> Message {
        if self.is_base64() {
            let mut text = String::with_capacity(1 + data.len().div_ceil(3) * 4);
            text.push(char::from(b'0'.wrapping_add(channel)));
            STANDARD.encode_string(data, &mut text);
            Message::text(text)
        } else {
            let mut frame = Vec::with_capacity(1 + data.len());
            frame.push(channel);
            frame.extend_from_slice(data);
            Message::binary(frame)
        }
    }

    /// The v5 CLOSE signal for `channel`; `None` for older protocols.
    pub fn encode_close(self, channel: u8) -> Option<Message> {
        self.supports_close().then(|| Message::binary(vec![CLOSE_CHANNEL, channel]))
    }

    /// Decodes a data message. `Ok(None)` for messages that carry nothing (empty, ping,
    /// pong); close messages are the caller's business and also yield `Ok(None)`.
    pub fn decode(self, message: &Message) -> Result<Option<Inbound>, ChannelError> {
        let payload: &[u8] = match message {
            Message::Binary(bytes) => bytes,
            Message::Text(text) => text.as_bytes(),
            _ => return Ok(None),
        };
        let Some((&first, rest)) = payload.split_first() else { return Ok(None) };
        if self.supports_close() && first == CLOSE_CHANNEL {
            return match rest {
                [channel] => Ok(Some(Inbound::Close(*channel))),
                _ => Err(ChannelError::MalformedClose(rest.len())),
            };
        }
        if self.is_base64() {
            let channel = first.checked_sub(b'0').ok_or(ChannelError::InvalidChannel(first))?;
            let data = STANDARD.decode(rest).map_err(|e| ChannelError::InvalidBase64(e.to_string()))?;
            Ok(Some(Inbound::Data(channel, Bytes::from(data))))
        } else {
            Ok(Some(Inbound::Data(first, Bytes::copy_from_slice(rest))))
        }
    }
}

/// What a client message means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Data for a channel.
    Data(u8, Bytes),
    /// The client will send nothing more on this channel (v5).
    Close(u8),
}

/// Why a channel message or negotiation was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChannelError {
    /// None of the offered subprotocols is supported.
    #[error("negotiating websocket subprotocol: none of [{0}] is supported")]
    Unsupported(String),
    /// A v5 CLOSE signal without exactly one channel byte.
    #[error("decoding channel message: CLOSE signal with {0} bytes instead of 1")]
    MalformedClose(usize),
    /// A base64 message whose channel is not a digit.
    #[error("decoding channel message: invalid channel character {0:#04x}")]
    InvalidChannel(u8),
    /// A base64 message whose data is not base64.
    #[error("decoding channel message: invalid base64: {0}")]
    InvalidBase64(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn binary_protocols_prefix_the_channel_byte() {
        let message = ChannelProtocol::V5Channel.encode(1, b"out");
        assert_eq!(message, Message::binary(b"\x01out".to_vec()));
        let back = ChannelProtocol::V5Channel.decode(&message).expect("decodes");
        assert_eq!(back, Some(Inbound::Data(1, Bytes::from_static(b"out"))));
    }

    #[test]
    fn base64_protocols_use_a_digit_and_base64_text() {
        let message = ChannelProtocol::Base64Channel.encode(2, b"err");
        assert_eq!(message, Message::text("2ZXJy"));
        let back = ChannelProtocol::V4Base64Channel.decode(&message).expect("decodes");
        assert_eq!(back, Some(Inbound::Data(2, Bytes::from_static(b"err"))));
    }

    #[test]
    fn an_empty_message_on_a_channel_is_data_of_length_zero() {
        let message = ChannelProtocol::V4Channel.encode(1, b"");
        assert_eq!(ChannelProtocol::V4Channel.decode(&message), Ok(Some(Inbound::Data(1, Bytes::new()))));
        assert_eq!(ChannelProtocol::V4Channel.decode(&Message::binary(Vec::new())), Ok(None));
    }

    #[test]
    fn v5_close_signals_decode_and_encode() {
        let close = ChannelProtocol::V5Channel.encode_close(0).expect("v5 has CLOSE");
        assert_eq!(ChannelProtocol::V5Channel.decode(&close), Ok(Some(Inbound::Close(0))));
        assert_eq!(ChannelProtocol::V4Channel.encode_close(0), None);
        // Before v5, 255 is just an (unused) channel number.
        assert_eq!(
            ChannelProtocol::V4Channel.decode(&close),
            Ok(Some(Inbound::Data(255, Bytes::from_static(b"\0"))))
        );
    }

    #[test]
    fn a_malformed_close_is_refused() {
        let bad = Message::binary(vec![255, 0, 1]);
        assert_eq!(ChannelProtocol::V5Channel.decode(&bad), Err(ChannelError::MalformedClose(2)));
        let bare = Message::binary(vec![255]);
        assert_eq!(ChannelProtocol::V5Channel.decode(&bare), Err(ChannelError::MalformedClose(0)));
    }

    #[test]
    fn invalid_base64_is_refused() {
        let bad = Message::text("0!!!");
        assert!(matches!(ChannelProtocol::Base64Channel.decode(&bad), Err(ChannelError::InvalidBase64(_))));
        let bad_channel = Message::text(" abc");
        assert_eq!(
            ChannelProtocol::Base64Channel.decode(&bad_channel),
            Err(ChannelError::InvalidChannel(b' '))
        );
    }

    #[test]
    fn negotiation_follows_the_clients_order() {
        let offered = ["v4.channel.k8s.io", "v5.channel.k8s.io"];
        assert_eq!(ChannelProtocol::negotiate(offered), Ok(Some(ChannelProtocol::V4Channel)));
        assert_eq!(
            ChannelProtocol::negotiate(["unknown", " base64.channel.k8s.io"]),
            Ok(Some(ChannelProtocol::Base64Channel))
        );
        assert_eq!(ChannelProtocol::negotiate([]), Ok(None));
        assert!(ChannelProtocol::negotiate(["v6.channel.k8s.io"]).is_err());
    }

    #[test]
    fn only_v4_and_later_carry_json_status() {
        assert!(!ChannelProtocol::Channel.json_status());
        assert!(!ChannelProtocol::Base64Channel.json_status());
        assert!(ChannelProtocol::V4Channel.json_status());
        assert!(ChannelProtocol::V4Base64Channel.json_status());
        assert!(ChannelProtocol::V5Channel.json_status());
        assert_eq!(
            ChannelProtocol::from_name("v4.base64.channel.k8s.io"),
            Some(ChannelProtocol::V4Base64Channel)
        );
    }

    fn protocols() -> impl Strategy<Value = ChannelProtocol> {
        prop_oneof![
            Just(ChannelProtocol::Channel),
            Just(ChannelProtocol::Base64Channel),
            Just(ChannelProtocol::V4Channel),
            Just(ChannelProtocol::V4Base64Channel),
            Just(ChannelProtocol::V5Channel),
        ]
    }

    proptest! {
        #[test]
        fn data_round_trips_on_every_protocol(
            protocol in protocols(),
            channel in 0u8..5,
            data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let message = protocol.encode(channel, &data);
            prop_assert_eq!(protocol.decode(&message), Ok(Some(Inbound::Data(channel, Bytes::from(data)))));
        }

        #[test]
        fn arbitrary_messages_never_panic(
            protocol in protocols(),
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            text in ".{0,100}",
        ) {
            let _ = protocol.decode(&Message::binary(bytes));
            let _ = protocol.decode(&Message::text(text));
        }
    }
}
