//! The server connection driven by the test client over an in-memory pipe.

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::connection::{Config, ConnectionError};
use super::frame::{Frame, GoAwayStatus, RstStatus};
use super::shared::{PeerWindowPolicy, StreamError};
use super::test_client::TestClient;

fn total_data(frames: &[Frame], id: u32) -> usize {
    frames
        .iter()
        .map(|f| match f {
            Frame::Data { stream_id, data, .. } if *stream_id == id => data.len(),
            _ => 0,
        })
        .sum()
}

#[tokio::test(start_paused = true)]
async fn an_opened_stream_is_replied_and_accepted_with_its_type() {
    let (mut client, mut conn, _task) = TestClient::start(Config::default());
    client.open(1, "error").await;
    let reply = client.next().await.expect("reply");
    assert!(matches!(reply, Frame::SynReply { stream_id: 1, fin: false, .. }), "{reply:?}");
    let stream = conn.accept().await.expect("stream");
    assert_eq!(stream.id(), 1);
    assert_eq!(stream.stream_type(), Some("error"));
}

#[tokio::test(start_paused = true)]
async fn peer_data_is_read_until_fin() {
    let (mut client, mut conn, _task) = TestClient::start(Config::default());
    client.open(1, "stdin").await;
    client.data(1, b"hello ", false).await;
    client.data(1, b"world", true).await;
    let (mut recv, _send) = conn.accept().await.expect("stream").split();
    let mut got = Vec::new();
    while let Some(chunk) = recv.recv().await.expect("no error") {
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got, b"hello world");
}

#[tokio::test(start_paused = true)]
async fn our_data_and_fin_reach_the_peer() {
    let (mut client, mut conn, _task) = TestClient::start(Config::default());
    client.open(1, "stdout").await;
    let (_recv, mut send) = conn.accept().await.expect("stream").split();
    send.send(Bytes::from_static(b"out")).await.expect("send");
    send.finish().await.expect("finish");
    client.expect(|f| matches!(f, Frame::SynReply { .. }).then_some(())).await;
    assert_eq!(
        client.next().await,
        Some(Frame::Data { stream_id: 1, fin: false, data: Bytes::from_static(b"out") })
    );
    assert_eq!(client.next().await, Some(Frame::Data { stream_id: 1, fin: true, data: Bytes::new() }));
    assert_eq!(send.send(Bytes::from_static(b"late")).await, Err(StreamError::AlreadyFinished));
}

#[tokio::test(start_paused = true)]
async fn client_pings_are_echoed_and_even_ids_ignored() {
    let (mut client, _conn, _task) = TestClient::start(Config::default());
    client.send(Frame::Ping { id: 2 }).await;
    client.send(Frame::Ping { id: 7 }).await;
    assert_eq!(client.next().await, Some(Frame::Ping { id: 7 }));
    assert_eq!(client.next_within(Duration::from_secs(1)).await, None);
}

