//! A trivial server of the provider API, served over a Unix socket in a temp dir and over TLS
//! TCP, answers health, reflection and a streaming rpc that carries the caller's scope.

use std::net::SocketAddr;
use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use vk_proto::scope::ScopeInterceptor;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::provider_server::{Provider, ProviderServer};
use vk_proto::v1::{self as pb};
use vk_proto::{Endpoint, PROVIDER_SERVICE_NAME, Scope};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Answers GetContainerLogs with two chunks naming the caller's scope and the container;
/// every other rpc is UNIMPLEMENTED.
struct EchoScopeProvider;

fn unimplemented<T>(what: &str) -> Result<T, Status> {
    Err(Status::unimplemented(format!("{what} is not offered by the round-trip server")))
}

#[tonic::async_trait]
impl Provider for EchoScopeProvider {
    async fn create_pod(
        &self,
        _: Request<pb::CreatePodRequest>,
    ) -> Result<Response<pb::CreatePodResponse>, Status> {
        unimplemented("CreatePod")
    }
    async fn update_pod(
        &self,
        _: Request<pb::UpdatePodRequest>,
    ) -> Result<Response<pb::UpdatePodResponse>, Status> {
        unimplemented("UpdatePod")
    }
    async fn delete_pod(
        &self,
        _: Request<pb::DeletePodRequest>,
    ) -> Result<Response<pb::DeletePodResponse>, Status> {
        unimplemented("DeletePod")
    }
    async fn get_pod(&self, _: Request<pb::GetPodRequest>) -> Result<Response<pb::GetPodResponse>, Status> {
        unimplemented("GetPod")
    }
    async fn list_pods(
        &self,
        _: Request<pb::ListPodsRequest>,
    ) -> Result<Response<pb::ListPodsResponse>, Status> {
        unimplemented("ListPods")
    }

    type WatchPodsStream = BoxStream<pb::WatchPodsResponse>;
    async fn watch_pods(
        &self,
        _: Request<pb::WatchPodsRequest>,
    ) -> Result<Response<Self::WatchPodsStream>, Status> {
        unimplemented("WatchPods")
    }

    type GetContainerLogsStream = BoxStream<pb::ContainerLogsChunk>;
    async fn get_container_logs(
        &self,
        request: Request<pb::ContainerLogsRequest>,
    ) -> Result<Response<Self::GetContainerLogsStream>, Status> {
        let scope = Scope::from_metadata(request.metadata())?;
        let container = request.into_inner().container;
        let chunks = vec![
            Ok(pb::ContainerLogsChunk { data: format!("scope {scope}\n").into_bytes() }),
            Ok(pb::ContainerLogsChunk { data: format!("container {container}\n").into_bytes() }),
        ];
        Ok(Response::new(Box::pin(futures::stream::iter(chunks))))
    }

    type ExecStream = BoxStream<pb::ExecResponse>;
    async fn exec(
        &self,
        _: Request<Streaming<pb::ExecRequest>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        unimplemented("Exec")
    }

    type AttachStream = BoxStream<pb::ExecResponse>;
    async fn attach(
        &self,
        _: Request<Streaming<pb::ExecRequest>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        unimplemented("Attach")
    }
    async fn get_node_info(
        &self,
        _: Request<pb::GetNodeInfoRequest>,
    ) -> Result<Response<pb::NodeInfo>, Status> {
        unimplemented("GetNodeInfo")
    }
    async fn get_stats_summary(
        &self,
        _: Request<pb::GetStatsSummaryRequest>,
    ) -> Result<Response<pb::StatsSummary>, Status> {
        unimplemented("GetStatsSummary")
    }
}

/// A running server; dropping `stop` (or sending on it) shuts it down.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Running {
    async fn shut_down(self) {
        let _ = self.stop.send(());
        self.task.await.expect("server task joins").expect("server ends cleanly");
    }
}

async fn server_builder(tls: Option<ServerTlsConfig>) -> anyhow::Result<tonic::transport::server::Router> {
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        // The workspace links two rustls crypto back ends; servers pick one before TLS.
        vk_proto::tls::install_crypto_provider();
        builder = builder.tls_config(tls)?;
    }
    let (_reporter, health) = vk_proto::standard_services::health().await;
    Ok(builder
        .add_service(health)
        .add_service(vk_proto::standard_services::reflection()?)
        .add_service(ProviderServer::new(EchoScopeProvider)))
}

