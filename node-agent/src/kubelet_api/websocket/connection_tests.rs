//! The channel connection against a WebSocket client over an in-memory pipe.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::DuplexStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::CloseCode;
use super::channel::{ChannelError, ChannelProtocol, Inbound};
use super::connection::{ChannelConnError, ChannelReader, ChannelWriter, server};

type Pair = (WebSocketStream<DuplexStream>, ChannelReader<DuplexStream>, ChannelWriter<DuplexStream>);

async fn pair(protocol: ChannelProtocol) -> Pair {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    let (reader, writer) = server(server_io, protocol).await;
    (client, reader, writer)
}

#[tokio::test]
async fn client_data_and_close_signals_are_read() {
    let (mut client, mut reader, _writer) = pair(ChannelProtocol::V5Channel).await;
    client.send(Message::binary(b"\x00hi".to_vec())).await.expect("send");
    client.send(Message::binary(vec![255, 0])).await.expect("send close");
    client.close(None).await.expect("close");
    let first = reader.next().await.expect("message").expect("valid");
    assert_eq!(first, Inbound::Data(0, Bytes::from_static(b"hi")));
    assert_eq!(reader.next().await.expect("message").expect("valid"), Inbound::Close(0));
    assert!(reader.next().await.is_none(), "close frame ends the reader");
}

#[tokio::test]
async fn server_data_reaches_the_client_base64_encoded() {
    let (mut client, _reader, mut writer) = pair(ChannelProtocol::Base64Channel).await;
    writer.send(1, b"out").await.expect("send");
    writer.close(CloseCode::Normal, "").await.expect("close");
    assert_eq!(client.next().await.expect("message").expect("ok"), Message::text("1b3V0"));
    let Message::Close(Some(frame)) = client.next().await.expect("message").expect("ok") else {
        panic!("expected a close frame");
    };
    assert_eq!(frame.code, CloseCode::Normal);
}

#[tokio::test]
async fn a_malformed_message_is_reported_as_an_error() {
    let (mut client, mut reader, _writer) = pair(ChannelProtocol::V5Channel).await;
    client.send(Message::binary(vec![255, 1, 2])).await.expect("send");
    let err = reader.next().await.expect("message").expect_err("malformed");
    assert!(matches!(err, ChannelConnError::Channel(ChannelError::MalformedClose(2))), "{err}");
}

#[tokio::test]
async fn pings_are_answered_while_reading() {
    let (mut client, mut reader, _writer) = pair(ChannelProtocol::V4Channel).await;
    client.send(Message::Ping(Bytes::from_static(b"beat"))).await.expect("ping");
    client.send(Message::binary(b"\x00x".to_vec())).await.expect("data");
    let _ = reader.next().await.expect("message").expect("valid");
    let pong = client.next().await.expect("message").expect("ok");
    assert_eq!(pong, Message::Pong(Bytes::from_static(b"beat")));
}

#[tokio::test]
async fn a_vanished_client_ends_the_reader() {
    let (client, mut reader, _writer) = pair(ChannelProtocol::Channel).await;
    drop(client);
    match reader.next().await {
        None | Some(Err(ChannelConnError::WebSocket(_))) => {}
        other => panic!("unexpected {other:?}"),
    }
}
