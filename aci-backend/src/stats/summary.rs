//! A scope's stats summary from its pods' states and their containers' usage: per container
//! CPU (millicores → nanocores, plus the cumulative counter) and memory (ACI's `MemoryUsage`
//! serves as both working set and usage: ACI reports no other memory figure); pods and the node
//! are the sums. ACI reports network only as per-second rates without a container, not as the
//! byte counters the kubelet's summary has, so network stays empty.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use vk_proto::v1;

use super::usage::{ContainerUsage, GroupUsage};
use crate::status::timestamp;

/// A running pod: its group's name and its state.
#[derive(Debug, Clone, Copy)]
pub struct PodOfScope<'a> {
    /// The container group's name.
    pub group: &'a str,
    /// The pod's state.
    pub state: &'a v1::PodState,
}

fn started_at(state: &v1::PodState, container: &str) -> Option<prost_types::Timestamp> {
    let status = state.status.as_ref()?;
    let c = status.container_statuses.iter().find(|c| c.name == container)?;
    match c.state.as_ref()?.state.as_ref()? {
        v1::container_state::State::Running(r) => r.started_at,
        _ => None,
    }
}

/// Adds up CPU and memory; `None` when nothing was measured.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    nano_cores: Option<u64>,
    core_nano_seconds: Option<u64>,
    cpu_at: Option<DateTime<Utc>>,
    memory: Option<u64>,
    memory_at: Option<DateTime<Utc>>,
}

impl Totals {
    fn of(usage: &ContainerUsage) -> Totals {
        let cpu = usage.cpu_millicores;
        Totals {
            nano_cores: cpu.map(|r| (r.value.max(0.0) * 1e6).round() as u64),
            core_nano_seconds: usage.counted_through.map(|_| usage.cpu_core_nano_seconds),
            // The counter covers its last minute up to that minute's end.
            cpu_at: usage.counted_through.map(|t| t + Duration::minutes(1)).or(cpu.map(|r| r.at)),
            memory: usage.memory_bytes.map(|r| r.value.max(0.0).round() as u64),
            memory_at: usage.memory_bytes.map(|r| r.at),
        }
    }

    fn add(self, other: Totals) -> Totals {
        let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.saturating_add(b)),
            (a, b) => a.or(b),
        };
        Totals {
            nano_cores: sum(self.nano_cores, other.nano_cores),
            core_nano_seconds: sum(self.core_nano_seconds, other.core_nano_seconds),
            cpu_at: self.cpu_at.max(other.cpu_at),
            memory: sum(self.memory, other.memory),
            memory_at: self.memory_at.max(other.memory_at),
        }
    }

    fn cpu(&self) -> Option<v1::CpuStats> {
        (self.nano_cores.is_some() || self.core_nano_seconds.is_some()).then(|| v1::CpuStats {
            time: timestamp(self.cpu_at),
            usage_nano_cores: self.nano_cores,
            usage_core_nano_seconds: self.core_nano_seconds,
        })
    }

    fn memory(&self) -> Option<v1::MemoryStats> {
        self.memory.map(|bytes| v1::MemoryStats {
            time: timestamp(self.memory_at),
            working_set_bytes: Some(bytes),
            usage_bytes: Some(bytes),
            rss_bytes: None,
        })
    }
}

/// The summary of `node_name`: every pod with usage, and the node as their sum.
pub fn summary(
    node_name: &str,
    pods: &[PodOfScope<'_>],
    usage: &HashMap<String, GroupUsage>,
) -> v1::StatsSummary {
    let mut node = Totals::default();
    let mut out = Vec::new();
    for pod in pods {
        let Some(containers) = usage.get(pod.group).filter(|u| !u.is_empty()) else { continue };
        let meta = pod.state.pod.as_ref().and_then(|p| p.meta.clone()).unwrap_or_default();
        let mut total = Totals::default();
        let containers = containers
            .iter()
            .map(|(name, u)| {
                let t = Totals::of(u);
                total = total.add(t);
                v1::ContainerStats {
                    name: name.clone(),
                    start_time: started_at(pod.state, name),
                    cpu: t.cpu(),
                    memory: t.memory(),
                }
            })
            .collect();
        node = node.add(total);
        out.push(v1::PodStats {
            uid: meta.uid,
            namespace: meta.namespace,
            name: meta.name,
            start_time: pod.state.status.as_ref().and_then(|s| s.start_time),
            cpu: total.cpu(),
            memory: total.memory(),
            network: None,
            containers,
        });
    }
    v1::StatsSummary {
        node: Some(v1::NodeStats {
            node_name: node_name.to_owned(),
            start_time: None,
            cpu: node.cpu(),
            memory: node.memory(),
            network: None,
        }),
        pods: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::usage::Reading;

    fn state(uid: &str) -> v1::PodState {
        v1::PodState {
            pod: Some(v1::Pod {
                meta: Some(v1::PodMeta {
                    uid: uid.into(),
                    namespace: "ns".into(),
                    name: format!("pod-{uid}"),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn usage(millicores: f64, bytes: f64, counter: u64) -> ContainerUsage {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        ContainerUsage {
            cpu_millicores: Some(Reading { at, value: millicores }),
            memory_bytes: Some(Reading { at, value: bytes }),
            cpu_core_nano_seconds: counter,
            counted_through: Some(at),
        }
    }

    #[test]
    fn pods_are_the_sum_of_their_containers_and_the_node_the_sum_of_its_pods() {
        let (a, b, idle) = (state("a"), state("b"), state("idle"));
        let pods = [
            PodOfScope { group: "g-a", state: &a },
            PodOfScope { group: "g-b", state: &b },
            PodOfScope { group: "g-idle", state: &idle },
        ];
        let usage = HashMap::from([
            (
                "g-a".to_owned(),
                GroupUsage::from([
                    ("web".to_owned(), usage(100.0, 1000.0, 7)),
                    ("log".to_owned(), usage(5.0, 24.0, 3)),
                ]),
            ),
            ("g-b".to_owned(), GroupUsage::from([("main".to_owned(), usage(50.0, 2000.0, 5))])),
        ]);
        let s = summary("vk-node", &pods, &usage);
        assert_eq!(s.pods.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), vec!["pod-a", "pod-b"]);
        let pod_a = &s.pods[0];
        assert_eq!(pod_a.cpu.as_ref().and_then(|c| c.usage_nano_cores), Some(105_000_000));
        assert_eq!(pod_a.cpu.as_ref().and_then(|c| c.usage_core_nano_seconds), Some(10));
        assert_eq!(pod_a.memory.as_ref().and_then(|m| m.working_set_bytes), Some(1024));
        assert_eq!(pod_a.containers.len(), 2);
        let node = s.node.as_ref().expect("node");
        assert_eq!(node.node_name, "vk-node");
        assert_eq!(node.cpu.as_ref().and_then(|c| c.usage_nano_cores), Some(155_000_000));
        assert_eq!(node.memory.as_ref().and_then(|m| m.usage_bytes), Some(3024));
        let cpu_time = node.cpu.as_ref().and_then(|c| c.time).map(|t| t.seconds);
        assert_eq!(cpu_time, Some(1_800_000_060), "the counter's time is the end of its minute");
    }

    #[test]
    fn without_usage_the_node_has_no_figures() {
        let s = summary("vk-node", &[], &HashMap::new());
        let node = s.node.expect("node");
        assert!(node.cpu.is_none() && node.memory.is_none() && s.pods.is_empty());
    }
}
