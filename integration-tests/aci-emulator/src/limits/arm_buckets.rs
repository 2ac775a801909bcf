//! ARM's token buckets per principal: reads and writes, each with a burst size and a refill rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

use crate::config::Config;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The outcome of taking one request from a bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Allowed; `remaining` whole requests are left in the bucket.
    Allowed { remaining: u64 },
    /// Throttled; retry after this many seconds.
    Throttled { retry_after_secs: u64 },
}

#[derive(Debug)]
pub struct ArmBuckets {
    enabled: AtomicBool,
    read: (f64, f64),
    write: (f64, f64),
    buckets: Mutex<HashMap<(String, bool), Bucket>>,
}

impl ArmBuckets {
    pub fn new(config: &Config) -> Self {
        Self {
            enabled: AtomicBool::new(!config.no_arm_throttling),
            read: (f64::from(config.arm_read_burst), config.arm_read_rate),
            write: (f64::from(config.arm_write_burst), config.arm_write_rate),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Takes one token for `principal`'s read or write bucket.
    pub fn take(&self, principal: &str, write: bool) -> Verdict {
        let (burst, rate) = if write { self.write } else { self.read };
        if !self.enabled() {
            return Verdict::Allowed { remaining: burst as u64 };
        }
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else { return Verdict::Allowed { remaining: 0 } };
        let bucket =
            buckets.entry((principal.to_owned(), write)).or_insert(Bucket { tokens: burst, at: now });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Verdict::Allowed { remaining: bucket.tokens.floor() as u64 }
        } else {
            let wait = if rate > 0.0 { (1.0 - bucket.tokens) / rate } else { 3600.0 };
            Verdict::Throttled { retry_after_secs: wait.ceil().max(1.0) as u64 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(burst: u32, rate: f64) -> ArmBuckets {
        ArmBuckets::new(&Config { arm_write_burst: burst, arm_write_rate: rate, ..Config::default() })
    }

    #[tokio::test(start_paused = true)]
    async fn a_drained_bucket_refills_at_its_rate() {
        let b = buckets(2, 1.0);
        assert_eq!(b.take("p", true), Verdict::Allowed { remaining: 1 });
        assert_eq!(b.take("p", true), Verdict::Allowed { remaining: 0 });
        assert_eq!(b.take("p", true), Verdict::Throttled { retry_after_secs: 1 });
        assert!(matches!(b.take("other", true), Verdict::Allowed { .. }), "buckets are per principal");
        tokio::time::advance(std::time::Duration::from_millis(1100)).await;
        assert!(matches!(b.take("p", true), Verdict::Allowed { .. }));
    }
}
