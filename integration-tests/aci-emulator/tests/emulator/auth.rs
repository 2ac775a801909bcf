//! Tokens come from the emulator's own OAuth2 and managed-identity endpoints, obtained by azure_identity's
//! credentials for real; every ARM call needs a valid bearer token.

use std::sync::Arc;

use aci_emulator::Config;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::arm_client::{Arm, SUB};

const SCOPE: &str = "https://management.azure.com/.default";

/// azure_identity only accepts an https authority host, so this runs the emulator with --tls.
#[tokio::test]
async fn client_secret_credential_gets_a_token_that_arm_accepts() {
    let arm = Arm::start(Config { tls: true, clients: vec!["app-id=s3cret".into()], ..Config::fast() }).await;
    let ca = arm.emulator.ca_pem().expect("TLS mode has a CA");
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).expect("a PEM certificate")])
        .build()
        .expect("an HTTPS client");
    let credential = |secret: &'static str| {
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = arm.emulator.base_url().to_owned();
        let options = ClientSecretCredentialOptions {
            client_options: ClientOptions {
                transport: Some(Transport::new(Arc::new(http.clone()))),
                cloud: Some(Arc::new(CloudConfiguration::from(cloud))),
                ..Default::default()
            },
        };
        ClientSecretCredential::new(SUB, "app-id".into(), secret.into(), Some(options)).expect("a credential")
    };
    let token = credential("s3cret").get_token(&[SCOPE], None).await.expect("a token from the emulator");
    let list = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/containerGroups?api-version=2025-09-01",
        arm.emulator.base_url()
    );
    let reply = http.get(&list).bearer_auth(token.token.secret()).send().await.expect("ARM answers");
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(credential("wrong").get_token(&[SCOPE], None).await.is_err(), "a wrong secret gets no token");
}

/// The federated flow (a projected service account token as client assertion), also over TLS.
#[tokio::test]
async fn workload_identity_credential_gets_a_token_with_a_federated_assertion() {
    let arm = Arm::start(Config { tls: true, ..Config::fast() }).await;
    let ca = arm.emulator.ca_pem().expect("TLS mode has a CA");
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).expect("a PEM certificate")])
        .build()
        .expect("an HTTPS client");
    let dir = tempfile::tempdir().expect("a temp dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "a-projected-service-account-token").expect("the token file is written");
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = arm.emulator.base_url().to_owned();
    let options = WorkloadIdentityCredentialOptions {
        client_id: Some("workload-app".into()),
        tenant_id: Some(SUB.into()),
        token_file_path: Some(token_file),
        credential_options: azure_identity::ClientAssertionCredentialOptions {
            client_options: ClientOptions {
                transport: Some(Transport::new(Arc::new(http.clone()))),
                cloud: Some(Arc::new(CloudConfiguration::from(cloud))),
                ..Default::default()
            },
        },
        ..Default::default()
    };
    let credential = WorkloadIdentityCredential::new(Some(options)).expect("a credential");
    let token = credential.get_token(&[SCOPE], None).await.expect("a token from the emulator");
    let url = format!("{}{}?api-version=2025-09-01", arm.emulator.base_url(), Arm::group_path("rg", "g"));
    let reply = http.get(url).bearer_auth(token.token.secret()).send().await.expect("ARM answers");
    assert_eq!(reply.status(), StatusCode::NOT_FOUND, "authenticated, and the group does not exist");
}

/// Runs in a child process with IDENTITY_ENDPOINT/IDENTITY_HEADER set (App Service style), because
/// ManagedIdentityCredential reads its endpoint from the environment only.
#[tokio::test]
#[ignore = "run by managed_identity_credential_gets_a_token_from_the_identity_endpoint"]
async fn managed_identity_child() {
    let base = std::env::var("ACI_EMULATOR_TEST_BASE").expect("started by the parent test");
    let credential = ManagedIdentityCredential::new(None).expect("App Service managed identity");
    let token = credential.get_token(&[SCOPE], None).await.expect("a token from the emulator");
    let url = format!(
        "{base}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/containerGroups?api-version=2025-09-01"
    );
    let reply =
        reqwest::Client::new().get(url).bearer_auth(token.token.secret()).send().await.expect("ARM answers");
    assert_eq!(reply.status(), StatusCode::OK);
}

#[tokio::test]
async fn managed_identity_credential_gets_a_token_from_the_identity_endpoint() {
    let arm = Arm::start(Config { identity_header: Some("mi-secret".into()), ..Config::fast() }).await;
    let base = arm.emulator.base_url().to_owned();
    let output = tokio::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["emulator::auth::managed_identity_child", "--exact", "--ignored", "--quiet"])
        .env("IDENTITY_ENDPOINT", format!("{base}/metadata/identity/oauth2/token"))
        .env("IDENTITY_HEADER", "mi-secret")
        .env("ACI_EMULATOR_TEST_BASE", &base)
        .env_remove("MSI_ENDPOINT")
        .output()
        .await
        .expect("the child test runs");
    assert!(
        output.status.success(),
        "the managed identity flow failed in the child test:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(arm.emulator.counters().get("ContainerGroups_List"), Some(&1));
    assert_eq!(arm.emulator.counters().get("ManagedIdentity_Token"), Some(&1));
    let without_header =
        reqwest::get(format!("{base}/metadata/identity/oauth2/token?resource=x")).await.expect("answer");
    assert_eq!(without_header.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn arm_refuses_missing_invalid_and_expired_tokens() {
    let arm = Arm::fast().await;
    let path = Arm::group_path("rg", "g");
    let expired = arm.emulator.issue_expired_token("p");
    for (token, code) in [
        ("", "AuthenticationFailedInvalidHeader"),
        ("made-up", "InvalidAuthenticationToken"),
        (expired.as_str(), "ExpiredAuthenticationToken"),
    ] {
        let reply = arm.call_as(token, Method::GET, &path, None).await;
        assert_eq!((reply.status, reply.error_code()), (StatusCode::UNAUTHORIZED, code));
    }
    let url = format!("{}{path}?api-version=2025-09-01", arm.emulator.base_url());
    let reply = arm.http.get(url).send().await.expect("answer");
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    assert!(reply.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn the_token_endpoint_answers_like_entra_id() {
    let arm = Arm::start(Config { clients: vec!["app=pw".into()], ..Config::fast() }).await;
    let url = format!("{}/tenant/oauth2/v2.0/token", arm.emulator.base_url());
    let post = |form: &[(&str, &str)]| {
        let request = arm.http.post(&url).form(form);
        async move {
            let response = request.send().await.expect("answer");
            (response.status(), response.json::<Value>().await.expect("json"))
        }
    };
    let good: &[(&str, &str)] = &[
        ("grant_type", "client_credentials"),
        ("client_id", "app"),
        ("client_secret", "pw"),
        ("scope", SCOPE),
    ];
    let (status, body) = post(good).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().is_some_and(|s| s > 3000));
    let token = body["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(
        arm.call_as(&token, Method::GET, &Arm::group_path("rg", "g"), None).await.status,
        StatusCode::NOT_FOUND
    );
    let (status, body) = post(&[
        ("grant_type", "client_credentials"),
        ("client_id", "app"),
        ("client_secret", "no"),
        ("scope", SCOPE),
    ])
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (status, body) = post(&[("grant_type", "password"), ("client_id", "app"), ("scope", SCOPE)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
}
