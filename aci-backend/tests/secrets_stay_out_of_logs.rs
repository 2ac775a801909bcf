//! Secret values never reach a log line, at any level, while a pod with secret env values,
//! secret files and registry passwords is created, read, listed and deleted.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::emulated;
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
    let socket = dir.path().join("p.sock");
    let flags = emulated::flags(
        &emulator,
        dir.path(),
        &format!("unix://{}", socket.display()),
        &["--client-secret=SECRET-client-secret".into()],
    );
    let backend = emulated::Running::start(flags, emulated::FAST, None).await;
    let flags = &backend.flags;
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
    backend.stop().await.expect("ends cleanly");
    emulator.shutdown().await;

    let text = String::from_utf8_lossy(&buffer.0.lock().expect("buffer lock")).into_owned();
    assert!(text.contains("put_container_group"), "the ARM calls were logged at debug level");
    assert!(!text.contains("SECRET-"), "a secret reached the logs:\n{text}");
}
