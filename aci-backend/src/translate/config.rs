//! What translation needs to know about the backend's deployment.

/// The operating system of a container group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOs {
    /// Linux.
    Linux,
    /// Windows.
    Windows,
}

impl GroupOs {
    /// The ARM `osType` value.
    pub fn as_arm(self) -> &'static str {
        match self {
            GroupOs::Linux => "Linux",
            GroupOs::Windows => "Windows",
        }
    }
}

/// Per-group maxima ACI enforces (from the region's capabilities; defaults are ACI's standard
/// SKU limits).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupLimits {
    /// Largest CPU total of one group, in cores.
    pub max_cpu_cores: f64,
    /// Largest memory total of one group, in GB.
    pub max_memory_gb: f64,
    /// Most containers in one group.
    pub max_containers: usize,
    /// Most volumes in one group.
    pub max_volumes: usize,
}

impl Default for GroupLimits {
    fn default() -> Self {
        GroupLimits { max_cpu_cores: 4.0, max_memory_gb: 16.0, max_containers: 60, max_volumes: 20 }
    }
}

/// Where pods find the cluster's DNS service (only useful when groups join a VNet that reaches it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDns {
    /// IP address of the cluster DNS service.
    pub nameserver: String,
    /// Cluster domain, for example `cluster.local`.
    pub cluster_domain: String,
}

/// Everything translation needs besides the pod.
#[derive(Debug, Clone, PartialEq)]
pub struct TranslateConfig {
    /// The caller's cluster id (scope).
    pub cluster_id: String,
    /// The virtual node's name (scope).
    pub node_name: String,
    /// Azure region of the groups.
    pub location: String,
    /// OS of the virtual node; pods that do not say use it, pods that need the other one are refused.
    pub node_os: GroupOs,
    /// Subnet resource ids every group joins (empty: public IP when the pod has ports).
    pub subnet_ids: Vec<String>,
    /// Group maxima.
    pub limits: GroupLimits,
    /// CPU request in millicores for a container that states neither request nor limit.
    pub default_cpu_millis: i64,
    /// Memory request in bytes for a container that states neither request nor limit.
    pub default_memory_bytes: i64,
    /// Cluster DNS for `ClusterFirst` pods, when reachable from the groups.
    pub cluster_dns: Option<ClusterDns>,
}

impl TranslateConfig {
    /// A configuration with ACI's defaults for one scope and region.
    pub fn new(
        cluster_id: impl Into<String>,
        node_name: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        TranslateConfig {
            cluster_id: cluster_id.into(),
            node_name: node_name.into(),
            location: location.into(),
            node_os: GroupOs::Linux,
            subnet_ids: Vec::new(),
            limits: GroupLimits::default(),
            default_cpu_millis: 1000,
            default_memory_bytes: 1_500_000_000,
            cluster_dns: None,
        }
    }
}
