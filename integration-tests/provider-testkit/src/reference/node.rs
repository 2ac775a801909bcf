//! GetNodeInfo and GetStatsSummary of the reference backend: a node sized by the config, with
//! allocatable shrinking as pods request resources, and made-up but consistent usage numbers.

use vk_proto::Scope;
use vk_proto::v1::{
    Capabilities, ContainerStats, CpuStats, MemoryStats, NetworkStats, NodeCondition, NodeInfo,
    NodeResources, NodeStats, NodeSystemInfo, OsType, PodStats, StatsSummary, Taint,
};

use super::lifecycle::now;
use super::store::Store;

/// The node info of a scope.
pub fn info(store: &Store, scope: &Scope) -> NodeInfo {
    let config = &store.config;
    let (cpu_used, memory_used, pods) = {
        let state = store.lock();
        let pods = state.scopes.get(scope);
        let mut cpu = 0;
        let mut memory = 0;
        for record in pods.into_iter().flat_map(|pods| pods.values()) {
            for container in record.pod.spec.iter().flat_map(|spec| spec.containers.iter()) {
                let requests =
                    container.resources.as_ref().and_then(|r| r.requests.clone()).unwrap_or_default();
                cpu += requests.cpu_millis.unwrap_or(0);
                memory += requests.memory_bytes.unwrap_or(0);
            }
        }
        (cpu, memory, i64::try_from(pods.map_or(0, |pods| pods.len())).unwrap_or(i64::MAX))
    };
    let capacity = NodeResources {
        cpu_millis: config.cpu_millis,
        memory_bytes: config.memory_bytes,
        pods: config.max_pods,
        ..Default::default()
    };
    let allocatable = NodeResources {
        cpu_millis: (config.cpu_millis - cpu_used).max(0),
        memory_bytes: (config.memory_bytes - memory_used).max(0),
        pods: (config.max_pods - pods).max(0),
        ..Default::default()
    };
    NodeInfo {
        os: OsType::Linux as i32,
        capacity: Some(capacity),
        allocatable: Some(allocatable),
        conditions: vec![NodeCondition {
            r#type: "BackendReachable".into(),
            healthy: true,
            reason: "InMemory".into(),
            message: "the reference backend keeps everything in memory".into(),
            last_transition_time: Some(store.started_at),
        }],
        labels: [("topology.kubernetes.io/region".to_owned(), config.region.clone())].into(),
        taints: Vec::<Taint>::new(),
        provider_id: format!("reference:///{}/{}", scope.cluster_id, scope.node_name),
        region: config.region.clone(),
        system_info: Some(NodeSystemInfo {
            operating_system: "linux".into(),
            architecture: std::env::consts::ARCH.into(),
            kernel_version: String::new(),
            os_image: "reference backend".into(),
            container_runtime_version: "reference://1".into(),
        }),
        capabilities: Some(Capabilities {
            exec_exit_codes: true,
            separate_stderr: true,
            attach: true,
            previous_logs: true,
            port_forward: false,
            stats: true,
        }),
    }
}

/// The stats summary of a scope: each running container "uses" a tenth of its CPU request
/// (or 1m) and half its memory request (or 16 MiB).
pub fn summary(store: &Store, scope: &Scope) -> StatsSummary {
    let time = now();
    let cpu = |nano: u64| CpuStats {
        time: Some(time),
        usage_nano_cores: Some(nano),
        usage_core_nano_seconds: None,
    };
    let memory = |bytes: u64| MemoryStats {
        time: Some(time),
        working_set_bytes: Some(bytes),
        usage_bytes: Some(bytes),
        rss_bytes: Some(bytes),
    };
    let state = store.lock();
    let mut pods = Vec::new();
    let (mut node_cpu, mut node_memory) = (0u64, 0u64);
    for record in state.scopes.get(scope).into_iter().flat_map(|pods| pods.values()) {
        let meta = record.pod.meta.clone().unwrap_or_default();
        let mut containers = Vec::new();
        for container in record.pod.spec.iter().flat_map(|spec| spec.containers.iter()) {
            let requests = container.resources.as_ref().and_then(|r| r.requests.clone()).unwrap_or_default();
            let nano = u64::try_from(requests.cpu_millis.unwrap_or(10)).unwrap_or(10) * 100_000;
            let bytes = u64::try_from(requests.memory_bytes.unwrap_or(32 << 20)).unwrap_or(32 << 20) / 2;
            containers.push(ContainerStats {
                name: container.name.clone(),
                start_time: record.status.start_time,
                cpu: Some(cpu(nano)),
                memory: Some(memory(bytes)),
            });
        }
        let pod_cpu: u64 = containers.iter().filter_map(|c| c.cpu.and_then(|c| c.usage_nano_cores)).sum();
        let pod_memory: u64 =
            containers.iter().filter_map(|c| c.memory.and_then(|m| m.working_set_bytes)).sum();
        node_cpu += pod_cpu;
        node_memory += pod_memory;
        pods.push(PodStats {
            uid: meta.uid,
            namespace: meta.namespace,
            name: meta.name,
            start_time: record.status.start_time,
            cpu: Some(cpu(pod_cpu)),
            memory: Some(memory(pod_memory)),
            network: Some(NetworkStats { time: Some(time), rx_bytes: Some(0), tx_bytes: Some(0) }),
            containers,
        });
    }
    StatsSummary {
        node: Some(NodeStats {
            node_name: scope.node_name.clone(),
            start_time: Some(store.started_at),
            cpu: Some(cpu(node_cpu)),
            memory: Some(memory(node_memory)),
            network: Some(NetworkStats { time: Some(time), rx_bytes: Some(0), tx_bytes: Some(0) }),
        }),
        pods,
    }
}
