//! Case 5, create pacing: pods against ACI's default create quota (100 per 5 minutes, 300
//! per hour) with the emulator's time scaled down and aci-backend's quota windows scaled the
//! same way (`--quota-time-scale`): 429s the emulator gave for quotas or throttling (all
//! caused by our own pace), whether groups are created in pod creation order (pods created
//! one by one; Spearman rank correlation), and whether waiting pods say why in their status.
//! Each run has its own subscription, so its quotas start empty.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::pods::{RunningWatch, create_pods_with, is_running, pod_name};
use crate::stats::{Summary, rank_correlation};
use crate::world::World;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PacingResult {
    pub pods: usize,
    pub time_scale: f64,
    pub all_running_s: Summary,
    pub create_429s: Summary,
    /// 429s of any operation (ARM throttling or quota) in the run.
    pub all_429s: Summary,
    /// Spearman rank correlation of pod creation order (pods created one by one) with the
    /// order their container groups were PUT (1: same order).
    pub in_order_share: Summary,
    /// Share of observations (one a second) of pods waiting on our pace (created over 2 s
    /// ago, no container group yet) whose status said why (a message, or a waiting reason
    /// other than `ContainerCreating`).
    pub waiting_with_reason_share: Summary,
    /// The status of one pod waiting on our pace without saying why, as evidence.
    #[serde(default)]
    pub silent_wait_example: Option<String>,
}

pub async fn run(world: &World, quick: bool, runs: usize) -> Result<PacingResult, BenchError> {
    let (pods, scale) = if quick { (150, 0.05) } else { (500, 0.02) };
    world.admin.limits(true, true).await?;
    world.admin.time_scale(scale).await?;
    let result = runs_of(world, pods, scale, runs).await;
    world.admin.time_scale(1.0).await?;
    world.admin.limits(false, false).await?;
    result
}

