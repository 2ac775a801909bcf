//! Hostile gRPC and HTTP/2 against a running aci-backend on a temp-dir Unix socket (with the
//! emulator behind it): random bytes as protobuf bodies, mutated valid requests, broken gRPC
//! message framing (lengths that lie, the compressed flag, several messages for a unary call,
//! no message) and garbage scope, authorization and grpc-timeout metadata, for every rpc of
//! the provider, health and reflection services; and raw byte
//! soups and random HTTP/2 frames on fresh connections. Every call is answered with a gRPC
//! status (or its stream reset) in time, nothing panics, and between cases the server keeps
//! answering a well-behaved client on its own connection.
//!
//! Default counts: 384 gRPC bodies and 160 raw HTTP/2 connections (about 20 s).
//! `PROPTEST_CASES=N` runs N of each:
//! `PROPTEST_CASES=10000 cargo test -p aci-backend --test fuzz_grpc -- --nocapture`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use aci_backend::config::Flags;
use aci_backend::engine::Pace;
use aci_backend::serve::serve;
use aci_backend::startup::build;
use bytes::{BufMut, Bytes, BytesMut};
use clap::Parser as _;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self, exec_request};
use vk_proto::{Endpoint, Scope, scope::ScopeInterceptor};

/// Longest wait for response headers, and for a unary call's status.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a streaming answer is read before the client goes away.
const STREAM_READ: Duration = Duration::from_millis(500);

