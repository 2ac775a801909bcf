//! Security of a shared remote aci-backend (the real binary on TLS, the emulator behind it):
//!
//! - tenant isolation: caller A (client certificate, cluster A) runs a pod; caller B (bearer
//!   token, cluster B) knows its real UID and still cannot list it, read it, read its logs,
//!   exec or attach into it, watch it or delete it, neither in its own cluster (NOT_FOUND, and
//!   a delete that finds nothing) nor by claiming cluster A (PERMISSION_DENIED); a pod B
//!   creates with A's UID becomes B's own group and leaves A's alone;
//! - authentication: no credential, an unknown token, or a client certificate from another
//!   CA gets nothing; a plain-text client gets nothing;
//! - TLS required: aci-backend refuses to serve `tcp://` without a certificate, key and
//!   callers file.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use e2e_support::{CLUSTER_TAG, E2e, eventually};
use integration_tests::control_plane::unique_name;
use integration_tests::local_stack::{
    BackendProcess, CallerCredential, CallerFiles, Listen, Os, Process, RemoteCaller, binary, free_port,
    write_remote_tls,
};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self, exec_request};
use vk_proto::{Endpoint, Scope, scope::ScopeInterceptor};

/// The next message of a gRPC stream, within `limit`.
async fn next_within<T>(stream: &mut tonic::Streaming<T>, limit: Duration) -> Result<Option<T>> {
    Ok(tokio::time::timeout(limit, stream.message()).await??)
}

/// Scope metadata plus, for token callers, the bearer token.
#[derive(Clone)]
struct Caller {
    scope: ScopeInterceptor,
    bearer: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

impl Interceptor for Caller {
    fn call(&mut self, request: tonic::Request<()>) -> tonic::Result<tonic::Request<()>> {
        let mut request = self.scope.call(request)?;
        if let Some(bearer) = &self.bearer {
            request.metadata_mut().insert("authorization", bearer.clone());
        }
        Ok(request)
    }
}

type Client = ProviderClient<InterceptedService<Channel, Caller>>;

/// A client for `files` (certificate or token, or neither when `None`) acting for
/// (`cluster`, `node`).
fn client(
    endpoint: &str,
    ca: &[u8],
    files: Option<&CallerFiles>,
    token: Option<&str>,
    (cluster, node): (&str, &str),
) -> Result<Client> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)).domain_name("localhost");
    if let Some((cert, key)) = files.and_then(|files| files.cert_and_key.as_ref()) {
        tls = tls.identity(Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?));
    }
    let channel = endpoint.parse::<Endpoint>()?.channel(Some(tls))?;
    let bearer = token.map(|token| format!("Bearer {token}").parse()).transpose()?;
    let caller = Caller { scope: ScopeInterceptor::new(&Scope::new(cluster, node))?, bearer };
    Ok(ProviderClient::with_interceptor(channel, caller))
}

fn tenant_pod(uid: &str, name: &str) -> v1::Pod {
    v1::Pod {
        meta: Some(v1::PodMeta {
            uid: uid.into(),
            namespace: "tenant".into(),
            name: name.into(),
            ..Default::default()
        }),
        spec: Some(v1::PodSpec {
            containers: vec![v1::Container {
                name: "main".into(),
                image: "busybox".into(),
                command: vec!["/bin/sh".into(), "-c".into(), "echo tenant-a-log-line; sleep 3600".into()],
                ..Default::default()
            }],
            ..Default::default()
        }),
        spec_hash: format!("hash-{uid}"),
    }
}

fn exec_start(uid: &str) -> v1::ExecRequest {
    let start = v1::ExecStart {
        pod_uid: uid.into(),
        container: "main".into(),
        command: vec!["echo".into(), "pwned".into()],
        stdout: true,
        ..Default::default()
    };
    v1::ExecRequest { frame: Some(exec_request::Frame::Start(start)) }
}

fn logs_request(uid: &str) -> v1::ContainerLogsRequest {
    v1::ContainerLogsRequest { pod_uid: uid.into(), container: "main".into(), ..Default::default() }
}

fn code<T>(result: &tonic::Result<T>) -> Option<tonic::Code> {
    result.as_ref().err().map(tonic::Status::code)
}

