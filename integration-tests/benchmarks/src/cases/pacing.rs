//! Case 5, create pacing: pods against ACI's default create quota (100 per 5 minutes, 300
//! per hour) with the emulator's time scaled down: 429s caused by our own pace, whether pods
//! start in creation order, and whether waiting pods say why.

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::stats::Summary;
use crate::world::World;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PacingResult {
    pub pods: usize,
    pub time_scale: f64,
    pub all_running_s: Summary,
    pub create_429s: Summary,
    /// Share of consecutive pod pairs (by creation) whose groups were created in that order.
    pub in_order_share: Summary,
    /// Share of pods seen waiting whose status said why.
    pub waiting_with_reason_share: Summary,
}

pub async fn run(_world: &World, _quick: bool, _runs: usize) -> Result<PacingResult, BenchError> {
    Err(BenchError::NotBuilt("pacing"))
}

pub fn markdown(r: &PacingResult) -> String {
    format!(
        "| pods | time scale | all Running (s) | create 429s | started in creation order | waiting pods saying why |\n\
         |---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} |\n\n",
        r.pods,
        r.time_scale,
        r.all_running_s.show(1),
        r.create_429s.show(0),
        r.in_order_share.show(3),
        r.waiting_with_reason_share.show(3)
    )
}
