//! Secret values never reach a log line, at any level, while a pod with secret env values,
//! secret files and registry passwords is created, read, listed and deleted.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aci_backend::config::Flags;
use aci_backend::engine::Pace;
use aci_backend::serve::serve;
use aci_backend::startup::build;
use clap::Parser as _;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self};
use vk_proto::{Scope, scope::ScopeInterceptor};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn secret_pod() -> v1::Pod {
    v1::Pod {
        meta: Some(v1::PodMeta {
            uid: "s1".into(),
            namespace: "default".into(),
            name: "s1".into(),
            ..Default::default()
        }),
        spec: Some(v1::PodSpec {
            containers: vec![v1::Container {
                name: "main".into(),
                image: "nginx".into(),
                env: vec![v1::EnvVar {
                    name: "PASSWORD".into(),
                    value: "SECRET-env-value".into(),
                    secret: true,
                }],
                volume_mounts: vec![v1::VolumeMount {
                    name: "creds".into(),
                    mount_path: "/creds".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            volumes: vec![v1::Volume {
                name: "creds".into(),
                source: Some(v1::volume::Source::Files(v1::FilesVolume {
                    kind: "secret".into(),
                    files: vec![v1::File {
                        path: "key".into(),
                        content: b"SECRET-file-content".to_vec(),
                        mode: None,
                    }],
                    secret: true,
                })),
            }],
            image_registry_credentials: vec![v1::RegistryCredential {
                server: "registry.example".into(),
                username: "me".into(),
                password: "SECRET-registry-password".into(),
            }],
            ..Default::default()
        }),
        spec_hash: "h".into(),
    }
}

#[tokio::test]
async fn no_secret_value_appears_in_any_log_line() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emulator =
        aci_emulator::Emulator::start(aci_emulator::Config { tls: true, ..aci_emulator::Config::fast() })
            .await
            .expect("emulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem().expect("CA")).expect("write");
    let socket = dir.path().join("p.sock");
    let base = emulator.base_url().trim_end_matches('/').to_string();
    let flags = Flags::try_parse_from([
        "aci-backend".to_string(),
        format!("--listen=unix://{}", socket.display()),
        "--subscription-id=00000000-0000-0000-0000-000000000001".into(),
        "--resource-group=vk-test".into(),
        "--region=westeurope".into(),
        format!("--arm-endpoint={base}"),
        format!("--authority-host={base}"),
        format!("--ca-file={}", ca.display()),
        "--credential=client-secret".into(),
        "--tenant-id=00000000-0000-0000-0000-00000000000a".into(),
        "--client-id=backend".into(),
        "--client-secret=SECRET-client-secret".into(),
    ])
    .expect("flags");
    let pace = Pace {
        unsettled: Duration::from_millis(100),
        settled: Duration::from_secs(1),
        list: Duration::from_millis(300),
    };
    let backend = build(&flags, pace).expect("backend");
    let engine = tokio::spawn(backend.engine.clone().run());
    let listen = flags.listen.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve(&listen, backend.provider, None, async {
            let _ = stopped.await;
        })
        .await
    });
    while !socket.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let channel = flags.listen.channel(None).expect("channel");
    let mut client = ProviderClient::with_interceptor(
        channel,
        ScopeInterceptor::new(&Scope::new("c", "n")).expect("scope"),
    );
    client.create_pod(v1::CreatePodRequest { pod: Some(secret_pod()) }).await.expect("create");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let state = client.get_pod(v1::GetPodRequest { uid: "s1".into() }).await.expect("get").into_inner();
    let env = &state.state.and_then(|s| s.pod).and_then(|p| p.spec).expect("spec").containers[0].env[0];
    assert_eq!(env.value, "", "secret values come back empty");
    client.list_pods(v1::ListPodsRequest::default()).await.expect("list");
    client
        .delete_pod(v1::DeletePodRequest { uid: "s1".into(), grace_period_seconds: None })
        .await
        .expect("delete");
    drop(client);
    let _ = stop.send(());
    server.await.expect("joins").expect("ends cleanly");
    engine.abort();
    emulator.shutdown().await;

    let text = String::from_utf8_lossy(&buffer.0.lock().expect("buffer lock")).into_owned();
    assert!(text.contains("put_container_group"), "the ARM calls were logged at debug level");
    assert!(!text.contains("SECRET-"), "a secret reached the logs:\n{text}");
}