/// Every way `intruder` could touch pod `uid` fails with `expected` (for a delete in its own
/// cluster: succeeds having found nothing).
async fn cannot_touch(intruder: &mut Client, uid: &str, expected: tonic::Code, label: &str) -> Result<()> {
    let listed = intruder.list_pods(v1::ListPodsRequest::default()).await;
    match &listed {
        Ok(answer) => {
            let uids: Vec<_> = answer
                .get_ref()
                .pods
                .iter()
                .filter_map(|s| s.pod.as_ref()?.meta.as_ref().map(|m| m.uid.clone()))
                .collect();
            ensure!(!uids.contains(&uid.to_string()), "{label}: ListPods shows the victim: {uids:?}");
        }
        Err(status) => ensure!(status.code() == expected, "{label}: ListPods: {status:?}"),
    }
    let got = intruder.get_pod(v1::GetPodRequest { uid: uid.into() }).await;
    ensure!(code(&got) == Some(expected), "{label}: GetPod gave {got:?}");
    let logs = intruder.get_container_logs(logs_request(uid)).await;
    ensure!(code(&logs) == Some(expected), "{label}: GetContainerLogs gave {:?}", logs.map(|_| "a stream"));
    let exec = intruder.exec(tonic::codegen::tokio_stream::iter([exec_start(uid)])).await;
    ensure!(code(&exec) == Some(expected), "{label}: Exec gave {:?}", exec.map(|_| "a session"));
    let attach = intruder.attach(tonic::codegen::tokio_stream::iter([exec_start(uid)])).await;
    ensure!(code(&attach) == Some(expected), "{label}: Attach gave {:?}", attach.map(|_| "a session"));
    let deleted =
        intruder.delete_pod(v1::DeletePodRequest { uid: uid.into(), grace_period_seconds: Some(0) }).await;
    if expected == tonic::Code::NotFound {
        let answer =
            deleted.map_err(|status| anyhow::anyhow!("{label}: DeletePod: {status:?}"))?.into_inner();
        ensure!(!answer.found, "{label}: DeletePod found the victim");
    } else {
        ensure!(code(&deleted) == Some(expected), "{label}: DeletePod gave {deleted:?}");
    }
    match intruder.watch_pods(v1::WatchPodsRequest::default()).await {
        Ok(stream) => {
            let mut stream = stream.into_inner();
            while let Some(event) = next_within(&mut stream, Duration::from_secs(10)).await? {
                let text = format!("{event:?}");
                ensure!(!text.contains(uid), "{label}: WatchPods shows the victim: {text}");
                if text.contains("SnapshotComplete") {
                    break;
                }
            }
        }
        Err(status) => ensure!(status.code() == expected, "{label}: WatchPods: {status:?}"),
    }
    Ok(())
}

