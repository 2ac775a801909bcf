//! End to end, remote shape: one aci-backend on TLS serves several node-agents, each with its
//! own identity (a client certificate, a bearer token) and cluster id; each agent's pods run,
//! each group carries its caller's cluster id, and a caller cannot act for another's cluster.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use anyhow::{Context, Result, ensure};
use e2e_support::{CLUSTER_TAG, E2e, NODE_TAG, pinned_deployment};
use integration_tests::control_plane::unique_name;
use integration_tests::local_stack::{
    AgentOptions, AgentProcess, BackendProcess, CallerCredential, Listen, Os, RemoteCaller, free_port,
    write_remote_tls,
};
use tonic::transport::{Certificate, ClientTlsConfig};
use vk_proto::v1::ListPodsRequest;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::{Endpoint, Scope, scope::ScopeInterceptor};

/// `ListPods` as the holder of `token` acting for node `node` of `cluster`.
async fn list_pods_with_token(
    endpoint: &str,
    ca: &[u8],
    token: &str,
    (cluster, node): (&str, &str),
) -> Result<tonic::Result<usize>> {
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)).domain_name("localhost");
    let channel = endpoint.parse::<Endpoint>()?.channel(Some(tls))?;
    let scope = ScopeInterceptor::new(&Scope::new(cluster, node))?;
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse()?;
    let mut client = ProviderClient::with_interceptor(channel, move |request: tonic::Request<()>| {
        let mut request = tonic::service::Interceptor::call(&mut scope.clone(), request)?;
        request.metadata_mut().insert("authorization", bearer.clone());
        Ok(request)
    });
    Ok(client.list_pods(ListPodsRequest::default()).await.map(|answer| answer.into_inner().pods.len()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tls_backend_serves_several_agents_each_within_its_own_cluster() -> Result<()> {
    let e2e = E2e::start("e2e-remote").await?;
    let (cluster_a, cluster_b) = (unique_name("cluster-a"), unique_name("cluster-b"));
    let callers = [
        RemoteCaller {
            name: "agent-a".into(),
            credential: CallerCredential::Certificate,
            clusters: vec![cluster_a.clone()],
        },
        RemoteCaller {
            name: "agent-b".into(),
            credential: CallerCredential::Token,
            clusters: vec![cluster_b.clone()],
        },
    ];
    let (server, files) = write_remote_tls(&e2e.dir.path().join("remote-tls"), &callers)?;
    let listen = Listen::Tcp { port: free_port()?, tls: server.clone() };
    let logs = e2e.dir.path().join("logs");
    let mut backend =
        BackendProcess::start("aci-backend-remote", Os::Linux, listen, &e2e.emulator, &e2e.target, &logs)
            .await?;
    let endpoint = backend.listen().endpoint();

    let mut agents = Vec::new();
    for (files, cluster) in files.iter().zip([&cluster_a, &cluster_b]) {
        let node_name = unique_name(&format!("vk-e2e-{}", files.name));
        let mut options =
            AgentOptions::new(&node_name, Os::Linux, endpoint.clone(), e2e.plane.kubeconfig_path());
        options.backend_credentials = Some(files.clone());
        options.cluster_id = Some(cluster.clone());
        options.kubelet_client_ca = Some(e2e.kubelet_client_ca.clone());
        options.extra_args.push("--backend-tls-server-name=localhost".into());
        agents.push(AgentProcess::start(&options, &e2e.client, &logs, e2e_support::READY_TIMEOUT).await?);
    }
    let nodes: Vec<String> = agents.iter().map(|agent| agent.node_name().to_string()).collect();
    for (index, node) in nodes.iter().enumerate() {
        e2e.apply(&pinned_deployment(&format!("app-{index}"), node, 1, None)).await?;
        e2e.running_pods(&format!("app-{index}"), 1).await?;
    }
    let groups = e2e.groups_match_pods(2).await?;
    for (node, cluster) in nodes.iter().zip([&cluster_a, &cluster_b]) {
        let group = groups.iter().find(|g| g.tags.get(NODE_TAG) == Some(node)).context("a group per node")?;
        ensure!(
            group.tags.get(CLUSTER_TAG) == Some(cluster),
            "{node}'s group is in {cluster}: {:?}",
            group.tags
        );
    }

    let ca = std::fs::read(&server.server_ca)?;
    let token = std::fs::read_to_string(files[1].token_file.as_ref().context("agent-b has a token")?)?;
    let own =
        list_pods_with_token(&endpoint, &ca, token.trim(), (cluster_b.as_str(), nodes[1].as_str())).await?;
    ensure!(matches!(own, Ok(1)), "agent-b sees its own pod: {own:?}");
    let foreign =
        list_pods_with_token(&endpoint, &ca, token.trim(), (cluster_a.as_str(), nodes[0].as_str())).await?;
    ensure!(
        matches!(&foreign, Err(status) if status.code() == tonic::Code::PermissionDenied),
        "agent-b may not act for agent-a's cluster: {foreign:?}"
    );
    let unknown =
        list_pods_with_token(&endpoint, &ca, "not-a-known-token", (cluster_b.as_str(), nodes[1].as_str()))
            .await?;
    ensure!(
        matches!(&unknown, Err(status) if status.code() == tonic::Code::Unauthenticated),
        "an unknown token is refused: {unknown:?}"
    );

    e2e.kubectl(&["delete", "deployment", "app-0", "app-1"]).await?;
    e2e.groups_match_pods(0).await?;
    for agent in &mut agents {
        agent.stop().await?;
    }
    backend.stop().await?;
    e2e.finish().await
}
