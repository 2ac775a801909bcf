//! Two backend replicas on one resource group: a pod created through one is seen, updated and
//! deleted through the other at once, because all state lives in Azure.

mod support;

use std::time::Duration;

use aci_backend::engine::Pace;
use aci_backend::pods::CallScope;
use aci_backend::startup::build;
use support::emulated;
use vk_proto::v1;

#[tokio::test]
async fn a_pod_created_through_one_replica_is_served_by_the_other() {
    let emulator =
        aci_emulator::Emulator::start(aci_emulator::Config { tls: true, ..aci_emulator::Config::fast() })
            .await
            .expect("emulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let flags = emulated::flags(&emulator, dir.path(), "unix:///tmp/unused.sock", &[]);
    let pace = Pace { settled: Duration::from_secs(1), list: Duration::from_secs(60), ..emulated::FAST };
    let one = build(&flags, pace).expect("replica one");
    let two = build(&flags, pace).expect("replica two");
    let scope = CallScope { cluster_id: "c".into(), node_name: "n".into() };
    let pod = v1::Pod { spec_hash: "h1".into(), ..support::pods::minimal("r1", "r1", "nginx") };
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
