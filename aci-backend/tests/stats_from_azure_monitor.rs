//! Pod stats over the provider API, read from the emulator's Azure Monitor metrics: the
//! values arrive per container and summed per pod and node, a second request within a minute
//! costs no ARM read, the read allowance caps how many groups one request fetches, and an
//! allowance of 0 turns stats off.

mod support;

use std::time::Duration;

use support::emulated::{Client, Served};
use vk_proto::v1;

/// A pod whose container asks for half a core and 1.5 GB.
fn pod(uid: &str) -> v1::Pod {
    let pod = support::pods::minimal(uid, &format!("pod-{uid}"), "nginx");
    support::pods::requesting(pod, 500, 1_500_000_000)
}

async fn run_pods(client: &mut Client, uids: &[&str]) {
    for uid in uids {
        client.create_pod(v1::CreatePodRequest { pod: Some(pod(uid)) }).await.expect("created");
    }
    let running = v1::PodPhase::Running as i32;
    for _ in 0..400 {
        let listed = client.list_pods(v1::ListPodsRequest::default()).await.expect("list").into_inner();
        let n = listed.pods.iter().filter(|p| p.status.as_ref().is_some_and(|s| s.phase == running)).count();
        if n == uids.len() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the pods never ran");
}

async fn summary(client: &mut Client) -> v1::StatsSummary {
    client.get_stats_summary(v1::GetStatsSummaryRequest {}).await.expect("stats").into_inner()
}

fn metric_reads(emulator: &aci_emulator::EmulatorHandle) -> u64 {
    emulator.counters().get("Metrics_List").copied().unwrap_or(0)
}

#[tokio::test]
async fn usage_arrives_per_container_and_is_summed_and_kept_for_a_minute() {
    let mut w = Served::start(&[]).await;
    run_pods(&mut w.client, &["u1", "u2"]).await;

    let s = summary(&mut w.client).await;
    assert_eq!(s.pods.len(), 2, "{s:?}");
    for pod in &s.pods {
        assert!(pod.name.starts_with("pod-u") && pod.namespace == "default", "{pod:?}");
        let main = pod.containers.iter().find(|c| c.name == "main").expect("container main");
        let cpu = main.cpu.as_ref().expect("cpu");
        // The emulator reports 10% of the CPU request and 25% of the memory request.
        assert_eq!(cpu.usage_nano_cores, Some(50_000_000), "{cpu:?}");
        let counted = cpu.usage_core_nano_seconds.expect("a cumulative counter");
        assert!(counted >= 3_000_000_000 && counted % 3_000_000_000 == 0, "whole minutes of 50m: {counted}");
        let memory = main.memory.as_ref().expect("memory");
        assert_eq!(memory.working_set_bytes, Some(402_653_184), "{memory:?}");
        assert_eq!(pod.cpu.as_ref().and_then(|c| c.usage_nano_cores), Some(50_000_000));
    }
    let node = s.node.as_ref().expect("node");
    assert_eq!(node.node_name, "vk-node");
    assert_eq!(node.cpu.as_ref().and_then(|c| c.usage_nano_cores), Some(100_000_000));
    assert_eq!(node.memory.as_ref().and_then(|m| m.working_set_bytes), Some(2 * 402_653_184));
    assert_eq!(metric_reads(&w.emulator), 2, "one Azure Monitor read per pod");

    let again = summary(&mut w.client).await;
    assert_eq!(again.pods.len(), 2);
    assert_eq!(metric_reads(&w.emulator), 2, "usage younger than a minute is not read again");

    let info = w.client.get_node_info(v1::GetNodeInfoRequest {}).await.expect("node info").into_inner();
    assert!(info.capabilities.is_some_and(|c| c.stats), "the node says it has stats");
    w.stop().await;
}

#[tokio::test]
async fn one_request_reads_no_more_groups_than_the_allowance() {
    let mut w = Served::start(&["--stats-reads-per-minute=1"]).await;
    run_pods(&mut w.client, &["u1", "u2", "u3"]).await;
    let s = summary(&mut w.client).await;
    assert_eq!((s.pods.len(), metric_reads(&w.emulator)), (1, 1), "{s:?}");
    let s = summary(&mut w.client).await;
    assert_eq!((s.pods.len(), metric_reads(&w.emulator)), (1, 1), "the allowance is spent for now");
    w.stop().await;
}

#[tokio::test]
async fn an_allowance_of_zero_turns_stats_off() {
    let mut w = Served::start(&["--stats-reads-per-minute=0"]).await;
    run_pods(&mut w.client, &["u1"]).await;
    let s = summary(&mut w.client).await;
    assert!(s.pods.is_empty(), "{s:?}");
    assert_eq!(metric_reads(&w.emulator), 0);
    let info = w.client.get_node_info(v1::GetNodeInfoRequest {}).await.expect("node info").into_inner();
    assert!(info.capabilities.is_some_and(|c| !c.stats), "the node says it has no stats");
    w.stop().await;
}
