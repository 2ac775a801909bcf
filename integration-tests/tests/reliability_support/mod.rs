//! What the reliability tests share: an audit that compares the emulator's container groups
//! with the API's pods (nothing lost, duplicated, orphaned or stuck Terminating), waiting for
//! a burst to reach a point, and one report line per scenario (`RELIABILITY | ...`, the
//! figures of the README's table).

#![allow(dead_code)] // each test binary uses a different part

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use integration_tests::local_stack::EmulatorProcess;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::e2e_support::{E2e, node_of, phase};

/// aci-backend's tag with the pod UID of a container group.
pub const UID_TAG: &str = "vk-pod-uid";

/// The emulator's admin API (`/_emulator`): faults, counters, and every group with its tags
/// and running time. Unlike ARM calls, it is never faulted, so it sees the truth while
/// faults are injected.
pub struct Admin {
    http: reqwest::Client,
    base: String,
}

/// A container group as the admin timeline shows it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminGroup {
    pub name: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Set once every container of the group runs.
    pub running_at: Option<String>,
}

impl Admin {
    pub fn new(emulator: &EmulatorProcess) -> Result<Self> {
        let pem = std::fs::read(emulator.ca_path()).context("the emulator's CA")?;
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem)?])
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http, base: format!("{}/_emulator", emulator.base_url()) })
    }

    /// Replaces the fault rules (`[]` clears them).
    pub async fn set_faults(&self, rules: Value) -> Result<()> {
        let url = format!("{}/faults", self.base);
        self.http.put(url).json(&json!({ "rules": rules })).send().await?.error_for_status()?;
        Ok(())
    }

    /// Requests per operation since the last reset.
    pub async fn counters(&self) -> Result<BTreeMap<String, u64>> {
        Ok(self.http.get(format!("{}/counters", self.base)).send().await?.error_for_status()?.json().await?)
    }

    pub async fn reset_counters(&self) -> Result<()> {
        self.http.delete(format!("{}/counters", self.base)).send().await?.error_for_status()?;
        Ok(())
    }

    /// Every container group.
    pub async fn groups(&self) -> Result<Vec<AdminGroup>> {
        Ok(self.http.get(format!("{}/timeline", self.base)).send().await?.error_for_status()?.json().await?)
    }
}

/// ARM requests in `counters` (the token endpoints, throttling and fault counts left out).
pub fn arm_requests(counters: &BTreeMap<String, u64>) -> u64 {
    counters
        .iter()
        .filter(|(name, _)| !name.ends_with("_Token") && !name.contains(':'))
        .map(|(_, count)| count)
        .sum()
}

/// Injected faults in `counters` per kind (`error503`, `drop`, ...).
pub fn injected_faults(counters: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let mut kinds = BTreeMap::new();
    for (name, count) in counters {
        if let Some(kind) = name.strip_prefix("fault:").and_then(|rest| rest.split(':').next()) {
            *kinds.entry(kind.to_string()).or_default() += count;
        }
    }
    kinds
}

/// The state of one app's pods against the container groups of the test's resource group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    /// Pod objects of the app.
    pub pods: usize,
    /// Of which Running.
    pub running: usize,
    /// Of which Failed (an injected transient fault must never fail a pod).
    pub failed: usize,
    /// Pods with a deletion timestamp.
    pub terminating: usize,
    /// Container groups in the resource group.
    pub groups: usize,
    /// Extra groups for a pod UID that already has one.
    pub duplicated: usize,
    /// Groups whose pod UID names no pod object.
    pub orphaned: usize,
    /// Bound pods not being deleted that have no group.
    pub missing: usize,
}

impl Audit {
    /// `expected` pods, all Running, one group each, nothing else.
    pub fn converged_to(&self, expected: usize) -> bool {
        self.pods == expected
            && self.running == expected
            && self.groups == expected
            && self.duplicated == 0
            && self.orphaned == 0
            && self.missing == 0
            && self.terminating == 0
            && self.failed == 0
    }

    /// What was lost: pods that did not converge plus broken bookkeeping.
    pub fn lost(&self, expected: usize) -> usize {
        expected.abs_diff(self.running)
            + self.duplicated
            + self.orphaned
            + self.missing
            + self.terminating
            + self.failed
    }
}

