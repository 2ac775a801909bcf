//! gRPC calls with broken bodies and metadata, on fresh HTTP/2 connections, and how each
//! was answered.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use proptest::prelude::*;
use prost::Message as _;
use vk_proto::v1::{self, exec_request};

use crate::served::{ANSWER_TIMEOUT, CLUSTER, NODE, Served, TOKEN};

/// How long a streaming answer is read before the client goes away.
const STREAM_READ: Duration = Duration::from_millis(500);

pub const METHODS: [(&str, bool); 14] = [
    ("/vk.provider.v1.Provider/CreatePod", false),
    ("/vk.provider.v1.Provider/UpdatePod", false),
    ("/vk.provider.v1.Provider/DeletePod", false),
    ("/vk.provider.v1.Provider/GetPod", false),
    ("/vk.provider.v1.Provider/ListPods", false),
    ("/vk.provider.v1.Provider/WatchPods", true),
    ("/vk.provider.v1.Provider/GetContainerLogs", true),
    ("/vk.provider.v1.Provider/Exec", true),
    ("/vk.provider.v1.Provider/Attach", true),
    ("/vk.provider.v1.Provider/GetNodeInfo", false),
    ("/vk.provider.v1.Provider/GetStatsSummary", false),
    ("/grpc.health.v1.Health/Check", false),
    ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", true),
    ("/vk.provider.v1.Provider/NoSuchMethod", false),
];

/// A gRPC message frame: flag, length as given (it may lie), bytes.
fn framed(compressed: u8, length: u32, message: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(compressed);
    out.put_u32(length);
    out.put_slice(message);
    out.to_vec()
}