#[tokio::test(start_paused = true)]
async fn without_window_updates_from_the_peer_large_output_is_not_throttled() {
    let (mut client, mut conn, _task) = TestClient::start(Config::default());
    client.open(1, "stdout").await;
    let (_recv, mut send) = conn.accept().await.expect("stream").split();
    let writer = tokio::spawn(async move {
        send.send(Bytes::from(vec![b'x'; 300_000])).await.expect("send");
        send.finish().await.expect("finish");
    });
    let mut frames = Vec::new();
    while let Some(frame) = client.next().await {
        let fin = matches!(frame, Frame::Data { fin: true, .. });
        frames.push(frame);
        if fin {
            break;
        }
    }
    assert_eq!(total_data(&frames, 1), 300_000);
    writer.await.expect("writer task");
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_speaks_flow_control_gets_no_more_than_its_window() {
    let (mut client, mut conn, _task) = TestClient::start(Config::default());
    client.send(Frame::WindowUpdate { stream_id: 0, delta: 1 }).await;
    client.open(1, "stdout").await;
    let (_recv, mut send) = conn.accept().await.expect("stream").split();
    let writer = tokio::spawn(async move { send.send(Bytes::from(vec![b'x'; 100_000])).await });
    let mut frames = Vec::new();
    while let Some(frame) = client.next_within(Duration::from_secs(2)).await {
        frames.push(frame);
    }
    assert_eq!(total_data(&frames, 1), 64 * 1024, "stream window caps the first burst");
    client.send(Frame::WindowUpdate { stream_id: 1, delta: 50_000 }).await;
    client.send(Frame::WindowUpdate { stream_id: 0, delta: 50_000 }).await;
    let mut more = Vec::new();
    while let Some(frame) = client.next_within(Duration::from_secs(2)).await {
        more.push(frame);
    }
    assert_eq!(total_data(&more, 1), 100_000 - 64 * 1024);
    writer.await.expect("writer task").expect("send completes");
}

#[tokio::test(start_paused = true)]
async fn consumed_data_is_granted_back_with_window_updates() {
    let (mut client, mut conn, _task) = TestClient::start(Config::default());
    client.open(1, "stdin").await;
    client.data(1, &vec![1u8; 40_000], false).await;
    let (mut recv, _send) = conn.accept().await.expect("stream").split();
    let chunk = recv.recv().await.expect("no error").expect("data");
    assert_eq!(chunk.len(), 40_000);
    let mut updates = Vec::new();
    while let Some(frame) = client.next_within(Duration::from_secs(1)).await {
        if let Frame::WindowUpdate { stream_id, delta } = frame {
            updates.push((stream_id, delta));
        }
    }
    updates.sort();
    assert_eq!(updates, vec![(0, 40_000), (1, 40_000)]);
}

#[tokio::test(start_paused = true)]
async fn a_reset_from_the_peer_fails_both_halves() {
    let (mut client, mut conn, _task) = TestClient::start(Config::default());
    client.open(1, "stdout").await;
    let (mut recv, mut send) = conn.accept().await.expect("stream").split();
    client.send(Frame::RstStream { stream_id: 1, status: RstStatus::Cancel }).await;
    assert_eq!(recv.recv().await, Err(StreamError::Reset(RstStatus::Cancel)));
    assert!(send.send(Bytes::from_static(b"x")).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn dropping_an_unfinished_sender_cancels_the_stream() {
    let (mut client, mut conn, _task) = TestClient::start(Config::default());
    client.open(1, "stdout").await;
    drop(conn.accept().await.expect("stream"));
    let status = client
        .expect(|f| match f {
            Frame::RstStream { stream_id: 1, status } => Some(status),
            _ => None,
        })
        .await;
    assert_eq!(status, RstStatus::Cancel);
}

#[tokio::test(start_paused = true)]
async fn shutdown_sends_goaway_and_closes_the_transport() {
    let (mut client, mut conn, task) = TestClient::start(Config::default());
    client.open(1, "error").await;
    let _stream = conn.accept().await.expect("stream");
    conn.shutdown().await;
    let goaway = client.expect(|f| matches!(f, Frame::GoAway { .. }).then_some(f)).await;
    assert_eq!(goaway, Frame::GoAway { last_good_stream_id: 1, status: GoAwayStatus::Ok });
    assert_eq!(client.next().await, None, "server closed its side");
    client.close().await;
    task.await.expect("driver task").expect("clean end");
    assert!(conn.accept().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_disconnects_ends_streams_with_an_error() {
    let (mut client, mut conn, task) = TestClient::start(Config::default());
    client.open(1, "stdin").await;
    let (mut recv, _send) = conn.accept().await.expect("stream").split();
    client.close().await;
    assert_eq!(recv.recv().await, Err(StreamError::ConnectionClosed));
    task.await.expect("driver task").expect("a disconnect is not an error");
}

#[tokio::test(start_paused = true)]
async fn malformed_bytes_end_the_connection_with_goaway_protocol_error() {
    let (mut client, mut conn, task) = TestClient::start(Config::default());
    client.send_raw(&[0x80, 0x07, 0x00, 0x01, 0, 0, 0, 0]).await;
    let goaway = client.expect(|f| matches!(f, Frame::GoAway { .. }).then_some(f)).await;
    assert_eq!(goaway, Frame::GoAway { last_good_stream_id: 0, status: GoAwayStatus::ProtocolError });
    let result = task.await.expect("driver task");
    assert!(matches!(result, Err(ConnectionError::Malformed(_))), "{result:?}");
    assert!(conn.accept().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn stream_ids_that_do_not_increase_are_a_protocol_error() {
    let (mut client, _conn, task) = TestClient::start(Config::default());
    client.open(3, "stdin").await;
    client.open(1, "stdout").await;
    let result = task.await.expect("driver task");
    assert!(matches!(result, Err(ConnectionError::Protocol(_))), "{result:?}");
}

#[tokio::test(start_paused = true)]
async fn streams_beyond_the_limit_are_refused() {
    let config = Config { max_concurrent_streams: 1, ..Config::default() };
    let (mut client, mut conn, _task) = TestClient::start(config);
    client.open(1, "stdin").await;
    client.open(3, "stdout").await;
    let _first = conn.accept().await.expect("first stream");
    let status = client
        .expect(|f| match f {
            Frame::RstStream { stream_id: 3, status } => Some(status),
            _ => None,
        })
        .await;
    assert_eq!(status, RstStatus::RefusedStream);
}

#[tokio::test(start_paused = true)]
async fn the_always_policy_throttles_from_the_start() {
    let config = Config { peer_window_policy: PeerWindowPolicy::Always, ..Config::default() };
    let (mut client, mut conn, _task) = TestClient::start(config);
    client.open(1, "stdout").await;
    let (_recv, mut send) = conn.accept().await.expect("stream").split();
    let _writer = tokio::spawn(async move { send.send(Bytes::from(vec![0u8; 70_000])).await });
    let mut frames = Vec::new();
    while let Some(frame) = client.next_within(Duration::from_secs(2)).await {
        frames.push(frame);
    }
    assert_eq!(total_data(&frames, 1), 64 * 1024);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_byte_soup_ends_or_idles_the_connection_without_panicking(
        prefix_stream in any::<bool>(),
        soup in proptest::collection::vec(any::<u8>(), 1..600),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let (mut client, mut conn, task) = TestClient::start(Config::default());
            if prefix_stream {
                client.open(1, "stdin").await;
            }
            client.send_raw(&soup).await;
            client.close().await;
            // Drain what the server sends so it never blocks on a full pipe.
            while client.next_within(Duration::from_secs(30)).await.is_some() {}
            let ended = tokio::time::timeout(Duration::from_secs(60), task).await;
            let result = ended.expect("driver ends once the peer is gone").expect("driver did not panic");
            drop(result);
            while conn.accept().await.is_some() {}
        });
    }
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let config = Config { idle_timeout: Some(Duration::from_secs(60)), ..Config::default() };
    let (mut client, _conn, task) = TestClient::start(config);
    // Activity keeps the connection open past the timeout.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(40)).await;
        client.send(Frame::Ping { id: 1 }).await;
        assert_eq!(client.next().await, Some(Frame::Ping { id: 1 }));
    }
    let goaway = client.next_within(Duration::from_secs(120)).await;
    assert_eq!(goaway, Some(Frame::GoAway { last_good_stream_id: 0, status: GoAwayStatus::Ok }));
    let result = task.await.expect("driver task");
    assert!(matches!(result, Err(ConnectionError::Idle(_))), "{result:?}");
}
