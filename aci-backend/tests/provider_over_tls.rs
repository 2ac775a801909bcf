//! The provider service over TLS TCP: callers are authenticated by bearer token or client
//! certificate, mapped to the clusters they may act for, and never see other clusters' pods.

mod support;

use std::time::Duration;

use aci_backend::serve::{Callers, TcpSecurity};
use sha2::{Digest, Sha256};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::{Code, Request, Status};
use vk_proto::Scope;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self};

use support::emulated;

struct Pki {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
    client_der: Vec<u8>,
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "provider test CA");
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let server_key = rcgen::KeyPair::generate().expect("key");
    let mut server_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("params");
    server_params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    let server = server_params.signed_by(&server_key, &ca).expect("server cert");
    let client_key = rcgen::KeyPair::generate().expect("key");
    let mut client_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    client_params.distinguished_name.push(rcgen::DnType::CommonName, "node-agent-b");
    client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca).expect("client cert");
    Pki {
        ca_pem: ca.pem(),
        server_cert_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_cert_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
        client_der: client.der().to_vec(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

async fn channel(port: u16, pki: &Pki, with_cert: bool) -> Channel {
    let mut tls =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.ca_pem)).domain_name("localhost");
    if with_cert {
        tls = tls.identity(Identity::from_pem(&pki.client_cert_pem, &pki.client_key_pem));
    }
    for _ in 0..100 {
        let endpoint =
            Channel::from_shared(format!("https://127.0.0.1:{port}")).expect("uri").tls_config(tls.clone());
        if let Ok(channel) = endpoint.expect("tls config").connect().await {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("the server never accepted TLS connections");
}

/// Adds the scope and, when given, a bearer token to every call.
type Interceptor = Box<dyn FnMut(Request<()>) -> Result<Request<()>, Status> + Send>;
type Intercepted = ProviderClient<tonic::service::interceptor::InterceptedService<Channel, Interceptor>>;

fn client(channel: Channel, cluster: &str, token: Option<&str>) -> Intercepted {
    let scope = Scope::new(cluster, "vk-node");
    let token = token.map(|t| format!("Bearer {t}"));
    let interceptor: Interceptor = Box::new(move |mut r| {
        scope.insert_into(r.metadata_mut()).map_err(Status::from)?;
        if let Some(t) = &token {
            r.metadata_mut()
                .insert("authorization", t.parse().map_err(|_| Status::internal("token header"))?);
        }
        Ok(r)
    });
    ProviderClient::with_interceptor(channel, interceptor)
}

fn pod(uid: &str) -> v1::Pod {
    support::pods::minimal(uid, uid, "nginx")
}

#[tokio::test]
async fn callers_are_authenticated_and_kept_to_their_clusters() {
    let emulator =
        aci_emulator::Emulator::start(aci_emulator::Config { tls: true, ..aci_emulator::Config::fast() })
            .await
            .expect("emulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let flags = emulated::flags(&emulator, dir.path(), &format!("tcp://127.0.0.1:{port}"), &[]);
    let pki = pki();
    let callers = Callers::parse(
        &format!(
            r#"{{"callers":[{{"name":"a","tokenSha256":"{}","clusters":["cluster-a"]}},{{"name":"b","certificateSha256":"{}","clusters":["cluster-b"]}}]}}"#,
            hex::encode(Sha256::digest(b"token-a")),
            hex::encode(Sha256::digest(&pki.client_der)),
        ),
        "inline",
    )
    .expect("callers");
    let security = TcpSecurity {
        cert_pem: pki.server_cert_pem.clone().into_bytes(),
        key_pem: pki.server_key_pem.clone().into_bytes(),
        client_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
        callers,
    };
    let backend = emulated::Running::start(flags, emulated::FAST, Some(security)).await;

    let plain = channel(port, &pki, false).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(plain.clone());
    let status =
        health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.expect("health");
    assert_eq!(
        status.into_inner().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let mut anonymous = client(plain.clone(), "cluster-a", None);
    let err = anonymous.list_pods(v1::ListPodsRequest::default()).await.expect_err("no identity");
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut wrong = client(plain.clone(), "cluster-a", Some("token-x"));
    assert_eq!(
        wrong.list_pods(v1::ListPodsRequest::default()).await.expect_err("unknown").code(),
        Code::Unauthenticated
    );

    let mut a = client(plain.clone(), "cluster-a", Some("token-a"));
    a.create_pod(v1::CreatePodRequest { pod: Some(pod("tls-a")) }).await.expect("create over TLS");
    assert_eq!(a.list_pods(v1::ListPodsRequest::default()).await.expect("list").into_inner().pods.len(), 1);
    let mut a_as_b = client(plain, "cluster-b", Some("token-a"));
    let denied = a_as_b.list_pods(v1::ListPodsRequest::default()).await.expect_err("not its cluster");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let mut b = client(channel(port, &pki, true).await, "cluster-b", None);
    assert!(
        b.list_pods(v1::ListPodsRequest::default())
            .await
            .expect("cert caller lists")
            .into_inner()
            .pods
            .is_empty()
    );
    let hidden = b.get_pod(v1::GetPodRequest { uid: "tls-a".into() }).await.expect_err("other cluster's pod");
    assert_eq!(hidden.code(), Code::NotFound);

    drop((a, b, a_as_b, anonymous, wrong, health));
    backend.stop().await.expect("ends cleanly");
    emulator.shutdown().await;
}
