//! Exec and attach websockets carry bytes both ways, with ACI's rules: password first, one executable
//! without arguments, a terminal of the requested size, stderr merged, no exit status.

use std::time::Duration;

use aci_emulator::{Config, Runtime};
use futures::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::arm_client::{Arm, container_state, group_body};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn running_group(arm: &Arm, command: Option<Value>) {
    let mut body = group_body("busybox", "Always");
    if let Some(command) = command {
        body["properties"]["containers"][0]["properties"]["command"] = command;
    }
    assert_eq!(arm.put_group("rg", "g", body).await.status, StatusCode::CREATED);
    arm.wait_for("rg", "g", |g| container_state(g).0 == "Running").await;
}

async fn open(arm: &Arm, action: &str, body: Option<Value>) -> Socket {
    let path = format!("{}/containers/main/{action}", Arm::group_path("rg", "g"));
    let reply = arm.call(Method::POST, &path, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let uri = reply.body["webSocketUri"].as_str().expect("a webSocketUri");
    let password = reply.body["password"].as_str().expect("a password");
    let (mut socket, _) = tokio_tungstenite::connect_async(uri).await.expect("the websocket opens");
    socket.send(Message::Text(password.into())).await.expect("the password is sent");
    socket
}

/// Reads output frames until `want` appears (bounded); returns everything read.
async fn read_until(socket: &mut Socket, want: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(want) {
        let frame = tokio::time::timeout_at(deadline, socket.next()).await;
        match frame {
            Ok(Some(Ok(Message::Binary(b)))) => seen.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(Message::Text(t)))) => seen.push_str(t.as_str()),
            Ok(Some(Ok(_))) => {}
            other => panic!("waiting for {want:?}, got {other:?} after {seen:?}"),
        }
    }
    seen
}

fn process_config() -> Config {
    Config { runtime: Runtime::Process, ..Config::fast() }
}

#[tokio::test]
async fn exec_runs_one_executable_under_a_terminal_of_the_requested_size() {
    let arm = Arm::start(process_config()).await;
    running_group(&arm, Some(json!(["/bin/sh", "-c", "sleep 60"]))).await;
    let request = json!({ "command": "/bin/sh", "terminalSize": { "rows": 12, "cols": 34 } });
    let mut socket = open(&arm, "exec", Some(request)).await;
    socket
        .send(Message::Binary(b"stty size; echo out-$((6*7)); echo err-1 >&2\n".to_vec().into()))
        .await
        .expect("stdin");
    let output = read_until(&mut socket, "err-1\r\n").await;
    assert!(output.contains("12 34"), "the terminal has the requested size: {output:?}");
    assert!(output.contains("out-42\r\n"), "stdout comes back through the terminal: {output:?}");
    socket.send(Message::Binary(b"exit 3\n".to_vec().into())).await.expect("stdin");
    let mut closed = false;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        match frame {
            Ok(Message::Close(_)) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => {}
        }
    }
    assert!(closed, "the socket closes when the process ends, without an exit status");
}

#[tokio::test]
async fn a_command_with_arguments_fails_as_on_azure() {
    let arm = Arm::start(process_config()).await;
    running_group(&arm, Some(json!(["/bin/sh", "-c", "sleep 60"]))).await;
    let mut socket = open(&arm, "exec", Some(json!({ "command": "echo hello" }))).await;
    let output = read_until(&mut socket, "executable file not found").await;
    assert!(output.contains("\"echo hello\""), "{output}");
    assert!(!output.contains("hello\r\n"), "nothing ran: {output}");
}

#[tokio::test]
async fn a_wrong_password_closes_the_socket() {
    let arm = Arm::start(process_config()).await;
    running_group(&arm, Some(json!(["/bin/sh", "-c", "sleep 60"]))).await;
    let path = format!("{}/containers/main/exec", Arm::group_path("rg", "g"));
    let reply = arm.call(Method::POST, &path, Some(json!({ "command": "/bin/sh" }))).await;
    let uri = reply.body["webSocketUri"].as_str().expect("a webSocketUri");
    let (mut socket, _) = tokio_tungstenite::connect_async(uri).await.expect("the websocket opens");
    socket.send(Message::Text("wrong".into())).await.expect("sent");
    let frame = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.expect("an answer");
    assert!(matches!(frame, Some(Ok(Message::Close(Some(ref f)))) if u16::from(f.code) == 1008), "{frame:?}");
    let again = tokio_tungstenite::connect_async(uri).await;
    assert!(again.is_err(), "a session is used once");
}

