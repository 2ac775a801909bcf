//! Case 4, streams: `kubectl logs -f` throughput through the kubelet API against the
//! provider's log stream read directly over gRPC; exec round trips over SPDY and WebSocket
//! (through the apiserver) against the provider's exec stream directly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::stats::Summary;
use crate::world::World;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StreamsResult {
    pub log_bytes: u64,
    pub logs_kubelet_mb_s: Summary,
    pub logs_direct_mb_s: Summary,
    pub exec_round_trips: usize,
    pub exec_spdy_ms: Summary,
    pub exec_websocket_ms: Summary,
    pub exec_direct_ms: Summary,
}

pub async fn run(_world: &World, _quick: bool, _runs: usize) -> Result<StreamsResult, BenchError> {
    Err(BenchError::NotBuilt("streams"))
}

pub fn markdown(r: &StreamsResult) -> String {
    format!(
        "| measure | through the kubelet API | provider stream directly |\n|---|---|---|\n\
         | logs -f throughput, {} MB (MB/s) | {} | {} |\n\
         | exec round trip, {} round trips (ms, median of runs' medians) | SPDY {} · WebSocket {} | {} |\n\n",
        r.log_bytes as f64 / 1e6,
        r.logs_kubelet_mb_s.show(1),
        r.logs_direct_mb_s.show(1),
        r.exec_round_trips,
        r.exec_spdy_ms.show(2),
        r.exec_websocket_ms.show(2),
        r.exec_direct_ms.show(2)
    )
}

pub fn plots(_r: &StreamsResult, _dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
    Ok(Vec::new())
}