async fn runs_of(world: &World, n: usize, scale: f64, runs: usize) -> Result<PacingResult, BenchError> {
    let backend = [format!("--quota-time-scale={scale}")];
    let hour = Duration::from_secs(3600).mul_f64(scale);
    let (mut totals, mut creates, mut all, mut order, mut reasons) = (vec![], vec![], vec![], vec![], vec![]);
    let mut silent_example = None;
    for run in 0..runs {
        // Each connector has its own subscription, so every run starts with empty quotas.
        let connector = world.connector("vk-bench-pacing", &backend).await?;
        let pods: Api<Pod> = Api::namespaced(world.client.clone(), &connector.namespace);
        let watch = RunningWatch::start(pods.clone()).await;
        let before = world.admin.counters().await?;
        let started = Instant::now();
        let outcome = async {
            let created = create_pods_with(&pods, &connector.node, 0..n, 1).await?;
            let mut samples = Vec::new();
            let deadline = Duration::from_secs(600) + hour * (n as u32 / 300 + 2);
            while watch.count() < n {
                if started.elapsed() > deadline {
                    return Err(BenchError::Timeout {
                        what: format!("{n} paced pods Running"),
                        seconds: deadline.as_secs(),
                    });
                }
                let listed =
                    pods.list(&ListParams::default()).await.map_err(BenchError::kube("listing pods"))?;
                let now = chrono::Utc::now();
                for pod in listed.items.iter().filter(|p| !is_running(p)) {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    let why = says_why(pod);
                    // Kept for the report: what a pod that does not say why shows instead.
                    let shown = (!why && samples.len() < 5000)
                        .then(|| serde_json::to_string(&pod.status).unwrap_or_default());
                    samples.push((name, now, why, shown));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok((created, samples))
        }
        .await;
        let elapsed = started.elapsed().as_secs_f64();
        let after = world.admin.counters().await?;
        let timeline = world.admin.timeline(&connector.target.resource_group).await;
        connector.stop().await;
        let (created, samples) = outcome?;
        let delta = |key: &str| {
            after.get(key).copied().unwrap_or(0).saturating_sub(before.get(key).copied().unwrap_or(0))
        };
        let creates_429 = delta("429:ContainerGroups_CreateOrUpdate");
        let by_operation: Vec<(String, u64)> =
            after.keys().filter(|k| k.starts_with("429:")).map(|k| (k.clone(), delta(k))).collect();
        let any_429: u64 = by_operation.iter().map(|(_, n)| n).sum();
        let timeline = timeline?;
        // A pod waits on our pace when it exists for 2 s and has no container group yet.
        let waiting: Vec<_> = samples
            .iter()
            .filter(|(name, at, _, _)| {
                let old_enough = created.get(name).is_some_and(|c| *at - *c > chrono::TimeDelta::seconds(2));
                let no_group = timeline.get(name).and_then(|g| g.put_at).is_none_or(|put| put > *at);
                old_enough && no_group
            })
            .collect();
        if let Some((name, _, _, Some(status))) =
            waiting.iter().find(|(_, _, why, shown)| !why && shown.is_some())
        {
            silent_example.get_or_insert_with(|| format!("{name}: {status}"));
        }
        let waiting: Vec<bool> = waiting.iter().map(|(_, _, why, _)| *why).collect();
        let with_reason = waiting.iter().filter(|why| **why).count();
        let waiting = waiting.len();
        let put_at: Vec<f64> = (0..n)
            .filter_map(|i| timeline.get(&pod_name(i)).and_then(|g| g.put_at))
            .map(|t| t.timestamp_micros() as f64)
            .collect();
        let share = rank_correlation(&put_at);
        let why = if waiting == 0 { 1.0 } else { with_reason as f64 / waiting as f64 };
        eprintln!(
            "pacing n={n} run={run}: all Running in {elapsed:.1} s, create 429s {creates_429}, all 429s {any_429}, \
             ({by_operation:?}), creation/PUT order rank correlation {share:.3}, waiting pods saying why {why:.3} ({with_reason}/{waiting} observations)"
        );
        totals.push(elapsed);
        creates.push(creates_429 as f64);
        all.push(any_429 as f64);
        order.push(share);
        reasons.push(why);
    }
    Ok(PacingResult {
        pods: n,
        time_scale: scale,
        all_running_s: Summary::of(&totals),
        create_429s: Summary::of(&creates),
        all_429s: Summary::of(&all),
        in_order_share: Summary::of(&order),
        waiting_with_reason_share: Summary::of(&reasons),
        silent_wait_example: silent_example,
    })
}

/// The pod's status says why it is not running: a condition that is not True, or a waiting
/// container, with a message or a reason other than the plain `ContainerCreating`.
fn says_why(pod: &Pod) -> bool {
    let Some(status) = &pod.status else { return false };
    let plain: BTreeSet<&str> = ["", "ContainerCreating"].into();
    let condition = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.status != "True" && c.message.as_deref().is_some_and(|m| !m.is_empty()));
    let container = status.container_statuses.iter().flatten().any(|c| {
        c.state.as_ref().and_then(|s| s.waiting.as_ref()).is_some_and(|w| {
            w.message.as_deref().is_some_and(|m| !m.is_empty())
                || !plain.contains(w.reason.as_deref().unwrap_or_default())
        })
    });
    condition || container || status.message.as_deref().is_some_and(|m| !m.is_empty())
}

pub fn markdown(r: &PacingResult) -> String {
    format!(
        "| pods | time scale | all Running (s) | create 429s | all 429s | creation vs PUT order (Spearman) | waiting pods saying why |\n\
         |---|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} | {} |\n\n",
        r.pods,
        r.time_scale,
        r.all_running_s.show(1),
        r.create_429s.show(0),
        r.all_429s.show(0),
        r.in_order_share.show(3),
        r.waiting_with_reason_share.show(3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({ "metadata": { "name": "p" }, "status": status }))
            .expect("a pod")
    }

    #[test]
    fn a_pending_pod_says_why_only_with_a_message_or_a_telling_reason() {
        assert!(!says_why(&pod(serde_json::json!({ "phase": "Pending" }))));
        let creating = serde_json::json!({ "phase": "Pending", "containerStatuses": [{ "name": "main", "image": "i",
            "imageID": "", "ready": false, "restartCount": 0, "state": { "waiting": { "reason": "ContainerCreating" } } }] });
        assert!(!says_why(&pod(creating)));
        let quota = serde_json::json!({ "phase": "Pending", "conditions": [{ "type": "Ready", "status": "False",
            "reason": "ProviderQuota", "message": "waiting for the ACI create quota" }] });
        assert!(says_why(&pod(quota)));
    }
}
