//! The emulator's admin API (`/_emulator/...`): limits, counters, time scale, the groups'
//! timeline and container exits.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::error::BenchError;

#[derive(Clone, Debug)]
pub struct EmulatorAdmin {
    base: String,
    http: reqwest::Client,
}

/// One group of `GET /_emulator/timeline`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupTimeline {
    pub resource_group: String,
    pub name: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub put_at: Option<DateTime<Utc>>,
    pub running_at: Option<DateTime<Utc>>,
}

/// aci-backend's tag naming the pod of a group.
pub const POD_TAG: &str = "vk-pod-name";

impl EmulatorAdmin {
    /// For the emulator at `base` whose CA is the PEM file `ca`.
    pub fn new(base: &str, ca: &std::path::Path) -> Result<Self, BenchError> {
        let pem = std::fs::read(ca).map_err(|source| BenchError::File {
            what: "reading",
            path: ca.to_path_buf(),
            source,
        })?;
        let certificate = reqwest::Certificate::from_pem(&pem).map_err(BenchError::emulator("its CA"))?;
        let http = reqwest::Client::builder()
            .tls_certs_only([certificate])
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(BenchError::emulator("an HTTP client"))?;
        Ok(Self { base: format!("{base}/_emulator"), http })
    }

    async fn put(&self, path: &str, body: serde_json::Value) -> Result<(), BenchError> {
        self.http
            .put(format!("{}/{path}", self.base))
            .json(&body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(BenchError::emulator(format!("PUT {path}")))?;
        Ok(())
    }

    /// ARM throttling and ACI quotas on or off.
    pub async fn limits(&self, arm_throttling: bool, quotas: bool) -> Result<(), BenchError> {
        self.put("limits", json!({ "armThrottling": arm_throttling, "quotas": quotas })).await
    }

    pub async fn time_scale(&self, factor: f64) -> Result<(), BenchError> {
        self.put("time-scale", json!({ "factor": factor })).await
    }

    /// Requests per ARM operation id since the start.
    pub async fn counters(&self) -> Result<BTreeMap<String, u64>, BenchError> {
        let what = "GET counters";
        self.http
            .get(format!("{}/counters", self.base))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(BenchError::emulator(what))?
            .json()
            .await
            .map_err(BenchError::emulator(what))
    }

    /// The groups of `resource_group` keyed by their pod-name tag.
    pub async fn timeline(
        &self,
        resource_group: &str,
    ) -> Result<BTreeMap<String, GroupTimeline>, BenchError> {
        let what = "GET timeline";
        let all: Vec<GroupTimeline> = self
            .http
            .get(format!("{}/timeline", self.base))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(BenchError::emulator(what))?
            .json()
            .await
            .map_err(BenchError::emulator(what))?;
        Ok(all
            .into_iter()
            .filter(|g| g.resource_group.eq_ignore_ascii_case(resource_group))
            .filter_map(|g| Some((g.tags.get(POD_TAG)?.clone(), g)))
            .collect())
    }

    /// Ends container `container` of a group with `code`; false when it was not running.
    pub async fn exit(
        &self,
        subscription: &str,
        resource_group: &str,
        group: &str,
        container: &str,
        code: i32,
    ) -> Result<bool, BenchError> {
        let path = format!(
            "{}/subscriptions/{subscription}/resourceGroups/{resource_group}/containerGroups/{group}/containers/{container}/exit",
            self.base
        );
        let response = self
            .http
            .post(path)
            .json(&json!({ "exitCode": code }))
            .send()
            .await
            .map_err(BenchError::emulator("POST exit"))?;
        Ok(response.status().is_success())
    }
}

/// Operations (after the `_` of their operation id) that are not reads.
const WRITES: [&str; 8] =
    ["CreateOrUpdate", "Update", "Delete", "Start", "Stop", "Restart", "ExecuteCommand", "Attach"];

/// ARM requests in `after - before`: (all ARM operations, reads), token requests excluded.
pub fn arm_requests(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> (u64, u64) {
    let mut all = 0;
    let mut reads = 0;
    for (operation, count) in after {
        if operation.ends_with("_Token") || operation.contains(':') {
            continue;
        }
        let delta = count.saturating_sub(before.get(operation).copied().unwrap_or(0));
        all += delta;
        let action = operation.rsplit('_').next().unwrap_or_default();
        let write = WRITES.contains(&action);
        if !write {
            reads += delta;
        }
    }
    (all, reads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_requests_and_429_tallies_are_not_arm_requests_and_gets_and_lists_are_reads() {
        let before = BTreeMap::from([("ContainerGroups_Get".to_string(), 5)]);
        let after = BTreeMap::from([
            ("ContainerGroups_Get".to_string(), 15),
            ("ContainerGroups_ListByResourceGroup".to_string(), 3),
            ("ContainerGroups_CreateOrUpdate".to_string(), 2),
            ("ContainerGroups_OperationStatus".to_string(), 1),
            ("OAuth2_Token".to_string(), 4),
            ("429:ContainerGroups_Get".to_string(), 2),
        ]);
        assert_eq!(arm_requests(&before, &after), (16, 14));
    }
}
