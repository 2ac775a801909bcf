//! The kubelet API over real TLS on 127.0.0.1: the apiserver's client certificate (signed by
//! the client CA) gets through, a caller without one gets 401, an untrusted one never
//! completes the handshake.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use vk_proto::v1::provider_client::ProviderClient;

use super::auth::{AccessReviewer, Gate, ReviewError, TokenReviewer, User};
use super::route::Attributes;
use super::serve::serve_tls;
use super::service::{KubeletApi, PodDirectory};
use super::tls::{ServingCertificate, server_config};
use crate::kubelet_api::remotecommand::over_spdy::SpdySessionConfig;
use crate::kubelet_api::test_provider::{Served, serve_provider};

struct NoPods;

impl PodDirectory for NoPods {
    fn pods(&self) -> Vec<k8s_openapi::api::core::v1::Pod> {
        Vec::new()
    }
}

/// No token is valid; only the apiserver's certificate user is allowed.
struct OnlyApiserver;

impl TokenReviewer for OnlyApiserver {
    fn review_token<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<User>, ReviewError>> {
        Box::pin(async { Ok(None) })
    }
}

impl AccessReviewer for OnlyApiserver {
    fn review_access<'a>(
        &'a self,
        user: &'a User,
        _: &'a Attributes,
    ) -> BoxFuture<'a, Result<bool, ReviewError>> {
        let allowed = user.name == "kube-apiserver-kubelet-client" && user.groups == ["system:masters"];
        Box::pin(async move { Ok(allowed) })
    }
}

pub(super) struct Pki {
    pub(super) dir: tempfile::TempDir,
    ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Pki {
    pub(super) fn new() -> Pki {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().expect("key"))
            .expect("ca");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ca.crt"), ca.pem()).expect("write");
        Pki { dir, ca }
    }

    /// A certificate signed by the CA: (chain, key).
    pub(super) fn issue(
        &self,
        names: &[&str],
        cn: &str,
        org: Option<&str>,
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
        if let Some(org) = org {
            params.distinguished_name.push(rcgen::DnType::OrganizationName, org);
        }
        let certificate = params.signed_by(&key, &self.ca).expect("signed");
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![certificate.der().clone()], der)
    }
}

async fn start(pki: &Pki) -> (u16, CancellationToken, Served) {
    let gate = Gate::checked(Arc::new(OnlyApiserver), Arc::new(OnlyApiserver));
    start_with(pki, gate, &pki.dir.path().join("ca.crt")).await
}

/// Serves the kubelet API on 127.0.0.1 with a certificate from `pki`, trusting client
/// certificates signed by the CA in `client_ca`.
pub(super) async fn start_with(
    pki: &Pki,
    gate: Gate,
    client_ca: &std::path::Path,
) -> (u16, CancellationToken, Served) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, "vk");
    let certificate = params.signed_by(&key, &pki.ca).expect("signed");
    std::fs::write(pki.dir.path().join("tls.crt"), certificate.pem()).expect("write");
    std::fs::write(pki.dir.path().join("tls.key"), key.serialize_pem()).expect("write");
    let serving = ServingCertificate::Files {
        cert: pki.dir.path().join("tls.crt"),
        key: pki.dir.path().join("tls.key"),
    };
    let tls = server_config(&serving, Some(client_ca)).expect("tls config");
    let served = serve_provider().await;
    let api = Arc::new(KubeletApi {
        node_name: "vk".into(),
        gate,
        pods: Arc::new(NoPods),
        provider: ProviderClient::clone(&served.client),
        spdy: SpdySessionConfig::default(),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let shutdown = CancellationToken::new();
    tokio::spawn(serve_tls(listener, tls, api, shutdown.clone()));
    (port, shutdown, served)
}

pub(super) async fn get(
    pki: &Pki,
    port: u16,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    token: Option<&str>,
    path: &str,
) -> Result<StatusCode, String> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.der().clone()).expect("root");
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match client {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).expect("client cert"),
        None => builder.with_no_client_auth(),
    };
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let tls = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut request = Request::get(path).header(header::HOST, "localhost");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(Empty::<Bytes>::new()).expect("request");
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let _ = response.into_body().collect().await;
    Ok(status)
}

async fn healthz(
    pki: &Pki,
    port: u16,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<StatusCode, String> {
    get(pki, port, client, None, "/healthz").await
}

#[tokio::test]
async fn the_apiservers_client_certificate_gets_through() {
    let pki = Pki::new();
    let (port, shutdown, _provider) = start(&pki).await;
    let client = pki.issue(&[], "kube-apiserver-kubelet-client", Some("system:masters"));
    assert_eq!(healthz(&pki, port, Some(client)).await, Ok(StatusCode::OK));
    shutdown.cancel();
}

#[tokio::test]
async fn without_a_certificate_or_token_the_answer_is_401() {
    let pki = Pki::new();
    let (port, shutdown, _provider) = start(&pki).await;
    assert_eq!(healthz(&pki, port, None).await, Ok(StatusCode::UNAUTHORIZED));
    shutdown.cancel();
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let pki = Pki::new();
    let (port, shutdown, _provider) = start(&pki).await;
    let stranger = Pki::new().issue(&[], "kube-apiserver-kubelet-client", Some("system:masters"));
    assert!(healthz(&pki, port, Some(stranger)).await.is_err(), "untrusted client certificate");
    shutdown.cancel();
}
