//! Exec over WebSocket end to end: a tungstenite client plays kubectl, a script plays the
//! provider.

use std::collections::HashMap;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::DuplexStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::fake_backend::fake_backend;
use super::options::ExecOptions;
use super::over_websocket::serve;
use super::status::Outcome;
use crate::kubelet_api::websocket::{ChannelProtocol, Inbound};

async fn connect() -> (WebSocketStream<DuplexStream>, DuplexStream) {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    (WebSocketStream::from_raw_socket(client_io, Role::Client, None).await, server_io)
}

/// Channel data the client received, in order per channel, and the close code.
async fn receive_all(
    client: &mut WebSocketStream<DuplexStream>,
    protocol: ChannelProtocol,
) -> (HashMap<u8, Vec<Vec<u8>>>, Option<CloseCode>) {
    let mut channels: HashMap<u8, Vec<Vec<u8>>> = HashMap::new();
    while let Some(message) = client.next().await {
        let message = message.expect("valid websocket traffic");
        if let Message::Close(frame) = &message {
            return (channels, frame.as_ref().map(|f| f.code));
        }
        if let Ok(Some(Inbound::Data(channel, data))) = protocol.decode(&message) {
            channels.entry(channel).or_default().push(data.to_vec());
        }
    }
    (channels, None)
}

fn joined(channels: &HashMap<u8, Vec<Vec<u8>>>, channel: u8) -> String {
    let bytes: Vec<u8> = channels.get(&channel).map(|c| c.concat()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test(start_paused = true)]
async fn v5_exec_with_stdin_close_and_exit_code() {
    let (mut client, server_io) = connect().await;
    let options = ExecOptions::for_exec("command=sh&input=1&output=1&error=1").expect("options");
    let (backend, _script) = fake_backend(|mut script| async move {
        let (stdin, closed) = script.read_stdin().await;
        assert!(closed);
        script.stdout(&String::from_utf8_lossy(&stdin)).await;
        script.stderr("err\n").await;
        script.exit(3).await;
    });
    let server = tokio::spawn(async move {
        serve(server_io, ChannelProtocol::V5Channel, &options, async { Ok(backend) }).await
    });
    client.send(Message::binary(b"\x00in".to_vec())).await.expect("stdin");
    client.send(Message::binary(vec![255, 0])).await.expect("close stdin");
    let (channels, close) = receive_all(&mut client, ChannelProtocol::V5Channel).await;
    assert_eq!(channels[&1][0], b"", "the first message is the empty ready signal on stdout");
    assert_eq!(joined(&channels, 1), "in");
    assert_eq!(joined(&channels, 2), "err\n");
    let status: serde_json::Value = serde_json::from_slice(&channels[&3][0]).expect("status json");
    assert_eq!(status["details"]["causes"][0]["message"], "3");
    assert_eq!(close, Some(CloseCode::Normal));
    drop(client);
    assert_eq!(server.await.expect("server task"), Outcome::Exited(3));
}

#[tokio::test(start_paused = true)]
async fn base64_channels_carry_output_and_a_text_failure() {
    let (mut client, server_io) = connect().await;
    let options = ExecOptions::for_exec("command=false&output=1").expect("options");
    let (backend, _script) = fake_backend(|script| async move {
        script.stdout("x").await;
        script.exit(2).await;
    });
    let server = tokio::spawn(async move {
        serve(server_io, ChannelProtocol::Base64Channel, &options, async { Ok(backend) }).await
    });
    let (channels, close) = receive_all(&mut client, ChannelProtocol::Base64Channel).await;
    assert_eq!(joined(&channels, 1), "x");
    assert_eq!(joined(&channels, 3), "command terminated with non-zero exit code: exit status 2");
    assert_eq!(close, Some(CloseCode::Normal));
    drop(client);
    assert_eq!(server.await.expect("server task"), Outcome::Exited(2));
}

#[tokio::test(start_paused = true)]
async fn a_malformed_message_closes_with_a_protocol_error_and_cancels() {
    let (mut client, server_io) = connect().await;
    let options = ExecOptions::for_exec("command=sh&input=1&output=1").expect("options");
    let (backend, script) = fake_backend(|mut script| async move {
        while script.next().await.is_some() {}
        "ended"
    });
    let server = tokio::spawn(async move {
        serve(server_io, ChannelProtocol::V5Channel, &options, async { Ok(backend) }).await
    });
    client.send(Message::binary(vec![255, 0, 0])).await.expect("malformed close");
    let (_, close) = receive_all(&mut client, ChannelProtocol::V5Channel).await;
    assert_eq!(close, Some(CloseCode::Protocol));
    assert_eq!(server.await.expect("server task"), Outcome::ClientGone);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), script).await.expect("ended").expect("script"),
        "ended"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_that_disconnects_cancels_the_command() {
    let (client, server_io) = connect().await;
    let options = ExecOptions::for_exec("command=sleep&output=1").expect("options");
    let (backend, script) = fake_backend(|mut script| async move {
        script.started().await;
        while script.next().await.is_some() {}
        "cancelled"
    });
    let server = tokio::spawn(async move {
        serve(server_io, ChannelProtocol::V4Channel, &options, async { Ok(backend) }).await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(client);
    assert_eq!(server.await.expect("server task"), Outcome::ClientGone);
    let seen = tokio::time::timeout(Duration::from_secs(5), script).await.expect("provider call ended");
    assert_eq!(seen.expect("script"), "cancelled");
}

#[tokio::test(start_paused = true)]
async fn tty_resizes_on_channel_4_reach_the_provider() {
    let (mut client, server_io) = connect().await;
    let options = ExecOptions::for_exec("command=sh&input=1&output=1&tty=1").expect("options");
    let (backend, script) = fake_backend(|mut script| async move {
        let mut sizes = Vec::new();
        while let Some(frame) = script.next().await {
            if let vk_proto::v1::exec_request::Frame::Resize(size) = frame {
                sizes.push((size.width, size.height));
                break;
            }
        }
        script.exit(0).await;
        sizes
    });
    let server = tokio::spawn(async move {
        serve(server_io, ChannelProtocol::V5Channel, &options, async { Ok(backend) }).await
    });
    client.send(Message::binary(b"\x04{\"Width\":90,\"Height\":30}".to_vec())).await.expect("resize");
    let (channels, _) = receive_all(&mut client, ChannelProtocol::V5Channel).await;
    assert_eq!(joined(&channels, 3), r#"{"metadata":{},"status":"Success"}"#);
    assert_eq!(script.await.expect("script"), vec![(90, 30)]);
    drop(client);
    assert_eq!(server.await.expect("server task"), Outcome::Exited(0));
}
