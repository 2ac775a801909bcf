//! The remote shared backend shape: TCP with TLS (the agent verifies the backend against a
//! CA file) and a bearer token the backend checks.

use std::time::Duration;

use anyhow::{Context, Result};
use integration_tests::control_plane::{ControlPlane, unique_name};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use node_agent::app::run_agent;
use node_agent::backend::{BackendSettings, TlsFiles};
use node_agent::resolve::Sensitive;
use provider_testkit::reference::{ReferenceBackend, ReferenceConfig, ServerTls};
use tokio_util::sync::CancellationToken;

use crate::support::{agent_config, eventually};

struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> Result<Pki> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "backend test CA");
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &ca)?;
    Ok(Pki { ca_pem: ca.pem(), cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

/// The Ready condition's (status, reason) of `name`.
async fn readiness(nodes: &Api<Node>, name: &str) -> Result<Option<(String, String)>> {
    let Some(node) = nodes.get_opt(name).await? else { return Ok(None) };
    let ready =
        node.status.and_then(|s| s.conditions).and_then(|c| c.into_iter().find(|c| c.type_ == "Ready"));
    Ok(ready.map(|c| (c.status, c.reason.unwrap_or_default())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_backend_is_reached_over_tls_with_a_token_and_a_wrong_token_is_reported() -> Result<()> {
    let plane = ControlPlane::shared().await?;
    let client = plane.client()?;
    let pki = pki()?;
    let dir = tempfile::tempdir()?;
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem)?;
    let backend = ReferenceBackend::new(ReferenceConfig {
        tokens: [("s3cret".to_owned(), vec!["*".to_owned()])].into(),
        ..ReferenceConfig::default()
    });
    let tls = ServerTls { cert_pem: pki.cert_pem, key_pem: pki.key_pem, client_ca_pem: None };
    let server = backend.serve_tcp("127.0.0.1:0", Some(tls)).await?;
    let settings = |token: &str| BackendSettings {
        endpoint: server.endpoint().clone(),
        tls: Some(TlsFiles {
            ca: Some(ca_file.clone()),
            server_name: Some("localhost".into()),
            ..TlsFiles::default()
        }),
        token: Some(Sensitive::new(token.to_owned())),
    };
    let nodes: Api<Node> = Api::all(client.clone());

    for (token, expected) in
        [("s3cret", ("True", "KubeletReady")), ("wrong", ("False", "BackendUnauthorized"))]
    {
        let name = unique_name("vk-remote");
        let shutdown = CancellationToken::new();
        let agent =
            tokio::spawn(run_agent(client.clone(), agent_config(&name, settings(token)), shutdown.clone()));
        let seen = eventually(&format!("{name} to report {expected:?}"), Duration::from_secs(60), || async {
            Ok(readiness(&nodes, &name)
                .await?
                .filter(|(status, reason)| (status.as_str(), reason.as_str()) == expected))
        })
        .await?;
        assert_eq!(seen.0, expected.0);
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), agent).await.context("agent stops")???;
    }
    drop(server);
    Ok(())
}
