//! The provider is another process (in the remote shape, another trust domain): whatever
//! stats message it sends, `/stats/summary` stays valid JSON and `/metrics/resource` stays
//! valid Prometheus text (one sample per line, every line a known series or a comment).
//! Inputs: summaries built field by field, random bytes, and mutated encodings of a full
//! summary, decoded as the gRPC client would. Default count: 512 cases; `PROPTEST_CASES=N` runs N.

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use prost::Message as _;
use vk_proto::v1 as pb;

use super::harness::run_all;
use crate::kubelet_api::server::stats::{resource_metrics, summary_json};

const SERIES: [&str; 8] = [
    "node_cpu_usage_seconds_total",
    "node_memory_working_set_bytes",
    "pod_cpu_usage_seconds_total",
    "pod_memory_working_set_bytes",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "container_start_time_seconds",
    "scrape_error",
];

fn full_summary() -> Vec<u8> {
    let ts = |seconds| Some(prost_types::Timestamp { seconds, nanos: 5 });
    let cpu =
        pb::CpuStats { time: ts(1_700_000_000), usage_nano_cores: Some(7), usage_core_nano_seconds: Some(9) };
    let memory = pb::MemoryStats {
        time: ts(1_700_000_000),
        working_set_bytes: Some(4096),
        usage_bytes: Some(8192),
        rss_bytes: Some(1024),
    };
    let container = pb::ContainerStats {
        name: "app\"x\n".into(),
        start_time: ts(1_650_000_001),
        cpu: Some(cpu),
        memory: Some(memory),
    };
    pb::StatsSummary {
        node: Some(pb::NodeStats {
            node_name: "vk".into(),
            start_time: ts(1_600_000_000),
            cpu: Some(cpu),
            memory: Some(memory),
            network: None,
        }),
        pods: vec![pb::PodStats {
            uid: "u1".into(),
            namespace: "ns\\".into(),
            name: "web".into(),
            start_time: ts(1_650_000_000),
            cpu: Some(cpu),
            memory: Some(memory),
            network: Some(pb::NetworkStats { time: ts(1_700_000_000), rx_bytes: Some(1), tx_bytes: Some(2) }),
            containers: vec![container.clone(), container],
        }],
    }
    .encode_to_vec()
}

/// Checks what the kubelet API serves from `bytes`; true when they decoded.
fn check(bytes: &[u8]) -> Result<bool, TestCaseError> {
    let Ok(summary) = pb::StatsSummary::decode(bytes) else { return Ok(false) };
    let json = summary_json(&summary, "vk");
    serde_json::from_slice::<serde_json::Value>(&json)
        .map_err(|e| TestCaseError::fail(format!("/stats/summary is not JSON: {e}")))?;
    let text = resource_metrics(&summary);
    for line in text.lines() {
        let known = line.starts_with("# ") || SERIES.iter().any(|name| line.starts_with(name));
        if !known {
            return Err(TestCaseError::fail(format!("/metrics/resource line out of place: {line:?}")));
        }
    }
    Ok(true)
}

fn timestamp() -> impl Strategy<Value = Option<prost_types::Timestamp>> {
    proptest::option::of(
        prop_oneof![
            (any::<i64>(), any::<i32>()),
            (-100_000_000_000i64..300_000_000_000, 0i32..1_000_000_000)
        ]
        .prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }),
    )
}

fn name() -> impl Strategy<Value = String> {
    proptest::string::string_regex("(?s).{0,12}").expect("a valid pattern")
}

fn cpu() -> impl Strategy<Value = Option<pb::CpuStats>> {
    let fields = (timestamp(), any::<Option<u64>>(), any::<Option<u64>>());
    proptest::option::of(fields.prop_map(|(time, usage_nano_cores, usage_core_nano_seconds)| pb::CpuStats {
        time,
        usage_nano_cores,
        usage_core_nano_seconds,
    }))
}

fn memory() -> impl Strategy<Value = Option<pb::MemoryStats>> {
    let fields = (timestamp(), any::<Option<u64>>(), any::<Option<u64>>(), any::<Option<u64>>());
    proptest::option::of(fields.prop_map(|(time, working_set_bytes, usage_bytes, rss_bytes)| {
        pb::MemoryStats { time, working_set_bytes, usage_bytes, rss_bytes }
    }))
}

fn network() -> impl Strategy<Value = Option<pb::NetworkStats>> {
    let fields = (timestamp(), any::<Option<u64>>(), any::<Option<u64>>());
    proptest::option::of(fields.prop_map(|(time, rx_bytes, tx_bytes)| pb::NetworkStats {
        time,
        rx_bytes,
        tx_bytes,
    }))
}

/// Any summary a provider could send, field by field (names with quotes, backslashes,
/// newlines and any Unicode; times and counters at their extremes).
fn summary() -> impl Strategy<Value = pb::StatsSummary> {
    let container = (name(), timestamp(), cpu(), memory())
        .prop_map(|(name, start_time, cpu, memory)| pb::ContainerStats { name, start_time, cpu, memory });
    let pod = (
        (name(), name(), name()),
        timestamp(),
        cpu(),
        memory(),
        network(),
        proptest::collection::vec(container, 0..3),
    )
        .prop_map(|((uid, namespace, name), start_time, cpu, memory, network, containers)| {
            pb::PodStats { uid, namespace, name, start_time, cpu, memory, network, containers }
        });
    let node = proptest::option::of((name(), timestamp(), cpu(), memory(), network()).prop_map(
        |(node_name, start_time, cpu, memory, network)| pb::NodeStats {
            node_name,
            start_time,
            cpu,
            memory,
            network,
        },
    ));
    (node, proptest::collection::vec(pod, 0..3)).prop_map(|(node, pods)| pb::StatsSummary { node, pods })
}

#[test]
fn stats_from_512_malformed_provider_answers_stay_valid_json_and_prometheus_text() {
    let inputs = prop_oneof![
        2 => summary().prop_map(|summary| summary.encode_to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..400),
        1 => proptest::collection::vec((any::<usize>(), 1u8..=255), 1..6).prop_map(|flips| {
            let mut bytes = full_summary();
            let len = bytes.len();
            for (at, xor) in flips {
                bytes[at % len] ^= xor;
            }
            bytes
        }),
    ];
    let decoded = AtomicUsize::new(0);
    run_all(inputs, 512, |bytes| {
        if check(&bytes)? {
            decoded.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    let decoded = decoded.into_inner();
    assert!(decoded >= 200, "only {decoded} inputs decoded: the cases do not reach the stats code");
}
