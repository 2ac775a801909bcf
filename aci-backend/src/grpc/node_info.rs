//! GetNodeInfo: capacity from the region's ACI quota usages, conditions from recent Azure
//! health (reachability, credentials, provider registration), refreshed at most once a minute
//! while healthy and every few seconds while not. Whether a token can be had is checked on
//! every call (it costs nothing): when none can, the node says so at once.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use vk_proto::v1;

use crate::arm::{ArmClient, ArmError};
use crate::translate::GroupOs;

const REFRESH: Duration = Duration::from_secs(60);
/// An unhealthy answer is read again this soon, so the node is Ready soon after Azure is back.
const REFRESH_UNHEALTHY: Duration = Duration::from_secs(10);
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

/// The condition for a backend that has no valid Azure token.
fn no_token(problem: &str) -> v1::NodeCondition {
    condition(
        "CredentialsValid",
        false,
        "AzureTokenUnavailable",
        format!("aci-backend has no valid Azure token, so it cannot call Azure: {problem}"),
    )
}

/// How long `info` may be served from the cache.
fn fresh_for(info: &v1::NodeInfo) -> Duration {
    if info.conditions.iter().all(|c| c.healthy) { REFRESH } else { REFRESH_UNHEALTHY }
}

/// `info` with the credential problem first (so the node's Ready reason names it).
fn with_credential_problem(mut info: v1::NodeInfo, problem: Option<String>) -> v1::NodeInfo {
    if let Some(problem) = problem {
        info.conditions.retain(|c| c.r#type != "CredentialsValid");
        info.conditions.insert(0, no_token(&problem));
    }
    info
}

impl NodeFacts {
    /// The node info, read from Azure when the cache is older than a minute (ten seconds
    /// when it was unhealthy), with the token check of this moment.
    pub async fn get(&self, arm: &ArmClient, os: GroupOs) -> v1::NodeInfo {
        let cached =
            self.cached.lock().ok().and_then(|cached| {
                cached.as_ref().filter(|(at, info)| at.elapsed() < fresh_for(info)).cloned()
            });
        let info = match cached {
            Some((_, info)) => info,
            None => {
                let info = Self::read(arm, os).await;
                if let Ok(mut cached) = self.cached.lock() {
                    *cached = Some((Instant::now(), info.clone()));
                }
                info
            }
        };
        with_credential_problem(info, arm.credential_problem())
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
            Err(ArmError::Credential { message, .. }) => conditions.push(no_token(&message)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> v1::NodeInfo {
        v1::NodeInfo {
            conditions: vec![
                condition("AzureReachable", true, "UsagesRead", "ARM answered".into()),
                condition("ProviderRegistered", true, "Registered", String::new()),
            ],
            ..v1::NodeInfo::default()
        }
    }

    #[test]
    fn a_missing_token_comes_first_even_over_a_healthy_cached_answer() {
        let info = with_credential_problem(healthy(), Some("the token endpoint answered 503".into()));
        let first = &info.conditions[0];
        assert_eq!((first.r#type.as_str(), first.healthy), ("CredentialsValid", false));
        assert_eq!(first.reason, "AzureTokenUnavailable");
        assert!(first.message.contains("503"), "{}", first.message);
        assert_eq!(info.conditions.len(), 3);
        assert_eq!(with_credential_problem(healthy(), None), healthy(), "untouched while tokens work");
    }

    #[test]
    fn an_unhealthy_answer_is_read_again_sooner_than_a_healthy_one() {
        assert_eq!(fresh_for(&healthy()), REFRESH);
        let unhealthy = with_credential_problem(healthy(), Some("down".into()));
        assert_eq!(fresh_for(&unhealthy), REFRESH_UNHEALTHY);
    }
}
