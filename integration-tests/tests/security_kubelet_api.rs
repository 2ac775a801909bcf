//! Security of the kubelet API of a running node-agent process, end to end with the real
//! apiserver deciding (TokenReview, SubjectAccessReview) and the real apiserver proxying:
//!
//! | caller | directly on the kubelet port | through the apiserver |
//! | --- | --- | --- |
//! | anonymous | 401 | 401 or 403 (the apiserver's own answer) |
//! | a token nobody issued | 401 | |
//! | a client certificate from another CA | refused (TLS handshake or 401) | |
//! | a cluster user without RBAC | 403 | 403 |
//! | a service account without `nodes/proxy` | 403 | |
//! | a service account with `nodes/stats` only | stats 200; pods, logs, exec 403 | |
//! | a service account with `nodes/proxy` | 200 | 200 |
//! | the apiserver's kubelet client certificate | 200 | 200 (admin) |
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use anyhow::{Context, Result, ensure};
use e2e_support::E2e;
use integration_tests::control_plane::unique_name;
use integration_tests::local_stack::Os;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use kube::api::PostParams;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;

/// An HTTPS client; `identity` is a PEM certificate followed by its key.
fn https(identity: Option<String>, trust: Option<&str>) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20));
    builder = match trust {
        Some(ca) => builder.tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes())?]),
        // The agent's serving certificate is self-signed at start.
        None => builder.danger_accept_invalid_certs(true),
    };
    if let Some(pem) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes())?);
    }
    Ok(builder.build()?)
}

/// The status of `method url` with an optional bearer token; `Err` when no HTTP answer came
/// (for example a refused TLS handshake).
async fn status(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
) -> std::result::Result<u16, String> {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.map(|response| response.status().as_u16()).map_err(|error| format!("{error:?}"))
}

/// A CA nobody trusts and a client certificate from it that claims to be the apiserver.
fn stranger_identity() -> Result<String> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(DnType::CommonName, "stranger CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, "kube-apiserver-kubelet-client");
    params.distinguished_name.push(DnType::OrganizationName, "system:masters");
    let cert = params.signed_by(&key, &issuer)?;
    Ok(format!("{}{}", cert.pem(), key.serialize_pem()))
}

