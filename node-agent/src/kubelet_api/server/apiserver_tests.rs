//! Authentication and authorization decided by the real local kube-apiserver (1.20):
//! TokenReview and SubjectAccessReview through [`KubeReviewer`], behind real TLS.

use std::sync::Arc;

use http::StatusCode;
use integration_tests::control_plane::ControlPlane;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::auth::{Gate, KubeReviewer, TokenReviewer};
use super::tls_tests::{Pki, get, start_with};

fn identity(cert_pem: &str, key_pem: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let chain =
        rustls_pemfile::certs(&mut cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>().expect("certs");
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes()).expect("key pem").expect("a key");
    (chain, key)
}

#[tokio::test]
async fn the_apiserver_decides_who_may_call_the_kubelet_api() {
    vk_proto::tls::install_crypto_provider();
    let plane = ControlPlane::shared().await.expect("control plane");
    let admin = plane.client().expect("admin client");
    let reviewer = Arc::new(KubeReviewer::new(admin.clone()));

    let pki = Pki::new();
    let client_ca = pki.dir.path().join("kubelet-client-ca.crt");
    std::fs::write(&client_ca, plane.kubelet_client_ca_pem()).expect("write client CA");
    let gate = Gate::checked(reviewer.clone(), reviewer.clone());
    let (port, shutdown, _provider) = start_with(&pki, gate, &client_ca).await;

    // The apiserver's kubelet client certificate (system:masters) gets through.
    let apiserver = || identity(plane.kubelet_client_cert_pem(), plane.kubelet_client_key_pem());
    assert_eq!(get(&pki, port, Some(apiserver()), None, "/healthz").await, Ok(StatusCode::OK));
    assert_eq!(get(&pki, port, Some(apiserver()), None, "/pods").await, Ok(StatusCode::OK));

    // Nobody: 401.
    assert_eq!(get(&pki, port, None, None, "/healthz").await, Ok(StatusCode::UNAUTHORIZED));
    assert_eq!(get(&pki, port, None, Some("not-a-token"), "/healthz").await, Ok(StatusCode::UNAUTHORIZED));

    // A certificate user without RBAC for nodes/proxy: 403.
    let nobody = plane.issue_client_certificate("kubelet-api-nobody", None).expect("certificate");
    let nobody = identity(&nobody.cert_pem, &nobody.key_pem);
    assert_eq!(get(&pki, port, Some(nobody), None, "/healthz").await, Ok(StatusCode::FORBIDDEN));

    // A service account token: TokenReview names it, SubjectAccessReview refuses it.
    let namespace = plane.create_namespace("kubelet-api-auth").await.expect("namespace");
    plane.wait_for_default_service_account(&namespace).await.expect("default service account");
    let accounts: Api<ServiceAccount> = Api::namespaced(admin, &namespace);
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![plane.service_account_issuer().to_owned()],
            ..Default::default()
        },
        ..Default::default()
    };
    let issued: TokenRequest = accounts
        .create_subresource("token", "default", &PostParams::default(), &request)
        .await
        .expect("token");
    let token = issued.status.expect("token status").token;
    let user = reviewer.review_token(&token).await.expect("review").expect("a valid token");
    assert_eq!(user.name, format!("system:serviceaccount:{namespace}:default"));
    assert_eq!(get(&pki, port, None, Some(&token), "/healthz").await, Ok(StatusCode::FORBIDDEN));
    shutdown.cancel();
}
