//! Everything the request handlers share: settings, groups, and the emulated ARM/ACI machinery.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::auth::Tokens;
use crate::config::Config;
use crate::counters::Counters;
use crate::exec_ws::Sessions;
use crate::faults::Faults;
use crate::groups::Store;
use crate::lifecycle::Controls;
use crate::limits::{ArmBuckets, Quotas};
use crate::operations::Operations;
use crate::provider_registration::Registration;
use crate::timeline::Timeline;

#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub base_url: OnceLock<String>,
    pub store: Store,
    pub controls: Controls,
    pub tokens: Tokens,
    pub arm_buckets: ArmBuckets,
    pub quotas: Quotas,
    pub faults: Faults,
    pub counters: Counters,
    pub timeline: Timeline,
    pub registration: Registration,
    pub operations: Operations,
    pub sessions: Sessions,
    time_scale: Mutex<f64>,
}

impl Shared {
    pub fn new(config: Config, faults: Faults) -> Self {
        Self {
            store: Store::default(),
            controls: Controls::default(),
            tokens: Tokens::new(&config),
            arm_buckets: ArmBuckets::new(&config),
            quotas: Quotas::new(&config),
            faults,
            counters: Counters::default(),
            timeline: Timeline::default(),
            registration: Registration::new(!config.not_registered),
            operations: Operations::default(),
            sessions: Sessions::default(),
            time_scale: Mutex::new(config.time_scale),
            base_url: OnceLock::new(),
            config,
        }
    }

    /// `http(s)://127.0.0.1:PORT` once the listener is bound.
    pub fn base_url(&self) -> &str {
        self.base_url.get().map(String::as_str).unwrap_or("http://127.0.0.1")
    }

    pub fn time_scale(&self) -> f64 {
        self.time_scale.lock().map(|s| *s).unwrap_or(1.0)
    }

    pub fn set_time_scale(&self, factor: f64) {
        if let Ok(mut s) = self.time_scale.lock() {
            *s = factor.max(0.0);
        }
    }

    /// A simulated duration after the time scale.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.time_scale())
    }

    pub fn scaled_ms(&self, ms: u64) -> Duration {
        self.scaled(Duration::from_millis(ms))
    }
}
