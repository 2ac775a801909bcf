//! The reference backend over a temp-dir Unix socket: lifecycle, restart policy, exec
//! sessions and the test hooks node-agent tests rely on.

use std::time::Duration;

use futures::StreamExt;
use provider_testkit::reference::{ReferenceBackend, ReferenceConfig, Rpc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use vk_proto::Scope;
use vk_proto::scope::ScopeInterceptor;
use vk_proto::v1::container_state::State as StateKind;
use vk_proto::v1::exec_request::Frame as In;
use vk_proto::v1::exec_response::Frame as Out;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self as pb};

type Client = ProviderClient<InterceptedService<Channel, ScopeInterceptor>>;

fn pod(uid: &str, script: &str, restart: pb::RestartPolicy) -> pb::Pod {
    pb::Pod {
        meta: Some(pb::PodMeta {
            uid: uid.into(),
            namespace: "ns".into(),
            name: uid.into(),
            ..Default::default()
        }),
        spec: Some(pb::PodSpec {
            containers: vec![pb::Container {
                name: "app".into(),
                image: "busybox".into(),
                command: vec!["sh".into(), "-c".into(), script.into()],
                ..Default::default()
            }],
            restart_policy: restart as i32,
            ..Default::default()
        }),
        spec_hash: format!("hash-{uid}"),
    }
}

async fn until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    for _ in 0..800 {
        if let Some(value) = probe() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

struct World {
    backend: ReferenceBackend,
    client: Client,
    scope: Scope,
    _dir: tempfile::TempDir,
    _server: provider_testkit::reference::ServerHandle,
}

async fn world() -> World {
    let config = ReferenceConfig {
        start_delay: Duration::from_millis(20),
        restart_delay: Duration::from_millis(20),
        ..Default::default()
    };
    let backend = ReferenceBackend::new(config);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = backend.serve_unix(&dir.path().join("p.sock")).await.expect("serves");
    let scope = Scope::new("cluster", "node");
    let channel = server.endpoint().channel(None).expect("channel");
    let client = ProviderClient::with_interceptor(channel, ScopeInterceptor::new(&scope).expect("scope"));
    World { backend, client, scope, _dir: dir, _server: server }
}

fn main_state(state: &pb::PodState) -> Option<StateKind> {
    state.status.as_ref()?.container_statuses.first()?.state.as_ref()?.state.clone()
}

#[tokio::test]
async fn a_pod_runs_with_an_ip_and_the_received_pod_is_kept_as_given() {
    let mut w = world().await;
    let given = pod("u1", "echo hello; sleep infinity", pb::RestartPolicy::Always);
    w.client.create_pod(pb::CreatePodRequest { pod: Some(given.clone()) }).await.expect("created");
    let running = until("the pod runs", || {
        w.backend
            .pod(&w.scope, "u1")
            .filter(|p| p.status.as_ref().is_some_and(|s| s.phase == pb::PodPhase::Running as i32))
    })
    .await;
    assert!(!running.status.expect("status").pod_ip.is_empty());
    assert_eq!(w.backend.received_pods(), vec![(w.scope.clone(), given)]);
    until("the log has the greeting", || {
        w.backend.container_log(&w.scope, "u1", "app").filter(|l| l == "hello\n")
    })
    .await;
}

#[tokio::test]
async fn an_ended_container_restarts_under_always_and_stays_terminated_under_never() {
    let w = world().await;
    let mut client = w.client.clone();
    client
        .create_pod(pb::CreatePodRequest { pod: Some(pod("a", "sleep infinity", pb::RestartPolicy::Always)) })
        .await
        .expect("a");
    client
        .create_pod(pb::CreatePodRequest { pod: Some(pod("n", "sleep infinity", pb::RestartPolicy::Never)) })
        .await
        .expect("n");
    for uid in ["a", "n"] {
        until("running", || w.backend.exit_container(&w.scope, uid, "app", 7).ok()).await;
    }
    until("a restarted", || {
        let status = w.backend.pod(&w.scope, "a")?.status?;
        let container = status.container_statuses.first()?.clone();
        (container.restart_count == 1 && matches!(container.state?.state?, StateKind::Running(_)))
            .then_some(())
    })
    .await;
    let failed = until("n failed", || {
        w.backend
            .pod(&w.scope, "n")
            .filter(|p| p.status.as_ref().is_some_and(|s| s.phase == pb::PodPhase::Failed as i32))
    })
    .await;
    assert!(matches!(main_state(&failed), Some(StateKind::Terminated(t)) if t.exit_code == 7));
}

#[tokio::test]
async fn an_injected_error_answers_the_next_call_only() {
    let mut w = world().await;
    w.backend.inject_error(Rpc::ListPods, tonic::Code::Unavailable, "try again");
    let first = w.client.list_pods(pb::ListPodsRequest::default()).await.expect_err("injected");
    assert_eq!(first.code(), tonic::Code::Unavailable);
    w.client.list_pods(pb::ListPodsRequest::default()).await.expect("the next call is served");
}

#[tokio::test]
async fn exec_records_resizes_and_ends_when_the_client_goes_away() {
    let mut w = world().await;
    w.client
        .create_pod(pb::CreatePodRequest { pod: Some(pod("e", "sleep infinity", pb::RestartPolicy::Always)) })
        .await
        .expect("created");
    until("running", || {
        w.backend.pod(&w.scope, "e").filter(|p| matches!(main_state(p), Some(StateKind::Running(_))))
    })
    .await;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let start = pb::ExecStart {
        pod_uid: "e".into(),
        container: "app".into(),
        command: vec!["cat".into()],
        tty: true,
        stdin: true,
        stdout: true,
        terminal_size: Some(pb::TerminalSize { width: 80, height: 24 }),
        ..Default::default()
    };
    tx.send(pb::ExecRequest { frame: Some(In::Start(start)) }).await.expect("start");
    let mut responses = w.client.exec(ReceiverStream::new(rx)).await.expect("exec").into_inner();
    assert!(matches!(responses.next().await, Some(Ok(pb::ExecResponse { frame: Some(Out::Started(_)) }))));
    tx.send(pb::ExecRequest { frame: Some(In::Resize(pb::TerminalSize { width: 120, height: 40 })) })
        .await
        .expect("resize");
    tx.send(pb::ExecRequest { frame: Some(In::Stdin(b"ping".to_vec())) }).await.expect("stdin");
    assert!(
        matches!(responses.next().await, Some(Ok(pb::ExecResponse { frame: Some(Out::Stdout(b)) })) if b == b"ping")
    );
    assert_eq!(w.backend.active_sessions(), 1);
    assert_eq!(w.backend.resizes().last().map(|r| (r.width, r.height)), Some((120, 40)));
    drop(responses);
    drop(tx);
    until("the session ended", || (w.backend.active_sessions() == 0).then_some(())).await;
}

#[tokio::test]
async fn a_vanished_pod_is_reported_removed_to_watchers() {
    let mut w = world().await;
    w.client
        .create_pod(pb::CreatePodRequest { pod: Some(pod("v", "sleep infinity", pb::RestartPolicy::Always)) })
        .await
        .expect("created");
    let mut watch = w
        .client
        .watch_pods(pb::WatchPodsRequest { bookmark_interval_seconds: 60 })
        .await
        .expect("watch")
        .into_inner();
    w.backend.vanish(&w.scope, "v").expect("vanishes");
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), watch.next()).await.expect("in time");
        let event = message.expect("open").expect("ok").event;
        if let Some(pb::watch_pods_response::Event::Removed(removed)) = event {
            assert_eq!(removed.uid, "v");
            break;
        }
    }
}
