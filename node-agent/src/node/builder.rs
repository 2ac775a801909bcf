//! The Node object: labels, taints, addresses, daemon endpoint, node info, capacity and
//! conditions, as DESIGN section 4 says.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use vk_proto::v1::{NodeInfo, NodeResources};

use super::readiness::Readiness;

/// The Kubernetes release whose kubelet API this agent speaks; `kubeletVersion` starts with
/// it so tools that parse the version as semver keep working.
pub const KUBELET_COMPAT_VERSION: &str = "1.20.2";

/// Settings of the Node that do not come from the backend.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// Node name.
    pub name: String,
    /// `linux` or `windows`.
    pub os: String,
    /// InternalIP address the apiserver uses to reach the kubelet API.
    pub internal_ip: String,
    /// Port of the kubelet API.
    pub kubelet_port: i32,
    /// The configured taint, if any (default `virtual-kubelet.io/provider=azure:NoSchedule`).
    pub taint: Option<Taint>,
}

/// The `kubeletVersion` this agent reports.
pub fn kubelet_version() -> String {
    format!("v{KUBELET_COMPAT_VERSION}-vk-aci-{}", env!("CARGO_PKG_VERSION"))
}

/// The labels the agent always sets.
pub fn own_labels(config: &NodeConfig) -> BTreeMap<String, String> {
    [
        ("type", "virtual-kubelet"),
        ("kubernetes.io/role", "agent"),
        ("kubernetes.io/os", config.os.as_str()),
        ("beta.kubernetes.io/os", config.os.as_str()),
        ("kubernetes.io/hostname", config.name.as_str()),
        ("node.kubernetes.io/exclude-from-external-load-balancers", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Taints: the configured one plus the backend's.
pub fn own_taints(config: &NodeConfig, info: Option<&NodeInfo>) -> Vec<Taint> {
    let mut taints: Vec<Taint> = config.taint.iter().cloned().collect();
    for taint in info.map(|i| i.taints.as_slice()).unwrap_or_default() {
        if !taints.iter().any(|t| t.key == taint.key && t.effect == taint.effect) {
            taints.push(Taint {
                key: taint.key.clone(),
                value: Some(taint.value.clone()).filter(|v| !v.is_empty()),
                effect: taint.effect.clone(),
                time_added: None,
            });
        }
    }
    taints
}

fn quantities(resources: &NodeResources) -> BTreeMap<String, Quantity> {
    let mut map = BTreeMap::new();
    // Whole cores are written as the API server writes them back, so statuses compare equal.
    let cpu = if resources.cpu_millis % 1000 == 0 {
        (resources.cpu_millis / 1000).to_string()
    } else {
        format!("{}m", resources.cpu_millis)
    };
    map.insert("cpu".to_owned(), Quantity(cpu));
    map.insert("memory".to_owned(), Quantity(resources.memory_bytes.to_string()));
    map.insert("pods".to_owned(), Quantity(resources.pods.to_string()));
    if resources.ephemeral_storage_bytes > 0 {
        map.insert("ephemeral-storage".to_owned(), Quantity(resources.ephemeral_storage_bytes.to_string()));
    }
    for (name, value) in &resources.extended {
        map.insert(name.clone(), Quantity(value.to_string()));
    }
    map
}

fn condition(
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    previous: Option<&NodeStatus>,
    now: &Time,
) -> NodeCondition {
    let status = if status { "True" } else { "False" }.to_owned();
    let previous = previous
        .and_then(|s| s.conditions.as_ref())
        .and_then(|conditions| conditions.iter().find(|c| c.type_ == kind));
    let last_transition_time = match previous {
        Some(old) if old.status == status => old.last_transition_time.clone().or_else(|| Some(now.clone())),
        _ => Some(now.clone()),
    };
    NodeCondition {
        type_: kind.to_owned(),
        status,
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time,
    }
}

/// The node's status. `info` is the last NodeInfo the backend gave (kept while it is
/// unreachable); `previous` keeps transition times stable.
pub fn node_status(
    config: &NodeConfig,
    info: Option<&NodeInfo>,
    readiness: &Readiness,
    previous: Option<&NodeStatus>,
    now: &Time,
) -> NodeStatus {
    let system = info.and_then(|i| i.system_info.as_ref());
    let pressure =
        |kind: &str, reason: &str, message: &str| condition(kind, false, reason, message, previous, now);
    NodeStatus {
        addresses: Some(vec![
            NodeAddress { type_: "InternalIP".to_owned(), address: config.internal_ip.clone() },
            NodeAddress { type_: "Hostname".to_owned(), address: config.name.clone() },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: config.kubelet_port }),
        }),
        node_info: Some(NodeSystemInfo {
            kubelet_version: kubelet_version(),
            kube_proxy_version: String::new(),
            operating_system: config.os.clone(),
            architecture: system
                .map(|s| s.architecture.clone())
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "amd64".into()),
            kernel_version: system.map(|s| s.kernel_version.clone()).unwrap_or_default(),
            os_image: system.map(|s| s.os_image.clone()).unwrap_or_default(),
            container_runtime_version: system
                .map(|s| s.container_runtime_version.clone())
                .unwrap_or_default(),
            ..NodeSystemInfo::default()
        }),
        capacity: info.and_then(|i| i.capacity.as_ref()).map(quantities),
        allocatable: info.and_then(|i| i.allocatable.as_ref().or(i.capacity.as_ref())).map(quantities),
        conditions: Some(vec![
            condition("Ready", readiness.ready, &readiness.reason, &readiness.message, previous, now),
            pressure("MemoryPressure", "KubeletHasSufficientMemory", "the backend has sufficient memory"),
            pressure("DiskPressure", "KubeletHasNoDiskPressure", "the backend has no disk pressure"),
            pressure("PIDPressure", "KubeletHasSufficientPID", "the backend has sufficient PIDs"),
            pressure("NetworkUnavailable", "RouteCreated", "pods get their network from the backend"),
        ]),
        ..NodeStatus::default()
    }
}

