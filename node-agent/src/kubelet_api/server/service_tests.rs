//! The kubelet API over an in-memory connection: auth answers, plain routes, logs, stats,
//! and exec upgraded to SPDY and WebSocket, against a real gRPC provider.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use vk_proto::v1::provider_client::ProviderClient;

use super::auth::{AccessReviewer, Gate, ReviewError, TokenReviewer, User};
use super::route::Attributes;
use super::serve::serve_connection;
use super::service::{KubeletApi, PodDirectory};
use crate::kubelet_api::remotecommand::over_spdy::SpdySessionConfig;
use crate::kubelet_api::spdy::Frame;
use crate::kubelet_api::spdy::test_client::TestClient;
use crate::kubelet_api::test_provider::{Served, serve_provider};

struct OnePod;

impl PodDirectory for OnePod {
    fn pods(&self) -> Vec<Pod> {
        vec![Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("default".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![
                    Container { name: "app".into(), ..Default::default() },
                    Container { name: "ghost".into(), ..Default::default() },
                ],
                ..Default::default()
            }),
            ..Default::default()
        }]
    }
}

/// Tokens: "viewer" may only read stats; the apiserver's certificate user may do anything.
struct Reviews;

impl TokenReviewer for Reviews {
    fn review_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<User>, ReviewError>> {
        let user = (token == "viewer").then(|| User { name: "viewer".into(), groups: vec![], uid: None });
        Box::pin(async move { Ok(user) })
    }
}

impl AccessReviewer for Reviews {
    fn review_access<'a>(
        &'a self,
        user: &'a User,
        attrs: &'a Attributes,
    ) -> BoxFuture<'a, Result<bool, ReviewError>> {
        let allowed = user.name == "apiserver" || (user.name == "viewer" && attrs.subresource == "stats");
        Box::pin(async move { Ok(allowed) })
    }
}

fn apiserver() -> Option<User> {
    Some(User { name: "apiserver".into(), groups: vec![], uid: None })
}

async fn api(served: &Served) -> Arc<KubeletApi<tonic::transport::Channel>> {
    Arc::new(KubeletApi {
        node_name: "vk".into(),
        gate: Gate::checked(Arc::new(Reviews), Arc::new(Reviews)),
        pods: Arc::new(OnePod),
        provider: ProviderClient::clone(&served.client),
        spdy: SpdySessionConfig::default(),
    })
}

/// Connects an in-memory client whose certificate (if any) named `user`.
fn connect(api: Arc<KubeletApi<tonic::transport::Channel>>, user: Option<User>) -> DuplexStream {
    let (client, server) = tokio::io::duplex(1 << 20);
    tokio::spawn(serve_connection(server, api, user));
    client
}

