//! The kubelet API under fuzz: one current-thread runtime per test with the scripted gRPC
//! provider on a Unix socket; each case is one HTTP connection served by the real
//! [`serve_connection`] over an in-memory pipe, upgraded to a remote-command session, then
//! fed hostile bytes. A case passes when nothing panicked (a panic hook counts panics on the
//! test's thread, where a current-thread runtime runs every task), the server closed the
//! connection within [`CASE_TIMEOUT`], and the runtime is back to the tasks it had before
//! the case (no session, pump or connection task left behind).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use proptest::strategy::Strategy;
use proptest::test_runner::{TestCaseError, TestRunner};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tonic::transport::Channel;

use crate::kubelet_api::remotecommand::over_spdy::SpdySessionConfig;
use crate::kubelet_api::server::auth::Gate;
use crate::kubelet_api::server::serve::serve_connection;
use crate::kubelet_api::server::service::{KubeletApi, PodDirectory};
use crate::kubelet_api::test_provider::{Served, serve_provider};

/// Longest a case may take to be closed by the server and to end its tasks.
pub(super) const CASE_TIMEOUT: Duration = Duration::from_secs(10);

/// `PROPTEST_CASES` overrides each fuzz test's default number of cases.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// Runs `case` on `count` inputs of `strategy` (or `PROPTEST_CASES`), writing no regression
/// files into the tree; panics with the smallest failing input.
pub(super) fn run_all<S: Strategy>(
    strategy: S,
    count: u32,
    case: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = proptest::test_runner::Config {
        cases: cases(count),
        failure_persistence: None,
        // Failing cases can take CASE_TIMEOUT each: shrink a little, not for hours.
        max_shrink_iters: 16,
        ..Default::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(failure) = runner.run(&strategy, case) {
        panic!("{failure}");
    }
}

thread_local! {
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|count| count.set(count.get() + 1));
            previous(info);
        }));
    });
}

/// Pod `default/p` (UID `u1`) with container `app`, the one the scripted provider serves.
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
                containers: vec![Container { name: "app".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }]
    }
}

/// The kubelet API with its provider, and the number of tasks alive between cases.
pub(super) struct Harness {
    runtime: Runtime,
    api: Arc<KubeletApi<Channel>>,
    baseline: usize,
    provider_sessions: Arc<AtomicUsize>,
    _served: Served,
}

/// What a request head got back, up to the blank line.
async fn read_head<R: AsyncRead + Unpin>(read: &mut R) -> std::io::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if read.read(&mut byte).await? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

impl Harness {
    /// A kubelet API whose SPDY sessions use `spdy`, warmed up (the provider connection is
    /// open) so that the task count between cases is stable.
    pub(super) fn new(spdy: SpdySessionConfig) -> Self {
        count_panics();
        let provider_sessions = Arc::new(AtomicUsize::new(0));
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a test runtime");
        let (api, served, baseline) = runtime.block_on(async {
            let mut served = serve_provider().await;
            let (_, unused) = tokio::sync::mpsc::channel(1);
            let mut ended = std::mem::replace(&mut served.ended, unused);
            let counted = provider_sessions.clone();
            tokio::spawn(async move {
                while ended.recv().await.is_some() {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            });
            let api = Arc::new(KubeletApi {
                node_name: "vk".into(),
                gate: Gate::Open,
                pods: Arc::new(OnePod),
                provider: served.client.clone(),
                spdy,
            });
            let (client, server) = tokio::io::duplex(1 << 16);
            let connection = tokio::spawn(serve_connection(server, api.clone(), None));
            let (mut read, mut write) = tokio::io::split(client);
            write
                .write_all(b"GET /stats/summary HTTP/1.1\r\nHost: vk\r\nConnection: close\r\n\r\n")
                .await
                .expect("warm-up request");
            let head = read_head(&mut read).await.expect("warm-up answer");
            assert!(head.starts_with("HTTP/1.1 200"), "the provider answers: {head}");
            drop((read, write));
            connection.await.expect("warm-up connection ends");
            tokio::time::sleep(Duration::from_millis(100)).await;
            let baseline = tokio::runtime::Handle::current().metrics().num_alive_tasks();
            (api, served, baseline)
        });
        Harness { runtime, api, baseline, provider_sessions, _served: served }
    }

    /// How many exec sessions reached the provider and were cancelled by the client going
    /// away (how deep the cases got).
    pub(super) fn provider_sessions(&self) -> usize {
        self.provider_sessions.load(Ordering::Relaxed)
    }

    /// Sends `head` (an upgrade request), expects 101, writes `bytes`, half-closes when
    /// `close`, and reads until the server closes; then checks panics and tasks.
    pub(super) fn run(&self, head: &str, bytes: &[u8], close: bool) -> Result<(), TestCaseError> {
        let panics_before = PANICS.with(Cell::get);
        let result = self
            .runtime
            .block_on(async { tokio::time::timeout(CASE_TIMEOUT, self.case(head, bytes, close)).await });
        let panics = PANICS.with(Cell::get) - panics_before;
        if panics > 0 {
            return Err(TestCaseError::fail(format!("{panics} panic(s) while serving the case")));
        }
        match result {
            Ok(outcome) => outcome,
            Err(_) => Err(TestCaseError::fail(format!("the server did not close within {CASE_TIMEOUT:?}"))),
        }?;
        self.runtime.block_on(self.tasks_settle())
    }

    async fn case(&self, head: &str, bytes: &[u8], close: bool) -> Result<(), TestCaseError> {
        let (client, server) = tokio::io::duplex(1 << 20);
        let connection = tokio::spawn(serve_connection(server, self.api.clone(), None));
        let (mut read, mut write) = tokio::io::split(client);
        write.write_all(head.as_bytes()).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let answer = read_head(&mut read).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
        if !answer.starts_with("HTTP/1.1 101") {
            return Err(TestCaseError::fail(format!("no upgrade: {answer}")));
        }
        // The server may stop reading at the first bad byte: a failed write is fine.
        let _ = write.write_all(bytes).await;
        if close {
            let _ = write.shutdown().await;
        }
        let mut rest = Vec::new();
        let _ = read.read_to_end(&mut rest).await;
        drop((read, write));
        connection.await.map_err(|e| TestCaseError::fail(format!("connection task: {e}")))
    }

    /// Waits until only the tasks alive before the case remain.
    async fn tasks_settle(&self) -> Result<(), TestCaseError> {
        let metrics = tokio::runtime::Handle::current().metrics();
        let deadline = tokio::time::Instant::now() + CASE_TIMEOUT;
        loop {
            let alive = metrics.num_alive_tasks();
            if alive <= self.baseline {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(TestCaseError::fail(format!(
                    "{} task(s) left behind after the connection closed",
                    alive - self.baseline
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