#[tokio::test]
async fn attach_relays_the_container_output_and_feeds_its_stdin() {
    let arm = Arm::start(process_config()).await;
    running_group(&arm, Some(json!(["/bin/sh", "-c", "while read line; do echo got-$line; done"]))).await;
    let mut socket = open(&arm, "attach", None).await;
    socket.send(Message::Binary(b"ping\n".to_vec().into())).await.expect("stdin");
    let output = read_until(&mut socket, "got-ping\n").await;
    assert!(output.contains("got-ping"));
    let logs =
        arm.call(Method::GET, &format!("{}/containers/main/logs", Arm::group_path("rg", "g")), None).await;
    assert_eq!(logs.body["content"], "got-ping\n");
}

#[tokio::test]
async fn simulated_containers_echo_on_exec_and_attach() {
    let arm = Arm::fast().await;
    running_group(&arm, None).await;
    let mut exec = open(&arm, "exec", Some(json!({ "command": "/bin/sh" }))).await;
    exec.send(Message::Binary(b"hello\r".to_vec().into())).await.expect("stdin");
    assert!(read_until(&mut exec, "hello\r\n").await.contains("hello"));
    let mut attach = open(&arm, "attach", None).await;
    attach.send(Message::Text("typed\n".into())).await.expect("stdin");
    assert!(read_until(&mut attach, "typed\n").await.contains("typed"));
}

#[tokio::test]
async fn exec_needs_a_running_container() {
    let arm = Arm::fast().await;
    assert_eq!(
        arm.put_group("rg", "g", group_body("exit-1-after-0s", "Never")).await.status,
        StatusCode::CREATED
    );
    arm.wait_for("rg", "g", |g| container_state(g).0 == "Terminated").await;
    let path = format!("{}/containers/main/exec", Arm::group_path("rg", "g"));
    let reply = arm.call(Method::POST, &path, Some(json!({ "command": "/bin/sh" }))).await;
    assert_eq!((reply.status, reply.error_code()), (StatusCode::CONFLICT, "ContainerNotRunning"));
    let missing = format!("{}/containers/nope/attach", Arm::group_path("rg", "g"));
    assert_eq!(arm.call(Method::POST, &missing, None).await.error_code(), "ContainerNotFound");
}

#[tokio::test]
async fn attach_ends_when_the_container_exits() {
    let arm = Arm::start(process_config()).await;
    running_group(&arm, Some(json!(["/bin/sh", "-c", "read line; echo bye-$line"]))).await;
    let mut socket = open(&arm, "attach", None).await;
    socket.send(Message::Binary(b"now\n".to_vec().into())).await.expect("stdin");
    assert!(read_until(&mut socket, "bye-now").await.contains("bye-now"));
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the attach session closes when the container exits");
}

#[tokio::test]
async fn heavy_stdin_never_stops_the_output_of_an_exec_session() {
    let arm = Arm::start(process_config()).await;
    running_group(&arm, Some(json!(["/bin/sh", "-c", "sleep 60"]))).await;
    let request = json!({ "command": "/bin/sh", "terminalSize": { "rows": 24, "cols": 80 } });
    let socket = open(&arm, "exec", Some(request)).await;
    let (mut sink, mut source) = socket.split();
    // The shell is busy writing a megabyte of output while the client keeps sending input it
    // will only read afterwards (comment lines): the terminal's input queue fills up.
    let busy = b"stty -echo; yes line | head -n 200000; echo done-$((6*7))\n".to_vec();
    sink.send(Message::Binary(busy.into())).await.expect("stdin");
    let flood = tokio::spawn(async move {
        for _ in 0..64 {
            let comments = "# input the shell reads later\n".repeat(32).into_bytes();
            if sink.send(Message::Binary(comments.into())).await.is_err() {
                break;
            }
        }
        sink
    });
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !seen.contains("done-42") {
        match tokio::time::timeout_at(deadline, source.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => {
                seen.push_str(&String::from_utf8_lossy(&b));
                // Keep only the tail: the marker is all that matters.
                if seen.len() > 4096 {
                    seen.drain(..seen.len() - 64);
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("the output stalled: {other:?} after {seen:?}"),
        }
    }
    let _ = flood.await;
}
