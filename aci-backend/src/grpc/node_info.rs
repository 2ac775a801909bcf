//! GetNodeInfo: capacity from the region's ACI quota usages, conditions from recent Azure
//! health (reachability, credentials, provider registration), refreshed at most once a minute.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use vk_proto::v1;

use crate::arm::ArmClient;
use crate::translate::GroupOs;

const REFRESH: Duration = Duration::from_secs(60);
/// Memory ACI gives per core at most, used to express memory capacity from the core quota.
const GB_PER_CORE: i64 = 4;

/// Cached node facts.
#[derive(Debug, Default)]
pub struct NodeFacts {
    cached: Mutex<Option<(Instant, v1::NodeInfo)>>,
}

fn condition(kind: &str, healthy: bool, reason: &str, message: String) -> v1::NodeCondition {
    v1::NodeCondition {
        r#type: kind.to_string(),
        healthy,
        reason: reason.to_string(),
        message,
        last_transition_time: None,
    }
}

impl NodeFacts {
    /// The node info, read from Azure when the cache is older than a minute.
    pub async fn get(&self, arm: &ArmClient, os: GroupOs) -> v1::NodeInfo {
        if let Ok(cached) = self.cached.lock()
            && let Some((_, info)) = cached.as_ref().filter(|(at, _)| at.elapsed() < REFRESH)
        {
            return info.clone();
        }
        let info = Self::read(arm, os).await;
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some((Instant::now(), info.clone()));
        }
        info
    }

    async fn read(arm: &ArmClient, os: GroupOs) -> v1::NodeInfo {
        let mut conditions = Vec::new();
        let mut capacity = v1::NodeResources {
            cpu_millis: 100_000,
            memory_bytes: 400 << 30,
            pods: 100,
            ..Default::default()
        };
        match arm.usages().await {
            Ok(usages) => {
                for u in &usages {
                    match u.name.value.as_str() {
                        "StandardCores" => {
                            capacity.cpu_millis = u.limit * 1000;
                            capacity.memory_bytes = u.limit * GB_PER_CORE * 1_000_000_000;
                        }
                        "ContainerGroups" => capacity.pods = u.limit,
                        _ => {}
                    }
                }
                conditions.push(condition("AzureReachable", true, "UsagesRead", "ARM answered".into()));
            }
            Err(e) => conditions.push(condition("AzureReachable", false, "ArmUnavailable", e.to_string())),
        }
        match arm.provider_registration().await {
            Ok(state) if state == "Registered" => {
                conditions.push(condition("ProviderRegistered", true, "Registered", String::new()))
            }
            Ok(state) => conditions.push(condition(
                "ProviderRegistered",
                false,
                "NotRegistered",
                format!(
                    "Microsoft.ContainerInstance is {state} in the subscription; run `az provider register --namespace \
                     Microsoft.ContainerInstance`"
                ),
            )),
            Err(e) => conditions.push(condition("ProviderRegistered", false, "Unknown", e.to_string())),
        }
        let os_type = match os {
            GroupOs::Linux => v1::OsType::Linux,
            GroupOs::Windows => v1::OsType::Windows,
        };
        let region = arm.target().location.clone();
        v1::NodeInfo {
            os: os_type as i32,
            capacity: Some(capacity.clone()),
            allocatable: Some(capacity),
            conditions,
            labels: [("topology.kubernetes.io/region".to_string(), region.clone())].into_iter().collect(),
            taints: Vec::new(),
            provider_id: format!(
                "azure:///subscriptions/{}/resourceGroups/{}",
                arm.target().subscription_id,
                arm.target().resource_group
            ),
            region,
            system_info: Some(v1::NodeSystemInfo {
                operating_system: os.as_arm().to_ascii_lowercase(),
                architecture: "amd64".into(),
                kernel_version: String::new(),
                os_image: "Azure Container Instances".into(),
                container_runtime_version: "aci://2025-09-01".into(),
            }),
            capabilities: Some(v1::Capabilities {
                exec_exit_codes: os == GroupOs::Linux,
                separate_stderr: false,
                attach: true,
                previous_logs: false,
                port_forward: false,
                stats: false,
            }),
        }
    }
}
