//! When to write the Node status: at once when it changed, else at most every `max_age`
//! (one minute by default), as the kubelet's status reporting does alongside the Lease.

use std::time::Duration;

use tokio::time::Instant;

/// Remembers the last written status.
#[derive(Debug)]
pub struct StatusPolicy {
    max_age: Duration,
    last: Option<(Instant, String)>,
}

impl StatusPolicy {
    /// A policy writing unchanged statuses every `max_age`.
    pub fn new(max_age: Duration) -> Self {
        Self { max_age, last: None }
    }

    /// True when a status with `fingerprint` should be written at `now`.
    pub fn due(&self, now: Instant, fingerprint: &str) -> bool {
        match &self.last {
            None => true,
            Some((at, last)) => last != fingerprint || now.duration_since(*at) >= self.max_age,
        }
    }

    /// Records a successful write.
    pub fn written(&mut self, now: Instant, fingerprint: String) {
        self.last = Some((now, fingerprint));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_unchanged_status_is_rewritten_only_after_a_minute() {
        let mut policy = StatusPolicy::new(Duration::from_secs(60));
        assert!(policy.due(Instant::now(), "a"));
        policy.written(Instant::now(), "a".into());
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(!policy.due(Instant::now(), "a"));
        assert!(policy.due(Instant::now(), "b"), "a change is written at once");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(policy.due(Instant::now(), "a"));
    }
}
