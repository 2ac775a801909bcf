//! The provider's stats as the kubelet serves them: `/stats/summary` (the
//! `stats/v1alpha1` Summary JSON) and `/metrics/resource` (Prometheus text, the series
//! metrics-server reads).

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use vk_proto::v1 as pb;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    node: NodeStats,
    pods: Vec<PodStats>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeStats {
    node_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<Cpu>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<Memory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<Network>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodStats {
    pod_ref: PodRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<String>,
    containers: Vec<ContainerStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<Cpu>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<Memory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<Network>,
}

#[derive(Serialize)]
struct PodRef {
    name: String,
    namespace: String,
    uid: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerStats {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<Cpu>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<Memory>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cpu {
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_nano_cores: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_core_nano_seconds: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Memory {
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    working_set_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rss_bytes: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Network {
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rx_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_bytes: Option<u64>,
}

fn time(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
}

fn rfc3339(t: Option<&prost_types::Timestamp>) -> Option<String> {
    time(t).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn cpu(c: Option<&pb::CpuStats>) -> Option<Cpu> {
    let c = c?;
    Some(Cpu {
        time: rfc3339(c.time.as_ref()).unwrap_or_default(),
        usage_nano_cores: c.usage_nano_cores,
        usage_core_nano_seconds: c.usage_core_nano_seconds,
    })
}

fn memory(m: Option<&pb::MemoryStats>) -> Option<Memory> {
    let m = m?;
    Some(Memory {
        time: rfc3339(m.time.as_ref()).unwrap_or_default(),
        working_set_bytes: m.working_set_bytes,
        usage_bytes: m.usage_bytes,
        rss_bytes: m.rss_bytes,
    })
}

fn network(n: Option<&pb::NetworkStats>) -> Option<Network> {
    let n = n?;
    Some(Network {
        time: rfc3339(n.time.as_ref()).unwrap_or_default(),
        rx_bytes: n.rx_bytes,
        tx_bytes: n.tx_bytes,
    })
}

/// The Summary JSON for `/stats/summary`; `node_name` fills in a missing node name.
pub fn summary_json(stats: &pb::StatsSummary, node_name: &str) -> Vec<u8> {
    let node = stats.node.as_ref();
    let summary = Summary {
        node: NodeStats {
            node_name: node
                .map(|n| n.node_name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| node_name.to_owned()),
            start_time: node.and_then(|n| rfc3339(n.start_time.as_ref())),
            cpu: node.and_then(|n| cpu(n.cpu.as_ref())),
            memory: node.and_then(|n| memory(n.memory.as_ref())),
            network: node.and_then(|n| network(n.network.as_ref())),
        },
        pods: stats
            .pods
            .iter()
            .map(|p| PodStats {
                pod_ref: PodRef { name: p.name.clone(), namespace: p.namespace.clone(), uid: p.uid.clone() },
                start_time: rfc3339(p.start_time.as_ref()),
                containers: p
                    .containers
                    .iter()
                    .map(|c| ContainerStats {
                        name: c.name.clone(),
                        start_time: rfc3339(c.start_time.as_ref()),
                        cpu: cpu(c.cpu.as_ref()),
                        memory: memory(c.memory.as_ref()),
                    })
                    .collect(),
                cpu: cpu(p.cpu.as_ref()),
                memory: memory(p.memory.as_ref()),
                network: network(p.network.as_ref()),
            })
            .collect(),
    };
    serde_json::to_vec(&summary).unwrap_or_default()
}

/// A Prometheus label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn millis(t: Option<&prost_types::Timestamp>) -> String {
    time(t).map(|t| format!(" {}", t.timestamp_millis())).unwrap_or_default()
}

struct Series {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    lines: Vec<String>,
}

/// The Prometheus text for `/metrics/resource`.
pub fn resource_metrics(stats: &pb::StatsSummary) -> String {
    let mut series = [
        Series {
            name: "node_cpu_usage_seconds_total",
            help: "Cumulative cpu time consumed by the node in core-seconds",
            kind: "counter",
            lines: vec![],
        },
        Series {
            name: "node_memory_working_set_bytes",
            help: "Current working set of the node in bytes",
            kind: "gauge",
            lines: vec![],
        },
        Series {
            name: "pod_cpu_usage_seconds_total",
            help: "Cumulative cpu time consumed by the pod in core-seconds",
            kind: "counter",
            lines: vec![],
        },
        Series {
            name: "pod_memory_working_set_bytes",
            help: "Current working set of the pod in bytes",
            kind: "gauge",
            lines: vec![],
        },
        Series {
            name: "container_cpu_usage_seconds_total",
            help: "Cumulative cpu time consumed by the container in core-seconds",
            kind: "counter",
            lines: vec![],
        },
        Series {
            name: "container_memory_working_set_bytes",
            help: "Current working set of the container in bytes",
            kind: "gauge",
            lines: vec![],
        },
        Series {
            name: "container_start_time_seconds",
            help: "Start time of the container since unix epoch in seconds",
            kind: "gauge",
            lines: vec![],
        },
    ];
    let seconds = |ns: u64| ns as f64 / 1e9;
    if let Some(node) = &stats.node {
        if let Some(c) = node.cpu.as_ref().filter(|c| c.usage_core_nano_seconds.is_some()) {
            let v = seconds(c.usage_core_nano_seconds.unwrap_or_default());
            series[0].lines.push(format!("node_cpu_usage_seconds_total {v}{}", millis(c.time.as_ref())));
        }
        if let Some(m) = node.memory.as_ref().filter(|m| m.working_set_bytes.is_some()) {
            let v = m.working_set_bytes.unwrap_or_default();
            series[1].lines.push(format!("node_memory_working_set_bytes {v}{}", millis(m.time.as_ref())));
        }
    }
    for pod in &stats.pods {
        let pod_labels = format!("namespace=\"{}\",pod=\"{}\"", label(&pod.namespace), label(&pod.name));
        if let Some(c) = pod.cpu.as_ref().filter(|c| c.usage_core_nano_seconds.is_some()) {
            let v = seconds(c.usage_core_nano_seconds.unwrap_or_default());
            series[2]
                .lines
                .push(format!("pod_cpu_usage_seconds_total{{{pod_labels}}} {v}{}", millis(c.time.as_ref())));
        }
        if let Some(m) = pod.memory.as_ref().filter(|m| m.working_set_bytes.is_some()) {
            let v = m.working_set_bytes.unwrap_or_default();
            series[3]
                .lines
                .push(format!("pod_memory_working_set_bytes{{{pod_labels}}} {v}{}", millis(m.time.as_ref())));
        }
        for container in &pod.containers {
            let labels = format!("container=\"{}\",{pod_labels}", label(&container.name));
            if let Some(c) = container.cpu.as_ref().filter(|c| c.usage_core_nano_seconds.is_some()) {
                let v = seconds(c.usage_core_nano_seconds.unwrap_or_default());
                series[4].lines.push(format!(
                    "container_cpu_usage_seconds_total{{{labels}}} {v}{}",
                    millis(c.time.as_ref())
                ));
            }
            if let Some(m) = container.memory.as_ref().filter(|m| m.working_set_bytes.is_some()) {
                let v = m.working_set_bytes.unwrap_or_default();
                series[5].lines.push(format!(
                    "container_memory_working_set_bytes{{{labels}}} {v}{}",
                    millis(m.time.as_ref())
                ));
            }
            if let Some(start) = time(container.start_time.as_ref()) {
                let v = start.timestamp_millis() as f64 / 1e3;
                series[6].lines.push(format!("container_start_time_seconds{{{labels}}} {v}"));
            }
        }
    }
    let mut out = String::new();
    for s in &series {
        let _ = writeln!(out, "# HELP {} [STABLE] {}", s.name, s.help);
        let _ = writeln!(out, "# TYPE {} {}", s.name, s.kind);
        for line in &s.lines {
            let _ = writeln!(out, "{line}");
        }
    }
    out.push_str(
        "# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise\n",
    );
    out.push_str("# TYPE scrape_error gauge\nscrape_error 0\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
        Some(prost_types::Timestamp { seconds, nanos: 0 })
    }

    fn sample() -> pb::StatsSummary {
        let cpu = pb::CpuStats {
            time: ts(1_700_000_000),
            usage_nano_cores: Some(5_000_000),
            usage_core_nano_seconds: Some(2_500_000_000),
        };
        let memory = pb::MemoryStats {
            time: ts(1_700_000_000),
            working_set_bytes: Some(1024),
            usage_bytes: Some(2048),
            rss_bytes: None,
        };
        pb::StatsSummary {
            node: Some(pb::NodeStats {
                node_name: String::new(),
                start_time: ts(1_600_000_000),
                cpu: Some(cpu),
                memory: Some(memory),
                network: None,
            }),
            pods: vec![pb::PodStats {
                uid: "u1".into(),
                namespace: "ns".into(),
                name: "web".into(),
                start_time: ts(1_650_000_000),
                cpu: Some(cpu),
                memory: Some(memory),
                network: Some(pb::NetworkStats {
                    time: ts(1_700_000_000),
                    rx_bytes: Some(10),
                    tx_bytes: Some(20),
                }),
                containers: vec![pb::ContainerStats {
                    name: "app".into(),
                    start_time: ts(1_650_000_001),
                    cpu: Some(cpu),
                    memory: Some(memory),
                }],
            }],
        }
    }

    #[test]
    fn the_summary_uses_the_kubelets_field_names() {
        let json: serde_json::Value =
            serde_json::from_slice(&summary_json(&sample(), "vk-node")).expect("json");
        assert_eq!(json["node"]["nodeName"], "vk-node");
        assert_eq!(json["node"]["cpu"]["usageNanoCores"], 5_000_000);
        assert_eq!(json["node"]["startTime"], "2020-09-13T12:26:40Z");
        let pod = &json["pods"][0];
        assert_eq!(pod["podRef"]["uid"], "u1");
        assert_eq!(pod["network"]["txBytes"], 20);
        assert_eq!(pod["containers"][0]["memory"]["workingSetBytes"], 1024);
        assert!(pod["containers"][0]["memory"].get("rssBytes").is_none(), "absent values are omitted");
    }

    #[test]
    fn resource_metrics_carry_the_series_metrics_server_reads() {
        let text = resource_metrics(&sample());
        assert!(text.contains("node_cpu_usage_seconds_total 2.5 1700000000000\n"), "{text}");
        assert!(text.contains("node_memory_working_set_bytes 1024 1700000000000\n"), "{text}");
        assert!(text.contains("pod_memory_working_set_bytes{namespace=\"ns\",pod=\"web\"} 1024"), "{text}");
        assert!(
            text.contains(
                "container_cpu_usage_seconds_total{container=\"app\",namespace=\"ns\",pod=\"web\"} 2.5"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "container_start_time_seconds{container=\"app\",namespace=\"ns\",pod=\"web\"} 1650000001\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("scrape_error 0\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
