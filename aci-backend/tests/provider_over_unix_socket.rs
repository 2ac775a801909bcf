//! The provider service over a temp-dir Unix socket against the ACI emulator: create (twice),
//! get, list, watch until Running, scope isolation, refusal, and delete (twice).

mod support;

use std::time::Duration;

use futures::StreamExt as _;
use support::emulated;
use tonic::Code;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self, watch_pods_response::Event};
use vk_proto::{Endpoint, Scope, scope::ScopeInterceptor};

type Client = ProviderClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, ScopeInterceptor>,
>;

async fn client(endpoint: &Endpoint, cluster: &str) -> Client {
    let channel = endpoint.channel(None).expect("channel");
    let interceptor = ScopeInterceptor::new(&Scope::new(cluster, "vk-node")).expect("scope");
    ProviderClient::with_interceptor(channel, interceptor)
}

fn pod(uid: &str, image: &str) -> v1::Pod {
    support::pods::minimal(uid, &format!("pod-{uid}"), image)
}

fn hooked(mut p: v1::Pod) -> v1::Pod {
    p.spec.as_mut().expect("spec").containers[0].has_lifecycle_hooks = true;
    p
}

struct Served {
    emulator: aci_emulator::EmulatorHandle,
    listen: Endpoint,
    backend: emulated::Running,
    _dir: tempfile::TempDir,
}

async fn served(runtime: aci_emulator::Runtime) -> Served {
    let config = aci_emulator::Config { tls: true, runtime, ..aci_emulator::Config::fast() };
    let emulator = aci_emulator::Emulator::start(config).await.expect("emulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("provider.sock");
    let flags = emulated::flags(&emulator, dir.path(), &format!("unix://{}", socket.display()), &[]);
    let backend = emulated::Running::start(flags, emulated::FAST, None).await;
    Served { emulator, listen: backend.flags.listen.clone(), backend, _dir: dir }
}

impl Served {
    async fn shut(self) {
        self.backend.stop().await.expect("server ends cleanly");
        self.emulator.shutdown().await;
    }
}

async fn wait_running(client: &mut Client, uid: &str) {
    for _ in 0..200 {
        let state =
            client.get_pod(v1::GetPodRequest { uid: uid.into() }).await.expect("get").into_inner().state;
        if state.and_then(|s| s.status).is_some_and(|s| s.phase == v1::PodPhase::Running as i32) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("pod {uid} never ran");
}

#[tokio::test]
async fn every_pod_rpc_works_over_a_unix_socket() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let world = served(aci_emulator::Runtime::Simulate).await;
    let mut a = client(&world.listen, "cluster-a").await;
    let mut b = client(&world.listen, "cluster-b").await;
    let mut watch = a
        .watch_pods(v1::WatchPodsRequest { bookmark_interval_seconds: 1 })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.next().await.expect("a message").expect("ok");
    assert!(matches!(first.event, Some(Event::SnapshotComplete(v1::SnapshotComplete { pod_count: 0 }))));

    let created = a
        .create_pod(v1::CreatePodRequest { pod: Some(hooked(pod("u1", "nginx"))) })
        .await
        .expect("create")
        .into_inner();
    assert!(!created.already_existed);
    let again = a
        .create_pod(v1::CreatePodRequest { pod: Some(pod("u1", "nginx")) })
        .await
        .expect("create again")
        .into_inner();
    assert!(again.already_existed, "a second create of the same UID changes nothing");

    let mut running = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !running && tokio::time::Instant::now() < deadline {
        let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_secs(5), watch.next()).await else {
            break;
        };
        if let Some(Event::Changed(state)) = message.event {
            running = state.status.is_some_and(|s| s.phase == v1::PodPhase::Running as i32);
        }
    }
    assert!(running, "WatchPods reports the pod Running");

    let got = a.get_pod(v1::GetPodRequest { uid: "u1".into() }).await.expect("get").into_inner();
    let state = got.state.expect("state");
    assert!(
        state.events.iter().any(|e| e.reason == "IgnoredSetting" && e.message.contains("lifecycle")),
        "the ignored lifecycle hook is reported: {:?}",
        state.events
    );
    assert_eq!(state.pod.map(|p| p.spec_hash), Some("hash-u1".to_string()));
    let listed = a.list_pods(v1::ListPodsRequest::default()).await.expect("list").into_inner();
    assert_eq!(listed.pods.len(), 1);

    let other =
        b.get_pod(v1::GetPodRequest { uid: "u1".into() }).await.expect_err("another cluster sees nothing");
    assert_eq!(other.code(), Code::NotFound);
    assert!(b.list_pods(v1::ListPodsRequest::default()).await.expect("list b").into_inner().pods.is_empty());
    let not_found = b
        .delete_pod(v1::DeletePodRequest { uid: "u1".into(), grace_period_seconds: None })
        .await
        .expect("delete b");
    assert!(!not_found.into_inner().found, "another cluster cannot delete it");

    let mut bad = pod("u2", "nginx");
    bad.spec.as_mut().expect("spec").host_network = true;
    bad.spec.as_mut().expect("spec").volumes = vec![v1::Volume {
        name: "h".into(),
        source: Some(v1::volume::Source::Unsupported(v1::UnsupportedVolume {
            kind: "hostPath".into(),
            detail: "/".into(),
        })),
    }];
    let refused = a.create_pod(v1::CreatePodRequest { pod: Some(bad) }).await.expect_err("refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("spec.hostNetwork")
            && refused.message().contains("spec.volumes[0].hostPath")
    );

    let deleted = a
        .delete_pod(v1::DeletePodRequest { uid: "u1".into(), grace_period_seconds: Some(0) })
        .await
        .expect("delete");
    assert!(deleted.into_inner().found);
    let again = a
        .delete_pod(v1::DeletePodRequest { uid: "u1".into(), grace_period_seconds: None })
        .await
        .expect("delete again");
    assert!(!again.into_inner().found, "deleting an unknown UID succeeds");

    drop((watch, a, b));
    world.shut().await;
}

