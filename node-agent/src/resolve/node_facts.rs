//! What resolution needs to know about the virtual node.

use vk_proto::v1::OsType;

/// Facts about the node the pod is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFacts {
    /// The node's name (`spec.nodeName`).
    pub node_name: String,
    /// The node's InternalIP, served as `status.hostIP`.
    pub host_ip: String,
    /// The node's OS, used when the pod does not name one.
    pub os: OsType,
    /// Allocatable CPU in millicores: the limit a `resourceFieldRef` reports for a container
    /// without a CPU limit, as the kubelet does.
    pub allocatable_cpu_millis: i64,
    /// Allocatable memory in bytes, likewise.
    pub allocatable_memory_bytes: i64,
    /// Allocatable ephemeral storage in bytes, likewise.
    pub allocatable_ephemeral_storage_bytes: i64,
}
