//! Which groups' usage to fetch from Azure Monitor now. Stats share the ARM read budget with the
//! status engine, so they get a fixed allowance of reads per minute; within it, groups never
//! fetched go first, then the ones fetched longest ago. With more running pods than the
//! allowance covers each minute, every pod's usage simply gets older evenly.

use std::time::Duration;

use tokio::time::Instant;

/// Reads per minute, as a token bucket holding at most one minute's worth.
#[derive(Debug, Clone)]
pub struct Allowance {
    per_minute: f64,
    tokens: f64,
    at: Instant,
}

impl Allowance {
    /// A full allowance of `per_minute` reads.
    pub fn new(per_minute: u32, now: Instant) -> Self {
        let per_minute = f64::from(per_minute);
        Allowance { per_minute, tokens: per_minute, at: now }
    }

    /// Takes up to `wanted` reads; returns how many may be made now.
    pub fn take(&mut self, wanted: usize, now: Instant) -> usize {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_minute / 60.0).min(self.per_minute);
        self.at = now;
        let granted = (self.tokens.floor().max(0.0) as usize).min(wanted);
        self.tokens -= granted as f64;
        granted
    }
}

/// A running group and when its usage was fetched last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Group name.
    pub name: String,
    /// Last fetch, if any.
    pub fetched: Option<Instant>,
}

/// The groups to fetch: those whose usage is older than `max_age`, never-fetched first, then
/// oldest first, at most `limit`.
pub fn pick(mut candidates: Vec<Candidate>, now: Instant, max_age: Duration, limit: usize) -> Vec<String> {
    candidates.retain(|c| c.fetched.is_none_or(|at| now.saturating_duration_since(at) >= max_age));
    candidates.sort_by(|a, b| a.fetched.cmp(&b.fetched).then_with(|| a.name.cmp(&b.name)));
    candidates.into_iter().take(limit).map(|c| c.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(name: &str, fetched: Option<Instant>) -> Candidate {
        Candidate { name: name.into(), fetched }
    }

    #[test]
    fn stale_groups_go_never_fetched_first_then_oldest_first() {
        let now = Instant::now() + Duration::from_secs(600);
        let ago = |s: u64| Some(now - Duration::from_secs(s));
        let picked = pick(
            vec![
                candidate("fresh", ago(10)),
                candidate("old", ago(300)),
                candidate("older", ago(400)),
                candidate("new-b", None),
                candidate("new-a", None),
            ],
            now,
            Duration::from_secs(60),
            4,
        );
        assert_eq!(picked, vec!["new-a", "new-b", "older", "old"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_allowance_refills_to_one_minute_of_reads() {
        let start = Instant::now();
        let mut allowance = Allowance::new(60, start);
        assert_eq!(allowance.take(100, start), 60);
        assert_eq!(allowance.take(100, start), 0);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(allowance.take(100, Instant::now()), 10);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(allowance.take(5, Instant::now()), 5, "takes only what is wanted");
        assert_eq!(allowance.take(100, Instant::now()), 55, "never more than a minute's worth");
    }
}