/// Reads pods of `app` and every container group, and compares them by pod UID.
pub async fn audit(e2e: &E2e, admin: &Admin, app: &str) -> Result<Audit> {
    let pods = e2e.pods_of(app).await?;
    let groups = admin.groups().await?;
    let mut per_uid: BTreeMap<String, usize> = BTreeMap::new();
    for group in &groups {
        *per_uid.entry(group.tags.get(UID_TAG).cloned().unwrap_or_default()).or_default() += 1;
    }
    let uids: BTreeSet<String> = pods.iter().filter_map(|pod| pod.metadata.uid.clone()).collect();
    let live = pods.iter().filter(|pod| node_of(pod).is_some() && pod.metadata.deletion_timestamp.is_none());
    Ok(Audit {
        pods: pods.len(),
        running: pods.iter().filter(|pod| phase(pod) == Some("Running")).count(),
        failed: pods.iter().filter(|pod| phase(pod) == Some("Failed")).count(),
        terminating: pods.iter().filter(|pod| pod.metadata.deletion_timestamp.is_some()).count(),
        groups: groups.len(),
        duplicated: per_uid.values().map(|count| count - 1).sum(),
        orphaned: per_uid.iter().filter(|(uid, _)| !uids.contains(*uid)).map(|(_, count)| count).sum(),
        missing: live
            .filter(|pod| pod.metadata.uid.as_ref().is_none_or(|uid| !per_uid.contains_key(uid)))
            .count(),
    })
}

/// Waits until `app` has converged to `expected` Running pods with one group each (0: every
/// pod and group gone), failing after `timeout` with the last audit. Returns the audit and
/// how long it took.
pub async fn converge(
    e2e: &E2e,
    admin: &Admin,
    app: &str,
    expected: usize,
    timeout: Duration,
) -> Result<(Audit, Duration)> {
    let start = Instant::now();
    loop {
        let last = match audit(e2e, admin, app).await {
            Ok(now) if now.converged_to(expected) => return Ok((now, start.elapsed())),
            Ok(now) => format!("{now:?}"),
            Err(error) => format!("error: {error:#}"),
        };
        if start.elapsed() >= timeout {
            bail!(
                "{app} did not converge to {expected} running pods within {timeout:?}; last audit: {last:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until `reached(audit)` (for example: a third of a burst has groups), polling fast
/// so an injection lands in the middle of the work.
pub async fn wait_for(
    e2e: &E2e,
    admin: &Admin,
    app: &str,
    what: &str,
    timeout: Duration,
    reached: impl Fn(&Audit) -> bool,
) -> Result<Audit> {
    let start = Instant::now();
    loop {
        if let Ok(now) = audit(e2e, admin, app).await
            && reached(&now)
        {
            return Ok(now);
        }
        if start.elapsed() >= timeout {
            bail!("{app} did not reach {what} within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Prints one line of the reliability table and fails when anything was lost.
pub fn report(scenario: &str, injected: &str, audit: &Audit, expected: usize, took: Duration) -> Result<()> {
    let lost = audit.lost(expected);
    println!(
        "RELIABILITY | {scenario} | {injected} | converged in {:.1} s | lost {lost} (duplicated {}, orphaned {}, \
         missing {}, stuck Terminating {}, Failed {})",
        took.as_secs_f64(),
        audit.duplicated,
        audit.orphaned,
        audit.missing,
        audit.terminating,
        audit.failed
    );
    if lost > 0 {
        bail!("{scenario}: {lost} lost: {audit:?}");
    }
    Ok(())
}

/// The number of pods of a burst: `VK_RELIABILITY_PODS` or `default`.
pub fn pods_from_env(default: usize) -> usize {
    std::env::var("VK_RELIABILITY_PODS").ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// Fails when a process log under `e2e`'s directory shows a panic (the agent, the backend and
/// the emulator log there; a restart appends to the same file).
pub fn no_panics(e2e: &E2e) -> Result<()> {
    let logs = e2e.dir.path().join("logs");
    for entry in std::fs::read_dir(&logs).with_context(|| format!("listing {}", logs.display()))? {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(line) = text.lines().find(|line| line.contains("panicked at")) {
            bail!("{} shows a panic: {line}", path.display());
        }
    }
    Ok(())
}
