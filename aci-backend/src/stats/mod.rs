//! Pod stats (`kubectl top`): ACI publishes CPU and memory usage only through Azure Monitor, as
//! one-minute averages per container. They are fetched on demand, within a read allowance of
//! their own, and served as the kubelet's stats summary.

mod collector;
mod schedule;
mod summary;
mod usage;

pub use collector::{StatsCollector, StatsSettings};