async fn get(
    api: Arc<KubeletApi<tonic::transport::Channel>>,
    user: Option<User>,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, String) {
    let io = connect(api, user);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.expect("handshake");
    tokio::spawn(connection);
    let mut request = Request::get(path).header(header::HOST, "vk");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response =
        sender.send_request(request.body(Empty::<Bytes>::new()).expect("request")).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn callers_without_credentials_get_401_and_without_permission_403() {
    let served = serve_provider().await;
    let api = api(&served).await;
    assert_eq!(
        get(api.clone(), None, "/healthz", None).await,
        (StatusCode::UNAUTHORIZED, "Unauthorized\n".into())
    );
    let (status, body) = get(api.clone(), None, "/pods", Some("viewer")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, "Forbidden (user=viewer, verb=get, resource=nodes, subresource=proxy)\n");
    let (status, _) = get(api.clone(), None, "/stats/summary", Some("viewer")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(api, apiserver(), "/healthz", None).await, (StatusCode::OK, "ok\n".into()));
}

#[tokio::test]
async fn pods_port_forward_and_unknown_paths() {
    let served = serve_provider().await;
    let api = api(&served).await;
    let (status, body) = get(api.clone(), apiserver(), "/pods", None).await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["items"][0]["metadata"]["uid"], "u1");
    let (status, body) = get(api.clone(), apiserver(), "/portForward/default/p", None).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    let refusal: serde_json::Value = serde_json::from_str(&body).expect("a Status");
    assert_eq!((refusal["kind"].as_str(), refusal["code"].as_u64()), (Some("Status"), Some(501)));
    assert!(refusal["message"].as_str().is_some_and(|m| m.starts_with("port forwarding is not supported")));
    assert_eq!(get(api, apiserver(), "/nothing", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn container_logs_pass_options_and_map_errors() {
    let served = serve_provider().await;
    let api = api(&served).await;
    let (status, body) =
        get(api.clone(), apiserver(), "/containerLogs/default/p/app?tailLines=0&timestamps=true", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "pod u1 container app\ntail Some(0) follow false timestamps true\n");
    assert_eq!(
        get(api.clone(), apiserver(), "/containerLogs/default/p/app?tailLines=-1", None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(api.clone(), apiserver(), "/containerLogs/default/nope/app", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(api.clone(), apiserver(), "/containerLogs/default/p/other", None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = get(api, apiserver(), "/containerLogs/default/p/ghost", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, "container ghost not found\n".into()));
}

#[tokio::test]
async fn stats_and_resource_metrics_come_from_the_provider() {
    let served = serve_provider().await;
    let api = api(&served).await;
    let (status, body) = get(api.clone(), apiserver(), "/stats/summary", None).await;
    assert_eq!(status, StatusCode::OK);
    let summary: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(summary["node"]["nodeName"], "vk");
    assert_eq!(summary["pods"][0]["memory"]["workingSetBytes"], 4096);
    let (status, body) = get(api, apiserver(), "/metrics/resource", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("pod_memory_working_set_bytes{namespace=\"default\",pod=\"p\"} 4096"), "{body}");
}

/// Sends a raw HTTP request and reads the response head, leaving the stream right after it.
async fn raw_upgrade(io: &mut DuplexStream, request: &str) -> String {
    io.write_all(request.as_bytes()).await.expect("write request");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = io.read_u8().await.expect("response head");
        head.push(byte);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn exec_upgrades_to_spdy_and_reaches_the_provider() {
    let served = serve_provider().await;
    let mut io = connect(api(&served).await, apiserver());
    let head = raw_upgrade(
        &mut io,
        "POST /exec/default/p/app?command=cat&input=1&output=1 HTTP/1.1\r\nHost: vk\r\nConnection: Upgrade\r\n\
         Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_ascii_lowercase().contains("x-stream-protocol-version: v4.channel.k8s.io"), "{head}");
    let mut client = TestClient::over(io);
    client.open(1, "error").await;
    client.open(3, "stdin").await;
    client.open(5, "stdout").await;
    client.data(3, b" typed", true).await;
    let (mut stdout, mut status) = (Vec::new(), Vec::new());
    while let Some(frame) = client.next().await {
        match frame {
            Frame::Data { stream_id: 5, data, .. } => stdout.extend_from_slice(&data),
            Frame::Data { stream_id: 1, data, .. } => status.extend_from_slice(&data),
            Frame::GoAway { .. } => client.close().await,
            _ => {}
        }
    }
    assert_eq!(stdout, b"cat typed");
    let status: serde_json::Value = serde_json::from_slice(&status).expect("status json");
    assert_eq!(status["details"]["causes"][0]["message"], "3");
}

#[tokio::test]
async fn exec_upgrades_to_websocket_v5() {
    let served = serve_provider().await;
    let mut io = connect(api(&served).await, apiserver());
    let head = raw_upgrade(
        &mut io,
        "GET /exec/default/p/app?command=cat&input=1&output=1 HTTP/1.1\r\nHost: vk\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_ascii_lowercase().contains("sec-websocket-protocol: v5.channel.k8s.io"), "{head}");
    let mut ws = WebSocketStream::from_raw_socket(io, Role::Client, None).await;
    ws.send(Message::binary(b"\x00 typed".to_vec())).await.expect("stdin");
    ws.send(Message::binary(vec![255, 0])).await.expect("stdin close");
    let (mut stdout, mut status) = (Vec::new(), Vec::new());
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Binary(data) = message {
            match data.first() {
                Some(1) => stdout.extend_from_slice(&data[1..]),
                Some(3) => status.extend_from_slice(&data[1..]),
                _ => {}
            }
        }
    }
    assert_eq!(stdout, b"cat typed");
    let status: serde_json::Value = serde_json::from_slice(&status).expect("status json");
    assert_eq!(status["reason"], "NonZeroExitCode");
}

#[tokio::test]
async fn exec_without_upgrade_or_with_bad_options_is_a_bad_request() {
    let served = serve_provider().await;
    let api = api(&served).await;
    let (status, body) = get(api.clone(), apiserver(), "/exec/default/p/app?command=ls&output=1", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Upgrade request required"), "{body}");
    let (status, body) =
        get(api, apiserver(), "/exec/default/p/app?command=ls&tty=1&output=1&error=1", None).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, "tty and stderr cannot both be true\n".into()));
}

#[tokio::test]
async fn followed_logs_arrive_while_the_stream_is_open_and_a_disconnect_cancels_it() {
    let mut served = serve_provider().await;
    let io = connect(api(&served).await, apiserver());
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.expect("handshake");
    let connection = tokio::spawn(connection);
    let request = Request::get("/containerLogs/default/p/app?follow=true")
        .header(header::HOST, "vk")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut received = Vec::new();
    while !received.ends_with(b"follow true timestamps false\n") {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
            .await
            .expect("lines arrive while following")
            .expect("a frame")
            .expect("no error");
        if let Ok(data) = frame.into_data() {
            received.extend_from_slice(&data);
        }
    }
    drop(body);
    drop(sender);
    connection.abort();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), served.ended.recv()).await;
    assert_eq!(ended.expect("provider saw the end"), Some("logs follow cancelled"));
}

#[test]
fn a_reflector_store_is_a_pod_directory() {
    let (store, mut writer) = kube::runtime::reflector::store::<Pod>();
    let pod = OnePod.pods().remove(0);
    writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(pod.clone()));
    assert_eq!(PodDirectory::pods(&store), vec![pod]);
}
