//! Two backend replicas on one resource group: a pod created through one is seen, updated and
//! deleted through the other at once, because all state lives in Azure.

use std::time::Duration;

use aci_backend::config::Flags;
use aci_backend::engine::Pace;
use aci_backend::pods::CallScope;
use aci_backend::startup::build;
use clap::Parser as _;
use vk_proto::v1;

#[tokio::test]
async fn a_pod_created_through_one_replica_is_served_by_the_other() {
    let emulator =
        aci_emulator::Emulator::start(aci_emulator::Config { tls: true, ..aci_emulator::Config::fast() })
            .await
            .expect("emulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem().expect("CA")).expect("write");
    let base = emulator.base_url().trim_end_matches('/').to_string();
    let flags = Flags::try_parse_from([
        "aci-backend".to_string(),
        format!("--listen=unix://{}", dir.path().join("unused.sock").display()),
        "--subscription-id=00000000-0000-0000-0000-000000000001".into(),
        "--resource-group=vk-test".into(),
        "--region=westeurope".into(),
        format!("--arm-endpoint={base}"),
        format!("--authority-host={base}"),
        format!("--ca-file={}", ca.display()),
        "--credential=client-secret".into(),
        "--tenant-id=00000000-0000-0000-0000-00000000000a".into(),
        "--client-id=backend".into(),
        "--client-secret=s".into(),
    ])
    .expect("flags");
    let pace = Pace {
        unsettled: Duration::from_millis(100),
        settled: Duration::from_secs(1),
        list: Duration::from_secs(60),
    };
    let one = build(&flags, pace).expect("replica one");
    let two = build(&flags, pace).expect("replica two");
    let scope = CallScope { cluster_id: "c".into(), node_name: "n".into() };
    let pod = v1::Pod {
        meta: Some(v1::PodMeta {
            uid: "r1".into(),
            namespace: "default".into(),
            name: "r1".into(),
            ..Default::default()
        }),
        spec: Some(v1::PodSpec {
            containers: vec![v1::Container {
                name: "main".into(),
                image: "nginx".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        spec_hash: "h1".into(),
    };
    let (_, existed) = one.provider.pods().create(&scope, &pod).await.expect("create on one");
    assert!(!existed);
    let (_, existed) = two.provider.pods().create(&scope, &pod).await.expect("create again on two");
    assert!(existed, "the second replica finds the group by its name");
    let state = two.provider.pods().get(&scope, "r1").await.expect("two sees it");
    assert_eq!(state.pod.map(|p| p.spec_hash), Some("h1".to_string()));
    let (found, _) = two.provider.pods().delete(&scope, "r1").await.expect("delete on two");
    assert!(found);
    let other = CallScope { cluster_id: "other".into(), node_name: "n".into() };
    assert!(one.provider.pods().get(&other, "r1").await.is_err(), "another cluster never sees it");
    emulator.shutdown().await;
}
