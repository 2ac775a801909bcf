//! Serves stats summaries from usage fetched on demand: a summary request fetches (within the
//! read allowance) the usage of the scope's running pods that is older than a minute, waits a
//! few seconds for it, and answers with whatever is known by then. Nothing is fetched while
//! nobody asks, so a cluster without metrics-server costs no ARM reads for stats.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use vk_proto::v1;

use super::schedule::{Allowance, Candidate, pick};
use super::summary::{PodOfScope, summary};
use super::usage::{GroupUsage, fold};
use crate::engine::Engine;

/// How usage is fetched.
#[derive(Debug, Clone, Copy)]
pub struct StatsSettings {
    /// Usage younger than this is served as it is (ACI's metrics have one-minute grain).
    pub max_age: Duration,
    /// ARM reads per minute stats may spend (the rest of the read budget is the engine's).
    pub reads_per_minute: u32,
    /// How long a summary request waits for the fetches it started.
    pub wait: Duration,
    /// Fetches in flight at once.
    pub concurrency: usize,
}

impl Default for StatsSettings {
    fn default() -> Self {
        StatsSettings {
            max_age: Duration::from_secs(60),
            reads_per_minute: 300,
            wait: Duration::from_secs(4),
            concurrency: 8,
        }
    }
}

/// Minutes of metrics asked for: enough to cover Azure Monitor's publishing delay.
const WINDOW_MINUTES: i64 = 5;
/// Usage not fetched again for this long belongs to a group that is gone.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug)]
struct Fetched {
    at: Instant,
    usage: GroupUsage,
}

#[derive(Debug)]
struct Known {
    usage: HashMap<String, Fetched>,
    fetching: HashSet<String>,
    allowance: Allowance,
}

/// See the module doc.
#[derive(Debug)]
pub struct StatsCollector {
    engine: Arc<Engine>,
    settings: StatsSettings,
    known: Mutex<Known>,
    in_flight: Semaphore,
}

impl StatsCollector {
    /// A collector reading through `engine`'s ARM client.
    pub fn new(engine: Arc<Engine>, settings: StatsSettings) -> Arc<Self> {
        let known = Known {
            usage: HashMap::new(),
            fetching: HashSet::new(),
            allowance: Allowance::new(settings.reads_per_minute, Instant::now()),
        };
        Arc::new(StatsCollector {
            engine,
            settings,
            known: Mutex::new(known),
            in_flight: Semaphore::new(settings.concurrency.max(1)),
        })
    }

    /// True unless stats were turned off (no reads allowed).
    pub fn enabled(&self) -> bool {
        self.settings.reads_per_minute > 0
    }

    fn known(&self) -> MutexGuard<'_, Known> {
        // Plain data: a panic elsewhere leaves it usable.
        self.known.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The stats summary of a scope.
    pub async fn summary(self: &Arc<Self>, cluster_id: &str, node_name: &str) -> v1::StatsSummary {
        let running = self.engine.running(cluster_id, node_name);
        let picked = self.pick(&running);
        let fetches: Vec<_> = picked
            .into_iter()
            .map(|group| {
                let this = Arc::clone(self);
                tokio::spawn(async move { this.fetch(&group).await })
            })
            .collect();
        // Fetches that take longer go on and serve the next request.
        let _ = tokio::time::timeout(self.settings.wait, futures::future::join_all(fetches)).await;
        let usage: HashMap<String, GroupUsage> = {
            let known = self.known();
            running
                .iter()
                .filter_map(|(group, _)| known.usage.get(group).map(|f| (group.clone(), f.usage.clone())))
                .collect()
        };
        let pods: Vec<PodOfScope<'_>> =
            running.iter().map(|(group, state)| PodOfScope { group, state }).collect();
        summary(node_name, &pods, &usage)
    }

    /// Marks the groups to fetch now as being fetched.
    fn pick(&self, running: &[(String, v1::PodState)]) -> Vec<String> {
        let now = Instant::now();
        let mut known = self.known();
        known.usage.retain(|_, f| now.saturating_duration_since(f.at) < FORGET_AFTER);
        let candidates: Vec<Candidate> = running
            .iter()
            .filter(|(group, _)| !known.fetching.contains(group))
            .map(|(group, _)| Candidate {
                name: group.clone(),
                fetched: known.usage.get(group).map(|f| f.at),
            })
            .collect();
        let mut stale = pick(candidates, now, self.settings.max_age, usize::MAX);
        let granted = known.allowance.take(stale.len(), now);
        stale.truncate(granted);
        known.fetching.extend(stale.iter().cloned());
        stale
    }

    async fn fetch(&self, group: &str) {
        let result = match self.in_flight.acquire().await {
            Ok(_permit) => {
                let to = chrono::Utc::now();
                let from = to - chrono::Duration::minutes(WINDOW_MINUTES);
                self.engine.arm().group_metrics(group, from, to).await
            }
            Err(_) => return,
        };
        let mut known = self.known();
        known.fetching.remove(group);
        match result {
            Ok(response) => {
                let usage = fold(known.usage.get(group).map(|f| &f.usage), &response);
                known.usage.insert(group.to_owned(), Fetched { at: Instant::now(), usage });
            }
            Err(e) if e.is_not_found() => {
                known.usage.remove(group);
            }
            Err(e) => {
                tracing::warn!(%group, error = %e, "reading a container group's usage from Azure Monitor failed");
                // Keep what was known, but wait a full `max_age` before asking again.
                let usage = known.usage.remove(group).map(|f| f.usage).unwrap_or_default();
                known.usage.insert(group.to_owned(), Fetched { at: Instant::now(), usage });
            }
        }
    }
}