#[tokio::test]
async fn exec_and_logs_work_over_the_provider_api() {
    let world = served(aci_emulator::Runtime::Process).await;
    let mut a = client(&world.listen, "cluster-a").await;
    let mut p = pod("u-exec", "busybox");
    p.spec.as_mut().expect("spec").containers[0].command =
        vec!["sh".into(), "-c".into(), "echo hello from main; sleep 60".into()];
    a.create_pod(v1::CreatePodRequest { pod: Some(p) }).await.expect("create");
    wait_running(&mut a, "u-exec").await;

    let start = v1::ExecStart {
        pod_uid: "u-exec".into(),
        container: "main".into(),
        command: vec!["sh".into(), "-c".into(), r#"echo "it's \"quoted\" with  two spaces"; exit 3"#.into()],
        tty: false,
        stdin: false,
        stdout: true,
        stderr: true,
        terminal_size: None,
    };
    let frames =
        futures::stream::iter(vec![v1::ExecRequest { frame: Some(v1::exec_request::Frame::Start(start)) }]);
    let mut session = a.exec(frames).await.expect("exec starts").into_inner();
    let mut output = Vec::new();
    let mut exit = None;
    while let Some(frame) =
        tokio::time::timeout(Duration::from_secs(20), session.next()).await.expect("in time")
    {
        match frame.expect("frame").frame {
            Some(v1::exec_response::Frame::Stdout(b)) | Some(v1::exec_response::Frame::Stderr(b)) => {
                output.extend(b)
            }
            Some(v1::exec_response::Frame::Exit(e)) => exit = e.outcome,
            _ => {}
        }
    }
    assert_eq!(
        exit,
        Some(v1::exec_exit::Outcome::ExitCode(3)),
        "output: {}",
        String::from_utf8_lossy(&output)
    );
    assert!(
        String::from_utf8_lossy(&output).contains(r#"it's "quoted" with  two spaces"#),
        "{}",
        String::from_utf8_lossy(&output)
    );

    let req =
        v1::ContainerLogsRequest { pod_uid: "u-exec".into(), container: "main".into(), ..Default::default() };
    let mut logs = a.get_container_logs(req).await.expect("logs").into_inner();
    let mut text = Vec::new();
    while let Some(chunk) = logs.next().await {
        text.extend(chunk.expect("chunk").data);
    }
    assert!(String::from_utf8_lossy(&text).contains("hello from main"), "{}", String::from_utf8_lossy(&text));
    let missing =
        v1::ContainerLogsRequest { pod_uid: "u-exec".into(), container: "nope".into(), ..Default::default() };
    assert_eq!(a.get_container_logs(missing).await.expect_err("unknown container").code(), Code::NotFound);
    drop(a);
    world.shut().await;
}

#[tokio::test]
async fn storms_of_429_and_503_lose_no_pod_and_create_no_duplicate() {
    let world = served(aci_emulator::Runtime::Simulate).await;
    world.emulator.set_faults(vec![
        aci_emulator::FaultRule {
            operation: "*".into(),
            kind: aci_emulator::FaultKind::Error429,
            rate: 0.3,
            latency_ms: 0,
        },
        aci_emulator::FaultRule {
            operation: "ContainerGroups_CreateOrUpdate".into(),
            kind: aci_emulator::FaultKind::Error503,
            rate: 0.4,
            latency_ms: 0,
        },
    ]);
    let mut a = client(&world.listen, "cluster-a").await;
    let uids: Vec<String> = (0..6).map(|i| format!("storm-{i}")).collect();
    for uid in &uids {
        // Like the agent: a transient failure is retried with the same UID.
        let mut created = false;
        for _ in 0..30 {
            match a.create_pod(v1::CreatePodRequest { pod: Some(pod(uid, "nginx")) }).await {
                Ok(_) => {
                    created = true;
                    break;
                }
                Err(s) => {
                    assert!(
                        matches!(s.code(), Code::Unavailable | Code::ResourceExhausted),
                        "only transient failures: {s:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        assert!(created, "{uid} was created in the end");
    }
    world.emulator.set_faults(Vec::new());
    let mut seen = Vec::new();
    for _ in 0..100 {
        let pods = a.list_pods(v1::ListPodsRequest::default()).await.expect("list").into_inner().pods;
        seen = pods.into_iter().filter_map(|p| p.pod.and_then(|p| p.meta).map(|m| m.uid)).collect();
        if seen.len() == uids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen.sort();
    assert_eq!(seen, uids, "every pod exists exactly once");
    drop(a);
    world.shut().await;
}

#[tokio::test]
async fn updates_apply_in_place_and_an_unregistered_provider_is_a_precondition() {
    let world = served(aci_emulator::Runtime::Simulate).await;
    let mut a = client(&world.listen, "cluster-a").await;
    a.create_pod(v1::CreatePodRequest { pod: Some(pod("u-up", "nginx")) }).await.expect("create");
    let same =
        a.update_pod(v1::UpdatePodRequest { pod: Some(pod("u-up", "nginx")) }).await.expect("no-op update");
    assert!(!same.into_inner().recreated);

    let mut changed = pod("u-up", "nginx:1.27");
    changed.spec_hash = "hash-u-up-2".into();
    let updated =
        a.update_pod(v1::UpdatePodRequest { pod: Some(changed) }).await.expect("update").into_inner();
    let state = updated.state.expect("state");
    let spec = state.pod.as_ref().and_then(|p| p.spec.as_ref()).expect("spec");
    assert_eq!(spec.containers[0].image, "nginx:1.27");
    assert_eq!(state.pod.map(|p| p.spec_hash), Some("hash-u-up-2".to_string()));
    let unknown = a.update_pod(v1::UpdatePodRequest { pod: Some(pod("u-none", "nginx")) }).await;
    assert_eq!(unknown.expect_err("unknown UID").code(), Code::NotFound);

    world.emulator.set_registered(None, false);
    let err = a
        .create_pod(v1::CreatePodRequest { pod: Some(pod("u-unreg", "nginx")) })
        .await
        .expect_err("unregistered");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("az provider register"), "{}", err.message());
    drop(a);
    world.shut().await;
}
