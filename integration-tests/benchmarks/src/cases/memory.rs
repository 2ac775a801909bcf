//! Case 3, memory: peak RSS (VmHWM) of node-agent and aci-backend with 0, then L1, L2 ...
//! pods running on a fresh connector. Peaks only grow, so each level is measured once; the
//! spread is that of three VmRSS samples taken at the level.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::pods::{RunningWatch, create_pods};
use crate::rss;
use crate::stats::Summary;
use crate::world::{Connector, World, unpaced_backend};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryResult {
    pub pods: usize,
    pub agent_peak_mib: f64,
    pub backend_peak_mib: f64,
    pub agent_rss_mib: Summary,
    pub backend_rss_mib: Summary,
}

pub async fn run(world: &World, levels: &[usize], settle: Duration) -> Result<Vec<MemoryResult>, BenchError> {
    world.admin.limits(true, false).await?;
    let connector = world.connector("vk-bench-memory", &unpaced_backend()).await?;
    let result = measure(world, &connector, levels, settle).await;
    connector.stop().await;
    result
}

async fn measure(
    world: &World,
    connector: &Connector,
    levels: &[usize],
    settle: Duration,
) -> Result<Vec<MemoryResult>, BenchError> {
    let agent = rss::find_pid("node-agent", &connector.agent_arg())?;
    let backend = rss::find_pid("aci-backend", &connector.backend_arg())?;
    let pods: Api<Pod> = Api::namespaced(world.client.clone(), &connector.namespace);
    let watch = RunningWatch::start(pods.clone()).await;
    let mut have = 0;
    let mut results = Vec::new();
    for &level in levels {
        create_pods(&pods, &connector.node, have..level).await?;
        have = level;
        watch.wait_for(level, Duration::from_secs(300 + level as u64)).await?;
        let mut agent_now = Vec::new();
        let mut backend_now = Vec::new();
        for _ in 0..3 {
            tokio::time::sleep(settle / 3).await;
            agent_now.push(rss::read(agent)?.now_mib);
            backend_now.push(rss::read(backend)?.now_mib);
        }
        let result = MemoryResult {
            pods: level,
            agent_peak_mib: rss::read(agent)?.peak_mib,
            backend_peak_mib: rss::read(backend)?.peak_mib,
            agent_rss_mib: Summary::of(&agent_now),
            backend_rss_mib: Summary::of(&backend_now),
        };
        eprintln!(
            "memory pods={level}: node-agent peak {:.1} MiB, aci-backend peak {:.1} MiB",
            result.agent_peak_mib, result.backend_peak_mib
        );
        results.push(result);
    }
    Ok(results)
}
