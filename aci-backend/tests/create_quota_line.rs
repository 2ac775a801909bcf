//! Pods beyond ACI's create quota wait in line (over the provider API, against the emulator):
//! each refusal says how many pods wait ahead and when the pod's turn comes, costs no ARM
//! call, and at its turn the pod is created.

mod support;

use std::time::Duration;

use support::emulated::Served;
use tonic::Code;
use vk_proto::v1::{self};

fn pod(uid: &str) -> v1::Pod {
    support::pods::minimal(uid, &format!("pod-{uid}"), "nginx")
}

fn retry_after(status: &tonic::Status) -> Duration {
    let millis = status
        .metadata()
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a refusal for quota says when to come back");
    Duration::from_millis(millis)
}

#[tokio::test]
async fn pods_beyond_the_create_quota_wait_in_line_and_cost_arm_nothing_meanwhile() {
    // 3 creates per 5 minutes, the windows scaled to a hundredth: 3 per ~3 s.
    let mut served =
        Served::start(&["--creates-per-5min=3", "--creates-per-hour=1000", "--quota-time-scale=0.01"]).await;
    let (emulator, client) = (&served.emulator, &mut served.client);

    for uid in ["u1", "u2", "u3"] {
        client.create_pod(v1::CreatePodRequest { pod: Some(pod(uid)) }).await.expect("within the quota");
    }
    let mut turns = Vec::new();
    for (ahead, uid) in ["u4", "u5", "u6"].into_iter().enumerate() {
        let refused = client
            .create_pod(v1::CreatePodRequest { pod: Some(pod(uid)) })
            .await
            .expect_err("beyond the quota");
        assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
        let message = refused.message();
        assert!(message.contains("create quota is used up"), "{message}");
        match ahead {
            0 => assert!(!message.contains("ahead"), "{message}"),
            1 => assert!(message.contains("; 1 pod waits ahead of this one"), "{message}"),
            n => assert!(message.contains(&format!("; {n} pods wait ahead of this one")), "{message}"),
        }
        turns.push((uid, retry_after(&refused)));
    }
    assert!(turns.windows(2).all(|w| w[0].1 <= w[1].1), "later in line, later turn: {turns:?}");
    assert!(turns.iter().all(|(_, after)| *after <= Duration::from_secs(4)), "{turns:?}");

    // Asking again early changes nothing and still costs nothing.
    let early = client.create_pod(v1::CreatePodRequest { pod: Some(pod("u6")) }).await.expect_err("early");
    assert!(early.message().contains("2 pods wait ahead"), "{}", early.message());
    let reads = emulator.group_reads();
    let waiting: Vec<&String> = reads
        .keys()
        .filter(|name| ["u4", "u5", "u6"].iter().any(|u| name.contains(&format!("pod-{u}-"))))
        .collect();
    assert!(waiting.is_empty(), "pods waiting for the quota were read from ARM: {waiting:?}");
    let puts = emulator.counters().get("ContainerGroups_CreateOrUpdate").copied().unwrap_or(0);
    assert_eq!(puts, 3, "only the pods within the quota were PUT: {:?}", emulator.counters());

    // Each comes back at its turn and is created.
    let start = tokio::time::Instant::now();
    for (uid, after) in turns {
        tokio::time::sleep_until(start + after + Duration::from_millis(50)).await;
        let mut created = None;
        for _ in 0..20 {
            match client.create_pod(v1::CreatePodRequest { pod: Some(pod(uid)) }).await {
                Ok(response) => {
                    created = Some(response.into_inner());
                    break;
                }
                Err(status) if status.code() == Code::ResourceExhausted => {
                    tokio::time::sleep(retry_after(&status)).await;
                }
                Err(status) => panic!("{uid}: {status:?}"),
            }
        }
        let created = created.unwrap_or_else(|| panic!("{uid} never got its turn"));
        assert!(!created.already_existed, "{uid}");
    }
    served.backend.stop().await.expect("server ends cleanly");
    served.emulator.shutdown().await;
}