async fn serve_unix(path: &std::path::Path) -> anyhow::Result<Running> {
    let listener = tokio::net::UnixListener::bind(path)?;
    let router = server_builder(None).await?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(router.serve_with_incoming_shutdown(UnixListenerStream::new(listener), async {
        let _ = stopped.await;
    }));
    Ok(Running { stop, task })
}

async fn serve_tls_tcp(identity: Identity) -> anyhow::Result<(SocketAddr, Running)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let router = server_builder(Some(ServerTlsConfig::new().identity(identity))).await?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
        let _ = stopped.await;
    }));
    Ok((address, Running { stop, task }))
}

/// A CA and a server certificate for `localhost` / 127.0.0.1 signed by it, all PEM.
struct TestPki {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
}

fn test_pki() -> anyhow::Result<TestPki> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "round-trip test CA");
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;

    let server_key = rcgen::KeyPair::generate()?;
    let mut server_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server_params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    let server_cert = server_params.signed_by(&server_key, &ca)?;
    Ok(TestPki {
        ca_pem: ca.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
    })
}

/// Calls health (both names), reflection and the streaming rpc over `channel`.
async fn exercise(channel: Channel) -> anyhow::Result<()> {
    let mut health = HealthClient::new(channel.clone());
    for service in ["", PROVIDER_SERVICE_NAME] {
        let status =
            health.check(HealthCheckRequest { service: service.to_owned() }).await?.into_inner().status;
        assert_eq!(status, ServingStatus::Serving as i32, "health of service `{service}`");
    }

    let mut reflection = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses =
        reflection.server_reflection_info(futures::stream::iter([request])).await?.into_inner();
    let response = responses.message().await?.expect("reflection answers the list request");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        anyhow::bail!("reflection answered something other than a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    for expected in [PROVIDER_SERVICE_NAME, "grpc.health.v1.Health"] {
        assert!(names.iter().any(|name| name == expected), "reflection lists {expected}: {names:?}");
    }

    let scope = Scope::new("cluster-uid-1", "virtual-kubelet-test");
    let mut provider = ProviderClient::with_interceptor(channel.clone(), ScopeInterceptor::new(&scope)?);
    let request =
        pb::ContainerLogsRequest { pod_uid: "uid-1".into(), container: "app".into(), ..Default::default() };
    let mut stream = provider.get_container_logs(request).await?.into_inner();
    let mut text = Vec::new();
    while let Some(chunk) = stream.next().await {
        text.extend(chunk?.data);
    }
    assert_eq!(String::from_utf8(text)?, "scope cluster-uid-1/virtual-kubelet-test\ncontainer app\n");

    let mut unscoped = ProviderClient::new(channel);
    let refused = unscoped.get_container_logs(pb::ContainerLogsRequest::default()).await.err();
    assert_eq!(
        refused.map(|status| status.code()),
        Some(tonic::Code::InvalidArgument),
        "a call without scope"
    );
    Ok(())
}

#[tokio::test]
async fn health_reflection_and_a_stream_work_over_a_unix_socket() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let socket = dir.path().join("provider.sock");
    let server = serve_unix(&socket).await?;
    let endpoint: Endpoint = format!("unix://{}", socket.display()).parse()?;
    exercise(endpoint.channel(None)?).await?;
    server.shut_down().await;
    Ok(())
}

#[tokio::test]
async fn health_reflection_and_a_stream_work_over_tls_tcp() -> anyhow::Result<()> {
    let pki = test_pki()?;
    let (address, server) =
        serve_tls_tcp(Identity::from_pem(&pki.server_cert_pem, &pki.server_key_pem)).await?;
    let endpoint: Endpoint = format!("tcp://127.0.0.1:{}", address.port()).parse()?;
    let tls =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.ca_pem)).domain_name("localhost");
    exercise(endpoint.channel(Some(tls))?).await?;
    server.shut_down().await;
    Ok(())
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_is_refused() -> anyhow::Result<()> {
    let pki = test_pki()?;
    let other = test_pki()?;
    let (address, server) =
        serve_tls_tcp(Identity::from_pem(&pki.server_cert_pem, &pki.server_key_pem)).await?;
    let endpoint: Endpoint = format!("tcp://127.0.0.1:{}", address.port()).parse()?;
    let tls =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&other.ca_pem)).domain_name("localhost");
    let mut health = HealthClient::new(endpoint.channel(Some(tls))?);
    let result = health.check(HealthCheckRequest { service: String::new() }).await;
    assert!(result.is_err(), "a handshake against an unknown CA must fail");
    server.shut_down().await;
    Ok(())
}