/// The whole Node object for registration.
pub fn build_node(config: &NodeConfig, info: Option<&NodeInfo>, readiness: &Readiness, now: &Time) -> Node {
    let mut labels: BTreeMap<String, String> =
        info.map(|i| i.labels.clone().into_iter().collect()).unwrap_or_default();
    labels.extend(own_labels(config));
    Node {
        metadata: ObjectMeta {
            name: Some(config.name.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            taints: Some(own_taints(config, info)),
            provider_id: info.map(|i| i.provider_id.clone()).filter(|p| !p.is_empty()),
            ..NodeSpec::default()
        }),
        status: Some(node_status(config, info, readiness, None, now)),
    }
}

/// The status with heartbeat times cleared: two statuses with equal fingerprints differ
/// only in heartbeats, so writing the new one can wait.
pub fn status_fingerprint(status: &NodeStatus) -> String {
    let mut copy = status.clone();
    for condition in copy.conditions.iter_mut().flatten() {
        condition.last_heartbeat_time = None;
    }
    serde_json::to_string(&copy).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;
    use vk_proto::v1::NodeSystemInfo as ProtoSystemInfo;

    use super::*;

    fn config() -> NodeConfig {
        NodeConfig {
            name: "virtual-kubelet-aci-linux-westeurope".into(),
            os: "linux".into(),
            internal_ip: "10.240.0.9".into(),
            kubelet_port: 10250,
            taint: Some(Taint {
                key: "virtual-kubelet.io/provider".into(),
                value: Some("azure".into()),
                effect: "NoSchedule".into(),
                time_added: None,
            }),
        }
    }

    fn info() -> NodeInfo {
        NodeInfo {
            capacity: Some(NodeResources {
                cpu_millis: 10_000,
                memory_bytes: 1 << 40,
                pods: 500,
                ..NodeResources::default()
            }),
            labels: [
                ("topology.kubernetes.io/region".to_owned(), "westeurope".to_owned()),
                ("type".into(), "other".into()),
            ]
            .into(),
            taints: vec![vk_proto::v1::Taint {
                key: "spot".into(),
                value: String::new(),
                effect: "PreferNoSchedule".into(),
            }],
            system_info: Some(ProtoSystemInfo {
                container_runtime_version: "aci://2025-09-01".into(),
                ..Default::default()
            }),
            ..NodeInfo::default()
        }
    }

    fn ready() -> Readiness {
        Readiness { ready: true, reason: "KubeletReady".into(), message: "ok".into() }
    }

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid time"))
    }

    #[test]
    fn the_node_has_the_agent_labels_over_backend_labels_and_both_taints() {
        let node = build_node(&config(), Some(&info()), &ready(), &at(0));
        let labels = node.metadata.labels.expect("labels");
        assert_eq!(labels["type"], "virtual-kubelet");
        assert_eq!(labels["kubernetes.io/role"], "agent");
        assert_eq!(labels["kubernetes.io/os"], "linux");
        assert_eq!(labels["beta.kubernetes.io/os"], "linux");
        assert_eq!(labels["kubernetes.io/hostname"], "virtual-kubelet-aci-linux-westeurope");
        assert_eq!(labels["node.kubernetes.io/exclude-from-external-load-balancers"], "true");
        assert_eq!(labels["topology.kubernetes.io/region"], "westeurope");
        let taints = node.spec.and_then(|s| s.taints).expect("taints");
        assert_eq!(taints.len(), 2);
        assert_eq!(
            (taints[0].key.as_str(), taints[0].effect.as_str()),
            ("virtual-kubelet.io/provider", "NoSchedule")
        );
    }

    #[test]
    fn the_status_carries_address_port_version_and_capacity() {
        let status = node_status(&config(), Some(&info()), &ready(), None, &at(0));
        let addresses = status.addresses.expect("addresses");
        assert_eq!(
            (addresses[0].type_.as_str(), addresses[0].address.as_str()),
            ("InternalIP", "10.240.0.9")
        );
        assert_eq!(status.daemon_endpoints.and_then(|d| d.kubelet_endpoint).map(|e| e.port), Some(10250));
        let node_info = status.node_info.expect("node info");
        assert!(node_info.kubelet_version.starts_with("v1.20.2-vk-aci-"), "{}", node_info.kubelet_version);
        assert_eq!(node_info.container_runtime_version, "aci://2025-09-01");
        let capacity = status.capacity.expect("capacity");
        assert_eq!(capacity["cpu"].0, "10");
        assert_eq!(capacity["pods"].0, "500");
        assert_eq!(status.allocatable.expect("allocatable")["memory"].0, (1u64 << 40).to_string());
    }

    #[test]
    fn the_ready_transition_time_moves_only_when_readiness_changes() {
        let first = node_status(&config(), None, &ready(), None, &at(100));
        let same = node_status(&config(), None, &ready(), Some(&first), &at(200));
        let ready_of =
            |s: &NodeStatus| s.conditions.as_ref().and_then(|c| c.first().cloned()).expect("Ready");
        assert_eq!(ready_of(&same).last_transition_time, Some(at(100)));
        assert_eq!(ready_of(&same).last_heartbeat_time, Some(at(200)));
        assert_eq!(status_fingerprint(&first), status_fingerprint(&same));
        let down = Readiness { ready: false, reason: "BackendUnreachable".into(), message: "gone".into() };
        let changed = node_status(&config(), None, &down, Some(&same), &at(300));
        assert_eq!(ready_of(&changed).status, "False");
        assert_eq!(ready_of(&changed).last_transition_time, Some(at(300)));
        assert_ne!(status_fingerprint(&same), status_fingerprint(&changed));
    }

    #[test]
    fn without_a_taint_configured_only_backend_taints_remain() {
        let untainted = NodeConfig { taint: None, ..config() };
        assert_eq!(own_taints(&untainted, Some(&info())).len(), 1);
        assert!(own_taints(&untainted, None).is_empty());
    }
}
