//! Case 1, pod burst: N bare pods bound to one virtual node at once, emulator limits off.
//! Per run: time until all are Running in the API; per pod, API creation → container group
//! PUT at the emulator and the emulator's Running → Running in the API; and the floor (a
//! minimal client writing the same statuses) in the same run.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use serde::{Deserialize, Serialize};

use super::floor;
use crate::error::BenchError;
use crate::pods::{RunningWatch, create_pods, remove_all};
use crate::stats::{Summary, p50_p99};
use crate::world::{World, unpaced_backend};

/// One run of one N.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BurstRun {
    pub ours_s: f64,
    pub floor_s: f64,
    pub create_to_put_ms: (f64, f64),
    pub running_to_api_ms: (f64, f64),
}

/// All runs of one N.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BurstResult {
    pub pods: usize,
    pub runs: Vec<BurstRun>,
    pub ours_s: Summary,
    pub floor_s: Summary,
    pub ratio: Summary,
    pub create_to_put_p50_ms: Summary,
    pub create_to_put_p99_ms: Summary,
    pub running_to_api_p50_ms: Summary,
    pub running_to_api_p99_ms: Summary,
}

pub async fn run(world: &World, sizes: &[usize], runs: usize) -> Result<Vec<BurstResult>, BenchError> {
    world.admin.limits(false, false).await?;
    let mut results = Vec::new();
    for &n in sizes {
        let mut all = Vec::new();
        for run in 0..runs {
            let ours = ours(world, n).await?;
            let floor_s = floor::run(world, n).await?;
            let run_result = BurstRun { floor_s, ..ours };
            eprintln!(
                "burst n={n} run={run}: ours {:.2} s, floor {:.2} s, create->PUT p50/p99 {:.0}/{:.0} ms, \
                 running->API p50/p99 {:.0}/{:.0} ms",
                run_result.ours_s,
                run_result.floor_s,
                run_result.create_to_put_ms.0,
                run_result.create_to_put_ms.1,
                run_result.running_to_api_ms.0,
                run_result.running_to_api_ms.1
            );
            all.push(run_result);
        }
        let of = |f: fn(&BurstRun) -> f64| Summary::of(&all.iter().map(f).collect::<Vec<_>>());
        results.push(BurstResult {
            pods: n,
            ours_s: of(|r| r.ours_s),
            floor_s: of(|r| r.floor_s),
            ratio: of(|r| r.ours_s / r.floor_s.max(1e-9)),
            create_to_put_p50_ms: of(|r| r.create_to_put_ms.0),
            create_to_put_p99_ms: of(|r| r.create_to_put_ms.1),
            running_to_api_p50_ms: of(|r| r.running_to_api_ms.0),
            running_to_api_p99_ms: of(|r| r.running_to_api_ms.1),
            runs: all,
        });
    }
    Ok(results)
}

/// One burst through a fresh connector; `floor_s` is left 0.
async fn ours(world: &World, n: usize) -> Result<BurstRun, BenchError> {
    let connector = world.connector("vk-bench-burst", &unpaced_backend()).await?;
    let pods: Api<Pod> = Api::namespaced(world.client.clone(), &connector.namespace);
    let watch = RunningWatch::start(pods.clone()).await;
    let started = Instant::now();
    let result = async {
        let created = create_pods(&pods, &connector.node, 0..n).await?;
        let running = watch.wait_for(n, Duration::from_secs(120 + n as u64)).await?;
        let ours_s = started.elapsed().as_secs_f64();
        let timeline = world.admin.timeline(&connector.target.resource_group).await?;
        let mut to_put = Vec::new();
        let mut to_api = Vec::new();
        for (name, created_at) in &created {
            let Some(group) = timeline.get(name) else { continue };
            if let Some(put_at) = group.put_at {
                to_put.push(millis(put_at - *created_at));
            }
            if let (Some(running_at), Some(seen)) = (group.running_at, running.get(name)) {
                to_api.push(millis(*seen - running_at));
            }
        }
        if to_put.len() < n {
            tracing::warn!(missing = n - to_put.len(), "pods without a PUT in the emulator's timeline");
        }
        Ok::<_, BenchError>(BurstRun {
            ours_s,
            floor_s: 0.0,
            create_to_put_ms: p50_p99(&to_put),
            running_to_api_ms: p50_p99(&to_api),
        })
    }
    .await;
    connector.stop().await;
    remove_all(&pods).await?;
    result
}

/// A duration in milliseconds; negative (clock order within the same millisecond) as 0.
pub fn millis(delta: chrono::TimeDelta) -> f64 {
    (delta.num_microseconds().unwrap_or(0) as f64 / 1000.0).max(0.0)
}
