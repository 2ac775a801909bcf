//! Typed view of a container group PUT body, following the 2025-09-01 spec. Deserializing into it checks
//! JSON types, required fields and enum values; unknown properties are ignored as ARM does.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRequest {
    pub location: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub zones: Vec<String>,
    pub properties: GroupProperties,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupProperties {
    pub containers: Vec<Container>,
    #[serde(default)]
    pub init_containers: Vec<InitContainer>,
    #[serde(default)]
    pub image_registry_credentials: Vec<RegistryCredential>,
    pub restart_policy: Option<RestartPolicy>,
    pub ip_address: Option<IpAddress>,
    pub os_type: Option<OsType>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    #[serde(default)]
    pub subnet_ids: Vec<SubnetId>,
    pub dns_config: Option<DnsConfig>,
    pub sku: Option<Sku>,
    pub priority: Option<Priority>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Container {
    pub name: String,
    pub properties: ContainerProperties,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerProperties {
    pub image: Option<String>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub environment_variables: Vec<EnvironmentVariable>,
    pub resources: Option<ResourceRequirements>,
    #[serde(default)]
    pub volume_mounts: Vec<VolumeMount>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct InitContainer {
    pub name: String,
    pub properties: InitContainerProperties,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitContainerProperties {
    pub image: Option<String>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub environment_variables: Vec<EnvironmentVariable>,
    #[serde(default)]
    pub volume_mounts: Vec<VolumeMount>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Port {
    pub protocol: Option<Protocol>,
    pub port: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: Option<String>,
    pub secure_value: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ResourceRequirements {
    pub requests: ResourceRequests,
    pub limits: Option<ResourceLimits>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequests {
    #[serde(rename = "memoryInGB")]
    pub memory_in_gb: f64,
    pub cpu: f64,
    pub gpu: Option<Gpu>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ResourceLimits {
    #[serde(rename = "memoryInGB")]
    pub memory_in_gb: Option<f64>,
    pub cpu: Option<f64>,
    pub gpu: Option<Gpu>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Gpu {
    pub count: i64,
    pub sku: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
    pub read_only: Option<bool>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    pub exec: Option<ProbeExec>,
    pub http_get: Option<ProbeHttpGet>,
    pub initial_delay_seconds: Option<i64>,
    pub period_seconds: Option<i64>,
    pub failure_threshold: Option<i64>,
    pub success_threshold: Option<i64>,
    pub timeout_seconds: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ProbeExec {
    #[serde(default)]
    pub command: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeHttpGet {
    pub path: Option<String>,
    pub port: i64,
    pub scheme: Option<Value>,
    #[serde(default)]
    pub http_headers: Vec<Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    pub azure_file: Option<AzureFileVolume>,
    pub empty_dir: Option<Value>,
    pub secret: Option<BTreeMap<String, String>>,
    pub git_repo: Option<GitRepoVolume>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureFileVolume {
    pub share_name: String,
    pub read_only: Option<bool>,
    pub storage_account_name: String,
    pub storage_account_key: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GitRepoVolume {
    pub directory: Option<String>,
    pub repository: String,
    pub revision: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum IpAddressType {
    Public,
    Private,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    pub ports: Vec<Port>,
    #[serde(rename = "type")]
    pub kind: IpAddressType,
    pub ip: Option<String>,
    pub dns_name_label: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCredential {
    pub server: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub identity: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SubnetId {
    pub id: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsConfig {
    pub name_servers: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum OsType {
    Linux,
    Windows,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Sku {
    Standard,
    Dedicated,
    Confidential,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Priority {
    Regular,
    Spot,
}

impl GroupRequest {
    /// Sum of the containers' CPU requests (cores).
    pub fn cpu(&self) -> f64 {
        self.properties
            .containers
            .iter()
            .filter_map(|c| c.properties.resources.as_ref())
            .map(|r| r.requests.cpu)
            .sum()
    }

    pub fn restart_policy(&self) -> RestartPolicy {
        self.properties.restart_policy.unwrap_or(RestartPolicy::Always)
    }

    pub fn os_type(&self) -> OsType {
        self.properties.os_type.unwrap_or(OsType::Linux)
    }
}

impl EnvironmentVariable {
    /// The value the container sees (secure or plain).
    pub fn effective(&self) -> String {
        self.secure_value.clone().or_else(|| self.value.clone()).unwrap_or_default()
    }
}