const METHODS: [(&str, bool); 14] = [
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

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn run_all<S: Strategy>(strategy: S, count: u32, case: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = proptest::test_runner::Config {
        cases: cases(count),
        failure_persistence: None,
        max_shrink_iters: 32,
        ..Default::default()
    };
    if let Err(failure) = TestRunner::new(config).run(&strategy, case) {
        panic!("{failure}");
    }
}

/// aci-backend serving on a Unix socket against an in-process emulator.
struct Backend {
    runtime: Runtime,
    socket: std::path::PathBuf,
    client: ProviderClient<
        tonic::service::interceptor::InterceptedService<tonic::transport::Channel, ScopeInterceptor>,
    >,
    _emulator: aci_emulator::EmulatorHandle,
    _dir: tempfile::TempDir,
}

impl Backend {
    fn start() -> Self {
        count_panics();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("provider.sock");
        let (emulator, client) = runtime.block_on(async {
            let config = aci_emulator::Config { tls: true, ..aci_emulator::Config::fast() };
            let emulator = aci_emulator::Emulator::start(config).await.expect("emulator starts");
            let ca = dir.path().join("ca.pem");
            std::fs::write(&ca, emulator.ca_pem().expect("a CA")).expect("write CA");
            let base = emulator.base_url().trim_end_matches('/').to_string();
            let flags = Flags::try_parse_from([
                "aci-backend".to_string(),
                format!("--listen=unix://{}", socket.display()),
                "--subscription-id=00000000-0000-0000-0000-000000000001".into(),
                "--resource-group=vk-fuzz".into(),
                "--region=westeurope".into(),
                format!("--arm-endpoint={base}"),
                format!("--authority-host={base}"),
                format!("--ca-file={}", ca.display()),
                "--credential=client-secret".into(),
                "--tenant-id=00000000-0000-0000-0000-00000000000a".into(),
                "--client-id=backend".into(),
                "--client-secret=emulator-secret".into(),
            ])
            .expect("flags");
            let backend = build(&flags, Pace::default()).expect("backend builds");
            tokio::spawn(backend.engine.clone().run());
            let endpoint = flags.listen.clone();
            tokio::spawn(
                async move { serve(&endpoint, backend.provider, None, std::future::pending()).await },
            );
            for _ in 0..200 {
                if socket.exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let channel = Endpoint::Unix(socket.clone()).channel(None).expect("channel");
            let scope = ScopeInterceptor::new(&Scope::new("fuzz-cluster", "fuzz-node")).expect("scope");
            (emulator, ProviderClient::with_interceptor(channel, scope))
        });
        let backend = Backend { runtime, socket, client, _emulator: emulator, _dir: dir };
        backend.still_serves().expect("the backend serves before the fuzz");
        backend
    }

    /// A well-behaved client on its own connection still gets answers.
    fn still_serves(&self) -> Result<(), TestCaseError> {
        let mut client = self.client.clone();
        let answer = self.runtime.block_on(async {
            tokio::time::timeout(ANSWER_TIMEOUT, client.list_pods(v1::ListPodsRequest::default())).await
        });
        match answer {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(status)) => Err(TestCaseError::fail(format!("ListPods failed: {status:?}"))),
            Err(_) => Err(TestCaseError::fail("ListPods got no answer in time")),
        }
    }

    fn check_panics(&self) -> Result<(), TestCaseError> {
        match PANICS.load(Ordering::SeqCst) {
            0 => Ok(()),
            n => Err(TestCaseError::fail(format!("{n} panic(s) in the backend"))),
        }
    }
}

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
enum Body {
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

fn body() -> impl Strategy<Value = Body> {
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

fn body_bytes(method: usize, body: &Body) -> Vec<u8> {
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
enum ScopeHeaders {
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

fn scope_headers() -> impl Strategy<Value = ScopeHeaders> {
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
async fn call(
    socket: &std::path::Path,
    method: usize,
    scope: &ScopeHeaders,
    body: Vec<u8>,
) -> Result<String, String> {
    let (path, streaming) = METHODS[method % METHODS.len()];
    let stream = tokio::net::UnixStream::connect(socket).await.map_err(|e| format!("connect: {e}"))?;
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
            request = request.header("vk-cluster-id", "fuzz-cluster").header("vk-node-name", "fuzz-node");
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

/// Random HTTP/2: an optional client preface, then frames with any type, flags, stream id
/// and a length that may lie, then flipped bytes.
#[derive(Clone, Debug)]
struct RawFrame {
    frame_type: u8,
    flags: u8,
    stream_id: u32,
    claimed: Option<u32>,
    payload: Vec<u8>,
}

fn raw_frame() -> impl Strategy<Value = RawFrame> {
    let frame_type = prop_oneof![0u8..10, any::<u8>()];
    let stream_id = prop_oneof![Just(0u32), 1u32..8, any::<u32>()];
    let claimed = prop_oneof![4 => Just(None), 1 => any::<u32>().prop_map(|n| Some(n & 0x00ff_ffff))];
    (frame_type, any::<u8>(), stream_id, claimed, proptest::collection::vec(any::<u8>(), 0..40)).prop_map(
        |(frame_type, flags, stream_id, claimed, payload)| RawFrame {
            frame_type,
            flags,
            stream_id,
            claimed,
            payload,
        },
    )
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn raw_connection(preface: bool, frames: &[RawFrame], flips: &[(usize, u8)]) -> Vec<u8> {
    let mut out = Vec::new();
    if preface {
        out.extend_from_slice(PREFACE);
        // An empty SETTINGS frame, as every client sends first.
        out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    }
    for frame in frames {
        let length = frame.claimed.unwrap_or(frame.payload.len() as u32);
        out.extend_from_slice(&length.to_be_bytes()[1..]);
        out.push(frame.frame_type);
        out.push(frame.flags);
        out.extend_from_slice(&frame.stream_id.to_be_bytes());
        out.extend_from_slice(&frame.payload);
    }
    let start = if preface { PREFACE.len() } else { 0 };
    if out.len() > start {
        let span = out.len() - start;
        for (at, xor) in flips {
            out[start + at % span] ^= xor;
        }
    }
    out
}

/// Writes `bytes` on a fresh connection, half-closes, and reads until the server closes.
async fn raw(socket: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    let mut stream = tokio::net::UnixStream::connect(socket).await.map_err(|e| format!("connect: {e}"))?;
    // The server may close at the first bad byte: a failed write is fine.
    let _ = stream.write_all(bytes).await;
    let _ = stream.shutdown().await;
    let mut sink = Vec::new();
    match tokio::time::timeout(ANSWER_TIMEOUT, stream.read_to_end(&mut sink)).await {
        Ok(_) => Ok(()),
        Err(_) => Err(format!("the server kept the connection open {ANSWER_TIMEOUT:?} after our end")),
    }
}

#[test]
fn the_backend_answers_384_malformed_grpc_calls_and_keeps_serving() {
    let backend = Backend::start();
    let served = Arc::new(AtomicUsize::new(0));
    let answers = Mutex::new(BTreeMap::<String, usize>::new());
    let calls = (0..METHODS.len(), scope_headers(), body());
    run_all(calls, 384, |(method, scope, body)| {
        let bytes = body_bytes(method, &body);
        let answer = backend
            .runtime
            .block_on(call(&backend.socket, method, &scope, bytes))
            .map_err(TestCaseError::fail)?;
        *answers.lock().expect("answers").entry(answer).or_default() += 1;
        backend.check_panics()?;
        if served.fetch_add(1, Ordering::Relaxed).is_multiple_of(16) {
            backend.still_serves()?;
        }
        Ok(())
    });
    backend.still_serves().expect("the backend still serves after the fuzz");
    let answers = answers.into_inner().expect("answers");
    println!("answers: {answers:?}");
    assert!(
        answers
            .keys()
            .filter(|answer| answer.starts_with("grpc-status") && *answer != "grpc-status 0")
            .count()
            >= 3,
        "calls were refused for several reasons: {answers:?}"
    );
}

#[test]
fn the_backend_survives_160_connections_of_broken_http2() {
    let backend = Backend::start();
    let connections = (
        prop_oneof![1 => Just(false), 4 => Just(true)],
        proptest::collection::vec(raw_frame(), 0..8),
        proptest::collection::vec((any::<usize>(), 1u8..=255), 0..3),
    );
    run_all(connections, 160, |(preface, frames, flips)| {
        let bytes = raw_connection(preface, &frames, &flips);
        backend.runtime.block_on(raw(&backend.socket, &bytes)).map_err(TestCaseError::fail)?;
        backend.check_panics()?;
        backend.still_serves()
    });
}
