//! Logs through the ACI emulator's logs API: tail, timestamps and follow by polling.

mod streams_support;

use std::sync::Arc;
use std::time::Duration;

use aci_backend::streams::logs::{AciLogs, LogStream, LogsConfig, logs};
use futures::StreamExt as _;
use streams_support::World;
use vk_proto::v1;

async fn next_text(stream: &mut LogStream) -> String {
    let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next()).await;
    String::from_utf8(chunk.expect("in time").expect("not ended").expect("no error").data).expect("utf-8")
}

#[tokio::test]
async fn a_followed_log_sends_the_tail_then_only_new_lines() {
    let world =
        World::start(&["/bin/sh", "-c", "echo one; echo two; sleep 1; echo three; echo three; sleep 600"])
            .await;
    let source = Arc::new(AciLogs::new(world.arm.clone(), &world.group, "main"));
    let config = LogsConfig { poll_every: Duration::from_millis(100), window: 1 };

    let req =
        v1::ContainerLogsRequest { container: "main".into(), tail_lines: Some(1), ..Default::default() };
    let mut once = logs(source.clone(), &req, config).await.expect("opens");
    assert_eq!(next_text(&mut once).await, "two\n");
    assert!(once.next().await.is_none(), "without follow the stream ends");

    let req = v1::ContainerLogsRequest {
        container: "main".into(),
        tail_lines: Some(1),
        follow: true,
        timestamps: true,
        ..Default::default()
    };
    let mut stream = logs(source, &req, config).await.expect("opens");
    let first = next_text(&mut stream).await;
    assert!(first.ends_with("Z two\n") && first.starts_with("20"), "{first:?}");
    let mut rest = String::new();
    while rest.matches("three").count() < 2 {
        rest.push_str(&next_text(&mut stream).await);
    }
    let texts: Vec<&str> = rest.lines().map(|l| l.split_once(' ').map_or(l, |(_, t)| t)).collect();
    assert_eq!(texts, vec!["three", "three"], "{rest:?}");
    let quiet = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
    assert!(quiet.is_err(), "nothing is repeated: {quiet:?}");
    world.emulator.shutdown().await;
}

#[tokio::test]
async fn logs_of_an_unknown_container_fail_before_any_chunk() {
    let world = World::start(&["/bin/sh", "-c", "sleep 600"]).await;
    let source = Arc::new(AciLogs::new(world.arm.clone(), &world.group, "nope"));
    let req = v1::ContainerLogsRequest { container: "nope".into(), ..Default::default() };
    let err = logs(source, &req, LogsConfig::default()).await.err().expect("refused");
    assert_eq!(err.code(), tonic::Code::NotFound, "{err}");
    world.emulator.shutdown().await;
}
