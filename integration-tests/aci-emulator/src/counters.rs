//! Request counters per operation, and GETs per container group, read by benchmarks through
//! the admin API.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Counters {
    counts: Mutex<BTreeMap<String, u64>>,
    group_reads: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub fn record(&self, operation: &str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(operation.to_owned()).or_default() += 1;
        }
    }

    /// Counts a 429 the emulator gave `operation` for ARM throttling or an ACI quota (not for an
    /// injected fault), as `429:<operation>`.
    pub fn record_throttled(&self, operation: &str) {
        self.record(&format!("429:{operation}"));
    }

    /// Counts one `ContainerGroups_Get` of the group `name`.
    pub fn record_group_read(&self, name: &str) {
        if let Ok(mut c) = self.group_reads.lock() {
            *c.entry(name.to_ascii_lowercase()).or_default() += 1;
        }
    }

    /// GETs per container group name (lower case) since the last reset.
    pub fn group_reads(&self) -> BTreeMap<String, u64> {
        self.group_reads.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn reset(&self) {
        if let Ok(mut c) = self.counts.lock() {
            c.clear();
        }
        if let Ok(mut c) = self.group_reads.lock() {
            c.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_reads_are_counted_per_group_and_cleared_by_a_reset() {
        let counters = Counters::default();
        counters.record_group_read("a");
        counters.record_group_read("A");
        counters.record_group_read("b");
        assert_eq!(
            counters.group_reads().into_iter().collect::<Vec<_>>(),
            [("a".into(), 2), ("b".into(), 1)]
        );
        counters.reset();
        assert!(counters.group_reads().is_empty());
    }
}