/// A service account bound to a ClusterRole granting `verbs` on `nodes/<subresource>`, and a
/// token for it.
async fn account_with(e2e: &E2e, subresource: Option<&str>, verbs: &[&str]) -> Result<String> {
    let name = unique_name("kubelet-caller");
    let accounts: Api<ServiceAccount> = Api::namespaced(e2e.client.clone(), &e2e.namespace);
    let account = serde_json::from_value(json!({ "metadata": { "name": name } }))?;
    accounts.create(&PostParams::default(), &account).await?;
    if let Some(subresource) = subresource {
        let role = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": { "name": name },
            "rules": [{ "apiGroups": [""], "resources": [format!("nodes/{subresource}")], "verbs": verbs }],
        });
        let binding = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": { "name": name },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name },
            "subjects": [{ "kind": "ServiceAccount", "name": name, "namespace": e2e.namespace }],
        });
        e2e.apply(&json!({ "apiVersion": "v1", "kind": "List", "items": [role, binding] }).to_string())
            .await?;
    }
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![e2e.plane.service_account_issuer().to_owned()],
            ..Default::default()
        },
        ..Default::default()
    };
    let issued: TokenRequest =
        accounts.create_subresource("token", &name, &PostParams::default(), &request).await?;
    Ok(issued.status.context("a token")?.token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubelet_api_admits_exactly_the_callers_the_apiserver_allows() -> Result<()> {
    vk_proto::tls::install_crypto_provider();
    let e2e = E2e::start("sec-kubelet").await?;
    let mut connector = e2e.sidecar("vk-sec-kubelet", Os::Linux).await?;
    let node = connector.agent.node_name().to_string();
    let kubelet = format!("https://127.0.0.1:{}", connector.agent.kubelet_port());
    let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);
    let exec = format!("{kubelet}/exec/{}/nope/main?command=true&output=1", e2e.namespace);
    let logs = format!("{kubelet}/containerLogs/{}/nope/main", e2e.namespace);
    let (healthz, pods, stats) =
        (format!("{kubelet}/healthz"), format!("{kubelet}/pods"), format!("{kubelet}/stats/summary"));

    let anonymous = https(None, None)?;
    for (method, url) in [(&get, &healthz), (&get, &pods), (&post, &exec), (&get, &logs)] {
        let got = status(&anonymous, method.clone(), url, None).await;
        ensure!(got == Ok(401), "anonymous {method} {url}: {got:?}");
        let got = status(&anonymous, method.clone(), url, Some("made-up-token")).await;
        ensure!(got == Ok(401), "unknown token {method} {url}: {got:?}");
    }

    let stranger = https(Some(stranger_identity()?), None)?;
    let got = status(&stranger, get.clone(), &pods, None).await;
    ensure!(matches!(got, Err(_) | Ok(401)), "another CA's certificate is refused: {got:?}");

    let plane = e2e.plane;
    let nobody = plane.issue_client_certificate(&unique_name("kubelet-nobody"), None)?;
    let nobody = https(Some(format!("{}{}", nobody.cert_pem, nobody.key_pem)), None)?;
    let got = status(&nobody, get.clone(), &pods, None).await;
    ensure!(got == Ok(403), "a cluster user without RBAC: {got:?}");

    let plain_account = account_with(&e2e, None, &[]).await?;
    let got = status(&anonymous, get.clone(), &pods, Some(&plain_account)).await;
    ensure!(got == Ok(403), "a service account without nodes/proxy: {got:?}");

    let stats_reader = account_with(&e2e, Some("stats"), &["get"]).await?;
    let got = status(&anonymous, get.clone(), &stats, Some(&stats_reader)).await;
    ensure!(got == Ok(200), "nodes/stats reads stats: {got:?}");
    for (method, url) in [(&get, &pods), (&post, &exec), (&get, &logs)] {
        let got = status(&anonymous, method.clone(), url, Some(&stats_reader)).await;
        ensure!(got == Ok(403), "nodes/stats only: {method} {url}: {got:?}");
    }

    let proxy_user = account_with(&e2e, Some("proxy"), &["get", "create"]).await?;
    for url in [&healthz, &pods] {
        let got = status(&anonymous, get.clone(), url, Some(&proxy_user)).await;
        ensure!(got == Ok(200), "nodes/proxy: GET {url}: {got:?}");
    }
    // Admitted, then the pod is looked up: 404, not 401/403.
    let got = status(&anonymous, get.clone(), &logs, Some(&proxy_user)).await;
    ensure!(got == Ok(404), "nodes/proxy reaches the logs route: {got:?}");

    let apiserver =
        https(Some(format!("{}{}", plane.kubelet_client_cert_pem(), plane.kubelet_client_key_pem())), None)?;
    for url in [&healthz, &pods, &stats] {
        let got = status(&apiserver, get.clone(), url, None).await;
        ensure!(got == Ok(200), "the apiserver's certificate: GET {url}: {got:?}");
    }

    // Through the apiserver, which checks nodes/proxy itself and then calls the kubelet API
    // with its own client certificate.
    let proxied = format!("{}/api/v1/nodes/{node}/proxy/healthz", plane.server_url());
    let admin_view = plane.kubectl(&["get", "--raw", &format!("/api/v1/nodes/{node}/proxy/healthz")]).await?;
    ensure!(admin_view.trim() == "ok", "the admin reaches the kubelet API: {admin_view:?}");
    let trusted_anonymous = https(None, Some(plane.cluster_ca_pem()))?;
    let got = status(&trusted_anonymous, get.clone(), &proxied, None).await;
    ensure!(matches!(got, Ok(401 | 403)), "anonymous through the apiserver: {got:?}");
    let nobody = plane.issue_client_certificate(&unique_name("apiserver-nobody"), None)?;
    let nobody = https(Some(format!("{}{}", nobody.cert_pem, nobody.key_pem)), Some(plane.cluster_ca_pem()))?;
    let got = status(&nobody, get.clone(), &proxied, None).await;
    ensure!(got == Ok(403), "a user without nodes/proxy through the apiserver: {got:?}");
    let got = status(&trusted_anonymous, get.clone(), &proxied, Some(&proxy_user)).await;
    ensure!(got == Ok(200), "nodes/proxy through the apiserver: {got:?}");
    let got = status(&trusted_anonymous, get.clone(), &proxied, Some(&stats_reader)).await;
    ensure!(got == Ok(403), "nodes/stats only, through the apiserver's proxy: {got:?}");

    connector.stop().await?;
    e2e.finish().await
}
