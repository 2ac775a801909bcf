//! ACI quotas per subscription and region: container groups, cores, creates and deletes per 5 minutes
//! and per hour. Windows shrink with the time scale.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::time::Instant;

use crate::arm::ArmError;
use crate::config::Config;

const FIVE_MINUTES: Duration = Duration::from_secs(300);
const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct Quotas {
    enabled: AtomicBool,
    pub groups: u32,
    pub cores: u32,
    creates: (u32, u32),
    deletes: (u32, u32),
    history: Mutex<HashMap<(String, String, bool), VecDeque<Instant>>>,
}

impl Quotas {
    pub fn new(config: &Config) -> Self {
        Self {
            enabled: AtomicBool::new(!config.no_quotas),
            groups: config.quota_groups,
            cores: config.quota_cores,
            creates: (config.quota_creates_per_5min, config.quota_creates_per_hour),
            deletes: (config.quota_deletes_per_5min, config.quota_deletes_per_hour),
            history: Mutex::new(HashMap::new()),
        }
    }

    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Checks a new group against the count and core quotas, given current usage.
    pub fn check_capacity(&self, used_groups: u32, used_cores: f64, new_cores: f64) -> Result<(), ArmError> {
        if !self.enabled() {
            return Ok(());
        }
        if used_groups + 1 > self.groups {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "ContainerGroupQuotaReached",
                format!(
                    "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota of {} is \
                     exceeded in this region.",
                    self.groups
                ),
            ));
        }
        if used_cores + new_cores > f64::from(self.cores) {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "StandardCoresQuotaReached",
                format!(
                    "The requested {new_cores} cores exceed the standard cores quota: {used_cores} of {} in use.",
                    self.cores
                ),
            ));
        }
        Ok(())
    }

    /// Records a create (or delete) if both rate windows allow it.
    pub fn take_rate(
        &self,
        subscription: &str,
        location: &str,
        delete: bool,
        scale: f64,
    ) -> Result<(), ArmError> {
        if !self.enabled() {
            return Ok(());
        }
        let (per_5min, per_hour) = if delete { self.deletes } else { self.creates };
        let (short, long) = (FIVE_MINUTES.mul_f64(scale), HOUR.mul_f64(scale));
        let now = Instant::now();
        let Ok(mut history) = self.history.lock() else { return Ok(()) };
        let key = (subscription.to_ascii_lowercase(), location.to_owned(), delete);
        let times = history.entry(key).or_default();
        while times.front().is_some_and(|t| now.duration_since(*t) >= long) {
            times.pop_front();
        }
        let in_short: Vec<&Instant> = times.iter().filter(|t| now.duration_since(**t) < short).collect();
        let blocked = if in_short.len() as u32 >= per_5min {
            in_short.first().map(|t| short - now.duration_since(**t))
        } else if times.len() as u32 >= per_hour {
            times.front().map(|t| long - now.duration_since(*t))
        } else {
            None
        };
        if let Some(wait) = blocked {
            let (code, what) = if delete {
                ("ContainerGroupDeletionQuotaReached", "deletes")
            } else {
                ("ContainerGroupCreationQuotaReached", "creates")
            };
            return Err(ArmError::new(
                StatusCode::TOO_MANY_REQUESTS,
                code,
                format!(
                    "The container group {what} quota ({per_5min} per 5 minutes, {per_hour} per hour) is reached \
                     in this region."
                ),
            )
            .with_retry_after(wait.as_secs_f64().ceil().max(1.0) as u64));
        }
        times.push_back(now);
        Ok(())
    }
}