/// A valid request of `method`. Created pods get another UID than the one the other calls
/// name, so no call reaches a running container (an exec there waits for the container's
/// shell up to its 30 s start limit, which is not what this test is about).
fn valid_request(method: usize) -> Vec<u8> {
    let pod = v1::Pod {
        meta: Some(v1::PodMeta {
            uid: "fuzz-created".into(),
            namespace: "default".into(),
            name: "fuzz".into(),
            ..Default::default()
        }),
        spec: Some(v1::PodSpec {
            containers: vec![v1::Container {
                name: "c".into(),
                image: "busybox".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        spec_hash: "h".into(),
    };
    let start = v1::ExecStart {
        pod_uid: "fuzz-uid".into(),
        container: "c".into(),
        command: vec!["sh".into()],
        stdout: true,
        ..Default::default()
    };
    match method {
        0 => v1::CreatePodRequest { pod: Some(pod) }.encode_to_vec(),
        1 => v1::UpdatePodRequest { pod: Some(pod) }.encode_to_vec(),
        2 => v1::DeletePodRequest { uid: "fuzz-uid".into(), grace_period_seconds: Some(0) }.encode_to_vec(),
        3 => v1::GetPodRequest { uid: "fuzz-uid".into() }.encode_to_vec(),
        4 => v1::ListPodsRequest { page_size: 3, page_token: "x".into() }.encode_to_vec(),
        5 => v1::WatchPodsRequest { bookmark_interval_seconds: 1 }.encode_to_vec(),
        6 => v1::ContainerLogsRequest {
            pod_uid: "fuzz-uid".into(),
            container: "c".into(),
            follow: true,
            tail_lines: Some(0),
            ..Default::default()
        }
        .encode_to_vec(),
        7 | 8 => v1::ExecRequest { frame: Some(exec_request::Frame::Start(start)) }.encode_to_vec(),
        _ => Vec::new(),
    }
}

/// How a request body is broken.
#[derive(Clone, Debug)]
pub enum Body {
    /// Random bytes in a correct gRPC frame.
    RandomMessage(Vec<u8>),
    /// A valid request of the method with bytes flipped, in a correct frame.
    Mutated(Vec<(usize, u8)>),
    /// Random bytes with no gRPC framing at all.
    Unframed(Vec<u8>),
    /// A frame whose length or flag lies.
    BadFrame { compressed: u8, length: u32, message: Vec<u8> },
    /// Two valid frames (a unary call takes one).
    Twice,
    /// No message at all.
    Empty,
}

pub fn body() -> impl Strategy<Value = Body> {
    let bytes = |max| proptest::collection::vec(any::<u8>(), 0..max);
    prop_oneof![
        4 => bytes(256).prop_map(Body::RandomMessage),
        4 => proptest::collection::vec((any::<usize>(), 1u8..=255), 1..4).prop_map(Body::Mutated),
        2 => bytes(64).prop_map(Body::Unframed),
        3 => (prop_oneof![Just(0u8), Just(1u8), any::<u8>()],
              prop_oneof![0u32..64, Just(u32::MAX), Just(5 << 20)], bytes(32))
            .prop_map(|(compressed, length, message)| Body::BadFrame { compressed, length, message }),
        1 => Just(Body::Twice),
        1 => Just(Body::Empty),
    ]
}

pub fn body_bytes(method: usize, body: &Body) -> Vec<u8> {
    match body {
        Body::RandomMessage(message) => framed(0, message.len() as u32, message),
        Body::Mutated(flips) => {
            let mut message = valid_request(method);
            if !message.is_empty() {
                let len = message.len();
                for (at, xor) in flips {
                    message[at % len] ^= xor;
                }
            }
            framed(0, message.len() as u32, &message)
        }
        Body::Unframed(bytes) => bytes.clone(),
        Body::BadFrame { compressed, length, message } => framed(*compressed, *length, message),
        Body::Twice => {
            let message = valid_request(method);
            let mut out = framed(0, message.len() as u32, &message);
            out.extend(framed(0, message.len() as u32, &message));
            out
        }
        Body::Empty => Vec::new(),
    }
}

/// The scope metadata of a call.
#[derive(Clone, Debug)]
pub enum ScopeHeaders {
    None,
    Valid,
    /// Any bytes a header value may hold (invalid ones are left out), plus extra headers.
    Garbage {
        cluster: Vec<u8>,
        node: Vec<u8>,
        authorization: Vec<u8>,
        grpc_timeout: Vec<u8>,
    },
}

pub fn scope_headers() -> impl Strategy<Value = ScopeHeaders> {
    let value = || proptest::collection::vec(prop_oneof![Just(b'a'), 0x20u8..0x7f, any::<u8>()], 0..80);
    prop_oneof![
        1 => Just(ScopeHeaders::None),
        3 => Just(ScopeHeaders::Valid),
        2 => (value(), value(), value(), value()).prop_map(|(cluster, node, authorization, grpc_timeout)| {
            ScopeHeaders::Garbage { cluster, node, authorization, grpc_timeout }
        }),
    ]
}

/// Sends one call on a fresh HTTP/2 connection and checks that it is answered.
/// How a call was answered: `grpc-status N`, `reset` or `streaming`.
pub async fn call(
    served: &Served,
    method: usize,
    scope: &ScopeHeaders,
    body: Vec<u8>,
) -> Result<String, String> {
    let (path, streaming) = METHODS[method % METHODS.len()];
    let stream = served.connect().await?;
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    let mut request = http::Request::post(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    match scope {
        ScopeHeaders::None => {}
        ScopeHeaders::Valid => {
            request = request
                .header("vk-cluster-id", CLUSTER)
                .header("vk-node-name", NODE)
                .header("authorization", format!("Bearer {TOKEN}"));
        }
        ScopeHeaders::Garbage { cluster, node, authorization, grpc_timeout } => {
            let headers = [
                ("vk-cluster-id", cluster),
                ("vk-node-name", node),
                ("authorization", authorization),
                ("grpc-timeout", grpc_timeout),
            ];
            for (name, value) in headers {
                if let Ok(value) = http::HeaderValue::from_bytes(value) {
                    request = request.header(name, value);
                }
            }
        }
    }
    let request = request.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
    let response = match tokio::time::timeout(ANSWER_TIMEOUT, sender.send_request(request)).await {
        Err(_) => return Err(format!("{path}: no response within {ANSWER_TIMEOUT:?}")),
        // The server reset the stream or closed the connection: an answer.
        Ok(Err(_)) => return Ok("reset".into()),
        Ok(Ok(response)) => response,
    };
    if let Some(code) = response.headers().get("grpc-status") {
        return Ok(format!("grpc-status {}", code.to_str().unwrap_or("?")));
    }
    let mut body = response.into_body();
    let read_for = if streaming { STREAM_READ } else { ANSWER_TIMEOUT };
    let deadline = tokio::time::Instant::now() + read_for;
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) if streaming => return Ok("streaming".into()),
            Err(_) => return Err(format!("{path}: no status within {ANSWER_TIMEOUT:?}")),
            Ok(None) => return Err(format!("{path}: the answer ended without a grpc-status")),
            Ok(Some(Err(_))) => return Ok("reset".into()),
            Ok(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(|trailers| trailers.get("grpc-status")) {
                    return Ok(format!("grpc-status {}", code.to_str().unwrap_or("?")));
                }
            }
        }
    }
}
