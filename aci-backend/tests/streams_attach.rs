//! Attach through the ACI emulator's attach websocket: output and stdin of the main process, and
//! an unknown exit status when ACI closes the session.

mod streams_support;

use std::time::Duration;

use aci_backend::streams::attach::attach;
use futures::StreamExt as _;
use streams_support::World;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use vk_proto::v1::{self, exec_exit, exec_request, exec_response};

#[tokio::test]
async fn attach_relays_output_and_stdin_and_ends_without_a_status() {
    let world = World::start(&["/bin/sh", "-c", "while read line; do echo got-$line; done"]).await;
    let start = v1::ExecStart {
        container: "main".into(),
        stdin: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let (tx, rx) = mpsc::channel(4);
    let mut stream = attach(&world.terminals, start, ReceiverStream::new(rx)).await.expect("attaches");
    let first = stream.next().await.and_then(|f| f.frame);
    let Some(exec_response::Frame::Started(started)) = first else { panic!("started first: {first:?}") };
    assert!(started.stderr_merged && !started.exit_code_reported);

    tx.send(v1::ExecRequest { frame: Some(exec_request::Frame::Stdin(b"ping\n".to_vec())) })
        .await
        .expect("sent");
    let mut output = String::new();
    while !output.contains("got-ping\n") {
        let frame = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("in time");
        match frame.and_then(|f| f.frame) {
            Some(exec_response::Frame::Stdout(b)) => output.push_str(&String::from_utf8_lossy(&b)),
            other => panic!("unexpected {other:?} after {output:?}"),
        }
    }

    let group = aci_emulator::GroupRef {
        subscription: "00000000-0000-0000-0000-000000000001".into(),
        resource_group: "vk-test".into(),
        name: world.group.clone(),
    };
    assert!(world.emulator.exit_container(&group, "main", 0), "the container is told to exit");
    let last = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("in time");
        match frame.and_then(|f| f.frame) {
            Some(exec_response::Frame::Stdout(_)) => continue,
            Some(exec_response::Frame::Exit(e)) => break e.outcome,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(matches!(last, Some(exec_exit::Outcome::ExitCodeUnknown(_))), "{last:?}");
    assert!(stream.next().await.is_none(), "the exit frame is the last");
    world.emulator.shutdown().await;
}

#[tokio::test]
async fn attach_with_a_command_is_refused() {
    let world = World::start(&["/bin/sh", "-c", "sleep 600"]).await;
    let start = v1::ExecStart { container: "main".into(), command: vec!["sh".into()], ..Default::default() };
    let (_tx, rx) = mpsc::channel(1);
    let err = attach(&world.terminals, start, ReceiverStream::new(rx)).await.expect_err("refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
    world.emulator.shutdown().await;
}

#[tokio::test]
async fn attach_detaches_after_the_end_of_stdin_once_output_is_quiet() {
    let world = World::start(&["/bin/sh", "-c", "while read line; do echo got-$line; done"]).await;
    let start = v1::ExecStart { container: "main".into(), stdin: true, stdout: true, ..Default::default() };
    let (tx, rx) = mpsc::channel(4);
    let mut stream = attach(&world.terminals, start, ReceiverStream::new(rx)).await.expect("attaches");
    let first = stream.next().await.and_then(|f| f.frame);
    assert!(matches!(first, Some(exec_response::Frame::Started(_))), "started first: {first:?}");
    for frame in
        [exec_request::Frame::Stdin(b"last\n".to_vec()), exec_request::Frame::StdinClose(v1::StdinClose {})]
    {
        tx.send(v1::ExecRequest { frame: Some(frame) }).await.expect("sent");
    }
    // The output written after stdin ended still arrives, then the session ends on its own
    // although the container's process keeps running (ACI cannot close its stdin).
    let mut output = String::new();
    let last = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("in time");
        match frame.and_then(|f| f.frame) {
            Some(exec_response::Frame::Stdout(b)) => output.push_str(&String::from_utf8_lossy(&b)),
            Some(exec_response::Frame::Exit(e)) => break e.outcome,
            other => panic!("unexpected {other:?} after {output:?}"),
        }
    };
    assert!(output.contains("got-last"), "{output:?}");
    let Some(exec_exit::Outcome::ExitCodeUnknown(unknown)) = last else { panic!("{last:?}") };
    assert!(unknown.reason.contains("end of stdin"), "{}", unknown.reason);
    assert!(stream.next().await.is_none(), "the exit frame is the last");
    drop(tx);
    world.emulator.shutdown().await;
}