async fn phase_of(client: &mut Client, uid: &str) -> Result<i32> {
    let state = client.get_pod(v1::GetPodRequest { uid: uid.into() }).await?.into_inner().state;
    Ok(state.and_then(|s| s.status).map(|s| s.phase).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_cannot_reach_another_clusters_pods_on_a_shared_backend() -> Result<()> {
    let e2e = E2e::start("sec-tenants").await?;
    let (cluster_a, cluster_b) = (unique_name("tenant-a"), unique_name("tenant-b"));
    let callers = [
        RemoteCaller {
            name: "a".into(),
            credential: CallerCredential::Certificate,
            clusters: vec![cluster_a.clone()],
        },
        RemoteCaller {
            name: "b".into(),
            credential: CallerCredential::Token,
            clusters: vec![cluster_b.clone()],
        },
    ];
    let (server, files) = write_remote_tls(&e2e.dir.path().join("remote-tls"), &callers)?;
    // Another CA's certificate for "a", which the backend must not accept.
    let (_, strangers) = write_remote_tls(&e2e.dir.path().join("stranger-tls"), &callers[..1])?;
    let logs = e2e.dir.path().join("logs");
    let listen = Listen::Tcp { port: free_port()?, tls: server.clone() };
    let mut backend =
        BackendProcess::start("aci-backend-shared", Os::Linux, listen, &e2e.emulator, &e2e.target, &logs)
            .await?;
    let endpoint = backend.listen().endpoint();
    let ca = std::fs::read(&server.server_ca)?;
    let token_b = std::fs::read_to_string(files[1].token_file.as_ref().context("b has a token")?)?;
    let token_b = token_b.trim();

    let mut a = client(&endpoint, &ca, Some(&files[0]), None, (&cluster_a, "node-a"))?;
    let uid = uuid::Uuid::new_v4().to_string();
    a.create_pod(v1::CreatePodRequest { pod: Some(tenant_pod(&uid, "victim")) }).await?;
    eventually("A's pod Running", e2e_support::READY_TIMEOUT, || {
        let mut a = a.clone();
        let uid = uid.clone();
        async move { Ok((phase_of(&mut a, &uid).await? == v1::PodPhase::Running as i32).then_some(())) }
    })
    .await?;

    // B in its own cluster, on its own node and on A's node name: the pod does not exist.
    for node in ["node-b", "node-a"] {
        let mut b = client(&endpoint, &ca, None, Some(token_b), (&cluster_b, node))?;
        cannot_touch(&mut b, &uid, tonic::Code::NotFound, &format!("B on {node}")).await?;
    }
    // B claiming A's cluster: refused before anything is looked up.
    let mut b_as_a = client(&endpoint, &ca, None, Some(token_b), (&cluster_a, "node-a"))?;
    cannot_touch(&mut b_as_a, &uid, tonic::Code::PermissionDenied, "B claiming A's cluster").await?;
    // Nobody, an unknown token, and A's name on another CA's certificate.
    let mut nobody = client(&endpoint, &ca, None, None, (&cluster_a, "node-a"))?;
    cannot_touch(&mut nobody, &uid, tonic::Code::Unauthenticated, "no credential").await?;
    let mut guesser = client(&endpoint, &ca, None, Some("vk-local-a-guess"), (&cluster_a, "node-a"))?;
    cannot_touch(&mut guesser, &uid, tonic::Code::Unauthenticated, "unknown token").await?;
    let mut stranger = client(&endpoint, &ca, Some(&strangers[0]), None, (&cluster_a, "node-a"))?;
    let refused = stranger.get_pod(v1::GetPodRequest { uid: uid.clone() }).await;
    ensure!(
        refused.is_err()
            && !matches!(code(&refused), Some(tonic::Code::NotFound | tonic::Code::PermissionDenied)),
        "another CA's certificate is refused before any lookup (TLS handshake or UNAUTHENTICATED): {refused:?}"
    );
    // Plain text on the TLS port.
    let plain = Endpoint::Tcp(endpoint.trim_start_matches("tcp://").parse()?).channel(None)?;
    let plain = ProviderClient::new(plain).get_pod(v1::GetPodRequest { uid: uid.clone() }).await;
    ensure!(plain.is_err(), "a plain-text client gets nothing: {plain:?}");

    // B creating a pod with A's UID gets its own group; deleting it leaves A's alone.
    let mut b = client(&endpoint, &ca, None, Some(token_b), (&cluster_b, "node-b"))?;
    let created = b.create_pod(v1::CreatePodRequest { pod: Some(tenant_pod(&uid, "copycat")) }).await?;
    ensure!(!created.get_ref().already_existed, "B's create did not find A's pod");
    let groups = e2e.groups().await?;
    ensure!(groups.len() == 2, "two groups, one per cluster: {groups:?}");
    b.delete_pod(v1::DeletePodRequest { uid: uid.clone(), grace_period_seconds: Some(0) }).await?;
    let left = eventually("B's copy gone", e2e_support::READY_TIMEOUT, || async {
        let groups = e2e.groups().await?;
        Ok((groups.len() == 1).then_some(groups))
    })
    .await?;
    ensure!(left[0].tags.get(CLUSTER_TAG) == Some(&cluster_a), "A's group survived: {left:?}");

    // A still owns a running pod whose logs it can read.
    ensure!(phase_of(&mut a, &uid).await? == v1::PodPhase::Running as i32, "A's pod still runs");
    let mut lines = a.get_container_logs(logs_request(&uid)).await?.into_inner();
    let mut text = Vec::new();
    while let Some(chunk) = next_within(&mut lines, Duration::from_secs(20)).await? {
        text.extend(chunk.data);
    }
    ensure!(String::from_utf8_lossy(&text).contains("tenant-a-log-line"), "A reads its logs");
    a.delete_pod(v1::DeletePodRequest { uid: uid.clone(), grace_period_seconds: Some(0) }).await?;
    eventually("no group left", e2e_support::READY_TIMEOUT, || async {
        Ok(e2e.groups().await?.is_empty().then_some(()))
    })
    .await?;
    backend.stop().await?;
    e2e.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aci_backend_refuses_tcp_without_tls() -> Result<()> {
    let e2e = E2e::start("sec-plain-tcp").await?;
    let base = e2e.emulator.base_url();
    let target = &e2e.target;
    let port = free_port()?;
    let args = vec![
        format!("--listen=tcp://127.0.0.1:{port}"),
        format!("--subscription-id={}", target.subscription_id),
        format!("--resource-group={}", target.resource_group),
        format!("--region={}", target.region),
        format!("--arm-endpoint={base}"),
        format!("--authority-host={base}"),
        format!("--ca-file={}", e2e.emulator.ca_path().display()),
        "--credential=client-secret".into(),
        "--tenant-id=00000000-0000-0000-0000-00000000000a".into(),
        "--client-id=vk-local-backend".into(),
        "--client-secret=vk-local-emulator-secret".into(),
    ];
    let mut process =
        Process::spawn("aci-backend-plain-tcp", &binary("aci-backend")?, args, &e2e.dir.path().join("logs"))?;
    let outcome = process
        .wait_until("aci-backend to exit", Duration::from_secs(60), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await;
    let log = std::fs::read_to_string(process.log_path())?;
    let status = process.stop().await;
    ensure!(outcome.is_err(), "aci-backend listened on plain TCP: {log}");
    ensure!(
        log.contains("needs --tls-cert, --tls-key and --callers"),
        "the refusal says what is missing: {log}"
    );
    drop(status);
    e2e.finish().await
}
