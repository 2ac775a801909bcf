//! The ARM client against the ACI emulator over TLS, authenticated by a real azure_identity
//! client-secret credential through the emulator's token endpoint: a translated pod is
//! created, read back with its instance view, listed and deleted.

mod support;

use std::time::Duration;

use aci_backend::arm::Deleted;
use aci_backend::status::pod_state;
use aci_backend::translate::{TranslateConfig, translate};
use support::emulated;
use vk_proto::v1;

fn pod() -> v1::Pod {
    v1::Pod {
        meta: Some(v1::PodMeta {
            uid: "uid-1".into(),
            namespace: "default".into(),
            name: "web".into(),
            ..Default::default()
        }),
        spec: Some(v1::PodSpec {
            containers: vec![v1::Container {
                name: "web".into(),
                image: "nginx".into(),
                ports: vec![v1::ContainerPort { container_port: 80, protocol: 1, ..Default::default() }],
                env: vec![v1::EnvVar { name: "PW".into(), value: "hunter2".into(), secret: true }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        spec_hash: "h1".into(),
    }
}

#[tokio::test]
async fn a_translated_pod_runs_through_the_emulator_and_reads_back() {
    let config = aci_emulator::Config { tls: true, ..aci_emulator::Config::fast() };
    let emulator = aci_emulator::Emulator::start(config).await.expect("emulator starts");
    let client = emulated::arm_client(&emulator);

    assert_eq!(client.provider_registration().await.expect("registration readable"), "Registered");
    let t =
        translate(&pod(), &TranslateConfig::new("cluster-1", "vk-node", "westeurope"), chrono::Utc::now())
            .expect("translates");
    client.put_group(&t.name, &t.group).await.expect("PUT accepted");

    let mut phase = v1::PodPhase::Unspecified as i32;
    for _ in 0..100 {
        let group = client.get_group(&t.name).await.expect("GET works").expect("group exists");
        let state = pod_state(&group).expect("our group reads as a pod");
        phase = state.status.expect("status").phase;
        if phase == v1::PodPhase::Running as i32 {
            assert_eq!(state.pod.expect("pod").spec_hash, "h1");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(phase, v1::PodPhase::Running as i32, "the pod reaches Running");

    let listed = client.list_groups().await.expect("list works");
    assert!(listed.iter().any(|g| g.name.as_deref() == Some(t.name.as_str())));
    assert!(!client.usages().await.expect("usages").is_empty());
    let capabilities = client.capabilities().await.expect("capabilities");
    assert!(
        capabilities.iter().any(|c| c.os_type == "Linux"
            && c.capabilities.max_cpu > 0.0
            && c.capabilities.max_memory_in_gb > 0.0),
        "{capabilities:?}"
    );

    assert_ne!(client.delete_group(&t.name).await.expect("delete works"), Deleted::NotFound);
    assert!(client.get_group(&t.name).await.expect("GET after delete").is_none());
    assert_eq!(client.delete_group(&t.name).await.expect("second delete"), Deleted::NotFound);
    emulator.shutdown().await;
}
